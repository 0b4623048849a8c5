/*
 * leafmon-abrp (abrp_worker.h): the snapshot every 250 ms, the rules, one
 * request at a time, the counters and the ledger.
 */
#include "abrp_worker.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "snap.h"
#include "util.h"

#define ABRP_TICK_NS (250LL * NSEC_PER_MSEC)
#define ABRP_SNAP_RETRY_NS NSEC_PER_SEC
#define ABRP_CONNECT_MS 5000
#define ABRP_TIMEOUT_MS 10000
#define ABRP_STILL_NS (10 * NSEC_PER_SEC) /* frame time still this long: nothing is live */

/* An error text with the secrets cut out (curl's never hold them; be sure). */
static void
scrub(struct abrp_worker *aw, char *text)
{
	const char *secrets[] = {aw->w->cfg.abrp.token, aw->w->cfg.abrp.api_key};

	for (size_t i = 0; i < ARRAY_LEN(secrets); i++) {
		size_t n = strlen(secrets[i]);
		char *p;
		while (n > 0 && (p = strstr(text, secrets[i])) != NULL)
			memset(p, '*', n);
	}
}

static void
failed(struct abrp_worker *aw, int code, const char *text)
{
	aw->failed++;
	aw->last_error_code = code;
	snprintf(aw->last_error, sizeof(aw->last_error), "%s", text);
	scrub(aw, aw->last_error);
	aw->last_error_at = now_real_ns() / NSEC_PER_SEC;
	if (aw->failing_since == 0) {
		aw->failing_since = aw->last_error_at;
		log_warnx("abrp: %s (records are dropped until it answers)", aw->last_error);
	}
}

static void
on_reply(const struct httpc_resp *r, void *arg)
{
	struct abrp_worker *aw = arg;
	char text[256];

	int64_t day = now_real_ns() / NSEC_PER_SEC / 86400;

	aw->req = NULL;
	aw->sent_bytes += r->sent_bytes;
	if (aw->sent_day != day) {
		aw->sent_day = day;
		aw->sent_bytes_today = 0;
	}
	aw->sent_bytes_today += r->sent_bytes;
	if (r->status == 200 && abrp_reply_ok(r->body)) {
		aw->ok++;
		aw->last_success = now_real_ns() / NSEC_PER_SEC;
		if (aw->failing_since != 0)
			log_info("abrp: telemetry accepted again");
		aw->failing_since = 0;
		return;
	}
	if (r->status == 0) {
		aw->offline++;
		snprintf(text, sizeof(text), "unreachable: %.200s", r->error);
		failed(aw, -1, text);
		return;
	}
	aw->rejected++;
	snprintf(text, sizeof(text), "HTTP %d: %.200s", r->status, r->body ? r->body : "");
	text[strcspn(text, "\r\n")] = '\0';
	failed(aw, r->status, text);
}

static void
send_tlm(struct abrp_worker *aw, const struct abrp_tlm *t)
{
	static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
					      NULL};
	struct httpc_opts o = {.connect_timeout_ms = ABRP_CONNECT_MS,
			       .timeout_ms = ABRP_TIMEOUT_MS,
			       .headers = headers,
			       .body_max = 4096};

	buf_reset(&aw->json);
	buf_reset(&aw->body);
	abrp_json(&aw->json, t, aw->mask);
	abrp_form(&aw->body, buf_str(&aw->json));
	buf_str(&aw->body);
	if (aw->json.oom || aw->body.oom) {
		failed(aw, -1, "out of memory");
		return;
	}
	aw->requests++;
	aw->last_request = now_real_ns() / NSEC_PER_SEC;
	aw->req = httpc_request(aw->http, "POST", buf_str(&aw->url), aw->body.p, aw->body.len, &o,
				on_reply, aw);
	if (aw->req == NULL)
		failed(aw, -1, "cannot start the request");
}

/* Every slot of the snapshot the record is made of. */
static void
read_snapshot(struct abrp_worker *aw, struct abrp_in *in)
{
	struct snap_value v;

	for (unsigned id = 0; id < SIG_ID_MAX; id++) {
		in[id].have = snap_read(aw->snap, id, &v) == 0;
		in[id].value = v.value;
		in[id].t_ns = v.t_ns;
		in[id].flags = v.flags;
		if (!in[id].have)
			memset(&in[id], 0, sizeof(in[id]));
	}
}

/* Look at the snapshot: 1 when it moves (frames come in), else 0. */
static int
look(struct abrp_worker *aw, int64_t now)
{
	struct abrp_in in[SIG_ID_MAX];
	struct abrp_tlm t;
	int why;

	if (aw->snap == NULL && now - aw->snap_tried_mono >= ABRP_SNAP_RETRY_NS) {
		aw->snap_tried_mono = now;
		if (snap_open(&aw->snap, aw->w->rundir, false) < 0)
			aw->snap = NULL;
	}
	if (aw->snap == NULL)
		return 0;
	if (aw->req != NULL)
		return 1; /* one request at a time: the next tick sends what is due then */
	read_snapshot(aw, in);
	abrp_tlm_from(&t, in);
	if (t.t_ns != aw->seen_t) {
		int first = aw->seen_t == 0;
		aw->moved_mono = first ? 0 : now; /* the first look is no movement */
		aw->seen_t = t.t_ns;
		if (first)
			return 1; /* the second look soon, as while frames come in */
	}
	if (aw->moved_mono == 0 || now - aw->moved_mono >= ABRP_STILL_NS)
		return 0; /* no frames: the bus asleep, a can worker that is gone, or not started */
	if ((why = abrp_due(&aw->rate, &t)) != AR_NONE) {
		aw->reasons[why]++;
		abrp_sent(&aw->rate, &t, why); /* tried: live data is never sent twice */
		send_tlm(aw, &t);
	}
	return !snap_bus_asleep(aw->snap);
}

/* Every 250 ms while frames come in; on the one-second grid (with the
 * heartbeat) while the snapshot stands still or the bus sleeps. */
static void
on_tick(struct loop *l, struct loop_timer *tm, void *arg)
{
	if (look(arg, now_mono_ns()))
		loop_timer_after(tm, ABRP_TICK_NS);
	else
		loop_timer_grid(tm, NSEC_PER_SEC);
}

int
abrp_worker_start(struct abrp_worker *aw, struct worker *w)
{
	const struct config *cfg = &w->cfg;

	memset(aw, 0, sizeof(*aw));
	aw->w = w;
	aw->mask = abrp_field_mask(cfg->abrp.fields, cfg->abrp.send_location && cfg->gps.source[0]);
	buf_init(&aw->url);
	buf_init(&aw->body);
	buf_init(&aw->json);
	abrp_url(&aw->url, cfg->abrp.url, cfg->abrp.api_key, cfg->abrp.token);
	if (buf_str(&aw->url) == NULL || httpc_new(&aw->http, w->loop) < 0)
		return -1;
	aw->tick = loop_timer_new(w->loop, on_tick, aw);
	loop_timer_after(aw->tick, ABRP_TICK_NS);
	log_info("abrp: live data to %s (location %s)", cfg->abrp.url,
		 aw->mask & (1u << AF_LAT) ? "on" : "off");
	return 0;
}

void
abrp_worker_stop(struct abrp_worker *aw)
{
	if (aw->tick != NULL)
		loop_timer_free(aw->tick);
	aw->tick = NULL;
	httpc_free(aw->http); /* a request in flight is dropped: it was live */
	aw->http = NULL;
	snap_close(aw->snap);
	aw->snap = NULL;
	buf_free(&aw->url);
	buf_free(&aw->body);
	buf_free(&aw->json);
}

void
abrp_worker_heartbeat(struct abrp_worker *aw, struct heartbeat *hb)
{
	struct ledger *lg = &hb->ledger;
	char name[48];

	hb_counter(hb, "requests", (double)aw->requests);
	hb_counter(hb, "sent_ok", (double)aw->ok);
	hb_counter(hb, "failed", (double)aw->failed);
	hb_counter(hb, "dropped_offline", (double)aw->offline);
	hb_counter(hb, "rejected", (double)aw->rejected);
	hb_counter(hb, "sent_bytes", (double)aw->sent_bytes);
	hb_counter(hb, "snapshot_open", aw->snap != NULL);
	for (int r = AR_FIRST; r < AR_COUNT; r++) {
		snprintf(name, sizeof(name), "reason_%s", abrp_reason_name(r));
		hb_counter(hb, name, (double)aw->reasons[r]);
	}
	hb->has_ledger = true;
	memset(lg, 0, sizeof(*lg));
	lg->last_success = aw->last_success;
	lg->last_contact = aw->last_request;
	lg->last_error_code = aw->last_error_code;
	snprintf(lg->last_error_text, sizeof(lg->last_error_text), "%s", aw->last_error);
	lg->last_error_at = aw->last_error_at;
	lg->dropped = aw->failed;
	lg->sent_bytes_today =
	    aw->sent_day == now_real_ns() / NSEC_PER_SEC / 86400 ? aw->sent_bytes_today : 0;
	ledger_extra(lg, "requests", (double)aw->requests);
	ledger_extra(lg, "sent_ok", (double)aw->ok);
	if (aw->failing_since != 0)
		hb_alert(hb,
			 aw->last_error_code == -1				    ? "unreachable"
			 : aw->last_error_code == 401 || aw->last_error_code == 403 ? "auth"
										    : "rejected",
			 aw->last_error, aw->failing_since);
}
