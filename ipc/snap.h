/*
 * The state snapshot in RUNDIR/state.shm: one slot per signal id, written by
 * the can worker only, read lock-free by everyone. Each slot is a seqcount
 * (DPDK rte_seqcount ordering): a writer killed mid-update leaves one slot
 * odd; readers give up after a bounded number of retries (-EBUSY) and the
 * next writer repairs it on attach.
 */
#ifndef LEAFMON_SNAP_H
#define LEAFMON_SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "signals.h"

#define SNAP_VALID 0x01u	 /* written at least once since the signal was seen */
#define SNAP_STALE 0x02u	 /* not refreshed recently (bus asleep, source gone) */
#define SNAP_BUS_SHIFT 8	 /* bits 8..11: enum can_bus of the last update */
#define SNAP_BUS(flags) (((flags) >> SNAP_BUS_SHIFT) & 0xfu)

struct snap;

struct snap_value {
	double value;
	int64_t t_ns; /* capture time of the frame that set it */
	uint32_t flags;
};

/* Supervisor: create RUNDIR/state.shm or re-attach a valid one. */
int snap_create(const char *rundir, bool *reattached, uint64_t *generation);
/* Map it: writable for the can worker (repairs odd slots), else read-only. */
int snap_open(struct snap **sp, const char *rundir, bool writable);
void snap_close(struct snap *s);
uint64_t snap_generation(const struct snap *s);
int snap_writer_pid(const struct snap *s);

void snap_write(struct snap *s, unsigned id, double value, int64_t t_ns, uint32_t flags);
/* Set/clear flag bits on every valid slot (e.g. SNAP_STALE when the bus sleeps). */
void snap_mark_all(struct snap *s, uint32_t set, uint32_t clear);
/* 0; -ENOENT never written (or bad id); -EBUSY writer mid-update too long. */
int snap_read(const struct snap *s, unsigned id, struct snap_value *out);
/* The can worker says every bus is asleep (its can_bus_asleep slot). */
bool snap_bus_asleep(const struct snap *s);

#endif
