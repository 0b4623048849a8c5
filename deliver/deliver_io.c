/*
 * The real side of deliver's seam (deliver.h "struct deliver_ops"): requests
 * through httpc on the worker's loop, util.h's clocks, getrandom for the
 * jitter and two loop timers, for deliver_new().
 */
#include <stdlib.h>
#include <sys/random.h>

#include "deliver.h"

struct deliver_io {
	struct httpc *http;
	struct loop_timer *timer[DTIMER_COUNT];
	struct deliver *d;
};

static void *
io_request(void *ctx, const char *method, const char *url, const void *body, size_t len,
	   const struct httpc_opts *o, httpc_cb cb, void *arg)
{
	struct deliver_io *io = ctx;
	return httpc_request(io->http, method, url, body, len, o, cb, arg);
}

static int64_t
io_now(void *ctx, enum deliver_clock c)
{
	return c == DCLOCK_MONO ? now_mono_ns() : c == DCLOCK_REAL ? now_real_ns() : now_boot_ns();
}

static double
io_jitter(void *ctx)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)now_mono_ns();
	return (double)v / 4294967296.0;
}

static void
io_timer(void *ctx, enum deliver_timer t, int64_t deadline)
{
	struct deliver_io *io = ctx;
	if (deadline == 0)
		loop_timer_stop(io->timer[t]);
	else
		loop_timer_at(io->timer[t], deadline);
}

static void
io_release(void *ctx)
{
	struct deliver_io *io = ctx;
	httpc_free(io->http);
	for (int t = 0; t < DTIMER_COUNT; t++)
		loop_timer_free(io->timer[t]);
	free(io);
}

static const struct deliver_ops io_ops = {io_request, io_now, io_jitter, io_timer, io_release};

static void
on_wait(struct loop *l, struct loop_timer *t, void *arg)
{
	struct deliver_io *io = arg;
	deliver_on_timer(io->d, DTIMER_WAIT);
}

static void
on_ahead(struct loop *l, struct loop_timer *t, void *arg)
{
	struct deliver_io *io = arg;
	deliver_on_timer(io->d, DTIMER_AHEAD);
}

int
deliver_new(struct deliver **dp, struct loop *l, struct spool *sp, const struct deliver_opts *o)
{
	struct deliver_io *io = calloc(1, sizeof(*io));
	if (io == NULL)
		return -1;
	io->timer[DTIMER_WAIT] = loop_timer_new(l, on_wait, io);
	io->timer[DTIMER_AHEAD] = loop_timer_new(l, on_ahead, io);
	if (io->timer[DTIMER_WAIT] == NULL || io->timer[DTIMER_AHEAD] == NULL ||
	    httpc_new(&io->http, l) < 0 || deliver_open(&io->d, sp, o, &io_ops, io) < 0) {
		io_release(io);
		return -1;
	}
	*dp = io->d;
	return 0;
}
