/*
 * Source dispatch (see src.h).
 */
#include "src.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int
src_open(struct can_src *s, struct loop *l, const struct src_spec *spec, src_frames_fn fn,
	 src_fail_fn fail, void *arg)
{
	int rc = -1;

	s->spec = *spec;
	s->loop = l;
	s->on_frames = fn;
	s->on_fail = fail;
	s->arg = arg;
	s->fd = -1;
	s->timer = NULL;
	s->priv = NULL;
	s->close_fn = NULL;
	s->err[0] = '\0';
	s->rebase_ns = 0;
	s->send_fn = NULL;
	s->batch_timer = NULL;
	s->polled = false;
	s->read_fn = NULL;
	switch (spec->kind) {
	case SRC_SOCKETCAN: rc = src_socketcan_open(s); break;
	case SRC_SLCAN: rc = src_slcan_open(s); break;
	case SRC_REPLAY: rc = src_replay_open(s); break;
	case SRC_SIM: rc = src_sim_open(s); break;
	}
	s->state = rc == 0 ? SRC_UP : SRC_DOWN;
	if (rc < 0)
		src_close(s);
	return rc;
}

void
src_close(struct can_src *s)
{
	if (s->close_fn != NULL)
		s->close_fn(s);
	s->close_fn = NULL;
	s->send_fn = NULL;
	if (s->timer != NULL) {
		loop_timer_free(s->timer);
		s->timer = NULL;
	}
	if (s->batch_timer != NULL) {
		loop_timer_free(s->batch_timer);
		s->batch_timer = NULL;
	}
	if (s->fd >= 0) {
		loop_del_fd(s->loop, s->fd);
		close(s->fd);
		s->fd = -1;
	}
	if (s->state == SRC_UP)
		s->state = SRC_DOWN;
}

/* After a read: stay on the cadence while frames come, else back to the
 * poll set. */
static void
pace(struct can_src *s, uint64_t before)
{
	if (s->fd < 0 || s->batch_timer == NULL)
		return; /* closed by the read, or no cadence */
	if (s->frames != before) {
		if (!s->polled && loop_mod_fd(s->loop, s->fd, 0) == 0)
			s->polled = true;
		if (s->polled)
			loop_timer_grid(s->batch_timer, s->batch_ns);
	} else if (s->polled && loop_mod_fd(s->loop, s->fd, EPOLLIN) == 0) {
		s->polled = false;
	}
}

static void
on_readable(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct can_src *s = arg;
	uint64_t before = s->frames;

	s->read_fn(s, ev);
	pace(s, before);
}

static void
on_batch(struct loop *l, struct loop_timer *t, void *arg)
{
	struct can_src *s = arg;
	uint64_t before = s->frames;

	s->read_fn(s, 0);
	pace(s, before);
}

int
src_watch_fd(struct can_src *s, void (*read_fn)(struct can_src *s, uint32_t events))
{
	s->read_fn = read_fn;
	if (s->batch_ns > 0 && (s->batch_timer = loop_timer_new(s->loop, on_batch, s)) == NULL)
		return -1;
	return loop_add_fd(s->loop, s->fd, EPOLLIN, on_readable, s);
}

int64_t
src_wake_at(const struct can_src *s, int64_t due_ns)
{
	if (s->batch_ns <= 0 || due_ns <= 0)
		return due_ns;
	return (due_ns + s->batch_ns - 1) / s->batch_ns * s->batch_ns;
}

bool
src_can_send(const struct can_src *s)
{
	return s->state == SRC_UP && s->send_fn != NULL;
}

int
src_send(struct can_src *s, const struct can_rec *f)
{
	if (!src_can_send(s)) {
		errno = s->state == SRC_UP ? EOPNOTSUPP : ENETDOWN;
		return -1;
	}
	if (s->send_fn(s, f) < 0)
		return -1;
	s->tx_frames++;
	return 0;
}
