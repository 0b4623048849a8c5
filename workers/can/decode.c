/*
 * The decoder's core: which function decodes which (bus, id), the integrity
 * checks every frame passes first (length, CRC-8 poly 0x85 or nibble sum,
 * 2-bit rolling counter), generation detection, the plausibility filter and
 * the health counters. The per-message functions live in decode_lbc.c,
 * decode_vcm.c and decode_diag.c.
 *
 * Generation (LEAF-CAN.md Corrections 1): 0x1ED or 0x1C2 => ZE1; else 0x59E,
 * 0x390 or the 0x5BC full-GIDs mux => AZE0 (the e-NV200 40 kWh too); else
 * ZE0. A ZE1 marker decides at once; otherwise the decision falls one second
 * (frame time) after the first Leaf frame, and later evidence can only move
 * it forward (ZE0 -> AZE0 -> ZE1). Until it is decided, fields whose layout
 * depends on the generation give no value. A forced generation (config)
 * decides from the first frame and is never changed.
 *
 * Plausibility: slow signals (GIDs, full GIDs, SOC, remaining kWh) move by
 * at most a small step between two frames. A value further than `tol` from
 * the last accepted one is held as a candidate, not published; the next
 * frame either confirms it (within tol of the candidate: a real step, e.g.
 * after a charge while the bus slept, published one frame late) or returns
 * near the old value (the candidate was a single-frame outlier: dropped and
 * counted in can_implausible). The first value after start is accepted as
 * is, invalid markers (1023 GIDs ...) never enter the filter, and current
 * and full GIDs have separate filters, so the 0x5BC mux cannot look like an
 * outlier.
 */
#include "decode_int.h"

#include <math.h>
#include <string.h>

#include "config.h"

enum chk { CHK_NONE, CHK_CRC8, CHK_NIBBLE };

#define B_EV (1u << BUS_EV)
#define B_CAR (1u << BUS_CAR)
#define B_QC (1u << BUS_QC)
#define B_LEAF (B_EV | B_CAR)

typedef void (*dec_fn)(struct decoder *, const struct can_rec *, struct emit *);

struct msgdef {
	uint16_t id;
	uint8_t buses;
	uint8_t len;	/* minimum length; exact for CRC frames */
	uint8_t chk;	/* enum chk */
	int8_t k;	/* nibble-sum constant */
	int8_t slot;	/* counter slot, -1 none */
	uint8_t cbyte;	/* counter: (d[cbyte] >> cshift) & cmask */
	uint8_t cshift;
	uint8_t cmask;
	uint8_t evidence;
	dec_fn fn;
	bool lbc; /* a battery-controller frame: starts the generation window */
};

enum {
	S_1DB, S_1DC, S_55B, S_1DA, S_1F2, S_1D4, S_11A, S_380, S_390, S_393, S_5BF,
	S_1ED, S_108, S_1C2,
};

/* clang-format off */
static const struct msgdef msgs[] = {
	/* battery controller */
	{0x1DB, B_LEAF, 8, CHK_CRC8, 0, S_1DB, 6, 0, 3, 0, dec_lbc_1db, true},
	{0x1DC, B_LEAF, 8, CHK_CRC8, 0, S_1DC, 6, 0, 3, 0, dec_lbc_1dc, true},
	{0x1ED, B_LEAF, 3, CHK_CRC8, 0, S_1ED, 1, 0, 3, DEC_EV_ZE1, dec_lbc_1ed, true},
	{0x1C2, B_LEAF, 1, CHK_NONE, 0, S_1C2, 0, 0, 15, DEC_EV_ZE1, NULL, true},
	{0x55B, B_LEAF, 8, CHK_CRC8, 0, S_55B, 6, 0, 3, 0, dec_lbc_55b, true},
	{0x5BC, B_LEAF, 8, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_lbc_5bc, true},
	{0x5C0, B_LEAF, 8, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_lbc_5c0, true},
	{0x59E, B_LEAF, 8, CHK_NONE, 0, -1, 0, 0, 0, DEC_EV_AZE0, dec_lbc_59e, true},
	/* inverter */
	{0x1DA, B_LEAF, 8, CHK_CRC8, 0, S_1DA, 6, 0, 3, 0, dec_inv_1da},
	{0x55A, B_LEAF, 8, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_inv_55a},
	/* VCM */
	{0x1D4, B_LEAF, 8, CHK_CRC8, 0, S_1D4, 4, 6, 3, 0, dec_vcm_1d4},
	{0x11A, B_LEAF, 8, CHK_CRC8, 0, S_11A, 6, 0, 3, 0, dec_vcm_11a},
	{0x1F2, B_LEAF, 8, CHK_NIBBLE, 2, S_1F2, 6, 0, 3, 0, dec_vcm_1f2},
	{0x5A9, B_LEAF, 3, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_vcm_5a9},
	{0x5B9, B_LEAF, 2, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_vcm_5b9},
	{0x421, B_LEAF, 1, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_vcm_421},
	/* charger */
	{0x380, B_LEAF, 8, CHK_NIBBLE, -5, S_380, 7, 4, 3, 0, dec_obc_380},
	{0x390, B_LEAF, 8, CHK_NIBBLE, -4, S_390, 7, 4, 3, DEC_EV_AZE0, dec_obc_390},
	{0x393, B_LEAF, 8, CHK_NIBBLE, -1, S_393, 7, 4, 3, 0, NULL},
	{0x5BF, B_LEAF, 8, CHK_NIBBLE, -1, S_5BF, 7, 4, 3, 0, dec_obc_5bf},
	/* ABS, cluster, BCM */
	{0x284, B_LEAF, 6, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_abs_284},
	{0x292, B_LEAF, 4, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_abs_292},
	{0x355, B_LEAF, 7, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_cl_355},
	{0x5C5, B_LEAF, 4, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_cl_5c5},
	{0x60D, B_LEAF, 3, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_bcm_60d},
	/* climate */
	{0x54B, B_LEAF, 5, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_hvac_54b},
	{0x54C, B_LEAF, 7, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_hvac_54c},
	{0x54F, B_LEAF, 1, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_hvac_54f},
	{0x510, B_LEAF, 4, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_hvac_510},
	/* ZE1 EV-CAN: a 3-byte frame with a nibble counter and a CRC-8 (not
	 * CHAdeMO's 0x108, which lives on QC-CAN) */
	{0x108, B_EV | B_CAR, 3, CHK_CRC8, 0, S_108, 1, 0, 15, 0, NULL},
	/* CHAdeMO charger status, and its mirror on ZE1 EV-CAN */
	{0x109, B_QC, 4, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_qc_109},
	{0x3C9, B_LEAF, 4, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_qc_109},
	/* LBC diagnostic replies (another tester's polls) */
	{0x7BB, B_LEAF, 1, CHK_NONE, 0, -1, 0, 0, 0, 0, dec_diag_7bb},
};

/* Leaf ids we recognise but take no value from (not "unknown"). */
static const uint16_t known_leaf[] = {
	0x002, 0x120, 0x174, 0x176, 0x180, 0x1CB, 0x215, 0x245, 0x260, 0x280, 0x285,
	0x2DE, 0x300, 0x354, 0x385, 0x3B8, 0x3B9, 0x3BB, 0x3BC, 0x3BE, 0x3C8, 0x45E,
	0x481, 0x4B9, 0x4BA, 0x4BB, 0x4BC, 0x4C0, 0x54A, 0x50A, 0x50B, 0x50C, 0x56E, 0x5B3,
	0x5CD, 0x5EB, 0x5EC, 0x5FC, 0x603, 0x605, 0x607, 0x625, 0x679, 0x68C,
	0x601, 0x62C, 0x681, 0x6AC, /* AV-CAN */
	0x70E, 0x70F, 0x73F, 0x740, 0x742, 0x743, 0x744, 0x745, 0x746, 0x747, 0x74D,
	0x752, 0x760, 0x761, 0x762, 0x763, 0x764, 0x765, 0x767, 0x76D, 0x772, 0x783,
	0x784, 0x78C, 0x792, 0x793, 0x797, 0x79A, 0x79B, 0x79D, 0x7BD, 0x7DF,
};
static const uint16_t known_qc[] = {
	0x100, 0x101, 0x102, 0x108, 0x110, 0x118, 0x200, 0x201, 0x202, 0x208, 0x209, 0x700,
};
/* clang-format on */

/* (bus, 11-bit id) -> the first row of msgs for them + 1, 0: none; built
 * on the first lookup (a frame costs one load, not a scan of the rows) */
static uint8_t msg_ix[BUS_COUNT][0x800];
static bool msg_ix_ready;

static void
msg_ix_build(void)
{
	_Static_assert(sizeof(msgs) / sizeof(msgs[0]) < 255, "msg_ix holds row + 1 in a byte");
	for (size_t i = sizeof(msgs) / sizeof(msgs[0]); i-- > 0;) /* the first row wins */
		for (unsigned b = 0; b < BUS_COUNT; b++)
			if (msgs[i].id < 0x800 && (msgs[i].buses & (1u << b)))
				msg_ix[b][msgs[i].id] = (uint8_t)(i + 1);
	msg_ix_ready = true;
}

static const struct msgdef *
msg_find(unsigned bus, uint32_t id)
{
	if (bus >= BUS_COUNT)
		return NULL;
	if (id < 0x800) {
		if (!msg_ix_ready)
			msg_ix_build();
		return msg_ix[bus][id] ? &msgs[msg_ix[bus][id] - 1] : NULL;
	}
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		if (msgs[i].id == id && (msgs[i].buses & (1u << bus)))
			return &msgs[i];
	return NULL;
}

static bool
in_list(const uint16_t *l, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] == id)
			return true;
	return false;
}

/* Is this (bus, id) one the decoder knows (decoded or recognised)? */
static bool
decoder_known_id(unsigned bus, uint32_t id)
{
	if (msg_find(bus, id) != NULL)
		return true;
	if (bus == BUS_QC)
		return in_list(known_qc, sizeof(known_qc) / 2, id);
	return in_list(known_leaf, sizeof(known_leaf) / 2, id);
}

uint8_t
leaf_crc8(const uint8_t *p, size_t n)
{
	static uint8_t table[256];
	static int ready;
	uint8_t crc = 0;

	if (!ready) {
		for (int i = 0; i < 256; i++) {
			uint8_t c = (uint8_t)i;
			for (int b = 0; b < 8; b++)
				c = (uint8_t)((c & 0x80) ? (c << 1) ^ 0x85 : c << 1);
			table[i] = c;
		}
		ready = 1;
	}
	for (size_t i = 0; i < n; i++)
		crc = table[crc ^ p[i]];
	return crc;
}

uint8_t
leaf_nibble_sum(const uint8_t d[8], int k)
{
	int s = k;

	for (int i = 0; i < 7; i++)
		s += (d[i] >> 4) + (d[i] & 0x0F);
	s += d[7] >> 4;
	return (uint8_t)(s & 0x0F);
}

const char *
decoder_gen_name(int gen)
{
	switch (gen) {
	case GEN_ZE0:
		return "ZE0";
	case GEN_AZE0:
		return "AZE0";
	case GEN_ZE1:
		return "ZE1";
	default:
		return "unknown";
	}
}

void
decoder_init(struct decoder *d, int forced_gen)
{
	memset(d, 0, sizeof(*d));
	d->forced_gen = forced_gen;
	d->gen = (forced_gen >= GEN_ZE0 && forced_gen <= GEN_ZE1) ? forced_gen : GEN_UNKNOWN;
	if (d->gen == GEN_UNKNOWN)
		d->forced_gen = CFG_GEN_AUTO;
	memset(d->ctr, -1, sizeof(d->ctr));
	d->odo_miles = -1;
	d->tp_bus = -1;
}

void
decoder_set_energy(struct decoder *d, double out_kwh, double in_kwh)
{
	if (isfinite(out_kwh) && out_kwh >= 0)
		d->e_out_kwh = out_kwh;
	if (isfinite(in_kwh) && in_kwh >= 0)
		d->e_in_kwh = in_kwh;
}

void
dec_evidence(struct decoder *d, unsigned bits)
{
	d->evidence |= bits;
}

int
plaus_accept(struct decoder *d, struct plaus *p, double v, double tol)
{
	if (!p->have || fabs(v - p->last) <= tol) {
		if (p->have_cand)
			d->st.implausible++; /* the jump came back: an outlier */
		p->have = true;
		p->have_cand = false;
		p->last = v;
		return 1;
	}
	if (p->have_cand && fabs(v - p->cand) <= tol) {
		p->have_cand = false; /* confirmed: a real step */
		p->last = v;
		return 1;
	}
	if (p->have_cand)
		d->st.implausible++; /* an unconfirmed jump replaced by another */
	p->cand = v;
	p->have_cand = true;
	return 0;
}

static int
integrity_ok(const struct msgdef *m, const struct can_rec *f)
{
	if (m->chk == CHK_CRC8)
		return leaf_crc8(f->data, (size_t)f->len - 1) == f->data[f->len - 1];
	if (m->chk == CHK_NIBBLE)
		return leaf_nibble_sum(f->data, m->k) == (f->data[7] & 0x0F);
	return 1;
}

/* A counter is compared with its predecessor only when that one is recent:
 * after a silence (sleep, source restart) counting starts again. */
#define CTR_FRESH_NS (500LL * 1000 * 1000)

static void
counter_check(struct decoder *d, const struct msgdef *m, const struct can_rec *f)
{
	int8_t *last = &d->ctr[m->slot][f->bus];
	int64_t *lt = &d->ctr_t[m->slot][f->bus];
	int c = (f->data[m->cbyte] >> m->cshift) & m->cmask;

	if (*last >= 0 && f->t_ns - *lt <= CTR_FRESH_NS && f->t_ns >= *lt &&
	    c != ((*last + 1) & m->cmask))
		d->st.counter_gaps++;
	*last = (int8_t)c;
	*lt = f->t_ns;
}

/* The generation the evidence so far gives at frame time t. */
static int
gen_of(const struct decoder *d, int64_t t)
{
	int g = d->gen;

	if (d->forced_gen == CFG_GEN_AUTO) {
		if (d->evidence & DEC_EV_ZE1)
			g = GEN_ZE1;
		else if ((d->lbc_seen && t - d->first_lbc_ns >= DEC_GEN_WINDOW_NS) ||
			 d->gen != GEN_UNKNOWN)
			g = (d->evidence & DEC_EV_AZE0) ? GEN_AZE0 : GEN_ZE0;
		if (g < d->gen)
			g = d->gen; /* only forward */
	}
	return g;
}

static void
gen_decide(struct decoder *d, int64_t t, struct emit *e)
{
	int g = gen_of(d, t);

	if (g != d->gen || (g != GEN_UNKNOWN && !d->gen_emitted)) {
		d->gen = g;
		d->gen_emitted = true;
		emit(e, SIG_vehicle_generation, g);
	}
}

/* What a frame that passed its checks says of the generation. */
static void
gen_note(struct decoder *d, const struct msgdef *m, const struct can_rec *f)
{
	if (!d->lbc_seen && m->lbc) {
		d->lbc_seen = true;
		d->first_lbc_ns = f->t_ns;
	}
	dec_evidence(d, m->evidence);
}

static void
health_emit(struct decoder *d, struct emit *e)
{
	const struct dec_stats *s = &d->st;

	emit(e, SIG_can_frames_total, (double)s->frames);
	emit(e, SIG_can_crc_errors, (double)s->crc_errors);
	emit(e, SIG_can_counter_gaps, (double)s->counter_gaps);
	emit(e, SIG_can_unknown_ids, (double)s->unknown_ids);
	emit(e, SIG_can_implausible, (double)s->implausible);
}

/* Once per second of frame time: the rate, the counters and the generation,
 * restated even when unchanged (the cutter drops repeats), so they count as
 * fresh for its keyframes while frames flow. */
static void
health_tick(struct decoder *d, int64_t t, struct emit *e)
{
	if (!d->rate_started || t < d->rate_window_ns) {
		d->rate_started = true; /* not rate_window_ns == 0: relative logs start at 0 */
		d->rate_window_ns = t;
		d->rate_frames = 0;
	}
	if (t - d->rate_window_ns >= (1000LL * 1000 * 1000)) {
		double secs = (double)(t - d->rate_window_ns) / 1e9;
		emit(e, SIG_can_frames_per_s, round((double)d->rate_frames / secs * 10) / 10);
		health_emit(d, e);
		if (d->gen_emitted)
			emit(e, SIG_vehicle_generation, d->gen);
		d->rate_window_ns = t;
		d->rate_frames = 0;
	}
	d->rate_frames++;
}

size_t
decoder_health(struct decoder *d, struct sig_update *out, size_t cap)
{
	struct emit e = {out, 0, cap};

	health_emit(d, &e);
	return e.n;
}

static bool
length_ok(const struct msgdef *m, const struct can_rec *f)
{
	return f->len >= m->len && (m->chk != CHK_CRC8 || f->len == m->len);
}

static void
decode_known(struct decoder *d, const struct msgdef *m, const struct can_rec *f, struct emit *e)
{
	if (!length_ok(m, f)) {
		d->st.short_frames++;
		return;
	}
	if (!integrity_ok(m, f)) {
		d->st.crc_errors++;
		return;
	}
	if (m->slot >= 0)
		counter_check(d, m, f);
	if (f->bus != BUS_QC) { /* CHAdeMO frames say nothing of the car */
		gen_note(d, m, f);
		gen_decide(d, f->t_ns, e);
	}
	if (m->fn != NULL)
		m->fn(d, f, e);
}

static bool
classic(const struct can_rec *f)
{
	return !(f->flags & (CANF_ERR | CANF_RTR | CANF_EXT)) && f->len <= 8;
}

int
decoder_observe(struct decoder *d, const struct can_rec *f)
{
	const struct msgdef *m;

	if (classic(f) && f->bus != BUS_QC && (m = msg_find(f->bus, f->id)) != NULL &&
	    length_ok(m, f) && integrity_ok(m, f)) {
		gen_note(d, m, f);
		d->gen = gen_of(d, f->t_ns); /* published when the frame is decoded */
	}
	return d->gen;
}

size_t
decoder_frame(struct decoder *d, const struct can_rec *f, struct sig_update *out, size_t cap)
{
	struct emit e = {out, 0, cap};
	const struct msgdef *m;

	d->st.frames++;
	health_tick(d, f->t_ns, &e);
	if (!classic(f)) {
		if (!(f->flags & CANF_ERR))
			d->st.unknown_ids++; /* the Leaf speaks 11-bit classic CAN */
		return e.n;
	}
	m = msg_find(f->bus, f->id);
	if (m != NULL)
		decode_known(d, m, f, &e);
	else if (!decoder_known_id(f->bus, f->id))
		d->st.unknown_ids++;
	return e.n;
}
