/*
 * Range set of acknowledged record ids. Ranges are kept sorted and merged,
 * so a spool drained in order holds one or two ranges; lookups are binary
 * searches.
 */
#include "ackset.h"

#include <stdlib.h>
#include <string.h>

void
ackset_init(struct ackset *a)
{
	memset(a, 0, sizeof(*a));
}

void
ackset_free(struct ackset *a)
{
	free(a->r);
	ackset_init(a);
}

void
ackset_clear(struct ackset *a)
{
	a->n = 0;
}

/* Index of the first range whose end is > rid (a->n if none). */
static size_t
first_ending_after(const struct ackset *a, uint64_t rid)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->r[mid][1] > rid)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int
ackset_add(struct ackset *a, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	/* ranges touching or overlapping [from, to) merge into one */
	size_t i = first_ending_after(a, from == 0 ? 0 : from - 1);
	size_t j = i;
	while (j < a->n && a->r[j][0] <= to)
		j++;
	if (i == j) { /* insert at i */
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 8;
			void *p = realloc(a->r, cap * sizeof(a->r[0]));
			if (p == NULL)
				return -1;
			a->r = p;
			a->cap = cap;
		}
		memmove(&a->r[i + 1], &a->r[i], (a->n - i) * sizeof(a->r[0]));
		a->r[i][0] = from;
		a->r[i][1] = to;
		a->n++;
		return 0;
	}
	uint64_t nf = a->r[i][0] < from ? a->r[i][0] : from;
	uint64_t nt = a->r[j - 1][1] > to ? a->r[j - 1][1] : to;
	a->r[i][0] = nf;
	a->r[i][1] = nt;
	memmove(&a->r[i + 1], &a->r[j], (a->n - j) * sizeof(a->r[0]));
	a->n -= j - i - 1;
	return 0;
}

bool
ackset_has(const struct ackset *a, uint64_t rid)
{
	size_t i = first_ending_after(a, rid);
	return i < a->n && a->r[i][0] <= rid;
}

uint64_t
ackset_count_in(const struct ackset *a, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	for (size_t i = first_ending_after(a, from); i < a->n && a->r[i][0] < to; i++) {
		uint64_t f = a->r[i][0] > from ? a->r[i][0] : from;
		uint64_t t = a->r[i][1] < to ? a->r[i][1] : to;
		if (t > f)
			n += t - f;
	}
	return n;
}

uint64_t
ackset_missing_in(const struct ackset *a, uint64_t from, uint64_t to)
{
	return from < to ? (to - from) - ackset_count_in(a, from, to) : 0;
}

uint64_t
ackset_next_missing(const struct ackset *a, uint64_t rid)
{
	size_t i = first_ending_after(a, rid);
	if (i < a->n && a->r[i][0] <= rid)
		return a->r[i][1]; /* merged ranges: the end is missing */
	return rid;
}

void
ackset_trim_below(struct ackset *a, uint64_t floor)
{
	size_t i = first_ending_after(a, floor);
	if (i > 0) {
		memmove(&a->r[0], &a->r[i], (a->n - i) * sizeof(a->r[0]));
		a->n -= i;
	}
	if (a->n > 0 && a->r[0][0] < floor)
		a->r[0][0] = floor;
}

void
ackset_trim_above(struct ackset *a, uint64_t ceil)
{
	while (a->n > 0 && a->r[a->n - 1][0] >= ceil)
		a->n--;
	if (a->n > 0 && a->r[a->n - 1][1] > ceil)
		a->r[a->n - 1][1] = ceil;
}
