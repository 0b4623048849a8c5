/*
 * leafmon sim --to IFACE [--generation G] [--duration S] [--scenario cycle|day]
 *             [--start T] [--truth FILE]
 * leafmon replay FILE --to IFACE [--speed X] [--loop] [--format F] [--bus B]
 * Put simulated or recorded frames on a SocketCAN interface (vcan on a
 * bench), in real time (or X times it). `--to -` writes candump -l to
 * stdout instead (EV-CAN as can0, Car-CAN as car, QC-CAN as qc, so a
 * decode sees the buses), as fast as it can, e.g. to make a log. The day
 * scenario ends by itself; --truth writes its sessions' ground truth. A
 * bench tool that transmits; the daemon never does.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/raw.h>

#include "cli.h"
#include "decode.h"
#include "logfmt.h"
#include "logread.h"
#include "sim.h"
#include "util.h"

static volatile sig_atomic_t tx_stop;

static void
on_sig(int sig)
{
	tx_stop = 1;
}

/* -1 with a message; else a raw CAN socket bound to iface, or 1 for stdout. */
static int
tx_open(const char *iface)
{
	struct sockaddr_can a = {0};
	struct ifreq ifr = {0};
	int fd, on = 1;

	if (strcmp(iface, "-") == 0)
		return STDOUT_FILENO;
	if ((fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW)) < 0) {
		fprintf(stderr, "socket(AF_CAN): %s\n", strerror(errno));
		return -1;
	}
	if (str_copy(ifr.ifr_name, iface, sizeof(ifr.ifr_name)) < 0 ||
	    ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		fprintf(stderr, "interface %s: %s\n", iface, strerror(errno));
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof(on));
	a.can_family = AF_CAN;
	a.can_ifindex = ifr.ifr_ifindex;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "bind %s: %s\n", iface, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
tx_send(int fd, const struct can_rec *r)
{
	struct canfd_frame cf = {0};
	size_t mtu = (r->flags & CANF_FD) ? CANFD_MTU : CAN_MTU;
	char line[200];

	if (fd == STDOUT_FILENO) {
		int n = logfmt_candump(line, sizeof(line), r,
				       r->bus == BUS_EV ? "can0" : can_bus_name(r->bus));
		return n > 0 && fwrite(line, 1, (size_t)n, stdout) == (size_t)n ? 0 : -1;
	}
	if (r->flags & CANF_ERR)
		return 0;
	cf.can_id = r->id | ((r->flags & CANF_EXT) ? CAN_EFF_FLAG : 0) |
		    ((r->flags & CANF_RTR) ? CAN_RTR_FLAG : 0);
	cf.len = r->len;
	memcpy(cf.data, r->data, r->len);
	for (;;) {
		if (write(fd, &cf, mtu) == (ssize_t)mtu)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -1;
		poll(&(struct pollfd){fd, POLLOUT, 0}, 1, 10); /* the tx queue is full */
		if (tx_stop)
			return -1;
	}
}

static void
wait_until_mono(int64_t t)
{
	struct timespec ts = {t / NSEC_PER_SEC, t % NSEC_PER_SEC};

	while (!tx_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int
gen_parse(const char *s)
{
	for (int g = GEN_ZE0; g <= GEN_ZE1; g++)
		if (strcasecmp(s, decoder_gen_name(g)) == 0)
			return g;
	return -1;
}

struct sim_opts {
	const char *to, *truth;
	int gen, scenario;
	double dur, start;
};

static int
sim_parse(struct cli *c, int argc, char **argv, struct sim_opts *o)
{
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
					     {"generation", required_argument, NULL, 'g'},
					     {"duration", required_argument, NULL, 'd'},
					     {"scenario", required_argument, NULL, 's'},
					     {"start", required_argument, NULL, 'S'},
					     {"truth", required_argument, NULL, 'T'},
					     {NULL, 0, NULL, 0}};
	bool bad = false;
	int ch;

	memset(o, 0, sizeof(*o));
	o->gen = c->cfg.can.generation >= 0 ? c->cfg.can.generation : GEN_AZE0;
	optind = 0; /* glibc: re-initialise (leafmon.c parsed with "+") */
	while ((ch = getopt_long(argc, argv, "t:g:d:s:S:T:", opts, NULL)) != -1) {
		if (ch == 't')
			o->to = optarg;
		else if (ch == 'g')
			bad |= (o->gen = gen_parse(optarg)) < 0;
		else if (ch == 'd')
			bad |= parse_double(optarg, &o->dur) < 0 || o->dur < 0;
		else if (ch == 's')
			bad |= (o->scenario = strcmp(optarg, "day") == 0     ? SIM_DAY
					      : strcmp(optarg, "cycle") == 0 ? SIM_CYCLE
									     : -1) < 0;
		else if (ch == 'S')
			bad |= parse_double(optarg, &o->start) < 0 || o->start < 1e9 ||
			       o->start > 1e10;
		else if (ch == 'T')
			o->truth = optarg;
		else
			bad = true;
	}
	/* stdout is not paced: the cycle needs an end */
	if (bad || o->to == NULL || optind != argc ||
	    (strcmp(o->to, "-") == 0 && o->dur <= 0 && o->scenario != SIM_DAY) ||
	    (o->truth != NULL && o->scenario != SIM_DAY)) {
		fprintf(
		    stderr,
		    "usage: leafmon sim --to IFACE [--generation ZE0|AZE0|ZE1] [--duration S]\n"
		    "                   [--scenario cycle|day] [--start UNIX_S] [--truth FILE]\n"
		    "       leafmon sim --to - --duration S   (candump -l on stdout)\n"
		    "  day: a day of driving, parking, a quick and an AC charge; --truth\n"
		    "  writes the ground truth of its sessions (JSON lines)\n");
		return -1;
	}
	return 0;
}

static int
write_truth(const struct sim *m, const char *path, int64_t end_ns)
{
	struct buf b;
	int rc;

	buf_init(&b);
	sim_day_truth_json(m, end_ns, &b);
	rc = b.oom ? -1 : file_write_atomic(path, b.p, b.len, 0644);
	if (rc < 0)
		fprintf(stderr, "leafmon sim: %s: %s\n", path, strerror(errno));
	buf_free(&b);
	return rc;
}

/* Frames until the duration, the scenario's end or a signal. */
static int
sim_send(struct sim *m, int fd, const struct sim_opts *o, int64_t real0, int64_t mono0,
	 int64_t *last)
{
	struct can_rec fr[64];

	while (!tx_stop && !m->ended) {
		int64_t until = sim_next_ns(m) + 10 * NSEC_PER_MSEC;
		if (o->dur > 0 && until - real0 > (int64_t)(o->dur * 1e9))
			break;
		if (fd != STDOUT_FILENO)
			wait_until_mono(mono0 + (sim_next_ns(m) - real0));
		size_t n = sim_run(m, until, fr, 64);
		for (size_t i = 0; i < n; i++) {
			if (tx_send(fd, &fr[i]) < 0)
				return fd == STDOUT_FILENO ? -1 : (perror("write"), -1);
			*last = fr[i].t_ns;
		}
	}
	return 0;
}

int
cmd_sim(struct cli *c, int argc, char **argv)
{
	struct sim_opts o;
	struct sim m;
	int64_t real0, mono0 = now_mono_ns(), last;
	int fd, rc;

	if (sim_parse(c, argc, argv, &o) < 0)
		return EXIT_USAGE;
	real0 = o.start > 0 ? (int64_t)(o.start * 1e9) : now_real_ns();
	if ((fd = tx_open(o.to)) < 0)
		return 1;
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	sim_init(&m, o.gen, BUS_EV, real0);
	if (sim_set_scenario(&m, o.scenario) < 0)
		return 1;
	last = real0;
	rc = sim_send(&m, fd, &o, real0, mono0, &last);
	if (rc == 0 && o.truth != NULL)
		rc = write_truth(&m, o.truth, last);
	sim_free(&m);
	if (fd != STDOUT_FILENO)
		close(fd);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

static int
replay_file(int fd, struct logread *r, double speed, bool loop)
{
	struct can_rec f;
	int64_t mono0 = now_mono_ns(), log0 = 0, offset = 0, last = 0;
	bool first = true;
	int k;

	while (!tx_stop) {
		if ((k = logread_next(r, &f)) == 0) {
			if (!loop || logread_rewind(r) < 0)
				return 0;
			offset += last - log0 + 10 * NSEC_PER_MSEC;
			continue;
		}
		if (k < 0) {
			fprintf(stderr, "%s (skipped)\n", r->err);
			continue;
		}
		if (first)
			log0 = f.t_ns, first = false;
		last = f.t_ns;
		if (speed > 0)
			wait_until_mono(mono0 +
					(int64_t)((double)(offset + f.t_ns - log0) / speed));
		if (tx_send(fd, &f) < 0)
			return 1;
	}
	return 0;
}

int
cmd_replay(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"to", required_argument, NULL, 't'},
					     {"speed", required_argument, NULL, 's'},
					     {"loop", no_argument, NULL, 'l'},
					     {"format", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	const char *to = NULL;
	double speed = 1.0;
	bool loop = false, bad = false;
	int fmt = LF_AUTO, ch, fd, rc;
	struct logread r;

	optind = 0; /* glibc: re-initialise (leafmon.c parsed with "+") */
	while ((ch = getopt_long(argc, argv, "t:s:lf:", opts, NULL)) != -1) {
		if (ch == 't')
			to = optarg;
		else if (ch == 's')
			bad |= parse_double(optarg, &speed) < 0 || speed < 0;
		else if (ch == 'l')
			loop = true;
		else if (ch == 'f')
			bad |= (fmt = logfmt_by_name(optarg)) < 0;
		else
			bad = true;
	}
	if (bad || to == NULL || optind != argc - 1) {
		fprintf(
		    stderr,
		    "usage: leafmon replay FILE --to IFACE|- [--speed X] [--loop] [--format F]\n");
		return EXIT_USAGE;
	}
	if (logread_open(&r, argv[optind], fmt, BUS_EV, 0) < 0) {
		fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if ((fd = tx_open(to)) < 0) {
		logread_close(&r);
		return 1;
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	rc = replay_file(fd, &r, speed, loop);
	logread_close(&r);
	if (fd != STDOUT_FILENO)
		close(fd);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}
