/*
 * Source dispatch (see src.h).
 */
#include "src.h"

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
	if (s->timer != NULL) {
		loop_timer_free(s->timer);
		s->timer = NULL;
	}
	if (s->fd >= 0) {
		loop_del_fd(s->loop, s->fd);
		close(s->fd);
		s->fd = -1;
	}
	if (s->state == SRC_UP)
		s->state = SRC_DOWN;
}
