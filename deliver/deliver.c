/*
 * The delivery state machine (see deliver.h). States: idle, probing
 * (/ping), writing (a request in flight), waiting (a backoff timer). A batch
 * is built from the spool when the previous one is resolved; it is acked in
 * the spool only when every line is stored or dead-lettered.
 */
#include "deliver.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "deadletter.h"
#include "gz.h"
#include "httpc.h"
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
static const char *const alert_codes[AL_COUNT] = {"auth",     "not_found",	   "unreachable",
						  "server_error", "rejected", "clock_unsynced",
						  "retention",	  "sessions_not_found"};

/* Why the timer is armed: deliver_sync() cuts only a network backoff short. */
enum wait_kind { WAIT_OTHER, WAIT_NET, WAIT_PACE };

#define RETENTION_ALERT_NS (3600 * NSEC_PER_SEC) /* shown this long after the last drop */

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
	int api; /* API_AUTO until /ping settles it */
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

static void step(struct deliver *d);
static struct log_rl rl_err = LOG_RL_INIT(10, 60);

/* ---- the seam: every clock, the jitter and the timers go through d->ops ---- */

static int64_t
mono_ns(const struct deliver *d)
{
	return d->ops->now(d->ctx, DCLOCK_MONO);
}

static int64_t
real_ns(const struct deliver *d)
{
	return d->ops->now(d->ctx, DCLOCK_REAL);
}

static int64_t
boot_ns(const struct deliver *d)
{
	return d->ops->now(d->ctx, DCLOCK_BOOT);
}

static double
jitter(struct deliver *d)
{
	return d->ops->jitter(d->ctx);
}

/* Arm timer t for a monotonic deadline, or stop it (0). */
static void
timer_at(struct deliver *d, enum deliver_timer t, int64_t deadline)
{
	d->armed[t] = deadline != 0;
	d->ops->timer(d->ctx, t, deadline);
}

static void
alert_set(struct deliver *d, enum alert_id a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
alert_set(struct deliver *d, enum alert_id a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->alerts[a].text, sizeof(d->alerts[a].text), fmt, ap);
	va_end(ap);
	if (d->alerts[a].since == 0)
		d->alerts[a].since = real_ns(d) / NSEC_PER_SEC;
}

static void
alert_clear(struct deliver *d, enum alert_id a)
{
	d->alerts[a].since = 0;
}

static void
wait_until(struct deliver *d, int64_t delay_ns)
{
	d->retry_at = mono_ns(d) + delay_ns;
	d->wait = WAIT_OTHER;
	timer_at(d, DTIMER_WAIT, d->retry_at);
}

static void
set_error(struct deliver *d, int code, const char *text)
{
	struct spool_ledger *l = spool_ledger(d->sp);
	l->last_error_code = code;
	snprintf(l->last_error_text, sizeof(l->last_error_text), "%s", text);
	for (char *p = l->last_error_text; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	l->last_error_at = real_ns(d) / NSEC_PER_SEC;
	spool_ledger_changed(d->sp);
}

static void
set_urls(struct deliver *d)
{
	struct cfg_writer *sw = malloc(sizeof(*sw));
	if (sw != NULL)
		influx_session_writer(&d->w, sw);
	if (sw == NULL ||
	    influx_write_url(d->write_url[LP_DEST_SAMPLES], sizeof(d->write_url[0]), &d->w, d->api) < 0 ||
	    influx_write_url(d->write_url[LP_DEST_SESSIONS], sizeof(d->write_url[0]), sw, d->api) < 0 ||
	    influx_auth_header(d->auth, sizeof(d->auth), d->api, d->w.token) < 0)
		log_warnx("%s: URL or token too long", d->name);
	free(sw);
	int n = 0;
	if (d->auth[0] != '\0')
		d->headers[n++] = d->auth;
	d->headers[n++] = "Content-Type: text/plain; charset=utf-8";
	if (d->o.gzip)
		d->headers[n++] = "Content-Encoding: gzip";
	d->headers[n] = NULL;
}

static struct httpc_opts
http_opts(struct deliver *d, bool with_headers)
{
	int64_t total = (int64_t)d->w.timeout_s * NSEC_PER_SEC;
	if (!with_headers && d->o.ping_timeout_ns > 0) /* the probe has its own */
		total = d->o.ping_timeout_ns;
	int64_t conn = d->o.connect_timeout_ns ? d->o.connect_timeout_ns : 5 * NSEC_PER_SEC;
	if (conn > total)
		conn = total;
	struct httpc_opts o = {.connect_timeout_ms = (int)(conn / NSEC_PER_MSEC),
			       .timeout_ms = (int)(total / NSEC_PER_MSEC),
			       .ca_file = d->w.ca_file,
			       .headers = with_headers ? d->headers : NULL};
	return o;
}

/* ---- outcomes common to pings and writes ---- */

static void
network_failure(struct deliver *d, const struct httpc_resp *r, const char *what)
{
	int64_t delay = backoff_next(&d->net_bo, jitter(d));
	if (delay < 100 * NSEC_PER_MSEC)
		delay = 100 * NSEC_PER_MSEC;
	d->st.network++;
	d->need_probe = true;
	if (d->w.api == API_AUTO)
		d->api = API_AUTO; /* a different server may answer next time */
	set_error(d, -(r->curl_code ? r->curl_code : 1), r->error);
	alert_set(d, AL_UNREACHABLE, "%s %s: %s", what, d->w.url, r->error);
	log_rl(&rl_err, LOG_WARNING, "%s: %s: %s; retry in %.1f s", d->name, what, r->error,
	       (double)delay / 1e9);
	wait_until(d, delay);
	d->wait = WAIT_NET;
}

static void
count_http(struct deliver *d, const struct httpc_resp *r)
{
	d->st.http_sent_bytes += r->sent_bytes;
	d->st.http_recv_bytes += r->recv_bytes;
}

static void
contact(struct deliver *d)
{
	spool_ledger(d->sp)->last_contact = real_ns(d) / NSEC_PER_SEC;
	spool_ledger_changed(d->sp);
	alert_clear(d, AL_UNREACHABLE);
	backoff_reset(&d->net_bo);
}

static void
on_ping(const struct httpc_resp *r, void *arg)
{
	struct deliver *d = arg;
	d->req = NULL;
	count_http(d, r);
	if (r->status == 0) {
		network_failure(d, r, "ping");
		return;
	}
	contact(d);
	if (r->status < 200 || r->status >= 300) {
		char text[128];
		snprintf(text, sizeof(text), "ping: HTTP %d", r->status);
		set_error(d, r->status, text);
		if (d->w.api == API_AUTO) { /* cannot tell the API without a /ping answer */
			wait_until(d, backoff_next(&d->srv_bo, jitter(d)) + NSEC_PER_SEC);
			return;
		}
	}
	int api = d->w.api == API_AUTO ? influx_api_detect(r->version[0] ? r->version : NULL)
				       : d->w.api;
	if (api != d->api)
		log_info("%s: %s answers as InfluxDB %s: API %s", d->name, d->w.url,
			 r->version[0] ? r->version : "(no version header)", api == API_V1 ? "v1" : "v2");
	d->api = d->st.api = api;
	d->need_probe = false;
	set_urls(d);
	step(d);
}

static void
send_ping(struct deliver *d)
{
	struct httpc_opts o = http_opts(d, false);
	influx_ping_url(d->ping_url, sizeof(d->ping_url), d->w.url);
	d->st.pings++;
	d->req = d->ops->request(d->ctx, "GET", d->ping_url, NULL, 0, &o, on_ping, d);
	if (d->req == NULL)
		wait_until(d, NSEC_PER_SEC);
}

/* ---- batches ---- */

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
	alert_set(d, AL_RETENTION,
		  "%llu records older than the remote's retention (%lld days) were dropped",
		  (unsigned long long)d->st.records_expired,
		  (long long)(d->o.max_age_ns / (86400 * NSEC_PER_SEC)));
	log_rl(&rl_err, LOG_WARNING, "%s: record %llu from %lld s ago is older than the retention: "
	       "dropped (%llu so far)", d->name, (unsigned long long)r->rid,
	       (long long)((real_ns(d) - t) / NSEC_PER_SEC), (unsigned long long)d->st.records_expired);
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
	log_rl(&rl_err, LOG_WARNING, "%s: session record %llu dropped: %s (%llu so far)", d->name,
	       (unsigned long long)r->rid, why, (unsigned long long)d->st.events_dropped);
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
		if (d->o.max_age_ns > 0 && dest == LP_DEST_SAMPLES && t < now_real - d->o.max_age_ns) {
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
		alert_set(d, AL_CLOCK,
			  "the clock is not synchronised: records wait up to %lld s for it, then go "
			  "flagged clock_unsynced",
			  (long long)(d->o.hold_unsynced_ns / NSEC_PER_SEC));
	else
		alert_clear(d, AL_CLOCK);
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
static bool
build_batch(struct deliver *d)
{
	if (d->next_state == NEXT_BUILDING) {
		timer_at(d, DTIMER_AHEAD, 0);
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
static void
forget_dropped(struct deliver *d)
{
	uint64_t oldest = spool_oldest_rid(d->sp);
	bool next = d->next_state != NEXT_NONE;

	if (!(d->have_batch && batch_first_rid(&d->batch) < oldest) &&
	    !(next && batch_first_rid(&d->next) < oldest))
		return;
	if (next) {
		timer_at(d, DTIMER_AHEAD, 0);
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
static void
on_ahead(struct deliver *d)
{
	if (d->next_state != NEXT_BUILDING)
		return;
	if (fill_batch(d, &d->next, 512, false))
		d->next_state = batch_ready(d, &d->next) ? NEXT_READY : NEXT_NONE;
	else
		timer_at(d, DTIMER_AHEAD, mono_ns(d));
}

static void
build_ahead(struct deliver *d)
{
	if (d->next_state != NEXT_NONE || d->req == NULL || d->st.holding)
		return;
	batch_reset(&d->next);
	d->next_state = NEXT_BUILDING;
	timer_at(d, DTIMER_AHEAD, mono_ns(d)); /* after curl's own start-now timer */
}

/* Ack the batch's records, consecutive ids with the same outcome at once. */
static void
finish_batch(struct deliver *d)
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

static void
dead_letter(struct deliver *d, int status, const char *msg, const char *const *lines,
	    const size_t *lens, size_t n)
{
	if (n == 0)
		return;
	deadletter_write(&d->dl, status, msg, lines, lens, n, real_ns(d) / NSEC_PER_SEC);
	spool_ledger(d->sp)->dead_lettered += n;
	spool_ledger_changed(d->sp);
	d->st.lines_dead += n;
	log_rl(&rl_err, LOG_WARNING, "%s: %zu line%s refused (HTTP %d: %s): moved to %s", d->name, n,
	       n == 1 ? "" : "s", status, msg, d->dl.path);
}

/* Lines of the batch in a state, as arrays for dead_letter(). */
static size_t
lines_in_state(struct deliver *d, enum line_state st, const char ***lines, size_t **lens)
{
	size_t n = batch_count(&d->batch, st), k = 0;
	*lines = malloc((n + 1) * sizeof(**lines));
	*lens = malloc((n + 1) * sizeof(**lens));
	if (*lines == NULL || *lens == NULL)
		return 0;
	for (size_t i = 0; i < d->batch.nlines; i++)
		if (d->batch.lines[i].state == st) {
			(*lines)[k] = d->batch.text.p + d->batch.lines[i].off;
			(*lens)[k++] = d->batch.lines[i].len;
		}
	return k;
}

/* A 400/422 for the request at the head of the batch. */
static void
handle_reject(struct deliver *d, int status, const char *msg)
{
	const char **lines;
	size_t *lens, n = d->batch.reqs[0].n;
	struct influx_verdict v;

	d->st.rejected++;
	snprintf(d->last_reject, sizeof(d->last_reject), "%s", msg);
	d->last_reject_status = status;
	bool *bad = calloc(n + 1, sizeof(*bad));
	if (bad == NULL || batch_lines(&d->batch, &lines, &lens) < 0) {
		free(bad);
		wait_until(d, NSEC_PER_SEC);
		return;
	}
	influx_bad_lines(msg, lines, lens, n, bad, &v);
	if (v.identified == 0 && n > 1) {
		batch_req_split(&d->batch); /* bisect: both halves go again */
		d->st.bisections++;
	} else if (v.identified == 0 && !d->batch.any_ok) {
		batch_req_hold(&d->batch); /* the line, or the request? not proven yet */
	} else {
		if (v.identified == 0)
			memset(bad, 1, n * sizeof(*bad));
		const char **bl = malloc(n * sizeof(*bl));
		size_t *bn = malloc(n * sizeof(*bn)), k = 0;
		for (size_t i = 0; bl != NULL && bn != NULL && i < n; i++)
			if (bad[i]) {
				bl[k] = lines[i];
				bn[k++] = lens[i];
			}
		dead_letter(d, status, msg, bl, bn, k);
		free(bl);
		free(bn);
		batch_req_apply(&d->batch, bad, v.complete);
	}
	free(bad);
	free(lines);
	free(lens);
}

/* After a response: finish the batch, convict or hold rejected lines, or go on. */
static void
after_response(struct deliver *d)
{
	if (d->have_batch && batch_empty(&d->batch) && batch_count(&d->batch, LINE_HELD) > 0) {
		if (d->batch.any_ok) {
			const char **lines;
			size_t *lens, n = lines_in_state(d, LINE_HELD, &lines, &lens);
			dead_letter(d, d->last_reject_status, d->last_reject, lines, lens, n);
			free(lines);
			free(lens);
			batch_convict_held(&d->batch);
			alert_clear(d, AL_REJECTED);
		} else {
			/* every line alone was refused and none was ever stored: the
			 * request, not the data, may be wrong (a bad setting): keep all */
			int64_t delay = backoff_next(&d->slow_bo, jitter(d)) + d->o.slow_retry_min_ns;
			alert_set(d, AL_REJECTED,
				  "the server refuses every line (HTTP %d: %s): data kept, retrying",
				  d->last_reject_status, d->last_reject);
			batch_requeue_held(&d->batch);
			wait_until(d, delay);
			return;
		}
	}
	if (d->have_batch && batch_empty(&d->batch) && batch_count(&d->batch, LINE_PENDING) > 0)
		batch_queue_all(&d->batch); /* cannot happen; never strand a line */
	if (d->have_batch && batch_done(&d->batch))
		finish_batch(d);
	step(d);
}

static void
count_sent(struct deliver *d)
{
	struct spool_ledger *l = spool_ledger(d->sp);
	int64_t now = real_ns(d) / NSEC_PER_SEC, day = now / 86400;
	if (l->sent_day != day) {
		l->sent_day = day;
		l->sent_bytes_today = 0;
	}
	l->sent_bytes_today += d->inflight_wire;
	l->last_success = now;
	spool_ledger_changed(d->sp);
	d->st.bytes += d->inflight_bytes;
	d->st.wire_bytes += d->inflight_wire;
	if (d->o.sent != NULL)
		d->o.sent(d->o.arg, d->inflight_bytes, d->inflight_wire);
}

static void
slow_retry(struct deliver *d, enum alert_id a, const char *text, int status)
{
	int64_t delay = d->o.slow_retry_min_ns + backoff_next(&d->slow_bo, jitter(d));
	alert_set(d, a, "%s (HTTP %d): data kept, retrying every few minutes", text, status);
	log_rl(&rl_err, LOG_WARNING, "%s: HTTP %d: %s; retry in %.0f s", d->name, status, text,
	       (double)delay / 1e9);
	wait_until(d, delay);
}

/*
 * The sessions' retention policy or bucket is missing (an install that
 * predates it, setup-influxdb not run again): their lines stay in the
 * spool, unacked, and are passed over for a slow-retry delay while the
 * samples go on; an alert says what to do.
 */
static void
defer_sessions(struct deliver *d, int status, const char *msg)
{
	int64_t delay = d->o.slow_retry_min_ns + backoff_next(&d->sess_bo, jitter(d));
	const char *what = d->api == API_V1 ? "retention policy" : "bucket";
	const char *name = d->api == API_V1 ? d->w.session_rp : d->w.session_bucket;

	batch_req_defer(&d->batch);
	d->sess_block_until = mono_ns(d) + delay;
	alert_set(d, AL_SESS_NOT_FOUND,
		  "the sessions' %s %s is missing (HTTP %d: %s): sessions kept, samples go on; "
		  "run scripts/setup-influxdb", what, name, status, msg);
	log_rl(&rl_err, LOG_WARNING, "%s: sessions' %s %s missing (HTTP %d: %s): sessions wait "
	       "%.0f s, samples go on", d->name, what, name, status, msg, (double)delay / 1e9);
}

static void
on_write(const struct httpc_resp *r, void *arg)
{
	struct deliver *d = arg;
	char msg[256];
	d->req = NULL;
	d->st.last_seconds = r->seconds;
	count_http(d, r);
	if (r->status == 0) {
		network_failure(d, r, "write to");
		return;
	}
	contact(d);
	influx_error_text(r->body, r->body_len, msg, sizeof(msg));
	enum influx_action a = influx_classify_text(r->status, msg);
	int dest = batch_req_dest(&d->batch);
	if (a != IA_OK)
		set_error(d, r->status, msg[0] ? msg : influx_action_name(a));
	switch (a) {
	case IA_OK:
		d->st.ok++;
		d->st.lines_ok += d->batch.reqs[0].n;
		batch_req_ok(&d->batch);
		count_sent(d);
		if (dest == LP_DEST_SESSIONS) {
			backoff_reset(&d->sess_bo);
			alert_clear(d, AL_SESS_NOT_FOUND);
		}
		backoff_reset(&d->srv_bo);
		backoff_reset(&d->slow_bo);
		alert_clear(d, AL_AUTH);
		alert_clear(d, AL_NOT_FOUND);
		alert_clear(d, AL_SERVER);
		break;
	case IA_SPLIT:
		d->st.split++;
		if (d->batch.reqs[0].n > 1) {
			batch_req_split(&d->batch);
		} else {
			handle_reject(d, r->status, "413: a single line is larger than the server accepts");
		}
		break;
	case IA_REJECT:
		handle_reject(d, r->status, msg);
		break;
	case IA_AUTH:
		d->st.auth++;
		slow_retry(d, AL_AUTH, "the server refuses our token", r->status);
		return;
	case IA_NOT_FOUND:
		d->st.not_found++;
		if (dest == LP_DEST_SESSIONS) {
			defer_sessions(d, r->status, msg[0] ? msg : "not found");
			break;
		}
		if (d->w.api == API_AUTO)
			d->api = API_AUTO;
		slow_retry(d, AL_NOT_FOUND, msg[0] ? msg : "database or bucket not found", r->status);
		return;
	case IA_RETRY:
	case IA_NETWORK: {
		d->st.retried++;
		int ra = influx_retry_after(r->retry_after[0] ? r->retry_after : NULL,
					    real_ns(d) / NSEC_PER_SEC);
		int64_t delay = ra >= 0 ? (int64_t)ra * NSEC_PER_SEC : backoff_next(&d->srv_bo, jitter(d));
		if (delay < 100 * NSEC_PER_MSEC)
			delay = 100 * NSEC_PER_MSEC;
		alert_set(d, AL_SERVER, "HTTP %d%s%s: data kept, retrying", r->status,
			  msg[0] ? ": " : "", msg);
		log_rl(&rl_err, LOG_WARNING, "%s: HTTP %d %s; retry in %.1f s%s", d->name, r->status,
		       msg, (double)delay / 1e9, ra >= 0 ? " (Retry-After)" : "");
		wait_until(d, delay);
		return;
	}
	}
	after_response(d);
}

static void
send_write(struct deliver *d)
{
	size_t nlines = d->batch.reqs[0].n;
	if (!batch_req_whole(&d->batch) && batch_body(&d->batch, &d->body, &nlines) < 0) {
		wait_until(d, NSEC_PER_SEC);
		return;
	}
	size_t bytes = batch_req_whole(&d->batch) ? d->batch.text.len : d->body.len;
	if (d->o.pace_wait != NULL) {
		int64_t wait = d->o.pace_wait(d->o.arg, bytes);
		if (wait > 0) {
			wait_until(d, wait);
			d->wait = WAIT_PACE;
			return;
		}
	}
	const struct buf *payload = batch_req_whole(&d->batch) ? &d->batch.text : &d->body;
	if (d->o.gzip) {
		if (gz_compress(&d->gz, payload->p, payload->len, d->o.gzip_level) < 0) {
			wait_until(d, NSEC_PER_SEC);
			return;
		}
		payload = &d->gz;
	}
	struct httpc_opts o = http_opts(d, true);
	d->inflight_bytes = bytes;
	d->inflight_wire = payload->len;
	d->st.requests++;
	d->req = d->ops->request(d->ctx, "POST", d->write_url[batch_req_dest(&d->batch)], payload->p,
			       payload->len, &o, on_write, d);
	if (d->req == NULL)
		wait_until(d, NSEC_PER_SEC);
	build_ahead(d);
}

static void
step(struct deliver *d)
{
	if (d->req != NULL)
		return;
	if (d->retry_at > mono_ns(d)) {
		timer_at(d, DTIMER_WAIT, d->retry_at);
		return;
	}
	if (d->api == API_AUTO || d->need_probe) {
		send_ping(d);
		return;
	}
	forget_dropped(d);
	if (!d->have_batch && !build_batch(d))
		return;
	if (batch_empty(&d->batch)) {
		after_response(d);
		return;
	}
	send_write(d);
}

static void
core_free(struct deliver *d)
{
	spool_cursor_close(d->cur);
	spool_cursor_close(d->live);
	batch_free(&d->batch);
	batch_free(&d->next);
	buf_free(&d->body);
	buf_free(&d->gz);
	free(d);
}

int
deliver_open(struct deliver **dp, struct spool *sp, const struct deliver_opts *o,
	     const struct deliver_ops *ops, void *ctx)
{
	struct deliver *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	d->ops = ops;
	d->ctx = ctx;
	d->sp = sp;
	d->o = *o;
	d->w = *o->w;
	if (d->w.batch_lines <= 0)
		d->w.batch_lines = 5000;
	if (d->w.timeout_s <= 0)
		d->w.timeout_s = 10;
	if (d->o.slow_retry_min_ns == 0)
		d->o.slow_retry_min_ns = 30 * NSEC_PER_SEC;
	snprintf(d->name, sizeof(d->name), "%s", o->name ? o->name : "writer");
	snprintf(d->vehicle, sizeof(d->vehicle), "%s", o->vehicle ? o->vehicle : "");
	d->o.name = d->name;
	d->o.vehicle = d->vehicle;
	lp_init(&d->lp, d->vehicle, d->w.precision);
	batch_init(&d->batch);
	batch_init(&d->next);
	buf_init(&d->body);
	buf_init(&d->gz);
	deadletter_init(&d->dl, o->deadletter_path ? o->deadletter_path : "/dev/null", 0);
	backoff_init(&d->net_bo, NSEC_PER_SEC,
		     o->net_backoff_max_ns ? o->net_backoff_max_ns : 60 * NSEC_PER_SEC);
	backoff_init(&d->srv_bo, NSEC_PER_SEC, 300 * NSEC_PER_SEC);
	backoff_init(&d->slow_bo, NSEC_PER_SEC, 600 * NSEC_PER_SEC);
	backoff_init(&d->sess_bo, NSEC_PER_SEC, 600 * NSEC_PER_SEC);
	d->deferred_from = UINT64_MAX;
	d->api = d->st.api = API_AUTO;
	if (d->w.api != API_AUTO) {
		d->api = d->st.api = d->w.api;
		set_urls(d);
	}
	if (spool_cursor_open(sp, 0, UINT64_MAX, &d->cur) < 0) {
		core_free(d);
		return -1;
	}
	*dp = d;
	return 0;
}

void
deliver_free(struct deliver *d)
{
	if (d == NULL)
		return;
	d->ops->release(d->ctx); /* cancels what is in flight: unacked, sent again later */
	core_free(d);
}

void
deliver_on_timer(struct deliver *d, enum deliver_timer t)
{
	d->armed[t] = false;
	if (t == DTIMER_AHEAD)
		on_ahead(d);
	else
		step(d);
}

void
deliver_kick(struct deliver *d)
{
	if (d->req == NULL && !d->armed[DTIMER_WAIT])
		step(d);
}

void
deliver_sync(struct deliver *d)
{
	if (d->req != NULL)
		return; /* a request is on its way: the flow is alive */
	if (d->armed[DTIMER_WAIT]) {
		if (d->wait != WAIT_NET)
			return; /* the server asked for the wait, or pacing */
		timer_at(d, DTIMER_WAIT, 0);
		d->retry_at = 0;
	}
	d->need_probe = true;
	d->st.rounds++;
	step(d);
}

void
deliver_set_live_from(struct deliver *d, uint64_t rid)
{
	d->live_from = rid; /* the cursors follow at the next batch */
}

const struct deliver_stats *
deliver_stats(const struct deliver *d)
{
	return &d->st;
}

void
deliver_ledger(struct deliver *d, struct ledger *l)
{
	struct spool_stats st;
	const struct spool_ledger *sl = spool_ledger(d->sp);
	spool_stats(d->sp, &st);
	memset(l, 0, sizeof(*l));
	l->queued_records = st.queued_records;
	l->queued_bytes = st.queued_bytes;
	if (st.oldest_t_ns > 0) {
		double age = (double)(real_ns(d) - st.oldest_t_ns) / 1e9;
		l->oldest_age_s = age > 0 ? age : 0;
	}
	l->last_success = sl->last_success;
	l->last_contact = sl->last_contact;
	l->last_error_code = sl->last_error_code;
	snprintf(l->last_error_text, sizeof(l->last_error_text), "%s", sl->last_error_text);
	l->last_error_at = sl->last_error_at;
	l->dropped = sl->dropped_cap + sl->dropped_mem + sl->dropped_policy;
	l->dead_lettered = sl->dead_lettered;
	int64_t day = real_ns(d) / NSEC_PER_SEC / 86400;
	l->sent_bytes_today = sl->sent_day == day ? sl->sent_bytes_today : 0;
	ledger_extra(l, "delivered", (double)sl->delivered);
	ledger_extra(l, "dropped_cap", (double)sl->dropped_cap);
	ledger_extra(l, "dropped_memory", (double)sl->dropped_mem);
	ledger_extra(l, "dropped_policy", (double)sl->dropped_policy);
	ledger_extra(l, "corrupt", (double)sl->corrupt);
	ledger_extra(l, "torn", (double)sl->torn);
	ledger_extra(l, "torn_bytes", (double)sl->torn_bytes);
	ledger_extra(l, "spool_disk_bytes", (double)st.disk_bytes);
	ledger_extra(l, "spool_memory_records", (double)st.mem_records);
	ledger_extra(l, "spool_segments", (double)st.segments);
}

void
deliver_counters(const struct deliver *d, struct heartbeat *hb)
{
	const struct deliver_stats *s = &d->st;
	hb_counter(hb, "pings", (double)s->pings);
	hb_counter(hb, "requests", (double)s->requests);
	hb_counter(hb, "http_ok", (double)s->ok);
	hb_counter(hb, "http_split", (double)s->split);
	hb_counter(hb, "http_rejected", (double)s->rejected);
	hb_counter(hb, "http_retried", (double)s->retried);
	hb_counter(hb, "http_auth", (double)s->auth);
	hb_counter(hb, "http_not_found", (double)s->not_found);
	hb_counter(hb, "network_errors", (double)s->network);
	hb_counter(hb, "lines_ok", (double)s->lines_ok);
	hb_counter(hb, "lines_dead", (double)s->lines_dead);
	hb_counter(hb, "bisections", (double)s->bisections);
	hb_counter(hb, "records_rebased", (double)s->records_rebased);
	hb_counter(hb, "records_unsynced", (double)s->records_unsynced);
	hb_counter(hb, "records_expired", (double)s->records_expired);
	hb_counter(hb, "session_points", (double)d->lps.events);
	hb_counter(hb, "session_records_dropped", (double)s->events_dropped);
	hb_counter(hb, "session_fields_skipped", (double)d->lps.event_fields_skipped);
	hb_counter(hb, "session_records_waited", (double)s->events_waited);
	hb_counter(hb, "holding_for_clock", s->holding ? 1 : 0);
	hb_counter(hb, "api", s->api == API_V1 ? 1 : s->api == API_V2 ? 2 : 0);
	hb_counter(hb, "last_request_s", s->last_seconds);
	hb_counter(hb, "http_sent_bytes", (double)s->http_sent_bytes);
	hb_counter(hb, "http_recv_bytes", (double)s->http_recv_bytes);
}

void
deliver_alerts(struct deliver *d, struct heartbeat *hb)
{
	struct spool_stats st;
	if (d->alerts[AL_RETENTION].since != 0 && mono_ns(d) - d->expired_at > RETENTION_ALERT_NS)
		alert_clear(d, AL_RETENTION);
	for (int a = 0; a < AL_COUNT; a++)
		if (d->alerts[a].since != 0)
			hb_alert(hb, alert_codes[a], d->alerts[a].text, d->alerts[a].since);
	spool_stats(d->sp, &st);
	if (st.disk_errno != 0) {
		char text[200];
		snprintf(text, sizeof(text), "spool disk: %s; %llu records wait in memory",
			 strerror(st.disk_errno), (unsigned long long)st.mem_records);
		hb_alert(hb, "spool_disk", text, st.disk_error_since);
	}
}
