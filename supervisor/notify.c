/*
 * systemd notification: READY=1, STATUS=, WATCHDOG=1, RELOADING=1,
 * STOPPING=1. Only leafmond talks to systemd. Built without libsystemd,
 * these are no-ops and the unit runs as Type=simple.
 */
#include <stdio.h>
#include <string.h>

#include "leafmond.h"
#include "log.h"
#include "util.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#define NOTIFY(...) sd_notifyf(0, __VA_ARGS__)
#else
#define NOTIFY(...) ((void)0)
#endif

void
notify_init(struct daemon *d)
{
	d->watchdog_usec = 0;
#ifdef HAVE_LIBSYSTEMD
	uint64_t usec;
	if (sd_watchdog_enabled(0, &usec) > 0) {
		d->watchdog_usec = (int64_t)usec;
		log_info("systemd watchdog every %.1f s", (double)usec / 1e6);
	}
#endif
}

void
notify_ready(struct daemon *d)
{
	if (d->ready_sent)
		return;
	d->ready_sent = true;
	log_info("ready after %.3f s", (double)(now_mono_ns() - d->started_mono) / 1e9);
	NOTIFY("READY=1");
	notify_status(d);
}

void
notify_status(struct daemon *d)
{
	char line[256];
	int n = 0;
	for (int i = 0; i < WK_COUNT && n < (int)sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s %s", i ? ", " : "",
			      d->sup.wk[i].name, wk_state_name(d->sup.wk[i].state));
	NOTIFY("STATUS=%s", line);
	(void)line;
}

/* WATCHDOG=1 only while this loop runs and every worker meant to be up has
 * a fresh heartbeat: a hung worker stops the pings until it is replaced. */
void
notify_watchdog(struct daemon *d)
{
	if (d->watchdog_usec == 0)
		return;
	int64_t now = now_mono_ns();
	if (now - d->last_watchdog < d->watchdog_usec * 1000 / 3)
		return;
	int64_t limit = (int64_t)d->sup.cfg.sup.heartbeat_timeout_s * NSEC_PER_SEC;
	for (int i = 0; i < WK_COUNT; i++) {
		struct wk *w = &d->sup.wk[i];
		if ((w->state == WS_STARTING || w->state == WS_READY) && now - w->last_hb > limit)
			return;
	}
	d->last_watchdog = now;
	NOTIFY("WATCHDOG=1");
}

void
notify_stopping(struct daemon *d)
{
	NOTIFY("STOPPING=1");
}

void
notify_reloading(struct daemon *d, bool done)
{
	if (done)
		NOTIFY("READY=1");
	else
		NOTIFY("RELOADING=1");
}
