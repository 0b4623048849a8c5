/*
 * Reactor implementation. Registrations are heap nodes referenced from
 * epoll's data.ptr; a node removed during dispatch is only marked dead and
 * freed after the batch, so a pending event never touches freed memory.
 * Timers are a short sorted list: processes here have a handful of them.
 */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct fd_node {
	int fd;
	bool dead;
	loop_fd_cb cb;
	void *arg;
	struct fd_node *next; /* all nodes, for lookup and deferred free */
};

struct loop_timer {
	struct loop *l;
	int64_t deadline; /* 0: not armed */
	loop_timer_cb cb;
	void *arg;
	struct loop_timer *next; /* armed list, sorted by deadline */
};

struct loop {
	int epfd;
	int tfd;
	int sigfd;
	loop_signal_cb sig_cb;
	void *sig_arg;
	struct fd_node *nodes;
	struct loop_timer *armed;
	int64_t tfd_deadline;
	uint64_t wakeups;
	bool stop;
	bool dispatching;
};

static void timers_fire(struct loop *l, int fd, uint32_t ev, void *arg);
static void signals_read(struct loop *l, int fd, uint32_t ev, void *arg);

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->epfd == -1 || l->tfd == -1 || loop_add_fd(l, l->tfd, EPOLLIN, timers_fire, l) < 0) {
		loop_free(l);
		return NULL;
	}
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	for (struct fd_node *n = l->nodes, *next; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
	if (l->epfd != -1)
		close(l->epfd);
	if (l->tfd != -1)
		close(l->tfd);
	if (l->sigfd != -1)
		close(l->sigfd);
	free(l);
}

static struct fd_node *
node_find(struct loop *l, int fd)
{
	for (struct fd_node *n = l->nodes; n != NULL; n = n->next)
		if (n->fd == fd && !n->dead)
			return n;
	return NULL;
}

int
loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct fd_node *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -1;
	n->fd = fd;
	n->cb = cb;
	n->arg = arg;
	struct epoll_event ev = {.events = events, .data.ptr = n};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(n);
		return -1;
	}
	n->next = l->nodes;
	l->nodes = n;
	return 0;
}

int
loop_mod_fd(struct loop *l, int fd, uint32_t events)
{
	struct fd_node *n = node_find(l, fd);
	if (n == NULL) {
		errno = ENOENT;
		return -1;
	}
	struct epoll_event ev = {.events = events, .data.ptr = n};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void
nodes_reap(struct loop *l)
{
	for (struct fd_node **pp = &l->nodes; *pp != NULL;) {
		struct fd_node *n = *pp;
		if (n->dead) {
			*pp = n->next;
			free(n);
		} else {
			pp = &n->next;
		}
	}
}

int
loop_del_fd(struct loop *l, int fd)
{
	struct fd_node *n = node_find(l, fd);
	if (n == NULL) {
		errno = ENOENT;
		return -1;
	}
	/* the fd may already be closed by the caller: ignore EBADF */
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) == -1 && errno != EBADF && errno != ENOENT)
		return -1;
	n->dead = true;
	if (!l->dispatching)
		nodes_reap(l);
	return 0;
}

static void
tfd_rearm(struct loop *l)
{
	int64_t want = l->armed ? l->armed->deadline : 0;
	if (want == l->tfd_deadline)
		return;
	struct itimerspec its = {0};
	if (want != 0) {
		its.it_value.tv_sec = want / NSEC_PER_SEC;
		its.it_value.tv_nsec = want % NSEC_PER_SEC;
	}
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		fatal("timerfd_settime");
	l->tfd_deadline = want;
}

struct loop_timer *
loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->l = l;
	t->cb = cb;
	t->arg = arg;
	return t;
}

static void
timer_unlink(struct loop_timer *t)
{
	for (struct loop_timer **pp = &t->l->armed; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->next = NULL;
	t->deadline = 0;
}

void
loop_timer_stop(struct loop_timer *t)
{
	if (t == NULL || t->deadline == 0)
		return;
	timer_unlink(t);
	tfd_rearm(t->l);
}

void
loop_timer_free(struct loop_timer *t)
{
	if (t == NULL)
		return;
	loop_timer_stop(t);
	free(t);
}

void
loop_timer_at(struct loop_timer *t, int64_t deadline)
{
	if (t->deadline != 0)
		timer_unlink(t);
	if (deadline <= 0)
		deadline = 1;
	t->deadline = deadline;
	struct loop_timer **pp = &t->l->armed;
	while (*pp != NULL && (*pp)->deadline <= deadline)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	tfd_rearm(t->l);
}

void
loop_timer_after(struct loop_timer *t, int64_t delay_ns)
{
	loop_timer_at(t, now_mono_ns() + (delay_ns > 0 ? delay_ns : 0));
}

void
loop_timer_grid(struct loop_timer *t, int64_t period_ns)
{
	int64_t now = now_mono_ns();
	loop_timer_at(t, (now / period_ns + 1) * period_ns);
}

int
loop_timer_armed(const struct loop_timer *t)
{
	return t != NULL && t->deadline != 0;
}

static void
timers_fire(struct loop *l, int fd, uint32_t ev, void *arg)
{
	uint64_t ticks;
	while (read(fd, &ticks, sizeof(ticks)) > 0)
		;
	l->tfd_deadline = 0; /* a fired timerfd is disarmed */
	int64_t now = now_mono_ns();
	/* run every due timer; a callback may re-arm itself or others */
	while (l->armed != NULL && l->armed->deadline <= now) {
		struct loop_timer *t = l->armed;
		timer_unlink(t);
		t->cb(l, t, t->arg);
	}
	tfd_rearm(l);
}

int
loop_signals(struct loop *l, const int *signals, int n, loop_signal_cb cb, void *arg)
{
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd == -1)
		return -1;
	l->sig_cb = cb;
	l->sig_arg = arg;
	return loop_add_fd(l, l->sigfd, EPOLLIN, signals_read, l);
}

static void
signals_read(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		l->sig_cb(l, (int)si.ssi_signo, l->sig_arg);
}

int
loop_once(struct loop *l, int64_t max_wait_ns)
{
	struct epoll_event evs[64];
	int timeout = max_wait_ns < 0 ? -1 : (int)((max_wait_ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
	int n = epoll_wait(l->epfd, evs, (int)ARRAY_LEN(evs), timeout);
	l->wakeups++;
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	l->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct fd_node *node = evs[i].data.ptr;
		if (node->dead)
			continue;
		node->cb(l, node->fd, evs[i].events, node->arg);
	}
	l->dispatching = false;
	nodes_reap(l);
	return n;
}

int
loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop)
		if (loop_once(l, -1) < 0)
			return -1;
	return 0;
}

void
loop_stop(struct loop *l)
{
	l->stop = true;
}

uint64_t
loop_wakeups(const struct loop *l)
{
	return l->wakeups;
}
