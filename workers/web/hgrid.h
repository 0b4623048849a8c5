/*
 * A history result: signals x time buckets of one step, as InfluxDB's
 * GROUP BY time() or the in-memory ring fills it, rendered as the
 * /api/history JSON or as CSV rows for /api/export.csv. Pure (no I/O).
 * A cell is NaN when nothing was recorded in its bucket; rows where every
 * cell is NaN are left out of the output.
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
};

int hgrid_init(struct hgrid *g, const struct wrange *r, const struct sig_info *const *sigs,
	       int nsig);
void hgrid_free(struct hgrid *g);
/* The column of a signal name, or -1. */
int hgrid_col(const struct hgrid *g, const char *name);
/* Store a value at time t_ms (the bucket's start); out of range: rejected. */
void hgrid_set(struct hgrid *g, int64_t t_ms, int col, double v);
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
