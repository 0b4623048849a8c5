/*
 * Pacing: no window ever carries more than the limit, a long backlog drains
 * at 90 % of it, waits are exact, a body larger than the burst still goes.
 */
#include <stdlib.h>

#include "pace.h"
#include "t.h"
#include "util.h"

#define SEC NSEC_PER_SEC

struct sent {
	int64_t t;
	size_t bytes;
};

/* The most bytes any window [t, t + window) holds (windows start at sends). */
static uint64_t
max_in_window(const struct sent *s, size_t n, int64_t window)
{
	uint64_t best = 0, sum = 0;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		while (j < n && s[j].t < s[i].t + window)
			sum += s[j++].bytes;
		if (sum > best)
			best = sum;
		sum -= s[i].bytes;
	}
	return best;
}

/* A backlog sent as fast as the pacer allows, bodies of random size. */
static void
test_pace_never_exceeds_and_drains_at_90_percent(void)
{
	static struct sent s[200000];
	struct pace p;
	int64_t window = 300 * SEC, now = 1000 * SEC, t0 = now;
	size_t n = 0;
	uint64_t total = 0;
	pace_init(&p, 5000000, window, now);
	CHECK_INT(pace_burst(&p), ==, 500000);
	srand(7);
	while (now - t0 < 3 * 3600 * SEC && n < 200000) {
		size_t body = 1000 + (size_t)(rand() % (int)(pace_burst(&p) - 1000));
		int64_t w;
		while ((w = pace_take(&p, body, now)) > 0)
			now += w; /* the timer fires exactly then */
		s[n++] = (struct sent){now, body};
		total += body;
		now += rand() % 3 == 0 ? 0 : (rand() % 200) * NSEC_PER_MSEC; /* the request */
	}
	CHECK_INT(max_in_window(s, n, window), <=, 5000000);
	double rate = (double)total / ((double)(now - t0) / SEC);
	CHECK_DBL(rate / (0.9 * 5000000 / 300), 1.0, 0.02);
	CHECK_DBL(pace_rate(&p), 15000, 1e-6);
}

static void
test_pace_waits_exactly_until_the_tokens_are_there(void)
{
	struct pace p;
	pace_init(&p, 10000, 10 * SEC, 0); /* C 1000, 900 bytes/s */
	CHECK_INT(pace_take(&p, 1000, 0), ==, 0);
	int64_t w = pace_take(&p, 450, 0);
	CHECK_INT(w, ==, SEC / 2);
	CHECK(pace_take(&p, 450, w - 1000) > 0);
	CHECK_INT(pace_take(&p, 450, w), ==, 0);
	CHECK_INT(p.waits, ==, 2);
	CHECK_INT(p.passed, ==, 1450);
}

static void
test_pace_oversized_body_goes_from_a_full_bucket(void)
{
	struct pace p;
	pace_init(&p, 10000, 10 * SEC, 0);
	CHECK_INT(pace_take(&p, 5000, 0), ==, 0); /* full: goes, into debt */
	int64_t w = pace_take(&p, 5000, 0);
	CHECK_INT(w, ==, (int64_t)((5000.0 / 900) * SEC) + 1); /* back to full first */
	CHECK_INT(pace_take(&p, 5000, w), ==, 0);
}

T_MAIN(T(test_pace_never_exceeds_and_drains_at_90_percent),
       T(test_pace_waits_exactly_until_the_tokens_are_there),
       T(test_pace_oversized_body_goes_from_a_full_bucket))
