/*
 * A sample subscriber that misses nothing: it subscribes on samples.ipc,
 * detects gaps by sequence number, and reads what it missed from the
 * journal. It starts from a checkpoint (generation, seq) the caller made
 * durable, so a restarted writer worker resumes exactly where it left off.
 * What the journal no longer holds is counted as lost, never skipped silently.
 */
#ifndef LEAFMON_SAMPSUB_H
#define LEAFMON_SAMPSUB_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

struct sampsub;

struct sampsub_stats {
	uint64_t delivered;   /* samples handed to the caller */
	uint64_t from_bus;    /* of which received on NNG */
	uint64_t from_journal; /* of which read back from the journal (gap fill) */
	uint64_t duplicates;  /* seq already delivered: dropped */
	uint64_t lost;	      /* overwritten before we could read them */
	uint64_t generation_changes;
	uint64_t bad_messages; /* too big or malformed */
};

/* ck_generation 0: no checkpoint yet: start at the oldest sample the journal
 * holds (a writer's first start delivers what is there). SAMPSUB_FROM_NOW:
 * only what is published from now on (a live view such as leafmon watch). */
#define SAMPSUB_FROM_NOW UINT64_MAX
int sampsub_open(struct sampsub **sp, const char *rundir, uint64_t ck_generation, uint64_t ck_seq);
void sampsub_close(struct sampsub *s);
/* Readable when NNG has something; call sampsub_next until it returns NULL. */
int sampsub_fd(const struct sampsub *s);
/* The next sample in seq order, or NULL when nothing is ready. Free with
 * sampsub_free(). Journal reads are bounded per call: while
 * sampsub_pending() is true, call again soon (a short timer). */
Sample *sampsub_next(struct sampsub *s);
void sampsub_free(Sample *m);
/* Whether the sample sampsub_next() returned last came on the bus as it
 * was published (live), not read back from the journal (start, a gap). */
bool sampsub_live(const struct sampsub *s);
/* Call on a timer (about every second): PUB drops silently, so the last
 * samples before a quiet bus may only be in the journal; this also notices
 * a journal that leafmond replaced. */
void sampsub_poll_journal(struct sampsub *s);
bool sampsub_pending(const struct sampsub *s);
const struct sampsub_stats *sampsub_stats(const struct sampsub *s);
uint64_t sampsub_generation(const struct sampsub *s);
uint64_t sampsub_last_seq(const struct sampsub *s);

#endif
