/*
 * Status document rendering. The `can` block is the can worker's heartbeat
 * counters; each writer's `ledger` is its heartbeat ledger.
 */
#include "status.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "json.h"

static void
alerts_json(struct json *j, const char *key, Alert **as, size_t n)
{
	json_arr_open(j, key);
	for (size_t i = 0; i < n; i++) {
		json_obj_open(j, NULL);
		json_str(j, "code", as[i]->code);
		json_str(j, "text", as[i]->text);
		if (as[i]->has_since)
			json_int(j, "since", as[i]->since);
		else
			json_null(j, "since");
		json_obj_close(j);
	}
	json_arr_close(j);
}

static void
counters_json(struct json *j, const char *key, Counter **cs, size_t n)
{
	json_obj_open(j, key);
	for (size_t i = 0; i < n; i++)
		json_dbl(j, cs[i]->name, cs[i]->value);
	json_obj_close(j);
}

static void
ledger_json(struct json *j, const Ledger *l)
{
	json_obj_open(j, "ledger");
	json_uint(j, "queued_records", l->queued_records);
	json_uint(j, "queued_bytes", l->queued_bytes);
	json_dbl(j, "oldest_age_s", l->oldest_age_s);
	if (l->last_success > 0)
		json_int(j, "last_success", l->last_success);
	else
		json_null(j, "last_success");
	if (l->last_contact > 0)
		json_int(j, "last_contact", l->last_contact);
	else
		json_null(j, "last_contact");
	if (l->has_last_error_code) {
		json_obj_open(j, "last_error");
		json_int(j, "code", l->last_error_code);
		json_str(j, "text", l->last_error_text ? l->last_error_text : "");
		json_int(j, "at", l->last_error_at);
		json_obj_close(j);
	} else {
		json_null(j, "last_error");
	}
	json_uint(j, "dropped", l->dropped);
	json_uint(j, "dead_lettered", l->dead_lettered);
	json_uint(j, "sent_bytes_today", l->sent_bytes_today);
	for (size_t i = 0; i < l->n_extra; i++)
		json_dbl(j, l->extra[i]->name, l->extra[i]->value);
	json_obj_close(j);
}

static void
worker_json(struct json *j, const WorkerStatus *w)
{
	json_obj_open(j, NULL);
	json_str(j, "name", w->name);
	json_str(j, "state", w->state);
	if (w->has_pid && w->pid > 0)
		json_int(j, "pid", w->pid);
	else
		json_null(j, "pid");
	if (w->has_uptime_s)
		json_dbl(j, "uptime_s", w->uptime_s);
	else
		json_null(j, "uptime_s");
	json_uint(j, "restarts", w->restarts);
	if (w->last_exit != NULL && w->last_exit[0] != '\0')
		json_str(j, "last_exit", w->last_exit);
	else
		json_null(j, "last_exit");
	if (w->has_heartbeat_age_s)
		json_dbl(j, "heartbeat_age_s", w->heartbeat_age_s);
	else
		json_null(j, "heartbeat_age_s");
	if (w->has_next_start_in_s)
		json_dbl(j, "next_start_in_s", w->next_start_in_s);
	alerts_json(j, "alerts", w->alerts, w->n_alerts);
	if (w->ledger != NULL)
		ledger_json(j, w->ledger);
	else
		json_null(j, "ledger");
	counters_json(j, "counters", w->counters, w->n_counters);
	json_obj_close(j);
}

static void
clock_json(struct json *j, const ClockStatus *c)
{
	char when[40];
	time_t secs = (time_t)(c->realtime_ns / 1000000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_obj_open(j, "clock");
	json_str(j, "boot_id", c->boot_id);
	json_bool(j, "synced", c->synced);
	json_str(j, "realtime", when);
	json_int(j, "realtime_ns", c->realtime_ns);
	json_dbl(j, "boottime_s", (double)c->boottime_ns / 1e9);
	if (c->has_maxerror_us)
		json_int(j, "maxerror_us", c->maxerror_us);
	json_obj_close(j);
}

void
status_to_json(const Status *st, struct buf *b)
{
	struct json j;
	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_str(&j, "version", st->version ? st->version : LEAFMON_VERSION);
	json_obj_open(&j, "supervisor");
	json_int(&j, "pid", st->supervisor_pid);
	json_dbl(&j, "uptime_s", st->supervisor_uptime_s);
	if (st->has_supervisor_wakeups)
		json_int(&j, "loop_wakeups", (int64_t)st->supervisor_wakeups);
	json_str(&j, "config", st->config ? st->config : "");
	json_obj_close(&j);
	json_arr_open(&j, "workers");
	for (size_t i = 0; i < st->n_workers; i++)
		worker_json(&j, st->workers[i]);
	json_arr_close(&j);
	const WorkerStatus *can = status_worker(st, "can");
	if (can != NULL)
		counters_json(&j, "can", can->counters, can->n_counters);
	else
		json_null(&j, "can");
	if (st->clock != NULL)
		clock_json(&j, st->clock);
	else
		json_null(&j, "clock");
	alerts_json(&j, "alerts", st->alerts, st->n_alerts);
	json_obj_close(&j);
}

const WorkerStatus *
status_worker(const Status *st, const char *name)
{
	for (size_t i = 0; i < st->n_workers; i++)
		if (strcmp(st->workers[i]->name, name) == 0)
			return st->workers[i];
	return NULL;
}

double
status_counter(const WorkerStatus *w, const char *name, double dflt)
{
	if (w == NULL)
		return dflt;
	for (size_t i = 0; i < w->n_counters; i++)
		if (strcmp(w->counters[i]->name, name) == 0)
			return w->counters[i]->value;
	return dflt;
}

int
status_fetch(const char *rundir, ControlResponse **out, int timeout_ms)
{
	ControlRequest req = LEAFMON__V1__CONTROL_REQUEST__INIT;
	Leafmon__V1__StatusRequest sr = LEAFMON__V1__STATUS_REQUEST__INIT;
	uint8_t *resp;
	size_t len;
	req.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_STATUS;
	req.status = &sr;
	int rv = bus_control_call(rundir, &req.base, &resp, &len, timeout_ms);
	if (rv < 0)
		return rv;
	*out = msg_control_response_unpack(resp, len);
	free(resp);
	return *out != NULL ? 0 : -NNG_EPROTO;
}
