/*
 * libFuzzer target for the log reader as `leafmon decode` and the replay
 * source use it: the input is a whole file (a memfd), read through
 * logread with format detection, the 4 KiB line cap and the bus clock of
 * untimed logs. Checks the reader's promises: every frame's length fits
 * its kind, an untimed log's times never run backwards, and "no frame"
 * is said exactly when no frame came; and that reading through the
 * mapping (logread_map, as `leafmon decode` does) gives the same frames
 * and errors as read(2) (as the replay does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "logread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ULL; /* FNV-1a */
	return h;
}

/* The frames and errors of the file, hashed; -1 when it cannot be opened. */
static int
read_log(const char *path, int map, uint64_t *hash, uint64_t *frames)
{
	struct logread r;
	struct can_rec f;
	char why[1024];
	int64_t last = INT64_MIN;
	uint64_t h = 0xcbf29ce484222325ULL;
	int k;

	*frames = 0;
	if (logread_open(&r, path, LF_AUTO, BUS_EV, 0) < 0)
		return -1;
	if (map)
		(void)logread_map(&r); /* an empty file stays on read(2) */
	while ((k = logread_next(&r, &f)) != 0) {
		if (k < 0) {
			if (r.err[0] == '\0')
				abort();
			h = mix(h, r.err, strlen(r.err));
			continue;
		}
		if (f.len > ((f.flags & CANF_FD) ? 64 : 8) || f.bus >= BUS_COUNT)
			abort();
		if (r.clocked && f.t_ns < last)
			abort(); /* the bus clock never runs backwards */
		last = r.clocked ? f.t_ns : last;
		h = mix(h, &f.t_ns, sizeof(f.t_ns));
		h = mix(h, &f.id, sizeof(f.id));
		h = mix(h, &f.flags, sizeof(f.flags));
		h = mix(h, &f.bus, sizeof(f.bus));
		h = mix(h, f.data, f.len);
		(*frames)++;
	}
	if ((logread_why_none(&r, why, sizeof(why)) == 0) != (*frames == 0))
		abort();
	h = mix(h, &r.long_lines, sizeof(r.long_lines));
	*hash = h;
	logread_close(&r);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create("fuzz-log", MFD_CLOEXEC);
	uint64_t h1, h2, n1, n2;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (read_log(path, 0, &h1, &n1) == 0 && read_log(path, 1, &h2, &n2) == 0 &&
	    (h1 != h2 || n1 != n2))
		abort(); /* the mapping read something else */
	close(fd);
	return 0;
}
