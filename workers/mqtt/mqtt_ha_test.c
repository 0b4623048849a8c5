/*
 * The MQTT worker's pure parts: names that cannot inject topics, state
 * payloads as `leafmon get` prints them, discovery configs per component,
 * the event queue's upsert, ack and file round trip, and the backoff.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mqtt_ha.h"
#include "mqtt_queue.h"
#include "mqtt_worker.h"
#include "t.h"

static void
names_for(struct mqtt_names *n, const char *vehicle, const char *ini)
{
	struct config cfg;
	char err[256];
	CHECK_INT(config_load_string(&cfg, ini, "t.conf", err, sizeof(err)), ==, 0);
	mqtt_names_init(n, &cfg, vehicle);
}

static void
test_mqtt_names_cannot_inject_topics(void)
{
	struct mqtt_names n;
	char topic[MQTT_TOPIC_MAX];

	names_for(&n, "my leaf/+/#\x01", "");
	CHECK_STR(n.safe, "my_leaf_____");
	CHECK_STR(n.prefix, "leafmon/my_leaf_____");
	CHECK_STR(n.client_id, "leafmon-my_leaf_____");
	CHECK_STR(n.node_id, "leafmon_my_leaf_____");
	CHECK_STR(n.vehicle, "my leaf/+/#\x01"); /* the device's name is JSON, not a topic */
	mqtt_state_topic(&n, sig_by_name("battery_soc_pct"), topic, sizeof(topic));
	CHECK_STR(topic, "leafmon/my_leaf_____/battery/battery_soc_pct");
	mqtt_discovery_topic(&n, "sensor", "battery_soc_pct", topic, sizeof(topic));
	CHECK_STR(topic, "homeassistant/sensor/leafmon_my_leaf_____/battery_soc_pct/config");

	names_for(&n, "",
		  "[mqtt]\ntopic_prefix = cars/leaf\nclient_id = garage\n"
		  "discovery_prefix = ha\n");
	CHECK_STR(n.safe, "unknown");
	CHECK_STR(n.prefix, "cars/leaf");
	CHECK_STR(n.client_id, "garage");
	mqtt_topic(&n, "status", topic, sizeof(topic));
	CHECK_STR(topic, "cars/leaf/status");
}

static void
test_mqtt_values_as_leafmon_get_prints_them(void)
{
	char v[64];
	CHECK_INT(mqtt_value_text(sig_by_name("vehicle_gear"), 3, v, sizeof(v)), ==, 1);
	CHECK_STR(v, "D");
	mqtt_value_text(sig_by_name("charge_active"), 1, v, sizeof(v));
	CHECK_STR(v, "true");
	mqtt_value_text(sig_by_name("battery_gids"), 212, v, sizeof(v));
	CHECK_STR(v, "212");
	mqtt_value_text(sig_by_name("battery_voltage_v"), 380.5, v, sizeof(v));
	CHECK_STR(v, "380.5");
	CHECK_INT(mqtt_value_text(sig_by_name("vehicle_gear"), 99, v, sizeof(v)), <, 0);
}

static void
test_mqtt_discovery_per_component(void)
{
	struct mqtt_names n;
	struct buf b;

	names_for(&n, "leaf", "[tariff]\ncurrency = EUR\n");
	buf_init(&b);
	mqtt_discovery_signal(&b, &n, sig_by_name("battery_temp_avg_c"), "Leaf (AZE0)", "1.0");
	CHECK(strstr(buf_str(&b), "\"device_class\":\"temperature\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"unit_of_measurement\":\"\xc2\xb0"
				  "C\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"state_class\":\"measurement\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"unique_id\":\"leafmon_leaf_battery_temp_avg_c\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"availability_topic\":\"leafmon/leaf/status\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"model\":\"Leaf (AZE0)\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"name\":\"Battery temp avg\"") != NULL);

	buf_reset(&b);
	mqtt_discovery_signal(&b, &n, sig_by_name("battery_energy_out_kwh"), "Leaf", "1.0");
	CHECK(strstr(buf_str(&b), "\"device_class\":\"energy\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"state_class\":\"total_increasing\"") != NULL);

	buf_reset(&b);
	mqtt_discovery_signal(&b, &n, sig_by_name("vehicle_gear"), "Leaf", "1.0");
	CHECK(strstr(buf_str(&b), "\"device_class\":\"enum\",\"options\":[\"P\",\"R\",\"N\","
				  "\"D\",\"B\"]") != NULL);
	CHECK(strstr(buf_str(&b), "state_class") == NULL);
	CHECK(strstr(buf_str(&b), "unit_of_measurement") == NULL);

	buf_reset(&b);
	CHECK_STR(mqtt_component(sig_by_name("charge_active")), "binary_sensor");
	mqtt_discovery_signal(&b, &n, sig_by_name("charge_active"), "Leaf", "1.0");
	CHECK(strstr(buf_str(&b), "\"payload_on\":\"true\",\"payload_off\":\"false\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"device_class\":\"battery_charging\"") != NULL);

	buf_reset(&b);
	mqtt_discovery_ledger(&b, &n, &mqtt_ledger_sensors[mqtt_ledger_sensor_count - 1], "Leaf",
			      "1.0");
	CHECK(strstr(buf_str(&b), "\"value_template\":\"{{ value_json.cost }}\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"device_class\":\"monetary\"") != NULL);
	CHECK(strstr(buf_str(&b), "\"unit_of_measurement\":\"EUR\"") != NULL);
	buf_free(&b);
}

static void
test_mqtt_queue_upserts_acks_and_round_trips(void)
{
	struct mqtt_queue q, r;
	struct buf b;
	char why[128];

	mq_init(&q, 3);
	CHECK_INT(mq_push(&q, "trip", "start", 100, 100, "{\"kind\":\"trip\"}", 5), ==, 0);
	CHECK_INT(mq_push(&q, "trip", "update", 100, 200, "{\"distance_km\":1}", 6), ==, 0);
	CHECK_INT(q.n, ==, 1); /* one session, one message */
	CHECK_STR(q.ev[0].phase, "update");
	int i = mq_next_unsent(&q);
	CHECK_INT(i, ==, 0);
	mq_sent(&q, i, 42);
	CHECK_INT(mq_next_unsent(&q), ==, -1);
	/* in flight: a newer event of the same session queues behind it */
	CHECK_INT(mq_push(&q, "trip", "end", 100, 300, "{\"distance_km\":2}", 7), ==, 0);
	CHECK_INT(q.n, ==, 2);
	CHECK(!mq_acked(&q, 41));
	CHECK(mq_acked(&q, 42));
	CHECK_INT(q.n, ==, 1);
	CHECK_STR(q.ev[0].phase, "end");
	mq_push(&q, "charge", "start", 400, 400, "{}", 8);
	mq_push(&q, "park", "start", 500, 500, "{}", 9);
	mq_push(&q, "battery_daily", "end", 600, 600, "{}", 9);
	CHECK_INT(q.n, ==, 3);
	CHECK_INT(q.dropped, ==, 1); /* the oldest went */
	CHECK_INT(mq_push(&q, "bad kind", "end", 1, 1, "{}", 9), ==, 0);
	CHECK_INT(q.n, ==, 3);
	CHECK_INT(mq_push(&q, "park", "end", 500, 700, "{\"a\":\n1}", 9), ==, 0);
	CHECK_STR(q.ev[1].detail, "{\"a\": 1}"); /* one line in the file */
	CHECK_INT(mq_push(&q, "park", "end", 500, 700, "{}", 9), ==, 0);
	mq_set_position(&q, 0xabcdef, 77);

	buf_init(&b);
	mq_encode(&q, &b);
	mq_init(&r, 3);
	CHECK_INT(mq_decode(&r, buf_str(&b), why, sizeof(why)), ==, 0);
	CHECK_INT(r.n, ==, 3);
	CHECK_INT(r.gen, ==, 0xabcdef);
	CHECK_INT(r.seq, ==, 77);
	CHECK_INT(r.dropped, ==, 1);
	CHECK_STR(r.ev[0].kind, "charge");
	CHECK_STR(r.ev[2].kind, "battery_daily");
	CHECK_INT(r.ev[1].start_ns, ==, 500);
	CHECK_STR(r.ev[1].detail, "{}");
	b.len -= 4; /* cut before "end": refused, not half-read */
	buf_str(&b);
	CHECK_INT(mq_decode(&r, b.p, why, sizeof(why)), ==, -1);
	CHECK_STR(why, "no end line (cut short)");
	CHECK_INT(mq_decode(&r, "leafmon-mqtt-events 9\nend\n", why, sizeof(why)), ==, -1);
	mq_free(&r);
	mq_free(&q);
	buf_free(&b);
}

static void
test_mqtt_backoff_is_capped_with_jitter(void)
{
	CHECK_INT(mw_backoff_ms(1, false, 0), ==, 1000);
	CHECK_INT(mw_backoff_ms(1, false, 0xffffffffu), ==, 1000);
	CHECK_INT(mw_backoff_ms(3, false, 0xffffffffu), <=, 4000);
	CHECK_INT(mw_backoff_ms(30, false, 0xffffffffu), <=, 60000);
	CHECK_INT(mw_backoff_ms(30, false, 0), ==, 1000); /* full jitter: from the minimum */
	CHECK_INT(mw_backoff_ms(1, true, 0), ==, 30000);  /* refused credentials: slow */
	CHECK_INT(mw_backoff_ms(30, true, 0xffffffffu), <=, 600000);
	int differ = 0;
	for (uint32_t r = 0; r < 100; r++)
		differ += mw_backoff_ms(6, false, r * 40503u) != mw_backoff_ms(6, false, 0);
	CHECK_INT(differ, >, 90);
}

T_MAIN(T(test_mqtt_names_cannot_inject_topics), T(test_mqtt_values_as_leafmon_get_prints_them),
       T(test_mqtt_discovery_per_component), T(test_mqtt_queue_upserts_acks_and_round_trips),
       T(test_mqtt_backoff_is_capped_with_jitter))
