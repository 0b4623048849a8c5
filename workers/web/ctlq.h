/*
 * Requests to leafmond's control socket (status, restart a worker) without
 * blocking the web worker's loop: one helper thread makes the blocking
 * calls (status_fetch(), bus_control_call()) one at a time, and hands each
 * answer back through an eventfd, so completions run in the loop's thread.
 * The queue is bounded; a full queue is refused, not grown.
 */
#ifndef LEAFMON_CTLQ_H
#define LEAFMON_CTLQ_H

#include "loop.h"
#include "msg.h"

#define CTLQ_MAX_JOBS 16
#define CTLQ_TIMEOUT_MS 2000

struct ctlq;
struct ctlq_job;

/* rv 0 with resp (owned by the callee's caller: free it), or a negative
 * nng error. Runs in the loop thread. */
typedef void (*ctlq_fn)(void *arg, int rv, ControlResponse *resp);

int ctlq_new(struct ctlq **qp, struct loop *l, const char *rundir);
/* Cancels what is queued (no callbacks), waits for the call in progress
 * (bounded by CTLQ_TIMEOUT_MS) and frees everything. */
void ctlq_free(struct ctlq *q);
/* NULL when the queue is full. */
struct ctlq_job *ctlq_status(struct ctlq *q, ctlq_fn fn, void *arg);
struct ctlq_job *ctlq_restart(struct ctlq *q, const char *worker, ctlq_fn fn, void *arg);
/* The job's callback will not run (its answer is dropped). */
void ctlq_cancel(struct ctlq *q, struct ctlq_job *j);

#endif
