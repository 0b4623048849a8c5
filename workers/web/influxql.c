/*
 * InfluxQL building and answer parsing. The answer's shape:
 * {"results":[{"statement_id":0,"series":[{"name":"battery",
 *   "columns":["time","a","b"],"values":[[ms,1.5,null],...]}],
 *   "error":"..."}], "error":"..."}
 * Columns are our aliases (signal names); anything else is skipped.
 */
#include "influxql.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jscan.h"

#define MAX_COLUMNS (WPARAM_MAX_SIGNALS + 1)

static void
statement(const struct hgrid *g, int group, const char *rp, struct buf *q)
{
	int n = 0;
	if (q->len > 0)
		buf_putc(q, ';');
	buf_puts(q, "SELECT ");
	for (int i = 0; i < g->nsig; i++) {
		const struct sig_info *si = g->sig[i];
		if (si->group != group)
			continue;
		bool last = si->type == ST_BOOL || si->type == ST_ENUM;
		buf_printf(q, "%s%s(\"%s\") AS \"%s\"", n++ ? "," : "", last ? "last" : "mean",
			   si->name, si->name);
	}
	buf_puts(q, " FROM ");
	if (rp[0] != '\0')
		buf_printf(q, "\"%s\".", rp);
	/* from the first row's start (a whole bucket), and earlier by the lead
	 * rows that hold the seeds for fill(previous) */
	int64_t since = g->r.t0_ms - (int64_t)hgrid_lead_rows(g) * g->r.step_ms;
	if (since < 0)
		since = 0;
	buf_printf(q, "\"%s\" WHERE time >= %lldms AND time < %lldms GROUP BY time(%llds) fill(none)",
		   sig_group_name((unsigned)group), (long long)since, (long long)g->r.to_ms,
		   (long long)(g->r.step_ms / 1000));
}

void
influxql_build(const struct hgrid *g, const char *rp, struct buf *q)
{
	bool done[SG_COUNT] = {false};
	for (int i = 0; i < g->nsig; i++) {
		int group = g->sig[i]->group;
		if (group < 0 || group >= SG_COUNT || done[group])
			continue;
		done[group] = true;
		statement(g, group, rp, q);
	}
}

/* ---- the answer ---- */

struct walk {
	struct jscan j;
	struct hgrid *g;
	int col_of[MAX_COLUMNS]; /* answer column -> grid column, -1 skip */
	int ncols;
	int time_col;
	char *err;
	size_t errlen;
};

static int
fail(struct walk *w, const char *what)
{
	if (w->err[0] == '\0')
		snprintf(w->err, w->errlen, "%s%s%s", what, w->j.err ? ": " : "",
			 w->j.err ? w->j.err : "");
	return -1;
}

static int
columns(struct walk *w)
{
	char name[64];
	enum jtok t;
	if (jscan_next(&w->j) != JT_ARR)
		return fail(w, "columns is not an array");
	w->ncols = 0;
	w->time_col = -1;
	while ((t = jscan_next(&w->j)) == JT_STR) {
		if (w->ncols >= MAX_COLUMNS)
			return fail(w, "too many columns");
		if (jscan_str(&w->j, name, sizeof(name)) < 0)
			name[0] = '\0';
		if (strcmp(name, "time") == 0)
			w->time_col = w->ncols;
		w->col_of[w->ncols++] = hgrid_col(w->g, name);
	}
	return t == JT_ARR_END && w->time_col >= 0 ? 0 : fail(w, "bad columns");
}

/* one cell of a row into v (NaN when null or unusable) */
static int
cell(struct walk *w, enum jtok t, int gcol, double *v)
{
	char label[64];
	*v = NAN;
	switch (t) {
	case JT_NUM:
		*v = w->j.num;
		return 0;
	case JT_TRUE:
	case JT_FALSE:
		*v = t == JT_TRUE;
		return 0;
	case JT_NULL:
		return 0;
	case JT_STR:
		if (gcol >= 0 && w->g->sig[gcol]->type == ST_ENUM &&
		    jscan_str(&w->j, label, sizeof(label)) == 0 &&
		    sig_enum_index(w->g->sig[gcol], label) >= 0)
			*v = sig_enum_index(w->g->sig[gcol], label);
		else if (gcol >= 0)
			w->g->rejected++;
		return 0;
	default:
		return fail(w, "bad cell");
	}
}

static int
row(struct walk *w)
{
	double vals[MAX_COLUMNS], v;
	double t_ms = NAN;
	enum jtok t;
	int i = 0;
	while ((t = jscan_next(&w->j)) != JT_ARR_END) {
		if (i >= w->ncols)
			return fail(w, "row longer than columns");
		int gcol = w->col_of[i];
		if (cell(w, t, gcol, &v) < 0)
			return -1;
		if (i == w->time_col)
			t_ms = v;
		vals[i++] = v;
	}
	if (!isfinite(t_ms))
		return fail(w, "row without a time");
	for (int k = 0; k < i; k++)
		if (k != w->time_col && w->col_of[k] >= 0 && !isnan(vals[k]))
			hgrid_set(w->g, (int64_t)t_ms, w->col_of[k], vals[k]);
	return 0;
}

static int
values(struct walk *w)
{
	enum jtok t;
	if (w->ncols == 0)
		return fail(w, "values before columns");
	if (jscan_next(&w->j) != JT_ARR)
		return fail(w, "values is not an array");
	while ((t = jscan_next(&w->j)) == JT_ARR)
		if (row(w) < 0)
			return -1;
	return t == JT_ARR_END ? 0 : fail(w, "bad values");
}

static int
one_series(struct walk *w)
{
	enum jtok t;
	w->ncols = 0;
	while ((t = jscan_next(&w->j)) == JT_KEY) {
		int rc;
		if (jscan_is(&w->j, "columns"))
			rc = columns(w);
		else if (jscan_is(&w->j, "values"))
			rc = values(w);
		else
			rc = jscan_skip(&w->j, jscan_next(&w->j));
		if (rc < 0)
			return fail(w, "bad series");
	}
	return t == JT_OBJ_END ? 0 : fail(w, "bad series");
}

static int
error_text(struct walk *w, const char *prefix)
{
	char msg[200];
	if (jscan_next(&w->j) != JT_STR || jscan_str(&w->j, msg, sizeof(msg)) < 0)
		snprintf(msg, sizeof(msg), "(unreadable)");
	snprintf(w->err, w->errlen, "%s%s", prefix, msg);
	return -1;
}

static int
one_result(struct walk *w)
{
	enum jtok t;
	while ((t = jscan_next(&w->j)) == JT_KEY) {
		int rc = 0;
		if (jscan_is(&w->j, "error"))
			return error_text(w, "InfluxDB: ");
		if (jscan_is(&w->j, "series")) {
			if (jscan_next(&w->j) != JT_ARR)
				return fail(w, "series is not an array");
			while ((t = jscan_next(&w->j)) == JT_OBJ)
				if (one_series(w) < 0)
					return -1;
			rc = t == JT_ARR_END ? 0 : -1;
		} else {
			rc = jscan_skip(&w->j, jscan_next(&w->j));
		}
		if (rc < 0)
			return fail(w, "bad result");
	}
	return t == JT_OBJ_END ? 0 : fail(w, "bad result");
}

int
influxql_parse(const char *body, size_t len, struct hgrid *g, char *err, size_t errlen)
{
	struct walk w = {.g = g, .err = err, .errlen = errlen};
	enum jtok t;
	err[0] = '\0';
	jscan_init(&w.j, body, len);
	if (jscan_next(&w.j) != JT_OBJ)
		return fail(&w, "not a JSON object");
	while ((t = jscan_next(&w.j)) == JT_KEY) {
		if (jscan_is(&w.j, "error"))
			return error_text(&w, "InfluxDB: ");
		if (!jscan_is(&w.j, "results")) {
			if (jscan_skip(&w.j, jscan_next(&w.j)) < 0)
				return fail(&w, "bad JSON");
			continue;
		}
		if (jscan_next(&w.j) != JT_ARR)
			return fail(&w, "results is not an array");
		while ((t = jscan_next(&w.j)) == JT_OBJ)
			if (one_result(&w) < 0)
				return -1;
		if (t != JT_ARR_END)
			return fail(&w, "bad results");
	}
	if (t != JT_OBJ_END || jscan_next(&w.j) != JT_END)
		return fail(&w, "bad JSON");
	return 0;
}
