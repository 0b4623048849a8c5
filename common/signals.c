/*
 * The signal table built from signals.def, with lookups and value formatting.
 * Lookups by id are O(1) through a sparse index built at compile time.
 */
#include "signals.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>


const struct sig_info sig_table[] = {
#define SIG(id_, name_, unit_, group_, type_, status_, labels_, desc_)                             \
	{.id = (id_),                                                                              \
	 .group = SG_##group_,                                                                     \
	 .type = ST_##type_,                                                                       \
	 .status = SS_##status_,                                                                   \
	 .name = #name_,                                                                           \
	 .unit = (unit_),                                                                          \
	 .desc = (desc_),                                                                          \
	 .labels = (labels_)},
#include "signals.def"
#undef SIG
};

const size_t sig_count = sizeof(sig_table) / sizeof(sig_table[0]);

/* id -> row index + 1 (0 = hole) */
static const uint16_t sig_index[SIG_ID_MAX] = {
#define SIG(id_, name_, unit_, group_, type_, status_, labels_, desc_) [id_] = __COUNTER__ + 1,
#include "signals.def"
#undef SIG
};

static const char *const group_names[SG_COUNT] = {
    "battery", "motor", "vehicle", "charge", "climate", "cells", "cell", "can", "position",
};

const struct sig_info *
sig_by_id(unsigned id)
{
	if (id >= SIG_ID_MAX || sig_index[id] == 0)
		return NULL;
	return &sig_table[sig_index[id] - 1];
}

const struct sig_info *
sig_by_name(const char *name)
{
	for (size_t i = 0; i < sig_count; i++)
		if (strcmp(sig_table[i].name, name) == 0)
			return &sig_table[i];
	return NULL;
}

const char *
sig_group_name(unsigned group)
{
	return group < SG_COUNT ? group_names[group] : "unknown";
}

const char *
sig_enum_label(const struct sig_info *s, double v, char *buf, size_t len)
{
	if (s->labels == NULL || !(v >= 0) || v != floor(v) || v > 64)
		return NULL;
	unsigned want = (unsigned)v, idx = 0;
	const char *p = s->labels;
	while (idx < want) {
		p = strchr(p, ',');
		if (p == NULL)
			return NULL;
		p++;
		idx++;
	}
	size_t n = strcspn(p, ",");
	if (n + 1 > len)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

int
sig_enum_index(const struct sig_info *s, const char *label)
{
	if (s->labels == NULL)
		return -1;
	size_t want = strlen(label);
	int idx = 0;
	for (const char *p = s->labels; p != NULL; idx++) {
		size_t n = strcspn(p, ",");
		if (n == want && strncmp(p, label, n) == 0)
			return idx;
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return -1;
}

static int
fit(int n, size_t len)
{
	return (n < 0 || (size_t)n >= len) ? -1 : n;
}

/* Decimal digits of v backwards from end; returns the start. */
static char *
digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

size_t
sig_fmt_i64(char *out, int64_t v)
{
	char tmp[24], *p = digits(tmp + sizeof(tmp), v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	size_t n = 0, d = (size_t)(tmp + sizeof(tmp) - p);

	if (v < 0)
		out[n++] = '-';
	memcpy(out + n, p, d);
	return n + d;
}

static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};

/*
 * When v * 10^k is an integer below 1e15 for a k <= 6 (the decimals the
 * value has: a decoder's scale of 0.5, 0.1 or 0.01 gives 1 or 2) and v is
 * in %g's fixed-notation range, that integer's digits with the point k
 * from the right are exactly what "%.15g" prints: the rounding of v * 10^k
 * moves v by at most a quarter of the 15th digit's unit. Tested against
 * printf (signals_test, lp_test).
 */
int
sig_short_float(double v, char *out, bool lp)
{
	double a = fabs(v);

	if (!(a >= 1e-4 && a < 1e15)) {
		if (v != 0 || signbit(v))
			return -1;
		return lp ? (memcpy(out, "0.0", 3), 3) : (out[0] = '0', 1);
	}
	for (int k = 0; k < (int)(sizeof(pow10) / sizeof(pow10[0])); k++) {
		double m = v * pow10[k];
		if (fabs(m) >= 1e15)
			return -1;
		if (m != nearbyint(m))
			continue;
		char tmp[40], *end = tmp + sizeof(tmp);
		char *p = digits(end, (uint64_t)fabs(m));
		while (end - p <= k) /* leading zeros of 0.00x */
			*--p = '0';
		int frac = k;
		while (frac > 0 && end[-1] == '0') { /* %g drops trailing zeros */
			end--;
			frac--;
		}
		size_t n = 0, ip = (size_t)(end - p) - (size_t)frac;
		if (v < 0)
			out[n++] = '-';
		memcpy(out + n, p, ip);
		n += ip;
		if (frac > 0) {
			out[n++] = '.';
			memcpy(out + n, p + ip, (size_t)frac);
			n += (size_t)frac;
		} else if (lp) { /* line protocol keeps a float a float */
			out[n++] = '.';
			out[n++] = '0';
		}
		return (int)n;
	}
	return -1;
}

/* The printf-free cases of format_value; -1: printf it. */
static int
format_fast(const struct sig_info *s, double v, char *buf, size_t len, bool lp)
{
	int n = -1;

	if (len < 48)
		return -1;
	switch (s->type) {
	case ST_INT:
		if (v == nearbyint(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
			n = (int)sig_fmt_i64(buf, (int64_t)v);
			if (lp)
				buf[n++] = 'i';
		}
		break;
	case ST_BOOL:
		n = v != 0 ? 4 : 5;
		memcpy(buf, v != 0 ? "true" : "false", (size_t)n);
		break;
	case ST_FLOAT:
		n = sig_short_float(v, buf, lp);
		break;
	default:
		break;
	}
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* JSON and line protocol differ only in the integer suffix and in keeping
 * a float recognisable as a float (InfluxDB fixes a field's type on first
 * write: 380 would make battery_voltage_v an integer field). */
static int
format_value(const struct sig_info *s, double v, char *buf, size_t len, bool lp)
{
	char label[64];

	int n;

	if (!isfinite(v))
		return -1;
	if ((n = format_fast(s, v, buf, len, lp)) >= 0)
		return n;
	switch (s->type) {
	case ST_INT:
		return fit(snprintf(buf, len, "%.0f%s", v, lp ? "i" : ""), len);
	case ST_BOOL:
		return fit(snprintf(buf, len, "%s", v != 0 ? "true" : "false"), len);
	case ST_ENUM:
		/* labels are plain words: nothing to escape in either syntax */
		if (sig_enum_label(s, v, label, sizeof(label)) == NULL)
			return -1;
		return fit(snprintf(buf, len, "\"%s\"", label), len);
	default:
		break;
	}
	n = fit(snprintf(buf, len, "%.15g", v), len);
	if (n < 0 || !lp || strpbrk(buf, ".eE") != NULL)
		return n;
	if ((size_t)n + 2 >= len)
		return -1;
	buf[n++] = '.';
	buf[n++] = '0';
	buf[n] = '\0';
	return n;
}

int
sig_format_json(const struct sig_info *s, double v, char *buf, size_t len)
{
	return format_value(s, v, buf, len, false);
}

int
sig_format_lp(const struct sig_info *s, double v, char *buf, size_t len)
{
	return format_value(s, v, buf, len, true);
}
