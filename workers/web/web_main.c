/*
 * leafmon-web: the dashboard and its API. Serves until Stop, EOF on fd 3 or
 * SIGTERM; see web_worker.c for the wiring.
 */
#include <stdio.h>

#include "web_worker.h"

static struct web_worker ww;

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	web_worker_heartbeat(arg, hb);
}

static void
on_stop(struct worker *w, void *arg)
{
	web_worker_stop(arg);
	worker_exit(w, 0);
}

int
main(int argc, char **argv)
{
	static struct worker w;
	char detail[64];

	worker_init(&w, "web", argc, argv);
	int rc = web_worker_start(&ww, &w);
	if (rc != 0)
		worker_fail(rc, "cannot start (see above)");
	worker_set_heartbeat(&w, on_heartbeat, &ww);
	worker_set_stop(&w, on_stop, &ww);
	snprintf(detail, sizeof(detail), "listening on port %u", ww.web.port);
	worker_ready(&w, detail);
	return worker_run(&w);
}
