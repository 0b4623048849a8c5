/*
 * The JSON routes: latest snapshot, signal catalogue, status document,
 * Prometheus metrics, the live stream, and the login/session/control
 * endpoints. The status comes from leafmond through ctlq; requests for it
 * share one fetch and a short cache.
 */
#include <arpa/inet.h>
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "prom.h"
#include "snapjson.h"
#include "status.h"
#include "web.h"
#include "wparam.h"

/* ---- catalogue and snapshot ---- */

static void
signal_json(struct json *j, const struct sig_info *si)
{
	json_obj_open(j, NULL);
	json_int(j, "id", si->id);
	json_str(j, "name", si->name);
	json_str(j, "unit", si->unit);
	json_str(j, "group", sig_group_name(si->group));
	static const char *const types[] = {"float", "int", "bool", "enum"};
	json_str(j, "type", si->type < 4 ? types[si->type] : "?");
	if (si->type == ST_ENUM && si->labels != NULL) {
		char labels[256];
		snprintf(labels, sizeof(labels), "%s", si->labels);
		json_arr_open(j, "labels");
		char *save = NULL;
		for (char *l = strtok_r(labels, ",", &save); l; l = strtok_r(NULL, ",", &save))
			json_str(j, NULL, l);
		json_arr_close(j);
	} else {
		json_null(j, "labels");
	}
	json_str(j, "description", si->desc);
	json_obj_close(j);
}

int
api_build_signals(struct web *web)
{
	struct buf b;
	struct json j;
	buf_init(&b);
	json_init(&j, &b);
	json_arr_open(&j, NULL);
	for (size_t i = 0; i < sig_count; i++)
		if (sig_published(&sig_table[i]))
			signal_json(&j, &sig_table[i]);
	json_arr_close(&j);
	if (b.oom || buf_str(&b) == NULL)
		return -1;
	web->signals_json = b.p;
	return 0;
}

enum MHD_Result
api_signals(struct wreq *r)
{
	const char *s = r->web->signals_json;
	return web_send(r, 200, "application/json", s, strlen(s));
}

enum MHD_Result
api_latest(struct wreq *r)
{
	const struct sig_info *sigs[SIG_ID_MAX];
	const char *names[SIG_ID_MAX];
	struct wparam_err e;
	int n = 0, busy;
	const char *arg = web_arg(r, "signals");
	if (arg != NULL && wparam_signals(arg, sigs, SIG_ID_MAX, &n, &e) < 0)
		return web_send_error(r, 400, "%s", e.msg);
	if (r->web->snap == NULL)
		return web_send_error(r, 503, "no snapshot yet (is leafmond running?)");
	for (int i = 0; i < n; i++)
		names[i] = sigs[i]->name;
	struct buf b;
	buf_init(&b);
	snap_to_json(r->web->snap, arg ? names : NULL, n, &b, &busy);
	enum MHD_Result rc = web_send_buf(r, 200, "application/json", &b);
	buf_free(&b);
	return rc;
}

void
api_snapshot_event(void *arg, struct buf *b)
{
	struct web *web = arg;
	int busy;
	buf_puts(b, "event: snapshot\ndata: ");
	if (web->snap != NULL)
		snap_to_json(web->snap, NULL, 0, b, &busy);
	else
		buf_puts(b, "{\"signals\":{},\"note\":\"no snapshot yet\"}");
	buf_puts(b, "\n\n");
}

enum MHD_Result
api_stream(struct wreq *r)
{
	struct MHD_Response *resp = sse_open(&r->web->sse, r->conn);
	if (resp == NULL)
		return web_send_error(r, 503, "cannot open a stream now");
	r->stream = true;
	web_headers(resp, false);
	return web_send_response(r, 200, resp);
}

/* ---- status and metrics ---- */

static void
metrics_text(struct web *web, const Status *st, struct buf *b)
{
	static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx"};
	const uint64_t by_class[] = {web->st.r2xx, web->st.r3xx, web->st.r4xx, web->st.r5xx};
	char label[16];
	prom_signals(b, web->snap);
	prom_status(b, st);
	prom_head(b, "leafmon_web_sse_clients", "gauge", "Open /api/stream connections");
	prom_line(b, "leafmon_web_sse_clients", "", (double)web->sse.clients);
	prom_head(b, "leafmon_web_requests_total", "counter",
		  "HTTP requests answered, by status class");
	for (size_t i = 0; i < ARRAY_LEN(classes); i++) {
		snprintf(label, sizeof(label), "class=\"%s\"", classes[i]);
		prom_line(b, "leafmon_web_requests_total", label, (double)by_class[i]);
	}
	const struct {
		const char *name, *help;
		uint64_t v;
	} totals[] = {
	    {"leafmon_web_samples_total", "Samples received from the can worker", web->st.samples},
	    {"leafmon_web_sse_disconnects_total", "Streams that ended with their client gone",
	     web->st.sse_gone},
	    {"leafmon_web_sse_stalled_total", "Streams dropped for not reading", web->sse.stalled},
	    {"leafmon_web_head_timeouts_total", "Connections closed for a request head too slow",
	     web->st.head_timeouts},
	    {"leafmon_web_head_refused_total", "Request heads refused before libmicrohttpd",
	     web->st.head_refused},
	};
	for (size_t i = 0; i < ARRAY_LEN(totals); i++) {
		prom_head(b, totals[i].name, "counter", totals[i].help);
		prom_line(b, totals[i].name, "", (double)totals[i].v);
	}
}

/* fill r's answer from the cached status (or its absence) */
static void
answer_status(struct wreq *r, const char *failure)
{
	struct web *web = r->web;
	const Status *st = web->status != NULL && failure == NULL ? web->status->status : NULL;
	buf_reset(&r->out);
	if (r->metrics) {
		metrics_text(web, st, &r->out);
		r->status = 200;
		r->ctype = "text/plain; version=0.0.4; charset=utf-8";
		return;
	}
	if (st == NULL) {
		web_prepare_error(r, 503, failure ? failure : "no status");
		return;
	}
	status_to_json(st, &r->out);
	buf_putc(&r->out, '\n');
	r->status = 200;
	r->ctype = "application/json";
}

static void
status_done(void *arg, int rv, ControlResponse *resp)
{
	struct web *web = arg;
	char failure[160];
	const char *why = NULL;
	web->status_inflight = false;
	if (rv == 0 && resp->status != NULL) {
		if (web->status != NULL)
			leafmon__v1__control_response__free_unpacked(web->status, NULL);
		web->status = resp;
		web->status_at_ms = now_mono_ns() / NSEC_PER_MSEC;
	} else {
		web->st.status_failures++;
		snprintf(failure, sizeof(failure), "leafmond is not answering on its control socket (%s)",
			 rv < 0 ? nng_strerror(-rv) : "no status in the answer");
		why = failure;
		if (resp != NULL)
			leafmon__v1__control_response__free_unpacked(resp, NULL);
	}
	struct wreq *next;
	for (struct wreq *r = web->waiting; r != NULL; r = next) {
		next = r->wnext;
		if (!r->wants_status)
			continue;
		r->wants_status = false;
		answer_status(r, why);
		web_wake(r);
	}
}

static enum MHD_Result
with_status(struct wreq *r)
{
	struct web *web = r->web;
	int64_t now = now_mono_ns() / NSEC_PER_MSEC;
	if (web->status != NULL && now - web->status_at_ms < WEB_STATUS_FRESH_MS) {
		answer_status(r, NULL);
		return web_send_buf(r, r->status, r->ctype, &r->out);
	}
	if (!web->status_inflight) {
		if (ctlq_status(web->ctl, status_done, web) == NULL) {
			web->st.busy++;
			return web_send_error(r, 503, "busy: too many control requests");
		}
		web->status_inflight = true;
		web->st.status_fetches++;
	}
	r->wants_status = true;
	return web_wait(r);
}

enum MHD_Result
api_status(struct wreq *r)
{
	return with_status(r);
}

enum MHD_Result
api_metrics(struct wreq *r)
{
	r->metrics = true;
	return with_status(r);
}

/* ---- login, session, control ---- */

static void
client_ip(struct wreq *r, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, len, "?");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)len);
}

enum MHD_Result
api_session(struct wreq *r)
{
	struct web *web = r->web;
	struct buf b;
	struct json j;
	char csrf[WAUTH_TOKEN_LEN + 1];
	bool in = r->auth != AUTH_NONE;
	buf_init(&b);
	json_init(&j, &b);
	json_obj_open(&j, NULL);
	json_bool(&j, "auth_required", web->auth.enabled);
	json_bool(&j, "authenticated", in);
	json_bool(&j, "control", web->auth.enabled && in);
	json_bool(&j, "tls", web->tls);
	if (r->auth == AUTH_COOKIE) {
		wauth_csrf(r->token, csrf);
		json_str(&j, "csrf", csrf);
	}
	json_obj_close(&j);
	enum MHD_Result rc = web_send_buf(r, 200, "application/json", &b);
	buf_free(&b);
	return rc;
}

static enum MHD_Result
send_cookie(struct wreq *r, const char *token, int64_t max_age, const char *json)
{
	char cookie[256];
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
		 WEB_SESSION_COOKIE, token, (long long)max_age, r->web->tls ? "; Secure" : "");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Set-Cookie", cookie);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	web_headers(resp, false);
	return web_send_response(r, 200, resp);
}

static enum MHD_Result
login_limited(struct wreq *r, const struct wauth_addr *who)
{
	char secs[24];
	snprintf(secs, sizeof(secs), "%lld",
		 (long long)wauth_retry_after(&r->web->auth, who, web_now_ms() / 1000));
	const char *msg =
	    "{\"error\":\"too many failed logins from this address: wait a minute\"}\n";
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Retry-After", secs);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	web_headers(resp, false);
	return web_send_response(r, 429, resp);
}

enum MHD_Result
api_login(struct wreq *r)
{
	static struct log_rl rl = LOG_RL_INIT(5, 60);
	struct web *web = r->web;
	char pw[300], token[WAUTH_TOKEN_LEN + 1], csrf[WAUTH_TOKEN_LEN + 1], ip[64], json[128];
	if (!web->auth.enabled)
		return web_send_error(r, 400, "no password is configured: nothing to log in to");
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	char want[300];
	snprintf(want, sizeof(want), "%s://%s", web->tls ? "https" : "http", host ? host : "");
	if (origin != NULL && strcmp(origin, want) != 0)
		return web_send_error(r, 403, "cross-site login refused");
	if (wparam_form_value(r->body.p ? r->body.p : "", r->body.len, "password", pw,
			      sizeof(pw)) < 0)
		return web_send_error(r, 400, "send password=... (form-encoded)");
	client_ip(r, ip, sizeof(ip));
	struct wauth_addr who;
	web_client(r, &who);
	enum wauth_result a =
	    wauth_login(&web->auth, &who, pw, strlen(pw), web_now_ms() / 1000, token);
	explicit_bzero(pw, sizeof(pw));
	if (a == WAUTH_LIMITED)
		return login_limited(r, &who);
	if (a != WAUTH_OK) {
		log_rl(&rl, LOG_WARNING, "web: failed login from %s", ip);
		web->st.auth_denied++;
		return web_send_error(r, a == WAUTH_DENIED ? 401 : 500,
				      a == WAUTH_DENIED ? "wrong password" : "login failed");
	}
	log_info("web: login from %s", ip);
	wauth_csrf(token, csrf);
	snprintf(json, sizeof(json), "{\"ok\":true,\"csrf\":\"%s\"}\n", csrf);
	enum MHD_Result rc = send_cookie(r, token, web->auth.lifetime_s, json);
	explicit_bzero(token, sizeof(token));
	return rc;
}

enum MHD_Result
api_logout(struct wreq *r)
{
	if (r->auth == AUTH_COOKIE)
		wauth_logout(&r->web->auth, r->token);
	return send_cookie(r, "", 0, "{\"ok\":true}\n");
}

static void
restart_done(void *arg, int rv, ControlResponse *resp)
{
	struct wreq *r = arg;
	r->cjob = NULL;
	if (rv < 0) {
		web_prepare_error(r, 503, "leafmond is not answering on its control socket");
	} else if (resp->code != 0) {
		web_prepare_error(r, 409, resp->error ? resp->error : "refused");
	} else {
		struct json j;
		buf_reset(&r->out);
		json_init(&j, &r->out);
		json_obj_open(&j, NULL);
		json_bool(&j, "ok", true);
		json_str(&j, "message", resp->message ? resp->message : "");
		json_obj_close(&j);
		r->status = 200;
		r->ctype = "application/json";
	}
	if (resp != NULL)
		leafmon__v1__control_response__free_unpacked(resp, NULL);
	web_wake(r);
}

static void
restart_itself_done(void *arg, int rv, ControlResponse *resp)
{
	if (rv < 0 || resp == NULL || resp->code != 0)
		log_warnx("web: leafmond refused to restart the web worker (%s)",
			  rv < 0 ? nng_strerror(-rv) : resp && resp->error ? resp->error : "refused");
	if (resp != NULL)
		leafmon__v1__control_response__free_unpacked(resp, NULL);
}

void
api_restart_itself(struct web *web)
{
	if (ctlq_restart(web->ctl, "web", restart_itself_done, web) == NULL)
		log_warnx("web: cannot ask leafmond to restart the web worker: control queue full");
}

enum MHD_Result
api_restart(struct wreq *r)
{
	struct web *web = r->web;
	struct wparam_err e;
	char worker[32], ip[64];
	const char *arg = web_arg(r, "worker");
	if (arg == NULL && wparam_form_value(r->body.p ? r->body.p : "", r->body.len, "worker",
					     worker, sizeof(worker)) == 0)
		arg = worker;
	if (wparam_worker(arg, &e) < 0)
		return web_send_error(r, 400, "%s", e.msg);
	client_ip(r, ip, sizeof(ip));
	log_info("web: restart of %s requested from %s", arg, ip);
	web->st.control_actions++;
	if (strcmp(arg, "web") == 0) {
		/* leafmond stops this worker before it could answer: answer first */
		r->restart_itself = true;
		const char *msg = "{\"ok\":true,\"message\":\"the web worker restarts after this "
				  "answer\"}\n";
		return web_send(r, 202, "application/json", msg, strlen(msg));
	}
	r->cjob = ctlq_restart(web->ctl, arg, restart_done, r);
	if (r->cjob == NULL)
		return web_send_error(r, 503, "busy: too many control requests");
	return web_wait(r);
}
