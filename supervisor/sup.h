/*
 * leafmond's model of its workers. The lifecycle is a table
 * action[state][event] of small functions (sup_fsm.c, after s6-supervise);
 * side effects (spawn, signal, timers) go through struct sup_ops so the
 * table can be tested without processes.
 */
#ifndef LEAFMON_SUP_H
#define LEAFMON_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "msg.h"

enum wk_id { WK_CAN, WK_INFLUX, WK_CLOUD, WK_WEB, WK_MQTT, WK_ABRP, WK_LEDGER, WK_COUNT };

enum wk_state {
	WS_STARTING,
	WS_READY,
	WS_BACKOFF,
	WS_STOPPING,
	WS_STOPPED,
	WS_FAILED,
	WS_DISABLED,
	WS_COUNT
};

enum wk_event {
	WE_START,      /* admin start, initial start, reload enabled it */
	WE_STOP,       /* admin stop */
	WE_RESTART,    /* admin restart, its config section changed */
	WE_READY,      /* Ready on its channel */
	WE_EXIT,       /* reaped */
	WE_TIMER,      /* its deadline passed (backoff, stop escalation, failed retry) */
	WE_HB_TIMEOUT, /* no heartbeat for heartbeat_timeout_s */
	WE_DISABLE,    /* reload disabled it */
	WE_SHUTDOWN,   /* leafmond is stopping */
	WE_COUNT
};

#define TALLY_MAX 64

/* Restart throttling: deaths inside the window, and the next backoff. */
struct tally {
	int64_t deaths[TALLY_MAX]; /* mono ns, ring */
	int ndeaths;
	int next_backoff_ms;
};

struct wk {
	enum wk_id id;
	const char *name;
	enum wk_state state;
	bool enabled;
	pid_t pid;
	int chan_fd;
	int64_t spawned_at; /* mono ns */
	int64_t ready_at;
	int64_t last_hb;
	int64_t deadline; /* mono ns of its timer, 0 = none */
	unsigned restarts;
	struct tally tally;
	char last_exit[160];
	bool config_failed; /* exit 78: retried only after a reload */
	bool restart_after_stop; /* STOPPING: start again once it exits */
	bool disable_after_stop;
	int kill_stage;		 /* STOPPING: 0 Stop sent, 1 SIGTERM, 2 SIGKILL */
	Heartbeat *hb;		 /* last heartbeat, owned */
	char alert[256];	 /* supervisor's alert for it (failed, config) */
	int64_t alert_since;	 /* Unix time */
};

struct sup;

struct sup_ops {
	int (*spawn)(struct sup *s, struct wk *w);	   /* fork+exec; sets pid, chan_fd */
	void (*send_stop)(struct sup *s, struct wk *w);	   /* Ctl Stop on the channel */
	void (*kill)(struct sup *s, struct wk *w, int sig);
	void (*arm)(struct sup *s, struct wk *w, int64_t deadline); /* 0 disarms */
	void (*changed)(struct sup *s, struct wk *w);	   /* state changed: status, notify */
};

struct sup {
	struct config cfg;
	struct wk wk[WK_COUNT];
	const struct sup_ops *ops;
	bool shutting_down;
	int64_t now; /* mono ns, set by the caller before each event */
	void *priv;  /* the daemon's own state */
};

const char *wk_state_name(enum wk_state s);
int wk_by_name(const char *name);

void sup_init(struct sup *s, const struct config *cfg, const struct sup_ops *ops);
/* Feed one event to a worker's state table. `status` is the wait status
 * for WE_EXIT. */
void sup_event(struct sup *s, struct wk *w, enum wk_event ev, int status);
/* Death tally: record a death at `now`; returns the delay before the next
 * start in ms, or -1 when the worker is to be FAILED. */
int tally_death(struct tally *t, const struct config *cfg, int64_t now, int64_t up_since);
void tally_reset(struct tally *t, const struct config *cfg);
/* Describe a wait status for last_exit ("exited 1", "killed by SIGKILL"). */
void describe_exit(char *buf, size_t len, int status);

#endif
