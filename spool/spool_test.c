/*
 * Tests for the spool on a real directory: append/commit/read, acks and
 * reopen, the mark, segment roll and deletion only after acks, the byte cap,
 * torn tails at every kind of cut, corruption inside a segment, fsyncs per
 * commit, cursors with ranges, the ledger and the state file, crashes
 * (a child that _exits without closing), boot changes and clock anchors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "spool_testlib.h"
#include "t.h"

static int64_t idx[20000];

static void
test_spool_append_commit_read_back(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	for (uint64_t i = 0; i < 1000; i++)
		CHECK_INT(tsp_append(sp, i), ==, i);
	/* readable from memory before the commit, and from disk after */
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 1000);
	CHECK(spool_commit(sp, NULL, 0) == 0);
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 1000);
	for (int i = 0; i < 1000; i++)
		CHECK_INT(idx[i], ==, i);
	CHECK_INT(tsp_read_all(sp, 500, idx, 20000), ==, 500);
	CHECK_INT(idx[0], ==, 500);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.queued_records, ==, 1000);
	CHECK_INT(st.mem_records, ==, 0);
	CHECK_INT(st.oldest_rid, ==, 0);
	struct spool_meta m;
	tsp_meta(&m, 0);
	CHECK_INT(st.oldest_t_ns, ==, m.t_ns);
	spool_close(sp);
}

static void
test_spool_reopen_keeps_only_unacked(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	for (uint64_t i = 0; i < 300; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, NULL, 0) == 0);
	spool_ack(sp, 0, 100, true);
	spool_ack(sp, 150, 200, false);
	spool_close(sp);

	sp = tsp_open(dir, 64 << 20, 0, NULL);
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 150);
	CHECK_INT(idx[0], ==, 100);
	CHECK_INT(idx[49], ==, 149);
	CHECK_INT(idx[50], ==, 200);
	CHECK_INT(spool_ledger(sp)->delivered, ==, 100);
	CHECK_INT(spool_next_rid(sp), ==, 300);
	CHECK_INT(tsp_append(sp, 300), ==, 300); /* ids continue */
	spool_close(sp);
}

static void
test_spool_mark_is_durable_with_its_records(void)
{
	char *dir = t_tmpdir();
	char mark[32];
	struct spool *sp = tsp_open(dir, 64 << 20, 32 << 10, NULL);
	CHECK_INT(spool_mark(sp, mark, sizeof(mark)), ==, 0);
	for (uint64_t i = 0; i < 2000; i++) { /* rolls several segments */
		tsp_append(sp, i);
		if (i % 100 == 99) {
			char m[32];
			int n = snprintf(m, sizeof(m), "seq=%llu", (unsigned long long)i);
			CHECK(spool_commit(sp, m, (size_t)n) == 0);
		}
	}
	CHECK(tsp_segment_count(dir) > 3);
	spool_close(sp);
	sp = tsp_open(dir, 64 << 20, 32 << 10, NULL);
	size_t n = spool_mark(sp, mark, sizeof(mark) - 1);
	mark[n] = '\0';
	CHECK_STR(mark, "seq=1999");
	/* every record is still there, in order, across the segments */
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 2000);
	for (int i = 0; i < 2000; i++)
		CHECK_INT(idx[i], ==, i);
	spool_close(sp);
}

static void
test_spool_segments_deleted_only_after_ack(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 16 << 10, NULL);
	for (uint64_t i = 0; i < 3000; i++) {
		tsp_append(sp, i);
		if (i % 50 == 49)
			CHECK(spool_commit(sp, NULL, 0) == 0);
	}
	int segs = tsp_segment_count(dir);
	CHECK(segs > 5);
	spool_maintain(sp);
	CHECK_INT(tsp_segment_count(dir), ==, segs); /* nothing acked: nothing deleted */
	spool_ack(sp, 0, 1500, true);
	spool_maintain(sp);
	int left = tsp_segment_count(dir);
	CHECK(left < segs);
	CHECK(left > 1);
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 1500);
	CHECK_INT(idx[0], ==, 1500);
	spool_ack(sp, 1500, 3000, true);
	spool_maintain(sp);
	CHECK_INT(tsp_segment_count(dir), ==, 1); /* the newest stays: it holds the mark */
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.queued_records, ==, 0);
	CHECK_INT(st.oldest_t_ns, ==, 0);
	spool_close(sp);
}

static void
test_spool_cap_drops_oldest_and_counts(void)
{
	char *dir = t_tmpdir();
	uint64_t cap = 256 << 10;
	struct spool *sp = tsp_open(dir, cap, 16 << 10, NULL);
	for (uint64_t i = 0; i < 10000; i++) {
		tsp_append(sp, i);
		if (i % 100 == 99)
			CHECK(spool_commit(sp, NULL, 0) == 0);
	}
	spool_maintain(sp);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK(st.disk_bytes <= cap);
	uint64_t dropped = spool_ledger(sp)->dropped_cap;
	CHECK(dropped > 0);
	CHECK_INT(dropped + st.queued_records, ==, 10000); /* every record accounted for */
	long n = tsp_read_all(sp, 0, idx, 20000);
	CHECK_INT(n, ==, (long)st.queued_records);
	CHECK_INT(idx[0], ==, (int64_t)dropped); /* the newest survive, contiguous */
	CHECK_INT(idx[n - 1], ==, 9999);
	spool_close(sp);
	sp = tsp_open(dir, cap, 16 << 10, NULL);
	CHECK_INT(spool_ledger(sp)->dropped_cap, ==, dropped); /* persisted */
	spool_close(sp);
}

static off_t
file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Cut the newest segment at `at` bytes; reopen; what is left must be a
 * prefix of what was written, whole and in order, and the tail counted. */
static void
cut_and_check(const char *dir, off_t at, long written)
{
	char seg[1024];
	CHECK(tsp_last_segment(dir, seg, sizeof(seg)) == 0);
	off_t size = file_size(seg);
	CHECK(truncate(seg, at) == 0);
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	long n = tsp_read_all(sp, 0, idx, 20000);
	CHECK(n >= 0 && n <= written);
	for (long i = 0; i < n; i++)
		CHECK_INT(idx[i], ==, i);
	uint64_t torn = spool_ledger(sp)->torn;
	CHECK(torn <= 1);
	if (at >= size)
		CHECK_INT(n, ==, written);
	/* the next record continues right after the survivors */
	CHECK_INT(tsp_append(sp, (uint64_t)n), ==, (uint64_t)n);
	CHECK(spool_commit(sp, NULL, 0) == 0);
	spool_close(sp);
	sp = tsp_open(dir, 64 << 20, 0, NULL);
	CHECK_INT(spool_ledger(sp)->torn, ==, torn); /* counted once */
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, n + 1);
	spool_close(sp);
}

static void
test_spool_torn_tail_truncated_at_every_cut(void)
{
	char *base = t_tmpdir(), dir[1024], seg[1024];
	int torn_rounds = 0;
	srand(7);
	for (int round = 0; round < 60; round++) {
		snprintf(dir, sizeof(dir), "%s/r%d", base, round);
		struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
		for (uint64_t i = 0; i < 40; i++)
			tsp_append(sp, i);
		CHECK(spool_commit(sp, "m", 1) == 0);
		spool_close(sp);
		CHECK(tsp_last_segment(dir, seg, sizeof(seg)) == 0);
		off_t size = file_size(seg);
		/* the first rounds cut at structural places, the rest anywhere */
		off_t at = round == 0 ? size - 1 : round == 1 ? 64 : round == 2 ? 65 :
			   round == 3 ? 10 : 64 + rand() % (size - 64);
		cut_and_check(dir, at, 40);
		sp = tsp_open(dir, 64 << 20, 0, NULL);
		torn_rounds += spool_ledger(sp)->torn;
		spool_close(sp);
	}
	CHECK(torn_rounds > 40); /* most random cuts land inside a record */
}

static void
flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	CHECK(fd >= 0);
	CHECK(pread(fd, &c, 1, at) == 1);
	c ^= 0x5a;
	CHECK(pwrite(fd, &c, 1, at) == 1);
	close(fd);
}

static void
test_spool_corruption_inside_a_segment_is_skipped_and_counted(void)
{
	char *dir = t_tmpdir(), seg[1024];
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	for (uint64_t i = 0; i < 200; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, NULL, 0) == 0);
	spool_close(sp);
	CHECK(tsp_last_segment(dir, seg, sizeof(seg)) == 0);
	flip_byte(seg, file_size(seg) / 2); /* inside one record in the middle */
	sp = tsp_open(dir, 64 << 20, 0, NULL);
	long n = tsp_read_all(sp, 0, idx, 20000);
	CHECK_INT(n, ==, 199);
	CHECK_INT(spool_ledger(sp)->corrupt, ==, 1);
	CHECK_INT(spool_ledger(sp)->torn, ==, 0);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.queued_records, ==, 199);
	spool_close(sp);
	sp = tsp_open(dir, 64 << 20, 0, NULL);
	CHECK_INT(spool_ledger(sp)->corrupt, ==, 1); /* not counted twice */
	spool_close(sp);
}

static void
test_spool_corrupt_sealed_segment_found_by_reader(void)
{
	char *dir = t_tmpdir(), seg[1024];
	struct spool *sp = tsp_open(dir, 64 << 20, 16 << 10, NULL);
	for (uint64_t i = 0; i < 600; i++) {
		tsp_append(sp, i);
		if (i % 20 == 19)
			spool_commit(sp, NULL, 0);
	}
	spool_close(sp);
	/* the first segment is sealed (footer): its middle is only read by cursors */
	snprintf(seg, sizeof(seg), "%s/0000000000000000.seg", dir);
	off_t size = file_size(seg);
	CHECK(size > 1000);
	flip_byte(seg, size / 3);
	flip_byte(seg, size / 3 + 1);
	sp = tsp_open(dir, 64 << 20, 16 << 10, NULL);
	long n = tsp_read_all(sp, 0, idx, 20000);
	CHECK(n >= 598 && n <= 599);
	CHECK_INT((long)spool_ledger(sp)->corrupt, ==, 600 - n);
	spool_close(sp);
}

static void
test_spool_one_fsync_per_commit(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	struct spool_stats a, b;
	tsp_append(sp, 0);
	spool_commit(sp, NULL, 0); /* creates the segment */
	spool_stats(sp, &a);
	for (uint64_t i = 1; i <= 500; i++)
		tsp_append(sp, i);
	CHECK(spool_commit(sp, "x", 1) == 0);
	spool_stats(sp, &b);
	CHECK_INT(b.fsyncs - a.fsyncs, ==, 1);
	CHECK(spool_commit(sp, NULL, 0) == 0); /* nothing new: no fsync */
	spool_stats(sp, &a);
	CHECK_INT(a.fsyncs, ==, b.fsyncs);
	spool_close(sp);
}

static void
test_spool_cursors_with_ranges_live_and_backlog(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	struct spool_cursor *backlog, *live;
	struct spool_rec r;
	for (uint64_t i = 0; i < 100; i++)
		tsp_append(sp, i);
	spool_commit(sp, NULL, 0);
	CHECK(spool_cursor_open(sp, 0, 60, &backlog) == 0);
	CHECK(spool_cursor_open(sp, 60, UINT64_MAX, &live) == 0);
	/* live first: 60.. are sent and acked */
	uint64_t got = 0;
	while (spool_peek(live, &r) == 1) {
		spool_ack(sp, r.rid, r.rid + 1, true);
		spool_skip(live);
		got++;
	}
	CHECK_INT(got, ==, 40);
	for (uint64_t i = 100; i < 110; i++)
		tsp_append(sp, i); /* new live data, not committed yet */
	CHECK(spool_peek(live, &r) == 1);
	CHECK_INT(r.rid, ==, 100);
	CHECK_INT(tsp_check(&r), ==, 100);
	/* the backlog drains oldest first and stops at its bound */
	got = 0;
	while (spool_peek(backlog, &r) == 1) {
		CHECK_INT(r.rid, ==, got);
		spool_skip(backlog);
		got++;
	}
	CHECK_INT(got, ==, 60);
	/* peek does not move; seek goes back */
	spool_cursor_seek(backlog, 10);
	CHECK(spool_peek(backlog, &r) == 1 && r.rid == 10);
	CHECK(spool_peek(backlog, &r) == 1 && r.rid == 10);
	spool_ack(sp, 10, 11, true); /* acked under a peek: the cursor moves on */
	CHECK(spool_peek(backlog, &r) == 1 && r.rid == 11);
	spool_cursor_close(backlog);
	spool_cursor_close(live);
	spool_close(sp);
}

static void
test_spool_ledger_and_drop_policy_persist(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	for (uint64_t i = 0; i < 50; i++)
		tsp_append(sp, i);
	spool_commit(sp, NULL, 0);
	CHECK_INT(spool_drop(sp, 0, 10), ==, 10);
	CHECK_INT(spool_drop(sp, 5, 15), ==, 5); /* only what was still queued */
	struct spool_ledger *l = spool_ledger(sp);
	l->dead_lettered = 7;
	l->last_success = 1700000000;
	l->last_error_code = 503;
	snprintf(l->last_error_text, sizeof(l->last_error_text), "service unavailable");
	spool_ledger_changed(sp);
	spool_close(sp);
	sp = tsp_open(dir, 64 << 20, 0, NULL);
	l = spool_ledger(sp);
	CHECK_INT(l->dropped_policy, ==, 15);
	CHECK_INT(l->dead_lettered, ==, 7);
	CHECK_INT(l->last_success, ==, 1700000000);
	CHECK_INT(l->last_error_code, ==, 503);
	CHECK_STR(l->last_error_text, "service unavailable");
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 35);
	spool_close(sp);
}

static void
test_spool_bad_state_file_means_resend_not_loss(void)
{
	char *dir = t_tmpdir(), path[1024];
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	for (uint64_t i = 0; i < 50; i++)
		tsp_append(sp, i);
	spool_commit(sp, NULL, 0);
	spool_ack(sp, 0, 40, true);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/state", dir);
	flip_byte(path, 25);
	sp = tsp_open(dir, 64 << 20, 0, NULL);
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 50);
	spool_close(sp);
}

/* A crash: the child works on the spool and _exits without closing. */
static void
crash_child(const char *dir, int what)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
		struct spool_cursor *c;
		struct spool_rec r;
		for (uint64_t i = 0; i < 100; i++)
			tsp_append(sp, i);
		if (what == 1) { /* delivered from memory and acked before the commit */
			spool_cursor_open(sp, 0, UINT64_MAX, &c);
			while (spool_peek(c, &r) == 1)
				spool_skip(c);
			spool_ack(sp, 0, 100, true);
			spool_maintain(sp); /* writes the state: acks must be clipped */
		} else {
			spool_commit(sp, "before", 6);
			for (uint64_t i = 100; i < 120; i++)
				tsp_append(sp, i); /* queued, never committed */
		}
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_spool_crash_loses_only_uncommitted_and_no_acks_leak(void)
{
	char *dir = t_tmpdir(), mark[16];
	crash_child(dir, 1);
	struct spool *sp = tsp_open(dir, 64 << 20, 0, NULL);
	CHECK_INT(spool_next_rid(sp), ==, 0); /* nothing reached the disk */
	for (uint64_t i = 0; i < 10; i++)
		tsp_append(sp, i); /* same ids as the acked-in-memory ones: must not be acked */
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 10);
	spool_close(sp);

	dir = t_tmpdir();
	crash_child(dir, 2);
	sp = tsp_open(dir, 64 << 20, 0, NULL);
	CHECK_INT(tsp_read_all(sp, 0, idx, 20000), ==, 100);
	size_t n = spool_mark(sp, mark, sizeof(mark));
	CHECK_INT(n, ==, 6);
	CHECK(memcmp(mark, "before", 6) == 0);
	spool_close(sp);
}

static void
test_spool_new_boot_new_segment_and_anchor(void)
{
	char *dir = t_tmpdir();
	struct spool *sp = tsp_open(dir, 64 << 20, 0, tsp_boot_a);
	struct spool_cursor *c;
	struct spool_rec r;
	tsp_append(sp, 0);
	spool_commit(sp, NULL, 0);
	CHECK(spool_clock_observe(sp, false, 0, 0) == 0);
	CHECK(spool_clock_observe(sp, true, 1000 * NSEC_PER_SEC, 10 * NSEC_PER_SEC) == 1);
	CHECK(spool_clock_observe(sp, true, 2000 * NSEC_PER_SEC, 20 * NSEC_PER_SEC) == 0);
	spool_close(sp);
	sp = tsp_open(dir, 64 << 20, 0, tsp_boot_b); /* a reboot */
	tsp_append(sp, 1);
	spool_commit(sp, NULL, 0);
	CHECK_INT(tsp_segment_count(dir), ==, 2);
	const struct spool_anchor *an;
	CHECK_INT(spool_anchors(sp, &an), ==, 1);
	CHECK(memcmp(an[0].boot_id, tsp_boot_a, 16) == 0);
	CHECK_INT(an[0].offset_ns, ==, 990 * NSEC_PER_SEC);
	spool_cursor_open(sp, 0, UINT64_MAX, &c);
	CHECK(spool_peek(c, &r) == 1);
	CHECK(memcmp(r.boot_id, tsp_boot_a, 16) == 0);
	int64_t t;
	/* record 0 was captured unsynced at boottime 5 s in boot A, which
	 * synced at 10 s: re-based with boot A's offset */
	CHECK(spool_time(sp, &r, 0, 60 * NSEC_PER_SEC, &t) == SPOOL_TIME_REBASED);
	CHECK_INT(t, ==, r.m.boot_ns + 990 * NSEC_PER_SEC);
	spool_skip(c);
	CHECK(spool_peek(c, &r) == 1);
	CHECK(memcmp(r.boot_id, tsp_boot_b, 16) == 0);
	spool_cursor_close(c);
	spool_close(sp);
}

T_MAIN(T(test_spool_append_commit_read_back), T(test_spool_reopen_keeps_only_unacked),
       T(test_spool_mark_is_durable_with_its_records), T(test_spool_segments_deleted_only_after_ack),
       T(test_spool_cap_drops_oldest_and_counts), T(test_spool_torn_tail_truncated_at_every_cut),
       T(test_spool_corruption_inside_a_segment_is_skipped_and_counted),
       T(test_spool_corrupt_sealed_segment_found_by_reader), T(test_spool_one_fsync_per_commit),
       T(test_spool_cursors_with_ranges_live_and_backlog),
       T(test_spool_ledger_and_drop_policy_persist),
       T(test_spool_bad_state_file_means_resend_not_loss),
       T(test_spool_crash_loses_only_uncommitted_and_no_acks_leak),
       T(test_spool_new_boot_new_segment_and_anchor))
