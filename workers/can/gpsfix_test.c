/*
 * GPS reports into position signals: only with a fix, at most once a
 * second, the loss of a fix said once, implausible coordinates refused.
 */
#include <math.h>
#include <string.h>

#include "gpsfix.h"
#include "signals.h"
#include "t.h"

#define MS(x) ((int64_t)(x)*1000000LL)

static const struct gps_report fix3d = {3, 48.1372, 11.5756, 519.0, 13.9, 271.5};

static double
value_of(const struct sig_update *u, size_t n, unsigned id)
{
	for (size_t i = 0; i < n; i++)
		if (u[i].id == id)
			return u[i].value;
	return NAN;
}

static void
test_gpsfix_values_and_units(void)
{
	struct gps_pub p = {0};
	struct sig_update u[GPS_MAX_UPDATES];
	size_t n = gps_pub_report(&p, &fix3d, MS(1000), u);

	CHECK_INT((long)n, ==, 6);
	CHECK_DBL(value_of(u, n, SIG_position_lat_deg), 48.1372, 1e-9);
	CHECK_DBL(value_of(u, n, SIG_position_lon_deg), 11.5756, 1e-9);
	CHECK_DBL(value_of(u, n, SIG_position_alt_m), 519.0, 1e-9);
	CHECK_DBL(value_of(u, n, SIG_position_speed_kmh), 13.9 * 3.6, 1e-9);
	CHECK_DBL(value_of(u, n, SIG_position_heading_deg), 271.5, 1e-9);
	CHECK_DBL(value_of(u, n, SIG_position_fix), 2, 0); /* "3d" */
	/* a 2D fix: no altitude; a fix without speed or track: just the rest */
	struct gps_report r = {2, 48.2, 11.6, 500, NAN, NAN};
	n = gps_pub_report(&p, &r, MS(2000), u);
	CHECK_INT((long)n, ==, 3);
	CHECK(isnan(value_of(u, n, SIG_position_alt_m)));
	CHECK_DBL(value_of(u, n, SIG_position_fix), 1, 0); /* "2d" */
}

static void
test_gpsfix_at_most_once_a_second(void)
{
	struct gps_pub p = {0};
	struct sig_update u[GPS_MAX_UPDATES];
	int out = 0;

	for (int ms = 0; ms < 10000; ms += 200) /* a 5 Hz receiver */
		out += gps_pub_report(&p, &fix3d, MS(1000 + ms), u) > 0;
	CHECK_INT(out, ==, 10);
	CHECK_INT((long)p.fixes, ==, 50);
	CHECK_INT((long)p.published, ==, 10);
}

static void
test_gpsfix_nothing_without_a_fix(void)
{
	struct gps_pub p = {0};
	struct sig_update u[GPS_MAX_UPDATES];
	struct gps_report none = {1, NAN, NAN, NAN, NAN, NAN};
	struct gps_report bad = {3, 123.0, 11.0, 0, 0, 0}; /* latitude beyond the pole */

	for (int i = 0; i < 5; i++)
		CHECK_INT((long)gps_pub_report(&p, &none, MS(1000 * i), u), ==, 0);
	CHECK_INT((long)gps_pub_report(&p, &bad, MS(6000), u), ==, 0);
	CHECK_INT((long)p.no_fix, ==, 6);
	CHECK(gps_pub_report(&p, &fix3d, MS(7000), u) > 0);
	/* the fix is lost: said once, then silence */
	CHECK_INT((long)gps_pub_report(&p, &none, MS(7100), u), ==, 1);
	CHECK(u[0].id == SIG_position_fix && u[0].value == 0);
	CHECK_INT((long)gps_pub_report(&p, &none, MS(9000), u), ==, 0);
	/* and back: at once, not a second later */
	CHECK(gps_pub_report(&p, &fix3d, MS(9100), u) > 0);
}

T_MAIN(T(test_gpsfix_values_and_units), T(test_gpsfix_at_most_once_a_second),
       T(test_gpsfix_nothing_without_a_fix))
