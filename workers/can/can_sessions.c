/*
 * The can worker's session glue (see can_sessions.h). The frame path only
 * computes and queues; the checkpoint files are written from the 1 s tick.
 */
#include "can_sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define STATE_SAVE_NS (30LL * NSEC_PER_SEC)
#define CKPT_MAX (64 * 1024)

/* The checkpoint in path into *s; -1 when absent or not one (said why). */
static int
load(const char *path, struct sessions *s)
{
	char err[200], *txt = file_read_str(path, CKPT_MAX, NULL);
	int rc;

	if (txt == NULL)
		return -1;
	if ((rc = sessions_restore(s, txt, err, sizeof(err))) < 0)
		log_warnx("%s: %s (ignored)", path, err);
	free(txt);
	return rc;
}

/* The newer of the two checkpoints: RUNDIR's after a worker restart,
 * STATEDIR's after a reboot. */
static void
restore(struct can_sessions *cs)
{
	struct sessions *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *use = NULL;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return;
	}
	*a = cs->ss;
	*b = cs->ss;
	if (load(cs->run_path, a) == 0)
		use = a;
	if (load(cs->state_path, b) == 0 && (use == NULL || b->last_t > use->last_t))
		use = b;
	if (use != NULL) {
		cs->ss = *use;
		cs->run_saved_t = cs->state_saved_t = cs->ss.last_t;
		log_info("sessions restored from %s: %s open since %.3f, last seen %.3f",
			 use == a ? cs->run_path : cs->state_path,
			 cs->ss.open ? session_kind_name(cs->ss.cur.kind) : "nothing",
			 cs->ss.open ? (double)cs->ss.cur.start_ns / 1e9 : 0.0,
			 (double)cs->ss.last_t / 1e9);
	}
	free(a);
	free(b);
}

void
can_sessions_start(struct can_sessions *cs, const struct worker *w)
{
	const struct config *c = &w->cfg;
	struct sessions_cfg sc = {
	    .trip_end_ns = (int64_t)c->ledger.trip_end_s * NSEC_PER_SEC,
	    .asleep_ns = (int64_t)c->can.asleep_after_s * NSEC_PER_SEC,
	    .min_trip_km = c->ledger.min_trip_km,
	    .ac_efficiency = c->ledger.ac_efficiency,
	    .tariff = &c->tariff, /* the worker's config outlives us */
	};

	memset(cs, 0, sizeof(*cs));
	buf_init(&cs->tmp);
	cs->on = c->ledger.enabled;
	sessions_init(&cs->ss, &sc);
	snprintf(cs->run_path, sizeof(cs->run_path), "%s/can-sessions", w->rundir);
	snprintf(cs->state_path, sizeof(cs->state_path), "%s/can-sessions", w->statedir);
	cs->state_saved_mono = now_mono_ns();
	if (cs->on)
		restore(cs);
}

void
can_sessions_resume(struct can_sessions *cs, const struct sessions *at)
{
	struct sessions_cfg cfg = cs->ss.cfg;

	cs->ss = *at;
	cs->ss.cfg = cfg;
	sessions_mark_restored(&cs->ss); /* the open session says it continued */
	cs->run_saved_t = cs->state_saved_t = cs->ss.last_t;
	log_info("sessions as of the replay's frame: %s", cs->ss.open ? session_kind_name(cs->ss.cur.kind) : "nothing open");
}

static void
queue(struct can_sessions *cs, const struct session_event *e)
{
	struct can_event *q;

	buf_reset(&cs->tmp);
	session_json(&e->s, &cs->ss.cfg, &cs->tmp);
	if (cs->nq == CAN_EVQ_MAX || cs->tmp.oom || cs->tmp.len >= CAN_EV_JSON_MAX) {
		cs->queue_dropped++; /* the queue drains every publish interval: never */
		return;
	}
	q = &cs->q[cs->nq++];
	q->phase = e->phase;
	q->kind = e->s.kind;
	q->start_ns = e->s.start_ns;
	q->t_ns = e->t_ns;
	memcpy(q->json, cs->tmp.p, cs->tmp.len);
	q->json[cs->tmp.len] = '\0';
}

void
can_sessions_take(struct can_sessions *cs)
{
	for (size_t i = 0; i < cs->ss.nev; i++)
		queue(cs, &cs->ss.ev[i]);
	sessions_clear_events(&cs->ss);
}

void
can_sessions_idle(struct can_sessions *cs, int64_t t_ns)
{
	if (!cs->on)
		return;
	sessions_idle(&cs->ss, t_ns);
	can_sessions_take(cs);
}

void
can_sessions_drop(struct can_sessions *cs, size_t n)
{
	if (n > cs->nq)
		n = cs->nq;
	memmove(cs->q, cs->q + n, (cs->nq - n) * sizeof(cs->q[0]));
	cs->nq -= n;
	cs->published += n;
}

/* RUNDIR's (tmpfs) only has to outlive the worker: renamed into place, not
 * fsynced (a reboot restores STATEDIR's, which is). */
static void
save(struct can_sessions *cs, const char *path, bool durable)
{
	int rc;

	buf_reset(&cs->tmp);
	sessions_save_cached(&cs->ss, &cs->tmp, &cs->ckpt_cache);
	if (cs->tmp.oom)
		rc = -1;
	else if (durable)
		rc = file_write_atomic(path, cs->tmp.p, cs->tmp.len, 0640);
	else
		rc = file_replace(path, cs->tmp.p, cs->tmp.len, 0640);
	if (rc < 0) {
		if (cs->ckpt_errors++ % 60 ==
		    0) /* rate-limited: a full disk says it once a minute */
			log_warn("save %s", path);
	}
}

void
can_sessions_tick(struct can_sessions *cs)
{
	int64_t now = now_mono_ns();

	if (!cs->on)
		return;
	if (cs->ss.last_t != cs->run_saved_t || cs->ss.events != cs->run_saved_ev) {
		save(cs, cs->run_path, false);
		cs->run_saved_t = cs->ss.last_t;
		cs->run_saved_ev = cs->ss.events;
	}
	if (cs->ss.events != cs->state_saved_ev ||
	    (now - cs->state_saved_mono >= STATE_SAVE_NS && cs->ss.last_t != cs->state_saved_t)) {
		save(cs, cs->state_path, true);
		cs->state_saved_t = cs->ss.last_t;
		cs->state_saved_ev = cs->ss.events;
		cs->state_saved_mono = now;
	}
}

void
can_sessions_stop(struct can_sessions *cs)
{
	if (cs->on) {
		save(cs, cs->run_path, false);
		save(cs, cs->state_path, true);
	}
	buf_free(&cs->tmp);
}

void
can_sessions_heartbeat(const struct can_sessions *cs, struct heartbeat *hb)
{
	if (!cs->on)
		return;
	hb_counter(hb, "session_open", cs->ss.open ? cs->ss.cur.kind : -1);
	hb_counter(hb, "session_events", (double)cs->ss.events);
	hb_counter(hb, "session_events_published", (double)cs->published);
	hb_counter(hb, "session_events_dropped",
		   (double)(cs->ss.events_dropped + cs->queue_dropped));
	hb_counter(hb, "session_energy_jumps", (double)cs->ss.energy_jumps);
	hb_counter(hb, "session_ckpt_errors", (double)cs->ckpt_errors);
}
