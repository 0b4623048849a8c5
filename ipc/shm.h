/*
 * Shared-memory files in RUNDIR: a common header (magic, layout version,
 * size, generation, writer pid) and the create-or-reattach logic. Files are
 * created under a temporary name (never through a symlink) and renamed into
 * place once initialised, so a reader never maps a half-made file.
 */
#ifndef LEAFMON_SHM_H
#define LEAFMON_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/* Owner writes, the group reads (the leafmon group's CLI under the unit);
 * others nothing, whatever a umask of 022 or 002 would allow. */
#define SHM_MODE 0640

struct shm_hdr {
	char magic[8];
	uint32_t layout_version;
	uint32_t header_size;
	uint64_t total_size;
	uint64_t generation;
	_Atomic int32_t writer_pid;
	uint32_t reserved[5];
};

struct shm_map {
	void *base;
	size_t size;
	bool writable;
};

/* Create path (size bytes, init(base, arg) fills it) unless a valid file is
 * there; *reattached tells which. */
int shm_create(const char *path, const char *magic, uint32_t version, size_t size,
	       void (*init)(void *base, size_t size, void *arg), void *arg, bool *reattached);
/* Map an existing file after checking magic, version and size. */
int shm_open_map(struct shm_map *m, const char *path, const char *magic, uint32_t version,
		 bool writable);
void shm_unmap(struct shm_map *m);
int shm_path(char *out, size_t len, const char *rundir, const char *name);

#endif
