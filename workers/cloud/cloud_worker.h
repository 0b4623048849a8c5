/*
 * leafmon-cloud: store-and-forward to InfluxDB Cloud or any remote InfluxDB
 * (DESIGN.md "Cloud sync"). Samples from a durable checkpoint are folded to
 * the cloud's resolution (agg.h) into a spool of its own (STATEDIR/cloud/
 * spool), committed once a second with the checkpoint, and sent in sync
 * rounds (every sync_interval_s, at once when the network comes back and a
 * backlog waits): /ping first, live records ahead of the backlog, gzip,
 * paced on uncompressed bytes (pace.h), never blocking the subscription.
 */
#ifndef LEAFMON_CLOUD_WORKER_H
#define LEAFMON_CLOUD_WORKER_H

#include <limits.h>
#include <stdint.h>

#include "agg.h"
#include "clock.h"
#include "deliver.h"
#include "feed.h"
#include "sessrec.h"
#include "pace.h"
#include "spool.h"
#include "util.h"
#include "worker.h"

#define CW_IDLE_FLUSH_NS                                                                           \
	(2 * NSEC_PER_SEC) /* a quiet bus: the open bucket goes out provisionally */

struct cloud_worker {
	struct worker *w;
	const struct cfg_writer *cfg;
	struct spool *sp;
	struct deliver *dl;
	struct feed feed;
	struct agg agg;
	struct pace pace;
	struct loop_timer *tick; /* every second: clock, idle flush, commit, upkeep, rounds */
	int nl_fd;		 /* route netlink, or -1 */
	bool dirty;		 /* the checkpoint moved since the last commit */
	int64_t next_round;	 /* mono time of the next sync round */
	int64_t last_nl_round;	 /* mono time of the last round a netlink event started */
	uint64_t round_rid;	 /* spool_next_rid() when the last round started */
	struct clock_state clk;
	struct buf payload;
	struct sessrec_counts sess;
	char vehicle[128];
	char dir[PATH_MAX];
	char spool_dir[PATH_MAX];
	char deadletter[PATH_MAX];
	struct {
		uint64_t samples, appended, append_failed, superseded;
		uint64_t commits, commit_failed;
		uint64_t rounds, rounds_skipped, netlink_events, netlink_rounds;
	} n;
};

int cloud_worker_start(struct cloud_worker *cloud, struct worker *w);

#endif
