/*
 * The read side of the ledger (STATEDIR/ledger.db, written only by the
 * leafmon-ledger worker; schema version 1, the contract shared with it). Opened
 * read-only; a file that does not exist yet is an empty ledger, a schema
 * newer than this build knows is an error. The CLI's trips, charges, parks
 * and battery commands and the web worker's /api routes answer from here,
 * so both give the same JSON (docs/DESIGN.md "Ledger: reading it").
 */
#ifndef LEAFMON_LEDGER_QUERY_H
#define LEAFMON_LEDGER_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define LQ_SCHEMA_VERSION 1 /* the newest schema this reader knows */
#define LQ_BUSY_MS 1000
#define LQ_MIN_FIT_DAYS 3     /* daily values for a slope (and its standard error) */
#define LQ_PROJ_MIN_DAYS 30   /* daily SOH values for a projection */
#define LQ_BAR_FIRST_PCT 85.0 /* SOH below which the 12th capacity bar goes */
#define LQ_BAR_STEP_PCT 6.25  /* and each further bar */

enum lq_kind { LQ_TRIP, LQ_CHARGE, LQ_PARK, LQ_DAILY, LQ_KINDS };

struct lq_err {
	char msg[640];
};

struct sqlite3;
struct lq {
	struct sqlite3 *db; /* NULL: no ledger yet (every answer is empty) */
	char path[300];
};

struct lq_filter {
	int64_t since_ns; /* sessions that began at or after (INT64_MIN: all) */
	bool moves;	  /* trips under min_trip_km too */
};

/* One value of a row's detail, by key (json_extract). */
enum lq_type { LQ_NONE, LQ_NUM, LQ_STR, LQ_BOOL, LQ_JSON };
struct lq_val {
	enum lq_type type;
	double num;	 /* LQ_NUM, LQ_BOOL (0/1) */
	const char *str; /* LQ_STR, LQ_JSON; the number's text for LQ_NUM; valid in the callback */
};

/* Open STATEDIR/ledger.db read-only. 0 (q->db NULL when there is no file
 * yet), or -1 with the reason (unreadable, not a ledger, a newer schema). */
int lq_open(struct lq *q, const char *statedir, struct lq_err *e);
void lq_close(struct lq *q);


/*
 * "2026-11-01" (local midnight), "2026-11-01T08:00[:SS]" (local time; years
 * 1970..2200), or a duration back from now, at most 200 years: "36h", "30d",
 * "2w", "1y". Into Unix ns.
 */
int lq_parse_since(const char *s, int64_t now_ns, int64_t *since_ns, struct lq_err *e);

/*
 * Each session of kind k passing f, by start: cb gets its detail text and
 * the values of keys[0..nkeys) (nkeys <= LQ_MAX_KEYS). cb's non-zero return
 * stops the walk and is returned. -1 on a database error (in e).
 */
#define LQ_MAX_KEYS 64
typedef int (*lq_row_fn)(void *arg, const char *detail, const struct lq_val *vals);
int lq_each(struct lq *q, enum lq_kind k, const struct lq_filter *f, const char *const *keys,
	    int nkeys, lq_row_fn cb, void *arg, struct lq_err *e);

/* The details as one JSON array, by start (the CLI's --json, the API). */
int lq_json(struct lq *q, enum lq_kind k, const struct lq_filter *f, struct buf *out,
	    struct lq_err *e);

/* CSV: a header of the contract's keys for k (then any other key a row
 * carries, by name), one row per session; an absent key is an empty cell. */
int lq_csv(struct lq *q, enum lq_kind k, const struct lq_filter *f, struct buf *out,
	   struct lq_err *e);

/* ---- monthly totals (local calendar months, by a session's start) ---- */
#define LQ_MAX_CURRENCIES 4
struct lq_month {
	char month[8]; /* YYYY-MM */
	int trips, charges, uncosted;
	bool has_km, has_net, has_pack, has_grid, has_lost;
	double km, net_kwh, pack_kwh, grid_kwh, park_kwh_lost;
	int ncost;
	struct {
		char currency[8];
		double cost;
	} cost[LQ_MAX_CURRENCIES];
};
/* Every month from f->since_ns on (moves count: they are real km and kWh).
 * *out is malloc'd (free it), *n months. */
int lq_monthly(struct lq *q, const struct lq_filter *f, struct lq_month **out, int *n,
	       struct lq_err *e);
void lq_monthly_json(const struct lq_month *m, int n, struct buf *out);

/* ---- the battery trend ---- */

/* Ordinary least squares of y on x. */
struct lq_fit {
	int n;
	double xmean, sxx, slope, intercept, se_slope, s; /* s: the residuals' standard deviation */
	bool ok;					  /* n >= LQ_MIN_FIT_DAYS and sxx > 0 */
};
void lq_fit(const double *x, const double *y, int n, struct lq_fit *f);

/* The SOH at which a car showing `bars` capacity bars loses the next one
 * (85 % for 12, then every 6.25 % less). bars in 1..12. */
double lq_bar_threshold(int bars);
/* The bars Nissan's gauge shows for a SOH. */
int lq_bars_for_soh(double soh);

/*
 * The date the fitted SOH line reaches threshold, in days since 1970-01-01,
 * with its standard error (the delta method: s/|b| * sqrt(1/n + (x - xmean)^2
 * / sxx), the intercept's and the slope's uncertainty both). 0, or -1 with
 * why (a slope that is not negative).
 */
int lq_project(const struct lq_fit *f, double threshold, double *x, double *se_days);

/* The trend over the last 365 days of daily rows: windows of 30, 90 and
 * 365 days ending at the newest row, series soh_pct, gids_full and
 * capacity_kwh; the projection from the 365-day SOH fit. */
#define LQ_WINDOWS 3
#define LQ_SERIES 3
struct lq_projection {
	int bars; /* shown now (-1 unknown) */
	int n;	  /* SOH values fitted */
	bool ok;
	char reason[160]; /* why there is none */
	double threshold, days_from_last, stderr_days;
	double fitted_soh; /* the 365-day line at the newest day */
	char date[16], earliest[16], latest[16];
};
struct lq_trend {
	int days; /* daily rows in the last 365 days */
	char last_date[16];
	struct {
		int days;
		struct lq_fit fit[LQ_SERIES];
	} win[LQ_WINDOWS];
	struct lq_projection proj;
};
int lq_trend(struct lq *q, struct lq_trend *t, struct lq_err *e);
struct json;

/* {"daily": [details from f->since_ns on], "trend": {...}}: the trend always
 * over the last 365 days of daily rows (windows 30, 90, 365 days ending at
 * the newest one). */
int lq_battery_json(struct lq *q, const struct lq_filter *f, struct buf *out, struct lq_err *e);

#endif
