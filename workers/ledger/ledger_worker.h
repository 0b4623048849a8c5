/*
 * leafmon-ledger: the one writer of STATEDIR/ledger.db. It takes every
 * session event from the journal feed (Sample.events, gap-free from a
 * durable resume point), upserts them, and commits the upserts with the
 * feed's point in one transaction at most once a second: a kill anywhere
 * re-reads what was not committed, and a duplicate changes nothing. When
 * the database cannot be opened or written it alerts, lets go of the feed
 * (the journal keeps the events) and retries.
 */
#ifndef LEAFMON_LEDGER_WORKER_H
#define LEAFMON_LEDGER_WORKER_H

#include <limits.h>
#include <stdint.h>

#include "feed.h"
#include "ledger_db.h"
#include "worker.h"

#define LW_FEED_NAME "journal"
#define LW_IDLE_COMMIT_NS (60 * NSEC_PER_SEC) /* the point moves without events */
#define LW_RETRY_MIN_S 1
#define LW_RETRY_MAX_S 30

struct lw {
	struct worker *w;
	struct ldb *db; /* NULL while it cannot be opened */
	struct feed feed;
	bool feeding;
	bool broken;		 /* a write failed inside a slice: handled on the tick */
	struct loop_timer *tick; /* every second: commit, retry, the battery check */
	char path[PATH_MAX];
	char vehicle[128];
	uint64_t gen, seq;   /* the last sample taken */
	uint64_t cgen, cseq; /* the point durable in the database */
	bool have_point;
	unsigned pending;     /* events upserted in the open transaction */
	bool daily_changed;   /* a battery_daily was written: check it again */
	int64_t last_commit;  /* mono ns */
	int64_t last_success; /* Unix s */
	int64_t retry_at;     /* mono ns */
	int retry_s;
	struct {
		char text[512];
		int code;
		int64_t since, at;
	} err;
	char soh_alert[320];
	int64_t soh_since;
	int64_t sessions;
	struct {
		uint64_t samples, events, inserted, replaced, duplicates, late, invalid;
		uint64_t commits, db_errors, opens;
	} n;
};

int lw_start(struct lw *lw, struct worker *w);

#endif
