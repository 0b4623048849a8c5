/*
 * fuzz_influxql: InfluxDB's /query answer (outside input: whatever answers
 * on the configured URL) through the JSON scanner into a history grid.
 * A rejection must say why; an accepted answer leaves only finite values
 * (or NaN) in the grid, also once carried forward (fill(previous) with the
 * seeds of rows before the grid), and the grid renders as JSON and CSV.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "influxql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const names =
	    "battery_soc_pct,vehicle_gear,battery_gids,charge_active,vehicle_speed_kmh";
	const struct sig_info *s[WPARAM_MAX_SIGNALS];
	struct wparam_err e;
	struct wrange r;
	struct hgrid g;
	char err[200];
	int n;
	if (wparam_signals(names, s, WPARAM_MAX_SIGNALS, &n, &e) < 0 ||
	    wparam_range("0", "3600", "60", NULL, 0, 5000, &r, &e) < 0 || hgrid_init(&g, &r, s, n) < 0)
		abort();
	g.carry_ms = 150 * 1000;
	if (influxql_parse((const char *)data, len, &g, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
	} else {
		hgrid_fill_previous(&g, 1800 * 1000);
		for (size_t i = 0; i < g.r.nrows * (size_t)g.nsig; i++)
			if (isinf(g.v[i]))
				abort();
		struct buf b;
		buf_init(&b);
		hgrid_json(&g, "influx", NULL, &b);
		hgrid_csv_header(&g, &b);
		for (size_t row = 0; row < g.r.nrows; row++)
			hgrid_csv_row(&g, row, &b);
		buf_free(&b);
	}
	hgrid_free(&g);
	return 0;
}
