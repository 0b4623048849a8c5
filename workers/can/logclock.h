/*
 * The bus's own clock for logs without timestamps (pure, no I/O). A Leaf's
 * bus is its own metronome: 0x1DB, 0x1DC, 0x1DA, 0x1D4 and 0x11A come every
 * 10 ms. Frames without a time go in; the clock looks ahead over the first
 * LOGCLOCK_WINDOW of them, takes the most regular of those five (the
 * smallest spread of the frame counts between its occurrences) as the
 * tick, and on a bus with none of them the most regular id whose period is
 * known (LEAF-CAN.md); with none of those, 10 ms per frame as before. Each
 * tick is one period; the frames between two ticks share it evenly; when
 * the tick stops coming (eight times the usual frames without it) the
 * frames since go at the usual rate and the clock is chosen again from
 * the frames that follow (a gap that long counts as the periods it spans
 * if the tick comes back); frames after the last tick go at the usual rate. Times never run
 * backwards, and frames come out in the order they went in. At most LOGCLOCK_QMAX frames are held,
 * so stdin works the same.
 */
#ifndef LEAFMON_LOGCLOCK_H
#define LEAFMON_LOGCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"

#define LOGCLOCK_WINDOW 2048
#define LOGCLOCK_QMAX 4096

enum logclock_how {
	LC_UNDECIDED,
	LC_TICK,      /* one of the 10 ms frames */
	LC_PERIOD,    /* another id whose period is known */
	LC_PER_FRAME, /* no periodic id known: 10 ms per frame */
};

struct logclock {
	struct can_rec *q; /* ring of LOGCLOCK_QMAX (allocated on the first push) */
	size_t head, n;
	uint64_t out; /* frames given out (the index of q[head]) */
	bool ended;
	int how;	   /* enum logclock_how */
	uint32_t id;	   /* the tick's id ... */
	uint8_t bus;	   /* ... and bus */
	int64_t step_ns;   /* its period */
	uint64_t base_idx; /* the first frame since the clock was chosen ... */
	int64_t start_ns;  /* ... and its time */
	int64_t gap_q10;   /* usual frames per tick, x1024 */
	bool have_tick;
	uint64_t tick_idx; /* the last tick given out ... */
	int64_t tick_t;	   /* ... and its time */
	uint64_t next_idx; /* the next tick in the queue (0: not looked for) */
	int64_t last_t;
	uint64_t ticks;	 /* ticks given out */
	uint64_t epochs; /* times the clock was chosen again */
};

void logclock_init(struct logclock *c, int64_t start_ns);
void logclock_free(struct logclock *c);
/* Queue an untimed frame; -1 when the queue is full (pop first) or no memory. */
int logclock_push(struct logclock *c, const struct can_rec *f);
/* 1 and the next frame with its time in *f; 0 when it needs more input. */
int logclock_pop(struct logclock *c, struct can_rec *f);
/* No more input: what is queued can all come out. */
void logclock_end(struct logclock *c);
/* "0x1DB every 10 ms" (what the times were estimated from). */
void logclock_describe(const struct logclock *c, char *buf, size_t len);

#endif
