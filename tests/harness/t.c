/*
 * The unit-test harness. Output: one line per test (ok / FAIL / skip) and a
 * summary; exit 0 when nothing failed, 77 when everything skipped, else 1.
 */
#include "t.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static jmp_buf t_jmp;
static int t_failed_now, t_skipped_now;
static char t_reason[1024];
static char *t_dirs[64];
static int t_ndirs;

void
t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(t_reason, sizeof(t_reason), "%s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(t_reason + n, sizeof(t_reason) - (size_t)n, fmt, ap);
	va_end(ap);
	t_failed_now = 1;
	longjmp(t_jmp, 1);
}

void
t_skip(const char *why)
{
	snprintf(t_reason, sizeof(t_reason), "%s", why);
	t_skipped_now = 1;
	longjmp(t_jmp, 1);
}

const char *
t_data(const char *rel)
{
	static char path[4][1024];
	static int which;
	const char *dir = getenv("LEAFMON_DATA");
	if (dir == NULL)
		dir = "../shared/data/leaf";
	char *p = path[which++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", dir, rel);
	if (access(p, R_OK) != 0) {
		char why[1200];
		snprintf(why, sizeof(why), "real log %s absent (set LEAFMON_DATA to ../shared/data/leaf)",
			 p);
		t_skip(why);
	}
	return p;
}

const char *
t_src(const char *rel)
{
	static char path[4][1024];
	static int which;
	const char *dir = getenv("LEAFMON_SRC");
	char *p = path[which++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", dir ? dir : ".", rel);
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
t_cleanup(void)
{
	for (int i = 0; i < t_ndirs; i++) {
		if (getenv("LEAFMON_KEEP_TMP") == NULL)
			nftw(t_dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(t_dirs[i]);
	}
}

char *
t_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/leafmon-test-XXXXXX", base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	if (d == NULL || t_ndirs >= 64)
		t_fail(__FILE__, __LINE__, "mkdtemp failed");
	if (t_ndirs == 0)
		atexit(t_cleanup);
	t_dirs[t_ndirs] = strdup(d);
	return t_dirs[t_ndirs++];
}

bool
t_under_valgrind(void)
{
	return getenv("LEAFMON_UNDER_VALGRIND") != NULL;
}

/* setjmp lives here so that t_main's counters are never clobbered */
static void
t_run_one(const struct t_case *c)
{
	t_failed_now = t_skipped_now = 0;
	t_reason[0] = '\0';
	if (setjmp(t_jmp) == 0)
		c->fn();
}

int
t_main(int argc, char **argv, const struct t_case *cases, size_t n)
{
	int failed = 0, skipped = 0, ran = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		if (only != NULL && strstr(cases[i].name, only) == NULL)
			continue;
		ran++;
		t_run_one(&cases[i]);
		if (t_failed_now) {
			printf("FAIL %s: %s\n", cases[i].name, t_reason);
			failed++;
		} else if (t_skipped_now) {
			printf("skip %s: %s\n", cases[i].name, t_reason);
			skipped++;
		} else {
			printf("ok   %s\n", cases[i].name);
		}
	}
	printf("%d tests, %d failed, %d skipped\n", ran, failed, skipped);
	if (failed)
		return 1;
	return (ran > 0 && skipped == ran) ? 77 : 0;
}
