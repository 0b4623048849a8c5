/*
 * The benchmarks' statistics: runs are compared by their medians (the
 * machines are shared and noisy; bench/README.md).
 */
#ifndef LEAFMON_BENCH_STATS_H
#define LEAFMON_BENCH_STATS_H

#include <stdlib.h>

static inline int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of v[0..n-1], n > 0; v is sorted in place. */
static inline double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
