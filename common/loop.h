/*
 * A tiny reactor (after redis's ae): epoll for fds, one timerfd armed for the
 * nearest deadline, signalfd for signals. Callbacks run in the loop's thread;
 * signal handlers are never used.
 */
#ifndef LEAFMON_LOOP_H
#define LEAFMON_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, struct loop_timer *t, void *arg);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
int loop_del_fd(struct loop *l, int fd);

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg);
void loop_timer_free(struct loop_timer *t);
void loop_timer_at(struct loop_timer *t, int64_t deadline_mono_ns);
void loop_timer_after(struct loop_timer *t, int64_t delay_ns);
void loop_timer_stop(struct loop_timer *t);
int loop_timer_armed(const struct loop_timer *t);
/* Arm at the next whole multiple of period_ns on CLOCK_MONOTONIC (one grid
 * for every process), so periodic timers of any phase share one wake-up. */
void loop_timer_grid(struct loop_timer *t, int64_t period_ns);

/* Block the signals and deliver them through a signalfd to cb. */
int loop_signals(struct loop *l, const int *signals, int n, loop_signal_cb cb, void *arg);

/* Run until loop_stop(); returns 0, or -1 on an epoll failure. */
int loop_run(struct loop *l);
/* One round: wait at most max_wait_ns (-1: until something happens). */
int loop_once(struct loop *l, int64_t max_wait_ns);
void loop_stop(struct loop *l);
/* Returns from epoll_wait so far: the process's wake-ups (DESIGN.md "Processes", Wake-ups). */
uint64_t loop_wakeups(const struct loop *l);

#endif
