/*
 * Internals shared by deliver.c (the state machine: probing, sending,
 * waiting, the public calls), deliver_fill.c (filling a batch from the
 * spool, and acknowledging it) and deliver_reply.c (reacting to a reply).
 * Every clock, the jitter and the timers go through d->ops (deliver.h). Not
 * for users of deliver.h.
 */
#ifndef LEAFMON_DELIVER_INT_H
#define LEAFMON_DELIVER_INT_H

#include "batch.h"
#include "deadletter.h"
#include "deliver.h"
#include "influx_api.h"
#include "log.h"
#include "lp.h"

enum alert_id {
	AL_AUTH,
	AL_NOT_FOUND,
	AL_UNREACHABLE,
	AL_SERVER,
	AL_REJECTED,
	AL_CLOCK,
	AL_RETENTION,
	AL_SESS_NOT_FOUND,
	AL_COUNT
};
/* Why the timer is armed: deliver_sync() cuts only a network backoff short. */
enum wait_kind { WAIT_OTHER, WAIT_NET, WAIT_PACE };

struct deliver {
	struct spool *sp;
	const struct deliver_ops *ops;
	void *ctx;
	bool armed[DTIMER_COUNT];
	struct deliver_opts o;
	struct cfg_writer w;
	char name[32], vehicle[128];
	struct spool_cursor *cur;  /* the backlog: [0, live_from), or everything */
	struct spool_cursor *live; /* [live_from, end) once deliver_set_live_from() ran */
	uint64_t live_from, cur_end;
	struct lp_ctx lp;
	struct lp_stats lps;
	struct batch batch;
	bool have_batch;
	struct batch next; /* built while the current one is in flight */
	enum { NEXT_NONE, NEXT_BUILDING, NEXT_READY } next_state;
	void *req; /* the request in flight (ops->request) */
	int api;   /* API_AUTO until /ping settles it */
	bool need_probe;
	struct backoff net_bo, srv_bo, slow_bo, sess_bo;
	/* the sessions' RP or bucket is missing: their records are passed over
	 * (not acked) until then, and read again from deferred_from */
	int64_t sess_block_until;
	uint64_t deferred_from;
	int64_t retry_at;
	enum wait_kind wait;
	int64_t expired_at; /* mono time of the last retention drop */
	char write_url[LP_DESTS][1400], ping_url[600], auth[1200];
	const char *headers[4];
	struct buf body, gz;
	size_t inflight_bytes, inflight_wire;
	struct deadletter dl;
	char last_reject[256];
	int last_reject_status;
	struct {
		int64_t since;
		char text[256];
	} alerts[AL_COUNT];
	struct deliver_stats st;
};

extern struct log_rl deliver_rl; /* the writers' warnings, at most 10 a minute */


static inline int64_t
mono_ns(const struct deliver *d)
{
	return d->ops->now(d->ctx, DCLOCK_MONO);
}

static inline int64_t
real_ns(const struct deliver *d)
{
	return d->ops->now(d->ctx, DCLOCK_REAL);
}

static inline int64_t
boot_ns(const struct deliver *d)
{
	return d->ops->now(d->ctx, DCLOCK_BOOT);
}

static inline double
jitter(struct deliver *d)
{
	return d->ops->jitter(d->ctx);
}

/* deliver.c */
void deliver_step(struct deliver *d); /* send what is due, unless busy or waiting */
void deliver_timer_at(struct deliver *d, enum deliver_timer t, int64_t deadline);
void deliver_wait(struct deliver *d, int64_t delay_ns); /* no request before delay_ns */
void deliver_alert_set(struct deliver *d, enum alert_id a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void deliver_alert_clear(struct deliver *d, enum alert_id a);
void deliver_set_error(struct deliver *d, int code, const char *text); /* the ledger's last_error */
void deliver_set_urls(struct deliver *d);			       /* for d->api */

/* deliver_fill.c */
bool fill_build(struct deliver *d); /* d->batch is ready to send; false: nothing to send */
void fill_ahead(struct deliver *d); /* start formatting the next batch, a slice a turn */
void fill_ahead_slice(struct deliver *d); /* DTIMER_AHEAD */
/* The batches that hold what the byte cap dropped are made again. */
void fill_forget_dropped(struct deliver *d);
void fill_ack(struct deliver *d); /* acknowledge the resolved batch in the spool */

/* deliver_reply.c */
void reply_ping(const struct httpc_resp *r, void *arg);
void reply_write(const struct httpc_resp *r, void *arg);
void reply_resolve(struct deliver *d); /* the batch's request queue is empty, or a reply came */

#endif
