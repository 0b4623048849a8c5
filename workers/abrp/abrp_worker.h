/*
 * leafmon-abrp: A Better Route Planner live data. Reads the live snapshot
 * (ipc/snap.h) four times a second, decides by the rate rules
 * (abrp_tlm.h, on frame time) and POSTs the record through the project's
 * HTTP client (deliver/httpc.h) on the worker's loop, one request at a
 * time. Live data only: a record that fails is dropped and counted, never
 * retried. The keys are never logged nor shown in the status.
 */
#ifndef LEAFMON_ABRP_WORKER_H
#define LEAFMON_ABRP_WORKER_H

#include "abrp_tlm.h"
#include "httpc.h"
#include "worker.h"

struct abrp_worker {
	struct worker *w;
	struct snap *snap; /* NULL until it can be opened */
	struct httpc *http;
	struct httpc_req *req; /* the one in flight */
	struct loop_timer *tick;
	struct abrp_rate rate;
	uint32_t mask;
	struct buf url, body, json;
	int64_t snap_tried_mono;
	/* the snapshot's frame time, and when it last moved (0: not yet seen
	 * moving): a can worker that stopped leaves old values that are not live */
	int64_t seen_t, moved_mono;
	/* counters */
	uint64_t requests, ok, failed, offline, rejected, sent_bytes;
	uint64_t sent_bytes_today; /* of the UTC day sent_day, as the writers count */
	int64_t sent_day;
	uint64_t reasons[AR_COUNT];
	int64_t last_success; /* Unix time */
	int64_t last_request; /* Unix time */
	int last_error_code;  /* HTTP status, -1 network, 0 none */
	char last_error[256];
	int64_t last_error_at;
	int64_t failing_since; /* the last request failed: Unix time of the first */
};

int abrp_worker_start(struct abrp_worker *aw, struct worker *w);
void abrp_worker_stop(struct abrp_worker *aw);
void abrp_worker_heartbeat(struct abrp_worker *aw, struct heartbeat *hb);

#endif
