/*
 * The ledger's read side on databases made here per the schema contract:
 * no file, a file with no schema yet, a newer schema, not a database;
 * listing (moves, since, order, details unchanged), CSV, monthly totals;
 * the least-squares fit and the bar projection against hand-computed
 * values; and the battery document's trend on a year of daily rows.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>

#include "ledger_query.h"
#include "t.h"

#define DAY 86400LL
#define NS 1000000000LL

static const char schema[] =
    "CREATE TABLE session (kind TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT "
    "NULL, phase TEXT NOT NULL, vehicle TEXT NOT NULL, detail TEXT NOT NULL, updated_ns "
    "INTEGER NOT NULL, PRIMARY KEY (kind, start_ns)) WITHOUT ROWID;"
    "CREATE INDEX session_end ON session(kind, end_ns);"
    "CREATE TABLE feed (name TEXT PRIMARY KEY, gen INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "PRAGMA journal_mode = WAL; PRAGMA user_version = 1;";

static sqlite3 *
make_db(const char *dir)
{
	char path[512];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK);
	return db;
}

static void
put(sqlite3 *db, const char *kind, int64_t start_s, int64_t end_s, const char *detail)
{
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(db,
				 "INSERT INTO session VALUES (?1, ?2, ?3, 'end', 'leaf', ?4, 0)",
				 -1, &st, NULL) == SQLITE_OK);
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start_s * NS);
	sqlite3_bind_int64(st, 3, end_s * NS);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	CHECK(sqlite3_step(st) == SQLITE_DONE);
	sqlite3_finalize(st);
}

static const struct lq_filter all = {INT64_MIN, false};

static void
test_no_ledger_is_empty(void)
{
	struct lq q;
	struct lq_err e;
	struct buf b;
	char *dir = t_tmpdir();
	CHECK_INT(lq_open(&q, dir, &e), ==, 0);
	CHECK(q.db == NULL);
	buf_init(&b);
	CHECK_INT(lq_json(&q, LQ_TRIP, &all, &b, &e), ==, 0);
	CHECK_STR(buf_str(&b), "[]");
	buf_reset(&b);
	CHECK_INT(lq_csv(&q, LQ_CHARGE, &all, &b, &e), ==, 0);
	CHECK(str_starts(buf_str(&b), "kind,start,end,partial,"));
	CHECK(strchr(buf_str(&b), '\n') == b.p + b.len - 1); /* the header only */
	buf_reset(&b);
	CHECK_INT(lq_battery_json(&q, &all, &b, &e), ==, 0);
	CHECK_STR(buf_str(&b), "{\"daily\":[],\"trend\":{\"days\":0,\"windows\":[],"
			       "\"projection\":{\"reason\":\"no daily battery records yet\"}}}");
	struct lq_month *m;
	int n = -1;
	CHECK_INT(lq_monthly(&q, &all, &m, &n, &e), ==, 0);
	CHECK_INT(n, ==, 0);
	buf_free(&b);
	lq_close(&q);
}

static void
test_schema_versions(void)
{
	struct lq q;
	struct lq_err e;
	char path[512];
	char *dir = t_tmpdir();
	sqlite3 *db;

	/* created, no schema yet (the writer is about to migrate): empty */
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE x (a)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(lq_open(&q, dir, &e), ==, 0);
	CHECK(q.db == NULL);
	/* a newer schema: a clear error */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(lq_open(&q, dir, &e), ==, -1);
	CHECK(strstr(e.msg, "schema version 2") != NULL);
	CHECK(strstr(e.msg, "up to 1") != NULL);
	/* not a database */
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	CHECK_INT(lq_open(&q, dir, &e), ==, -1);
	CHECK(strstr(e.msg, "ledger.db") != NULL);
	CHECK(strstr(e.msg, "not a database") != NULL);
}

static const char trip1[] =
    "{\"kind\":\"trip\",\"start\":1000.000,\"end\":2000.000,\"distance_km\":"
    "10.000,\"net_kwh\":1.500,\"wh_per_km\":150.0,\"move\":false}";
static const char move1[] =
    "{\"kind\":\"trip\",\"start\":2500.000,\"end\":2510.000,\"distance_km\":"
    "0.015,\"net_kwh\":0.007,\"move\":true}";
static const char trip2[] =
    "{\"kind\":\"trip\",\"start\":3000.000,\"end\":4000.000,\"distance_km\":"
    "20.000,\"energy_out_kwh\":4.000,\"energy_in_kwh\":0.500,\"move\":false,"
    "\"note\":\"a, \\\"quoted\\\" value\"}";

static void
test_list_trips(void)
{
	struct lq q;
	struct lq_err e;
	struct buf b;
	char *dir = t_tmpdir();
	sqlite3 *db = make_db(dir);
	put(db, "trip", 3000, 4000, trip2); /* inserted out of order */
	put(db, "trip", 1000, 2000, trip1);
	put(db, "trip", 2500, 2510, move1);
	put(db, "charge", 2000, 2400, "{\"kind\":\"charge\"}");
	CHECK_INT(lq_open(&q, dir, &e), ==, 0);
	CHECK(q.db != NULL);
	buf_init(&b);
	CHECK_INT(lq_json(&q, LQ_TRIP, &all, &b, &e), ==, 0);
	char want[1024];
	snprintf(want, sizeof(want), "[%s,%s]", trip1, trip2);
	CHECK_STR(buf_str(&b), want);
	/* --all: the move too, in its place */
	struct lq_filter f = {INT64_MIN, true};
	buf_reset(&b);
	CHECK_INT(lq_json(&q, LQ_TRIP, &f, &b, &e), ==, 0);
	snprintf(want, sizeof(want), "[%s,%s,%s]", trip1, move1, trip2);
	CHECK_STR(buf_str(&b), want);
	/* since: sessions that began at or after it */
	f.since_ns = 2500 * NS;
	buf_reset(&b);
	CHECK_INT(lq_json(&q, LQ_TRIP, &f, &b, &e), ==, 0);
	snprintf(want, sizeof(want), "[%s,%s]", move1, trip2);
	CHECK_STR(buf_str(&b), want);
	/* CSV: contract keys, then the extra key; quoting; booleans; empty cells */
	buf_reset(&b);
	CHECK_INT(lq_csv(&q, LQ_TRIP, &all, &b, &e), ==, 0);
	const char *csv = buf_str(&b);
	const char *eol = strstr(csv, "\r\n");
	CHECK(eol != NULL);
	CHECK(str_starts(csv, "kind,start,end,partial,recovery,distance_km,energy_out_kwh,"));
	CHECK(strncmp(eol - 5, ",note", 5) == 0);
	int ncols = 1;
	for (const char *p = csv; p < eol; p++)
		ncols += *p == ',';
	CHECK_INT(ncols, ==, 32);
	CHECK(str_starts(eol + 2, "trip,1000.0,2000.0,,,10.0,,,"));
	CHECK(strstr(csv, ",false,") != NULL);
	CHECK(strstr(csv, ",\"a, \"\"quoted\"\" value\"\r\n") != NULL);
	int rows = 0;
	for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2)
		rows++;
	CHECK_INT(rows, ==, 3);
	buf_free(&b);
	lq_close(&q);
	sqlite3_close(db);
}

/* Unix seconds of a local date and hour (TZ set in main). */
static int64_t
local_s(int y, int mo, int d, int h)
{
	struct tm tm = {
	    .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_isdst = -1};
	return (int64_t)mktime(&tm);
}

static void
test_monthly_totals(void)
{
	struct lq q;
	struct lq_err e;
	struct buf b;
	char *dir = t_tmpdir();
	sqlite3 *db = make_db(dir);
	/* 31 Oct 23:30 local is October though it is November in UTC (TZ +01) */
	put(db, "trip", local_s(2026, 10, 31, 23) + 1800, local_s(2026, 11, 1, 0) + 600,
	    "{\"distance_km\":30.000,\"net_kwh\":4.500}");
	put(db, "trip", local_s(2026, 11, 3, 8), local_s(2026, 11, 3, 9),
	    "{\"distance_km\":40.000,\"energy_out_kwh\":7.000,\"energy_in_kwh\":1.000}");
	put(db, "trip", local_s(2026, 11, 3, 10), local_s(2026, 11, 3, 10) + 30,
	    "{\"distance_km\":0.010,\"net_kwh\":0.010,\"move\":true}");
	put(db, "charge", local_s(2026, 11, 4, 20), local_s(2026, 11, 4, 23),
	    "{\"pack_kwh\":10.000,\"grid_kwh\":11.111,\"cost\":2.22,\"currency\":\"EUR\"}");
	put(db, "charge", local_s(2026, 11, 5, 12), local_s(2026, 11, 5, 13),
	    "{\"pack_kwh\":20.000,\"grid_kwh\":21.000,\"cost\":10.50,\"currency\":\"EUR\"}");
	put(db, "charge", local_s(2026, 11, 6, 12), local_s(2026, 11, 6, 13),
	    "{\"pack_kwh\":5.000,\"grid_kwh\":5.500,\"cost\":20.00,\"currency\":\"NOK\"}");
	put(db, "charge", local_s(2026, 11, 7, 12), local_s(2026, 11, 7, 13),
	    "{\"pack_kwh\":1.000,\"grid_kwh\":1.100}");
	put(db, "park", local_s(2026, 11, 3, 9), local_s(2026, 11, 3, 10), "{\"kwh_lost\":0.120}");
	put(db, "battery_daily", local_s(2026, 11, 3, 0), local_s(2026, 11, 4, 0),
	    "{\"distance_km\":999}");
	CHECK_INT(lq_open(&q, dir, &e), ==, 0);
	struct lq_month *m;
	int n;
	CHECK_INT(lq_monthly(&q, &all, &m, &n, &e), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_STR(m[0].month, "2026-10");
	CHECK_INT(m[0].trips, ==, 1);
	CHECK_INT(m[0].charges, ==, 0);
	CHECK_STR(m[1].month, "2026-11");
	CHECK_INT(m[1].trips, ==, 2);
	CHECK_DBL(m[1].km, 40.01, 1e-9);
	CHECK_DBL(m[1].net_kwh, 6.01, 1e-9); /* out - in where net_kwh is absent */
	CHECK_INT(m[1].charges, ==, 4);
	CHECK_DBL(m[1].pack_kwh, 36.0, 1e-9);
	CHECK_INT(m[1].uncosted, ==, 1);
	CHECK_INT(m[1].ncost, ==, 2);
	buf_init(&b);
	lq_monthly_json(m, n, &b);
	CHECK_STR(buf_str(&b),
		  "[{\"month\":\"2026-10\",\"trips\":1,\"distance_km\":30.000,\"net_kwh\":4.500,"
		  "\"wh_per_km\":150.0,\"charges\":0,\"cost\":{},\"charges_uncosted\":0},"
		  "{\"month\":\"2026-11\",\"trips\":2,\"distance_km\":40.010,\"net_kwh\":6.010,"
		  "\"wh_per_km\":150.2,\"charges\":4,\"charge_pack_kwh\":36.000,"
		  "\"charge_grid_kwh\":38.711,\"cost\":{\"EUR\":12.72,\"NOK\":20.00},"
		  "\"charges_uncosted\":1,\"park_kwh_lost\":0.120}]");
	/* since cuts at a session's start */
	struct lq_filter f = {local_s(2026, 11, 5, 0) * NS, false};
	free(m);
	CHECK_INT(lq_monthly(&q, &f, &m, &n, &e), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_INT(m[0].trips, ==, 0);
	CHECK_INT(m[0].charges, ==, 3);
	free(m);
	buf_free(&b);
	lq_close(&q);
	sqlite3_close(db);
}

static void
test_fit_by_hand(void)
{
	/* x 0..3, y 1 3 2 5: xmean 1.5, Sxx 5, Sxy 5.5, b 1.1, a 1.1; residuals
	 * -0.1 0.8 -1.3 0.6, SSR 2.7, s^2 = 1.35, se(b) = sqrt(1.35 / 5) */
	const double x[] = {0, 1, 2, 3}, y[] = {1, 3, 2, 5};
	struct lq_fit f;
	lq_fit(x, y, 4, &f);
	CHECK(f.ok);
	CHECK_DBL(f.slope, 1.1, 1e-12);
	CHECK_DBL(f.intercept, 1.1, 1e-12);
	CHECK_DBL(f.se_slope, sqrt(0.27), 1e-12);
	CHECK_DBL(f.s, sqrt(1.35), 1e-12);
	/* too few, or all on one day: no slope */
	lq_fit(x, y, 2, &f);
	CHECK(!f.ok);
	const double same[] = {5, 5, 5};
	lq_fit(same, y, 3, &f);
	CHECK(!f.ok);
}

static void
test_projection_by_hand(void)
{
	/* x 0 10 20, y 87 86 85.5: b = -15/200 = -0.075, a = 86.91667; residuals
	 * 1/12, -1/6, 1/12: SSR 1/24, s = 0.2041241; SOH 85 at x = 25.5556;
	 * se = s/|b| sqrt(1/3 + (25.5556 - 10)^2 / 200) = 3.38100 days */
	const double x[] = {0, 10, 20}, y[] = {87, 86, 85.5};
	struct lq_fit f;
	double at, se;
	lq_fit(x, y, 3, &f);
	CHECK_DBL(f.slope, -0.075, 1e-12);
	CHECK_INT(lq_project(&f, 85.0, &at, &se), ==, 0);
	CHECK_DBL(at, 25.55556, 1e-4);
	CHECK_DBL(se, 3.38100, 1e-4);
	/* a rising line has no date */
	const double up[] = {85, 86, 87.5};
	lq_fit(x, up, 3, &f);
	CHECK_INT(lq_project(&f, 85.0, &at, &se), ==, -1);
	/* Nissan's gauge */
	CHECK_DBL(lq_bar_threshold(12), 85.0, 1e-12);
	CHECK_DBL(lq_bar_threshold(11), 78.75, 1e-12);
	CHECK_DBL(lq_bar_threshold(1), 16.25, 1e-12);
	CHECK_INT(lq_bars_for_soh(100), ==, 12);
	CHECK_INT(lq_bars_for_soh(85), ==, 12);
	CHECK_INT(lq_bars_for_soh(84.9), ==, 11);
	CHECK_INT(lq_bars_for_soh(78.75), ==, 11);
	CHECK_INT(lq_bars_for_soh(10), ==, 0);
}

/* n daily rows from day0 (days since 1970), SOH soh0 + per_day * i. */
static void
put_days(sqlite3 *db, int64_t day0, int n, double soh0, double per_day, int bars)
{
	for (int i = 0; i < n; i++) {
		char detail[256], date[16];
		time_t t = (time_t)((day0 + i) * DAY);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		snprintf(detail, sizeof(detail),
			 "{\"kind\":\"battery_daily\",\"date\":\"%s\",\"soh_pct\":%.4f,"
			 "\"gids_full\":%d,\"capacity_bars\":%d}",
			 date, soh0 + per_day * i, 380 - i / 10, bars);
		put(db, "battery_daily", (day0 + i) * DAY, (day0 + i + 1) * DAY, detail);
	}
}

static char *
battery(const char *dir, const struct lq_filter *f)
{
	struct lq q;
	struct lq_err e;
	struct buf b;
	CHECK_INT(lq_open(&q, dir, &e), ==, 0);
	buf_init(&b);
	CHECK_INT(lq_battery_json(&q, f, &b, &e), ==, 0);
	lq_close(&q);
	buf_str(&b);
	return b.p;
}

static void
test_battery_trend(void)
{
	char *dir = t_tmpdir();
	sqlite3 *db = make_db(dir);
	/* 400 days from 2025-01-01 (day 20089), SOH 92 % falling 0.01 %/day
	 * exactly: -3.6525 %/year, 85 % on day 700 = 2026-12-02, no error */
	put_days(db, 20089, 400, 92.0, -0.01, 12);
	char *s = battery(dir, &all);
	CHECK(strstr(s, "\"trend\":{\"days\":365,\"last_date\":\"2026-02-04\"") != NULL);
	CHECK(strstr(s, "{\"days\":30,\"soh_pct\":{\"n\":30,\"slope_per_year\":-3.6525,"
			"\"stderr_per_year\":0.0000}") != NULL);
	CHECK(strstr(s, "\"projection\":{\"bars\":12,\"threshold_soh_pct\":85.00,\"n\":365,"
			"\"date\":\"2026-12-02\",\"fitted_soh_pct\":88.01,\"days_from_last\":301,\"stderr_days\":0,"
			"\"earliest\":\"2026-12-02\",\"latest\":\"2026-12-02\"}") != NULL);
	CHECK(
	    strstr(s, "\"capacity_kwh\":{\"n\":0,\"reason\":\"fewer than 3 days with a value\"}") !=
	    NULL);
	/* since limits the list, not the trend */
	struct lq_filter f = {(20089 + 398) * DAY * NS, false};
	free(s);
	s = battery(dir, &f);
	CHECK(str_starts(s, "{\"daily\":[{\"kind\":\"battery_daily\",\"date\":\"2026-02-03\""));
	CHECK(strstr(s, "},{\"kind\":\"battery_daily\",\"date\":\"2026-02-04\"") != NULL);
	CHECK(strstr(s, "\"days\":365,") != NULL);
	free(s);
	sqlite3_close(db);

	/* rising SOH: a reason, no date */
	dir = t_tmpdir();
	db = make_db(dir);
	put_days(db, 20089, 40, 90.0, 0.01, 12);
	s = battery(dir, &all);
	CHECK(
	    strstr(
		s,
		"\"projection\":{\"bars\":12,\"reason\":\"SOH is not falling (+3.65 %/year)\"}") !=
	    NULL);
	free(s);
	sqlite3_close(db);

	/* too few days */
	dir = t_tmpdir();
	db = make_db(dir);
	put_days(db, 20089, 10, 90.0, -0.05, 12);
	s = battery(dir, &all);
	CHECK(strstr(s, "\"reason\":\"10 days with a SOH in the last 365, 30 needed\"") != NULL);
	CHECK(strstr(strstr(s, "\"projection\""), "\"date\"") == NULL);
	free(s);
	sqlite3_close(db);
}

static void
test_since(void)
{
	struct lq_err e;
	int64_t ns, now = 2000000000LL * NS;
	CHECK_INT(lq_parse_since("30d", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, now - 30 * DAY * NS);
	CHECK_INT(lq_parse_since("12h", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, now - 12 * 3600 * NS);
	CHECK_INT(lq_parse_since("2w", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, now - 14 * DAY * NS);
	CHECK_INT(lq_parse_since("1y", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, now - 365 * DAY * NS);
	CHECK_INT(lq_parse_since("200y", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, now - 200 * 365 * DAY * NS);
	CHECK_INT(lq_parse_since("2026-11-01", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, local_s(2026, 11, 1, 0) * NS);
	CHECK_INT(lq_parse_since("2026-07-01T08:30", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, (local_s(2026, 7, 1, 8) + 1800) * NS);
	CHECK_INT(lq_parse_since("2026-07-01T08:30:15", now, &ns, &e), ==, 0);
	CHECK_INT(ns, ==, (local_s(2026, 7, 1, 8) + 1815) * NS);
	static const char *const bad[] = {"",	     "d",	   "30",	  "-3d",
					  "3x",	     "2026-13-01", "2026-11-01x", "2026-11-01T",
					  "30d ",    "1e3d",	   "201y",	  "9999999999999y",
					  "2-11-01", "1969-12-01", "2201-01-01"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		CHECK_INT(lq_parse_since(bad[i], now, &ns, &e), ==, -1);
		CHECK(strstr(e.msg, "neither a date") != NULL);
	}
}

int
main(int argc, char **argv)
{
	static const struct t_case cases[] = {
	    T(test_no_ledger_is_empty), T(test_schema_versions),
	    T(test_list_trips),		T(test_monthly_totals),
	    T(test_fit_by_hand),	T(test_projection_by_hand),
	    T(test_battery_trend),	T(test_since)};
	setenv("TZ", "Europe/Oslo", 1);
	tzset();
	return t_main(argc, argv, cases, ARRAY_LEN(cases));
}
