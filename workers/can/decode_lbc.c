/*
 * The Li-ion battery controller's frames (EV-CAN, some relayed to Car-CAN):
 * 0x1DB current/voltage, 0x1DC power limits, 0x1ED (ZE1) charger limit,
 * 0x55B SOC, 0x5BC GIDs/SOH/bars, 0x5C0 temperatures, 0x59E capacity.
 * Extraction expressions and invalid markers: LEAF-CAN.md section 3.1 and
 * Corrections 4. Also the pack power and the energy integration.
 */
#include "decode_int.h"

#include <math.h>

/* Largest step integrated between two 0x1DB frames (10 ms apart): lost
 * frames are bridged, a bus that slept is not. */
#define ENERGY_DT_MAX_NS (250LL * 1000 * 1000)

#define TOL_GIDS 5.0	 /* GIDs per frame; 50 kW moves them ~0.2/s */
#define TOL_SOC 1.0	 /* % per 100 ms frame */
#define TOL_REMAIN 0.5	 /* kWh per 500 ms frame */

static void
dec_energy_step(struct decoder *d, int64_t t, struct emit *e)
{
	double p = d->volt_v * d->curr_a / 1000.0;

	if (d->energy_t_ns != 0) {
		int64_t dt = t - d->energy_t_ns;
		if (dt > ENERGY_DT_MAX_NS)
			dt = ENERGY_DT_MAX_NS;
		if (dt > 0) {
			double kwh = d->energy_p_kw * ((double)dt / 3.6e12);
			if (kwh > 0)
				d->e_out_kwh += kwh;
			else
				d->e_in_kwh -= kwh;
			if (kwh != 0) {
				emit(e, SIG_battery_energy_out_kwh, d->e_out_kwh);
				emit(e, SIG_battery_energy_in_kwh, d->e_in_kwh);
			}
		}
	}
	if (t >= d->energy_t_ns) {
		d->energy_t_ns = t ? t : 1;
		d->energy_p_kw = p;
	}
	emit(e, SIG_battery_power_kw, round(p * 1000) / 1000);
}

void
dec_lbc_1db(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t iraw = ((uint32_t)b[0] << 3) | (b[1] >> 5); /* 11 bits, signed */
	uint32_t vraw = ((uint32_t)b[2] << 2) | (b[3] >> 6); /* 10 bits */

	d->have_curr = iraw != 0x3FF; /* +511.5 A: the startup marker */
	if (d->have_curr) {
		/* raw is positive into the pack; we publish discharge positive */
		d->curr_a = -(double)sext(iraw, 11) * 0.5;
		emit(e, SIG_battery_current_a, d->curr_a + 0.0);
	} else
		dec_invalid(d);
	d->have_volt = vraw != 0x3FF;
	if (d->have_volt) {
		d->volt_v = vraw * 0.5;
		emit(e, SIG_battery_voltage_v, d->volt_v);
	} else
		dec_invalid(d);
	emit(e, SIG_battery_main_relay_on, (b[3] >> 5) & 1);
	/* dash SOC: AZE0 (and e-NV200) only; 0 on ZE0 and ZE1 */
	if (d->gen == GEN_AZE0) {
		if ((b[4] & 0x7F) != 0x7F)
			emit(e, SIG_battery_soc_dash_pct, b[4] & 0x7F);
		else
			dec_invalid(d);
	}
	if (d->have_curr && d->have_volt)
		dec_energy_step(d, f->t_ns, e);
	else
		d->energy_t_ns = 0; /* no integration across invalid frames */
}

void
dec_lbc_1dc(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t dis = ((uint32_t)b[0] << 2) | (b[1] >> 6);
	uint32_t chg = ((uint32_t)(b[1] & 0x3F) << 4) | (b[2] >> 4);
	uint32_t bpc = ((uint32_t)(b[2] & 0x0F) << 6) | (b[3] >> 2);

	if (dis != 0x3FF)
		emit(e, SIG_battery_discharge_limit_kw, dis * 0.25);
	else
		dec_invalid(d);
	if (chg != 0x3FF)
		emit(e, SIG_battery_charge_limit_kw, chg * 0.25);
	else
		dec_invalid(d);
	/* raw 1023 is "no limit" (92.3 kW), a value, not a marker */
	emit(e, SIG_battery_charger_limit_kw, round((bpc * 0.1 - 10.0) * 10) / 10);
}

void
dec_lbc_1ed(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t raw = ((uint32_t)b[0] << 3) | (b[1] >> 5); /* 11 bits */

	/* the DBC's +10 is wrong: raw x 0.1 is exactly 0x1DC's value + 10 */
	if (raw != 0x7FF)
		emit(e, SIG_battery_charger_limit_kw, round((raw * 0.1 - 10.0) * 10) / 10);
	else
		dec_invalid(d);
}

void
dec_lbc_55b(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t raw = ((uint32_t)b[0] << 2) | (b[1] >> 6);

	if (raw == 0x3FF) {
		dec_invalid(d);
		return;
	}
	if (plaus_accept(d, &d->p_soc, raw * 0.1, TOL_SOC))
		emit(e, SIG_battery_soc_pct, raw / 10.0);
}

/* Bars from the 0x5BC bar field: a nibble on ZE0, 0..240 segments later. */
static int
bars_5bc(const struct decoder *d, uint8_t b2)
{
	if (d->gen == GEN_ZE0)
		return (b2 & 0x0F) <= 12 ? (b2 & 0x0F) : -1;
	return b2 <= 240 ? b2 / 20 : -1;
}

/* Minutes to full: the 0x5BC time field is muxed by charger type. We give
 * the 200 V full-charge estimate (condition 9 on ZE0, which the ZE0 dash
 * copies to 0x5B9; condition 8 "200 V" on AZE0). ZE1 conditions differ and
 * are not understood: no value. */
static void
charge_time_5bc(struct decoder *d, const uint8_t *b, struct emit *e)
{
	unsigned cond = ((b[5] & 3u) << 3) | (b[6] >> 5);
	unsigned min = ((b[6] & 0x1Fu) << 8) | b[7];

	if ((d->gen == GEN_ZE0 && cond == 9) || (d->gen == GEN_AZE0 && cond == 8)) {
		if (min != 0x1FFF)
			emit(e, SIG_charge_minutes_remaining, min);
		else
			dec_invalid(d);
	}
}

void
dec_lbc_5bc(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t gids = ((uint32_t)b[0] << 2) | (b[1] >> 6);
	bool full = (b[5] >> 4) & 1; /* mux: the field holds full-capacity GIDs */
	unsigned soh = b[4] >> 1;
	int bars;

	if (full)
		dec_evidence(d, DEC_EV_AZE0);
	if (gids == 1023)
		dec_invalid(d);
	else if (full) {
		if (plaus_accept(d, &d->p_gids_full, gids, TOL_GIDS))
			emit(e, SIG_battery_gids_full, gids);
	} else if (plaus_accept(d, &d->p_gids, gids, TOL_GIDS)) {
		emit(e, SIG_battery_gids, gids);
		if (d->gen == GEN_ZE0) /* later cars: 0x59E */
			emit(e, SIG_battery_energy_remaining_kwh, round(gids * 80.0) / 1000);
	}
	if (soh != 0x7F && gids != 1023) /* no SOH while the LBC wakes up */
		emit(e, SIG_battery_soh_pct, soh);
	if (d->gen == GEN_UNKNOWN)
		return;
	bars = bars_5bc(d, b[2]);
	if (bars >= 0)
		emit(e, (b[4] & 1) ? SIG_battery_capacity_bars : SIG_battery_charge_bars, bars);
	else
		dec_invalid(d);
	if (d->gen == GEN_ZE0 && b[3] != 0xFF) /* later cars: a gauge segment */
		emit(e, SIG_battery_temp_avg_c, (int)b[3] - 40);
	charge_time_5bc(d, b, e);
}

void
dec_lbc_5c0(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	static const unsigned ids[4] = {0, SIG_battery_temp_max_c, SIG_battery_temp_avg_c,
					SIG_battery_temp_min_c};
	const uint8_t *b = f->data;
	unsigned mux = b[0] >> 6;
	unsigned raw = b[2] >> 1; /* 7 bits, 1 degC, -40 (the AZE0 DBC's 0.5 is wrong) */

	/* ZE1 muxes differently and this formula gives nonsense there */
	if (d->gen != GEN_ZE0 && d->gen != GEN_AZE0)
		return;
	if (mux == 0)
		return;
	if (raw == 0x7F) {
		dec_invalid(d);
		return;
	}
	emit(e, ids[mux], (int)raw - 40);
}

void
dec_lbc_59e(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	unsigned full, remain;

	if (d->gen != GEN_AZE0 && d->gen != GEN_ZE1)
		return;
	/* 9 bits x 100 Wh; the 62 kWh ZE1 packs need the 10th bit */
	if (d->gen == GEN_ZE1)
		full = ((b[2] & 0x3Fu) << 4) | (b[3] >> 4);
	else
		full = ((b[2] & 0x1Fu) << 4) | (b[3] >> 4);
	remain = ((b[3] & 0x0Fu) << 5) | (b[4] >> 3);
	if (full != 0 && full != (d->gen == GEN_ZE1 ? 0x3FFu : 0x1FFu))
		emit(e, SIG_battery_capacity_full_kwh, full / 10.0);
	else
		dec_invalid(d);
	if (remain != 0x1FF) {
		if (plaus_accept(d, &d->p_qc_remain, remain / 10.0, TOL_REMAIN))
			emit(e, SIG_battery_energy_remaining_kwh, remain / 10.0);
	} else
		dec_invalid(d);
	if (d->gen == GEN_ZE1) {
		if (b[7] != 0xFF)
			emit(e, SIG_battery_soc_dash_pct, b[7] / 2.0);
		else
			dec_invalid(d);
	}
}
