/*
 * The lifecycle table with fake side effects: start -> ready; a death goes
 * to backoff with a doubling delay; the tally ends in failed with a retry;
 * exit 78 fails at once and only a start (reload) retries it; a stop that
 * is ignored escalates to SIGTERM then SIGKILL; heartbeat loss kills;
 * restart stops then starts; shutdown parks everything.
 */
#include <signal.h>
#include <sys/wait.h>

#include "sup.h"
#include "t.h"
#include "util.h"

static int spawns, stops, kills[65], changes;
static int64_t armed;

static int
f_spawn(struct sup *s, struct wk *w)
{
	spawns++;
	w->pid = 1000 + spawns;
	return 0;
}
static void
f_send_stop(struct sup *s, struct wk *w)
{
	stops++;
}
static void
f_kill(struct sup *s, struct wk *w, int sig)
{
	kills[sig]++;
}
static void
f_arm(struct sup *s, struct wk *w, int64_t deadline)
{
	armed = deadline;
}
static void
f_changed(struct sup *s, struct wk *w)
{
	changes++;
}

static const struct sup_ops fake = {f_spawn, f_send_stop, f_kill, f_arm, f_changed};

static void
setup(struct sup *s, const char *extra)
{
	struct config cfg;
	char err[256];
	char text[512];
	snprintf(text, sizeof(text),
		 "[supervisor]\nrestart_min_ms = 100\nrestart_max_ms = 1000\nfailed_after = 5\n"
		 "failed_window_s = 60\nfailed_retry_s = 600\n%s",
		 extra);
	if (config_load_string(&cfg, text, "t", err, sizeof(err)) < 0)
		t_fail(__FILE__, __LINE__, "%s", err);
	sup_init(s, &cfg, &fake);
	spawns = stops = changes = 0;
	memset(kills, 0, sizeof(kills));
	armed = 0;
	s->now = 1000 * NSEC_PER_SEC;
}

static int
exited(int code)
{
	return code << 8; /* a wait status for exit(code) */
}

static void
test_fsm_start_ready_and_backoff_doubles(void)
{
	struct sup s;
	setup(&s, "");
	struct wk *w = &s.wk[WK_CAN];
	sup_event(&s, w, WE_START, 0);
	CHECK_INT(w->state, ==, WS_STARTING);
	CHECK_INT(spawns, ==, 1);
	sup_event(&s, w, WE_READY, 0);
	CHECK_INT(w->state, ==, WS_READY);
	int64_t delays[4];
	for (int i = 0; i < 4; i++) {
		s.now += NSEC_PER_SEC;
		sup_event(&s, w, WE_EXIT, exited(1));
		CHECK_INT(w->state, ==, WS_BACKOFF);
		delays[i] = (armed - s.now) / NSEC_PER_MSEC;
		s.now = armed;
		sup_event(&s, w, WE_TIMER, 0);
		CHECK_INT(w->state, ==, WS_STARTING);
	}
	CHECK_INT(delays[0], ==, 100);
	CHECK_INT(delays[1], ==, 200);
	CHECK_INT(delays[2], ==, 400);
	CHECK_INT(delays[3], ==, 800);
	CHECK_INT(w->restarts, ==, 4);
	CHECK_STR(w->last_exit, "exited 1");
}

static void
test_fsm_backoff_resets_after_health(void)
{
	struct sup s;
	setup(&s, "");
	struct wk *w = &s.wk[WK_CAN];
	sup_event(&s, w, WE_START, 0);
	for (int i = 0; i < 3; i++) {
		sup_event(&s, w, WE_EXIT, exited(1));
		s.now = armed;
		sup_event(&s, w, WE_TIMER, 0);
	}
	sup_event(&s, w, WE_READY, 0);
	s.now += 61 * NSEC_PER_SEC; /* healthy for more than 60 s */
	sup_event(&s, w, WE_EXIT, exited(1));
	CHECK_INT((armed - s.now) / NSEC_PER_MSEC, ==, 100);
}

static void
test_fsm_tally_fails_then_retries(void)
{
	struct sup s;
	setup(&s, "");
	struct wk *w = &s.wk[WK_INFLUX];
	sup_event(&s, w, WE_START, 0);
	for (int i = 0; i < 4; i++) {
		sup_event(&s, w, WE_EXIT, exited(2));
		CHECK_INT(w->state, ==, WS_BACKOFF);
		s.now = armed;
		sup_event(&s, w, WE_TIMER, 0);
	}
	sup_event(&s, w, WE_EXIT, exited(2)); /* fifth death within 60 s */
	CHECK_INT(w->state, ==, WS_FAILED);
	CHECK(strstr(w->alert, "5 deaths") != NULL);
	CHECK_INT((armed - s.now) / NSEC_PER_SEC, ==, 600);
	s.now = armed;
	sup_event(&s, w, WE_TIMER, 0); /* the slow periodic retry */
	CHECK_INT(w->state, ==, WS_STARTING);
	sup_event(&s, w, WE_READY, 0);
	CHECK_INT(w->alert[0], ==, '\0');
}

static void
test_fsm_exit78_fails_until_start(void)
{
	struct sup s;
	setup(&s, "");
	struct wk *w = &s.wk[WK_CLOUD];
	sup_event(&s, w, WE_START, 0);
	sup_event(&s, w, WE_EXIT, exited(EX_CONFIG_ERR));
	CHECK_INT(w->state, ==, WS_FAILED);
	CHECK(w->config_failed);
	CHECK_INT(armed, ==, 0);
	sup_event(&s, w, WE_TIMER, 0); /* a stray timer does not retry it */
	CHECK_INT(w->state, ==, WS_FAILED);
	CHECK_INT(spawns, ==, 1);
	sup_event(&s, w, WE_START, 0); /* reload */
	CHECK_INT(w->state, ==, WS_STARTING);
	CHECK(!w->config_failed);
}

static void
test_fsm_stop_escalates(void)
{
	struct sup s;
	setup(&s, "");
	struct wk *w = &s.wk[WK_WEB];
	sup_event(&s, w, WE_START, 0);
	sup_event(&s, w, WE_READY, 0);
	sup_event(&s, w, WE_STOP, 0);
	CHECK_INT(w->state, ==, WS_STOPPING);
	CHECK_INT(stops, ==, 1);
	s.now = armed;
	sup_event(&s, w, WE_TIMER, 0);
	CHECK_INT(kills[SIGTERM], ==, 1);
	s.now = armed;
	sup_event(&s, w, WE_TIMER, 0);
	CHECK_INT(kills[SIGKILL], ==, 1);
	sup_event(&s, w, WE_EXIT, SIGKILL);
	CHECK_INT(w->state, ==, WS_STOPPED);
	CHECK_STR(w->last_exit, "killed by SIGKILL");
	CHECK_INT(w->restarts, ==, 0);
}

static void
test_fsm_restart_and_heartbeat_loss(void)
{
	struct sup s;
	setup(&s, "");
	struct wk *w = &s.wk[WK_CAN];
	sup_event(&s, w, WE_START, 0);
	sup_event(&s, w, WE_READY, 0);
	sup_event(&s, w, WE_RESTART, 0);
	CHECK_INT(w->state, ==, WS_STOPPING);
	sup_event(&s, w, WE_EXIT, 0);
	CHECK_INT(w->state, ==, WS_STARTING);
	CHECK_INT(spawns, ==, 2);
	sup_event(&s, w, WE_READY, 0);
	sup_event(&s, w, WE_HB_TIMEOUT, 0);
	CHECK_INT(kills[SIGKILL], ==, 1);
	sup_event(&s, w, WE_EXIT, SIGKILL);
	CHECK_INT(w->state, ==, WS_BACKOFF);
	CHECK(strstr(w->last_exit, "no heartbeat") != NULL);
}

static void
test_fsm_shutdown_and_disable(void)
{
	struct sup s;
	setup(&s, "");
	for (int i = 0; i < WK_COUNT; i++)
		sup_event(&s, &s.wk[i], WE_START, 0);
	sup_event(&s, &s.wk[WK_CLOUD], WE_DISABLE, 0);
	sup_event(&s, &s.wk[WK_CLOUD], WE_EXIT, 0);
	CHECK_INT(s.wk[WK_CLOUD].state, ==, WS_DISABLED);
	sup_event(&s, &s.wk[WK_WEB], WE_EXIT, exited(1)); /* in backoff at shutdown */
	s.shutting_down = true;
	for (int i = 0; i < WK_COUNT; i++)
		sup_event(&s, &s.wk[i], WE_SHUTDOWN, 0);
	CHECK_INT(s.wk[WK_WEB].state, ==, WS_STOPPED);
	CHECK_INT(s.wk[WK_CAN].state, ==, WS_STOPPING);
	sup_event(&s, &s.wk[WK_CAN], WE_RESTART, 0); /* too late: no restart */
	sup_event(&s, &s.wk[WK_CAN], WE_EXIT, 0);
	CHECK_INT(s.wk[WK_CAN].state, ==, WS_STOPPED);
	CHECK_INT(s.wk[WK_CLOUD].state, ==, WS_DISABLED);
}

T_MAIN(T(test_fsm_start_ready_and_backoff_doubles), T(test_fsm_backoff_resets_after_health),
       T(test_fsm_tally_fails_then_retries), T(test_fsm_exit78_fails_until_start),
       T(test_fsm_stop_escalates), T(test_fsm_restart_and_heartbeat_loss),
       T(test_fsm_shutdown_and_disable))
