/*
 * Decoder benchmarks (not a test; run by hand, one core):
 *   bench_decode [--runs N] [--data DIR] [--worker PATH]
 * 1. decode throughput on binary frames (simulator, and the real logs when
 *    DIR is given), frames/s;
 * 2. candump -l parsing, and parsing + decoding, frames/s; with DIR, the
 *    whole of `leafmon decode` (decode_file: read, parse, decode, cut, one
 *    JSON line per sample to /dev/null) over the real logs, frames/s;
 * 3. frame -> snapshot latency: a fake bus (socketpair, another process)
 *    sends 0x1DB frames at 1 kHz; the frame's kernel receive timestamp is
 *    compared with the moment a reader thread sees it in the snapshot (the
 *    first 2 s apart: the first frames wait for the generation, decode.h);
 * 4. the session module on top of the decoder (ns per frame, the same
 *    frames), and on the simulator's long day;
 * 5. with --worker: CPU time per frame of leafmon-can replaying the longest
 *    real log at 1x (as long as the log: about 80 s), with [ledger] off and
 *    on (the session module's share of the worker's CPU).
 * Each figure is the median of N runs.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>

#include "bench_stats.h"
#include "can_worker.h"
#include "decode.h"
#include "lbcpoll.h"
#include "decode_run.h"
#include "logfmt.h"
#include "logread.h"
#include "session.h"
#include "sim.h"
#include "snap.h"
#include "util.h"

static int runs = 5;

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct frames {
	struct can_rec *f;
	size_t n, cap;
};

static void
push(struct frames *fs, const struct can_rec *f)
{
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 65536;
		fs->f = realloc(fs->f, fs->cap * sizeof(*fs->f));
	}
	fs->f[fs->n++] = *f;
}

static void
sim_frames(struct frames *fs, int gen, double seconds)
{
	struct sim m;
	struct can_rec fr[64];

	sim_init(&m, gen, BUS_EV, 1700000000000000000LL);
	for (size_t n;
	     (n = sim_run(&m, 1700000000000000000LL + (int64_t)(seconds * 1e9), fr, 64)) > 0;)
		for (size_t i = 0; i < n; i++)
			push(fs, &fr[i]);
}

static void
log_frames(struct frames *fs, const char *path)
{
	struct logread r;
	struct can_rec f;
	int k;

	if (logread_open(&r, path, LF_AUTO, BUS_EV, 0) < 0)
		return;
	while ((k = logread_next(&r, &f)) != 0)
		if (k > 0)
			push(fs, &f);
	logread_close(&r);
}

static double
decode_rate(const struct frames *fs)
{
	double v[64];
	struct sig_update u[DEC_MAX_UPDATES];
	static struct decoder d;
	size_t sink = 0;

	for (int r = 0; r < runs; r++) {
		decoder_init(&d, -1);
		double t0 = cpu_now();
		for (int rep = 0; rep < 4; rep++)
			for (size_t i = 0; i < fs->n; i++)
				sink += decoder_frame(&d, &fs->f[i], u, DEC_MAX_UPDATES);
		v[r] = 4.0 * fs->n / (cpu_now() - t0);
	}
	if (sink == 0)
		printf("(no updates?)\n");
	return median(v, runs);
}

/* Decoder, then decoder + session module, over the same frames: the
 * module's own cost per frame is the difference. */
static void
session_cost(const struct frames *fs, const char *what)
{
	static struct decoder d;
	static struct sessions ss;
	struct sessions_cfg cfg = {300 * NSEC_PER_SEC, 30 * NSEC_PER_SEC, 0.1, 0.88, NULL};
	struct sig_update u[DEC_MAX_UPDATES];
	double vd[64], vs[64];
	size_t events = 0;

	for (int r = 0; r < runs; r++) {
		for (int pass = 0; pass < 2; pass++) {
			decoder_init(&d, -1);
			sessions_init(&ss, &cfg);
			double t0 = cpu_now();
			for (size_t i = 0; i < fs->n; i++) {
				size_t k = decoder_frame(&d, &fs->f[i], u, DEC_MAX_UPDATES);
				if (pass) {
					sessions_frame(&ss, fs->f[i].t_ns, u, k);
					events += ss.nev;
					sessions_clear_events(&ss);
				}
			}
			(pass ? vs : vd)[r] = (cpu_now() - t0) / (double)fs->n * 1e9;
		}
	}
	double dec = median(vd, runs), both = median(vs, runs);
	printf("sessions, %s (%zu frames, %zu events): decode %.1f ns/frame, + sessions %.1f "
	       "ns/frame: the module %.1f ns/frame\n",
	       what, fs->n, events / (size_t)runs, dec, both, both - dec);
}

/* The cell poller on the frame path (can_poll_frame + can_poll_run, what
 * every EV-CAN frame costs with poll_cells on): decode alone, then decode +
 * lbcpoll_rx + lbcpoll_tick; requests go unanswered and time out. */
static void
poll_cost(const struct frames *fs, const char *what)
{
	static struct decoder d;
	static struct lbcpoll p;
	struct sig_update u[DEC_MAX_UPDATES];
	struct can_rec tx[LBCPOLL_TX_MAX];
	double vd[64], vp[64];
	uint64_t req = 0;

	for (int r = 0; r < runs; r++) {
		for (int pass = 0; pass < 2; pass++) {
			decoder_init(&d, -1);
			lbcpoll_init(&p, BUS_EV, 10 * NSEC_PER_SEC);
			double t0 = cpu_now();
			for (size_t i = 0; i < fs->n; i++) {
				const struct can_rec *f = &fs->f[i];
				if (pass) {
					d.tp_polled = lbcpoll_busy(&p);
					lbcpoll_rx(&p, f, f->t_ns);
				}
				decoder_frame(&d, f, u, DEC_MAX_UPDATES);
				if (pass) {
					lbcpoll_tick(&p, f->t_ns, true);
					lbcpoll_take_tx(&p, tx, f->t_ns);
				}
			}
			(pass ? vp : vd)[r] = (cpu_now() - t0) / (double)fs->n * 1e9;
		}
		req += p.st.requests;
	}
	double dec = median(vd, runs), both = median(vp, runs);
	printf("cell poller, %s (%zu frames, %llu requests): decode %.1f ns/frame, + poller %.1f "
	       "ns/frame: the poller %.1f ns/frame\n",
	       what, fs->n, (unsigned long long)(req / (uint64_t)runs), dec, both, both - dec);
}

static void
sim_day_frames(struct frames *fs)
{
	struct sim m;
	struct can_rec fr[64];

	sim_init(&m, GEN_AZE0, BUS_EV, 1709879400000000000LL);
	if (sim_set_scenario(&m, SIM_DAY) < 0)
		return;
	while (!m.ended) {
		size_t n = sim_run(&m, sim_next_ns(&m) + 10 * NSEC_PER_MSEC, fr, 64);
		for (size_t i = 0; i < n; i++)
			push(fs, &fr[i]);
	}
	sim_free(&m);
}

/* candump -l text of fs, then parse (and decode) it */
static void
candump_rates(const struct frames *fs, double *parse, double *both)
{
	struct buf b;
	char line[200];
	double vp[64], vb[64];
	struct sig_update u[DEC_MAX_UPDATES];
	static struct decoder d;

	buf_init(&b);
	for (size_t i = 0; i < fs->n; i++) {
		int n = logfmt_candump(line, sizeof(line), &fs->f[i], "can0");
		buf_append(&b, line, (size_t)n);
	}
	for (int r = 0; r < runs; r++) {
		for (int pass = 0; pass < 2; pass++) {
			struct logparse p;
			struct can_rec f;
			char err[200];
			size_t nf = 0;
			logparse_init(&p, LF_AUTO, BUS_EV, 0);
			decoder_init(&d, -1);
			double t0 = cpu_now();
			for (const char *s = b.p, *end = b.p + b.len; s < end;) {
				const char *nl = memchr(s, '\n', (size_t)(end - s));
				size_t len = (size_t)(nl - s);
				if (logparse_line(&p, s, len, &f, err, sizeof(err)) > 0) {
					nf++;
					if (pass)
						decoder_frame(&d, &f, u, DEC_MAX_UPDATES);
				}
				s = nl + 1;
			}
			(pass ? vb : vp)[r] = nf / (cpu_now() - t0);
		}
	}
	*parse = median(vp, runs);
	*both = median(vb, runs);
	buf_free(&b);
}

/* One frame as a line of a PC tool's format (time in us from the start). */
static void
tool_line(struct buf *b, int fmt, const struct can_rec *f, int64_t us, size_t i)
{
	int64_t ms = us / 1000;

	switch (fmt) {
	case LF_ASC:
		buf_printf(b, "%11.6f 1  %-15X Rx   d %u", (double)us / 1e6, (unsigned)f->id,
			   f->len);
		break;
	case LF_TRC:
		buf_printf(b, "%7zu %13.3f DT 1 %8X Rx - %u  ", i + 1, (double)us / 1e3,
			   (unsigned)f->id, f->len);
		break;
	case LF_USBCAN:
		buf_printf(b, "%zu", i);
		buf_append(b, "\0\0Receive\0\0", 13);
		buf_printf(b, "%02lld:%02lld:%02lld:%03lld", (long long)(ms / 3600000 % 24),
			   (long long)(ms / 60000 % 60), (long long)(ms / 1000 % 60),
			   (long long)(ms % 1000));
		buf_append(b, "\0\0Data frame\0\0Standard frame\0\0", 34);
		buf_printf(b, "%08x", (unsigned)f->id);
		buf_append(b, "\0\0", 2);
		buf_printf(b, "%u", f->len);
		buf_append(b, "\0\0", 2);
		break;
	case LF_MICROS:
		buf_printf(b, "%011lld %08X %02u", (long long)us, (unsigned)f->id, f->len);
		break;
	}
	for (int k = 0; k < f->len; k++)
		buf_printf(b, " %02X", f->data[k]);
	buf_puts(b, fmt == LF_USBCAN || fmt == LF_TRC ? "\r\n" : "\n");
}

/* lines of the simulator's classic frames in fmt, then the parse rate */
static double
tool_rate(const struct frames *fs, int fmt, uint64_t *ok, uint64_t *lines)
{
	struct buf b;
	double v[64];
	char err[200];

	buf_init(&b);
	if (fmt == LF_ASC)
		buf_puts(&b,
			 "date Wed Apr 16 09:21:13.159 am 2014\nbase hex  timestamps absolute\n");
	if (fmt == LF_TRC)
		buf_puts(&b,
			 ";$FILEVERSION=2.1\n;$STARTTIME=41744.375\n;$COLUMNS=N,O,T,B,I,d,R,L,D\n");
	for (size_t i = 0; i < fs->n; i++)
		tool_line(&b, fmt, &fs->f[i], (fs->f[i].t_ns - fs->f[0].t_ns) / 1000, i);
	for (int r = 0; r < runs; r++) {
		struct logparse p;
		struct can_rec f;
		logparse_init(&p, LF_AUTO, BUS_EV, 0);
		*lines = 0;
		double t0 = cpu_now();
		for (const char *c = b.p, *end = b.p + b.len; c < end; (*lines)++) {
			const char *nl = memchr(c, '\n', (size_t)(end - c));
			logparse_line(&p, c, (size_t)(nl - c), &f, err, sizeof(err));
			c = nl + 1;
		}
		v[r] = (double)p.frames / (cpu_now() - t0);
		*ok = p.frames;
		if (p.fmt != fmt)
			*ok = 0; /* detected as something else: a bench bug */
	}
	buf_free(&b);
	return median(v, runs);
}

/* `leafmon decode` of each log, samples as JSON into /dev/null */
static double
decode_file_rate(const char *const *paths, size_t n, size_t frames)
{
	double v[64];
	struct decode_opts o;
	FILE *null = fopen("/dev/null", "w");

	if (null == NULL)
		return 0;
	decode_opts_init(&o);
	for (int r = 0; r < runs; r++) {
		double t0 = cpu_now();
		for (size_t i = 0; i < n; i++)
			decode_file(paths[i], &o, null, null);
		v[r] = frames / (cpu_now() - t0);
	}
	fclose(null);
	return median(v, runs);
}

/* ---- frame -> snapshot latency ---- */

struct lat {
	struct snap *snap;
	atomic_bool stop;
	double *ms, held_max;
	int n, cap, held;
	int64_t t0; /* when the fake bus started */
};

static void *
reader(void *arg)
{
	struct lat *l = arg;
	struct snap_value v;
	double last = -1;

	while (!atomic_load(&l->stop) && l->n < l->cap) {
		if (snap_read(l->snap, SIG_battery_voltage_v, &v) == 0 && v.value != last) {
			int64_t now = now_real_ns();
			if (last >= 0) {
				double ms = (double)(now - v.t_ns) / 1e6;
				/* the first frames wait for the generation (decode.h,
				 * the hold): counted apart from the steady state */
				if (v.t_ns - l->t0 < DEC_HOLD_NS) {
					l->held++;
					l->held_max = ms > l->held_max ? ms : l->held_max;
				} else
					l->ms[l->n++] = ms;
			}
			last = v.value;
		}
	}
	return NULL;
}

static void
fake_bus(int fd, int n)
{
	for (int i = 0; i < n; i++) {
		struct can_frame cf = {.can_id = 0x1DB, .can_dlc = 8};
		unsigned v = 600 + (unsigned)(i % 200); /* 300..399.5 V */
		cf.data[2] = (uint8_t)(v >> 2);
		cf.data[3] = (uint8_t)((v & 3) << 6);
		cf.data[6] = (uint8_t)(i & 3);
		cf.data[7] = leaf_crc8(cf.data, 7);
		if (write(fd, &cf, CAN_MTU) != CAN_MTU)
			_exit(1);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

static void
on_src_frames(struct can_src *s, const struct can_rec *f, size_t n, void *arg)
{
	can_worker_frames(arg, f, n);
}

static void
latency(int batch_ms)
{
	static struct worker w;
	static struct can_worker cw;
	struct can_src src = {0};
	struct lat l = {.cap = 3000};
	pthread_t th;
	int sv[2], st;
	pid_t pid;
	char tmpl[] = "/tmp/leafmon-bench-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return;
	memset(&w, 0, sizeof(w));
	memset(&cw, 0, sizeof(cw));
	config_defaults(&w.cfg);
	w.cfg.can.nsrc = 0;
	w.cfg.can.asleep_after_s = 3600;
	w.standalone = true;
	w.chan_fd = -1;
	w.loop = loop_new();
	snprintf(w.rundir, sizeof(w.rundir), "%s/run", tmpl);
	snprintf(w.statedir, sizeof(w.statedir), "%s/state", tmpl);
	mkdir(w.rundir, 0700);
	mkdir(w.statedir, 0700);
	if (can_worker_start(&cw, &w) < 0) {
		printf("frame -> snapshot latency: the can worker did not start (see above)\n");
		return;
	}
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	socketcan_sockopts(sv[0]);
	src.loop = w.loop;
	src.on_frames = on_src_frames;
	src.arg = &cw;
	src.fd = -1;
	src.batch_ns = batch_ms * NSEC_PER_MSEC;
	src_socketcan_attach(&src, sv[0]);
	snap_open(&l.snap, w.rundir, false);
	l.ms = calloc((size_t)l.cap, sizeof(double));
	pthread_create(&th, NULL, reader, &l);
	l.t0 = now_real_ns();
	if ((pid = fork()) == 0) /* 2 s for the hold, then the steady state */
		fake_bus(sv[1], l.cap + 2100);
	close(sv[1]);
	int64_t t0 = now_mono_ns(), end = t0 + 25 * NSEC_PER_SEC;
	uint64_t w0 = loop_wakeups(w.loop);
	while (l.n < l.cap - 10 && src.fd >= 0 && now_mono_ns() < end) /* fd -1: the bus hung up */
		loop_once(w.loop, 200 * NSEC_PER_MSEC);
	double wps = (double)(loop_wakeups(w.loop) - w0) / ((now_mono_ns() - t0) / 1e9);
	atomic_store(&l.stop, true);
	pthread_join(th, NULL);
	src_close(&src); /* a bus still sending gets EPIPE */
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	qsort(l.ms, (size_t)l.n, sizeof(double), cmp_dbl);
	printf("[can] read_batch_ms = %d:\n", batch_ms);
	printf("frame -> snapshot in the first 2 s (the generation hold): %d values seen, max %.1f "
	       "ms\n",
	       l.held, l.held_max);
	if (l.n > 0)
		printf("frame -> snapshot latency (kernel rx stamp -> reader sees it), %d frames "
		       "at 1 kHz, %.0f wake-ups/s:\n"
		       "  median %.3f ms, p99 %.3f ms, max %.3f ms\n",
		       l.n, wps, l.ms[l.n / 2], l.ms[l.n * 99 / 100], l.ms[l.n - 1]);
	can_worker_stop(&cw);
	free(l.ms);
}

/* ---- leafmon-can at 1x on the longest log ---- */

static double
worker_1x(const char *bin, const char *log, bool ledger)
{
	char dir[] = "/tmp/leafmon-bench-XXXXXX", conf[300];
	FILE *fp;
	struct rusage ru;
	int st;
	pid_t pid;
	struct frames fs = {0};

	log_frames(&fs, log);
	if (mkdtemp(dir) == NULL || fs.n == 0)
		return NAN;
	snprintf(conf, sizeof(conf), "%s/c.conf", dir);
	fp = fopen(conf, "w");
	fprintf(fp,
		"[supervisor]\nrundir = %s/run\nstatedir = %s/state\n[can]\nsource = replay:%s\n"
		"asleep_after_s = 1\n[ledger]\nenabled = %s\n",
		dir, dir, log, ledger ? "true" : "false");
	fclose(fp);
	int64_t t0 = now_mono_ns();
	if ((pid = fork()) == 0) {
		int nul = open("/dev/null", 1);
		dup2(nul, 2);
		execl(bin, "leafmon-can", "-c", conf, "--standalone", (char *)NULL);
		_exit(127);
	}
	/* the log's duration, plus the asleep second */
	int64_t dur = fs.f[fs.n - 1].t_ns - fs.f[0].t_ns;
	struct timespec ts = {(dur + 2 * NSEC_PER_SEC) / NSEC_PER_SEC, 0};
	nanosleep(&ts, NULL);
	kill(pid, SIGTERM);
	wait4(pid, &st, 0, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	printf("leafmon-can replaying %s at 1x, [ledger] %s: %zu frames in %.1f s wall, CPU %.3f s "
	       "(%.2f us per frame, %.2f %% of one core)\n",
	       log, ledger ? "on" : "off", fs.n, (now_mono_ns() - t0) / 1e9, cpu, cpu / fs.n * 1e6,
	       cpu / (dur / 1e9) * 100);
	free(fs.f);
	return cpu / fs.n * 1e6;
}

/* The worker's CPU per frame with the session module and without. */
static void
worker_ledger(const char *bin, const char *log)
{
	double off[8], on[8], pair[8];
	int n = runs < 8 ? runs : 8;

	for (int r = 0; r < n; r++) { /* in pairs, so that a busy spell hits both */
		off[r] = worker_1x(bin, log, false);
		on[r] = worker_1x(bin, log, true);
		pair[r] = on[r] / off[r];
	}
	double a = median(off, n), b = median(on, n);
	printf("leafmon-can CPU per frame, median of %d: %.2f us without sessions, %.2f us with "
	       "(%+.1f %%; median of the pairs' ratios %+.1f %%)\n",
	       n, a, b, (b / a - 1) * 100, (median(pair, n) - 1) * 100);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"runs", required_argument, NULL, 'r'},
					     {"data", required_argument, NULL, 'd'},
					     {"worker", required_argument, NULL, 'w'},
					     {"latency", required_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	const char *data = NULL, *worker = NULL;
	struct frames sim = {0}, real = {0};
	char path[600], paths[8][600];
	const char *pp[8];
	size_t np = 0;
	double p, b;
	int ch;

	while ((ch = getopt_long(argc, argv, "r:d:w:l:", opts, NULL)) != -1) {
		if (ch == 'l') { /* only the frame -> snapshot latency, at these read cadences */
			for (char *c = strtok(optarg, ","); c != NULL; c = strtok(NULL, ","))
				latency(atoi(c));
			return 0;
		} else if (ch == 'r')
			runs = atoi(optarg) < 1 ? 1 : atoi(optarg) > 64 ? 64 : atoi(optarg);
		else if (ch == 'd')
			data = optarg;
		else if (ch == 'w')
			worker = optarg;
	}
	for (int g = GEN_ZE0; g <= GEN_ZE1; g++)
		sim_frames(&sim, g, 120);
	printf("median of %d runs, one core\n", runs);
	printf("decode, simulator frames (%zu, all generations): %.2f M frames/s\n", sim.n,
	       decode_rate(&sim) / 1e6);
	if (data != NULL) {
		static const char *logs[] = {"ze0_2011-2012/ZE0w24kWhstock.log",
					     "aze0_2013-2017/ch1_20250804_161600_bypass.csv",
					     "ze1_2018plus/EV-CANepluseco.log",
					     "env200/env200-2015-with-40kWh-startup-nobridge.crtd"};
		struct frames all = {0};
		for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
			snprintf(paths[np], sizeof(paths[np]), "%s/logs/%s", data, logs[i]);
			pp[np] = paths[np];
			log_frames(&real, paths[np++]);
		}
		/* and an untimed candump text log, for `leafmon decode` only */
		snprintf(paths[np], sizeof(paths[np]), "%s/logs/%s", data,
			 "ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt");
		pp[np] = paths[np];
		for (size_t i = 0; i <= np; i++)
			log_frames(&all, pp[i]);
		np++;
		printf("decode, real log frames (%zu, ZE0+AZE0+ZE1+e-NV200): %.2f M frames/s\n", real.n,
		       decode_rate(&real) / 1e6);
		printf(
		    "leafmon decode (read, parse, decode, cut, JSON), those and the ZE1 QC text\n"
		    "  log (%zu frames): %.2f M frames/s\n",
		    all.n, decode_file_rate(pp, np, all.n) / 1e6);
		free(all.f);
	}
	session_cost(&sim, "simulator cycle, all generations");
	poll_cost(&sim, "simulator cycle, all generations");
	if (real.n > 0)
		session_cost(&real, "real logs");
	{
		struct frames day = {0};
		sim_day_frames(&day);
		session_cost(&day, "the simulator's long day");
		free(day.f);
	}
	candump_rates(&sim, &p, &b);
	printf("candump -l parse: %.2f M frames/s; parse + decode: %.2f M frames/s\n", p / 1e6, b / 1e6);
	for (int fmt = LF_ASC; fmt <= LF_MICROS; fmt++) {
		uint64_t ok = 0, lines = 0;
		double rate = tool_rate(&sim, fmt, &ok, &lines);
		printf("%s parse: %.2f M frames/s (%llu of %llu lines are frames)\n",
		       logfmt_name(fmt), rate / 1e6, (unsigned long long)ok,
		       (unsigned long long)lines);
	}
	{
		static struct config dflt;
		config_defaults(&dflt);
		latency(dflt.can.read_batch_ms); /* others: --latency 0,5,10,... */
	}
	if (worker != NULL && data != NULL) {
		snprintf(path, sizeof(path), "%s/logs/ze0_2011-2012/ZE0w24kWhstock.log", data);
		worker_ledger(worker, path);
	}
	free(sim.f);
	free(real.f);
	return 0;
}
