/*
 * Where a replay was, so that a restarted can worker goes on with it
 * (DESIGN.md "CAN sources"): RUNDIR/can-replay.shm, which outlives
 * the worker like the journal, holds the state as of the last published
 * sample: the journal's generation and seq, the replay's timeline and the
 * number of the next frame, and the decoder, cutter and session module as
 * they were (and
 * when a replay starts from the top, its start: a worker killed before its
 * first sample goes on from there, with the same timeline and the energy
 * counters it started with, not those its unpublished frames moved). Two
 * slots, each framed by a begin and an end counter, so a worker killed while
 * writing one leaves the other whole. A slot is written before its sample
 * goes into the journal; the new worker takes the slot whose seq is the
 * journal's last one, after checking the boot, the source, the file and the
 * journal's record, and otherwise starts over and says why.
 */
#ifndef LEAFMON_CAN_RESUME_H
#define LEAFMON_CAN_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cutter.h"
#include "decode.h"
#include "session.h"
#include "src.h"

#define CAN_RESUME_FILE "can-replay.shm"

struct resume_rec {
	uint32_t rec_size, dec_size, cut_size, sess_size; /* this build's layout */
	char boot_id[37];
	char spec[400];	      /* the source and the keys that shape the samples */
	uint64_t journal_gen; /* the state is as of sample seq of this journal */
	uint64_t seq;
	int64_t sample_t_ns;
	uint64_t dev, ino; /* the log file */
	int64_t size, mtime_ns;
	struct replay_resume at;
	bool asleep;
	bool hold_done; /* false only in the record of a replay's start */
	struct decoder dec;
	struct cutter cut;
	struct sessions sess; /* its cfg is the running worker's, not this copy's */
};

struct can_resume;

/* Map RUNDIR/can-replay.shm (made when absent or not this layout). */
int can_resume_open(struct can_resume **rp, const char *rundir);
void can_resume_close(struct can_resume *r);
/* The record for sample seq of journal gen: 0 with *out; -1 (why) if none. */
int can_resume_find(struct can_resume *r, uint64_t gen, uint64_t seq, struct resume_rec *out,
		    char *why, size_t len);
/* The slot to fill for the next save, then commit it. */
struct resume_rec *can_resume_begin(struct can_resume *r);
void can_resume_commit(struct can_resume *r);

/* "replay:PATH speed=.. loop=.. keep_time=.. format=.. bus=.. gen=.. interval=.." */
void can_resume_spec(char *out, size_t len, const struct src_spec *s, int gen, int interval_ms);
/* The file's identity into rec (dev, ino, size, mtime); -1 when it cannot be read. */
int can_resume_file(struct resume_rec *rec, const char *path);

#endif
