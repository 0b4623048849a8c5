/*
 * Query-parameter parsing for the web API (pure: no I/O). Times are Unix
 * seconds or RFC 3339, signal lists are names from the catalogue, and a
 * history request becomes a range, a step and a bounded number of rows.
 * Every failure leaves a message for the client's 400 answer.
 */
#ifndef LEAFMON_WPARAM_H
#define LEAFMON_WPARAM_H

#include <stddef.h>
#include <stdint.h>

#include "signals.h"

#define WPARAM_MAX_SIGNALS 24
#define WPARAM_MAX_RANGE_S (400LL * 86400) /* longest range one request may ask for */
#define WPARAM_HISTORY_POINTS 5000	   /* rows a chart request may return */
#define WPARAM_EXPORT_POINTS 50000	   /* rows a CSV export may return */
#define WPARAM_DEFAULT_POINTS 1000

struct wparam_err {
	char msg[200];
};

/* "1700000000", "1700000000.25" or RFC 3339 ("2024-05-01T12:00:00.5+02:00")
 * into Unix milliseconds. 0 or -1. */
int wparam_time(const char *s, int64_t *ms, struct wparam_err *e);

/* "a,b,c" into published signals, no duplicates, 1..max of them. */
int wparam_signals(const char *s, const struct sig_info **out, int max, int *n,
		   struct wparam_err *e);

/* A history or export request, resolved. Rows are the step buckets of
 * [t0, to_ms), t0 = from_ms rounded down to a multiple of the step, as
 * InfluxDB's GROUP BY time() aligns them. */
struct wrange {
	int64_t from_ms, to_ms, t0_ms;
	int64_t step_ms;
	size_t nrows;
};

/*
 * Resolve from/to/step/points (any may be NULL: to defaults to now_ms, from
 * to an hour before to, the step to what `points` (default
 * WPARAM_DEFAULT_POINTS) rows need). An explicit step that gives more than
 * max_rows rows is an error, not silently coarsened.
 */
int wparam_range(const char *from, const char *to, const char *step, const char *points,
		 int64_t now_ms, size_t max_rows, struct wrange *r, struct wparam_err *e);

/* A worker name the control socket knows (can, influx, cloud, web). */
int wparam_worker(const char *s, struct wparam_err *e);

/* application/x-www-form-urlencoded: the value of `key` in body (decoded
 * into out). 0 found, -1 absent or malformed or too long. */
int wparam_form_value(const char *body, size_t len, const char *key, char *out, size_t cap);

/* How many bytes of s to echo in a message, at most max, without cutting
 * a UTF-8 character in half (for "%.*s"). */
int wparam_clip(const char *s, int max);

/* Days since 1970-01-01 for a proleptic Gregorian date (exposed for tests). */
int64_t wparam_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
