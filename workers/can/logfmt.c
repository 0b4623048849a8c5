/*
 * Log-format parsers. Hand-written scanners over (pointer, end) with no
 * allocation and no sscanf, so a line costs a few hundred nanoseconds and a
 * malformed one can never read past its end. Times are parsed from their
 * decimal text straight into integer nanoseconds (no float rounding).
 * This file: the dispatch, the time rules and the formats of Linux,
 * SavvyCAN, OVMS and the exports in data/leaf; logfmt_tools.c the PC tools'.
 */
#include "logfmt_int.h"

#include <stddef.h>

/* the hex parser's table: a digit's value by byte, -1 otherwise */
const int8_t logfmt_hex[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static const char *const fmt_names[LF_COUNT] = {
    "auto",	"candump", "text", "gvret", "crtd",   "tabexp",
    "spaceexp", "tsv",	   "asc",  "trc",   "usbcan", "micros",
};

const char *
logfmt_name(int fmt)
{
	return fmt >= 0 && fmt < LF_COUNT ? fmt_names[fmt] : "?";
}

int
logfmt_by_name(const char *name)
{
	for (int i = 0; i < LF_COUNT; i++)
		if (strcmp(name, fmt_names[i]) == 0)
			return i;
	return -1;
}

const char *
logfmt_known(void)
{
	return "candump -l, candump text (with or without times), SavvyCAN GVRET CSV, OVMS CRTD, "
	       "the tab- and space-separated exports, TSV, Vector ASC, PEAK TRC 1.x/2.x, "
	       "the USB-CAN analyser's TXT export, ESP32 microsecond lines";
}

const char *
logfmt_names(void)
{
	return "auto candump text gvret crtd tabexp spaceexp tsv asc trc usbcan micros";
}

void
logparse_init(struct logparse *p, int fmt, int bus, int64_t start_ns)
{
	memset(p, 0, sizeof(*p));
	p->fmt = fmt;
	p->bus = bus;
	p->start_ns = start_ns;
	p->timed = -1;
	memset(p->tool.trc_col, -1, sizeof(p->tool.trc_col));
}

int64_t
logparse_t_rel(struct logparse *p, int64_t raw)
{
	int64_t d, t;
	if (!p->have_t0) {
		p->have_t0 = true;
		p->t0 = raw;
	}
	/* hostile logs may jump across the whole int64 range: saturate, never
	 * overflow (the caller's range check then refuses the line) */
	if (__builtin_sub_overflow(raw, p->t0, &d))
		d = raw > p->t0 ? INT64_MAX : INT64_MIN;
	if (__builtin_add_overflow(p->start_ns, d, &t))
		t = d > 0 ? INT64_MAX : INT64_MIN;
	return t;
}

#define ABS_MIN_NS (1000000000LL * 1000000000LL)
int64_t
logparse_t_auto(struct logparse *p, int64_t raw)
{
	return raw >= ABS_MIN_NS ? raw : logparse_t_rel(p, raw);
}

/* An interface name's bytes (up to 7) and length as one number. */
static uint64_t
iface_key(const char *n, size_t l)
{
	uint64_t k = (uint64_t)l << 56;

	for (size_t i = 0; i < l; i++)
		k |= (uint64_t)(unsigned char)n[i] << (8 * i);
	return k;
}

/* The bus an interface name names ("ev", "car" ...), or -1 ("can0"). */
static int
bus_of_iface(const char *ifc, size_t ifl)
{
	static uint64_t keys[BUS_COUNT];
	static size_t longest;
	int bus = -1;

	if (longest == 0)
		for (int b = 0; b < BUS_COUNT; b++) {
			size_t l = strlen(can_bus_name((unsigned)b));
			keys[b] = l < 8 ? iface_key(can_bus_name((unsigned)b), l) : 0;
			longest = l > longest ? l : longest;
		}
	if (ifl == 0 || ifl > longest)
		return -1;
	uint64_t k = ifl < 8 ? iface_key(ifc, ifl) : 1;
	for (int b = 0; b < BUS_COUNT; b++)
		if (keys[b] == k || (ifl >= 8 && ifl == strlen(can_bus_name((unsigned)b)) &&
				     memcmp(ifc, can_bus_name((unsigned)b), ifl) == 0))
			bus = b;
	return bus;
}

/*
 * The common candump -l line, "(1690000000.123456) can0 1DB#0004C262", in
 * one pass with the hex table: 1 with *f filled, 0 when the line has any
 * other shape (an 8-digit id with flags, CAN FD, RTR, a R/T tail, an odd
 * digit, more than 9 decimals ...): then the full parser below reads it
 * from the start, errors and all. Only data bytes may be written before
 * that: the full parser writes the same ones from the same digits.
 */
static int
candump_fast(struct logparse *p, const char *c, const char *end, struct can_rec *f)
{
	uint64_t ip = 0, frac = 0;
	int nd = 0, nf = 0, n = 0, h;
	uint32_t id = 0;
	const char *ifc;

	if (c >= end || *c++ != '(')
		return 0;
	if (end - c > 19 && c[10] == '.' && c[17] == ')') { /* the usual 10.6 digits */
		unsigned bad = 0;
		for (int i = 0; i < 10; i++) {
			unsigned v = (unsigned)(unsigned char)c[i] - '0';
			bad |= v > 9;
			ip = ip * 10 + v;
		}
		for (int i = 11; i < 17; i++) {
			unsigned v = (unsigned)(unsigned char)c[i] - '0';
			bad |= v > 9;
			frac = frac * 10 + v;
		}
		if (bad || ip >= (uint64_t)(INT64_MAX / 1000000000LL))
			return 0; /* the last second before the overflow: the full parser's */
		nf = 6;
		c += 17;
		goto close;
	}
	while (c < end && *c >= '0' && *c <= '9' && nd < 10)
		ip = ip * 10 + (uint64_t)(*c++ - '0'), nd++;
	if (nd == 0 || ip >= (uint64_t)(INT64_MAX / 1000000000LL) || c >= end || *c++ != '.')
		return 0;
	while (c < end && *c >= '0' && *c <= '9' && nf < 9)
		frac = frac * 10 + (uint64_t)(*c++ - '0'), nf++;
close:
	if (c + 2 > end || *c++ != ')' || (*c != ' ' && *c != '\t'))
		return 0;
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	for (ifc = c; c < end && *c != ' ' && *c != '\t'; c++)
		;
	int bus = bus_of_iface(ifc, (size_t)(c - ifc));
	if (c == ifc)
		return 0;
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	for (nd = 0; c < end && nd < 9 && (h = logfmt_hex[(unsigned char)*c]) >= 0; c++, nd++)
		id = (id << 4) | (uint32_t)h;
	if ((nd != 3 && nd != 8) || c >= end || *c++ != '#' || (nd == 8 && (id & 0xE0000000u)))
		return 0;
	while (c + 1 < end && (h = logfmt_hex[(unsigned char)c[0]]) >= 0) {
		int l = logfmt_hex[(unsigned char)c[1]];
		if (l < 0 || n == 8)
			return 0;
		f->data[n++] = (uint8_t)(h << 4 | l);
		c += 2;
	}
	if (c != end)
		return 0;
	static const int64_t scale[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
					  10000,      1000,	 100,	   10,	    1};
	set_id(f, id, nd);
	if (bus >= 0)
		f->bus = (uint8_t)bus;
	f->len = (uint8_t)n;
	f->t_ns = logparse_t_auto(p, (int64_t)ip * 1000000000LL + (int64_t)frac * scale[nf]);
	return 1;
}

/* candump -l: (1690000000.123456) can0 1DB#0004C26200000386 [R|T] */
static int
p_candump(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t;
	const char *ifc;
	size_t ifl;
	uint32_t id;
	int nd;

	if (candump_fast(p, s->p, s->end, f))
		return 1;
	if (!eat(s, '(') || dec_time(s, 1000000000LL, &t) < 0 || !eat(s, ')'))
		return ERR("expected a timestamp '(seconds.micros)'");
	if (need_ws(s) < 0)
		return ERR("expected an interface name");
	ifc = s->p;
	while (!at_end(s) && *s->p != ' ' && *s->p != '\t')
		s->p++;
	ifl = (size_t)(s->p - ifc);
	if (ifl == 0 || need_ws(s) < 0)
		return ERR("expected 'ID#DATA'");
	int bus = bus_of_iface(ifc, ifl);
	if (bus >= 0)
		f->bus = (uint8_t)bus;
	if (hex_num(s, 8, &id, &nd) < 0 || (nd != 3 && nd != 8) || !eat(s, '#'))
		return ERR("expected 'ID#DATA' with a 3- or 8-digit hex id");
	set_id(f, id & 0x1FFFFFFF, nd);
	if (nd == 8 && (id & 0x20000000))
		f->flags |= CANF_ERR;
	if (eat(s, '#')) { /* CAN FD: one flags nibble, then data */
		uint32_t fl;
		if (hex_num(s, 1, &fl, NULL) < 0)
			return ERR("CAN FD frame without its flags nibble");
		f->flags |= CANF_FD;
	} else if (eat(s, 'R') || eat(s, 'r')) {
		uint32_t dlc = 0;
		f->flags |= CANF_RTR;
		if (!at_end(s) && hexv((unsigned char)*s->p) >= 0)
			hex_num(s, 1, &dlc, NULL);
		f->len = (uint8_t)(dlc > 8 ? 8 : dlc);
		goto tail;
	}
	{
		int i = 0, max = (f->flags & CANF_FD) ? 64 : 8;
		uint32_t v;
		while (!at_end(s) && hexv((unsigned char)*s->p) >= 0) {
			if (i >= max || hex_num(s, 2, &v, &nd) < 0 || nd != 2)
				return ERR("data must be an even number of hex digits, at most %d bytes", max);
			f->data[i++] = (uint8_t)v;
		}
		f->len = (uint8_t)i;
	}
tail:
	skip_ws(s);
	if (eat(s, 'T'))
		f->flags |= CANF_TX;
	else
		eat(s, 'R');
	skip_ws(s);
	if (!at_end(s))
		return ERR("unexpected text after the frame");
	f->t_ns = logparse_t_auto(p, t);
	return 1;
}

/* candump text: [(ts)]  can0  1DB   [8]  00 04 C2 62 00 00 03 B6 */
static int
p_text(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t = -1;
	uint32_t id, n;
	int nd;

	skip_ws(s);
	if (eat(s, '(')) {
		if (dec_time(s, 1000000000LL, &t) < 0 || !eat(s, ')'))
			return ERR("bad '(seconds.micros)' timestamp");
		skip_ws(s);
	}
	while (!at_end(s) && *s->p != ' ' && *s->p != '\t')
		s->p++; /* interface */
	if (need_ws(s) < 0 || hex_num(s, 8, &id, &nd) < 0 || need_ws(s) < 0)
		return ERR("expected 'IFACE ID [LEN] DATA'");
	set_id(f, id, nd);
	{
		uint64_t v;
		if (!eat(s, '[') || dec_u64(s, &v) < 0)
			return ERR("expected '[LEN]'");
		n = v > 64 ? 65 : (uint32_t)v;
	}
	if (!eat(s, ']') || n > 8)
		return ERR("expected '[LEN]' with LEN 0..8");
	skip_ws(s);
	if (eat_str(s, "remote request")) {
		f->flags |= CANF_RTR;
		f->len = (uint8_t)n;
	} else if (hex_bytes(s, (int)n, f, 8) < 0 || (skip_ws(s), !at_end(s)))
		return ERR("expected %u data bytes", n);
	if (p->timed < 0)
		p->timed = t >= 0; /* the first frame says whether the log has times */
	if (p->timed && t < 0)
		return ERR("no '(seconds.micros)' timestamp, unlike the lines before");
	if (p->timed)
		f->t_ns = logparse_t_auto(p, t);
	else
		p->untimed = true; /* a timestamp on a line of an untimed log is ignored */
	return 1;
}

/* SavvyCAN GVRET: Time Stamp,ID,Extended,Dir,Bus,LEN,D1,..,D8, */
static int
p_gvret(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	bool neg = eat(s, '-');
	uint64_t us, bus, n;
	uint32_t id;
	int nd;

	if (dec_u64(s, &us) < 0 || !eat(s, ','))
		return ERR("expected a microsecond timestamp");
	if (hex_num(s, 8, &id, &nd) < 0 || !eat(s, ','))
		return ERR("expected a hex id");
	if (eat_str(s, "true"))
		f->flags |= CANF_EXT;
	else if (!eat_str(s, "false"))
		return ERR("Extended must be true or false");
	f->id = id;
	if (!eat(s, ','))
		return ERR("expected ',' after Extended");
	if (eat_str(s, "Tx"))
		f->flags |= CANF_TX;
	else if (!eat_str(s, "Rx"))
		return ERR("Dir must be Rx or Tx");
	if (!eat(s, ',') || dec_u64(s, &bus) < 0 || !eat(s, ',') || bus >= BUS_COUNT)
		return ERR("expected a bus number 0..%d", BUS_COUNT - 1);
	if (dec_u64(s, &n) < 0 || n > 8)
		return ERR("expected LEN 0..8");
	for (unsigned i = 0; i < n; i++) {
		uint32_t v;
		if (!eat(s, ',') || hex_num(s, 2, &v, &nd) < 0)
			return ERR("expected %u data bytes", (unsigned)n);
		f->data[i] = (uint8_t)v;
	}
	f->len = (uint8_t)n;
	if (bus != 0)
		f->bus = (uint8_t)bus;
	/* negative times (SavvyCAN's export) run backwards in magnitude: the
	 * first frame's magnitude anchors the log, signed deltas move forward */
	if (us > (uint64_t)(INT64_MAX / 1000))
		return ERR("timestamp out of range");
	if (neg) {
		int64_t raw = -(int64_t)us * 1000, rel, t;
		if (!p->have_t0)
			p->anchor_ns = -raw;
		if (__builtin_sub_overflow(logparse_t_rel(p, raw), p->start_ns, &rel) ||
		    __builtin_add_overflow(p->anchor_ns, rel, &t))
			return ERR("timestamp out of range of the first one");
		f->t_ns = t;
	} else
		f->t_ns = logparse_t_auto(p, (int64_t)us * 1000);
	return 1;
}

/* OVMS CRTD: "1632509059.541604 2R11 174 00 00 ..."; info lines "CXX"... */
static int
p_crtd(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t;
	uint32_t id;
	int nd, bus = 1;

	if (dec_time(s, 1000000000LL, &t) < 0 || need_ws(s) < 0)
		return ERR("expected 'seconds.micros TYPE'");
	if (!at_end(s) && *s->p >= '1' && *s->p <= '9')
		bus = *s->p++ - '0';
	if (eat(s, 'C'))
		return 0; /* CXX, CER, CEV, CVR ...: information, no frame */
	if (eat(s, 'T'))
		f->flags |= CANF_TX;
	else if (!eat(s, 'R'))
		return ERR("unknown CRTD record type");
	if (eat_str(s, "29"))
		f->flags |= CANF_EXT;
	else if (!eat_str(s, "11"))
		return ERR("expected R11/R29/T11/T29");
	/* OVMS's Leaf wiring: can1 EV-CAN, can2 Car-CAN, can3 QC */
	if (bus > 3)
		return ERR("CRTD bus %d is not 1..3", bus);
	f->bus = (uint8_t)(bus == 1 ? BUS_EV : bus == 2 ? BUS_CAR : BUS_QC);
	if (need_ws(s) < 0 || hex_num(s, 8, &id, &nd) < 0)
		return ERR("expected a hex id");
	f->id = id;
	if (hex_bytes(s, -1, f, 8) < 0)
		return ERR("bad data bytes");
	f->t_ns = t;
	return 1;
}

/* tab export: 1 \t 0 \t 1 \t RX \t 565214935 \t \t 0x00000603 \t 1 \t 0x00 \t [parser] */
static int
p_tabexp(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	uint64_t v, n;
	int64_t t;
	uint32_t id;
	int nd;

	if (eat_str(s, "ParserFlags"))
		return 0;
	for (int i = 0; i < 3; i++)
		if (dec_u64(s, &v) < 0 || !eat(s, '\t'))
			return ERR("expected ParserFlags, Ch and Counter columns");
	if (eat_str(s, "TX"))
		f->flags |= CANF_TX;
	else if (!eat_str(s, "RX"))
		return ERR("T/R must be RX or TX");
	if (!eat(s, '\t') || dec_time(s, 1000000LL, &t) < 0 || !eat(s, '\t'))
		return ERR("expected a time in ms");
	while (!at_end(s) && *s->p != '\t')
		s->p++; /* Flags */
	if (!eat(s, '\t') || !eat_str(s, "0x") || hex_num(s, 8, &id, &nd) < 0 || !eat(s, '\t'))
		return ERR("expected a 0x-prefixed id");
	set_id(f, id, 3);
	if (id <= 0x7FF)
		f->flags &= (uint8_t)~CANF_EXT;
	if (dec_u64(s, &n) < 0 || n > 8 || !eat(s, '\t'))
		return ERR("expected Len 0..8");
	if (n > 0 && !eat_str(s, "0x"))
		return ERR("expected data as '0xAA bb ..'");
	for (unsigned i = 0; i < n; i++) {
		uint32_t b;
		skip_ws(s);
		if (hex_num(s, 2, &b, &nd) < 0 || nd != 2)
			return ERR("expected %u data bytes", (unsigned)n);
		f->data[i] = (uint8_t)b;
	}
	f->len = (uint8_t)n;
	f->t_ns = logparse_t_rel(p, t);
	return 1;
}

/* space export: 0000.000246 000001F2 8 10 64 00 00 00 1E 02 0E */
static int
p_spaceexp(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t;
	uint32_t id;
	uint64_t n;
	int nd;

	if (dec_time(s, 1000000000LL, &t) < 0 || need_ws(s) < 0)
		return ERR("expected 'SSSS.ffffff'");
	if (hex_num(s, 8, &id, &nd) < 0 || need_ws(s) < 0)
		return ERR("expected an 8-digit hex id");
	set_id(f, id, id > 0x7FF ? 8 : 3);
	if (dec_u64(s, &n) < 0 || n > 8)
		return ERR("expected DLC 0..8");
	if (hex_bytes(s, (int)n, f, 8) < 0 || (skip_ws(s), !at_end(s)))
		return ERR("expected %u data bytes", (unsigned)n);
	f->t_ns = logparse_t_rel(p, t);
	return 1;
}

/* the old system's TSV: 0.000000 \t 351 \t 8 \t 0B B8 00 .. */
static int
p_tsv(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t;
	uint32_t id;
	uint64_t n;
	int nd;

	if (eat(s, '#'))
		return 0;
	if (dec_time(s, 1000000000LL, &t) < 0 || !eat(s, '\t'))
		return ERR("expected 'seconds<TAB>'");
	if (hex_num(s, 8, &id, &nd) < 0 || !eat(s, '\t'))
		return ERR("expected a hex id");
	set_id(f, id, nd);
	if (dec_u64(s, &n) < 0 || n > 8 || !eat(s, '\t'))
		return ERR("expected DLC 0..8");
	if (hex_bytes(s, (int)n, f, 8) < 0 || (skip_ws(s), !at_end(s)))
		return ERR("expected %u data bytes", (unsigned)n);
	f->t_ns = logparse_t_rel(p, t);
	return 1;
}

static bool
is_hex_run(const char *p, const char *end, int n)
{
	for (int i = 0; i < n; i++)
		if (p + i >= end || hexv((unsigned char)p[i]) < 0)
			return false;
	return true;
}

/* Which format a line is, or LF_AUTO when it does not look like any. */
static int
logfmt_detect(const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	struct sc s = {line, end};
	uint64_t v;

	if (len >= 11 && memcmp(line, "ParserFlags", 11) == 0)
		return LF_TABEXP;
	if (len >= 21 && memcmp(line, "Time Stamp,ID,Extended", 21) == 0)
		return LF_GVRET;
	if (len >= 11 && memcmp(line, "# Timestamp", 11) == 0)
		return LF_TSV;
	int tool = logfmt_detect_tools(line, len);
	if (tool != LF_AUTO)
		return tool;
	if (*p == '(') {
		const char *h = memchr(p, '#', len);
		return h != NULL ? LF_CANDUMP_LOG : LF_CANDUMP_TXT;
	}
	if (*p == ' ' || *p == '\t') {
		skip_ws(&s);
		return (!at_end(&s) && memchr(s.p, '[', (size_t)(end - s.p))) ? LF_CANDUMP_TXT : LF_AUTO;
	}
	if (*p == '-' && memchr(p, ',', len))
		return LF_GVRET;
	if (dec_u64(&s, &v) < 0)
		return LF_AUTO;
	if (eat(&s, ','))
		return LF_GVRET;
	if (eat(&s, '\t')) {
		/* "1\t0\t1\tRX" (export) vs "0.000000\t351" (tsv) */
		return LF_TABEXP;
	}
	if (eat(&s, '.')) {
		while (!at_end(&s) && *s.p >= '0' && *s.p <= '9')
			s.p++;
		if (eat(&s, '\t'))
			return LF_TSV;
		if (!eat(&s, ' '))
			return LF_AUTO;
		if (is_hex_run(s.p, end, 8) && s.p + 8 < end && s.p[8] == ' ')
			return LF_SPACEEXP;
		if (!at_end(&s) && ((*s.p >= '1' && *s.p <= '9') || *s.p == 'C' || *s.p == 'R' ||
				    *s.p == 'T'))
			return LF_CRTD;
	}
	return LF_AUTO;
}

static const logfmt_fn parsers[LF_COUNT] = {
    [LF_CANDUMP_LOG] = p_candump,
    [LF_CANDUMP_TXT] = p_text,
    [LF_GVRET] = p_gvret,
    [LF_CRTD] = p_crtd,
    [LF_TABEXP] = p_tabexp,
    [LF_SPACEEXP] = p_spaceexp,
    [LF_TSV] = p_tsv,
    [LF_ASC] = logfmt_asc,
    [LF_TRC] = logfmt_trc,
    [LF_USBCAN] = logfmt_usbcan,
    [LF_MICROS] = logfmt_micros,
};

int
logparse_line(struct logparse *p, const char *line, size_t len, struct can_rec *out,
	      char *err, size_t errlen)
{
	struct sc s = {line, line + len};
	int r;

	p->line++;
	p->untimed = false;
	if (p->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
		s.p += 3; /* a UTF-8 byte order mark (Windows tools) */
	while (s.end > s.p && (s.end[-1] == '\n' || s.end[-1] == '\r'))
		s.end--;
	if (s.end == s.p || (s.end - s.p == 1 && *s.p == ' ')) {
		p->skipped++;
		return 0;
	}
	if (p->fmt == LF_AUTO) {
		p->fmt = logfmt_detect(s.p, (size_t)(s.end - s.p));
		if (p->fmt == LF_AUTO) {
			p->errors++;
			return ERR("not a CAN log line in any known format");
		}
	}
	memset(out, 0, offsetof(struct can_rec, data) + 8);
	out->bus = (uint8_t)p->bus;
	if (p->fmt <= LF_AUTO || p->fmt >= LF_COUNT)
		r = ERR("unknown format");
	else if (p->fmt == LF_GVRET && eat_str(&s, "Time Stamp"))
		r = 0;
	else
		r = parsers[p->fmt](p, &s, out, err, errlen);
	if (r > 0)
		p->frames++;
	else if (r == 0)
		p->skipped++;
	else
		p->errors++;
	return r;
}

int
logfmt_candump(char *buf, size_t len, const struct can_rec *f, const char *iface)
{
	static const char hx[] = "0123456789ABCDEF";
	int64_t s = f->t_ns / 1000000000LL, us = (f->t_ns % 1000000000LL) / 1000;
	int n;

	if (us < 0) {
		s -= 1;
		us += 1000000;
	}
	n = snprintf(buf, len, (f->flags & CANF_EXT) ? "(%lld.%06lld) %s %08X#" : "(%lld.%06lld) %s %03X#",
		     (long long)s, (long long)us, iface, f->id | ((f->flags & CANF_ERR) ? 0x20000000u : 0));
	if (n < 0 || (size_t)n >= len)
		return -1;
	if ((size_t)n + 4 + 2 * f->len + 3 >= len)
		return -1;
	if (f->flags & CANF_FD)
		buf[n++] = '#', buf[n++] = '0';
	if (f->flags & CANF_RTR)
		buf[n++] = 'R';
	else
		for (int i = 0; i < f->len; i++) {
			buf[n++] = hx[f->data[i] >> 4];
			buf[n++] = hx[f->data[i] & 15];
		}
	if (f->flags & CANF_TX)
		buf[n++] = ' ', buf[n++] = 'T';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}
