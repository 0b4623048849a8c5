/*
 * Helpers for the spool's tests and the fixture generator: deterministic
 * records (record i always has the same capture time and payload, and
 * carries i in its payload), and a reader that checks what it reads.
 */
#ifndef LEAFMON_SPOOL_TESTLIB_H
#define LEAFMON_SPOOL_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>

#include "spool.h"
#include "util.h"

extern const uint8_t tsp_boot_a[16];
extern const uint8_t tsp_boot_b[16];

struct spool *tsp_open(const char *dir, uint64_t max_bytes, uint64_t seg_bytes,
		       const uint8_t *boot);
void tsp_payload(struct buf *b, uint64_t i);
void tsp_meta(struct spool_meta *m, uint64_t i);
/* Append logical record i; returns its rid (aborts the test on failure). */
uint64_t tsp_append(struct spool *sp, uint64_t i);
/* Logical index of a record read back, after checking its payload and
 * meta are exactly those of that index; -1 when they are not. */
int64_t tsp_check(const struct spool_rec *r);
/*
 * Read every queued record from `from` with a fresh cursor, checking each;
 * the logical indexes go to idx (up to cap). Returns the count, or -1 when a
 * record was wrong or ids were out of order.
 */
long tsp_read_all(struct spool *sp, uint64_t from, int64_t *idx, size_t cap);
/* Copy a directory's regular files into another (created). */
int tsp_copy_dir(const char *from, const char *to);
/* The path of the only .seg file with the highest name in dir. */
int tsp_last_segment(const char *dir, char *out, size_t len);
int tsp_segment_count(const char *dir);

#endif
