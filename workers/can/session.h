/*
 * Sessions: trips, charges, parked periods and one battery record per local
 * day, detected and accounted frame by frame from the decoder's updates.
 * Pure (no I/O, no clock reads; local time from the C library for the days
 * and the tariff). The can worker and `leafmon decode --sessions` make the
 * same calls, so a replay gives what an offline decode gives. The rules,
 * the figures and their signs are in docs/DESIGN.md, "Sessions".
 */
#ifndef LEAFMON_SESSION_H
#define LEAFMON_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "tariff.h"
#include "util.h"

enum sess_kind { SESS_NONE = -1, SESS_TRIP, SESS_CHARGE, SESS_PARK, SESS_DAILY, SESS_KINDS };
enum sess_phase { SESS_START, SESS_UPDATE, SESS_END };
enum sess_recovery { REC_NONE, REC_CONTINUED, REC_CLOSED };
enum sess_charge_type { CT_AC, CT_QC };
enum sess_end { END_NONE, END_FULL, END_TARGET, END_UNPLUGGED, END_INTERRUPTED };

/* What adds up (or peaks) over a span of time: a session, or the tail of
 * one that may be ending (see "tail" below). Energies are positive
 * numbers: e_out left the pack, e_in went into it. NAN: never seen. */
struct sess_acc {
	double e_out, e_in;	 /* kWh, deltas of the decoder's frame-rate counters */
	double dist_km;		 /* vehicle speed integrated over frame time */
	double drive_s;		 /* time at 1 km/h or more */
	double charge_s;	 /* time charging */
	double ah;		 /* pack current integrated, Ah, positive = discharge */
	double qc_kwh, qc_s;	 /* the quick charger's V x I integrated, and for how long */
	double cost;		 /* AC: pack kWh x price, summed (divided by efficiency later) */
	double unpriced_kwh;	 /* AC pack kWh at times without a price */
	double climate_kwh;	 /* climate power integrated (while that signal is published) */
	double temp_sum, temp_s; /* pack temperature x time, and that time */
	double amb_sum, amb_s;	 /* ambient temperature x time, and that time */
	double speed_max, power_max, temp_max, aux_min;
};

/* Values at one instant (a session's start or end). NAN: unknown then. */
struct sess_point {
	double soc, gids, odo, temp, aux, remain;
	double lat, lon; /* the GPS's position (position_*_deg), when it has a fix */
};

/* One session: its identity (kind, start_ns) and its figures so far. */
struct session {
	int kind;
	int64_t start_ns;
	int64_t end_ns; /* a closed session's end; an open one's latest time */
	bool partial_start, partial_end;
	int recovery;	 /* enum sess_recovery */
	int charge_type; /* enum sess_charge_type */
	int end_reason;	 /* enum sess_end */
	struct sess_point p0, p1;
	struct sess_acc a;
	/* battery_daily: the last values of the day, NAN when not seen */
	double soh, bars, gids_full, hx, ahr, cells_delta;
	/* measured capacity of the day's sessions, weighted by their SOC span */
	double cap_kwh_w, cap_ah_w, cap_temp_w, cap_w;
};

struct session_event {
	int phase;	  /* enum sess_phase */
	int64_t t_ns;	  /* frame time it was emitted at */
	struct session s; /* the figures then */
};

struct sessions_cfg {
	int64_t trip_end_ns;	     /* [ledger] trip_end_s */
	int64_t asleep_ns;	     /* [can] asleep_after_s (> 0): a frame gap this long is a sleep */
	double min_trip_km;	     /* [ledger] min_trip_km */
	double ac_efficiency;	     /* [ledger] ac_efficiency */
	const struct tariff *tariff; /* NULL: no cost; set before sessions_init, outlives them */
};

/* The values the rules and the figures read (SV_*, session.c). */
#define SESS_NVAL 32
struct sess_val {
	double v;
	int64_t t;
	bool have;
};

#define SESS_EVENTS_MAX 16

struct sessions {
	struct sessions_cfg cfg;
	bool have_t;
	int64_t last_t;	 /* the last frame's time */
	int64_t int_t;	 /* the sums are integrated up to this frame time (session.c) */
	bool data_known; /* data_start is the first frame's time (not after a restore) */
	int64_t data_start;
	bool restored; /* the next frame decides the recovery */
	struct sess_val v[SESS_NVAL];
	double pt; /* the pack temperature of v (session.c, pack_temp_of) */
	bool have_eo, have_ei;
	double eo_last, ei_last; /* the decoder's energy counters, last seen */
	bool charging;		 /* the last frame was charging */
	bool points_stale;	 /* a value of the points changed, or the session */
	bool rules_dirty;	 /* an input of the rules changed (session.c, rules()) */
	int64_t rules_at;	 /* or at this frame time they may decide otherwise */
	int64_t due_ns;		 /* a frame at or after this takes the whole path (session.c) */
	/* the open session: at most one trip, charge or park at a time */
	bool open;
	struct session cur;
	/* The tail: what happened since a moment at which the open session may
	 * turn out to have ended (a trip in P, a charge that stopped) or a trip
	 * may turn out to have begun (ready in a drive gear while parked). It
	 * goes to the session it belongs to once that is known. */
	bool in_tail;
	int64_t tail_ns;
	struct sess_acc tail;
	struct sess_point tail_p;
	int64_t armed_ns;	/* ready in a drive gear since; 0: not */
	int64_t last_charge_ns; /* the last frame that was charging */
	bool finished;		/* the charger said "finished" since */
	int64_t next_update_ns;
	/* the local day */
	bool day_open;
	struct session day;
	int64_t day_end_ns;
	/* tariff cache */
	bool ac_priced; /* the tariff has an AC price (sessions_init) */
	int64_t price_until;
	double price;
	bool price_ok;
	/* output */
	struct session_event ev[SESS_EVENTS_MAX];
	size_t nev;
	uint64_t events, events_dropped, energy_jumps;
};

void sessions_init(struct sessions *s, const struct sessions_cfg *cfg);
/* After each frame's decode, with that frame's updates. */
void sessions_frame(struct sessions *s, int64_t t_ns, const struct sig_update *u, size_t n);
/* The bus fell asleep; t_ns is when it was last heard. Ends a trip. */
void sessions_idle(struct sessions *s, int64_t t_ns);
/* The data ends (end of a log): every open session ends, partial. */
void sessions_finish(struct sessions *s);
/* The figures up to the last frame: the sums and the latest times are
 * brought up to date when they are read or their values change, and by
 * this (a save does it first). */
void sessions_flush(struct sessions *s);
/* The events since the last call: s->ev[0 .. s->nev); then clear them. */
static inline void
sessions_clear_events(struct sessions *s)
{
	s->nev = 0;
}

/* The figures as the JSON object of the contract (session_json.c). */
void session_json(const struct session *x, const struct sessions_cfg *cfg, struct buf *b);
const char *session_kind_name(int kind);
const char *session_phase_name(int phase);
/* One human line: kind, times, the main figures (decode --sessions). */
void session_text(const struct session *x, const struct sessions_cfg *cfg, struct buf *b);

/* Checkpoint (session_ckpt.c): a versioned text blob of the whole state;
 * restore gives 0, or -1 with err when it is not one (state untouched). */
void sessions_save(struct sessions *s, struct buf *b);
/* The same text, with each fractional figure's text kept from the last save
 * while its double has the same bits; c starts zeroed and belongs to one
 * writer. */
#define SESS_CKPT_FIELDS 147
struct sess_ckpt_cache {
	struct {
		uint64_t bits;
		uint8_t len; /* 0: nothing kept */
		char text[31];
	} f[SESS_CKPT_FIELDS];
};
void sessions_save_cached(struct sessions *s, struct buf *b, struct sess_ckpt_cache *c);
int sessions_restore(struct sessions *s, const char *text, char *err, size_t errlen);
/* A state taken from elsewhere (a replay's frame): the next frame decides
 * the recovery, as after a restore. */
static inline void
sessions_mark_restored(struct sessions *s)
{
	s->restored = true;
	s->due_ns = INT64_MIN; /* the whole path (session.c, sessions_frame) */
}

#endif
