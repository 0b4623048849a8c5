/*
 * Frames of the inverter (0x1DA, 0x55A), the VCM (0x1D4, 0x11A, 0x1F2,
 * 0x5A9, 0x5B9, 0x421), the on-board charger (0x380/0x5BF on ZE0, 0x390
 * later), ABS and cluster (0x284, 0x292, 0x355, 0x5C5), the BCM (0x60D),
 * climate (0x54B, 0x54C, 0x54F, 0x510) and CHAdeMO (0x109, 0x3C9 mirror).
 * Layouts: LEAF-CAN.md sections 3.2-3.5 and its Corrections.
 */
#include "decode_int.h"

#include <math.h>

#define SPEED_355_AFTER_NS (1000LL * 1000 * 1000) /* 0x284 silent this long */

enum gear { GEAR_P, GEAR_R, GEAR_N, GEAR_D, GEAR_B };
enum chg {
	CHG_IDLE, CHG_PLUGGED, CHG_STARTING, CHG_CHARGING, CHG_QUICK, CHG_TIMER,
	CHG_FINISHED, CHG_INTERRUPTED, CHG_ASLEEP,
};

static double
round_to(double v, double step)
{
	return round(v / step) * step;
}

void
dec_inv_1da(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t tq = ((uint32_t)(b[2] & 7) << 8) | b[3];
	uint32_t r16 = ((uint32_t)b[4] << 8) | b[5];

	if (b[0] != 0xFF)
		emit(e, SIG_inverter_voltage_v, b[0] * 2.0);
	else
		dec_invalid(d);
	emit(e, SIG_motor_torque_nm, sext(tq, 11) * 0.5);
	/* 15-bit two's complement in d4..d5 >> 1, sign = d4 bit 7 (not bit 6:
	 * 8524 rpm is 0x4299). 0x7FFE/0x7FFF are the startup markers. */
	if (r16 == 0x7FFE || r16 == 0x7FFF)
		dec_invalid(d);
	else
		emit(e, SIG_motor_rpm, sext(r16 >> 1, 15));
}

/* Provisional (the unit is disputed): OVMS's reading, d1 motor and d2
 * inverter in degF, which fits the idle logs. Never published. */
void
dec_inv_55a(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;

	if (b[1] != 0xFF)
		emit(e, SIG_motor_temp_c, round_to((b[1] - 32) * 5.0 / 9.0, 0.1));
	if (b[2] != 0xFF)
		emit(e, SIG_inverter_temp_c, round_to((b[2] - 32) * 5.0 / 9.0, 0.1));
}

void
dec_vcm_1d4(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t raw = ((uint32_t)b[2] << 4) | (b[3] >> 4); /* 12 bits, signed */

	emit(e, SIG_motor_torque_request_nm, sext(raw, 12) * 0.25);
}

void
dec_vcm_11a(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	/* 0 and 1 both mean P (Corrections 2); D and B share 4 */
	static const int gear[16] = {GEAR_P, GEAR_P, GEAR_R, GEAR_N, GEAR_D, -1, -1, -1,
				     -1,     -1,     -1,     -1,     -1,     -1, -1, -1};
	const uint8_t *b = f->data;
	unsigned on = b[1] >> 6;

	if (gear[b[0] >> 4] >= 0)
		emit(e, SIG_vehicle_gear, gear[b[0] >> 4]);
	if (d->gen == GEN_ZE0) /* stays 0 through a whole ZE1 ECO drive */
		emit(e, SIG_vehicle_eco, (b[1] >> 4) & 1);
	if (!d->ready_from_bcm && (on == 1 || on == 2))
		emit(e, SIG_vehicle_ready, on == 1);
}

void
dec_vcm_1f2(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	emit(e, SIG_charge_target_soc_pct, (f->data[0] >> 7) ? 80 : 100);
}

void
dec_vcm_5a9(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t raw = ((uint32_t)b[1] << 4) | (b[2] >> 4);

	if (raw != 0xFFF) /* also while charging */
		emit(e, SIG_vehicle_range_km, round_to(raw * 0.2, 0.1));
	else
		dec_invalid(d);
}

void
dec_vcm_5b9(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	unsigned bars = f->data[0] >> 3;

	if (bars <= 12)
		emit(e, SIG_battery_charge_bars, bars);
	else
		dec_invalid(d);
}

void
dec_vcm_421(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	/* 7 is "D/B/ECO": which of them is not known, so no value */
	static const int gear[8] = {-1, GEAR_P, GEAR_R, GEAR_N, GEAR_D, -1, -1, -1};
	int g = gear[(f->data[0] >> 3) & 7];

	if (g >= 0)
		emit(e, SIG_vehicle_gear, g);
}

static void
charge_state(struct emit *e, int status)
{
	emit(e, SIG_charge_status, status);
	emit(e, SIG_charge_active, status == CHG_CHARGING || status == CHG_QUICK);
}

/* ZE0 charger; on ZE1 0x380 is an LBC frame of unknown meaning. */
void
dec_obc_380(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t ac = ((uint32_t)(b[5] & 7) << 6) | (b[6] >> 2);

	if (d->gen != GEN_ZE0)
		return;
	/* x0.5 + 70 V; raw 0 means no AC at all */
	emit(e, SIG_charge_ac_voltage_v, ac == 0 ? 0.0 : ac * 0.5 + 70.0);
}

void
dec_obc_5bf(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	int st;

	if (d->gen != GEN_ZE0)
		return;
	switch (f->data[4]) {
	case 0x18: st = CHG_PLUGGED; break;
	case 0x28: st = CHG_IDLE; break;
	case 0x30: st = CHG_TIMER; break;
	case 0x38: st = CHG_ASLEEP; break;
	case 0x40: st = CHG_FINISHED; break;
	case 0x60: st = CHG_CHARGING; break;
	case 0x70: st = CHG_STARTING; break;
	case 0xB0: st = CHG_QUICK; break;
	default: return;
	}
	charge_state(e, st);
}

void
dec_obc_390(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	unsigned pw = ((b[0] & 1u) << 8) | b[1];
	unsigned ac = (b[3] >> 3) & 3;
	unsigned st = (b[5] >> 1) & 0x3F;
	int s = -1;

	emit(e, SIG_charge_obc_power_kw, pw / 10.0);
	if (ac != 3) /* 3: abnormal */
		emit(e, SIG_charge_ac_voltage_v, ac * 100.0);
	if (b[4] & 0x40)
		s = CHG_QUICK; /* QC relay closed */
	else if (st == 1 || st == 8 || st == 9)
		s = CHG_IDLE;
	else if (st == 2)
		s = CHG_FINISHED;
	else if (st == 4)
		s = CHG_CHARGING;
	else if (st == 12)
		s = CHG_TIMER;
	if (s >= 0)
		charge_state(e, s);
}

void
dec_abs_284(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	unsigned fr = ((unsigned)b[0] << 8) | b[1], fl = ((unsigned)b[2] << 8) | b[3];

	if (fr == 0xFFFF || fl == 0xFFFF) {
		dec_invalid(d);
		return;
	}
	d->wheel_speed_t_ns = f->t_ns ? f->t_ns : 1;
	emit(e, SIG_vehicle_speed_kmh, round_to((fr + fl) * 0.005 / 2, 0.01));
}

void
dec_abs_292(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	if (f->data[3] != 0xFF)
		emit(e, SIG_vehicle_aux_battery_v, f->data[3] / 10.0);
	else
		dec_invalid(d);
}

void
dec_cl_355(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	unsigned sp = ((unsigned)b[0] << 8) | b[1];

	d->odo_miles = (b[6] >> 5) & 1;
	emit(e, SIG_vehicle_units_miles, (b[4] >> 5) & 1);
	/* the speedometer over-reads: only where no wheel speeds arrive */
	if (sp != 0xFFFF &&
	    (d->wheel_speed_t_ns == 0 || f->t_ns - d->wheel_speed_t_ns > SPEED_355_AFTER_NS ||
	     f->t_ns < d->wheel_speed_t_ns))
		emit(e, SIG_vehicle_speed_kmh, sp / 100.0);
}

void
dec_cl_5c5(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;
	uint32_t odo = ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];

	emit(e, SIG_vehicle_parking_brake, (b[0] >> 2) & 1);
	if (odo == 0xFFFFFF)
		dec_invalid(d);
	else if (d->odo_miles >= 0) /* km or miles: 0x355 says which */
		emit(e, SIG_vehicle_odometer_km, d->odo_miles ? round_to(odo * 1.609344, 0.1) : odo);
}

void
dec_bcm_60d(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;

	/* 0x08 FL, 0x10 FR, 0x20 RL, 0x40 RR, 0x80 hatch -> bits 0..4 */
	emit(e, SIG_vehicle_doors_open, b[0] >> 3);
	d->ready_from_bcm = true;
	emit(e, SIG_vehicle_ready, ((b[1] >> 1) & 3) == 3);
}

void
dec_hvac_54b(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	emit(e, SIG_climate_on, f->data[0] & 1);
	emit(e, SIG_climate_fan_speed, (f->data[4] >> 3) & 7);
}

void
dec_hvac_54c(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	if (f->data[6] != 0xFF)
		emit(e, SIG_climate_ambient_c, f->data[6] * 0.5 - 40.0);
	else
		dec_invalid(d);
}

/* Provisional: degF on ZE0/AZE0 (OVMS), d0/2-40 on ZE1. */
void
dec_hvac_54f(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	uint8_t v = f->data[0];

	if (v == 20 || v == 0x50 || v == 0xFF || d->gen == GEN_UNKNOWN)
		return;
	if (d->gen == GEN_ZE1)
		emit(e, SIG_climate_cabin_c, v / 2.0 - 40.0);
	else
		emit(e, SIG_climate_cabin_c, round_to((v - 32) * 5.0 / 9.0, 0.1));
}

/* Provisional (Car-CAN, unverified scale). */
void
dec_hvac_510(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	emit(e, SIG_climate_power_kw, ((f->data[3] >> 1) & 0x3F) * 0.25);
}

/* CHAdeMO 0x109 (QC-CAN) and its ZE1 EV-CAN mirror 0x3C9: little-endian,
 * 1 V and 1 A per bit (the DBCs' big-endian x0.01 is wrong). */
void
dec_qc_109(struct decoder *d, const struct can_rec *f, struct emit *e)
{
	const uint8_t *b = f->data;

	emit(e, SIG_charge_qc_voltage_v, b[1] | (b[2] << 8));
	emit(e, SIG_charge_qc_current_a, b[3]);
}
