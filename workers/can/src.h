/*
 * CAN sources of the worker: socketcan, slcan, replay and sim, each a
 * non-blocking fd or a timer in the worker's one loop. A source hands
 * batches of frames to its callback; a source that fails is closed and the
 * worker retries it. Nothing here ever transmits on a CAN bus.
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

enum src_state { SRC_DOWN, SRC_UP, SRC_DONE };

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
	void *priv;	       /* kind-specific state */
	void (*close_fn)(struct can_src *s);
	int gen;	       /* sim: generation to simulate (set before src_open) */
	int64_t rebase_ns;     /* replay: frame time minus log time (0 with keep_time) */
};

int src_open(struct can_src *s, struct loop *l, const struct src_spec *spec, src_frames_fn fn,
	     src_fail_fn fail, void *arg);
void src_close(struct can_src *s);
const char *src_state_name(int st);

/* per kind (src_*.c) */
int src_socketcan_open(struct can_src *s);
int src_slcan_open(struct can_src *s);
int src_replay_open(struct can_src *s);
int src_sim_open(struct can_src *s);

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
