/*
 * Sample cutter tests: ticks on frame time, t_ns of the newest frame,
 * only changed published signals, flush, and speed independence.
 */
#include "cutter.h"
#include "t.h"

static struct cutter c;
static struct sample_out out;

static int
feed(int64_t t_ms, unsigned id, double v)
{
	struct sig_update u = {(uint16_t)id, v};
	int r = cutter_frame(&c, t_ms * 1000000LL, &out);

	cutter_add(&c, &u, 1);
	return r;
}

static double
get(unsigned id)
{
	for (size_t i = 0; i < out.n; i++)
		if (out.ids[i] == id)
			return out.values[i];
	return -12345;
}

static void
test_cutter_ticks(void)
{
	cutter_init(&c, 100);
	CHECK_INT(feed(1005, SIG_battery_voltage_v, 380), ==, 0);
	CHECK_INT(feed(1050, SIG_battery_current_a, 10), ==, 0);
	CHECK_INT(feed(1099, SIG_battery_current_a, 12), ==, 0);
	/* 1100 reaches the tick: the sample closes with the newest frame's time */
	CHECK_INT(feed(1100, SIG_battery_current_a, 12), ==, 1);
	CHECK_INT(out.t_ns, ==, 1099000000LL);
	CHECK_INT(out.n, ==, 2);
	CHECK_DBL(get(SIG_battery_current_a), 12, 0);
	CHECK_DBL(get(SIG_battery_voltage_v), 380, 0);
	/* unchanged values are not repeated */
	CHECK_INT(feed(1150, SIG_battery_voltage_v, 380), ==, 0);
	CHECK_INT(feed(1250, SIG_battery_voltage_v, 381), ==, 0); /* 12 unchanged: no sample */
	CHECK_INT(feed(1300, SIG_battery_voltage_v, 381), ==, 1);
	CHECK_INT(out.n, ==, 1);
	CHECK_INT(out.t_ns, ==, 1250000000LL);
	/* provisional signals never appear */
	feed(1310, SIG_motor_temp_c, 30);
	CHECK_INT(cutter_flush(&c, &out), ==, 0);
	/* flush closes an open tick */
	feed(1400, SIG_battery_voltage_v, 382);
	CHECK_INT(cutter_flush(&c, &out), ==, 1);
	CHECK_INT(out.t_ns, ==, 1400000000LL);
	CHECK_INT(cutter_flush(&c, &out), ==, 0);
	/* a new journal generation resends everything */
	cutter_reset_published(&c);
	feed(1500, SIG_battery_voltage_v, 382);
	CHECK_INT(cutter_flush(&c, &out), ==, 1);
}

/* The same frames fed in different batchings (as replay speeds and read
 * sizes would give) make the same samples. */
static void
test_cutter_deterministic(void)
{
	uint64_t sum[2] = {0, 0};
	unsigned n[2] = {0, 0};

	for (int pass = 0; pass < 2; pass++) {
		cutter_init(&c, pass == 0 ? 100 : 100);
		for (int i = 0; i < 5000; i++) {
			int64_t t = 1000 + i * 7 + (i % 3);
			if (feed(t, SIG_battery_current_a, (i / 13) % 50)) {
				n[pass]++;
				sum[pass] += (uint64_t)out.t_ns / 1000 + out.n;
			}
			if (pass == 1 && i % 17 == 0) /* extra no-op frames */
				cutter_frame(&c, t * 1000000LL, &out) ? n[pass]++ : 0;
		}
	}
	CHECK(n[0] > 100);
	CHECK_INT(n[0], ==, n[1]);
	CHECK_INT(sum[0], ==, sum[1]);
}

T_MAIN(T(test_cutter_ticks), T(test_cutter_deterministic))
