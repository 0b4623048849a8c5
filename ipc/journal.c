/*
 * The sample journal: an index ring (seq -> logical byte position) and a data
 * ring of records [seq u64][len u32][pad u32][bytes], 8-byte aligned, never
 * split at the wrap. Positions are logical (monotonic); physical = pos %
 * data_size. Before overwriting, the writer advances reserve_end; a reader
 * copies a record and then checks reserve_end <= pos + data_size, which
 * proves nothing it copied was being overwritten. Data words are copied with
 * relaxed atomics so the protocol is race-free in the C11 model.
 */
#include "journal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shm.h"

#define JOURNAL_MAGIC "LEAFJRNL"
#define JOURNAL_VERSION 1
#define REC_HDR 16

struct jidx {
	_Atomic uint64_t seq;
	_Atomic uint64_t pos;
	_Atomic uint32_t len;
	uint32_t pad;
};

struct journal_file {
	struct shm_hdr h;
	uint64_t nidx;	    /* power of two */
	uint64_t data_size; /* multiple of 8 */
	_Atomic uint64_t next_seq;
	_Atomic uint64_t write_pos;
	_Atomic uint64_t reserve_end;
	uint64_t reserved[3];
	/* struct jidx idx[nidx]; then uint64_t data[data_size / 8] */
};

struct journal {
	struct shm_map m;
	struct journal_file *f;
	struct jidx *idx;
	_Atomic uint64_t *data;
};

static size_t
layout_size(uint64_t nidx, uint64_t data_size)
{
	return sizeof(struct journal_file) + nidx * sizeof(struct jidx) + data_size;
}

struct jinit {
	uint64_t nidx, data_size;
};

static void
journal_init(void *base, size_t size, void *arg)
{
	const struct jinit *ji = arg;
	struct journal_file *f = base;
	memset((char *)base + sizeof(struct shm_hdr), 0, size - sizeof(struct shm_hdr));
	f->nidx = ji->nidx;
	f->data_size = ji->data_size;
	atomic_store(&f->next_seq, 1);
}

int
journal_create(const char *rundir, size_t bytes, bool *reattached, uint64_t *generation)
{
	char path[512];
	struct jinit ji;

	ji.data_size = (bytes + 7) & ~(uint64_t)7;
	if (ji.data_size < 4 * JOURNAL_RECORD_MAX)
		ji.data_size = 4 * JOURNAL_RECORD_MAX;
	/* one index entry per 128 bytes of data: samples are rarely smaller */
	ji.nidx = 1024;
	while (ji.nidx < ji.data_size / 128)
		ji.nidx *= 2;
	if (shm_path(path, sizeof(path), rundir, "journal.shm") < 0)
		return -1;
	if (shm_create(path, JOURNAL_MAGIC, JOURNAL_VERSION, layout_size(ji.nidx, ji.data_size),
		       journal_init, &ji, reattached) < 0)
		return -1;
	if (generation != NULL) {
		struct journal *j;
		if (journal_open(&j, rundir, false) < 0)
			return -1;
		*generation = journal_generation(j);
		journal_close(j);
	}
	return 0;
}

int
journal_open(struct journal **jp, const char *rundir, bool writable)
{
	char path[512];
	struct journal *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return -1;
	if (shm_path(path, sizeof(path), rundir, "journal.shm") < 0 ||
	    shm_open_map(&j->m, path, JOURNAL_MAGIC, JOURNAL_VERSION, writable) < 0)
		goto fail;
	j->f = j->m.base;
	uint64_t nidx = j->f->nidx, ds = j->f->data_size;
	if (nidx == 0 || (nidx & (nidx - 1)) != 0 || ds % 8 != 0 ||
	    layout_size(nidx, ds) != j->m.size) {
		log_warnx("%s: inconsistent journal geometry", path);
		shm_unmap(&j->m);
		errno = EINVAL;
		goto fail;
	}
	j->idx = (struct jidx *)(j->f + 1);
	j->data = (_Atomic uint64_t *)(j->idx + nidx);
	if (writable)
		atomic_store(&j->f->h.writer_pid, (int32_t)getpid());
	*jp = j;
	return 0;
fail:
	free(j);
	return -1;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	shm_unmap(&j->m);
	free(j);
}

uint64_t
journal_generation(const struct journal *j)
{
	return j->f->h.generation;
}

uint64_t
journal_next_seq(const struct journal *j)
{
	return atomic_load_explicit(&j->f->next_seq, memory_order_acquire);
}

uint64_t
journal_oldest_seq(const struct journal *j)
{
	uint64_t next = journal_next_seq(j);
	uint64_t lo = next > j->f->nidx ? next - j->f->nidx : 1;
	/* the data ring may hold fewer records than the index: step forward
	 * past entries already overwritten (bounded by the index size) */
	uint64_t reserve = atomic_load_explicit(&j->f->reserve_end, memory_order_acquire);
	while (lo < next) {
		struct jidx *e = &j->idx[lo & (j->f->nidx - 1)];
		if (atomic_load_explicit(&e->seq, memory_order_acquire) == lo &&
		    reserve <= atomic_load_explicit(&e->pos, memory_order_relaxed) + j->f->data_size)
			break;
		lo++;
	}
	return lo;
}

static void
words_store(_Atomic uint64_t *dst, const void *src, size_t len)
{
	const unsigned char *p = src;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		atomic_store_explicit(&dst[i / 8], w, memory_order_relaxed);
	}
	if (i < len) {
		uint64_t w = 0;
		memcpy(&w, p + i, len - i);
		atomic_store_explicit(&dst[i / 8], w, memory_order_relaxed);
	}
}

static void
words_load(void *dst, const _Atomic uint64_t *src, size_t len)
{
	unsigned char *p = dst;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = atomic_load_explicit(&src[i / 8], memory_order_relaxed);
		memcpy(p + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = atomic_load_explicit(&src[i / 8], memory_order_relaxed);
		memcpy(p + i, &w, len - i);
	}
}

int
journal_append(struct journal *j, uint64_t seq, const void *data, size_t len)
{
	struct journal_file *f = j->f;
	if (seq != atomic_load_explicit(&f->next_seq, memory_order_relaxed))
		return -EINVAL;
	if (len > JOURNAL_RECORD_MAX)
		return -EMSGSIZE;
	uint64_t size = (REC_HDR + len + 7) & ~(uint64_t)7;
	uint64_t pos = atomic_load_explicit(&f->write_pos, memory_order_relaxed);
	uint64_t phys = pos % f->data_size;
	if (phys + size > f->data_size) {
		pos += f->data_size - phys; /* records never straddle the wrap */
		phys = 0;
	}
	/* announce the region about to be overwritten before touching it */
	atomic_store_explicit(&f->reserve_end, pos + size, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);

	uint64_t hdr[2] = {seq, (uint64_t)len};
	words_store(&j->data[phys / 8], hdr, sizeof(hdr));
	words_store(&j->data[phys / 8 + 2], data, len);

	struct jidx *e = &j->idx[seq & (f->nidx - 1)];
	atomic_store_explicit(&e->seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->pos, pos, memory_order_relaxed);
	atomic_store_explicit(&e->len, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&e->seq, seq, memory_order_release);

	atomic_store_explicit(&f->write_pos, pos + size, memory_order_relaxed);
	atomic_store_explicit(&f->next_seq, seq + 1, memory_order_release);
	return 0;
}

int
journal_read(const struct journal *j, uint64_t seq, void *buf, size_t cap, size_t *lenp)
{
	const struct journal_file *f = j->f;
	if (seq == 0 || seq >= journal_next_seq(j))
		return -EAGAIN;
	struct jidx *e = &j->idx[seq & (f->nidx - 1)];
	if (atomic_load_explicit(&e->seq, memory_order_acquire) != seq)
		return -ESTALE;
	uint64_t pos = atomic_load_explicit(&e->pos, memory_order_relaxed);
	uint32_t len = atomic_load_explicit(&e->len, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&e->seq, memory_order_relaxed) != seq)
		return -ESTALE;
	if (len > JOURNAL_RECORD_MAX)
		return -ESTALE;
	if (len > cap)
		return -ENOSPC;
	uint64_t phys = pos % f->data_size;
	if (phys + REC_HDR + len > f->data_size)
		return -ESTALE;
	uint64_t hdr[2];
	words_load(hdr, &j->data[phys / 8], sizeof(hdr));
	words_load(buf, &j->data[phys / 8 + 2], len);
	atomic_thread_fence(memory_order_acquire);
	uint64_t reserve = atomic_load_explicit(&((struct journal_file *)f)->reserve_end,
						memory_order_relaxed);
	if (reserve > pos + f->data_size || hdr[0] != seq || hdr[1] != len)
		return -ESTALE;
	*lenp = len;
	return 0;
}
