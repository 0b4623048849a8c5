/*
 * The simulator (see sim.h): a speed profile drives a simple longitudinal
 * model (mass, rolling resistance, drag, 90 % drive and 70 % regen
 * efficiency), the pack is an open-circuit voltage line plus internal
 * resistance, and each frame is built with the same layouts the decoder
 * reads (LEAF-CAN.md), its counters advanced and its CRC or nibble sum set.
 */
#include "sim.h"

#include <math.h>
#include <string.h>

#include "decode.h"

#define MASS_KG 1600.0
#define WHEEL_R_M 0.318
#define GEAR_RATIO 8.19
#define AUX_KW 0.4
#define PACK_R_OHM 0.08

enum { C_1DB, C_1DC, C_1DA, C_1D4, C_11A, C_1F2, C_55B, C_390, C_393, C_380, C_5BF, C_1ED };

/* The cycle: target speed (km/h, negative = reverse) at second s. */
static double
profile_speed(double s, int *gear, bool *charging)
{
	*charging = false;
	*gear = 0; /* P */
	if (s < 20)
		return 0;
	*gear = 3; /* D */
	if (s < 30)
		return (s - 20) * 10; /* 0-100 in 10 s */
	if (s < 90)
		return 100;
	if (s < 100)
		return 100 - (s - 90) * 10; /* regen to a stop */
	if (s < 160) {
		double c = fmod(s - 100, 15);
		return c < 5 ? c * 10 : c < 10 ? 50 : 50 - (c - 10) * 10;
	}
	if (s < 175) {
		*gear = 1; /* R */
		double c = s - 160;
		return c < 5 ? -c * 1.6 : c < 10 ? -8 : -8 + (c - 10) * 1.6;
	}
	*gear = 0;
	if (s >= 200 && s < 380)
		*charging = true;
	return 0;
}

static void
physics(struct sim *m, double dt)
{
	struct sim_state *s = &m->s;
	double cyc = fmod((double)m->tick * SIM_TICK_NS / 1e9, SIM_CYCLE_S);
	double v0 = s->speed_kmh / 3.6, v1, a, f, pw, pb, w;
	int gear;
	bool chg;

	v1 = profile_speed(cyc, &gear, &chg) / 3.6;
	a = (v1 - v0) / dt;
	s->speed_kmh = v1 * 3.6;
	s->gear = gear;
	s->charging = chg;
	s->climate_on = cyc >= 380;
	f = MASS_KG * a + (v1 != 0 ? (v1 > 0 ? 1 : -1) * MASS_KG * 9.81 * 0.012 : 0) +
	    0.5 * 1.2 * 0.7 * v1 * fabs(v1);
	pw = f * v1 / 1000.0; /* kW at the wheels */
	pb = (pw > 0 ? pw / 0.9 : pw * 0.7) + AUX_KW + (s->climate_on ? 1.5 : 0);
	s->charge_kw = chg ? (m->gen == GEN_ZE0 ? 3.3 : 6.6) : 0;
	if (chg)
		pb = -s->charge_kw * 0.92 + AUX_KW;
	s->rpm = round(v1 / WHEEL_R_M * 60 / (2 * M_PI) * GEAR_RATIO);
	w = fabs(s->rpm) * 2 * M_PI / 60;
	s->torque_nm = w > 5 ? pw * 1000 / w * (s->rpm < 0 ? -1 : 1)
			     : f * WHEEL_R_M / GEAR_RATIO;
	s->torque_nm = round(s->torque_nm * 2) / 2;
	{
		double ocv = 300 + 100 * s->soc;
		s->current_a = pb * 1000 / ocv;
		s->voltage_v = ocv - PACK_R_OHM * s->current_a;
	}
	s->soc -= pb * dt / 3600 / m->capacity_kwh;
	s->soc = s->soc < 0.05 ? 0.95 : s->soc > 0.97 ? 0.97 : s->soc;
	s->temp_c += (fabs(s->current_a) * fabs(s->current_a) * 0.0000004 -
		      (s->temp_c - s->ambient_c) * 0.0005) * dt;
	s->odo_km += fabs(v1) * dt / 1000;
}

void
sim_init(struct sim *m, int gen, int bus, int64_t t0_ns)
{
	static const double cap[3] = {21.0, 28.0, 56.0};
	static const unsigned gf[3] = {281, 375, 750};

	memset(m, 0, sizeof(*m));
	m->gen = gen >= GEN_ZE0 && gen <= GEN_ZE1 ? gen : GEN_AZE0;
	m->bus = bus;
	m->t0 = t0_ns;
	m->capacity_kwh = cap[m->gen];
	m->gids_full = gf[m->gen];
	m->s.soc = 0.80;
	m->s.temp_c = 18;
	m->s.ambient_c = 15;
	m->s.odo_km = 12345;
	m->s.voltage_v = 380;
}

unsigned
sim_gids(const struct sim *m)
{
	return (unsigned)lround(m->s.soc * m->gids_full);
}

int64_t
sim_next_ns(const struct sim *m)
{
	return m->t0 + (int64_t)m->tick * SIM_TICK_NS;
}

/* ---- frame builders ---- */

struct fb {
	struct can_rec *out;
	size_t n, cap;
	int64_t t;
	int bus;
};

static struct can_rec *
frame(struct fb *b, uint32_t id, int len)
{
	static struct can_rec dummy;
	struct can_rec *f;

	if (b->n >= b->cap)
		return &dummy;
	f = &b->out[b->n++];
	memset(f, 0, sizeof(*f));
	f->t_ns = b->t;
	f->id = id;
	f->len = (uint8_t)len;
	f->bus = (uint8_t)b->bus;
	return f;
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
	f->data[1] = 0x40; /* on */
	f->data[3] = (m->tick & 1) ? 0xAA : 0x55;
	f->data[6] = next(m, C_11A);
	crc(f);
}

static void
f_1f2(struct sim *m, struct fb *b)
{
	struct can_rec *f = frame(b, 0x1F2, 8);

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

static void
f_charger(struct sim *m, struct fb *b)
{
	struct can_rec *f;

	if (m->gen == GEN_ZE0) {
		unsigned ac = m->s.charging ? 320 : 0; /* 230 V */
		f = frame(b, 0x380, 8);
		f->data[4] = m->s.charging ? 0x40 : 0;
		f->data[5] = (uint8_t)(ac >> 6);
		f->data[6] = (uint8_t)((ac & 0x3F) << 2);
		nibble(f, -5, next(m, C_380));
		f = frame(b, 0x5BF, 8);
		f->data[4] = m->s.charging ? 0x60 : 0x28;
		nibble(f, -1, next(m, C_5BF));
		return;
	}
	unsigned pw = (unsigned)lround(m->s.charge_kw * 0.92 * 10);
	f = frame(b, 0x390, 8);
	f->data[0] = (uint8_t)(pw >> 8);
	f->data[1] = (uint8_t)(pw & 0xFF);
	f->data[3] = m->s.charging ? (2 << 3) | 0x20 : 0;
	f->data[5] = (uint8_t)((m->s.charging ? 4 : 8) << 1);
	f->data[6] = 66;
	nibble(f, -4, next(m, C_390));
	f = frame(b, 0x393, 8);
	nibble(f, -1, next(m, C_393));
}

static void
f_body(struct sim *m, struct fb *b)
{
	struct can_rec *f;
	unsigned odo = (unsigned)m->s.odo_km;
	unsigned sp = (unsigned)lround(fabs(m->s.speed_kmh) * 1.024 * 100);

	f = frame(b, 0x54C, 8);
	f->data[6] = (uint8_t)lround((m->s.ambient_c + 40) * 2);
	f = frame(b, 0x54B, 8);
	f->data[0] = m->s.climate_on ? 0x11 : 0x10;
	f->data[4] = m->s.climate_on ? (3 << 3) : 0;
	f = frame(b, 0x5A9, 8);
	{
		unsigned r = (unsigned)lround(m->s.soc * m->capacity_kwh * 6.5 / 0.2);
		f->data[1] = (uint8_t)(r >> 4);
		f->data[2] = (uint8_t)((r & 15) << 4);
	}
	f = frame(b, 0x355, 8);
	f->data[0] = (uint8_t)(sp >> 8);
	f->data[1] = (uint8_t)(sp & 0xFF);
	f->data[6] = 0x40; /* odometer in km */
	f = frame(b, 0x5C5, 8);
	f->data[0] = m->s.gear == 0 ? 0x04 : 0;
	f->data[1] = (uint8_t)(odo >> 16);
	f->data[2] = (uint8_t)(odo >> 8);
	f->data[3] = (uint8_t)odo;
}

static void
tick_frames(struct sim *m, struct fb *b)
{
	uint64_t k = m->tick;

	f_1db(m, b);
	f_1dc(m, b);
	f_1da(m, b);
	f_1d4(m, b);
	f_11a(m, b);
	f_1f2(m, b);
	if (m->gen == GEN_ZE1) {
		f_1ed(m, b);
		f_1c2(m, b);
	}
	if (k % 2 == 0)
		f_284(m, b);
	if (k % 10 == 0) {
		f_55b(m, b);
		f_charger(m, b);
		f_body(m, b);
		if (m->gen != GEN_ZE0)
			f_5bc(m, b, (k / 10) % 2 == 1);
	}
	if (k % 50 == 0) {
		if (m->gen == GEN_ZE0)
			f_5bc(m, b, false);
		if (m->gen != GEN_ZE1)
			f_5c0(m, b);
		if (m->gen != GEN_ZE0)
			f_59e(m, b);
	}
}

#define SIM_MAX_PER_TICK 24

size_t
sim_run(struct sim *m, int64_t until_ns, struct can_rec *out, size_t cap)
{
	struct fb b = {out, 0, cap, 0, m->bus};

	while (sim_next_ns(m) < until_ns && cap - b.n >= SIM_MAX_PER_TICK) {
		b.t = sim_next_ns(m);
		physics(m, SIM_TICK_NS / 1e9);
		tick_frames(m, &b);
		m->tick++;
	}
	return b.n;
}
