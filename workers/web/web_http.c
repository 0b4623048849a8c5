/*
 * The HTTP side of leafmon-web: libmicrohttpd in external-epoll mode with
 * its epoll fd in our loop, the route table, the login gate, CSRF checks,
 * and the response helpers every route uses. Each request is a struct wreq
 * (MHD's con_cls), freed when MHD reports the request completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "web.h"
#include "webpath.h"
#include "whost.h"

struct route {
	const char *path;
	const char *method;
	const char *params; /* ",a,b," the query arguments it accepts */
	bool is_public;	    /* answered without a login */
	bool control;	    /* a control action: login and CSRF check always */
	enum MHD_Result (*fn)(struct wreq *r);
	bool no_head; /* a streamed GET: MHD 0.9.75 ends HEAD with a chunk terminator */
};

static const struct route routes[] = {
    {"/api/status", "GET", ",", false, false, api_status},
    {"/api/latest", "GET", ",signals,", false, false, api_latest},
    {"/api/signals", "GET", ",", false, false, api_signals},
    {"/api/stream", "GET", ",", false, false, api_stream, true},
    {"/api/history", "GET", ",signals,from,to,step,points,", false, false, hist_history},
    {"/api/export.csv", "GET", ",signals,from,to,step,points,", false, false, hist_export, true},
    {"/api/trips", "GET", ",since,all,", false, false, ledger_trips},
    {"/api/charges", "GET", ",since,", false, false, ledger_charges},
    {"/api/parks", "GET", ",since,", false, false, ledger_parks},
    {"/api/battery", "GET", ",since,", false, false, ledger_battery},
    {"/api/monthly", "GET", ",since,", false, false, ledger_monthly},
    {"/metrics", "GET", ",", false, false, api_metrics},
    {"/api/session", "GET", ",", true, false, api_session},
    {"/api/login", "POST", ",", true, false, api_login},
    {"/api/logout", "POST", ",", false, true, api_logout},
    {"/api/control/restart", "POST", ",worker,", false, true, api_restart},
};
static const struct route static_route = {NULL, "GET", NULL, false, false, static_serve};

int64_t
web_now_ms(void)
{
	return now_real_ns() / NSEC_PER_MSEC;
}

const char *
web_arg(struct wreq *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void
web_client(struct wreq *r, struct wauth_addr *who)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	wauth_addr_of(ci != NULL ? ci->client_addr : NULL, who);
}

/* ---- responses ---- */

void
web_headers(struct MHD_Response *resp, bool html)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (html)
		MHD_add_response_header(
		    resp, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
		    "form-action 'self'; frame-ancestors 'none'");
}

static void
count_status(struct web *web, unsigned status)
{
	web->st.requests++;
	if (status < 300)
		web->st.r2xx++;
	else if (status < 400)
		web->st.r3xx++;
	else if (status < 500)
		web->st.r4xx++;
	else
		web->st.r5xx++;
}

enum MHD_Result
web_send_response(struct wreq *r, unsigned status, struct MHD_Response *resp)
{
	count_status(r->web, status);
	enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

enum MHD_Result
web_send(struct wreq *r, unsigned status, const char *ctype, const void *data, size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	web_headers(resp, false);
	return web_send_response(r, status, resp);
}

enum MHD_Result
web_send_buf(struct wreq *r, unsigned status, const char *ctype, struct buf *b)
{
	if (b->oom)
		return web_send_error(r, 503, "out of memory");
	return web_send(r, status, ctype, b->p ? b->p : "", b->len);
}

static void
error_json(struct buf *b, const char *msg)
{
	buf_puts(b, "{\"error\":");
	json_escape(b, msg);
	buf_puts(b, "}\n");
}

enum MHD_Result
web_send_error(struct wreq *r, unsigned status, const char *fmt, ...)
{
	char msg[300];
	struct buf b;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_init(&b);
	error_json(&b, msg);
	enum MHD_Result rc = web_send_buf(r, status, "application/json", &b);
	buf_free(&b);
	return rc;
}

void
web_prepare_error(struct wreq *r, unsigned status, const char *msg)
{
	buf_reset(&r->out);
	error_json(&r->out, msg);
	r->status = status;
	r->ctype = "application/json";
}

/* ---- suspended requests ---- */

enum MHD_Result
web_wait(struct wreq *r)
{
	struct web *web = r->web;
	r->state = WR_WAIT;
	r->wprev = NULL;
	r->wnext = web->waiting;
	if (web->waiting != NULL)
		web->waiting->wprev = r;
	web->waiting = r;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

static void
unlink_waiting(struct wreq *r)
{
	if (r->state != WR_WAIT)
		return;
	if (r->wprev != NULL)
		r->wprev->wnext = r->wnext;
	else
		r->web->waiting = r->wnext;
	if (r->wnext != NULL)
		r->wnext->wprev = r->wprev;
	r->wprev = r->wnext = NULL;
}

void
web_wake(struct wreq *r)
{
	if (r->state != WR_WAIT)
		return;
	unlink_waiting(r);
	r->state = WR_READY;
	MHD_resume_connection(r->conn);
	web_mhd_kick(r->web);
}

static enum MHD_Result
send_prepared(struct wreq *r)
{
	if (r->resp != NULL) {
		struct MHD_Response *resp = r->resp;
		r->resp = NULL;
		return web_send_response(r, r->status, resp);
	}
	return web_send_buf(r, r->status, r->ctype ? r->ctype : "application/json", &r->out);
}

/* ---- the gate ---- */

static bool
same_origin(struct wreq *r)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	char want[300];
	if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return false;
	if (origin == NULL)
		return true; /* not a browser's cross-site request: those carry Origin */
	if (host == NULL)
		return false;
	snprintf(want, sizeof(want), "%s://%s", r->web->tls ? "https" : "http", host);
	return strcmp(origin, want) == 0;
}

static bool
csrf_ok(struct wreq *r)
{
	char want[WAUTH_TOKEN_LEN + 1];
	const char *got = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
	if (r->auth == AUTH_BEARER)
		return true; /* browsers never add a bearer header on their own */
	if (!same_origin(r) || got == NULL || strlen(got) != WAUTH_TOKEN_LEN)
		return false;
	wauth_csrf(r->token, want);
	return wauth_ct_equal((const uint8_t *)got, (const uint8_t *)want, WAUTH_TOKEN_LEN);
}

/* Who is asking: sets r->auth. Returns WAUTH_LIMITED when a bearer guess
 * was refused for too many failures. */
static enum wauth_result
identify(struct wreq *r)
{
	struct web *web = r->web;
	int64_t now = web_now_ms() / 1000;
	const char *authz = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	const char *cookie =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, WEB_SESSION_COOKIE);
	r->auth = AUTH_NONE;
	if (!web->auth.enabled) {
		r->auth = AUTH_OPEN;
		return WAUTH_OK;
	}
	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
		struct wauth_addr who;
		web_client(r, &who);
		enum wauth_result a = wauth_bearer(&web->auth, &who, authz + 7, now);
		if (a == WAUTH_OK)
			r->auth = AUTH_BEARER;
		return a;
	}
	if (cookie != NULL && wauth_session(&web->auth, cookie, now) == WAUTH_OK) {
		r->auth = AUTH_COOKIE;
		snprintf(r->token, sizeof(r->token), "%s", cookie);
	}
	return WAUTH_OK;
}

static enum MHD_Result
deny(struct wreq *r, enum wauth_result why)
{
	struct web *web = r->web;
	web->st.auth_denied++;
	if (why == WAUTH_LIMITED) {
		char secs[24];
		struct wauth_addr who;
		web_client(r, &who);
		snprintf(secs, sizeof(secs), "%lld",
			 (long long)wauth_retry_after(&web->auth, &who, web_now_ms() / 1000));
		struct MHD_Response *resp = MHD_create_response_from_buffer(
		    0, (void *)"", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Retry-After", secs);
		web_headers(resp, false);
		return web_send_response(r, 429, resp);
	}
	bool page = r->route == &static_route &&
		    (strcmp(r->url, "/") == 0 || strstr(r->url, ".html") != NULL);
	if (page) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
		    0, (void *)"", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Location", "/login.html");
		web_headers(resp, false);
		return web_send_response(r, 303, resp);
	}
	struct buf b;
	buf_init(&b);
	error_json(&b, "login required");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"leafmon\"");
	web_headers(resp, false);
	return web_send_response(r, 401, resp);
}

/* ---- query arguments ---- */

struct argcheck {
	const char *allowed;
	char bad[64];
	int n;
	char seen[8][16];
};

static enum MHD_Result
arg_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct argcheck *a = cls;
	char needle[40];
	snprintf(needle, sizeof(needle), ",%s,", key);
	if (strlen(key) > 16 || strstr(a->allowed, needle) == NULL) {
		snprintf(a->bad, sizeof(a->bad), "unknown parameter '%.*s'", wparam_clip(key, 20),
			 key);
		return MHD_NO;
	}
	if (value == NULL) { /* "?signals": no '=' at all */
		snprintf(a->bad, sizeof(a->bad), "parameter '%s' has no value", key);
		return MHD_NO;
	}
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->seen[i], key) == 0) {
			snprintf(a->bad, sizeof(a->bad), "parameter '%s' given twice", key);
			return MHD_NO;
		}
	if (a->n < 8)
		snprintf(a->seen[a->n++], sizeof(a->seen[0]), "%s", key);
	return MHD_YES;
}

static int
check_args(struct wreq *r, char *err, size_t len)
{
	struct argcheck a = {.allowed = r->route->params};
	if (a.allowed == NULL)
		return 0; /* static files: cache-busting queries are harmless */
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, arg_iter, &a);
	if (a.bad[0] != '\0') {
		snprintf(err, len, "%s", a.bad);
		return -1;
	}
	return 0;
}

/* ---- dispatch ---- */

static const struct route *
find_route(const char *url)
{
	for (size_t i = 0; i < ARRAY_LEN(routes); i++)
		if (strcmp(url, routes[i].path) == 0)
			return &routes[i];
	return NULL;
}

static bool
method_ok(const struct route *rt, const char *method)
{
	return strcmp(method, rt->method) == 0 ||
	       (strcmp(rt->method, "GET") == 0 && !rt->no_head && strcmp(method, "HEAD") == 0);
}

static enum MHD_Result
method_not_allowed(struct wreq *r)
{
	struct buf b;
	buf_init(&b);
	error_json(&b, "method not allowed");
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	const char *allow = strcmp(r->route->method, "GET") != 0 ? "POST"
			    : r->route->no_head			 ? "GET"
								 : "GET, HEAD";
	MHD_add_response_header(resp, "Allow", allow);
	web_headers(resp, false);
	return web_send_response(r, 405, resp);
}

/* Without a password, a Host that does not name this server is a page of
 * another site whose name now resolves here (DNS rebinding): 421. */
static bool
host_ok(struct wreq *r)
{
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	return r->web->auth.enabled || host == NULL || whost_allowed(host, r->web->host_names);
}

static enum MHD_Result
misdirected(struct wreq *r)
{
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	r->web->st.host_refused++;
	return web_send_error(r, 421,
			      "Host '%.*s' is not a name of this server: add it to [web] "
			      "server_name, or set a password_file",
			      wparam_clip(host, 64), host);
}

static enum MHD_Result
dispatch(struct wreq *r, const char *method)
{
	struct web *web = r->web;
	char err[128];
	if (!host_ok(r))
		return misdirected(r);
	const struct route *rt = find_route(r->url);
	if (rt == NULL && str_starts(r->url, "/api/"))
		return web_send_error(r, 404, "no such API route");
	r->route = rt != NULL ? rt : &static_route;
	if (!method_ok(r->route, method))
		return method_not_allowed(r);
	if (r->body_too_big)
		return web_send_error(r, 413, "request body larger than %d bytes", WEB_BODY_MAX);
	if (check_args(r, err, sizeof(err)) < 0)
		return web_send_error(r, 400, "%s", err);
	enum wauth_result who = identify(r);
	bool open = r->route->is_public || (rt == NULL && static_public(r->url));
	if (who == WAUTH_LIMITED || (!open && r->auth == AUTH_NONE))
		return deny(r, who);
	if (r->route->control) {
		if (!web->auth.enabled)
			return web_send_error(r, 403, "control actions need a login: set [web] "
						      "password_file");
		if (!csrf_ok(r)) {
			web->st.csrf_denied++;
			return web_send_error(r, 403, "CSRF check failed");
		}
	}
	return r->route->fn(r);
}

static struct wreq *
wreq_new(struct web *web, struct MHD_Connection *c, const char *url)
{
	struct wreq *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->url = strdup(url)) == NULL) {
		free(r);
		return NULL;
	}
	r->web = web;
	r->conn = c;
	buf_init(&r->body);
	buf_init(&r->out);
	return r;
}

static void
wreq_free(struct wreq *r)
{
	unlink_waiting(r);
	if (r->cjob != NULL)
		ctlq_cancel(r->web->ctl, r->cjob);
	if (r->creq != NULL)
		httpc_cancel(r->creq);
	if (r->has_grid)
		hgrid_free(&r->grid);
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	buf_free(&r->body);
	buf_free(&r->out);
	free(r->url);
	free(r);
}

/* first call: headers only; a declared body over the limit is refused now */
static enum MHD_Result
first_call(struct wreq *r)
{
	const char *cl =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t n;
	if (cl != NULL && (parse_i64(cl, 0, INT64_MAX, &n) < 0 || n > WEB_BODY_MAX))
		return web_send_error(r, 413, "request body larger than %d bytes", WEB_BODY_MAX);
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct web *web = cls;
	struct wreq *r = *con_cls;
	if (r == NULL) {
		web_conn_request(c);
		if ((r = wreq_new(web, c, url)) == NULL)
			return MHD_NO;
		*con_cls = r;
		return first_call(r);
	}
	if (*upload_size > 0) {
		if (r->body.len + *upload_size > WEB_BODY_MAX)
			r->body_too_big = true;
		else
			buf_append(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->state == WR_READY)
		return send_prepared(r);
	if (r->state == WR_WAIT)
		return MHD_YES;
	if (web->stopping)
		return web_send_error(r, 503, "shutting down");
	return dispatch(r, method);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct web *web = cls;
	struct wreq *r = *con_cls;
	if (r != NULL && r->stream && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !web->stopping)
		web->st.sse_gone++; /* a client leaving is normal: counted, not logged */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		web_conn_answered(c);
	if (r != NULL && r->restart_itself && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		api_restart_itself(web);
	if (r != NULL)
		wreq_free(r);
	*con_cls = NULL;
}

/* ---- the daemon in the loop ---- */

static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return webpath_unescape(s);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	static struct log_rl rl = LOG_RL_INIT(5, 60);
	static const char *const noise[] = {
	    "closed by remote", "reset by peer", "Failed to send data", "Failed to receive data",
	    "Failed to send the", /* headers, body, chunked body: the client went away */
	    "Socket disconnected", "timed out", "Broken pipe", "Error sending", "Error receiving",
	    "limit reached", "Connection closed", "TLS", "GnuTLS",
	    "Error processing request", "Not enough memory in pool"}; /* a client's fault */
	struct web *web = cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\r\n")] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(noise); i++)
		if (strstr(msg, noise[i]) != NULL) {
			web->st.mhd_noise++;
			log_debug("mhd: %s", msg);
			return;
		}
	web->st.mhd_errors++;
	log_rl(&rl, LOG_WARNING, "mhd: %s", msg);
}

void
web_mhd_run(struct web *web)
{
	MHD_UNSIGNED_LONG_LONG to;
	if (web->mhd == NULL)
		return;
	web_conn_peek(web);
	MHD_run(web->mhd);
	if (MHD_get_timeout(web->mhd, &to) == MHD_YES)
		loop_timer_after(web->mhd_timer, (int64_t)to * NSEC_PER_MSEC);
	else
		loop_timer_stop(web->mhd_timer);
}

/* In external-epoll mode MHD does not wake our loop for a resumed
 * connection: run it on the next turn. */
void
web_mhd_kick(struct web *web)
{
	if (web->mhd_timer != NULL)
		loop_timer_after(web->mhd_timer, 0);
}

static void
on_mhd_fd(struct loop *l, int fd, uint32_t ev, void *arg)
{
	web_mhd_run(arg);
}

static void
on_mhd_timer(struct loop *l, struct loop_timer *t, void *arg)
{
	web_mhd_run(arg);
}

static int
bind_addr(const char *bind, unsigned port, struct sockaddr_storage *ss, bool *v6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (inet_pton(AF_INET, bind, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, bind, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return 0;
	}
	return -1;
}

static int
start_daemon(struct web *web, const struct sockaddr *sa, bool v6)
{
	const struct config *cfg = web->cfg;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[8];
	int n = 0;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (web->tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, web->tls_key};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, web->tls_cert};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						    (void *)"NORMAL:-VERS-TLS1.0:-VERS-TLS1.1"};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	web->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, web,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, web, /* first, so every message is filtered */
	    MHD_OPTION_SOCK_ADDR, sa,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, web,
	    MHD_OPTION_NOTIFY_CONNECTION, web_conn_notify, web,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, web,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->web.max_clients,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->web.max_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	return web->mhd != NULL ? 0 : -1;
}

/* server_name, and this machine's own name as its LAN knows it */
static void
host_names(struct web *web)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, " ,\t")] = '\0';
	snprintf(web->host_names, sizeof(web->host_names), "%s %s %s%s", web->cfg->web.server_name,
		 host, host, host[0] && strchr(host, '.') == NULL ? ".local" : "");
}

enum web_http_start
web_http_start(struct web *web)
{
	struct sockaddr_storage ss;
	bool v6;
	const struct config *cfg = web->cfg;
	host_names(web);
	if (bind_addr(cfg->web.bind, (unsigned)cfg->web.port, &ss, &v6) < 0) {
		log_warnx("web: bind = %s is not an IPv4 or IPv6 address", cfg->web.bind);
		return WEB_HTTP_BAD_BIND;
	}
	if (start_daemon(web, (struct sockaddr *)&ss, v6) < 0) {
		log_warnx("web: cannot listen on %s port %d (in use, or a bad TLS key/cert?)",
			  cfg->web.bind, cfg->web.port);
		return WEB_HTTP_FAILED;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(web->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	web->mhd_fd = di->epoll_fd;
	di = MHD_get_daemon_info(web->mhd, MHD_DAEMON_INFO_BIND_PORT);
	web->port = di != NULL ? di->port : (unsigned)cfg->web.port;
	web->mhd_timer = loop_timer_new(web->w->loop, on_mhd_timer, web);
	if (loop_add_fd(web->w->loop, web->mhd_fd, EPOLLIN, on_mhd_fd, web) < 0) {
		log_warn("web: the daemon's epoll fd");
		return WEB_HTTP_FAILED;
	}
	log_info("web: listening on %s%s%s port %u%s", v6 ? "[" : "", cfg->web.bind, v6 ? "]" : "",
		 web->port, web->tls ? " (TLS)" : "");
	return WEB_HTTP_LISTENING;
}

void
web_http_stop(struct web *web)
{
	if (web->mhd == NULL)
		return;
	while (web->waiting != NULL) {
		struct wreq *r = web->waiting;
		if (r->cjob != NULL)
			ctlq_cancel(web->ctl, r->cjob);
		if (r->creq != NULL)
			httpc_cancel(r->creq);
		r->cjob = NULL;
		r->creq = NULL;
		web_prepare_error(r, 503, "shutting down");
		web_wake(r);
	}
	sse_shutdown(&web->sse);
	loop_del_fd(web->w->loop, web->mhd_fd);
	MHD_stop_daemon(web->mhd);
	web->mhd = NULL;
	loop_timer_free(web->mhd_timer);
	web->mhd_timer = NULL;
}
