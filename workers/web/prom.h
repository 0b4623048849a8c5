/*
 * /metrics in the Prometheus text format (0.0.4): the published signals
 * from the snapshot, the workers' states, restarts and counters (CAN
 * health is the can worker's counters), the sync ledgers and the clock,
 * from the status document. No I/O: the caller hands in what it read.
 */
#ifndef LEAFMON_PROM_H
#define LEAFMON_PROM_H

#include "msg.h"
#include "snap.h"
#include "util.h"

/* One metric line; labels is "" or `a="x",b="y"` (already escaped). */
void prom_line(struct buf *b, const char *name, const char *labels, double v);
/* # HELP and # TYPE gauge lines. */
void prom_head(struct buf *b, const char *name, const char *help);
/* A label value with \, " and newlines escaped, appended to b. */
void prom_label_escape(struct buf *b, const char *s);

void prom_signals(struct buf *b, const struct snap *s);
void prom_status(struct buf *b, const Status *st);

#endif
