/*
 * A sample's session events into a writer's spool (DESIGN.md "Session
 * measurements"): one data record per Event, payload format 2 (the kind,
 * the phase, the start relative to the capture, the detail as it came), so
 * the spool's durability, acks and replay carry them like samples and the
 * format byte routes them to the sessions' destination at send time.
 */
#ifndef LEAFMON_SESSREC_H
#define LEAFMON_SESSREC_H

#include <stdint.h>

#include "msg.h"
#include "spool.h"
#include "util.h"

#define SESSREC_OPEN 8 /* sessions followed at once (trip|charge|park, a day, spares) */

struct sessrec_counts {
	uint64_t taken;	 /* events seen in samples */
	uint64_t spooled;
	uint64_t failed; /* not spooled: no start, a bad kind or detail size, the spool refused */
	uint64_t superseded; /* an older record of the same session acknowledged unsent */
	/* the newest record of each open session: a newer event of it
	 * supersedes it (same point, newer figures; if it was sent already,
	 * the newer one overwrites it at the server) */
	struct {
		char kind[16];
		int64_t start_ns;
		uint64_t rid;
	} open[SESSREC_OPEN];
	unsigned next; /* round-robin slot to reuse */
};

/* meta: the sample's capture (its t_ns is m->t_ns). Returns how many were spooled. */
int sessrec_spool(struct spool *sp, const Sample *m, const struct spool_meta *meta,
		  struct buf *scratch, struct sessrec_counts *n);

#endif
