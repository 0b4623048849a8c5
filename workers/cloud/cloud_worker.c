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
emit(struct cloud_worker *cloud, const struct agg_out *o)
{
	uint64_t rid;
	buf_reset(&cloud->payload);
	if (spool_payload_encode(&cloud->payload, o->v, o->n) < 0 ||
	    spool_append(cloud->sp, &o->m, cloud->payload.p, cloud->payload.len, &rid) < 0) {
		cloud->n.append_failed++;
		return;
	}
	cloud->n.appended++;
	cloud->dirty = true;
	if (o->provisional)
		agg_emitted(&cloud->agg, rid);
	if (o->supersede) { /* the new record holds all of the old one */
		spool_ack(cloud->sp, o->supersede_rid, o->supersede_rid + 1, false);
		cloud->n.superseded++;
	}
}

static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct cloud_worker *cloud = arg;
	struct agg_out *o = &(struct agg_out){0};
	/* as the influx writer: a can worker that stamps boot time and sync
	 * state is believed; else the sample is young, the offset is now's */
	struct agg_sample s = {
	    .gen = m->generation,
	    .seq = m->seq,
	    .m = {.t_ns = m->t_ns,
		  .boot_ns = m->has_boot_ns ? m->boot_ns : now_boot - (now_real - m->t_ns),
		  .synced = m->has_unsynced ? !m->unsynced : cloud->clk.synced},
	    .ids = m->ids,
	    .values = m->values,
	    .n = m->n_ids < m->n_values ? m->n_ids : m->n_values,
	};
	cloud->n.samples++;
	cloud->dirty = true;
	/* events pass the downsampling untouched: a record each, now (a restart
	 * from the checkpoint before the open bucket spools them again: the
	 * same points, in the same order) */
	sessrec_spool(cloud->sp, m, &s.m, &cloud->payload, &cloud->sess);
	if (agg_add(&cloud->agg, &s, o))
		emit(cloud, o);
}

/* The bus went quiet: the open bucket goes out now, provisionally. */
static void
flush_open(struct cloud_worker *cloud)
{
	struct agg_out *o = &(struct agg_out){0};
	if (agg_flush(&cloud->agg, o))
		emit(cloud, o);
}

/* ---- subscription from the checkpoint ---- */

/* Where to resume: after what this process already took (a
 * re-subscription), else after the durable checkpoint, else (a new spool)
 * from the oldest sample the journal holds. */
static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	struct cloud_worker *cloud = arg;
	uint8_t raw[SPOOL_MARK_MAX];
	struct agg_mark m;
	size_t len = spool_mark(cloud->sp, raw, sizeof(raw));
	*gen = *seq = 0;
	if (cloud->agg.st.samples > 0) {
		*gen = cloud->agg.gen;
		*seq = cloud->agg.last_seq;
	} else if (len > 0 && agg_mark_decode(raw, len, &m) == 0) {
		*gen = m.gen;
		*seq = m.seq;
	} else if (len > 0) {
		log_warnx("spool mark of %zu bytes not understood: starting from the journal", len);
	}
}

/* ---- commits and sync rounds ---- */

static void
commit(struct cloud_worker *cloud)
{
	uint8_t raw[AGG_MARK_LEN];
	struct agg_mark m;
	size_t len = 0;
	if (cloud->dirty) {
		agg_checkpoint(&cloud->agg, &m);
		agg_mark_encode(raw, &m);
		len = sizeof(raw);
	}
	if (spool_commit(cloud->sp, raw, len) == 0) {
		cloud->n.commits += len > 0;
		cloud->dirty = false;
	} else {
		cloud->n.commit_failed++;
	}
}

static bool
have_backlog(struct cloud_worker *cloud)
{
	return spool_oldest_rid(cloud->sp) < spool_next_rid(cloud->sp);
}

/* A round: what came since the previous round is live, the rest backlog. */
static void
start_round(struct cloud_worker *cloud)
{
	if (!have_backlog(cloud)) {
		cloud->n.rounds_skipped++; /* nothing to send: not even a /ping */
		return;
	}
	deliver_set_live_from(cloud->dl, cloud->round_rid);
	cloud->round_rid = spool_next_rid(cloud->sp);
	cloud->n.rounds++;
	deliver_sync(cloud->dl);
}

static void
on_netlink(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct cloud_worker *cloud = arg;
	int rc = netwatch_read(fd);
	if (rc < 0) {
		log_warn("route netlink: read (network changes are noticed by probes only now)");
		loop_del_fd(l, fd);
		close(fd);
		cloud->nl_fd = -1;
		return;
	}
	if (rc == 0)
		return;
	cloud->n.netlink_events++;
	int64_t now = now_mono_ns();
	if (now - cloud->last_nl_round < NETLINK_ROUND_GAP_NS || !have_backlog(cloud))
		return;
	cloud->last_nl_round = now;
	cloud->n.netlink_rounds++;
	log_debug("network change: trying the remote now");
	start_round(cloud);
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct cloud_worker *cloud = arg;
	int64_t now = now_mono_ns();
	clock_read(&cloud->clk);
	spool_clock_observe(cloud->sp, cloud->clk.synced, cloud->clk.realtime_ns,
			    cloud->clk.boottime_ns);
	feed_tick(&cloud->feed);
	if (agg_is_open(&cloud->agg) && now - cloud->feed.last_sample >= CW_IDLE_FLUSH_NS)
		flush_open(cloud);
	commit(cloud);
	spool_maintain(cloud->sp);
	if (now >= cloud->next_round) {
		/* from the tick's grid second: a tick a little earlier in its
		 * second than this one is still on time */
		cloud->next_round =
		    (now / NSEC_PER_SEC + cloud->cfg->sync_interval_s) * NSEC_PER_SEC;
		start_round(cloud);
	}
	loop_timer_grid(t, NSEC_PER_SEC);
}

/* ---- pacing, heartbeat ---- */

static int64_t
pace_cb(void *arg, size_t bytes)
{
	struct cloud_worker *cloud = arg;
	return pace_take(&cloud->pace, bytes, now_mono_ns());
}

static void
delivery_counters(struct cloud_worker *cloud, struct heartbeat *hb)
{
	const struct deliver_stats *d = deliver_stats(cloud->dl);
	hb_counter(hb, "session_events", (double)cloud->sess.taken);
	hb_counter(hb, "session_events_spooled", (double)cloud->sess.spooled);
	hb_counter(hb, "session_events_failed", (double)cloud->sess.failed);
	hb_counter(hb, "session_events_superseded", (double)cloud->sess.superseded);
	hb_counter(hb, "rounds", (double)cloud->n.rounds);
	hb_counter(hb, "rounds_skipped", (double)cloud->n.rounds_skipped);
	deliver_counters(cloud->dl, hb);
	hb_counter(hb, "bytes_lp", (double)d->bytes);	     /* uncompressed, 2xx */
	hb_counter(hb, "bytes_body", (double)d->wire_bytes); /* as sent (gzip), 2xx */
	hb_counter(hb, "pace_waits", (double)cloud->pace.waits);
	hb_counter(hb, "pace_bytes", (double)cloud->pace.passed);
	hb_counter(hb, "pace_rate_bps", pace_rate(&cloud->pace));
	int64_t next = cloud->next_round - now_mono_ns();
	hb_counter(hb, "next_round_in_s", next > 0 ? (double)next / 1e9 : 0);
}

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct cloud_worker *cloud = arg;
	struct spool_stats st;
	spool_stats(cloud->sp, &st);
	hb->has_ledger = true;
	deliver_ledger(cloud->dl, &hb->ledger);
	deliver_alerts(cloud->dl, hb);
	feed_counters(&cloud->feed, hb);
	hb_counter(hb, "samples", (double)cloud->n.samples);
	hb_counter(hb, "records", (double)cloud->n.appended);
	hb_counter(hb, "records_provisional", (double)cloud->agg.st.provisional);
	hb_counter(hb, "records_superseded", (double)cloud->n.superseded);
	hb_counter(hb, "samples_out_of_order", (double)cloud->agg.st.out_of_order);
	hb_counter(hb, "values_skipped", (double)cloud->agg.st.values_skipped);
	hb_counter(hb, "append_failed", (double)cloud->n.append_failed);
	hb_counter(hb, "commits", (double)cloud->n.commits);
	hb_counter(hb, "commit_failed", (double)cloud->n.commit_failed);
	hb_counter(hb, "fsyncs", (double)st.fsyncs);
	hb_counter(hb, "netlink_events", (double)cloud->n.netlink_events);
	hb_counter(hb, "clock_synced", cloud->clk.synced ? 1 : 0);
	delivery_counters(cloud, hb);
}

/* ---- stop: take what is pending, make it durable, go ---- */

static void
on_stop(struct worker *w, void *arg)
{
	struct cloud_worker *cloud = arg;
	feed_drain_until(&cloud->feed, now_mono_ns() + 2 * NSEC_PER_SEC);
	/* the open bucket goes out provisionally; the checkpoint stays before
	 * it, so a restart rebuilds it whole from the journal and supersedes
	 * this record (agg.h) */
	flush_open(cloud);
	commit(cloud);
	deliver_free(cloud->dl); /* what is in flight is not acked: it goes again next time */
	cloud->dl = NULL;
	if (spool_close(cloud->sp) < 0)
		log_warnx("stopping with records not written to disk (see above)");
	cloud->sp = NULL;
	feed_close(&cloud->feed);
	log_info("stopped: %llu samples taken, %llu records spooled",
		 (unsigned long long)cloud->n.samples, (unsigned long long)cloud->n.appended);
	worker_exit(w, 0);
}

/* ---- start ---- */

static int
open_spool(struct cloud_worker *cloud)
{
	char err[256];
	uint8_t raw[SPOOL_MARK_MAX];
	struct agg_mark m;
	struct spool_opts o = {.dir = cloud->spool_dir,
			       .name = "cloud",
			       .max_bytes = (uint64_t)cloud->cfg->spool_max_mb << 20};
	if (spool_open(&cloud->sp, &o, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	size_t len = spool_mark(cloud->sp, raw, sizeof(raw));
	if (len > 0 && agg_mark_decode(raw, len, &m) == 0)
		agg_resume(&cloud->agg, &m);
	cloud->round_rid = spool_next_rid(cloud->sp); /* older records are the backlog */
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
start_delivery(struct cloud_worker *cloud)
{
	const struct cfg_writer *c = cloud->cfg;
	size_t batch = pace_burst(&cloud->pace) / 2;
	struct deliver_opts o = {
	    .name = "cloud",
	    .w = c,
	    .vehicle = cloud->vehicle,
	    .deadletter_path = cloud->deadletter,
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
	    .arg = cloud,
	};
	return deliver_new(&cloud->dl, cloud->w->loop, cloud->sp, &o);
}

static void
watch_network(struct cloud_worker *cloud)
{
	cloud->nl_fd = netwatch_open();
	if (cloud->nl_fd < 0 ||
	    loop_add_fd(cloud->w->loop, cloud->nl_fd, EPOLLIN, on_netlink, cloud) < 0) {
		log_warn("route netlink (a returning network is noticed by probes only)");
		if (cloud->nl_fd >= 0)
			close(cloud->nl_fd);
		cloud->nl_fd = -1;
	}
}

static void
set_paths(struct cloud_worker *cloud, struct worker *w)
{
	char host[128];
	snprintf(cloud->vehicle, sizeof(cloud->vehicle), "%s",
		 lp_vehicle(w->cfg.sup.vehicle, host, sizeof(host)));
	snprintf(cloud->dir, sizeof(cloud->dir), "%s/cloud", w->statedir);
	snprintf(cloud->spool_dir, sizeof(cloud->spool_dir), "%s/cloud/spool", w->statedir);
	snprintf(cloud->deadletter, sizeof(cloud->deadletter), "%s/cloud/deadletter.lp",
		 w->statedir);
	if (mkdir_p(cloud->dir, 0700) < 0)
		log_warn("%s (the spool stays in memory until it exists)", cloud->dir);
}

int
cloud_worker_start(struct cloud_worker *cloud, struct worker *w)
{
	memset(cloud, 0, sizeof(*cloud));
	cloud->w = w;
	cloud->cfg = &w->cfg.cloud;
	cloud->nl_fd = -1;
	buf_init(&cloud->payload);
	set_paths(cloud, w);
	clock_read(&cloud->clk);
	agg_init(&cloud->agg, (int64_t)cloud->cfg->resolution_ms * NSEC_PER_MSEC);
	pace_init(&cloud->pace, cloud->cfg->max_bytes_per_5min,
		  (int64_t)cloud->cfg->pacing_window_s * NSEC_PER_SEC, now_mono_ns());
	if (open_spool(cloud) < 0 || start_delivery(cloud) < 0)
		return -1;
	cloud->tick = loop_timer_new(w->loop, on_tick, cloud);
	if (cloud->tick == NULL || feed_start(&cloud->feed, w, take, resume, cloud,
					      "no sample journal yet: nothing to sync") < 0)
		return -1;
	watch_network(cloud);
	loop_timer_grid(cloud->tick, NSEC_PER_SEC); /* the first round goes at the first tick */
	worker_set_heartbeat(w, on_heartbeat, cloud);
	worker_set_stop(w, on_stop, cloud);
	log_info("syncing to %s every %d s, resolution %d ms, %lld bytes per %d s, gzip %s",
		 cloud->cfg->url, cloud->cfg->sync_interval_s, cloud->cfg->resolution_ms,
		 (long long)cloud->cfg->max_bytes_per_5min, cloud->cfg->pacing_window_s,
		 cloud->cfg->gzip ? "on" : "off");
	return 0;
}
