/*
 * The cloud's resolution (DESIGN.md "Cloud sync"): samples folded into one
 * record per bucket of resolution_ms (timestamp = the bucket's floor): the
 * last value of each signal seen in it, plus the minimum and maximum of
 * battery power and current so peaks survive. resolution 0: one record per
 * sample, as it came. Pure: no I/O.
 *
 * Determinism: a bucket's record depends only on the samples in it, never on
 * when they arrived, so a restart that resumes from the checkpoint (the seq
 * before the open bucket, agg_checkpoint) or a replay gives the same points.
 * A bucket can be emitted early as "provisional" (the bus went quiet, or the
 * worker stops); when it grows after that, its new record supersedes the
 * provisional one (the caller retires it from the spool), also across a
 * restart through the checkpoint.
 */
#ifndef LEAFMON_AGG_H
#define LEAFMON_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signals.h"
#include "spool.h"
#include "spool_payload.h"

#define AGG_MAX_VALUES (SIG_ID_MAX + 4) /* every signal, plus min and max of two */

/* One sample as the subscriber hands it over. */
struct agg_sample {
	uint64_t gen, seq;
	struct spool_meta m;
	const uint32_t *ids;
	const double *values;
	size_t n;
};

/* A record to spool. */
struct agg_out {
	struct spool_meta m;
	struct spool_value v[AGG_MAX_VALUES];
	size_t n;
	bool provisional; /* the bucket may still grow: tell agg_emitted() its id */
	bool supersede;	  /* retire record supersede_rid: this one holds all of it */
	uint64_t supersede_rid;
};

/* What a restart needs: resume after seq, and the provisional record of
 * the open bucket (if any) that the bucket's next record supersedes. */
struct agg_mark {
	uint64_t gen, seq;
	bool prov;
	int64_t prov_t_ns;
	uint64_t prov_rid;
};

struct agg_stats {
	uint64_t samples, values, values_skipped; /* skipped: unknown or unpublished */
	uint64_t records, provisional, superseded;
	uint64_t out_of_order; /* a sample earlier than the open bucket */
};

struct agg_slot {
	double last, min, max;
	bool have;
};

struct agg {
	int64_t res_ns; /* 0: every sample */
	bool open;
	int64_t bucket_t;
	uint64_t gen, first_seq, last_seq; /* of the open bucket; last_seq also when closed */
	bool taken;			   /* any sample since agg_init */
	struct spool_meta last_m;	   /* the newest sample's */
	struct agg_slot slot[SIG_ID_MAX];
	bool dirty; /* grew since its provisional record */
	bool prov;  /* a provisional record of the open bucket exists */
	uint64_t prov_rid;
	bool resume; /* from the checkpoint: a previous run's provisional */
	int64_t resume_t;
	uint64_t resume_rid;
	struct agg_stats st;
};

void agg_init(struct agg *a, int64_t res_ns);
/* After agg_init, from a checkpoint's provisional record (none: skip). */
void agg_resume(struct agg *a, const struct agg_mark *m);
/*
 * Fold a sample in. Returns 1 with *out when it closed a bucket (or with
 * resolution 0, always, unless nothing in it is publishable), else 0.
 * A sample of another bucket or generation closes the open one.
 */
int agg_add(struct agg *a, const struct agg_sample *s, struct agg_out *out);
/* Emit the open bucket as provisional if it grew since its last record:
 * 1 with *out, else 0. The bucket stays open. */
int agg_flush(struct agg *a, struct agg_out *out);
/* The spool id of the provisional record just emitted. */
void agg_emitted(struct agg *a, uint64_t rid);
/* The checkpoint to make durable with the records emitted so far. */
void agg_checkpoint(const struct agg *a, struct agg_mark *m);
bool agg_is_open(const struct agg *a);

/* The mark as spool_commit() stores it (pure; tested). */
#define AGG_MARK_LEN 35
void agg_mark_encode(uint8_t out[AGG_MARK_LEN], const struct agg_mark *m);
int agg_mark_decode(const uint8_t *in, size_t len, struct agg_mark *m);

#endif
