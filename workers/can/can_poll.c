/*
 * The cell poller's I/O in the can worker (see can_poll.h): which source
 * sends, the timer, the send itself (one non-blocking write per frame), the
 * recording of what we sent (direction T), and the heartbeat figures. The
 * protocol is lbcpoll.c's.
 */
#include "can_poll.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "can_worker.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#define WARN_EVERY_NS (60LL * NSEC_PER_SEC)

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct can_poll *cp = arg;

	cp->armed_at = 0;
	can_poll_run(cp, now_mono_ns());
}

/* The first EV-CAN source that can transmit; -1 with the reason. */
static int
pick_source(struct can_poll *cp, const struct config *cfg)
{
	bool ev = false;

	for (int i = 0; i < cfg->can.nsrc; i++) {
		const struct src_spec *sp = &cfg->can.src[i];
		if (sp->bus != BUS_EV)
			continue;
		ev = true;
		if (sp->kind != SRC_REPLAY)
			return i;
	}
	snprintf(cp->why_off, sizeof(cp->why_off), "%s",
		 ev ? "the EV-CAN source is a replay, which cannot transmit (replies in the log "
		      "are still decoded)"
		    : "no source is on EV-CAN (@ev), where the battery controller is");
	return -1;
}

void
can_poll_start(struct can_poll *cp, struct can_worker *cw)
{
	const struct config *cfg = &cw->w->cfg;

	memset(cp, 0, sizeof(*cp));
	cp->cw = cw;
	cp->src = -1;
	if (!cfg->can.poll_cells)
		return;
	cp->off_since = now_real_ns();
	if ((cp->src = pick_source(cp, cfg)) < 0) {
		log_warnx("cell polling is off: %s", cp->why_off);
		return;
	}
	if ((cp->timer = loop_timer_new(cw->w->loop, on_timer, cp)) == NULL) {
		snprintf(cp->why_off, sizeof(cp->why_off), "no timer: %s", strerror(errno));
		log_warnx("cell polling is off: %s", cp->why_off);
		return;
	}
	lbcpoll_init(&cp->p, BUS_EV, (int64_t)cfg->can.poll_interval_s * NSEC_PER_SEC);
	cp->on = true;
	log_info("cell polling on %s %s: LBC groups 01 02 04 06 at most every %d s",
		 srcspec_kind_name(cfg->can.src[cp->src].kind), cfg->can.src[cp->src].path,
		 cfg->can.poll_interval_s);
}

void
can_poll_stop(struct can_poll *cp)
{
	if (cp->timer != NULL)
		loop_timer_free(cp->timer);
	cp->timer = NULL;
	cp->on = false;
}

/* Our frames go out now, and into the recording as sent (direction T). */
static void
send_queued(struct can_poll *cp, int64_t now)
{
	struct can_worker *cw = cp->cw;
	struct can_src *s = &cw->src[cp->src];
	struct can_rec tx[LBCPOLL_TX_MAX];
	size_t n = lbcpoll_take_tx(&cp->p, tx, now);

	for (size_t i = 0; i < n; i++) {
		if (src_send(s, &tx[i]) < 0) {
			int64_t real = now_real_ns();
			if (real - cp->last_warn_ns >= WARN_EVERY_NS) {
				log_warnx(
				    "cell polling: send on %s: %s (counted in poll_tx_errors)",
				    s->spec.path[0] ? s->spec.path : "sim", strerror(errno));
				cp->last_warn_ns = real;
			}
			lbcpoll_tx_failed(&cp->p, now);
			return;
		}
		if (cw->recording) {
			tx[i].flags |= CANF_TX;
			tx[i].t_ns = now_real_ns();
			recorder_write(&cw->rec, &tx[i], tx[i].t_ns);
		}
	}
}

static void
arm(struct can_poll *cp, int64_t now)
{
	int64_t at = lbcpoll_next_ns(&cp->p, now);

	if (at == INT64_MAX) {
		if (cp->armed_at != 0)
			loop_timer_stop(cp->timer);
		cp->armed_at = 0;
		return;
	}
	if (at < now)
		at = now;
	if (at != cp->armed_at) {
		loop_timer_at(cp->timer, at);
		cp->armed_at = at;
	}
}

static bool
bus_awake(const struct can_poll *cp)
{
	const struct can_worker *cw = cp->cw;

	return !cw->asleep && cw->hold.done && src_can_send(&cw->src[cp->src]);
}

void
can_poll_run(struct can_poll *cp, int64_t now)
{
	if (!cp->on)
		return;
	lbcpoll_tick(&cp->p, now, bus_awake(cp));
	send_queued(cp, now);
	arm(cp, now);
}

void
can_poll_frame(struct can_poll *cp, struct decoder *d, const struct can_rec *f, int64_t now)
{
	uint64_t backoffs = cp->p.st.backoffs;
	bool busy;

	cp->nu = 0;
	if (!cp->on)
		return;
	busy = f->bus == BUS_EV && lbcpoll_busy(&cp->p);
	d->tp_polled = busy; /* the reply in flight is ours to read, not the passive path's */
	if (f->bus != BUS_EV)
		return;
	if (lbcpoll_rx(&cp->p, f, now) == 1)
		cp->nu = decoder_diag_reply(d, cp->p.buf, cp->p.len, cp->u, DEC_MAX_UPDATES);
	if (cp->p.st.backoffs != backoffs)
		log_info("cell polling: another tester polls the LBC (0x79B): paused, until %lld s "
			 "after its last request",
			 (long long)(LBCPOLL_BACKOFF_NS / NSEC_PER_SEC));
	if (cp->p.ntx > 0)
		send_queued(cp, now);
}

void
can_poll_heartbeat(struct can_poll *cp, struct heartbeat *hb)
{
	const struct lbcpoll_stats *st = &cp->p.st;
	int64_t now = now_mono_ns();

	if (!cp->cw->w->cfg.can.poll_cells)
		return;
	hb_counter(hb, "poll_on", cp->on);
	if (!cp->on) {
		hb_alert(hb, "poll_off", cp->why_off, cp->off_since / NSEC_PER_SEC);
		return;
	}
	hb_counter(hb, "poll_cycles", (double)st->cycles);
	hb_counter(hb, "poll_requests", (double)st->requests);
	hb_counter(hb, "poll_flow_controls", (double)st->flow_controls);
	hb_counter(hb, "poll_replies", (double)st->replies);
	hb_counter(hb, "poll_nrc", (double)st->nrc);
	hb_counter(hb, "poll_last_nrc", cp->p.last_nrc);
	hb_counter(hb, "poll_pending", (double)st->pending);
	hb_counter(hb, "poll_timeouts", (double)st->timeouts);
	hb_counter(hb, "poll_seq_errors", (double)st->seq_errors);
	hb_counter(hb, "poll_restarts", (double)st->restarts);
	hb_counter(hb, "poll_bad_replies", (double)st->bad_replies);
	hb_counter(hb, "poll_foreign", (double)st->foreign);
	hb_counter(hb, "poll_backoffs", (double)st->backoffs);
	hb_counter(hb, "poll_backing_off",
		   cp->p.foreign_t != 0 && now - cp->p.foreign_t < LBCPOLL_BACKOFF_NS);
	hb_counter(hb, "poll_aborted", (double)st->aborted);
	hb_counter(hb, "poll_tx_errors", (double)st->tx_errors);
	hb_counter(hb, "poll_unsupported", (double)st->unsupported);
	hb_counter(hb, "poll_tx_frames", (double)cp->cw->src[cp->src].tx_frames);
}
