/*
 * Query-parameter parsing for the web API: times, signal lists, history
 * ranges, form bodies. Pure functions; the HTTP layer turns a -1 into a 400
 * with e->msg. Nothing here trusts its input's length or characters.
 */
#include "wparam.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define MAX_UNIX_S 4102444800LL /* 2100-01-01: anything later is a typo */

static int
fail(struct wparam_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Howard Hinnant's days_from_civil, for dates without a time zone library. */
int64_t
wparam_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int
wparam_clip(const char *s, int max)
{
	int n = 0;
	while (n < max && s[n] != '\0')
		n++;
	if (s[n] == '\0')
		return n;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--; /* s[n] continues a character: cut before it starts */
	return n;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* exactly n digits at *p, advancing it */
static int
digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return -1;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* ".123456" -> milliseconds (truncated), advancing p; none -> 0 */
static int
fraction_ms(const char **p, int64_t *ms)
{
	int64_t v = 0;
	int n = 0;
	*ms = 0;
	if (**p != '.')
		return 0;
	(*p)++;
	while (is_digit(**p)) {
		if (n < 3)
			v = v * 10 + (**p - '0');
		n++;
		(*p)++;
	}
	if (n == 0 || n > 9)
		return -1;
	for (int i = n; i < 3; i++)
		v *= 10;
	*ms = v;
	return 0;
}

static unsigned
days_in_month(unsigned y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Z, z, +hh:mm or -hh:mm (a '+' that arrived unencoded is a space) */
static int
zone_offset_s(const char *p, int64_t *off)
{
	unsigned hh, mm;
	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		*off = 0;
		return 0;
	}
	if (p[0] != '+' && p[0] != '-' && p[0] != ' ')
		return -1;
	int sign = p[0] == '-' ? -1 : 1;
	p++;
	if (digits(&p, 2, &hh) < 0 || *p++ != ':' || digits(&p, 2, &mm) < 0 || *p != '\0' ||
	    hh > 23 || mm > 59)
		return -1;
	*off = sign * (int64_t)(hh * 3600 + mm * 60);
	return 0;
}

static int
rfc3339(const char *s, int64_t *ms)
{
	unsigned y, mo, d, h, mi, sec;
	int64_t frac, off;
	const char *p = s;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &sec) < 0 || fraction_ms(&p, &frac) < 0 || zone_offset_s(p, &off) < 0)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (sec == 60) /* a leap second: the instant just before the next minute */
		sec = 59, frac = 999;
	int64_t t = wparam_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*ms = t * 1000 + frac;
	return 0;
}

static int
unix_seconds(const char *s, int64_t *ms)
{
	const char *p = s;
	int64_t v = 0, frac;
	int n = 0;
	while (is_digit(*p)) {
		if (++n > 11)
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	if (n == 0 || fraction_ms(&p, &frac) < 0 || *p != '\0')
		return -1;
	*ms = v * 1000 + frac;
	return 0;
}

int
wparam_time(const char *s, int64_t *ms, struct wparam_err *e)
{
	if (s == NULL || *s == '\0')
		return fail(e, "empty time");
	if (strlen(s) > 40)
		return fail(e, "time too long");
	int rc = strchr(s, '-') != NULL ? rfc3339(s, ms) : unix_seconds(s, ms);
	if (rc < 0)
		return fail(e, "bad time '%.*s': use Unix seconds or RFC 3339", wparam_clip(s, 40),
			    s);
	if (*ms < 0 || *ms > MAX_UNIX_S * 1000)
		return fail(e, "time '%.*s' out of range (1970..2100)", wparam_clip(s, 40), s);
	return 0;
}

int
wparam_signals(const char *s, const struct sig_info **out, int max, int *n,
	       struct wparam_err *e)
{
	char name[64];
	*n = 0;
	if (s == NULL || *s == '\0')
		return fail(e, "signals: give at least one signal name");
	for (const char *p = s;; p++) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(name))
			return fail(e, "signals: empty or overlong name in the list");
		memcpy(name, p, len);
		name[len] = '\0';
		const struct sig_info *si = sig_by_name(name);
		if (!sig_published(si))
			return fail(e, "unknown signal '%s'", name);
		for (int i = 0; i < *n; i++)
			if (out[i] == si)
				return fail(e, "signal '%s' given twice", name);
		if (*n >= max)
			return fail(e, "too many signals: at most %d", max);
		out[(*n)++] = si;
		if (comma == NULL)
			return 0;
		p = comma;
	}
}

static int
resolve_ends(const char *from, const char *to, int64_t now_ms, struct wrange *r,
	     struct wparam_err *e)
{
	struct wparam_err sub;
	r->to_ms = now_ms;
	if (to != NULL && wparam_time(to, &r->to_ms, &sub) < 0)
		return fail(e, "to: %s", sub.msg);
	r->from_ms = r->to_ms - 3600 * 1000;
	if (from != NULL && wparam_time(from, &r->from_ms, &sub) < 0)
		return fail(e, "from: %s", sub.msg);
	if (r->from_ms >= r->to_ms)
		return fail(e, "from must be before to");
	if (r->to_ms - r->from_ms > WPARAM_MAX_RANGE_S * 1000)
		return fail(e, "range too large: at most %lld days", WPARAM_MAX_RANGE_S / 86400);
	return 0;
}

static size_t
rows_for(const struct wrange *r)
{
	int64_t t0 = r->from_ms - r->from_ms % r->step_ms;
	return (size_t)((r->to_ms - t0 + r->step_ms - 1) / r->step_ms);
}

int
wparam_range(const char *from, const char *to, const char *step, const char *points,
	     int64_t now_ms, size_t max_rows, struct wrange *r, struct wparam_err *e)
{
	int64_t v;
	if (resolve_ends(from, to, now_ms, r, e) < 0)
		return -1;
	if (step != NULL) {
		if (points != NULL)
			return fail(e, "give step or points, not both");
		if (parse_i64(step, 1, 31 * 86400, &v) < 0)
			return fail(e, "bad step '%.*s': whole seconds, 1..2678400",
				    wparam_clip(step, 20), step);
		r->step_ms = v * 1000;
		if (rows_for(r) > max_rows)
			return fail(e, "step %llds gives more than %zu points for this range",
				    (long long)v, max_rows);
	} else {
		int64_t want = WPARAM_DEFAULT_POINTS;
		if (points != NULL && parse_i64(points, 1, (int64_t)max_rows, &want) < 0)
			return fail(e, "bad points '%.*s': 1..%zu", wparam_clip(points, 20), points,
				    max_rows);
		int64_t span_s = (r->to_ms - r->from_ms + 999) / 1000;
		int64_t s = (span_s + want - 1) / want;
		r->step_ms = (s < 1 ? 1 : s) * 1000;
		while (rows_for(r) > (size_t)want && r->step_ms < 31 * 86400 * 1000LL)
			r->step_ms += 1000; /* the rounding down of t0 added a row */
	}
	r->t0_ms = r->from_ms - r->from_ms % r->step_ms;
	r->nrows = rows_for(r);
	return 0;
}

int
wparam_worker(const char *s, struct wparam_err *e)
{
	static const char *const names[] = {"can", "influx", "cloud", "web", "mqtt", "abrp"};
	for (size_t i = 0; s != NULL && i < ARRAY_LEN(names); i++)
		if (strcmp(s, names[i]) == 0)
			return 0;
	s = s ? s : "";
	return fail(e, "unknown worker '%.*s': can, influx, cloud, web, mqtt or abrp", wparam_clip(s, 20),
		    s);
}

/* decode one urlencoded value of len bytes into out */
static int
form_decode(const char *p, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= len || hex_digit(p[i + 1]) < 0 || hex_digit(p[i + 2]) < 0)
				return -1;
			c = (char)(hex_digit(p[i + 1]) * 16 + hex_digit(p[i + 2]));
			i += 2;
			if (c == '\0')
				return -1;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int
wparam_form_value(const char *body, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	size_t i = 0;
	while (i < len) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - body) : len;
		const char *eq = memchr(body + i, '=', end - i);
		if (eq != NULL && (size_t)(eq - (body + i)) == klen &&
		    memcmp(body + i, key, klen) == 0)
			return form_decode(eq + 1, end - (size_t)(eq + 1 - body), out, cap);
		i = end + 1;
	}
	return -1;
}
