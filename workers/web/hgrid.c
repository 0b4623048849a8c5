/*
 * History grid: storage and rendering. The grid is allocated once per
 * request with its size already bounded by wparam_range().
 */
#include "hgrid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

int
hgrid_init(struct hgrid *g, const struct wrange *r, const struct sig_info *const *sigs, int nsig)
{
	memset(g, 0, sizeof(*g));
	if (nsig < 1 || nsig > WPARAM_MAX_SIGNALS || r->nrows == 0)
		return -1;
	g->r = *r;
	g->nsig = nsig;
	memcpy(g->sig, sigs, sizeof(sigs[0]) * (size_t)nsig);
	g->v = malloc(sizeof(double) * r->nrows * (size_t)nsig);
	g->live = malloc(r->nrows);
	if (g->v == NULL || g->live == NULL) {
		hgrid_free(g);
		return -1;
	}
	hgrid_clear(g);
	return 0;
}

void
hgrid_clear(struct hgrid *g)
{
	for (size_t i = 0; i < g->r.nrows * (size_t)g->nsig; i++)
		g->v[i] = NAN;
	memset(g->live, 0, g->r.nrows);
	g->live_known = false;
	for (int c = 0; c < WPARAM_MAX_SIGNALS; c++) {
		g->seed[c] = NAN;
		g->seed_t[c] = INT64_MIN;
	}
}

void
hgrid_free(struct hgrid *g)
{
	free(g->v);
	free(g->live);
	g->v = NULL;
	g->live = NULL;
}

int
hgrid_col(const struct hgrid *g, const char *name)
{
	for (int i = 0; i < g->nsig; i++)
		if (strcmp(g->sig[i]->name, name) == 0)
			return i;
	return -1;
}

void
hgrid_set(struct hgrid *g, int64_t t_ms, int col, double v)
{
	int64_t off = t_ms - g->r.t0_ms;
	if (col < 0 || col >= g->nsig || off % g->r.step_ms != 0 ||
	    (off >= 0 && (size_t)(off / g->r.step_ms) >= g->r.nrows) || !isfinite(v)) {
		g->rejected++;
		return;
	}
	if (off < 0) {
		if (t_ms > g->seed_t[col]) {
			g->seed[col] = v;
			g->seed_t[col] = t_ms;
		}
		return;
	}
	g->v[(size_t)(off / g->r.step_ms) * (size_t)g->nsig + (size_t)col] = v;
}

size_t
hgrid_lead_rows(const struct hgrid *g)
{
	if (g->carry_ms < g->r.step_ms)
		return 0;
	return (size_t)((g->carry_ms + g->r.step_ms - 1) / g->r.step_ms);
}

/* may the value of the bucket at prev_t fill row r (starting at t)? */
static bool
carries(const struct hgrid *g, size_t r, int64_t t, int64_t prev_t, int64_t now_ms)
{
	bool young = g->carry_ms <= 0 || (prev_t != INT64_MIN && t - prev_t <= g->carry_ms);
	return t <= now_ms && young &&
	       (!g->live_known || g->live[r]);
}

void
hgrid_fill_previous(struct hgrid *g, int64_t now_ms)
{
	for (int c = 0; c < g->nsig; c++) {
		double prev = g->seed[c];
		int64_t prev_t = g->seed_t[c];
		for (size_t r = 0; r < g->r.nrows; r++) {
			int64_t t = g->r.t0_ms + (int64_t)r * g->r.step_ms;
			double *cell = &g->v[r * (size_t)g->nsig + (size_t)c];
			if (!isnan(*cell)) {
				prev = *cell;
				prev_t = t;
			} else if (!isnan(prev) && carries(g, r, t, prev_t, now_ms)) {
				*cell = prev;
				g->carried++;
			}
			if (g->live_known && !g->live[r])
				prev = NAN; /* not received here: stale from now on */
		}
	}
}

bool
hgrid_row_empty(const struct hgrid *g, size_t row)
{
	const double *p = g->v + row * (size_t)g->nsig;
	for (int i = 0; i < g->nsig; i++)
		if (!isnan(p[i]))
			return false;
	return true;
}

size_t
hgrid_points(const struct hgrid *g)
{
	size_t n = 0;
	for (size_t r = 0; r < g->r.nrows; r++)
		n += !hgrid_row_empty(g, r);
	return n;
}

void
hgrid_json(const struct hgrid *g, const char *source, const char *note, struct buf *b)
{
	struct json j;
	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_str(&j, "source", source);
	if (note != NULL)
		json_str(&j, "note", note);
	json_int(&j, "from", g->r.from_ms);
	json_int(&j, "to", g->r.to_ms);
	json_int(&j, "step", g->r.step_ms / 1000);
	json_int(&j, "points", (int64_t)hgrid_points(g));
	json_arr_open(&j, "t");
	for (size_t r = 0; r < g->r.nrows; r++)
		if (!hgrid_row_empty(g, r))
			json_int(&j, NULL, g->r.t0_ms + (int64_t)r * g->r.step_ms);
	json_arr_close(&j);
	json_obj_open(&j, "series");
	for (int c = 0; c < g->nsig; c++) {
		json_arr_open(&j, g->sig[c]->name);
		for (size_t r = 0; r < g->r.nrows; r++)
			if (!hgrid_row_empty(g, r))
				json_dbl(&j, NULL, g->v[r * (size_t)g->nsig + (size_t)c]);
		json_arr_close(&j);
	}
	json_obj_close(&j);
	json_obj_close(&j);
}

void
hgrid_rfc3339(int64_t ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[24];
	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03dZ", base, (int)(ms % 1000));
}

void
hgrid_csv_header(const struct hgrid *g, struct buf *b)
{
	buf_puts(b, "time");
	for (int c = 0; c < g->nsig; c++)
		buf_printf(b, ",%s", g->sig[c]->name);
	buf_puts(b, "\r\n");
}

static void
csv_cell(const struct sig_info *si, double v, struct buf *b)
{
	char label[64];
	if (isnan(v))
		return;
	if (si->type == ST_ENUM) {
		const char *l = sig_enum_label(si, v, label, sizeof(label));
		buf_puts(b, l != NULL ? l : "");
	} else if (si->type == ST_BOOL) {
		buf_puts(b, v != 0 ? "true" : "false");
	} else {
		buf_printf(b, "%.10g", v);
	}
}

void
hgrid_csv_row(const struct hgrid *g, size_t row, struct buf *b)
{
	char when[40];
	hgrid_rfc3339(g->r.t0_ms + (int64_t)row * g->r.step_ms, when, sizeof(when));
	buf_puts(b, when);
	for (int c = 0; c < g->nsig; c++) {
		buf_putc(b, ',');
		csv_cell(g->sig[c], g->v[row * (size_t)g->nsig + (size_t)c], b);
	}
	buf_puts(b, "\r\n");
}
