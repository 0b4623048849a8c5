/*
 * Reacting to a reply (DESIGN.md "HTTP status handling"): a /ping settles the
 * API; a write's status acks, halves, dead-letters or bisects, backs off
 * (Retry-After, full jitter), or keeps the data and alerts; no answer means
 * a network backoff and a probe before the next write.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_int.h"

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
	deliver_set_error(d, -(r->curl_code ? r->curl_code : 1), r->error);
	deliver_alert_set(d, AL_UNREACHABLE, "%s %s: %s", what, d->w.url, r->error);
	log_rl(&deliver_rl, LOG_WARNING, "%s: %s: %s; retry in %.1f s", d->name, what, r->error,
	       (double)delay / 1e9);
	deliver_wait(d, delay);
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
	deliver_alert_clear(d, AL_UNREACHABLE);
	backoff_reset(&d->net_bo);
}

void
reply_ping(const struct httpc_resp *r, void *arg)
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
		deliver_set_error(d, r->status, text);
		if (d->w.api == API_AUTO) { /* cannot tell the API without a /ping answer */
			deliver_wait(d, backoff_next(&d->srv_bo, jitter(d)) + NSEC_PER_SEC);
			return;
		}
	}
	int api =
	    d->w.api == API_AUTO ? influx_api_detect(r->version[0] ? r->version : NULL) : d->w.api;
	if (api != d->api)
		log_info("%s: %s answers as InfluxDB %s: API %s", d->name, d->w.url,
			 r->version[0] ? r->version : "(no version header)",
			 api == API_V1 ? "v1" : "v2");
	d->api = d->st.api = api;
	d->need_probe = false;
	deliver_set_urls(d);
	deliver_step(d);
}

/* ---- writes ---- */

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
	log_rl(&deliver_rl, LOG_WARNING, "%s: %zu line%s refused (HTTP %d: %s): moved to %s",
	       d->name, n, n == 1 ? "" : "s", status, msg, d->dl.path);
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
		deliver_wait(d, NSEC_PER_SEC);
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
void
reply_resolve(struct deliver *d)
{
	if (d->have_batch && batch_empty(&d->batch) && batch_count(&d->batch, LINE_HELD) > 0) {
		if (d->batch.any_ok) {
			const char **lines;
			size_t *lens, n = lines_in_state(d, LINE_HELD, &lines, &lens);
			dead_letter(d, d->last_reject_status, d->last_reject, lines, lens, n);
			free(lines);
			free(lens);
			batch_convict_held(&d->batch);
			deliver_alert_clear(d, AL_REJECTED);
		} else {
			/* every line alone was refused and none was ever stored: the
			 * request, not the data, may be wrong (a bad setting): keep all */
			int64_t delay =
			    backoff_next(&d->slow_bo, jitter(d)) + d->o.slow_retry_min_ns;
			deliver_alert_set(
			    d, AL_REJECTED,
			    "the server refuses every line (HTTP %d: %s): data kept, retrying",
			    d->last_reject_status, d->last_reject);
			batch_requeue_held(&d->batch);
			deliver_wait(d, delay);
			return;
		}
	}
	if (d->have_batch && batch_empty(&d->batch) && batch_count(&d->batch, LINE_PENDING) > 0)
		batch_queue_all(&d->batch); /* cannot happen; never strand a line */
	if (d->have_batch && batch_done(&d->batch))
		fill_ack(d);
	deliver_step(d);
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
	deliver_alert_set(d, a, "%s (HTTP %d): data kept, retrying every few minutes", text,
			  status);
	log_rl(&deliver_rl, LOG_WARNING, "%s: HTTP %d: %s; retry in %.0f s", d->name, status, text,
	       (double)delay / 1e9);
	deliver_wait(d, delay);
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
	deliver_alert_set(
	    d, AL_SESS_NOT_FOUND,
	    "the sessions' %s %s is missing (HTTP %d: %s): sessions kept, samples go on; "
	    "run scripts/setup-influxdb",
	    what, name, status, msg);
	log_rl(&deliver_rl, LOG_WARNING,
	       "%s: sessions' %s %s missing (HTTP %d: %s): sessions wait "
	       "%.0f s, samples go on",
	       d->name, what, name, status, msg, (double)delay / 1e9);
}

void
reply_write(const struct httpc_resp *r, void *arg)
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
		deliver_set_error(d, r->status, msg[0] ? msg : influx_action_name(a));
	switch (a) {
	case IA_OK:
		d->st.ok++;
		d->st.lines_ok += d->batch.reqs[0].n;
		batch_req_ok(&d->batch);
		count_sent(d);
		if (dest == LP_DEST_SESSIONS) {
			backoff_reset(&d->sess_bo);
			deliver_alert_clear(d, AL_SESS_NOT_FOUND);
		}
		backoff_reset(&d->srv_bo);
		backoff_reset(&d->slow_bo);
		deliver_alert_clear(d, AL_AUTH);
		deliver_alert_clear(d, AL_NOT_FOUND);
		deliver_alert_clear(d, AL_SERVER);
		break;
	case IA_SPLIT:
		d->st.split++;
		if (d->batch.reqs[0].n > 1) {
			batch_req_split(&d->batch);
		} else {
			handle_reject(d, r->status,
				      "413: a single line is larger than the server accepts");
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
		slow_retry(d, AL_NOT_FOUND, msg[0] ? msg : "database or bucket not found",
			   r->status);
		return;
	case IA_RETRY:
	case IA_NETWORK: {
		d->st.retried++;
		int ra = influx_retry_after(r->retry_after[0] ? r->retry_after : NULL,
					    real_ns(d) / NSEC_PER_SEC);
		int64_t delay =
		    ra >= 0 ? (int64_t)ra * NSEC_PER_SEC : backoff_next(&d->srv_bo, jitter(d));
		if (delay < 100 * NSEC_PER_MSEC)
			delay = 100 * NSEC_PER_MSEC;
		deliver_alert_set(d, AL_SERVER, "HTTP %d%s%s: data kept, retrying", r->status,
				  msg[0] ? ": " : "", msg);
		log_rl(&deliver_rl, LOG_WARNING, "%s: HTTP %d %s; retry in %.1f s%s", d->name,
		       r->status, msg, (double)delay / 1e9, ra >= 0 ? " (Retry-After)" : "");
		deliver_wait(d, delay);
		return;
	}
	}
	reply_resolve(d);
}
