/*
 * A writer's feed of samples: the journal subscription (sampsub) from a
 * resume point the writer keeps durable, drained from the worker's loop in
 * slices so that a long catch-up never starves the loop, retried each tick
 * until leafmond has made the journal, and shown in the heartbeat (the
 * subscriber's counters and the samples_lost alert). The influx and cloud
 * writers share it; what they do with a sample is theirs (take).
 */
#ifndef LEAFMON_FEED_H
#define LEAFMON_FEED_H

#include <stdint.h>

#include "sampsub.h"
#include "worker.h"

/* One sample, in journal order; now_* are read once per slice. */
typedef void feed_take_fn(void *arg, const Sample *m, int64_t now_real, int64_t now_boot);
/* Where to resume: after (gen, seq); gen 0 is the oldest the journal holds. */
typedef void feed_resume_fn(void *arg, uint64_t *gen, uint64_t *seq);

struct feed {
	struct worker *w;
	struct sampsub *ss;	    /* NULL until the journal exists */
	struct loop_timer *catchup; /* the subscriber has more to read */
	feed_take_fn *take;
	feed_resume_fn *resume;
	void *arg;
	const char *no_journal; /* the alert's text while there is no journal */
	int64_t last_sample;	/* mono time of the last slice that took one */
	uint64_t sub_failures;
	uint64_t lost_seen;
	int64_t lost_alert_since; /* real seconds */
};

/* Subscribes at once if it can; -1 only when out of memory. */
int feed_start(struct feed *f, struct worker *w, feed_take_fn *take, feed_resume_fn *resume,
	       void *arg, const char *no_journal);
/* Every second: subscribe if not yet, look at the journal (PUB drops), drain. */
void feed_tick(struct feed *f);
/* At stop: take what is pending, for at most until deadline (mono ns). */
void feed_drain_until(struct feed *f, int64_t deadline);
void feed_counters(struct feed *f, struct heartbeat *hb);
void feed_close(struct feed *f);

#endif
