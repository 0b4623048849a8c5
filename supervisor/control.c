/*
 * The control socket (NNG rep on RUNDIR/control.ipc): status, start, stop,
 * restart, reload, log level. Every request is size-checked and unpacked
 * with a NULL check; every response carries a code and, on error, a
 * message for the user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "bus.h"
#include "clock.h"
#include "leafmond.h"
#include "log.h"
#include "util.h"

bool
worker_enabled(const struct config *cfg, enum wk_id id)
{
	switch (id) {
	case WK_INFLUX:
		return cfg->influx.enabled;
	case WK_CLOUD:
		return cfg->cloud.enabled;
	case WK_WEB:
		return cfg->web.enabled;
	case WK_MQTT:
		return cfg->mqtt.enabled;
	case WK_ABRP:
		return cfg->abrp.enabled;
	case WK_LEDGER:
		return cfg->ledger.enabled;
	default:
		return true;
	}
}

/* ---- status ---- */

static Alert *
alert_new(const char *code, const char *text, int64_t since)
{
	Alert *a = calloc(1, sizeof(*a));
	leafmon__v1__alert__init(a);
	a->code = strdup(code);
	a->text = strdup(text);
	a->has_since = since != 0;
	a->since = since;
	return a;
}

static WorkerStatus *
worker_status(struct daemon *d, struct wk *w, int64_t now)
{
	WorkerStatus *ws = calloc(1, sizeof(*ws));
	leafmon__v1__worker_status__init(ws);
	ws->name = strdup(w->name);
	ws->state = strdup(wk_state_name(w->state));
	ws->has_pid = w->pid > 0;
	ws->pid = w->pid;
	if (w->pid > 0) {
		ws->has_uptime_s = ws->has_heartbeat_age_s = 1;
		ws->uptime_s = (double)(now - w->spawned_at) / 1e9;
		ws->heartbeat_age_s = (double)(now - w->last_hb) / 1e9;
	}
	ws->has_restarts = 1;
	ws->restarts = w->restarts;
	ws->last_exit = strdup(w->last_exit);
	if (w->deadline != 0 && (w->state == WS_BACKOFF || w->state == WS_FAILED)) {
		ws->has_next_start_in_s = 1;
		ws->next_start_in_s = (double)(w->deadline - now) / 1e9;
	}
	/* alerts: the supervisor's own, then the worker's */
	size_t nw = (w->hb && w->pid > 0) ? w->hb->n_alerts : 0;
	ws->alerts = calloc(nw + 1, sizeof(Alert *));
	if (w->alert[0] != '\0')
		ws->alerts[ws->n_alerts++] =
		    alert_new(w->config_failed ? "config" : "failed", w->alert, w->alert_since);
	for (size_t i = 0; i < nw; i++) {
		Alert *a = w->hb->alerts[i];
		ws->alerts[ws->n_alerts++] = alert_new(a->code, a->text, a->has_since ? a->since : 0);
	}
	/* counters and ledger: the last heartbeat, kept across a restart so
	 * the owner still sees the queue while a writer is in backoff */
	if (w->hb != NULL) {
		ws->counters = calloc(w->hb->n_counters + 1, sizeof(Counter *));
		for (size_t i = 0; i < w->hb->n_counters; i++) {
			Counter *c = calloc(1, sizeof(*c));
			leafmon__v1__counter__init(c);
			c->name = strdup(w->hb->counters[i]->name);
			c->value = w->hb->counters[i]->value;
			ws->counters[ws->n_counters++] = c;
		}
		if (w->hb->ledger != NULL) {
			/* deep copy through pack/unpack: simple and exact */
			size_t len = leafmon__v1__ledger__get_packed_size(w->hb->ledger);
			uint8_t *buf = malloc(len ? len : 1);
			leafmon__v1__ledger__pack(w->hb->ledger, buf);
			ws->ledger = leafmon__v1__ledger__unpack(NULL, len, buf);
			free(buf);
		}
	}
	return ws;
}

Status *
control_build_status(struct daemon *d)
{
	spawn_read_channels(d); /* the heartbeats since the tick: counters as fresh as before */
	int64_t now = now_mono_ns();
	struct clock_state cs;
	Status *st = calloc(1, sizeof(*st));
	leafmon__v1__status__init(st);
	st->version = strdup(LEAFMON_VERSION);
	st->has_supervisor_pid = st->has_supervisor_uptime_s = 1;
	st->supervisor_pid = getpid();
	st->supervisor_uptime_s = (double)(now - d->started_mono) / 1e9;
	st->has_supervisor_wakeups = 1;
	st->supervisor_wakeups = loop_wakeups(d->loop);
	st->config = strdup(d->config_path);
	st->workers = calloc(WK_COUNT, sizeof(WorkerStatus *));
	for (int i = 0; i < WK_COUNT; i++)
		st->workers[st->n_workers++] = worker_status(d, &d->sup.wk[i], now);
	clock_read(&cs);
	ClockStatus *c = calloc(1, sizeof(*c));
	leafmon__v1__clock_status__init(c);
	c->boot_id = strdup(cs.boot_id);
	c->synced = cs.synced;
	c->realtime_ns = cs.realtime_ns;
	c->boottime_ns = cs.boottime_ns;
	c->has_maxerror_us = 1;
	c->maxerror_us = cs.maxerror_us;
	st->clock = c;
	st->alerts = calloc(1, sizeof(Alert *));
	if (d->reload_error[0] != '\0')
		st->alerts[st->n_alerts++] = alert_new("reload", d->reload_error, d->reload_error_at);
	return st;
}

void
control_free_status(Status *st)
{
	/* everything was allocated with malloc in the unpacked layout */
	leafmon__v1__status__free_unpacked(st, NULL);
}

/* ---- reload ---- */

static unsigned
sections_of(enum wk_id id)
{
	/* the can worker runs the session module ([ledger], [tariff]) and reads the
	 * GPS ([gps]); the mqtt worker names the ledger's sensors and the cost's currency */
	static const unsigned map[WK_COUNT] = {
	    [WK_CAN] = 1u << SEC_CAN | 1u << SEC_LEDGER | 1u << SEC_TARIFF | 1u << SEC_GPS,
	    [WK_INFLUX] = 1u << SEC_INFLUX,
	    [WK_CLOUD] = 1u << SEC_CLOUD,
	    [WK_WEB] = 1u << SEC_WEB,
	    [WK_MQTT] = 1u << SEC_MQTT | 1u << SEC_LEDGER | 1u << SEC_TARIFF,
	    [WK_ABRP] = 1u << SEC_ABRP,
	    [WK_LEDGER] = 1u << SEC_LEDGER,
	};
	return map[id];
}

static void
daemon_broadcast_loglevel(struct daemon *d, int level)
{
	Ctl ctl = LEAFMON__V1__CTL__INIT;
	Leafmon__V1__LogLevel ll = LEAFMON__V1__LOG_LEVEL__INIT;
	log_setlevel(level);
	ll.level = level;
	ctl.msg_case = LEAFMON__V1__CTL__MSG_LOG_LEVEL;
	ctl.log_level = &ll;
	for (int i = 0; i < WK_COUNT; i++)
		if (d->sup.wk[i].chan_fd >= 0 && chan_send(d->sup.wk[i].chan_fd, &ctl) < 0)
			log_warnx("%s: log level not sent: %s", d->sup.wk[i].name, strerror(errno));
}

int
daemon_reload(struct daemon *d, char *msg, size_t len)
{
	struct config *nc = malloc(sizeof(*nc));
	char err[1024];
	struct sup *s = &d->sup;

	notify_reloading(d, false);
	if (nc == NULL || config_load(nc, d->config_path, d->config_optional, err, sizeof(err)) < 0) {
		snprintf(d->reload_error, sizeof(d->reload_error),
			 "reload failed, old configuration kept: %s", nc ? err : "out of memory");
		d->reload_error_at = time(NULL);
		log_msg(LOG_ERR, "%s", d->reload_error);
		snprintf(msg, len, "%s", d->reload_error);
		free(nc);
		notify_reloading(d, true);
		daemon_status_changed(d);
		return -1;
	}
	d->reload_error[0] = '\0';
	unsigned diff = config_diff(&s->cfg, nc);
	bool vehicle = strcmp(s->cfg.sup.vehicle, nc->sup.vehicle) != 0;
	if (strcmp(s->cfg.sup.rundir, nc->sup.rundir) != 0 ||
	    strcmp(s->cfg.sup.statedir, nc->sup.statedir) != 0 ||
	    s->cfg.sup.journal_mb != nc->sup.journal_mb)
		log_warnx("reload: rundir, statedir and journal_mb take effect when leafmond "
			  "restarts");
	if (s->cfg.sup.log_level != nc->sup.log_level)
		daemon_broadcast_loglevel(d, nc->sup.log_level);
	s->cfg = *nc;
	free(nc);

	int n = snprintf(msg, len, "reloaded");
	s->now = now_mono_ns();
	for (int i = 0; i < WK_COUNT; i++) {
		struct wk *w = &s->wk[i];
		bool en = worker_enabled(&s->cfg, w->id);
		bool changed = (diff & sections_of(w->id)) ||
			       (vehicle && (w->id == WK_INFLUX || w->id == WK_CLOUD || w->id == WK_MQTT ||
					    w->id == WK_LEDGER));
		enum wk_event ev = WE_COUNT;
		if (!en && w->state != WS_DISABLED)
			ev = WE_DISABLE;
		else if (en && w->state == WS_DISABLED)
			ev = WE_START;
		else if (en && w->state == WS_FAILED && (w->config_failed || changed))
			ev = WE_START;
		else if (en && changed && w->state != WS_STOPPED)
			ev = WE_RESTART;
		if (ev == WE_COUNT)
			continue;
		if (n > 0 && (size_t)n < len)
			n += snprintf(msg + n, len - (size_t)n, "; %s: %s", w->name,
				      ev == WE_DISABLE ? "disabled" : ev == WE_START ? "started"
										   : "restarted");
		sup_event(s, w, ev, 0);
	}
	log_info("%s", msg);
	notify_reloading(d, true);
	daemon_status_changed(d);
	return 0;
}

/* ---- the socket ---- */

static int
worker_op(struct daemon *d, int op, const char *name, char *msg, size_t len)
{
	int id = wk_by_name(name ? name : "");
	if (id < 0) {
		snprintf(msg, len, "unknown worker '%s' (can, influx, cloud, web, mqtt, abrp or ledger)",
			 name ? name : "");
		return EINVAL;
	}
	struct wk *w = &d->sup.wk[id];
	if (!worker_enabled(&d->sup.cfg, w->id) && op != LEAFMON__V1__CONTROL_REQUEST__OP_STOP) {
		snprintf(msg, len, "%s is disabled in the configuration", w->name);
		return EPERM;
	}
	if (d->sup.shutting_down) {
		snprintf(msg, len, "leafmond is shutting down");
		return ESHUTDOWN;
	}
	d->sup.now = now_mono_ns();
	switch (op) {
	case LEAFMON__V1__CONTROL_REQUEST__OP_START:
		if (w->state == WS_READY || w->state == WS_STARTING) {
			snprintf(msg, len, "%s is already running (pid %d)", w->name, (int)w->pid);
			return 0;
		}
		sup_event(&d->sup, w, WE_START, 0);
		break;
	case LEAFMON__V1__CONTROL_REQUEST__OP_STOP:
		sup_event(&d->sup, w, WE_STOP, 0);
		break;
	default:
		sup_event(&d->sup, w, WE_RESTART, 0);
		break;
	}
	snprintf(msg, len, "%s: %s", w->name, wk_state_name(w->state));
	return 0;
}

static void
respond(struct daemon *d, ControlResponse *resp)
{
	nng_msg *m;
	size_t len = leafmon__v1__control_response__get_packed_size(resp);
	if (nng_msg_alloc(&m, len) != 0)
		return;
	leafmon__v1__control_response__pack(resp, nng_msg_body(m));
	int rv = nng_sendmsg(d->ctl, m, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		log_warnx("control: reply not sent: %s", nng_strerror(rv));
		nng_msg_free(m);
	}
}

static void
handle(struct daemon *d, const ControlRequest *req)
{
	ControlResponse resp = LEAFMON__V1__CONTROL_RESPONSE__INIT;
	char msg[1024] = "";
	Status *st = NULL;

	switch (req->op_case) {
	case LEAFMON__V1__CONTROL_REQUEST__OP_STATUS:
		st = control_build_status(d);
		resp.status = st;
		break;
	case LEAFMON__V1__CONTROL_REQUEST__OP_START:
		resp.code = worker_op(d, req->op_case, req->start->worker, msg, sizeof(msg));
		break;
	case LEAFMON__V1__CONTROL_REQUEST__OP_STOP:
		resp.code = worker_op(d, req->op_case, req->stop->worker, msg, sizeof(msg));
		break;
	case LEAFMON__V1__CONTROL_REQUEST__OP_RESTART:
		resp.code = worker_op(d, req->op_case, req->restart->worker, msg, sizeof(msg));
		break;
	case LEAFMON__V1__CONTROL_REQUEST__OP_RELOAD:
		resp.code = daemon_reload(d, msg, sizeof(msg)) < 0 ? EINVAL : 0;
		break;
	case LEAFMON__V1__CONTROL_REQUEST__OP_LOG_LEVEL:
		if (req->log_level->level < LOG_EMERG || req->log_level->level > LOG_DEBUG) {
			resp.code = EINVAL;
			snprintf(msg, sizeof(msg), "log level %d out of range", req->log_level->level);
		} else {
			daemon_broadcast_loglevel(d, req->log_level->level);
			snprintf(msg, sizeof(msg), "log level %s", log_level_name(req->log_level->level));
		}
		break;
	default:
		resp.code = EPROTO;
		snprintf(msg, sizeof(msg), "unknown request");
	}
	if (resp.code != 0)
		resp.error = msg;
	else if (msg[0] != '\0')
		resp.message = msg;
	respond(d, &resp);
	if (st != NULL)
		control_free_status(st);
}

static void
on_control(struct loop *l, int fd, uint32_t ev, void *arg)
{
	struct daemon *d = arg;
	nng_msg *m;
	while (nng_recvmsg(d->ctl, &m, NNG_FLAG_NONBLOCK) == 0) {
		ControlRequest *req = msg_control_request_unpack(nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
		if (req == NULL) {
			ControlResponse resp = LEAFMON__V1__CONTROL_RESPONSE__INIT;
			resp.code = EPROTO;
			resp.error = "malformed or oversized request";
			log_warnx("control: malformed request dropped");
			respond(d, &resp);
			continue;
		}
		handle(d, req);
		leafmon__v1__control_request__free_unpacked(req, NULL);
	}
}

int
control_open(struct daemon *d)
{
	char url[300];
	int rv;
	if (bus_url(url, sizeof(url), d->rundir, BUS_CONTROL) < 0) {
		log_warnx("rundir %s is too long for an ipc socket path", d->rundir);
		return -1;
	}
	if ((rv = nng_rep0_open(&d->ctl)) != 0 ||
	    (rv = nng_socket_set_size(d->ctl, NNG_OPT_RECVMAXSZ, MSG_CONTROL_MAX)) != 0 ||
	    (rv = bus_listen(d->ctl, url)) != 0 ||
	    (rv = nng_socket_get_int(d->ctl, NNG_OPT_RECVFD, &d->ctl_fd)) != 0) {
		log_warnx("control socket %s: %s", url, nng_strerror(rv));
		return -1;
	}
	return loop_add_fd(d->loop, d->ctl_fd, EPOLLIN, on_control, d);
}

void
control_close(struct daemon *d)
{
	bus_close(d->ctl);
}
