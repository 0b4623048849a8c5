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
	if (g->v == NULL)
		return -1;
	for (size_t i = 0; i < r->nrows * (size_t)nsig; i++)
		g->v[i] = NAN;
	return 0;
}

void
hgrid_free(struct hgrid *g)
{
	free(g->v);
	g->v = NULL;
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
	if (col < 0 || col >= g->nsig || off < 0 || off % g->r.step_ms != 0 ||
	    (size_t)(off / g->r.step_ms) >= g->r.nrows || !isfinite(v)) {
		g->rejected++;
		return;
	}
	g->v[(size_t)(off / g->r.step_ms) * (size_t)g->nsig + (size_t)col] = v;
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
