/* InfluxQL building, InfluxDB answers into the grid, the JSON scanner, and
 * the grid's JSON and CSV rendering. The answers are in the shape InfluxDB
 * 1.6.7 gives for these statements (recorded from a local influxd). */
#include <math.h>

#include "influxql.h"
#include "jscan.h"
#include "t.h"

static void
grid(struct hgrid *g, const char *names, int64_t from, int64_t to, const char *step)
{
	const struct sig_info *s[WPARAM_MAX_SIGNALS];
	struct wparam_err e;
	struct wrange r;
	char f[24], t[24];
	int n;
	snprintf(f, sizeof(f), "%lld", (long long)from);
	snprintf(t, sizeof(t), "%lld", (long long)to);
	if (wparam_signals(names, s, WPARAM_MAX_SIGNALS, &n, &e) < 0 ||
	    wparam_range(f, t, step, NULL, 0, 5000, &r, &e) < 0 || hgrid_init(g, &r, s, n) < 0)
		t_fail(__FILE__, __LINE__, "setup: %s", e.msg);
}

static void
test_influxql_build_one_statement_per_measurement(void)
{
	struct hgrid g;
	struct buf q;
	grid(&g, "battery_soc_pct,vehicle_gear,battery_gids,charge_active", 1795796880, 1795797000,
	     "30");
	buf_init(&q);
	influxql_build(&g, "", &q);
	CHECK_STR(buf_str(&q),
		  "SELECT mean(\"battery_soc_pct\") AS \"battery_soc_pct\",mean(\"battery_gids\") AS "
		  "\"battery_gids\" FROM \"battery\" WHERE time >= 1795796880000ms AND time < "
		  "1795797000000ms GROUP BY time(30s) fill(none);"
		  "SELECT last(\"vehicle_gear\") AS \"vehicle_gear\" FROM \"vehicle\" WHERE time >= "
		  "1795796880000ms AND time < 1795797000000ms GROUP BY time(30s) fill(none);"
		  "SELECT last(\"charge_active\") AS \"charge_active\" FROM \"charge\" WHERE time >= "
		  "1795796880000ms AND time < 1795797000000ms GROUP BY time(30s) fill(none)");
	buf_reset(&q);
	influxql_build(&g, "autogen", &q);
	CHECK(strstr(buf_str(&q), "FROM \"autogen\".\"battery\"") != NULL);
	/* fill(previous) up to 100 s: four earlier buckets bring the seeds */
	buf_reset(&q);
	g.carry_ms = 100 * 1000;
	influxql_build(&g, "", &q);
	CHECK(strstr(buf_str(&q), "WHERE time >= 1795796760000ms AND time < 1795797000000ms") !=
	      NULL);
	buf_free(&q);
	hgrid_free(&g);
	/* the first row is a whole bucket, also when `from` is inside it */
	grid(&g, "battery_soc_pct", 1795796895, 1795797000, "30");
	buf_init(&q);
	influxql_build(&g, "", &q);
	CHECK(strstr(buf_str(&q), "WHERE time >= 1795796880000ms") != NULL);
	buf_free(&q);
	hgrid_free(&g);
}

static const char answer[] =
    "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"battery\",\"columns\":[\"time\","
    "\"battery_soc_pct\",\"battery_gids\"],\"values\":[[1795796880000,50.5,200],[1795796940000,"
    "51.5,null]]}]},{\"statement_id\":1,\"series\":[{\"name\":\"vehicle\",\"columns\":[\"time\","
    "\"vehicle_gear\"],\"values\":[[1795796910000,\"D\"],[1795796970000,\"Q\"]]}]},"
    "{\"statement_id\":2,\"series\":[{\"name\":\"charge\",\"tags\":null,\"columns\":[\"time\","
    "\"charge_active\",\"extra\"],\"values\":[[1795796910000,true,\"x\"]],\"partial\":false}]},"
    "{\"statement_id\":3}]}\n";

static void
test_influxql_parse_answer_into_grid(void)
{
	struct hgrid g;
	char err[200];
	grid(&g, "battery_soc_pct,vehicle_gear,battery_gids,charge_active", 1795796880, 1795797000,
	     "30");
	CHECK_INT(influxql_parse(answer, strlen(answer), &g, err, sizeof(err)), ==, 0);
	CHECK_INT(g.r.nrows, ==, 4);
	CHECK_DBL(g.v[0 * 4 + 0], 50.5, 1e-9);
	CHECK_DBL(g.v[0 * 4 + 2], 200, 1e-9);
	CHECK(isnan(g.v[0 * 4 + 1]));
	CHECK_DBL(g.v[1 * 4 + 1], 3, 1e-9); /* "D" is label 3 */
	CHECK_DBL(g.v[1 * 4 + 3], 1, 1e-9);
	CHECK_DBL(g.v[2 * 4 + 0], 51.5, 1e-9);
	CHECK(isnan(g.v[2 * 4 + 2]));
	CHECK(isnan(g.v[3 * 4 + 1]));	 /* "Q" is not a gear: counted, not stored */
	CHECK_INT(g.rejected, ==, 1);
	CHECK_INT(hgrid_points(&g), ==, 3); /* the last row held only the rejected cell */
	/* a seed row before the grid: not a row of its own */
	static const char early[] =
	    "{\"results\":[{\"series\":[{\"name\":\"battery\",\"columns\":["
	    "\"time\",\"battery_soc_pct\"],\"values\":[[1795796850000,49]]}]}]}";
	CHECK_INT(influxql_parse(early, strlen(early), &g, err, sizeof(err)), ==, 0);
	CHECK_DBL(g.seed[0], 49, 0);
	CHECK_INT(hgrid_points(&g), ==, 3);

	struct buf b;
	buf_init(&b);
	hgrid_json(&g, "influx", NULL, &b);
	CHECK_STR(buf_str(&b),
		  "{\"source\":\"influx\",\"from\":1795796880000,\"to\":1795797000000,\"step\":30,"
		  "\"points\":3,\"t\":[1795796880000,1795796910000,1795796940000],"
		  "\"series\":{\"battery_soc_pct\":[50.5,null,51.5],\"vehicle_gear\":[null,3,null],"
		  "\"battery_gids\":[200,null,null],\"charge_active\":[null,1,null]}}");
	buf_reset(&b);
	hgrid_csv_header(&g, &b);
	hgrid_csv_row(&g, 1, &b);
	CHECK_STR(buf_str(&b), "time,battery_soc_pct,vehicle_gear,battery_gids,charge_active\r\n"
			       "2026-11-27T16:28:30.000Z,,D,,true\r\n");
	buf_free(&b);
	hgrid_free(&g);
}

static void
test_influxql_parse_errors(void)
{
	static const char *const bad[] = {
	    "{\"results\":[{\"statement_id\":0,\"error\":\"database not found: leaf\"}]}",
	    "{\"error\":\"error parsing query: found EOF\"}",
	    "",
	    "[]",
	    "{\"results\":[{\"statement_id\":0,\"series\":[{\"values\":[[1,2]]}]}]}",
	    "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"battery_soc_pct\"],\"values\":[[1,2,3]]}]}]}",
	    "{\"results\":[{\"series\":[{\"columns\":[\"x\"],\"values\":[]}]}]}",
	    "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[\"t\"]]}]}]}",
	    "{\"results\":[]} x",
	    "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1,]]}]}]}",
	    "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1]]}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hgrid g;
		char err[200];
		grid(&g, "battery_soc_pct", 0, 3600, "60");
		if (influxql_parse(bad[i], strlen(bad[i]), &g, err, sizeof(err)) == 0)
			t_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
		CHECK(err[0] != '\0');
		hgrid_free(&g);
	}
	struct hgrid g;
	char err[200];
	grid(&g, "battery_soc_pct", 0, 3600, "60");
	CHECK_INT(influxql_parse(bad[0], strlen(bad[0]), &g, err, sizeof(err)), ==, -1);
	CHECK_STR(err, "InfluxDB: database not found: leaf");
	/* no series at all is an empty answer, not an error */
	const char *empty = "{\"results\":[{\"statement_id\":0}]}";
	CHECK_INT(influxql_parse(empty, strlen(empty), &g, err, sizeof(err)), ==, 0);
	CHECK_INT(hgrid_points(&g), ==, 0);
	hgrid_free(&g);
}

static int
count_tokens(const char *s, enum jtok *last)
{
	struct jscan j;
	enum jtok t;
	int n = 0;
	jscan_init(&j, s, strlen(s));
	while ((t = jscan_next(&j)) != JT_END && t != JT_ERR)
		n++;
	*last = t;
	return n;
}

static void
test_jscan_grammar(void)
{
	enum jtok last;
	CHECK_INT(count_tokens("{\"a\":[1,-2.5e3,true,false,null,\"x\\\"y\\u0041\"],\"b\":{}}", &last),
		  ==, 14);
	CHECK_INT(last, ==, JT_END);
	static const char *const bad[] = {"{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{1:2}",
					  "01", "1.", "-", "\"\\x\"", "\"a", "[", "tru", "{}{}",
					  "\"\x01\"", "[1]]", "\"\\u12\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		count_tokens(bad[i], &last);
		if (last != JT_ERR)
			t_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
	}
	char deep[80];
	memset(deep, '[', 40);
	deep[40] = '\0';
	count_tokens(deep, &last);
	CHECK_INT(last, ==, JT_ERR);

	struct jscan j;
	char out[16];
	const char *s = "\"a\\nb\\u00e9\\/\"";
	jscan_init(&j, s, strlen(s));
	CHECK_INT(jscan_next(&j), ==, JT_STR);
	CHECK_INT(jscan_str(&j, out, sizeof(out)), ==, 0);
	CHECK_STR(out, "a\nb?/");
	CHECK_INT(jscan_str(&j, out, 3), ==, -1);
}

T_MAIN(T(test_influxql_build_one_statement_per_measurement),
       T(test_influxql_parse_answer_into_grid), T(test_influxql_parse_errors),
       T(test_jscan_grammar))
