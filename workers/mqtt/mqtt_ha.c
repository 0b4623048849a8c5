/*
 * Topics and payloads of the MQTT worker (mqtt_ha.h): names made
 * topic-safe, plain state values, Home Assistant discovery configs whose
 * device_class, unit and state_class come from the signal catalogue.
 */
#include "mqtt_ha.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

/* A string as one topic level or id: every byte outside [A-Za-z0-9_-]
 * becomes '_' (so '/', '+', '#', blanks and control bytes cannot make
 * levels or wildcards); empty gives "unknown". */
static void
mqtt_safe_level(char *out, size_t cap, const char *in)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < cap; in++) {
		char c = *in;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, cap, "unknown");
}

void
mqtt_names_init(struct mqtt_names *n, const struct config *cfg, const char *vehicle)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->vehicle, sizeof(n->vehicle), "%s", vehicle);
	mqtt_safe_level(n->safe, sizeof(n->safe), vehicle);
	if (cfg->mqtt.topic_prefix[0] != '\0')
		snprintf(n->prefix, sizeof(n->prefix), "%s", cfg->mqtt.topic_prefix);
	else
		snprintf(n->prefix, sizeof(n->prefix), "leafmon/%s", n->safe);
	if (cfg->mqtt.client_id[0] != '\0')
		snprintf(n->client_id, sizeof(n->client_id), "%s", cfg->mqtt.client_id);
	else
		snprintf(n->client_id, sizeof(n->client_id), "leafmon-%s", n->safe);
	snprintf(n->node_id, sizeof(n->node_id), "leafmon_%s", n->safe);
	snprintf(n->dprefix, sizeof(n->dprefix), "%s", cfg->mqtt.discovery_prefix);
	snprintf(n->currency, sizeof(n->currency), "%s", cfg->tariff.currency);
	n->qos = cfg->mqtt.qos;
	n->ledger = cfg->ledger.enabled;
}

void
mqtt_state_topic(const struct mqtt_names *n, const struct sig_info *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s", n->prefix, sig_group_name(s->group), s->name);
}

void
mqtt_topic(const struct mqtt_names *n, const char *leaf, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", n->prefix, leaf);
}

int
mqtt_value_text(const struct sig_info *s, double v, char *out, size_t cap)
{
	int len = sig_format_json(s, v, out, cap);
	if (len < 2 || out[0] != '"')
		return len;
	memmove(out, out + 1, (size_t)len - 2); /* an enum label, bare */
	out[len - 2] = '\0';
	return len - 2;
}

const char *
mqtt_component(const struct sig_info *s)
{
	return s->type == ST_BOOL ? "binary_sensor" : "sensor";
}

void
mqtt_discovery_topic(const struct mqtt_names *n, const char *component, const char *object_id,
		     char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s/%s/%s/config", n->dprefix, component, n->node_id, object_id);
}

/* ---- what Home Assistant should make of a signal ---- */

struct ha_kind {
	const char *device_class; /* NULL: none */
	const char *state_class;  /* NULL: none */
	const char *unit;	  /* NULL: none */
};

static bool
name_is(const struct sig_info *s, const char *a, const char *b)
{
	return strcmp(s->name, a) == 0 || (b != NULL && strcmp(s->name, b) == 0);
}

/* Counters that only grow (a worker restart resets some: HA's
 * total_increasing takes a drop as a new cycle). */
static bool
counter(const struct sig_info *s)
{
	return name_is(s, "battery_energy_out_kwh", "battery_energy_in_kwh") ||
	       name_is(s, "vehicle_odometer_km", NULL) || (s->group == SG_CAN && s->type == ST_INT);
}

static const char *
number_class(const struct sig_info *s)
{
	static const struct {
		const char *unit, *dc;
	} by_unit[] = {{"A", "current"},   {"V", "voltage"},	    {"mV", "voltage"},
		       {"kW", "power"},	   {"degC", "temperature"}, {"km/h", "speed"},
		       {"km", "distance"}, {"min", "duration"}};
	if (strcmp(s->unit, "kWh") == 0)
		return counter(s) ? "energy" : "energy_storage";
	if (strcmp(s->unit, "%") == 0)
		return name_is(s, "battery_soc_pct", "battery_soc_dash_pct") ? "battery" : NULL;
	for (size_t i = 0; i < ARRAY_LEN(by_unit); i++)
		if (strcmp(s->unit, by_unit[i].unit) == 0)
			return by_unit[i].dc;
	return NULL;
}

static struct ha_kind
ha_kind_of(const struct sig_info *s)
{
	struct ha_kind k = {0};

	if (s->type == ST_BOOL) {
		if (name_is(s, "charge_active", NULL))
			k.device_class = "battery_charging";
		else if (name_is(s, "can_bus_off", NULL))
			k.device_class = "problem";
		return k;
	}
	if (s->type == ST_ENUM) {
		k.device_class = "enum"; /* with options; never a unit or state_class */
		return k;
	}
	k.device_class = number_class(s);
	k.state_class = counter(s) ? "total_increasing" : "measurement";
	if (name_is(s, "vehicle_doors_open", NULL))
		k.state_class = NULL; /* a bitmask, not a quantity */
	if (strcmp(s->unit, "degC") == 0)
		k.unit = "\xc2\xb0"
			 "C";
	else if (s->unit[0] != '\0')
		k.unit = s->unit;
	return k;
}

/* "battery_voltage_v" -> "Battery voltage": the unit suffix goes (HA shows
 * the unit), underscores become spaces. */
static void
display_name(const struct sig_info *s, char *out, size_t cap)
{
	static const char *const suffixes[] = {"_kwh", "_kmh", "_pct", "_kw", "_mv",
					       "_nm",  "_km",  "_v",   "_a",  "_c"};
	size_t len = strlen(s->name);

	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);
		if (len > sl && strcmp(s->name + len - sl, suffixes[i]) == 0) {
			len -= sl;
			break;
		}
	}
	if (len >= cap)
		len = cap - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = s->name[i] == '_' ? ' ' : s->name[i];
	out[len] = '\0';
	if (len > 0 && out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

/* The keys every config shares: name, ids, availability, device, qos. */
static void
common_keys(struct json *j, const struct mqtt_names *n, const char *name, const char *object_id,
	    const char *state_topic, const char *model, const char *sw_version)
{
	char uid[320], avail[MQTT_TOPIC_MAX];

	snprintf(uid, sizeof(uid), "%s_%s", n->node_id, object_id);
	mqtt_topic(n, "status", avail, sizeof(avail));
	json_str(j, "name", name);
	json_str(j, "unique_id", uid);
	json_str(j, "state_topic", state_topic);
	json_str(j, "availability_topic", avail);
	json_str(j, "payload_available", "online");
	json_str(j, "payload_not_available", "offline");
	json_int(j, "qos", n->qos);
	json_obj_open(j, "device");
	json_arr_open(j, "identifiers");
	json_str(j, NULL, n->node_id);
	json_arr_close(j);
	json_str(j, "name", n->vehicle);
	json_str(j, "manufacturer", "Nissan");
	json_str(j, "model", model);
	json_str(j, "sw_version", sw_version);
	json_obj_close(j);
}

static void
enum_options(struct json *j, const struct sig_info *s)
{
	char label[64];

	json_arr_open(j, "options");
	for (int i = 0; sig_enum_label(s, i, label, sizeof(label)) != NULL; i++)
		json_str(j, NULL, label);
	json_arr_close(j);
}

void
mqtt_discovery_signal(struct buf *b, const struct mqtt_names *n, const struct sig_info *s,
		      const char *model, const char *sw_version)
{
	char name[96], topic[MQTT_TOPIC_MAX];
	struct ha_kind k = ha_kind_of(s);
	struct json j;

	display_name(s, name, sizeof(name));
	mqtt_state_topic(n, s, topic, sizeof(topic));
	json_init(&j, b);
	json_obj_open(&j, NULL);
	common_keys(&j, n, name, s->name, topic, model, sw_version);
	if (k.device_class != NULL)
		json_str(&j, "device_class", k.device_class);
	if (s->type == ST_BOOL) {
		json_str(&j, "payload_on", "true");
		json_str(&j, "payload_off", "false");
	} else if (s->type == ST_ENUM) {
		enum_options(&j, s);
	}
	if (k.state_class != NULL)
		json_str(&j, "state_class", k.state_class);
	if (k.unit != NULL)
		json_str(&j, "unit_of_measurement", k.unit);
	if (s->group == SG_CAN)
		json_str(&j, "entity_category", "diagnostic");
	json_obj_close(&j);
}

const struct mqtt_ledger_sensor mqtt_ledger_sensors[] = {
    {"last_trip_distance_km", "last_trip", "distance_km", "Last trip distance", "km", "distance"},
    {"last_trip_energy_kwh", "last_trip", "net_kwh", "Last trip energy", "kWh", "energy"},
    {"last_trip_wh_per_km", "last_trip", "wh_per_km", "Last trip consumption", "Wh/km", NULL},
    {"last_charge_energy_kwh", "last_charge", "pack_kwh", "Last charge energy", "kWh", "energy"},
    {"last_charge_grid_kwh", "last_charge", "grid_kwh", "Last charge grid energy", "kWh", "energy"},
    {"last_charge_cost", "last_charge", "cost", "Last charge cost", NULL, "monetary"},
};
const size_t mqtt_ledger_sensor_count = ARRAY_LEN(mqtt_ledger_sensors);

void
mqtt_discovery_ledger(struct buf *b, const struct mqtt_names *n,
		      const struct mqtt_ledger_sensor *ls, const char *model,
		      const char *sw_version)
{
	char topic[MQTT_TOPIC_MAX], tmpl[128];
	bool cost = strcmp(ls->field, "cost") == 0;
	struct json j;

	mqtt_topic(n, ls->topic, topic, sizeof(topic));
	json_init(&j, b);
	json_obj_open(&j, NULL);
	common_keys(&j, n, ls->name, ls->object_id, topic, model, sw_version);
	snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", ls->field);
	json_str(&j, "value_template", tmpl);
	json_str(&j, "json_attributes_topic", topic);
	/* a monetary sensor needs its ISO 4217 currency; without one it is a number */
	if (ls->device_class != NULL && (!cost || n->currency[0] != '\0'))
		json_str(&j, "device_class", ls->device_class);
	if (ls->unit != NULL)
		json_str(&j, "unit_of_measurement", ls->unit);
	else if (cost && n->currency[0] != '\0')
		json_str(&j, "unit_of_measurement", n->currency);
	json_obj_close(&j);
}

void
mqtt_event_payload(struct buf *b, const char *kind, const char *phase, int64_t start_ns,
		   int64_t t_ns, const char *detail)
{
	struct json j;

	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_str(&j, "kind", kind);
	json_str(&j, "phase", phase);
	json_dbl(&j, "start", (double)start_ns / 1e9);
	json_dbl(&j, "t", (double)t_ns / 1e9);
	if (detail != NULL && detail[0] == '{')
		json_raw(&j, "detail", detail);
	json_obj_close(&j);
}
