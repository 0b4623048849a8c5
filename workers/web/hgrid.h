/*
 * A history result: signals x time buckets of one step, as InfluxDB's
 * GROUP BY time() or the in-memory ring fills it, rendered as the
 * /api/history JSON or as CSV rows for /api/export.csv. Pure (no I/O).
 * A cell is NaN when nothing was recorded in its bucket; rows where every
 * cell is NaN are left out of the output. hgrid_fill_previous() carries a
 * signal's last value into the empty buckets after it (InfluxQL's
 * fill(previous)) for as long as the signal is known to be current.
 */
#ifndef LEAFMON_HGRID_H
#define LEAFMON_HGRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signals.h"
#include "util.h"
#include "wparam.h"

struct hgrid {
	struct wrange r;
	int nsig;
	const struct sig_info *sig[WPARAM_MAX_SIGNALS];
	double *v;	   /* nrows * nsig, row-major */
	uint64_t rejected; /* cells outside the grid or of the wrong type */
	/* staleness, as the source knows it: */
	int64_t carry_ms; /* carry a value at most this long after its bucket; 0: no limit */
	bool live_known;  /* live[] was filled by the source */
	uint8_t *live;	  /* per row: the signals were being received (the ring) */
	/* each signal's newest value before the first row (NaN: none) and its bucket */
	double seed[WPARAM_MAX_SIGNALS];
	int64_t seed_t[WPARAM_MAX_SIGNALS];
	uint64_t carried; /* cells filled by hgrid_fill_previous() */
};

int hgrid_init(struct hgrid *g, const struct wrange *r, const struct sig_info *const *sigs,
	       int nsig);
void hgrid_free(struct hgrid *g);
/* The column of a signal name, or -1. */
int hgrid_col(const struct hgrid *g, const char *name);
/* Store a value at time t_ms (the bucket's start). A bucket before the
 * first row becomes the signal's seed (the newest one wins); beyond the
 * last row, or off the step: rejected. */
void hgrid_set(struct hgrid *g, int64_t t_ms, int col, double v);
/* Forget every value, seed and live mark (a failed source's leftovers). */
void hgrid_clear(struct hgrid *g);
/* Rows before the first that a query must also ask for to find the seeds
 * (enough buckets to cover carry_ms; 0 when a bucket is longer). */
size_t hgrid_lead_rows(const struct hgrid *g);
/*
 * fill(previous) up to staleness: an empty cell takes the value of the
 * newest non-empty cell above it (or the seed) when its row starts no later
 * than now_ms, no more than carry_ms after that value's bucket (when
 * carry_ms > 0), and, when live_known, no row in between (itself included)
 * lacked the live mark: a row without it ends every carry.
 */
void hgrid_fill_previous(struct hgrid *g, int64_t now_ms);
bool hgrid_row_empty(const struct hgrid *g, size_t row);
size_t hgrid_points(const struct hgrid *g); /* rows that are not empty */

/* {"source":..,"from":ms,"to":ms,"step":s,"t":[ms..],"series":{name:[..]}}
 * with note (may be NULL) as "note". Enums and bools as numbers. */
void hgrid_json(const struct hgrid *g, const char *source, const char *note, struct buf *b);
/* CSV: the header line, then one line per non-empty row (RFC 3339 times,
 * enums as labels, bools as true/false, empty cells empty). */
void hgrid_csv_header(const struct hgrid *g, struct buf *b);
void hgrid_csv_row(const struct hgrid *g, size_t row, struct buf *b);
/* RFC 3339 UTC with milliseconds into out (at least 32 bytes). */
void hgrid_rfc3339(int64_t ms, char *out, size_t cap);

#endif
