/*
 * leafmon-influx: the local InfluxDB writer (influx_worker.h).
 */
#include <stdlib.h>

#include "influx_worker.h"
#include "log.h"

int
main(int argc, char **argv)
{
	static struct worker w;
	static struct iw iw;

	worker_init(&w, "influx", argc, argv);
	if (!w.cfg.influx.enabled) {
		log_info("[influx] enabled = false: nothing to do");
		return 0;
	}
	if (iw_start(&iw, &w) < 0)
		worker_fail(WORKER_EXIT_START, "cannot start (see above)");
	worker_ready(&w, w.cfg.influx.url);
	return worker_run(&w);
}
