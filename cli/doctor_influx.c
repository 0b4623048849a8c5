/*
 * leafmon doctor: the local InfluxDB writer's checks. Is the server there
 * (/ping, and which API), does it take our token, do the database (1.x) or
 * bucket (2.x) exist, how full is the spool, are there dead letters, and
 * what does the writer's ledger say. Each check names the fix.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "httpc.h"
#include "influx_api.h"
#include "status.h"
#include "util.h"

#define CHECK_NAME "influx"
#define SETUP_FIX "scripts/setup-influxdb -c CONFIG (creates it and writes the [influx] keys)"

/* One blocking request (the CLI may block): a POST when form is given; 0
 * with r filled, -1 when no answer came (r->error says why). */
static int
fetch(const struct cfg_writer *w, const char *url, const char *form, const char *auth,
      struct httpc_answer *r)
{
	const char *headers[] = {auth, NULL};
	struct httpc_opts o = {.connect_timeout_ms = 5000,
			       .timeout_ms = (w->timeout_s > 0 ? w->timeout_s : 10) * 1000,
			       .ca_file = w->ca_file,
			       .headers = auth != NULL ? headers : NULL};
	return httpc_fetch(form != NULL ? "POST" : "GET", url, form, form ? strlen(form) : 0, &o,
			   r);
}

/* /ping: reachable, and the API it speaks. -1 when it does not answer. */
static int
check_ping(struct doctor *d, const struct cfg_writer *w, int *api)
{
	char url[600];
	struct httpc_answer r;
	influx_ping_url(url, sizeof(url), w->url);
	if (fetch(w, url, NULL, NULL, &r) < 0) {
		doctor_report(d, DOC_FAIL, "influx reachable",
			      "start InfluxDB (systemctl start influxdb) or fix [influx] url",
			      "%s: %s", url, r.error);
		httpc_answer_free(&r);
		return -1;
	}
	*api = w->api != API_AUTO ? w->api : influx_api_detect(r.version[0] ? r.version : NULL);
	enum doctor_level lvl = r.status >= 200 && r.status < 300 ? DOC_OK : DOC_WARN;
	doctor_report(d, lvl, "influx reachable", "is [influx] url an InfluxDB?",
		      "%s answers HTTP %d, InfluxDB %s, API %s%s", w->url, r.status,
		      r.version[0] ? r.version : "(no version header)", *api == API_V1 ? "v1" : "v2",
		      w->api == API_AUTO ? " (auto)" : "");
	httpc_answer_free(&r);
	return 0;
}

static bool
json_has_name(const char *body, const char *name)
{
	char want[300];
	snprintf(want, sizeof(want), "\"%s\"", name);
	return strstr(body, want) != NULL;
}

static void
check_rp(struct doctor *d, const struct cfg_writer *w, const char *body)
{
	if (json_has_name(body, w->retention_policy))
		doctor_report(d, DOC_OK, "influx retention", NULL, "retention policy %s exists",
			      w->retention_policy);
	else
		doctor_report(d, DOC_FAIL, "influx retention", SETUP_FIX,
			      "retention policy %s not found on %s", w->retention_policy, w->database);
}

/* The sessions' RP exists and keeps them forever (1.x shows INF as "0s":
 * its row is ["NAME","0s",...]). */
static void
check_session_rp(struct doctor *d, const struct cfg_writer *w, const char *body)
{
	char inf[300];
	snprintf(inf, sizeof(inf), "[\"%s\",\"0s\"", w->session_rp);
	if (!json_has_name(body, w->session_rp))
		doctor_report(d, DOC_FAIL, "influx session retention", SETUP_FIX,
			      "retention policy %s (trips, charges, parks, battery_daily) not found on "
			      "%s: sessions wait in the spool", w->session_rp, w->database);
	else if (strstr(body, inf) == NULL)
		doctor_report(d, DOC_WARN, "influx session retention", SETUP_FIX,
			      "retention policy %s is not infinite: InfluxDB will delete old sessions",
			      w->session_rp);
	else
		doctor_report(d, DOC_OK, "influx session retention", NULL,
			      "retention policy %s exists, infinite (sessions)", w->session_rp);
}

static void
check_v1(struct doctor *d, const struct cfg_writer *w, const char *auth)
{
	char url[600], form[600], esc[400];
	struct httpc_answer r;
	snprintf(url, sizeof(url), "%.*s/query", (int)strcspn(w->url, "?"), w->url);
	if (fetch(w, url, "q=SHOW%20DATABASES", auth, &r) < 0 || r.status == 401 || r.status == 403) {
		doctor_report(d, DOC_FAIL, "influx authorized", SETUP_FIX,
			      "%s", r.status ? "the server refuses our credentials (HTTP 401)" : r.error);
		httpc_answer_free(&r);
		return;
	}
	doctor_report(d, DOC_OK, "influx authorized", NULL, "%s",
		      auth[0] ? "credentials accepted" : "no authentication needed");
	if (!json_has_name(r.body.p, w->database)) {
		doctor_report(d, DOC_FAIL, "influx database", SETUP_FIX, "database %s does not exist",
			      w->database);
		httpc_answer_free(&r);
		return;
	}
	doctor_report(d, DOC_OK, "influx database", NULL, "database %s exists", w->database);
	httpc_answer_free(&r);
	influx_url_escape(esc, sizeof(esc), w->database);
	snprintf(form, sizeof(form), "q=SHOW%%20RETENTION%%20POLICIES%%20ON%%20%%22%s%%22", esc);
	if (fetch(w, url, form, auth, &r) < 0) {
		doctor_report(d, DOC_FAIL, "influx retention", NULL, "%s", r.error);
	} else {
		if (w->retention_policy[0] != '\0')
			check_rp(d, w, r.body.p);
		if (w->session_rp[0] != '\0')
			check_session_rp(d, w, r.body.p);
	}
	httpc_answer_free(&r);
}

/* 2.x: the retention of the one bucket a ?name= listing holds, in seconds
 * (0: forever; retentionRules empty or everySeconds 0). */
static long long
bucket_retention(const char *body)
{
	const char *p = strstr(body, "\"everySeconds\"");
	if (p == NULL)
		return 0;
	p += strlen("\"everySeconds\"");
	p += strspn(p, " \t:");
	return strtoll(p, NULL, 10);
}

static int
fetch_bucket(const struct cfg_writer *w, const char *auth, const char *name,
	     struct httpc_answer *r)
{
	char url[900], org[400], bucket[400];
	influx_url_escape(org, sizeof(org), w->org);
	influx_url_escape(bucket, sizeof(bucket), name);
	snprintf(url, sizeof(url), "%.*s/api/v2/buckets?org=%s&name=%s", (int)strcspn(w->url, "?"),
		 w->url, org, bucket);
	return fetch(w, url, NULL, auth, r);
}

static void
check_session_bucket(struct doctor *d, const struct cfg_writer *w, const char *auth)
{
	struct httpc_answer r;
	const char *name = w->session_bucket;

	if (fetch_bucket(w, auth, name, &r) < 0)
		doctor_report(d, DOC_FAIL, "influx session bucket", NULL, "%s", r.error);
	else if (r.status == 403)
		doctor_report(d, DOC_WARN, "influx session bucket", SETUP_FIX,
			      "the token may not read buckets: cannot check that %s exists", name);
	else if (r.status == 404 || !json_has_name(r.body.p, name))
		doctor_report(d, DOC_FAIL, "influx session bucket", SETUP_FIX,
			      "bucket %s (org %s; trips, charges, parks, battery_daily) not found: "
			      "sessions wait in the spool", name, w->org);
	else if (bucket_retention(r.body.p) > 0)
		doctor_report(d, DOC_WARN, "influx session bucket", SETUP_FIX,
			      "bucket %s keeps data %lld s only: InfluxDB will delete old sessions",
			      name, bucket_retention(r.body.p));
	else
		doctor_report(d, DOC_OK, "influx session bucket", NULL,
			      "bucket %s exists, retention forever (sessions)", name);
	httpc_answer_free(&r);
}

static void
check_v2(struct doctor *d, const struct cfg_writer *w, const char *auth)
{
	struct httpc_answer r;
	if (w->token[0] == '\0') {
		doctor_report(d, DOC_FAIL, "influx authorized", SETUP_FIX,
			      "InfluxDB 2.x needs a token: [influx] token_file is empty");
		return;
	}
	bool token_ok = false;
	if (fetch_bucket(w, auth, w->bucket, &r) < 0) {
		doctor_report(d, DOC_FAIL, "influx authorized", NULL, "%s", r.error);
	} else if (r.status == 401) {
		doctor_report(d, DOC_FAIL, "influx authorized", SETUP_FIX, "the server refuses our token");
	} else if (r.status == 403) {
		doctor_report(d, DOC_WARN, "influx bucket", SETUP_FIX,
			      "the token may not read buckets: cannot check that %s exists", w->bucket);
	} else if (r.status == 404 || !json_has_name(r.body.p, w->bucket)) {
		token_ok = true;
		doctor_report(d, DOC_OK, "influx authorized", NULL, "token accepted");
		doctor_report(d, DOC_FAIL, "influx bucket", SETUP_FIX, "bucket %s (org %s) not found",
			      w->bucket, w->org);
	} else {
		token_ok = true;
		doctor_report(d, DOC_OK, "influx authorized", NULL, "token accepted");
		doctor_report(d, DOC_OK, "influx bucket", NULL, "bucket %s exists in org %s", w->bucket,
			      w->org);
	}
	httpc_answer_free(&r);
	if (token_ok && w->session_bucket[0] != '\0')
		check_session_bucket(d, w, auth);
}

static void
spool_files(const char *dir, uint64_t *bytes, int *segs, int *aside)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	*bytes = 0;
	*segs = *aside = 0;
	while (dp != NULL && (e = readdir(dp)) != NULL) {
		char p[PATH_MAX + 300];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(p, &st) < 0)
			continue;
		if (strstr(e->d_name, ".seg.") != NULL)
			(*aside)++;
		else if (strstr(e->d_name, ".seg") != NULL)
			(*segs)++;
		*bytes += (uint64_t)st.st_size;
	}
	if (dp != NULL)
		closedir(dp);
}

static void
check_spool(struct doctor *d, const struct cli *c, const struct cfg_writer *w)
{
	char dir[PATH_MAX], dl[PATH_MAX];
	uint64_t bytes;
	int segs, aside;
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/spool-influx", c->statedir);
	spool_files(dir, &bytes, &segs, &aside);
	double cap = (double)w->spool_max_mb * 1048576.0;
	enum doctor_level lvl = (double)bytes > 0.8 * cap ? DOC_WARN : DOC_OK;
	doctor_report(d, lvl, "influx spool", "InfluxDB is behind: see the ledger below, or raise spool_max_mb",
		      "%s: %.1f MB in %d segments (cap %d MB)", dir, (double)bytes / 1e6, segs,
		      w->spool_max_mb);
	if (aside > 0)
		doctor_report(d, DOC_WARN, "influx spool", "files *.seg.future come from a newer leafmon; *.seg.corrupt were unreadable",
			      "%d segment files set aside in %s", aside, dir);
	snprintf(dl, sizeof(dl), "%s/influx-deadletter.lp", c->statedir);
	if (stat(dl, &st) == 0 && st.st_size > 0)
		doctor_report(d, DOC_WARN, "influx dead letters", "read the messages in the file; fix the cause; re-import by hand if wanted",
			      "%s holds %.1f kB of lines the server refused", dl, (double)st.st_size / 1e3);
}

static void
check_ledger(struct doctor *d)
{
	const Status *st = doctor_status(d);
	const WorkerStatus *ws = st ? status_worker(st, "influx") : NULL;
	if (ws == NULL || ws->ledger == NULL) {
		doctor_report(d, DOC_SKIP, "influx ledger", NULL, "the writer is not running");
		return;
	}
	const Ledger *l = ws->ledger;
	enum doctor_level lvl = l->oldest_age_s > 3600 ? DOC_WARN : DOC_OK;
	doctor_report(d, lvl, "influx ledger", "leafmon status shows the last error",
		      "%llu records queued (oldest %.0f s), %llu dropped, %llu dead-lettered%s%s",
		      (unsigned long long)l->queued_records, l->oldest_age_s,
		      (unsigned long long)l->dropped, (unsigned long long)l->dead_lettered,
		      l->has_last_error_code ? ", last error: " : "",
		      l->has_last_error_code && l->last_error_text ? l->last_error_text : "");
}

void
doctor_influx_checks(struct doctor *d)
{
	const struct cli *c = doctor_cli(d);
	const struct cfg_writer *w = &c->cfg.influx;
	char auth[1200];
	int api = API_V1;

	if (!w->enabled) {
		doctor_report(d, DOC_SKIP, CHECK_NAME, NULL, "[influx] enabled = false");
		return;
	}
	if (check_ping(d, w, &api) == 0) {
		influx_auth_header(auth, sizeof(auth), api, w->token);
		if (api == API_V1)
			check_v1(d, w, auth);
		else
			check_v2(d, w, auth);
	}
	check_spool(d, c, w);
	check_ledger(d);
}
