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

/* JSON and line protocol differ only in the integer suffix and in keeping
 * a float recognisable as a float (InfluxDB fixes a field's type on first
 * write: 380 would make battery_voltage_v an integer field). */
static int
format_value(const struct sig_info *s, double v, char *buf, size_t len, bool lp)
{
	char label[64];

	if (!isfinite(v))
		return -1;
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
	int n = fit(snprintf(buf, len, "%.15g", v), len);
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
