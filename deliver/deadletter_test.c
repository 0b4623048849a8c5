/*
 * The dead-letter file: each group under its header (time, status, count,
 * the server's message on one line), rotation to .1 past the cap, and a
 * file that cannot be written (no directory, a full device) counted as
 * failed, never as written.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadletter.h"
#include "t.h"
#include "util.h"

#define T0 1760000000 /* 2025-10-09T08:53:20Z */

static const char *const LINES[] = {"m,v=leaf a=1i 1", "m,v=leaf b=2i 2", "m,v=leaf c=3i 3"};
static const size_t LENS[] = {15, 15, 15};

static char *
slurp(const char *path)
{
	struct buf b;
	buf_init(&b);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char chunk[512];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	char *s = strdup(buf_str(&b));
	buf_free(&b);
	return s;
}

static void
check_file(const char *path, const char *want)
{
	char *got = slurp(path);
	CHECK(got != NULL);
	CHECK_STR(got, want);
	free(got);
}

static void
test_deadletter_groups_under_headers(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/influx-deadletter.lp", t_tmpdir());
	struct deadletter d;
	deadletter_init(&d, path, 0);
	CHECK_INT(d.max_bytes, ==, 64u << 20);
	CHECK_INT(deadletter_write(&d, 400, "bad\r\nfield", LINES, LENS, 2, T0), ==, 0);
	CHECK_INT(deadletter_write(&d, 422, "", LINES + 2, LENS + 2, 1, T0 + 61), ==, 0);
	check_file(path, "# 2025-10-09T08:53:20Z HTTP 400, 2 lines: bad  field\n"
			 "m,v=leaf a=1i 1\nm,v=leaf b=2i 2\n"
			 "# 2025-10-09T08:54:21Z HTTP 422, 1 line: \n"
			 "m,v=leaf c=3i 3\n");
	CHECK_INT(d.lines, ==, 3);
	CHECK_INT(d.failed, ==, 0);
	struct stat st;
	CHECK_INT(stat(path, &st), ==, 0);
	CHECK_INT(st.st_mode & 0777, ==, 0600);
}

static void
test_deadletter_rotates_past_the_cap(void)
{
	char path[PATH_MAX], old[PATH_MAX + 4];
	snprintf(path, sizeof(path), "%s/dl.lp", t_tmpdir());
	snprintf(old, sizeof(old), "%s.1", path);
	struct deadletter d;
	deadletter_init(&d, path, 100); /* one group (61 bytes) stays below, two pass */
	CHECK_INT(deadletter_write(&d, 400, "one", LINES, LENS, 1, T0), ==, 0);
	CHECK_INT(deadletter_write(&d, 400, "two", LINES + 1, LENS + 1, 1, T0), ==, 0);
	CHECK_INT(access(old, F_OK), ==, -1); /* below the cap before the second */
	CHECK_INT(deadletter_write(&d, 400, "three", LINES + 2, LENS + 2, 1, T0), ==, 0);
	check_file(old, "# 2025-10-09T08:53:20Z HTTP 400, 1 line: one\nm,v=leaf a=1i 1\n"
			"# 2025-10-09T08:53:20Z HTTP 400, 1 line: two\nm,v=leaf b=2i 2\n");
	check_file(path, "# 2025-10-09T08:53:20Z HTTP 400, 1 line: three\nm,v=leaf c=3i 3\n");
	/* one previous file only: the next rotation replaces .1 */
	CHECK_INT(deadletter_write(&d, 413, "four", LINES, LENS, 1, T0), ==, 0);
	CHECK_INT(deadletter_write(&d, 413, "five", LINES, LENS, 1, T0), ==, 0);
	char *prev = slurp(old);
	CHECK(prev != NULL && strstr(prev, "three") != NULL && strstr(prev, "one") == NULL);
	free(prev);
	CHECK_INT(d.lines, ==, 5);
	CHECK_INT(d.failed, ==, 0);
}

static void
test_deadletter_counts_what_it_cannot_write(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/no/such/dir/dl.lp", t_tmpdir());
	struct deadletter d;
	deadletter_init(&d, path, 0);
	CHECK_INT(deadletter_write(&d, 400, "gone", LINES, LENS, 3, T0), ==, -1);
	CHECK_INT(d.failed, ==, 3);
	CHECK_INT(d.lines, ==, 0);
	/* a full device: the open succeeds, the write does not */
	if (access("/dev/full", W_OK) != 0) {
		t_skip("no writable /dev/full");
		return;
	}
	deadletter_init(&d, "/dev/full", 0);
	CHECK_INT(deadletter_write(&d, 422, "full", LINES, LENS, 2, T0), ==, -1);
	CHECK_INT(deadletter_write(&d, 422, "full", LINES, LENS, 1, T0), ==, -1);
	CHECK_INT(d.failed, ==, 3);
	CHECK_INT(d.lines, ==, 0);
}

static void
test_deadletter_refuses_a_symlink(void)
{
	char *dir = t_tmpdir();
	char path[PATH_MAX], target[PATH_MAX];
	snprintf(path, sizeof(path), "%s/dl.lp", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	CHECK_INT(symlink(target, path), ==, 0);
	struct deadletter d;
	deadletter_init(&d, path, 0);
	CHECK_INT(deadletter_write(&d, 400, "x", LINES, LENS, 1, T0), ==, -1);
	CHECK_INT(d.failed, ==, 1);
	CHECK_INT(access(target, F_OK), ==, -1);
}

T_MAIN(T(test_deadletter_groups_under_headers), T(test_deadletter_rotates_past_the_cap),
       T(test_deadletter_counts_what_it_cannot_write), T(test_deadletter_refuses_a_symlink))
