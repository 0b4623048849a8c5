/*
 * leafmon doctor: the cloud checks. The URL (https, or plain http only on
 * this machine), the CA file, the remote reachable on /ping with TLS
 * verified, the token accepted by an empty write (nothing is stored: InfluxDB
 * Cloud and 2.x answer 204, older 2.x "writing requires points" after the
 * authorization), and the sync ledger from leafmond's status. Blocking
 * requests (httpc_fetch) with the configured timeouts: this runs in the CLI.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "doctor_cloud.h"
#include "httpc.h"
#include "influx_api.h"
#include "status.h"
#include "util.h"

#define CHECK_URL "cloud url"
#define CHECK_TLS "cloud tls"
#define CHECK_PING "cloud reachable"
#define CHECK_TOKEN "cloud token"
#define CHECK_SYNC "cloud sync"
#define CHECK_SESSIONS "cloud sessions"

enum dc_token
doctor_cloud_token_verdict(int status, const char *text)
{
	if (status >= 200 && status < 300)
		return DC_TOKEN_OK;
	if (status == 401 || status == 403)
		return DC_TOKEN_REFUSED;
	if (status == 404)
		return DC_NOT_FOUND;
	if (status == 429 || status == 503)
		return DC_RATE_LIMITED;
	if (status == 400 && text != NULL) {
		if (strcasestr(text, "requires points") || strcasestr(text, "no data"))
			return DC_TOKEN_OK; /* the body was looked at: authorization passed */
		if (strcasestr(text, "authoriz") || strcasestr(text, "token"))
			return DC_TOKEN_REFUSED; /* an auth proxy (vmauth) answers 400 */
	}
	return DC_OTHER;
}

/* One blocking request; headers NULL-terminated. */
static void
call(const struct cfg_writer *w, const char *url, bool post, const char *const *headers,
     int timeout_s, struct httpc_answer *a)
{
	struct httpc_opts o = {.connect_timeout_ms = (timeout_s < 5 ? timeout_s : 5) * 1000,
			       .timeout_ms = timeout_s * 1000,
			       .ca_file = w->ca_file,
			       .headers = headers,
			       .body_max = 4096};
	httpc_fetch(post ? "POST" : "GET", url, post ? "" : NULL, 0, &o, a);
}

static bool
is_local(const char *url)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	return str_starts(h, "127.") || str_starts(h, "localhost") || str_starts(h, "[::1]");
}

static bool
check_url(struct doctor *d, const struct cfg_writer *w)
{
	if (str_starts(w->url, "https://")) {
		doctor_report(d, DOC_OK, CHECK_URL, NULL, "%s (https, api %s)", w->url,
			      w->api == API_V1 ? "v1" : "v2");
		return true;
	}
	if (is_local(w->url))
		doctor_report(d, DOC_OK, CHECK_URL, NULL, "%s (plain http on this machine)",
			      w->url);
	else
		doctor_report(d, DOC_WARN, CHECK_URL, "use the server's https:// URL",
			      "%s: plain http carries the token in clear", w->url);
	return false;
}

static void
check_ca_file(struct doctor *d, const struct cfg_writer *w, bool tls)
{
	if (!tls)
		return;
	if (w->ca_file[0] == '\0') {
		doctor_report(d, DOC_OK, CHECK_TLS, NULL,
			      "verification on, against the system's CAs");
		return;
	}
	if (access(w->ca_file, R_OK) != 0)
		doctor_report(d, DOC_FAIL, CHECK_TLS,
			      "fix ca_file in [cloud], or empty it for the system's CAs",
			      "ca_file %s is not readable", w->ca_file);
	else
		doctor_report(d, DOC_OK, CHECK_TLS, NULL, "verification on, against %s",
			      w->ca_file);
}

static bool
tls_failure(CURLcode c)
{
	return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CONNECT_ERROR ||
	       c == CURLE_SSL_CACERT_BADFILE || c == CURLE_SSL_CERTPROBLEM;
}

static bool
check_ping(struct doctor *d, const struct cfg_writer *w)
{
	char url[600];
	struct httpc_answer a;
	influx_ping_url(url, sizeof(url), w->url);
	call(w, url, false, NULL, w->ping_timeout_s, &a);
	httpc_answer_free(&a);
	if (a.status == 0 && tls_failure(a.curl_code)) {
		doctor_report(
		    d, DOC_FAIL, CHECK_TLS,
		    "a private CA: set ca_file in [cloud]; else check the URL's host name",
		    "TLS verification failed for %s: %s", w->url, a.error);
		return false;
	}
	if (a.status == 0) {
		doctor_report(
		    d, DOC_FAIL, CHECK_PING,
		    "check the URL, DNS and the network (data waits in the spool meanwhile)",
		    "%s: %s", url, a.error);
		return false;
	}
	if (a.status < 200 || a.status >= 300) {
		doctor_report(d, DOC_WARN, CHECK_PING, "is the URL the server's base URL?",
			      "%s answered HTTP %d in %.0f ms", url, a.status, a.seconds * 1000);
		return true; /* something answers: the write tells more */
	}
	doctor_report(d, DOC_OK, CHECK_PING, NULL, "%s answered in %.0f ms%s%s%s", url,
		      a.seconds * 1000, a.version[0] ? ", version " : "", a.version,
		      str_starts(url, "https://") ? ", certificate verified" : "");
	return true;
}

static void
report_token(struct doctor *d, const struct cfg_writer *w, const struct httpc_answer *a, const char *text)
{
	const char *where = w->api == API_V1 ? "database" : "bucket";
	const char *name = w->api == API_V1 ? w->database : w->bucket;
	switch (doctor_cloud_token_verdict((int)a->status, text)) {
	case DC_TOKEN_OK:
		doctor_report(d, DOC_OK, CHECK_TOKEN, NULL,
			      "token accepted for %s \"%s\" (an empty write, nothing stored)",
			      where, name);
		break;
	case DC_TOKEN_REFUSED:
		doctor_report(
		    d, DOC_FAIL, CHECK_TOKEN,
		    "put a token with write access to the bucket in token_file (chmod 600)",
		    "the server refuses the token from %s: HTTP %d %s", w->token_origin, a->status,
		    text);
		break;
	case DC_NOT_FOUND:
		doctor_report(d, DOC_FAIL, CHECK_TOKEN,
			      "check org and bucket (v1: database) in [cloud]",
			      "%s \"%s\" not found: HTTP 404 %s", where, name, text);
		break;
	case DC_RATE_LIMITED:
		doctor_report(d, DOC_WARN, CHECK_TOKEN, "try again in a few minutes",
			      "the server is busy or limits us: HTTP %d %s", a->status, text);
		break;
	default:
		doctor_report(d, DOC_WARN, CHECK_TOKEN, "see the server's message",
			      "an empty write got HTTP %d %s", a->status, text);
	}
}

static void
check_token(struct doctor *d, const struct cfg_writer *w)
{
	char url[1400], auth[1200], text[256];
	const char *headers[3] = {"Content-Type: text/plain; charset=utf-8", NULL, NULL};
	struct httpc_answer a;
	int api = w->api == API_AUTO ? API_V2 : w->api;
	if (influx_write_url(url, sizeof(url), w, api) < 0 ||
	    influx_auth_header(auth, sizeof(auth), api, w->token) < 0) {
		doctor_report(d, DOC_FAIL, CHECK_TOKEN, "shorten the names",
			      "URL or token too long");
		return;
	}
	if (auth[0] != '\0')
		headers[1] = auth;
	call(w, url, true, headers, w->timeout_s, &a);
	influx_error_text(a.body.p ? a.body.p : "", a.body.len, text, sizeof(text));
	httpc_answer_free(&a);
	if (a.status == 0)
		doctor_report(d, DOC_FAIL, CHECK_TOKEN, "see the error", "write to %s: %s", w->url,
			      a.error);
	else
		report_token(d, w, &a, text);
}

/* The sessions' bucket (v1: retention policy) takes an empty write too. */
static void
check_sessions(struct doctor *d, const struct cfg_writer *w)
{
	char url[1400], auth[1200], text[256];
	const char *headers[3] = {"Content-Type: text/plain; charset=utf-8", NULL, NULL};
	struct cfg_writer *s = malloc(sizeof(*s));
	struct httpc_answer a;
	int api = w->api == API_AUTO ? API_V2 : w->api;
	const char *what = api == API_V1 ? "retention policy" : "bucket";
	const char *name = api == API_V1 ? w->session_rp : w->session_bucket;

	if (s == NULL || name[0] == '\0') {
		free(s);
		return;
	}
	influx_session_writer(w, s);
	int rc = influx_write_url(url, sizeof(url), s, api);
	free(s);
	if (rc < 0 || influx_auth_header(auth, sizeof(auth), api, w->token) < 0)
		return; /* check_token said so */
	if (auth[0] != '\0')
		headers[1] = auth;
	call(w, url, true, headers, w->timeout_s, &a);
	influx_error_text(a.body.p ? a.body.p : "", a.body.len, text, sizeof(text));
	httpc_answer_free(&a);
	if (a.status >= 200 && a.status < 300)
		doctor_report(d, DOC_OK, CHECK_SESSIONS, NULL,
			      "the sessions' %s \"%s\" takes writes (an empty write, nothing stored)",
			      what, name);
	else if (a.status == 404 || strstr(text, "not found") != NULL)
		doctor_report(d, DOC_FAIL, CHECK_SESSIONS,
			      "create it with infinite retention (retention 0), or set session_bucket "
			      "(v1: session_rp) in [cloud]",
			      "the sessions' %s \"%s\" not found (trips, charges, parks and battery_daily "
			      "wait in the spool): HTTP %d %s", what, name, a.status, text);
	else if (a.status != 0)
		doctor_report(d, DOC_WARN, CHECK_SESSIONS, "see the server's message",
			      "an empty write to the sessions' %s got HTTP %d %s", what, a.status, text);
}

static void
fmt_age(char *out, size_t len, double s)
{
	if (s < 120)
		snprintf(out, len, "%.0f s", s);
	else if (s < 7200)
		snprintf(out, len, "%.0f min", s / 60);
	else if (s < 172800)
		snprintf(out, len, "%.1f h", s / 3600);
	else
		snprintf(out, len, "%.1f days", s / 86400);
}

/* The ledger leafmond reports for the cloud writer. */
static void
check_sync(struct doctor *d, const struct cfg_writer *w)
{
	const Status *st = doctor_status(d);
	const WorkerStatus *ws = st ? status_worker(st, "cloud") : NULL;
	if (ws == NULL || ws->ledger == NULL) {
		doctor_report(d, DOC_SKIP, CHECK_SYNC, NULL,
			      "no ledger (leafmond or the cloud writer not running)");
		return;
	}
	const Ledger *l = ws->ledger;
	char age[32], ok[32];
	double since = l->last_success > 0 ? (double)(time(NULL) - l->last_success) : -1;
	fmt_age(age, sizeof(age), l->oldest_age_s);
	fmt_age(ok, sizeof(ok), since);
	double limit = (double)w->retention_days * 86400;
	enum doctor_level lvl =
	    l->queued_records > 0 && l->oldest_age_s > limit / 2 ? DOC_WARN : DOC_OK;
	doctor_report(
	    d, lvl, CHECK_SYNC,
	    "connect the car to a network; data older than retention_days is dropped",
	    "%llu records queued%s%s, last success %s%s, %llu dropped, %llu dead-lettered",
	    (unsigned long long)l->queued_records, l->queued_records ? ", oldest " : "",
	    l->queued_records ? age : "", since >= 0 ? ok : "never", since >= 0 ? " ago" : "",
	    (unsigned long long)l->dropped, (unsigned long long)l->dead_lettered);
}

void
doctor_cloud_checks(struct doctor *d)
{
	const struct cfg_writer *w = &doctor_cli(d)->cfg.cloud;
	if (!w->enabled) {
		doctor_report(d, DOC_SKIP, "cloud", NULL, "disabled in the config");
		return;
	}
	bool tls = check_url(d, w);
	check_ca_file(d, w, tls);
	if (check_ping(d, w)) {
		check_token(d, w);
		check_sessions(d, w);
	}
	check_sync(d, w);
}
