/*
 * /api/history and /api/export.csv: validate, then ask InfluxDB (v1
 * /query, which 2.x also answers on its compatibility endpoint) for the
 * downsampled buckets; when it cannot answer, use the worker's own ring
 * and say so in the answer. The request waits suspended while curl works.
 * An export streams its rows from the grid as MHD asks for them.
 */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "influxql.h"
#include "log.h"
#include "web.h"

struct csvstream {
	struct hgrid g;
	size_t row;
	bool header_done;
	struct buf b;
	size_t off;
};

static ssize_t
csv_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct csvstream *cs = cls;
	if (cs->off == cs->b.len) {
		buf_reset(&cs->b);
		cs->off = 0;
	}
	while (cs->b.len - cs->off < max) {
		if (!cs->header_done) {
			hgrid_csv_header(&cs->g, &cs->b);
			cs->header_done = true;
		} else if (cs->row < cs->g.r.nrows) {
			if (!hgrid_row_empty(&cs->g, cs->row))
				hgrid_csv_row(&cs->g, cs->row, &cs->b);
			cs->row++;
		} else {
			break;
		}
	}
	if (cs->b.oom)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (cs->off == cs->b.len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = cs->b.len - cs->off < max ? cs->b.len - cs->off : max;
	memcpy(out, cs->b.p + cs->off, n);
	cs->off += n;
	return (ssize_t)n;
}

static void
csv_free(void *cls)
{
	struct csvstream *cs = cls;
	hgrid_free(&cs->g);
	buf_free(&cs->b);
	free(cs);
}

/* hand r's grid to a streaming response */
static int
csv_response(struct wreq *r, const char *source)
{
	char name[40], header[96];
	struct csvstream *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return -1;
	cs->g = r->grid;
	r->has_grid = false;
	buf_init(&cs->b);
	r->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, csv_reader, cs,
						    csv_free);
	if (r->resp == NULL) {
		csv_free(cs);
		return -1;
	}
	hgrid_rfc3339(cs->g.r.from_ms, name, sizeof(name));
	for (char *p = name; *p; p++)
		if (*p == ':')
			*p = '-';
	snprintf(header, sizeof(header), "attachment; filename=\"leafmon-%s.csv\"", name);
	MHD_add_response_header(r->resp, "Content-Type", "text/csv; charset=utf-8");
	MHD_add_response_header(r->resp, "Content-Disposition", header);
	MHD_add_response_header(r->resp, "X-Leafmon-Source", source);
	MHD_add_response_header(r->resp, "Cache-Control", "no-store");
	web_headers(r->resp, false);
	r->status = 200;
	return 0;
}

/* r's answer from its filled grid, values carried into the empty buckets
 * up to where each signal went stale */
static void
finish(struct wreq *r, const char *source, const char *note)
{
	hgrid_fill_previous(&r->grid, web_now_ms());
	if (r->export_csv) {
		r->web->st.exports++;
		if (csv_response(r, source) < 0)
			web_prepare_error(r, 503, "out of memory");
		return;
	}
	buf_reset(&r->out);
	hgrid_json(&r->grid, source, note, &r->out);
	buf_putc(&r->out, '\n');
	r->status = 200;
	r->ctype = "application/json";
}

static void
from_ring(struct wreq *r, const char *note)
{
	struct web *web = r->web;
	r->grid.carry_ms = 0; /* the ring knows when samples stopped: no age limit */
	if (hring_query(&web->ring, &r->grid) < 0) {
		web->st.history_errors++;
		char msg[300];
		snprintf(msg, sizeof(msg), "no history: %s, and history_ring_hours = 0",
			 note ? note : "InfluxDB is disabled");
		web_prepare_error(r, 503, msg);
		return;
	}
	web->st.history_ring++;
	finish(r, "ring", note);
}

static void
influx_done(const struct httpc_resp *res, void *arg)
{
	static struct log_rl rl = LOG_RL_INIT(3, 300);
	struct wreq *r = arg;
	struct web *web = r->web;
	char err[200], note[260];
	r->creq = NULL;
	if (res->curl_code == 0 && res->status == 200 &&
	    influxql_parse(res->body ? res->body : "", res->body_len, &r->grid, err, sizeof(err)) ==
		0) {
		web->st.history_influx++;
		finish(r, "influx", NULL);
		web_wake(r);
		return;
	}
	if (res->too_large)
		snprintf(err, sizeof(err), "answer larger than the cap");
	else if (res->curl_code != 0)
		snprintf(err, sizeof(err), "%.*s", (int)sizeof(err) - 1, res->error);
	else if (res->status != 200)
		snprintf(err, sizeof(err), "HTTP %d", res->status);
	snprintf(note, sizeof(note), "InfluxDB did not answer (%s): recent history from memory",
		 err);
	log_rl(&rl, LOG_WARNING, "web: history query: %s", note);
	web->st.history_fallbacks++;
	hgrid_clear(&r->grid); /* a partial parse leaves nothing behind */
	from_ring(r, note);
	web_wake(r);
}

static int
query_url(struct web *web, struct wreq *r, struct buf *url)
{
	const struct cfg_writer *ix = &web->cfg->influx;
	struct buf q;
	buf_init(&q);
	influxql_build(&r->grid, ix->retention_policy, &q);
	const char *db = ix->api == API_V2 ? ix->bucket : ix->database;
	char *edb = curl_easy_escape(NULL, db, 0);
	char *eq = buf_str(&q) ? curl_easy_escape(NULL, q.p, (int)q.len) : NULL;
	const char *base = ix->url;
	size_t blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (edb != NULL && eq != NULL)
		buf_printf(url, "%.*s/query?db=%s&epoch=ms&q=%s", (int)blen, base, edb, eq);
	curl_free(edb);
	curl_free(eq);
	buf_free(&q);
	return url->len > 0 && !url->oom ? 0 : -1;
}

static int
ask_influx(struct web *web, struct wreq *r)
{
	const struct cfg_writer *ix = &web->cfg->influx;
	struct buf url;
	char auth[1100];
	buf_init(&url);
	if (query_url(web, r, &url) < 0) {
		buf_free(&url);
		return -1;
	}
	if (ix->token[0] != '\0')
		snprintf(auth, sizeof(auth), "Authorization: Token %s", ix->token);
	long timeout = (ix->timeout_s < 10 ? ix->timeout_s : 10) * 1000L;
	size_t rows = r->grid.r.nrows + hgrid_lead_rows(&r->grid);
	size_t cap = rows * (size_t)(r->grid.nsig + 1) * 48 + 64 * 1024;
	const char *headers[] = {ix->token[0] ? auth : NULL, NULL};
	struct httpc_opts o = {.connect_timeout_ms = timeout < 3000 ? (int)timeout : 3000,
			       .timeout_ms = (int)timeout,
			       .headers = headers,
			       .body_max = cap,
			       .whole_body = true,
			       .compressed = true};
	r->creq = httpc_request(web->curl, "GET", url.p, NULL, 0, &o, influx_done, r);
	explicit_bzero(auth, sizeof(auth));
	buf_free(&url);
	return r->creq != NULL ? 0 : -1;
}

static enum MHD_Result
send_now(struct wreq *r)
{
	if (r->resp != NULL) {
		struct MHD_Response *resp = r->resp;
		r->resp = NULL;
		return web_send_response(r, r->status, resp);
	}
	return web_send_buf(r, r->status, r->ctype, &r->out);
}

static enum MHD_Result
start(struct wreq *r, bool csv)
{
	struct web *web = r->web;
	const struct sig_info *sigs[WPARAM_MAX_SIGNALS];
	struct wparam_err e;
	struct wrange range;
	int n;
	size_t max_rows = csv ? WPARAM_EXPORT_POINTS : WPARAM_HISTORY_POINTS;
	r->export_csv = csv;
	if (wparam_signals(web_arg(r, "signals"), sigs, WPARAM_MAX_SIGNALS, &n, &e) < 0 ||
	    wparam_range(web_arg(r, "from"), web_arg(r, "to"), web_arg(r, "step"),
			 web_arg(r, "points"), web_now_ms(), max_rows, &range, &e) < 0)
		return web_send_error(r, 400, "%s", e.msg);
	if (hgrid_init(&r->grid, &range, sigs, n) < 0)
		return web_send_error(r, 503, "out of memory");
	r->has_grid = true;
	int keyframe_s = web->cfg->can.keyframe_s > 0 ? web->cfg->can.keyframe_s : 60;
	r->grid.carry_ms = keyframe_s * 100LL * WEB_STALE_AFTER_KEYFRAMES_X10;
	if (web->cfg->influx.enabled) {
		if (httpc_pending(web->curl) >= WEB_MAX_QUERIES) {
			web->st.busy++;
			return web_send_error(r, 503, "busy: %d history queries running",
					      WEB_MAX_QUERIES);
		}
		if (ask_influx(web, r) == 0)
			return web_wait(r);
		from_ring(r, "cannot start the InfluxDB query: recent history from memory");
	} else {
		from_ring(r, NULL);
	}
	return send_now(r);
}

enum MHD_Result
hist_history(struct wreq *r)
{
	return start(r, false);
}

enum MHD_Result
hist_export(struct wreq *r)
{
	return start(r, true);
}
