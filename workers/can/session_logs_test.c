/*
 * `decode --sessions` on the real logs (read at run time; skipped when
 * ../shared/data/leaf is absent), against references computed here from the
 * raw frames, independently of the decoder and the session module: V x I
 * of 0x1DB and the mean 0x284 wheel speed, integrated by the trapezoid rule
 * over the log's clock (steps over 250 ms left out, as a silent bus). The
 * ZE1 quick-charge log gives one QC whose kWh into the pack is the integral
 * within 1 %; each ZE1 e+ drive log one trip whose energy is within 1 % and
 * whose distance within 2 %; the parked logs no trip, charge or park. Each
 * log's figures are printed beside its reference.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_run.h"
#include "logfmt.h"
#include "logread.h"
#include "t.h"

#define STEP_MAX_NS 250000000LL

struct ref {
	double in_kwh, out_kwh; /* V x I into and out of the pack */
	double dist_km;
	int64_t last_p_t, last_v_t;
	double last_p, last_v;
};

/* CRC-8, polynomial 0x85, over d0..d6 (LEAF-CAN.md), bit by bit. */
static uint8_t
crc85(const uint8_t *d, int n)
{
	uint8_t c = 0;

	for (int i = 0; i < n; i++) {
		c ^= d[i];
		for (int b = 0; b < 8; b++)
			c = (uint8_t)(c & 0x80 ? (c << 1) ^ 0x85 : c << 1);
	}
	return c;
}

/* Trapezoid step of x(t); the in/out split is by the sign of each step. */
static double
trapezoid(int64_t *lt, double *lv, int64_t t, double v)
{
	double area = 0;

	if (*lt != 0 && t > *lt && t - *lt <= STEP_MAX_NS)
		area = (*lv + v) / 2 * (double)(t - *lt) / 1e9;
	*lt = t ? t : 1;
	*lv = v;
	return area;
}

static void
ref_frame(struct ref *r, const struct can_rec *f)
{
	const uint8_t *d = f->data;

	if (f->id == 0x1DB && f->len == 8 && crc85(d, 7) == d[7]) {
		int raw_i = (d[0] << 3) | (d[1] >> 5), raw_v = (d[2] << 2) | (d[3] >> 6);
		if (raw_i == 0x3FF || raw_v == 0x3FF)
			return;
		if (raw_i & 0x400)
			raw_i -= 0x800;
		/* raw current is positive into the pack */
		double kws =
		    trapezoid(&r->last_p_t, &r->last_p, f->t_ns, raw_i * 0.5 * raw_v * 0.5 / 1000);
		if (kws > 0)
			r->in_kwh += kws / 3600;
		else
			r->out_kwh -= kws / 3600;
	} else if (f->id == 0x284 && f->len >= 4) {
		unsigned fr = (unsigned)(d[0] << 8 | d[1]), fl = (unsigned)(d[2] << 8 | d[3]);
		if (fr != 0xFFFF && fl != 0xFFFF)
			r->dist_km +=
			    trapezoid(&r->last_v_t, &r->last_v, f->t_ns, (fr + fl) * 0.005 / 2) /
			    3600;
	}
}

static void
reference(const char *path, struct ref *r)
{
	struct logread lr;
	struct can_rec f;
	int k;

	memset(r, 0, sizeof(*r));
	CHECK(logread_open(&lr, path, LF_AUTO, BUS_EV, 0) == 0);
	while ((k = logread_next(&lr, &f)) != 0)
		if (k > 0)
			ref_frame(r, &f);
	logread_close(&lr);
}

/* decode --sessions --json of the log, as text (caller frees). */
static char *
sessions_of(const char *path)
{
	struct decode_opts o;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len), *nul = fopen("/dev/null", "w");

	decode_opts_init(&o);
	o.sessions = true;
	o.json = true;
	o.samples = false;
	CHECK(decode_file(path, &o, out, nul) == 0);
	fclose(out);
	fclose(nul);
	return text;
}

static int
count_kind(const char *text, const char *kind)
{
	char pat[64];
	int n = 0;

	snprintf(pat, sizeof(pat), "{\"kind\":\"%s\"", kind);
	for (const char *p = text; (p = strstr(p, pat)) != NULL; p++)
		n++;
	return n;
}

/* A figure of the first session of a kind, NAN when absent. */
static double
figure(const char *text, const char *kind, const char *key)
{
	char pat[64];
	const char *line, *eol, *p;

	snprintf(pat, sizeof(pat), "{\"kind\":\"%s\"", kind);
	if ((line = strstr(text, pat)) == NULL)
		return NAN;
	eol = strchr(line, '\n');
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p != NULL && (eol == NULL || p < eol) ? strtod(p + strlen(pat), NULL) : NAN;
}

static void
test_session_logs_qc(void)
{
	const char *path = t_data("logs/ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt");
	struct ref r;
	char *s;
	double in, pack;

	if (path == NULL)
		return;
	reference(path, &r);
	s = sessions_of(path);
	CHECK_INT(count_kind(s, "charge"), ==, 1);
	CHECK_INT(count_kind(s, "trip"), ==, 0);
	CHECK(strstr(s, "\"charge_type\":\"qc\"") != NULL);
	in = figure(s, "charge", "energy_in_kwh");
	pack = figure(s, "charge", "pack_kwh");
	printf("     QC log: session in %.4f kWh, pack (net) %.4f kWh, charger %.4f kWh; "
	       "reference V x I in %.4f kWh, net %.4f kWh (%+.2f %%)\n",
	       in, pack, figure(s, "charge", "grid_kwh"), r.in_kwh, r.in_kwh - r.out_kwh,
	       (in / r.in_kwh - 1) * 100);
	CHECK(fabs(in / r.in_kwh - 1) < 0.01);
	CHECK(fabs(pack / (r.in_kwh - r.out_kwh) - 1) < 0.01);
	free(s);
}

static void
drive(const char *rel)
{
	const char *path = t_data(rel);
	struct ref r;
	char *s;
	double out, in, km;

	if (path == NULL)
		return;
	reference(path, &r);
	s = sessions_of(path);
	CHECK_INT(count_kind(s, "trip"), ==, 1);
	CHECK_INT(count_kind(s, "charge"), ==, 0);
	out = figure(s, "trip", "energy_out_kwh");
	in = figure(s, "trip", "energy_in_kwh");
	km = figure(s, "trip", "distance_km");
	printf("     %s: trip out %.4f kWh in %.4f kWh %.4f km; reference out %.4f (%+.2f %%) "
	       "in %.4f kWh, wheel speed %.4f km (%+.2f %%)\n",
	       strrchr(rel, '/') + 1, out, in, km, r.out_kwh, (out / r.out_kwh - 1) * 100, r.in_kwh,
	       r.dist_km, (km / r.dist_km - 1) * 100);
	CHECK(fabs(out / r.out_kwh - 1) < 0.01);
	CHECK(fabs(in / r.in_kwh - 1) < 0.03); /* a few Wh: the 1 Wh rounding of the JSON counts */
	CHECK(fabs(km / r.dist_km - 1) < 0.02);
	CHECK(strstr(s, "\"partial\":true") != NULL); /* it starts and ends mid-drive */
	free(s);
}

static void
test_session_logs_ze1_drives(void)
{
	drive("logs/ze1_2018plus/EV-CANeplus2.log");
	drive("logs/ze1_2018plus/EV-CANeplus3.log");
	drive("logs/ze1_2018plus/EV-CANepluseco.log");
}

static void
test_session_logs_parked_give_none(void)
{
	static const char *const logs[] = {
	    "logs/ze0_2011-2012/ZE0w24kWhstock.log",
	    "logs/ze0_2011-2012/ZE0_Shift_P_D_ECO_N.log",
	    "logs/ze0_2011-2012/ch1_20251127_195942_leaf_ze0_leafspy.csv",
	    "logs/ze0_2011-2012/10bars.csv",
	    "logs/aze0_2013-2017/ch1_20250804_161600_bypass.csv",
	    "logs/aze0_2013-2017/ch1_20260611_203534_leaf2016_leafspy_soh_fix_needed.csv",
	    "logs/ze1_2018plus/EV_can-bus_from_62_ZE1.txt",
	    "logs/ze1_2018plus/62kWh-Battery-only-EVcan.txt",
	    "logs/env200/ME0_40kWh_IGN.log",
	    "logs/env200/env200-2015-with-40kWh-startup-nobridge.crtd",
	};

	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		const char *path = t_data(logs[i]);
		char *s;
		if (path == NULL)
			return;
		s = sessions_of(path);
		if (count_kind(s, "trip") + count_kind(s, "charge") + count_kind(s, "park") != 0)
			t_fail(__FILE__, __LINE__, "%s gave sessions:\n%s", logs[i], s);
		CHECK_INT(count_kind(s, "battery_daily"), ==, 1);
		free(s);
	}
}

T_MAIN(T(test_session_logs_qc), T(test_session_logs_ze1_drives),
       T(test_session_logs_parked_give_none))
