/*
 * The replay position file (see can_resume.h). The writer is the can worker
 * alone; the only reader is its successor, after it died, so the begin/end
 * counters only need the program order of the writer's stores (fences keep
 * the compiler from moving the record's stores out of the frame).
 */
#include "can_resume.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shm.h"

#define MAGIC "LEAFRSM\n"
#define VERSION 1

struct slot {
	_Atomic uint64_t begin;
	struct resume_rec rec;
	_Atomic uint64_t end;
};

struct resume_file {
	struct shm_hdr h;
	struct slot slot[2];
};

struct can_resume {
	struct shm_map map;
	struct resume_file *f;
	uint64_t next; /* the counter of the next save */
	struct slot *open;
};

static void
init_file(void *base, size_t size, void *arg)
{
	(void)arg;
	memset((char *)base + sizeof(struct shm_hdr), 0, size - sizeof(struct shm_hdr));
}

int
can_resume_open(struct can_resume **rp, const char *rundir)
{
	struct can_resume *r = calloc(1, sizeof(*r));
	char path[512];
	bool re;

	if (r == NULL)
		return -1;
	if (shm_path(path, sizeof(path), rundir, CAN_RESUME_FILE) < 0 ||
	    shm_create(path, MAGIC, VERSION, sizeof(struct resume_file), init_file, NULL, &re) <
		0 ||
	    shm_open_map(&r->map, path, MAGIC, VERSION, true) < 0) {
		free(r);
		return -1;
	}
	r->f = r->map.base;
	for (int i = 0; i < 2; i++) {
		uint64_t e = atomic_load(&r->f->slot[i].end);
		if (e >= r->next)
			r->next = e + 1;
	}
	*rp = r;
	return 0;
}

void
can_resume_close(struct can_resume *r)
{
	if (r == NULL)
		return;
	shm_unmap(&r->map);
	free(r);
}

static bool
slot_read(const struct slot *s, struct resume_rec *out)
{
	uint64_t b = atomic_load(&s->begin);

	memcpy(out, &s->rec, sizeof(*out));
	atomic_thread_fence(memory_order_acquire);
	return b != 0 && b == atomic_load(&s->end) && out->rec_size == sizeof(*out) &&
	       out->dec_size == sizeof(struct decoder) && out->cut_size == sizeof(struct cutter) &&
	       out->sess_size == sizeof(struct sessions);
}

int
can_resume_find(struct can_resume *r, uint64_t gen, uint64_t seq, struct resume_rec *out, char *why,
		size_t len)
{
	bool any = false;

	for (int i = 0; i < 2; i++) {
		if (!slot_read(&r->f->slot[i], out))
			continue;
		any = true;
		if (out->journal_gen == gen && out->seq == seq)
			return 0;
	}
	snprintf(why, len,
		 any ? "no saved position for the journal's last sample (seq %llu)"
		     : "no saved position",
		 (unsigned long long)seq);
	return -1;
}

struct resume_rec *
can_resume_begin(struct can_resume *r)
{
	struct slot *s = &r->f->slot[r->next & 1];

	atomic_store(&s->begin, r->next);
	atomic_thread_fence(memory_order_release); /* begin before the record */
	r->open = s;
	s->rec.rec_size = sizeof(s->rec);
	s->rec.dec_size = sizeof(struct decoder);
	s->rec.cut_size = sizeof(struct cutter);
	s->rec.sess_size = sizeof(struct sessions);
	return &s->rec;
}

void
can_resume_commit(struct can_resume *r)
{
	atomic_thread_fence(memory_order_release); /* the record before end */
	atomic_store(&r->open->end, r->next);
	r->next++;
	r->open = NULL;
}

void
can_resume_spec(char *out, size_t len, const struct src_spec *s, int gen, int interval_ms)
{
	snprintf(out, len,
		 "%s:%s speed=%g loop=%d keep_time=%d format=%s bus=%d gen=%d interval=%d",
		 srcspec_kind_name(s->kind), s->path, s->speed, s->loop, s->keep_time, s->format,
		 s->bus, gen, interval_ms);
}

int
can_resume_file(struct resume_rec *rec, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	rec->dev = (uint64_t)st.st_dev;
	rec->ino = (uint64_t)st.st_ino;
	rec->size = (int64_t)st.st_size;
	rec->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	return 0;
}
