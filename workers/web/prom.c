/*
 * Prometheus text rendering. Signal metrics are leafmon_<signal name> with
 * the unit suffix turned into its base unit (and the value scaled to it);
 * leafmon_worker_* and leafmon_sync_* carry worker/writer labels for the
 * status document.
 */
#include "prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
prom_label_escape(struct buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

void
prom_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s ", name);
	for (const char *p = help; *p; p++) /* HELP escapes only \ and newline */
		if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\\')
			buf_puts(b, "\\\\");
		else
			buf_putc(b, *p);
	buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

void
prom_line(struct buf *b, const char *name, const char *labels, double v)
{
	if (isnan(v))
		buf_printf(b, "%s%s%s%s NaN\n", name, *labels ? "{" : "", labels, *labels ? "}" : "");
	else
		buf_printf(b, "%s%s%s%s %.15g\n", name, *labels ? "{" : "", labels,
			   *labels ? "}" : "", v);
}

/* a catalogue unit, the name suffix that spells it, and its base unit */
static const struct {
	const char *unit, *suffix, *base;
	double scale;
} units[] = {
    {"A", "_a", "_amperes", 1},
    {"V", "_v", "_volts", 1},
    {"mV", "_mv", "_volts", 1e-3},
    {"kW", "_kw", "_watts", 1e3},
    {"kWh", "_kwh", "_joules", 3.6e6},
    {"%", "_pct", "_ratio", 1e-2},
    {"degC", "_c", "_celsius", 1},
    {"km", "_km", "_meters", 1e3},
    {"km/h", "_kmh", "_meters_per_second", 1 / 3.6},
    {"Nm", "_nm", "_newton_meters", 1},
    {"rpm", "_rpm", "_revolutions_per_second", 1 / 60.0},
    {"1/s", "_per_s", "_per_second", 1},
    {"m", "_m", "_meters", 1},
    {"deg", "_deg", "_degrees", 1},
};

/* names whose unit is not a suffix, or with a word Prometheus reads as a
 * unit or a type they are not */
static const struct {
	const char *signal, *metric;
	double scale;
} renamed[] = {
    {"charge_minutes_remaining", "charge_remaining_seconds", 60},
    {"battery_ah", "battery_capacity_coulombs", 3600},
    {"vehicle_units_miles", "vehicle_imperial_units", 1},
    {"can_counter_gaps", "can_sequence_gaps", 1},
};

/* cumulative by nature: Prometheus counters (resets are fine) */
static const char *const counters[] = {
    "can_frames_total", "can_crc_errors", "can_counter_gaps", "can_unknown_ids",
    "can_rx_overflows", "can_implausible", "battery_energy_out_kwh", "battery_energy_in_kwh",
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

static bool
is_counter(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(counters); i++)
		if (strcmp(name, counters[i]) == 0)
			return true;
	return false;
}

int
prom_signal_metric(const struct sig_info *si, char *name, size_t cap, double *scale, bool *counter)
{
	const char *stem = si->name, *base = "";
	size_t len = strlen(stem);
	*scale = 1;
	*counter = is_counter(si->name);
	for (size_t i = 0; i < ARRAY_LEN(renamed); i++)
		if (strcmp(si->name, renamed[i].signal) == 0) {
			stem = renamed[i].metric;
			len = strlen(stem);
			*scale = renamed[i].scale;
		}
	for (size_t i = 0; i < ARRAY_LEN(units) && stem == si->name; i++)
		if (strcmp(si->unit, units[i].unit) == 0 && ends_with(si->name, units[i].suffix)) {
			len -= strlen(units[i].suffix);
			base = units[i].base;
			*scale = units[i].scale;
			break;
		}
	bool total = *counter && !ends_with(stem, "_total");
	int n =
	    snprintf(name, cap, "leafmon_%.*s%s%s", (int)len, stem, base, total ? "_total" : "");
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static void
one_signal(struct buf *b, const struct snap *s, const struct sig_info *si)
{
	struct snap_value v;
	char name[128], label[64], labels[128];
	double scale;
	bool counter;
	if (snap_read(s, si->id, &v) != 0 ||
	    prom_signal_metric(si, name, sizeof(name), &scale, &counter) < 0)
		return;
	prom_head(b, name, counter ? "counter" : "gauge", si->desc);
	labels[0] = '\0';
	if (si->type == ST_ENUM && sig_enum_label(si, v.value, label, sizeof(label)) != NULL)
		snprintf(labels, sizeof(labels), "label=\"%s\"", label);
	prom_line(b, name, labels, v.value * scale);
}

void
prom_signals(struct buf *b, const struct snap *s)
{
	struct snap_value v;
	if (s == NULL)
		return;
	for (size_t i = 0; i < sig_count; i++)
		if (sig_published(&sig_table[i]) && sig_table[i].group != SG_CELL)
			one_signal(b, s, &sig_table[i]);
	prom_head(b, "leafmon_signal_stale", "gauge", "1 when the signal was not refreshed recently");
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *si = &sig_table[i];
		if (!sig_published(si) || si->group == SG_CELL || snap_read(s, si->id, &v) != 0)
			continue;
		buf_printf(b, "leafmon_signal_stale{signal=\"%s\"} %d\n", si->name,
			   (v.flags & SNAP_STALE) != 0);
	}
}

/* per-worker metric: name{worker="w"} value */
static void
worker_metric(struct buf *b, const char *name, const char *type, const char *help,
	      const Status *st, double (*get)(const WorkerStatus *))
{
	prom_head(b, name, type, help);
	for (size_t i = 0; i < st->n_workers; i++) {
		struct buf l;
		buf_init(&l);
		buf_puts(&l, "worker=\"");
		prom_label_escape(&l, st->workers[i]->name);
		buf_putc(&l, '"');
		prom_line(b, name, buf_str(&l), get(st->workers[i]));
		buf_free(&l);
	}
}

static double
w_up(const WorkerStatus *w)
{
	return strcmp(w->state, "ready") == 0;
}

static double
w_restarts(const WorkerStatus *w)
{
	return w->restarts;
}

static double
w_uptime(const WorkerStatus *w)
{
	return w->has_uptime_s ? w->uptime_s : NAN;
}

static double
w_hb_age(const WorkerStatus *w)
{
	return w->has_heartbeat_age_s ? w->heartbeat_age_s : NAN;
}

static double
w_alerts(const WorkerStatus *w)
{
	return (double)w->n_alerts;
}

static void
worker_states(struct buf *b, const Status *st)
{
	prom_head(b, "leafmon_worker_state", "gauge", "1 for the state each worker is in");
	for (size_t i = 0; i < st->n_workers; i++) {
		struct buf l;
		buf_init(&l);
		buf_puts(&l, "worker=\"");
		prom_label_escape(&l, st->workers[i]->name);
		buf_puts(&l, "\",state=\"");
		prom_label_escape(&l, st->workers[i]->state);
		buf_putc(&l, '"');
		prom_line(b, "leafmon_worker_state", buf_str(&l), 1);
		buf_free(&l);
	}
}

static void
worker_counters(struct buf *b, const Status *st)
{
	prom_head(b, "leafmon_worker_stat", "gauge",
		  "Figures each worker reports in its heartbeat (CAN health: worker=\"can\")");
	for (size_t i = 0; i < st->n_workers; i++) {
		const WorkerStatus *w = st->workers[i];
		for (size_t k = 0; k < w->n_counters; k++) {
			struct buf l;
			buf_init(&l);
			buf_puts(&l, "worker=\"");
			prom_label_escape(&l, w->name);
			buf_puts(&l, "\",name=\"");
			prom_label_escape(&l, w->counters[k]->name);
			buf_putc(&l, '"');
			prom_line(b, "leafmon_worker_stat", buf_str(&l), w->counters[k]->value);
			buf_free(&l);
		}
	}
}

struct ledger_field {
	const char *name, *type, *help;
	double (*get)(const Ledger *);
};

static double
l_qr(const Ledger *l)
{
	return (double)l->queued_records;
}

static double
l_qb(const Ledger *l)
{
	return (double)l->queued_bytes;
}

static double
l_age(const Ledger *l)
{
	return l->oldest_age_s;
}

static double
l_succ(const Ledger *l)
{
	return l->last_success > 0 ? (double)l->last_success : NAN;
}

static double
l_err(const Ledger *l)
{
	return l->has_last_error_code ? l->last_error_code : 0;
}

static double
l_drop(const Ledger *l)
{
	return (double)l->dropped;
}

static double
l_dead(const Ledger *l)
{
	return (double)l->dead_lettered;
}

static double
l_sent(const Ledger *l)
{
	return (double)l->sent_bytes_today;
}

static const struct ledger_field ledger_fields[] = {
    {"leafmon_sync_queued_records", "gauge", "Records waiting in the writer's spool", l_qr},
    {"leafmon_sync_queued_bytes", "gauge", "Bytes waiting in the writer's spool", l_qb},
    {"leafmon_sync_oldest_age_seconds", "gauge", "Age of the oldest record not yet delivered",
     l_age},
    {"leafmon_sync_last_success_timestamp_seconds", "gauge", "Unix time of the last 2xx", l_succ},
    {"leafmon_sync_last_error_code", "gauge",
     "HTTP status (or negative network error) of the last failure", l_err},
    {"leafmon_sync_dropped_total", "counter", "Records dropped (spool cap, retention)", l_drop},
    {"leafmon_sync_dead_lettered_total", "counter", "Lines moved to the dead-letter file",
     l_dead},
    {"leafmon_sync_sent_bytes_today", "gauge", "Line-protocol bytes sent today", l_sent},
};

static void
ledgers(struct buf *b, const Status *st)
{
	for (size_t f = 0; f < sizeof(ledger_fields) / sizeof(ledger_fields[0]); f++) {
		prom_head(b, ledger_fields[f].name, ledger_fields[f].type, ledger_fields[f].help);
		for (size_t i = 0; i < st->n_workers; i++) {
			const WorkerStatus *w = st->workers[i];
			if (w->ledger == NULL)
				continue;
			struct buf l;
			buf_init(&l);
			buf_puts(&l, "writer=\"");
			prom_label_escape(&l, w->name);
			buf_putc(&l, '"');
			prom_line(b, ledger_fields[f].name, buf_str(&l), ledger_fields[f].get(w->ledger));
			buf_free(&l);
		}
	}
}

void
prom_status(struct buf *b, const Status *st)
{
	prom_head(b, "leafmon_status_available", "gauge",
		  "1 when leafmond answered the status request");
	prom_line(b, "leafmon_status_available", "", st != NULL);
	if (st == NULL)
		return;
	prom_head(b, "leafmon_supervisor_uptime_seconds", "gauge", "Seconds since leafmond started");
	prom_line(b, "leafmon_supervisor_uptime_seconds", "", st->supervisor_uptime_s);
	worker_states(b, st);
	worker_metric(b, "leafmon_worker_up", "gauge", "1 when the worker is ready", st, w_up);
	worker_metric(b, "leafmon_worker_restarts_total", "counter",
		      "Restarts since leafmond started", st, w_restarts);
	worker_metric(b, "leafmon_worker_uptime_seconds", "gauge", "Seconds since the worker started",
		      st, w_uptime);
	worker_metric(b, "leafmon_worker_heartbeat_age_seconds", "gauge",
		      "Seconds since the last heartbeat", st, w_hb_age);
	worker_metric(b, "leafmon_worker_alerts", "gauge", "Open alerts of the worker", st,
		      w_alerts);
	worker_counters(b, st);
	ledgers(b, st);
	if (st->clock != NULL) {
		prom_head(b, "leafmon_clock_synced", "gauge",
			  "1 when the kernel clock is NTP-synchronised");
		prom_line(b, "leafmon_clock_synced", "", st->clock->synced);
	}
}
