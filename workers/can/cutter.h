/*
 * The sample cutter (pure), shared by the live worker and `leafmon decode`:
 * samples are cut on frame time. Ticks are aligned to multiples of the
 * publish interval; a sample closes when a frame's capture time reaches the
 * end of the tick its frames fell in. Its t_ns is the capture time of the
 * newest frame in it, and it holds the published signals whose value
 * differs from the one the previous samples gave. So the same log gives
 * the same samples at any replay speed.
 *
 * Keyframes: the first tick that starts at or after a multiple of the
 * keyframe period (frame time; for a replay, the log's own time, see
 * cutter_keyframes_from) also carries every published signal whose
 * value is still fresh, changed or not, so every window of that length has
 * a value of each signal. Fresh: a frame refreshed it within CUTTER_FRESH_NS
 * of the sample's time. Every periodic Leaf message comes at least every
 * 500 ms and the decoder restates its own state each second, so a value
 * that old means its message stopped (bus asleep, source gone, the charger
 * unplugged, an invalid marker): it is not repeated as if it were current.
 */
#ifndef LEAFMON_CUTTER_H
#define LEAFMON_CUTTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "signals.h"

#define CUTTER_FRESH_NS (10LL * 1000 * 1000 * 1000)

struct sample_out {
	int64_t t_ns;
	size_t n;
	bool keyframe; /* it repeats every fresh value */
	uint16_t ids[SIG_ID_MAX];
	double values[SIG_ID_MAX];
};

struct cutter {
	int64_t interval_ns;
	int64_t keyframe_ns; /* 0: no keyframes */
	int64_t key_origin;  /* keyframes fall on key_origin + k * keyframe_ns */
	int64_t next_key;    /* a tick starting at or after this is a keyframe */
	bool open;	     /* a tick is open */
	int64_t tick_end;    /* its end */
	int64_t newest_t;
	int64_t frame_t; /* the frame being added */
	size_t ndirty;
	uint16_t dirty_list[SIG_ID_MAX];
	bool dirty[SIG_ID_MAX];
	bool published[SIG_ID_MAX]; /* a catalogue row that may be published */
	bool have_pub[SIG_ID_MAX];
	double cur[SIG_ID_MAX];
	double last_pub[SIG_ID_MAX];
	bool have_val[SIG_ID_MAX];  /* cur holds a value */
	int64_t seen_t[SIG_ID_MAX]; /* frame time of the last update */
};

/* keyframe_s: [can] keyframe_s, 0 = off. */
void cutter_init(struct cutter *c, int interval_ms, int keyframe_s);
/*
 * Keyframes on origin + k * keyframe_s instead of on multiples of it. A
 * replay passes its re-basing (frame time minus log time), so that its
 * keyframes fall where `leafmon decode` puts them in the log's own time.
 */
void cutter_keyframes_from(struct cutter *c, int64_t origin);
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
