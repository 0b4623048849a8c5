/*
 * The status document: one JSON shape for `leafmon status --json` and
 * /api/status, rendered from the supervisor's Status message.
 */
#ifndef LEAFMON_STATUS_H
#define LEAFMON_STATUS_H

#include "msg.h"
#include "util.h"

void status_to_json(const Status *st, struct buf *b);
const WorkerStatus *status_worker(const Status *st, const char *name);
double status_counter(const WorkerStatus *w, const char *name, double dflt);
/* Fetch the status from leafmond (control socket). 0, or a negative nng
 * error (-NNG_ECONNREFUSED when leafmond is not running). */
int status_fetch(const char *rundir, ControlResponse **out, int timeout_ms);

#endif
