/*
 * Snapshot cost: ns per snap_write and per snap_read, alone and with a
 * concurrent writer thread (readers then retry now and then). Median of
 * several runs; the figures are for comparison within one run.
 *   bench_snap [runs]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_stats.h"
#include "snap.h"
#include "util.h"

#define OPS 2000000

static _Atomic int stop;

static void *
writer(void *arg)
{
	struct snap *w = arg;
	for (int64_t i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++)
		snap_write(w, (unsigned)(1 + i % 64), (double)i, i, 0);
	return NULL;
}

static double
time_reads(struct snap *r)
{
	struct snap_value v;
	double sink = 0;
	int64_t t0 = now_mono_ns();
	for (int i = 0; i < OPS; i++)
		if (snap_read(r, (unsigned)(1 + i % 64), &v) == 0)
			sink += v.value;
	int64_t t1 = now_mono_ns();
	if (sink == 42.4242)
		printf(" ");
	return (double)(t1 - t0) / OPS;
}

int
main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 7;
	char dir[] = "/tmp/leafmon-bench-XXXXXX";
	bool re;
	struct snap *w, *r;
	if (mkdtemp(dir) == NULL || snap_create(dir, &re, NULL) < 0 || snap_open(&w, dir, true) < 0 ||
	    snap_open(&r, dir, false) < 0) {
		perror("setup");
		return 1;
	}
	double wr[32], rd[32], rdc[32];
	if (runs > 32)
		runs = 32;
	for (int k = 0; k < runs; k++) {
		int64_t t0 = now_mono_ns();
		for (int i = 0; i < OPS; i++)
			snap_write(w, (unsigned)(1 + i % 64), (double)i, i, 0);
		wr[k] = (double)(now_mono_ns() - t0) / OPS;
		rd[k] = time_reads(r);
		pthread_t th;
		atomic_store(&stop, 0);
		pthread_create(&th, NULL, writer, w);
		rdc[k] = time_reads(r);
		atomic_store(&stop, 1);
		pthread_join(th, NULL);
	}
	qsort(wr, (size_t)runs, sizeof(double), cmp_dbl);
	qsort(rd, (size_t)runs, sizeof(double), cmp_dbl);
	qsort(rdc, (size_t)runs, sizeof(double), cmp_dbl);
	printf("snapshot, median of %d runs of %d ops:\n", runs, OPS);
	printf("  snap_write                      %6.1f ns\n", wr[runs / 2]);
	printf("  snap_read, idle writer          %6.1f ns\n", rd[runs / 2]);
	printf("  snap_read, writer thread busy   %6.1f ns\n", rdc[runs / 2]);
	snap_close(w);
	snap_close(r);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
