/*
 * sim: the built-in Leaf simulator (sim.c) in real time, every 10 ms from
 * a timer. The generation is the configured one (AZE0 when auto); the
 * scenario the cycle, or the day (sim,scenario=day), which ends: then the
 * source is done. Its LBC answers the cell poller's requests (sim_lbc.c;
 * sim,lbc=nrc|silent for tests).
 */
#include "src.h"

#include <stdlib.h>

#include "decode.h"
#include "log.h"
#include "sim.h"
#include "util.h"

struct sim_src {
	struct sim sim;
	int64_t real0, mono0;
};

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct can_src *s = arg;
	struct sim_src *p = s->priv;
	struct can_rec batch[SRC_BATCH];
	int64_t until = p->real0 + (now_mono_ns() - p->mono0);
	size_t n;

	while ((n = sim_run(&p->sim, until, batch, SRC_BATCH)) > 0) {
		s->frames += n;
		s->on_frames(s, batch, n, s->arg);
		if (s->timer == NULL)
			return;
	}
	if (p->sim.ended) {
		log_info("sim: the day is over (%llu frames)", (unsigned long long)s->frames);
		s->state = SRC_DONE;
		return;
	}
	loop_timer_after(t, SIM_TICK_NS);
}

/* The poller's frame reaches the simulated LBC at the simulator's now. */
static int
sim_send(struct can_src *s, const struct can_rec *f)
{
	struct sim_src *p = s->priv;

	sim_lbc_rx(&p->sim, f, p->real0 + (now_mono_ns() - p->mono0));
	if (s->timer != NULL && !loop_timer_armed(s->timer))
		loop_timer_after(s->timer, SIM_TICK_NS);
	return 0;
}

static void
sim_close(struct can_src *s)
{
	struct sim_src *p = s->priv;

	if (p != NULL)
		sim_free(&p->sim);
	free(s->priv);
	s->priv = NULL;
}

int
src_sim_open(struct can_src *s)
{
	struct sim_src *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	p->real0 = now_real_ns();
	p->mono0 = now_mono_ns();
	sim_init(&p->sim, s->gen, s->spec.bus, p->real0);
	s->priv = p;
	s->close_fn = sim_close;
	s->send_fn = sim_send;
	p->sim.lbc.mode = s->spec.lbc;
	if (sim_set_scenario(&p->sim, s->spec.scenario ? SIM_DAY : SIM_CYCLE) < 0)
		return -1;
	if ((s->timer = loop_timer_new(s->loop, on_timer, s)) == NULL)
		return -1;
	loop_timer_after(s->timer, SIM_TICK_NS);
	return 0;
}
