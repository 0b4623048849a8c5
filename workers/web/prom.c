/*
 * Prometheus text rendering. Metric names are leafmon_<signal name> for
 * signals (the unit is already in the name), leafmon_worker_* and
 * leafmon_sync_* with worker/writer labels for the status document.
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
prom_head(struct buf *b, const char *name, const char *help)
{
	buf_printf(b, "# HELP %s ", name);
	for (const char *p = help; *p; p++) /* HELP escapes only \ and newline */
		if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\\')
			buf_puts(b, "\\\\");
		else
			buf_putc(b, *p);
	buf_printf(b, "\n# TYPE %s gauge\n", name);
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

static void
one_signal(struct buf *b, const struct snap *s, const struct sig_info *si)
{
	struct snap_value v;
	char name[96], label[64], labels[128];
	if (snap_read(s, si->id, &v) != 0)
		return;
	snprintf(name, sizeof(name), "leafmon_%s", si->name);
	prom_head(b, name, si->desc);
	labels[0] = '\0';
	if (si->type == ST_ENUM && sig_enum_label(si, v.value, label, sizeof(label)) != NULL)
		snprintf(labels, sizeof(labels), "label=\"%s\"", label);
	prom_line(b, name, labels, v.value);
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
	prom_head(b, "leafmon_signal_stale", "1 when the signal was not refreshed recently");
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *si = &sig_table[i];
		if (!sig_published(si) || si->group == SG_CELL || snap_read(s, si->id, &v) != 0)
			continue;
		buf_printf(b, "leafmon_signal_stale{signal=\"%s\"} %d\n", si->name,
			   (v.flags & SNAP_STALE) != 0);
	}
}

/* per-worker gauge: name{worker="w"} value */
static void
worker_metric(struct buf *b, const char *name, const char *help, const Status *st,
	      double (*get)(const WorkerStatus *))
{
	prom_head(b, name, help);
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
	prom_head(b, "leafmon_worker_state", "1 for the state each worker is in");
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
	prom_head(b, "leafmon_worker_counter",
		  "Counters each worker reports in its heartbeat (CAN health: worker=\"can\")");
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
			prom_line(b, "leafmon_worker_counter", buf_str(&l), w->counters[k]->value);
			buf_free(&l);
		}
	}
}

struct ledger_field {
	const char *name, *help;
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
    {"leafmon_sync_queued_records", "Records waiting in the writer's spool", l_qr},
    {"leafmon_sync_queued_bytes", "Bytes waiting in the writer's spool", l_qb},
    {"leafmon_sync_oldest_age_seconds", "Age of the oldest record not yet delivered", l_age},
    {"leafmon_sync_last_success_timestamp_seconds", "Unix time of the last 2xx", l_succ},
    {"leafmon_sync_last_error_code", "HTTP status (or negative network error) of the last failure", l_err},
    {"leafmon_sync_dropped", "Records dropped (spool cap, retention)", l_drop},
    {"leafmon_sync_dead_lettered", "Records moved to the dead-letter file", l_dead},
    {"leafmon_sync_sent_bytes_today", "Line-protocol bytes sent today", l_sent},
};

static void
ledgers(struct buf *b, const Status *st)
{
	for (size_t f = 0; f < sizeof(ledger_fields) / sizeof(ledger_fields[0]); f++) {
		prom_head(b, ledger_fields[f].name, ledger_fields[f].help);
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
	prom_head(b, "leafmon_status_available", "1 when leafmond answered the status request");
	prom_line(b, "leafmon_status_available", "", st != NULL);
	if (st == NULL)
		return;
	prom_head(b, "leafmon_supervisor_uptime_seconds", "Seconds since leafmond started");
	prom_line(b, "leafmon_supervisor_uptime_seconds", "", st->supervisor_uptime_s);
	worker_states(b, st);
	worker_metric(b, "leafmon_worker_up", "1 when the worker is ready", st, w_up);
	worker_metric(b, "leafmon_worker_restarts", "Restarts since leafmond started", st, w_restarts);
	worker_metric(b, "leafmon_worker_uptime_seconds", "Seconds since the worker started", st,
		      w_uptime);
	worker_metric(b, "leafmon_worker_heartbeat_age_seconds", "Seconds since the last heartbeat",
		      st, w_hb_age);
	worker_metric(b, "leafmon_worker_alerts", "Open alerts of the worker", st, w_alerts);
	worker_counters(b, st);
	ledgers(b, st);
	if (st->clock != NULL) {
		prom_head(b, "leafmon_clock_synced", "1 when the kernel clock is NTP-synchronised");
		prom_line(b, "leafmon_clock_synced", "", st->clock->synced);
	}
}
