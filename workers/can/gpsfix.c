/*
 * GPS reports into position signals (gpsfix.h).
 */
#include "gpsfix.h"

#include <math.h>

#define FIX_NONE 0 /* position_fix labels: none, 2d, 3d */
#define FIX_2D 1
#define FIX_3D 2

static size_t
add(struct sig_update *u, size_t n, uint16_t id, double v)
{
	if (!isfinite(v))
		return n;
	u[n].id = id;
	u[n].value = v;
	return n + 1;
}

static bool
plausible(const struct gps_report *r)
{
	return isfinite(r->lat) && isfinite(r->lon) && fabs(r->lat) <= 90 && fabs(r->lon) <= 180;
}

size_t
gps_pub_report(struct gps_pub *p, const struct gps_report *r, int64_t t, struct sig_update *u)
{
	size_t n = 0;
	bool fix = r->mode >= 2 && plausible(r);

	if (!fix) {
		p->no_fix++;
		if (!p->had_fix)
			return 0;
		p->had_fix = false; /* said once: the fix is gone */
		p->last_ns = t;
		p->published++;
		return add(u, 0, SIG_position_fix, FIX_NONE);
	}
	p->fixes++;
	if (p->had_fix && p->last_ns != 0 && t - p->last_ns < GPS_PUBLISH_NS)
		return 0;
	n = add(u, n, SIG_position_lat_deg, r->lat);
	n = add(u, n, SIG_position_lon_deg, r->lon);
	if (r->mode >= 3)
		n = add(u, n, SIG_position_alt_m, r->alt_m);
	if (isfinite(r->speed_ms) && r->speed_ms >= 0)
		n = add(u, n, SIG_position_speed_kmh, r->speed_ms * 3.6);
	if (isfinite(r->track_deg) && r->track_deg >= 0 && r->track_deg < 360)
		n = add(u, n, SIG_position_heading_deg, r->track_deg);
	n = add(u, n, SIG_position_fix, r->mode >= 3 ? FIX_3D : FIX_2D);
	p->had_fix = true;
	p->last_ns = t;
	p->published++;
	return n;
}
