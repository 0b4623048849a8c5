/*
 * The MQTT worker's pure parts: topic-safe names, the state topics and
 * payloads, Home Assistant discovery configs for the catalogue's signals and
 * the ledger's last trip and last charge, and session event payloads. No
 * I/O: a unit test checks every payload.
 */
#ifndef LEAFMON_MQTT_HA_H
#define LEAFMON_MQTT_HA_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "signals.h"
#include "util.h"

#define MQTT_TOPIC_MAX 512

/* The names a worker derives from its config once (mqtt_names_init). */
struct mqtt_names {
	char vehicle[128];   /* as configured (or the host name): the device's name */
	char safe[128];	     /* the vehicle as one topic level: [A-Za-z0-9_-] only */
	char prefix[160];    /* topic_prefix, or leafmon/<safe> */
	char client_id[160]; /* client_id, or leafmon-<safe> */
	char node_id[160];   /* leafmon_<safe>: the discovery node and device id */
	char dprefix[128];   /* discovery_prefix */
	int qos;
	bool ledger;	   /* [ledger] enabled: last trip / last charge sensors */
	char currency[16]; /* [tariff] currency: the cost sensor's unit */
};

void mqtt_names_init(struct mqtt_names *n, const struct config *cfg, const char *vehicle);

/* <prefix>/<group>/<signal> */
void mqtt_state_topic(const struct mqtt_names *n, const struct sig_info *s, char *out, size_t cap);
/* <prefix>/<leaf>: "status", "state", "last_trip", "event/trip" ... */
void mqtt_topic(const struct mqtt_names *n, const char *leaf, char *out, size_t cap);
/* A value as its state payload: numbers as JSON numbers, bools true/false,
 * enums as the bare label (as `leafmon get` prints it); -1 if not printable. */
int mqtt_value_text(const struct sig_info *s, double v, char *out, size_t cap);

/* "sensor" or "binary_sensor" for a signal. */
const char *mqtt_component(const struct sig_info *s);
/* <dprefix>/<component>/<node_id>/<object_id>/config */
void mqtt_discovery_topic(const struct mqtt_names *n, const char *component, const char *object_id,
			  char *out, size_t cap);
/* The retained discovery config of a signal; model is "Leaf", "Leaf (AZE0)"... */
void mqtt_discovery_signal(struct buf *b, const struct mqtt_names *n, const struct sig_info *s,
			   const char *model, const char *sw_version);

/* The ledger's sensors (last trip, last charge), read from the retained
 * JSON on <prefix>/last_trip and <prefix>/last_charge. */
struct mqtt_ledger_sensor {
	const char *object_id; /* last_trip_distance_km ... */
	const char *topic;     /* last_trip or last_charge */
	const char *field;     /* the event detail's key */
	const char *name;
	const char *unit;	  /* NULL: none ("cost": the currency) */
	const char *device_class; /* NULL: none */
};
extern const struct mqtt_ledger_sensor mqtt_ledger_sensors[];
extern const size_t mqtt_ledger_sensor_count;
void mqtt_discovery_ledger(struct buf *b, const struct mqtt_names *n,
			   const struct mqtt_ledger_sensor *ls, const char *model,
			   const char *sw_version);

/* A session event as published on <prefix>/event/<kind>:
 * {"kind","phase","start","t","detail":{...}} (times in Unix seconds). */
void mqtt_event_payload(struct buf *b, const char *kind, const char *phase, int64_t start_ns,
			int64_t t_ns, const char *detail);

#endif
