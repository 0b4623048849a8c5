/*
 * leafmon-influx: subscribe to samples from a durable checkpoint, spool every
 * one, commit once a second (the checkpoint travels in the same fsync as the
 * records it covers), and deliver the spool to the local InfluxDB. The
 * subscription never waits for the server: the spool absorbs any outage.
 */
#ifndef LEAFMON_INFLUX_WORKER_H
#define LEAFMON_INFLUX_WORKER_H

#include <limits.h>
#include <stdint.h>

#include "clock.h"
#include "deliver.h"
#include "feed.h"
#include "sessrec.h"
#include "spool.h"
#include "util.h"
#include "worker.h"

#define IW_MARK_LEN 18 /* "S1" + generation + seq, little-endian */

struct iw {
	struct worker *w;
	const struct cfg_writer *cfg;
	struct spool *sp;
	struct deliver *dl;
	struct feed feed;
	struct loop_timer *tick;    /* every second: clock, commit, upkeep, delivery */
	uint64_t gen, seq;	    /* the last sample taken (the checkpoint to write) */
	bool dirty;		    /* taken since the last commit */
	struct clock_state clk;
	struct buf payload;
	struct sessrec_counts sess;
	char vehicle[128];
	char spool_dir[PATH_MAX];
	char deadletter[PATH_MAX];
	struct {
		uint64_t samples, appended, empty, values_skipped, append_failed;
		uint64_t commits, commit_failed;
	} n;
};

/* Mark <-> checkpoint (pure; tested). */
void iw_mark_encode(uint8_t out[IW_MARK_LEN], uint64_t gen, uint64_t seq);
int iw_mark_decode(const uint8_t *in, size_t len, uint64_t *gen, uint64_t *seq);

int iw_start(struct iw *iw, struct worker *w);

#endif
