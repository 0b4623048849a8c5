/*
 * CAN sources of the worker: socketcan, slcan, replay and sim, each a
 * non-blocking fd or a timer in the worker's one loop. A source hands
 * batches of frames to its callback; a source that fails is closed and the
 * worker retries it. Nothing is ever transmitted except through src_send(),
 * which only the cell poller calls ([can] poll_cells = true): socketcan and
 * slcan put the frame on the bus, the simulator's LBC hears it, a replay
 * cannot send.
 */
#ifndef LEAFMON_SRC_H
#define LEAFMON_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"
#include "loop.h"
#include "srcspec.h"

#define SRC_BATCH 64

/* DONE: a replay reached its end; FAILED: a replay whose file holds no frame
 * (not retried: the file is not going to change by itself) */
enum src_state { SRC_DOWN, SRC_UP, SRC_DONE, SRC_FAILED };

/* A replay's timeline: what a restarted worker needs to go on with it
 * (can_resume.h) so that its frames get the stamps they would have had. */
struct replay_timeline {
	int64_t wall0, mono0; /* the re-based start, real and monotonic */
	int64_t log0;	      /* the log's first frame time */
	int64_t loop_span;    /* how far each pass moves the next on (0: no pass ended) */
	uint64_t per_loop;    /* frames in a pass of the file (0: none ended yet) */
};

/* Where a replay goes on: frame number pos (counted over every pass from
 * the first, 0-based), whose stamped time and id are next_t and next_id
 * (next_id REPLAY_NEXT_UNKNOWN: not checked). */
#define REPLAY_NEXT_UNKNOWN 0xFFFFFFFFu
struct replay_resume {
	struct replay_timeline tl;
	uint64_t pos;
	int64_t next_t;
	uint32_t next_id;
	uint64_t errors;
};

struct can_src;
typedef void (*src_frames_fn)(struct can_src *s, const struct can_rec *f, size_t n, void *arg);
/* The source failed (read error, device gone): it has closed itself. */
typedef void (*src_fail_fn)(struct can_src *s, void *arg);

struct can_src {
	struct src_spec spec;
	struct loop *loop;
	src_frames_fn on_frames;
	src_fail_fn on_fail;
	void *arg;
	int state; /* enum src_state */
	int fd;
	struct loop_timer *timer;
	char err[600];
	/* counters */
	uint64_t frames;
	uint64_t rx_overflows; /* SO_RXQ_OVFL: dropped by the kernel */
	uint64_t errors;       /* unparseable lines or adapter errors */
	bool bus_off;	       /* error frames said bus-off */
	int64_t failed_ns;     /* real time it went SRC_FAILED */
	void *priv;	       /* kind-specific state */
	void (*close_fn)(struct can_src *s);
	int gen;	       /* sim: generation to simulate (set before src_open) */
	bool tx;	       /* set before src_open: the poller sends (slcan opens
				* in normal mode, not listen-only) */
	int64_t batch_ns;      /* set before src_open: [can] read_batch_ms (0: read
				* as frames come) */
	struct loop_timer *batch_timer; /* fd kinds with a read cadence */
	bool polled;	       /* the fd is out of the poll set, the timer reads */
	void (*read_fn)(struct can_src *s, uint32_t events); /* fd kinds: read what waits */
	int (*send_fn)(struct can_src *s, const struct can_rec *f);
	uint64_t tx_frames;    /* frames sent */
	int64_t rebase_ns;     /* replay: frame time minus log time (0 with keep_time) */
	/* replay: go on from here (set before src_open, NULL: from the top);
	 * after the open, resumed says whether it did, resume_why why not */
	const struct replay_resume *resume;
	bool resumed;
	char resume_why[200];
};

int src_open(struct can_src *s, struct loop *l, const struct src_spec *spec, src_frames_fn fn,
	     src_fail_fn fail, void *arg);
void src_close(struct can_src *s);
/* Can this (open) source transmit? */
bool src_can_send(const struct can_src *s);
/* Transmit one frame now, never blocking: 0, or -1 with errno (EAGAIN,
 * ENOBUFS: the queue is full; EOPNOTSUPP: this kind cannot send). */
int src_send(struct can_src *s, const struct can_rec *f);

/* An fd kind's reading (socketcan, slcan): read_fn runs when the fd is
 * readable, or with a read cadence (batch_ns > 0) on a timer on the
 * batch_ns grid for as long as each read finds frames, the fd out of the
 * poll set meanwhile; a read that finds none puts the fd back, so a quiet
 * bus wakes nobody. -1 with errno when the loop refuses. */
int src_watch_fd(struct can_src *s, void (*read_fn)(struct can_src *s, uint32_t events));
/* When a timer kind (replay) should next wake for a frame due at due_ns
 * (monotonic): then, or the next batch_ns grid point after it. */
int64_t src_wake_at(const struct can_src *s, int64_t due_ns);

/* per kind (src_*.c) */
int src_socketcan_open(struct can_src *s);
int src_slcan_open(struct can_src *s);
int src_replay_open(struct can_src *s);
int src_sim_open(struct can_src *s);
/* The timeline of an open replay (for can_resume.h); -1 when s is none. */
int src_replay_timeline(const struct can_src *s, struct replay_timeline *tl);

/*
 * The socketcan read loop, apart from the AF_CAN setup so that it can be
 * tested over socketpair(AF_UNIX, SOCK_SEQPACKET): one recvmmsg batch of
 * struct can_frame / canfd_frame with their SO_TIMESTAMP(NS) and
 * SO_RXQ_OVFL cmsgs into can_recs. Returns the number of frames, 0 when
 * nothing is waiting, -1 on an error (errno). *ovfl gets the kernel's
 * cumulative drop count when it said one.
 */
int socketcan_read_batch(int fd, struct can_rec *out, size_t cap, int bus, uint32_t *ovfl,
			 bool *have_ovfl);
/* Read CAN frames from an already open socket (tests use a socketpair). */
int src_socketcan_attach(struct can_src *s, int fd);
/* Ask for the timestamps and the overflow counter on any socket. */
void socketcan_sockopts(int fd);

#endif
