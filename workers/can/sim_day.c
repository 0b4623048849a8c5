/*
 * SIM_DAY: a scripted day of a Leaf (see the script below), and the ground
 * truth of its sessions from the model's own physics: what a perfect
 * logger would report, integrated over every 10 ms tick (distance from the
 * true speed, energy from the pack's terminal power, the chargers' own
 * outputs), with the boundaries the script knows (a trip from the shift
 * out of P to the shift back; a charge from its first to its last moment
 * of charging, pauses included; a park between them). The keys are the
 * session contract's (docs/DESIGN.md, "Sessions").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "json.h"
#include "sim.h"

#define A_UP 2.0   /* m/s^2 */
#define A_DOWN 2.5 /* m/s^2, braking with regen */
#define ROUTE_MAX 64
#define TRUTH_MAX 24

enum step_kind { K_SLEEP, K_AWAKE, K_READY, K_DRIVE, K_QC, K_QC_DONE, K_AC, K_AC_PAUSE, K_AC_DONE };
enum {
	F_CHG_BEGIN = 1, /* a charge session begins with this step */
	F_CHG_END = 2,	 /* ... and ends with this one */
	F_PLUGGED = 4,
	F_CHADEMO = 8,
	F_DOOR = 16, /* the driver's door opens for the first 5 s */
};
enum { R_A, R_B, R_MOVE, R_C, R_COUNT };
enum { TK_TRIP, TK_CHARGE, TK_PARK }; /* as enum sess_kind */

struct leg {
	double kmh, cruise_s, stop_s;
};

struct step {
	int kind;
	double dur_s; /* a drive: its route's length */
	int route;
	double until_soc; /* a charge: ends at this SOC (0..1) too */
	unsigned flags;
};

/* clang-format off */
static const struct leg route_a[] = { /* town, a long motorway, town */
	{50, 40, 25}, {50, 40, 25}, {50, 40, 25}, {110, 2100, 0}, {70, 120, 0}, {50, 60, 20},
	{30, 30, 0},
};
static const struct leg route_b[] = { /* town, to the quick charger */
	{50, 50, 25}, {50, 50, 25}, {50, 50, 25}, {50, 50, 25}, {50, 50, 25}, {50, 50, 25},
	{70, 120, 0}, {40, 30, 0},
};
static const struct leg route_move[] = {{5, 10, 0}}; /* off the charger's bay */
static const struct leg route_c[] = { /* home, and reversing into the drive */
	{60, 300, 30}, {60, 300, 30}, {60, 300, 30}, {90, 240, 0}, {40, 60, 0}, {-5, 6, 0},
};

static const struct step script[] = {
	{K_AWAKE, 20, 0, 0, F_DOOR}, {K_READY, 40, 0, 0, 0},
	{K_DRIVE, 0, R_A, 0, 0},
	{K_READY, 60, 0, 0, 0}, {K_AWAKE, 20, 0, 0, F_DOOR},
	{K_SLEEP, 8 * 3600, 0, 0, 0}, /* at work */
	{K_AWAKE, 10, 0, 0, F_DOOR}, {K_READY, 20, 0, 0, 0},
	{K_DRIVE, 0, R_B, 0, 0},
	{K_READY, 20, 0, 0, 0}, {K_AWAKE, 60, 0, 0, F_DOOR | F_PLUGGED | F_CHADEMO},
	{K_QC, 3600, 0, 0.80, F_PLUGGED | F_CHADEMO | F_CHG_BEGIN | F_CHG_END},
	{K_QC_DONE, 60, 0, 0, F_PLUGGED | F_CHADEMO},
	{K_AWAKE, 20, 0, 0, F_DOOR}, {K_READY, 20, 0, 0, 0},
	{K_DRIVE, 0, R_MOVE, 0, 0}, /* a move: under min_trip_km */
	{K_READY, 30, 0, 0, 0}, {K_AWAKE, 400, 0, 0, F_DOOR}, /* longer than trip_end_s */
	{K_READY, 20, 0, 0, 0},
	{K_DRIVE, 0, R_C, 0, 0},
	{K_READY, 30, 0, 0, 0}, {K_AWAKE, 20, 0, 0, F_DOOR},
	{K_SLEEP, 3 * 3600, 0, 0, 0},
	{K_AWAKE, 30, 0, 0, F_DOOR | F_PLUGGED},
	{K_AC, 600, 0, 0, F_PLUGGED | F_CHG_BEGIN},
	{K_AC_PAUSE, 600, 0, 0, F_PLUGGED}, /* the EVSE stops for ten minutes */
	{K_AC, 4 * 3600, 0, 0.80, F_PLUGGED | F_CHG_END},
	{K_AC_DONE, 60, 0, 0, F_PLUGGED}, {K_AWAKE, 20, 0, 0, F_PLUGGED},
	{K_SLEEP, 6 * 3600, 0, 0, 0},
	{K_AWAKE, 60, 0, 0, 0}, /* the car wakes once after midnight */
};
/* clang-format on */

#define NSTEPS (sizeof(script) / sizeof(script[0]))

struct route {
	int n, at;
	double t[ROUTE_MAX], v[ROUTE_MAX]; /* s, km/h: linear between */
};

struct truth {
	int kind, charge_type;
	int64_t start_ns, end_ns;
	double dist_km, e_out, e_in, ah, qc_kwh, grid_ac_kwh, charge_s;
	double soc0, soc1, odo0, odo1, aux0, aux1, aux_min, speed_max, power_max;
};

struct sim_day {
	struct route route[R_COUNT];
	size_t step;
	int64_t step_t0;
	bool started;
	struct truth t[TRUTH_MAX];
	int nt;
	bool open; /* t[nt - 1] is open */
};

/* ---- routes ---- */

static void
route_add(struct route *r, double dt, double v)
{
	if (r->n == ROUTE_MAX)
		return;
	r->t[r->n] = r->n ? r->t[r->n - 1] + dt : 0;
	r->v[r->n] = v;
	r->n++;
}

static void
route_to(struct route *r, double *v, double target)
{
	if (*v * target < 0) /* through a stop to reverse */
		route_to(r, v, 0);
	route_add(r, fabs(target - *v) / 3.6 / (fabs(target) > fabs(*v) ? A_UP : A_DOWN), target);
	*v = target;
}

static void
route_build(struct route *r, const struct leg *l, size_t n)
{
	double v = 0;

	r->n = r->at = 0;
	route_add(r, 0, 0);
	for (size_t i = 0; i < n; i++) {
		route_to(r, &v, l[i].kmh);
		route_add(r, l[i].cruise_s, v);
		if (l[i].stop_s > 0) {
			route_to(r, &v, 0);
			route_add(r, l[i].stop_s, 0);
		}
	}
	route_to(r, &v, 0);
}

static double
route_speed(struct route *r, double s)
{
	while (r->at + 1 < r->n && s >= r->t[r->at + 1])
		r->at++;
	if (r->at + 1 >= r->n)
		return 0;
	double f = (s - r->t[r->at]) / (r->t[r->at + 1] - r->t[r->at]);
	return r->v[r->at] + f * (r->v[r->at + 1] - r->v[r->at]);
}

struct sim_day *
sim_day_new(void)
{
	struct sim_day *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	route_build(&d->route[R_A], route_a, sizeof(route_a) / sizeof(route_a[0]));
	route_build(&d->route[R_B], route_b, sizeof(route_b) / sizeof(route_b[0]));
	route_build(&d->route[R_MOVE], route_move, 1);
	route_build(&d->route[R_C], route_c, sizeof(route_c) / sizeof(route_c[0]));
	return d;
}

static double
step_len(const struct sim_day *d, const struct step *st)
{
	return st->kind == K_DRIVE ? d->route[st->route].t[d->route[st->route].n - 1] : st->dur_s;
}

/* ---- the truth ---- */

static void
truth_close(struct sim *m, int64_t t)
{
	struct sim_day *d = m->day;
	struct truth *x;

	if (!d->open)
		return;
	x = &d->t[d->nt - 1];
	x->end_ns = t;
	x->soc1 = m->s.soc;
	x->odo1 = m->s.odo_km;
	x->aux1 = m->s.aux_v;
	d->open = false;
}

static void
truth_open(struct sim *m, int kind, int64_t t)
{
	struct sim_day *d = m->day;
	struct truth *x;

	truth_close(m, t);
	if (d->nt == TRUTH_MAX)
		return;
	x = &d->t[d->nt++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->start_ns = t;
	x->soc0 = m->s.soc;
	x->odo0 = m->s.odo_km;
	x->aux0 = x->aux_min = m->s.aux_v;
	x->speed_max = x->power_max = 0;
	d->open = true;
}

void
sim_day_truth_tick(struct sim *m, int64_t t, double dt, double pack_kw)
{
	struct sim_day *d = m->day;
	const struct sim_state *s = &m->s;
	struct truth *x;

	if (!d->open)
		return;
	x = &d->t[d->nt - 1];
	x->dist_km += fabs(s->speed_kmh) * dt / 3600;
	if (pack_kw > 0)
		x->e_out += pack_kw * dt / 3600;
	else
		x->e_in -= pack_kw * dt / 3600;
	x->ah += s->current_a * dt / 3600;
	x->qc_kwh += s->qc_v * s->qc_a * dt / 3.6e6;
	if (s->c.charge == SIM_CHG_AC)
		x->grid_ac_kwh += s->c.charge_kw * dt / 3600;
	if (s->c.charge != SIM_CHG_NONE) {
		x->charge_type = s->c.charge == SIM_CHG_QC;
		x->charge_s += dt;
	}
	x->speed_max = fmax(x->speed_max, fabs(s->speed_kmh));
	x->power_max = fmax(x->power_max, x->kind == TK_CHARGE ? -pack_kw : pack_kw);
	if (s->c.awake)
		x->aux_min = fmin(x->aux_min, s->aux_v);
}

/* ---- the script ---- */

static bool
step_over(const struct sim *m, const struct step *st, double in_s)
{
	if (in_s >= step_len(m->day, st))
		return true;
	return st->until_soc > 0 && m->s.soc >= st->until_soc;
}

/* The boundaries the script knows, as the step changes. */
static void
step_enter(struct sim *m, size_t from, size_t to, int64_t t)
{
	const struct step *a = from < NSTEPS ? &script[from] : NULL, *b = &script[to];

	if (a != NULL && ((a->kind == K_DRIVE) || (a->flags & F_CHG_END)))
		truth_open(m, TK_PARK, t);
	if (b->kind == K_DRIVE)
		truth_open(m, TK_TRIP, t);
	if (b->flags & F_CHG_BEGIN)
		truth_open(m, TK_CHARGE, t);
	if (b->kind == K_DRIVE)
		m->day->route[b->route].at = 0;
}

static double
qc_kw(double soc)
{
	return soc < 0.6 ? 45 : 45 - (soc - 0.6) / 0.2 * 25; /* a taper to 20 kW at 80 % */
}

static void
step_ctl(struct sim *m, const struct step *st, double in_s, struct sim_ctl *c)
{
	memset(c, 0, sizeof(*c));
	c->gear = SIM_P;
	c->awake = st->kind != K_SLEEP;
	c->ready = st->kind == K_READY || st->kind == K_DRIVE;
	c->climate = c->ready; /* a cold morning: heating on */
	c->target80 = true;
	c->plugged = st->flags & F_PLUGGED;
	c->chademo = st->flags & F_CHADEMO;
	c->doors = (st->flags & F_DOOR) && in_s < 5 ? 1 : 0;
	if (st->kind == K_DRIVE) {
		c->speed_kmh = route_speed(&m->day->route[st->route], in_s);
		c->gear = c->speed_kmh < 0 ? SIM_R : SIM_D;
	} else if (st->kind == K_QC) {
		c->charge = SIM_CHG_QC;
		c->charge_kw = qc_kw(m->s.soc);
	} else if (st->kind == K_AC) {
		c->charge = SIM_CHG_AC;
		c->charge_kw = m->gen == GEN_ZE0 ? 3.3 : 6.6;
	}
	c->finished = st->kind == K_AC_DONE;
}

bool
sim_day_ctl(struct sim *m, int64_t t, struct sim_ctl *c)
{
	struct sim_day *d = m->day;

	if (!d->started) {
		d->started = true;
		d->step_t0 = t;
		step_enter(m, NSTEPS, 0, t);
	}
	while (d->step < NSTEPS && step_over(m, &script[d->step], (double)(t - d->step_t0) / 1e9)) {
		d->step++;
		d->step_t0 = t;
		if (d->step < NSTEPS)
			step_enter(m, d->step - 1, d->step, t);
	}
	if (d->step >= NSTEPS)
		return false;
	step_ctl(m, &script[d->step], (double)(t - d->step_t0) / 1e9, c);
	return true;
}

/* ---- the truth as JSON ---- */

static void
jnum(struct json *j, const char *key, double v, int decimals)
{
	char s[48];

	snprintf(s, sizeof(s), "%.*f", decimals, v);
	json_raw(j, key, s);
}

static void
jtime(struct json *j, const char *key, int64_t ns)
{
	jnum(j, key, (double)ns / 1e9, 3);
}

static void
truth_one(const struct sim *m, const struct truth *x, bool partial, struct buf *b)
{
	static const char *const kinds[] = {"trip", "charge", "park"};
	double span = fabs(x->soc1 - x->soc0) * 100, g = m->gids_full;
	struct json j;

	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_str(&j, "kind", kinds[x->kind]);
	jtime(&j, "start", x->start_ns);
	jtime(&j, "end", x->end_ns);
	if (partial)
		json_bool(&j, "partial", true);
	jnum(&j, "duration_s", (double)(x->end_ns - x->start_ns) / 1e9, 2);
	jnum(&j, "distance_km", x->dist_km, 5);
	jnum(&j, "energy_out_kwh", x->e_out, 5);
	jnum(&j, "energy_in_kwh", x->e_in, 5);
	jnum(&j, "soc_start_pct", x->soc0 * 100, 3);
	jnum(&j, "soc_end_pct", x->soc1 * 100, 3);
	jnum(&j, "gids_start", x->soc0 * g, 2);
	jnum(&j, "gids_end", x->soc1 * g, 2);
	if (x->kind == TK_TRIP) {
		jnum(&j, "net_kwh", x->e_out - x->e_in, 5);
		jnum(&j, "odo_start_km", x->odo0, 3);
		jnum(&j, "odo_end_km", x->odo1, 3);
		jnum(&j, "speed_max_kmh", x->speed_max, 2);
		jnum(&j, "power_max_kw", x->power_max, 3);
		json_bool(&j, "move", x->dist_km < 0.1);
	} else if (x->kind == TK_CHARGE) {
		json_str(&j, "charge_type", x->charge_type ? "qc" : "ac");
		jnum(&j, "pack_kwh", x->e_in - x->e_out, 5);
		jnum(&j, "grid_kwh", x->charge_type ? x->qc_kwh : x->grid_ac_kwh, 5);
		jnum(&j, "charging_s", x->charge_s, 2);
		jnum(&j, "power_max_kw", x->power_max, 3);
		json_str(&j, "end_reason", "target");
	} else {
		jnum(&j, "soc_lost_pct", (x->soc0 - x->soc1) * 100, 3);
		jnum(&j, "gids_lost", (x->soc0 - x->soc1) * g, 2);
		jnum(&j, "kwh_lost", (x->soc0 - x->soc1) * m->capacity_kwh, 4);
		jnum(&j, "aux_start_v", x->aux0, 3);
		jnum(&j, "aux_end_v", x->aux1, 3);
		jnum(&j, "aux_min_v", x->aux_min, 3);
	}
	if (x->kind != TK_PARK && span >= 30) {
		jnum(&j, "capacity_kwh", fabs(x->e_out - x->e_in) / (span / 100), 4);
		jnum(&j, "capacity_ah", fabs(x->ah) / (span / 100), 3);
	}
	json_obj_close(&j);
	buf_putc(b, '\n');
}

void
sim_day_truth_json(const struct sim *m, int64_t end_ns, struct buf *b)
{
	const struct sim_day *d = m->day;

	for (int i = 0; d != NULL && i < d->nt; i++) {
		struct truth x = d->t[i];
		bool open = d->open && i == d->nt - 1;
		if (open) { /* the data ends inside it */
			x.end_ns = end_ns;
			x.soc1 = m->s.soc;
			x.odo1 = m->s.odo_km;
			x.aux1 = m->s.aux_v;
		}
		truth_one(m, &x, open, b);
	}
}
