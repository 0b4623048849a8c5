/*
 * The influx writer's loop handlers (see influx_worker.h): samples in,
 * spool commits with the subscription checkpoint, the 1 s tick, heartbeats
 * with the ledger and alerts, and a stop that loses nothing.
 */
#include "influx_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sessrec.h"
#include "lp.h"
#include "signals.h"
#include "spool_fmt.h"
#include "spool_payload.h"

void
iw_mark_encode(uint8_t out[IW_MARK_LEN], uint64_t gen, uint64_t seq)
{
	out[0] = 'S';
	out[1] = '1';
	le64_put(out + 2, gen);
	le64_put(out + 10, seq);
}

int
iw_mark_decode(const uint8_t *in, size_t len, uint64_t *gen, uint64_t *seq)
{
	if (len != IW_MARK_LEN || in[0] != 'S' || in[1] != '1')
		return -1;
	*gen = le64_get(in + 2);
	*seq = le64_get(in + 10);
	return 0;
}

/* ---- samples into the spool ---- */

static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct iw *iw = arg;
	struct spool_value v[SIG_ID_MAX];
	size_t n = 0;
	uint64_t rid;

	iw->n.samples++;
	iw->gen = m->generation;
	iw->seq = m->seq;
	iw->dirty = true;
	/* a can worker that stamps boot time and sync state is believed; else
	 * the sample is young (read within milliseconds of its capture): the
	 * offset between the clocks now is the offset then */
	struct spool_meta meta = {
	    .t_ns = m->t_ns,
	    .boot_ns = m->has_boot_ns ? m->boot_ns : now_boot - (now_real - m->t_ns),
	    .synced = m->has_unsynced ? !m->unsynced : iw->clk.synced,
	};
	sessrec_spool(iw->sp, m, &meta, &iw->payload, &iw->sess);
	for (size_t i = 0; i < m->n_ids && n < SIG_ID_MAX; i++) {
		const struct sig_info *s = sig_by_id(m->ids[i]);
		if (!sig_published(s)) {
			iw->n.values_skipped++;
			continue;
		}
		v[n].id = (uint16_t)m->ids[i];
		v[n].kind = SPK_VALUE;
		v[n++].v = m->values[i];
	}
	if (n == 0) {
		iw->n.empty += m->n_events == 0;
		return;
	}
	buf_reset(&iw->payload);
	if (spool_payload_encode(&iw->payload, v, n) < 0 ||
	    spool_append(iw->sp, &meta, iw->payload.p, iw->payload.len, &rid) < 0) {
		iw->n.append_failed++;
		return;
	}
	iw->n.appended++;
}

/* Where to resume: after what this process already took (a
 * re-subscription), else after the durable checkpoint, else (a new spool)
 * from the oldest sample the journal holds; a resend of what an older spool
 * delivered is harmless (same timestamps: the server overwrites). */
static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	struct iw *iw = arg;
	uint8_t mark[SPOOL_MARK_MAX];
	size_t len = spool_mark(iw->sp, mark, sizeof(mark));
	*gen = *seq = 0;
	if (iw->gen != 0) {
		*gen = iw->gen;
		*seq = iw->seq;
	} else if (len > 0 && iw_mark_decode(mark, len, gen, seq) < 0) {
		log_warnx("spool mark of %zu bytes not understood: starting from the journal",
			  len);
		*gen = *seq = 0;
	}
}

/* ---- the 1 s tick ---- */

static void
commit(struct iw *iw)
{
	uint8_t mark[IW_MARK_LEN];
	size_t len = 0;
	if (iw->dirty) {
		iw_mark_encode(mark, iw->gen, iw->seq);
		len = sizeof(mark);
	}
	if (spool_commit(iw->sp, mark, len) == 0) {
		iw->n.commits += len > 0;
		iw->dirty = false;
	} else {
		iw->n.commit_failed++;
	}
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct iw *iw = arg;
	clock_read(&iw->clk);
	spool_clock_observe(iw->sp, iw->clk.synced, iw->clk.realtime_ns, iw->clk.boottime_ns);
	feed_tick(&iw->feed);
	commit(iw);
	spool_maintain(iw->sp);
	deliver_kick(iw->dl);
	loop_timer_grid(t, NSEC_PER_SEC);
}

/* ---- heartbeat ---- */

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct iw *iw = arg;
	const struct deliver_stats *d = deliver_stats(iw->dl);
	struct spool_stats st;
	spool_stats(iw->sp, &st);
	hb->has_ledger = true;
	deliver_ledger(iw->dl, &hb->ledger);
	deliver_alerts(iw->dl, hb);
	feed_counters(&iw->feed, hb);
	hb_counter(hb, "samples", (double)iw->n.samples);
	hb_counter(hb, "spooled", (double)iw->n.appended);
	hb_counter(hb, "samples_unpublished_only", (double)iw->n.empty);
	hb_counter(hb, "append_failed", (double)iw->n.append_failed);
	hb_counter(hb, "session_events", (double)iw->sess.taken);
	hb_counter(hb, "session_events_spooled", (double)iw->sess.spooled);
	hb_counter(hb, "session_events_failed", (double)iw->sess.failed);
	hb_counter(hb, "session_events_superseded", (double)iw->sess.superseded);
	hb_counter(hb, "commits", (double)iw->n.commits);
	hb_counter(hb, "commit_failed", (double)iw->n.commit_failed);
	hb_counter(hb, "fsyncs", (double)st.fsyncs);
	hb_counter(hb, "clock_synced", iw->clk.synced ? 1 : 0);
	deliver_counters(iw->dl, hb);
	hb_counter(hb, "bytes_lp", (double)d->bytes);
}

/* ---- stop: take what is pending, make it durable, go ---- */

static void
on_stop(struct worker *w, void *arg)
{
	struct iw *iw = arg;
	feed_drain_until(&iw->feed, now_mono_ns() + 2 * NSEC_PER_SEC);
	commit(iw);
	deliver_free(iw->dl); /* what is in flight is not acked: it goes again next time */
	iw->dl = NULL;
	if (spool_close(iw->sp) < 0)
		log_warnx("stopping with records not written to disk (see above)");
	iw->sp = NULL;
	feed_close(&iw->feed);
	log_info("stopped: %llu samples taken, %llu spooled", (unsigned long long)iw->n.samples,
		 (unsigned long long)iw->n.appended);
	worker_exit(w, 0);
}

/* ---- start ---- */

static int
open_spool(struct iw *iw)
{
	char err[256];
	struct spool_opts o = {.dir = iw->spool_dir, .name = "influx",
			       .max_bytes = (uint64_t)iw->cfg->spool_max_mb << 20};
	if (spool_open(&iw->sp, &o, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

int
iw_start(struct iw *iw, struct worker *w)
{
	char host[128];
	memset(iw, 0, sizeof(*iw));
	iw->w = w;
	iw->cfg = &w->cfg.influx;
	buf_init(&iw->payload);
	snprintf(iw->vehicle, sizeof(iw->vehicle), "%s",
		 lp_vehicle(w->cfg.sup.vehicle, host, sizeof(host)));
	snprintf(iw->spool_dir, sizeof(iw->spool_dir), "%s/spool-influx", w->statedir);
	snprintf(iw->deadletter, sizeof(iw->deadletter), "%s/influx-deadletter.lp", w->statedir);
	if (mkdir_p(w->statedir, 0700) < 0)
		log_warn("statedir %s (the spool stays in memory until it exists)", w->statedir);
	clock_read(&iw->clk);
	if (open_spool(iw) < 0)
		return -1;
	struct deliver_opts o = {.name = "influx", .w = iw->cfg, .vehicle = iw->vehicle,
				 .deadletter_path = iw->deadletter,
				 .hold_unsynced_ns = (int64_t)iw->cfg->unsynced_hold_s * NSEC_PER_SEC};
	if (deliver_new(&iw->dl, w->loop, iw->sp, &o) < 0)
		return -1;
	iw->tick = loop_timer_new(w->loop, on_tick, iw);
	if (iw->tick == NULL ||
	    feed_start(&iw->feed, w, take, resume, iw, "no sample journal yet: nothing to write") < 0)
		return -1;
	loop_timer_grid(iw->tick, NSEC_PER_SEC);
	worker_set_heartbeat(w, on_heartbeat, iw);
	worker_set_stop(w, on_stop, iw);
	deliver_kick(iw->dl);
	return 0;
}
