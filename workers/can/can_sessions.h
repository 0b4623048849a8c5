/*
 * The can worker's side of the session module: it feeds the module every
 * frame's updates, queues the events (as their JSON) until the next sample
 * carries them, and keeps the checkpoint: RUNDIR/can-sessions every second
 * while something changed (tmpfs: survives a worker or leafmond restart),
 * STATEDIR/can-sessions every 30 s, at each event and on stop (survives a
 * reboot or a power cut, at most 30 s old). On start the newer one is
 * restored. Nothing here waits on anything but a small file write.
 */
#ifndef LEAFMON_CAN_SESSIONS_H
#define LEAFMON_CAN_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "worker.h"

#define CAN_EVQ_MAX 32
#define CAN_EV_JSON_MAX 1536 /* a session's JSON is under 1 KiB */

struct can_event {
	int phase, kind;
	int64_t start_ns, t_ns;
	char json[CAN_EV_JSON_MAX];
};

struct can_sessions {
	bool on; /* [ledger] enabled */
	struct sessions ss;
	struct can_event q[CAN_EVQ_MAX];
	size_t nq;
	char run_path[320], state_path[320];
	int64_t state_saved_mono;
	int64_t run_saved_t, state_saved_t; /* the module's last_t each file holds */
	uint64_t run_saved_ev, state_saved_ev;
	uint64_t ckpt_errors, queue_dropped, published;
	struct buf tmp;
	struct sess_ckpt_cache ckpt_cache; /* the figures' text, by their bits */
};

/* Set up from the config and restore the newer checkpoint. */
void can_sessions_start(struct can_sessions *cs, const struct worker *w);
/* A replay that goes on where it was (can_resume.h) brings the module's
 * state as of its frame; the checkpoint restored at start is replaced. */
void can_sessions_resume(struct can_sessions *cs, const struct sessions *at);
/* The module's events into the queue (can_sessions_frame). */
void can_sessions_take(struct can_sessions *cs);
/* One frame's updates (after its decode); inline: it is every frame's. */
static inline void
can_sessions_frame(struct can_sessions *cs, int64_t t_ns, const struct sig_update *u, size_t n)
{
	if (!cs->on)
		return;
	sessions_frame(&cs->ss, t_ns, u, n);
	if (cs->ss.nev > 0)
		can_sessions_take(cs);
}
/* The bus fell asleep; t_ns: the last frame's time. */
void can_sessions_idle(struct can_sessions *cs, int64_t t_ns);
/* Once a second: the checkpoints that are due. */
void can_sessions_tick(struct can_sessions *cs);
/* The events queued, taken out by the caller once published. */
void can_sessions_drop(struct can_sessions *cs, size_t n);
/* On stop: both checkpoints now (sessions stay open across a restart). */
void can_sessions_stop(struct can_sessions *cs);
void can_sessions_heartbeat(const struct can_sessions *cs, struct heartbeat *hb);

#endif
