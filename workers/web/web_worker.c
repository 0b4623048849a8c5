/*
 * The web worker's wiring (web_worker.h): samples from the feed into the
 * history ring and the live stream, the snapshot, the 1 s tick, the
 * heartbeat, start-up and stop.
 */
#include "web_worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "snap.h"

#ifndef LEAFMON_WEBDIR
#define LEAFMON_WEBDIR "/usr/local/share/leafmon/web"
#endif

/* ---- samples ---- */

static void
sample_event(const Sample *m, struct buf *b)
{
	char val[96];
	int n = 0;
	/* t in whole milliseconds, cut as the history's buckets cut it (rounded, a
	 * sample 0.4 ms before a second would show in the next one) */
	buf_printf(b, "event: sample\nid: %llu\ndata: {\"seq\":%llu,\"t\":%.3f,\"v\":{",
		   (unsigned long long)m->seq, (unsigned long long)m->seq,
		   (double)(m->t_ns / NSEC_PER_MSEC) / 1e3);
	for (size_t i = 0; i < m->n_ids; i++) {
		const struct sig_info *si = sig_by_id(m->ids[i]);
		if (!sig_published(si) || sig_format_json(si, m->values[i], val, sizeof(val)) < 0)
			continue;
		buf_printf(b, "%s\"%s\":%s", n++ ? "," : "", si->name, val);
	}
	buf_puts(b, "}}\n\n");
}

/* One sample into the ring and out to the SSE clients. Its age counts only
 * when it came live, not read back from the journal (start, gaps). */
static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct web_worker *ww = arg;
	struct web *web = &ww->web;
	int64_t t_ms = m->t_ns / NSEC_PER_MSEC;
	if (sampsub_live(ww->feed.ss))
		web->ages[web->nages++ % ARRAY_LEN(web->ages)] = (float)(now_real - m->t_ns) / 1e6f;
	web->st.samples++;
	web->st.sample_signals += m->n_ids;
	for (size_t i = 0; i < m->n_ids; i++)
		hring_add(&web->ring, t_ms, m->ids[i], m->values[i]);
	if (web->sse.clients == 0)
		return;
	struct buf b;
	buf_init(&b);
	sample_event(m, &b);
	if (!b.oom)
		sse_broadcast(&web->sse, b.p, b.len);
	buf_free(&b);
	web_mhd_kick(web);
}

/* From the journal's oldest sample (generation 0), every time. */
static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	*gen = 0;
	*seq = 0;
}

static ino_t
file_ino(const char *dir, const char *name)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* (re)map the snapshot: at start, and when leafmond made a new one */
static void
check_snapshot(struct web_worker *ww)
{
	struct web *web = &ww->web;
	ino_t ino = file_ino(web->w->rundir, "state.shm");
	if (web->snap != NULL && ino == ww->snap_ino)
		return;
	if (web->snap != NULL) {
		snap_close(web->snap);
		web->snap = NULL;
		log_info("web: state.shm was replaced: re-mapping");
	}
	if (ino != 0 && snap_open(&web->snap, web->w->rundir, false) == 0)
		ww->snap_ino = ino;
	else
		web->snap = NULL;
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct web_worker *ww = arg;
	struct web *web = &ww->web;
	web->ticks++;
	check_snapshot(ww);
	feed_tick(&ww->feed);
	if (web->ticks % WEB_PING_S == 0)
		sse_ping(&web->sse);
	sse_check(&web->sse, WEB_SSE_STALL_S * 1000LL);
	web_conn_tick(web);
	/* MHD sends the pings and closes what was shut down: in this wake-up,
	 * not in one more from a kick */
	web_mhd_run(web);
	loop_timer_grid(t, NSEC_PER_SEC);
}

/* ---- heartbeat and stop ---- */

static double
rss_kb(void)
{
	long pages_total, pages_rss;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return -1;
	int n = fscanf(f, "%ld %ld", &pages_total, &pages_rss);
	fclose(f);
	return n == 2 ? (double)pages_rss * (double)sysconf(_SC_PAGESIZE) / 1024 : -1;
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* how old samples are when they reach us (the can worker's part of the
 * capture -> browser latency), over the last 1024 */
static void
sample_ages(struct web *web, struct heartbeat *hb)
{
	float v[ARRAY_LEN(web->ages)];
	size_t n = web->nages < ARRAY_LEN(v) ? web->nages : ARRAY_LEN(v);
	if (n == 0)
		return;
	memcpy(v, web->ages, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_float);
	hb_counter(hb, "sample_age_p50_ms", v[n / 2]);
	hb_counter(hb, "sample_age_p99_ms", v[n * 99 / 100]);
}

void
web_worker_heartbeat(struct web_worker *ww, struct heartbeat *hb)
{
	struct web *web = &ww->web;
	hb_counter(hb, "port", web->port);
	hb_counter(hb, "tls", web->tls);
	hb_counter(hb, "sse_clients", (double)web->sse.clients);
	hb_counter(hb, "sse_resyncs", (double)web->sse.resyncs);
	hb_counter(hb, "sse_gone", (double)web->st.sse_gone);
	hb_counter(hb, "sse_stalled", (double)web->sse.stalled);
	hb_counter(hb, "head_timeouts", (double)web->st.head_timeouts);
	hb_counter(hb, "head_refused", (double)web->st.head_refused);
	hb_counter(hb, "host_refused", (double)web->st.host_refused);
	hb_counter(hb, "login_limited", (double)web->auth.limited);
	hb_counter(hb, "requests", (double)web->st.requests);
	hb_counter(hb, "responses_4xx", (double)web->st.r4xx);
	hb_counter(hb, "responses_5xx", (double)web->st.r5xx);
	hb_counter(hb, "samples", (double)web->st.samples);
	hb_counter(hb, "history_influx", (double)web->st.history_influx);
	hb_counter(hb, "history_ring", (double)web->st.history_ring);
	hb_counter(hb, "history_fallbacks", (double)web->st.history_fallbacks);
	hb_counter(hb, "exports", (double)web->st.exports);
	hb_counter(hb, "ledger_queries", (double)web->st.ledger_queries);
	hb_counter(hb, "ledger_errors", (double)web->st.ledger_errors);
	hb_counter(hb, "auth_denied", (double)web->st.auth_denied);
	hb_counter(hb, "csrf_denied", (double)web->st.csrf_denied);
	hb_counter(hb, "sessions", web->auth.n);
	hb_counter(hb, "busy_refusals", (double)web->st.busy);
	hb_counter(hb, "mhd_errors", (double)web->st.mhd_errors);
	hb_counter(hb, "ring_kb", (double)hring_bytes(&web->ring) / 1024);
	hb_counter(hb, "rss_kb", rss_kb());
	sample_ages(web, hb);
	if (ww->feed.ss != NULL) {
		hb_counter(hb, "samples_lost", (double)sampsub_stats(ww->feed.ss)->lost);
		hb_counter(hb, "samples_bad", (double)sampsub_stats(ww->feed.ss)->bad_messages);
	}
	int64_t up_s = (now_mono_ns() - ww->started_mono) / NSEC_PER_SEC;
	if (web->snap == NULL && up_s > 10)
		hb_alert(hb, "no_snapshot",
			 "no state.shm in the run directory: live values missing", 0);
}

void
web_worker_stop(struct web_worker *ww)
{
	struct web *web = &ww->web;
	web->stopping = true;
	web_http_stop(web);
	ctlq_free(web->ctl);
	web->ctl = NULL;
	httpc_free(web->curl);
	web->curl = NULL;
	feed_close(&ww->feed);
}

/* ---- start-up ---- */

static int
find_root(struct web *web)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	const char *cands[3] = {web->cfg->web.root, LEAFMON_WEBDIR, NULL};
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) { /* a build tree: build/libexec/leafmon-web -> build/web/root */
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		snprintf(cand, sizeof(cand), "%s/../web/root", exe);
		cands[2] = cand;
	}
	for (int i = 0; i < 3; i++) {
		if (cands[i] == NULL || cands[i][0] == '\0')
			continue;
		if (realpath(cands[i], web->root) != NULL) {
			log_info("web: serving files from %s", web->root);
			return 0;
		}
		if (i == 0) {
			log_warnx("web: root = %s: %s", cands[i], strerror(errno));
			return -1;
		}
	}
	log_warnx("web: no web root found (%s): the API works, the pages do not", LEAFMON_WEBDIR);
	web->root[0] = '\0';
	return 0;
}

static int
load_tls(struct web *web)
{
	const struct config *cfg = web->cfg;
	if (cfg->web.tls_cert[0] == '\0')
		return 0;
	web->tls_cert = file_read_str(cfg->web.tls_cert, 1 << 20, NULL);
	web->tls_key = file_read_str(cfg->web.tls_key, 1 << 20, NULL);
	if (web->tls_cert == NULL || web->tls_key == NULL) {
		log_warn("web: cannot read tls_cert %s or tls_key %s", cfg->web.tls_cert,
			 cfg->web.tls_key);
		return -1;
	}
	web->tls = true;
	return 0;
}

/* Logged; the exit code for worker_fail(). */
static int
start_failed(int code, const char *why)
{
	log_warnx("web: %s", why);
	return code;
}

static int
listen_code(enum web_http_start rc)
{
	switch (rc) {
	case WEB_HTTP_LISTENING:
		return 0;
	case WEB_HTTP_BAD_BIND:
		return WORKER_EXIT_CONFIG;
	case WEB_HTTP_FAILED:
		break;
	}
	return WORKER_EXIT_START;
}

int
web_worker_start(struct web_worker *ww, struct worker *w)
{
	struct web *web = &ww->web;
	char path[512];
	web->w = w;
	web->cfg = &w->cfg;
	ww->started_mono = now_mono_ns();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return start_failed(WORKER_EXIT_START, "curl_global_init failed");
	if (find_root(web) < 0 || load_tls(web) < 0)
		return WORKER_EXIT_CONFIG;
	if (hring_init(&web->ring, web->cfg->web.history_ring_hours) < 0)
		return start_failed(WORKER_EXIT_START, "no memory for the history ring");
	mkdir_p(w->statedir, 0755);
	snprintf(path, sizeof(path), "%s/web-sessions", w->statedir);
	wauth_init(&web->auth, web->cfg->web.password, (int64_t)web->cfg->web.session_days * 86400,
		   path, web_now_ms() / 1000);
	sse_init(&web->sse, api_snapshot_event, web);
	if (api_build_signals(web) < 0 || ctlq_new(&web->ctl, w->loop, w->rundir) < 0 ||
	    httpc_new(&web->curl, w->loop) < 0)
		return start_failed(WORKER_EXIT_START, "setup failed");
	check_snapshot(ww);
	struct loop_timer *tick = loop_timer_new(w->loop, on_tick, ww);
	if (tick == NULL ||
	    feed_start(&ww->feed, w, take, resume, ww, "no sample journal yet: no live stream") < 0)
		return start_failed(WORKER_EXIT_START, "out of memory");
	loop_timer_grid(tick, NSEC_PER_SEC);
	return listen_code(web_http_start(web));
}
