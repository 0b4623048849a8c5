/*
 * leafmon-can end to end, standalone: a replayed simulator log goes to the
 * journal and samples.ipc (gap-free, read back through the subscriber),
 * raw frames reach a frames.ipc subscriber, the snapshot holds the values
 * and goes stale when the bus falls asleep, the recorder writes candump
 * files, SIGTERM saves the energy counters and a restart carries them on.
 * (A restart on the same replay goes on where it was, at its end here:
 * tests/integration/test_can_replay.py; the second run replays a copy.)
 * Sessions: kill -9 of the worker during a replayed trip gives one trip,
 * "continued", with the figures of the log decoded offline (the replay and
 * the module go on from the frame of the last sample); its events ride in
 * the journal's samples and go alone on topic 'e'.
 */
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "decode.h"
#include "decode_run.h"
#include "logfmt.h"
#include "sampsub.h"
#include "sim.h"
#include "snap.h"
#include "t.h"
#include "recorder.h"
#include "util.h"

static char dir[256], conf[300], run[300], state[300], logp[300];

/* Fresh dirs, and seconds from_s..to_s of the simulator's cycle as a
 * candump -l log (Car-CAN as interface car, QC-CAN as qc). */
static void
sim_log(const char *name, int from_s, int to_s)
{
	const int64_t t0 = 1600000000000000000LL;
	struct sim m;
	struct can_rec fr[64];
	char line[200];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s", t_tmpdir());
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(logp, sizeof(logp), "%s/%s", dir, name);
	snprintf(conf, sizeof(conf), "%s/leafmon.conf", dir);
	fp = fopen(logp, "w");
	sim_init(&m, GEN_AZE0, BUS_EV, t0);
	for (size_t n; (n = sim_run(&m, t0 + to_s * NSEC_PER_SEC, fr, 64)) > 0;)
		for (size_t i = 0; i < n; i++)
			if (fr[i].t_ns >= t0 + from_s * NSEC_PER_SEC) {
				logfmt_candump(line, sizeof(line), &fr[i],
					       fr[i].bus == BUS_EV ? "can0"
								   : can_bus_name(fr[i].bus));
				fputs(line, fp);
			}
	fclose(fp);
}

static void
write_conf(const char *log)
{
	FILE *fp = fopen(conf, "w");

	fprintf(fp,
		"[supervisor]\nrundir = %s\nstatedir = %s\n[can]\nsource = replay:%s,speed=4\n"
		"asleep_after_s = 1\nrecord = true\n",
		run, state, log);
	fclose(fp);
}

static void
setup(void)
{
	sim_log("drive.log", 20, 26); /* the hard acceleration */
	write_conf(logp);
}

static pid_t
start(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(LEAFMON_CAN_BIN, "leafmon-can", "-c", conf, "--standalone", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int
stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool
wait_file(const char *path, int ms)
{
	struct stat st;
	int64_t end = now_mono_ns() + ms * NSEC_PER_MSEC;

	while (stat(path, &st) < 0 && now_mono_ns() < end)
		usleep(10000);
	return stat(path, &st) == 0;
}

struct seen {
	unsigned samples, frames;
	bool asleep, voltage;
	uint64_t first_seq, last_seq, gen;
	uint64_t ck_gen, ck_seq; /* where to resume */
	double energy_out;
};

static void
collect(struct sampsub *ss, nng_socket fsub, int fdf, struct seen *s)
{
	int64_t end = now_mono_ns() + 15 * NSEC_PER_SEC;
	struct pollfd p[2] = {{sampsub_fd(ss), POLLIN, 0}, {fdf, POLLIN, 0}};

	while (!s->asleep && now_mono_ns() < end) {
		poll(p, 2, 100);
		sampsub_poll_journal(ss);
		for (Sample *m; (m = sampsub_next(ss)) != NULL; sampsub_free(m)) {
			if (s->samples++ == 0)
				s->first_seq = m->seq;
			else
				CHECK_INT(m->seq, ==, s->last_seq + 1);
			s->last_seq = m->seq;
			for (size_t i = 0; i < m->n_ids; i++) {
				s->asleep |= m->ids[i] == SIG_can_bus_asleep && m->values[i] == 1;
				s->voltage |= m->ids[i] == SIG_battery_voltage_v;
				if (m->ids[i] == SIG_battery_energy_out_kwh)
					s->energy_out = m->values[i];
			}
		}
		for (nng_msg *msg; nng_recvmsg(fsub, &msg, NNG_FLAG_NONBLOCK) == 0;
		     nng_msg_free(msg)) {
			Frame *f = msg_frame_unpack(nng_msg_body(msg), nng_msg_len(msg));
			s->frames += f != NULL;
			if (f != NULL)
				protobuf_c_message_free_unpacked(&f->base, NULL);
		}
	}
}

static void
one_run(struct seen *s)
{
	char jpath[400];
	pid_t pid;
	struct sampsub *ss = NULL;
	nng_socket fsub;
	int fdf;

	snprintf(jpath, sizeof(jpath), "%s/journal.shm", run);
	pid = start();
	CHECK(wait_file(jpath, 5000));
	usleep(50000);
	CHECK(sampsub_open(&ss, run, s->ck_gen, s->ck_seq) == 0);
	CHECK(bus_sub_dial(&fsub, run, BUS_FRAMES, NULL, 0) == 0);
	CHECK(bus_recv_fd(fsub, &fdf) == 0);
	collect(ss, fsub, fdf, s);
	CHECK_INT(sampsub_stats(ss)->lost, ==, 0);
	s->gen = sampsub_generation(ss);
	sampsub_close(ss);
	bus_close(fsub);
	CHECK_INT(stop(pid), ==, 0);
}

static void
test_worker_end_to_end(void)
{
	struct seen a = {0}, b = {0};
	struct snap *sn;
	struct snap_value v;
	char path[400];
	char *txt;
	double eo = 0, ei = 0;

	setup();
	one_run(&a);
	CHECK(a.samples > 20);
	CHECK(a.voltage);
	CHECK(a.asleep);
	CHECK(a.frames > 0);	    /* frames.ipc while we listen */
	CHECK(a.energy_out > 0.01); /* a hard acceleration */
	/* the snapshot keeps the values, stale since the bus slept */
	CHECK(snap_open(&sn, run, false) == 0);
	CHECK(snap_read(sn, SIG_battery_voltage_v, &v) == 0);
	CHECK(v.value > 300 && (v.flags & SNAP_STALE));
	snap_close(sn);
	/* energy saved on the way out */
	snprintf(path, sizeof(path), "%s/can-energy", state);
	txt = file_read_str(path, 256, NULL);
	CHECK(txt != NULL && sscanf(txt, "%lf %lf", &eo, &ei) == 2);
	free(txt);
	CHECK_DBL(eo, a.energy_out, 1e-6);
	/* the recorder wrote candump -l */
	snprintf(path, sizeof(path), "%s/recordings", state);
	CHECK(recorder_prune(path, UINT64_MAX) > 1000);
	/* a restarted worker continues the journal and the energy counters */
	char copy[400], *data;
	size_t len;
	snprintf(copy, sizeof(copy), "%s/drive2.log", dir);
	CHECK((data = file_read_str(logp, 64 << 20, &len)) != NULL);
	CHECK(file_write_atomic(copy, data, len, 0644) == 0);
	free(data);
	write_conf(copy);
	b.ck_gen = a.gen;
	b.ck_seq = a.last_seq;
	one_run(&b);
	CHECK_INT(b.first_seq, ==, a.last_seq + 1);
	CHECK(b.energy_out > 1.9 * a.energy_out && b.energy_out < 2.1 * a.energy_out);
}

/* A trip: the cycle's seconds 15..200 (P, the drive, reverse, P). */
static void
setup_trip(void)
{
	FILE *fp;

	sim_log("trip.log", 15, 200);
	fp = fopen(conf, "w");
	fprintf(fp,
		"[supervisor]\nrundir = %s\nstatedir = %s\n[can]\nsource = replay:%s,speed=10\n"
		"asleep_after_s = 1\n",
		run, state, logp);
	fclose(fp);
}

/* A number after "key" in text (a JSON object or a checkpoint), NAN when absent. */
static double
num_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p != NULL ? strtod(p + strlen(key), NULL) : NAN;
}

/* The log's trip when nothing interrupts it, decoded offline. */
static void
offline_trip(double *km, double *kwh_out)
{
	struct decode_opts o;
	char *text = NULL, *trip;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len), *nul = fopen("/dev/null", "w");

	decode_opts_init(&o);
	o.sessions = o.json = true;
	o.samples = false;
	CHECK(decode_file(logp, &o, out, nul) == 0);
	fclose(out);
	fclose(nul);
	CHECK((trip = strstr(text, "{\"kind\":\"trip\"")) != NULL);
	*km = num_after(trip, "\"distance_km\":");
	*kwh_out = num_after(trip, "\"energy_out_kwh\":");
	free(text);
}

struct trip_events {
	unsigned starts, ends;
	int64_t start_ns;
	double km, kwh_out;
	bool continued;
};

static void
trip_event(const Event *e, struct trip_events *te)
{
	if (strcmp(e->kind, "trip") != 0 || e->phase == NULL)
		return;
	if (strcmp(e->phase, "start") == 0) {
		te->starts++;
		te->start_ns = e->start_ns;
	} else if (strcmp(e->phase, "end") == 0) {
		te->ends++;
		CHECK_INT(e->start_ns, ==, te->start_ns);
		te->km = num_after(e->detail, "\"distance_km\":");
		te->kwh_out = num_after(e->detail, "\"energy_out_kwh\":");
		te->continued = strstr(e->detail, "\"recovery\":\"continued\"") != NULL;
	}
}

/* Every sample of the journal from its start, until the trip ended; and
 * the events alone on topic 'e' meanwhile. */
static void
collect_trip(struct trip_events *te, unsigned *alone)
{
	struct sampsub *ss;
	nng_socket esub;
	char topic = TOPIC_EVENT;
	int64_t end = now_mono_ns() + 60 * NSEC_PER_SEC;

	CHECK(sampsub_open(&ss, run, 0, 0) == 0);
	CHECK(bus_sub_dial(&esub, run, BUS_SAMPLES, &topic, 1) == 0);
	while (te->ends == 0 && now_mono_ns() < end) {
		poll(&(struct pollfd){sampsub_fd(ss), POLLIN, 0}, 1, 100);
		sampsub_poll_journal(ss);
		for (Sample *m; (m = sampsub_next(ss)) != NULL; sampsub_free(m))
			for (size_t i = 0; i < m->n_events; i++)
				trip_event(m->events[i], te);
		for (nng_msg *msg; nng_recvmsg(esub, &msg, NNG_FLAG_NONBLOCK) == 0;
		     nng_msg_free(msg))
			*alone += nng_msg_len(msg) > 1 &&
				  ((uint8_t *)nng_msg_body(msg))[0] == TOPIC_EVENT;
	}
	CHECK_INT(sampsub_stats(ss)->lost, ==, 0);
	sampsub_close(ss);
	bus_close(esub);
}

static void
test_worker_trip_across_kill9(void)
{
	struct trip_events te = {0};
	char path[400], *ck = NULL;
	double ck_km = 0, ck_out = 0, full_km, full_out;
	unsigned alone = 0;
	int64_t end;
	pid_t pid;
	int st;

	setup_trip();
	offline_trip(&full_km, &full_out);
	snprintf(path, sizeof(path), "%s/can-sessions", run);
	/* kill -9 once the checkpoint holds more than a kilometre of the trip */
	pid = start();
	for (end = now_mono_ns() + 30 * NSEC_PER_SEC; now_mono_ns() < end; usleep(50000)) {
		free(ck);
		ck = file_read_str(path, 1 << 16, NULL);
		if (ck != NULL && strstr(ck, "\ncur.kind 0\n") && strstr(ck, "\nopen 1\n") &&
		    num_after(ck, "\ncur.a.dist_km ") > 1.0)
			break;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	free(ck);
	ck = file_read_str(path, 1 << 16, NULL); /* what the new worker restores */
	CHECK(ck != NULL);
	ck_km = num_after(ck, "\ncur.a.dist_km ");
	ck_out = num_after(ck, "\ncur.a.e_out ");
	CHECK(ck_km > 1.0);
	free(ck);
	/* the new worker goes on with the replay where it was, with the session
	 * module as of the frame it goes on from: the trip is the log's trip */
	pid = start();
	collect_trip(&te, &alone);
	CHECK_INT(stop(pid), ==, 0);
	printf("     trip across kill -9: %.3f km, %.3f kWh out (checkpoint at the kill %.3f km "
	       "%.3f kWh); the log decoded offline %.3f km %.3f kWh\n",
	       te.km, te.kwh_out, ck_km, ck_out, full_km, full_out);
	CHECK_INT(te.starts, ==, 1);
	CHECK_INT(te.ends, ==, 1);
	CHECK(te.continued);
	CHECK(fabs(te.km - full_km) <= 0.001 + 0.001 * full_km);
	CHECK(fabs(te.kwh_out - full_out) <= 0.001 + 0.001 * full_out);
	CHECK(alone >= 2); /* the end and the park's start at least */
}

T_MAIN(T(test_worker_end_to_end), T(test_worker_trip_across_kill9))
