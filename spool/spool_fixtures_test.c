/*
 * The committed fixtures in spool/testdata (written by spool-mkfixtures):
 * a clean spool of format version 1, which later versions must keep
 * opening, and spools damaged by crashes, bad disks and downgrades. Each is
 * copied to a temporary directory and opened; what survives is checked
 * record by record. A last test regenerates the fixtures and compares
 * them byte for byte, so a format change cannot slip in unnoticed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "spool_testlib.h"
#include "t.h"

static int64_t idx[1000];

static struct spool *
open_fixture(const char *name, char *copy, size_t len)
{
	char src[1024];
	snprintf(src, sizeof(src), "%s/%s", t_src("spool/testdata"), name);
	snprintf(copy, len, "%s/%s", t_tmpdir(), name);
	CHECK(access(src, R_OK) == 0);
	CHECK(tsp_copy_dir(src, copy) == 0);
	return tsp_open(copy, 64 << 20, 8 << 10, tsp_boot_a);
}

static void
check_mark(struct spool *sp, const char *want)
{
	char m[64];
	size_t n = spool_mark(sp, m, sizeof(m) - 1);
	m[n] = '\0';
	CHECK_STR(m, want);
}

static void
check_range(long n, int64_t from, int64_t to)
{
	CHECK_INT(n, ==, to - from);
	for (long k = 0; k < n; k++)
		CHECK_INT(idx[k], ==, from + k);
}

static bool
exists(const char *dir, const char *file)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

static void
test_fixture_v1_clean_opens(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("v1-clean", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 50, 300);
	check_mark(sp, "ck:299");
	CHECK_INT(spool_ledger(sp)->delivered, ==, 50);
	CHECK_INT(spool_next_rid(sp), ==, 300);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.queued_records, ==, 250);
	CHECK(st.segments >= 4);
	/* appends continue in a new segment of the current version */
	CHECK_INT(tsp_append(sp, 300), ==, 300);
	CHECK(spool_commit(sp, NULL, 0) == 0);
	spool_close(sp);
	sp = tsp_open(dir, 64 << 20, 8 << 10, tsp_boot_a);
	check_range(tsp_read_all(sp, 0, idx, 1000), 50, 301);
	spool_close(sp);
}

static void
test_fixture_torn_tail(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("torn-tail", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 0, 99);
	check_mark(sp, "ck:98");
	CHECK_INT(spool_ledger(sp)->torn, ==, 1);
	CHECK(spool_ledger(sp)->torn_bytes > 0);
	CHECK_INT(spool_next_rid(sp), ==, 99);
	spool_close(sp);
}

static void
test_fixture_torn_header(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("torn-header", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 0, 200);
	check_mark(sp, "ck:199"); /* found in the sealed segment before it */
	CHECK_INT(spool_next_rid(sp), ==, 200);
	CHECK(!exists(dir, "00000000000000c8.seg"));
	spool_close(sp);
}

static void
corrupt_case(const char *name)
{
	char dir[1024];
	struct spool *sp = open_fixture(name, dir, sizeof(dir));
	long n = tsp_read_all(sp, 0, idx, 1000);
	CHECK_INT(n, ==, 99);
	for (long k = 0; k < n; k++)
		CHECK_INT(idx[k], ==, k < 50 ? k : k + 1); /* only record 50 is gone */
	CHECK_INT(spool_ledger(sp)->corrupt, ==, 1);
	CHECK_INT(spool_ledger(sp)->torn, ==, 0);
	check_mark(sp, "ck:99");
	spool_close(sp);
}

static void
test_fixture_corrupt_payload(void)
{
	corrupt_case("corrupt-payload");
}

static void
test_fixture_corrupt_length(void)
{
	corrupt_case("corrupt-length");
}

static void
test_fixture_bad_footer_falls_back_to_a_scan(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("bad-footer", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 0, 200);
	CHECK_INT(spool_ledger(sp)->corrupt, ==, 0);
	spool_close(sp);
}

static void
test_fixture_bad_magic_set_aside(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("bad-magic", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 0, 50);
	CHECK(exists(dir, "0000000000000010.seg.corrupt"));
	CHECK(!exists(dir, "0000000000000010.seg"));
	spool_close(sp);
}

static void
test_fixture_future_version_left_alone(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("future-version", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 0, 50);
	struct spool_stats st;
	spool_stats(sp, &st);
	CHECK_INT(st.future_segments, ==, 1);
	CHECK(exists(dir, "00000000000003e8.seg.future"));
	CHECK_INT(spool_next_rid(sp), ==, 50);
	spool_close(sp);
}

static void
test_fixture_corrupt_state_resends(void)
{
	char dir[1024];
	struct spool *sp = open_fixture("state-corrupt", dir, sizeof(dir));
	check_range(tsp_read_all(sp, 0, idx, 1000), 0, 100); /* the 60 acks are forgotten */
	spool_close(sp);
}

static int
files_equal(const char *a, const char *b)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

static void
test_fixtures_match_a_fresh_generation(void)
{
	char out[1024], cmd[2400];
	const char *gen = getenv("SPOOL_MKFIXTURES");
	if (gen == NULL)
		t_skip("SPOOL_MKFIXTURES not set (run through ctest)");
	snprintf(out, sizeof(out), "%s/gen", t_tmpdir());
	snprintf(cmd, sizeof(cmd), "'%s' '%s' 2>/dev/null", gen, out);
	CHECK(system(cmd) == 0);
	const char *fixtures = t_src("spool/testdata");
	DIR *d = opendir(out);
	struct dirent *e;
	int compared = 0;
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[1600], ref[1600];
		snprintf(sub, sizeof(sub), "%s/%s", out, e->d_name);
		DIR *f = opendir(sub);
		struct dirent *fe;
		CHECK(f != NULL);
		while ((fe = readdir(f)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			char a[2000], b[2000];
			snprintf(a, sizeof(a), "%s/%s", sub, fe->d_name);
			snprintf(ref, sizeof(ref), "%s/%s", fixtures, e->d_name);
			snprintf(b, sizeof(b), "%s/%s", ref, fe->d_name);
			if (!files_equal(a, b))
				t_fail(__FILE__, __LINE__, "%s differs from the committed fixture: "
					"a format change? keep the old fixtures as the previous "
					"version and regenerate", b);
			compared++;
		}
		closedir(f);
	}
	closedir(d);
	CHECK(compared >= 20);
}

T_MAIN(T(test_fixture_v1_clean_opens), T(test_fixture_torn_tail), T(test_fixture_torn_header),
       T(test_fixture_corrupt_payload), T(test_fixture_corrupt_length),
       T(test_fixture_bad_footer_falls_back_to_a_scan), T(test_fixture_bad_magic_set_aside),
       T(test_fixture_future_version_left_alone), T(test_fixture_corrupt_state_resends),
       T(test_fixtures_match_a_fresh_generation))
