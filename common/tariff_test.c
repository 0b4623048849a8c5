/*
 * Tariff windows: the syntax and its errors, a window crossing midnight
 * (it belongs to the day it begins on), the first window winning, a day
 * range over the weekend, and the prices across a DST change (TZ set here).
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "t.h"
#include "tariff.h"

/* Unix ns of a local wall-clock time in the current TZ. */
static int64_t
local_ns(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_isdst = -1};
	return (int64_t)mktime(&tm) * 1000000000LL;
}

static double
price(const struct tariff *t, int64_t ns)
{
	double p;
	int64_t until;

	return tariff_price_at(t, ns, &p, &until) == 0 ? p : -1;
}

static void
test_tariff_syntax_errors(void)
{
	static const char *const bad[] = {
	    "mon-fri 23:00-07:00",   "moon 0.1",
	    "mon-fri 7:00-9:00 0.1", "mon 25:00-26:00 0.1",
	    "mon 10:00-10:00 0.1",   "mon 10:00-11:00 -1",
	    "mon 10:00-11:00 abc",   "mon, 0.1",
	    "mon 10:00-11:00 0.1 x", "mon 0.1; sun 0.2",
	    "mon 24:00-01:00 0.1",   "mon 10:60-11:00 0.1",
	};
	struct tariff t;
	char err[200];

	tariff_init(&t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (tariff_parse_tou(&t, bad[i], err, sizeof(err)) == 0)
			t_fail(__FILE__, __LINE__, "'%s' was accepted", bad[i]);
		CHECK(err[0] != '\0');
	}
	CHECK_INT(tariff_parse_tou(&t, "", err, sizeof(err)), ==, 0);
	CHECK_INT(t.nwin, ==, 0);
	CHECK_INT(
	    tariff_parse_tou(&t, " mon-fri 23:00-07:00 0.12 | sat,sun 0.15 |", err, sizeof(err)),
	    ==, 0);
	CHECK_INT(t.nwin, ==, 2);
	CHECK_INT(t.win[0].days, ==, 0x3E);
	CHECK_INT(t.win[0].start_min, ==, 23 * 60);
	CHECK_INT(t.win[0].end_min, ==, 7 * 60);
	CHECK_INT(t.win[1].days, ==, 0x41);
	CHECK_INT(t.win[1].end_min, ==, 24 * 60);
	CHECK_INT(tariff_parse_tou(&t, "fri-mon 22:00-00:00 0.1", err, sizeof(err)), ==, 0);
	CHECK_INT(t.win[0].days, ==, 0x63); /* fri sat sun mon: bits 5 6 0 1 */
	CHECK_INT(t.win[0].end_min, ==, 24 * 60);
}

static void
test_tariff_window_crosses_midnight(void)
{
	struct tariff t;
	char err[200];

	setenv("TZ", "UTC0", 1);
	tzset();
	tariff_init(&t);
	t.price_kwh = 0.30;
	CHECK_INT(tariff_parse_tou(&t, "mon-fri 23:00-07:00 0.10 | sat,sun 0.20", err, sizeof(err)),
		  ==, 0);
	/* 2024-03-04 is a Monday */
	CHECK_DBL(price(&t, local_ns(2024, 3, 4, 6, 59)), 0.30,
		  1e-12); /* Sunday's night is not in it */
	CHECK_DBL(price(&t, local_ns(2024, 3, 4, 22, 59)), 0.30, 1e-12);
	CHECK_DBL(price(&t, local_ns(2024, 3, 4, 23, 0)), 0.10, 1e-12);
	CHECK_DBL(price(&t, local_ns(2024, 3, 5, 6, 59)), 0.10,
		  1e-12); /* Monday night, Tuesday morning */
	CHECK_DBL(price(&t, local_ns(2024, 3, 5, 7, 0)), 0.30, 1e-12);
	/* Friday night runs into Saturday morning: the first window wins there */
	CHECK_DBL(price(&t, local_ns(2024, 3, 9, 6, 0)), 0.10, 1e-12);
	CHECK_DBL(price(&t, local_ns(2024, 3, 9, 7, 0)), 0.20, 1e-12);
	CHECK_DBL(price(&t, local_ns(2024, 3, 10, 23, 30)), 0.20,
		  1e-12); /* Sunday: no night window */
	/* without price_kwh, hours outside the windows have no price */
	t.price_kwh = NAN;
	CHECK_DBL(price(&t, local_ns(2024, 3, 4, 12, 0)), -1, 0);
	CHECK(tariff_has_ac(&t));
	CHECK(!tariff_has_qc(&t));
}

static void
test_tariff_dst_change(void)
{
	struct tariff t;
	char err[200];
	double p;
	int64_t until, t0, t1, night = 0;

	/* Central Europe: 2024-03-31 02:00 CET becomes 03:00 CEST */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	tariff_init(&t);
	t.price_kwh = 0.30;
	CHECK_INT(tariff_parse_tou(&t, "* 23:00-07:00 0.10", err, sizeof(err)), ==, 0);
	/* 22:00 .. 08:00 local is 9 real hours that night, 7 of them in the window */
	t0 = local_ns(2024, 3, 30, 22, 0);
	t1 = local_ns(2024, 3, 31, 8, 0);
	CHECK_INT((t1 - t0) / 1000000000LL, ==, 9 * 3600);
	for (int64_t x = t0; x < t1; x = until) {
		CHECK_INT(tariff_price_at(&t, x, &p, &until), ==, 0);
		CHECK_INT(until - x, <=, 60 * 1000000000LL);
		if (p < 0.2)
			night += until - x;
	}
	CHECK_INT(night / 1000000000LL, ==, 7 * 3600);
	/* and the autumn night has 9 hours in the window */
	t0 = local_ns(2024, 10, 26, 22, 0);
	t1 = local_ns(2024, 10, 27, 8, 0);
	night = 0;
	for (int64_t x = t0; x < t1; x = until) {
		CHECK_INT(tariff_price_at(&t, x, &p, &until), ==, 0);
		if (p < 0.2)
			night += until - x;
	}
	CHECK_INT(night / 1000000000LL, ==, 9 * 3600);
}

T_MAIN(T(test_tariff_syntax_errors), T(test_tariff_window_crosses_midnight),
       T(test_tariff_dst_change))
