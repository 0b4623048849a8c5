/*
 * The clock state that every spool record and the status document carry:
 * boot id, CLOCK_BOOTTIME, and whether the kernel clock is synchronised.
 */
#ifndef LEAFMON_CLOCK_H
#define LEAFMON_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct clock_state {
	char boot_id[37];      /* /proc/sys/kernel/random/boot_id */
	bool synced;	       /* adjtimex: kernel clock synchronised (NTP) */
	int64_t realtime_ns;   /* CLOCK_REALTIME at the reading */
	int64_t boottime_ns;   /* CLOCK_BOOTTIME at the reading */
	int64_t maxerror_us;   /* adjtimex maxerror */
};

int clock_read(struct clock_state *cs);
int clock_boot_id(char out[37]);

#endif
