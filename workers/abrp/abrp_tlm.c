/*
 * ABRP telemetry, the pure part (abrp_tlm.h): snapshot slots -> record,
 * the rate rules, the JSON and the URL-encoded request.
 */
#include "abrp_tlm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "signals.h"

/* Each field's name and decimals; the names are config_abrp_fields[]. */
static const int decimals[AF_COUNT] = {
    [AF_UTC] = 0,	 [AF_SOC] = 1,	       [AF_POWER] = 2,
    [AF_SPEED] = 1,	 [AF_IS_CHARGING] = 0, [AF_IS_DCFC] = 0,
    [AF_IS_PARKED] = 0,	 [AF_LAT] = 6,	       [AF_LON] = 6,
    [AF_ELEVATION] = 1,	 [AF_HEADING] = 1,     [AF_CAPACITY] = 2,
    [AF_SOE] = 2,	 [AF_SOH] = 1,	       [AF_EXT_TEMP] = 1,
    [AF_BATT_TEMP] = 1,	 [AF_CABIN_TEMP] = 1,  [AF_VOLTAGE] = 1,
    [AF_CURRENT] = 1,	 [AF_ODOMETER] = 1,    [AF_EST_BATTERY_RANGE] = 1,
    [AF_HVAC_POWER] = 2,
};

/* Fields that are one signal's value as it is. */
static const struct {
	int field;
	unsigned sig;
} direct[] = {
    {AF_POWER, SIG_battery_power_kw},
    {AF_SPEED, SIG_vehicle_speed_kmh},
    {AF_CAPACITY, SIG_battery_capacity_full_kwh},
    {AF_SOE, SIG_battery_energy_remaining_kwh},
    {AF_SOH, SIG_battery_soh_pct},
    {AF_EXT_TEMP, SIG_climate_ambient_c},
    {AF_BATT_TEMP, SIG_battery_temp_avg_c},
    {AF_CABIN_TEMP, SIG_climate_cabin_c},
    {AF_VOLTAGE, SIG_battery_voltage_v},
    {AF_CURRENT, SIG_battery_current_a},
    {AF_ODOMETER, SIG_vehicle_odometer_km},
    {AF_EST_BATTERY_RANGE, SIG_vehicle_range_km},
    {AF_HVAC_POWER, SIG_climate_power_kw},
    {AF_ELEVATION, SIG_position_alt_m},
    {AF_HEADING, SIG_position_heading_deg},
    {AF_LAT, SIG_position_lat_deg},
    {AF_LON, SIG_position_lon_deg},
};

#define ST_CHARGING 3 /* charge_status labels */
#define ST_QUICK 4
#define GEAR_P 0

const char *
abrp_field_name(int f)
{
	return f >= 0 && f < AF_COUNT ? config_abrp_fields[f] : "?";
}

const char *
abrp_reason_name(int r)
{
	static const char *const names[AR_COUNT] = {"none",	"first",   "soc",
						    "charging", "parked",  "power",
						    "fast",	"driving", "parked_interval"};
	return r >= 0 && r < AR_COUNT ? names[r] : "?";
}

uint32_t
abrp_field_mask(const char *fields, bool send_location)
{
	uint32_t m = 0;
	const char *p = fields + strspn(fields, ", \t");

	if (*p == '\0')
		m = (1u << AF_COUNT) - 1;
	for (; *p; p += strspn(p, ", \t")) {
		size_t n = strcspn(p, ", \t");
		for (int f = 0; f < AF_COUNT; f++)
			if (strlen(config_abrp_fields[f]) == n &&
			    memcmp(config_abrp_fields[f], p, n) == 0)
				m |= 1u << f;
		p += n;
	}
	if (!send_location)
		m &= ~(1u << AF_LAT | 1u << AF_LON | 1u << AF_ELEVATION | 1u << AF_HEADING);
	return m | 1u << AF_UTC | 1u << AF_SOC;
}

/* A published signal's value that a frame refreshed lately (not stale). */
static bool
fresh(const struct abrp_in *in, unsigned sig, int64_t now, double *v)
{
	const struct abrp_in *s = &in[sig];

	if (!s->have || !(s->flags & SNAP_VALID) || (s->flags & SNAP_STALE) ||
	    !sig_published(sig_by_id(sig)) || s->t_ns < now - ABRP_FRESH_NS || !isfinite(s->value))
		return false;
	*v = s->value;
	return true;
}

static void
put(struct abrp_tlm *t, int f, double v)
{
	t->have[f] = true;
	t->v[f] = v;
}

/* is_charging, is_dcfc and is_parked from the charger and the gear. */
static void
states_from(struct abrp_tlm *t, const struct abrp_in *in)
{
	double st = -1, qc = 0, active = 0, gear = -1, ready = -1, v;
	bool known = false;

	if (fresh(in, SIG_charge_status, t->t_ns, &v))
		st = v, known = true;
	if (fresh(in, SIG_charge_qc_current_a, t->t_ns, &v))
		qc = v, known = true;
	if (fresh(in, SIG_charge_active, t->t_ns, &v))
		active = v, known = true;
	bool dcfc = st == ST_QUICK || qc >= 1;
	bool charging = dcfc || st == ST_CHARGING || active > 0;
	if (known || charging) {
		put(t, AF_IS_CHARGING, charging);
		put(t, AF_IS_DCFC, dcfc);
	}
	bool hg = fresh(in, SIG_vehicle_gear, t->t_ns, &gear);
	bool hr = fresh(in, SIG_vehicle_ready, t->t_ns, &ready);
	if (hg || hr || charging)
		put(t, AF_IS_PARKED, charging || (hg && gear == GEAR_P) || (hr && ready == 0));
}

void
abrp_tlm_from(struct abrp_tlm *t, const struct abrp_in *in)
{
	double v, fix = 0;

	memset(t, 0, sizeof(*t));
	for (unsigned id = 0; id < SIG_ID_MAX; id++)
		if (in[id].have && (in[id].flags & SNAP_VALID) && in[id].t_ns > t->t_ns)
			t->t_ns = in[id].t_ns;
	t->asleep = in[SIG_can_bus_asleep].have && in[SIG_can_bus_asleep].value != 0;
	put(t, AF_UTC, (double)(t->t_ns / 1000000000));
	if (fresh(in, SIG_battery_soc_dash_pct, t->t_ns, &v) ||
	    fresh(in, SIG_battery_soc_pct, t->t_ns, &v))
		put(t, AF_SOC, v);
	bool located = fresh(in, SIG_position_fix, t->t_ns, &fix) && fix >= 1; /* 2d, 3d */
	for (size_t i = 0; i < ARRAY_LEN(direct); i++) {
		int f = direct[i].field;
		bool pos = f == AF_LAT || f == AF_LON || f == AF_ELEVATION || f == AF_HEADING;
		if ((!pos || located) && fresh(in, direct[i].sig, t->t_ns, &v))
			put(t, f, v);
	}
	states_from(t, in);
}

/* Power into the pack while charging, kW (positive). */
static double
charge_kw(const struct abrp_tlm *t)
{
	return t->have[AF_POWER] ? -t->v[AF_POWER] : 0;
}

static bool
flag(const struct abrp_tlm *t, int f)
{
	return t->have[f] && t->v[f] != 0;
}

int
abrp_due(const struct abrp_rate *r, const struct abrp_tlm *t)
{
	bool charging = flag(t, AF_IS_CHARGING), parked = flag(t, AF_IS_PARKED);
	int64_t since = t->t_ns - r->t_ns;

	if (t->asleep || !t->have[AF_SOC])
		return AR_NONE;
	if (!r->sent || since < 0) /* a first record, or a new timeline */
		return AR_FIRST;
	if (fabs(t->v[AF_SOC] - r->soc) >= 1.0)
		return AR_SOC;
	if (charging != r->charging)
		return AR_CHARGING;
	if (parked != r->parked)
		return AR_PARKED;
	if (charging && fabs(charge_kw(t) - r->charge_kw) >= ABRP_POWER_STEP_KW)
		return AR_POWER;
	if (t->have[AF_SPEED] && t->v[AF_SPEED] > ABRP_FAST_KMH && since >= ABRP_FAST_NS)
		return AR_FAST;
	if ((!parked || flag(t, AF_IS_DCFC)) && since >= ABRP_DRIVE_NS)
		return AR_DRIVING;
	if (since >= ABRP_PARKED_NS)
		return AR_PARKED_INTERVAL;
	return AR_NONE;
}

static int64_t
interval_of(int why)
{
	return why == AR_FAST		   ? ABRP_FAST_NS
	       : why == AR_DRIVING	   ? ABRP_DRIVE_NS
	       : why == AR_PARKED_INTERVAL ? ABRP_PARKED_NS
					   : 0;
}

void
abrp_sent(struct abrp_rate *r, const struct abrp_tlm *t, int why)
{
	int64_t iv = interval_of(why), due = r->t_ns + iv;

	r->t_ns = iv > 0 && r->sent && t->t_ns >= due && t->t_ns - due < iv ? due : t->t_ns;
	r->sent = true;
	r->soc = t->v[AF_SOC];
	r->charging = flag(t, AF_IS_CHARGING);
	r->parked = flag(t, AF_IS_PARKED);
	r->charge_kw = charge_kw(t);
}

void
abrp_json(struct buf *b, const struct abrp_tlm *t, uint32_t mask)
{
	struct json j;
	char num[64];

	json_init(&j, b);
	json_obj_open(&j, NULL);
	for (int f = 0; f < AF_COUNT; f++) {
		if (!t->have[f] || !(mask & (1u << f)) || !isfinite(t->v[f]))
			continue;
		double x = t->v[f];
		if (fabs(x) < 0.5 * pow(10, -decimals[f]))
			x = 0; /* no "-0.0" */
		snprintf(num, sizeof(num), "%.*f", decimals[f], x);
		json_raw(&j, config_abrp_fields[f], num);
	}
	json_obj_close(&j);
}

/* RFC 3986 unreserved characters as they are, the rest %XX. */
static void
url_encode(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			buf_putc(b, (char)*p);
		else
			buf_printf(b, "%%%02X", *p);
	}
}

void
abrp_url(struct buf *b, const char *url, const char *api_key, const char *token)
{
	buf_puts(b, url);
	buf_puts(b, strchr(url, '?') != NULL ? "&api_key=" : "?api_key=");
	url_encode(b, api_key);
	buf_puts(b, "&token=");
	url_encode(b, token);
}

void
abrp_form(struct buf *b, const char *json)
{
	buf_puts(b, "tlm=");
	url_encode(b, json);
}

bool
abrp_reply_ok(const char *body)
{
	const char *p = body != NULL ? strstr(body, "\"status\"") : NULL;

	if (p == NULL)
		return false;
	p += 8;
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return false;
	p += strspn(p, " \t\r\n");
	return strncmp(p, "\"ok\"", 4) == 0;
}
