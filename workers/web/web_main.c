/*
 * leafmon-web: the dashboard and its API. Wires the worker runtime, the
 * snapshot, the sample subscriber (live stream and history ring), the
 * login store, the control helper and curl into one loop, then serves
 * until Stop, EOF on fd 3 or SIGTERM.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "sampsub.h"
#include "snap.h"
#include "web.h"

#ifndef LEAFMON_WEBDIR
#define LEAFMON_WEBDIR "/usr/local/share/leafmon/web"
#endif

#define PUMP_BUDGET 2048 /* samples handled per loop turn */

struct web_main {
	struct web web;
	struct worker w;
	struct loop_timer *pump;
	ino_t snap_ino;
	int64_t started_mono;
};

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

void
web_on_sample(struct web *web, const Sample *m, bool live)
{
	int64_t t_ms = m->t_ns / NSEC_PER_MSEC;
	if (live) /* not read back from the journal (start, gaps) */
		web->ages[web->nages++ % ARRAY_LEN(web->ages)] = (float)(now_real_ns() - m->t_ns) / 1e6f;
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

static void
drain(struct web_main *wm)
{
	struct web *web = &wm->web;
	Sample *m;
	int budget = PUMP_BUDGET;
	if (web->sub == NULL)
		return;
	uint64_t bus = sampsub_stats(web->sub)->from_bus;
	while (budget > 0 && (m = sampsub_next(web->sub)) != NULL) {
		uint64_t now_bus = sampsub_stats(web->sub)->from_bus;
		web_on_sample(web, m, now_bus != bus);
		bus = now_bus;
		sampsub_free(m);
		budget--;
	}
	if (budget == 0 || sampsub_pending(web->sub))
		loop_timer_after(wm->pump, 5 * NSEC_PER_MSEC);
}

static void
on_samples(struct loop *l, int fd, uint32_t ev, void *arg)
{
	drain(arg);
}

static void
on_pump(struct loop *l, struct loop_timer *t, void *arg)
{
	drain(arg);
}

/* Subscribe from the journal's oldest sample (generation 0), so the
 * history ring starts with the last half hour or so instead of empty. */
static void
open_subscriber(struct web_main *wm)
{
	struct web *web = &wm->web;
	if (sampsub_open(&web->sub, wm->w.rundir, 0, 0) < 0) {
		web->sub = NULL;
		return;
	}
	loop_add_fd(wm->w.loop, sampsub_fd(web->sub), EPOLLIN, on_samples, wm);
	log_info("web: subscribed to samples (history from the journal's oldest)");
	drain(wm);
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
check_snapshot(struct web_main *wm)
{
	struct web *web = &wm->web;
	ino_t ino = file_ino(wm->w.rundir, "state.shm");
	if (web->snap != NULL && ino == wm->snap_ino)
		return;
	if (web->snap != NULL) {
		snap_close(web->snap);
		web->snap = NULL;
		log_info("web: state.shm was replaced: re-mapping");
	}
	if (ino != 0 && snap_open(&web->snap, wm->w.rundir, false) == 0)
		wm->snap_ino = ino;
	else
		web->snap = NULL;
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct web_main *wm = arg;
	struct web *web = &wm->web;
	web->ticks++;
	check_snapshot(wm);
	if (web->sub == NULL)
		open_subscriber(wm);
	if (web->sub != NULL) {
		sampsub_poll_journal(web->sub);
		drain(wm);
	}
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

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct web_main *wm = arg;
	struct web *web = &wm->web;
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
	if (web->sub != NULL) {
		hb_counter(hb, "samples_lost", (double)sampsub_stats(web->sub)->lost);
		hb_counter(hb, "samples_bad", (double)sampsub_stats(web->sub)->bad_messages);
	}
	int64_t up_s = (now_mono_ns() - wm->started_mono) / NSEC_PER_SEC;
	if (web->snap == NULL && up_s > 10)
		hb_alert(hb, "no_snapshot", "no state.shm in the run directory: live values missing",
			 0);
}

static void
on_stop(struct worker *w, void *arg)
{
	struct web_main *wm = arg;
	struct web *web = &wm->web;
	web->stopping = true;
	web_http_stop(web);
	ctlq_free(web->ctl);
	web->ctl = NULL;
	httpc_free(web->curl);
	web->curl = NULL;
	if (web->sub != NULL) {
		loop_del_fd(w->loop, sampsub_fd(web->sub));
		sampsub_close(web->sub);
		web->sub = NULL;
	}
	worker_exit(w, 0);
}

/* ---- setup ---- */

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

static void
setup(struct web_main *wm)
{
	struct web *web = &wm->web;
	char path[512];
	web->w = &wm->w;
	web->cfg = &wm->w.cfg;
	wm->started_mono = now_mono_ns();
	if (find_root(web) < 0 || load_tls(web) < 0)
		exit(EX_CONFIG_ERR);
	if (hring_init(&web->ring, web->cfg->web.history_ring_hours) < 0)
		fatalx("web: no memory for the history ring");
	mkdir_p(wm->w.statedir, 0755);
	snprintf(path, sizeof(path), "%s/web-sessions", wm->w.statedir);
	wauth_init(&web->auth, web->cfg->web.password, (int64_t)web->cfg->web.session_days * 86400,
		   path, web_now_ms() / 1000);
	sse_init(&web->sse, api_snapshot_event, web);
	if (api_build_signals(web) < 0 || ctlq_new(&web->ctl, wm->w.loop, wm->w.rundir) < 0 ||
	    httpc_new(&web->curl, wm->w.loop) < 0)
		fatalx("web: setup failed");
	wm->pump = loop_timer_new(wm->w.loop, on_pump, wm);
	check_snapshot(wm);
	open_subscriber(wm);
	struct loop_timer *tick = loop_timer_new(wm->w.loop, on_tick, wm);
	loop_timer_grid(tick, NSEC_PER_SEC);
}

int
main(int argc, char **argv)
{
	static struct web_main wm;
	char detail[64];
	worker_init(&wm.w, "web", argc, argv);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init");
	setup(&wm);
	worker_set_heartbeat(&wm.w, on_heartbeat, &wm);
	worker_set_stop(&wm.w, on_stop, &wm);
	int rc = web_http_start(&wm.web);
	if (rc == -2)
		exit(EX_CONFIG_ERR);
	if (rc < 0)
		exit(1);
	snprintf(detail, sizeof(detail), "listening on port %u", wm.web.port);
	worker_ready(&wm.w, detail);
	return worker_run(&wm.w);
}
