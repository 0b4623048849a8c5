/*
 * The ledger worker's loop handlers (see ledger_worker.h): events in, one
 * transaction with the feed point per second, the database's failures and
 * their retry, the battery check, heartbeats, and a stop that loses nothing.
 */
#include "ledger_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ledger_soh.h"
#include "log.h"
#include "lp.h"

static void db_down(struct lw *lw, const char *what);

/* ---- events in ---- */

static void
count(struct lw *lw, int r, const Event *e)
{
	switch (r) {
	case LDB_INSERTED:
		lw->n.inserted++;
		lw->sessions++;
		break;
	case LDB_REPLACED:
		lw->n.replaced++;
		break;
	case LDB_DUPLICATE:
		lw->n.duplicates++;
		break;
	case LDB_LATE:
		lw->n.late++;
		break;
	default:
		if (lw->n.invalid++ < 10)
			log_warnx("event %s/%s at %lld not stored: not a session (kind, phase or "
				  "detail)",
				  e->kind, e->phase ? e->phase : "-", (long long)e->t_ns);
	}
	if ((r == LDB_INSERTED || r == LDB_REPLACED) && strcmp(e->kind, "battery_daily") == 0)
		lw->daily_changed = true;
}

static int
upsert(struct lw *lw, const Event *e)
{
	struct ldb_event le = {.kind = e->kind,
			       .phase = e->phase,
			       .t_ns = e->t_ns,
			       .start_ns = e->has_start_ns ? e->start_ns : e->t_ns,
			       .detail = e->detail,
			       .vehicle = lw->vehicle};
	if (!ldb_in_tx(lw->db) && ldb_begin(lw->db) < 0)
		return -1;
	int r = ldb_upsert(lw->db, &le, now_real_ns());
	if (r < 0)
		return -1;
	count(lw, r, e);
	lw->pending++;
	return 0;
}

static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct lw *lw = arg;
	if (lw->broken)
		return; /* what follows is read again after the retry */
	for (size_t i = 0; i < m->n_events; i++) {
		lw->n.events++;
		if (upsert(lw, m->events[i]) < 0) {
			lw->broken = true;
			return;
		}
	}
	lw->n.samples++;
	lw->gen = m->generation;
	lw->seq = m->seq;
}

/* After what this process took (a re-subscription inside the open
 * transaction), else after the durable point, else the journal's oldest. */
static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	struct lw *lw = arg;
	*gen = lw->gen;
	*seq = lw->seq;
}

/* ---- commit ---- */

static bool
point_moved(const struct lw *lw)
{
	return lw->gen != lw->cgen || lw->seq != lw->cseq;
}

static int
commit(struct lw *lw)
{
	if (!ldb_in_tx(lw->db) && ldb_begin(lw->db) < 0)
		return -1;
	if (ldb_feed_put(lw->db, LW_FEED_NAME, lw->gen, lw->seq) < 0 || ldb_commit(lw->db) < 0)
		return -1;
	lw->cgen = lw->gen;
	lw->cseq = lw->seq;
	lw->pending = 0;
	lw->n.commits++;
	lw->last_commit = now_mono_ns();
	lw->last_success = now_real_ns() / NSEC_PER_SEC;
	return 0;
}

/* Events wait at most a second; without events the point moves once a
 * minute (a restart then re-reads at most that: duplicates change nothing). */
static int
commit_due(struct lw *lw, bool stopping)
{
	if (!point_moved(lw) && lw->pending == 0)
		return 0;
	if (lw->pending == 0 && !stopping && now_mono_ns() - lw->last_commit < LW_IDLE_COMMIT_NS)
		return 0;
	return commit(lw);
}

/* ---- the battery check ---- */

struct soh_find {
	struct ldb_daily d;
	struct soh_result r;
	bool found;
};

static bool
first_with_sources(void *arg, const struct ldb_daily *d)
{
	struct soh_find *f = arg;
	if (soh_sources(d, &f->r) < 0)
		return true;
	f->d = *d;
	f->found = true;
	return false;
}

/* The newest battery_daily with two sources or more decides. */
static void
soh_check(struct lw *lw)
{
	struct soh_find f = {0};
	double limit = lw->w->cfg.ledger.soh_disagree_pct;
	char text[sizeof(lw->soh_alert)];

	lw->daily_changed = false;
	if (ldb_each_daily(lw->db, 30, first_with_sources, &f) < 0) {
		log_warnx("battery check: %s", ldb_errmsg(lw->db));
		return;
	}
	if (!f.found || f.r.spread <= limit) {
		lw->soh_alert[0] = '\0';
		lw->soh_since = 0;
		return;
	}
	soh_text(&f.d, &f.r, limit, text, sizeof(text));
	if (strcmp(text, lw->soh_alert) != 0) {
		log_info("%s", text);
		snprintf(lw->soh_alert, sizeof(lw->soh_alert), "%s", text);
		lw->soh_since = now_real_ns() / NSEC_PER_SEC;
	}
}

/* ---- the database: open, fail, retry ---- */

static void
set_error(struct lw *lw, int code, const char *text)
{
	int64_t now = now_real_ns() / NSEC_PER_SEC;
	if (lw->err.since == 0)
		lw->err.since = now;
	lw->err.at = now;
	lw->err.code = code;
	snprintf(lw->err.text, sizeof(lw->err.text), "%.*s", (int)sizeof(lw->err.text) - 1, text);
}

static void
schedule_retry(struct lw *lw)
{
	lw->retry_at = now_mono_ns() + (int64_t)lw->retry_s * NSEC_PER_SEC;
	lw->retry_s = lw->retry_s * 2 > LW_RETRY_MAX_S ? LW_RETRY_MAX_S : lw->retry_s * 2;
}

static int
read_point(struct lw *lw)
{
	int rc = ldb_feed_get(lw->db, LW_FEED_NAME, &lw->cgen, &lw->cseq);
	if (rc < 0)
		return -1;
	lw->have_point = rc == 1;
	if (!lw->have_point)
		lw->cgen = lw->cseq = 0;
	lw->gen = lw->cgen;
	lw->seq = lw->cseq;
	return ldb_session_count(lw->db, &lw->sessions);
}

static void
db_open(struct lw *lw)
{
	char err[512];
	int rc = ldb_open_writer(&lw->db, lw->path, err, sizeof(err));
	lw->n.opens++;
	if (rc < 0) {
		lw->n.db_errors++;
		if (strcmp(err, lw->err.text) != 0)
			log_warnx("%s: retrying", err);
		set_error(lw, rc == LDB_ELOCKED ? -2 : -1, err);
		schedule_retry(lw);
		return;
	}
	if (read_point(lw) < 0) {
		db_down(lw, "reading the feed point");
		return;
	}
	if (lw->err.since != 0)
		log_info("%s open again", lw->path);
	lw->err.since = 0;
	lw->err.text[0] = '\0';
	lw->retry_s = LW_RETRY_MIN_S;
	lw->last_commit = now_mono_ns();
	soh_check(lw);
	if (feed_start(&lw->feed, lw->w, take, resume, lw,
		       "no sample journal yet: no session events to write") < 0)
		fatalx("out of memory");
	lw->feeding = true;
}

/* A write failed: nothing of the open transaction is kept, the feed lets
 * go, and after the retry it starts again from the durable point. */
static void
db_down(struct lw *lw, const char *what)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "%.200s: %s %.200s (%.40s): the events wait in the journal; "
		 "retrying",
		 lw->path, what, ldb_errmsg(lw->db), sqlite3_errstr(ldb_errcode(lw->db)));
	log_warnx("%s", text);
	set_error(lw, -1, text);
	lw->n.db_errors++;
	if (lw->feeding)
		feed_close(&lw->feed);
	lw->feeding = false;
	ldb_close(lw->db);
	lw->db = NULL;
	lw->broken = false;
	lw->pending = 0;
	lw->daily_changed = false;
	schedule_retry(lw);
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct lw *lw = arg;
	loop_timer_grid(t, NSEC_PER_SEC);
	if (lw->db == NULL) {
		if (now_mono_ns() >= lw->retry_at)
			db_open(lw);
		return;
	}
	feed_tick(&lw->feed);
	if (lw->broken) {
		db_down(lw, "writing");
		return;
	}
	if (commit_due(lw, false) < 0) {
		db_down(lw, "committing");
		return;
	}
	if (lw->daily_changed && !ldb_in_tx(lw->db))
		soh_check(lw);
}

/* ---- heartbeat ---- */

static void
ledger_block(struct lw *lw, struct heartbeat *hb)
{
	struct ledger *g = &hb->ledger;
	hb->has_ledger = true;
	g->queued_records = lw->pending;
	g->last_success = lw->last_success;
	g->last_contact = lw->last_success;
	if (lw->err.at != 0) {
		g->last_error_code = lw->err.code;
		snprintf(g->last_error_text, sizeof(g->last_error_text), "%.*s",
			 (int)sizeof(g->last_error_text) - 1, lw->err.text);
		g->last_error_at = lw->err.at;
	}
	g->dropped = lw->n.invalid;
	ledger_extra(g, "sessions", (double)lw->sessions);
	ledger_extra(g, "upserts", (double)(lw->n.inserted + lw->n.replaced));
	ledger_extra(g, "ignored_late", (double)lw->n.late);
	ledger_extra(g, "db_errors", (double)lw->n.db_errors);
	ledger_extra(g, "db_bytes", (double)ldb_disk_bytes(lw->path));
}

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct lw *lw = arg;
	if (lw->feeding)
		feed_counters(&lw->feed, hb);
	if (lw->db == NULL && lw->err.since != 0)
		hb_alert(hb, "ledger_db", lw->err.text, lw->err.since);
	if (lw->soh_alert[0] != '\0')
		hb_alert(hb, "soh_disagree", lw->soh_alert, lw->soh_since);
	hb_counter(hb, "db_open", lw->db != NULL);
	hb_counter(hb, "samples", (double)lw->n.samples);
	hb_counter(hb, "events", (double)lw->n.events);
	hb_counter(hb, "sessions", (double)lw->sessions);
	hb_counter(hb, "inserted", (double)lw->n.inserted);
	hb_counter(hb, "replaced", (double)lw->n.replaced);
	hb_counter(hb, "duplicates", (double)lw->n.duplicates);
	hb_counter(hb, "ignored_late", (double)lw->n.late);
	hb_counter(hb, "invalid_events", (double)lw->n.invalid);
	hb_counter(hb, "commits", (double)lw->n.commits);
	hb_counter(hb, "db_errors", (double)lw->n.db_errors);
	hb_counter(hb, "db_bytes", (double)ldb_disk_bytes(lw->path));
	ledger_block(lw, hb);
}

/* ---- stop: take what is pending, commit it with the point, go ---- */

static void
on_stop(struct worker *w, void *arg)
{
	struct lw *lw = arg;
	if (lw->db != NULL) {
		feed_drain_until(&lw->feed, now_mono_ns() + 2 * NSEC_PER_SEC);
		if (lw->broken || commit_due(lw, true) < 0)
			log_warnx("stopping without the last events committed: %s (they are read "
				  "again from the journal)",
				  ldb_errmsg(lw->db));
	}
	if (lw->feeding)
		feed_close(&lw->feed);
	ldb_close(lw->db);
	lw->db = NULL;
	log_info("stopped: %llu events, %llu upserts, %lld sessions in %s",
		 (unsigned long long)lw->n.events,
		 (unsigned long long)(lw->n.inserted + lw->n.replaced), (long long)lw->sessions,
		 lw->path);
	worker_exit(w, 0);
}

/* ---- start ---- */

int
lw_start(struct lw *lw, struct worker *w)
{
	char host[128];
	memset(lw, 0, sizeof(*lw));
	lw->w = w;
	lw->retry_s = LW_RETRY_MIN_S;
	snprintf(lw->vehicle, sizeof(lw->vehicle), "%s",
		 lp_vehicle(w->cfg.sup.vehicle, host, sizeof(host)));
	snprintf(lw->path, sizeof(lw->path), "%s/%s", w->statedir, LDB_FILE);
	lw->tick = loop_timer_new(w->loop, on_tick, lw);
	if (lw->tick == NULL)
		return -1;
	db_open(lw);
	loop_timer_grid(lw->tick, NSEC_PER_SEC);
	worker_set_heartbeat(w, on_heartbeat, lw);
	worker_set_stop(w, on_stop, lw);
	return 0;
}
