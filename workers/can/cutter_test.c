/*
 * Sample cutter tests: ticks on frame time, t_ns of the newest frame,
 * only changed published signals, flush, speed independence, and keyframes
 * (aligned on frame time, only fresh values, invariant under the whole
 * seconds a replay is re-based by).
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
	cutter_init(&c, 100, 0);
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
		cutter_init(&c, 100, 1);
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

static bool
has(unsigned id)
{
	return get(id) != -12345;
}

/* A slow-changing signal is repeated every keyframe period (on multiples of
 * it in frame time), a fast one only when it changes; a signal whose
 * messages stopped is not repeated once it is older than CUTTER_FRESH_NS. */
static void
test_cutter_keyframes(void)
{
	int samples = 0, temp_repeats = 0, qc_repeats = 0;
	int64_t key_t[8] = {0};
	int nkey = 0;

	cutter_init(&c, 100, 60);
	for (int64_t t = 30000; t < 250000; t += 50) {
		int closed = feed(t, SIG_battery_current_a, (double)(t / 100 % 7));
		struct sig_update u[2] = {{SIG_battery_temp_max_c, 21},
					  {SIG_charge_qc_current_a, 40}};
		cutter_add(&c, u, t < 70000 ? 2 : 1); /* the charger stops at 70 s */
		if (!closed)
			continue;
		samples++;
		if (out.keyframe && nkey < 8)
			key_t[nkey++] = out.t_ns;
		temp_repeats += has(SIG_battery_temp_max_c);
		qc_repeats += has(SIG_charge_qc_current_a);
		CHECK(has(SIG_battery_temp_max_c) == (out.keyframe || samples == 1));
	}
	CHECK(samples > 1000);
	/* the ticks from 60, 120, 180 and 240 s (their newest frame is 50 ms
	 * in); the first sample holds every value anyway */
	CHECK_INT(nkey, ==, 4);
	CHECK_INT(key_t[0], ==, 60050 * 1000000LL);
	CHECK_INT(key_t[3], ==, 240050 * 1000000LL);
	CHECK_INT(temp_repeats, ==, 5);
	/* first seen at 30 s, repeated at 60 s; stale by 120 s */
	CHECK_INT(qc_repeats, ==, 2);
	/* a new journal generation: the next keyframe carries every fresh value
	 * again, also those the previous generation had */
	cutter_reset_published(&c);
	int again = 0;
	for (int64_t t = 250000; t < 310000; t += 50) {
		struct sig_update u = {SIG_battery_temp_max_c, 21};
		if (feed(t, SIG_battery_current_a, (double)(t / 100 % 7)) && out.keyframe)
			again += has(SIG_battery_temp_max_c);
		cutter_add(&c, &u, 1);
	}
	CHECK_INT(again, ==, 1);
	/* keyframe_s = 0: never repeated */
	cutter_init(&c, 100, 0);
	temp_repeats = 0;
	for (int64_t t = 0; t < 200000; t += 50) {
		struct sig_update u = {SIG_battery_temp_max_c, 21};
		if (feed(t, SIG_battery_current_a, (double)(t / 100 % 7)))
			temp_repeats += has(SIG_battery_temp_max_c);
		cutter_add(&c, &u, 1);
	}
	CHECK_INT(temp_repeats, ==, 1);
}

/* A replay re-bases the log by a whole number of seconds and tells the
 * cutter by how much: its keyframes then fall at the log-time offsets of
 * `leafmon decode`'s (origin 0), whatever the shift. */
static void
test_cutter_keyframes_follow_a_replays_rebasing(void)
{
	int64_t first[3] = {0, 0, 0};

	for (int pass = 0; pass < 3; pass++) {
		int64_t shift = pass == 0 ? 0 : 1700000005000LL + pass * 37000; /* ms */
		cutter_init(&c, 100, 60);
		cutter_keyframes_from(&c, shift * 1000000LL);
		for (int64_t t = 12340; t < 100000 && first[pass] == 0; t += 50) {
			struct sig_update u = {SIG_battery_temp_max_c, 21};
			if (feed(shift + t, SIG_battery_current_a, (double)(t / 100 % 7)) &&
			    out.keyframe)
				first[pass] = out.t_ns - shift * 1000000LL;
			cutter_add(&c, &u, 1);
		}
	}
	CHECK_INT(first[0], ==, 60090 * 1000000LL); /* the tick from 60 s; frames at 40 and 90 ms */
	CHECK_INT(first[1], ==, first[0]);
	CHECK_INT(first[2], ==, first[0]);
}

T_MAIN(T(test_cutter_ticks), T(test_cutter_deterministic), T(test_cutter_keyframes),
       T(test_cutter_keyframes_follow_a_replays_rebasing))
