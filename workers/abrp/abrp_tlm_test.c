/*
 * ABRP's pure part: the record from snapshot slots, the rate rules on frame
 * time, the JSON's types and the form encoding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abrp_tlm.h"
#include "config.h"
#include "signals.h"
#include "t.h"

#define S(x) ((int64_t)(x)*1000000000LL)

static struct abrp_in in[SIG_ID_MAX];

static void
set(unsigned id, double v, int64_t t)
{
	in[id] = (struct abrp_in){.have = true, .value = v, .t_ns = t, .flags = SNAP_VALID};
}

/* A car driving at speed kmh at time t, SOC soc. */
static void
driving(int64_t t, double kmh, double soc)
{
	memset(in, 0, sizeof(in));
	set(SIG_battery_soc_pct, soc, t);
	set(SIG_battery_power_kw, 12.5, t);
	set(SIG_vehicle_speed_kmh, kmh, t);
	set(SIG_vehicle_gear, 3, t); /* D */
	set(SIG_vehicle_ready, 1, t);
	set(SIG_charge_status, 0, t); /* idle */
	set(SIG_can_bus_asleep, 0, t - S(100));
}

static void
test_abrp_fields_match_the_config_list(void)
{
	CHECK_INT((long)config_abrp_nfields, ==, AF_COUNT);
	CHECK_STR(abrp_field_name(AF_EST_BATTERY_RANGE), "est_battery_range");
	CHECK_STR(abrp_field_name(AF_HVAC_POWER), "hvac_power");
	uint32_t m = abrp_field_mask("power, speed", false);
	CHECK(m == (1u << AF_UTC | 1u << AF_SOC | 1u << AF_POWER | 1u << AF_SPEED));
	CHECK((abrp_field_mask("", false) & (1u << AF_LAT)) == 0);
	CHECK((abrp_field_mask("", true) & (1u << AF_LAT)) != 0);
	CHECK((abrp_field_mask("lat,lon", false) & (1u << AF_LAT)) == 0); /* location off */
}

static void
test_abrp_record_from_the_snapshot(void)
{
	struct abrp_tlm t;
	int64_t now = S(1700000000);

	driving(now, 50, 61.3);
	set(SIG_battery_soc_dash_pct, 62, now);
	set(SIG_climate_cabin_c, 21, now);		    /* provisional: never sent */
	set(SIG_vehicle_odometer_km, 12345.6, now - S(20)); /* not fresh */
	set(SIG_position_lat_deg, 52.5, now);
	set(SIG_position_lon_deg, 13.4, now);
	set(SIG_position_fix, 0, now); /* no fix: no location */
	in[SIG_climate_ambient_c] = (struct abrp_in){true, 7.5, now, SNAP_VALID | SNAP_STALE};
	abrp_tlm_from(&t, in);
	CHECK(t.t_ns == now && !t.asleep);
	CHECK(t.have[AF_SOC] && t.v[AF_SOC] == 62); /* the dash SOC, as ABRP prefers */
	CHECK(t.have[AF_IS_PARKED] && t.v[AF_IS_PARKED] == 0);
	CHECK(t.have[AF_IS_CHARGING] && t.v[AF_IS_CHARGING] == 0);
	CHECK(!t.have[AF_CABIN_TEMP] && !t.have[AF_ODOMETER] && !t.have[AF_EXT_TEMP]);
	CHECK(!t.have[AF_LAT]);
	set(SIG_position_fix, 2, now);
	abrp_tlm_from(&t, in);
	CHECK(t.have[AF_LAT] && t.have[AF_LON] && t.v[AF_LON] == 13.4);
	/* quick charging: charging, dcfc, parked */
	set(SIG_charge_status, 4, now);
	set(SIG_vehicle_gear, 0, now);
	set(SIG_battery_power_kw, -40, now);
	abrp_tlm_from(&t, in);
	CHECK(t.v[AF_IS_CHARGING] == 1 && t.v[AF_IS_DCFC] == 1 && t.v[AF_IS_PARKED] == 1);
}

static int
due_at(struct abrp_rate *r, int64_t t, double kmh, double soc)
{
	struct abrp_tlm tl;
	driving(t, kmh, soc);
	abrp_tlm_from(&tl, in);
	int why = abrp_due(r, &tl);
	if (why != AR_NONE)
		abrp_sent(r, &tl, why);
	return why;
}

static void
test_abrp_rate_rules_on_frame_time(void)
{
	struct abrp_rate r = {0};
	int64_t t0 = S(1000);
	int n = 0;

	CHECK_INT(due_at(&r, t0, 50, 60), ==, AR_FIRST);
	/* above 30 km/h: every 5 s of frame time, however often it is asked */
	for (int64_t t = t0 + S(1) / 4; t <= t0 + S(60); t += S(1) / 4)
		n += due_at(&r, t, 50, 60) == AR_FAST;
	CHECK_INT(n, ==, 12);
	/* asked every 0.75 s (a 250 ms poll of a 3x replay): still 12 a minute */
	n = 0;
	int64_t ta = t0 + S(60);
	for (int64_t t = ta + S(3) / 4; t <= ta + S(60) + S(1) / 2; t += S(3) / 4)
		n += due_at(&r, t, 50, 60) == AR_FAST;
	CHECK_INT(n, ==, 12);
	t0 += S(60);
	/* slower: every 160 s while driving */
	n = 0;
	int64_t t1 = t0 + S(60);
	for (int64_t t = t1 + S(1); t <= t1 + S(480); t += S(1))
		n += due_at(&r, t, 20, 60) == AR_DRIVING;
	CHECK_INT(n, ==, 3);
	/* a SOC step of a whole percent goes at once */
	CHECK_INT(due_at(&r, t1 + S(481), 20, 59.5), ==, AR_NONE);
	CHECK_INT(due_at(&r, t1 + S(482), 20, 59.0), ==, AR_SOC);
	/* parked: once at the change, then every 30 min */
	struct abrp_tlm tl;
	int64_t t2 = t1 + S(500);
	driving(t2, 0, 59);
	set(SIG_vehicle_gear, 0, t2);
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_PARKED);
	abrp_sent(&r, &tl, AR_PARKED);
	n = 0;
	for (int64_t t = t2 + S(10); t <= t2 + S(3600); t += S(10)) {
		driving(t, 0, 59);
		set(SIG_vehicle_gear, 0, t);
		abrp_tlm_from(&tl, in);
		int why = abrp_due(&r, &tl);
		if (why != AR_NONE) {
			CHECK_INT(why, ==, AR_PARKED_INTERVAL);
			abrp_sent(&r, &tl, why);
			n++;
		}
	}
	CHECK_INT(n, ==, 2);
	/* the bus asleep: nothing, ever */
	driving(t2 + S(9000), 0, 59);
	set(SIG_can_bus_asleep, 1, t2 + S(9000));
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_NONE);
}

static void
test_abrp_charge_power_steps(void)
{
	struct abrp_rate r = {0};
	struct abrp_tlm tl;
	int64_t t = S(5000);

	driving(t, 0, 40);
	set(SIG_charge_status, 3, t);
	set(SIG_vehicle_gear, 0, t);
	set(SIG_battery_power_kw, -6.0, t);
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_FIRST);
	abrp_sent(&r, &tl, AR_FIRST);
	set(SIG_battery_power_kw, -6.8, t + S(3));
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_NONE);
	set(SIG_battery_power_kw, -4.9, t + S(6));
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_POWER);
	abrp_sent(&r, &tl, AR_POWER);
	set(SIG_charge_status, 6, t + S(9)); /* finished */
	set(SIG_battery_power_kw, 0, t + S(9));
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_CHARGING);
	/* no SOC, nothing */
	in[SIG_battery_soc_pct].have = false;
	abrp_tlm_from(&tl, in);
	CHECK_INT(abrp_due(&r, &tl), ==, AR_NONE);
}

static void
test_abrp_json_and_form(void)
{
	struct abrp_tlm tl;
	struct buf b, f, u;
	int64_t t = S(1700000000) + 123456789;

	driving(t, 0.01, 55.55);
	set(SIG_battery_power_kw, -0.001, t);
	set(SIG_battery_temp_avg_c, 18.25, t);
	abrp_tlm_from(&tl, in);
	buf_init(&b);
	abrp_json(&b, &tl, abrp_field_mask("", false));
	CHECK_STR(buf_str(&b),
		  "{\"utc\":1700000000,\"soc\":55.5,\"power\":0.00,\"speed\":0.0,"
		  "\"is_charging\":0,\"is_dcfc\":0,\"is_parked\":0,\"batt_temp\":18.2}");
	buf_init(&f);
	abrp_form(&f, "{\"a\":1, \"b\":\"x&y\"}");
	CHECK_STR(buf_str(&f), "tlm=%7B%22a%22%3A1%2C%20%22b%22%3A%22x%26y%22%7D");
	buf_init(&u);
	abrp_url(&u, "http://127.0.0.1:9/1/tlm/send", "k e+y", "t/o=k");
	CHECK_STR(buf_str(&u), "http://127.0.0.1:9/1/tlm/send?api_key=k%20e%2By&token=t%2Fo%3Dk");
	CHECK(abrp_reply_ok("{\"status\": \"ok\"}"));
	CHECK(abrp_reply_ok("{\"status\":\"ok\",\"missing\":[]}"));
	CHECK(!abrp_reply_ok("{\"status\": \"error\", \"errors\": [\"bad token\"]}"));
	CHECK(!abrp_reply_ok(""));
	CHECK(!abrp_reply_ok(NULL));
	buf_free(&b);
	buf_free(&f);
	buf_free(&u);
}

T_MAIN(T(test_abrp_fields_match_the_config_list), T(test_abrp_record_from_the_snapshot),
       T(test_abrp_rate_rules_on_frame_time), T(test_abrp_charge_power_steps),
       T(test_abrp_json_and_form))
