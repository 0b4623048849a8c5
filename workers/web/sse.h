/*
 * Server-Sent Events for /api/stream. Each client has a small queue of
 * whole events; an idle client's connection is suspended (no CPU, no
 * timeout) and resumed when an event or a ": ping" is queued. A client
 * whose queue would exceed its cap gets no more events until it has
 * drained, then one fresh snapshot event (counted as a resync), so a slow
 * phone never makes the worker's memory grow and never sees half an event.
 * A client whose socket has taken nothing for a bounded time while data
 * waited for it (it does not read at all) is dropped, and counted.
 */
#ifndef LEAFMON_SSE_H
#define LEAFMON_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "util.h"

#define SSE_QUEUE_CAP (64 * 1024)
/* A stream's socket send buffer, fixed (no autotuning to megabytes): a
 * client that stops reading fills it in seconds and holds little memory. */
#define SSE_SNDBUF (64 * 1024)

/* Writes the "event: snapshot" event for a new or resynced client. */
typedef void (*sse_snapshot_fn)(void *arg, struct buf *b);

struct sse_client;

struct sse {
	struct sse_client *head;
	size_t clients;
	bool closing;
	sse_snapshot_fn snapshot;
	void *snapshot_arg;
	uint64_t opened, closed, events, resyncs, bytes, stalled;
};

void sse_init(struct sse *s, sse_snapshot_fn snapshot, void *arg);
/* A response for a new client on connection c (caller queues it). */
struct MHD_Response *sse_open(struct sse *s, struct MHD_Connection *c);
/* Queue one whole event (text ending in a blank line) for every client. */
void sse_broadcast(struct sse *s, const char *ev, size_t len);
/* Queue ": ping" for every idle client (so dead ones are noticed). */
void sse_ping(struct sse *s);
/* Drop every client that has had data waiting for longer than stall_ms
 * without its socket taking any (shut down: MHD then closes it). */
void sse_check(struct sse *s, int64_t stall_ms);
/* End every stream and resume every parked client: before MHD_stop_daemon. */
void sse_shutdown(struct sse *s);

#endif
