/*
 * leafmon-mqtt: the live state, Home Assistant discovery and session events
 * to an MQTT broker (mqtt_worker.h).
 */
#include "log.h"
#include "mqtt_worker.h"

int
main(int argc, char **argv)
{
	static struct worker w;
	static struct mw mw;

	worker_init(&w, "mqtt", argc, argv);
	if (!w.cfg.mqtt.enabled) {
		log_info("[mqtt] enabled = false: nothing to do");
		return 0;
	}
	if (mw_start(&mw, &w) < 0)
		worker_fail(WORKER_EXIT_START, "cannot start (see above)");
	worker_ready(&w, w.cfg.mqtt.url);
	return worker_run(&w);
}
