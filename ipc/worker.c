/*
 * Worker runtime: argv, config, logging, the loop, and the parent channel on
 * fd 3 (SOCK_SEQPACKET, one packed Ctl per packet). A heartbeat goes out
 * every second with whatever the worker's fill function reports.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.h"
#include "log.h"
#include "msg.h"
#include "util.h"

void
hb_counter(struct heartbeat *hb, const char *name, double value)
{
	if (hb->ncounters >= HB_MAX_COUNTERS)
		return;
	snprintf(hb->counters[hb->ncounters].name, sizeof(hb->counters[0].name), "%s", name);
	hb->counters[hb->ncounters++].value = value;
}

void
hb_alert(struct heartbeat *hb, const char *code, const char *text, int64_t since)
{
	if (hb->nalerts >= HB_MAX_ALERTS)
		return;
	struct worker_alert *a = &hb->alerts[hb->nalerts++];
	snprintf(a->code, sizeof(a->code), "%s", code);
	snprintf(a->text, sizeof(a->text), "%s", text);
	a->since = since;
}

void
ledger_extra(struct ledger *l, const char *name, double value)
{
	if (l->nextra >= (int)ARRAY_LEN(l->extra))
		return;
	snprintf(l->extra[l->nextra].name, sizeof(l->extra[0].name), "%s", name);
	l->extra[l->nextra++].value = value;
}

/* RUNDIR, first found: --rundir, $LEAFMON_RUNDIR, [supervisor] rundir,
 * $RUNTIME_DIRECTORY (systemd), $XDG_RUNTIME_DIR/leafmon, /tmp/leafmon-$UID. */
void
resolve_rundir(char *out, size_t len, const char *opt, const struct config *cfg)
{
	const char *env;
	if (opt != NULL && *opt)
		snprintf(out, len, "%s", opt);
	else if ((env = getenv("LEAFMON_RUNDIR")) != NULL && *env)
		snprintf(out, len, "%s", env);
	else if (cfg != NULL && cfg->sup.rundir[0] != '\0')
		snprintf(out, len, "%s", cfg->sup.rundir);
	else if ((env = getenv("RUNTIME_DIRECTORY")) != NULL && *env)
		snprintf(out, len, "%s", env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env)
		snprintf(out, len, "%s/leafmon", env);
	else
		snprintf(out, len, "/tmp/leafmon-%u", (unsigned)getuid());
}

/* STATEDIR likewise: $LEAFMON_STATEDIR, [supervisor] statedir,
 * $STATE_DIRECTORY, $XDG_STATE_HOME/leafmon, ~/.local/state/leafmon,
 * /tmp/leafmon-state-$UID. */
void
resolve_statedir(char *out, size_t len, const struct config *cfg)
{
	const char *env;
	if ((env = getenv("LEAFMON_STATEDIR")) != NULL && *env)
		snprintf(out, len, "%s", env);
	else if (cfg != NULL && cfg->sup.statedir[0] != '\0')
		snprintf(out, len, "%s", cfg->sup.statedir);
	else if ((env = getenv("STATE_DIRECTORY")) != NULL && *env)
		snprintf(out, len, "%s", env);
	else if ((env = getenv("XDG_STATE_HOME")) != NULL && *env)
		snprintf(out, len, "%s/leafmon", env);
	else if ((env = getenv("HOME")) != NULL && *env)
		snprintf(out, len, "%s/.local/state/leafmon", env);
	else
		snprintf(out, len, "/tmp/leafmon-state-%u", (unsigned)getuid());
}

static void
send_ctl(struct worker *w, const Ctl *ctl)
{
	if (w->chan_fd >= 0 && chan_send(w->chan_fd, ctl) < 0 && errno != EAGAIN)
		log_debug("parent channel send: %s", strerror(errno));
}

static void
request_stop(struct worker *w, const char *why)
{
	if (w->stopping)
		return;
	w->stopping = true;
	log_info("stopping (%s)", why);
	if (w->stop_fn != NULL)
		w->stop_fn(w, w->stop_arg);
	else
		worker_exit(w, 0);
}

static void
on_chan(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct worker *w = arg;
	Ctl *ctl;
	size_t bad;

	switch (chan_recv(fd, ev, &ctl, &bad)) {
	case CHAN_EOF:
		loop_del_fd(l, fd);
		close(fd);
		w->chan_fd = -1;
		request_stop(w, "parent channel closed");
		return;
	case CHAN_NONE:
		if (bad > 0)
			log_warnx("parent channel: malformed message of %zu bytes dropped", bad);
		return;
	case CHAN_MSG:
		break;
	}
	switch (ctl->msg_case) {
	case LEAFMON__V1__CTL__MSG_STOP:
		request_stop(w, "stop requested");
		break;
	case LEAFMON__V1__CTL__MSG_LOG_LEVEL:
		log_setlevel(ctl->log_level->level);
		break;
	default:
		log_warnx("parent channel: unexpected message %d", (int)ctl->msg_case);
	}
	leafmon__v1__ctl__free_unpacked(ctl, NULL);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	request_stop(arg, signo == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* struct heartbeat -> Ctl: pointers into hb, valid while hb lives */
static void
send_heartbeat(struct worker *w, struct heartbeat *hb)
{
	Ctl ctl = LEAFMON__V1__CTL__INIT;
	Heartbeat h = LEAFMON__V1__HEARTBEAT__INIT;
	Counter cs[HB_MAX_COUNTERS], xs[16], *cps[HB_MAX_COUNTERS], *xps[16];
	Alert as[HB_MAX_ALERTS], *aps[HB_MAX_ALERTS];
	Ledger lg = LEAFMON__V1__LEDGER__INIT;

	for (int i = 0; i < hb->ncounters; i++) {
		leafmon__v1__counter__init(&cs[i]);
		cs[i].name = hb->counters[i].name;
		cs[i].value = hb->counters[i].value;
		cps[i] = &cs[i];
	}
	h.n_counters = (size_t)hb->ncounters;
	h.counters = cps;
	for (int i = 0; i < hb->nalerts; i++) {
		leafmon__v1__alert__init(&as[i]);
		as[i].code = hb->alerts[i].code;
		as[i].text = hb->alerts[i].text;
		as[i].has_since = hb->alerts[i].since != 0;
		as[i].since = hb->alerts[i].since;
		aps[i] = &as[i];
	}
	h.n_alerts = (size_t)hb->nalerts;
	h.alerts = aps;
	if (hb->has_ledger) {
		const struct ledger *l = &hb->ledger;
		lg.has_queued_records = lg.has_queued_bytes = lg.has_oldest_age_s = 1;
		lg.queued_records = l->queued_records;
		lg.queued_bytes = l->queued_bytes;
		lg.oldest_age_s = l->oldest_age_s;
		lg.has_last_success = lg.has_last_contact = 1;
		lg.last_success = l->last_success;
		lg.last_contact = l->last_contact;
		if (l->last_error_code != 0 || l->last_error_text[0] != '\0') {
			lg.has_last_error_code = lg.has_last_error_at = 1;
			lg.last_error_code = l->last_error_code;
			lg.last_error_text = (char *)l->last_error_text;
			lg.last_error_at = l->last_error_at;
		}
		lg.has_dropped = lg.has_dead_lettered = lg.has_sent_bytes_today = 1;
		lg.dropped = l->dropped;
		lg.dead_lettered = l->dead_lettered;
		lg.sent_bytes_today = l->sent_bytes_today;
		for (int i = 0; i < l->nextra; i++) {
			leafmon__v1__counter__init(&xs[i]);
			xs[i].name = (char *)l->extra[i].name;
			xs[i].value = l->extra[i].value;
			xps[i] = &xs[i];
		}
		lg.n_extra = (size_t)l->nextra;
		lg.extra = xps;
		h.ledger = &lg;
	}
	ctl.msg_case = LEAFMON__V1__CTL__MSG_HEARTBEAT;
	ctl.heartbeat = &h;
	send_ctl(w, &ctl);
}

/* Send a heartbeat now (the runtime also sends one every second). */
static void
worker_heartbeat_now(struct worker *w)
{
	struct heartbeat *hb = calloc(1, sizeof(*hb));
	if (hb == NULL)
		return;
	if (w->hb_fn != NULL)
		w->hb_fn(w, hb, w->hb_arg);
	hb_counter(hb, "loop_wakeups", (double)loop_wakeups(w->loop));
	send_heartbeat(w, hb);
	free(hb);
}

static void
on_hb_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	worker_heartbeat_now(arg);
	loop_timer_grid(t, NSEC_PER_SEC);
}

void
worker_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(code);
}

static void
usage(const char *name)
{
	fprintf(stderr, "usage: leafmon-%s [-c FILE] [--standalone] [--rundir DIR] [-v]\n", name);
	exit(2);
}

void
worker_init(struct worker *w, const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"standalone", no_argument, NULL, 's'},
	    {"rundir", required_argument, NULL, 'r'}, {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0}};
	const char *cfg_opt = NULL, *rundir_opt = NULL;
	bool verbose = false;
	char err[1024], proc[64];
	int ch;

	memset(w, 0, sizeof(*w));
	w->name = name;
	w->chan_fd = -1;
	snprintf(proc, sizeof(proc), "leafmon-%s", name);
	log_init(strdup(proc), LOG_INFO);
	while ((ch = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_opt = optarg;
			break;
		case 's':
			w->standalone = true;
			break;
		case 'r':
			rundir_opt = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage(name);
		}
	}
	const char *path = config_default_path(cfg_opt);
	snprintf(w->config_path, sizeof(w->config_path), "%s", path);
	if (config_load(&w->cfg, path, cfg_opt == NULL, err, sizeof(err)) < 0)
		worker_fail(WORKER_EXIT_CONFIG, "%s", err);
	log_setlevel(verbose ? LOG_DEBUG : w->cfg.sup.log_level);
	resolve_rundir(w->rundir, sizeof(w->rundir), rundir_opt, &w->cfg);
	resolve_statedir(w->statedir, sizeof(w->statedir), &w->cfg);
	if (dir_make_trusted(w->rundir, RUNDIR_MODE, err, sizeof(err)) < 0 ||
	    dir_make_trusted(w->statedir, RUNDIR_MODE, err, sizeof(err)) < 0)
		worker_fail(WORKER_EXIT_CONFIG, "%s", err);

	/* before the loop's own fds, which would take a free fd 3 */
	if (!w->standalone && fcntl(WORKER_CHAN_FD, F_GETFD) == -1)
		worker_fail(WORKER_EXIT_START,
			    "no parent channel on fd %d (run with --standalone by hand)", WORKER_CHAN_FD);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((w->loop = loop_new()) == NULL)
		worker_fail(WORKER_EXIT_START, "loop: %s", strerror(errno));
	int sigs[] = {SIGTERM, SIGINT};
	if (loop_signals(w->loop, sigs, 2, on_signal, w) < 0)
		worker_fail(WORKER_EXIT_START, "signalfd: %s", strerror(errno));
	if (!w->standalone) {
		w->chan_fd = WORKER_CHAN_FD;
		fd_cloexec(w->chan_fd);
		fd_nonblock(w->chan_fd);
		if (loop_add_fd(w->loop, w->chan_fd, EPOLLIN | EPOLLRDHUP, on_chan, w) < 0)
			worker_fail(WORKER_EXIT_START, "parent channel: %s", strerror(errno));
	}
	w->hb_timer = loop_timer_new(w->loop, on_hb_timer, w);
	loop_timer_grid(w->hb_timer, NSEC_PER_SEC);
}

void
worker_set_heartbeat(struct worker *w, worker_hb_fn fn, void *arg)
{
	w->hb_fn = fn;
	w->hb_arg = arg;
}

void
worker_set_stop(struct worker *w, worker_stop_fn fn, void *arg)
{
	w->stop_fn = fn;
	w->stop_arg = arg;
}

void
worker_ready(struct worker *w, const char *detail)
{
	Ctl ctl = LEAFMON__V1__CTL__INIT;
	Leafmon__V1__Ready r = LEAFMON__V1__READY__INIT;
	r.detail = (char *)(detail ? detail : "");
	ctl.msg_case = LEAFMON__V1__CTL__MSG_READY;
	ctl.ready = &r;
	send_ctl(w, &ctl);
	log_info("ready%s%s", detail ? ": " : "", detail ? detail : "");
	worker_heartbeat_now(w);
}

int
worker_run(struct worker *w)
{
	if (loop_run(w->loop) < 0)
		fatal("event loop");
	loop_timer_free(w->hb_timer);
	w->hb_timer = NULL;
	bus_exit_if_stuck(w->exit_code);
	return w->exit_code;
}

void
worker_exit(struct worker *w, int code)
{
	w->exit_code = code;
	/* no heartbeat after: the worker's state may be gone (a due timer
	 * would still fire in this turn of the loop) */
	loop_timer_stop(w->hb_timer);
	loop_stop(w->loop);
}
