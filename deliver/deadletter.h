/*
 * The dead-letter file (STATEDIR/influx-deadletter.lp,
 * STATEDIR/cloud/deadletter.lp): lines a server refused for good (400/422,
 * or too large alone for a 413), each group headed by a comment line with
 * the time, the status and the server's message, so nothing is thrown away
 * without a trace. Capped: the previous file is kept as .1 when it rotates.
 */
#ifndef LEAFMON_DEADLETTER_H
#define LEAFMON_DEADLETTER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct deadletter {
	char path[PATH_MAX];
	uint64_t max_bytes;
	uint64_t lines;	 /* written since start */
	uint64_t failed; /* lines that could not be written (disk) */
};

void deadletter_init(struct deadletter *d, const char *path, uint64_t max_bytes);
/* Append lines (without '\n') under a header; fdatasync. 0 or -1. */
int deadletter_write(struct deadletter *d, int status, const char *msg, const char *const *lines,
		     const size_t *lens, size_t n, time_t now);

#endif
