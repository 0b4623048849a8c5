/*
 * replay:FILE[,speed=X][,loop][,keep_time][,format=F]. Frames are read in
 * the loop from a timer: at speed=0 as fast as the loop allows (in slices,
 * so the worker keeps answering), else when their log time, divided by the
 * speed, comes due. Times are re-based to now (the next whole second after
 * the open, so that samples do not depend on when the replay started, and
 * the first frame is sent at that second so that at speed 1 a frame's stamp
 * is the time it is sent) unless keep_time; the cut of samples never
 * depends on the speed.
 */
#include "src.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logread.h"
#include "util.h"

#define SLICE_FRAMES 2048
#define LOOP_GAP_NS (10LL * 1000 * 1000)

struct replay_src {
	struct logread lr;
	bool have_first, have_pending;
	int64_t log0, last_log, wall0, mono0, offset;
	struct can_rec pending;
	struct log_rl rl;
};

static int64_t
due_mono(const struct can_src *s, const struct replay_src *p, int64_t log_t)
{
	return p->mono0 + (int64_t)((double)(p->offset + log_t - p->log0) / s->spec.speed);
}

/* Read the next good frame into pending; false at the end of the log. */
static bool
fetch(struct can_src *s, struct replay_src *p)
{
	int k;

	while ((k = logread_next(&p->lr, &p->pending)) != 0) {
		if (k < 0) {
			s->errors++;
			log_rl(&p->rl, LOG_WARNING, "%s", p->lr.err);
			continue;
		}
		if (!p->have_first) {
			p->have_first = true;
			p->log0 = p->pending.t_ns;
		}
		p->last_log = p->pending.t_ns;
		p->have_pending = true;
		return true;
	}
	if (s->spec.loop && p->have_first && logread_rewind(&p->lr) == 0) {
		p->offset += p->last_log - p->log0 + LOOP_GAP_NS;
		if ((k = logread_next(&p->lr, &p->pending)) > 0) {
			p->have_pending = true;
			p->last_log = p->pending.t_ns;
			return true;
		}
	}
	p->have_pending = false;
	return false;
}

static void
stamp(const struct can_src *s, const struct replay_src *p, struct can_rec *f)
{
	if (!s->spec.keep_time)
		f->t_ns = p->wall0 + p->offset + (f->t_ns - p->log0);
	else
		f->t_ns += p->offset;
}

static void
on_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	struct can_src *s = arg;
	struct replay_src *p = s->priv;
	struct can_rec batch[SRC_BATCH];
	size_t n = 0;
	int64_t now = now_mono_ns();

	for (int i = 0; i < SLICE_FRAMES && p->have_pending; i++) {
		if (s->spec.speed > 0 && due_mono(s, p, p->pending.t_ns) > now)
			break;
		batch[n] = p->pending;
		stamp(s, p, &batch[n]);
		if (++n == SRC_BATCH) {
			s->frames += n;
			s->on_frames(s, batch, n, s->arg);
			n = 0;
		}
		fetch(s, p);
		if (s->timer == NULL)
			return; /* closed from the callback */
	}
	if (n > 0) {
		s->frames += n;
		s->on_frames(s, batch, n, s->arg);
		if (s->timer == NULL)
			return;
	}
	if (!p->have_pending) {
		log_info("replay %s: end of log (%llu frames, %llu bad lines)", s->spec.path,
			 (unsigned long long)s->frames, (unsigned long long)s->errors);
		s->state = SRC_DONE;
		return;
	}
	if (s->spec.speed > 0)
		loop_timer_at(t, due_mono(s, p, p->pending.t_ns));
	else
		loop_timer_after(t, 0);
}

static void
replay_close(struct can_src *s)
{
	struct replay_src *p = s->priv;

	logread_close(&p->lr);
	free(p);
	s->priv = NULL;
}

int
src_replay_open(struct can_src *s)
{
	struct replay_src *p = calloc(1, sizeof(*p));
	int fmt = LF_AUTO;

	if (p == NULL)
		return -1;
	if (s->spec.format[0] != '\0' && (fmt = logfmt_by_name(s->spec.format)) < 0) {
		snprintf(s->err, sizeof(s->err), "unknown log format '%s'", s->spec.format);
		free(p);
		return -1;
	}
	if (logread_open(&p->lr, s->spec.path, fmt, s->spec.bus, 0) < 0) {
		snprintf(s->err, sizeof(s->err), "%s: %s", s->spec.path, strerror(errno));
		free(p);
		return -1;
	}
	p->rl = (struct log_rl)LOG_RL_INIT(5, 60);
	int64_t real = now_real_ns(), mono = now_mono_ns();
	p->wall0 = (real / NSEC_PER_SEC + 1) * NSEC_PER_SEC;
	p->mono0 = mono + (p->wall0 - real);
	s->priv = p;
	s->close_fn = replay_close;
	if ((s->timer = loop_timer_new(s->loop, on_timer, s)) == NULL)
		return -1;
	if (fetch(s, p) && !s->spec.keep_time)
		s->rebase_ns = p->wall0 - p->log0;
	loop_timer_after(s->timer, 0);
	return 0;
}
