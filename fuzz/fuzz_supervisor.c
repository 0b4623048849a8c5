/*
 * The fuzzers' leafmond (see fuzz_supervisor.h). control.c and spawn.c are
 * compiled in whole to reach their static request and channel handlers;
 * main.c's two hooks are replaced by counters.
 */
#include "../supervisor/control.c"
#include "../supervisor/spawn.c"

#include "fuzz_supervisor.h"
#include "status.h"

static const char fuzz_conf[] = "[influx]\nenabled = true\n[cloud]\nenabled = false\n";
static char conf_path[64];
static unsigned status_changes, shutdown_steps;

void
daemon_status_changed(struct daemon *d)
{
	status_changes++;
}

void
daemon_shutdown_step(struct daemon *d)
{
	shutdown_steps++;
}

/* Fake process operations: a pid no process can have, no channel. */
static int
fake_spawn(struct sup *s, struct wk *w)
{
	w->pid = 0x7ffffff0 + (pid_t)w->id;
	w->spawned_at = s->now;
	return 0;
}

static void
fake_send_stop(struct sup *s, struct wk *w)
{
}

static void
fake_kill(struct sup *s, struct wk *w, int sig)
{
}

static void
fake_arm(struct sup *s, struct wk *w, int64_t deadline)
{
	w->deadline = deadline;
}

static void
fake_changed(struct sup *s, struct wk *w)
{
	daemon_status_changed(s->priv);
}

static const struct sup_ops fake_ops = {fake_spawn, fake_send_stop, fake_kill, fake_arm,
					fake_changed};

static void
remove_conf(void)
{
	unlink(conf_path);
}

static void
fuzz_sup_once(void)
{
	if (conf_path[0] != '\0')
		return;
	log_init("fuzz", LOG_CRIT);
	unsetenv("NOTIFY_SOCKET");
	snprintf(conf_path, sizeof(conf_path), "/tmp/leafmon-fuzz-%d.conf", (int)getpid());
	if (file_write_atomic(conf_path, fuzz_conf, sizeof(fuzz_conf) - 1, 0600) < 0)
		abort();
	atexit(remove_conf);
}

struct daemon *
fuzz_sup_new(void)
{
	static struct config *cfg;
	struct daemon *d = calloc(1, sizeof(*d));
	char err[1024];

	fuzz_sup_once();
	if (cfg == NULL) {
		cfg = malloc(sizeof(*cfg));
		if (cfg == NULL || config_load(cfg, conf_path, false, err, sizeof(err)) < 0)
			abort();
	}
	if (d == NULL)
		abort();
	sup_init(&d->sup, cfg, &fake_ops);
	d->sup.priv = d;
	if ((d->loop = loop_new()) == NULL) /* its counters go into the status */
		abort();
	d->ctl_fd = -1;
	str_copy(d->config_path, conf_path, sizeof(d->config_path));
	d->started_mono = d->sup.now = now_mono_ns();
	for (int i = 0; i < WK_COUNT; i++)
		if (worker_enabled(&d->sup.cfg, (enum wk_id)i))
			sup_event(&d->sup, &d->sup.wk[i], WE_START, 0);
	return d;
}

void
fuzz_sup_free(struct daemon *d)
{
	for (int i = 0; i < WK_COUNT; i++)
		if (d->sup.wk[i].hb != NULL)
			leafmon__v1__heartbeat__free_unpacked(d->sup.wk[i].hb, NULL);
	loop_free(d->loop);
	free(d);
}

void
fuzz_sup_channel(struct daemon *d, int wid, const uint8_t *data, size_t len)
{
	int sv[2];

	/* a zero-length packet reads as EOF on SOCK_SEQPACKET: not a message */
	if (len == 0 || len > MSG_CTL_MAX + 1)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	int sndbuf = MSG_CTL_MAX * 4;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (send(sv[0], data, len, 0) == (ssize_t)len)
		on_channel(NULL, sv[1], EPOLLIN, &d->sup.wk[wid % WK_COUNT]);
	close(sv[0]);
	close(sv[1]);
}

void
fuzz_sup_request(struct daemon *d, const uint8_t *data, size_t len)
{
	ControlRequest *req = msg_control_request_unpack(data, len);

	if (req == NULL)
		return;
	handle(d, req);
	leafmon__v1__control_request__free_unpacked(req, NULL);
	log_setlevel(LOG_CRIT); /* a LogLevel request may have raised it */
}

void
fuzz_sup_status(struct daemon *d)
{
	struct buf b;
	Status *st = control_build_status(d);

	buf_init(&b);
	status_to_json(st, &b);
	if (b.oom || b.len == 0 || buf_str(&b)[0] != '{')
		abort();
	buf_free(&b);
	control_free_status(st);
}
