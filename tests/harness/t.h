/*
 * A small unit-test harness: TEST functions run by t_main(); a failed CHECK
 * ends the current test (longjmp) and the run continues with the next.
 * A test that needs the real logs calls T_NEED_DATA(), which skips it with a
 * clear message when ../shared/data/leaf is absent; a binary whose tests all
 * skipped exits 77, which CTest reports as "Skipped".
 */
#ifndef LEAFMON_T_H
#define LEAFMON_T_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void t_skip(const char *why);
int t_main(int argc, char **argv, const struct t_case *cases, size_t n);
/* Path to a file under the real-log data dir, or NULL (and skip) if absent. */
const char *t_data(const char *rel);
const char *t_src(const char *rel); /* a file in the source tree */
char *t_tmpdir(void);		    /* fresh directory, removed at exit */
bool t_under_valgrind(void);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			t_fail(__FILE__, __LINE__, "%s", #c);                                      \
	} while (0)
#define CHECK_INT(a, op, b)                                                                        \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (!(a_ op b_))                                                                   \
			t_fail(__FILE__, __LINE__, "%s %s %s (%lld vs %lld)", #a, #op, #b, a_, b_);\
	} while (0)
#define CHECK_DBL(a, b, eps)                                                                       \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                                       \
			t_fail(__FILE__, __LINE__, "%s == %s (%.9g vs %.9g)", #a, #b, a_, b_);     \
	} while (0)
#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                               \
			t_fail(__FILE__, __LINE__, "%s == %s (\"%s\" vs \"%s\")", #a, #b,          \
			       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                            \
	} while (0)

#define T(fn) {#fn, fn}
#define T_MAIN(...)                                                                                \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		static const struct t_case cases_[] = {__VA_ARGS__};                               \
		return t_main(argc, argv, cases_, sizeof(cases_) / sizeof(cases_[0]));             \
	}

#endif
