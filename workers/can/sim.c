/*
 * The simulator's model (see sim.h): the scenario's speed drives a simple
 * longitudinal model (mass, rolling resistance, drag, 90 % drive and 70 %
 * regen efficiency), chargers feed the HV bus (the OBC at 92 %), the 12 V
 * and the climate draw from it, and the pack is an open-circuit voltage
 * line plus an internal resistance; its SOC follows the energy at its
 * terminals, so a correct measurement of kWh per % of SOC finds the
 * capacity. The frames are built in sim_frames.c.
 */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

#define MASS_KG 1600.0
#define WHEEL_R_M 0.318
#define GEAR_RATIO 8.19
#define AUX_READY_KW 0.4  /* DC/DC and controllers, car on */
#define AUX_AWAKE_KW 0.25 /* the same with the car off (charging, waking) */
#define SLEEP_KW 0.02	  /* standing drain while the bus sleeps */
#define CLIMATE_KW 1.5
#define OBC_EFF 0.92
#define PACK_R_OHM 0.08

/* The cycle: target speed (km/h, negative = reverse) at second s. */
static double
profile_speed(double s, int *gear, bool *charging)
{
	*charging = false;
	*gear = SIM_P;
	if (s < 20)
		return 0;
	*gear = SIM_D;
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
		*gear = SIM_R;
		double c = s - 160;
		return c < 5 ? -c * 1.6 : c < 10 ? -8 : -8 + (c - 10) * 1.6;
	}
	*gear = SIM_P;
	if (s >= 200 && s < 380)
		*charging = true;
	return 0;
}

/* The cycle's driver: always awake and ready, an AC charge in P. */
static void
cycle_ctl(const struct sim *m, struct sim_ctl *c)
{
	double cyc = fmod((double)m->tick * SIM_TICK_NS / 1e9, SIM_CYCLE_S);
	bool chg;

	memset(c, 0, sizeof(*c));
	c->speed_kmh = profile_speed(cyc, &c->gear, &chg);
	c->awake = c->ready = true;
	c->climate = cyc >= 380;
	c->charge = chg ? SIM_CHG_AC : SIM_CHG_NONE;
	c->plugged = chg;
	c->charge_kw = chg ? (m->gen == GEN_ZE0 ? 3.3 : 6.6) : 0;
}

/* Wheel power (kW) and the motor's rpm and torque for speed v1 (m/s). */
static double
drive(struct sim *m, double v0, double v1, double dt)
{
	struct sim_state *s = &m->s;
	double a = (v1 - v0) / dt, f, pw, w;

	f = MASS_KG * a + (v1 != 0 ? (v1 > 0 ? 1 : -1) * MASS_KG * 9.81 * 0.012 : 0) +
	    0.5 * 1.2 * 0.7 * v1 * fabs(v1);
	pw = f * v1 / 1000.0;
	s->rpm = round(v1 / WHEEL_R_M * 60 / (2 * M_PI) * GEAR_RATIO);
	w = fabs(s->rpm) * 2 * M_PI / 60;
	s->torque_nm = w > 5 ? pw * 1000 / w * (s->rpm < 0 ? -1 : 1) : f * WHEEL_R_M / GEAR_RATIO;
	s->torque_nm = round(s->torque_nm * 2) / 2;
	return pw > 0 ? pw / 0.9 : pw * 0.7;
}

/* What the chargers put on the HV bus (kW), and their outputs. */
static double
chargers(struct sim *m)
{
	struct sim_state *s = &m->s;

	s->obc_kw = s->c.charge == SIM_CHG_AC ? s->c.charge_kw * OBC_EFF : 0;
	s->qc_v = s->c.chademo ? s->voltage_v : 0;
	s->qc_a = s->c.charge == SIM_CHG_QC ? s->c.charge_kw * 1000 / s->voltage_v : 0;
	return s->obc_kw + (s->c.charge == SIM_CHG_QC ? s->c.charge_kw : 0);
}

static double
aux_kw(const struct sim_state *s)
{
	if (!s->c.awake)
		return SLEEP_KW;
	return (s->c.ready ? AUX_READY_KW : AUX_AWAKE_KW) + (s->c.climate ? CLIMATE_KW : 0);
}

/* The 12 V battery: charged by the DC/DC while the car is on or charging,
 * resting when it is off, sagging slowly while the bus sleeps. */
static void
aux_battery(struct sim_state *s, double dt)
{
	double want = s->c.ready || s->c.charge != SIM_CHG_NONE ? 14.1 : 12.6;

	if (!s->c.awake)
		s->aux_v -= 0.02 / 3600 * dt;
	else
		s->aux_v += (want - s->aux_v) * fmin(1, dt / 5);
}

static void
physics(struct sim *m, double dt, int64_t t)
{
	struct sim_state *s = &m->s;
	double v0 = s->speed_kmh / 3.6, v1 = s->c.speed_kmh / 3.6, pb, ocv, pk;

	s->speed_kmh = s->c.speed_kmh;
	s->gear = s->c.gear;
	s->climate_on = s->c.climate;
	s->charging = s->c.charge != SIM_CHG_NONE;
	pb = drive(m, v0, v1, dt) + aux_kw(s) - chargers(m);
	ocv = 300 + 100 * s->soc;
	/* the current at which the terminals give pb: V I = pb, V = ocv - R I */
	s->current_a = s->c.awake
			   ? (ocv - sqrt(ocv * ocv - 4 * PACK_R_OHM * pb * 1000)) / (2 * PACK_R_OHM)
			   : 0;
	/* the ripple of the inverter, the DC/DC and the chargers (0.5 A): it
	 * also makes the 0.5 A steps of 0x1DB average out, as on a car */
	if (s->c.awake)
		s->current_a += 0.5 * sin((double)m->tick * 2 * M_PI * 0.1234567);
	s->voltage_v = ocv - PACK_R_OHM * s->current_a;
	/* the terminal power, or the drain of a sleeping car */
	pk = s->c.awake ? s->voltage_v * s->current_a / 1000 : SLEEP_KW;
	s->soc -= pk * dt / 3600 / m->capacity_kwh;
	if (m->scenario == SIM_CYCLE) /* the loop never ends: neither may the pack */
		s->soc = s->soc < 0.05 ? 0.95 : s->soc > 0.97 ? 0.97 : s->soc;
	s->temp_c +=
	    (s->current_a * s->current_a * 0.0000004 - (s->temp_c - s->ambient_c) * 0.0005) * dt;
	s->odo_km += fabs(v1) * dt / 1000;
	aux_battery(s, dt);
	if (m->day != NULL)
		sim_day_truth_tick(m, t, dt, s->c.awake ? pk : 0);
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
	m->s.aux_v = 12.6;
}

int
sim_set_scenario(struct sim *m, int scenario)
{
	m->scenario = scenario;
	if (scenario != SIM_DAY)
		return 0;
	if ((m->day = sim_day_new()) == NULL)
		return -1;
	m->s.soc = 0.90;
	m->s.temp_c = 12;
	m->s.ambient_c = 8;
	return 0;
}

void
sim_free(struct sim *m)
{
	free(m->day);
	m->day = NULL;
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

size_t
sim_run(struct sim *m, int64_t until_ns, struct can_rec *out, size_t cap)
{
	size_t n = 0;

	while (!m->ended && sim_next_ns(m) < until_ns && cap - n >= SIM_MAX_PER_TICK) {
		int64_t t = sim_next_ns(m);
		if (sim_lbc_next(m, t, &out[n])) { /* the LBC's answers, in time order */
			n++;
			continue;
		}
		if (m->scenario == SIM_DAY)
			m->ended = !sim_day_ctl(m, t, &m->s.c);
		else
			cycle_ctl(m, &m->s.c);
		if (m->ended)
			break;
		physics(m, SIM_TICK_NS / 1e9, t);
		if (m->s.c.awake)
			sim_tick_frames(m, out, &n, cap, t);
		m->tick++;
	}
	while (n < cap && sim_lbc_next(m, until_ns, &out[n]))
		n++;
	return n;
}
