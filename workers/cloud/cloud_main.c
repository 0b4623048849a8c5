/*
 * leafmon-cloud: the remote InfluxDB writer (cloud_worker.h).
 */
#include <stdlib.h>

#include "cloud_worker.h"
#include "log.h"

int
main(int argc, char **argv)
{
	static struct worker w;
	static struct cloud_worker cloud;

	worker_init(&w, "cloud", argc, argv);
	if (!w.cfg.cloud.enabled) {
		log_info("[cloud] enabled = false: nothing to do");
		return 0;
	}
	if (cloud_worker_start(&cloud, &w) < 0)
		worker_fail(WORKER_EXIT_START, "cannot start (see above)");
	worker_ready(&w, w.cfg.cloud.url);
	return worker_run(&w);
}
