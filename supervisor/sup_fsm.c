/*
 * The worker lifecycle as a table: action[state][event]. Each action is a
 * small named function; "ign" means the event does not apply in that state.
 *
 *              START   STOP    RESTART READY   EXIT    TIMER   HB_TO   DISABLE SHUTDOWN
 *   starting   ign     stop    restart ready   died    ign     hung    disable stop
 *   ready      ign     stop    restart ign     died    ign     hung    disable stop
 *   backoff    spawn   park    spawn   ign     ign     spawn   ign     park_d  park
 *   stopping   again   keep    again   ign     gone    press   ign     gone_d  keep
 *   stopped    spawn   ign     spawn   ign     ign     ign     ign     park_d  ign
 *   failed     spawn   park    spawn   ign     ign     retry   ign     park_d  park
 *   disabled   spawn   ign     ign     ign     ign     ign     ign     ign     ign
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "sup.h"
#include "util.h"

typedef void (*action_fn)(struct sup *s, struct wk *w, int status);

static const char *const state_names[WS_COUNT] = {
    "starting", "ready", "backoff", "stopping", "stopped", "failed", "disabled"};
static const char *const event_names[WE_COUNT] = {
    "start", "stop", "restart", "ready", "exit", "timer", "heartbeat-timeout", "disable",
    "shutdown"};
static const char *const worker_names[WK_COUNT] = {"can", "influx", "cloud", "web", "mqtt",
						   "abrp", "ledger"};

const char *
wk_state_name(enum wk_state st)
{
	return (unsigned)st < WS_COUNT ? state_names[st] : "?";
}

static const char *
wk_event_name(enum wk_event e)
{
	return (unsigned)e < WE_COUNT ? event_names[e] : "?";
}

int
wk_by_name(const char *name)
{
	for (int i = 0; i < WK_COUNT; i++)
		if (strcmp(worker_names[i], name) == 0)
			return i;
	return -1;
}

static void
set_state(struct sup *s, struct wk *w, enum wk_state st)
{
	if (w->state == st)
		return;
	log_debug("%s: %s -> %s", w->name, wk_state_name(w->state), wk_state_name(st));
	w->state = st;
	s->ops->changed(s, w);
}

static void
set_alert(struct wk *w, const char *text)
{
	snprintf(w->alert, sizeof(w->alert), "%s", text);
	w->alert_since = text[0] ? (int64_t)time(NULL) : 0;
}

static void
arm(struct sup *s, struct wk *w, int64_t deadline)
{
	w->deadline = deadline;
	s->ops->arm(s, w, deadline);
}

/* ---- actions ---- */

static void
ign(struct sup *s, struct wk *w, int status)
{
}

static void
spawn(struct sup *s, struct wk *w, int status)
{
	arm(s, w, 0);
	w->restart_after_stop = w->disable_after_stop = false;
	w->kill_stage = 0;
	w->ready_at = 0;
	if (s->ops->spawn(s, w) < 0) {
		/* fork or socketpair failed: count it as a death */
		snprintf(w->last_exit, sizeof(w->last_exit), "could not start");
		w->pid = 0;
		int delay = tally_death(&w->tally, &s->cfg, s->now, 0);
		if (delay < 0)
			delay = s->cfg.sup.failed_retry_s * 1000;
		set_state(s, w, WS_BACKOFF);
		arm(s, w, s->now + (int64_t)delay * NSEC_PER_MSEC);
		return;
	}
	w->spawned_at = w->last_hb = s->now;
	set_state(s, w, WS_STARTING);
}

static void
retry(struct sup *s, struct wk *w, int status)
{
	if (w->config_failed)
		return; /* exit 78: only a reload retries it */
	log_info("%s: failed; trying again after %d s", w->name, s->cfg.sup.failed_retry_s);
	spawn(s, w, status);
}

static void
ready(struct sup *s, struct wk *w, int status)
{
	w->ready_at = s->now;
	if (!w->config_failed)
		set_alert(w, "");
	set_state(s, w, WS_READY);
}

static void
stop(struct sup *s, struct wk *w, int status)
{
	w->kill_stage = 0;
	s->ops->send_stop(s, w);
	arm(s, w, s->now + (int64_t)s->cfg.sup.stop_timeout_s * NSEC_PER_SEC);
	set_state(s, w, WS_STOPPING);
}

static void
restart(struct sup *s, struct wk *w, int status)
{
	stop(s, w, status);
	w->restart_after_stop = true;
}

static void
disable(struct sup *s, struct wk *w, int status)
{
	stop(s, w, status);
	w->disable_after_stop = true;
}

static void
hung(struct sup *s, struct wk *w, int status)
{
	log_warnx("%s: no heartbeat for %d s: killing pid %d", w->name,
		  s->cfg.sup.heartbeat_timeout_s, (int)w->pid);
	snprintf(w->last_exit, sizeof(w->last_exit), "killed: no heartbeat for %d s",
		 s->cfg.sup.heartbeat_timeout_s);
	s->ops->kill(s, w, SIGKILL);
	w->last_hb = s->now; /* the kill is under way; the EXIT event follows */
}

/* STOPPING and the deadline passed: Stop ignored -> SIGTERM -> SIGKILL */
static void
press(struct sup *s, struct wk *w, int status)
{
	w->kill_stage++;
	int sig = w->kill_stage == 1 ? SIGTERM : SIGKILL;
	log_warnx("%s: still running after stop; sending %s", w->name,
		  sig == SIGTERM ? "SIGTERM" : "SIGKILL");
	s->ops->kill(s, w, sig);
	if (sig == SIGTERM)
		arm(s, w, s->now + 2 * NSEC_PER_SEC);
}

static void
reaped(struct wk *w, int status)
{
	char why[128];
	describe_exit(why, sizeof(why), status);
	if (!(w->last_exit[0] != '\0' && strncmp(w->last_exit, "killed: no heartbeat", 20) == 0 &&
	      WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		snprintf(w->last_exit, sizeof(w->last_exit), "%s", why);
	w->pid = 0;
}

static void
died(struct sup *s, struct wk *w, int status)
{
	char text[256];
	int64_t up_since = w->ready_at ? w->ready_at : w->spawned_at;

	reaped(w, status);
	w->restarts++;
	log_warnx("%s: %s after %.1f s", w->name, w->last_exit,
		  (double)(s->now - w->spawned_at) / NSEC_PER_SEC);
	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG_ERR) {
		w->config_failed = true;
		set_alert(w, "configuration error (exit 78): fix the config, then leafmon reload");
		arm(s, w, 0);
		set_state(s, w, WS_FAILED);
		return;
	}
	int delay = tally_death(&w->tally, &s->cfg, s->now, up_since);
	if (delay < 0) {
		snprintf(text, sizeof(text),
			 "failed: %d deaths within %d s (last: %s); retrying every %d s",
			 w->tally.ndeaths, s->cfg.sup.failed_window_s, w->last_exit,
			 s->cfg.sup.failed_retry_s);
		log_msg(LOG_ERR, "%s: %s", w->name, text);
		set_alert(w, text);
		arm(s, w, s->now + (int64_t)s->cfg.sup.failed_retry_s * NSEC_PER_SEC);
		set_state(s, w, WS_FAILED);
		return;
	}
	arm(s, w, s->now + (int64_t)delay * NSEC_PER_MSEC);
	set_state(s, w, WS_BACKOFF);
}

/* STOPPING and it exited: as asked */
static void
gone(struct sup *s, struct wk *w, int status)
{
	reaped(w, status);
	arm(s, w, 0);
	if (w->disable_after_stop || s->shutting_down) {
		w->disable_after_stop = false;
		set_state(s, w, s->shutting_down ? WS_STOPPED : WS_DISABLED);
	} else if (w->restart_after_stop) {
		w->restarts++;
		spawn(s, w, status);
	} else {
		set_state(s, w, WS_STOPPED);
	}
}

static void
again(struct sup *s, struct wk *w, int status)
{
	w->restart_after_stop = !s->shutting_down;
	w->disable_after_stop = false;
}

static void
keep(struct sup *s, struct wk *w, int status)
{
	w->restart_after_stop = false;
}

static void
gone_d(struct sup *s, struct wk *w, int status)
{
	w->restart_after_stop = false;
	w->disable_after_stop = true;
}

static void
park(struct sup *s, struct wk *w, int status)
{
	arm(s, w, 0);
	set_state(s, w, WS_STOPPED);
}

static void
park_d(struct sup *s, struct wk *w, int status)
{
	arm(s, w, 0);
	set_state(s, w, WS_DISABLED);
}

static const action_fn action[WS_COUNT][WE_COUNT] = {
    /*            START  STOP  RESTART  READY  EXIT  TIMER  HB_TO DISABLE SHUTDOWN */
    [WS_STARTING] = {ign, stop, restart, ready, died, ign, hung, disable, stop},
    [WS_READY] = {ign, stop, restart, ign, died, ign, hung, disable, stop},
    [WS_BACKOFF] = {spawn, park, spawn, ign, ign, spawn, ign, park_d, park},
    [WS_STOPPING] = {again, keep, again, ign, gone, press, ign, gone_d, keep},
    [WS_STOPPED] = {spawn, ign, spawn, ign, ign, ign, ign, park_d, ign},
    [WS_FAILED] = {spawn, park, spawn, ign, ign, retry, ign, park_d, park},
    [WS_DISABLED] = {spawn, ign, ign, ign, ign, ign, ign, ign, ign},
};

void
sup_event(struct sup *s, struct wk *w, enum wk_event ev, int status)
{
	log_debug("%s: event %s in %s", w->name, wk_event_name(ev), wk_state_name(w->state));
	if (ev == WE_START || ev == WE_RESTART) {
		if (w->state == WS_FAILED)
			tally_reset(&w->tally, &s->cfg); /* an admin or reload retry: fresh tally */
		w->config_failed = false;
	}
	action[w->state][ev](s, w, status);
}

void
sup_init(struct sup *s, const struct config *cfg, const struct sup_ops *ops)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->ops = ops;
	for (int i = 0; i < WK_COUNT; i++) {
		struct wk *w = &s->wk[i];
		w->id = (enum wk_id)i;
		w->name = worker_names[i];
		w->state = WS_STOPPED;
		w->chan_fd = -1;
		tally_reset(&w->tally, cfg);
	}
}
