/*
 * Tests for the acknowledged-id range set: merging, counting, trimming,
 * checked against a plain bitmap on random operations.
 */
#include <stdlib.h>

#include "ackset.h"
#include "t.h"

static void
test_ackset_merge_adjacent_and_overlapping(void)
{
	struct ackset a;
	ackset_init(&a);
	CHECK(ackset_add(&a, 10, 20) == 0);
	CHECK(ackset_add(&a, 30, 40) == 0);
	CHECK_INT(a.n, ==, 2);
	CHECK(ackset_add(&a, 20, 30) == 0); /* touches both */
	CHECK_INT(a.n, ==, 1);
	CHECK_INT(a.r[0][0], ==, 10);
	CHECK_INT(a.r[0][1], ==, 40);
	CHECK(ackset_add(&a, 0, 5) == 0);
	CHECK(ackset_add(&a, 3, 12) == 0);
	CHECK_INT(a.n, ==, 1);
	CHECK_INT(a.r[0][0], ==, 0);
	CHECK(ackset_add(&a, 7, 7) == 0); /* empty */
	CHECK_INT(a.n, ==, 1);
	ackset_free(&a);
}

static void
test_ackset_queries(void)
{
	struct ackset a;
	ackset_init(&a);
	ackset_add(&a, 5, 10);
	ackset_add(&a, 20, 25);
	CHECK(!ackset_has(&a, 4));
	CHECK(ackset_has(&a, 5));
	CHECK(ackset_has(&a, 9));
	CHECK(!ackset_has(&a, 10));
	CHECK_INT(ackset_count_in(&a, 0, 100), ==, 10);
	CHECK_INT(ackset_count_in(&a, 7, 22), ==, 5);
	CHECK_INT(ackset_missing_in(&a, 7, 22), ==, 10);
	CHECK_INT(ackset_missing_in(&a, 22, 7), ==, 0);
	CHECK_INT(ackset_next_missing(&a, 5), ==, 10);
	CHECK_INT(ackset_next_missing(&a, 11), ==, 11);
	CHECK_INT(ackset_next_missing(&a, 20), ==, 25);
	ackset_trim_below(&a, 7);
	CHECK_INT(a.r[0][0], ==, 7);
	ackset_trim_above(&a, 22);
	CHECK_INT(a.n, ==, 2);
	CHECK_INT(a.r[1][1], ==, 22);
	ackset_trim_above(&a, 8);
	CHECK_INT(a.n, ==, 1);
	CHECK_INT(a.r[0][1], ==, 8);
	ackset_trim_below(&a, 100);
	CHECK_INT(a.n, ==, 0);
	ackset_free(&a);
}

static void
test_ackset_random_against_bitmap(void)
{
	enum { N = 600 };
	static bool bm[N];
	struct ackset a;
	ackset_init(&a);
	srand(42);
	for (int round = 0; round < 3000; round++) {
		uint64_t f = (uint64_t)(rand() % N), len = (uint64_t)(rand() % 12);
		uint64_t t = f + len > N ? N : f + len;
		ackset_add(&a, f, t);
		for (uint64_t i = f; i < t; i++)
			bm[i] = true;
		uint64_t q = (uint64_t)(rand() % N), q2 = q + (uint64_t)(rand() % 50);
		if (q2 > N)
			q2 = N;
		uint64_t want = 0;
		for (uint64_t i = q; i < q2; i++)
			want += bm[i];
		CHECK_INT(ackset_count_in(&a, q, q2), ==, want);
		CHECK_INT(ackset_missing_in(&a, q, q2), ==, (q2 - q) - want);
		CHECK(ackset_has(&a, q) == bm[q]);
		uint64_t m = q;
		while (m < N && bm[m])
			m++;
		CHECK_INT(ackset_next_missing(&a, q), ==, m);
	}
	for (size_t i = 1; i < a.n; i++)
		CHECK(a.r[i - 1][1] < a.r[i][0]); /* disjoint, not touching */
	ackset_free(&a);
}

T_MAIN(T(test_ackset_merge_adjacent_and_overlapping), T(test_ackset_queries),
       T(test_ackset_random_against_bitmap))
