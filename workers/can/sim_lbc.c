/*
 * The simulator's battery controller answering diagnostic polls (pure):
 * "02 21 GG" on 0x79B gets the group's reply on 0x7BB from the model (the
 * layouts and lengths of LEAF-CAN.md section 8 per generation, which the
 * decoder reads back), a single frame when it fits, else a first frame,
 * then consecutive frames as the tester's flow control allows (block size,
 * STmin). A new request drops a reply in progress, as the LBC does.
 */
#include <math.h>
#include <string.h>

#include "decode.h"
#include "sim.h"

#define MS (1000LL * 1000)
#define ANSWER_NS (2 * MS) /* request -> the first frame */
#define NOMINAL_V 360.0	   /* Ah from kWh */

static void
put(uint8_t *p, size_t i, uint32_t v, int n)
{
	for (int k = n - 1; k >= 0; k--, v >>= 8)
		p[i + (size_t)k] = (uint8_t)(v & 0xFF);
}

/* The model's health: its capacity over the pack's nominal one. */
static double
health_pct(const struct sim *m)
{
	static const double nominal[3] = {24.0, 30.0, 62.0};

	return 100.0 * m->capacity_kwh / nominal[m->gen];
}

/* Cell i's voltage: the pack's share and a fixed spread of +-5 mV. */
static unsigned
cell_mv(const struct sim *m, int i)
{
	return (unsigned)lround(m->s.voltage_v / 96 * 1000) + (unsigned)((i * 37) % 11) - 5;
}

static size_t
group_01(const struct sim *m, uint8_t *p)
{
	static const size_t len[3] = {0x29, 0x2B, 0x35};
	size_t n = len[m->gen];
	uint32_t cur = (uint32_t)(int32_t)lround(m->s.current_a * 1024);
	uint32_t soc = (uint32_t)lround(m->s.soc * 100 * 10000);
	uint32_t ah = (uint32_t)lround(m->capacity_kwh * 1000 / NOMINAL_V * 10000);

	memset(p + 2, 0, n - 2);
	put(p + 2, 0, cur, 4);
	put(p + 2, 6, cur, 4);
	put(p + 2, 18, (uint32_t)lround(m->s.voltage_v * 100), 2);
	if (m->gen == GEN_ZE1) {
		put(p + 2, 28, (uint32_t)lround(health_pct(m) * 102.4), 2);
		put(p + 2, 31, soc, 3);
		put(p + 2, 35, ah, 3);
	} else {
		put(p + 2, 26, (uint32_t)lround(health_pct(m) * 100), 2);
		put(p + 2, 29, soc, 3);
		put(p + 2, 33, ah, 3);
	}
	return n;
}

static size_t
group_02(const struct sim *m, uint8_t *p)
{
	for (int i = 0; i < 96; i++)
		put(p + 2, (size_t)(2 * i), cell_mv(m, i), 2);
	put(p + 2, 192, (uint32_t)lround(m->s.voltage_v * 100), 2);
	put(p + 2, 194, (uint32_t)lround(m->s.voltage_v * 100), 2);
	return 198;
}

/* Four thermistors around the pack temperature (AZE0 has three: sensor 3
 * absent), raw = 710 - degC / 0.102 as OVMS reads it back. */
static size_t
group_04(const struct sim *m, uint8_t *p)
{
	static const double off[4] = {-0.6, 0.2, 0.9, -0.3};
	size_t n = m->gen == GEN_ZE1 ? 31 : 16;

	memset(p + 2, 0xFF, n - 2);
	for (int i = 0; i < 4; i++) {
		long c = lround(m->s.temp_c + off[i]);
		if (m->gen == GEN_AZE0 && i == 2)
			continue;
		put(p + 2, (size_t)(3 * i), (uint32_t)lround(710 - c / 0.102), 2);
		p[2 + 3 * i + 2] = (uint8_t)(int8_t)c;
	}
	p[2 + 12] = (uint8_t)(int8_t)lround(m->s.temp_c);
	if (m->gen != GEN_ZE1)
		p[2 + 13] = 0;
	return n;
}

/* No shunt balancing: nibbles 0x0F (inverted) before ZE1, bytes 0 on ZE1. */
static size_t
group_06(const struct sim *m, uint8_t *p)
{
	memset(p + 2, m->gen == GEN_ZE1 ? 0x00 : 0x0F, 24);
	if (m->gen == GEN_ZE1)
		memset(p + 2 + 12, 0xFF, 12);
	return 26;
}

size_t
sim_lbc_group(const struct sim *m, uint8_t gg, uint8_t *p, size_t cap)
{
	if (cap < 198)
		return 0;
	p[0] = 0x61;
	p[1] = gg;
	switch (gg) {
	case 0x01:
		return group_01(m, p);
	case 0x02:
		return group_02(m, p);
	case 0x04:
		return group_04(m, p);
	case 0x06:
		return group_06(m, p);
	default:
		return 0;
	}
}

static struct can_rec *
enqueue(struct sim_lbc *l, int bus, int64_t t)
{
	struct can_rec *f;

	if (l->qhead == l->nq)
		l->qhead = l->nq = 0;
	if (l->nq >= SIM_LBC_QMAX)
		return NULL;
	f = &l->q[l->nq++];
	memset(f, 0, sizeof(*f));
	f->t_ns = t;
	f->id = 0x7BB;
	f->len = 8;
	f->bus = (uint8_t)bus;
	memset(f->data, 0xFF, 8); /* padding, as the LBC pads */
	return f;
}

static void
single(struct sim *m, const uint8_t *msg, size_t n, int64_t t)
{
	struct can_rec *f = enqueue(&m->lbc, m->bus, t);

	if (f == NULL)
		return;
	f->data[0] = (uint8_t)n;
	memcpy(f->data + 1, msg, n);
}

static void
request(struct sim *m, uint8_t gg, int64_t t)
{
	struct sim_lbc *l = &m->lbc;
	static const uint8_t nrc[3] = {0x7F, 0x21, 0x12};
	struct can_rec *f;

	l->requests++;
	l->nq = l->qhead = 0; /* a new request drops what was in progress */
	l->wait_fc = false;
	if (l->mode == SIM_LBC_SILENT)
		return;
	l->len = l->mode == SIM_LBC_ANSWER ? sim_lbc_group(m, gg, l->msg, sizeof(l->msg)) : 0;
	if (l->len == 0) {
		l->nrcs++;
		single(m, nrc, sizeof(nrc), t + ANSWER_NS);
		return;
	}
	l->replies++;
	if (l->len <= 7) {
		single(m, l->msg, l->len, t + ANSWER_NS);
		return;
	}
	if ((f = enqueue(l, m->bus, t + ANSWER_NS)) == NULL)
		return;
	f->data[0] = (uint8_t)(0x10 | (l->len >> 8));
	f->data[1] = (uint8_t)(l->len & 0xFF);
	memcpy(f->data + 2, l->msg, 6);
	l->sent = 6;
	l->sn = 1;
	l->wait_fc = true;
}

/* STmin as ISO 15765-2 codes it: 0..127 ms, F1..F9 100..900 us. */
static int64_t
st_min_ns(uint8_t st)
{
	if (st <= 0x7F)
		return st * MS;
	if (st >= 0xF1 && st <= 0xF9)
		return (st - 0xF0) * 100 * 1000LL;
	return 127 * MS;
}

static void
flow_control(struct sim *m, const uint8_t *d, int64_t t)
{
	struct sim_lbc *l = &m->lbc;
	int64_t gap = st_min_ns(d[2]), base = t;
	unsigned bs = d[1], k = 0;

	if (!l->wait_fc || (d[0] & 0x0F) != 0) /* only "continue to send" */
		return;
	l->flow_controls++;
	l->wait_fc = false;
	if (gap < MS / 2)
		gap = MS / 2; /* the LBC's own pace at STmin 0 */
	if (l->nq > l->qhead && l->q[l->nq - 1].t_ns > base)
		base = l->q[l->nq - 1].t_ns; /* after what is still queued: in time order */
	while (l->sent < l->len && (bs == 0 || k < bs)) {
		struct can_rec *f = enqueue(l, m->bus, base + (int64_t)(k + 1) * gap);
		size_t n = l->len - l->sent < 7 ? l->len - l->sent : 7;
		if (f == NULL)
			return;
		f->data[0] = (uint8_t)(0x20 | l->sn);
		memcpy(f->data + 1, l->msg + l->sent, n);
		l->sent += n;
		l->sn = (l->sn + 1) & 0x0F;
		k++;
	}
	l->wait_fc = l->sent < l->len; /* a block ends: the next flow control */
}

void
sim_lbc_rx(struct sim *m, const struct can_rec *f, int64_t t)
{
	const uint8_t *d = f->data;

	if (!m->s.c.awake || f->id != 0x79B || f->len < 3 || (f->flags & CANF_EXT))
		return; /* a sleeping LBC hears nothing */
	if ((d[0] >> 4) == 0 && (d[0] & 0x0F) >= 2 && d[1] == 0x21)
		request(m, d[2], t);
	else if ((d[0] >> 4) == 3)
		flow_control(m, d, t);
}

int
sim_lbc_next(struct sim *m, int64_t until_ns, struct can_rec *out)
{
	struct sim_lbc *l = &m->lbc;

	if (l->qhead >= l->nq)
		return 0;
	if (!m->s.c.awake) { /* the bus fell asleep: the answer is gone */
		l->nq = l->qhead = 0;
		l->wait_fc = false;
		return 0;
	}
	if (l->q[l->qhead].t_ns >= until_ns)
		return 0;
	*out = l->q[l->qhead++];
	return 1;
}
