/*
 * The spool when the disk fails: a full file system (a private tmpfs of
 * 256 KiB; needs CAP_SYS_ADMIN, skipped clearly otherwise), a read-only one,
 * and a file-size limit that cuts a write in the middle (RLIMIT_FSIZE, any
 * user). Records wait in memory up to the bound, the excess is counted, the
 * disk is retried, nothing crashes and nothing written is damaged.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "spool_testlib.h"
#include "t.h"

static int64_t idx[40000];

static void
private_tmpfs(const char *mnt, const char *opts)
{
	static bool unshared;
	mkdir_p(mnt, 0700);
	if (!unshared) {
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "", MS_REC | MS_PRIVATE, NULL) < 0)
			t_skip("needs CAP_SYS_ADMIN for a private tmpfs (run as root to test ENOSPC/EROFS)");
		unshared = true;
	}
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) < 0)
		t_skip("cannot mount a tmpfs here");
}

static struct spool *
open_small(const char *dir, uint64_t mem_max)
{
	struct spool_opts o = {.dir = dir, .name = "faults", .max_bytes = 64 << 20,
			       .seg_bytes = 64 << 10, .mem_max_bytes = mem_max,
			       .boot_id = tsp_boot_a, .state_interval_ns = 1};
	struct spool *sp;
	char err[256];
	CHECK(spool_open(&sp, &o, err, sizeof(err)) == 0);
	return sp;
}

static void
nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Commit until the disk takes it (the spool retries with backoff). */
static void
commit_until_ok(struct spool *sp)
{
	for (int i = 0; i < 200; i++) {
		if (spool_commit(sp, NULL, 0) == 0)
			return;
		nap_ms(50);
	}
	CHECK(!"the disk came back but commits keep failing");
}

static void
test_spool_disk_full_survived_and_counted(void)
{
	char *base = t_tmpdir(), mnt[1024], dir[1100];
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	private_tmpfs(mnt, "size=256k");
	snprintf(dir, sizeof(dir), "%s/spool", mnt);
	struct spool *sp = open_small(dir, 64 << 10);
	uint64_t i = 0, committed_upto = 0;
	int err = 0;
	for (; i < 40000 && err == 0; i++) {
		tsp_append(sp, i);
		if (i % 50 == 49) {
			if (spool_commit(sp, NULL, 0) == 0)
				committed_upto = i + 1;
			else
				err = errno;
		}
	}
	CHECK_INT(err, ==, ENOSPC);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.disk_errno, ==, ENOSPC);
	CHECK(st.disk_error_since > 0);
	uint64_t total = i + 3000;
	for (; i < total; i++) /* keep accepting: into memory, oldest dropped beyond the bound */
		tsp_append(sp, i);
	CHECK(spool_commit(sp, NULL, 0) < 0);
	spool_stats(sp, &st);
	uint64_t dropped = spool_ledger(sp)->dropped_mem;
	CHECK(dropped > 0);
	CHECK(st.mem_bytes <= 64 << 10);
	CHECK_INT(committed_upto + dropped + st.mem_records, ==, total);
	/* what waits in memory is readable (deliverable) while the disk is full */
	CHECK_INT(tsp_read_all(sp, 0, idx, 40000), ==, (long)(committed_upto + st.mem_records));
	CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m") == 0); /* space again */
	commit_until_ok(sp);
	spool_stats(sp, &st);
	CHECK_INT(st.disk_errno, ==, 0);
	CHECK_INT(st.mem_records, ==, 0);
	spool_close(sp);

	sp = open_small(dir, 64 << 10);
	long n = tsp_read_all(sp, 0, idx, 40000);
	CHECK_INT(n, ==, (long)(total - dropped));
	for (long k = 0; k < (long)committed_upto; k++)
		CHECK_INT(idx[k], ==, k);
	CHECK_INT(idx[committed_upto], ==, (int64_t)(committed_upto + dropped)); /* oldest in memory went */
	CHECK_INT(idx[n - 1], ==, (int64_t)total - 1);
	CHECK_INT(spool_ledger(sp)->torn, ==, 0);
	CHECK_INT(spool_ledger(sp)->dropped_mem, ==, dropped);
	spool_close(sp);
	umount2(mnt, MNT_DETACH);
}

static void
test_spool_read_only_directory_survived(void)
{
	char *base = t_tmpdir(), mnt[1024], dir[1100];
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	private_tmpfs(mnt, "size=4m");
	snprintf(dir, sizeof(dir), "%s/spool", mnt);
	struct spool *sp = open_small(dir, 1 << 20);
	for (uint64_t i = 0; i < 100; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, "m1", 2) == 0);
	spool_close(sp);
	CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0);

	sp = open_small(dir, 1 << 20); /* opens: the old records are readable */
	CHECK_INT(tsp_read_all(sp, 0, idx, 40000), ==, 100);
	for (uint64_t i = 100; i < 150; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, "m2", 2) < 0);
	CHECK(errno == EROFS);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.disk_errno, ==, EROFS);
	CHECK_INT(tsp_read_all(sp, 0, idx, 40000), ==, 150);
	spool_ack(sp, 0, 10, true);
	spool_maintain(sp); /* the state cannot be written: reported, survived */
	char m[4];
	CHECK_INT(spool_mark(sp, m, sizeof(m)), ==, 2);
	CHECK(memcmp(m, "m1", 2) == 0); /* m2 is not durable */
	CHECK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, NULL) == 0);
	commit_until_ok(sp);
	CHECK_INT(spool_mark(sp, m, sizeof(m)), ==, 2);
	CHECK(memcmp(m, "m2", 2) == 0);
	spool_close(sp);
	sp = open_small(dir, 1 << 20);
	CHECK_INT(tsp_read_all(sp, 0, idx, 40000), ==, 140);
	spool_close(sp);
	umount2(mnt, MNT_DETACH);
}

static void
test_spool_write_cut_short_is_undone(void)
{
	char *dir = t_tmpdir();
	struct rlimit old, lim;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	struct spool *sp = open_small(dir, 8 << 20);
	for (uint64_t i = 0; i < 100; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, NULL, 0) == 0);
	struct spool_stats st;
	spool_stats(sp, &st);
	/* the next write crosses the limit: the kernel writes part of it */
	lim.rlim_cur = st.disk_bytes + 1000;
	lim.rlim_max = old.rlim_max;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (uint64_t i = 100; i < 400; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, NULL, 0) < 0);
	CHECK(errno == EFBIG || errno == ENOSPC);
	CHECK_INT(tsp_read_all(sp, 0, idx, 40000), ==, 400);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	commit_until_ok(sp);
	spool_close(sp);
	sp = open_small(dir, 8 << 20);
	long n = tsp_read_all(sp, 0, idx, 40000);
	CHECK_INT(n, ==, 400);
	for (long k = 0; k < n; k++)
		CHECK_INT(idx[k], ==, k);
	CHECK_INT(spool_ledger(sp)->torn, ==, 0);
	CHECK_INT(spool_ledger(sp)->corrupt, ==, 0);
	spool_close(sp);
}

static void
test_spool_unusable_directory_is_memory_mode(void)
{
	char *base = t_tmpdir(), path[1024];
	snprintf(path, sizeof(path), "%s/file", base);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/file/spool", base); /* ENOTDIR, even for root */
	struct spool *sp = open_small(path, 1 << 20);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.disk_errno, ==, ENOTDIR);
	for (uint64_t i = 0; i < 20; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, NULL, 0) < 0);
	CHECK_INT(tsp_read_all(sp, 0, idx, 40000), ==, 20);
	spool_close(sp);
}

T_MAIN(T(test_spool_disk_full_survived_and_counted), T(test_spool_read_only_directory_survived),
       T(test_spool_write_cut_short_is_undone), T(test_spool_unusable_directory_is_memory_mode))
