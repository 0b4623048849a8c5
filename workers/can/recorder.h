/*
 * Raw recording of every frame as candump -l text into
 * STATEDIR/recordings/can-YYYYmmdd-HHMMSS.log, rotated by size; the oldest
 * files go when the folder passes record_max_mb. Writes are buffered and
 * flushed once a second; a failing disk is counted, never waited for.
 */
#ifndef LEAFMON_RECORDER_H
#define LEAFMON_RECORDER_H

#include <stdint.h>
#include <stdio.h>

#include "canframe.h"

struct recorder {
	char dir[300];
	FILE *fp;
	uint64_t file_bytes, file_max, total_max;
	uint64_t frames, errors, files;
	char iface[BUS_COUNT][16];
};

int recorder_open(struct recorder *r, const char *statedir, int max_mb);
void recorder_write(struct recorder *r, const struct can_rec *f, int64_t now_real);
void recorder_flush(struct recorder *r);
void recorder_close(struct recorder *r);
/* Total bytes of can-*.log in dir, and remove the oldest while over max. */
uint64_t recorder_prune(const char *dir, uint64_t max_bytes);

#endif
