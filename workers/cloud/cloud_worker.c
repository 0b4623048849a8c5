/*
 * The cloud writer's loop handlers (see cloud_worker.h): samples into the
 * aggregator and the spool, commits with the checkpoint, the 1 s tick, sync
 * rounds and network events, heartbeats with the ledger, and a stop that
 * loses nothing.
 */
#include "cloud_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "lp.h"
#include "netwatch.h"
#include "sessrec.h"
#include "signals.h"
#include "spool_payload.h"

#define NETLINK_ROUND_GAP_NS (2 * NSEC_PER_SEC)

/* ---- records into the spool ---- */

static void
emit(struct cw *cw, const struct agg_out *o)
{
	uint64_t rid;
	buf_reset(&cw->payload);
	if (spool_payload_encode(&cw->payload, o->v, o->n) < 0 ||
	    spool_append(cw->sp, &o->m, cw->payload.p, cw->payload.len, &rid) < 0) {
		cw->n.append_failed++;
		return;
	}
	cw->n.appended++;
	cw->dirty = true;
	if (o->provisional)
		agg_emitted(&cw->agg, rid);
	if (o->supersede) { /* the new record holds all of the old one */
		spool_ack(cw->sp, o->supersede_rid, o->supersede_rid + 1, false);
		cw->n.superseded++;
	}
}

static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct cw *cw = arg;
	struct agg_out *o = &(struct agg_out){0};
	/* as the influx writer: a can worker that stamps boot time and sync
	 * state is believed; else the sample is young, the offset is now's */
	struct agg_sample s = {
	    .gen = m->generation,
	    .seq = m->seq,
	    .m = {.t_ns = m->t_ns,
		  .boot_ns = m->has_boot_ns ? m->boot_ns : now_boot - (now_real - m->t_ns),
		  .synced = m->has_unsynced ? !m->unsynced : cw->clk.synced},
	    .ids = m->ids,
	    .values = m->values,
	    .n = m->n_ids < m->n_values ? m->n_ids : m->n_values,
	};
	cw->n.samples++;
	cw->dirty = true;
	/* events pass the downsampling untouched: a record each, now (a restart
	 * from the checkpoint before the open bucket spools them again: the
	 * same points, in the same order) */
	sessrec_spool(cw->sp, m, &s.m, &cw->payload, &cw->sess);
	if (agg_add(&cw->agg, &s, o))
		emit(cw, o);
}

/* The bus went quiet: the open bucket goes out now, provisionally. */
static void
flush_open(struct cw *cw)
{
	struct agg_out *o = &(struct agg_out){0};
	if (agg_flush(&cw->agg, o))
		emit(cw, o);
}

/* ---- subscription from the checkpoint ---- */

/* Where to resume: after what this process already took (a
 * re-subscription), else after the durable checkpoint, else (a new spool)
 * from the oldest sample the journal holds. */
static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	struct cw *cw = arg;
	uint8_t raw[SPOOL_MARK_MAX];
	struct agg_mark m;
	size_t len = spool_mark(cw->sp, raw, sizeof(raw));
	*gen = *seq = 0;
	if (cw->agg.st.samples > 0) {
		*gen = cw->agg.gen;
		*seq = cw->agg.last_seq;
	} else if (len > 0 && agg_mark_decode(raw, len, &m) == 0) {
		*gen = m.gen;
		*seq = m.seq;
	} else if (len > 0) {
		log_warnx("spool mark of %zu bytes not understood: starting from the journal", len);
	}
}

/* ---- commits and sync rounds ---- */

static void
commit(struct cw *cw)
{
	uint8_t raw[AGG_MARK_LEN];
	struct agg_mark m;
	size_t len = 0;
	if (cw->dirty) {
		agg_checkpoint(&cw->agg, &m);
		agg_mark_encode(raw, &m);
		len = sizeof(raw);
	}
	if (spool_commit(cw->sp, raw, len) == 0) {
		cw->n.commits += len > 0;
		cw->dirty = false;
	} else {
		cw->n.commit_failed++;
	}
}

static bool
have_backlog(struct cw *cw)
{
	return spool_oldest_rid(cw->sp) < spool_next_rid(cw->sp);
}

/* A round: what came since the previous round is live, the rest backlog. */
static void
start_round(struct cw *cw)
{
	if (!have_backlog(cw)) {
		cw->n.rounds_skipped++; /* nothing to send: not even a /ping */
		return;
	}
	deliver_set_live_from(cw->dl, cw->round_rid);
	cw->round_rid = spool_next_rid(cw->sp);
	cw->n.rounds++;
	deliver_sync(cw->dl);
}

static void
on_netlink(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct cw *cw = arg;
	int rc = netwatch_read(fd);
	if (rc < 0) {
		log_warn("route netlink: read (network changes are noticed by probes only now)");
		loop_del_fd(l, fd);
		close(fd);
		cw->nl_fd = -1;
		return;
	}
	if (rc == 0)
		return;
	cw->n.netlink_events++;
	int64_t now = now_mono_ns();
	if (now - cw->last_nl_round < NETLINK_ROUND_GAP_NS || !have_backlog(cw))
		return;
	cw->last_nl_round = now;
	cw->n.netlink_rounds++;
	log_debug("network change: trying the remote now");
	start_round(cw);
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct cw *cw = arg;
	int64_t now = now_mono_ns();
	clock_read(&cw->clk);
	spool_clock_observe(cw->sp, cw->clk.synced, cw->clk.realtime_ns, cw->clk.boottime_ns);
	feed_tick(&cw->feed);
	if (agg_is_open(&cw->agg) && now - cw->feed.last_sample >= CW_IDLE_FLUSH_NS)
		flush_open(cw);
	commit(cw);
	spool_maintain(cw->sp);
	if (now >= cw->next_round) {
		/* from the tick's grid second: a tick a little earlier in its
		 * second than this one is still on time */
		cw->next_round = (now / NSEC_PER_SEC + cw->cfg->sync_interval_s) * NSEC_PER_SEC;
		start_round(cw);
	}
	loop_timer_grid(t, NSEC_PER_SEC);
}

/* ---- pacing, heartbeat ---- */

static int64_t
pace_cb(void *arg, size_t bytes)
{
	struct cw *cw = arg;
	return pace_take(&cw->pace, bytes, now_mono_ns());
}

static void
delivery_counters(struct cw *cw, struct heartbeat *hb)
{
	const struct deliver_stats *d = deliver_stats(cw->dl);
	hb_counter(hb, "session_events", (double)cw->sess.taken);
	hb_counter(hb, "session_events_spooled", (double)cw->sess.spooled);
	hb_counter(hb, "session_events_failed", (double)cw->sess.failed);
	hb_counter(hb, "session_events_superseded", (double)cw->sess.superseded);
	hb_counter(hb, "rounds", (double)cw->n.rounds);
	hb_counter(hb, "rounds_skipped", (double)cw->n.rounds_skipped);
	deliver_counters(cw->dl, hb);
	hb_counter(hb, "bytes_lp", (double)d->bytes);	     /* uncompressed, 2xx */
	hb_counter(hb, "bytes_body", (double)d->wire_bytes); /* as sent (gzip), 2xx */
	hb_counter(hb, "pace_waits", (double)cw->pace.waits);
	hb_counter(hb, "pace_bytes", (double)cw->pace.passed);
	hb_counter(hb, "pace_rate_bps", pace_rate(&cw->pace));
	int64_t next = cw->next_round - now_mono_ns();
	hb_counter(hb, "next_round_in_s", next > 0 ? (double)next / 1e9 : 0);
}

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct cw *cw = arg;
	struct spool_stats st;
	spool_stats(cw->sp, &st);
	hb->has_ledger = true;
	deliver_ledger(cw->dl, &hb->ledger);
	deliver_alerts(cw->dl, hb);
	feed_counters(&cw->feed, hb);
	hb_counter(hb, "samples", (double)cw->n.samples);
	hb_counter(hb, "records", (double)cw->n.appended);
	hb_counter(hb, "records_provisional", (double)cw->agg.st.provisional);
	hb_counter(hb, "records_superseded", (double)cw->n.superseded);
	hb_counter(hb, "samples_out_of_order", (double)cw->agg.st.out_of_order);
	hb_counter(hb, "values_skipped", (double)cw->agg.st.values_skipped);
	hb_counter(hb, "append_failed", (double)cw->n.append_failed);
	hb_counter(hb, "commits", (double)cw->n.commits);
	hb_counter(hb, "commit_failed", (double)cw->n.commit_failed);
	hb_counter(hb, "fsyncs", (double)st.fsyncs);
	hb_counter(hb, "netlink_events", (double)cw->n.netlink_events);
	hb_counter(hb, "clock_synced", cw->clk.synced ? 1 : 0);
	delivery_counters(cw, hb);
}

/* ---- stop: take what is pending, make it durable, go ---- */

static void
on_stop(struct worker *w, void *arg)
{
	struct cw *cw = arg;
	feed_drain_until(&cw->feed, now_mono_ns() + 2 * NSEC_PER_SEC);
	/* the open bucket goes out provisionally; the checkpoint stays before
	 * it, so a restart rebuilds it whole from the journal and supersedes
	 * this record (agg.h) */
	flush_open(cw);
	commit(cw);
	deliver_free(cw->dl); /* what is in flight is not acked: it goes again next time */
	cw->dl = NULL;
	if (spool_close(cw->sp) < 0)
		log_warnx("stopping with records not written to disk (see above)");
	cw->sp = NULL;
	feed_close(&cw->feed);
	log_info("stopped: %llu samples taken, %llu records spooled",
		 (unsigned long long)cw->n.samples, (unsigned long long)cw->n.appended);
	worker_exit(w, 0);
}

/* ---- start ---- */

static int
open_spool(struct cw *cw)
{
	char err[256];
	uint8_t raw[SPOOL_MARK_MAX];
	struct agg_mark m;
	struct spool_opts o = {.dir = cw->spool_dir,
			       .name = "cloud",
			       .max_bytes = (uint64_t)cw->cfg->spool_max_mb << 20};
	if (spool_open(&cw->sp, &o, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	size_t len = spool_mark(cw->sp, raw, sizeof(raw));
	if (len > 0 && agg_mark_decode(raw, len, &m) == 0)
		agg_resume(&cw->agg, &m);
	cw->round_rid = spool_next_rid(cw->sp); /* older records are the backlog */
	return 0;
}

/* While the remote is unreachable and a backlog waits, probes back off up
 * to the sync interval, at most a minute: a remote that comes back is
 * found within that even when no network event tells us. */
static int64_t
probe_cap_ns(const struct cfg_writer *c)
{
	int64_t s = c->sync_interval_s < 60 ? c->sync_interval_s : 60;
	return s * NSEC_PER_SEC;
}

static int
start_delivery(struct cw *cw)
{
	const struct cfg_writer *c = cw->cfg;
	size_t batch = pace_burst(&cw->pace) / 2;
	struct deliver_opts o = {
	    .name = "cloud",
	    .w = c,
	    .vehicle = cw->vehicle,
	    .deadletter_path = cw->deadletter,
	    .gzip = c->gzip,
	    .batch_bytes = batch < 1		? 1
			   : batch > (4u << 20) ? (4u << 20)
						: batch,
	    .hold_unsynced_ns = (int64_t)c->unsynced_hold_s * NSEC_PER_SEC,
	    .net_backoff_max_ns = probe_cap_ns(c),
	    .ping_timeout_ns = (int64_t)c->ping_timeout_s * NSEC_PER_SEC,
	    .t_step_ns = (int64_t)c->resolution_ms * NSEC_PER_MSEC,
	    .max_age_ns = (int64_t)c->retention_days * 86400 * NSEC_PER_SEC,
	    .pace_wait = pace_cb,
	    .arg = cw,
	};
	return deliver_new(&cw->dl, cw->w->loop, cw->sp, &o);
}

static void
watch_network(struct cw *cw)
{
	cw->nl_fd = netwatch_open();
	if (cw->nl_fd < 0 || loop_add_fd(cw->w->loop, cw->nl_fd, EPOLLIN, on_netlink, cw) < 0) {
		log_warn("route netlink (a returning network is noticed by probes only)");
		if (cw->nl_fd >= 0)
			close(cw->nl_fd);
		cw->nl_fd = -1;
	}
}

static void
set_paths(struct cw *cw, struct worker *w)
{
	char host[128];
	snprintf(cw->vehicle, sizeof(cw->vehicle), "%s",
		 lp_vehicle(w->cfg.sup.vehicle, host, sizeof(host)));
	snprintf(cw->dir, sizeof(cw->dir), "%s/cloud", w->statedir);
	snprintf(cw->spool_dir, sizeof(cw->spool_dir), "%s/cloud/spool", w->statedir);
	snprintf(cw->deadletter, sizeof(cw->deadletter), "%s/cloud/deadletter.lp", w->statedir);
	if (mkdir_p(cw->dir, 0700) < 0)
		log_warn("%s (the spool stays in memory until it exists)", cw->dir);
}

int
cw_start(struct cw *cw, struct worker *w)
{
	memset(cw, 0, sizeof(*cw));
	cw->w = w;
	cw->cfg = &w->cfg.cloud;
	cw->nl_fd = -1;
	buf_init(&cw->payload);
	set_paths(cw, w);
	clock_read(&cw->clk);
	agg_init(&cw->agg, (int64_t)cw->cfg->resolution_ms * NSEC_PER_MSEC);
	pace_init(&cw->pace, cw->cfg->max_bytes_per_5min,
		  (int64_t)cw->cfg->pacing_window_s * NSEC_PER_SEC, now_mono_ns());
	if (open_spool(cw) < 0 || start_delivery(cw) < 0)
		return -1;
	cw->tick = loop_timer_new(w->loop, on_tick, cw);
	if (cw->tick == NULL || feed_start(&cw->feed, w, take, resume, cw,
					   "no sample journal yet: nothing to sync") < 0)
		return -1;
	watch_network(cw);
	loop_timer_grid(cw->tick, NSEC_PER_SEC); /* the first round goes at the first tick */
	worker_set_heartbeat(w, on_heartbeat, cw);
	worker_set_stop(w, on_stop, cw);
	log_info("syncing to %s every %d s, resolution %d ms, %lld bytes per %d s, gzip %s",
		 cw->cfg->url, cw->cfg->sync_interval_s, cw->cfg->resolution_ms,
		 (long long)cw->cfg->max_bytes_per_5min, cw->cfg->pacing_window_s,
		 cw->cfg->gzip ? "on" : "off");
	return 0;
}
