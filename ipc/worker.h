/*
 * The worker side of the parent channel. A worker is started by leafmond as
 * `leafmon-<name> -c FILE` with a SOCK_SEQPACKET channel on fd 3, or by hand
 * with --standalone (no channel). worker_init() loads the config (exit 78 on
 * a bad one), sets up logging and a loop with SIGTERM/SIGINT handled; the
 * runtime sends a heartbeat every second, and on Stop, EOF on fd 3 or
 * SIGTERM it calls the worker's stop callback, which flushes and then calls
 * worker_exit().
 */
#ifndef LEAFMON_WORKER_H
#define LEAFMON_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

#define WORKER_CHAN_FD 3
#define HB_MAX_COUNTERS 128 /* the can worker: about 95 with 8 sources, GPS and cell polling */
#define HB_MAX_ALERTS 8

/* A writer's delivery ledger (DESIGN.md "Sync ledger"). */
struct ledger {
	uint64_t queued_records;
	uint64_t queued_bytes;
	double oldest_age_s;
	int64_t last_success; /* Unix time, 0 = never */
	int64_t last_contact;
	int last_error_code;  /* HTTP status, negative for network errors, 0 = none */
	char last_error_text[256];
	int64_t last_error_at;
	uint64_t dropped;
	uint64_t dead_lettered;
	uint64_t sent_bytes_today;
	int nextra;
	struct {
		char name[48];
		double value;
	} extra[16];
};

struct worker_alert {
	char code[32];
	char text[256];
	int64_t since; /* Unix time */
};

struct heartbeat {
	int ncounters;
	struct {
		char name[48];
		double value;
	} counters[HB_MAX_COUNTERS];
	bool has_ledger;
	struct ledger ledger;
	int nalerts;
	struct worker_alert alerts[HB_MAX_ALERTS];
};

void hb_counter(struct heartbeat *hb, const char *name, double value);
void hb_alert(struct heartbeat *hb, const char *code, const char *text, int64_t since);
void ledger_extra(struct ledger *l, const char *name, double value);

struct worker;
typedef void (*worker_hb_fn)(struct worker *w, struct heartbeat *hb, void *arg);
typedef void (*worker_stop_fn)(struct worker *w, void *arg);

struct worker {
	const char *name;
	struct config cfg;
	char config_path[256];
	bool standalone;
	int chan_fd; /* -1 standalone */
	struct loop *loop;
	struct loop_timer *hb_timer;
	worker_hb_fn hb_fn;
	void *hb_arg;
	worker_stop_fn stop_fn;
	void *stop_arg;
	bool stopping;
	int exit_code;
	char rundir[256];
	char statedir[256];
};

/*
 * A worker's exit status, the contract with leafmond (DESIGN.md "Processes"):
 * 0 it stopped when told to, or has nothing to do (a disabled section);
 * WORKER_EXIT_CONFIG the configuration is at fault: leafmond marks the worker
 * failed at once and starts it again only after a reload; WORKER_EXIT_START
 * any other failure to start: restarted with backoff like a crash; 2 a bad
 * command line (usage).
 */
#define WORKER_EXIT_CONFIG EX_CONFIG_ERR /* 78, sysexits' EX_CONFIG */
#define WORKER_EXIT_START 1

/* Every start-up failure: log why (an error) and exit with code. */
_Noreturn void worker_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parse `-c FILE`, `--standalone`, `--rundir DIR`, `-v` (debug) from argv;
 * make RUNDIR and STATEDIR or refuse them when they are not ours alone.
 * Fails (worker_fail) with WORKER_EXIT_CONFIG on a bad config or a run or
 * state directory that is not ours, WORKER_EXIT_START on other setup failures.
 */
void worker_init(struct worker *w, const char *name, int argc, char **argv);
void worker_set_heartbeat(struct worker *w, worker_hb_fn fn, void *arg);
void worker_set_stop(struct worker *w, worker_stop_fn fn, void *arg);
/* Tell leafmond we are serving (can worker: sources open). */
void worker_ready(struct worker *w, const char *detail);
/* Run the loop until worker_exit(); returns the exit code. */
int worker_run(struct worker *w);
void worker_exit(struct worker *w, int code);
/* RUNDIR and STATEDIR when we make them: the group may look in (the CLI of
 * the leafmon group under the unit), nobody else; neither is used unless
 * it is ours and writable by nobody else (dir_make_trusted). */
#define RUNDIR_MODE 0750

/* RUNDIR and STATEDIR as DESIGN.md resolves them (also for the CLI). */
void resolve_rundir(char *out, size_t len, const char *opt, const struct config *cfg);
void resolve_statedir(char *out, size_t len, const struct config *cfg);

#endif
