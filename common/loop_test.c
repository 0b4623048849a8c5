/* The reactor: timers fire in deadline order, fds dispatch, a signal
 * arrives through the signalfd, and deleting an fd inside a callback is safe;
 * grid timers of different phases share one wake-up, and wake-ups are counted. */
#include <signal.h>
#include <unistd.h>

#include "loop.h"
#include "t.h"
#include "util.h"

static int order[8], norder;

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
	if (norder == 3)
		loop_stop(l);
}

static void
test_loop_timers_in_order(void)
{
	struct loop *l = loop_new();
	struct loop_timer *a = loop_timer_new(l, on_timer, (void *)1);
	struct loop_timer *b = loop_timer_new(l, on_timer, (void *)2);
	struct loop_timer *c = loop_timer_new(l, on_timer, (void *)3);
	norder = 0;
	loop_timer_after(c, 30 * NSEC_PER_MSEC);
	loop_timer_after(a, 10 * NSEC_PER_MSEC);
	loop_timer_after(b, 20 * NSEC_PER_MSEC);
	CHECK_INT(loop_run(l), ==, 0);
	CHECK_INT(norder, ==, 3);
	CHECK_INT(order[0], ==, 1);
	CHECK_INT(order[1], ==, 2);
	CHECK_INT(order[2], ==, 3);
	CHECK(!loop_timer_armed(a));
	loop_timer_free(a);
	loop_timer_free(b);
	loop_timer_free(c);
	loop_free(l);
}

static int got_signal;
static int fd_hits;

static void
on_signal(struct loop *l, int signo, void *arg)
{
	got_signal = signo;
	loop_stop(l);
}

static void
on_fd(struct loop *l, int fd, uint32_t ev, void *arg)
{
	char c;
	int *other = arg;
	fd_hits++;
	(void)!read(fd, &c, 1);
	loop_del_fd(l, fd);
	loop_del_fd(l, *other); /* its event may be pending in the same batch */
}

static void
test_loop_fds_and_signals(void)
{
	struct loop *l = loop_new();
	int p1[2], p2[2];
	CHECK(pipe(p1) == 0 && pipe(p2) == 0);
	fd_hits = 0;
	CHECK_INT(loop_add_fd(l, p1[0], EPOLLIN, on_fd, &p2[0]), ==, 0);
	CHECK_INT(loop_add_fd(l, p2[0], EPOLLIN, on_fd, &p1[0]), ==, 0);
	CHECK_INT(write(p1[1], "x", 1), ==, 1);
	CHECK_INT(write(p2[1], "y", 1), ==, 1);
	loop_once(l, 100 * NSEC_PER_MSEC);
	CHECK_INT(fd_hits, ==, 1);
	CHECK_INT(loop_once(l, 10 * NSEC_PER_MSEC), ==, 0);

	int sigs[] = {SIGUSR1};
	CHECK_INT(loop_signals(l, sigs, 1, on_signal, NULL), ==, 0);
	raise(SIGUSR1);
	CHECK_INT(loop_run(l), ==, 0);
	CHECK_INT(got_signal, ==, SIGUSR1);
	loop_free(l);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

static int grid_hits;

static void
on_grid(struct loop *l, struct loop_timer *t, void *arg)
{
	grid_hits++;
	if (grid_hits == 4)
		loop_stop(l);
	else if (grid_hits < 4)
		loop_timer_grid(t, 50 * NSEC_PER_MSEC);
}

static void
test_loop_grid_shares_wakeups(void)
{
	struct loop *l = loop_new();
	struct loop_timer *a = loop_timer_new(l, on_grid, NULL);
	struct loop_timer *b = loop_timer_new(l, on_grid, NULL);
	grid_hits = 0;
	while (now_mono_ns() % (50 * NSEC_PER_MSEC) > 20 * NSEC_PER_MSEC)
		usleep(1000); /* early in a period: both below arm for its end */
	uint64_t w0 = loop_wakeups(l);
	loop_timer_grid(a, 50 * NSEC_PER_MSEC);
	usleep(7000); /* another phase: armed later, due at the same grid point */
	loop_timer_grid(b, 50 * NSEC_PER_MSEC);
	CHECK_INT(loop_run(l), ==, 0);
	/* four firings in two wake-ups, each a multiple of 50 ms */
	CHECK_INT(grid_hits, ==, 4);
	CHECK_INT((int)(loop_wakeups(l) - w0), ==, 2);
	CHECK_INT(loop_once(l, 0), ==, 0);
	CHECK_INT((int)(loop_wakeups(l) - w0), ==, 3); /* a return with nothing counts, too */
	loop_timer_free(a);
	loop_timer_free(b);
	loop_free(l);
}

T_MAIN(T(test_loop_timers_in_order), T(test_loop_fds_and_signals), T(test_loop_grid_shares_wakeups))
