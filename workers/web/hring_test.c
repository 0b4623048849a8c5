/* The history ring: means per bucket, last value for bools and enums, the
 * fine and coarse tiers, slots reused after wrapping, no ring at 0 h, and
 * the live marks that let a value that did not change fill the chart up to
 * where samples stopped or the bus fell asleep. */
#include <math.h>

#include "hring.h"
#include "t.h"

#define T0 1699999200000LL /* ms, a multiple of 600 s */

static void
grid(struct hgrid *g, const char *names, int64_t from_ms, int64_t to_ms, int64_t step_s)
{
	const struct sig_info *s[WPARAM_MAX_SIGNALS];
	struct wparam_err e;
	int n;
	if (wparam_signals(names, s, WPARAM_MAX_SIGNALS, &n, &e) < 0)
		t_fail(__FILE__, __LINE__, "%s", e.msg);
	struct wrange r = {.from_ms = from_ms, .to_ms = to_ms, .step_ms = step_s * 1000};
	r.t0_ms = from_ms - from_ms % r.step_ms;
	r.nrows = (size_t)((to_ms - r.t0_ms + r.step_ms - 1) / r.step_ms);
	if (hgrid_init(g, &r, s, n) < 0)
		t_fail(__FILE__, __LINE__, "grid");
}

static void
test_hring_means_and_last_values(void)
{
	struct hring r;
	struct hgrid g;
	CHECK_INT(hring_init(&r, 24), ==, 0);
	/* two minutes of samples every 100 ms: speed ramps, gear flips at 60 s */
	for (int i = 0; i < 1200; i++) {
		int64_t t = T0 + i * 100;
		hring_add(&r, t, SIG_vehicle_speed_kmh, i < 600 ? 10 : 30);
		if (i == 0)
			hring_add(&r, t, SIG_vehicle_gear, 3);
		if (i == 600)
			hring_add(&r, t, SIG_vehicle_gear, 4);
	}
	hring_add(&r, T0, 999, 1);			  /* an id past the table: ignored */
	hring_add(&r, T0, SIG_battery_soc_pct, NAN);	  /* not a number: ignored */
	hring_add(&r, T0, SIG_motor_temp_c, 40);	  /* provisional: not kept */
	grid(&g, "vehicle_speed_kmh,vehicle_gear", T0, T0 + 120000, 60);
	CHECK_INT(hring_query(&r, &g), ==, 120); /* 1 s buckets from the fine tier */
	CHECK_INT(g.r.nrows, ==, 2);
	CHECK_DBL(g.v[0], 10, 1e-6);
	CHECK_DBL(g.v[1], 3, 1e-9);
	CHECK_DBL(g.v[2], 30, 1e-6);
	CHECK_DBL(g.v[3], 4, 1e-9);
	hgrid_free(&g);

	/* one 120 s bucket: the mean of both halves, the last gear */
	grid(&g, "vehicle_speed_kmh,vehicle_gear", T0, T0 + 120000, 120);
	hring_query(&r, &g);
	CHECK_DBL(g.v[0], 20, 1e-4);
	CHECK_DBL(g.v[1], 4, 1e-9);
	hgrid_free(&g);
	CHECK(hring_bytes(&r) > 0);
	hring_free(&r);
}

static void
test_hring_coarse_tier_and_wrap(void)
{
	struct hring r;
	struct hgrid g;
	CHECK_INT(hring_init(&r, 2), ==, 0); /* 1 h fine, 2 h coarse (10 s buckets) */
	for (int64_t s = 0; s < 3 * 3600; s += 5)
		hring_add(&r, T0 + s * 1000, SIG_battery_soc_pct, (double)s);
	/* the first hour fell out of both tiers; the second is only coarse */
	grid(&g, "battery_soc_pct", T0 + 3600 * 1000, T0 + 7200 * 1000, 600);
	CHECK(hring_query(&r, &g) > 0);
	CHECK_DBL(g.v[0], 3600 + 300 - 2.5, 1e-3); /* mean of 3600..4195 */
	hgrid_free(&g);
	grid(&g, "battery_soc_pct", T0, T0 + 1800 * 1000, 600);
	hring_query(&r, &g);
	CHECK_INT(hgrid_points(&g), ==, 0);
	hgrid_free(&g);
	/* a sample older than every slot it could use is counted, not stored */
	hring_add(&r, T0, SIG_battery_soc_pct, 1);
	CHECK_INT(r.too_old, ==, 1);
	hring_free(&r);
}

static void
test_hring_short_history_uses_the_fine_tier(void)
{
	struct hring r;
	struct hgrid g;
	CHECK_INT(hring_init(&r, 24), ==, 0);
	for (int i = 0; i < 30; i++) /* half a minute of data, then "the last hour" */
		hring_add(&r, T0 + 3600 * 1000 - 30000 + i * 1000, SIG_vehicle_speed_kmh, i);
	grid(&g, "vehicle_speed_kmh", T0 + 1000, T0 + 3600 * 1000 + 1000, 3);
	hring_query(&r, &g);
	CHECK_INT(hgrid_points(&g), ==, 10); /* 3 s rows, not the coarse tier's 20 s */
	hgrid_free(&g);
	hring_free(&r);
}

static void
test_hring_disabled(void)
{
	struct hring r;
	struct hgrid g;
	CHECK_INT(hring_init(&r, 0), ==, 0);
	hring_add(&r, T0, SIG_battery_soc_pct, 50);
	grid(&g, "battery_soc_pct", T0, T0 + 60000, 60);
	CHECK_INT(hring_query(&r, &g), ==, -1);
	hgrid_free(&g);
	hring_free(&r);
}

/* A pack temperature sent once, then ten minutes of samples (the CAN
 * counter once a second), a 20 s silence, more samples, the bus asleep for
 * a minute (its rate still reported every second), awake again. */
static void
drive(struct hring *r)
{
	hring_add(r, T0 + 500, SIG_battery_temp_avg_c, 21.5);
	for (int s = 0; s < 600; s++)
		hring_add(r, T0 + s * 1000 + 500, SIG_can_frames_total, s);
	for (int s = 620; s < 700; s++)
		hring_add(r, T0 + s * 1000 + 500, SIG_can_frames_total, s);
	hring_add(r, T0 + 700 * 1000, SIG_can_bus_asleep, 1);
	for (int s = 700; s < 760; s++)
		hring_add(r, T0 + s * 1000 + 500, SIG_can_frames_per_s, 0);
	hring_add(r, T0 + 760 * 1000 + 500, SIG_can_bus_asleep, 0);
	for (int s = 760; s < 800; s++)
		hring_add(r, T0 + s * 1000 + 500, SIG_can_frames_total, s);
}

static void
test_hring_live_marks_carry_an_unchanged_value(void)
{
	struct hring r;
	struct hgrid g;
	CHECK_INT(hring_init(&r, 24), ==, 0);
	drive(&r);
	grid(&g, "battery_temp_avg_c", T0, T0 + 800 * 1000, 10);
	CHECK(hring_query(&r, &g) > 0);
	CHECK(g.live_known);
	hgrid_fill_previous(&g, T0 + 800 * 1000);
	for (size_t row = 0; row < 60; row++) /* 0..600 s: one value, a whole line */
		CHECK_DBL(g.v[row], 21.5, 1e-6);
	CHECK(isnan(g.v[60])); /* 600..610 s: no samples: stale, and it stays so */
	CHECK(isnan(g.v[65]));
	CHECK_INT(hgrid_points(&g), ==, 60);
	hgrid_free(&g);

	/* a range that starts after the value: the seed carries it in */
	grid(&g, "battery_temp_avg_c,can_bus_asleep", T0 + 300 * 1000, T0 + 400 * 1000, 5);
	hring_query(&r, &g);
	CHECK_DBL(g.seed[0], 21.5, 1e-6);
	hgrid_fill_previous(&g, T0 + 800 * 1000);
	CHECK_INT(hgrid_points(&g), ==, 20);
	hgrid_free(&g);

	/* after the silence the old value is not seeded; a sleeping bus is stale */
	grid(&g, "battery_temp_avg_c,can_frames_total", T0 + 640 * 1000, T0 + 800 * 1000, 10);
	hring_query(&r, &g);
	CHECK(isnan(g.seed[0]) && !isnan(g.seed[1]));
	hgrid_fill_previous(&g, T0 + 800 * 1000);
	for (size_t row = 0; row < g.r.nrows; row++)
		CHECK(isnan(g.v[row * 2]));
	CHECK_DBL(g.v[5 * 2 + 1], 694.5, 1e-3); /* 690..700 s: the mean */
	CHECK_DBL(g.v[6 * 2 + 1], 694.5, 1e-3); /* 700..710: carried to the asleep sample */
	CHECK(isnan(g.v[7 * 2 + 1]));		/* asleep: samples, but nothing live */
	CHECK(isnan(g.v[11 * 2 + 1]));
	CHECK_DBL(g.v[12 * 2 + 1], 764.5, 1e-3); /* awake */
	hgrid_free(&g);
	hring_free(&r);
}

T_MAIN(T(test_hring_means_and_last_values), T(test_hring_coarse_tier_and_wrap),
       T(test_hring_short_history_uses_the_fine_tier), T(test_hring_disabled),
       T(test_hring_live_marks_carry_an_unchanged_value))
