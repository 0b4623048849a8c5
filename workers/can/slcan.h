/*
 * The Lawicel/slcan ASCII protocol (pure): frame lines "tIIILDD..",
 * "TIIIIIIIILDD..", "rIIIL", "RIIIIIIIIL" (an optional 4-digit adapter
 * timestamp is ignored), command answers "\r" (ok) and "\a" (error).
 * Partial lines are kept until their "\r"; garbage is counted and skipped.
 */
#ifndef LEAFMON_SLCAN_H
#define LEAFMON_SLCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"

#define SLCAN_LINE_MAX 40 /* "T" + 8 + 1 + 16 + 4 + slack */

struct slcan_rx {
	char line[SLCAN_LINE_MAX];
	size_t len;
	bool overlong;	 /* the current line overflowed: drop it */
	uint64_t oks;	 /* "\r" answers */
	uint64_t bells;	 /* "\a" answers */
	uint64_t errors; /* unparseable lines */
	uint64_t frames;
};

void slcan_rx_init(struct slcan_rx *p);
/*
 * Feed received bytes; complete frames go to out (at most cap; with at most
 * 256 bytes per call, 64 is always enough), stamped t_ns and bus.
 */
size_t slcan_feed(struct slcan_rx *p, const uint8_t *buf, size_t n, struct can_rec *out,
		  size_t cap, int bus, int64_t t_ns);
/* One line without its "\r": 1 frame, -1 unparseable. */
int slcan_parse_line(const char *line, size_t len, struct can_rec *f);
/* A frame as an slcan line with "\r" (for peers and tests); its length. */
int slcan_format(char *buf, size_t len, const struct can_rec *f);
/* "S6" for 500000 and so on; NULL for a bitrate slcan has no code for. */
const char *slcan_bitrate_cmd(long bitrate);

#endif
