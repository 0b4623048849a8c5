/*
 * Starting workers: fork, then in the child only async-signal-safe calls
 * until execv (leafmond has nng threads; nng is not fork-safe). The child
 * gets the parent channel on fd 3, a clean signal mask, its own process
 * group (terminal signals go to leafmond, which stops workers in order),
 * and nothing else open.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leafmond.h"
#include "log.h"
#include "msg.h"
#include "util.h"
#include "worker.h"
#include "workerdir.h"

static struct daemon *
daemon_of(struct sup *s)
{
	return s->priv;
}

static void spawn_close_channel(struct daemon *d, struct wk *w);

/* One message off a worker's channel: 1 when there may be more. */
static int
channel_take(struct daemon *d, struct wk *w, uint32_t ev)
{
	Ctl *ctl;
	size_t bad;

	switch (chan_recv(w->chan_fd, ev, &ctl, &bad)) {
	case CHAN_EOF:
		/* the worker closed its end; SIGCHLD brings the exit */
		spawn_close_channel(d, w);
		return 0;
	case CHAN_NONE:
		if (bad > 0)
			log_warnx("%s: malformed message of %zu bytes on its channel dropped",
				  w->name, bad);
		return bad > 0;
	case CHAN_MSG:
		break;
	}
	d->sup.now = now_mono_ns();
	switch (ctl->msg_case) {
	case LEAFMON__V1__CTL__MSG_READY:
		w->last_hb = d->sup.now;
		sup_event(&d->sup, w, WE_READY, 0);
		break;
	case LEAFMON__V1__CTL__MSG_HEARTBEAT:
		w->last_hb = d->sup.now;
		/* its first heartbeat once ready came at once (the status has its
		 * counters); the next ones wait for spawn_read_channels() */
		if (ev != 0 && w->state == WS_READY &&
		    loop_mod_fd(d->loop, w->chan_fd, EPOLLRDHUP) < 0)
			log_warn("%s: channel watch", w->name);
		if (w->hb != NULL)
			leafmon__v1__heartbeat__free_unpacked(w->hb, NULL);
		w->hb = ctl->heartbeat;
		ctl->heartbeat = NULL; /* keep it; the rest of ctl is freed */
		ctl->msg_case = LEAFMON__V1__CTL__MSG__NOT_SET;
		break;
	default:
		log_warnx("%s: unexpected message %d on its channel", w->name, (int)ctl->msg_case);
	}
	leafmon__v1__ctl__free_unpacked(ctl, NULL);
	return 1;
}

static void
on_channel(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct wk *w = arg;
	channel_take(container_of_wk(w), w, ev);
}

/* A ready worker's channel wakes us only when it hangs up: its heartbeats
 * (one a second, on the same grid as ours) are read here, from the tick,
 * so seven workers cost leafmond one wake-up a second, not seven. */
void
spawn_read_channels(struct daemon *d)
{
	for (int i = 0; i < WK_COUNT; i++) {
		struct wk *w = &d->sup.wk[i];
		for (int n = 0; n < CHAN_READ_MAX && w->chan_fd >= 0; n++)
			if (!channel_take(d, w, 0))
				break;
	}
}

static void
spawn_close_channel(struct daemon *d, struct wk *w)
{
	if (w->chan_fd < 0)
		return;
	loop_del_fd(d->loop, w->chan_fd);
	close(w->chan_fd);
	w->chan_fd = -1;
}

/* The workers' directory (workerdir.h), said in the log when it changes
 * (the first start, a reload that sets worker_dir). */
static const char *
worker_dir(struct daemon *d)
{
	char exe[4096], dir[sizeof(d->worker_dir)];
	enum workerdir_origin o;

	workerdir_self_exe(exe, sizeof(exe));
	o = workerdir_find(d->sup.cfg.sup.worker_dir, exe, dir, sizeof(dir));
	if (strcmp(dir, d->worker_dir) != 0) {
		log_info("workers from %s (%s)", dir, workerdir_origin_name(o));
		snprintf(d->worker_dir, sizeof(d->worker_dir), "%s", dir);
	}
	return d->worker_dir;
}

static int
d_spawn(struct sup *s, struct wk *w)
{
	struct daemon *d = daemon_of(s);
	char path[4200], name[64];
	int sv[2];

	snprintf(path, sizeof(path), "%s/leafmon-%s", worker_dir(d), w->name);
	snprintf(name, sizeof(name), "leafmon-%s", w->name);
	if (access(path, X_OK) == -1) {
		log_warn("%s: cannot run %s", w->name, path);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", w->name);
		return -1;
	}
	/* everything the child needs is built before fork: no malloc after */
	char *argv[8];
	int argc = 0;
	argv[argc++] = name;
	if (d->config_path[0] != '\0' && !(d->config_optional && access(d->config_path, F_OK) != 0)) {
		argv[argc++] = "-c";
		argv[argc++] = d->config_path;
	}
	argv[argc++] = "--rundir";
	argv[argc++] = d->rundir;
	argv[argc] = NULL;
	sigset_t empty;
	sigemptyset(&empty);

	pid_t pid = fork();
	if (pid == -1) {
		log_warn("%s: fork", w->name);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		if (sv[1] == WORKER_CHAN_FD)
			fcntl(sv[1], F_SETFD, 0);
		else if (dup2(sv[1], WORKER_CHAN_FD) == -1)
			_exit(127);
		syscall(SYS_close_range, WORKER_CHAN_FD + 1, ~0U, 0);
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigaction(SIGPIPE, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		setpgid(0, 0);
		execv(path, argv);
		static const char msg[] = "leafmond: execv of a worker failed\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	close(sv[1]);
	fd_nonblock(sv[0]);
	w->pid = pid;
	w->chan_fd = sv[0];
	if (w->hb != NULL) {
		leafmon__v1__heartbeat__free_unpacked(w->hb, NULL);
		w->hb = NULL;
	}
	if (loop_add_fd(d->loop, sv[0], EPOLLIN | EPOLLRDHUP, on_channel, w) < 0)
		log_warn("%s: channel watch", w->name);
	log_info("%s: started pid %d", w->name, (int)pid);
	return 0;
}

static void
d_send_stop(struct sup *s, struct wk *w)
{
	Ctl ctl = LEAFMON__V1__CTL__INIT;
	Leafmon__V1__Stop st = LEAFMON__V1__STOP__INIT;

	ctl.msg_case = LEAFMON__V1__CTL__MSG_STOP;
	ctl.stop = &st;
	if ((w->chan_fd < 0 || chan_send(w->chan_fd, &ctl) < 0) && w->pid > 0)
		kill(w->pid, SIGTERM);
}

static void
d_kill(struct sup *s, struct wk *w, int sig)
{
	if (w->pid > 0)
		kill(w->pid, sig);
}

static void
on_wk_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct wk *w = arg;
	struct daemon *d = container_of_wk(w);
	d->sup.now = now_mono_ns();
	w->deadline = 0;
	sup_event(&d->sup, w, WE_TIMER, 0);
}

static void
d_arm(struct sup *s, struct wk *w, int64_t deadline)
{
	struct daemon *d = daemon_of(s);
	struct loop_timer **t = &d->wk_timer[w->id];
	if (*t == NULL)
		*t = loop_timer_new(d->loop, on_wk_timer, w);
	if (deadline == 0)
		loop_timer_stop(*t);
	else
		loop_timer_at(*t, deadline);
}

static void
d_changed(struct sup *s, struct wk *w)
{
	struct daemon *d = daemon_of(s);
	log_info("%s: %s", w->name, wk_state_name(w->state));
	daemon_status_changed(d);
	if (s->shutting_down)
		daemon_shutdown_step(d);
}

const struct sup_ops daemon_ops = {d_spawn, d_send_stop, d_kill, d_arm, d_changed};

void
spawn_reap(struct daemon *d)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		d->sup.now = now_mono_ns();
		for (int i = 0; i < WK_COUNT; i++) {
			struct wk *w = &d->sup.wk[i];
			if (w->pid != pid)
				continue;
			spawn_close_channel(d, w);
			sup_event(&d->sup, w, WE_EXIT, status);
			break;
		}
	}
}
