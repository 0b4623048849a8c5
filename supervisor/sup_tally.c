/*
 * Restart throttling by deadlines (s6 style): a backoff that doubles from
 * restart_min_ms to restart_max_ms and resets after 60 s of health, and a
 * death tally that marks a worker FAILED after failed_after deaths inside
 * failed_window_s.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "sup.h"
#include "util.h"

#define HEALTHY_RESET_NS (60 * NSEC_PER_SEC)

void
tally_reset(struct tally *t, const struct config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->next_backoff_ms = cfg->sup.restart_min_ms;
}

int
tally_death(struct tally *t, const struct config *cfg, int64_t now, int64_t up_since)
{
	int64_t window = (int64_t)cfg->sup.failed_window_s * NSEC_PER_SEC;

	if (up_since != 0 && now - up_since >= HEALTHY_RESET_NS)
		t->next_backoff_ms = cfg->sup.restart_min_ms;
	if (t->next_backoff_ms < cfg->sup.restart_min_ms)
		t->next_backoff_ms = cfg->sup.restart_min_ms;

	/* keep only deaths inside the window, then add this one */
	int kept = 0;
	for (int i = 0; i < t->ndeaths; i++)
		if (now - t->deaths[i] < window)
			t->deaths[kept++] = t->deaths[i];
	t->ndeaths = kept;
	if (t->ndeaths == TALLY_MAX) {
		memmove(t->deaths, t->deaths + 1, sizeof(t->deaths[0]) * (TALLY_MAX - 1));
		t->ndeaths--;
	}
	t->deaths[t->ndeaths++] = now;
	if (t->ndeaths >= cfg->sup.failed_after)
		return -1;

	int delay = t->next_backoff_ms;
	int64_t doubled = (int64_t)t->next_backoff_ms * 2;
	t->next_backoff_ms = doubled > cfg->sup.restart_max_ms ? cfg->sup.restart_max_ms : (int)doubled;
	return delay;
}

void
describe_exit(char *buf, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited %d%s", WEXITSTATUS(status),
			 WEXITSTATUS(status) == EX_CONFIG_ERR ? " (configuration error)" : "");
	else if (WIFSIGNALED(status))
	{
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		if (abbrev != NULL)
			snprintf(buf, len, "killed by SIG%s%s", abbrev,
				 WCOREDUMP(status) ? " (core dumped)" : "");
		else
			snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	}
	else
		snprintf(buf, len, "status 0x%x", status);
}
