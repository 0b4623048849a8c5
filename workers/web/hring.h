/*
 * The web worker's own recent history, for charts when no InfluxDB answers
 * (pure, no I/O). Two tiers of time buckets over every published signal
 * except per-cell voltages: 1 s buckets for the last hour and coarser ones
 * (about 4320 of them) for `history_ring_hours`. A bucket keeps the mean of
 * the values that arrived in it (the last one for bools and enums); like
 * the samples, it holds only what changed, as InfluxDB does.
 */
#ifndef LEAFMON_HRING_H
#define LEAFMON_HRING_H

#include <stddef.h>
#include <stdint.h>

#include "hgrid.h"
#include "signals.h"

#define HRING_TIERS 2

struct hring_tier {
	int64_t width_ms;
	size_t nb;
	int64_t *start; /* bucket start (ms), INT64_MIN when unused */
	float *v;	/* nb * ncol */
	uint16_t *n;	/* values folded into each cell, saturating */
};

struct hring {
	int ncol;
	int16_t col_of[SIG_ID_MAX]; /* signal id -> column, -1 not kept */
	struct hring_tier tier[HRING_TIERS];
	int64_t newest_ms;
	int64_t first_ms; /* the oldest sample ever added */
	uint64_t added, too_old;
};

/* hours 0: no ring (hring_query answers nothing). 0 or -1 (memory). */
int hring_init(struct hring *r, int hours);
void hring_free(struct hring *r);
size_t hring_bytes(const struct hring *r);
void hring_add(struct hring *r, int64_t t_ms, unsigned id, double v);
/* Fill g from the finest tier that still covers g's start. Returns the
 * number of buckets used, -1 when there is no ring. */
int hring_query(const struct hring *r, struct hgrid *g);

#endif
