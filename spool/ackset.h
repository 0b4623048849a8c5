/*
 * A set of record ids as sorted, disjoint, merged half-open ranges
 * [from, to). The spool keeps what has been acknowledged (delivered,
 * dead-lettered or dropped) in one. Pure: no I/O.
 */
#ifndef LEAFMON_ACKSET_H
#define LEAFMON_ACKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ackset {
	uint64_t (*r)[2];
	size_t n;
	size_t cap;
};

void ackset_init(struct ackset *a);
void ackset_free(struct ackset *a);
void ackset_clear(struct ackset *a);
/* Add [from, to); 0, or -1 when out of memory (the set is unchanged). */
int ackset_add(struct ackset *a, uint64_t from, uint64_t to);
bool ackset_has(const struct ackset *a, uint64_t rid);
/* How many ids of [from, to) are in the set. */
uint64_t ackset_count_in(const struct ackset *a, uint64_t from, uint64_t to);
/* How many ids of [from, to) are not in the set (0 when from >= to). */
uint64_t ackset_missing_in(const struct ackset *a, uint64_t from, uint64_t to);
/* The smallest id >= rid that is not in the set. */
uint64_t ackset_next_missing(const struct ackset *a, uint64_t rid);
/* Forget everything below floor (those ids no longer exist). */
void ackset_trim_below(struct ackset *a, uint64_t floor);
/* Forget everything at or above ceil (ids not durable yet). */
void ackset_trim_above(struct ackset *a, uint64_t ceil);

#endif
