/*
 * A batch of line protocol on its way to a server: the lines (each knows
 * the spool record it came from and its fate), and a queue of requests to
 * make, each a subset of the lines. A 413 halves a request, a 400 removes
 * the lines it names or bisects; the batch is done when every line is
 * stored or dead-lettered. Each line has a destination (lp_dest: the
 * samples' or the sessions' retention policy or bucket); a request holds
 * the lines of one destination only. Pure: no I/O.
 */
#ifndef LEAFMON_BATCH_H
#define LEAFMON_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* DEFERRED: its destination is missing; its record stays in the spool unacked. */
enum line_state { LINE_PENDING, LINE_OK, LINE_DEAD, LINE_HELD, LINE_DEFERRED };

struct batch_line {
	uint32_t off, len; /* in text, without the '\n' */
	uint32_t rec;
	uint8_t state;
	uint8_t dest;
};

struct batch_rec {
	uint64_t rid;
	uint32_t first, n; /* its lines */
};

/* A request: indexes into lines. */
struct batch_req {
	uint32_t *idx;
	size_t n;
};

struct batch {
	struct buf text;
	struct batch_line *lines;
	size_t nlines, lcap;
	struct batch_rec *recs;
	size_t nrecs, rcap;
	struct batch_req *reqs; /* queue; reqs[0] is the next to send */
	size_t nreqs, qcap;
	bool any_ok; /* some line was stored: the request format is fine */
};

void batch_init(struct batch *b);
void batch_free(struct batch *b);
void batch_reset(struct batch *b);
/* Register a record whose lines were just appended to b->text (their end
 * offsets in ends, as lp_record gives them). 0 or -1 (no memory). */
int batch_add(struct batch *b, uint64_t rid, int dest, const size_t *ends, int nlines);
/* Queue the pending lines (after the records are added): one request per
 * destination, in the order of the destinations' first lines. */
int batch_queue_all(struct batch *b);
bool batch_empty(const struct batch *b);
/* Does reqs[0] hold every line, in order (its body is b->text as is)? */
bool batch_req_whole(const struct batch *b);
/* The destination of reqs[0]'s lines. */
int batch_req_dest(const struct batch *b);
/* Body of reqs[0]: its lines, each with '\n'. */
int batch_body(const struct batch *b, struct buf *out, size_t *nlines);
/* The lines of reqs[0] as pointers and lengths (caller frees *lines, *lens). */
int batch_lines(const struct batch *b, const char ***lines, size_t **lens);
/* Outcomes for reqs[0]: */
void batch_req_ok(struct batch *b);			/* all stored */
int batch_req_split(struct batch *b);			/* halve (n >= 2) */
/* bad[i] for each line of reqs[0]: those are dead; the rest are stored
 * (rest_ok) or queued again as one request. */
int batch_req_apply(struct batch *b, const bool *bad, bool rest_ok);
void batch_req_hold(struct batch *b);			/* rejected, not proven bad */
void batch_req_defer(struct batch *b);			/* destination missing: not now */
/* When some line was stored, held lines are proven bad: mark them dead and
 * return how many. */
size_t batch_convict_held(struct batch *b);
/* Held lines back into requests, one per destination (a later retry). */
int batch_requeue_held(struct batch *b);
bool batch_done(const struct batch *b);		/* nothing pending or held */
size_t batch_count(const struct batch *b, enum line_state st);
/* Is every line of record i stored, dead or deferred? Any stored? *deferred:
 * some line was deferred (then the record must not be acknowledged). */
bool batch_rec_resolved(const struct batch *b, size_t i, bool *delivered, bool *deferred);

#endif
