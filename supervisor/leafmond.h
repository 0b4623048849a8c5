/*
 * leafmond's process state, shared by its files: main (loop, signals,
 * shutdown), spawn (fork+exec, parent channels), control (socket, status,
 * reload) and notify (systemd).
 */
#ifndef LEAFMON_LEAFMOND_H
#define LEAFMON_LEAFMOND_H

#include <stddef.h>

#include <nng/nng.h>

#include "loop.h"
#include "sup.h"

struct daemon {
	struct sup sup;
	struct loop *loop;
	struct loop_timer *wk_timer[WK_COUNT];
	struct loop_timer *tick;
	struct loop_timer *status_soon;
	struct loop_timer *shutdown_deadline;
	nng_socket ctl;
	int ctl_fd;
	char config_path[256];
	bool config_optional; /* the default path: a missing file means defaults */
	char rundir[256];
	char statedir[256];
	char worker_dir[4096]; /* where the last worker was started from */
	int64_t started_mono;
	bool ready_sent;
	char reload_error[1200];
	int64_t reload_error_at;
	int64_t watchdog_usec;
	int64_t last_watchdog;
	int exit_code;
};

/* The daemon that holds a worker record. */
static inline struct daemon *
container_of_wk(struct wk *w)
{
	struct wk *first = w - w->id;
	return (struct daemon *)((char *)first - offsetof(struct daemon, sup) -
				 offsetof(struct sup, wk));
}

/* spawn.c */
extern const struct sup_ops daemon_ops;
void spawn_reap(struct daemon *d);
/* Take what the ready workers sent (heartbeats): from the tick. */
#define CHAN_READ_MAX 64
void spawn_read_channels(struct daemon *d);

/* control.c */
int control_open(struct daemon *d);
void control_close(struct daemon *d);
Status *control_build_status(struct daemon *d);
void control_free_status(Status *st);
int daemon_reload(struct daemon *d, char *msg, size_t len);
bool worker_enabled(const struct config *cfg, enum wk_id id);

/* notify.c */
void notify_init(struct daemon *d);
void notify_ready(struct daemon *d);
void notify_status(struct daemon *d);
void notify_watchdog(struct daemon *d);
void notify_stopping(struct daemon *d);
void notify_reloading(struct daemon *d, bool done);

/* main.c */
void daemon_status_changed(struct daemon *d);
void daemon_shutdown_step(struct daemon *d);

#endif
