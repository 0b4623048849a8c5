/* Web API parameters: times, signal lists, ranges, form bodies, workers. */
#include "t.h"
#include "wparam.h"

static int64_t
ms_of(const char *s)
{
	struct wparam_err e;
	int64_t ms = -42;
	if (wparam_time(s, &ms, &e) < 0)
		return -1;
	return ms;
}

static void
test_wparam_time_unix_and_rfc3339(void)
{
	CHECK_INT(wparam_days_from_civil(1970, 1, 1), ==, 0);
	CHECK_INT(wparam_days_from_civil(2000, 3, 1), ==, 11017);
	CHECK_INT(ms_of("0"), ==, 0);
	CHECK_INT(ms_of("1700000000"), ==, 1700000000000LL);
	CHECK_INT(ms_of("1700000000.25"), ==, 1700000000250LL);
	CHECK_INT(ms_of("1700000000.123456789"), ==, 1700000000123LL);
	CHECK_INT(ms_of("2023-11-14T22:13:20Z"), ==, 1700000000000LL);
	CHECK_INT(ms_of("2023-11-14t22:13:20.5z"), ==, 1700000000500LL);
	CHECK_INT(ms_of("2023-11-15T00:13:20+02:00"), ==, 1700000000000LL);
	CHECK_INT(ms_of("2023-11-14T20:13:20-02:00"), ==, 1700000000000LL);
	/* an unencoded '+' arrives as a space */
	CHECK_INT(ms_of("2023-11-15T00:13:20 02:00"), ==, 1700000000000LL);
	CHECK_INT(ms_of("2024-02-29T00:00:00Z"), ==, 1709164800000LL);
	CHECK_INT(ms_of("2016-12-31T23:59:60Z"), ==, 1483228799999LL);
}

static void
test_wparam_time_rejects(void)
{
	static const char *const bad[] = {
	    "", "abc", "-5", "1e9", "17000000000000", "1700000000.", "1700000000.1234567890",
	    "2023-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z",
	    "2024-00-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
	    "2024-01-01T00:00:00", "2024-01-01T00:00:00+2:00", "2024-01-01T00:00:00+02:00x",
	    "2024-01-01", "1969-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "99999999999",
	    "2024-01-01T00:00:00.Z", " 1700000000", "1700000000 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wparam_err e = {{0}};
		int64_t ms;
		if (wparam_time(bad[i], &ms, &e) == 0)
			t_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
		CHECK(e.msg[0] != '\0');
	}
}

static void
test_wparam_signals_lists(void)
{
	const struct sig_info *s[WPARAM_MAX_SIGNALS];
	struct wparam_err e;
	int n;
	CHECK_INT(wparam_signals("battery_soc_pct,vehicle_speed_kmh", s, 24, &n, &e), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_STR(s[1]->name, "vehicle_speed_kmh");
	CHECK_INT(wparam_signals("battery_soc_pct,nope", s, 24, &n, &e), ==, -1);
	CHECK_STR(e.msg, "unknown signal 'nope'");
	/* provisional signals are not published, so not known to the API */
	CHECK_INT(wparam_signals("motor_temp_c", s, 24, &n, &e), ==, -1);
	CHECK_INT(wparam_signals("battery_soc_pct,battery_soc_pct", s, 24, &n, &e), ==, -1);
	CHECK_INT(wparam_signals("battery_soc_pct,,vehicle_speed_kmh", s, 24, &n, &e), ==, -1);
	CHECK_INT(wparam_signals("battery_soc_pct,", s, 24, &n, &e), ==, -1);
	CHECK_INT(wparam_signals("", s, 24, &n, &e), ==, -1);
	CHECK_INT(wparam_signals(NULL, s, 24, &n, &e), ==, -1);
	CHECK_INT(wparam_signals("battery_soc_pct,vehicle_speed_kmh,battery_gids", s, 2, &n, &e),
		  ==, -1);
	CHECK_STR(e.msg, "too many signals: at most 2");
}

static void
test_wparam_range_defaults_and_limits(void)
{
	struct wrange r;
	struct wparam_err e;
	int64_t now = 1700000000500LL;
	CHECK_INT(wparam_range(NULL, NULL, NULL, NULL, now, 5000, &r, &e), ==, 0);
	CHECK_INT(r.to_ms, ==, now);
	CHECK_INT(r.from_ms, ==, now - 3600000);
	CHECK(r.nrows <= WPARAM_DEFAULT_POINTS);
	CHECK_INT(r.t0_ms % r.step_ms, ==, 0);
	CHECK(r.t0_ms <= r.from_ms && r.t0_ms + (int64_t)r.nrows * r.step_ms >= r.to_ms);

	CHECK_INT(wparam_range("1700000000", "1700003600", "60", NULL, now, 5000, &r, &e), ==, 0);
	CHECK_INT(r.step_ms, ==, 60000);
	CHECK_INT(r.t0_ms, ==, 1699999980000LL); /* aligned down to a minute, as InfluxDB does */
	CHECK_INT(r.nrows, ==, 61);

	CHECK_INT(wparam_range("1700000000", "1700086400", NULL, "100", now, 5000, &r, &e), ==, 0);
	CHECK(r.nrows <= 100);
	CHECK(r.nrows >= 99);

	CHECK_INT(wparam_range("1700003600", "1700000000", NULL, NULL, now, 5000, &r, &e), ==, -1);
	CHECK_STR(e.msg, "from must be before to");
	CHECK_INT(wparam_range("0", "1700000000", NULL, NULL, now, 5000, &r, &e), ==, -1);
	CHECK(strstr(e.msg, "range too large") != NULL);
	CHECK_INT(wparam_range("1700000000", "1700086400", "1", NULL, now, 5000, &r, &e), ==, -1);
	CHECK(strstr(e.msg, "more than 5000 points") != NULL);
	CHECK_INT(wparam_range(NULL, NULL, "1.5", NULL, now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range(NULL, NULL, "0", NULL, now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range(NULL, NULL, "-60", NULL, now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range(NULL, NULL, "60", "100", now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range(NULL, NULL, NULL, "0", now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range(NULL, NULL, NULL, "5001", now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range(NULL, NULL, NULL, "12abc", now, 5000, &r, &e), ==, -1);
	CHECK_INT(wparam_range("yesterday", NULL, NULL, NULL, now, 5000, &r, &e), ==, -1);
	CHECK(strncmp(e.msg, "from: ", 6) == 0);
}

static void
test_wparam_form_and_worker(void)
{
	char out[32];
	struct wparam_err e;
	const char *body = "xpassword=no&password=a%20b+c%21&worker=can";
	CHECK_INT(wparam_form_value(body, strlen(body), "password", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "a b c!");
	CHECK_INT(wparam_form_value(body, strlen(body), "worker", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "can");
	CHECK_INT(wparam_form_value(body, strlen(body), "pass", out, sizeof(out)), ==, -1);
	CHECK_INT(wparam_form_value("password=%zz", 12, "password", out, sizeof(out)), ==, -1);
	CHECK_INT(wparam_form_value("password=%4", 11, "password", out, sizeof(out)), ==, -1);
	CHECK_INT(wparam_form_value("password=%00", 12, "password", out, sizeof(out)), ==, -1);
	CHECK_INT(wparam_form_value("password=0123456789012345678901234567890123456789", 49,
				    "password", out, sizeof(out)),
		  ==, -1);
	/* the length bounds the parse: bytes past it are not read */
	CHECK_INT(wparam_form_value("password=abcdef", 12, "password", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "abc");
	CHECK_INT(wparam_worker("can", &e), ==, 0);
	CHECK_INT(wparam_worker("web", &e), ==, 0);
	CHECK_INT(wparam_worker("leafmond", &e), ==, -1);
	CHECK_INT(wparam_worker(NULL, &e), ==, -1);
}

/* echoed values are cut on character boundaries */
static void
test_wparam_clip_on_characters(void)
{
	struct wparam_err e;
	CHECK_INT(wparam_clip("abc", 20), ==, 3);
	CHECK_INT(wparam_clip("abcdef", 4), ==, 4);
	CHECK_INT(wparam_clip("abc\xc3\xa9", 4), ==, 3); /* not half of the e-acute */
	CHECK_INT(wparam_clip("abc\xc3\xa9", 5), ==, 5);
	CHECK_INT(wparam_clip("\xf0\x9f\x9a\x97\xf0\x9f\x9a\x97", 6), ==, 4);
	CHECK_INT(wparam_clip("\xff\xff\xff", 2), ==, 2); /* not UTF-8: bytes (escaped later) */
	char step[64];
	snprintf(step, sizeof(step), "%s", "1234567890123456789\xc3\xa9");
	CHECK_INT(wparam_range(NULL, NULL, step, NULL, 1700000000000LL, 5000, &(struct wrange){0},
			       &e),
		  ==, -1);
	CHECK(strstr(e.msg, "'1234567890123456789'") != NULL);
}

T_MAIN(T(test_wparam_time_unix_and_rfc3339), T(test_wparam_time_rejects),
       T(test_wparam_signals_lists), T(test_wparam_range_defaults_and_limits),
       T(test_wparam_form_and_worker), T(test_wparam_clip_on_characters))
