/*
 * Internals of the log-format parsers (logfmt.c: the line dispatch, the
 * time rules and the formats of Linux, SavvyCAN, OVMS and the exports in
 * data/leaf; logfmt_tools.c: the PC tools' formats). A scanner is a
 * (pointer, end) pair that never reads past end.
 */
#ifndef LEAFMON_LOGFMT_INT_H
#define LEAFMON_LOGFMT_INT_H

#include <stdio.h>
#include <string.h>

#include "logfmt.h"

struct sc {
	const char *p, *end;
};

/* A hex digit's value by byte, -1 for any other byte (logfmt.c). */
extern const int8_t logfmt_hex[256];

static inline int
hexv(int c)
{
	return logfmt_hex[(unsigned char)c];
}

static inline bool
at_end(const struct sc *s)
{
	return s->p >= s->end;
}

static inline void
skip_ws(struct sc *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
		s->p++;
}

static inline bool
eat(struct sc *s, char c)
{
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static inline bool
eat_str(struct sc *s, const char *str)
{
	size_t n = strlen(str);

	if ((size_t)(s->end - s->p) >= n && memcmp(s->p, str, n) == 0) {
		s->p += n;
		return true;
	}
	return false;
}

/* Up to max hex digits (at least one); *ndig gets the count. */
static inline int
hex_num(struct sc *s, int max, uint32_t *v, int *ndig)
{
	int n = 0, h;

	*v = 0;
	while (n < max && s->p < s->end && (h = hexv((unsigned char)*s->p)) >= 0) {
		*v = (*v << 4) | (uint32_t)h;
		s->p++;
		n++;
	}
	if (ndig)
		*ndig = n;
	return n > 0 ? 0 : -1;
}

static inline int
dec_u64(struct sc *s, uint64_t *v)
{
	int n = 0;

	*v = 0;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && n < 19) {
		*v = *v * 10 + (uint64_t)(*s->p - '0');
		s->p++;
		n++;
	}
	return n > 0 ? 0 : -1;
}

/* "S[.fff]" with `unit` ns per integer unit (1e9 for seconds, 1e6 for ms). */
static inline int
dec_time(struct sc *s, int64_t unit, int64_t *ns)
{
	uint64_t ip;
	int64_t frac = 0, scale = unit;

	if (dec_u64(s, &ip) < 0 || ip > (uint64_t)(INT64_MAX / unit))
		return -1;
	if (eat(s, '.')) {
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
			if (scale >= 10) {
				scale /= 10;
				frac += (*s->p - '0') * scale;
			}
			s->p++;
		}
	}
	/* "(9223372036.9)": past INT64_MAX nanoseconds, refused */
	return __builtin_add_overflow((int64_t)ip * unit, frac, ns) ? -1 : 0;
}

static inline int
need_ws(struct sc *s)
{
	if (at_end(s) || (*s->p != ' ' && *s->p != '\t'))
		return -1;
	skip_ws(s);
	return 0;
}

/* Hex bytes separated by blanks (n of them, or up to the end when n < 0). */
static inline int
hex_bytes(struct sc *s, int n, struct can_rec *f, int max)
{
	int i = 0;
	uint32_t v;
	int nd;

	for (;;) {
		skip_ws(s);
		if (n >= 0 ? i == n : at_end(s))
			break;
		if (i >= max || hex_num(s, 2, &v, &nd) < 0 || nd != 2)
			return -1;
		if (!at_end(s) && *s->p != ' ' && *s->p != '\t')
			return -1;
		f->data[i++] = (uint8_t)v;
	}
	f->len = (uint8_t)i;
	return 0;
}

/* 11-bit unless the text had more than 3 digits or the value needs 29 */
static inline void
set_id(struct can_rec *f, uint32_t id, int ndig)
{
	f->id = id;
	if (ndig > 3 || id > 0x7FF)
		f->flags |= CANF_EXT;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Time helpers (logfmt.c). Relative: the first raw time is start_ns. */
int64_t logparse_t_rel(struct logparse *p, int64_t raw);
/* Absolute when it looks like a Unix time after 2001, else relative. */
int64_t logparse_t_auto(struct logparse *p, int64_t raw);

/* The PC tools' formats (logfmt_tools.c): 1 frame, 0 no frame, -1 error. */
typedef int (*logfmt_fn)(struct logparse *p, struct sc *s, struct can_rec *f, char *err,
			 size_t errlen);
int logfmt_asc(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen);
int logfmt_trc(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen);
int logfmt_usbcan(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen);
int logfmt_micros(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen);
/* Which of those a line is (a header or a frame line), or LF_AUTO. */
int logfmt_detect_tools(const char *line, size_t len);

#endif
