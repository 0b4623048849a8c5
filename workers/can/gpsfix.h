/*
 * GPS fixes into position signals (pure; gps.c feeds it from gpsd). At most
 * one report a second, and only with a fix: a report without one publishes
 * nothing, except that losing a fix is said once (position_fix = none), so
 * the snapshot never shows a fix that is gone.
 */
#ifndef LEAFMON_GPSFIX_H
#define LEAFMON_GPSFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define GPS_PUBLISH_NS (1000LL * 1000 * 1000)
#define GPS_MAX_UPDATES 6

/* One report as gpsd gives it (NAN where it has no value). */
struct gps_report {
	int mode;	 /* gpsd's: 0 not seen, 1 no fix, 2 2D, 3 3D */
	double lat, lon; /* degrees */
	double alt_m;	 /* mean sea level */
	double speed_ms; /* over ground */
	double track_deg;
};

struct gps_pub {
	int64_t last_ns; /* when the last updates went out (0: never) */
	bool had_fix;
	uint64_t fixes, no_fix, published;
};

/* The updates for report r at time t (monotonic), n <= GPS_MAX_UPDATES. */
size_t gps_pub_report(struct gps_pub *p, const struct gps_report *r, int64_t t,
		      struct sig_update *u);

#endif
