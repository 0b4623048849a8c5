/* The history ring: means per bucket, last value for bools and enums, the
 * fine and coarse tiers, slots reused after wrapping, and no ring at 0 h. */
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

T_MAIN(T(test_hring_means_and_last_values), T(test_hring_coarse_tier_and_wrap),
       T(test_hring_short_history_uses_the_fine_tier),
       T(test_hring_disabled))
