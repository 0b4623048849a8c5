/*
 * The memory queue: appended records wait in one buffer (an entry header,
 * then the payload; an offset per record) until a commit writes them into
 * the active segment, rolling it at its size, with the pending mark after
 * them and one fdatasync. While the disk fails it is bounded: the oldest
 * record goes first, counted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool_int.h"

size_t
queue_len(const struct spool *sp)
{
	return sp->pn - sp->phead;
}

int
queue_entry(const struct spool *sp, uint64_t rid, struct pent *e, const uint8_t **payload)
{
	if (rid < sp->pfirst || rid >= sp->next_rid)
		return -1;
	const char *p = sp->pbuf.p + sp->poff[sp->phead + (rid - sp->pfirst)];
	memcpy(e, p, sizeof(*e));
	*payload = (const uint8_t *)p + sizeof(*e);
	return 0;
}

static void
compact(struct spool *sp)
{
	if (sp->phead == 0)
		return;
	if (sp->phead == sp->pn) {
		sp->phead = sp->pn = 0;
		buf_reset(&sp->pbuf);
		return;
	}
	if (sp->phead < 1024 && sp->phead * 2 < sp->pn)
		return;
	size_t base = sp->poff[sp->phead];
	memmove(sp->pbuf.p, sp->pbuf.p + base, sp->pbuf.len - base);
	sp->pbuf.len -= base;
	for (size_t i = sp->phead; i < sp->pn; i++)
		sp->poff[i - sp->phead] = sp->poff[i] - base;
	sp->pn -= sp->phead;
	sp->phead = 0;
}

static void
pop(struct spool *sp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pent e;
		memcpy(&e, sp->pbuf.p + sp->poff[sp->phead + i], sizeof(e));
		sp->pbytes -= SPOOL_RECHDR_LEN + e.len;
	}
	sp->phead += n;
	sp->pfirst += n;
	compact(sp);
}

/* The memory bound: the oldest queued record goes (counted unless it was
 * already acknowledged from memory). */
static void
drop_oldest(struct spool *sp)
{
	loss_memory(sp, sp->pfirst);
	pop(sp, 1);
}

int
spool_append(struct spool *sp, const struct spool_meta *m, const void *data, size_t len,
	     uint64_t *rid)
{
	struct pent e = {.t_ns = m->t_ns, .boot_ns = m->boot_ns, .len = (uint32_t)len,
			 .synced = m->synced};
	if (len > SPOOL_REC_MAX) {
		errno = EINVAL;
		return -1;
	}
	while (queue_len(sp) > 0 && sp->pbytes + SPOOL_RECHDR_LEN + len > sp->mem_max)
		drop_oldest(sp);
	if (sp->pn == sp->pcap) {
		size_t cap = sp->pcap ? sp->pcap * 2 : 256;
		size_t *p = realloc(sp->poff, cap * sizeof(*p));
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		sp->poff = p;
		sp->pcap = cap;
	}
	size_t off = sp->pbuf.len;
	if (buf_append(&sp->pbuf, &e, sizeof(e)) < 0 || buf_append(&sp->pbuf, data, len) < 0) {
		sp->pbuf.len = off;
		sp->pbuf.oom = 0;
		errno = ENOMEM;
		return -1;
	}
	sp->poff[sp->pn++] = off;
	sp->pbytes += SPOOL_RECHDR_LEN + len;
	sp->appended++;
	*rid = sp->next_rid++;
	return 0;
}

/* ---- writing the queue into segments ---- */

struct chunk {
	size_t end;	  /* pending index after the last record in it */
	uint64_t bytes;	  /* data bytes */
	int64_t min_t, max_t;
};

/* Encode queued records into wbuf for the active segment, up to its size. */
static void
chunk_build(struct spool *sp, struct seg *a, struct chunk *c)
{
	uint8_t hdr[SPOOL_RECHDR_LEN];
	size_t k = sp->phead;

	buf_reset(&sp->wbuf);
	memset(c, 0, sizeof(*c));
	for (; k < sp->pn; k++) {
		struct pent e;
		const uint8_t *payload = (const uint8_t *)sp->pbuf.p + sp->poff[k] + sizeof(e);
		memcpy(&e, sp->pbuf.p + sp->poff[k], sizeof(e));
		if (k > sp->phead && a->size + sp->wbuf.len + SPOOL_RECHDR_LEN + e.len > sp->seg_bytes)
			break;
		struct spool_rechdr h = {.type = SPOOL_REC_DATA, .flags = e.synced ? SPOOL_RECF_SYNCED : 0,
					 .len = e.len, .t_ns = e.t_ns, .boot_ns = e.boot_ns,
					 .idx = (uint32_t)(sp->pfirst + (k - sp->phead) - a->first_rid)};
		spool_fmt_rec_encode(&h, payload, hdr);
		buf_append(&sp->wbuf, hdr, sizeof(hdr));
		buf_append(&sp->wbuf, payload, e.len);
		c->bytes += SPOOL_RECHDR_LEN + e.len;
		if (c->min_t == 0 || e.t_ns < c->min_t)
			c->min_t = e.t_ns;
		if (e.t_ns > c->max_t)
			c->max_t = e.t_ns;
	}
	c->end = k;
	if (k == sp->pn && sp->pmark_set) {
		struct spool_rechdr h = {.type = SPOOL_REC_MARK, .len = (uint32_t)sp->pmark_len,
					 .idx = a->count + (uint32_t)(k - sp->phead)};
		spool_fmt_rec_encode(&h, sp->pmark, hdr);
		buf_append(&sp->wbuf, hdr, sizeof(hdr));
		buf_append(&sp->wbuf, sp->pmark, sp->pmark_len);
	}
}

static void
chunk_done(struct spool *sp, struct seg *a, const struct chunk *c)
{
	size_t n = c->end - sp->phead;
	a->count += (uint32_t)n;
	a->size += sp->wbuf.len;
	a->data_bytes += c->bytes;
	if (n > 0 && (a->min_t == 0 || c->min_t < a->min_t))
		a->min_t = c->min_t;
	if (c->max_t > a->max_t)
		a->max_t = c->max_t;
	sp->committed += n;
	pop(sp, n);
}

static struct seg *
active_seg(struct spool *sp)
{
	return sp->nseg > 0 && sp->afd >= 0 ? &sp->segs[sp->nseg - 1] : NULL;
}

/* The active segment to write the next queued record into, created or
 * rolled as needed. */
static struct seg *
writable_seg(struct spool *sp)
{
	struct seg *a = active_seg(sp);
	bool have = queue_len(sp) > 0;
	if (a != NULL && !a->sealed && !(have && a->first_rid + a->count != sp->pfirst) &&
	    !(have && a->size >= sp->seg_bytes && a->count > 0))
		return a;
	if (a != NULL && seg_seal(sp) < 0)
		return NULL;
	/* an empty newest segment we cannot append to would share the name */
	if (sp->nseg > 0 && sp->segs[sp->nseg - 1].first_rid == sp->pfirst &&
	    sp->segs[sp->nseg - 1].count == 0)
		seg_remove(sp, sp->nseg - 1);
	if (seg_create(sp, sp->pfirst) < 0)
		return NULL;
	return active_seg(sp);
}

int
queue_write(struct spool *sp)
{
	for (;;) {
		struct chunk c;
		struct seg *a = writable_seg(sp);
		if (a == NULL)
			return -1;
		chunk_build(sp, a, &c);
		if (sp->wbuf.oom) {
			sp->wbuf.oom = 0;
			errno = ENOMEM;
			return -1;
		}
		ssize_t n = pwrite(sp->afd, sp->wbuf.p, sp->wbuf.len, (off_t)a->size);
		if (n != (ssize_t)sp->wbuf.len) {
			int saved = n < 0 ? errno : ENOSPC;
			if (ftruncate(sp->afd, (off_t)a->size) == -1)
				seg_seal(sp); /* cannot undo: never append after the partial bytes */
			errno = saved;
			return -1;
		}
		bool all = c.end == sp->pn;
		if (!all) {
			chunk_done(sp, a, &c);
			if (seg_seal(sp) < 0)
				return -1;
			continue;
		}
		if (fdatasync(sp->afd) == -1) {
			int saved = errno;
			if (ftruncate(sp->afd, (off_t)a->size) == -1)
				seg_seal(sp);
			errno = saved;
			return -1;
		}
		sp->fsyncs++;
		chunk_done(sp, a, &c);
		if (sp->pmark_set) {
			memcpy(sp->mark, sp->pmark, sp->pmark_len);
			sp->mark_len = sp->pmark_len;
			sp->pmark_set = false;
		}
		return 0;
	}
}
