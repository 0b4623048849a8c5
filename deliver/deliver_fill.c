/*
 * Filling a batch from the spool (deliver.h): live records first, then the
 * backlog oldest-first; each record's time resolved (held for the clock,
 * re-based, flagged), floored to the resolution, dropped past the retention,
 * formatted as line protocol; the next batch formatted while a write is in
 * flight; and, once a batch is resolved, its records acknowledged.
 */
#include <stdint.h>
#include <stdlib.h>

#include "deliver_int.h"

static size_t
batch_cap_bytes(const struct deliver *d)
{
	return d->o.batch_bytes ? d->o.batch_bytes : 4u << 20;
}

/* A record older than the remote keeps: dropped by policy, counted, shown. */
static void
expire(struct deliver *d, const struct spool_rec *r, int64_t t)
{
	d->st.records_expired += spool_drop(d->sp, r->rid, r->rid + 1);
	d->expired_at = mono_ns(d);
	deliver_alert_set(d, AL_RETENTION,
			  "%llu records older than the remote's retention (%lld days) were dropped",
			  (unsigned long long)d->st.records_expired,
			  (long long)(d->o.max_age_ns / (86400 * NSEC_PER_SEC)));
	log_rl(&deliver_rl, LOG_WARNING,
	       "%s: record %llu from %lld s ago is older than the retention: "
	       "dropped (%llu so far)",
	       d->name, (unsigned long long)r->rid, (long long)((real_ns(d) - t) / NSEC_PER_SEC),
	       (unsigned long long)d->st.records_expired);
}

static int64_t
floor_to(int64_t t, int64_t step)
{
	int64_t q = t / step;
	if (t % step != 0 && t < 0)
		q--;
	return q * step;
}

enum fill { FILL_MORE, FILL_DRY, FILL_COMPLETE };

/* A session record whose detail did not parse: dropped, counted, said. */
static void
event_dropped(struct deliver *d, const struct spool_rec *r, const char *why)
{
	spool_ack(d->sp, r->rid, r->rid + 1, false);
	d->st.events_dropped++;
	log_rl(&deliver_rl, LOG_WARNING, "%s: session record %llu dropped: %s (%llu so far)",
	       d->name, (unsigned long long)r->rid, why, (unsigned long long)d->st.events_dropped);
}

/* Format record r at time t into b: its lines (0: nothing to send). */
static int
format_rec(struct deliver *d, struct batch *b, const struct spool_rec *r, int dest, int64_t t,
	   bool unsynced, size_t *ends)
{
	char why[200];
	if (dest == LP_DEST_SAMPLES)
		return lp_record(&d->lp, &b->text, t, unsynced, r->data, r->len, ends, &d->lps);
	if (lp_event(&d->lp, &b->text, t, unsynced, r->data, r->len, ends, &d->lps, why,
		     sizeof(why)) == 1)
		return 1;
	event_dropped(d, r, why);
	return -1;
}

/*
 * A live session record waits while older records wait in the backlog: a
 * session's updates overwrite each other at the server, so they must arrive
 * in order. It is read again from the live cursor's next placement.
 */
static bool
event_must_wait(struct deliver *d, struct spool_cursor *cur, int dest)
{
	struct spool_rec r;
	return dest == LP_DEST_SESSIONS && cur == d->live && d->cur != NULL &&
	       spool_peek(d->cur, &r) == 1;
}

/* Add records of one cursor to b while *budget lasts: FILL_MORE (budget
 * spent), FILL_DRY (the cursor has nothing now, or its next record waits
 * for the clock), FILL_COMPLETE (b is full, or no memory). */
static enum fill
fill_from(struct deliver *d, struct batch *b, struct spool_cursor *cur, size_t *budget,
	  int64_t now_boot, int64_t now_real)
{
	struct spool_rec r;
	size_t ends[LP_MAX_LINES_PER_RECORD];

	for (; *budget > 0; (*budget)--) {
		if (b->nlines >= (size_t)d->w.batch_lines || b->text.len >= batch_cap_bytes(d))
			return FILL_COMPLETE;
		if (spool_peek(cur, &r) != 1)
			return FILL_DRY;
		int dest = lp_dest(r.data, r.len);
		if (dest == LP_DEST_SESSIONS && mono_ns(d) < d->sess_block_until) {
			if (r.rid < d->deferred_from)
				d->deferred_from = r.rid;
			spool_skip(cur);
			continue;
		}
		if (event_must_wait(d, cur, dest)) {
			d->st.events_waited++;
			spool_skip(cur);
			continue;
		}
		int64_t t;
		enum spool_time tm = spool_time(d->sp, &r, now_boot, d->o.hold_unsynced_ns, &t);
		if (tm == SPOOL_TIME_HOLD) {
			d->st.holding = true;
			return FILL_DRY;
		}
		/* sessions keep their start and go to a destination kept forever */
		if (d->o.t_step_ns > 0 && dest == LP_DEST_SAMPLES)
			t = floor_to(t, d->o.t_step_ns);
		if (d->o.max_age_ns > 0 && dest == LP_DEST_SAMPLES &&
		    t < now_real - d->o.max_age_ns) {
			expire(d, &r, t);
			spool_skip(cur);
			continue;
		}
		int n = format_rec(d, b, &r, dest, t, tm == SPOOL_TIME_UNSYNCED, ends);
		if (n > 0 && batch_add(b, r.rid, dest, ends, n) < 0)
			return FILL_COMPLETE; /* no memory: send what we have */
		if (n == 0 || (n < 0 && dest == LP_DEST_SAMPLES)) {
			spool_ack(d->sp, r.rid, r.rid + 1, false); /* nothing publishable in it */
			d->st.records_skipped++;
		}
		d->st.records_rebased += tm == SPOOL_TIME_REBASED;
		d->st.records_unsynced += tm == SPOOL_TIME_UNSYNCED;
		spool_skip(cur);
	}
	return FILL_MORE;
}

/*
 * Live first (deliver_set_live_from): put the cursors at the start of their
 * ranges, the backlog [0, live_from) and the live [live_from, end). Only
 * when no batch is out (clean): then every record they passed is
 * acknowledged and nothing is read twice. A batch built ahead of one in
 * flight goes on with the cursors where they are, unless the ranges moved:
 * then it ends there, and the next clean start places them.
 */
static bool
place_cursors(struct deliver *d, bool clean)
{
	if (d->live_from == 0)
		return true;
	if (!clean)
		return d->cur_end == d->live_from && d->live != NULL;
	if (d->cur_end != d->live_from) {
		spool_cursor_close(d->cur);
		d->cur = NULL;
		if (spool_cursor_open(d->sp, 0, d->live_from, &d->cur) < 0)
			return false;
		d->cur_end = d->live_from;
	}
	if (d->live == NULL && spool_cursor_open(d->sp, d->live_from, UINT64_MAX, &d->live) < 0)
		return false;
	spool_cursor_seek(d->live, d->live_from);
	spool_cursor_seek(d->cur, 0);
	return true;
}

/*
 * Add records to b, live ones first, at most `max` of them; returns true
 * when b is complete (full, the spool has nothing more now, or a record
 * waits for the clock). clean: no other batch is out (see place_cursors).
 */
static bool
fill_batch(struct deliver *d, struct batch *b, size_t max, bool clean)
{
	int64_t now_boot = boot_ns(d), now_real = real_ns(d);
	size_t budget = max;

	d->st.holding = false;
	if (d->cur == NULL || !place_cursors(d, clean))
		return true; /* no memory, or the ranges moved */
	if (clean && d->deferred_from != UINT64_MAX && mono_ns(d) >= d->sess_block_until) {
		/* every record passed since is acknowledged but the deferred ones */
		if (d->live == NULL && d->deferred_from < spool_cursor_pos(d->cur))
			spool_cursor_seek(d->cur, d->deferred_from);
		d->deferred_from = UINT64_MAX;
	}
	if (d->live != NULL) {
		enum fill f = fill_from(d, b, d->live, &budget, now_boot, now_real);
		if (f != FILL_DRY)
			return f == FILL_COMPLETE;
	}
	return fill_from(d, b, d->cur, &budget, now_boot, now_real) != FILL_MORE;
}

/* Give b's records back to the cursors they came from. */
static void
unread(struct deliver *d, const struct batch *b)
{
	uint64_t live_min = UINT64_MAX, cur_min = UINT64_MAX;
	for (size_t i = 0; i < b->nrecs; i++) {
		uint64_t rid = b->recs[i].rid;
		if (d->live != NULL && rid >= d->live_from)
			live_min = rid < live_min ? rid : live_min;
		else
			cur_min = rid < cur_min ? rid : cur_min;
	}
	if (live_min != UINT64_MAX)
		spool_cursor_seek(d->live, live_min);
	if (cur_min != UINT64_MAX && d->cur != NULL)
		spool_cursor_seek(d->cur, cur_min);
}

/* A complete batch becomes sendable: its request queued, the clock alert set. */
static bool
batch_ready(struct deliver *d, struct batch *b)
{
	if (d->st.holding)
		deliver_alert_set(
		    d, AL_CLOCK,
		    "the clock is not synchronised: records wait up to %lld s for it, then go "
		    "flagged clock_unsynced",
		    (long long)(d->o.hold_unsynced_ns / NSEC_PER_SEC));
	else
		deliver_alert_clear(d, AL_CLOCK);
	if (b->nrecs == 0)
		return false;
	if (batch_queue_all(b) < 0) {
		/* no memory for the request: let the spool hand them again later */
		unread(d, b);
		return false;
	}
	return true;
}

/* The current batch: the one built ahead (finished now if need be), or a new one. */
bool
fill_build(struct deliver *d)
{
	if (d->next_state == NEXT_BUILDING) {
		deliver_timer_at(d, DTIMER_AHEAD, 0);
		fill_batch(d, &d->next, SIZE_MAX, false);
		d->next_state = batch_ready(d, &d->next) ? NEXT_READY : NEXT_NONE;
	}
	if (d->next_state == NEXT_READY) {
		struct batch t = d->batch;
		d->batch = d->next;
		d->next = t;
		d->next_state = NEXT_NONE;
		d->have_batch = true;
		return true;
	}
	batch_reset(&d->batch);
	fill_batch(d, &d->batch, SIZE_MAX, true);
	d->have_batch = batch_ready(d, &d->batch);
	return d->have_batch;
}

/* The oldest record id a batch holds (UINT64_MAX: none). */
static uint64_t
batch_first_rid(const struct batch *b)
{
	uint64_t min = UINT64_MAX;
	for (size_t i = 0; i < b->nrecs; i++)
		min = b->recs[i].rid < min ? b->recs[i].rid : min;
	return min;
}

/*
 * A batch kept for a retry while the byte cap dropped the oldest segments
 * may hold records the spool has counted as dropped, and so may the one
 * built ahead: sent now, they would arrive although counted lost, before a
 * hole. Both batches go back to the spool and are made again from what it
 * still holds (the cursors skip what it dropped).
 */
void
fill_forget_dropped(struct deliver *d)
{
	uint64_t oldest = spool_oldest_rid(d->sp);
	bool next = d->next_state != NEXT_NONE;

	if (!(d->have_batch && batch_first_rid(&d->batch) < oldest) &&
	    !(next && batch_first_rid(&d->next) < oldest))
		return;
	if (next) {
		deliver_timer_at(d, DTIMER_AHEAD, 0);
		unread(d, &d->next);
		batch_reset(&d->next);
		d->next_state = NEXT_NONE;
	}
	if (d->have_batch) {
		unread(d, &d->batch);
		batch_reset(&d->batch);
		d->have_batch = false;
	}
}

/*
 * While a write is in flight, format the next batch, a slice per loop turn
 * so curl gets the request out first: the server's time then hides ours.
 */
void
fill_ahead_slice(struct deliver *d)
{
	if (d->next_state != NEXT_BUILDING)
		return;
	if (fill_batch(d, &d->next, 512, false))
		d->next_state = batch_ready(d, &d->next) ? NEXT_READY : NEXT_NONE;
	else
		deliver_timer_at(d, DTIMER_AHEAD, mono_ns(d));
}

void
fill_ahead(struct deliver *d)
{
	if (d->next_state != NEXT_NONE || d->req == NULL || d->st.holding)
		return;
	batch_reset(&d->next);
	d->next_state = NEXT_BUILDING;
	deliver_timer_at(d, DTIMER_AHEAD, mono_ns(d)); /* after curl's own start-now timer */
}

/* Ack the batch's records, consecutive ids with the same outcome at once. */
void
fill_ack(struct deliver *d)
{
	uint64_t from = 0, to = 0;
	bool run_delivered = false, delivered, deferred;
	for (size_t i = 0; i < d->batch.nrecs; i++) {
		uint64_t rid = d->batch.recs[i].rid;
		if (!batch_rec_resolved(&d->batch, i, &delivered, &deferred))
			continue;
		if (deferred) { /* stays queued; read again when its destination is back */
			if (rid < d->deferred_from)
				d->deferred_from = rid;
			continue;
		}
		if (to > from && (rid != to || delivered != run_delivered)) {
			spool_ack(d->sp, from, to, run_delivered);
			from = to;
		}
		if (to == from) {
			from = rid;
			run_delivered = delivered;
		}
		to = rid + 1;
	}
	if (to > from)
		spool_ack(d->sp, from, to, run_delivered);
	d->st.batches++;
	d->have_batch = false;
}
