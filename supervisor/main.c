/*
 * leafmond: reads the config, creates RUNDIR and the shared memory (or
 * re-attaches it), starts the workers, restarts them when they die, answers
 * the control socket, and is the only process that talks to systemd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus.h"
#include "journal.h"
#include "leafmond.h"
#include "log.h"
#include "shm.h"
#include "snap.h"
#include "status.h"
#include "util.h"
#include "worker.h"
#include "workerdir.h"

/* Start consumers first, the producer last; stop in reverse, so the can
 * worker flushes its last sample (and session events) while the writers
 * and the ledger still run. */
static const enum wk_id start_order[WK_COUNT] = {WK_INFLUX, WK_CLOUD, WK_LEDGER, WK_WEB,
						       WK_MQTT,	  WK_ABRP,   WK_CAN};

#define READY_AT_LATEST_NS (60 * NSEC_PER_SEC)

static void
write_status_file(struct daemon *d)
{
	char path[512];
	struct buf b;
	Status *st = control_build_status(d);
	buf_init(&b);
	status_to_json(st, &b);
	buf_putc(&b, '\n');
	control_free_status(st);
	snprintf(path, sizeof(path), "%s/status.json", d->rundir);
	if (!b.oom && file_write_atomic(path, b.p, b.len, SHM_MODE) < 0)
		log_warn("%s", path);
	buf_free(&b);
}

static void
on_status_soon(struct loop *l, struct loop_timer *t, void *arg)
{
	struct daemon *d = arg;
	write_status_file(d);
	notify_status(d);
	struct wk *can = &d->sup.wk[WK_CAN];
	if (can->state == WS_READY || can->state == WS_FAILED)
		notify_ready(d);
}

/* Coalesce: many changes in one loop round give one status write. */
void
daemon_status_changed(struct daemon *d)
{
	if (!loop_timer_armed(d->status_soon))
		loop_timer_after(d->status_soon, 0);
}

void
daemon_shutdown_step(struct daemon *d)
{
	d->sup.now = now_mono_ns();
	for (int i = WK_COUNT - 1; i >= 0; i--) {
		struct wk *w = &d->sup.wk[start_order[i]];
		if (w->state == WS_STOPPING)
			return; /* one at a time, bounded by stop_timeout_s */
		if (w->state == WS_STARTING || w->state == WS_READY || w->state == WS_BACKOFF ||
		    w->state == WS_FAILED) {
			sup_event(&d->sup, w, WE_SHUTDOWN, 0);
			if (w->state == WS_STOPPING)
				return;
		}
	}
	log_info("all workers stopped");
	loop_stop(d->loop);
}

static void
on_shutdown_deadline(struct loop *l, struct loop_timer *t, void *arg)
{
	struct daemon *d = arg;
	log_warnx("shutdown took too long: killing what is left");
	for (int i = 0; i < WK_COUNT; i++)
		if (d->sup.wk[i].pid > 0)
			kill(d->sup.wk[i].pid, SIGKILL);
	d->exit_code = 1;
	loop_stop(l);
}

static void
begin_shutdown(struct daemon *d, const char *why)
{
	if (d->sup.shutting_down)
		return;
	log_info("shutting down (%s)", why);
	notify_stopping(d);
	d->sup.shutting_down = true;
	int64_t bound = (int64_t)(d->sup.cfg.sup.stop_timeout_s + 2) * WK_COUNT * NSEC_PER_SEC;
	loop_timer_after(d->shutdown_deadline, bound);
	daemon_shutdown_step(d);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct daemon *d = arg;
	char msg[1024];
	switch (signo) {
	case SIGCHLD:
		spawn_reap(d);
		break;
	case SIGHUP:
		daemon_reload(d, msg, sizeof(msg));
		break;
	case SIGTERM:
		begin_shutdown(d, "SIGTERM");
		break;
	case SIGINT:
		begin_shutdown(d, "SIGINT");
		break;
	}
}

/* The tick: once a second (a quarter of the systemd watchdog's interval
 * when that is shorter), TICK_AFTER_GRID_NS after the workers' heartbeats,
 * which go out on the whole seconds of CLOCK_MONOTONIC. */
#define TICK_AFTER_GRID_NS (100 * NSEC_PER_MSEC)

static void
tick_arm(struct daemon *d, struct loop_timer *t)
{
	int64_t every = NSEC_PER_SEC, now = now_mono_ns();
	if (d->watchdog_usec != 0 && d->watchdog_usec * 1000 / 4 < every)
		every = d->watchdog_usec * 1000 / 4;
	loop_timer_at(t, ((now - TICK_AFTER_GRID_NS) / every + 1) * every + TICK_AFTER_GRID_NS);
}

/* The workers' heartbeats, their deadlines, the systemd watchdog, READY at the latest. */
static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct daemon *d = arg;
	spawn_read_channels(d);
	int64_t now = now_mono_ns();
	int64_t limit = (int64_t)d->sup.cfg.sup.heartbeat_timeout_s * NSEC_PER_SEC;
	d->sup.now = now;
	for (int i = 0; i < WK_COUNT && !d->sup.shutting_down; i++) {
		struct wk *w = &d->sup.wk[i];
		if ((w->state == WS_STARTING || w->state == WS_READY) && w->pid > 0 &&
		    now - w->last_hb > limit)
			sup_event(&d->sup, w, WE_HB_TIMEOUT, 0);
	}
	if (!d->ready_sent && now - d->started_mono > READY_AT_LATEST_NS) {
		log_warnx("the can worker is not ready after %d s; telling systemd we are up anyway",
			  (int)(READY_AT_LATEST_NS / NSEC_PER_SEC));
		notify_ready(d);
	}
	notify_watchdog(d);
	tick_arm(d, t);
}

/* A can worker left over from a supervisor that was killed must not write
 * the journal beside the new one: stop it first (bounded). */
static void
stop_stale_writer(struct daemon *d)
{
	struct journal *j;
	char path[64], comm[32] = "";
	if (journal_open(&j, d->rundir, false) < 0)
		return;
	pid_t pid = 0;
	/* the header's writer pid, read through the snapshot API's twin */
	struct snap *s;
	if (snap_open(&s, d->rundir, false) == 0) {
		pid = snap_writer_pid(s);
		snap_close(s);
	}
	journal_close(j);
	if (pid <= 0 || pid == getpid() || kill(pid, 0) == -1)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[n > 0 ? n : 0] = '\0';
	}
	if (strncmp(comm, "leafmon-can", 11) != 0)
		return;
	log_warnx("a can worker (pid %d) from an earlier leafmond is still running: stopping it",
		  (int)pid);
	kill(pid, SIGTERM);
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000); /* bounded start-up wait, before the loop runs */
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

/* One leafmond per RUNDIR: a second one must not touch the shared memory or
 * take the first one's workers for leftovers. The lock dies with us. */
static void
lock_rundir(struct daemon *d)
{
	char path[512], pid[32] = "";
	snprintf(path, sizeof(path), "%s/leafmond.lock", d->rundir);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, SHM_MODE);
	if (fd == -1)
		fatal("%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatalx("another leafmond (pid %s) is running with rundir %s", pid[0] ? pid : "?",
		       d->rundir);
	}
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("%s", path);
	/* the fd stays open (and locked) until we exit */
}

static void
setup_dirs(struct daemon *d)
{
	char why[700];

	if (dir_make_trusted(d->rundir, RUNDIR_MODE, why, sizeof(why)) < 0) {
		log_msg(LOG_ERR, "rundir %s", why);
		exit(EX_CONFIG_ERR);
	}
	lock_rundir(d);
	if (dir_make_trusted(d->statedir, RUNDIR_MODE, why, sizeof(why)) < 0) {
		log_msg(LOG_ERR, "statedir %s", why);
		exit(EX_CONFIG_ERR);
	}
	bool re_s, re_j;
	uint64_t gen;
	if (snap_create(d->rundir, &re_s, NULL) < 0)
		fatal("%s/state.shm", d->rundir);
	if (journal_create(d->rundir, (size_t)d->sup.cfg.sup.journal_mb << 20, &re_j, &gen) < 0)
		fatal("%s/journal.shm", d->rundir);
	log_info("shared memory in %s: snapshot %s, journal %s (generation %016llx)", d->rundir,
		 re_s ? "re-attached" : "created", re_j ? "re-attached" : "created",
		 (unsigned long long)gen);
}

/* The version, and where the workers would come from without worker_dir. */
static int
print_version(void)
{
	char exe[4096], dir[4096];
	enum workerdir_origin o;

	workerdir_self_exe(exe, sizeof(exe));
	o = workerdir_find(NULL, exe, dir, sizeof(dir));
	printf("leafmond %s (workers in %s: %s)\n", LEAFMON_VERSION, dir, workerdir_origin_name(o));
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: leafmond [-c FILE] [--check-config] [--rundir DIR] [-v] [--version]\n");
	exit(2);
}

static int
check_config(const char *path, bool optional)
{
	struct config cfg;
	char err[1024];
	if (config_load(&cfg, path, optional, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG_ERR;
	}
	char *dump = config_dump(&cfg);
	fputs(dump, stdout);
	free(dump);
	if (cfg.warnings[0] != '\0')
		fprintf(stderr, "warning: %s", cfg.warnings);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"check-config", no_argument, NULL, 'C'},
					     {"rundir", required_argument, NULL, 'r'},
					     {"version", no_argument, NULL, 'V'},
					     {"verbose", no_argument, NULL, 'v'},
					     {NULL, 0, NULL, 0}};
	static struct daemon d;
	const char *cfg_opt = NULL, *rundir_opt = NULL;
	bool check = false, verbose = false;
	char err[1024];
	int ch;

	while ((ch = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_opt = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'r':
			rundir_opt = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			return print_version();
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	const char *path = config_default_path(cfg_opt);
	d.config_optional = cfg_opt == NULL && getenv("LEAFMON_CONFIG") == NULL;
	if (check)
		return check_config(path, d.config_optional);

	log_init("leafmond", LOG_INFO);
	struct config cfg;
	if (config_load(&cfg, path, d.config_optional, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		return EX_CONFIG_ERR;
	}
	if (cfg.warnings[0] != '\0')
		log_warnx("%s", cfg.warnings);
	log_setlevel(verbose ? LOG_DEBUG : cfg.sup.log_level);
	snprintf(d.config_path, sizeof(d.config_path), "%s", path);
	resolve_rundir(d.rundir, sizeof(d.rundir), rundir_opt, &cfg);
	resolve_statedir(d.statedir, sizeof(d.statedir), &cfg);
	d.started_mono = now_mono_ns();
	sup_init(&d.sup, &cfg, &daemon_ops);
	d.sup.priv = &d;

	signal(SIGPIPE, SIG_IGN);
	setup_dirs(&d);
	stop_stale_writer(&d);
	if ((d.loop = loop_new()) == NULL)
		fatal("loop");
	int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT};
	if (loop_signals(d.loop, sigs, 4, on_signal, &d) < 0)
		fatal("signalfd");
	d.status_soon = loop_timer_new(d.loop, on_status_soon, &d);
	d.shutdown_deadline = loop_timer_new(d.loop, on_shutdown_deadline, &d);
	d.tick = loop_timer_new(d.loop, on_tick, &d);
	if (control_open(&d) < 0)
		return 1;
	notify_init(&d);
	log_info("leafmond %s: config %s%s, rundir %s, statedir %s", LEAFMON_VERSION, path,
		 access(path, F_OK) == 0 ? "" : " (absent: defaults)", d.rundir, d.statedir);

	d.sup.now = now_mono_ns();
	for (int i = 0; i < WK_COUNT; i++) {
		struct wk *w = &d.sup.wk[start_order[i]];
		if (worker_enabled(&d.sup.cfg, w->id))
			sup_event(&d.sup, w, WE_START, 0);
		else
			w->state = WS_DISABLED;
	}
	daemon_status_changed(&d);
	tick_arm(&d, d.tick);
	loop_run(d.loop);

	write_status_file(&d);
	control_close(&d);
	log_info("leafmond stopped");
	bus_exit_if_stuck(d.exit_code);
	return d.exit_code;
}
