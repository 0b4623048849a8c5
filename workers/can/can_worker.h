/*
 * The CAN worker's state and its frame path: sources -> the hold (only the
 * first frames wait, for the generation) -> decoder -> snapshot (every
 * value, every frame) -> cutter -> journal + samples.ipc; the session
 * module (can_sessions.c), whose events ride in the samples; raw frames to
 * frames.ipc while someone listens and to the recorder, as they come.
 * can_main.c wires it to the worker runtime.
 */
#ifndef LEAFMON_CAN_WORKER_H
#define LEAFMON_CAN_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "can_poll.h"
#include "can_sessions.h"
#include "clock.h"
#include "cutter.h"
#include "decode.h"
#include "can_gps.h"
#include "recorder.h"
#include "src.h"
#include "worker.h"

struct snap;
struct journal;
struct can_resume;
struct resume_rec;

struct can_worker {
	struct worker *w;
	struct snap *snap;
	struct journal *journal;
	nng_socket pub_samples, pub_frames;
	atomic_int frame_pipes; /* subscribers on frames.ipc (nng threads) */
	struct decoder dec;
	struct dec_hold hold; /* the first frames wait for the generation */
	int64_t hold_mono;    /* when the first of them came */
	bool replaying;	      /* a source is a replay */
	struct cutter cut;
	struct sample_out so;
	struct can_src src[SRC_MAX];
	int nsrc;
	int64_t src_down_since[SRC_MAX];
	/* the counted gaps: how often each source went away, and for how long */
	uint64_t src_outages[SRC_MAX];
	int64_t src_down_ns[SRC_MAX];
	struct loop_timer *tick; /* 1 s: asleep, flush, retries, energy */
	struct recorder rec;
	bool recording;
	int64_t last_frame_mono;
	int64_t started_mono;
	bool asleep;
	bool bus_off;
	uint64_t rx_overflows;
	uint64_t samples, keyframes, sample_errors, frames_published;
	uint64_t event_samples; /* samples of session events only (no values) */
	bool key_origin_set;	/* by the first replay source */
	int64_t energy_saved_mono;
	char energy_path[320];
	uint8_t *pack; /* 1 + MSG_SAMPLE_MAX */
	struct clock_state clock; /* refreshed every second */
	bool live_times;	  /* frame times are now-based: boot_ns means something */
	/* a single replay source goes on where it was after a restart (can_resume.h) */
	struct can_resume *resume;
	char resume_spec[400];
	struct resume_rec *file_id; /* the log's identity, and the state loaded at start */
	struct replay_resume resume_at;
	uint64_t pipe_frames;		 /* frames through the cutter and the decoder */
	const struct can_rec *cur_frame; /* the one going through now */
	bool resumed;
	struct can_sessions *sess; /* trips, charges, parks, battery_daily */
	int64_t last_frame_t;	   /* the last frame's time */
	struct can_poll poll;	   /* [can] poll_cells: the LBC's groups (can_poll.h) */
	/* the optional GPS ([gps] source): its updates go into the snapshot and
	 * the samples at once, and to the session module with the next frame */
	struct can_gps gps;
	struct sig_update gps_pend[GPS_MAX_UPDATES];
	size_t gps_npend;
};

int can_worker_start(struct can_worker *cw, struct worker *w);
void can_worker_stop(struct can_worker *cw);
/* The frame path, public for the bench and the tests. */
void can_worker_frames(struct can_worker *cw, const struct can_rec *f, size_t n);
void can_worker_heartbeat(struct can_worker *cw, struct heartbeat *hb);

#endif
