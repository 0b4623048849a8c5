/*
 * The Leaf CAN decoder: pure (no I/O, no clock reads). One frame in, the
 * signal values it carries out. Layouts, invalid markers and per-generation
 * differences follow ../shared/LEAF-CAN.md (its Corrections first). Frames
 * whose CRC-8 or nibble checksum fails are counted and dropped; 2-bit rolling
 * counters are checked; single-frame outliers of slow signals are held back
 * by a plausibility filter (see decode.c, "Plausibility").
 */
#ifndef LEAFMON_DECODE_H
#define LEAFMON_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"
#include "signals.h"

enum leaf_gen { GEN_UNKNOWN = -1, GEN_ZE0 = 0, GEN_AZE0 = 1, GEN_ZE1 = 2 };

/* One decoded value. Enums are their label index, bools 0/1. */
struct sig_update {
	uint16_t id;
	double value;
};

/* The most updates one frame can produce (an ISO-TP group 0x02 reply ends
 * with 96 cells + 4 statistics; health counters ride along). */
#define DEC_MAX_UPDATES 128

struct dec_stats {
	uint64_t frames;       /* every frame handed in */
	uint64_t crc_errors;   /* CRC-8 or nibble checksum failed: dropped */
	uint64_t counter_gaps; /* rolling counter not the expected next value */
	uint64_t unknown_ids;  /* frames with an id not known on their bus */
	uint64_t implausible;  /* values held back by the plausibility filter */
	uint64_t invalid;      /* fields that carried their invalid marker */
	uint64_t short_frames; /* a known id with too few bytes: dropped */
};

/* Plausibility state of one slow signal (GIDs, SOC ...). */
struct plaus {
	double last;	/* last accepted value */
	double cand;	/* a jump waiting for confirmation */
	bool have;
	bool have_cand;
};

#define DEC_CTR_SLOTS 16
#define DEC_ISOTP_MAX 512

struct decoder {
	int forced_gen;	   /* CFG_GEN_AUTO (-1) or a leaf_gen */
	int gen;	   /* GEN_UNKNOWN until decided */
	bool gen_emitted;
	unsigned evidence; /* DEC_EV_* bits seen so far */
	bool lbc_seen;
	int64_t first_lbc_ns;	/* frame time of the first LBC frame */

	/* rolling counters: last value per (message, bus) slot, -1 = none */
	int8_t ctr[DEC_CTR_SLOTS][BUS_COUNT];
	int64_t ctr_t[DEC_CTR_SLOTS][BUS_COUNT];

	/* pack current/voltage for power and energy */
	double volt_v, curr_a; /* curr_a positive = discharge */
	bool have_volt, have_curr;
	int64_t energy_t_ns; /* time of the last integration step (0 = none) */
	double energy_p_kw;  /* power over the step that ends at the next frame */
	double e_out_kwh, e_in_kwh;

	/* plausibility-filtered slow signals */
	struct plaus p_gids, p_gids_full, p_soc, p_qc_remain;

	/* vehicle */
	int64_t wheel_speed_t_ns; /* last 0x284: 0x355 speed only when absent */
	int odo_miles;		  /* -1 unknown, 0 km, 1 miles (0x355 d6) */
	bool ready_from_bcm;	  /* 0x60D seen: it owns vehicle_ready */

	/* health counters restated once per second of frame time */
	bool rate_started;
	int64_t rate_window_ns;
	uint64_t rate_frames;

	/* passive ISO-TP reassembly of 0x7BB (LBC diagnostic replies) */
	uint8_t tp_buf[DEC_ISOTP_MAX];
	size_t tp_len, tp_want;
	uint8_t tp_next_sn;
	int tp_bus;
	bool tp_polled; /* our poller owns the 0x7BB replies now: not read here */

	struct dec_stats st;
};

void decoder_init(struct decoder *d, int forced_gen);
/* Decode one frame; returns how many updates were written to out (at most
 * cap; DEC_MAX_UPDATES is always enough). */
size_t decoder_frame(struct decoder *d, const struct can_rec *f, struct sig_update *out,
		     size_t cap);
/* Take f's evidence of the generation without decoding it (the hold
 * below); the generation it decides is published when f is decoded.
 * Returns d->gen. */
int decoder_observe(struct decoder *d, const struct can_rec *f);
/* Restore the energy counters (from the snapshot or STATEDIR) before the
 * first frame; they keep integrating from there. */
void decoder_set_energy(struct decoder *d, double out_kwh, double in_kwh);
/* A complete LBC diagnostic reply ("61 GG ...", as our poller reassembled
 * it) through the group decoders the passive path uses; returns how many
 * updates were written to out (at most cap; DEC_MAX_UPDATES is enough). */
size_t decoder_diag_reply(struct decoder *d, const uint8_t *p, size_t n, struct sig_update *out,
			  size_t cap);
/* The health counters as updates (can_frames_total ...), for a final flush. */
size_t decoder_health(struct decoder *d, struct sig_update *out, size_t cap);
const char *decoder_gen_name(int gen);

/*
 * The hold: frames that arrive before the generation is known wait and are
 * decoded once it is, so the values of the first second (a car waking up)
 * are not lost to generation-dependent fields. A frame waits at most
 * DEC_HOLD_NS of frame time after the first held one, and at most
 * DEC_HOLD_MAX frames wait; then they go as they are (the generation still
 * unknown); the live worker also lets them go after DEC_HOLD_NS of its own
 * clock when a live bus falls quiet meanwhile (not for a replay, whose
 * frame times are not that clock's). Only the first frames of a decoder's
 * life can wait: once
 * released, every frame passes at once. The live worker and `leafmon
 * decode` put every frame through it before the cutter and the decoder, so
 * a replay still cuts the samples `leafmon decode` cuts.
 */
#define DEC_HOLD_MAX 4096
#define DEC_HOLD_NS (2000LL * 1000 * 1000)

struct dec_hold {
	struct can_rec *q; /* DEC_HOLD_MAX, allocated on the first frame held */
	size_t n;
	bool done; /* released: frames pass */
	int64_t t_first;
};

void dec_hold_init(struct dec_hold *h, const struct decoder *d);
void dec_hold_free(struct dec_hold *h);
/*
 * Hand f over: returns how many frames are to be decoded now, in order, at
 * *out (f itself, or the held frames ending with f); valid until the next
 * call.
 */
size_t dec_hold_push(struct dec_hold *h, struct decoder *d, const struct can_rec *f,
		     const struct can_rec **out);
/* Release what waits (end of a log, the bus asleep, a stop). */
size_t dec_hold_flush(struct dec_hold *h, const struct can_rec **out);

/* Integrity helpers, shared with the simulator. */
uint8_t leaf_crc8(const uint8_t *p, size_t n);
/* The nibble sum of d0..d6 and the high nibble of d7, plus k, low nibble. */
uint8_t leaf_nibble_sum(const uint8_t d[8], int k);

#endif
