/*
 * Delivery of a spool to an InfluxDB server, for both writers: reads the
 * spool oldest-first, resolves each record's timestamp (DESIGN.md "Time"),
 * formats line protocol, sends batches with httpc (gzip optional), and
 * applies DESIGN.md's status handling: 2xx ack; 413 halve; 400/422
 * dead-letter the lines the server names (or bisect, resending only what
 * is safe: timestamps are final, so a resend overwrites); 429/5xx back off
 * honouring Retry-After (<= 10 min); 401/403/404 keep, alert, retry slowly;
 * no answer: capped exponential backoff with full jitter, and a /ping probe
 * before the next write. api = auto is settled by /ping's version header.
 * One request is in flight at a time; nothing blocks the loop.
 *
 * For the cloud writer, optionally: sync rounds that probe /ping (with its
 * own timeout) before sending; live records (from a given id on) sent ahead
 * of the backlog, which drains oldest-first; records older than the
 * remote's retention dropped by policy (counted); send times floored to the
 * resolution; pacing before each write.
 */
#ifndef LEAFMON_DELIVER_H
#define LEAFMON_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "httpc.h"
#include "loop.h"
#include "spool.h"
#include "worker.h"

struct deliver;

struct deliver_opts {
	const char *name;		    /* "influx", "cloud": logs */
	const struct cfg_writer *w;	    /* url, api, database, retention_policy, org, bucket,
					       token, ca_file, precision, timeout_s, batch_lines */
	const char *vehicle;		    /* the vehicle tag value */
	const char *deadletter_path;
	bool gzip;
	int gzip_level;			    /* 0: zlib's default */
	size_t batch_bytes;		    /* uncompressed body cap; 0: 4 MiB */
	int64_t hold_unsynced_ns;	    /* wait this long for the clock to sync */
	int64_t connect_timeout_ns;	    /* 0: min(timeout, 5 s) */
	int64_t net_backoff_max_ns;	    /* 0: 60 s */
	int64_t slow_retry_min_ns;	    /* 401/403/404 and unproven rejections; 0: 30 s */
	int64_t ping_timeout_ns;	    /* the /ping probe's own timeout; 0: timeout_s */
	int64_t t_step_ns;		    /* send times floored to a multiple of this; 0: as they are */
	int64_t max_age_ns;		    /* older records are dropped by policy when met; 0: never */
	/* Optional pacing (cloud): before each write, the uncompressed bytes;
	 * return 0 to send now or how many ns to wait. */
	int64_t (*pace_wait)(void *arg, size_t bytes);
	/* Optional: after each 2xx, the uncompressed and wire bytes. */
	void (*sent)(void *arg, size_t bytes, size_t wire);
	void *arg;
};

struct deliver_stats {
	uint64_t requests, pings;
	uint64_t ok, split, rejected, retried, auth, not_found, network;
	uint64_t lines_ok, lines_dead, bisections;
	uint64_t records_rebased, records_unsynced, records_skipped;
	uint64_t records_expired;	    /* dropped: older than max_age_ns */
	uint64_t events_dropped;	    /* session records whose detail did not parse */
	uint64_t events_waited;		    /* live session records put behind the backlog */
	uint64_t rounds;		    /* deliver_sync() calls that started a probe */
	uint64_t http_sent_bytes, http_recv_bytes; /* every request, pings included */
	uint64_t bytes, wire_bytes;
	uint64_t batches;
	bool holding; /* waiting for the clock to synchronise */
	int api;      /* API_V1 / API_V2 once known, API_AUTO before */
	double last_seconds;
};

int deliver_new(struct deliver **dp, struct loop *l, struct spool *sp, const struct deliver_opts *o);
/* Cancel what is in flight (it will be resent: nothing was acked for it). */
void deliver_free(struct deliver *d);
/* Records were committed, or a second passed: send if idle and not in backoff. */
void deliver_kick(struct deliver *d);
/*
 * A sync round: probe /ping, then send what is queued. Does nothing while
 * a request is in flight or a server-imposed wait (Retry-After, 5xx, auth)
 * or pacing runs; cuts a network backoff short (the link came back).
 */
void deliver_sync(struct deliver *d);
/* Records from rid on are live: each batch takes them first, then the
 * backlog before rid, oldest-first. 0 (the default): one queue. */
void deliver_set_live_from(struct deliver *d, uint64_t rid);
const struct deliver_stats *deliver_stats(const struct deliver *d);
/* The ledger block (DESIGN.md "Sync ledger") and the alerts for a heartbeat. */
void deliver_ledger(struct deliver *d, struct ledger *l);
void deliver_alerts(struct deliver *d, struct heartbeat *hb);
/* The delivery counters every writer shows (requests, HTTP outcomes, lines,
 * records, the API found, the last request's time, bytes on the wire). */
void deliver_counters(const struct deliver *d, struct heartbeat *hb);

/*
 * The seam (as the supervisor's sup_ops): what delivery does to the world,
 * the HTTP client, the clocks, the backoffs' jitter and two timers, goes
 * through a table, so the state machine can be driven without a server, a
 * socket or a loop (deliver_test.c). deliver_new() is deliver_open() with
 * the real ones (deliver_io.c: httpc on the loop, util.h's clocks,
 * getrandom, loop timers).
 */
enum deliver_clock { DCLOCK_MONO, DCLOCK_REAL, DCLOCK_BOOT };
enum deliver_timer {
	DTIMER_WAIT,  /* a backoff, a server-imposed wait or pacing */
	DTIMER_AHEAD, /* the next slice of the batch formatted ahead */
	DTIMER_COUNT
};

struct deliver_ops {
	/* Start a request (as httpc_request); the callback runs once, later,
	 * never from inside this call. NULL: it could not be started. */
	void *(*request)(void *ctx, const char *method, const char *url, const void *body,
			 size_t len, const struct httpc_opts *o, httpc_cb cb, void *arg);
	int64_t (*now)(void *ctx, enum deliver_clock c);
	double (*jitter)(void *ctx); /* uniform in [0, 1) */
	/* Arm t for a DCLOCK_MONO deadline, or stop it (0); once the deadline
	 * has passed, call deliver_on_timer() (once). */
	void (*timer)(void *ctx, enum deliver_timer t, int64_t deadline);
	/* From deliver_free(): cancel what is in flight without calling back. */
	void (*release)(void *ctx);
};

/* On failure ctx is left to the caller; deliver_free() releases it. */
int deliver_open(struct deliver **dp, struct spool *sp, const struct deliver_opts *o,
		 const struct deliver_ops *ops, void *ctx);
void deliver_on_timer(struct deliver *d, enum deliver_timer t);

#endif
