/*
 * leafmon-webfeed: a stand-in for the can worker in the web tests. Run by
 * leafmond as leafmon-can, it plays a deterministic drive-and-charge cycle:
 * every publish_interval_ms it writes every value into the snapshot and
 * publishes the changed ones as a Sample into the journal and on
 * samples.ipc, exactly as leafmon-can does (t_ns = the moment of capture).
 * LEAFMON_WEBFEED_CYCLE_S sets the cycle length (default 120 s: 2/3 drive,
 * 1/3 AC charge). LEAFMON_WEBFEED_CELLS=1 also keeps 96 cell voltages in
 * the snapshot (as a polled pack at rest has them), not published.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "journal.h"
#include "log.h"
#include "msg.h"
#include "signals.h"
#include "snap.h"
#include "util.h"
#include "worker.h"

#define NV 40

struct feed {
	struct worker w;
	struct snap *snap;
	struct journal *j;
	nng_socket pub;
	struct loop_timer *timer;
	int64_t start_ns;
	double cycle_s;
	int64_t interval_ns;
	double last[SIG_ID_MAX];
	bool seen[SIG_ID_MAX];
	uint64_t published;
	double energy_out;
	bool cells;
};

struct val {
	unsigned id;
	double v;
};

/* the car at time t (seconds since the feed started) */
static int
model(struct feed *f, double t, struct val *out)
{
	double phase = fmod(t, f->cycle_s) / f->cycle_s;
	bool charging = phase >= 2.0 / 3.0;
	double speed = charging ? 0 : fmax(0, 55 + 35 * sin(t / 7.0));
	double obc = 6.6 + 0.1 * sin(t * 3); /* a charger's output is never quite flat */
	double power = charging ? -obc : 2 + speed * 0.25 + 20 * sin(t / 3.0) * (speed > 5);
	double volts = 360 + 10 * sin(t / 50.0) - power * 0.3;
	double soc = 80 - fmod(t, 3600) / 3600 * 20;
	int n = 0;
#define V(sig, x) out[n++] = (struct val){SIG_##sig, (x)}
	V(vehicle_speed_kmh, round(speed * 10) / 10);
	V(battery_power_kw, round(power * 100) / 100);
	V(battery_voltage_v, round(volts * 10) / 10);
	V(battery_current_a, round(power * 1000 / volts * 10) / 10);
	V(battery_soc_pct, round(soc * 10) / 10);
	V(battery_soc_dash_pct, round(soc - 2));
	V(battery_gids, round(soc * 2.81));
	V(battery_gids_full, 281);
	V(battery_energy_remaining_kwh, round(soc * 2.81 * 0.08 * 10) / 10);
	V(battery_capacity_full_kwh, 22.5);
	V(battery_soh_pct, 87.5);
	V(battery_capacity_bars, 10);
	V(battery_charge_bars, round(soc / 100 * 12));
	V(battery_temp_max_c, round((24 + 3 * sin(t / 90.0)) * 10) / 10);
	V(battery_temp_avg_c, round((23 + 3 * sin(t / 90.0)) * 10) / 10);
	V(battery_temp_min_c, round((22 + 3 * sin(t / 90.0)) * 10) / 10);
	V(battery_main_relay_on, 1);
	V(battery_energy_out_kwh, round(f->energy_out * 1000) / 1000);
	V(motor_rpm, round(speed * 78));
	V(motor_torque_nm, round(power * 4 * 10) / 10);
	V(vehicle_gear, charging ? 0 : 3);
	V(vehicle_ready, !charging);
	V(vehicle_range_km, round(soc * 1.3));
	V(vehicle_aux_battery_v, round((charging ? 13.1 : 14.2) * 100) / 100);
	V(vehicle_units_miles, 0);
	V(vehicle_odometer_km, round((42000 + t * 0.01) * 10) / 10);
	V(climate_ambient_c, 14.5);
	V(charge_active, charging);
	V(charge_status, charging ? 3 : 0);
	V(charge_obc_power_kw, charging ? round(obc * 100) / 100 : 0);
	V(can_frames_total, round(t * 2000));
	V(can_frames_per_s, 2000);
	V(can_bus_asleep, 0);
#undef V
	return n;
}

static void
publish(struct feed *f, int64_t t_ns, const struct val *vs, int n)
{
	Sample s = LEAFMON__V1__SAMPLE__INIT;
	uint32_t ids[NV];
	double vals[NV];
	uint8_t buf[1 + 1024];
	int k = 0;
	for (int i = 0; i < n; i++) {
		unsigned id = vs[i].id;
		snap_write(f->snap, id, vs[i].v, t_ns, SNAP_VALID);
		if (f->seen[id] && f->last[id] == vs[i].v)
			continue;
		f->seen[id] = true;
		f->last[id] = vs[i].v;
		ids[k] = id;
		vals[k++] = vs[i].v;
	}
	if (k == 0)
		return;
	uint64_t seq = journal_next_seq(f->j);
	s.generation = journal_generation(f->j);
	s.seq = seq;
	s.t_ns = t_ns;
	s.n_ids = s.n_values = (size_t)k;
	s.ids = ids;
	s.values = vals;
	buf[0] = TOPIC_SAMPLE;
	size_t len = leafmon__v1__sample__pack(&s, buf + 1);
	if (journal_append(f->j, seq, buf + 1, len) == 0) {
		bus_publish_raw(f->pub, buf, len + 1);
		f->published++;
	}
}

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct feed *f = arg;
	struct val vs[NV];
	int64_t now = now_real_ns();
	double secs = (double)(now - f->start_ns) / 1e9;
	int n = model(f, secs, vs);
	for (int i = 0; i < n; i++)
		if (vs[i].id == SIG_battery_power_kw && vs[i].v > 0)
			f->energy_out += vs[i].v * (double)f->interval_ns / 3.6e12;
	publish(f, now, vs, n);
	for (int i = 0; f->cells && i < 96; i++) /* 3.91 V, a weak cell 23 and a high one 60 */
		snap_write(f->snap, SIG_cell_001_mv + (unsigned)i,
			   i == 22 ? 3893 : i == 59 ? 3921 : 3905 + (i * 7) % 9, now, SNAP_VALID);
	loop_timer_after(t, f->interval_ns);
}

static void
on_hb(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct feed *f = arg;
	hb_counter(hb, "samples", (double)f->published);
	hb_counter(hb, "frames", (double)f->published * 20);
}

static void
on_stop(struct worker *w, void *arg)
{
	worker_exit(w, 0);
}

int
main(int argc, char **argv)
{
	static struct feed f;
	const char *cyc = getenv("LEAFMON_WEBFEED_CYCLE_S");
	worker_init(&f.w, "can", argc, argv);
	f.cycle_s = cyc != NULL ? atof(cyc) : 120;
	f.cells = getenv("LEAFMON_WEBFEED_CELLS") != NULL;
	if (f.cycle_s < 3)
		f.cycle_s = 3;
	f.interval_ns = (int64_t)f.w.cfg.can.publish_interval_ms * NSEC_PER_MSEC;
	f.start_ns = now_real_ns();
	if (snap_open(&f.snap, f.w.rundir, true) < 0 || journal_open(&f.j, f.w.rundir, true) < 0 ||
	    bus_pub_listen(&f.pub, f.w.rundir, BUS_SAMPLES) != 0)
		fatal("webfeed setup");
	worker_set_stop(&f.w, on_stop, &f);
	worker_set_heartbeat(&f.w, on_hb, &f);
	f.timer = loop_timer_new(f.w.loop, on_timer, &f);
	loop_timer_after(f.timer, 0);
	worker_ready(&f.w, "webfeed");
	return worker_run(&f.w);
}
