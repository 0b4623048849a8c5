/*
 * The web worker's wiring: the snapshot (re-mapped when leafmond makes a
 * new one), the sample feed (ipc/feed, from the journal's oldest sample, so
 * the history ring starts with the last half hour or so), the login store,
 * the control helper and curl in one loop with the HTTP daemon; the 1 s
 * tick, the heartbeat and the stop. web_main.c wires it to the worker
 * runtime; web.h is the state the request handlers share.
 */
#ifndef LEAFMON_WEB_WORKER_H
#define LEAFMON_WEB_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "feed.h"
#include "web.h"
#include "worker.h"

struct web_worker {
	struct web web;
	struct feed feed; /* the live stream and the history ring */
	ino_t snap_ino;
	int64_t started_mono;
};

/* 0, or the exit code to fail with (worker.h), the reason logged. */
int web_worker_start(struct web_worker *ww, struct worker *w);
void web_worker_heartbeat(struct web_worker *ww, struct heartbeat *hb);
void web_worker_stop(struct web_worker *ww);

#endif
