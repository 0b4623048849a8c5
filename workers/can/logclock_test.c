/*
 * The bus clock of untimed logs: synthetic buses (hand-built id sequences
 * with the periods of LEAF-CAN.md), which tick is chosen, the times it
 * gives, a tick that stops, buses without a 10 ms frame or without any
 * known period, and a log shorter than the look-ahead.
 */
#include <stdlib.h>

#include "logclock.h"
#include "t.h"
#include "util.h"

#define MS 1000000LL

struct run {
	struct can_rec *out;
	size_t n, cap;
};

static void
take(struct logclock *c, struct run *r)
{
	struct can_rec f;

	while (logclock_pop(c, &f) > 0) {
		CHECK(r->n < r->cap);
		r->out[r->n++] = f;
	}
}

/* Feed ids[] through a clock as a reader does; the frames with their times. */
static struct run
clock_run(const uint32_t *ids, size_t n, int64_t start, char *how, size_t howlen)
{
	struct logclock c;
	struct run r = {calloc(n + 1, sizeof(struct can_rec)), 0, n + 1};
	struct can_rec f = {0};

	CHECK(r.out != NULL);
	logclock_init(&c, start);
	for (size_t i = 0; i < n; i++) {
		take(&c, &r);
		f.id = ids[i];
		f.len = 8;
		f.data[0] = (uint8_t)i;
		CHECK_INT(logclock_push(&c, &f), ==, 0); /* never full when popped first */
	}
	logclock_end(&c);
	take(&c, &r);
	CHECK_INT(r.n, ==, n);
	for (size_t i = 0; i < r.n; i++) {
		CHECK_INT(r.out[i].id, ==, ids[i]); /* in order, none lost */
		CHECK_INT(r.out[i].data[0], ==, (uint8_t)i);
		if (i > 0)
			CHECK(r.out[i].t_ns >= r.out[i - 1].t_ns);
	}
	CHECK_INT(r.out[0].t_ns, ==, start);
	logclock_describe(&c, how, howlen);
	logclock_free(&c);
	return r;
}

struct bus {
	uint32_t *ids;
	size_t n, cap;
};

static void
add(struct bus *b, uint32_t id)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->ids = realloc(b->ids, b->cap * sizeof(*b->ids));
		CHECK(b->ids != NULL);
	}
	b->ids[b->n++] = id;
}

/* EV-CAN of a car that is on: per 10 ms the 10 ms frames, every 20 ms
 * 0x284, every 100 ms a burst. 0x1DB always ends the cycle; the other 10 ms
 * frames take turns (their gaps jitter by a few frames), so 0x1DB is the
 * most regular. */
static void
ev_cycle(struct bus *b, int k, bool with_1db)
{
	static const uint32_t ten[] = {0x1DC, 0x1D4, 0x1DA, 0x11A};
	static const uint32_t hundred[] = {0x55B, 0x5BC, 0x54C, 0x54B, 0x390, 0x393, 0x55A};

	add(b, 0x1F2);
	for (size_t i = 0; i < ARRAY_LEN(ten); i++)
		add(b, ten[(i + (size_t)k) % ARRAY_LEN(ten)]);
	if (k % 2 == 0)
		add(b, 0x284);
	if (k % 10 == 3)
		for (size_t i = 0; i < ARRAY_LEN(hundred); i++)
			add(b, hundred[i]);
	if (k % 7 == 0)
		add(b, 0x7BB); /* another tester's replies: no period */
	if (with_1db)
		add(b, 0x1DB);
}

static void
test_logclock_ev_bus_ticks_every_10ms(void)
{
	struct bus b = {0};
	char how[128];

	for (int k = 0; k < 1000; k++)
		ev_cycle(&b, k, true);
	struct run r = clock_run(b.ids, b.n, 5 * MS, how, sizeof(how));
	CHECK_STR(how, "0x1DB every 10 ms, 1000 ticks");
	int64_t k = 0, first = -1;
	for (size_t i = 0; i < r.n; i++)
		if (r.out[i].id == 0x1DB) {
			if (first < 0)
				first = r.out[i].t_ns;
			CHECK_INT(r.out[i].t_ns, ==, first + k * 10 * MS);
			k++;
		}
	/* 1000 cycles: the car's 10 s, not 10 ms per frame (7,700 frames: 77 s) */
	CHECK(r.out[r.n - 1].t_ns - r.out[0].t_ns > 9990 * MS);
	CHECK(r.out[r.n - 1].t_ns - r.out[0].t_ns < 10010 * MS);
	free(r.out);
	free(b.ids);
}

static void
test_logclock_tick_that_stops(void)
{
	struct bus b = {0};
	char how[128];

	/* 0x1DB (the tick) goes away half way; the other frames go on, and the
	 * clock takes another of them */
	for (int k = 0; k < 1000; k++)
		ev_cycle(&b, k, k < 500);
	struct run r = clock_run(b.ids, b.n, 0, how, sizeof(how));
	CHECK(strstr(how, "every 10 ms") != NULL);
	CHECK(strstr(how, "chosen again 1 times") != NULL);
	int64_t span = r.out[r.n - 1].t_ns - r.out[0].t_ns;
	CHECK(span > 9950 * MS && span < 10050 * MS);
	free(r.out);
	free(b.ids);
}

static void
test_logclock_car_can_known_periods(void)
{
	struct bus b = {0};
	char how[128];

	/* Car-CAN without 10 ms frames: 0x284 and 0x292 every 20 ms, 0x5C5 and
	 * 0x60D every 100 ms, 0x355 every 40 ms */
	for (int k = 0; k < 500; k++) {
		add(&b, 0x284);
		add(&b, 0x292);
		if (k % 2 == 1)
			add(&b, 0x355);
		if (k % 5 == 2) {
			add(&b, 0x5C5);
			add(&b, 0x60D);
		}
	}
	struct run r = clock_run(b.ids, b.n, 0, how, sizeof(how));
	/* 0x5C5's gaps are the most regular here: 100 ticks of 100 ms */
	CHECK_STR(how, "0x5C5 every 100 ms (no 10 ms frame), 100 ticks");
	int64_t span = r.out[r.n - 1].t_ns - r.out[0].t_ns;
	CHECK(span > 9900 * MS && span < 10100 * MS); /* 500 x 20 ms */
	free(r.out);
	free(b.ids);
}

static void
test_logclock_no_known_period(void)
{
	uint32_t ids[300];
	char how[128];

	for (size_t i = 0; i < ARRAY_LEN(ids); i++)
		ids[i] = 0x700 + (uint32_t)(i % 5);
	struct run r = clock_run(ids, ARRAY_LEN(ids), 1000, how, sizeof(how));
	CHECK(strstr(how, "10 ms per frame") != NULL);
	CHECK_INT(r.out[299].t_ns, ==, 1000 + 299 * 10 * MS);
	free(r.out);
}

static void
test_logclock_short_log(void)
{
	struct bus b = {0};
	char how[128];

	/* 20 cycles: fewer frames than the look-ahead; all come out at the end */
	for (int k = 0; k < 20; k++)
		ev_cycle(&b, k, true);
	struct run r = clock_run(b.ids, b.n, 0, how, sizeof(how));
	CHECK(strstr(how, "20 ticks") != NULL);
	CHECK(r.out[r.n - 1].t_ns <= 200 * MS);
	free(r.out);
	free(b.ids);
}

T_MAIN(T(test_logclock_ev_bus_ticks_every_10ms), T(test_logclock_tick_that_stops),
       T(test_logclock_car_can_known_periods), T(test_logclock_no_known_period),
       T(test_logclock_short_log))
