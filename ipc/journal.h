/*
 * The sample journal in RUNDIR/journal.shm: a ring of the last published
 * samples (packed protobuf Sample messages), each findable by its sequence
 * number. Single writer (the can worker), many lock-free readers. A reader
 * copies a record and then checks the writer has not overwritten it since.
 * seq is gap-free and continues across can-worker restarts: the new worker
 * resumes at journal_next_seq(). A new journal has a new random generation.
 */
#ifndef LEAFMON_JOURNAL_H
#define LEAFMON_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_RECORD_MAX 8192 /* a packed Sample never exceeds this */

struct journal;

/* Supervisor: create RUNDIR/journal.shm with `bytes` of record space, or
 * re-attach a valid one (its size wins). */
int journal_create(const char *rundir, size_t bytes, bool *reattached, uint64_t *generation);
int journal_open(struct journal **jp, const char *rundir, bool writable);
void journal_close(struct journal *j);

uint64_t journal_generation(const struct journal *j);
/* The seq the next append must carry (first is 1). */
uint64_t journal_next_seq(const struct journal *j);
/* The oldest seq still readable (approximate: it moves as the writer runs). */
uint64_t journal_oldest_seq(const struct journal *j);

/* Writer: append the record for `seq` (== journal_next_seq()). 0 or -errno. */
int journal_append(struct journal *j, uint64_t seq, const void *data, size_t len);
/*
 * Reader: copy record `seq` into buf. 0 with *len set; -EAGAIN not written
 * yet; -ESTALE overwritten (lost to this reader); -ENOSPC buf too small.
 */
int journal_read(const struct journal *j, uint64_t seq, void *buf, size_t cap, size_t *len);

#endif
