/*
 * Cursors: read queued records in id order from the segments, then from the
 * memory queue, skipping acknowledged ids. A cursor reads its segment
 * forward with one buffered reader; corruption inside a segment is skipped
 * by resynchronising on the next valid record, and the ids it swallowed are
 * counted as lost (once, however many cursors pass).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spool_int.h"

int
spool_cursor_open(struct spool *sp, uint64_t from, uint64_t end, struct spool_cursor **cp)
{
	struct spool_cursor *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->data = malloc(SPOOL_REC_MAX)) == NULL) {
		free(c);
		errno = ENOMEM;
		return -1;
	}
	c->sp = sp;
	c->next = from;
	c->end = end;
	segrd_init(&c->rd);
	c->link = sp->cursors;
	sp->cursors = c;
	*cp = c;
	return 0;
}

void
spool_cursor_close(struct spool_cursor *c)
{
	if (c == NULL)
		return;
	for (struct spool_cursor **pp = &c->sp->cursors; *pp != NULL; pp = &(*pp)->link)
		if (*pp == c) {
			*pp = c->link;
			break;
		}
	if (c->sp->oldest == c)
		c->sp->oldest = NULL;
	segrd_close(&c->rd);
	free(c->data);
	free(c);
}

uint64_t
spool_cursor_pos(const struct spool_cursor *c)
{
	return c->have ? c->rec.rid : c->next;
}

void
spool_cursor_seek(struct spool_cursor *c, uint64_t rid)
{
	c->have = false;
	c->next = rid;
}

void
spool_skip(struct spool_cursor *c)
{
	if (c->have) {
		c->next = c->rec.rid + 1;
		c->have = false;
	}
}

static int
take(struct spool_cursor *c, uint64_t rid, const struct spool_meta *m, const uint8_t *boot,
     const uint8_t *data, size_t len, struct spool_rec *r)
{
	memcpy(c->boot, boot, 16);
	memcpy(c->data, data, len);
	c->rec.rid = rid;
	c->rec.m = *m;
	c->rec.boot_id = c->boot;
	c->rec.data = c->data;
	c->rec.len = len;
	c->have = true;
	c->next = rid;
	*r = c->rec;
	return 1;
}

static int
from_memory(struct spool_cursor *c, struct spool_rec *r)
{
	struct pent e;
	const uint8_t *payload;
	if (queue_entry(c->sp, c->next, &e, &payload) < 0)
		return 0;
	struct spool_meta m = {.t_ns = e.t_ns, .boot_ns = e.boot_ns, .synced = e.synced};
	return take(c, c->next, &m, c->sp->boot, payload, e.len, r);
}

/*
 * The next unacknowledged record >= c->next in segment s: 1 found, 0 the
 * segment has no more, -1 it cannot be read now.
 */
static int
from_segment(struct spool_cursor *c, const struct seg *s, struct spool_rec *r)
{
	struct spool *sp = c->sp;
	struct spool_rechdr h;
	const uint8_t *payload;
	uint64_t at;

	if (c->rd.first_rid != s->first_rid || c->next < c->rd_min) {
		if (segrd_open(&c->rd, sp, s) < 0) {
			if (errno != ENOENT)
				return -1; /* out of fds or memory: try again later */
			loss_corrupt(sp, c->next, s->first_rid + s->count); /* removed behind our back */
			return 0;
		}
		c->rd_min = s->first_rid;
	}
	for (;;) {
		enum segrd_result res = segrd_next(&c->rd, s->size, &h, &payload, &at);
		if (res == SEGRD_END)
			return 0;
		if (res == SEGRD_BAD) {
			if (segrd_resync(&c->rd, at, s->size))
				continue;
			loss_corrupt(sp, c->rd_min, s->first_rid + s->count);
			c->rd_min = s->first_rid + s->count;
			return 0;
		}
		if (h.type != SPOOL_REC_DATA)
			continue;
		uint64_t rid = s->first_rid + h.idx;
		if (rid < c->rd_min)
			continue;
		if (rid > c->rd_min)
			loss_corrupt(sp, c->rd_min, rid); /* ids are contiguous in a segment */
		c->rd_min = rid + 1;
		if (rid < c->next || ackset_has(&sp->st.acked, rid))
			continue;
		struct spool_meta m = {.t_ns = h.t_ns, .boot_ns = h.boot_ns,
				       .synced = (h.flags & SPOOL_RECF_SYNCED) != 0};
		return take(c, rid, &m, s->boot_id, payload, h.len, r);
	}
}

int
spool_peek(struct spool_cursor *c, struct spool_rec *r)
{
	struct spool *sp = c->sp;

	if (c->have) {
		if (!ackset_has(&sp->st.acked, c->rec.rid)) {
			*r = c->rec;
			return 1;
		}
		spool_skip(c);
	}
	for (;;) {
		c->next = ackset_next_missing(&sp->st.acked, c->next);
		if (c->next >= c->end || c->next >= sp->next_rid)
			return 0;
		if (c->next >= sp->pfirst)
			return from_memory(c, r);
		int i = seg_find(sp, c->next);
		if (i == (int)sp->nseg) {
			c->next = sp->pfirst; /* dropped or lost: nothing on disk */
			continue;
		}
		const struct seg *s = &sp->segs[i];
		if (c->next < s->first_rid) {
			c->next = s->first_rid;
			continue;
		}
		int rc = from_segment(c, s, r);
		if (rc != 0)
			return rc > 0 ? 1 : 0;
		if (c->next < s->first_rid + s->count)
			c->next = s->first_rid + s->count;
	}
}
