/*
 * The simulator's frames: each one built with the layout the decoder reads
 * (LEAF-CAN.md), its rolling counter advanced and its CRC-8 or nibble sum
 * set. EV-CAN on the simulator's bus, Car-CAN (0x292, 0x355, 0x421, 0x5A9,
 * 0x5C5, 0x60D) on BUS_CAR, CHAdeMO 0x109 on BUS_QC (the ZE1 mirror 0x3C9
 * on EV-CAN). With the car off the inverter and the ABS are silent.
 */
#include <math.h>
#include <string.h>

#include "decode.h"
#include "sim.h"

enum { C_1DB, C_1DC, C_1DA, C_1D4, C_11A, C_1F2, C_55B, C_390, C_393, C_380, C_5BF, C_1ED };

struct fb {
	struct can_rec *out;
	size_t *n, cap;
	int64_t t;
	int bus;
};

static struct can_rec *
frame_on(struct fb *b, int bus, uint32_t id, int len)
{
	static struct can_rec dummy;
	struct can_rec *f;

	if (*b->n >= b->cap)
		return &dummy;
	f = &b->out[(*b->n)++];
	memset(f, 0, sizeof(*f));
	f->t_ns = b->t;
	f->id = id;
	f->len = (uint8_t)len;
	f->bus = (uint8_t)bus;
	return f;
}

static struct can_rec *
frame(struct fb *b, uint32_t id, int len)
{
	return frame_on(b, b->bus, id, len);
}

static void
crc(struct can_rec *f)
{
	f->data[f->len - 1] = leaf_crc8(f->data, f->len - 1u);
}

static void
nibble(struct can_rec *f, int k, uint8_t ctr)
{
	f->data[7] = (uint8_t)((ctr & 3) << 4);
	f->data[7] |= leaf_nibble_sum(f->data, k);
}

static uint8_t
next(struct sim *m, int c)
{
	return m->ctr[c]++ & 3;
}

static void
f_1db(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1DB, 8);
	long i = lround(-m->s.current_a * 2) & 0x7FF, v = lround(m->s.voltage_v * 2);

	f->data[0] = (uint8_t)(i >> 3);
	f->data[1] = (uint8_t)((i & 7) << 5);
	f->data[2] = (uint8_t)(v >> 2);
	f->data[3] = (uint8_t)(((v & 3) << 6) | 0x20 | 0x08); /* relays on, interlock */
	f->data[4] = m->gen == GEN_AZE0 ? (uint8_t)lround(m->s.soc * 100) : 0;
	f->data[6] = next(m, C_1DB);
	crc(f);
}

static void
f_1dc(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1DC, 8);
	unsigned dis = m->gen == GEN_ZE1 ? 720 : 440, chg = 200, bpc = 1023;

	f->data[0] = (uint8_t)(dis >> 2);
	f->data[1] = (uint8_t)(((dis & 3) << 6) | (chg >> 4));
	f->data[2] = (uint8_t)(((chg & 15) << 4) | (bpc >> 6));
	f->data[3] = (uint8_t)((bpc & 0x3F) << 2);
	f->data[6] = next(m, C_1DC);
	crc(f);
}

static void
f_1da(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1DA, 8);
	unsigned q = (unsigned)lround(m->s.torque_nm * 2) & 0x7FF;
	unsigned r = ((unsigned)lround(m->s.rpm) & 0x7FFF) << 1;

	f->data[0] = (uint8_t)lround(m->s.voltage_v / 2);
	f->data[2] = (uint8_t)(q >> 8);
	f->data[3] = (uint8_t)(q & 0xFF);
	f->data[4] = (uint8_t)(r >> 8);
	f->data[5] = (uint8_t)(r & 0xFF);
	f->data[6] = next(m, C_1DA);
	crc(f);
}

static void
f_1d4(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1D4, 8);
	unsigned q = (unsigned)lround(m->s.torque_nm * 4) & 0xFFF;

	f->data[0] = 0x6E;
	f->data[1] = 0x6E;
	f->data[2] = (uint8_t)(q >> 4);
	f->data[3] = (uint8_t)((q & 15) << 4);
	f->data[4] = (uint8_t)((next(m, C_1D4) << 6) | 0x04);
	f->data[6] = m->s.charging ? 0xE0 : 0x00;
	crc(f);
}

static void
f_11a(struct sim *m, struct fb *b)
{
	static const uint8_t code[5] = {0, 2, 3, 4, 4};
	struct can_rec *f = frame(b, 0x11A, 8);

	f->data[0] = (uint8_t)(code[m->s.gear] << 4);
	f->data[1] = m->s.c.ready ? 0x40 : 0x80; /* on, or powering down */
	f->data[3] = (m->tick & 1) ? 0xAA : 0x55;
	f->data[6] = next(m, C_11A);
	crc(f);
}

static void
f_1f2(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1F2, 8);

	f->data[0] = m->s.c.target80 ? 0x80 : 0;
	f->data[1] = 0x64;
	f->data[6] = next(m, C_1F2);
	f->data[7] = leaf_nibble_sum(f->data, 2);
}

static void
f_1ed(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1ED, 3);
	unsigned raw = 1023; /* 92.3 kW, as 0x1DC */

	f->data[0] = (uint8_t)(raw >> 3);
	f->data[1] = (uint8_t)(((raw & 7) << 5) | next(m, C_1ED));
	crc(f);
}

static void
f_1c2(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1C2, 1);

	f->data[0] = (uint8_t)(m->tick & 0x0F);
}

static void
f_284(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x284, 8);
	unsigned w = (unsigned)lround(fabs(m->s.speed_kmh) / 0.005);
	unsigned v = (unsigned)lround(fabs(m->s.speed_kmh) * 0.97 / 0.01);

	f->data[0] = f->data[2] = (uint8_t)(w >> 8);
	f->data[1] = f->data[3] = (uint8_t)(w & 0xFF);
	f->data[4] = (uint8_t)(v >> 8);
	f->data[5] = (uint8_t)(v & 0xFF);
}

static void
f_55b(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x55B, 8);
	unsigned soc = (unsigned)lround(m->s.soc * 1000);

	f->data[0] = (uint8_t)(soc >> 2);
	f->data[1] = (uint8_t)((soc & 3) << 6);
	f->data[2] = 0xAA;
	f->data[6] = next(m, C_55B);
	crc(f);
}

static void
f_5bc(struct sim *m, struct fb *b, bool full)
{
	struct can_rec *f = frame(b, 0x5BC, 8);
	unsigned g = full ? m->gids_full : sim_gids(m);
	bool cap = (m->tick / 10) % 4 >= 2; /* alternate charge / capacity bars */
	unsigned bars;

	f->data[0] = (uint8_t)(g >> 2);
	f->data[1] = (uint8_t)((g & 3) << 6);
	if (m->gen == GEN_ZE0)
		bars = cap ? 12 : (unsigned)lround(m->s.soc * 12);
	else
		bars = cap ? 240 : (unsigned)lround(m->s.soc * 240);
	f->data[2] = (uint8_t)bars;
	f->data[3] = m->gen == GEN_ZE0 ? (uint8_t)lround(m->s.temp_c + 40) : 0x64;
	f->data[4] = (uint8_t)((100 << 1) | cap);
	f->data[5] = full ? 0x10 : 0;
	f->data[6] = 0xFF; /* charge time: unavailable */
	f->data[7] = 0xFF;
}

static void
f_5c0(struct sim *m, struct fb *b)
{
	static const double off[4] = {0, 1, 0, -1};
	unsigned mux = (unsigned)((m->tick / 50) % 3) + 1;
	struct can_rec *f = frame(b, 0x5C0, 8);

	f->data[0] = (uint8_t)(mux << 6);
	f->data[2] = (uint8_t)(lround(m->s.temp_c + off[mux] + 40) << 1);
}

static void
f_59e(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x59E, 8);
	unsigned full = (unsigned)lround(m->capacity_kwh * 10);
	unsigned rem = (unsigned)lround(m->capacity_kwh * m->s.soc * 10);

	f->data[2] = (uint8_t)(full >> 4);
	f->data[3] = (uint8_t)(((full & 15) << 4) | (rem >> 5));
	f->data[4] = (uint8_t)((rem & 0x1F) << 3);
	f->data[7] = m->gen == GEN_ZE1 ? (uint8_t)lround(m->s.soc * 200) : 0;
}

/* ZE0: 0x380 (AC voltage) and 0x5BF (charger state). */
static void
f_charger_ze0(struct sim *m, struct fb *b)
{
	const struct sim_ctl *c = &m->s.c;
	unsigned ac = c->charge == SIM_CHG_AC ? 320 : 0; /* 230 V */
	struct can_rec *f = frame(b, 0x380, 8);

	f->data[4] = c->charge == SIM_CHG_AC ? 0x40 : 0;
	f->data[5] = (uint8_t)(ac >> 6);
	f->data[6] = (uint8_t)((ac & 0x3F) << 2);
	nibble(f, -5, next(m, C_380));
	f = frame(b, 0x5BF, 8);
	f->data[4] = c->charge == SIM_CHG_QC   ? 0xB0
		     : c->charge == SIM_CHG_AC ? 0x60
		     : c->finished	       ? 0x40
		     : c->plugged	       ? 0x18
					       : 0x28;
	nibble(f, -1, next(m, C_5BF));
}

/* AZE0/ZE1: 0x390 (OBC power, AC class, QC relay, state) and 0x393. */
static void
f_charger(struct sim *m, struct fb *b)
{
	const struct sim_ctl *c = &m->s.c;
	unsigned pw = (unsigned)lround(m->s.obc_kw * 10);
	struct can_rec *f;

	if (m->gen == GEN_ZE0) {
		f_charger_ze0(m, b);
		return;
	}
	f = frame(b, 0x390, 8);
	f->data[0] = (uint8_t)(pw >> 8);
	f->data[1] = (uint8_t)(pw & 0xFF);
	f->data[3] = c->charge == SIM_CHG_AC ? (2 << 3) | 0x20 : 0;
	f->data[4] = c->charge == SIM_CHG_QC ? 0x40 : 0;
	f->data[5] = (uint8_t)((c->charge == SIM_CHG_AC ? 4 : c->finished ? 2 : 8) << 1);
	f->data[6] = 66;
	nibble(f, -4, next(m, C_390));
	f = frame(b, 0x393, 8);
	nibble(f, -1, next(m, C_393));
}

/* CHAdeMO: 0x109 on QC-CAN, its mirror 0x3C9 on ZE1 EV-CAN (LE volts, amps). */
static void
f_qc(struct sim *m, struct fb *b)
{
	struct can_rec *f = m->gen == GEN_ZE1 ? frame(b, 0x3C9, 8) : frame_on(b, BUS_QC, 0x109, 8);
	unsigned v = (unsigned)lround(m->s.qc_v), a = (unsigned)lround(m->s.qc_a);

	f->data[1] = (uint8_t)(v & 0xFF);
	f->data[2] = (uint8_t)(v >> 8);
	f->data[3] = (uint8_t)(a > 255 ? 255 : a);
}

static void
f_ev_body(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x54C, 8);

	f->data[6] = (uint8_t)lround((m->s.ambient_c + 40) * 2);
	f = frame(b, 0x54B, 8);
	f->data[0] = m->s.climate_on ? 0x11 : 0x10;
	f->data[4] = m->s.climate_on ? (3 << 3) : 0;
}

/* Car-CAN, every 100 ms: range, cluster speed, odometer, BCM. */
static void
f_car_body(struct sim *m, struct fb *b)
{
	unsigned odo = (unsigned)m->s.odo_km;
	unsigned sp = (unsigned)lround(fabs(m->s.speed_kmh) * 1.024 * 100);
	unsigned r = (unsigned)lround(m->s.soc * m->capacity_kwh * 6.5 / 0.2);
	struct can_rec *f = frame_on(b, BUS_CAR, 0x5A9, 8);

	f->data[1] = (uint8_t)(r >> 4);
	f->data[2] = (uint8_t)((r & 15) << 4);
	f = frame_on(b, BUS_CAR, 0x355, 8);
	f->data[0] = (uint8_t)(sp >> 8);
	f->data[1] = (uint8_t)(sp & 0xFF);
	f->data[6] = 0x40; /* odometer in km */
	f = frame_on(b, BUS_CAR, 0x5C5, 8);
	f->data[0] = m->s.gear == SIM_P ? 0x04 : 0; /* the parking brake in P */
	f->data[1] = (uint8_t)(odo >> 16);
	f->data[2] = (uint8_t)(odo >> 8);
	f->data[3] = (uint8_t)odo;
	f = frame_on(b, BUS_CAR, 0x60D, 8);
	f->data[0] = (uint8_t)((m->s.c.doors & 0x1F) << 3);
	f->data[1] = (uint8_t)((m->s.c.ready ? 3 : 0) << 1); /* start state: ready / off */
}

static void
f_292(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame_on(b, BUS_CAR, 0x292, 8);

	f->data[3] = (uint8_t)lround(m->s.aux_v * 10);
}

static void
f_421(struct sim *m, struct fb *b)
{
	static const uint8_t code[5] = {1, 2, 3, 4, 7}; /* B is 7, "D/B/ECO" */
	struct can_rec *f = frame_on(b, BUS_CAR, 0x421, 8);

	f->data[0] = (uint8_t)(code[m->s.gear] << 3);
}

void
sim_tick_frames(struct sim *m, struct can_rec *out, size_t *n, size_t cap, int64_t t)
{
	struct fb b = {out, n, cap, t, m->bus};
	uint64_t k = m->tick;
	bool on = m->s.c.ready;

	f_1db(m, &b);
	f_1dc(m, &b);
	if (on) {
		f_1da(m, &b);
		f_1d4(m, &b);
	}
	f_11a(m, &b);
	f_1f2(m, &b);
	if (m->gen == GEN_ZE1) {
		f_1ed(m, &b);
		f_1c2(m, &b);
	}
	if (k % 2 == 0 && on) {
		f_284(m, &b);
		f_292(m, &b);
	}
	if (k % 6 == 0)
		f_421(m, &b);
	if (k % 10 == 0) {
		f_55b(m, &b);
		f_charger(m, &b);
		f_ev_body(m, &b);
		f_car_body(m, &b);
		if (!on)
			f_292(m, &b);
		if (m->s.c.chademo)
			f_qc(m, &b);
		if (m->gen != GEN_ZE0)
			f_5bc(m, &b, (k / 10) % 2 == 1);
	}
	if (k % 50 == 0) {
		if (m->gen == GEN_ZE0)
			f_5bc(m, &b, false);
		if (m->gen != GEN_ZE1)
			f_5c0(m, &b);
		if (m->gen != GEN_ZE0)
			f_59e(m, &b);
	}
}
