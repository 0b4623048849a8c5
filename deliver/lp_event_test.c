/*
 * Session events as line protocol: every kind, the charge_type tag, numbers
 * always floats, booleans, string escaping, skipped members, the start as
 * timestamp at each precision, the clock flag, malformed records and
 * details (counted, nothing appended, a reason), and the routing byte.
 */
#include <string.h>

#include "config.h"
#include "lp.h"
#include "spool_payload.h"
#include "t.h"

#define START 1700000000123456789LL

/* One event record; delta: start - capture. */
static void
event(struct buf *b, const char *kind, int phase, int64_t delta, const char *detail)
{
	struct spool_event e = {.kind = kind, .kind_len = strlen(kind), .phase = phase,
				.start_delta_ns = delta, .detail = detail,
				.detail_len = strlen(detail)};
	buf_reset(b);
	CHECK(spool_event_encode(b, &e) == 0);
}

static const char *
line(const char *vehicle, int prec, const char *kind, int phase, const char *detail, bool unsynced,
     struct lp_stats *st)
{
	static struct buf out;
	struct buf rec;
	struct lp_ctx c;
	size_t ends[1];

	buf_init(&rec);
	buf_reset(&out);
	lp_init(&c, vehicle, prec);
	event(&rec, kind, phase, -3600 * NSEC_PER_SEC, detail);
	int n = lp_event(&c, &out, START + 3600 * NSEC_PER_SEC, unsynced, (uint8_t *)rec.p, rec.len,
			 ends, st, NULL, 0);
	buf_free(&rec);
	if (n != 1)
		return NULL;
	CHECK_INT(ends[0], ==, out.len);
	return buf_str(&out);
}

static void
test_event_every_kind(void)
{
	struct lp_stats st = {0};

	CHECK_STR(line("leaf", PREC_MS, "trip", 2,
		       "{\"kind\":\"trip\",\"start\":1700000000.123456,\"end\":1700002580.5,"
		       "\"partial\":true,\"recovery\":\"continued\",\"distance_km\":41.237,"
		       "\"gids_start\":240,\"gids_end\":180,\"wh_per_km\":-150.2,\"move\":false}",
		       false, &st),
		  "trip,vehicle=leaf start=1700000000.123456,end=1700002580.5,partial=true,"
		  "recovery=\"continued\",distance_km=41.237,gids_start=240.0,gids_end=180.0,"
		  "wh_per_km=-150.2,move=false,phase=\"end\" 1700000000123\n");
	CHECK_STR(line("leaf", PREC_MS, "charge", 1,
		       "{\"kind\":\"charge\",\"start\":1700000000.123456,\"charge_type\":\"qc\","
		       "\"pack_kwh\":18.25,\"grid_source\":\"charger\",\"cost\":7.5,"
		       "\"currency\":\"EUR\"}",
		       false, &st),
		  "charge,charge_type=qc,vehicle=leaf start=1700000000.123456,pack_kwh=18.25,"
		  "grid_source=\"charger\",cost=7.5,currency=\"EUR\",phase=\"update\" 1700000000123\n");
	CHECK_STR(line("leaf", PREC_S, "park", 0,
		       "{\"kind\":\"park\",\"start\":1700000000.123456,\"soc_lost_pct\":0,"
		       "\"kwh_lost\":1E-1,\"drain_kwh_per_day\":-0}",
		       false, &st),
		  "park,vehicle=leaf start=1700000000.123456,soc_lost_pct=0.0,kwh_lost=1E-1,"
		  "drain_kwh_per_day=-0.0,phase=\"start\" 1700000000\n");
	CHECK_STR(line("leaf", PREC_NS, "battery_daily", 2,
		       " {\"kind\" : \"battery_daily\", \"date\":\"2023-11-14\",\"soh_pct\":91.5 }\n",
		       false, &st),
		  "battery_daily,vehicle=leaf date=\"2023-11-14\",soh_pct=91.5,phase=\"end\" "
		  "1700000000123456789\n");
	CHECK_INT(st.events, ==, 4);
	CHECK_INT(st.events_malformed, ==, 0);
}

static void
test_event_escaping(void)
{
	struct lp_stats st = {0};

	/* strings: quotes and backslashes escaped, control characters '_',
	 * \u escapes decoded to UTF-8; keys and tags by the tag rules */
	CHECK_STR(line("my leaf", PREC_MS, "charge", 2,
		       "{\"charge_type\":\"a c,=\",\"currency\":\"\\\"E\\\\U\\nR\\u00e9\\ud83d\\ude97\","
		       "\"odd key\":1.5}",
		       true, &st),
		  "charge,charge_type=a\\ c\\,\\=,vehicle=my\\ leaf "
		  "currency=\"\\\"E\\\\U_R\xc3\xa9\xf0\x9f\x9a\x97\",odd\\ key=1.5,phase=\"end\","
		  "clock_unsynced=true 1700000000123\n");
	/* null, nested and a charge_type that is not a string are skipped, counted */
	CHECK_STR(line("leaf", PREC_MS, "trip", 1,
		       "{\"a\":null,\"b\":{\"c\":[1,{\"d\":\"}\"}]},\"charge_type\":3,\"x\":2}", false,
		       &st),
		  "trip,vehicle=leaf x=2.0,phase=\"update\" 1700000000123\n");
	CHECK_INT(st.event_fields_skipped, ==, 3);
	/* an empty detail still gives a point: its phase */
	CHECK_STR(line("leaf", PREC_MS, "trip", 0, "{}", false, &st),
		  "trip,vehicle=leaf phase=\"start\" 1700000000123\n");
}

static void
test_event_malformed(void)
{
	static const struct {
		const char *detail, *why;
	} bad[] = {
	    {"{\"distance_km\":4.5", "byte 18: ',' or '}' was expected"},
	    {"{\"a\":1} x", "text after the object"},
	    {"[1]", "not a JSON object"},
	    {"{\"a\":01}", "',' or '}' was expected"},
	    {"{\"a\":1.}", "bad number"},
	    {"{\"a\":\"\\x\"}", "bad escape"},
	    {"{\"a\":\"\\ud83d\"}", "bad string escape"},
	    {"{\"a\":tru}", "bad literal"},
	    {"{\"a\" 1}", "':' was expected"},
	    {"{\"a\":\"x\ny\"}", "control character"},
	    {"", "not a JSON object"},
	};
	struct lp_stats st = {0};
	struct lp_ctx c;
	struct buf out, rec;
	char why[200];

	buf_init(&out);
	buf_init(&rec);
	lp_init(&c, "leaf", PREC_MS);
	buf_puts(&out, "before\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		event(&rec, "trip", 2, 0, bad[i].detail);
		why[0] = '\0';
		CHECK_INT(lp_event(&c, &out, START, false, (uint8_t *)rec.p, rec.len, NULL, &st, why,
				   sizeof(why)), ==, -1);
		if (strstr(why, bad[i].why) == NULL)
			t_fail(__FILE__, __LINE__, "%s: '%s' lacks '%s'", bad[i].detail, why, bad[i].why);
	}
	CHECK_INT(st.events_malformed, ==, sizeof(bad) / sizeof(bad[0]));
	event(&rec, "tripx", 2, 0, "{}");
	CHECK_INT(lp_event(&c, &out, START, false, (uint8_t *)rec.p, rec.len, NULL, &st, why,
			   sizeof(why)), ==, -1);
	CHECK_STR(why, "unknown session kind");
	CHECK_INT(lp_event(&c, &out, START, false, (uint8_t *)rec.p, rec.len - 1, NULL, &st, why,
			   sizeof(why)), ==, -1);
	CHECK_STR(why, "the event record does not decode");
	CHECK_STR(buf_str(&out), "before\n"); /* nothing appended */
	/* the next good record is not affected */
	event(&rec, "trip", 2, 0, "{\"x\":1}");
	CHECK_INT(lp_event(&c, &out, START, false, (uint8_t *)rec.p, rec.len, NULL, &st, NULL, 0),
		  ==, 1);
	CHECK_STR(buf_str(&out), "before\ntrip,vehicle=leaf x=1.0,phase=\"end\" 1700000000123\n");
	buf_free(&out);
	buf_free(&rec);
}

static void
test_event_codec_and_routing(void)
{
	struct buf b;
	struct spool_event e;
	struct spool_value v = {1, SPK_VALUE, 2.5};

	buf_init(&b);
	event(&b, "battery_daily", 1, -42, "{\"a\":1}");
	CHECK_INT(lp_dest((uint8_t *)b.p, b.len), ==, LP_DEST_SESSIONS);
	CHECK_INT(spool_event_decode((uint8_t *)b.p, b.len, &e), ==, 0);
	CHECK_INT(e.kind_len, ==, 13);
	CHECK(memcmp(e.kind, "battery_daily", 13) == 0);
	CHECK_INT(e.phase, ==, 1);
	CHECK_INT(e.start_delta_ns, ==, -42);
	CHECK_INT(e.detail_len, ==, 7);
	CHECK_INT(spool_event_decode((uint8_t *)b.p, b.len + 0 - 1, &e), ==, -1);
	b.p[1] = 3; /* no such phase */
	CHECK_INT(spool_event_decode((uint8_t *)b.p, b.len, &e), ==, -1);
	CHECK_INT(spool_event_phase("start"), ==, 0);
	CHECK_INT(spool_event_phase("end"), ==, 2);
	CHECK_INT(spool_event_phase(NULL), ==, 1);
	struct spool_event toolong = {.kind = "k", .kind_len = SPOOL_EVENT_KIND_MAX + 1};
	CHECK_INT(spool_event_encode(&b, &toolong), ==, -1);
	buf_reset(&b);
	CHECK(spool_payload_encode(&b, &v, 1) == 0);
	CHECK_INT(lp_dest((uint8_t *)b.p, b.len), ==, LP_DEST_SAMPLES);
	CHECK_INT(spool_payload_format((uint8_t *)b.p, b.len), ==, SPOOL_PAYLOAD_FORMAT);
	CHECK_INT(spool_payload_format((uint8_t *)"\x07", 1), ==, -1);
	buf_free(&b);
}

T_MAIN(T(test_event_every_kind), T(test_event_escaping), T(test_event_malformed),
       T(test_event_codec_and_routing))
