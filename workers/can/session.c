/*
 * Session detection and accounting (see session.h; the rules in words are
 * in docs/DESIGN.md, "Sessions"). Per frame: integrate over the time since
 * the previous frame (values held, left rectangle, steps of at most 250 ms
 * as the decoder's energy), take the frame's updates, then let the rules
 * decide: charging, driving, or parked. The integration is done when an
 * integrated value is about to change and before anything reads or moves
 * the sums (integrate_to); until then the span since s->int_t is pending,
 * and so are the times that follow the last frame (settle).
 */
#include "session.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "signals.h"

#define SEC(x) ((int64_t)((x)*1e9))
#define STEP_MAX_NS SEC(0.25)	    /* longest integration step (as the decoder's) */
#define FRESH_NS SEC(5)		    /* a charger value older than this is gone */
#define UPDATE_NS SEC(60)	    /* an open session's running totals, this often */
#define PAUSE_MAX_NS SEC(12 * 3600) /* a charge stopped this long has ended */
#define SETTLE_NS SEC(1)	    /* a session this close to the data's start began before it */
#define MOVING_KMH 1.0		    /* at or above: the car moves */
#define QC_MIN_A 1.0		    /* the quick charger delivers */
#define REST_A 1.0		    /* the pack rests: cell spreads are taken then */
#define E_JUMP_KWH 2.0		    /* a counter step larger than this is not energy */

/* The values the rules read (slots of s->v). */
enum {
	SV_SPEED,
	SV_GEAR,
	SV_READY,
	SV_SOC,
	SV_GIDS,
	SV_STATUS,
	SV_QC_V,
	SV_QC_I,
	SV_CUR,
	SV_POWER,
	SV_TEMP,
	SV_CT1,
	SV_CT2,
	SV_CT3,
	SV_CT4,
	SV_AMB,
	SV_AUX,
	SV_ODO,
	SV_REMAIN,
	SV_TARGET,
	SV_CLIMATE,
	SV_LAT,
	SV_LON,
	SV_COUNT
};
_Static_assert(SV_COUNT <= SESS_NVAL, "SESS_NVAL too small");

/* vehicle_gear and charge_status label indexes (signals.def) */
enum { GEAR_P, GEAR_R, GEAR_N, GEAR_D, GEAR_B };
enum { ST_CHARGING = 3, ST_QUICK = 4, ST_FINISHED = 6 };

/* ---- small helpers ---- */

static bool
have(const struct sessions *s, int k)
{
	return s->v[k].have;
}

static double
val(const struct sessions *s, int k)
{
	return s->v[k].have ? s->v[k].v : NAN;
}

static bool
fresh(const struct sessions *s, int k, int64_t t)
{
	return s->v[k].have && t - s->v[k].t <= FRESH_NS;
}

/* *m = fmax(*m, v) and fmin, inline (the frame path's): a NAN (nothing
 * yet) gives way, a NAN value changes nothing, of two equals v is kept
 * (as glibc's). */
static void
raise_to(double *m, double v)
{
	if (v >= *m || isnan(*m))
		*m = v;
}

static void
lower_to(double *m, double v)
{
	if (v <= *m || isnan(*m))
		*m = v;
}

/* The pack temperature: the LBC's average, else the mean of the polled
 * thermistors (kept in s->pt: pack_temp()). */
static double
pack_temp_of(const struct sessions *s)
{
	double sum = 0;
	int n = 0;

	if (have(s, SV_TEMP))
		return s->v[SV_TEMP].v;
	for (int k = SV_CT1; k <= SV_CT4; k++)
		if (have(s, k)) {
			sum += s->v[k].v;
			n++;
		}
	return n ? sum / n : NAN;
}

static double
pack_temp(const struct sessions *s)
{
	return s->pt;
}

static void
acc_init(struct sess_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->speed_max = a->power_max = a->temp_max = a->aux_min = NAN;
}

static void
acc_merge(struct sess_acc *a, const struct sess_acc *b)
{
	a->e_out += b->e_out;
	a->e_in += b->e_in;
	a->dist_km += b->dist_km;
	a->drive_s += b->drive_s;
	a->charge_s += b->charge_s;
	a->ah += b->ah;
	a->qc_kwh += b->qc_kwh;
	a->qc_s += b->qc_s;
	a->cost += b->cost;
	a->unpriced_kwh += b->unpriced_kwh;
	a->climate_kwh += b->climate_kwh;
	a->temp_sum += b->temp_sum;
	a->temp_s += b->temp_s;
	a->amb_sum += b->amb_sum;
	a->amb_s += b->amb_s;
	a->speed_max = fmax(a->speed_max, b->speed_max); /* fmax/fmin skip a NAN */
	a->power_max = fmax(a->power_max, b->power_max);
	a->temp_max = fmax(a->temp_max, b->temp_max);
	a->aux_min = fmin(a->aux_min, b->aux_min);
}

/* Refresh a point with what is known now; unknown values keep the old. */
static void
point_refresh(const struct sessions *s, struct sess_point *p)
{
	static const int slot[] = {SV_SOC, SV_GIDS, SV_ODO, -1, SV_AUX, SV_REMAIN, SV_LAT, SV_LON};
	double *f[] = {&p->soc, &p->gids, &p->odo, &p->temp, &p->aux, &p->remain, &p->lat, &p->lon};
	double pt = pack_temp(s);

	for (size_t i = 0; i < sizeof(slot) / sizeof(slot[0]); i++)
		if (slot[i] >= 0 && have(s, slot[i]))
			*f[i] = s->v[slot[i]].v;
	if (isfinite(pt))
		p->temp = pt;
}

/* A start value not known at the start: the first one seen after it (a
 * log that begins inside a session, a value that comes after the wake). */
static void
point_fill(const struct sessions *s, struct sess_point *p)
{
	struct sess_point now;

	if (!isnan(p->soc) && !isnan(p->gids) && !isnan(p->odo) && !isnan(p->temp) &&
	    !isnan(p->aux) && !isnan(p->remain) && !isnan(p->lat) && !isnan(p->lon))
		return;
	now = *p;
	point_refresh(s, &now);
	p->soc = isnan(p->soc) ? now.soc : p->soc;
	p->gids = isnan(p->gids) ? now.gids : p->gids;
	p->odo = isnan(p->odo) ? now.odo : p->odo;
	p->temp = isnan(p->temp) ? now.temp : p->temp;
	p->aux = isnan(p->aux) ? now.aux : p->aux;
	p->remain = isnan(p->remain) ? now.remain : p->remain;
	if (isnan(p->lat) || isnan(p->lon)) { /* a position is both or neither */
		p->lat = now.lat;
		p->lon = now.lon;
	}
}

/* A point of which nothing is known. */
static struct sess_point
point_unknown(void)
{
	return (struct sess_point){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
}

static struct sess_acc *
target(struct sessions *s)
{
	return s->in_tail ? &s->tail : s->open ? &s->cur.a : NULL;
}

static void
emit(struct sessions *s, int phase, const struct session *x, int64_t t)
{
	if (s->nev == SESS_EVENTS_MAX) {
		s->events_dropped++; /* the caller drains after every call: never */
		return;
	}
	s->ev[s->nev].phase = phase;
	s->ev[s->nev].t_ns = t;
	s->ev[s->nev].s = *x;
	s->nev++;
	s->events++;
}

/* ---- the local day (battery_daily) ---- */

static int64_t
local_midnight(int64_t t_ns, int days_after)
{
	time_t sec = (time_t)(t_ns / NSEC_PER_SEC);
	struct tm tm;

	localtime_r(&sec, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days_after;
	tm.tm_isdst = -1; /* mktime decides: DST-correct */
	return (int64_t)mktime(&tm) * NSEC_PER_SEC;
}

static void
day_begin(struct sessions *s, int64_t t)
{
	struct session *d = &s->day;

	memset(d, 0, sizeof(*d));
	d->kind = SESS_DAILY;
	d->start_ns = local_midnight(t, 0);
	d->end_ns = t;
	d->partial_start = s->data_known && s->data_start >= d->start_ns;
	acc_init(&d->a);
	d->p0 = point_unknown();
	d->p1 = d->p0;
	d->soh = d->bars = d->gids_full = d->hx = d->ahr = d->cells_delta = NAN;
	s->day_end_ns = local_midnight(t, 1);
	s->day_open = true;
}

static void
day_roll(struct sessions *s, int64_t t)
{
	if (s->day_open) {
		s->day.end_ns = s->day_end_ns;
		emit(s, SESS_END, &s->day, t);
	}
	day_begin(s, t);
}

/* A trip's or charge's measured capacity, into the day it ended on. */
static void
day_capacity(struct sessions *s, const struct session *x)
{
	double span = fabs(x->p1.soc - x->p0.soc), kwh, ah, temp;

	if (!s->day_open || !(span >= 30) || (x->kind != SESS_TRIP && x->kind != SESS_CHARGE))
		return;
	kwh = fabs(x->a.e_out - x->a.e_in) / (span / 100);
	ah = fabs(x->a.ah) / (span / 100);
	temp = x->a.temp_s > 0 ? x->a.temp_sum / x->a.temp_s : NAN;
	s->day.cap_kwh_w += kwh * span;
	s->day.cap_ah_w += ah * span;
	if (isfinite(temp))
		s->day.cap_temp_w += temp * span;
	s->day.cap_w += span;
}

/* ---- sessions: begin, end, tails ---- */

static void
begin(struct sessions *s, int kind, int64_t t, const struct sess_point *p, const struct sess_acc *a)
{
	struct session *x = &s->cur;

	memset(x, 0, sizeof(*x));
	x->kind = kind;
	x->start_ns = x->end_ns = t;
	x->partial_start = s->data_known && t - s->data_start <= SETTLE_NS;
	x->p0 = x->p1 = *p;
	if (a != NULL)
		x->a = *a;
	else
		acc_init(&x->a);
	x->soh = x->bars = x->gids_full = x->hx = x->ahr = x->cells_delta = NAN;
	s->open = true;
	s->in_tail = false;
	s->points_stale = true;
	s->next_update_ns = s->last_t + UPDATE_NS;
	emit(s, SESS_START, x, s->last_t);
}

static void
end(struct sessions *s, int64_t t, const struct sess_point *p)
{
	s->cur.end_ns = t;
	s->cur.p1 = *p;
	emit(s, SESS_END, &s->cur, s->last_t);
	day_capacity(s, &s->cur);
	s->open = false;
}

static void
tail_start(struct sessions *s, int64_t t)
{
	s->in_tail = true;
	s->tail_ns = t;
	acc_init(&s->tail);
	s->tail_p = s->open ? s->cur.p1 : point_unknown();
	point_refresh(s, &s->tail_p);
}

static void
tail_merge(struct sessions *s)
{
	if (s->open)
		acc_merge(&s->cur.a, &s->tail);
	s->in_tail = false;
}

/* The open trip or charge ends: at its tail's start when it has one (what
 * followed is the park's), else now; the park after it begins then (not
 * when park is false: a park of no length). */
static void
end_into_park(struct sessions *s, bool park)
{
	bool tail = s->in_tail;
	int64_t te = tail ? s->tail_ns : s->last_t;
	struct sess_point pe = tail ? s->tail_p : s->cur.p1;
	struct sess_acc rest = s->tail;

	s->in_tail = false;
	end(s, te, &pe);
	if (park)
		begin(s, SESS_PARK, te, &pe, tail ? &rest : NULL);
}

/* A trip or a charge begins now (a trip: when the car became ready in a
 * drive gear, if that was during the park). */
static void
begin_active(struct sessions *s, int kind, int64_t t)
{
	struct sess_point p;
	struct sess_acc a, *ap = NULL;
	int64_t ts = t;

	if (s->open && s->cur.kind != SESS_PARK)
		end_into_park(s, s->in_tail);
	p = s->open ? s->cur.p1 : point_unknown();
	point_refresh(s, &p);
	if (s->in_tail && kind == SESS_TRIP) { /* the ready-in-gear tail is the trip's */
		ts = s->tail_ns;
		p = s->tail_p;
		a = s->tail;
		ap = &a;
	} else if (s->in_tail)
		tail_merge(s);
	s->in_tail = false;
	if (s->open)
		end(s, ts, &p);
	begin(s, kind, ts, &p, ap);
}

/* ---- the rules ---- */

static bool
charging_now(const struct sessions *s, int64_t t)
{
	double st = val(s, SV_STATUS);

	if (fresh(s, SV_QC_I, t) && s->v[SV_QC_I].v >= QC_MIN_A)
		return true;
	return fresh(s, SV_STATUS, t) && (st == ST_CHARGING || st == ST_QUICK);
}

static bool
qc_now(const struct sessions *s, int64_t t)
{
	return (fresh(s, SV_QC_I, t) && s->v[SV_QC_I].v >= QC_MIN_A) ||
	       (fresh(s, SV_STATUS, t) && s->v[SV_STATUS].v == ST_QUICK);
}

/* Ready (or not known not to be) in R, N, D or B. */
static bool
drive_ready(const struct sessions *s)
{
	double g = val(s, SV_GEAR);

	return g >= GEAR_R && g <= GEAR_B && !(have(s, SV_READY) && s->v[SV_READY].v == 0);
}

static void
charge_on(struct sessions *s, int64_t t)
{
	if (!s->open || s->cur.kind != SESS_CHARGE) {
		begin_active(s, SESS_CHARGE, t);
		/* its type as known now, in the start event just emitted too: a
		 * writer tags its points with it (DESIGN.md "Session measurements") */
		if (qc_now(s, t) && s->nev > 0 && s->ev[s->nev - 1].phase == SESS_START)
			s->ev[s->nev - 1].s.charge_type = CT_QC;
	} else if (s->in_tail)
		tail_merge(s); /* interrupted and resumed: one session */
	if (qc_now(s, t))
		s->cur.charge_type = CT_QC;
	s->last_charge_ns = t;
	s->finished = false;
}

/* A target below 100 % reached (within 2 %: the true SOC of 0x55B). */
static bool
target_reached(const struct sessions *s)
{
	double tg = val(s, SV_TARGET), soc = s->cur.p1.soc;

	return tg < 100 && soc >= tg - 2;
}

/* A charge that is not charging: it ends when the charger says it
 * finished, when the car drives off, or after a long pause. 1: it ended. */
static int
charge_off(struct sessions *s, int64_t t, bool moving)
{
	if (!s->in_tail)
		tail_start(s, s->last_charge_ns);
	if (fresh(s, SV_STATUS, t) && s->v[SV_STATUS].v == ST_FINISHED)
		s->finished = true;
	if (s->finished)
		s->cur.end_reason = val(s, SV_TARGET) < 100 ? END_TARGET : END_FULL;
	else if (moving)
		s->cur.end_reason = target_reached(s) ? END_TARGET : END_UNPLUGGED;
	else if (fresh(s, SV_STATUS, t) && t - s->last_charge_ns >= PAUSE_MAX_NS)
		s->cur.end_reason = target_reached(s) ? END_TARGET : END_INTERRUPTED;
	else
		return 0;
	end_into_park(s, true);
	return 1;
}

static void
trip_rules(struct sessions *s, int64_t t, bool ready, bool moving)
{
	if (ready || moving) {
		if (s->in_tail)
			tail_merge(s); /* a stop, not the end */
	} else if (!s->in_tail)
		tail_start(s, t); /* in P or not ready: the trip may be over */
	else if (t - s->tail_ns >= s->cfg.trip_end_ns)
		end_into_park(s, true);
}

static void
evaluate(struct sessions *s, int64_t t)
{
	bool ready = drive_ready(s);
	bool moving = val(s, SV_SPEED) >= MOVING_KMH;
	int k = s->open ? s->cur.kind : SESS_NONE;

	s->charging = charging_now(s, t);
	if (s->charging) {
		charge_on(s, t);
		return;
	}
	if (k == SESS_CHARGE && !charge_off(s, t, moving))
		return;
	k = s->open ? s->cur.kind : SESS_NONE;
	if (k == SESS_TRIP) {
		trip_rules(s, t, ready, moving);
		return;
	}
	/* parked (or nothing known yet): ready in a gear may begin a trip */
	if (ready && !s->in_tail)
		tail_start(s, t);
	else if (!ready && s->in_tail)
		tail_merge(s);
	if (moving)
		begin_active(s, SESS_TRIP, t);
}

/* The first frame time at which the rules could decide otherwise on the
 * same values: a charger value goes stale, a trip's or a charge's tail
 * reaches its limit. Early is harmless: they decide the same again. */
static int64_t
rules_due(const struct sessions *s, int64_t t)
{
	int64_t at = INT64_MAX;

	if (fresh(s, SV_STATUS, t))
		at = s->v[SV_STATUS].t + FRESH_NS + 1;
	if (fresh(s, SV_QC_I, t) && s->v[SV_QC_I].t + FRESH_NS + 1 < at)
		at = s->v[SV_QC_I].t + FRESH_NS + 1;
	if (s->open && s->in_tail && s->cur.kind == SESS_TRIP && s->tail_ns + s->cfg.trip_end_ns < at)
		at = s->tail_ns + s->cfg.trip_end_ns;
	if (s->open && s->in_tail && s->cur.kind == SESS_CHARGE && s->last_charge_ns + PAUSE_MAX_NS < at)
		at = s->last_charge_ns + PAUSE_MAX_NS;
	return at;
}

/* The rules, when their inputs changed or a time limit may have passed;
 * otherwise they would decide what they decided (a fixed point), and only
 * a charge's last charging moment moves on. */
static void
rules(struct sessions *s, int64_t t)
{
	if (s->rules_dirty || t >= s->rules_at) {
		evaluate(s, t);
		s->rules_dirty = false;
		s->rules_at = rules_due(s, t);
	} else if (s->charging)
		s->last_charge_ns = t; /* as charge_on() */
}

/* ---- per frame ---- */

/* The span of dt_ns that ends at t, at the values held over all of it. */
static void
integrate_span(struct sessions *s, int64_t dt_ns, int64_t t)
{
	struct sess_acc *a = target(s);
	double dt = (double)dt_ns / 1e9, v, pt;

	if (a == NULL)
		return;
	if (have(s, SV_SPEED)) {
		v = s->v[SV_SPEED].v;
		a->dist_km += v * dt / 3600;
		if (v >= MOVING_KMH)
			a->drive_s += dt;
	}
	if (have(s, SV_CUR))
		a->ah += s->v[SV_CUR].v * dt / 3600;
	if (isfinite(pt = pack_temp(s))) {
		a->temp_sum += pt * dt;
		a->temp_s += dt;
	}
	if (have(s, SV_AMB)) {
		a->amb_sum += s->v[SV_AMB].v * dt;
		a->amb_s += dt;
	}
	if (have(s, SV_CLIMATE))
		a->climate_kwh += s->v[SV_CLIMATE].v * dt / 3600;
	if (!s->charging)
		return;
	a->charge_s += dt;
	/* fresh at t is fresh over the span: a charger value's update
	 * integrates first, and its going stale is due (frame_due) */
	if (fresh(s, SV_QC_V, t) && fresh(s, SV_QC_I, t)) {
		a->qc_kwh += s->v[SV_QC_V].v * s->v[SV_QC_I].v * dt / 3.6e6;
		a->qc_s += dt;
	}
}

/* The pending span up to frame time t (the last frame's, or the current
 * one's before its updates): no step in it is longer than STEP_MAX_NS
 * (a frame after a longer gap takes the whole path: sessions_frame). */
static void
integrate_to(struct sessions *s, int64_t t)
{
	if (t <= s->int_t)
		return;
	if (s->have_t)
		integrate_span(s, t - s->int_t, t);
	s->int_t = t;
}

/* The step from the last frame to a frame at t after any gap (the whole
 * path): at most STEP_MAX_NS of it counts. */
static void
integrate_step(struct sessions *s, int64_t t)
{
	if (s->have_t && t > s->last_t)
		integrate_span(s, t - s->last_t > STEP_MAX_NS ? STEP_MAX_NS : t - s->last_t, t);
	s->int_t = t;
}

/* The times that follow each frame, as of the last frame handled (t): the
 * day's and the open session's latest time, a charge's last charging
 * moment. Before the rules, an event or a save read them. */
static void
settle(struct sessions *s, int64_t t)
{
	if (s->day_open)
		s->day.end_ns = t;
	if (s->charging)
		s->last_charge_ns = t; /* as charge_on() */
	if (s->open && !s->in_tail)
		s->cur.end_ns = t;
}

void
sessions_flush(struct sessions *s)
{
	integrate_to(s, s->last_t);
	settle(s, s->last_t);
}

/* An AC charge's pack energy at the tariff's price of the moment. */
static void
price_energy(struct sessions *s, struct sess_acc *a, double net_kwh, int64_t t)
{
	if (!s->ac_priced)
		return;
	if (t >= s->price_until || t < s->price_until - SEC(60))
		s->price_ok = tariff_price_at(s->cfg.tariff, t, &s->price, &s->price_until) == 0;
	if (s->price_ok)
		a->cost += net_kwh * s->price;
	else
		a->unpriced_kwh += net_kwh;
}

static inline void
energy(struct sessions *s, bool out, double v, int64_t t)
{
	bool *h = out ? &s->have_eo : &s->have_ei;
	double *last = out ? &s->eo_last : &s->ei_last, d = v - *last;
	struct sess_acc *a = target(s);

	if (*h && !(d >= 0 && d <= E_JUMP_KWH))
		s->energy_jumps++; /* a restored or reset counter: not energy */
	else if (*h && a != NULL) {
		*(out ? &a->e_out : &a->e_in) += d;
		if (s->open && s->cur.kind == SESS_CHARGE)
			price_energy(s, a, out ? -d : d, t);
	}
	*h = true;
	*last = v;
}

/* The day's battery figures. */
static void
absorb_day(struct sessions *s, unsigned id, double v)
{
	struct session *d = &s->day;

	switch (id) {
	case SIG_battery_soh_pct:
		d->soh = v;
		break;
	case SIG_battery_capacity_bars:
		d->bars = v;
		break;
	case SIG_battery_gids_full:
		d->gids_full = v;
		break;
	case SIG_battery_hx_pct:
		d->hx = v;
		break;
	case SIG_battery_ah:
		d->ahr = v;
		break;
	case SIG_vehicle_aux_battery_v:
		lower_to(&d->a.aux_min, v);
		break;
	case SIG_cells_voltage_delta_mv:
		if (have(s, SV_CUR) && fabs(s->v[SV_CUR].v) < REST_A)
			d->cells_delta = v;
		break;
	}
}

/* What a signal is to the module, by id: most of a frame's updates are
 * none of these, and cost one look-up. */
enum {
	R_SLOT = 1,	/* held in s->v[slot] */
	R_POINT = 2,	/* a start or end value (struct sess_point) */
	R_PEAK = 4,	/* an extreme of the open span */
	R_DAY = 8,	/* a battery_daily figure */
	R_ENERGY = 16,	/* one of the decoder's energy counters */
	R_CLIMATE = 32, /* a slot only while the signal is published */
	R_RULE = 64,	/* the rules read it (rule_input_changed) */
	R_TEMP = 128,	/* a pack temperature (pack_temp_of) */
	R_INT = 256,	/* integrated (integrate_span): the span ends before it changes */
	R_FRESH = 512,	/* its time is read (fresh()): every update counts, the same value too */
};

struct role {
	uint8_t slot;
	uint16_t is;
};

#define SLOT(k, r) {(k), R_SLOT | (r)}
static const struct role roles[SIG_ID_MAX] = {
    [SIG_vehicle_speed_kmh] = SLOT(SV_SPEED, R_PEAK | R_RULE | R_INT),
    [SIG_vehicle_gear] = SLOT(SV_GEAR, R_RULE),
    [SIG_vehicle_ready] = SLOT(SV_READY, R_RULE),
    [SIG_battery_soc_pct] = SLOT(SV_SOC, R_POINT),
    [SIG_battery_gids] = SLOT(SV_GIDS, R_POINT),
    [SIG_charge_status] = SLOT(SV_STATUS, R_RULE | R_FRESH),
    [SIG_charge_qc_voltage_v] = SLOT(SV_QC_V, R_INT | R_FRESH),
    [SIG_charge_qc_current_a] = SLOT(SV_QC_I, R_RULE | R_INT | R_FRESH),
    [SIG_battery_current_a] = SLOT(SV_CUR, R_INT),
    [SIG_battery_power_kw] = SLOT(SV_POWER, R_PEAK),
    [SIG_battery_temp_avg_c] = SLOT(SV_TEMP, R_POINT | R_PEAK | R_TEMP | R_INT),
    [SIG_cells_temp_1_c] = SLOT(SV_CT1, R_POINT | R_PEAK | R_TEMP | R_INT),
    [SIG_cells_temp_2_c] = SLOT(SV_CT2, R_POINT | R_PEAK | R_TEMP | R_INT),
    [SIG_cells_temp_3_c] = SLOT(SV_CT3, R_POINT | R_PEAK | R_TEMP | R_INT),
    [SIG_cells_temp_4_c] = SLOT(SV_CT4, R_POINT | R_PEAK | R_TEMP | R_INT),
    [SIG_climate_ambient_c] = SLOT(SV_AMB, R_INT),
    [SIG_vehicle_aux_battery_v] = SLOT(SV_AUX, R_POINT | R_PEAK | R_DAY),
    [SIG_vehicle_odometer_km] = SLOT(SV_ODO, R_POINT),
    [SIG_battery_energy_remaining_kwh] = SLOT(SV_REMAIN, R_POINT),
    [SIG_charge_target_soc_pct] = SLOT(SV_TARGET, 0),
    [SIG_position_lat_deg] = SLOT(SV_LAT, R_POINT),
    [SIG_position_lon_deg] = SLOT(SV_LON, R_POINT),
    [SIG_climate_power_kw] = SLOT(SV_CLIMATE, R_CLIMATE | R_INT),
    [SIG_battery_soh_pct] = {0, R_DAY},
    [SIG_battery_capacity_bars] = {0, R_DAY},
    [SIG_battery_gids_full] = {0, R_DAY},
    [SIG_battery_hx_pct] = {0, R_DAY},
    [SIG_battery_ah] = {0, R_DAY},
    [SIG_cells_voltage_delta_mv] = {0, R_DAY},
    [SIG_battery_energy_out_kwh] = {0, R_ENERGY},
    [SIG_battery_energy_in_kwh] = {0, R_ENERGY},
};
#undef SLOT

static const struct role *
role_of(unsigned id)
{
	static const struct role none;

	return id < SIG_ID_MAX ? &roles[id] : &none;
}

static void
peaks(struct sess_acc *a, bool chg, double pt, int k, double v)
{
	if (k == SV_SPEED)
		raise_to(&a->speed_max, v);
	else if (k == SV_POWER) /* a charge's power is what goes in */
		raise_to(&a->power_max, chg ? -v : v);
	else if (k == SV_AUX)
		lower_to(&a->aux_min, v);
	else if (k == SV_TEMP || (k >= SV_CT1 && k <= SV_CT4))
		raise_to(&a->temp_max, pt);
}

/* The same double, bit for bit (a -0 is not a 0 in the JSON). */
static bool
same(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Can the rules decide otherwise with v (at t) in slot k than they did?
 * They read whether the car moves, its gear and ready state, the charger's
 * state and whether the QC current flows, the last two only while fresh. */
static bool
rule_input_changed(const struct sessions *s, int k, double v, int64_t t)
{
	const struct sess_val *x = &s->v[k];

	if (!x->have)
		return true;
	switch (k) {
	case SV_SPEED:
		return (x->v >= MOVING_KMH) != (v >= MOVING_KMH);
	case SV_QC_I:
		return t - x->t > FRESH_NS || (x->v >= QC_MIN_A) != (v >= QC_MIN_A);
	case SV_STATUS:
		return t - x->t > FRESH_NS || !(x->v == v);
	}
	return !(x->v == v);
}

/* What a frame's updates were to the module: their roles (R_*), and where
 * the ones that may raise a peak are (u[pk0 .. pk1)). */
struct seen {
	unsigned is;
	size_t pk0, pk1;
};

/* The frame's updates (at t) into the values. Inlined into its two
 * callers: no call, no struct returned through memory, on the frame path. */
static inline __attribute__((always_inline)) struct seen
absorb(struct sessions *s, int64_t t, const struct sig_update *u, size_t n)
{
	struct seen seen = {0, 0, 0};

	for (size_t i = 0; i < n; i++) {
		const struct role *r = role_of(u[i].id);
		unsigned is = r->is;
		double v = u[i].value;
		struct sess_val *x;
		bool same_v;
		if (is == 0)
			continue;
		seen.is |= is;
		if (is & (R_ENERGY | R_DAY | R_CLIMATE)) {
			if (is & R_ENERGY) {
				energy(s, u[i].id == SIG_battery_energy_out_kwh, v, t);
				continue;
			}
			if (is & R_DAY)
				absorb_day(s, u[i].id, v);
			if ((is & R_CLIMATE) && !sig_published(sig_by_id(u[i].id)))
				continue; /* counted only while it is a published signal */
		}
		if (is & R_PEAK) {
			if (seen.pk1 == 0)
				seen.pk0 = i;
			seen.pk1 = i + 1;
		}
		x = &s->v[r->slot];
		same_v = x->have && same(x->v, v);
		if (same_v && !(is & R_FRESH))
			continue; /* the value held again: nothing reads when it came */
		if (is & R_INT)
			integrate_to(s, t); /* the span so far, at the values held */
		if ((is & R_RULE) && rule_input_changed(s, r->slot, v, t))
			s->rules_dirty = true;
		if ((is & R_POINT) && !same_v)
			s->points_stale = true; /* a start or end value changed */
		if (is & R_SLOT) {
			x->v = v;
			x->t = t;
			x->have = true;
		}
	}
	if (seen.is & R_TEMP)
		s->pt = pack_temp_of(s);
	return seen;
}

/* A frame's instantaneous values belong to the session open after the
 * rules have seen it (an energy step, to the one before: absorb()). */
static void
absorb_peaks(struct sessions *s, const struct sig_update *u, struct seen seen)
{
	struct sess_acc *a = target(s);
	bool chg = s->open && s->cur.kind == SESS_CHARGE;

	if (a == NULL)
		return;
	for (size_t i = seen.pk0; i < seen.pk1; i++) {
		const struct role *r = role_of(u[i].id);
		if (r->is & R_PEAK)
			peaks(a, chg, s->pt, r->slot, u[i].value);
	}
}

/* The open session's running totals, the tail excluded (every UPDATE_NS). */
static void
update_event(struct sessions *s, int64_t t)
{
	struct session x = s->cur;

	if (s->in_tail) {
		x.end_ns = s->tail_ns;
		x.p1 = s->tail_p;
	}
	emit(s, SESS_UPDATE, &x, t);
	s->next_update_ns = t + UPDATE_NS;
}

/* The first frame after a restore: a trip not seen for longer than
 * trip_end_s ended when it was last seen; anything else continues. */
static void
recover(struct sessions *s, int64_t t)
{
	s->restored = false;
	s->points_stale = true;
	s->rules_dirty = true;
	if (!s->open)
		return;
	if (s->cur.kind == SESS_TRIP && t - s->last_t > s->cfg.trip_end_ns) {
		s->cur.recovery = REC_CLOSED;
		end_into_park(s, true);
		return;
	}
	s->cur.recovery = REC_CONTINUED;
}

void
sessions_init(struct sessions *s, const struct sessions_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->rules_dirty = true;
	s->due_ns = INT64_MIN;
	s->pt = NAN;
	s->ac_priced = cfg->tariff != NULL && tariff_has_ac(cfg->tariff);
	acc_init(&s->tail);
	/* unknown, also for a checkpoint from before a figure existed */
	s->cur.p0 = s->cur.p1 = s->tail_p = s->day.p0 = s->day.p1 = point_unknown();
}

/* What comes before a frame's values, seldom: the first frame, the first
 * after a restore, a frame gap that was a sleep, time going back. */
static void
frame_start(struct sessions *s, int64_t t)
{
	if (s->have_t && t < s->last_t)
		s->rules_dirty = true; /* out of order: decide again */
	if (s->restored)
		recover(s, t);
	else if (s->have_t && t - s->last_t >= s->cfg.asleep_ns)
		sessions_idle(s, s->last_t); /* a silent bus slept */
	if (!s->have_t) {
		s->data_start = t;
		s->data_known = true;
	}
}

/* The earliest frame time at which a frame needs more than its values and
 * the integration (frame_rest): the day rolls, the rules' time limit, the
 * open session's update. INT64_MIN: the next frame takes the whole path. */
static int64_t
frame_due(const struct sessions *s)
{
	int64_t at = s->rules_at;

	if (s->restored || !s->have_t || !s->day_open)
		return INT64_MIN;
	if (s->day_end_ns < at)
		at = s->day_end_ns;
	if (s->open && s->next_update_ns < at)
		at = s->next_update_ns;
	/* the QC's V x I stops counting when its voltage goes stale (its
	 * current's is the rules' limit already: rules_due) */
	if (s->charging && fresh(s, SV_QC_V, s->last_t) && s->v[SV_QC_V].t + FRESH_NS + 1 < at)
		at = s->v[SV_QC_V].t + FRESH_NS + 1;
	return at;
}

/* What follows the values: the day, the rules, the peaks, the points, the
 * open session's end and update. */
static void
frame_rest(struct sessions *s, int64_t t, const struct sig_update *u, struct seen seen)
{
	if (!s->day_open || t >= s->day_end_ns)
		day_roll(s, t);
	s->day.end_ns = t;
	rules(s, t);
	if (seen.is & R_PEAK)
		absorb_peaks(s, u, seen);
	if (s->open && s->points_stale) {
		/* the points change only with their values (or a new session) */
		point_fill(s, &s->cur.p0);
		point_refresh(s, &s->cur.p1);
	}
	s->points_stale = false;
	if (s->open && !s->in_tail)
		s->cur.end_ns = t;
	if (s->open && t >= s->next_update_ns)
		update_event(s, t);
	s->due_ns = frame_due(s);
}

/* A frame after a restore, the first, one after a gap longer than an
 * integration step (a sleep among them) or time going back, or one at or
 * after a limit (s->due_ns): everything. Not inlined, nor frame_values:
 * the frames that are nothing to the module (most) then pay for no
 * register saves of theirs in sessions_frame. */
static void __attribute__((noinline))
frame_full(struct sessions *s, int64_t t, const struct sig_update *u, size_t n)
{
	sessions_flush(s);
	frame_start(s, t);
	integrate_step(s, t);
	s->have_t = true;
	s->last_t = t;
	frame_rest(s, t, u, absorb(s, t, u, n));
}

/* The values of a frame (at t, after one at prev) with updates the module
 * uses (first_used()). */
static void __attribute__((noinline))
frame_values(struct sessions *s, int64_t t, int64_t prev, const struct sig_update *u, size_t n)
{
	struct seen seen = absorb(s, t, u, n);

	if (s->rules_dirty || s->points_stale) {
		integrate_to(s, t);
		settle(s, prev);
		frame_rest(s, t, u, seen);
		return;
	}
	if (seen.is & R_PEAK)
		absorb_peaks(s, u, seen);
}

/* The first of a frame's updates the module uses (n: none); most are
 * nothing to it, one look-up each. */
static size_t
first_used(const struct sig_update *u, size_t n)
{
	size_t i = 0;

	while (i < n && role_of(u[i].id)->is == 0)
		i++;
	return i;
}

void
sessions_frame(struct sessions *s, int64_t t, const struct sig_update *u, size_t n)
{
	int64_t prev = s->last_t;
	size_t i;

	/* one comparison for a gap longer than a step (a sleep among them)
	 * and time going back (a huge gap unsigned), one for what is due (the
	 * day, the rules' limit, the update, a charger value going stale; or
	 * a restore, the first frame: INT64_MIN) */
	if (t >= s->due_ns || (uint64_t)(t - prev) > (uint64_t)STEP_MAX_NS) {
		frame_full(s, t, u, n);
		return;
	}
	/* otherwise the span goes on (integrate_to), and the times (settle) */
	s->last_t = t;
	if ((i = first_used(u, n)) < n)
		frame_values(s, t, prev, u + i, n - i); /* the ones before are nothing to it */
}

void
sessions_idle(struct sessions *s, int64_t t)
{
	sessions_flush(s);
	if (s->open && s->cur.kind == SESS_TRIP) {
		if (!s->in_tail)
			tail_start(s, t); /* it ends when the bus was last heard */
		end_into_park(s, true);	  /* a trip ends by sleep */
	} else if (s->in_tail && (!s->open || s->cur.kind == SESS_PARK))
		tail_merge(s); /* ready in a gear, but it never moved */
	for (int k = 0; k < SESS_NVAL; k++)
		s->v[k].have = false; /* after a sleep every value is learned again */
	s->charging = false;
	s->rules_dirty = true;
	s->pt = NAN;
	s->due_ns = INT64_MIN;
}

void
sessions_finish(struct sessions *s)
{
	bool off = have(s, SV_READY) && s->v[SV_READY].v == 0;

	sessions_flush(s);
	if (s->open && s->cur.kind != SESS_PARK) {
		/* a trip that ended with the car switched off is complete */
		s->cur.partial_end = !(s->cur.kind == SESS_TRIP && s->in_tail && off);
		end_into_park(s, s->in_tail);
	}
	if (s->open) {
		s->cur.partial_end = true;
		end(s, s->last_t, &s->cur.p1);
	}
	if (s->day_open) {
		s->day.partial_end = true;
		s->day.end_ns = s->last_t;
		emit(s, SESS_END, &s->day, s->last_t);
		s->day_open = false;
	}
	s->due_ns = INT64_MIN;
}
