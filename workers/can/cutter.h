/*
 * The sample cutter (pure), shared by the live worker and `leafmon decode`:
 * samples are cut on frame time. Ticks are aligned to multiples of the
 * publish interval; a sample closes when a frame's capture time reaches the
 * end of the tick its frames fell in. Its t_ns is the capture time of the
 * newest frame in it, and it holds the published signals whose value
 * differs from the one the previous samples gave. So the same log gives
 * the same samples at any replay speed.
 */
#ifndef LEAFMON_CUTTER_H
#define LEAFMON_CUTTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "signals.h"

struct sample_out {
	int64_t t_ns;
	size_t n;
	uint16_t ids[SIG_ID_MAX];
	double values[SIG_ID_MAX];
};

struct cutter {
	int64_t interval_ns;
	bool open;	  /* a tick is open */
	int64_t tick_end; /* its end */
	int64_t newest_t;
	size_t ndirty;
	uint16_t dirty_list[SIG_ID_MAX];
	bool dirty[SIG_ID_MAX];
	bool published[SIG_ID_MAX]; /* a catalogue row that may be published */
	bool have_pub[SIG_ID_MAX];
	double cur[SIG_ID_MAX];
	double last_pub[SIG_ID_MAX];
};

void cutter_init(struct cutter *c, int interval_ms);
/*
 * Call with each frame's capture time before cutter_add()ing its updates.
 * Returns 1 and fills *out when the frame closes the open sample (and the
 * sample has changes), else 0.
 */
int cutter_frame(struct cutter *c, int64_t t_ns, struct sample_out *out);
void cutter_add(struct cutter *c, const struct sig_update *u, size_t n);
/* Close the open tick now (bus asleep, end of a log): 1 when *out holds a sample. */
int cutter_flush(struct cutter *c, struct sample_out *out);
/* Forget what was published (a new journal generation: send everything). */
void cutter_reset_published(struct cutter *c);

#endif
