/*
 * libFuzzer target for the log reader as `leafmon decode` and the replay
 * source use it: the input is a whole file (a memfd), read through
 * logread with format detection, the 4 KiB line cap and the bus clock of
 * untimed logs. Checks the reader's promises: every frame's length fits
 * its kind, an untimed log's times never run backwards, and "no frame"
 * is said exactly when no frame came.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "logread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logread r;
	struct can_rec f;
	char path[64], why[1024];
	int fd = memfd_create("fuzz-log", MFD_CLOEXEC), k;
	uint64_t frames = 0;
	int64_t last = INT64_MIN;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (logread_open(&r, path, LF_AUTO, BUS_EV, 0) < 0) {
		close(fd);
		return 0;
	}
	while ((k = logread_next(&r, &f)) != 0) {
		if (k < 0) {
			if (r.err[0] == '\0')
				abort();
			continue;
		}
		if (f.len > ((f.flags & CANF_FD) ? 64 : 8) || f.bus >= BUS_COUNT)
			abort();
		if (r.clocked && f.t_ns < last)
			abort(); /* the bus clock never runs backwards */
		last = r.clocked ? f.t_ns : last;
		frames++;
	}
	if ((logread_why_none(&r, why, sizeof(why)) == 0) != (frames == 0))
		abort();
	logread_close(&r);
	close(fd);
	return 0;
}
