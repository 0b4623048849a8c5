/*
 * A built-in Leaf simulator (pure: it is told the time, it reads no clock).
 * A scenario says what the driver does each 10 ms tick (sim_ctl); a simple
 * physical model turns that into the car's state; the frames of the chosen
 * generation carry the state, with valid CRCs, nibble checksums and
 * rolling counters, so the decoder reads back what the simulator did.
 * EV-CAN frames go on the simulator's bus, the Car-CAN ones (12 V,
 * odometer, doors, parking brake, range, 0x421 gear, cluster speed) on
 * @car and CHAdeMO's 0x109 on @qc, as on a car tapped on all three.
 *
 * Scenarios: SIM_CYCLE, a ten-minute loop (parked and ready, a hard
 * acceleration to 100 km/h, a cruise, regenerative braking, city
 * stop-and-go, a short reverse, an AC charge, parked with the climate on);
 * SIM_DAY, a day of driving, parking (the bus asleep), a quick charge and
 * an AC charge interrupted and resumed, with the ground truth of every
 * session from the model's own physics (sim_day.c).
 */
#ifndef LEAFMON_SIM_H
#define LEAFMON_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"

struct buf;

#define SIM_TICK_NS (10LL * 1000 * 1000)
#define SIM_CYCLE_S 600
#define SIM_MAX_PER_TICK 32 /* frames one tick can give */

enum sim_scenario { SIM_CYCLE, SIM_DAY };
enum sim_charge { SIM_CHG_NONE, SIM_CHG_AC, SIM_CHG_QC };
enum sim_gear { SIM_P, SIM_R, SIM_N, SIM_D, SIM_B };

/* What the driver (the scenario) does this tick. */
struct sim_ctl {
	double speed_kmh; /* negative: reverse */
	int gear;	  /* enum sim_gear */
	bool awake;	  /* the bus is up (no frames at all while it sleeps) */
	bool ready;
	bool climate;
	int charge;	  /* enum sim_charge: energy flows from a charger */
	bool plugged;	  /* a connector is in (the charger may be idle) */
	bool chademo;	  /* the CHAdeMO connector is in: 0x109 (0x3C9) flows */
	bool finished;	  /* the charger reports a finished charge */
	double charge_kw; /* AC: power from the grid into the OBC; QC: the charger's output */
	bool target80;	  /* the charge target is 80 % */
	unsigned doors;	  /* 1 FL, 2 FR, 4 RL, 8 RR, 16 hatch */
};

/* The physical state the frames encode (signs as ours: current positive
 * on discharge). */
struct sim_state {
	struct sim_ctl c; /* this tick's controls */
	double speed_kmh;
	double rpm;
	double torque_nm;
	double current_a;
	double voltage_v;
	double soc;    /* 0..1, follows the pack's terminal energy */
	double temp_c; /* pack */
	double ambient_c;
	double odo_km;
	double aux_v;	   /* 12 V battery */
	double obc_kw;	   /* the on-board charger's output */
	double qc_v, qc_a; /* the quick charger's output */
	/* kept for the cycle's readers (sim_test): */
	int gear;
	bool charging;
	bool climate_on;
};

struct sim_day;

struct sim {
	int gen; /* GEN_ZE0 .. GEN_ZE1 */
	int bus; /* EV-CAN frames; Car-CAN on BUS_CAR, CHAdeMO on BUS_QC */
	int scenario;
	int64_t t0;    /* time of tick 0 */
	uint64_t tick; /* next 10 ms tick to emit */
	double capacity_kwh;
	unsigned gids_full;
	struct sim_state s;
	uint8_t ctr[16];
	struct sim_day *day; /* SIM_DAY: the script and the truth */
	bool ended;	     /* SIM_DAY: the script is over */
};

void sim_init(struct sim *m, int gen, int bus, int64_t t0_ns);
/* Switch to a scenario before the first sim_run; 0, or -1 (no memory). */
int sim_set_scenario(struct sim *m, int scenario);
void sim_free(struct sim *m);
/* Emit every frame due before until_ns (at most cap; the rest stay due).
 * While the bus sleeps, ticks pass with no frames. */
size_t sim_run(struct sim *m, int64_t until_ns, struct can_rec *out, size_t cap);
/* The time of the next tick. */
int64_t sim_next_ns(const struct sim *m);
/* GIDs of the current state (what 0x5BC carries). */
unsigned sim_gids(const struct sim *m);
/* The frames of one tick, from the state (sim_frames.c). */
void sim_tick_frames(struct sim *m, struct can_rec *out, size_t *n, size_t cap, int64_t t);

/* ---- SIM_DAY (sim_day.c) ---- */
struct sim_day *sim_day_new(void);
/* This tick's controls (the script advances on the state: a charge lasts
 * until its target SOC). False once the script is over. */
bool sim_day_ctl(struct sim *m, int64_t t, struct sim_ctl *c);
/* After the physics of a tick: the truth's integrals and boundaries. */
void sim_day_truth_tick(struct sim *m, int64_t t, double dt, double pack_kw);
/* The ground truth, one JSON object per line (the keys of docs/DESIGN.md
 * "Sessions"); the session still open is partial and ends at end_ns. */
void sim_day_truth_json(const struct sim *m, int64_t end_ns, struct buf *b);

#endif
