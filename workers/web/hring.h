/*
 * The web worker's own recent history, for charts when no InfluxDB answers
 * (pure, no I/O). Two tiers of time buckets over every published signal
 * except per-cell voltages: 1 s buckets for the last hour and coarser ones
 * (about 4320 of them) for `history_ring_hours`. A bucket keeps the mean of
 * the values that arrived in it (the last one for bools and enums); like
 * the samples, it holds only what changed, as InfluxDB does. A bucket is
 * also marked live while samples flow (no more than HRING_GAP_MS apart, the
 * bus awake), which is what tells a value that did not change from one
 * that went stale: the query seeds and marks the grid's rows with it.
 */
#ifndef LEAFMON_HRING_H
#define LEAFMON_HRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hgrid.h"
#include "signals.h"

#define HRING_TIERS 2
/* Samples closer than this keep the buckets between them live: a bus that
 * is awake carries at least the CAN counters once a second. */
#define HRING_GAP_MS 5000

struct hring_tier {
	int64_t width_ms;
	size_t nb;
	int64_t *start; /* bucket start (ms), INT64_MIN when unused */
	float *v;	/* nb * ncol */
	uint16_t *n;	/* values folded into each cell, saturating */
	uint8_t *live;	/* per bucket: samples flowed through it */
};

struct hring {
	int ncol;
	int16_t col_of[SIG_ID_MAX]; /* signal id -> column, -1 not kept */
	struct hring_tier tier[HRING_TIERS];
	int64_t newest_ms;
	int64_t first_ms; /* the oldest sample ever added */
	int64_t last_ms;  /* the previous value's time, for the live marks */
	bool asleep;	  /* can_bus_asleep was last seen set */
	uint64_t added, too_old;
};

/* hours 0: no ring (hring_query answers nothing). 0 or -1 (memory). */
int hring_init(struct hring *r, int hours);
void hring_free(struct hring *r);
size_t hring_bytes(const struct hring *r);
/* One value of a sample (every value of a sample has the sample's time). */
void hring_add(struct hring *r, int64_t t_ms, unsigned id, double v);
/* Fill g from the finest tier that still covers g's start: the buckets'
 * values, each signal's seed (its newest value before the first row, when
 * the buckets since were all live) and the rows' live marks. Returns the
 * number of buckets used, -1 when there is no ring. */
int hring_query(const struct hring *r, struct hgrid *g);

#endif
