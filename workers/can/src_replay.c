/*
 * replay:FILE[,speed=X][,loop][,keep_time][,format=F]. Frames are read in
 * the loop from a timer: at speed=0 as fast as the loop allows (in slices,
 * so the worker keeps answering), else when their log time, divided by the
 * speed, comes due (at the next [can] read_batch_ms grid point after it,
 * src_wake_at). Times are re-based to now (the next whole second after
 * the open, so that samples do not depend on when the replay started, and
 * the first frame is sent at that second so that at speed 1 a frame's stamp
 * is the time it is sent) unless keep_time; the cut of samples never
 * depends on the speed. Every pass of a loop reads the same frames, so a
 * frame's number alone says where it is; a restarted worker hands in the
 * timeline and the number it had reached (s->resume) and the replay goes on
 * from there with the same stamps, after checking that frame is the one.
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
	int fmt;
	bool have_first, have_pending;
	int64_t log0, last_log, wall0, mono0, offset;
	int64_t loop_span; /* offset added by each pass (0: none ended yet) */
	uint64_t per_loop; /* frames in a pass (0: none ended yet) */
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

	for (;;) {
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
		if (!s->spec.loop || !p->have_first)
			break;
		if (p->per_loop == 0) { /* the first pass: every pass is like it */
			p->per_loop = p->lr.frames_out;
			p->loop_span = p->last_log - p->log0 + LOOP_GAP_NS;
		}
		if (logread_rewind(&p->lr) < 0)
			break;
		p->offset += p->loop_span;
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
		if (logread_why_none(&p->lr, s->err, sizeof(s->err)) == 0) {
			log_warnx("replay: %s", s->err);
			s->state = SRC_FAILED;
			s->failed_ns = now_real_ns();
			return;
		}
		log_info("replay %s: end of log (%llu frames, %llu bad lines)", s->spec.path,
			 (unsigned long long)s->frames, (unsigned long long)s->errors);
		s->state = SRC_DONE;
		return;
	}
	if (s->spec.speed > 0)
		loop_timer_at(t, src_wake_at(s, due_mono(s, p, p->pending.t_ns)));
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
src_replay_timeline(const struct can_src *s, struct replay_timeline *tl)
{
	const struct replay_src *p = s->priv;

	if (s->spec.kind != SRC_REPLAY || p == NULL)
		return -1;
	tl->wall0 = p->wall0;
	tl->mono0 = p->mono0;
	tl->log0 = p->log0;
	tl->loop_span = p->loop_span;
	tl->per_loop = p->per_loop;
	return 0;
}

static int
open_log(struct can_src *s, struct replay_src *p)
{
	if (logread_open(&p->lr, s->spec.path, p->fmt, s->spec.bus, 0) < 0) {
		snprintf(s->err, sizeof(s->err), "%s: %s", s->spec.path, strerror(errno));
		return -1;
	}
	int64_t real = now_real_ns(), mono = now_mono_ns();
	p->wall0 = (real / NSEC_PER_SEC + 1) * NSEC_PER_SEC;
	p->mono0 = mono + (p->wall0 - real);
	return 0;
}

#define WHY(...) (snprintf(s->resume_why, sizeof(s->resume_why), __VA_ARGS__), -1)

/* Go on at frame r->pos of the timeline r->tl: 0, or -1 (resume_why). */
static int
resume(struct can_src *s, struct replay_src *p, const struct replay_resume *r)
{
	uint64_t pass = r->tl.per_loop ? r->pos / r->tl.per_loop : 0;
	uint64_t idx = r->pos - pass * r->tl.per_loop;
	struct can_rec f;
	int k;

	if (pass > 0 && !s->spec.loop)
		return WHY("the saved position is in pass %llu of a replay without loop",
			   (unsigned long long)pass + 1);
	p->wall0 = r->tl.wall0;
	p->mono0 = r->tl.mono0;
	p->loop_span = r->tl.loop_span;
	p->per_loop = r->tl.per_loop;
	p->offset = (int64_t)pass * r->tl.loop_span;
	for (uint64_t i = 0; i<idx; i += k> 0) {
		if ((k = logread_next(&p->lr, &f)) == 0)
			return WHY("the log has fewer than %llu frames", (unsigned long long)idx);
		if (k > 0 && !p->have_first) {
			p->have_first = true;
			p->log0 = f.t_ns;
		}
		if (k > 0)
			p->last_log = f.t_ns;
	}
	if (idx == 0 && pass > 0) { /* the next pass starts with the first frame */
		p->have_first = true;
		p->log0 = r->tl.log0;
	}
	if (p->have_first && p->log0 != r->tl.log0)
		return WHY("the log's first frame time differs");
	fetch(s, p);
	if (r->next_id != REPLAY_NEXT_UNKNOWN) {
		f = p->pending;
		stamp(s, p, &f);
		if (!p->have_pending || f.id != r->next_id || f.t_ns != r->next_t)
			return WHY("frame %llu is not the one the saved position names",
				   (unsigned long long)r->pos);
	}
	s->frames = r->pos;
	s->errors = r->errors;
	return 0;
}

int
src_replay_open(struct can_src *s)
{
	struct replay_src *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	p->fmt = LF_AUTO;
	s->resumed = false;
	s->resume_why[0] = '\0';
	if (s->spec.format[0] != '\0' && (p->fmt = logfmt_by_name(s->spec.format)) < 0) {
		snprintf(s->err, sizeof(s->err), "unknown log format '%s'", s->spec.format);
		free(p);
		return -1;
	}
	if (open_log(s, p) < 0) {
		free(p);
		return -1;
	}
	p->rl = (struct log_rl)LOG_RL_INIT(5, 60);
	s->priv = p;
	s->close_fn = replay_close;
	if ((s->timer = loop_timer_new(s->loop, on_timer, s)) == NULL)
		return -1;
	if (s->resume != NULL && resume(s, p, s->resume) == 0)
		s->resumed = true;
	else if (s->resume != NULL) { /* from the top, on a new timeline */
		int fmt = p->fmt;
		logread_close(&p->lr);
		memset(p, 0, sizeof(*p));
		p->fmt = fmt;
		p->rl = (struct log_rl)LOG_RL_INIT(5, 60);
		s->frames = s->errors = 0;
		if (open_log(s, p) < 0)
			return -1;
	}
	if (!s->resumed)
		fetch(s, p);
	if (p->have_first && !s->spec.keep_time)
		s->rebase_ns = p->wall0 - p->log0;
	loop_timer_after(s->timer, 0);
	return 0;
}
