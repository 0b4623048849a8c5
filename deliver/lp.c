/*
 * Line protocol formatting from spool payloads and the signal table.
 * Fields of a group keep the order they have in the sample; groups go in
 * the catalogue's group order, so the same record always gives the same
 * bytes (golden tests, and identical resends).
 */
#include "lp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "signals.h"
#include "spool_payload.h"

int
lp_escape_tag(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char c = (char)*p;
		if (*p < 0x20 || *p == 0x7f || c == '\\')
			c = '_';
		bool esc = c == ',' || c == '=' || c == ' ';
		if (n + (esc ? 2 : 1) >= cap)
			return -1;
		if (esc)
			dst[n++] = '\\';
		dst[n++] = c;
	}
	if (cap == 0)
		return -1;
	dst[n] = '\0';
	return (int)n;
}

const char *
lp_vehicle(const char *configured, char *buf, size_t len)
{
	if (configured != NULL && configured[0] != '\0')
		return configured;
	if (gethostname(buf, len) == 0 && buf[0] != '\0') {
		buf[len - 1] = '\0';
		return buf;
	}
	return "unknown";
}

static int64_t
prec_div(int precision)
{
	switch (precision) {
	case PREC_NS:
		return 1;
	case PREC_US:
		return 1000;
	case PREC_S:
		return NSEC_PER_SEC;
	default:
		return NSEC_PER_MSEC;
	}
}

void
lp_init(struct lp_ctx *c, const char *vehicle, int precision)
{
	char esc[360];
	memset(c, 0, sizeof(*c));
	if (vehicle == NULL || vehicle[0] == '\0' || lp_escape_tag(esc, sizeof(esc), vehicle) <= 0)
		snprintf(esc, sizeof(esc), "unknown");
	snprintf(c->tags, sizeof(c->tags), ",vehicle=%s", esc);
	c->precision = precision;
	c->div = prec_div(precision);
}

int64_t
lp_timestamp(const struct lp_ctx *c, int64_t t_ns)
{
	int64_t q = t_ns / c->div;
	if (t_ns % c->div != 0 && t_ns < 0)
		q--;
	return q;
}

/* a sample holds at most every signal, as value, min and max */
#define LP_MAX_VALUES (3 * SIG_ID_MAX)

static const char *const kind_suffix[] = {"", "_min", "_max"};

int
lp_fast_float(double v, char *out)
{
	return sig_short_float(v, out, true);
}

/* A field value as sig_format_lp writes it, without printf when it can. */
static int
format_value(const struct sig_info *s, double v, char *out, size_t len)
{
	int n;
	switch (s->type) {
	case ST_FLOAT:
		if ((n = lp_fast_float(v, out)) >= 0)
			return n;
		break;
	case ST_INT:
		if (v == nearbyint(v) && fabs(v) < 1e15) {
			n = (int)sig_fmt_i64(out, (int64_t)v);
			out[n++] = 'i';
			return n;
		}
		break;
	case ST_BOOL:
		if (isfinite(v)) {
			memcpy(out, v != 0 ? "true" : "false", v != 0 ? 4 : 5);
			return v != 0 ? 4 : 5;
		}
		break;
	default:
		break;
	}
	return sig_format_lp(s, v, out, len);
}

/* One group's fields; returns how many were written. */
static int
group_fields(struct buf *out, int group, const struct spool_value *v, int n,
	     struct lp_stats *st)
{
	char val[96];
	int written = 0;
	for (int i = 0; i < n; i++) {
		const struct sig_info *s = sig_by_id(v[i].id);
		if (s == NULL || s->group != group || !sig_published(s))
			continue;
		int vl = format_value(s, v[i].v, val, sizeof(val));
		if (vl < 0) {
			st->nonfinite++;
			continue;
		}
		buf_putc(out, written ? ',' : ' ');
		buf_puts(out, s->name);
		buf_puts(out, kind_suffix[v[i].kind]);
		buf_putc(out, '=');
		buf_append(out, val, (size_t)vl);
		written++;
	}
	return written;
}

static void
count_skipped(const struct spool_value *v, int n, struct lp_stats *st)
{
	for (int i = 0; i < n; i++) {
		const struct sig_info *s = sig_by_id(v[i].id);
		if (s == NULL)
			st->unknown++;
		else if (!sig_published(s))
			st->unpublished++;
	}
}

int
lp_record(const struct lp_ctx *c, struct buf *out, int64_t t_ns, bool unsynced,
	  const uint8_t *payload, size_t len, size_t *ends, struct lp_stats *st)
{
	struct spool_value v[LP_MAX_VALUES];
	int n = spool_payload_decode(payload, len, v, LP_MAX_VALUES);
	int lines = 0;

	if (n < 0) {
		st->malformed++;
		return -1;
	}
	count_skipped(v, n, st);
	char ts[24];
	ts[0] = ' ';
	size_t tsl = 1 + sig_fmt_i64(ts + 1, lp_timestamp(c, t_ns));
	ts[tsl++] = '\n';
	unsigned groups = 0;
	for (int i = 0; i < n; i++) {
		const struct sig_info *s = sig_by_id(v[i].id);
		if (s != NULL)
			groups |= 1u << s->group;
	}
	for (int g = 0; g < SG_COUNT && lines < LP_MAX_LINES_PER_RECORD; g++) {
		if (!(groups & (1u << g)))
			continue;
		size_t start = out->len;
		buf_puts(out, sig_group_name((unsigned)g));
		buf_puts(out, c->tags);
		int f = group_fields(out, g, v, n, st);
		if (f == 0) {
			out->len = start;
			continue;
		}
		if (unsynced)
			buf_puts(out, ",clock_unsynced=true");
		buf_append(out, ts, tsl);
		st->fields += (uint64_t)f;
		st->lines++;
		if (ends != NULL)
			ends[lines] = out->len;
		lines++;
	}
	return lines;
}
