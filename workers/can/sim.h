/*
 * A built-in Leaf simulator (pure: it is told the time, it reads no clock).
 * A ten-minute cycle: parked and ready, a hard acceleration to 100 km/h, a
 * cruise, regenerative braking, city stop-and-go, a short reverse, then an
 * AC charge session and a parked idle with the climate on. It produces the
 * real frames of the chosen generation, with valid CRCs, nibble checksums
 * and rolling counters, so the decoder reads back the simulator's state.
 */
#ifndef LEAFMON_SIM_H
#define LEAFMON_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"

#define SIM_TICK_NS (10LL * 1000 * 1000)
#define SIM_CYCLE_S 600

/* The physical state the frames encode (the decoder's view, signs as ours:
 * current positive on discharge). */
struct sim_state {
	double speed_kmh;
	double rpm;
	double torque_nm;
	double current_a;
	double voltage_v;
	double soc;	  /* 0..1 */
	double temp_c;	  /* pack */
	double ambient_c;
	double odo_km;
	int gear;	  /* vehicle_gear index: P R N D B */
	bool charging;
	double charge_kw; /* AC power into the charger */
	bool climate_on;
};

struct sim {
	int gen;	/* GEN_ZE0 .. GEN_ZE1 */
	int bus;
	int64_t t0;	/* time of tick 0 */
	uint64_t tick;	/* next 10 ms tick to emit */
	double capacity_kwh;
	unsigned gids_full;
	struct sim_state s;
	uint8_t ctr[16];
};

void sim_init(struct sim *m, int gen, int bus, int64_t t0_ns);
/* Emit every frame due before until_ns (at most cap; the rest stay due). */
size_t sim_run(struct sim *m, int64_t until_ns, struct can_rec *out, size_t cap);
/* The time of the next frame. */
int64_t sim_next_ns(const struct sim *m);
/* GIDs of the current state (what 0x5BC carries). */
unsigned sim_gids(const struct sim *m);

#endif
