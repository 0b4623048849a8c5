/*
 * Pacing on uncompressed line-protocol bytes (InfluxDB Cloud's free tier
 * meters 5 MB per 5 minutes): a token bucket of capacity C = max / 10
 * refilled at (max - C) / window, so that no window of that length ever
 * carries more than max (at most C + rate x window), while a long backlog
 * drains steadily at 90 % of the limit instead of in bursts that collect
 * 429s. A body larger than C passes only from a full bucket (so it still
 * goes; it is the caller's job to keep bodies under pace_burst()). Pure.
 */
#ifndef LEAFMON_PACE_H
#define LEAFMON_PACE_H

#include <stddef.h>
#include <stdint.h>

struct pace {
	int64_t max_bytes, window_ns;
	double cap, rate; /* bytes, bytes per ns */
	double tokens;
	int64_t at; /* mono time tokens were counted */
	uint64_t passed, waits;
};

/* Starts full. */
void pace_init(struct pace *p, int64_t max_bytes, int64_t window_ns, int64_t now);
/* 0: send now (the bytes are counted); else how many ns to wait. */
int64_t pace_take(struct pace *p, size_t bytes, int64_t now);
/* The largest body that passes without waiting for a full bucket. */
size_t pace_burst(const struct pace *p);
/* Sustained bytes per second. */
double pace_rate(const struct pace *p);

#endif
