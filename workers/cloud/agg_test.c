/*
 * The resolution aggregator: buckets, last values, min/max of power and
 * current, provisional records and their successors, resolution 0, the
 * checkpoint mark, and the promise that matters: stops, kill -9 and
 * restarts anywhere give the server the same points as one clean run.
 */
#include <math.h>
#include <stdlib.h>

#include "agg.h"
#include "t.h"

#define NS_MS 1000000LL
#define BASE_NS (1700000000LL * 1000000000LL)

/* ---- a deterministic sample stream ---- */

struct gen_sample {
	struct agg_sample s;
	uint32_t ids[8];
	double v[8];
};

/* seq 1..: 37 ms apart, with a quiet bus of 5 s after seq 300 */
static void
make_sample(uint64_t seq, struct gen_sample *g)
{
	size_t n = 0;
	int64_t t =
	    BASE_NS + 250 * NS_MS + (int64_t)seq * 37 * NS_MS + (seq > 300 ? 5000 * NS_MS : 0);
	g->ids[n] = SIG_battery_current_a;
	g->v[n++] = (double)((seq * 7919) % 401) - 200.5;
	g->ids[n] = SIG_battery_voltage_v;
	g->v[n++] = 350 + (double)(seq % 100) / 10;
	if (seq % 3 == 0) {
		g->ids[n] = SIG_battery_power_kw;
		g->v[n++] = (double)((seq * 31) % 97) - 40;
	}
	if (seq % 5 == 0) {
		g->ids[n] = SIG_vehicle_speed_kmh;
		g->v[n++] = (double)(seq % 130);
	}
	if (seq % 7 == 0) {
		g->ids[n] = SIG_motor_temp_c; /* provisional: never published */
		g->v[n++] = 42;
	}
	g->s = (struct agg_sample){.gen = 77,
				   .seq = seq,
				   .m = {.t_ns = t, .boot_ns = t - BASE_NS, .synced = true},
				   .ids = g->ids,
				   .values = g->v,
				   .n = n};
}

/* ---- a spool and a server, as far as the aggregator can tell ---- */

#define MAXREC 4096
#define KEYS (SIG_ID_MAX * 3)

struct rec {
	int64_t t;
	struct spool_value v[AGG_MAX_VALUES];
	size_t n;
	bool retired;
};

struct world {
	struct rec recs[MAXREC];
	size_t nrec, committed;
	struct agg_mark mark;
	bool have_mark;
	uint64_t superseded;
};

static void
spool_rec(struct world *w, struct agg *a, const struct agg_out *o)
{
	if (o->supersede) {
		CHECK(o->supersede_rid < w->nrec);
		CHECK(w->recs[o->supersede_rid].t == o->m.t_ns);
		w->recs[o->supersede_rid].retired = true;
		w->superseded++;
	}
	CHECK(w->nrec < MAXREC);
	struct rec *r = &w->recs[w->nrec];
	r->t = o->m.t_ns;
	r->n = o->n;
	r->retired = false;
	memcpy(r->v, o->v, o->n * sizeof(o->v[0]));
	if (o->provisional)
		agg_emitted(a, w->nrec);
	w->nrec++;
}

static void
commit(struct world *w, struct agg *a)
{
	w->committed = w->nrec;
	agg_checkpoint(a, &w->mark);
	w->have_mark = true;
}

/* The server's final state: records applied in id order (skipping retired
 * ones unless everything was delivered at once), fields overwritten. */
struct server {
	int64_t t[MAXREC];
	double val[MAXREC][KEYS];
	bool have[MAXREC][KEYS];
	size_t n;
};

static size_t
point(struct server *s, int64_t t)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->t[i] == t)
			return i;
	s->t[s->n] = t;
	memset(s->have[s->n], 0, sizeof(s->have[0]));
	return s->n++;
}

/* eager: each record sent as it was made (retirement comes too late);
 * else sent later, newest first (live data first), retired ones not. */
static void
deliver_all(const struct world *w, bool eager, struct server *s)
{
	s->n = 0;
	for (size_t o = 0; o < w->nrec; o++) {
		size_t i = eager ? o : w->nrec - 1 - o;
		if (w->recs[i].retired && !eager)
			continue;
		size_t p = point(s, w->recs[i].t);
		for (size_t k = 0; k < w->recs[i].n; k++) {
			const struct spool_value *v = &w->recs[i].v[k];
			s->val[p][v->id * 3 + v->kind] = v->v;
			s->have[p][v->id * 3 + v->kind] = true;
		}
	}
}

/* One live record per bucket: every other was superseded. */
static void
check_one_record_per_bucket(const struct world *w)
{
	for (size_t i = 0; i < w->nrec; i++)
		for (size_t j = i + 1; j < w->nrec; j++)
			if (!w->recs[i].retired && !w->recs[j].retired)
				CHECK(w->recs[i].t != w->recs[j].t);
}

static void
check_same_server(const struct server *a, const struct server *b)
{
	CHECK_INT(a->n, ==, b->n);
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;
		while (j < b->n && b->t[j] != a->t[i])
			j++;
		CHECK(j < b->n);
		for (int k = 0; k < KEYS; k++) {
			CHECK_INT(a->have[i][k], ==, b->have[j][k]);
			if (a->have[i][k])
				CHECK_DBL(a->val[i][k], b->val[j][k], 0);
		}
	}
}

/* ---- runs ---- */

enum event { EV_NONE, EV_STOP, EV_KILL, EV_IDLE };

/* Feed seq 1..n; events[seq] happens after that sample; commits every 7. */
static void
run(struct world *w, uint64_t n, const enum event *events)
{
	static struct agg a;
	struct agg_out o;
	struct gen_sample g;
	memset(w, 0, sizeof(*w));
	agg_init(&a, 1000 * NS_MS);
	for (uint64_t seq = 1; seq <= n; seq++) {
		make_sample(seq, &g);
		if (agg_add(&a, &g.s, &o))
			spool_rec(w, &a, &o);
		if (seq % 7 == 0)
			commit(w, &a);
		enum event ev = events ? events[seq] : EV_NONE;
		if (ev == EV_IDLE && agg_flush(&a, &o))
			spool_rec(w, &a, &o);
		if (ev == EV_STOP) {
			if (agg_flush(&a, &o))
				spool_rec(w, &a, &o);
			commit(w, &a);
		}
		if (ev == EV_KILL)
			w->nrec = w->committed; /* what was not committed is gone */
		if (ev == EV_STOP || ev == EV_KILL) {
			agg_init(&a, 1000 * NS_MS);
			agg_resume(&a, &w->mark);
			seq = w->mark.seq; /* the journal hands the rest again */
			events = NULL;	   /* once: a restart must not stop again */
			/* retirements made by lost records stay: the worst case */
		}
	}
	if (agg_flush(&a, &o))
		spool_rec(w, &a, &o);
}

static void
test_agg_bucket_values_min_max_and_order(void)
{
	static struct agg a;
	struct agg_out o;
	struct gen_sample g;
	agg_init(&a, 1000 * NS_MS);
	int closes = 0;
	double lastv = 0, mn = 1e9, mx = -1e9;
	for (uint64_t seq = 1; seq <= 24; seq++) { /* 0.287 .. 1.138 s */
		make_sample(seq, &g);
		int rc = agg_add(&a, &g.s, &o);
		if (rc) {
			closes++;
			CHECK_INT(seq, ==, 21); /* the first sample of the next second */
			CHECK_INT(o.m.t_ns, ==, BASE_NS);
			CHECK(!o.provisional && !o.supersede);
			/* current: value, min, max; voltage; power: value, min, max; speed */
			CHECK_INT(o.n, ==, 8);
			CHECK_INT(o.v[0].id, ==, SIG_battery_current_a);
			CHECK_INT(o.v[0].kind, ==, SPK_VALUE);
			CHECK_DBL(o.v[0].v, lastv, 0);
			CHECK_INT(o.v[1].kind, ==, SPK_MIN);
			CHECK_DBL(o.v[1].v, mn, 0);
			CHECK_INT(o.v[2].kind, ==, SPK_MAX);
			CHECK_DBL(o.v[2].v, mx, 0);
			for (size_t i = 1; i < o.n; i++)
				CHECK(o.v[i].id > o.v[i - 1].id || o.v[i].kind > o.v[i - 1].kind);
			CHECK_INT(o.m.boot_ns, ==, 0); /* the bucket's start in boot time */
		}
		if (seq <= 20) {
			lastv = g.v[0];
			mn = fmin(mn, g.v[0]);
			mx = fmax(mx, g.v[0]);
		}
	}
	CHECK_INT(closes, ==, 1);
	CHECK_INT(a.st.values_skipped, ==, 3); /* motor_temp_c at 7, 14, 21 */
	struct agg_mark m;
	agg_checkpoint(&a, &m);
	CHECK_INT(m.seq, ==, 20); /* the open bucket starts at 21 */
	CHECK_INT(m.gen, ==, 77);
	CHECK(!m.prov);
}

static void
test_agg_provisional_then_growth_supersedes(void)
{
	static struct agg a;
	struct agg_out o;
	struct gen_sample g;
	struct agg_mark m;
	agg_init(&a, 1000 * NS_MS);
	for (uint64_t seq = 1; seq <= 5; seq++) {
		make_sample(seq, &g);
		CHECK_INT(agg_add(&a, &g.s, &o), ==, 0);
	}
	CHECK_INT(agg_flush(&a, &o), ==, 1);
	CHECK(o.provisional && !o.supersede);
	agg_emitted(&a, 41);
	CHECK_INT(agg_flush(&a, &o), ==, 0); /* nothing new */
	agg_checkpoint(&a, &m);
	CHECK(m.prov && m.prov_rid == 41 && m.prov_t_ns == BASE_NS && m.seq == 0);
	make_sample(6, &g);
	agg_add(&a, &g.s, &o);
	for (uint64_t seq = 7; seq <= 21; seq++) {
		make_sample(seq, &g);
		if (agg_add(&a, &g.s, &o)) {
			CHECK_INT(seq, ==, 21);
			CHECK(!o.provisional && o.supersede && o.supersede_rid == 41);
		}
	}
	/* an untouched provisional record stands: no second record */
	agg_init(&a, 1000 * NS_MS);
	make_sample(1, &g);
	agg_add(&a, &g.s, &o);
	CHECK_INT(agg_flush(&a, &o), ==, 1);
	agg_emitted(&a, 7);
	make_sample(21, &g);
	CHECK_INT(agg_add(&a, &g.s, &o), ==, 0);
	CHECK_INT(a.st.superseded, ==, 0);
}

static void
test_agg_restarts_give_the_same_points(void)
{
	static struct world ref, w;
	static struct server s_ref, s1, s2;
	static enum event ev[700];
	run(&ref, 600, NULL);
	deliver_all(&ref, false, &s_ref);
	CHECK_INT(s_ref.n, >, 20);
	CHECK_INT(ref.superseded, ==, 0);
	srand(12345);
	for (int trial = 0; trial < 300; trial++) {
		memset(ev, 0, sizeof(ev));
		for (int k = 0; k < 6; k++)
			ev[1 + rand() % 599] = (enum event)(1 + rand() % 3);
		run(&w, 600, ev);
		check_one_record_per_bucket(&w);
		deliver_all(&w, false, &s1); /* sent after the restarts */
		deliver_all(&w, true, &s2);  /* each record sent at once */
		check_same_server(&s_ref, &s1);
		check_same_server(&s_ref, &s2);
	}
}

static void
test_agg_new_generation_and_backwards_time_close(void)
{
	static struct agg a;
	struct agg_out o;
	struct gen_sample g;
	agg_init(&a, 1000 * NS_MS);
	make_sample(30, &g);
	agg_add(&a, &g.s, &o);
	make_sample(31, &g);
	g.s.gen = 78; /* a new journal */
	CHECK_INT(agg_add(&a, &g.s, &o), ==, 1);
	make_sample(2, &g); /* earlier than the open bucket */
	g.s.gen = 78;
	CHECK_INT(agg_add(&a, &g.s, &o), ==, 1);
	CHECK_INT(a.st.out_of_order, ==, 1);
	CHECK_INT(o.m.t_ns, ==, BASE_NS + 1000 * NS_MS);
}

static void
test_agg_resolution_zero_passes_samples(void)
{
	static struct agg a;
	struct agg_out o;
	struct gen_sample g;
	struct agg_mark m;
	agg_init(&a, 0);
	make_sample(21, &g);
	CHECK_INT(agg_add(&a, &g.s, &o), ==, 1);
	CHECK_INT(o.n, ==, 3); /* current, voltage, power; not motor_temp_c */
	CHECK_INT(o.m.t_ns, ==, g.s.m.t_ns);
	CHECK_INT(o.v[2].id, ==, SIG_battery_power_kw);
	CHECK_INT(o.v[2].kind, ==, SPK_VALUE);
	agg_checkpoint(&a, &m);
	CHECK_INT(m.seq, ==, 21);
	CHECK_INT(agg_flush(&a, &o), ==, 0);
	uint32_t id = SIG_motor_temp_c;
	double v = 1;
	struct agg_sample only = {.gen = 77, .seq = 22, .ids = &id, .values = &v, .n = 1};
	CHECK_INT(agg_add(&a, &only, &o), ==, 0);
	agg_checkpoint(&a, &m);
	CHECK_INT(m.seq, ==, 22);
}

static void
test_agg_negative_times_floor(void)
{
	static struct agg a;
	struct agg_out o;
	uint32_t id = SIG_battery_voltage_v;
	double v = 360;
	agg_init(&a, 1000 * NS_MS);
	struct agg_sample s = {
	    .gen = 1, .seq = 1, .m = {.t_ns = -1500 * NS_MS}, .ids = &id, .values = &v, .n = 1};
	agg_add(&a, &s, &o);
	CHECK_INT(agg_flush(&a, &o), ==, 1);
	CHECK_INT(o.m.t_ns, ==, -2000 * NS_MS);
}

static void
test_agg_mark_roundtrip_and_refusal(void)
{
	uint8_t buf[AGG_MARK_LEN];
	struct agg_mark m = {.gen = 0x0102030405060708ULL,
			     .seq = 99,
			     .prov = true,
			     .prov_t_ns = -5,
			     .prov_rid = 1234567},
			r;
	agg_mark_encode(buf, &m);
	CHECK_INT(agg_mark_decode(buf, sizeof(buf), &r), ==, 0);
	CHECK(r.gen == m.gen && r.seq == 99 && r.prov && r.prov_t_ns == -5 &&
	      r.prov_rid == 1234567);
	CHECK_INT(agg_mark_decode(buf, sizeof(buf) - 1, &r), ==, -1);
	buf[18] = 2;
	CHECK_INT(agg_mark_decode(buf, sizeof(buf), &r), ==, -1);
	buf[18] = 0;
	buf[0] = 'S'; /* the influx writer's mark */
	CHECK_INT(agg_mark_decode(buf, sizeof(buf), &r), ==, -1);
}

T_MAIN(T(test_agg_bucket_values_min_max_and_order), T(test_agg_provisional_then_growth_supersedes),
       T(test_agg_restarts_give_the_same_points),
       T(test_agg_new_generation_and_backwards_time_close),
       T(test_agg_resolution_zero_passes_samples), T(test_agg_negative_times_floor),
       T(test_agg_mark_roundtrip_and_refusal))
