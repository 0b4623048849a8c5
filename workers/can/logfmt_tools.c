/*
 * The PC tools' log formats (pure, see logfmt.h): Vector ASC (CANalyzer,
 * CANoe, python-can, SavvyCAN), PEAK TRC 1.0/1.1/2.0/2.1 (PCAN-View), the
 * cheap USB-CAN analysers' "Save as TXT" export and the ESP32 loggers'
 * microsecond lines. Written from the published format descriptions; the
 * unit tests' fixtures are hand-made.
 *
 * ASC and TRC dates (the "date"/"Begin Triggerblock" line, $STARTTIME) are
 * the recording machine's wall clock without a zone: they are taken as local
 * time of this machine (p->utc_off_s, set by the reader).
 */
#include "logfmt_int.h"

#include <stddef.h>
#include <strings.h>

#define MS_NS (1000LL * 1000)
#define DAY_MS (86400LL * 1000)
#define DAY_NS (DAY_MS * MS_NS)
#define OLE_EPOCH_DAYS 25569 /* 1899-12-30 -> 1970-01-01 */
#define OLE_MAX_DAYS 109575  /* -> 2200-01-01: dates in int64 ns end in 2262 */

/* ---- shared helpers ---- */

static bool
eat_ci(struct sc *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || strncasecmp(s->p, w, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* A whole word: w (any case) followed by a blank, a NUL or the end. */
static bool
eat_word(struct sc *s, const char *w)
{
	struct sc t = *s;

	if (!eat_ci(&t, w) || (!at_end(&t) && *t.p != ' ' && *t.p != '\t' && *t.p != '\0'))
		return false;
	*s = t;
	return true;
}

static void
skip_token(struct sc *s)
{
	while (!at_end(s) && *s->p != ' ' && *s->p != '\t')
		s->p++;
}

/* "S.fff" with at least one decimal (the time columns of ASC and TRC 2.x). */
static int
dec_time_dot(struct sc *s, int64_t unit, int64_t *ns)
{
	const char *p0 = s->p;

	if (dec_time(s, unit, ns) < 0 || memchr(p0, '.', (size_t)(s->p - p0)) == NULL)
		return -1;
	return 0;
}

/* Channel numbers of the multi-channel tools: 1 is the reader's bus (the
 * --bus, EV-CAN by default), 2 Car-CAN, 3 QC-CAN (OVMS's numbering). */
static int
chan_bus(const struct logparse *p, uint64_t ch, struct can_rec *f)
{
	if (ch < 1 || ch > 3)
		return -1;
	f->bus = (uint8_t)(ch == 1 ? p->bus : ch == 2 ? BUS_CAR : BUS_QC);
	return 0;
}

static int
fd_len(unsigned dlc)
{
	static const uint8_t len[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};
	return dlc < 16 ? len[dlc] : -1;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t
local_to_utc(const struct logparse *p, int64_t local_ns)
{
	return local_ns - (int64_t)p->utc_off_s * 1000000000LL;
}

/* ---- Vector ASC ---- */

static int
month_of(struct sc *s)
{
	static const char *const en[12] = {"jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec"};
	static const char *const de[4] = {"m\xc3\xa4r", "mai", "okt", "dez"};
	static const int de_m[4] = {3, 5, 10, 12};

	for (int i = 0; i < 12; i++)
		if (eat_ci(s, en[i]))
			return i + 1;
	for (int i = 0; i < 4; i++)
		if (eat_ci(s, de[i]))
			return de_m[i];
	return -1;
}

/* "Wed Apr 16 09:21:13.159 am 2014" (am/pm optional, 24 h without) */
static int
asc_date(struct logparse *p, struct sc *s)
{
	uint64_t day, h, mi, yr;
	int64_t sec_ns;
	int mon;

	skip_ws(s);
	skip_token(s); /* weekday */
	skip_ws(s);
	if ((mon = month_of(s)) < 0)
		return -1;
	skip_token(s);
	if (need_ws(s) < 0 || dec_u64(s, &day) < 0 || need_ws(s) < 0 || dec_u64(s, &h) < 0 ||
	    !eat(s, ':') || dec_u64(s, &mi) < 0 || !eat(s, ':') ||
	    dec_time(s, 1000000000LL, &sec_ns) < 0)
		return -1;
	skip_ws(s);
	if (eat_word(s, "pm") && h < 12)
		h += 12;
	else if (eat_word(s, "am") && h == 12)
		h = 0;
	skip_ws(s);
	if (dec_u64(s, &yr) < 0 || yr < 1970 || yr > 2200 || day < 1 || day > 31 || h > 23 ||
	    mi > 59 || sec_ns >= 61000000000LL)
		return -1;
	p->tool.base_ns =
	    local_to_utc(p, (days_from_civil((int64_t)yr, (unsigned)mon, (unsigned)day) * 86400 +
			     (int64_t)(h * 3600 + mi * 60)) *
				    1000000000LL +
				sec_ns);
	p->tool.have_base = true;
	return 0;
}

/* 1: a header line (handled), 0: not one, -1: a bad date */
static int
asc_header(struct logparse *p, struct sc *s)
{
	if (eat_word(s, "date"))
		return asc_date(p, s) < 0 ? -1 : 1;
	if (eat_word(s, "base")) {
		skip_ws(s);
		p->tool.asc_dec = eat_word(s, "dec");
		skip_ws(s);
		if (eat_word(s, "timestamps")) {
			skip_ws(s);
			p->tool.asc_delta = eat_word(s, "relative");
		}
		return 1;
	}
	if (eat_word(s, "begin")) {
		skip_ws(s);
		if (eat_word(s, "triggerblock") && (skip_ws(s), !at_end(s)) && asc_date(p, s) < 0)
			return -1;
		return 1;
	}
	if (eat_word(s, "end") || eat_word(s, "internal") || eat_word(s, "no") || eat_str(s, "//"))
		return 1;
	return 0;
}

/* An id or data byte in the log's base, at most max */
static int
asc_num(const struct logparse *p, struct sc *s, uint32_t max, uint32_t *v, int *ndig)
{
	uint64_t d;

	if (!p->tool.asc_dec)
		return hex_num(s, 8, v, ndig) < 0 || *v > max ? -1 : 0;
	if (dec_u64(s, &d) < 0 || d > max)
		return -1;
	*v = (uint32_t)d;
	*ndig = d > 0x7FF ? 8 : 3; /* decimal text length says nothing of the kind */
	return 0;
}

static int
asc_id(const struct logparse *p, struct sc *s, struct can_rec *f)
{
	uint32_t id;
	int nd;

	if (asc_num(p, s, 0x1FFFFFFF, &id, &nd) < 0)
		return -1;
	f->id = id;
	if (eat(s, 'x') || eat(s, 'X') || id > 0x7FF)
		f->flags |= CANF_EXT;
	return 0;
}

static int
asc_data(const struct logparse *p, struct sc *s, struct can_rec *f, unsigned n)
{
	uint32_t v;
	int nd;

	for (unsigned i = 0; i < n; i++) {
		if (need_ws(s) < 0 || asc_num(p, s, 255, &v, &nd) < 0)
			return -1;
		f->data[i] = (uint8_t)v;
	}
	f->len = (uint8_t)n;
	return 0; /* what follows (Length = .., BitCount = ..) is not ours */
}

static int
asc_dir(struct sc *s, struct can_rec *f)
{
	if (eat_word(s, "Tx"))
		f->flags |= CANF_TX;
	else if (!eat_word(s, "Rx"))
		return -1;
	return 0;
}

/* "CANFD 1 Rx 1DBx [name] BRS ESI DLC LEN b0 .." after the timestamp */
static int
asc_fd(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	uint64_t ch, brs, esi, len;
	uint32_t dlc;

	if (need_ws(s) < 0 || dec_u64(s, &ch) < 0 || chan_bus(p, ch, f) < 0 || need_ws(s) < 0)
		return ERR("CANFD: expected a channel 1..3");
	if (asc_dir(s, f) < 0) {
		if (eat_word(s, "ErrorFrame")) {
			f->flags |= CANF_ERR;
			return 1;
		}
		return ERR("CANFD: expected Rx or Tx");
	}
	if (need_ws(s) < 0 || asc_id(p, s, f) < 0 || need_ws(s) < 0)
		return ERR("CANFD: expected an id");
	if (!(s->p < s->end && (*s->p == '0' || *s->p == '1') &&
	      (s->p + 1 == s->end || s->p[1] == ' ' || s->p[1] == '\t'))) {
		skip_token(s); /* the symbolic name (since version 8.1) */
		skip_ws(s);
	}
	if (dec_u64(s, &brs) < 0 || brs > 1 || need_ws(s) < 0 || dec_u64(s, &esi) < 0 || esi > 1 ||
	    need_ws(s) < 0 || hex_num(s, 1, &dlc, NULL) < 0 || need_ws(s) < 0 ||
	    dec_u64(s, &len) < 0 || (int)len != fd_len(dlc))
		return ERR("CANFD: expected BRS ESI DLC and its data length");
	f->flags |= CANF_FD;
	return asc_data(p, s, f, (unsigned)len) < 0
		   ? ERR("CANFD: expected %u data bytes", (unsigned)len)
		   : 1;
}

/* "1 1DB Rx d 8 b0 ..", "1 1DBx Rx r [dlc]", "1 ErrorFrame" after the time */
static int
asc_classic(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	uint64_t ch;
	uint32_t dlc = 0;

	if (dec_u64(s, &ch) < 0 || need_ws(s) < 0)
		return 0; /* another event: "Start of measurement", a status ... */
	if (eat_word(s, "ErrorFrame")) {
		if (chan_bus(p, ch, f) < 0)
			return ERR("channel %llu: channels 1..3 are read", (unsigned long long)ch);
		f->flags |= CANF_ERR;
		return 1;
	}
	struct sc at = *s;
	if (asc_id(p, s, f) < 0 || need_ws(s) < 0 || asc_dir(s, f) < 0) {
		*s = at;
		return 0; /* "Statistic:", J1939TP ... */
	}
	if (chan_bus(p, ch, f) < 0)
		return ERR("channel %llu: channels 1..3 are read", (unsigned long long)ch);
	skip_ws(s);
	if (eat_word(s, "r") || eat_word(s, "R")) {
		skip_ws(s);
		f->flags |= CANF_RTR;
		if (!at_end(s) && hex_num(s, 1, &dlc, NULL) == 0)
			f->len = (uint8_t)(dlc > 8 ? 8 : dlc);
		return 1;
	}
	if (!eat_word(s, "d") || need_ws(s) < 0 || hex_num(s, 1, &dlc, NULL) < 0 || dlc > 8)
		return ERR("expected 'd DLC' (0..8) or 'r'");
	return asc_data(p, s, f, dlc) < 0 ? ERR("expected %u data bytes", dlc) : 1;
}

int
logfmt_asc(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t;
	int r;

	skip_ws(s);
	if (at_end(s) || *s->p < '0' || *s->p > '9') {
		if ((r = asc_header(p, s)) < 0)
			return ERR("an ASC date must read like 'Wed Apr 16 09:21:13.159 am 2014'");
		return r > 0 ? 0 : ERR("not an ASC header or event line");
	}
	if (dec_time_dot(s, 1000000000LL, &t) < 0 || need_ws(s) < 0)
		return ERR("expected 'seconds.micros' and an event");
	if (p->tool.asc_delta) { /* each event's time is since the one before */
		if (__builtin_add_overflow(p->tool.asc_sum, t, &t))
			return ERR("timestamp out of range");
		p->tool.asc_sum = t;
	}
	r = eat_word(s, "CANFD") ? asc_fd(p, s, f, err, errlen) : asc_classic(p, s, f, err, errlen);
	if (r <= 0)
		return r;
	if (!p->tool.have_base)
		f->t_ns = logparse_t_rel(p, t);
	else if (__builtin_add_overflow(p->tool.base_ns, t, &f->t_ns))
		return ERR("timestamp out of range");
	return 1;
}

/* ---- PEAK TRC ---- */

enum { TC_N, TC_O, TC_T, TC_B, TC_I, TC_D_DIR, TC_R, TC_L, TC_LEN, TC_DATA, TC_COUNT };

/* $COLUMNS letters in the order of enum above */
static const char trc_letters[TC_COUNT] = {'N', 'O', 'T', 'B', 'I', 'd', 'R', 'L', 'l', 'D'};

static void
trc_default_cols(struct logparse_tool *t)
{
	/* 2.0: N O T I d l D; 2.1 without $COLUMNS: N O T B I d R L D */
	static const char *const v20 = "NOTIdlD", *const v21 = "NOTBIdRLD";
	const char *c = t->trc_ver == 21 ? v21 : v20;

	memset(t->trc_col, -1, sizeof(t->trc_col));
	for (int i = 0; c[i] != '\0'; i++)
		for (int k = 0; k < TC_COUNT; k++)
			if (trc_letters[k] == c[i])
				t->trc_col[k] = (int8_t)i;
}

/* "$COLUMNS=N,O,T,B,I,d,R,L,D": taken only when O, T, I, L or l and D are
 * there and D (the data) comes last */
static int
trc_columns(struct logparse_tool *t, struct sc *s)
{
	int8_t col[TC_COUNT];
	int i = 0;

	memset(col, -1, sizeof(col));
	while (!at_end(s) && i < 16) {
		for (int k = 0; k < TC_COUNT; k++)
			if (trc_letters[k] == *s->p)
				col[k] = (int8_t)i;
		s->p++;
		i++;
		if (!eat(s, ','))
			break;
	}
	if (col[TC_O] < 0 || col[TC_T] < 0 || col[TC_I] < 0 || col[TC_DATA] < 0 ||
	    (col[TC_L] < 0 && col[TC_LEN] < 0))
		return -1;
	for (int k = 0; k < TC_COUNT; k++)
		if (k != TC_DATA && col[k] >= col[TC_DATA])
			return -1;
	memcpy(t->trc_col, col, sizeof(col));
	return 0;
}

/* "$STARTTIME=39414.8339742292": days since 1899-12-30, local time */
static int
trc_starttime(struct logparse *p, struct sc *s)
{
	uint64_t days, frac = 0;
	int64_t scale = 1000000000000LL; /* the fraction in 1e-12 days */

	if (dec_u64(s, &days) < 0 || days < OLE_EPOCH_DAYS || days > OLE_MAX_DAYS)
		return -1;
	if (eat(s, '.'))
		while (!at_end(s) && *s->p >= '0' && *s->p <= '9') {
			if (scale >= 10) {
				scale /= 10;
				frac += (uint64_t)(*s->p - '0') * (uint64_t)scale;
			}
			s->p++;
		}
	p->tool.base_ns = local_to_utc(p, ((int64_t)days - OLE_EPOCH_DAYS) * DAY_NS +
					      (int64_t)(frac * 86400 / 1000));
	p->tool.have_base = true;
	return 0;
}

static int
trc_header(struct logparse *p, struct sc *s, char *err, size_t errlen)
{
	uint64_t maj, min;

	if (eat_str(s, "$FILEVERSION=")) {
		if (dec_u64(s, &maj) < 0 || !eat(s, '.') || dec_u64(s, &min) < 0 || maj > 9 ||
		    min > 9)
			return ERR("bad $FILEVERSION");
		p->tool.trc_ver = (int)(maj * 10 + min);
		if (p->tool.trc_ver >= 20)
			trc_default_cols(&p->tool);
		return 0;
	}
	if (eat_str(s, "$STARTTIME="))
		return trc_starttime(p, s) < 0 ? ERR("bad $STARTTIME (days since 1899-12-30)") : 0;
	if (eat_str(s, "$COLUMNS="))
		return trc_columns(&p->tool, s) < 0 ? ERR("$COLUMNS without O, T, I, L|l and D")
						    : 0;
	return 0; /* a comment */
}

static int
trc_time(struct logparse *p, int64_t off_ns, struct can_rec *f)
{
	if (!p->tool.have_base) {
		f->t_ns = logparse_t_rel(p, off_ns);
		return 0;
	}
	return __builtin_add_overflow(p->tool.base_ns, off_ns, &f->t_ns) ? -1 : 0;
}

static int
trc_hex_data(struct sc *s, struct can_rec *f, unsigned n)
{
	uint32_t v;
	int nd;

	for (unsigned i = 0; i < n; i++) {
		skip_ws(s);
		if (hex_num(s, 2, &v, &nd) < 0 || nd != 2)
			return -1;
		f->data[i] = (uint8_t)v;
	}
	f->len = (uint8_t)n;
	return 0;
}

/* 1.x after "N)": "1059.9 [Rx|Tx] 0300 8 b0 .." or ".. 8 RTR" */
static int
trc_v1(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	int64_t t;
	uint32_t id;
	uint64_t n;
	int nd;

	if (need_ws(s) < 0 || dec_time(s, MS_NS, &t) < 0 || need_ws(s) < 0)
		return ERR("expected the time offset in ms");
	if (eat_word(s, "Tx"))
		f->flags |= CANF_TX;
	else if (!eat_word(s, "Rx") && !at_end(s) && (*s->p < '0' || *s->p > '9') &&
		 hexv(*s->p) < 0)
		return 0; /* Warng, Error: bus events (nothing after the time: an error below) */
	skip_ws(s);
	if (hex_num(s, 8, &id, &nd) < 0 || need_ws(s) < 0 || dec_u64(s, &n) < 0 || n > 8)
		return ERR("expected 'ID DLC' (DLC 0..8)");
	if (id == 0xFFFFFFFF)
		return 0; /* 1.0: bus information */
	set_id(f, id, nd > 4 ? 8 : 3);
	skip_ws(s);
	if (eat_word(s, "RTR")) {
		f->flags |= CANF_RTR;
		f->len = (uint8_t)n;
	} else if (trc_hex_data(s, f, (unsigned)n) < 0)
		return ERR("expected %u data bytes", (unsigned)n);
	return trc_time(p, t, f) < 0 ? ERR("time out of range") : 1;
}

/* 2.x: split up to n columns; how many there were */
static int
trc_fields(struct sc *s, struct sc *col, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		skip_ws(s);
		if (at_end(s))
			break;
		col[i].p = s->p;
		skip_token(s);
		col[i].end = s->p;
	}
	return i;
}

/* the T column: DT classic, FD FB FE BI flexible data, RR remote, ER error */
static int
trc_type(struct sc *t, struct can_rec *f)
{
	if (eat_word(t, "DT"))
		return 1;
	if (eat_word(t, "FD") || eat_word(t, "FB") || eat_word(t, "FE") || eat_word(t, "BI")) {
		f->flags |= CANF_FD;
		return 1;
	}
	if (eat_word(t, "RR")) {
		f->flags |= CANF_RTR;
		return 1;
	}
	if (eat_word(t, "ER")) {
		f->flags |= CANF_ERR;
		return 2;
	}
	return 0; /* ST, EC, EV: status, error counters, events */
}

static int
trc_v2_len(const struct logparse_tool *tl, struct sc *col, const struct can_rec *f)
{
	uint64_t v;

	if (tl->trc_col[TC_LEN] >= 0) {
		struct sc c = col[tl->trc_col[TC_LEN]];
		return dec_u64(&c, &v) < 0 || v > 64 ? -1 : (int)v;
	}
	struct sc c = col[tl->trc_col[TC_L]];
	if (dec_u64(&c, &v) < 0 || v > 15)
		return -1;
	return (f->flags & CANF_FD) ? fd_len((unsigned)v) : v > 8 ? 8 : (int)v;
}

static int
trc_v2(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	struct logparse_tool *tl = &p->tool;
	struct sc col[16];
	int64_t t;
	uint32_t id;
	uint64_t bus = 1;
	int nd, k, n;

	if (tl->trc_col[TC_O] < 0)
		trc_default_cols(tl);
	int have = trc_fields(s, col, tl->trc_col[TC_DATA]);
	if (have <= tl->trc_col[TC_O] || have <= tl->trc_col[TC_T])
		return ERR("expected the time and type columns");
	struct sc o = col[tl->trc_col[TC_O]], ty = col[tl->trc_col[TC_T]];
	if (dec_time(&o, MS_NS, &t) < 0)
		return ERR("expected the time offset in ms");
	if ((k = trc_type(&ty, f)) == 0)
		return 0; /* status and events have columns of their own */
	if (trc_time(p, t, f) < 0)
		return ERR("time out of range");
	if (k == 2)
		return 1; /* an error frame: no id, no data */
	if (have < tl->trc_col[TC_DATA])
		return ERR("expected %d columns before the data", tl->trc_col[TC_DATA]);
	struct sc ic = col[tl->trc_col[TC_I]];
	if (hex_num(&ic, 8, &id, &nd) < 0 || !at_end(&ic))
		return ERR("expected a hex id");
	set_id(f, id & 0x1FFFFFFF, nd > 4 ? 8 : 3);
	if (tl->trc_col[TC_B] >= 0 && *col[tl->trc_col[TC_B]].p != '-') {
		struct sc b = col[tl->trc_col[TC_B]];
		if (dec_u64(&b, &bus) < 0)
			return ERR("expected a bus number");
	}
	if (chan_bus(p, bus, f) < 0)
		return ERR("bus %llu: buses 1..3 are read", (unsigned long long)bus);
	if (tl->trc_col[TC_D_DIR] >= 0) {
		struct sc d = col[tl->trc_col[TC_D_DIR]];
		if (eat_word(&d, "Tx"))
			f->flags |= CANF_TX;
	}
	if ((n = trc_v2_len(tl, col, f)) < 0 || (!(f->flags & CANF_FD) && n > 8))
		return ERR("bad data length");
	if (f->flags & CANF_RTR) {
		f->len = (uint8_t)n;
		return 1;
	}
	return trc_hex_data(s, f, (unsigned)n) < 0 ? ERR("expected %d data bytes", n) : 1;
}

int
logfmt_trc(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	uint64_t num;

	skip_ws(s);
	if (eat(s, ';'))
		return trc_header(p, s, err, errlen);
	if (p->tool.trc_ver != 0 && p->tool.trc_ver != 10 && p->tool.trc_ver != 11 &&
	    p->tool.trc_ver != 20 && p->tool.trc_ver != 21)
		return ERR("TRC version %d.%d is not read (1.0, 1.1, 2.0 and 2.1 are)",
			   p->tool.trc_ver / 10, p->tool.trc_ver % 10);
	struct sc row = *s; /* 2.x: the message number is column N */
	if (dec_u64(s, &num) < 0)
		return ERR("expected a message number");
	if (eat(s, ')'))
		return trc_v1(p, s, f, err, errlen);
	if (p->tool.trc_ver == 10 || p->tool.trc_ver == 11)
		return ERR("expected 'N)' (TRC 1.x)");
	return trc_v2(p, &row, f, err, errlen);
}

/* ---- the USB-CAN analyser's "Save as TXT" ---- */

/* its columns are padded with spaces and NUL bytes */
static void
skip_sep(struct sc *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\0'))
		s->p++;
}

static int
need_sep(struct sc *s)
{
	if (at_end(s) || (*s->p != ' ' && *s->p != '\t' && *s->p != '\0'))
		return -1;
	skip_sep(s);
	return 0;
}

/* "HH:MM:SS:mmm" (or .mmm) -> ms of the day */
static int
usb_clock(struct sc *s, int64_t *ms)
{
	uint64_t h, m, sec, milli;

	if (dec_u64(s, &h) < 0 || !eat(s, ':') || dec_u64(s, &m) < 0 || !eat(s, ':') ||
	    dec_u64(s, &sec) < 0 || !(eat(s, ':') || eat(s, '.')) || dec_u64(s, &milli) < 0 ||
	    h > 23 || m > 59 || sec > 60 || milli > 999)
		return -1;
	*ms = (int64_t)((h * 3600 + m * 60 + sec) * 1000 + milli);
	return 0;
}

/* a time of day without a date: past midnight when it jumps back > 12 h;
 * -1 past the range of the times (a hostile file's midnights) */
static int
usb_time(struct logparse *p, int64_t day_ms, int64_t *t)
{
	struct logparse_tool *tl = &p->tool;
	int64_t ns;

	if (p->frames > 0 && day_ms < tl->day_ms - DAY_MS / 2)
		tl->days++;
	tl->day_ms = day_ms;
	if (__builtin_mul_overflow(tl->days * DAY_MS + day_ms, MS_NS, &ns) || tl->days > 100000)
		return -1;
	*t = logparse_t_rel(p, ns);
	return 0;
}

static int
usb_kind(struct sc *s, struct can_rec *f)
{
	if (eat_word(s, "Remote"))
		f->flags |= CANF_RTR;
	else if (!eat_word(s, "Data"))
		return -1;
	skip_sep(s);
	if (!eat_word(s, "frame") || need_sep(s) < 0)
		return -1;
	if (eat_word(s, "Extended"))
		f->flags |= CANF_EXT;
	else if (!eat_word(s, "Standard"))
		return -1;
	skip_sep(s);
	return eat_word(s, "frame") && need_sep(s) == 0 ? 0 : -1;
}

static int
usb_data(struct sc *s, struct can_rec *f, unsigned n)
{
	uint32_t v;
	int nd;

	skip_sep(s);
	eat_str(s, "x|"); /* some versions mark the data column */
	for (unsigned i = 0; i < n; i++) {
		skip_sep(s);
		if (hex_num(s, 2, &v, &nd) < 0 || nd != 2)
			return -1;
		f->data[i] = (uint8_t)v;
	}
	skip_sep(s);
	return at_end(s) ? 0 : -1;
}

int
logfmt_usbcan(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	uint64_t row, n;
	uint32_t id;
	int64_t day_ms = -1;
	int nd;

	skip_sep(s);
	if (eat_word(s, "NO"))
		return 0; /* the header row */
	if (dec_u64(s, &row) < 0 || need_sep(s) < 0)
		return ERR("expected a row number");
	if (eat_word(s, "Send"))
		f->flags |= CANF_TX;
	else if (!eat_word(s, "Receive"))
		return ERR("expected Receive or Send");
	skip_sep(s);
	if (!at_end(s) && *s->p >= '0' && *s->p <= '9' &&
	    (usb_clock(s, &day_ms) < 0 || need_sep(s) < 0))
		return ERR("expected a time 'HH:MM:SS:mmm'");
	if (usb_kind(s, f) < 0)
		return ERR("expected 'Data|Remote frame' and 'Standard|Extended frame'");
	eat_str(s, "0x");
	if (hex_num(s, 8, &id, &nd) < 0 || need_sep(s) < 0 || dec_u64(s, &n) < 0 || n > 8)
		return ERR("expected the id (hex) and a length 0..8");
	f->id = id & 0x1FFFFFFF;
	if (id > 0x7FF)
		f->flags |= CANF_EXT;
	f->len = (uint8_t)n;
	if (!(f->flags & CANF_RTR) && usb_data(s, f, (unsigned)n) < 0)
		return ERR("expected %u data bytes", (unsigned)n);
	if (p->timed < 0)
		p->timed = day_ms >= 0;
	if (p->timed && day_ms < 0)
		return ERR("no time, unlike the rows before");
	if (p->timed && usb_time(p, day_ms, &f->t_ns) < 0)
		return ERR("more midnights than a log can hold");
	if (!p->timed)
		p->untimed = true;
	return 1;
}

/* ---- the ESP32 loggers' "00019402641 00000284 08 b0 .." (us, hex id) ---- */

int
logfmt_micros(struct logparse *p, struct sc *s, struct can_rec *f, char *err, size_t errlen)
{
	uint64_t us, n;
	uint32_t id;
	int nd;

	if (dec_u64(s, &us) < 0 || need_ws(s) < 0 || us > (uint64_t)(INT64_MAX / 1000))
		return ERR("expected microseconds");
	if (hex_num(s, 8, &id, &nd) < 0 || need_ws(s) < 0)
		return ERR("expected an 8-digit hex id");
	set_id(f, id & 0x1FFFFFFF, id > 0x7FF ? 8 : 3);
	if (dec_u64(s, &n) < 0 || n > 8)
		return ERR("expected DLC 0..8");
	if (hex_bytes(s, (int)n, f, 8) < 0 || (skip_ws(s), !at_end(s)))
		return ERR("expected %u data bytes", (unsigned)n);
	f->t_ns = logparse_t_auto(p, (int64_t)us * 1000);
	return 1;
}

/* ---- detection ---- */

static bool
looks_asc_frame(struct sc s)
{
	int64_t t;
	uint64_t ch;
	struct can_rec f = {0};
	struct logparse p;

	skip_ws(&s);
	if (dec_time_dot(&s, 1000000000LL, &t) < 0 || need_ws(&s) < 0)
		return false;
	if (eat_word(&s, "CANFD"))
		return true;
	if (dec_u64(&s, &ch) < 0 || need_ws(&s) < 0)
		return false;
	if (eat_word(&s, "ErrorFrame"))
		return true;
	memset(&p, 0, sizeof(p));
	return asc_id(&p, &s, &f) == 0 && need_ws(&s) == 0 && asc_dir(&s, &f) == 0;
}

static bool
looks_trc_frame(struct sc s)
{
	uint64_t v;
	int64_t t;

	skip_ws(&s);
	if (dec_u64(&s, &v) < 0)
		return false;
	if (eat(&s, ')'))
		return true;
	if (need_ws(&s) < 0 || dec_time_dot(&s, MS_NS, &t) < 0 || need_ws(&s) < 0)
		return false;
	return s.end - s.p >= 2 && s.p[0] >= 'A' && s.p[0] <= 'Z' && s.p[1] >= 'A' &&
	       s.p[1] <= 'Z' && (s.end - s.p == 2 || s.p[2] == ' ' || s.p[2] == '\t');
}

static bool
looks_usbcan(struct sc s)
{
	uint64_t v;

	skip_sep(&s);
	if (eat_word(&s, "NO"))
		return skip_sep(&s), eat_word(&s, "Direction");
	return dec_u64(&s, &v) == 0 && need_sep(&s) == 0 &&
	       (eat_word(&s, "Receive") || eat_word(&s, "Send"));
}

static bool
looks_micros(struct sc s)
{
	uint64_t v;
	uint32_t id;
	int nd;
	const char *d0 = s.p;

	if (dec_u64(&s, &v) < 0 || s.p - d0 < 6 || need_ws(&s) < 0 ||
	    hex_num(&s, 8, &id, &nd) < 0 || nd != 8 || need_ws(&s) < 0)
		return false;
	d0 = s.p;
	return dec_u64(&s, &v) == 0 && s.p - d0 <= 2 && v <= 8 &&
	       (at_end(&s) || *s.p == ' ' || *s.p == '\t');
}

int
logfmt_detect_tools(const char *line, size_t len)
{
	struct sc s = {line, line + len};

	if (looks_usbcan(s))
		return LF_USBCAN;
	skip_ws(&s);
	if (eat(&s, ';'))
		return LF_TRC;
	if (eat_word(&s, "date") || eat_word(&s, "base") || eat_word(&s, "internal") ||
	    eat_ci(&s, "no internal") || eat_ci(&s, "begin triggerblock"))
		return LF_ASC;
	s.p = line;
	if (looks_asc_frame(s))
		return LF_ASC;
	if (looks_trc_frame(s))
		return LF_TRC;
	if (looks_micros(s))
		return LF_MICROS;
	return LF_AUTO;
}
