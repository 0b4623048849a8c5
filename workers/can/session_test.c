/*
 * The session module against hand-computed cases. A small "car" sends the
 * values the decoder would (every 10 ms unless a case says otherwise), the
 * energy counters integrated as the decoder does (the previous frame's
 * power over the step), and each case checks the figures it can work out
 * by hand: a trip with stops at lights, a trip that ends by sleep, an AC
 * charge interrupted and resumed, a quick charge, a charge and a trip
 * across a restart (checkpoint), the energy signs, a tariff window across
 * midnight on the night of a DST change, a parked period's drain, the
 * battery_daily record, a log that starts mid-drive.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"
#include "signals.h"
#include "t.h"

#define S(x) ((int64_t)((x)*1e9))
#define T0 1709884800000000000LL /* 2024-03-08 08:00:00 UTC, a Friday */

enum { P, R, N, D, B };

struct car {
	double speed, gear, ready, power, soc, gids, status, qc_v, qc_i, temp, amb, aux, odo;
	double remain, target, soh;
	double lat, lon; /* the GPS: NAN without one */
	double eo, ei, last_p;
	bool have_p;
	int64_t t;
	double dt; /* s between frames */
};

static struct sessions ss;
static struct tariff tar;
static struct sessions_cfg cfg;
/* the events seen, in order */
static struct session_event evs[2048];
static size_t nevs;

static void
setup(const char *tz)
{
	setenv("TZ", tz ? tz : "UTC0", 1);
	tzset();
	tariff_init(&tar);
	cfg = (struct sessions_cfg){S(300), S(30), 0.1, 0.88, &tar};
	sessions_init(&ss, &cfg);
	nevs = 0;
}

static void
car_init(struct car *c, int64_t t)
{
	*c = (struct car){0,  P,  1,	0.4,   80,   300, NAN, NAN, NAN,
			  20, 10, 12.6, 12345, 22.4, 100, 95,  NAN, NAN};
	c->t = t;
	c->dt = 0.01;
}

static void
drain(void)
{
	for (size_t i = 0; i < ss.nev && nevs < 2048; i++)
		evs[nevs++] = ss.ev[i];
	sessions_clear_events(&ss);
}

static void
put(struct sig_update *u, size_t *n, unsigned id, double v)
{
	if (!isnan(v)) {
		u[*n].id = (uint16_t)id;
		u[*n].value = v;
		(*n)++;
	}
}

/* One frame with every value of the car (NAN: not sent). */
static void
frame(struct car *c)
{
	struct sig_update u[32];
	size_t n = 0;

	if (c->have_p) { /* the decoder's left rectangle */
		double kwh = c->last_p * c->dt / 3600;
		if (kwh > 0)
			c->eo += kwh;
		else
			c->ei -= kwh;
		put(u, &n, SIG_battery_energy_out_kwh, c->eo);
		put(u, &n, SIG_battery_energy_in_kwh, c->ei);
	}
	c->last_p = c->power;
	c->have_p = !isnan(c->power);
	put(u, &n, SIG_battery_power_kw, c->power);
	put(u, &n, SIG_battery_current_a, isnan(c->power) ? NAN : c->power * 1000 / 360);
	put(u, &n, SIG_vehicle_speed_kmh, c->speed);
	put(u, &n, SIG_vehicle_gear, c->gear);
	put(u, &n, SIG_vehicle_ready, c->ready);
	put(u, &n, SIG_battery_soc_pct, c->soc);
	put(u, &n, SIG_battery_gids, c->gids);
	put(u, &n, SIG_charge_status, c->status);
	put(u, &n, SIG_charge_qc_voltage_v, c->qc_v);
	put(u, &n, SIG_charge_qc_current_a, c->qc_i);
	put(u, &n, SIG_battery_temp_avg_c, c->temp);
	put(u, &n, SIG_climate_ambient_c, c->amb);
	put(u, &n, SIG_vehicle_aux_battery_v, c->aux);
	put(u, &n, SIG_vehicle_odometer_km, c->odo);
	put(u, &n, SIG_battery_energy_remaining_kwh, c->remain);
	put(u, &n, SIG_charge_target_soc_pct, c->target);
	put(u, &n, SIG_battery_soh_pct, c->soh);
	put(u, &n, SIG_position_lat_deg, c->lat);
	put(u, &n, SIG_position_lon_deg, c->lon);
	sessions_frame(&ss, c->t, u, n);
	drain();
	c->t += (int64_t)(c->dt * 1e9 + 0.5);
}

/* Frames for `seconds` (the first at the current time). */
static void
run(struct car *c, double seconds)
{
	int64_t end = c->t + S(seconds);

	while (c->t < end)
		frame(c);
}

/* The bus is silent for `seconds` (no frames, no integration). */
static void
silence(struct car *c, double seconds)
{
	c->t += S(seconds);
	c->have_p = false;
}

static size_t
count(int kind, int phase)
{
	size_t k = 0;

	for (size_t i = 0; i < nevs; i++)
		k += evs[i].s.kind == kind && evs[i].phase == phase;
	return k;
}

/* The n-th (0-based) END event of a kind. */
static const struct session *
ended(int kind, int nth)
{
	for (size_t i = 0; i < nevs; i++)
		if (evs[i].s.kind == kind && evs[i].phase == SESS_END && nth-- == 0)
			return &evs[i].s;
	t_fail(__FILE__, __LINE__, "no end event #%d of %s", nth, session_kind_name(kind));
	return NULL;
}

/* A figure of a session's JSON (the contract), NAN when absent. */
static double
jnum(const struct session *x, const char *key)
{
	struct buf b;
	char pat[64];
	const char *p;
	double v = NAN;

	buf_init(&b);
	session_json(x, &cfg, &b);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(buf_str(&b), pat)) != NULL)
		v = strtod(p + strlen(pat), NULL);
	buf_free(&b);
	return v;
}

static bool
jhas(const struct session *x, const char *text)
{
	struct buf b;
	bool r;

	buf_init(&b);
	session_json(x, &cfg, &b);
	r = strstr(buf_str(&b), text) != NULL;
	buf_free(&b);
	return r;
}

static void
test_session_trip_with_stops_at_lights(void)
{
	struct car c;
	int64_t t_d, t_p;
	const struct session *x;

	setup(NULL);
	car_init(&c, T0);
	run(&c, 10); /* ready in P, 0.4 kW */
	t_d = c.t;
	c.gear = D;
	c.speed = 36, c.power = 10;
	run(&c, 60);
	c.speed = 0, c.power = 0.5; /* a red light */
	run(&c, 30);
	c.speed = 54, c.power = 15;
	run(&c, 60);
	c.speed = 0, c.power = 0.5; /* another */
	run(&c, 20);
	c.speed = 36, c.power = 10;
	run(&c, 30);
	c.power = -20; /* braking with regen (still 36 km/h) */
	run(&c, 10);
	t_p = c.t;
	c.speed = 0, c.gear = P, c.power = 0.4;
	run(&c, 299);
	CHECK_INT(count(SESS_TRIP, SESS_END), ==, 0); /* not yet: 300 s in P */
	run(&c, 101);
	CHECK_INT(count(SESS_TRIP, SESS_START), ==, 1);
	CHECK_INT(count(SESS_TRIP, SESS_END), ==, 1);
	x = ended(SESS_TRIP, 0);
	CHECK_INT(x->start_ns, ==, t_d);
	CHECK_INT(x->end_ns, ==, t_p);
	CHECK(!x->partial_start && !x->partial_end);
	/* 600 m + 900 m + 300 m + 100 m */
	CHECK_DBL(jnum(x, "distance_km"), 1.900, 0.0005);
	/* (10*60 + 0.5*30 + 15*60 + 0.5*20 + 10*30) / 3600 kWh out, 20*10/3600 in */
	CHECK_DBL(x->a.e_out, 1825.0 / 3600, 1e-9);
	CHECK_DBL(x->a.e_in, 200.0 / 3600, 1e-9);
	CHECK_DBL(jnum(x, "net_kwh"), 0.451, 0.0005);
	CHECK_DBL(jnum(x, "wh_per_km"), 1625.0 / 3600 * 1000 / 1.9, 0.05);
	CHECK_DBL(jnum(x, "regen_share"), 200.0 / 1825, 0.0005);
	CHECK_DBL(jnum(x, "driving_s"), 160, 0.05);
	CHECK_DBL(jnum(x, "duration_s"), 210, 0.05);
	CHECK_DBL(jnum(x, "speed_mean_kmh"), 1.9 / 160 * 3600, 0.01);
	CHECK_DBL(jnum(x, "speed_max_kmh"), 54, 1e-9);
	CHECK_DBL(jnum(x, "power_max_kw"), 15, 1e-9);
	CHECK_DBL(jnum(x, "odo_start_km"), 12345, 1e-9);
	CHECK_DBL(jnum(x, "ambient_mean_c"), 10, 1e-9);
	CHECK_DBL(jnum(x, "aux_min_v"), 12.6, 1e-9);
	CHECK(jhas(x, "\"move\":false"));
	CHECK(!jhas(x, "capacity_kwh"));		     /* a SOC span under 30 % */
	CHECK(!jhas(x, "climate_kwh"));			     /* climate_power_kw is provisional */
	CHECK(!jhas(x, "lat_start") && !jhas(x, "lon_end")); /* no GPS: no position */
	/* the park began when the trip ended, with what followed it */
	CHECK_INT(count(SESS_PARK, SESS_START), ==, 1);
	sessions_finish(&ss);
	drain();
	x = ended(SESS_PARK, 0);
	CHECK_INT(x->start_ns, ==, t_p);
	CHECK(x->partial_end);
	CHECK_DBL(x->a.e_out, 0.4 * 400 / 3600, 1e-4);
	CHECK_DBL(x->a.dist_km, 0, 1e-12);
	/* updates came at most every 60 s, with the running totals */
	CHECK_INT(count(SESS_TRIP, SESS_UPDATE), ==, 8);
}

static void
test_session_trip_ends_by_sleep(void)
{
	struct car c;
	int64_t t_d, t_p, t_last;
	const struct session *x;

	setup(NULL);
	car_init(&c, T0);
	run(&c, 5);
	t_d = c.t;
	c.gear = D, c.speed = 72, c.power = 20;
	run(&c, 120); /* 2.4 km */
	t_p = c.t;
	c.gear = P, c.speed = 0, c.power = 0.4;
	run(&c, 20);
	c.ready = 0;
	run(&c, 5);
	/* the bus sleeps: the next frame comes 3 h later */
	silence(&c, 3 * 3600);
	CHECK_INT(count(SESS_TRIP, SESS_END), ==, 0);
	run(&c, 1);
	CHECK_INT(count(SESS_TRIP, SESS_END), ==, 1);
	x = ended(SESS_TRIP, 0);
	CHECK_INT(x->start_ns, ==, t_d);
	CHECK_INT(x->end_ns, ==, t_p); /* when it went into P, not when the bus slept */
	CHECK_DBL(x->a.dist_km, 2.4, 1e-9);
	CHECK_DBL(x->a.e_out, 20.0 * 120 / 3600, 1e-9);
	/* the same, told by the worker that the bus fell asleep */
	setup(NULL);
	car_init(&c, T0);
	c.gear = D, c.speed = 72, c.power = 20;
	run(&c, 60); /* it starts mid-drive: partial */
	t_last = c.t - S(0.01);
	sessions_idle(&ss, t_last); /* the logger lost power while driving */
	drain();
	x = ended(SESS_TRIP, 0);
	CHECK(x->partial_start && !x->partial_end);
	CHECK_INT(x->end_ns, ==, t_last);
	CHECK_DBL(x->a.dist_km, 72.0 * 59.99 / 3600, 1e-9);
	CHECK(jhas(x, "\"partial\":true"));
	CHECK_INT(count(SESS_PARK, SESS_START), ==, 1);
}

static void
test_session_ac_charge_interrupted_and_resumed(void)
{
	struct car c;
	int64_t t_c, t_last;
	const struct session *x;

	setup(NULL);
	tar.price_kwh = 0.30;
	snprintf(tar.currency, sizeof(tar.currency), "EUR");
	sessions_init(&ss, &cfg); /* it reads the tariff's kinds then */
	car_init(&c, T0);
	c.ready = 0, c.status = 1; /* plugged in */
	run(&c, 30);
	t_c = c.t;
	c.status = 3, c.power = -6; /* charging: 6 kW into the pack */
	run(&c, 20 * 60);
	c.status = 0, c.power = 0.3; /* the EVSE stopped */
	run(&c, 10 * 60);
	c.status = 3, c.power = -6;
	run(&c, 15 * 60);
	t_last = c.t - S(0.01);
	c.status = 6, c.power = 0.3; /* finished */
	run(&c, 60);
	CHECK_INT(count(SESS_CHARGE, SESS_START), ==, 1);
	CHECK_INT(count(SESS_CHARGE, SESS_END), ==, 1);
	x = ended(SESS_CHARGE, 0);
	CHECK_INT(x->start_ns, ==, t_c);
	CHECK_INT(x->end_ns, ==, t_last);
	CHECK(jhas(x, "\"charge_type\":\"ac\""));
	CHECK(jhas(x, "\"end_reason\":\"full\""));
	CHECK(jhas(x, "\"grid_source\":\"efficiency\""));
	/* 6 kW for 35 min in, 0.3 kW for 10 min out (the pause is part of it) */
	CHECK_DBL(x->a.e_in, 3.5, 1e-9);
	CHECK_DBL(x->a.e_out, 0.05, 1e-9);
	CHECK_DBL(jnum(x, "pack_kwh"), 3.450, 0.0005);
	CHECK_DBL(jnum(x, "grid_kwh"), 3.45 / 0.88, 0.0005);
	CHECK_DBL(jnum(x, "charging_s"), 35 * 60, 0.05);
	CHECK_DBL(jnum(x, "power_mean_kw"), 3.45 / (35.0 / 60), 0.005);
	CHECK_DBL(jnum(x, "power_max_kw"), 6, 1e-9); /* into the pack: positive */
	CHECK_DBL(jnum(x, "cost"), 3.45 * 0.30 / 0.88, 0.005);
	CHECK(jhas(x, "\"currency\":\"EUR\""));
	CHECK(!jhas(x, "partial"));
	/* the minute after the finish is the park's */
	CHECK_INT(count(SESS_PARK, SESS_START), ==, 1);
	/* a target of 80 % ends as "target" */
	setup(NULL);
	car_init(&c, T0);
	c.ready = 0, c.target = 80, c.status = 3, c.power = -6;
	run(&c, 60);
	c.status = 6, c.power = 0.3;
	run(&c, 2);
	x = ended(SESS_CHARGE, 0);
	CHECK(jhas(x, "\"end_reason\":\"target\""));
	CHECK(x->partial_start);
	CHECK(!jhas(x, "cost")); /* no tariff set */
}

static void
test_session_quick_charge(void)
{
	struct car c;
	int64_t t_c, t_end, t_drive;
	const struct session *x;

	setup(NULL);
	tar.qc_price_kwh = 0.5, tar.qc_price_min = 0.1, tar.qc_session_fee = 2;
	car_init(&c, T0);
	c.ready = 0;
	run(&c, 20);
	t_c = c.t;
	c.status = 4, c.qc_v = 380, c.qc_i = 100, c.power = -37.6, c.temp = 25;
	for (int m = 0; m < 20; m++) { /* the pack warms by 1 degC a minute */
		run(&c, 60);
		c.temp += 1;
	}
	t_end = c.t - S(0.01);
	c.status = 0, c.qc_i = 0, c.power = 0.4;
	run(&c, 120);
	t_drive = c.t;
	c.ready = 1, c.gear = D, c.speed = 20, c.power = 8;
	run(&c, 30);
	x = ended(SESS_CHARGE, 0);
	CHECK_INT(x->start_ns, ==, t_c);
	CHECK_INT(x->end_ns, ==, t_end);
	CHECK(jhas(x, "\"charge_type\":\"qc\""));
	CHECK(jhas(x, "\"grid_source\":\"charger\""));
	CHECK(jhas(x, "\"end_reason\":\"unplugged\"")); /* driven off below the target */
	CHECK_DBL(jnum(x, "grid_kwh"), 38.0 * 20 / 60, 0.0005);
	CHECK_DBL(jnum(x, "pack_kwh"), 37.6 * 20 / 60, 0.0005);
	CHECK_DBL(jnum(x, "power_max_kw"), 37.6, 1e-9);
	CHECK_DBL(jnum(x, "pack_temp_start_c"), 25, 1e-9);
	CHECK_DBL(jnum(x, "pack_temp_max_c"), 44, 1e-9);
	/* 2 + 0.5 x 12.667 kWh + 0.1 x 20 min */
	CHECK_DBL(jnum(x, "cost"), 2 + 0.5 * 38.0 / 3 + 0.1 * 20, 0.006);
	/* QC, then the 2 minutes parked, then the drive */
	CHECK_INT(count(SESS_PARK, SESS_END), ==, 1);
	x = ended(SESS_PARK, 0);
	CHECK_INT(x->start_ns, ==, t_end);
	CHECK_INT(x->end_ns, ==, t_drive);
	CHECK_INT(count(SESS_TRIP, SESS_START), ==, 1);
}

/* The sums are integrated when an integrand changes, not each frame: the
 * charger's voltage, when it stops, counts until it goes stale (5 s after
 * its last update, as per frame), though the current and the state go on. */
static void
test_session_qc_values_stop(void)
{
	struct car c;
	const struct session *x;

	setup(NULL);
	car_init(&c, T0);
	c.ready = 0;
	run(&c, 20);
	c.status = 4, c.qc_v = 380, c.qc_i = 100, c.power = -37.6;
	run(&c, 62.37);
	c.qc_v = NAN; /* the voltage stops coming, the charger's current does not */
	run(&c, 60);
	c.status = 0, c.power = 0.4;
	run(&c, 30);
	sessions_finish(&ss);
	drain();
	x = ended(SESS_CHARGE, 0);
	/* 62.37 s of V x I and the 5 s it stays fresh: a frame (1e-4 kWh) either way */
	CHECK_DBL(jnum(x, "grid_kwh"), 38.0 * (62.37 + 5) / 3600, 0.00015);
	CHECK_DBL(x->a.qc_s, 62.37 + 5, 0.011);
}

/* Saving (which brings the sums up to the last frame) at any moment gives
 * the figures of a run without saves. */
static void
test_session_saves_change_nothing(void)
{
	char a[4][1024];
	const int kinds[4] = {SESS_TRIP, SESS_PARK, SESS_CHARGE, SESS_DAILY};

	for (int pass = 0; pass < 2; pass++) {
		struct car c;
		struct buf b, j;
		setup(NULL);
		car_init(&c, T0);
		buf_init(&b);
		for (int k = 0; k < 2400; k++) { /* 4 min: a drive with stops, a QC */
			c.ready = 1, c.gear = k < 1400 ? D : P;
			c.speed = k < 1400 ? 30 + 20 * sin(k / 50.0) * (k % 300 > 40) : 0;
			c.power = k < 1400 ? c.speed / 3 : -40;
			c.status = k < 1500 ? NAN : 4;
			c.qc_v = k < 1500 ? NAN : 390, c.qc_i = k < 1500 ? NAN : 105 - k / 100.0;
			c.temp = 20 + k / 300.0, c.amb = 8 + (k % 7) / 10.0;
			run(&c, 0.1);
			if (pass == 1 && k % 37 == 0) {
				buf_reset(&b);
				sessions_save(&ss, &b);
			}
		}
		c.status = 0, c.qc_i = 0;
		run(&c, 10);
		sessions_finish(&ss);
		drain();
		for (int i = 0; i < 4; i++) {
			buf_init(&j);
			session_json(ended(kinds[i], 0), &cfg, &j);
			if (pass == 0)
				snprintf(a[i], sizeof(a[i]), "%s", buf_str(&j));
			else
				CHECK_STR(buf_str(&j), a[i]);
			buf_free(&j);
		}
		buf_free(&b);
	}
}

/* Save, let the old module run on (the checkpoint does not know that), and
 * go on from the checkpoint in a new one after the restart's gap. */
static void
restart(struct car *c, double run_on_s, double gap_s)
{
	struct buf b;
	char err[200];
	struct car old;

	buf_init(&b);
	sessions_save(&ss, &b);
	run(c, run_on_s); /* the decoder's counters advance; the snapshot keeps them */
	old = *c;
	sessions_init(&ss, &cfg);
	CHECK_INT(sessions_restore(&ss, buf_str(&b), err, sizeof(err)), ==, 0);
	buf_free(&b);
	*c = old;
	silence(c, gap_s);
}

static void
test_session_charge_across_restart(void)
{
	struct car c;
	const struct session *x;

	setup(NULL);
	car_init(&c, T0);
	c.ready = 0, c.status = 3, c.power = -6;
	run(&c, 30);
	run(&c, 10 * 60);
	restart(&c, 30, 20); /* killed 30 s after the checkpoint, back 20 s later */
	run(&c, 10 * 60);
	c.status = 6, c.power = 0.3;
	run(&c, 1);
	CHECK_INT(count(SESS_CHARGE, SESS_START), ==, 1);
	CHECK_INT(count(SESS_CHARGE, SESS_END), ==, 1);
	x = ended(SESS_CHARGE, 0);
	CHECK(jhas(x, "\"recovery\":\"continued\""));
	/* every kWh the decoder counted, the 30 s after the checkpoint too */
	CHECK_DBL(x->a.e_in, 6.0 * (30 + 600 + 30 + 600) / 3600,
		  1e-4); /* but a step at each start */
	CHECK_INT(ss.energy_jumps, ==, 0);
	/* a reboot: the counters came back older than the checkpoint */
	setup(NULL);
	car_init(&c, T0);
	c.ready = 0, c.status = 3, c.power = -6;
	run(&c, 60);
	restart(&c, 0, 40);
	c.eo -= 0.5, c.ei -= 0.5; /* STATEDIR/can-energy, a minute old */
	run(&c, 60);
	CHECK_INT(ss.energy_jumps, ==, 2); /* one step of each counter is not energy */
	c.status = 6;
	run(&c, 1);
	x = ended(SESS_CHARGE, 0);
	CHECK_DBL(x->a.e_in, 6.0 * 120 / 3600, 6.0 * 0.05 / 3600);
}

static void
test_session_trip_across_restart(void)
{
	struct car c;
	int64_t t_d;
	const struct session *x;

	/* back within trip_end_s: one trip, continued */
	setup(NULL);
	car_init(&c, T0);
	run(&c, 5);
	t_d = c.t;
	c.gear = D, c.speed = 36, c.power = 10;
	run(&c, 60);
	restart(&c, 0, 60);
	run(&c, 60);
	c.gear = P, c.speed = 0;
	run(&c, 301);
	CHECK_INT(count(SESS_TRIP, SESS_START), ==, 1);
	x = ended(SESS_TRIP, 0);
	CHECK_INT(x->start_ns, ==, t_d);
	CHECK(jhas(x, "\"recovery\":\"continued\""));
	CHECK_DBL(x->a.dist_km, 1.2, 0.0002);
	/* back after longer than trip_end_s: closed when it was last seen */
	setup(NULL);
	car_init(&c, T0);
	c.gear = D, c.speed = 36, c.power = 10;
	run(&c, 60);
	restart(&c, 0, 400);
	c.gear = P, c.speed = 0, c.ready = 0;
	run(&c, 1);
	x = ended(SESS_TRIP, 0);
	CHECK(jhas(x, "\"recovery\":\"closed\""));
	CHECK_INT(x->end_ns, ==, T0 + 5999 * 10000000LL);
	CHECK_INT(count(SESS_PARK, SESS_START), ==, 1);
}

static void
test_session_energy_signs(void)
{
	struct car c;
	const struct session *x;

	/* driving with net regen downhill: out 1/3600, in 5/3600 */
	setup(NULL);
	car_init(&c, T0);
	c.gear = D, c.speed = 50, c.power = 1;
	run(&c, 1);
	c.power = -5;
	run(&c, 1);
	sessions_finish(&ss);
	drain();
	x = ended(SESS_TRIP, 0);
	CHECK(x->a.e_out > 0 && x->a.e_in > 0);
	/* the first counter value is where counting starts: 0.99 s of each */
	CHECK_DBL(x->a.e_out, 1.0 * 0.99 / 3600, 1e-9);
	CHECK_DBL(x->a.e_in, 5.0 * 0.99 / 3600, 1e-9);
	CHECK(jnum(x, "net_kwh") < 0);	   /* net: out - in */
	CHECK(jnum(x, "regen_share") > 1); /* in / out */
	CHECK(jhas(x, "\"move\":true"));   /* 28 m */
	CHECK(x->a.ah < 0);		   /* Ah: positive = discharge */
}

static void
test_session_tou_across_midnight_on_dst_night(void)
{
	struct car c;
	const struct session *x, *d;
	char err[200];
	int64_t t0;
	struct tm tm = {.tm_year = 124, .tm_mon = 2, .tm_mday = 30, .tm_hour = 22, .tm_isdst = -1};

	/* Central Europe: 2024-03-31 02:00 CET becomes 03:00 CEST */
	setup("CET-1CEST,M3.5.0,M10.5.0/3");
	tar.price_kwh = 0.30;
	CHECK_INT(tariff_parse_tou(&tar, "* 23:00-07:00 0.10", err, sizeof(err)), ==, 0);
	sessions_init(&ss, &cfg);
	t0 = (int64_t)mktime(&tm) * 1000000000LL;
	car_init(&c, t0);
	c.dt = 0.2; /* a frame every 200 ms: nine hours */
	c.ready = 0, c.status = 3, c.power = -3.6;
	run(&c, 9 * 3600); /* 22:00 .. 08:00 local: 1 h day, 7 h night, 1 h day */
	c.status = 6;
	run(&c, 1);
	x = ended(SESS_CHARGE, 0);
	CHECK_DBL(x->a.e_in, 3.6 * 9, 0.001);
	CHECK_DBL(jnum(x, "cost"), 3.6 * (0.30 + 7 * 0.10 + 0.30) / 0.88, 0.005);
	/* the day before ended at local midnight: a battery_daily for it */
	CHECK_INT(count(SESS_DAILY, SESS_END), ==, 1);
	d = ended(SESS_DAILY, 0);
	CHECK_INT(d->end_ns - d->start_ns, ==, S(24 * 3600));
	CHECK(jhas(d, "\"date\":\"2024-03-30\""));
	CHECK(d->partial_start);
	CHECK_DBL(jnum(d, "soh_pct"), 95, 1e-9);
	/* the next one is the 23-hour day of the change */
	sessions_finish(&ss);
	drain();
	d = ended(SESS_DAILY, 1);
	CHECK(jhas(d, "\"date\":\"2024-03-31\""));
	CHECK(d->partial_end);
	CHECK_INT(ss.day_end_ns - d->start_ns, ==, S(23 * 3600));
}

static void
test_session_park_drain_and_daily_capacity(void)
{
	struct car c;
	const struct session *x, *d;

	setup(NULL);
	car_init(&c, T0);
	/* a long drive: 40 % of SOC for 11.2 kWh of a 28 kWh pack */
	c.soc = 90, c.remain = 25.2, c.gear = D, c.speed = 100, c.power = 28;
	for (int i = 0; i < 1440; i++) { /* 24 min, SOC down 1/36 % a second */
		run(&c, 1);
		c.soc -= 40.0 / 1440;
		c.remain -= 11.2 / 1440;
	}
	c.gear = P, c.speed = 0, c.power = 0.4, c.ready = 0;
	run(&c, 2);
	silence(&c, 16 * 3600);
	c.soc -= 1, c.remain -= 0.3; /* sixteen hours parked, past midnight */
	run(&c, 1);
	c.ready = 1, c.gear = D, c.speed = 30;
	run(&c, 1);
	x = ended(SESS_TRIP, 0);
	/* capacity = 11.2 kWh / 40 % = 28 kWh (the SOC lags a second) */
	CHECK_DBL(jnum(x, "capacity_kwh"), 28.0, 0.1);
	CHECK_DBL(jnum(x, "capacity_temp_c"), 20, 1e-9);
	x = ended(SESS_PARK, 0);
	CHECK_DBL(jnum(x, "soc_lost_pct"), 1.0, 0.05);
	CHECK_DBL(jnum(x, "kwh_lost"), 0.3, 0.05);
	CHECK_DBL(jnum(x, "duration_s"), 16 * 3600 + 3, 0.05);
	CHECK_DBL(jnum(x, "drain_kwh_per_day"), 0.3 * 86400 / (16 * 3600 + 3), 0.001);
	/* the day that held the drive is over: its record has the capacity */
	d = ended(SESS_DAILY, 0);
	CHECK_DBL(jnum(d, "capacity_kwh"), 28.0, 0.1);
	CHECK_DBL(jnum(d, "aux_min_v"), 12.6, 1e-9);
	CHECK(jhas(d, "\"kind\":\"battery_daily\""));
}

/* The cached save writes what the plain one does, second after second of a
 * drive (the figures that changed re-formatted, the others kept) and after
 * a figure goes back to an earlier value. */
static void
test_session_checkpoint_cache_same_text(void)
{
	static struct sess_ckpt_cache cache;
	struct car c;
	struct buf a, b;
	double keep;

	setup(NULL);
	car_init(&c, T0);
	buf_init(&a);
	buf_init(&b);
	c.gear = D, c.power = 10;
	for (int i = 0; i < 40; i++) {
		c.speed = 20 + i % 7 * 3.3;
		run(&c, 1);
		buf_reset(&a);
		buf_reset(&b);
		sessions_save(&ss, &a);
		sessions_save_cached(&ss, &b, &cache);
		CHECK_STR(buf_str(&a), buf_str(&b));
	}
	keep = ss.cur.a.dist_km;
	ss.cur.a.dist_km = 0.1;
	buf_reset(&b);
	sessions_save_cached(&ss, &b, &cache);
	ss.cur.a.dist_km = keep;
	buf_reset(&a);
	buf_reset(&b);
	sessions_save(&ss, &a);
	sessions_save_cached(&ss, &b, &cache);
	CHECK_STR(buf_str(&a), buf_str(&b));
	CHECK(strstr(buf_str(&b), "cur.a.dist_km 0x1.") != NULL); /* a fraction: formatted */
	buf_free(&a);
	buf_free(&b);
}

static void
test_session_checkpoint_round_trip(void)
{
	struct car c;
	struct buf a, b;
	char err[200];
	static struct sessions other;

	setup(NULL);
	car_init(&c, T0);
	c.gear = D, c.speed = 36, c.power = 10;
	run(&c, 30);
	c.gear = P, c.speed = 0;
	run(&c, 10); /* a trip in its tail */
	buf_init(&a);
	buf_init(&b);
	sessions_save(&ss, &a);
	sessions_init(&other, &cfg);
	CHECK_INT(sessions_restore(&other, buf_str(&a), err, sizeof(err)), ==, 0);
	sessions_save(&other, &b);
	CHECK_STR(buf_str(&a), buf_str(&b));
	CHECK(other.open && other.in_tail && other.cur.kind == SESS_TRIP);
	/* every double comes back bit for bit: fractions, tiny, huge, negative
	 * (hexadecimal floats), whole ones, and the %.17g of older checkpoints */
	const double d[] = {0.1, 1.0 / 3, -2.5e-310, 1.7976931348623157e308, -123.456e-7, 42, -0.0,
			    -INFINITY};
	double *fig[] = {&ss.cur.a.dist_km, &ss.cur.a.ah, &ss.cur.a.e_out, &ss.cur.a.temp_sum,
			 &ss.day.a.amb_sum, &ss.day.a.cost, &ss.tail.qc_kwh, &ss.day.a.aux_min};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		*fig[i] = d[i];
	buf_reset(&a);
	sessions_save(&ss, &a);
	CHECK(strstr(buf_str(&a), "\ncur.a.dist_km 0x1.999999999999ap-4\n") != NULL);
	CHECK_INT(sessions_restore(&other, buf_str(&a), err, sizeof(err)), ==, 0);
	const double *back[] = {&other.cur.a.dist_km, &other.cur.a.ah, &other.cur.a.e_out,
				&other.cur.a.temp_sum, &other.day.a.amb_sum, &other.day.a.cost,
				&other.tail.qc_kwh, &other.day.a.aux_min};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		CHECK(memcmp(back[i], &d[i], sizeof(double)) == 0);
	CHECK_INT(sessions_restore(&other, "leafmon-sessions 1\ncur.a.ah 0.33333333333333331\nend\n",
				   err, sizeof(err)),
		  ==, 0);
	CHECK(other.cur.a.ah == 1.0 / 3);
	/* not one: refused, the state untouched */
	CHECK_INT(sessions_restore(&other, "hello\n", err, sizeof(err)), ==, -1);
	CHECK_INT(sessions_restore(&other, "leafmon-sessions 1\nopen 1\n", err, sizeof(err)), ==,
		  -1);
	CHECK_STR(err, "cut short (no 'end' line)");
	CHECK_INT(sessions_restore(&other, "leafmon-sessions 1\ncur.kind 9\nopen 1\nend\n", err,
				   sizeof(err)),
		  ==, -1);
	CHECK_INT(sessions_restore(&other, "leafmon-sessions 1\nlast_t x\nend\n", err, sizeof(err)),
		  ==, -1);
	/* a field of a newer version is skipped */
	CHECK_INT(sessions_restore(&other, "leafmon-sessions 2\ncur.a.future 1\nwhat 2\nend\n", err,
				   sizeof(err)),
		  ==, 0);
	buf_free(&a);
	buf_free(&b);
}

static void
test_session_parked_gives_none(void)
{
	struct car c;

	setup(NULL);
	car_init(&c, T0);
	run(&c, 60); /* ready in P */
	c.gear = D;  /* shifted, never moved */
	run(&c, 5);
	c.gear = N;
	run(&c, 5);
	c.gear = P;
	run(&c, 5);
	sessions_finish(&ss);
	drain();
	CHECK_INT(count(SESS_TRIP, SESS_START) + count(SESS_CHARGE, SESS_START) +
		      count(SESS_PARK, SESS_START),
		  ==, 0);
	CHECK_INT(count(SESS_DAILY, SESS_END), ==, 1);
}

/* With a GPS: where the trip began (its first position, seen after the
 * start when the fix came late) and where it ended (the position when it
 * went into P, not the park's later ones). */
static void
test_session_trip_positions(void)
{
	struct car c;
	const struct session *x;

	setup(NULL);
	car_init(&c, T0);
	run(&c, 10);
	c.gear = D;
	c.speed = 36, c.power = 10;
	run(&c, 5); /* no fix yet */
	c.lat = 48.137201, c.lon = 11.575602;
	for (int i = 0; i < 60; i++) { /* north, 10 m a second */
		run(&c, 1);
		c.lat += 0.00009;
	}
	double lat_p = c.lat;
	c.speed = 0, c.gear = P, c.power = 0.4;
	run(&c, 1);
	c.lat += 0.5; /* the park's positions (the car towed, say) are not the trip's */
	run(&c, 400);
	x = ended(SESS_TRIP, 0);
	CHECK_DBL(jnum(x, "lat_start"), 48.137201, 1e-9);
	CHECK_DBL(jnum(x, "lon_start"), 11.575602, 1e-9);
	CHECK_DBL(jnum(x, "lat_end"), lat_p, 1e-6);
	CHECK_DBL(jnum(x, "lon_end"), 11.575602, 1e-9);
	/* the checkpoint keeps them */
	struct buf b;
	struct sessions *r = malloc(sizeof(*r));
	char err[128];
	buf_init(&b);
	sessions_save(&ss, &b);
	sessions_init(r, &cfg);
	CHECK_INT(sessions_restore(r, buf_str(&b), err, sizeof(err)), ==, 0);
	CHECK_DBL(r->cur.p0.lat, ss.cur.p0.lat, 1e-12);
	CHECK_DBL(r->tail_p.lon, ss.tail_p.lon, 1e-12);
	free(r);
	buf_free(&b);
}

T_MAIN(T(test_session_trip_with_stops_at_lights), T(test_session_trip_positions),
       T(test_session_trip_ends_by_sleep), T(test_session_ac_charge_interrupted_and_resumed),
       T(test_session_quick_charge), T(test_session_charge_across_restart),
       T(test_session_trip_across_restart), T(test_session_energy_signs),
       T(test_session_tou_across_midnight_on_dst_night),
       T(test_session_park_drain_and_daily_capacity), T(test_session_checkpoint_round_trip),
       T(test_session_checkpoint_cache_same_text), T(test_session_qc_values_stop),
       T(test_session_saves_change_nothing),
       T(test_session_parked_gives_none))
