/*
 * The CAN worker (see can_worker.h). Single-threaded in the worker's loop;
 * the only other thread touching us is nng's pipe notifier, which updates
 * one atomic. Nothing here blocks on a subscriber (PUB drops), the disk
 * (buffered recorder, atomic small energy and session checkpoint files,
 * written from the 1 s tick) or the network. Session events ride in the
 * next sample cut (an empty one is forced when a tick closes without
 * values) and go alone on topic 'e'.
 */
#include "can_worker.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/pub.h>

#include "bus.h"
#include "can_resume.h"
#include "journal.h"
#include "log.h"
#include "msg.h"
#include "snap.h"
#include "util.h"

#define RETRY_NS (2LL * NSEC_PER_SEC)
#define ENERGY_SAVE_NS (60LL * NSEC_PER_SEC)

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct can_worker *cw = arg;

	atomic_fetch_add(&cw->frame_pipes, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

/* ---- energy counters across restarts (snapshot) and reboots (file) ---- */

static void
energy_restore(struct can_worker *cw)
{
	struct snap_value o, i;
	double fo = NAN, fi = NAN;
	char *txt = file_read_str(cw->energy_path, 256, NULL);

	if (txt != NULL && sscanf(txt, "%lf %lf", &fo, &fi) != 2)
		fo = fi = NAN;
	free(txt);
	if (snap_read(cw->snap, SIG_battery_energy_out_kwh, &o) == 0 &&
	    snap_read(cw->snap, SIG_battery_energy_in_kwh, &i) == 0) {
		fo = o.value; /* the snapshot outlives us, the file outlives a reboot */
		fi = i.value;
	}
	if (isfinite(fo) && isfinite(fi)) {
		decoder_set_energy(&cw->dec, fo, fi);
		log_info("energy counters restored: out %.3f kWh, in %.3f kWh", fo, fi);
	}
}

static void
energy_save(struct can_worker *cw)
{
	char txt[128];
	int n = snprintf(txt, sizeof(txt), "%.9f %.9f\n", cw->dec.e_out_kwh, cw->dec.e_in_kwh);

	if (file_write_atomic(cw->energy_path, txt, (size_t)n, 0640) < 0)
		log_warn("save %s", cw->energy_path);
	cw->energy_saved_mono = now_mono_ns();
}

/* ---- where a replay was (can_resume.h) ---- */

/* The state as of the sample about to go into the journal as seq. */
static void
resume_save(struct can_worker *cw, uint64_t gen, uint64_t seq, int64_t t)
{
	struct replay_timeline tl;
	struct resume_rec *r;
	const struct can_rec *f = cw->cur_frame;

	if (cw->resume == NULL || src_replay_timeline(&cw->src[0], &tl) < 0)
		return;
	r = can_resume_begin(cw->resume);
	memcpy(r->boot_id, cw->clock.boot_id, sizeof(r->boot_id));
	memcpy(r->spec, cw->resume_spec, sizeof(r->spec));
	r->journal_gen = gen;
	r->seq = seq;
	r->sample_t_ns = t;
	r->dev = cw->file_id->dev;
	r->ino = cw->file_id->ino;
	r->size = cw->file_id->size;
	r->mtime_ns = cw->file_id->mtime_ns;
	r->at.tl = tl;
	r->at.pos = cw->pipe_frames; /* the frame going through closed the sample: it is next */
	r->at.next_t = f != NULL ? f->t_ns : 0;
	r->at.next_id = f != NULL ? f->id : REPLAY_NEXT_UNKNOWN;
	r->at.errors = cw->src[0].errors;
	r->asleep = cw->asleep;
	r->hold_done = cw->hold.done;
	r->dec = cw->dec;
	r->cut = cw->cut;
	r->sess = cw->sess->ss;
	can_resume_commit(cw->resume);
}

/* The time of the journal's sample seq (0 for none, seq 0). */
static int
journal_t(struct can_worker *cw, uint64_t seq, int64_t *t)
{
	size_t len;
	Sample *m;

	*t = 0;
	if (seq == 0)
		return 0;
	if (journal_read(cw->journal, seq, cw->pack, MSG_SAMPLE_MAX, &len) < 0 ||
	    (m = msg_sample_unpack(cw->pack, len)) == NULL)
		return -1;
	*t = m->t_ns;
	leafmon__v1__sample__free_unpacked(m, NULL);
	return 0;
}

/* The saved state, when it belongs to this replay, boot, file and journal. */
static int
resume_check(struct can_worker *cw, struct resume_rec *r, char *why, size_t len)
{
	uint64_t gen = journal_generation(cw->journal), seq = journal_next_seq(cw->journal) - 1;
	int64_t t;

	if (can_resume_find(cw->resume, gen, seq, r, why, len) < 0)
		return -1;
	if (strcmp(r->boot_id, cw->clock.boot_id) != 0)
		return snprintf(why, len, "saved before a reboot"), -1;
	if (strcmp(r->spec, cw->resume_spec) != 0)
		return snprintf(why, len, "saved for another source or settings (%.200s)", r->spec),
		       -1;
	if (r->dev != cw->file_id->dev || r->ino != cw->file_id->ino ||
	    r->size != cw->file_id->size || r->mtime_ns != cw->file_id->mtime_ns)
		return snprintf(why, len, "the log file changed"), -1;
	if (journal_t(cw, seq, &t) < 0 || t != r->sample_t_ns)
		return snprintf(why, len, "the journal's sample %llu is not the saved one",
				(unsigned long long)seq),
		       -1;
	return 0;
}

/* Before the replay opens: keep a position to go on from, in cw->resume_at. */
static void
resume_prepare(struct can_worker *cw)
{
	const struct config *cfg = &cw->w->cfg;
	const struct src_spec *sp = &cfg->can.src[0];
	char why[300];

	if (cfg->can.nsrc != 1 || sp->kind != SRC_REPLAY || strcmp(sp->path, "-") == 0)
		return;
	if ((cw->file_id = calloc(2, sizeof(*cw->file_id))) == NULL ||
	    can_resume_open(&cw->resume, cw->w->rundir) < 0) {
		log_warn("%s/%s: a restart will replay from the top", cw->w->rundir,
			 CAN_RESUME_FILE);
		free(cw->file_id);
		cw->file_id = NULL;
		return;
	}
	can_resume_spec(cw->resume_spec, sizeof(cw->resume_spec), sp, cfg->can.generation,
			cfg->can.publish_interval_ms);
	can_resume_file(cw->file_id, sp->path);
	if (resume_check(cw, &cw->file_id[1], why, sizeof(why)) == 0) {
		cw->resume_at = cw->file_id[1].at;
		cw->src[0].resume = &cw->resume_at;
	} else
		log_info("replay %s: from the top (%s)", sp->path, why);
}

/* After the open: take the decoder and the cutter as they were. */
static void
resume_apply(struct can_worker *cw)
{
	struct can_src *s = &cw->src[0];
	const struct resume_rec *r = cw->file_id != NULL ? &cw->file_id[1] : NULL;

	if (s->resume != NULL && !s->resumed)
		log_info("replay %s: from the top (%s)", s->spec.path, s->resume_why);
	if (s->resume == NULL || !s->resumed) {
		int64_t t;
		uint64_t seq = journal_next_seq(cw->journal) - 1;
		s->resume = NULL;
		if (cw->resume != NULL && s->state == SRC_UP && journal_t(cw, seq, &t) == 0)
			resume_save(cw, journal_generation(cw->journal), seq, t); /* the start */
		return;
	}
	s->resume = NULL;
	cw->dec = r->dec;
	cw->cut = r->cut;
	can_sessions_resume(cw->sess, &r->sess); /* not the checkpoint: this frame's state */
	cw->hold.done = r->hold_done;
	cw->asleep = r->asleep;
	cw->pipe_frames = r->at.pos;
	cw->resumed = true;
	log_info("replay %s: going on at frame %llu after sample %llu", s->spec.path,
		 (unsigned long long)r->at.pos, (unsigned long long)r->seq);
}

/* ---- samples ---- */

/* The queued session events that fit beside the sample's values. */
static size_t
attach_events(struct can_worker *cw, Sample *m, Event *ev, Event **evp)
{
	struct can_sessions *cs = cw->sess;

	m->events = evp;
	m->n_events = 0;
	for (size_t i = 0; i < cs->nq; i++) {
		Event e = LEAFMON__V1__EVENT__INIT;
		e.t_ns = cs->q[i].t_ns;
		e.kind = (char *)session_kind_name(cs->q[i].kind);
		e.detail = cs->q[i].json;
		e.phase = (char *)session_phase_name(cs->q[i].phase);
		e.has_start_ns = true;
		e.start_ns = cs->q[i].start_ns;
		ev[i] = e;
		evp[i] = &ev[i];
		m->n_events = i + 1;
		if (leafmon__v1__sample__get_packed_size(m) > MSG_SAMPLE_MAX) {
			m->n_events = i; /* the rest go in the next one */
			break;
		}
	}
	return m->n_events;
}

/* One sample: the values of the tick and the events queued; 0, or -1. */
static int
publish_one(struct can_worker *cw)
{
	Sample m = LEAFMON__V1__SAMPLE__INIT;
	uint32_t ids[SIG_ID_MAX];
	Event ev[CAN_EVQ_MAX], *evp[CAN_EVQ_MAX];
	size_t len, nev;
	int rc;

	for (size_t i = 0; i < cw->so.n; i++)
		ids[i] = cw->so.ids[i];
	m.generation = journal_generation(cw->journal);
	m.seq = journal_next_seq(cw->journal);
	m.t_ns = cw->so.t_ns;
	m.n_ids = m.n_values = cw->so.n;
	m.ids = ids;
	m.values = cw->so.values;
	if (cw->live_times) { /* for re-basing once NTP syncs (DESIGN.md, Time) */
		m.has_boot_ns = true;
		m.boot_ns = cw->so.t_ns - (cw->clock.realtime_ns - cw->clock.boottime_ns);
		m.has_unsynced = true;
		m.unsynced = !cw->clock.synced;
	}
	nev = attach_events(cw, &m, ev, evp);
	len = leafmon__v1__sample__get_packed_size(&m);
	if (len > MSG_SAMPLE_MAX) {
		cw->sample_errors++;
		return -1;
	}
	resume_save(cw, m.generation, m.seq, m.t_ns); /* before the journal: see can_resume.h */
	cw->pack[0] = TOPIC_SAMPLE;
	leafmon__v1__sample__pack(&m, cw->pack + 1);
	if ((rc = journal_append(cw->journal, m.seq, cw->pack + 1, len)) < 0) {
		cw->sample_errors++;
		log_warnx("journal append seq %llu: %s", (unsigned long long)m.seq, strerror(-rc));
		return -1; /* the events wait for the next sample */
	}
	bus_publish_raw(cw->pub_samples, cw->pack, len + 1);
	if (m.n_ids > 0) {
		cw->samples++; /* as many as `leafmon decode` cuts */
		cw->keyframes += cw->so.keyframe;
	} else
		cw->event_samples++;
	for (size_t i = 0; i < nev; i++) /* and alone, for live listeners */
		bus_publish(cw->pub_samples, TOPIC_EVENT, &ev[i].base);
	can_sessions_drop(cw->sess, nev);
	return nev > 0 || m.n_ids > 0 ? 0 : -1;
}

/* The sample in cw->so, then samples of events alone while some wait. */
static void
publish_sample(struct can_worker *cw)
{
	while (publish_one(cw) == 0 && cw->sess->nq > 0) {
		cw->so.n = 0;
		cw->so.keyframe = false;
	}
}

/* Events that wait while no tick closes (a quiet bus): a sample now. */
static void
publish_events(struct can_worker *cw, int64_t t)
{
	if (cw->sess->nq == 0)
		return;
	if (!cutter_flush(&cw->cut, &cw->so)) {
		cw->so.n = 0;
		cw->so.keyframe = false;
		cw->so.t_ns = t;
	}
	publish_sample(cw);
}

static void
publish_frame(struct can_worker *cw, const struct can_rec *f)
{
	Frame m = LEAFMON__V1__FRAME__INIT;
	uint8_t buf[MSG_FRAME_MAX];
	size_t len;

	m.t_ns = f->t_ns;
	m.id = f->id;
	m.flags = f->flags;
	m.bus = f->bus;
	m.data.data = (uint8_t *)f->data;
	m.data.len = f->len;
	len = leafmon__v1__frame__get_packed_size(&m);
	if (len > sizeof(buf))
		return;
	leafmon__v1__frame__pack(&m, buf);
	if (bus_publish_raw(cw->pub_frames, buf, len) == 0)
		cw->frames_published++;
}

/* Values into the snapshot and the open sample. */
static void
take(struct can_worker *cw, const struct sig_update *u, size_t n, int64_t t, unsigned bus)
{
	uint32_t fl = SNAP_VALID | (bus << SNAP_BUS_SHIFT);

	for (size_t i = 0; i < n; i++)
		snap_write(cw->snap, u[i].id, u[i].value, t, fl);
	cutter_add(&cw->cut, u, n);
}

static void
wake(struct can_worker *cw, const struct can_rec *f)
{
	struct sig_update u = {SIG_can_bus_asleep, 0};

	cw->asleep = false;
	snap_mark_all(cw->snap, 0, SNAP_STALE);
	take(cw, &u, 1, f->t_ns, f->bus);
	log_info("bus awake");
}

/* One frame through the cutter and the decoder (as decode_run.c does). */
static void
pipe_frame(struct can_worker *cw, const struct can_rec *f)
{
	struct sig_update u[2 * DEC_MAX_UPDATES + GPS_MAX_UPDATES]; /* decoded, polled, GPS */

	/* a tick that closes carries the events queued in it, values or not */
	bool closes = cw->cut.open && f->t_ns >= cw->cut.tick_end;

	cw->cur_frame = f;
	if (cutter_frame(&cw->cut, f->t_ns, &cw->so) || (closes && cw->sess->nq > 0))
		publish_sample(cw);
	cw->cur_frame = NULL;
	if (cw->asleep)
		wake(cw, f);
	can_poll_frame(&cw->poll, &cw->dec, f, cw->last_frame_mono);
	size_t k = decoder_frame(&cw->dec, f, u, DEC_MAX_UPDATES);
	for (size_t i = 0; i < cw->poll.nu; i++) /* a polled reply this frame completed */
		u[k++] = cw->poll.u[i];
	take(cw, u, k, f->t_ns, f->bus);
	memcpy(u + k, cw->gps_pend, cw->gps_npend * sizeof(u[0])); /* the session module's */
	can_sessions_frame(cw->sess, f->t_ns, u, k + cw->gps_npend);
	cw->gps_npend = 0;
	cw->last_frame_t = f->t_ns;
	cw->pipe_frames++;
}

/* Decode what the hold kept (the bus asleep, a stop). */
static void
release_held(struct can_worker *cw)
{
	const struct can_rec *held;
	size_t n = dec_hold_flush(&cw->hold, &held);

	for (size_t i = 0; i < n; i++)
		pipe_frame(cw, &held[i]);
}

void
can_worker_frames(struct can_worker *cw, const struct can_rec *f, size_t n)
{
	bool listeners = atomic_load_explicit(&cw->frame_pipes, memory_order_relaxed) > 0;
	const struct can_rec *out;

	cw->last_frame_mono = now_mono_ns();
	for (size_t i = 0; i < n; i++) {
		if (listeners) /* raw frames go out as they come, held or not */
			publish_frame(cw, &f[i]);
		if (cw->recording)
			recorder_write(&cw->rec, &f[i], f[i].t_ns);
		size_t k = dec_hold_push(&cw->hold, &cw->dec, &f[i], &out);
		if (cw->hold.n == 1)
			cw->hold_mono = cw->last_frame_mono;
		for (size_t j = 0; j < k; j++)
			pipe_frame(cw, &out[j]);
	}
	can_poll_run(&cw->poll, cw->last_frame_mono);
}

/* ---- the GPS ---- */

/*
 * A GPS report's time on the frame clock: the last frame's time plus the
 * time since it came while the bus is awake (so a keep_time replay's
 * samples stay in order), else now. The session module sees the report
 * with the next frame, so its sleeps and gaps stay on frame time.
 */
static void
on_gps(const struct sig_update *u, size_t n, void *arg)
{
	struct can_worker *cw = arg;
	int64_t t = now_real_ns();

	if (!cw->asleep && cw->last_frame_mono != 0)
		t = cw->last_frame_t + (now_mono_ns() - cw->last_frame_mono);
	if (cutter_frame(&cw->cut, t, &cw->so))
		publish_sample(cw);
	take(cw, u, n, t, BUS_EV);
	for (size_t i = 0; i < n; i++) { /* the newest of each signal */
		size_t j = 0;
		while (j < cw->gps_npend && cw->gps_pend[j].id != u[i].id)
			j++;
		if (j == cw->gps_npend && cw->gps_npend < GPS_MAX_UPDATES)
			cw->gps_npend++;
		if (j < cw->gps_npend)
			cw->gps_pend[j] = u[i];
	}
}

/* ---- sources ---- */

static void
on_frames(struct can_src *s, const struct can_rec *f, size_t n, void *arg)
{
	can_worker_frames(arg, f, n);
}

static void
on_src_fail(struct can_src *s, void *arg)
{
	struct can_worker *cw = arg;
	int i = (int)(s - cw->src);

	log_warnx("source %s failed: %s (retrying)", s->spec.path, s->err);
	cw->src_down_since[i] = now_real_ns();
	cw->src_outages[i]++;
}

static int
src_try(struct can_worker *cw, int i)
{
	struct can_src *s = &cw->src[i];

	s->gen = cw->w->cfg.can.generation;
	s->batch_ns = (int64_t)cw->w->cfg.can.read_batch_ms * NSEC_PER_MSEC;
	s->tx = cw->w->cfg.can.poll_cells && cw->w->cfg.can.src[i].bus == BUS_EV;
	if (src_open(s, cw->w->loop, &cw->w->cfg.can.src[i], on_frames, on_src_fail, cw) == 0) {
		if (cw->src_down_since[i] != 0) {
			int64_t gap = now_real_ns() - cw->src_down_since[i];
			cw->src_down_ns[i] += gap;
			log_info("source %s is back after %.1f s",
				 s->spec.path[0] ? s->spec.path : "sim", (double)gap / 1e9);
		}
		cw->src_down_since[i] = 0;
		if (s->spec.kind == SRC_REPLAY && !cw->key_origin_set) {
			/* keyframes where `leafmon decode` puts them in the log */
			cutter_keyframes_from(&cw->cut, s->rebase_ns);
			cw->key_origin_set = true;
		}
		return 0;
	}
	if (cw->src_down_since[i] == 0) {
		log_warnx("source %s: %s (retrying every second)", srcspec_kind_name(s->spec.kind),
			  s->err);
		cw->src_down_since[i] = now_real_ns();
	}
	return -1;
}

/* ---- once a second ---- */

static void
fall_asleep(struct can_worker *cw)
{
	struct sig_update u = {SIG_can_bus_asleep, 1};
	int64_t t = now_real_ns();

	release_held(cw);
	cw->asleep = true;
	if (cutter_frame(&cw->cut, t, &cw->so))
		publish_sample(cw);
	take(cw, &u, 1, t, BUS_EV);
	can_sessions_idle(cw->sess, cw->last_frame_t); /* a trip ends: its events ride along */
	if (cutter_flush(&cw->cut, &cw->so))
		publish_sample(cw);
	publish_events(cw, t);
	snap_mark_all(cw->snap, SNAP_STALE, 0);
	energy_save(cw);
	log_info("bus asleep (silent for %d s)", cw->w->cfg.can.asleep_after_s);
}

static void
health(struct can_worker *cw)
{
	uint64_t ovfl = 0;
	bool off = false;
	int64_t t = now_real_ns();

	for (int i = 0; i < cw->nsrc; i++) {
		ovfl += cw->src[i].rx_overflows;
		off |= cw->src[i].bus_off ||
		       (cw->src[i].spec.kind == SRC_SOCKETCAN && cw->src[i].state != SRC_UP);
	}
	if (ovfl != cw->rx_overflows) {
		cw->rx_overflows = ovfl;
		snap_write(cw->snap, SIG_can_rx_overflows, (double)ovfl, t, SNAP_VALID);
	}
	if (off != cw->bus_off) {
		cw->bus_off = off;
		snap_write(cw->snap, SIG_can_bus_off, off, t, SNAP_VALID);
	}
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct can_worker *cw = arg;
	int64_t now = now_mono_ns();
	int64_t quiet = now - (cw->last_frame_mono ? cw->last_frame_mono : cw->started_mono);

	for (int i = 0; i < cw->nsrc; i++)
		if (cw->src[i].state == SRC_DOWN && now - cw->started_mono >= RETRY_NS)
			src_try(cw, i);
	if (!cw->asleep && quiet >= (int64_t)cw->w->cfg.can.asleep_after_s * NSEC_PER_SEC)
		fall_asleep(cw);
	/* a live bus that went quiet (or never spoke of its generation) while
	 * frames waited: they go now. Not a replay: its frame times are not
	 * this clock's, and it releases them on frame time as decode does */
	if (cw->hold.n > 0 && !cw->replaying && now - cw->hold_mono >= DEC_HOLD_NS)
		release_held(cw);
	health(cw);
	clock_read(&cw->clock);
	if (cw->recording)
		recorder_flush(&cw->rec);
	if (now - cw->energy_saved_mono >= ENERGY_SAVE_NS && !cw->asleep)
		energy_save(cw);
	if (quiet >= NSEC_PER_SEC) /* no frame closes the tick: the events go now */
		publish_events(cw, cw->last_frame_t);
	can_sessions_tick(cw->sess);
	can_gps_sleep(&cw->gps, cw->asleep); /* a wake is seen here within a second */
	loop_timer_grid(t, NSEC_PER_SEC);
}

/* ---- setup ---- */

static int
open_shm(struct can_worker *cw)
{
	const char *rd = cw->w->rundir;
	bool re;
	uint64_t gen;

	if (cw->w->standalone) { /* no supervisor made them: make them */
		if (snap_create(rd, &re, &gen) < 0 ||
		    journal_create(rd, (size_t)cw->w->cfg.sup.journal_mb << 20, &re, &gen) < 0)
			return -1;
	}
	if (snap_open(&cw->snap, rd, true) < 0 || journal_open(&cw->journal, rd, true) < 0)
		return -1;
	return 0;
}

static int
open_sockets(struct can_worker *cw)
{
	const char *rd = cw->w->rundir;

	if (bus_pub_listen(&cw->pub_samples, rd, BUS_SAMPLES) != 0 ||
	    bus_pub_listen(&cw->pub_frames, rd, BUS_FRAMES) != 0)
		return -1;
	nng_pipe_notify(cw->pub_frames, NNG_PIPE_EV_ADD_POST, on_pipe, cw);
	nng_pipe_notify(cw->pub_frames, NNG_PIPE_EV_REM_POST, on_pipe, cw);
	return 0;
}

int
can_worker_start(struct can_worker *cw, struct worker *w)
{
	const struct config *cfg = &w->cfg;
	int up = 0;
	char detail[128];

	cw->w = w;
	cw->started_mono = now_mono_ns();
	cw->energy_saved_mono = cw->started_mono;
	atomic_init(&cw->frame_pipes, 0);
	if ((cw->pack = malloc(1 + MSG_SAMPLE_MAX)) == NULL)
		return -1;
	snprintf(cw->energy_path, sizeof(cw->energy_path), "%s/can-energy", w->statedir);
	if (open_shm(cw) < 0) {
		log_warn("shared memory in %s", w->rundir);
		return -1;
	}
	if (open_sockets(cw) < 0)
		return -1;
	decoder_init(&cw->dec, cfg->can.generation);
	dec_hold_init(&cw->hold, &cw->dec);
	energy_restore(cw);
	if ((cw->sess = malloc(sizeof(*cw->sess))) == NULL)
		return -1;
	can_sessions_start(cw->sess, w);
	cutter_init(&cw->cut, cfg->can.publish_interval_ms, cfg->can.keyframe_s);
	if (cfg->can.record) {
		if (recorder_open(&cw->rec, w->statedir, cfg->can.record_max_mb) == 0)
			cw->recording = true;
		else
			log_warn("recordings in %s", w->statedir);
	}
	cw->nsrc = cfg->can.nsrc;
	clock_read(&cw->clock);
	cw->live_times = true;
	for (int i = 0; i < cw->nsrc; i++) {
		cw->live_times &= !cfg->can.src[i].keep_time;
		cw->replaying |= cfg->can.src[i].kind == SRC_REPLAY;
	}
	if (cfg->gps.source[0] != '\0' &&
	    can_gps_start(&cw->gps, w->loop, cfg->gps.host, cfg->gps.port, on_gps, cw) < 0)
		return -1;
	resume_prepare(cw);
	for (int i = 0; i < cw->nsrc; i++)
		up += src_try(cw, i) == 0;
	resume_apply(cw);
	can_poll_start(&cw->poll, cw);
	cw->tick = loop_timer_new(w->loop, on_tick, cw);
	loop_timer_grid(cw->tick, NSEC_PER_SEC);
	snprintf(detail, sizeof(detail), "%d of %d sources open", up, cw->nsrc);
	worker_ready(w, detail);
	return 0;
}

void
can_worker_stop(struct can_worker *cw)
{
	can_poll_stop(&cw->poll);
	release_held(cw);
	if (cutter_flush(&cw->cut, &cw->so))
		publish_sample(cw);
	if (cw->sess != NULL) {
		publish_events(cw, cw->last_frame_t);
		can_sessions_stop(cw->sess); /* open sessions go on after a restart */
		free(cw->sess);
		cw->sess = NULL;
	}
	energy_save(cw);
	can_gps_stop(&cw->gps);
	for (int i = 0; i < cw->nsrc; i++)
		src_close(&cw->src[i]);
	if (cw->recording)
		recorder_close(&cw->rec);
	if (cw->tick != NULL)
		loop_timer_free(cw->tick);
	cw->tick = NULL;
	/* a close left running must not call into cw once it is freed */
	nng_pipe_notify(cw->pub_frames, NNG_PIPE_EV_ADD_POST, NULL, NULL);
	nng_pipe_notify(cw->pub_frames, NNG_PIPE_EV_REM_POST, NULL, NULL);
	bus_close(cw->pub_frames);
	bus_close(cw->pub_samples);
	snap_close(cw->snap);
	journal_close(cw->journal);
	dec_hold_free(&cw->hold);
	can_resume_close(cw->resume);
	free(cw->file_id);
	free(cw->pack);
}

void
can_worker_heartbeat(struct can_worker *cw, struct heartbeat *hb)
{
	const struct dec_stats *st = &cw->dec.st;
	char name[48];

	hb_counter(hb, "frames", (double)st->frames);
	hb_counter(hb, "crc_errors", (double)st->crc_errors);
	hb_counter(hb, "counter_gaps", (double)st->counter_gaps);
	hb_counter(hb, "unknown_ids", (double)st->unknown_ids);
	hb_counter(hb, "implausible", (double)st->implausible);
	hb_counter(hb, "generation", cw->dec.gen);
	hb_counter(hb, "samples", (double)cw->samples);
	hb_counter(hb, "event_samples", (double)cw->event_samples);
	hb_counter(hb, "keyframes", (double)cw->keyframes);
	hb_counter(hb, "sample_errors", (double)cw->sample_errors);
	hb_counter(hb, "rx_overflows", (double)cw->rx_overflows);
	hb_counter(hb, "bus_asleep", cw->asleep);
	hb_counter(hb, "bus_off", cw->bus_off);
	hb_counter(hb, "frame_subscribers", atomic_load(&cw->frame_pipes));
	if (cw->resume != NULL)
		hb_counter(hb, "replay_resumed", cw->resumed);
	if (cw->recording)
		hb_counter(hb, "recorded_frames", (double)cw->rec.frames);
	can_sessions_heartbeat(cw->sess, hb);
	can_poll_heartbeat(&cw->poll, hb);
	can_gps_heartbeat(&cw->gps, hb);
	for (int i = 0; i < cw->nsrc; i++) {
		struct can_src *s = &cw->src[i];
		snprintf(name, sizeof(name), "src%d_%s_%s_up", i, srcspec_kind_name(s->spec.kind),
			 can_bus_name((unsigned)s->spec.bus));
		hb_counter(hb, name, s->state == SRC_UP);
		snprintf(name, sizeof(name), "src%d_frames", i);
		hb_counter(hb, name, (double)s->frames);
		snprintf(name, sizeof(name), "src%d_errors", i);
		hb_counter(hb, name, (double)s->errors);
		snprintf(name, sizeof(name), "src%d_outages", i);
		hb_counter(hb, name, (double)cw->src_outages[i]);
		snprintf(name, sizeof(name), "src%d_down_s", i);
		hb_counter(hb, name, (double)cw->src_down_ns[i] / 1e9);
		if (s->state == SRC_FAILED)
			hb_alert(hb, "bad_log", s->err, s->failed_ns / NSEC_PER_SEC);
		if (s->state == SRC_DOWN && cw->src_down_since[i] != 0) {
			char text[256];
			snprintf(text, sizeof(text), "CAN source %s %.150s is down: %.80s",
				 srcspec_kind_name(s->spec.kind), s->spec.path, s->err);
			hb_alert(hb, "no_source", text, cw->src_down_since[i] / NSEC_PER_SEC);
		}
	}
}
