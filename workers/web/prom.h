/*
 * /metrics in the Prometheus text format (0.0.4): the published signals
 * from the snapshot, the workers' states, restarts and counters (CAN
 * health is the can worker's counters), the sync ledgers and the clock,
 * from the status document. No I/O: the caller hands in what it read.
 * Names follow Prometheus's conventions (promtool check metrics): base
 * units (seconds, volts, amperes, watts, joules, meters, celsius, ratios),
 * counters typed as counters and ending in _total, no type in a name.
 */
#ifndef LEAFMON_PROM_H
#define LEAFMON_PROM_H

#include <stdbool.h>
#include <stddef.h>

#include "msg.h"
#include "snap.h"
#include "util.h"

/* One metric line; labels is "" or `a="x",b="y"` (already escaped). */
void prom_line(struct buf *b, const char *name, const char *labels, double v);
/* # HELP and # TYPE lines; type "gauge" or "counter" (a counter's name ends in _total). */
void prom_head(struct buf *b, const char *name, const char *type, const char *help);
/* A signal's metric: leafmon_ + its name in base units (battery_power_kw:
 * leafmon_battery_power_watts), the factor from the signal's unit, and
 * whether it is a counter. 0, or -1 when the name does not fit. */
int prom_signal_metric(const struct sig_info *si, char *name, size_t cap, double *scale,
		       bool *counter);
/* A label value with \, " and newlines escaped, appended to b. */
void prom_label_escape(struct buf *b, const char *s);

void prom_signals(struct buf *b, const struct snap *s);
void prom_status(struct buf *b, const Status *st);

#endif
