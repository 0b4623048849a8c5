/* The history grid's fill(previous) up to staleness: values carried into
 * empty buckets from the seed and from earlier rows, stopped by the age
 * limit (InfluxDB), by rows without the live mark (the ring) and at now. */
#include <math.h>

#include "hgrid.h"
#include "t.h"

#define T0 1699999200000LL /* ms, a multiple of 600 s */

/* n rows of step_s seconds from T0 over the given signals */
static void
grid(struct hgrid *g, const char *names, size_t n, int64_t step_s)
{
	const struct sig_info *s[WPARAM_MAX_SIGNALS];
	struct wparam_err e;
	int k;
	if (wparam_signals(names, s, WPARAM_MAX_SIGNALS, &k, &e) < 0)
		t_fail(__FILE__, __LINE__, "%s", e.msg);
	struct wrange r = {.from_ms = T0, .t0_ms = T0, .step_ms = step_s * 1000, .nrows = n};
	r.to_ms = T0 + (int64_t)n * r.step_ms;
	if (hgrid_init(g, &r, s, k) < 0)
		t_fail(__FILE__, __LINE__, "grid");
}

static double
cell(const struct hgrid *g, size_t row, int col)
{
	return g->v[row * (size_t)g->nsig + (size_t)col];
}

static void
test_hgrid_carries_values_up_to_the_age_limit(void)
{
	struct hgrid g;
	grid(&g, "battery_temp_avg_c,vehicle_speed_kmh", 10, 30);
	g.carry_ms = 90 * 1000; /* three buckets */
	hgrid_set(&g, T0, 0, 20.5);
	hgrid_set(&g, T0 + 5 * 30000, 0, 21);
	hgrid_set(&g, T0 + 30000, 1, 50);
	hgrid_fill_previous(&g, T0 + 3600 * 1000);
	/* 20.5 in rows 0..3 (row 3 starts 90 s after row 0), none in 4, 21 from row 5 */
	for (size_t r = 0; r < 4; r++)
		CHECK_DBL(cell(&g, r, 0), 20.5, 0);
	CHECK(isnan(cell(&g, 4, 0)));
	for (size_t r = 5; r < 9; r++)
		CHECK_DBL(cell(&g, r, 0), 21, 0);
	CHECK(isnan(cell(&g, 9, 0)));
	CHECK(isnan(cell(&g, 0, 1))); /* nothing before the first value */
	CHECK_DBL(cell(&g, 4, 1), 50, 0);
	CHECK(isnan(cell(&g, 5, 1)));
	CHECK_INT(g.carried, ==, 3 + 3 + 3);
	CHECK_INT(hgrid_points(&g), ==, 9);
	hgrid_free(&g);
}

static void
test_hgrid_seed_and_never_beyond_now(void)
{
	struct hgrid g;
	grid(&g, "climate_ambient_c", 6, 60);
	g.carry_ms = 150 * 1000;
	CHECK_INT(hgrid_lead_rows(&g), ==, 3);
	hgrid_set(&g, T0 - 180000, 0, 9); /* lead rows: the newest becomes the seed */
	hgrid_set(&g, T0 - 60000, 0, 12.5);
	hgrid_set(&g, T0 - 120000, 0, 11);
	hgrid_set(&g, T0 - 45000, 0, 1); /* off the step: rejected */
	CHECK_INT(g.rejected, ==, 1);
	CHECK_DBL(g.seed[0], 12.5, 0);
	hgrid_fill_previous(&g, T0 + 60000); /* "now" is the start of row 1 */
	CHECK_DBL(cell(&g, 0, 0), 12.5, 0);
	CHECK_DBL(cell(&g, 1, 0), 12.5, 0);
	CHECK(isnan(cell(&g, 2, 0)));
	hgrid_free(&g);

	/* buckets longer than the age limit never carry, and need no lead */
	grid(&g, "climate_ambient_c", 3, 300);
	g.carry_ms = 150 * 1000;
	CHECK_INT(hgrid_lead_rows(&g), ==, 0);
	hgrid_set(&g, T0, 0, 10);
	hgrid_fill_previous(&g, T0 + 3600 * 1000);
	CHECK(isnan(cell(&g, 1, 0)));
	hgrid_free(&g);
}

static void
test_hgrid_live_marks_end_a_carry(void)
{
	struct hgrid g;
	grid(&g, "battery_soc_pct,charge_active", 8, 1);
	g.live_known = true;
	static const uint8_t live[8] = {1, 1, 1, 0, 0, 1, 1, 1};
	memcpy(g.live, live, sizeof(live));
	g.seed[1] = 1;
	hgrid_set(&g, T0 + 1000, 0, 80);
	hgrid_set(&g, T0 + 3000, 1, 0); /* a value where no samples flowed */
	hgrid_fill_previous(&g, T0 + 60000);
	CHECK(isnan(cell(&g, 0, 0)));
	CHECK_DBL(cell(&g, 2, 0), 80, 0);
	for (size_t r = 3; r < 8; r++) /* the stale stretch ends it for good */
		CHECK(isnan(cell(&g, r, 0)));
	CHECK_DBL(cell(&g, 0, 1), 1, 0); /* the seed */
	CHECK_DBL(cell(&g, 2, 1), 1, 0);
	CHECK_DBL(cell(&g, 3, 1), 0, 0);
	CHECK(isnan(cell(&g, 4, 1)));
	CHECK(isnan(cell(&g, 5, 1)));

	hgrid_clear(&g); /* a failed source leaves nothing */
	CHECK(!g.live_known && isnan(g.seed[1]) && hgrid_points(&g) == 0);
	hgrid_free(&g);
}

T_MAIN(T(test_hgrid_carries_values_up_to_the_age_limit), T(test_hgrid_seed_and_never_beyond_now),
       T(test_hgrid_live_marks_end_a_carry))
