/*
 * Per-signal decode statistics (count/min/max/last) plus the decoder's and
 * parser's health counters: `leafmon decode --summary` and the golden tests.
 */
#ifndef LEAFMON_SUMMARY_H
#define LEAFMON_SUMMARY_H

#include <stdint.h>

#include "decode.h"
#include "util.h"

struct sig_stat {
	uint64_t count;
	double min, max, last;
};

struct summary {
	struct sig_stat s[SIG_ID_MAX];
	uint64_t samples;
	uint64_t parse_errors;
	char time_note[160]; /* "times estimated from the bus clock: ..." (untimed logs) */
};

void summary_init(struct summary *sm);
void summary_add(struct summary *sm, const struct sig_update *u, size_t n);
/* Text, one "name count min max last" line per signal seen, then the
 * counters. Deterministic: the golden files are this output. */
void summary_format(const struct summary *sm, const struct dec_stats *st, int gen, struct buf *b);
/* The same as a JSON object. */
void summary_json(const struct summary *sm, const struct dec_stats *st, int gen, struct buf *b);

#endif
