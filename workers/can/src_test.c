/*
 * Source tests without AF_CAN: the socketcan read loop over a
 * socketpair(AF_UNIX, SOCK_SEQPACKET) fed by a child process, slcan over a
 * pty with garbage and partial lines, replay timing at speed 0 and N, the
 * simulator source, and the cell poller's sends through each.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>

#include "cutter.h"
#include "decode.h"
#include "logfmt.h"
#include "sim.h"
#include "slcan.h"
#include "src.h"
#include "t.h"
#include "util.h"

#define NFRAMES 5000

struct got {
	struct can_rec *f;
	size_t n, cap;
	int failed;
};

static void
got_frames(struct can_src *s, const struct can_rec *f, size_t n, void *arg)
{
	struct got *g = arg;

	for (size_t i = 0; i < n && g->n < g->cap; i++)
		g->f[g->n++] = f[i];
}

static void
got_fail(struct can_src *s, void *arg)
{
	((struct got *)arg)->failed++;
}

static void
run_until(struct loop *l, struct got *g, size_t want, int64_t timeout_ms)
{
	int64_t end = now_mono_ns() + timeout_ms * NSEC_PER_MSEC;

	while (g->n < want && g->failed == 0 && now_mono_ns() < end)
		loop_once(l, 20 * NSEC_PER_MSEC);
}

/* A socketcan source on one end of a socketpair, into g; sv[1] is the bus. */
static void
pair_source(struct can_src *s, struct loop *l, struct got *g, int sv[2], int64_t batch_ns)
{
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	socketcan_sockopts(sv[0]);
	s->loop = l;
	s->on_frames = got_frames;
	s->on_fail = got_fail;
	s->arg = g;
	s->fd = -1;
	s->batch_ns = batch_ns;
	CHECK(src_socketcan_attach(s, sv[0]) == 0);
}

static void
fake_bus(int fd)
{
	for (int i = 0; i < NFRAMES; i++) {
		if (i % 1000 == 999) { /* a CAN FD frame now and then */
			struct canfd_frame fd_fr = {.can_id = 0x123, .len = 12};
			fd_fr.data[11] = 0xEE;
			if (write(fd, &fd_fr, CANFD_MTU) != CANFD_MTU)
				_exit(1);
			continue;
		}
		struct can_frame cf = {.can_id = (canid_t)(0x100 + (i % 0x600)), .can_dlc = 8};
		if (i % 777 == 0)
			cf.can_id = 0x18DAF1DB | CAN_EFF_FLAG;
		memcpy(cf.data, &i, sizeof(i));
		if (write(fd, &cf, CAN_MTU) != CAN_MTU)
			_exit(1);
	}
	_exit(0);
}

static void
test_src_socketcan_read_loop(void)
{
	int sv[2], st;
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct got g = {calloc(NFRAMES, sizeof(struct can_rec)), 0, NFRAMES, 0};
	pid_t pid;

	s.spec.bus = BUS_CAR;
	pair_source(&s, l, &g, sv, 0);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		fake_bus(sv[1]);
	}
	close(sv[1]);
	run_until(l, &g, NFRAMES, 10000);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_INT(g.n, ==, NFRAMES); /* far more than the ~278 the pair buffers */
	int64_t prev = 0, t0 = now_real_ns();
	for (int i = 0; i < (int)g.n; i++) {
		struct can_rec *f = &g.f[i];
		CHECK(f->t_ns >= prev && f->t_ns > t0 - 60 * NSEC_PER_SEC && f->t_ns <= t0);
		prev = f->t_ns;
		CHECK_INT(f->bus, ==, BUS_CAR);
		if (i % 1000 == 999) {
			CHECK_INT(f->flags, ==, CANF_FD);
			CHECK_INT(f->len, ==, 12);
			CHECK_INT(f->data[11], ==, 0xEE);
		} else if (i % 777 == 0) {
			CHECK_INT(f->flags, ==, CANF_EXT);
			CHECK_INT(f->id, ==, 0x18DAF1DB);
		} else {
			int v;
			memcpy(&v, f->data, sizeof(v));
			CHECK_INT(v, ==, i);
			CHECK_INT(f->id, ==, 0x100 + (i % 0x600));
		}
	}
	/* the peer going away is a failure the worker retries */
	run_until(l, &g, NFRAMES + 1, 500);
	CHECK_INT(g.failed, ==, 1);
	CHECK_INT(s.fd, ==, -1);
	src_close(&s);
	loop_free(l);
	free(g.f);
}

static void
pty_expect(int m, const char *want)
{
	char buf[64];
	size_t n = 0, wl = strlen(want);
	int64_t end = now_mono_ns() + 2 * NSEC_PER_SEC;

	while (n < wl && now_mono_ns() < end) {
		ssize_t k = read(m, buf + n, wl - n);
		if (k > 0)
			n += (size_t)k;
		else
			usleep(1000);
	}
	buf[n] = '\0';
	CHECK_STR(buf, want);
}

/* 1 frame a ms for n ms, then the bus goes quiet (the pair stays open) */
static void
paced_bus(int fd, int n)
{
	for (int i = 0; i < n; i++) {
		struct can_frame cf = {.can_id = 0x1DB, .can_dlc = 8};
		memcpy(cf.data, &i, sizeof(i));
		if (write(fd, &cf, CAN_MTU) != CAN_MTU)
			_exit(1);
		struct timespec ts = {0, NSEC_PER_MSEC};
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

/* The loop's wake-ups while n paced frames come in with a read cadence of
 * batch_ms, and over 300 ms of quiet after them. */
static void
cadence_run(int batch_ms, int n, uint64_t *busy, uint64_t *quiet)
{
	int sv[2], st;
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct got g = {calloc((size_t)n, sizeof(struct can_rec)), 0, (size_t)n, 0};

	pair_source(&s, l, &g, sv, batch_ms * NSEC_PER_MSEC);
	uint64_t w0 = loop_wakeups(l);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		paced_bus(sv[1], n);
	}
	for (int64_t end = now_mono_ns() + 10 * NSEC_PER_SEC; g.n < (size_t)n && now_mono_ns() < end;)
		loop_once(l, 200 * NSEC_PER_MSEC);
	*busy = loop_wakeups(l) - w0;
	CHECK_INT(g.n, ==, n);
	for (int i = 0; i < (int)g.n; i++) { /* every frame, in order, with its own stamp */
		int v;
		memcpy(&v, g.f[i].data, sizeof(v));
		CHECK_INT(v, ==, i);
		CHECK(i == 0 || g.f[i].t_ns > g.f[i - 1].t_ns);
	}
	waitpid(pid, &st, 0);
	w0 = loop_wakeups(l);
	for (int64_t end = now_mono_ns() + 300 * NSEC_PER_MSEC; now_mono_ns() < end;)
		loop_once(l, 50 * NSEC_PER_MSEC);
	*quiet = loop_wakeups(l) - w0;
	CHECK(!s.polled); /* back in the poll set */
	CHECK_INT(g.failed, ==, 0);
	close(sv[1]);
	src_close(&s);
	loop_free(l);
	free(g.f);
}

/* [can] read_batch_ms: tens of wake-ups a second while frames come, not one a
 * frame, the kernel's stamps kept; none once the bus is quiet. */
static void
test_src_read_cadence(void)
{
	uint64_t busy0, quiet0, busy, quiet;

	cadence_run(0, 400, &busy0, &quiet0);
	cadence_run(40, 400, &busy, &quiet);
	fprintf(stderr, "400 frames at 1 kHz: %llu wake-ups as they come, %llu with a 40 ms cadence; "
		"%llu and %llu in the 300 ms of quiet after\n", (unsigned long long)busy0,
		(unsigned long long)busy, (unsigned long long)quiet0, (unsigned long long)quiet);
	CHECK(busy <= 25);	   /* ~10 reads in 0.4 s (and the first frame's) */
	CHECK(busy0 > 2 * busy);   /* as they come: a wake-up for (nearly) every frame */
	CHECK(quiet0 <= 8 && quiet <= 8); /* the 50 ms waits of the quiet loop, no reads */
}

static void
test_src_slcan_pty(void)
{
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct src_spec sp = {0};
	struct got g = {calloc(64, sizeof(struct can_rec)), 0, 64, 0};
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
	fcntl(m, F_SETFL, O_NONBLOCK);
	sp.kind = SRC_SLCAN;
	sp.bitrate = 500000;
	sp.bus = BUS_EV;
	snprintf(sp.path, sizeof(sp.path), "%s", ptsname(m));
	CHECK(src_open(&s, l, &sp, got_frames, got_fail, &g) == 0);
	/* the dialogue, one command per answer; this adapter refuses L */
	pty_expect(m, "C\r");
	CHECK(write(m, "\r", 1) == 1);
	loop_once(l, 50 * NSEC_PER_MSEC);
	pty_expect(m, "S6\r");
	CHECK(write(m, "\r", 1) == 1);
	loop_once(l, 50 * NSEC_PER_MSEC);
	pty_expect(m, "L\r");
	CHECK(write(m, "\a", 1) == 1);
	loop_once(l, 50 * NSEC_PER_MSEC);
	pty_expect(m, "O\r");
	CHECK(write(m, "\r", 1) == 1);
	/* frames, with garbage, a partial line and an adapter timestamp */
	const char *parts[] = {"t1DB8000", "4C262000003B6\r", "\x01\xfe junk\r", "t5BC2AABB",
			       "1234\r", "T18DAF1DB20102\rr79B0\rt1D", "A800\r", "t1234\r"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		CHECK(write(m, parts[i], strlen(parts[i])) == (ssize_t)strlen(parts[i]));
		loop_once(l, 20 * NSEC_PER_MSEC);
	}
	run_until(l, &g, 4, 1000);
	CHECK_INT(g.n, ==, 4);
	CHECK_INT(g.f[0].id, ==, 0x1DB);
	CHECK_INT(g.f[0].data[2], ==, 0xC2);
	CHECK_INT(g.f[1].id, ==, 0x5BC);
	CHECK_INT(g.f[1].len, ==, 2);
	CHECK_INT(g.f[2].flags, ==, CANF_EXT);
	CHECK_INT(g.f[3].flags, ==, CANF_RTR);
	CHECK_INT(s.errors, ==, 3); /* junk, "t1DA800" (short), "t1234" */
	src_close(&s);
	pty_expect(m, "C\r"); /* closed on the way out */
	close(m);
	loop_free(l);
	free(g.f);
}

/* Write 4 s of simulated AZE0 traffic as a candump -l log. */
static char *
sim_log(void)
{
	static char path[512];
	struct sim m;
	struct can_rec fr[64];
	char line[200];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/sim.log", t_tmpdir());
	fp = fopen(path, "w");
	sim_init(&m, GEN_AZE0, BUS_EV, 1600000000000000000LL);
	for (size_t n; (n = sim_run(&m, 1600000004000000000LL, fr, 64)) > 0;)
		for (size_t i = 0; i < n; i++) {
			logfmt_candump(line, sizeof(line), &fr[i], "can0");
			fputs(line, fp);
		}
	fputs("(1600000004.000000) can0 this is not a frame\n", fp);
	fclose(fp);
	return path;
}

/* Replay a log and cut samples; a digest of (t - first t, contents). */
static uint64_t
replay_digest(const char *path, double speed, int64_t *elapsed_ns, size_t *nsamples)
{
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct src_spec sp = {.kind = SRC_REPLAY, .bus = BUS_EV, .speed = speed};
	struct got g = {calloc(20000, sizeof(struct can_rec)), 0, 20000, 0};
	static struct cutter c;
	static struct sample_out out;
	struct decoder d;
	struct sig_update u[DEC_MAX_UPDATES];
	uint64_t h = 1469598103934665603ULL;
	int64_t t0 = now_mono_ns();

	snprintf(sp.path, sizeof(sp.path), "%s", path);
	CHECK(src_open(&s, l, &sp, got_frames, got_fail, &g) == 0);
	while (s.state == SRC_UP && now_mono_ns() - t0 < 10 * NSEC_PER_SEC)
		loop_once(l, 10 * NSEC_PER_MSEC);
	*elapsed_ns = now_mono_ns() - t0;
	CHECK_INT(s.state, ==, SRC_DONE);
	CHECK_INT(s.errors, ==, 1);
	cutter_init(&c, 100, 60);
	cutter_keyframes_from(&c, s.rebase_ns);
	decoder_init(&d, -1);
	*nsamples = 0;
	for (size_t i = 0; i < g.n; i++) {
		CHECK(g.f[i].t_ns % NSEC_PER_SEC == (g.f[i].t_ns - g.f[0].t_ns) % NSEC_PER_SEC);
		if (cutter_frame(&c, g.f[i].t_ns, &out)) {
			(*nsamples)++;
			h = (h ^ (uint64_t)(out.t_ns - g.f[0].t_ns)) * 1099511628211ULL;
			for (size_t k = 0; k < out.n; k++)
				h = (h ^ out.ids[k] ^ (uint64_t)(out.values[k] * 1000)) * 1099511628211ULL;
		}
		size_t n = decoder_frame(&d, &g.f[i], u, DEC_MAX_UPDATES);
		cutter_add(&c, u, n);
	}
	CHECK_INT(d.st.crc_errors, ==, 0);
	src_close(&s);
	loop_free(l);
	free(g.f);
	return h;
}

static void
test_src_replay_speeds(void)
{
	const char *path = sim_log();
	int64_t e0, e20;
	size_t n0, n20;
	uint64_t h0 = replay_digest(path, 0, &e0, &n0);
	uint64_t h20 = replay_digest(path, 20, &e20, &n20);

	CHECK(n0 > 30);
	CHECK_INT(n0, ==, n20);
	CHECK(h0 == h20); /* same samples at any speed */
	/* 4 s of log at 20x take about 200 ms; at speed 0 much less (not
	 * under valgrind, which is slower than the log) */
	CHECK(e20 >= 190 * NSEC_PER_MSEC);
	if (!t_under_valgrind())
		CHECK(e0 < e20 && e20 < 2 * NSEC_PER_SEC);
}

static void
test_src_replay_keep_time_and_loop(void)
{
	const char *path = sim_log();
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct src_spec sp = {.kind = SRC_REPLAY, .bus = BUS_EV, .speed = 0, .keep_time = true,
			      .loop = true};
	struct got g = {calloc(20000, sizeof(struct can_rec)), 0, 20000, 0};

	snprintf(sp.path, sizeof(sp.path), "%s", path);
	CHECK(src_open(&s, l, &sp, got_frames, got_fail, &g) == 0);
	run_until(l, &g, 20000, 5000);
	CHECK_INT(g.n, ==, 20000); /* the log holds fewer: it looped */
	CHECK_INT(g.f[0].t_ns, ==, 1600000000000000000LL);
	for (size_t i = 1; i < g.n; i++)
		CHECK(g.f[i].t_ns >= g.f[i - 1].t_ns);
	CHECK_INT(s.state, ==, SRC_UP);
	src_close(&s);
	loop_free(l);
	free(g.f);
}

static void
test_src_sim(void)
{
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct src_spec sp = {.kind = SRC_SIM, .bus = BUS_EV};
	struct got g = {calloc(2000, sizeof(struct can_rec)), 0, 2000, 0};
	struct decoder d;
	struct sig_update u[DEC_MAX_UPDATES];

	s.gen = GEN_ZE1;
	CHECK(src_open(&s, l, &sp, got_frames, got_fail, &g) == 0);
	run_until(l, &g, 1000, 3000);
	CHECK(g.n >= 1000);
	decoder_init(&d, -1);
	for (size_t i = 0; i < g.n; i++)
		decoder_frame(&d, &g.f[i], u, DEC_MAX_UPDATES);
	CHECK_INT(d.gen, ==, GEN_ZE1);
	CHECK_INT(d.st.crc_errors, ==, 0);
	CHECK(llabs(g.f[g.n - 1].t_ns - now_real_ns()) < NSEC_PER_SEC);
	src_close(&s);
	loop_free(l);
	free(g.f);
}

static struct can_rec
request_79b(uint8_t gg)
{
	struct can_rec f = {.id = 0x79B, .len = 8, .bus = BUS_EV};

	f.data[0] = 0x02;
	f.data[1] = 0x21;
	f.data[2] = gg;
	return f;
}

/* The cell poller's frames through each kind that can send, and not a
 * kind that cannot. */
static void
test_src_send(void)
{
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct can_frame cf;
	struct can_rec f = request_79b(0x01);
	int sv[2];

	/* socketcan: one struct can_frame per frame */
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	s.loop = l;
	s.fd = -1;
	s.on_frames = got_frames;
	CHECK(src_socketcan_attach(&s, sv[0]) == 0);
	s.state = SRC_UP;
	CHECK(src_can_send(&s));
	CHECK_INT(src_send(&s, &f), ==, 0);
	CHECK_INT(read(sv[1], &cf, sizeof(cf)), ==, sizeof(cf));
	CHECK_INT(cf.can_id, ==, 0x79B);
	CHECK_INT(cf.len, ==, 8);
	CHECK(memcmp(cf.data, f.data, 8) == 0);
	CHECK_INT(s.tx_frames, ==, 1);
	src_close(&s);
	close(sv[1]);
	CHECK(!src_can_send(&s));
	CHECK_INT(src_send(&s, &f), ==, -1);
	/* a kind without a send function (a replay) cannot */
	struct can_src r = {.state = SRC_UP, .fd = -1};
	CHECK(!src_can_send(&r));
	CHECK_INT(src_send(&r, &f), ==, -1);
	CHECK_INT(errno, ==, EOPNOTSUPP);
	loop_free(l);
}

/* slcan with the poller on: opened with "O" (not listen-only), frames out
 * as "t..." lines, none before the adapter is open. */
static void
test_src_slcan_send(void)
{
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct src_spec sp = {.kind = SRC_SLCAN, .bitrate = 500000, .bus = BUS_EV};
	struct got g = {calloc(8, sizeof(struct can_rec)), 0, 8, 0};
	struct can_rec f = request_79b(0x02);
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
	fcntl(m, F_SETFL, O_NONBLOCK);
	snprintf(sp.path, sizeof(sp.path), "%s", ptsname(m));
	s.tx = true;
	CHECK(src_open(&s, l, &sp, got_frames, got_fail, &g) == 0);
	pty_expect(m, "C\r");
	CHECK_INT(src_send(&s, &f), ==, -1); /* not open yet */
	CHECK(write(m, "\r", 1) == 1);
	loop_once(l, 50 * NSEC_PER_MSEC);
	pty_expect(m, "S6\r");
	CHECK(write(m, "\r", 1) == 1);
	loop_once(l, 50 * NSEC_PER_MSEC);
	pty_expect(m, "O\r");
	CHECK(write(m, "\r", 1) == 1);
	loop_once(l, 50 * NSEC_PER_MSEC);
	CHECK_INT(src_send(&s, &f), ==, 0);
	pty_expect(m, "t79B80221020000000000\r");
	src_close(&s);
	close(m);
	loop_free(l);
	free(g.f);
}

/* The simulator's LBC answers a request with its first frame. */
static void
test_src_sim_answers_poll(void)
{
	struct loop *l = loop_new();
	struct can_src s = {0};
	struct src_spec sp = {.kind = SRC_SIM, .bus = BUS_EV};
	struct got g = {calloc(4000, sizeof(struct can_rec)), 0, 4000, 0};
	struct can_rec f = request_79b(0x02);
	size_t ff = 0;

	s.gen = GEN_AZE0;
	CHECK(src_open(&s, l, &sp, got_frames, got_fail, &g) == 0);
	run_until(l, &g, 100, 2000);
	CHECK_INT(src_send(&s, &f), ==, 0);
	run_until(l, &g, 400, 3000);
	for (size_t i = 0; i < g.n; i++)
		if (g.f[i].id == 0x7BB) {
			CHECK_INT(g.f[i].data[0], ==, 0x10);
			CHECK_INT(g.f[i].data[1], ==, 198);
			CHECK_INT(g.f[i].data[2], ==, 0x61);
			CHECK_INT(g.f[i].data[3], ==, 0x02);
			CHECK(g.f[i].t_ns > g.f[i - 1].t_ns); /* in time order */
			ff++;
		}
	CHECK_INT(ff, ==, 1); /* and no consecutive frame without flow control */
	src_close(&s);
	loop_free(l);
	free(g.f);
}

T_MAIN(T(test_src_socketcan_read_loop), T(test_src_read_cadence), T(test_src_slcan_pty), T(test_src_replay_speeds),
       T(test_src_replay_keep_time_and_loop), T(test_src_sim), T(test_src_send),
       T(test_src_slcan_send), T(test_src_sim_answers_poll))
