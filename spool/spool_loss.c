/*
 * Loss accounting: records that will never be delivered are counted in the
 * ledger by cause (cap, memory bound, policy, corruption, torn tail) and
 * marked acknowledged, so no cursor returns them and their segments can go.
 * The bottom of the spool: it calls only the ack set and the log.
 */
#include <inttypes.h>

#include "log.h"
#include "spool_int.h"

static struct log_rl rl_drop = LOG_RL_INIT(5, 60);

/* Acknowledge [from, to); how many of its ids were still queued. */
static uint64_t
settle(struct spool *sp, uint64_t from, uint64_t to)
{
	uint64_t n = ackset_missing_in(&sp->st.acked, from, to);
	ackset_add(&sp->st.acked, from, to);
	sp->state_dirty = true;
	return n;
}

void
loss_memory(struct spool *sp, uint64_t rid)
{
	if (!ackset_has(&sp->st.acked, rid)) {
		sp->st.ledger.dropped_mem++;
		sp->state_dirty = true;
		log_rl(&rl_drop, LOG_WARNING,
		       "spool %s: memory bound reached while the disk fails: oldest record dropped "
		       "(%" PRIu64 " so far)",
		       sp->name, sp->st.ledger.dropped_mem);
	}
	ackset_add(&sp->st.acked, rid, rid + 1);
}

void
loss_cap(struct spool *sp, const struct seg *s)
{
	uint64_t n = settle(sp, s->first_rid, s->first_rid + s->count);
	sp->st.ledger.dropped_cap += n;
	log_rl(&rl_drop, LOG_WARNING,
	       "spool %s: over its cap of %" PRIu64 " bytes: oldest segment dropped with %" PRIu64
	       " undelivered records (%" PRIu64 " dropped so far)",
	       sp->name, sp->max_bytes, n, sp->st.ledger.dropped_cap);
}

uint64_t
loss_policy(struct spool *sp, uint64_t from, uint64_t to)
{
	uint64_t n = settle(sp, from, to);
	sp->st.ledger.dropped_policy += n;
	return n;
}

void
loss_corrupt(struct spool *sp, uint64_t from, uint64_t to)
{
	if (ackset_missing_in(&sp->st.acked, from, to) == 0)
		return;
	uint64_t n = settle(sp, from, to);
	sp->st.ledger.corrupt += n;
	log_warnx("spool %s: %" PRIu64 " records (ids %" PRIu64 "..%" PRIu64
		  ") lost to corruption inside a segment",
		  sp->name, n, from, to - 1);
}

void
loss_torn(struct spool *sp, const struct seg *sg, uint64_t bytes)
{
	log_warnx("spool %s: segment %016" PRIx64 ": torn tail of %" PRIu64
		  " bytes after a crash, truncated (the records in it were not fsynced)",
		  sp->name, sg->first_rid, bytes);
	sp->st.ledger.torn++;
	sp->st.ledger.torn_bytes += bytes;
	sp->state_dirty = true;
}
