/*
 * A session's figures, derived from its accumulators, and the JSON object
 * of the contract (docs/DESIGN.md, "Sessions"): the same object for
 * `leafmon decode --sessions --json`, the Event's detail, the ledger, the
 * CLI and the API. A key whose value is unknown is left out.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "session.h"
#include "signals.h"

/* The numbers of the contract; NAN: unknown, not written. */
struct figs {
	double distance_km, energy_out_kwh, energy_in_kwh, soc_start_pct, soc_end_pct;
	double gids_start, gids_end, duration_s;
	double wh_per_km, odo_start_km, odo_end_km, driving_s, net_kwh, regen_share;
	double lat_start, lon_start, lat_end, lon_end;
	double speed_mean_kmh, speed_max_kmh, power_max_kw, climate_kwh;
	double pack_temp_start_c, pack_temp_end_c, ambient_mean_c, aux_min_v;
	double pack_kwh, grid_kwh, power_mean_kw, pack_temp_max_c, charging_s, qc_minutes;
	double soc_lost_pct, gids_lost, kwh_lost, drain_kwh_per_day, aux_start_v, aux_end_v;
	double capacity_kwh, capacity_ah, capacity_temp_c;
	double soh_pct, capacity_bars, gids_full, hx_pct, ah, cells_delta_mv;
	double cost;
};

#define T (1u << SESS_TRIP)
#define C (1u << SESS_CHARGE)
#define P (1u << SESS_PARK)
#define D (1u << SESS_DAILY)
#define FIG(name, dec, kinds)                                                                      \
	{                                                                                          \
#name, offsetof(struct figs, name), dec, kinds                                     \
	}

static const struct fig {
	const char *key;
	size_t off;
	int decimals;
	unsigned kinds;
} figs_table[] = {
    FIG(distance_km, 3, T | C | P),
    FIG(energy_out_kwh, 3, T | C | P),
    FIG(energy_in_kwh, 3, T | C | P),
    FIG(soc_start_pct, 1, T | C | P),
    FIG(soc_end_pct, 1, T | C | P),
    FIG(gids_start, 0, T | C | P),
    FIG(gids_end, 0, T | C | P),
    FIG(duration_s, 1, T | C | P),
    FIG(wh_per_km, 1, T),
    FIG(odo_start_km, 1, T),
    FIG(odo_end_km, 1, T),
    FIG(lat_start, 6, T),
    FIG(lon_start, 6, T),
    FIG(lat_end, 6, T),
    FIG(lon_end, 6, T),
    FIG(driving_s, 1, T),
    FIG(net_kwh, 3, T),
    FIG(regen_share, 3, T),
    FIG(speed_mean_kmh, 2, T),
    FIG(speed_max_kmh, 2, T),
    FIG(power_max_kw, 2, T | C),
    FIG(climate_kwh, 3, T),
    FIG(pack_temp_start_c, 1, T | C),
    FIG(pack_temp_max_c, 1, C),
    FIG(pack_temp_end_c, 1, T | C),
    FIG(ambient_mean_c, 1, T),
    FIG(pack_kwh, 3, C),
    FIG(grid_kwh, 3, C),
    FIG(power_mean_kw, 2, C),
    FIG(charging_s, 1, C),
    FIG(soc_lost_pct, 1, P),
    FIG(gids_lost, 0, P),
    FIG(kwh_lost, 1, P),
    FIG(drain_kwh_per_day, 3, P),
    FIG(aux_start_v, 1, P),
    FIG(aux_end_v, 1, P),
    FIG(aux_min_v, 1, T | C | P | D),
    FIG(capacity_kwh, 2, T | C | D),
    FIG(capacity_ah, 1, T | C | D),
    FIG(capacity_temp_c, 1, T | C | D),
    FIG(soh_pct, 1, D),
    FIG(capacity_bars, 0, D),
    FIG(gids_full, 0, D),
    FIG(hx_pct, 2, D),
    FIG(ah, 2, D),
    FIG(cells_delta_mv, 0, D),
};

const char *
session_kind_name(int kind)
{
	static const char *const names[SESS_KINDS] = {"trip", "charge", "park", "battery_daily"};
	return kind >= 0 && kind < SESS_KINDS ? names[kind] : "?";
}

const char *
session_phase_name(int phase)
{
	static const char *const names[] = {"start", "update", "end"};
	return phase >= 0 && phase <= SESS_END ? names[phase] : "?";
}

static double
ratio(double a, double b, double min_b)
{
	return isfinite(a) && isfinite(b) && b >= min_b ? a / b : NAN;
}

static void
figs_trip(const struct session *x, const struct sessions_cfg *cfg, struct figs *f)
{
	const struct sess_acc *a = &x->a;

	f->net_kwh = a->e_out - a->e_in;
	f->wh_per_km = ratio(f->net_kwh * 1000, a->dist_km, 0.01);
	f->regen_share = ratio(a->e_in, a->e_out, 1e-6);
	f->odo_start_km = x->p0.odo;
	f->odo_end_km = x->p1.odo;
	f->lat_start = x->p0.lat;
	f->lon_start = x->p0.lon;
	f->lat_end = x->p1.lat;
	f->lon_end = x->p1.lon;
	f->driving_s = a->drive_s;
	f->speed_mean_kmh = ratio(a->dist_km * 3600, a->drive_s, 1);
	f->speed_max_kmh = a->speed_max;
	f->power_max_kw = a->power_max;
	if (sig_published(sig_by_id(SIG_climate_power_kw)))
		f->climate_kwh = a->climate_kwh;
	f->pack_temp_start_c = x->p0.temp;
	f->pack_temp_end_c = x->p1.temp;
	f->ambient_mean_c = ratio(a->amb_sum, a->amb_s, 1e-3);
}

/* AC: the pack's energy at its moment's price, over the efficiency; QC:
 * the session fee, the charger's kWh and the minutes, each where set. */
static double
charge_cost(const struct session *x, const struct sessions_cfg *cfg, const struct figs *f)
{
	const struct tariff *t = cfg->tariff;
	double c = 0;

	if (x->charge_type == CT_AC)
		return tariff_has_ac(t) && x->a.unpriced_kwh < 0.0005 && cfg->ac_efficiency > 0
			   ? x->a.cost / cfg->ac_efficiency
			   : NAN;
	if (!tariff_has_qc(t))
		return NAN;
	if (isfinite(t->qc_session_fee))
		c += t->qc_session_fee;
	if (isfinite(t->qc_price_kwh))
		c += t->qc_price_kwh * f->grid_kwh; /* NAN when the charger's kWh are unknown */
	if (isfinite(t->qc_price_min))
		c += t->qc_price_min * f->qc_minutes;
	return c;
}

static void
figs_charge(const struct session *x, const struct sessions_cfg *cfg, struct figs *f)
{
	const struct sess_acc *a = &x->a;

	f->pack_kwh = a->e_in - a->e_out;
	if (x->charge_type == CT_AC)
		f->grid_kwh = ratio(f->pack_kwh, cfg->ac_efficiency, 0.01);
	else
		f->grid_kwh = a->qc_s > 0 ? a->qc_kwh : NAN;
	f->power_max_kw = a->power_max;
	f->power_mean_kw = ratio(f->pack_kwh * 3600, a->charge_s, 1);
	f->charging_s = a->charge_s;
	f->pack_temp_start_c = x->p0.temp;
	f->pack_temp_max_c = a->temp_max;
	f->pack_temp_end_c = x->p1.temp;
	f->qc_minutes = f->duration_s / 60;
	f->cost = charge_cost(x, cfg, f);
}

static void
figs_park(const struct session *x, struct figs *f)
{
	f->soc_lost_pct = x->p0.soc - x->p1.soc;
	f->gids_lost = x->p0.gids - x->p1.gids;
	f->kwh_lost = x->p0.remain - x->p1.remain;
	f->drain_kwh_per_day = ratio(f->kwh_lost * 86400, f->duration_s, 3600);
	f->aux_start_v = x->p0.aux;
	f->aux_end_v = x->p1.aux;
}

/* Over a span of at least 30 % SOC: kWh and Ah per 100 % of SOC. */
static void
figs_capacity(const struct session *x, struct figs *f)
{
	double span = fabs(x->p1.soc - x->p0.soc);

	if (!(span >= 30))
		return;
	f->capacity_kwh = fabs(x->a.e_out - x->a.e_in) / (span / 100);
	f->capacity_ah = fabs(x->a.ah) / (span / 100);
	f->capacity_temp_c = ratio(x->a.temp_sum, x->a.temp_s, 1e-3);
}

static void
figs_daily(const struct session *x, struct figs *f)
{
	f->soh_pct = x->soh;
	f->capacity_bars = x->bars;
	f->gids_full = x->gids_full;
	f->hx_pct = x->hx;
	f->ah = x->ahr;
	f->cells_delta_mv = x->cells_delta;
	f->capacity_kwh = ratio(x->cap_kwh_w, x->cap_w, 1e-9);
	f->capacity_ah = ratio(x->cap_ah_w, x->cap_w, 1e-9);
	f->capacity_temp_c = ratio(x->cap_temp_w, x->cap_w, 1e-9);
}

static void
figs_of(const struct session *x, const struct sessions_cfg *cfg, struct figs *f)
{
	double *all = (double *)f;

	for (size_t i = 0; i < sizeof(*f) / sizeof(double); i++)
		all[i] = NAN;
	f->aux_min_v = x->a.aux_min;
	if (x->kind == SESS_DAILY) {
		figs_daily(x, f);
		return;
	}
	f->distance_km = x->a.dist_km;
	f->energy_out_kwh = x->a.e_out;
	f->energy_in_kwh = x->a.e_in;
	f->soc_start_pct = x->p0.soc;
	f->soc_end_pct = x->p1.soc;
	f->gids_start = x->p0.gids;
	f->gids_end = x->p1.gids;
	f->duration_s = (double)(x->end_ns - x->start_ns) / 1e9;
	if (x->kind == SESS_TRIP)
		figs_trip(x, cfg, f);
	else if (x->kind == SESS_CHARGE)
		figs_charge(x, cfg, f);
	else
		figs_park(x, f);
	if (x->kind != SESS_PARK)
		figs_capacity(x, f);
}

/* Unix seconds with microseconds, as the samples' "t". */
static void
json_time(struct json *j, const char *key, int64_t ns)
{
	char v[40];
	int64_t sec = ns / NSEC_PER_SEC, us = (ns % NSEC_PER_SEC) / 1000;

	if (us < 0) {
		sec--;
		us += 1000000;
	}
	snprintf(v, sizeof(v), "%lld.%06lld", (long long)sec, (long long)us);
	json_raw(j, key, v);
}

static void
json_fixed(struct json *j, const char *key, double v, int decimals)
{
	char s[48];

	if (!isfinite(v))
		return;
	if (fabs(v) < 0.5 * pow(10, -decimals))
		v = 0; /* no "-0.000" */
	snprintf(s, sizeof(s), "%.*f", decimals, v);
	json_raw(j, key, s);
}

static void
json_date(struct json *j, int64_t ns)
{
	time_t sec = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;
	char d[16];

	localtime_r(&sec, &tm);
	strftime(d, sizeof(d), "%Y-%m-%d", &tm);
	json_str(j, "date", d);
}

static void
json_strings(struct json *j, const struct session *x, const struct sessions_cfg *cfg,
	     const struct figs *f)
{
	static const char *const reasons[] = {NULL, "full", "target", "unplugged", "interrupted"};

	if (x->kind == SESS_TRIP)
		json_bool(j, "move", !(x->a.dist_km >= cfg->min_trip_km));
	if (x->kind != SESS_CHARGE)
		return;
	if (isfinite(f->grid_kwh))
		json_str(j, "grid_source", x->charge_type == CT_QC ? "charger" : "efficiency");
	if (x->end_reason > END_NONE && x->end_reason <= END_INTERRUPTED)
		json_str(j, "end_reason", reasons[x->end_reason]);
	if (isfinite(f->cost)) {
		json_fixed(j, "cost", f->cost, 2);
		if (cfg->tariff != NULL && cfg->tariff->currency[0] != '\0')
			json_str(j, "currency", cfg->tariff->currency);
	}
}

void
session_json(const struct session *x, const struct sessions_cfg *cfg, struct buf *b)
{
	static const char *const rec[] = {NULL, "continued", "closed"};
	struct figs f;
	struct json j;

	figs_of(x, cfg, &f);
	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_str(&j, "kind", session_kind_name(x->kind));
	json_time(&j, "start", x->start_ns);
	json_time(&j, "end", x->end_ns);
	if (x->partial_start || x->partial_end)
		json_bool(&j, "partial", true);
	if (x->recovery > REC_NONE && x->recovery <= REC_CLOSED)
		json_str(&j, "recovery", rec[x->recovery]);
	if (x->kind == SESS_CHARGE)
		json_str(&j, "charge_type", x->charge_type == CT_QC ? "qc" : "ac");
	if (x->kind == SESS_DAILY)
		json_date(&j, x->start_ns);
	for (size_t i = 0; i < sizeof(figs_table) / sizeof(figs_table[0]); i++)
		if (figs_table[i].kinds & (1u << x->kind))
			json_fixed(&j, figs_table[i].key,
				   *(const double *)((const char *)&f + figs_table[i].off),
				   figs_table[i].decimals);
	json_strings(&j, x, cfg, &f);
	json_obj_close(&j);
}

static void
text_num(struct buf *b, const char *fmt, double v)
{
	if (isfinite(v))
		buf_printf(b, fmt, v);
}

void
session_text(const struct session *x, const struct sessions_cfg *cfg, struct buf *b)
{
	time_t sec = (time_t)(x->start_ns / NSEC_PER_SEC);
	struct tm tm;
	char when[32];
	struct figs f;

	figs_of(x, cfg, &f);
	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	buf_printf(b, "%-13s %s", session_kind_name(x->kind), when);
	if (x->kind == SESS_DAILY) {
		text_num(b, "  SOH %.0f %%", f.soh_pct);
		text_num(b, "  %.0f bars", f.capacity_bars);
		text_num(b, "  capacity %.2f kWh", f.capacity_kwh);
		text_num(b, "  12 V min %.1f V", f.aux_min_v);
	} else {
		buf_printf(b, "  %7.1f min", f.duration_s / 60);
		text_num(b, "  SOC %.1f", f.soc_start_pct);
		text_num(b, " -> %.1f %%", f.soc_end_pct);
	}
	if (x->kind == SESS_TRIP) {
		buf_printf(b, "  %.3f km  out %.3f kWh  in %.3f kWh", f.distance_km,
			   f.energy_out_kwh, f.energy_in_kwh);
		text_num(b, "  %.0f Wh/km", f.wh_per_km);
		if (!(x->a.dist_km >= cfg->min_trip_km))
			buf_puts(b, "  (move)");
	} else if (x->kind == SESS_CHARGE) {
		buf_printf(b, "  %s  pack %.3f kWh", x->charge_type == CT_QC ? "QC" : "AC",
			   f.pack_kwh);
		text_num(b, "  grid %.3f kWh", f.grid_kwh);
		text_num(b, "  max %.1f kW", f.power_max_kw);
		text_num(b, "  cost %.2f", f.cost);
	} else if (x->kind == SESS_PARK) {
		text_num(b, "  lost %.1f %%", f.soc_lost_pct);
		text_num(b, " %.1f kWh", f.kwh_lost);
	}
	text_num(b, "  capacity %.2f kWh", x->kind == SESS_DAILY ? NAN : f.capacity_kwh);
	if (x->partial_start || x->partial_end)
		buf_puts(b, "  (partial)");
	buf_putc(b, '\n');
}
