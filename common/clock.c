/*
 * Clock state from adjtimex(2) and the kernel's boot id. A clock is taken as
 * synchronised when adjtimex does not report TIME_ERROR / STA_UNSYNC.
 * LEAFMON_CLOCK_UNSYNCED=1 forces "unsynced" for tests of the re-basing path.
 */
#include "clock.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

#include "util.h"

int
clock_boot_id(char out[37])
{
	static char cached[37];
	if (cached[0] == '\0') {
		int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			return -1;
		ssize_t n = read(fd, cached, 36);
		close(fd);
		if (n != 36) {
			cached[0] = '\0';
			return -1;
		}
		cached[36] = '\0';
	}
	memcpy(out, cached, 37);
	return 0;
}

int
clock_read(struct clock_state *cs)
{
	struct timex tx;

	memset(cs, 0, sizeof(*cs));
	if (clock_boot_id(cs->boot_id) < 0)
		strcpy(cs->boot_id, "unknown");
	memset(&tx, 0, sizeof(tx));
	int st = adjtimex(&tx);
	cs->boottime_ns = now_boot_ns();
	cs->realtime_ns = now_real_ns();
	cs->synced = st != -1 && st != TIME_ERROR && !(tx.status & STA_UNSYNC);
	cs->maxerror_us = tx.maxerror;
	const char *force = getenv("LEAFMON_CLOCK_UNSYNCED");
	if (force != NULL && strcmp(force, "1") == 0)
		cs->synced = false;
	return st == -1 ? -1 : 0;
}
