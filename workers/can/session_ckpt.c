/*
 * The session module's checkpoint: a versioned text blob, one "name value"
 * line per field ("leafmon-sessions 1" first). Doubles are written exactly:
 * whole ones as integers, the others as C99 hexadecimal floats (strtod reads
 * both, and the %.17g of earlier checkpoints), "nan" for unknown. Unknown
 * names are skipped, so a newer leafmon reads an older checkpoint; a
 * missing field keeps its initial value. The values the rules read (s->v)
 * are not kept: they are learned again from the bus within a second.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define CKPT_MAGIC "leafmon-sessions"
#define CKPT_VERSION 1

enum ftype { F_I64, F_INT, F_BOOL, F_DBL };

struct field {
	const char *name;
	size_t off;
	enum ftype type;
};

#define FLD(st, f, t)                                                                              \
	{                                                                                          \
#f, offsetof(struct st, f), t                                                      \
	}
#define FLDN(st, n, f, t)                                                                          \
	{                                                                                          \
		n, offsetof(struct st, f), t                                                       \
	}

static const struct field acc_fields[] = {
    FLD(sess_acc, e_out, F_DBL),       FLD(sess_acc, e_in, F_DBL),
    FLD(sess_acc, dist_km, F_DBL),     FLD(sess_acc, drive_s, F_DBL),
    FLD(sess_acc, charge_s, F_DBL),    FLD(sess_acc, ah, F_DBL),
    FLD(sess_acc, qc_kwh, F_DBL),      FLD(sess_acc, qc_s, F_DBL),
    FLD(sess_acc, cost, F_DBL),	       FLD(sess_acc, unpriced_kwh, F_DBL),
    FLD(sess_acc, climate_kwh, F_DBL), FLD(sess_acc, temp_sum, F_DBL),
    FLD(sess_acc, temp_s, F_DBL),      FLD(sess_acc, amb_sum, F_DBL),
    FLD(sess_acc, amb_s, F_DBL),       FLD(sess_acc, speed_max, F_DBL),
    FLD(sess_acc, power_max, F_DBL),   FLD(sess_acc, temp_max, F_DBL),
    FLD(sess_acc, aux_min, F_DBL),
};

static const struct field point_fields[] = {
    FLD(sess_point, soc, F_DBL),  FLD(sess_point, gids, F_DBL), FLD(sess_point, odo, F_DBL),
    FLD(sess_point, temp, F_DBL), FLD(sess_point, aux, F_DBL),	FLD(sess_point, remain, F_DBL),
    FLD(sess_point, lat, F_DBL),  FLD(sess_point, lon, F_DBL),
};

static const struct field session_fields[] = {
    FLD(session, kind, F_INT),	       FLD(session, start_ns, F_I64),
    FLD(session, end_ns, F_I64),       FLD(session, partial_start, F_BOOL),
    FLD(session, partial_end, F_BOOL), FLD(session, recovery, F_INT),
    FLD(session, charge_type, F_INT),  FLD(session, end_reason, F_INT),
    FLD(session, soh, F_DBL),	       FLD(session, bars, F_DBL),
    FLD(session, gids_full, F_DBL),    FLD(session, hx, F_DBL),
    FLD(session, ahr, F_DBL),	       FLD(session, cells_delta, F_DBL),
    FLD(session, cap_kwh_w, F_DBL),    FLD(session, cap_ah_w, F_DBL),
    FLD(session, cap_temp_w, F_DBL),   FLD(session, cap_w, F_DBL),
};

static const struct field state_fields[] = {
    FLD(sessions, last_t, F_I64),    FLD(sessions, have_eo, F_BOOL),
    FLD(sessions, have_ei, F_BOOL),  FLD(sessions, eo_last, F_DBL),
    FLD(sessions, ei_last, F_DBL),   FLD(sessions, open, F_BOOL),
    FLD(sessions, in_tail, F_BOOL),  FLD(sessions, tail_ns, F_I64),
    FLD(sessions, armed_ns, F_I64),  FLD(sessions, last_charge_ns, F_I64),
    FLD(sessions, finished, F_BOOL), FLD(sessions, next_update_ns, F_I64),
    FLD(sessions, day_open, F_BOOL), FLD(sessions, day_end_ns, F_I64),
};

/* Where each group of lines lives: "<prefix><field>". */
struct group {
	const char *prefix;
	size_t off; /* of the struct in struct sessions */
	const struct field *f;
	size_t n;
};

#define GRP(p, member, tbl)                                                                        \
	{                                                                                          \
		p, offsetof(struct sessions, member), tbl, sizeof(tbl) / sizeof(tbl[0])            \
	}

static const struct group groups[] = {
    {"", 0, state_fields, sizeof(state_fields) / sizeof(state_fields[0])},
    GRP("cur.", cur, session_fields),
    GRP("cur.p0.", cur.p0, point_fields),
    GRP("cur.p1.", cur.p1, point_fields),
    GRP("cur.a.", cur.a, acc_fields),
    GRP("tail.", tail, acc_fields),
    GRP("tail_p.", tail_p, point_fields),
    GRP("day.", day, session_fields),
    GRP("day.p0.", day.p0, point_fields),
    GRP("day.p1.", day.p1, point_fields),
    GRP("day.a.", day.a, acc_fields),
};

#define NF(tbl) (sizeof(tbl) / sizeof(tbl[0]))
_Static_assert(NF(state_fields) + 2 * NF(session_fields) + 5 * NF(point_fields) +
			   3 * NF(acc_fields) ==
		       SESS_CKPT_FIELDS,
	       "SESS_CKPT_FIELDS: one slot per line of the checkpoint");

/* Decimal digits of v at p; the end. */
static char *
put_i64(char *p, int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	char tmp[20];
	int n = 0;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*p++ = '-';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* A finite, non-zero v as a C99 hexadecimal float ("-0x1.8p-3"), exact and
 * without printf (a figure changes each second while a session is open), at
 * p (room for 32); the end. */
static char *
put_hex(char *p, double v)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t bits, mant;
	int exp;

	memcpy(&bits, &v, sizeof(bits));
	mant = bits & ((1ULL << 52) - 1);
	exp = (int)((bits >> 52) & 0x7ff);
	if (bits >> 63)
		*p++ = '-';
	if (exp == 0x7ff) { /* not a NAN here */
		memcpy(p, "inf", 3);
		return p + 3;
	}
	memcpy(p, exp ? "0x1" : "0x0", 3); /* exp 0: subnormal, 0x0.<mant>p-1022 */
	p += 3;
	if (mant != 0) {
		*p++ = '.';
		for (int sh = 48; mant != 0; sh -= 4) {
			*p++ = hex[(mant >> sh) & 0xf];
			mant &= (1ULL << sh) - 1;
		}
	}
	*p++ = 'p';
	return put_i64(p, exp ? exp - 1023 : -1022);
}

/* v exactly, at p (room for 32); the end. Most figures are 0, unknown or
 * whole; the others' text is kept in slot k of c (when not NULL) until v's
 * bits change. */
static char *
put_dbl(char *p, double v, struct sess_ckpt_cache *c, size_t k)
{
	const char *w = NULL;
	uint64_t bits;

	if (isnan(v))
		w = signbit(v) ? "-nan" : "nan";
	else if (v == 0)
		w = signbit(v) ? "-0" : "0";
	if (w != NULL) {
		size_t n = strlen(w);
		memcpy(p, w, n);
		return p + n;
	}
	if (fabs(v) < 1e17 && v == trunc(v))
		return put_i64(p, (int64_t)v);
	if (c == NULL)
		return put_hex(p, v);
	memcpy(&bits, &v, sizeof(bits));
	if (c->f[k].len == 0 || c->f[k].bits != bits) { /* 24 characters at most */
		c->f[k].len = (uint8_t)(put_hex(c->f[k].text, v) - c->f[k].text);
		c->f[k].bits = bits;
	}
	memcpy(p, c->f[k].text, c->f[k].len);
	return p + c->f[k].len;
}

/* "<prefix><name> <value>\n": without printf (written every second). */
static void
put_field(struct buf *b, const char *prefix, size_t plen, const struct field *f, const char *base,
	  struct sess_ckpt_cache *c, size_t k)
{
	const char *v = base + f->off;
	size_t nlen = strlen(f->name);
	char *p;

	if (buf_reserve(b, plen + nlen + 40) < 0)
		return;
	p = b->p + b->len;
	memcpy(p, prefix, plen);
	memcpy(p + plen, f->name, nlen);
	p += plen + nlen;
	*p++ = ' ';
	switch (f->type) {
	case F_I64:
		p = put_i64(p, *(const int64_t *)v);
		break;
	case F_INT:
		p = put_i64(p, *(const int *)v);
		break;
	case F_BOOL:
		*p++ = *(const bool *)v ? '1' : '0';
		break;
	case F_DBL:
		p = put_dbl(p, *(const double *)v, c, k);
		break;
	}
	*p++ = '\n';
	b->len = (size_t)(p - b->p);
}

void
sessions_save_cached(struct sessions *s, struct buf *b, struct sess_ckpt_cache *c)
{
	size_t k = 0;

	sessions_flush(s); /* the figures as of the last frame */
	buf_printf(b, "%s %d\n", CKPT_MAGIC, CKPT_VERSION);
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		size_t plen = strlen(groups[g].prefix);
		for (size_t i = 0; i < groups[g].n; i++, k++)
			put_field(b, groups[g].prefix, plen, &groups[g].f[i],
				  (const char *)s + groups[g].off, c, k);
	}
	buf_puts(b, "end\n");
}

void
sessions_save(struct sessions *s, struct buf *b)
{
	sessions_save_cached(s, b, NULL);
}

static int
get_field(const struct field *f, char *base, const char *v)
{
	char *end;
	long long ll;
	double d;

	errno = 0;
	if (f->type == F_DBL) {
		d = strtod(v, &end);
		if (end == v || *end != '\0')
			return -1;
		*(double *)(base + f->off) = d;
		return 0;
	}
	ll = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0)
		return -1;
	if (f->type == F_I64)
		*(int64_t *)(base + f->off) = ll;
	else if (f->type == F_INT)
		*(int *)(base + f->off) = (int)ll;
	else
		*(bool *)(base + f->off) = ll != 0;
	return 0;
}

/* One "name value" line into s; unknown names are skipped. */
static int
get_line(struct sessions *s, const char *name, const char *v)
{
	for (size_t g = sizeof(groups) / sizeof(groups[0]); g-- > 0;) {
		size_t pl = strlen(groups[g].prefix);
		if (strncmp(name, groups[g].prefix, pl) != 0)
			continue;
		for (size_t i = 0; i < groups[g].n; i++)
			if (strcmp(name + pl, groups[g].f[i].name) == 0)
				return get_field(&groups[g].f[i], (char *)s + groups[g].off, v);
		if (pl > 0)
			return 0; /* a field of a newer version */
	}
	return 0;
}

static int
check(const struct sessions *s, char *err, size_t errlen)
{
	bool ok = (!s->open || (s->cur.kind >= SESS_TRIP && s->cur.kind <= SESS_PARK)) &&
		  (!s->day_open || s->day.kind == SESS_DAILY) && s->cur.recovery >= REC_NONE &&
		  s->cur.recovery <= REC_CLOSED && s->cur.end_reason >= END_NONE &&
		  s->cur.end_reason <= END_INTERRUPTED &&
		  (s->cur.charge_type == CT_AC || s->cur.charge_type == CT_QC);

	if (!ok)
		snprintf(err, errlen, "a session of an unknown kind or state");
	return ok ? 0 : -1;
}

int
sessions_restore(struct sessions *s, const char *text, char *err, size_t errlen)
{
	struct sessions *n = malloc(sizeof(*n));
	const char *p = text;
	char line[256];
	int ver = 0, lineno = 0;
	bool ended = false;

	if (n == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	sessions_init(n, &s->cfg);
	if (sscanf(text, CKPT_MAGIC " %d", &ver) != 1 || ver < 1) {
		free(n);
		return snprintf(err, errlen, "not a sessions checkpoint"), -1;
	}
	while (*p != '\0' && !ended) {
		size_t len = strcspn(p, "\n");
		char *sp;
		lineno++;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p += strcspn(p, "\n");
		p += *p == '\n';
		ended = strcmp(line, "end") == 0;
		if (lineno == 1 || ended || line[0] == '\0')
			continue;
		if ((sp = strchr(line, ' ')) == NULL ||
		    (*sp = '\0', get_line(n, line, sp + 1) < 0)) {
			snprintf(err, errlen, "line %d: '%.60s' is not 'name value'", lineno, line);
			free(n);
			return -1;
		}
	}
	if (!ended || check(n, err, errlen) < 0) {
		if (!ended)
			snprintf(err, errlen, "cut short (no 'end' line)");
		free(n);
		return -1;
	}
	n->have_t = true;
	n->int_t = n->last_t; /* a save integrates first */
	sessions_mark_restored(n);
	n->nev = 0;
	*s = *n;
	free(n);
	return 0;
}
