/*
 * The ledger's figures over many sessions: monthly totals, and the battery
 * trend (least-squares slopes of the daily SOH, full-capacity GIDs and
 * measured capacity, and the projected date of the next capacity-bar loss).
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "ledger_query.h"

#define DAY_NS (86400 * NSEC_PER_SEC)

static void
fixed(struct json *j, const char *key, double v, int digits)
{
	char s[48];
	snprintf(s, sizeof(s), "%.*f", digits, v);
	if (strcmp(s, "-0") == 0 || strncmp(s, "-0.", 3) == 0) { /* -0.000 reads as 0 */
		bool zero = true;
		for (const char *p = s + 1; *p; p++)
			zero &= *p == '0' || *p == '.';
		if (zero)
			memmove(s, s + 1, strlen(s));
	}
	json_raw(j, key, s);
}

static int
fail(struct lq *q, struct lq_err *e, const char *what)
{
	snprintf(e->msg, sizeof(e->msg), "%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
	return -1;
}

/* ---- monthly totals ---- */

/* clang-format off */
#define MONTH_OF "strftime('%Y-%m', start_ns / 1000000000, 'unixepoch', 'localtime')"
#define X(key) "json_extract(detail, '$." key "')"

static const char monthly_sql[] =
    "SELECT m, sum(kind = 'trip'),"
    " sum(CASE WHEN kind = 'trip' THEN " X("distance_km") " END),"
    " sum(CASE WHEN kind = 'trip' THEN coalesce(" X("net_kwh") ", " X("energy_out_kwh") " - " X(
	"energy_in_kwh") ") END),"
    " sum(kind = 'charge'),"
    " sum(CASE WHEN kind = 'charge' THEN " X("pack_kwh") " END),"
    " sum(CASE WHEN kind = 'charge' THEN " X("grid_kwh") " END),"
    " sum(kind = 'charge' AND (" X("cost") " IS NULL OR " X("currency") " IS NULL)),"
    " sum(CASE WHEN kind = 'park' THEN " X("kwh_lost") " END)"
    " FROM (SELECT " MONTH_OF " AS m, kind, detail FROM session"
    " WHERE kind IN ('trip', 'charge', 'park') AND start_ns >= ?1)"
    " GROUP BY m ORDER BY m";
static const char cost_sql[] =
    "SELECT " MONTH_OF " AS m, " X("currency") " AS c, sum(" X("cost") ") FROM session"
    " WHERE kind = 'charge' AND start_ns >= ?1 AND " X("cost") " IS NOT NULL AND " X(
	"currency") " IS NOT NULL GROUP BY m, c ORDER BY m, c";
/* clang-format on */

static bool
col(sqlite3_stmt *st, int i, double *v)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return false;
	*v = sqlite3_column_double(st, i);
	return true;
}

static int
month_row(sqlite3_stmt *st, struct lq_month *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->month, sizeof(m->month), "%s", (const char *)sqlite3_column_text(st, 0));
	m->trips = sqlite3_column_int(st, 1);
	m->has_km = col(st, 2, &m->km);
	m->has_net = col(st, 3, &m->net_kwh);
	m->charges = sqlite3_column_int(st, 4);
	m->has_pack = col(st, 5, &m->pack_kwh);
	m->has_grid = col(st, 6, &m->grid_kwh);
	m->uncosted = sqlite3_column_int(st, 7);
	m->has_lost = col(st, 8, &m->park_kwh_lost);
	return 0;
}

static void
month_cost(struct lq_month *ms, int n, sqlite3_stmt *st)
{
	const char *month = (const char *)sqlite3_column_text(st, 0);
	const char *cur = (const char *)sqlite3_column_text(st, 1);
	for (int i = 0; i < n; i++) {
		struct lq_month *m = &ms[i];
		if (strcmp(m->month, month) != 0)
			continue;
		if (m->ncost == LQ_MAX_CURRENCIES) { /* more currencies in a month: not costed */
			m->uncosted++;
			return;
		}
		snprintf(m->cost[m->ncost].currency, sizeof(m->cost[0].currency), "%s", cur);
		m->cost[m->ncost++].cost = sqlite3_column_double(st, 2);
		return;
	}
}

int
lq_monthly(struct lq *q, const struct lq_filter *f, struct lq_month **out, int *n, struct lq_err *e)
{
	sqlite3_stmt *st;
	int cap = 0, rc;

	*out = NULL;
	*n = 0;
	if (q->db == NULL)
		return 0;
	if (sqlite3_prepare_v2(q->db, monthly_sql, -1, &st, NULL) != SQLITE_OK)
		return fail(q, e, "monthly totals");
	sqlite3_bind_int64(st, 1, f->since_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct lq_month *p = realloc(*out, (size_t)cap * sizeof(**out));
			if (p == NULL)
				break;
			*out = p;
		}
		month_row(st, &(*out)[(*n)++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto err;
	if (sqlite3_prepare_v2(q->db, cost_sql, -1, &st, NULL) != SQLITE_OK)
		goto err;
	sqlite3_bind_int64(st, 1, f->since_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		month_cost(*out, *n, st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
err:
	rc = rc == SQLITE_ROW ? (snprintf(e->msg, sizeof(e->msg), "out of memory"), -1)
			      : fail(q, e, "monthly totals");
	free(*out);
	*out = NULL;
	*n = 0;
	return rc;
}

void
lq_monthly_json(const struct lq_month *ms, int n, struct buf *out)
{
	struct json j;
	json_init(&j, out);
	json_arr_open(&j, NULL);
	for (int i = 0; i < n; i++) {
		const struct lq_month *m = &ms[i];
		json_obj_open(&j, NULL);
		json_str(&j, "month", m->month);
		json_int(&j, "trips", m->trips);
		if (m->has_km)
			fixed(&j, "distance_km", m->km, 3);
		if (m->has_net)
			fixed(&j, "net_kwh", m->net_kwh, 3);
		if (m->has_km && m->has_net && m->km >= 0.01)
			fixed(&j, "wh_per_km", m->net_kwh * 1000 / m->km, 1);
		json_int(&j, "charges", m->charges);
		if (m->has_pack)
			fixed(&j, "charge_pack_kwh", m->pack_kwh, 3);
		if (m->has_grid)
			fixed(&j, "charge_grid_kwh", m->grid_kwh, 3);
		json_obj_open(&j, "cost");
		for (int c = 0; c < m->ncost; c++)
			fixed(&j, m->cost[c].currency, m->cost[c].cost, 2);
		json_obj_close(&j);
		json_int(&j, "charges_uncosted", m->uncosted);
		if (m->has_lost)
			fixed(&j, "park_kwh_lost", m->park_kwh_lost, 3);
		json_obj_close(&j);
	}
	json_arr_close(&j);
}

/* ---- least squares and the bar projection ---- */

void
lq_fit(const double *x, const double *y, int n, struct lq_fit *f)
{
	double sx = 0, sy = 0, sxy = 0, ssr = 0;
	memset(f, 0, sizeof(*f));
	f->n = n;
	if (n < 1)
		return;
	for (int i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
	}
	f->xmean = sx / n;
	double ymean = sy / n;
	for (int i = 0; i < n; i++) {
		double dx = x[i] - f->xmean;
		f->sxx += dx * dx;
		sxy += dx * (y[i] - ymean);
	}
	if (n < LQ_MIN_FIT_DAYS || f->sxx <= 0)
		return;
	f->slope = sxy / f->sxx;
	f->intercept = ymean - f->slope * f->xmean;
	for (int i = 0; i < n; i++) {
		double r = y[i] - (f->intercept + f->slope * x[i]);
		ssr += r * r;
	}
	f->s = sqrt(ssr / (n - 2));
	f->se_slope = f->s / sqrt(f->sxx);
	f->ok = true;
}

double
lq_bar_threshold(int bars)
{
	return LQ_BAR_FIRST_PCT - LQ_BAR_STEP_PCT * (12 - bars);
}

int
lq_bars_for_soh(double soh)
{
	for (int bars = 12; bars > 0; bars--)
		if (soh >= lq_bar_threshold(bars))
			return bars;
	return 0;
}

int
lq_project(const struct lq_fit *f, double threshold, double *x, double *se_days)
{
	if (!f->ok || !(f->slope < 0))
		return -1;
	*x = (threshold - f->intercept) / f->slope;
	double dx = *x - f->xmean;
	*se_days = f->s / fabs(f->slope) * sqrt(1.0 / f->n + dx * dx / f->sxx);
	return 0;
}

/* ---- the battery document ---- */

enum { S_SOH, S_GIDS, S_KWH, NSERIES = LQ_SERIES };
static const char *const series_names[NSERIES] = {"soh_pct", "gids_full", "capacity_kwh"};

struct daily {
	int n, cap;
	double *x;	    /* days since 1970-01-01 of each row */
	double *y[NSERIES]; /* NAN where the row has none */
	int bars;	    /* the newest capacity_bars, -1 unknown */
	char last_date[16];
};

static void
daily_free(struct daily *d)
{
	free(d->x);
	for (int s = 0; s < NSERIES; s++)
		free(d->y[s]);
}

static int
daily_grow(struct daily *d)
{
	int cap = d->cap ? d->cap * 2 : 512;
	double *x = realloc(d->x, (size_t)cap * sizeof(double));
	if (x == NULL)
		return -1;
	d->x = x;
	for (int s = 0; s < NSERIES; s++) {
		double *y = realloc(d->y[s], (size_t)cap * sizeof(double));
		if (y == NULL)
			return -1;
		d->y[s] = y;
	}
	d->cap = cap;
	return 0;
}

/* The day number: the row's date (julianday), else its start. */
/* clang-format off */
static const char daily_sql[] =
    "SELECT coalesce(julianday(" X("date") ") - 2440587.5, start_ns / 86400000000000.0),"
    " " X("soh_pct") ", " X("gids_full") ", " X("capacity_kwh") ", " X("capacity_bars") ","
    " coalesce(" X("date") ", date(start_ns / 1000000000, 'unixepoch', 'localtime'))"
    " FROM session WHERE kind = 'battery_daily' AND start_ns >= ?1 ORDER BY start_ns";
/* clang-format on */

static int
daily_load(struct lq *q, struct daily *d, struct lq_err *e)
{
	sqlite3_stmt *st;
	int64_t last = 0;
	int rc;

	d->bars = -1;
	if (sqlite3_prepare_v2(q->db,
			       "SELECT max(start_ns) FROM session WHERE kind = 'battery_daily'", -1,
			       &st, NULL) != SQLITE_OK)
		return fail(q, e, "battery trend");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	bool none = rc != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(q, e, "battery trend");
	if (none)
		return 0;
	if (sqlite3_prepare_v2(q->db, daily_sql, -1, &st, NULL) != SQLITE_OK)
		return fail(q, e, "battery trend");
	sqlite3_bind_int64(st, 1, last - 366 * DAY_NS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (d->n == d->cap && daily_grow(d) < 0)
			break;
		d->x[d->n] = sqlite3_column_double(st, 0);
		for (int s = 0; s < NSERIES; s++)
			d->y[s][d->n] = sqlite3_column_type(st, 1 + s) == SQLITE_NULL
					    ? NAN
					    : sqlite3_column_double(st, 1 + s);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			d->bars = sqlite3_column_int(st, 4);
		snprintf(d->last_date, sizeof(d->last_date), "%s", sqlite3_column_text(st, 5));
		d->n++;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		snprintf(e->msg, sizeof(e->msg), "out of memory");
	else
		fail(q, e, "battery trend");
	return -1;
}

/* The fit of series s over the rows of the last `days` days (ending at the newest row). */
static void
window_fit(const struct daily *d, int s, int days, struct lq_fit *f)
{
	double *x = malloc((size_t)(d->n + 1) * sizeof(double));
	double *y = malloc((size_t)(d->n + 1) * sizeof(double));
	int n = 0;
	if (x == NULL || y == NULL) {
		memset(f, 0, sizeof(*f));
		free(x);
		free(y);
		return;
	}
	for (int i = 0; i < d->n; i++) {
		if (d->x[i] <= d->x[d->n - 1] - days || isnan(d->y[s][i]))
			continue;
		x[n] = d->x[i];
		y[n++] = d->y[s][i];
	}
	lq_fit(x, y, n, f);
	free(x);
	free(y);
}

static void
day_str(double days, char *out, size_t len)
{
	time_t t = (time_t)floor(days + 0.5) * 86400; /* the nearest day */
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

static void
series_json(struct json *j, const char *name, const struct lq_fit *f)
{
	json_obj_open(j, name);
	json_int(j, "n", f->n);
	if (f->ok) {
		fixed(j, "slope_per_year", f->slope * 365.25, 4);
		fixed(j, "stderr_per_year", f->se_slope * 365.25, 4);
	} else {
		json_str(j, "reason",
			 f->n < LQ_MIN_FIT_DAYS ? "fewer than 3 days with a value"
						: "all on one day");
	}
	json_obj_close(j);
}

static void
project(const struct daily *d, struct lq_projection *p)
{
	struct lq_fit f;
	double x, se;

	window_fit(d, S_SOH, 365, &f);
	double soh_now = f.ok ? f.intercept + f.slope * d->x[d->n - 1] : NAN;
	p->bars = d->bars >= 0 ? d->bars : f.ok ? lq_bars_for_soh(soh_now) : -1;
	p->n = f.n;
	if (f.n < LQ_PROJ_MIN_DAYS)
		snprintf(p->reason, sizeof(p->reason),
			 "%d days with a SOH in the last 365, %d needed", f.n, LQ_PROJ_MIN_DAYS);
	else if (!f.ok || !(f.slope < 0))
		snprintf(p->reason, sizeof(p->reason), "SOH is not falling (%+.2f %%/year)",
			 f.slope * 365.25);
	else if (p->bars <= 0)
		snprintf(p->reason, sizeof(p->reason), "no capacity bar left to lose");
	else if (soh_now <= lq_bar_threshold(p->bars))
		snprintf(p->reason, sizeof(p->reason),
			 "the fitted SOH (%.2f %%) is already below the next bar's %.2f %%",
			 soh_now, lq_bar_threshold(p->bars));
	else if (lq_project(&f, lq_bar_threshold(p->bars), &x, &se) < 0)
		snprintf(p->reason, sizeof(p->reason), "no projection");
	if (p->reason[0] != '\0')
		return;
	p->ok = true;
	p->threshold = lq_bar_threshold(p->bars);
	p->days_from_last = x - d->x[d->n - 1];
	p->fitted_soh = soh_now;
	p->stderr_days = se;
	day_str(x, p->date, sizeof(p->date));
	day_str(x - se, p->earliest, sizeof(p->earliest));
	day_str(x + se, p->latest, sizeof(p->latest));
}

static void
trend_of(const struct daily *d, struct lq_trend *t)
{
	static const int windows[LQ_WINDOWS] = {30, 90, 365};
	memset(t, 0, sizeof(*t));
	if (d->n == 0) {
		t->proj.bars = -1;
		snprintf(t->proj.reason, sizeof(t->proj.reason), "no daily battery records yet");
		return;
	}
	for (int i = 0; i < d->n; i++)
		t->days += d->x[i] > d->x[d->n - 1] - 365;
	snprintf(t->last_date, sizeof(t->last_date), "%s", d->last_date);
	for (int w = 0; w < LQ_WINDOWS; w++) {
		t->win[w].days = windows[w];
		for (int s = 0; s < LQ_SERIES; s++)
			window_fit(d, s, windows[w], &t->win[w].fit[s]);
	}
	project(d, &t->proj);
}

int
lq_trend(struct lq *q, struct lq_trend *t, struct lq_err *e)
{
	struct daily d = {0};
	int rc = q->db != NULL ? daily_load(q, &d, e) : 0;
	if (rc == 0)
		trend_of(&d, t);
	daily_free(&d);
	return rc;
}

static void
lq_trend_json(const struct lq_trend *t, struct json *j)
{
	const struct lq_projection *p = &t->proj;
	json_obj_open(j, "trend");
	json_int(j, "days", t->days); /* daily rows in the last 365 days */
	if (t->days > 0)
		json_str(j, "last_date", t->last_date);
	json_arr_open(j, "windows");
	for (int w = 0; t->days > 0 && w < LQ_WINDOWS; w++) {
		json_obj_open(j, NULL);
		json_int(j, "days", t->win[w].days);
		for (int s = 0; s < LQ_SERIES; s++)
			series_json(j, series_names[s], &t->win[w].fit[s]);
		json_obj_close(j);
	}
	json_arr_close(j);
	json_obj_open(j, "projection");
	if (p->bars >= 0)
		json_int(j, "bars", p->bars);
	if (p->ok) {
		fixed(j, "threshold_soh_pct", p->threshold, 2);
		json_int(j, "n", p->n);
		json_str(j, "date", p->date);
		fixed(j, "fitted_soh_pct", p->fitted_soh, 2);
		fixed(j, "days_from_last", p->days_from_last, 0);
		fixed(j, "stderr_days", p->stderr_days, 0);
		json_str(j, "earliest", p->earliest);
		json_str(j, "latest", p->latest);
	} else {
		json_str(j, "reason", p->reason);
	}
	json_obj_close(j);
	json_obj_close(j);
}

int
lq_battery_json(struct lq *q, const struct lq_filter *f, struct buf *out, struct lq_err *e)
{
	struct lq_trend t;
	buf_puts(out, "{\"daily\":");
	if (lq_json(q, LQ_DAILY, f, out, e) < 0 || lq_trend(q, &t, e) < 0)
		return -1;
	struct json j;
	json_init(&j, out);
	j.need_comma[0] = true; /* after "daily" */
	lq_trend_json(&t, &j);
	buf_putc(out, '}');
	if (out->oom) {
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return -1;
	}
	return 0;
}
