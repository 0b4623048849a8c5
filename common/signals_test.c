/* The signal table: ids unique and indexed, names snake_case with a unit,
 * enum labels round-trip, formatting for JSON and line protocol. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signals.h"
#include "t.h"

static void
test_signals_ids_unique_and_indexed(void)
{
	CHECK(sig_count > 150);
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *s = &sig_table[i];
		CHECK_INT(s->id, <, SIG_ID_MAX);
		CHECK(sig_by_id(s->id) == s);
		CHECK(sig_by_name(s->name) == s);
		for (const char *p = s->name; *p; p++)
			CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_');
		CHECK((s->type == ST_ENUM) == (s->labels != NULL));
	}
	CHECK(sig_by_id(0) == NULL);
	CHECK(sig_by_id(255) == NULL);
	CHECK(sig_by_id(100000) == NULL);
	CHECK(sig_by_name("no_such_signal") == NULL);
}

static void
test_signals_design_catalogue_present(void)
{
	static const char *const must[] = {
	    "battery_current_a", "battery_voltage_v", "battery_power_kw", "battery_soc_pct",
	    "battery_gids", "battery_energy_in_kwh", "motor_rpm", "inverter_temp_c",
	    "vehicle_speed_kmh", "vehicle_gear", "vehicle_generation", "charge_status",
	    "charge_qc_current_a", "climate_power_kw", "cells_voltage_delta_mv", "battery_ah",
	    "can_bus_asleep", "can_frames_per_s"};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		CHECK(sig_by_name(must[i]) != NULL);
	CHECK_STR(sig_group_name(sig_by_name("battery_voltage_v")->group), "battery");
	CHECK_STR(sig_group_name(sig_by_name("cell_042_mv")->group), "cell");
}

static void
test_signals_enum_labels(void)
{
	const struct sig_info *g = sig_by_id(SIG_vehicle_gear);
	char buf[32];
	CHECK_STR(sig_enum_label(g, 0, buf, sizeof(buf)), "P");
	CHECK_STR(sig_enum_label(g, 4, buf, sizeof(buf)), "B");
	CHECK(sig_enum_label(g, 5, buf, sizeof(buf)) == NULL);
	CHECK(sig_enum_label(g, 1.5, buf, sizeof(buf)) == NULL);
	CHECK(sig_enum_label(g, -1, buf, sizeof(buf)) == NULL);
	CHECK_INT(sig_enum_index(g, "D"), ==, 3);
	CHECK_INT(sig_enum_index(g, "X"), ==, -1);
	const struct sig_info *gen = sig_by_id(SIG_vehicle_generation);
	CHECK_INT(sig_enum_index(gen, "AZE0"), ==, 1);
	CHECK_INT(sig_enum_index(gen, "ZE"), ==, -1);
}

static void
test_signals_format(void)
{
	char buf[64];
	CHECK_INT(sig_format_lp(sig_by_id(SIG_battery_voltage_v), 380, buf, sizeof(buf)), >, 0);
	CHECK_STR(buf, "380.0");
	sig_format_lp(sig_by_id(SIG_battery_voltage_v), 380.5, buf, sizeof(buf));
	CHECK_STR(buf, "380.5");
	sig_format_lp(sig_by_id(SIG_battery_gids), 281, buf, sizeof(buf));
	CHECK_STR(buf, "281i");
	sig_format_lp(sig_by_id(SIG_vehicle_ready), 1, buf, sizeof(buf));
	CHECK_STR(buf, "true");
	sig_format_lp(sig_by_id(SIG_vehicle_gear), 3, buf, sizeof(buf));
	CHECK_STR(buf, "\"D\"");
	sig_format_json(sig_by_id(SIG_battery_voltage_v), 380, buf, sizeof(buf));
	CHECK_STR(buf, "380");
	sig_format_json(sig_by_id(SIG_battery_soc_pct), 57.1, buf, sizeof(buf));
	CHECK_STR(buf, "57.1");
	CHECK_INT(sig_format_json(sig_by_id(SIG_battery_soc_pct), NAN, buf, sizeof(buf)), ==, -1);
	CHECK_INT(sig_format_lp(sig_by_id(SIG_battery_soc_pct), 1.0 / 3, buf, 4), ==, -1);
}

/* The printf-free JSON values agree with printf ("%.15g", "%.0f") to the
 * byte, for the decimals a decoder's scales give and for any double. */
static void
test_signals_json_fast_matches_printf(void)
{
	static const double scales[] = {0.1, 0.5, 0.25, 0.01, 0.001, 0.05, 1.0 / 3, 0.08, 0.0625,
					0.2, 1e-4, 7.5, 0.3, 1e-6, 1, 1000};
	const struct sig_info *fl = sig_by_id(SIG_battery_voltage_v);
	const struct sig_info *in = sig_by_id(SIG_battery_gids);
	const struct sig_info *bo = sig_by_id(SIG_vehicle_ready);
	char a[64], b[64];
	int fast = 0;

	srand(7);
	for (int i = 0; i < 300000; i++) {
		double v;
		long r = (long)rand() - RAND_MAX / 2;
		if (i % 3 == 0)
			v = (double)(r % 1000000) * scales[i % (int)(sizeof(scales) / sizeof(scales[0]))];
		else if (i % 3 == 1)
			v = (double)r / pow(10, i % 9);
		else {
			uint64_t bits = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand();
			memcpy(&v, &bits, 8);
		}
		if (!isfinite(v))
			continue;
		CHECK(sig_format_json(fl, v, a, sizeof(a)) > 0);
		snprintf(b, sizeof(b), "%.15g", v);
		if (strcmp(a, b) != 0)
			t_fail(__FILE__, __LINE__, "%.17g: '%s', printf '%s'", v, a, b);
		fast += sig_short_float(v, b, false) >= 0;
		if (fabs(v) > 1e40)
			continue; /* "%.0f" needs more than the buffer */
		CHECK(sig_format_json(in, v, a, sizeof(a)) > 0);
		snprintf(b, sizeof(b), "%.0f", v);
		if (strcmp(a, b) != 0)
			t_fail(__FILE__, __LINE__, "int %.17g: '%s', printf '%s'", v, a, b);
	}
	CHECK(fast > 150000); /* the decoders' values take the fast path */
	const double edges[] = {0.0, -0.0, 1e-4, -1e-4, 9.9999e-5, 1e15, 999999999999999.0, -2.5,
				0.5, 1.5, 0.1 + 0.2, 350.1, 4503599627370497.0};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		sig_format_json(fl, edges[i], a, sizeof(a));
		snprintf(b, sizeof(b), "%.15g", edges[i]);
		CHECK_STR(a, b);
		sig_format_json(in, edges[i], a, sizeof(a));
		snprintf(b, sizeof(b), "%.0f", edges[i]);
		CHECK_STR(a, b);
		sig_format_lp(in, edges[i], a, sizeof(a));
		snprintf(b, sizeof(b), "%.0fi", edges[i]);
		CHECK_STR(a, b);
	}
	sig_format_json(bo, 0, a, sizeof(a));
	CHECK_STR(a, "false");
	CHECK_INT(sig_format_json(fl, 380.25, a, 6), ==, -1); /* the small buffer still refused */
	CHECK_INT(sig_format_json(fl, 380.25, a, 7), ==, 6);
	CHECK_STR(a, "380.25");
}

T_MAIN(T(test_signals_ids_unique_and_indexed), T(test_signals_design_catalogue_present),
       T(test_signals_enum_labels), T(test_signals_format), T(test_signals_json_fast_matches_printf))
