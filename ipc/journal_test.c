/*
 * The journal: records round-trip by seq; wrap-around overwrites the oldest
 * and readers see -ESTALE for them, never a wrong record; seq continues
 * across a writer restart; and a reader thread racing the writer never sees
 * a record whose bytes do not match its seq.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "journal.h"
#include "t.h"

/* record content derived from seq: length and bytes */
static size_t
rec_fill(uint64_t seq, uint8_t *buf)
{
	size_t len = 20 + (seq * 37) % 300;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 13 + i);
	return len;
}

static int
rec_ok(uint64_t seq, const uint8_t *buf, size_t len)
{
	uint8_t want[400];
	size_t wl = rec_fill(seq, want);
	return wl == len && memcmp(want, buf, len) == 0;
}

static void
test_journal_roundtrip_and_restart(void)
{
	char *dir = t_tmpdir();
	bool re;
	uint64_t gen;
	CHECK_INT(journal_create(dir, 1 << 20, &re, &gen), ==, 0);
	struct journal *w, *r;
	CHECK_INT(journal_open(&w, dir, true), ==, 0);
	CHECK_INT(journal_open(&r, dir, false), ==, 0);
	CHECK(journal_generation(r) == gen);
	CHECK_INT(journal_next_seq(w), ==, 1);
	uint8_t buf[400], out[400];
	size_t len;
	CHECK_INT(journal_read(r, 1, out, sizeof(out), &len), ==, -EAGAIN);
	for (uint64_t s = 1; s <= 100; s++) {
		size_t n = rec_fill(s, buf);
		CHECK_INT(journal_append(w, s, buf, n), ==, 0);
	}
	CHECK_INT(journal_append(w, 7, buf, 10), ==, -EINVAL); /* seq must be next */
	for (uint64_t s = 1; s <= 100; s++) {
		CHECK_INT(journal_read(r, s, out, sizeof(out), &len), ==, 0);
		CHECK(rec_ok(s, out, len));
	}
	CHECK_INT(journal_read(r, 5, out, 10, &len), ==, -ENOSPC);
	CHECK_INT(journal_oldest_seq(r), ==, 1);
	journal_close(w);
	/* a restarted can worker resumes the sequence */
	CHECK_INT(journal_create(dir, 1 << 20, &re, NULL), ==, 0);
	CHECK(re);
	CHECK_INT(journal_open(&w, dir, true), ==, 0);
	CHECK_INT(journal_next_seq(w), ==, 101);
	journal_close(w);
	journal_close(r);
}

static void
test_journal_wraps_and_reports_stale(void)
{
	char *dir = t_tmpdir();
	bool re;
	CHECK_INT(journal_create(dir, 64 * 1024, &re, NULL), ==, 0); /* minimum: 32 KiB records */
	struct journal *w;
	CHECK_INT(journal_open(&w, dir, true), ==, 0);
	uint8_t buf[400], out[400];
	size_t len;
	uint64_t n = 5000;
	for (uint64_t s = 1; s <= n; s++)
		CHECK_INT(journal_append(w, s, buf, rec_fill(s, buf)), ==, 0);
	uint64_t oldest = journal_oldest_seq(w);
	CHECK_INT(oldest, >, 1);
	CHECK_INT(oldest, <, n);
	CHECK_INT(journal_read(w, 1, out, sizeof(out), &len), ==, -ESTALE);
	CHECK_INT(journal_read(w, oldest - 1, out, sizeof(out), &len), ==, -ESTALE);
	for (uint64_t s = oldest; s <= n; s++) {
		CHECK_INT(journal_read(w, s, out, sizeof(out), &len), ==, 0);
		CHECK(rec_ok(s, out, len));
	}
	printf("     %llu of %llu records kept in 64 KiB\n", (unsigned long long)(n - oldest + 1),
	       (unsigned long long)n);
	journal_close(w);
}

struct race {
	const char *dir;
	_Atomic int stop;
	long ok, stale, bad;
};

static void *
race_reader(void *p)
{
	struct race *rc = p;
	struct journal *r;
	uint8_t out[JOURNAL_RECORD_MAX];
	size_t len;
	if (journal_open(&r, rc->dir, false) < 0)
		return NULL;
	while (!atomic_load(&rc->stop)) {
		uint64_t next = journal_next_seq(r);
		if (next <= 1)
			continue;
		/* read near the tail, where the writer is overwriting */
		uint64_t s = journal_oldest_seq(r);
		for (int i = 0; i < 8 && s + (uint64_t)i < next; i++) {
			int x = journal_read(r, s + (uint64_t)i, out, sizeof(out), &len);
			if (x == 0)
				rc->ok += rec_ok(s + (uint64_t)i, out, len) ? 1 : 0,
				    rc->bad += rec_ok(s + (uint64_t)i, out, len) ? 0 : 1;
			else if (x == -ESTALE)
				rc->stale++;
		}
	}
	journal_close(r);
	return NULL;
}

static void
test_journal_reader_races_writer(void)
{
	char *dir = t_tmpdir();
	bool re;
	CHECK_INT(journal_create(dir, 64 * 1024, &re, NULL), ==, 0);
	struct journal *w;
	CHECK_INT(journal_open(&w, dir, true), ==, 0);
	struct race rc = {.dir = dir};
	pthread_t th;
	CHECK_INT(pthread_create(&th, NULL, race_reader, &rc), ==, 0);
	uint8_t buf[400];
	uint64_t n = t_under_valgrind() ? 20000 : 2000000;
	for (uint64_t s = 1; s <= n; s++)
		journal_append(w, s, buf, rec_fill(s, buf));
	atomic_store(&rc.stop, 1);
	pthread_join(th, NULL);
	printf("     %ld intact, %ld stale, %ld wrong\n", rc.ok, rc.stale, rc.bad);
	CHECK_INT(rc.bad, ==, 0);
	CHECK_INT(rc.ok, >, 0);
	journal_close(w);
}

T_MAIN(T(test_journal_roundtrip_and_restart), T(test_journal_wraps_and_reports_stale),
       T(test_journal_reader_races_writer))
