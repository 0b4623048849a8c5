/*
 * A stand-in for the can worker in the writers' tests: publishes Samples
 * into the journal and on samples.ipc exactly as leafmon-can does (seq
 * continuing the journal, topic 's'), with values that are a pure function
 * of seq so a test can compute every expected point. Installed as
 * leafmon-can in a test's worker_dir. LEAFMON_SAMPLEPUB configures it:
 *   count=N      publish seq 1..N, then stay idle (default 1000)
 *   rate=R       samples per second (default 1000)
 *   base_ms=T    t_ns of seq s is T ms + s * step_ms (default: now at start)
 *   step_ms=S    (default 10)
 * The values (tests/integration/test_influx.py mirrors them):
 *   every sample      battery_voltage_v = 350 + (s % 1000) / 10
 *                     battery_current_a = ((s * 7) % 4001 - 2000) / 4
 *                     battery_gids      = 100 + s % 200            (int)
 *   s even            motor_rpm = (s * 13) % 10000 (int), motor_torque_nm = s % 300 - 100.5
 *   s % 5 == 0        vehicle_gear = s % 5 (enum), vehicle_ready = s % 2 (bool),
 *                     vehicle_speed_kmh = (s % 1300) / 10
 *   s % 10 == 0       charge_status = (s / 10) % 9 (enum), charge_active = (s / 10) % 2
 *   s % 3 == 0        motor_temp_c = 42 (provisional: must never be written)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "journal.h"
#include "log.h"
#include "msg.h"
#include "signals.h"
#include "util.h"
#include "worker.h"

struct pub {
	struct worker w;
	struct journal *j;
	nng_socket sock;
	struct loop_timer *timer;
	uint64_t count;
	double rate;
	int64_t base_ns, step_ns, started_ns;
	uint64_t first_seq, published;
};

static size_t
values(uint64_t s, uint32_t *ids, double *v)
{
	size_t n = 0;
#define PUT(sig, val)                                                                              \
	do {                                                                                       \
		ids[n] = SIG_##sig;                                                                \
		v[n++] = (val);                                                                    \
	} while (0)
	PUT(battery_voltage_v, 350 + (double)(s % 1000) / 10);
	PUT(battery_current_a, ((double)((s * 7) % 4001) - 2000) / 4);
	PUT(battery_gids, (double)(100 + s % 200));
	if (s % 2 == 0) {
		PUT(motor_rpm, (double)((s * 13) % 10000));
		PUT(motor_torque_nm, (double)(s % 300) - 100.5);
	}
	if (s % 5 == 0) {
		PUT(vehicle_gear, (double)(s % 5));
		PUT(vehicle_ready, (double)(s % 2));
		PUT(vehicle_speed_kmh, (double)(s % 1300) / 10);
	}
	if (s % 10 == 0) {
		PUT(charge_status, (double)((s / 10) % 9));
		PUT(charge_active, (double)((s / 10) % 2));
	}
	if (s % 3 == 0)
		PUT(motor_temp_c, 42);
#undef PUT
	return n;
}

static int
publish(struct pub *p, uint64_t seq)
{
	Sample m = LEAFMON__V1__SAMPLE__INIT;
	uint32_t ids[16];
	double v[16];
	uint8_t buf[512];
	m.generation = journal_generation(p->j);
	m.seq = seq;
	m.t_ns = p->base_ns + (int64_t)seq * p->step_ns;
	m.n_ids = m.n_values = values(seq, ids, v);
	m.ids = ids;
	m.values = v;
	size_t len = leafmon__v1__sample__pack(&m, buf);
	if (journal_append(p->j, seq, buf, len) < 0)
		return -1;
	bus_publish(p->sock, TOPIC_SAMPLE, &m.base);
	p->published++;
	return 0;
}

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct pub *p = arg;
	double elapsed = (double)(now_mono_ns() - p->started_ns) / 1e9;
	uint64_t due = (uint64_t)(elapsed * p->rate) + 1;
	while (p->published < due) {
		uint64_t seq = journal_next_seq(p->j);
		if (seq > p->count)
			return; /* done: stay idle, heartbeating */
		if (publish(p, seq) < 0)
			fatalx("journal append of seq %llu failed", (unsigned long long)seq);
	}
	loop_timer_after(t, 5 * NSEC_PER_MSEC);
}

static void
options(struct pub *p)
{
	const char *env = getenv("LEAFMON_SAMPLEPUB");
	char *copy = strdup(env ? env : ""), *save = NULL;
	p->count = 1000;
	p->rate = 1000;
	p->base_ns = now_real_ns() / NSEC_PER_SEC * NSEC_PER_SEC;
	p->step_ns = 10 * NSEC_PER_MSEC;
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		int64_t v;
		char *eq = strchr(kv, '=');
		if (eq == NULL || parse_i64(eq + 1, 0, INT64_MAX, &v) < 0)
			fatalx("LEAFMON_SAMPLEPUB: bad item '%s'", kv);
		*eq = '\0';
		if (strcmp(kv, "count") == 0)
			p->count = (uint64_t)v;
		else if (strcmp(kv, "rate") == 0)
			p->rate = (double)v;
		else if (strcmp(kv, "base_ms") == 0)
			p->base_ns = v * NSEC_PER_MSEC;
		else if (strcmp(kv, "step_ms") == 0)
			p->step_ns = v * NSEC_PER_MSEC;
		else
			fatalx("LEAFMON_SAMPLEPUB: unknown key '%s'", kv);
	}
	free(copy);
}

static void
on_hb(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct pub *p = arg;
	hb_counter(hb, "next_seq", (double)journal_next_seq(p->j));
	hb_counter(hb, "published", (double)p->published);
}

int
main(int argc, char **argv)
{
	static struct pub p;
	worker_init(&p.w, "can", argc, argv);
	options(&p);
	if (journal_open(&p.j, p.w.rundir, true) < 0 ||
	    bus_pub_listen(&p.sock, p.w.rundir, BUS_SAMPLES) != 0)
		fatal("publisher setup");
	worker_set_heartbeat(&p.w, on_hb, &p);
	p.started_ns = now_mono_ns();
	p.first_seq = journal_next_seq(p.j);
	p.published = 0;
	p.timer = loop_timer_new(p.w.loop, on_timer, &p);
	loop_timer_after(p.timer, 0);
	worker_ready(&p.w, "samplepub");
	return worker_run(&p.w);
}
