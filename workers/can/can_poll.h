/*
 * The cell poller in the can worker ([can] poll_cells = true): the pure
 * state machine (lbcpoll.h) fed with the EV-CAN frames as they pass the
 * frame path, a timer for its deadlines, and the source that sends its
 * frames. It never blocks: a frame the source cannot take at once is a
 * counted send error. Off (and saying why) when no EV-CAN source can send.
 */
#ifndef LEAFMON_CAN_POLL_H
#define LEAFMON_CAN_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include "canframe.h"
#include "decode.h"
#include "lbcpoll.h"
#include "loop.h"

struct can_worker;
struct heartbeat;

struct can_poll {
	struct can_worker *cw;
	bool on;	   /* polling: configured, and a source can send */
	int src;	   /* index of the sending source */
	char why_off[160]; /* configured but off: the reason */
	int64_t off_since; /* real time it was found off */
	struct lbcpoll p;
	struct loop_timer *timer;
	int64_t armed_at;     /* the timer's deadline (0: not armed) */
	int64_t last_warn_ns; /* send errors are logged at most every 60 s */
	/* a reply completed by the frame going through now (can_poll_frame) */
	struct sig_update u[DEC_MAX_UPDATES];
	size_t nu;
};

/* After the sources are opened. */
void can_poll_start(struct can_poll *cp, struct can_worker *cw);
void can_poll_stop(struct can_poll *cp);
/*
 * A frame going through the frame path (before the decoder sees it), at
 * the worker's monotonic time now: sets the decoder's tp_polled, sends
 * flow control, and decodes a reply it completes into cp->u/cp->nu.
 */
void can_poll_frame(struct can_poll *cp, struct decoder *d, const struct can_rec *f, int64_t now);
/* After a batch of frames, and from the timer: time-driven work. */
void can_poll_run(struct can_poll *cp, int64_t now);
void can_poll_heartbeat(struct can_poll *cp, struct heartbeat *hb);

#endif
