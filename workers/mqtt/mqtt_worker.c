/*
 * The MQTT worker's publisher (mqtt_worker.h): the state each interval from
 * the snapshot, discovery for what the car has shown, the durable event
 * queue fed from the journal, the heartbeat with its ledger, and a stop
 * that saves the queue.
 */
#include "mqtt_worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "lp.h"

#define BIRTH_MIN_NS (5 * NSEC_PER_SEC) /* HA births closer than this share one republish */
#define QUEUE_SAVE_NS (30 * NSEC_PER_SEC)

static const char *const gen_models[] = {"Leaf (ZE0)", "Leaf (AZE0)", "Leaf (ZE1)"};

void
mw_set_error(struct mw *mw, const char *code, int err, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (strcmp(code, mw->alert_code) != 0 || strcmp(text, mw->alert_text) != 0)
		log_warnx("mqtt: %s", text);
	if (strcmp(code, mw->alert_code) != 0)
		mw->alert_since = time(NULL);
	snprintf(mw->alert_code, sizeof(mw->alert_code), "%s", code);
	snprintf(mw->alert_text, sizeof(mw->alert_text), "%s", text);
	snprintf(mw->last_error, sizeof(mw->last_error), "%s", text);
	mw->last_error_code = err;
	mw->last_error_at = time(NULL);
}

/* ---- the state: changed values each interval ---- */

/* leafmond makes the snapshot before it starts us; standalone, it may come
 * later: tried again each second, and nothing is published without it. */
static bool
have_snap(struct mw *mw)
{
	if (mw->snap != NULL)
		return true;
	if (snap_open(&mw->snap, mw->w->rundir, false) == 0)
		return true;
	if (mw->n.snap_missing++ == 0)
		log_warn("%s/state.shm (is leafmond running?): retrying", mw->w->rundir);
	mw->snap = NULL;
	return false;
}

static void
announce_signal(struct mw *mw, const struct sig_info *s, struct buf *b)
{
	char topic[MQTT_TOPIC_MAX];

	buf_reset(b);
	mqtt_discovery_signal(b, &mw->nm, s, mw->model, LEAFMON_VERSION);
	mqtt_discovery_topic(&mw->nm, mqtt_component(s), s->name, topic, sizeof(topic));
	if (mw_pub(mw, topic, b->p, b->len, mw->nm.qos, true, NULL) == 0) {
		mw->announced[s->id] = true;
		mw->n.discovery_messages++;
	}
}

static void
announce_ledger(struct mw *mw, struct buf *b)
{
	char topic[MQTT_TOPIC_MAX];

	for (size_t i = 0; i < mqtt_ledger_sensor_count; i++) {
		const struct mqtt_ledger_sensor *ls = &mqtt_ledger_sensors[i];
		buf_reset(b);
		mqtt_discovery_ledger(b, &mw->nm, ls, mw->model, LEAFMON_VERSION);
		mqtt_discovery_topic(&mw->nm, "sensor", ls->object_id, topic, sizeof(topic));
		if (mw_pub(mw, topic, b->p, b->len, mw->nm.qos, true, NULL) == 0)
			mw->n.discovery_messages++;
	}
	mw->ledger_announced = true;
}

/* The generation names the device's model: a change re-announces all. */
static void
watch_generation(struct mw *mw)
{
	struct snap_value v;
	int g = -1;

	if (snap_read(mw->snap, SIG_vehicle_generation, &v) == 0 && v.value >= 0 && v.value < 3)
		g = (int)v.value;
	if (g == mw->generation)
		return;
	mw->generation = g;
	snprintf(mw->model, sizeof(mw->model), "%s", g >= 0 ? gen_models[g] : "Leaf");
	memset(mw->announced, 0, sizeof(mw->announced));
	mw->ledger_announced = false;
}

/* One signal: its text if it has a value; true when it changed. */
static bool
signal_text(struct mw *mw, const struct sig_info *s, char *text, size_t cap)
{
	struct snap_value v;
	int rc = snap_read(mw->snap, s->id, &v);

	if (rc == -EBUSY)
		mw->n.snap_busy++;
	if (rc != 0 || !(v.flags & SNAP_VALID) || mqtt_value_text(s, v.value, text, cap) < 0)
		return false;
	mw->seen[s->id] = true;
	return strcmp(text, mw->last[s->id]) != 0;
}

static void
publish_state(struct mw *mw)
{
	char text[MW_VALUE_MAX], topic[MQTT_TOPIC_MAX];
	struct buf b, doc;
	struct json j;
	int changed = 0;

	buf_init(&b);
	buf_init(&doc);
	json_init(&j, &doc);
	json_obj_open(&j, NULL);
	json_dbl(&j, "t", (double)now_real_ns() / 1e9);
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *s = &sig_table[i];
		if (!sig_published(s))
			continue;
		bool fresh = signal_text(mw, s, text, sizeof(text));
		if (!mw->seen[s->id])
			continue;
		if (mw->cfg->mqtt.discovery && !mw->announced[s->id])
			announce_signal(mw, s, &b);
		const char *val = fresh ? text : mw->last[s->id];
		if (s->type == ST_ENUM) /* the document carries labels as strings */
			json_str(&j, s->name, val);
		else
			json_raw(&j, s->name, val);
		if (!fresh)
			continue;
		mqtt_state_topic(&mw->nm, s, topic, sizeof(topic));
		if (mw_pub(mw, topic, text, strlen(text), mw->nm.qos, true, NULL) == 0) {
			snprintf(mw->last[s->id], sizeof(mw->last[0]), "%s", text);
			mw->n.state_messages++;
			changed++;
		}
	}
	json_obj_close(&j);
	if (changed > 0) {
		mqtt_topic(&mw->nm, "state", topic, sizeof(topic));
		if (mw_pub(mw, topic, doc.p, doc.len, mw->nm.qos, true, NULL) == 0)
			mw->n.state_docs++;
	}
	buf_free(&doc);
	buf_free(&b);
}

/* ---- events: the queue to the broker, acknowledged one by one ---- */

static bool
is_last_of(const struct mq_event *e, const char **leaf)
{
	if (strcmp(e->phase, "end") != 0)
		return false;
	if (strcmp(e->kind, "trip") == 0 && strstr(e->detail, "\"move\":true") == NULL)
		*leaf = "last_trip";
	else if (strcmp(e->kind, "charge") == 0)
		*leaf = "last_charge";
	else
		return false;
	return true;
}

static void
send_events(struct mw *mw)
{
	char topic[MQTT_TOPIC_MAX], leaf[64];
	int inflight = 0, i, mid;
	const char *last;
	struct buf b;

	for (size_t k = 0; k < mw->q.n; k++)
		inflight += mw->q.ev[k].mid != 0;
	buf_init(&b);
	while (mw->connected && inflight < MW_INFLIGHT_EVENTS &&
	       (i = mq_next_unsent(&mw->q)) >= 0) {
		const struct mq_event *e = &mw->q.ev[i];
		int qos = mw->nm.qos > 0 ? mw->nm.qos : 1; /* at least once */
		if (mw->nm.ledger && is_last_of(e, &last)) {
			mqtt_topic(&mw->nm, last, topic, sizeof(topic));
			mw_pub(mw, topic, e->detail, strlen(e->detail), qos, true, NULL);
		}
		buf_reset(&b);
		mqtt_event_payload(&b, e->kind, e->phase, e->start_ns, e->t_ns, e->detail);
		snprintf(leaf, sizeof(leaf), "event/%s", e->kind);
		mqtt_topic(&mw->nm, leaf, topic, sizeof(topic));
		if (mw_pub(mw, topic, b.p, b.len, qos, false, &mid) < 0)
			break;
		mq_sent(&mw->q, i, mid);
		mw->n.event_messages++;
		inflight++;
	}
	buf_free(&b);
}

void
mw_acked(struct mw *mw, int mid)
{
	mw->last_success = time(NULL);
	if (mq_acked(&mw->q, mid)) {
		mw->n.events_acked++;
		send_events(mw);
	}
}

static void
save_queue(struct mw *mw)
{
	struct buf b;

	buf_init(&b);
	mq_encode(&mw->q, &b);
	if (file_write_atomic(mw->qpath, b.p, b.len, 0600) < 0) {
		if (mw->n.queue_save_errors++ == 0)
			log_warn("%s", mw->qpath);
	} else {
		mw->n.queue_saves++;
		mw->q.dirty = false;
		mw->q_saved_seq = mw->q.seq;
	}
	mw->q_saved = now_mono_ns();
	buf_free(&b);
}

static void
load_queue(struct mw *mw)
{
	char why[128];
	char *text = file_read_str(mw->qpath, 64 << 20, NULL);

	if (text == NULL) {
		if (errno != ENOENT)
			log_warn("%s", mw->qpath);
		return;
	}
	if (mq_decode(&mw->q, text, why, sizeof(why)) < 0) {
		log_warnx("%s: %s: starting from the journal", mw->qpath, why);
		mq_free(&mw->q);
		mq_init(&mw->q, MW_EVENTS_MAX);
	} else {
		log_info("%zu events queued from the last run", mw->q.n);
	}
	free(text);
}

static void
take(void *arg, const Sample *m, int64_t now_real, int64_t now_boot)
{
	struct mw *mw = arg;

	mw->n.samples++;
	for (size_t i = 0; i < m->n_events; i++) {
		const Event *e = m->events[i];
		if (mq_push(&mw->q, e->kind, e->phase ? e->phase : "end",
			    e->has_start_ns ? e->start_ns : e->t_ns, e->t_ns, e->detail,
			    now_real / NSEC_PER_SEC) < 0)
			fatalx("out of memory");
		mw->n.events_taken++;
	}
	mq_set_position(&mw->q, m->generation, m->seq);
	if (m->n_events > 0)
		send_events(mw);
}

static void
resume(void *arg, uint64_t *gen, uint64_t *seq)
{
	struct mw *mw = arg;
	*gen = mw->q.gen;
	*seq = mw->q.seq;
}

/* ---- the connection's news ---- */

void
mw_connected(struct mw *mw)
{
	char topic[MQTT_TOPIC_MAX];

	log_info("mqtt: connected to %s:%d%s as %s", mw->host, mw->port, mw->tls ? " (TLS)" : "",
		 mw->nm.client_id);
	mw->alert_code[0] = '\0';
	mw->last_success = time(NULL);
	mqtt_topic(&mw->nm, "status", topic, sizeof(topic));
	mw_pub(mw, topic, "online", 6, mw->nm.qos, true, NULL);
	if (mw->cfg->mqtt.discovery) {
		snprintf(topic, sizeof(topic), "%s/status", mw->nm.dprefix);
		mw_subscribe(mw, topic); /* Home Assistant's birth: announce again */
	}
	/* everything again from the next tick, after what the library resends */
	mw->republish = true;
	mq_unsend_all(&mw->q);
	send_events(mw);
}

void
mw_birth(struct mw *mw)
{
	int64_t now = now_mono_ns();
	mw->n.births++;
	if (mw->republish || now - mw->last_birth < BIRTH_MIN_NS) {
		mw->n.births_coalesced++;
		return;
	}
	mw->last_birth = now;
	mw->republish = true;
}

/* On the grid of publish_interval_ms, so a 1000 ms tick shares the
 * heartbeat's wake-up; no faster than once a second while the bus sleeps. */
static void
tick_arm(struct mw *mw, struct loop_timer *t)
{
	int64_t every = (int64_t)mw->cfg->mqtt.publish_interval_ms * NSEC_PER_MSEC;
	if (every < NSEC_PER_SEC && snap_bus_asleep(mw->snap))
		every = NSEC_PER_SEC;
	loop_timer_grid(t, every);
}

static void
on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	struct mw *mw = arg;

	tick_arm(mw, t);
	if (!mw->connected || !have_snap(mw))
		return;
	watch_generation(mw);
	if (mw->republish) {
		memset(mw->last, 0, sizeof(mw->last));
		memset(mw->announced, 0, sizeof(mw->announced));
		mw->ledger_announced = false;
		mw->republish = false;
	}
	if (mw->cfg->mqtt.discovery && mw->nm.ledger && !mw->ledger_announced) {
		struct buf b;
		buf_init(&b);
		announce_ledger(mw, &b);
		buf_free(&b);
	}
	publish_state(mw);
	mw_sync_fd(mw);
}

static void
on_misc(struct loop *l, struct loop_timer *t, void *arg)
{
	struct mw *mw = arg;
	int day = (int)(time(NULL) / 86400);

	loop_timer_grid(t, NSEC_PER_SEC);
	if (day != mw->bytes_day) {
		mw->bytes_day = day;
		mw->bytes_today = 0;
	}
	feed_tick(&mw->feed);
	if (mw->q.dirty ||
	    (mw->q.seq != mw->q_saved_seq && now_mono_ns() - mw->q_saved > QUEUE_SAVE_NS))
		save_queue(mw);
	mw_conn_misc(mw);
	send_events(mw);
	mw_sync_fd(mw);
}

/* ---- heartbeat ---- */

static void
ledger_of(struct mw *mw, struct ledger *lg)
{
	int64_t now = time(NULL), oldest = 0;

	for (size_t i = 0; i < mw->q.n; i++)
		if (oldest == 0 || mw->q.ev[i].queued_at < oldest)
			oldest = mw->q.ev[i].queued_at;
	lg->queued_records = mw->q.n;
	lg->queued_bytes = mq_bytes(&mw->q);
	lg->oldest_age_s = oldest > 0 && now > oldest ? (double)(now - oldest) : 0;
	lg->last_success = mw->last_success;
	lg->last_contact = mw->last_success;
	lg->last_error_code = mw->last_error_code;
	snprintf(lg->last_error_text, sizeof(lg->last_error_text), "%s", mw->last_error);
	lg->last_error_at = mw->last_error_at;
	lg->dropped = mw->q.dropped;
	lg->sent_bytes_today = mw->bytes_today;
	ledger_extra(lg, "connected", mw->connected ? 1 : 0);
	ledger_extra(lg, "events_acked", (double)mw->n.events_acked);
	ledger_extra(lg, "events_coalesced", (double)mw->q.coalesced);
}

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	struct mw *mw = arg;
	static const struct {
		const char *name;
		size_t off;
	} cs[] = {
#define C(x) {#x, offsetof(struct mw, n.x)}
	    C(connects),
	    C(connect_failures),
	    C(disconnects),
	    C(auth_refused),
	    C(timeouts),
	    C(messages),
	    C(bytes),
	    C(state_messages),
	    C(state_docs),
	    C(discovery_messages),
	    C(event_messages),
	    C(events_taken),
	    C(events_acked),
	    C(publish_errors),
	    C(received),
	    C(births),
	    C(births_coalesced),
	    C(queue_saves),
	    C(queue_save_errors),
	    C(snap_busy),
	    C(samples),
	    C(resolve_failures),
	    C(snap_missing),
#undef C
	};
	hb->has_ledger = true;
	ledger_of(mw, &hb->ledger);
	if (mw->alert_code[0] != '\0' && !mw->connected)
		hb_alert(hb, mw->alert_code, mw->alert_text, mw->alert_since);
	for (size_t i = 0; i < ARRAY_LEN(cs); i++)
		hb_counter(hb, cs[i].name,
			   (double)*(const uint64_t *)((const char *)mw + cs[i].off));
	hb_counter(hb, "connected", mw->connected ? 1 : 0);
	hb_counter(hb, "retry_in_ms", loop_timer_armed(mw->retry) ? (double)mw->retry_delay_ms : 0);
	hb_counter(hb, "events_queued", (double)mw->q.n);
	hb_counter(hb, "events_dropped", (double)mw->q.dropped);
	hb_counter(hb, "tls", mw->tls ? 1 : 0);
	feed_counters(&mw->feed, hb);
}

/* ---- stop and start ---- */

static void
on_stop(struct worker *w, void *arg)
{
	struct mw *mw = arg;

	feed_drain_until(&mw->feed, now_mono_ns() + NSEC_PER_SEC);
	save_queue(mw);
	mw_conn_close(mw);
	feed_close(&mw->feed);
	if (mw->snap != NULL)
		snap_close(mw->snap);
	log_info("stopped: %llu messages, %llu events acknowledged, %zu queued",
		 (unsigned long long)mw->n.messages, (unsigned long long)mw->n.events_acked,
		 mw->q.n);
	mq_free(&mw->q);
	worker_exit(w, 0);
}

int
mw_start(struct mw *mw, struct worker *w)
{
	char host[128];

	memset(mw, 0, sizeof(*mw));
	mw->w = w;
	mw->cfg = &w->cfg;
	mw->generation = -2;
	mqtt_names_init(&mw->nm, mw->cfg, lp_vehicle(mw->cfg->sup.vehicle, host, sizeof(host)));
	mq_init(&mw->q, MW_EVENTS_MAX);
	snprintf(mw->qpath, sizeof(mw->qpath), "%s/mqtt-events", w->statedir);
	load_queue(mw);
	have_snap(mw);
	if (mw_conn_init(mw) < 0)
		return -1;
	mw->tick = loop_timer_new(w->loop, on_tick, mw);
	mw->misc = loop_timer_new(w->loop, on_misc, mw);
	if (mw->tick == NULL || mw->misc == NULL ||
	    feed_start(&mw->feed, w, take, resume, mw, "no sample journal yet: no events") < 0)
		return -1;
	tick_arm(mw, mw->tick);
	loop_timer_grid(mw->misc, NSEC_PER_SEC);
	worker_set_heartbeat(w, on_heartbeat, mw);
	worker_set_stop(w, on_stop, mw);
	log_info("mqtt: %s, topics under %s, client id %s", mw->cfg->mqtt.url, mw->nm.prefix,
		 mw->nm.client_id);
	mw_conn_connect(mw);
	return 0;
}
