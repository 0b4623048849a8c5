/*
 * The cell poller (pure: it is told the time and the frames, it sends
 * nothing itself). It asks the battery controller (LBC) for its diagnostic
 * groups 0x01, 0x02, 0x04 and 0x06 over ISO-TP on 0x79B/0x7BB (LEAF-CAN.md
 * section 8): request "02 21 GG", flow control "30 00 00" on the reply's
 * first frame, consecutive frames checked for their sequence numbers, a
 * timeout on every wait. A complete positive reply is handed back to the
 * caller, who gives it to the decoder (decoder_diag_reply), so polled
 * values land as another tester's passively read replies do.
 *
 * Rules: at most one cycle of the four groups per interval; a request only
 * while the LBC is heard (0x1DB within LBCPOLL_AWAKE_NS) and the caller says
 * the bus is awake; never while another tester polls (a 0x79B frame that is
 * not ours: what is in flight is dropped, and nothing is sent for
 * LBCPOLL_BACKOFF_NS after the last one seen). Every drop is counted.
 */
#ifndef LEAFMON_LBCPOLL_H
#define LEAFMON_LBCPOLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canframe.h"

#define LBCPOLL_REQ_ID 0x79Bu
#define LBCPOLL_REPLY_ID 0x7BBu
#define LBCPOLL_LBC_ID 0x1DBu /* the LBC's 10 ms frame: it is awake */

#define LBCPOLL_MS (1000LL * 1000)
#define LBCPOLL_AWAKE_NS (300 * LBCPOLL_MS)	/* 0x1DB (every 10 ms) heard this recently */
#define LBCPOLL_SETTLE_NS (2000 * LBCPOLL_MS)	/* awake this long before a first cycle */
#define LBCPOLL_REPLY_NS (500 * LBCPOLL_MS)	/* request -> first or single frame */
#define LBCPOLL_PENDING_NS (5000 * LBCPOLL_MS)	/* after "7F 21 78" (response pending) */
#define LBCPOLL_CF_NS (500 * LBCPOLL_MS)	/* consecutive frame -> the next */
#define LBCPOLL_GAP_NS (20 * LBCPOLL_MS)	/* between two groups of a cycle */
#define LBCPOLL_BACKOFF_NS (60000 * LBCPOLL_MS) /* quiet after another tester's last frame */
#define LBCPOLL_ECHO_NS (50 * LBCPOLL_MS)	/* our own frame looped back within this */

#define LBCPOLL_NGROUPS 4
#define LBCPOLL_REPLY_MAX 512
#define LBCPOLL_TX_MAX 2

enum lbcpoll_state {
	LBCPOLL_IDLE,	    /* between cycles */
	LBCPOLL_GAP,	    /* in a cycle, before the next request */
	LBCPOLL_WAIT_FIRST, /* request sent: waiting for SF/FF */
	LBCPOLL_WAIT_CF,    /* FC sent: waiting for consecutive frames */
};

struct lbcpoll_stats {
	uint64_t cycles;	/* cycles begun */
	uint64_t requests;	/* "21 GG" sent */
	uint64_t flow_controls; /* FC frames sent */
	uint64_t replies;	/* complete positive replies */
	uint64_t nrc;		/* negative responses (7F 21 xx, but 78) */
	uint64_t pending;	/* 7F 21 78: the LBC asked for more time */
	uint64_t timeouts;	/* a wait that ran out */
	uint64_t seq_errors;	/* a consecutive frame out of order */
	uint64_t restarts;	/* a new first frame of our group mid-reply */
	uint64_t bad_replies;	/* another service or group, a bad length */
	uint64_t foreign;	/* 0x79B frames of another tester */
	uint64_t backoffs;	/* times another tester made us stop */
	uint64_t aborted;	/* exchanges dropped by a tester, sleep or a send error */
	uint64_t tx_errors;	/* frames the source could not send */
	uint64_t unsupported;	/* groups given up (NRC 11 or 12) */
};

struct lbcpoll {
	int64_t interval_ns;
	int state;		/* enum lbcpoll_state */
	int group;		/* index of the group in flight or next */
	uint8_t skip;		/* bit per group: not supported by this LBC */
	int64_t cycle_t;	/* when the last cycle began (0: none yet) */
	int64_t deadline;	/* of the current wait (or gap) */
	int64_t lbc_t;		/* last 0x1DB */
	bool heard;		/* lbc_t is set */
	int64_t awake_since;	/* 0x1DB without a break since */
	int64_t foreign_t;	/* last foreign 0x79B (0: none) */
	struct can_rec last_tx; /* to recognise our own frame looped back */
	int64_t last_tx_t;
	uint8_t last_nrc;
	/* reassembly */
	uint8_t buf[LBCPOLL_REPLY_MAX];
	size_t len, want;
	uint8_t next_sn;
	/* frames to send, taken by the caller (lbcpoll_take_tx) */
	struct can_rec tx[LBCPOLL_TX_MAX];
	size_t ntx;
	int bus;
	struct lbcpoll_stats st;
};

extern const uint8_t lbcpoll_groups[LBCPOLL_NGROUPS];

void lbcpoll_init(struct lbcpoll *p, int bus, int64_t interval_ns);
/*
 * A received frame of the poller's bus at time now. Returns 1 when it
 * completed a positive reply (p->buf, p->len: "61 GG ..."), else 0. May
 * queue a flow-control frame.
 */
int lbcpoll_rx(struct lbcpoll *p, const struct can_rec *f, int64_t now);
/* Time passes: timeouts, the next request. awake: the caller's view of the
 * bus (not asleep, the source can send). May queue a request. */
void lbcpoll_tick(struct lbcpoll *p, int64_t now, bool awake);
/* When lbcpoll_tick next has something to do (INT64_MAX: nothing planned). */
int64_t lbcpoll_next_ns(const struct lbcpoll *p, int64_t now);
/* The frames queued to send (at most LBCPOLL_TX_MAX); the queue empties. */
size_t lbcpoll_take_tx(struct lbcpoll *p, struct can_rec *out, int64_t now);
/* The caller could not send what it took: the exchange is dropped. */
void lbcpoll_tx_failed(struct lbcpoll *p, int64_t now);
/* An exchange of ours is in flight: 0x7BB frames belong to the poller. */
bool lbcpoll_busy(const struct lbcpoll *p);

#endif
