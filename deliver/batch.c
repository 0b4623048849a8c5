/*
 * Batch bookkeeping (see batch.h). Requests are kept as index lists so a
 * request can be any subset of the batch: halves after a 413 or during a
 * bisection, or "everything but the lines the server named".
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

void
batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->text);
}

static void
reqs_clear(struct batch *b)
{
	for (size_t i = 0; i < b->nreqs; i++)
		free(b->reqs[i].idx);
	b->nreqs = 0;
}

void
batch_free(struct batch *b)
{
	reqs_clear(b);
	free(b->reqs);
	free(b->lines);
	free(b->recs);
	buf_free(&b->text);
	memset(b, 0, sizeof(*b));
}

void
batch_reset(struct batch *b)
{
	reqs_clear(b);
	b->nlines = b->nrecs = 0;
	b->any_ok = false;
	buf_reset(&b->text);
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

int
batch_add(struct batch *b, uint64_t rid, int dest, const size_t *ends, int nlines)
{
	if (grow((void **)&b->recs, &b->rcap, b->nrecs + 1, sizeof(*b->recs)) < 0 ||
	    grow((void **)&b->lines, &b->lcap, b->nlines + (size_t)nlines, sizeof(*b->lines)) < 0)
		return -1;
	struct batch_rec *r = &b->recs[b->nrecs];
	r->rid = rid;
	r->first = (uint32_t)b->nlines;
	r->n = (uint32_t)nlines;
	size_t start = b->nlines > 0 ? b->lines[b->nlines - 1].off + b->lines[b->nlines - 1].len + 1 : 0;
	for (int i = 0; i < nlines; i++) {
		struct batch_line *l = &b->lines[b->nlines++];
		l->off = (uint32_t)start;
		l->len = (uint32_t)(ends[i] - start - 1);
		l->rec = (uint32_t)b->nrecs;
		l->state = LINE_PENDING;
		l->dest = (uint8_t)dest;
		start = ends[i];
	}
	b->nrecs++;
	return 0;
}

static int
push_req(struct batch *b, size_t at, uint32_t *idx, size_t n)
{
	if (grow((void **)&b->reqs, &b->qcap, b->nreqs + 1, sizeof(*b->reqs)) < 0) {
		free(idx);
		return -1;
	}
	memmove(&b->reqs[at + 1], &b->reqs[at], (b->nreqs - at) * sizeof(*b->reqs));
	b->reqs[at].idx = idx;
	b->reqs[at].n = n;
	b->nreqs++;
	return 0;
}

static void
pop_req(struct batch *b)
{
	free(b->reqs[0].idx);
	memmove(&b->reqs[0], &b->reqs[1], (b->nreqs - 1) * sizeof(*b->reqs));
	b->nreqs--;
}

/* A new request with the lines in state st of one destination. */
static int
queue_dest(struct batch *b, enum line_state st, enum line_state to, uint8_t dest)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < b->nlines; i++)
		n += b->lines[i].state == st && b->lines[i].dest == dest;
	if (n == 0)
		return 0;
	uint32_t *idx = malloc(n * sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (size_t i = 0; i < b->nlines; i++)
		if (b->lines[i].state == st && b->lines[i].dest == dest) {
			idx[k++] = (uint32_t)i;
			b->lines[i].state = (uint8_t)to;
		}
	return push_req(b, b->nreqs, idx, n);
}

/* Requests with the lines in state st, one per destination, in the order
 * of each destination's first such line. */
static int
queue_state(struct batch *b, enum line_state st, enum line_state to)
{
	unsigned done = 0;
	for (size_t i = 0; i < b->nlines; i++) {
		uint8_t d = b->lines[i].dest;
		if (b->lines[i].state != st || d >= 8 || (done & (1u << d)))
			continue;
		done |= 1u << d;
		if (queue_dest(b, st, to, d) < 0)
			return -1;
	}
	return 0;
}

int
batch_queue_all(struct batch *b)
{
	return queue_state(b, LINE_PENDING, LINE_PENDING);
}

bool
batch_empty(const struct batch *b)
{
	return b->nreqs == 0;
}

bool
batch_req_whole(const struct batch *b)
{
	const struct batch_req *q = &b->reqs[0];
	if (q->n != b->nlines)
		return false;
	for (size_t i = 0; i < q->n; i++)
		if (q->idx[i] != i)
			return false;
	return true;
}

int
batch_req_dest(const struct batch *b)
{
	const struct batch_req *q = &b->reqs[0];
	return q->n > 0 ? b->lines[q->idx[0]].dest : 0;
}

int
batch_body(const struct batch *b, struct buf *out, size_t *nlines)
{
	const struct batch_req *q = &b->reqs[0];
	buf_reset(out);
	for (size_t i = 0; i < q->n; i++) {
		const struct batch_line *l = &b->lines[q->idx[i]];
		buf_append(out, b->text.p + l->off, l->len);
		buf_putc(out, '\n');
	}
	*nlines = q->n;
	return out->oom ? -1 : 0;
}

int
batch_lines(const struct batch *b, const char ***lines, size_t **lens)
{
	const struct batch_req *q = &b->reqs[0];
	*lines = malloc((q->n + 1) * sizeof(**lines));
	*lens = malloc((q->n + 1) * sizeof(**lens));
	if (*lines == NULL || *lens == NULL) {
		free(*lines);
		free(*lens);
		return -1;
	}
	for (size_t i = 0; i < q->n; i++) {
		const struct batch_line *l = &b->lines[q->idx[i]];
		(*lines)[i] = b->text.p + l->off;
		(*lens)[i] = l->len;
	}
	return 0;
}

static void
mark_req(struct batch *b, enum line_state st)
{
	const struct batch_req *q = &b->reqs[0];
	for (size_t i = 0; i < q->n; i++)
		b->lines[q->idx[i]].state = (uint8_t)st;
}

void
batch_req_ok(struct batch *b)
{
	mark_req(b, LINE_OK);
	if (b->reqs[0].n > 0)
		b->any_ok = true;
	pop_req(b);
}

int
batch_req_split(struct batch *b)
{
	struct batch_req q = b->reqs[0];
	size_t h = q.n / 2;
	uint32_t *tail = malloc((q.n - h) * sizeof(*tail));
	if (tail == NULL || h == 0) {
		free(tail);
		return -1;
	}
	memcpy(tail, q.idx + h, (q.n - h) * sizeof(*tail));
	b->reqs[0].n = h;
	return push_req(b, 1, tail, q.n - h);
}

int
batch_req_apply(struct batch *b, const bool *bad, bool rest_ok)
{
	struct batch_req *q = &b->reqs[0];
	size_t k = 0;
	for (size_t i = 0; i < q->n; i++) {
		if (bad[i])
			b->lines[q->idx[i]].state = LINE_DEAD;
		else
			q->idx[k++] = q->idx[i];
	}
	q->n = k;
	if (rest_ok || k == 0)
		batch_req_ok(b);
	return 0;
}

void
batch_req_defer(struct batch *b)
{
	mark_req(b, LINE_DEFERRED);
	pop_req(b);
}

void
batch_req_hold(struct batch *b)
{
	mark_req(b, LINE_HELD);
	pop_req(b);
}

size_t
batch_convict_held(struct batch *b)
{
	size_t n = 0;
	if (!b->any_ok)
		return 0;
	for (size_t i = 0; i < b->nlines; i++)
		if (b->lines[i].state == LINE_HELD) {
			b->lines[i].state = LINE_DEAD;
			n++;
		}
	return n;
}

int
batch_requeue_held(struct batch *b)
{
	return queue_state(b, LINE_HELD, LINE_PENDING);
}

size_t
batch_count(const struct batch *b, enum line_state st)
{
	size_t n = 0;
	for (size_t i = 0; i < b->nlines; i++)
		n += b->lines[i].state == st;
	return n;
}

bool
batch_done(const struct batch *b)
{
	return b->nreqs == 0 && batch_count(b, LINE_HELD) == 0 &&
	       batch_count(b, LINE_PENDING) == 0;
}

bool
batch_rec_resolved(const struct batch *b, size_t i, bool *delivered, bool *deferred)
{
	const struct batch_rec *r = &b->recs[i];
	*delivered = r->n == 0;
	*deferred = false;
	for (uint32_t k = 0; k < r->n; k++) {
		uint8_t st = b->lines[r->first + k].state;
		if (st == LINE_PENDING || st == LINE_HELD)
			return false;
		if (st == LINE_OK)
			*delivered = true;
		if (st == LINE_DEFERRED)
			*deferred = true;
	}
	return true;
}
