/*
 * leafmon-abrp: A Better Route Planner live data (abrp_worker.h).
 */
#include <stdlib.h>

#include "abrp_worker.h"
#include "log.h"

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	abrp_worker_heartbeat(arg, hb);
}

static void
on_stop(struct worker *w, void *arg)
{
	abrp_worker_stop(arg);
	worker_exit(w, 0);
}

int
main(int argc, char **argv)
{
	static struct worker w;
	static struct abrp_worker aw;

	worker_init(&w, "abrp", argc, argv);
	if (!w.cfg.abrp.enabled) {
		log_info("[abrp] enabled = false: nothing to do");
		return 0;
	}
	if (abrp_worker_start(&aw, &w) < 0)
		worker_fail(WORKER_EXIT_START, "cannot start (see above)");
	worker_set_heartbeat(&w, on_heartbeat, &aw);
	worker_set_stop(&w, on_stop, &aw);
	worker_ready(&w, w.cfg.abrp.url);
	return worker_run(&w);
}
