/*
 * The simulator's frames decode back to its own state, with no CRC error,
 * no counter gap and no unknown id, for every generation; the decoder
 * detects the simulated generation by itself; the Car-CAN frames (12 V,
 * odometer, doors, parking brake, range, 0x421 gear) come on @car and fill
 * their signals.
 */
#include <math.h>

#include "decode.h"
#include "sim.h"
#include "t.h"

struct err {
	double cur, volt, rpm, speed, soc, tq, aux, odo;
	unsigned gear_bad, gids_bad, brake_bad;
	bool saw_regen, saw_drive, saw_charge, saw_reverse, saw_range, saw_doors;
	unsigned car_ids; /* bits: 0x292 0x355 0x421 0x5A9 0x5C5 0x60D seen on @car */
};

static void
absorb(const struct sim *m, const struct sig_update *u, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		double v = u[i].value;
		switch (u[i].id) {
		case SIG_battery_current_a:
			e->cur = fmax(e->cur, fabs(v - m->s.current_a));
			e->saw_regen |= v < -20 && !m->s.charging;
			e->saw_drive |= v > 100;
			e->saw_charge |= v < 0 && m->s.charging;
			break;
		case SIG_battery_voltage_v:
			e->volt = fmax(e->volt, fabs(v - m->s.voltage_v));
			break;
		case SIG_motor_rpm:
			e->rpm = fmax(e->rpm, fabs(v - m->s.rpm));
			e->saw_reverse |= v < 0;
			break;
		case SIG_motor_torque_nm:
			e->tq = fmax(e->tq, fabs(v - m->s.torque_nm));
			break;
		case SIG_vehicle_speed_kmh:
			e->speed = fmax(e->speed, fabs(v - fabs(m->s.speed_kmh)));
			break;
		case SIG_battery_soc_pct:
			e->soc = fmax(e->soc, fabs(v - m->s.soc * 100));
			break;
		case SIG_vehicle_gear:
			e->gear_bad += (int)v != (m->s.gear == 4 ? 3 : m->s.gear);
			break;
		case SIG_battery_gids:
			e->gids_bad += (unsigned)v != sim_gids(m);
			break;
		case SIG_vehicle_aux_battery_v:
			e->aux = fmax(e->aux, fabs(v - m->s.aux_v));
			break;
		case SIG_vehicle_odometer_km:
			e->odo = fmax(e->odo, fabs(v - floor(m->s.odo_km)));
			break;
		case SIG_vehicle_parking_brake:
			e->brake_bad += (v != 0) != (m->s.gear == SIM_P);
			break;
		case SIG_vehicle_range_km:
			e->saw_range |= v > 0;
			break;
		case SIG_vehicle_doors_open:
			e->saw_doors = true;
			break;
		}
	}
}

static void
roundtrip(int gen)
{
	struct sim m;
	struct decoder d;
	struct can_rec fr[64];
	struct sig_update u[DEC_MAX_UPDATES];
	struct err e = {0};

	sim_init(&m, gen, BUS_EV, 1700000000000000000LL);
	decoder_init(&d, -1);
	for (int k = 0; k < SIM_CYCLE_S * 100; k++) {
		size_t nf = sim_run(&m, sim_next_ns(&m) + 1, fr, 64);
		CHECK(nf > 0);
		for (size_t i = 0; i < nf; i++) {
			static const uint16_t car[] = {0x292, 0x355, 0x421, 0x5A9, 0x5C5, 0x60D};
			size_t n = decoder_frame(&d, &fr[i], u, DEC_MAX_UPDATES);
			absorb(&m, u, n, &e);
			for (unsigned c = 0; c < 6; c++)
				if (fr[i].id == car[c]) {
					CHECK_INT(fr[i].bus, ==, BUS_CAR);
					e.car_ids |= 1u << c;
				}
		}
	}
	CHECK_INT(d.gen, ==, gen);
	CHECK_INT(d.st.crc_errors, ==, 0);
	CHECK_INT(d.st.counter_gaps, ==, 0);
	CHECK_INT(d.st.unknown_ids, ==, 0);
	CHECK_INT(d.st.implausible, ==, 0);
	CHECK(e.cur <= 0.25 + 1e-9); /* 0.5 A steps */
	CHECK(e.volt <= 0.25 + 1e-9);
	CHECK(e.rpm <= 0.5);
	CHECK(e.tq <= 0.25 + 1e-9);
	CHECK(e.speed <= 0.01);
	CHECK(e.soc <= 0.05 + 1e-9);
	CHECK_INT(e.gear_bad, ==, 0);
	CHECK_INT(e.gids_bad, ==, 0);
	CHECK(e.saw_drive && e.saw_regen && e.saw_charge && e.saw_reverse);
	CHECK_INT(e.car_ids, ==, 0x3F);
	CHECK(e.aux <= 0.05 + 1e-9); /* 0.1 V */
	CHECK(e.odo <= 1e-9);
	CHECK_INT(e.brake_bad, ==, 0);
	CHECK(e.saw_range && e.saw_doors);
	CHECK(d.e_out_kwh > 0.5 && d.e_in_kwh > 0.1);
}

static void
test_sim_ze0(void)
{
	roundtrip(GEN_ZE0);
}

static void
test_sim_aze0(void)
{
	roundtrip(GEN_AZE0);
}

static void
test_sim_ze1(void)
{
	roundtrip(GEN_ZE1);
}

T_MAIN(T(test_sim_ze0), T(test_sim_aze0), T(test_sim_ze1))
