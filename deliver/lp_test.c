/*
 * Line protocol golden test: records of every kind (types, groups, skipped
 * signals, precisions, negative times, the clock flag, aggregates, tag
 * escaping) formatted and compared with deliver/testdata/lp.golden.
 * LEAFMON_UPDATE_GOLDEN=1 rewrites the golden file (then read the diff).
 */
#include <math.h>
#include <stdlib.h>

#include "config.h"
#include "lp.h"
#include "signals.h"
#include "spool_payload.h"
#include "t.h"

#define T0 1700000000123456789LL

struct lpcase {
	const char *title;
	const char *vehicle;
	int precision;
	int64_t t;
	bool unsynced;
	struct spool_value v[8];
	int n;
};

static const struct lpcase cases[] = {
    {"battery: float, int, bool", "leaf", PREC_MS, T0, false,
     {{SIG_battery_voltage_v, 0, 401.5}, {SIG_battery_current_a, 0, -12.25},
      {SIG_battery_gids, 0, 240}, {SIG_battery_main_relay_on, 0, 1}}, 4},
    {"three groups in one sample, enum label, float that looks integral", "leaf", PREC_MS, T0,
     false,
     {{SIG_motor_rpm, 0, 3000}, {SIG_vehicle_speed_kmh, 0, 50}, {SIG_vehicle_gear, 0, 3},
      {SIG_climate_on, 0, 0}}, 4},
    {"provisional, unknown and NaN values are skipped; a group left empty has no line", "leaf",
     PREC_MS, T0, false,
     {{SIG_motor_temp_c, 0, 60}, {250, 0, 1}, {SIG_battery_soc_pct, 0, NAN},
      {SIG_vehicle_gear, 0, 9}, {SIG_charge_active, 0, 1}}, 5},
    {"precision ns", "leaf", PREC_NS, -1500, false, {{SIG_battery_soc_pct, 0, 55.5}}, 1},
    {"precision us (floor of a negative time)", "leaf", PREC_US, -1500, false,
     {{SIG_battery_soc_pct, 0, 55.5}}, 1},
    {"precision ms", "leaf", PREC_MS, -1500, false, {{SIG_battery_soc_pct, 0, 55.5}}, 1},
    {"precision s", "leaf", PREC_S, T0, false, {{SIG_battery_soc_pct, 0, 55.5}}, 1},
    {"captured before the clock synchronised (earlier boot)", "leaf", PREC_MS, T0, true,
     {{SIG_battery_soc_pct, 0, 55.5}, {SIG_vehicle_ready, 0, 1}}, 2},
    {"aggregates: last value, min and max", "leaf", PREC_MS, T0, false,
     {{SIG_battery_power_kw, SPK_VALUE, 12.5}, {SIG_battery_power_kw, SPK_MIN, -30.25},
      {SIG_battery_power_kw, SPK_MAX, 61}}, 3},
    {"vehicle tag escaping", "my leaf, 2013=old", PREC_MS, T0, false,
     {{SIG_battery_soc_pct, 0, 1}}, 1},
    {"control characters and backslashes in the tag", "a\tb\\c\n", PREC_MS, T0, false,
     {{SIG_battery_soc_pct, 0, 1}}, 1},
    {"empty vehicle", "", PREC_MS, T0, false, {{SIG_battery_soc_pct, 0, 1}}, 1},
    {"bus health group", "leaf", PREC_MS, T0, false,
     {{SIG_can_frames_total, 0, 123456789}, {SIG_can_frames_per_s, 0, 812.5},
      {SIG_can_bus_asleep, 0, 0}}, 3},
};

static void
render(struct buf *out, struct lp_stats *st)
{
	struct buf payload;
	buf_init(&payload);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lpcase *c = &cases[i];
		struct lp_ctx ctx;
		size_t ends[LP_MAX_LINES_PER_RECORD];
		buf_reset(&payload);
		CHECK(spool_payload_encode(&payload, c->v, (size_t)c->n) == 0);
		lp_init(&ctx, c->vehicle, c->precision);
		buf_printf(out, "# %s\n", c->title);
		size_t before = out->len;
		int n = lp_record(&ctx, out, c->t, c->unsynced, (uint8_t *)payload.p, payload.len, ends,
				  st);
		CHECK(n >= 0);
		if (n > 0)
			CHECK_INT(ends[n - 1], ==, out->len);
		if (n == 0)
			CHECK_INT(out->len, ==, before);
	}
	buf_free(&payload);
}

static void
test_lp_golden(void)
{
	struct buf out;
	struct lp_stats st = {0};
	buf_init(&out);
	render(&out, &st);
	const char *path = t_src("deliver/testdata/lp.golden");
	if (getenv("LEAFMON_UPDATE_GOLDEN") != NULL) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		fwrite(out.p, 1, out.len, f);
		fclose(f);
	}
	size_t len;
	char *want = file_read_str(path, 1 << 20, &len);
	CHECK(want != NULL);
	CHECK_STR(buf_str(&out), want);
	CHECK_INT(st.unknown, ==, 1);
	CHECK_INT(st.unpublished, ==, 1);
	CHECK_INT(st.nonfinite, ==, 2);
	free(want);
	buf_free(&out);
}

static void
test_lp_malformed_payload(void)
{
	struct lp_ctx ctx;
	struct lp_stats st = {0};
	struct buf out;
	uint8_t junk[5] = {1, 0, 9, 0, 0};
	buf_init(&out);
	lp_init(&ctx, "x", PREC_MS);
	CHECK_INT(lp_record(&ctx, &out, 0, false, junk, sizeof(junk), NULL, &st), ==, -1);
	CHECK_INT(st.malformed, ==, 1);
	CHECK_INT(out.len, ==, 0);
	buf_free(&out);
}

static void
test_lp_timestamp_floor(void)
{
	struct lp_ctx c;
	lp_init(&c, "x", PREC_MS);
	CHECK_INT(lp_timestamp(&c, 1999999), ==, 1);
	CHECK_INT(lp_timestamp(&c, -1), ==, -1);
	CHECK_INT(lp_timestamp(&c, -1000000), ==, -1);
	CHECK_INT(lp_timestamp(&c, -1000001), ==, -2);
	lp_init(&c, "x", PREC_S);
	CHECK_INT(lp_timestamp(&c, T0), ==, 1700000000);
}

static void
test_lp_escape_tag(void)
{
	char b[16];
	CHECK_INT(lp_escape_tag(b, sizeof(b), "a b,c=d"), ==, 10);
	CHECK_STR(b, "a\\ b\\,c\\=d");
	CHECK_INT(lp_escape_tag(b, 4, "a b,"), ==, -1);
}

/* The printf-free float path must agree with sig_format_lp to the byte. */
static void
test_lp_fast_float_matches_printf(void)
{
	const struct sig_info *s = sig_by_id(SIG_battery_voltage_v);
	static const double scales[] = {0.1, 0.5, 0.25, 0.01, 0.001, 0.05, 1.0 / 3, 0.08, 0.0625,
					0.2, 1e-4, 7.5, 0.3, 1e-6};
	char a[64], b[96];
	uint64_t fast = 0, total = 0;
	srand(1);
	for (int i = 0; i < 400000; i++) {
		double v;
		int kind = i % 4;
		long r = (long)rand() - RAND_MAX / 2;
		if (kind == 0)
			v = (double)r / pow(10, i % 9);
		else if (kind == 1)
			v = (double)(r % 100000) * scales[i % (int)(sizeof(scales) / sizeof(scales[0]))];
		else if (kind == 2) {
			uint64_t bits = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand();
			memcpy(&v, &bits, 8);
		} else
			v = ((double)r + (double)(i % 7) / 10) * pow(10, (i % 40) - 20);
		int n = lp_fast_float(v, a);
		if (n < 0)
			continue;
		a[n] = '\0';
		total++;
		int m = sig_format_lp(s, v, b, sizeof(b));
		CHECK(m >= 0);
		if (strcmp(a, b) != 0)
			t_fail(__FILE__, __LINE__, "%.17g: fast '%s' printf '%s'", v, a, b);
		fast++;
	}
	const double edges[] = {1e-4, -1e-4, 0.00011, 9.9999e-5, 999999999999999.0, 1e15, -0.0, 0.0,
				 123456789012345.6, 0.1 + 0.2, 350.1, 1e-4 * 3};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		int n = lp_fast_float(edges[i], a);
		if (n < 0)
			continue;
		a[n] = '\0';
		CHECK(sig_format_lp(s, edges[i], b, sizeof(b)) >= 0);
		CHECK_STR(a, b);
	}
	CHECK(fast > 150000); /* the fast path is the common one */
	(void)total;
}

T_MAIN(T(test_lp_golden), T(test_lp_fast_float_matches_printf), T(test_lp_malformed_payload), T(test_lp_timestamp_floor),
       T(test_lp_escape_tag))
