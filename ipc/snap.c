/*
 * The snapshot's slots are seqcounts, written fence by fence as DPDK's
 * rte_seqcount does:
 *   writer: seq = s+1 (odd); release fence; store fields; seq = s+2 (release)
 *   reader: s1 = seq (acquire), odd: retry; load fields; acquire fence;
 *           s2 = seq; s1 != s2: retry
 * Every field is an atomic (relaxed), so there is no data race in the C11
 * model and TSan sees none either.
 */
#include "snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shm.h"

#define SNAP_MAGIC "LEAFSNAP"
#define SNAP_VERSION 1
#define SNAP_READ_TRIES 256

struct snap_slot {
	_Atomic uint32_t seq;
	_Atomic uint32_t flags;
	_Atomic uint64_t value; /* double bits */
	_Atomic int64_t t_ns;
	uint64_t pad;
};

struct snap_file {
	struct shm_hdr h;
	struct snap_slot slots[SIG_ID_MAX];
};

_Static_assert(sizeof(struct snap_slot) == 32, "slot layout");

struct snap {
	struct shm_map m;
	struct snap_file *f;
};

static void
snap_init(void *base, size_t size, void *arg)
{
	memset((char *)base + sizeof(struct shm_hdr), 0, size - sizeof(struct shm_hdr));
}

int
snap_create(const char *rundir, bool *reattached, uint64_t *generation)
{
	char path[512];
	if (shm_path(path, sizeof(path), rundir, "state.shm") < 0)
		return -1;
	if (shm_create(path, SNAP_MAGIC, SNAP_VERSION, sizeof(struct snap_file), snap_init, NULL,
		       reattached) < 0)
		return -1;
	if (generation != NULL) {
		struct snap *s;
		if (snap_open(&s, rundir, false) < 0)
			return -1;
		*generation = snap_generation(s);
		snap_close(s);
	}
	return 0;
}

int
snap_open(struct snap **sp, const char *rundir, bool writable)
{
	char path[512];
	struct snap *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	if (shm_path(path, sizeof(path), rundir, "state.shm") < 0 ||
	    shm_open_map(&s->m, path, SNAP_MAGIC, SNAP_VERSION, writable) < 0) {
		int saved = errno;
		free(s);
		errno = saved;
		return -1;
	}
	s->f = s->m.base;
	if (writable) {
		/* a writer killed mid-update left odd slots: even them out and
		 * drop their (possibly torn) value */
		for (unsigned i = 0; i < SIG_ID_MAX; i++) {
			struct snap_slot *sl = &s->f->slots[i];
			uint32_t seq = atomic_load_explicit(&sl->seq, memory_order_relaxed);
			if (seq & 1) {
				atomic_store_explicit(&sl->flags, 0, memory_order_relaxed);
				atomic_store_explicit(&sl->seq, seq + 1, memory_order_release);
			}
		}
		atomic_store(&s->f->h.writer_pid, (int32_t)getpid());
	}
	*sp = s;
	return 0;
}

void
snap_close(struct snap *s)
{
	if (s == NULL)
		return;
	shm_unmap(&s->m);
	free(s);
}

uint64_t
snap_generation(const struct snap *s)
{
	return s->f->h.generation;
}

int
snap_writer_pid(const struct snap *s)
{
	return atomic_load(&s->f->h.writer_pid);
}

static void
slot_write(struct snap_slot *sl, uint64_t bits, int64_t t_ns, uint32_t flags)
{
	uint32_t seq = atomic_load_explicit(&sl->seq, memory_order_relaxed);
	atomic_store_explicit(&sl->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&sl->value, bits, memory_order_relaxed);
	atomic_store_explicit(&sl->t_ns, t_ns, memory_order_relaxed);
	atomic_store_explicit(&sl->flags, flags, memory_order_relaxed);
	atomic_store_explicit(&sl->seq, seq + 2, memory_order_release);
}

void
snap_write(struct snap *s, unsigned id, double value, int64_t t_ns, uint32_t flags)
{
	uint64_t bits;
	if (id >= SIG_ID_MAX)
		return;
	memcpy(&bits, &value, sizeof(bits));
	slot_write(&s->f->slots[id], bits, t_ns, flags | SNAP_VALID);
}

void
snap_mark_all(struct snap *s, uint32_t set, uint32_t clear)
{
	for (unsigned i = 0; i < SIG_ID_MAX; i++) {
		struct snap_slot *sl = &s->f->slots[i];
		uint32_t fl = atomic_load_explicit(&sl->flags, memory_order_relaxed);
		if (!(fl & SNAP_VALID) || ((fl | set) & ~clear) == fl)
			continue;
		slot_write(sl, atomic_load_explicit(&sl->value, memory_order_relaxed),
			   atomic_load_explicit(&sl->t_ns, memory_order_relaxed), (fl | set) & ~clear);
	}
}

int
snap_read(const struct snap *s, unsigned id, struct snap_value *out)
{
	if (id >= SIG_ID_MAX)
		return -ENOENT;
	struct snap_slot *sl = &((struct snap_file *)s->f)->slots[id];
	for (int tries = 0; tries < SNAP_READ_TRIES; tries++) {
		uint32_t s1 = atomic_load_explicit(&sl->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		uint64_t bits = atomic_load_explicit(&sl->value, memory_order_relaxed);
		int64_t t = atomic_load_explicit(&sl->t_ns, memory_order_relaxed);
		uint32_t fl = atomic_load_explicit(&sl->flags, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		uint32_t s2 = atomic_load_explicit(&sl->seq, memory_order_relaxed);
		if (s1 != s2)
			continue;
		if (!(fl & SNAP_VALID))
			return -ENOENT;
		memcpy(&out->value, &bits, sizeof(bits));
		out->t_ns = t;
		out->flags = fl;
		return 0;
	}
	return -EBUSY;
}

bool
snap_bus_asleep(const struct snap *s)
{
	struct snap_value v;
	return s != NULL && snap_read(s, SIG_can_bus_asleep, &v) == 0 && v.value != 0;
}
