/*
 * Golden decode summaries: per-signal count/min/max/last and the health
 * counters for one log per generation (our own derived numbers, never log
 * excerpts), compared with workers/can/golden/NAME.summary. After a
 * deliberate decoder change: LEAFMON_GOLDEN_UPDATE=1 ctest -R can_golden,
 * then review the diff.
 */
#include <stdlib.h>

#include "canframe.h"
#include "decode_run.h"
#include "logfmt.h"
#include "t.h"
#include "util.h"

static void
golden(const char *rel, int bus, const char *name)
{
	const char *path = t_data(rel);
	struct decode_opts o;
	char *text = NULL, gpath[512], *want;
	size_t len = 0;
	FILE *mem;

	if (path == NULL)
		return;
	decode_opts_init(&o);
	o.bus = bus;
	o.samples = false;
	o.summary = true;
	mem = open_memstream(&text, &len);
	CHECK(mem != NULL);
	CHECK(decode_file(path, &o, mem, stderr) == 0);
	fclose(mem);
	snprintf(gpath, sizeof(gpath), "%s", t_src("workers/can/golden/"));
	strncat(gpath, name, sizeof(gpath) - strlen(gpath) - 10);
	strcat(gpath, ".summary");
	if (getenv("LEAFMON_GOLDEN_UPDATE") != NULL)
		CHECK(file_write_atomic(gpath, text, len, 0644) == 0);
	want = file_read_str(gpath, 1 << 20, NULL);
	CHECK(want != NULL);
	if (strcmp(want, text) != 0) {
		fprintf(stderr, "--- got for %s:\n%s", name, text);
		t_fail(__FILE__, __LINE__, "%s differs from %s", rel, gpath);
	}
	free(want);
	free(text);
}

static void
test_golden_ze0(void)
{
	golden("logs/ze0_2011-2012/ZE0w24kWhstock.log", BUS_EV, "ze0_stock");
}

static void
test_golden_aze0(void)
{
	golden("logs/aze0_2013-2017/ch1_20250804_161600_bypass.csv", BUS_EV, "aze0_bypass");
}

static void
test_golden_aze0_carcan(void)
{
	golden("logs/aze0_2013-2017/ch1_20260611_203534_leaf2016_leafspy_soh_fix_needed.csv",
	       BUS_CAR, "aze0_2016_carcan");
}

static void
test_golden_ze1(void)
{
	golden("logs/ze1_2018plus/EV-CANepluseco.log", BUS_EV, "ze1_eplus_eco");
}

static void
test_golden_ze1_qc(void)
{
	golden("logs/ze1_2018plus/ZE1-chademo-starting-and-charging.csv", BUS_QC, "ze1_qccan");
}

static void
test_golden_env200(void)
{
	golden("logs/env200/env200-2015-with-40kWh-startup-nobridge.crtd", BUS_EV, "env200_crtd");
	golden("logs/env200/ME0_40kWh_IGN.log", BUS_EV, "env200_40kwh");
}

T_MAIN(T(test_golden_ze0), T(test_golden_aze0), T(test_golden_aze0_carcan), T(test_golden_ze1),
       T(test_golden_ze1_qc), T(test_golden_env200))
