/*
 * The delivery state machine (see deliver.h). States: idle, probing
 * (/ping), writing (a request in flight), waiting (a backoff timer). A batch
 * is built from the spool when the previous one is resolved (deliver_fill.c);
 * it is acked in the spool only when every line is stored or dead-lettered
 * (deliver_reply.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_int.h"
#include "gz.h"

static const char *const alert_codes[AL_COUNT] = {"auth",     "not_found",	   "unreachable",
						  "server_error", "rejected", "clock_unsynced",
						  "retention",	  "sessions_not_found"};

#define RETENTION_ALERT_NS (3600 * NSEC_PER_SEC) /* shown this long after the last drop */

struct log_rl deliver_rl = LOG_RL_INIT(10, 60);

/* Arm timer t for a monotonic deadline, or stop it (0). */
void
deliver_timer_at(struct deliver *d, enum deliver_timer t, int64_t deadline)
{
	d->armed[t] = deadline != 0;
	d->ops->timer(d->ctx, t, deadline);
}

void
deliver_alert_set(struct deliver *d, enum alert_id a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->alerts[a].text, sizeof(d->alerts[a].text), fmt, ap);
	va_end(ap);
	if (d->alerts[a].since == 0)
		d->alerts[a].since = real_ns(d) / NSEC_PER_SEC;
}

void
deliver_alert_clear(struct deliver *d, enum alert_id a)
{
	d->alerts[a].since = 0;
}

void
deliver_wait(struct deliver *d, int64_t delay_ns)
{
	d->retry_at = mono_ns(d) + delay_ns;
	d->wait = WAIT_OTHER;
	deliver_timer_at(d, DTIMER_WAIT, d->retry_at);
}

void
deliver_set_error(struct deliver *d, int code, const char *text)
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

void
deliver_set_urls(struct deliver *d)
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

static void
send_ping(struct deliver *d)
{
	struct httpc_opts o = http_opts(d, false);
	influx_ping_url(d->ping_url, sizeof(d->ping_url), d->w.url);
	d->st.pings++;
	d->req = d->ops->request(d->ctx, "GET", d->ping_url, NULL, 0, &o, reply_ping, d);
	if (d->req == NULL)
		deliver_wait(d, NSEC_PER_SEC);
}

static void
send_write(struct deliver *d)
{
	size_t nlines = d->batch.reqs[0].n;
	if (!batch_req_whole(&d->batch) && batch_body(&d->batch, &d->body, &nlines) < 0) {
		deliver_wait(d, NSEC_PER_SEC);
		return;
	}
	size_t bytes = batch_req_whole(&d->batch) ? d->batch.text.len : d->body.len;
	if (d->o.pace_wait != NULL) {
		int64_t wait = d->o.pace_wait(d->o.arg, bytes);
		if (wait > 0) {
			deliver_wait(d, wait);
			d->wait = WAIT_PACE;
			return;
		}
	}
	const struct buf *payload = batch_req_whole(&d->batch) ? &d->batch.text : &d->body;
	if (d->o.gzip) {
		if (gz_compress(&d->gz, payload->p, payload->len, d->o.gzip_level) < 0) {
			deliver_wait(d, NSEC_PER_SEC);
			return;
		}
		payload = &d->gz;
	}
	struct httpc_opts o = http_opts(d, true);
	d->inflight_bytes = bytes;
	d->inflight_wire = payload->len;
	d->st.requests++;
	d->req = d->ops->request(d->ctx, "POST", d->write_url[batch_req_dest(&d->batch)],
				 payload->p, payload->len, &o, reply_write, d);
	if (d->req == NULL)
		deliver_wait(d, NSEC_PER_SEC);
	fill_ahead(d);
}

void
deliver_step(struct deliver *d)
{
	if (d->req != NULL)
		return;
	if (d->retry_at > mono_ns(d)) {
		deliver_timer_at(d, DTIMER_WAIT, d->retry_at);
		return;
	}
	if (d->api == API_AUTO || d->need_probe) {
		send_ping(d);
		return;
	}
	fill_forget_dropped(d);
	if (!d->have_batch && !fill_build(d))
		return;
	if (batch_empty(&d->batch)) {
		reply_resolve(d);
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
		deliver_set_urls(d);
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
		fill_ahead_slice(d);
	else
		deliver_step(d);
}

void
deliver_kick(struct deliver *d)
{
	if (d->req == NULL && !d->armed[DTIMER_WAIT])
		deliver_step(d);
}

void
deliver_sync(struct deliver *d)
{
	if (d->req != NULL)
		return; /* a request is on its way: the flow is alive */
	if (d->armed[DTIMER_WAIT]) {
		if (d->wait != WAIT_NET)
			return; /* the server asked for the wait, or pacing */
		deliver_timer_at(d, DTIMER_WAIT, 0);
		d->retry_at = 0;
	}
	d->need_probe = true;
	d->st.rounds++;
	deliver_step(d);
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
		deliver_alert_clear(d, AL_RETENTION);
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
