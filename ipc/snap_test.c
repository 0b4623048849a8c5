/*
 * The snapshot: values round-trip; a writer killed mid-update cannot wedge
 * readers and is repaired by the next writer; a foreign layout is refused;
 * and the torn-read test in the style of Concurrency Kit: the writer keeps
 * an invariant inside each slot (t_ns == value * 1000 + 7, flags carry the
 * low byte of value) and readers check it on every copy, across processes
 * (fork) and across threads (the TSan build runs the threads variant).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm.h"
#include "snap.h"
#include "t.h"
#include "util.h"

#define TORN_SLOTS 8

static void
test_snap_roundtrip_and_reattach(void)
{
	char *dir = t_tmpdir();
	bool re;
	uint64_t g1, g2;
	CHECK_INT(snap_create(dir, &re, &g1), ==, 0);
	CHECK(!re);
	struct snap *w, *r;
	CHECK_INT(snap_open(&w, dir, true), ==, 0);
	CHECK_INT(snap_open(&r, dir, false), ==, 0);
	struct snap_value v;
	CHECK_INT(snap_read(r, SIG_battery_voltage_v, &v), ==, -ENOENT);
	snap_write(w, SIG_battery_voltage_v, 381.5, 1234567, 1u << SNAP_BUS_SHIFT);
	CHECK_INT(snap_read(r, SIG_battery_voltage_v, &v), ==, 0);
	CHECK_DBL(v.value, 381.5, 0);
	CHECK_INT(v.t_ns, ==, 1234567);
	CHECK(v.flags & SNAP_VALID);
	CHECK_INT(SNAP_BUS(v.flags), ==, 1);
	snap_mark_all(w, SNAP_STALE, 0);
	CHECK_INT(snap_read(r, SIG_battery_voltage_v, &v), ==, 0);
	CHECK(v.flags & SNAP_STALE);
	CHECK_INT(snap_read(r, SIG_ID_MAX + 5, &v), ==, -ENOENT);
	CHECK_INT(snap_writer_pid(r), ==, getpid());
	snap_close(w);
	snap_close(r);
	/* a supervisor restart re-attaches: same generation, value kept */
	CHECK_INT(snap_create(dir, &re, &g2), ==, 0);
	CHECK(re);
	CHECK(g1 == g2);
	CHECK_INT(snap_open(&r, dir, false), ==, 0);
	CHECK_INT(snap_read(r, SIG_battery_voltage_v, &v), ==, 0);
	CHECK_DBL(v.value, 381.5, 0);
	snap_close(r);
}

static void
test_snap_refuses_unknown_layout(void)
{
	char *dir = t_tmpdir(), path[600];
	bool re;
	CHECK_INT(snap_create(dir, &re, NULL), ==, 0);
	snprintf(path, sizeof(path), "%s/state.shm", dir);
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	struct shm_hdr h;
	CHECK_INT(pread(fd, &h, sizeof(h), 0), ==, sizeof(h));
	h.layout_version = 99;
	CHECK_INT(pwrite(fd, &h, sizeof(h), 0), ==, sizeof(h));
	close(fd);
	struct snap *r;
	CHECK_INT(snap_open(&r, dir, false), ==, -1);
	CHECK_INT(errno, ==, EPROTO);
	/* the supervisor replaces it with a fresh one */
	CHECK_INT(snap_create(dir, &re, NULL), ==, 0);
	CHECK(!re);
	CHECK_INT(snap_open(&r, dir, false), ==, 0);
	snap_close(r);
}

/* Offsets inside the file: header, then 32-byte slots {seq, flags, value, t}. */
static void
test_snap_killed_writer_does_not_wedge(void)
{
	char *dir = t_tmpdir(), path[600];
	bool re;
	CHECK_INT(snap_create(dir, &re, NULL), ==, 0);
	struct snap *w, *r;
	CHECK_INT(snap_open(&w, dir, true), ==, 0);
	snap_write(w, 5, 1.0, 10, 0);
	snap_close(w);
	snprintf(path, sizeof(path), "%s/state.shm", dir);
	int fd = open(path, O_RDWR);
	uint32_t seq;
	off_t off = (off_t)sizeof(struct shm_hdr) + 5 * 32;
	CHECK_INT(pread(fd, &seq, 4, off), ==, 4);
	seq++; /* as if the writer died between its two increments */
	CHECK_INT(pwrite(fd, &seq, 4, off), ==, 4);
	close(fd);
	CHECK_INT(snap_open(&r, dir, false), ==, 0);
	struct snap_value v;
	int64_t t0 = now_mono_ns();
	CHECK_INT(snap_read(r, 5, &v), ==, -EBUSY);
	CHECK_INT(now_mono_ns() - t0, <, NSEC_PER_SEC); /* bounded, not a spin */
	CHECK_INT(snap_open(&w, dir, true), ==, 0);	/* the next writer repairs it */
	CHECK_INT(snap_read(r, 5, &v), ==, -ENOENT);
	snap_write(w, 5, 2.0, 20, 0);
	CHECK_INT(snap_read(r, 5, &v), ==, 0);
	CHECK_DBL(v.value, 2.0, 0);
	snap_close(w);
	snap_close(r);
}

struct torn_result {
	long reads, torn, busy;
};

static void
torn_reader(const char *dir, long iters, struct torn_result *res)
{
	struct snap *r;
	if (snap_open(&r, dir, false) < 0)
		return;
	for (long i = 0; i < iters; i++) {
		struct snap_value v;
		int rc = snap_read(r, (unsigned)(1 + i % TORN_SLOTS), &v);
		if (rc == -EBUSY) {
			res->busy++;
			continue;
		}
		if (rc != 0)
			continue;
		res->reads++;
		int64_t x = (int64_t)v.value;
		if (v.t_ns != x * 1000 + 7 || (v.flags >> 16) != (uint32_t)(x & 0xff))
			res->torn++;
	}
	snap_close(r);
}

static _Atomic int writer_stop;

static void
torn_writer(const char *dir)
{
	struct snap *w;
	if (snap_open(&w, dir, true) < 0)
		return;
	for (int64_t x = 1; !writer_stop; x++)
		snap_write(w, (unsigned)(1 + x % TORN_SLOTS), (double)x, x * 1000 + 7,
			   (uint32_t)(x & 0xff) << 16);
	snap_close(w);
}

static long
torn_iters(void)
{
	return t_under_valgrind() ? 20000 : 3000000;
}

static void
test_snap_torn_reads_across_processes(void)
{
	if (t_under_valgrind())
		t_skip("fork-based torn test is covered by the threads variant under valgrind");
	char *dir = t_tmpdir();
	bool re;
	CHECK_INT(snap_create(dir, &re, NULL), ==, 0);
	struct torn_result *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	pid_t writer = fork();
	if (writer == 0) {
		signal(SIGTERM, SIG_DFL);
		writer_stop = 0;
		torn_writer(dir);
		_exit(0);
	}
	pid_t readers[2];
	for (int i = 0; i < 2; i++) {
		readers[i] = fork();
		if (readers[i] == 0) {
			torn_reader(dir, torn_iters(), &shared[i]);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++)
		waitpid(readers[i], NULL, 0);
	kill(writer, SIGKILL); /* killed, possibly mid-update: allowed */
	waitpid(writer, NULL, 0);
	long reads = shared[0].reads + shared[1].reads, torn = shared[0].torn + shared[1].torn;
	printf("     processes: %ld reads, %ld torn, %ld busy\n", reads, torn,
	       shared[0].busy + shared[1].busy);
	CHECK_INT(reads, >, torn_iters()); /* most reads succeed */
	CHECK_INT(torn, ==, 0);
	munmap(shared, 4096);
}

struct thr_arg {
	const char *dir;
	struct torn_result res;
};

static void *
thr_reader(void *p)
{
	struct thr_arg *a = p;
	torn_reader(a->dir, torn_iters() / (t_under_valgrind() ? 1 : 3), &a->res);
	return NULL;
}

static void *
thr_writer(void *p)
{
	torn_writer(p);
	return NULL;
}

static void
test_snap_torn_reads_across_threads(void)
{
	char *dir = t_tmpdir();
	bool re;
	CHECK_INT(snap_create(dir, &re, NULL), ==, 0);
	pthread_t w, r[2];
	struct thr_arg args[2] = {{dir, {0}}, {dir, {0}}};
	writer_stop = 0;
	CHECK_INT(pthread_create(&w, NULL, thr_writer, dir), ==, 0);
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&r[i], NULL, thr_reader, &args[i]), ==, 0);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	writer_stop = 1;
	pthread_join(w, NULL);
	long reads = args[0].res.reads + args[1].res.reads;
	long torn = args[0].res.torn + args[1].res.torn;
	printf("     threads: %ld reads, %ld torn, %ld busy\n", reads, torn,
	       args[0].res.busy + args[1].res.busy);
	CHECK_INT(reads, >, 0);
	CHECK_INT(torn, ==, 0);
}

T_MAIN(T(test_snap_roundtrip_and_reattach), T(test_snap_refuses_unknown_layout),
       T(test_snap_killed_writer_does_not_wedge), T(test_snap_torn_reads_across_processes),
       T(test_snap_torn_reads_across_threads))
