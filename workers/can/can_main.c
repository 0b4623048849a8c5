/*
 * leafmon-can: the CAN worker. Reads the configured sources, decodes, and
 * publishes; see can_worker.c for the frame path.
 */
#include "can_worker.h"

static struct can_worker cw;

static void
on_heartbeat(struct worker *w, struct heartbeat *hb, void *arg)
{
	can_worker_heartbeat(arg, hb);
}

static void
on_stop(struct worker *w, void *arg)
{
	can_worker_stop(arg);
	worker_exit(w, 0);
}

int
main(int argc, char **argv)
{
	static struct worker w;

	worker_init(&w, "can", argc, argv);
	if (can_worker_start(&cw, &w) < 0)
		worker_fail(WORKER_EXIT_START, "cannot start (see above)");
	worker_set_heartbeat(&w, on_heartbeat, &cw);
	worker_set_stop(&w, on_stop, &cw);
	return worker_run(&w);
}
