"""leafmon-mqtt against a real mosquitto (Debian) on loopback ports, with a
password file and a TLS listener (certificates made with openssl here): the
state topics equal `leafmon get`; the Home Assistant discovery configs,
key by key, against Home Assistant's documented schema for each component;
a vehicle name with '/', '+', '#' and spaces cannot inject topics; the
broker killed and restarted (the state republished, not a backlog); a
wrong password (alert, no crash, slow retries); session events queued
durably through an outage and a kill -9 and delivered at least once; a
retained-message flood; 1000 signals' worth of discovery in one go;
`leafmon doctor mqtt`; and the figures (messages and bytes per hour of
driving, discovery messages, the worker's CPU and RSS)."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Leafmond, bin_path, cost, measure, measurement, rss_kb, run,  # noqa: E402
                     wait_for)
from mqttc import Broker  # noqa: E402

VEHICLE = "my leaf/+#"   # a name that would inject topics if it were used raw
SAFE = "my_leaf___"
PREFIX = "leafmon/" + SAFE
NODE = "leafmon_" + SAFE

# ---- Home Assistant's documented MQTT discovery schema (the parts we use) ----

COMMON_KEYS = {"name", "unique_id", "state_topic", "availability_topic", "payload_available",
               "payload_not_available", "qos", "device", "entity_category", "value_template",
               "json_attributes_topic"}
COMPONENT_KEYS = {
    "sensor": COMMON_KEYS | {"device_class", "state_class", "unit_of_measurement", "options"},
    "binary_sensor": COMMON_KEYS | {"device_class", "payload_on", "payload_off"},
}
DEVICE_KEYS = {"identifiers", "name", "manufacturer", "model", "sw_version"}
SENSOR_CLASSES = {
    "apparent_power", "aqi", "atmospheric_pressure", "battery", "carbon_dioxide",
    "carbon_monoxide", "current", "data_rate", "data_size", "date", "distance", "duration",
    "energy", "energy_storage", "enum", "frequency", "gas", "humidity", "illuminance",
    "irradiance", "moisture", "monetary", "nitrogen_dioxide", "nitrogen_monoxide",
    "nitrous_oxide", "ozone", "ph", "pm1", "pm10", "pm25", "power_factor", "power",
    "precipitation", "precipitation_intensity", "pressure", "reactive_power",
    "signal_strength", "sound_pressure", "speed", "sulphur_dioxide", "temperature", "timestamp",
    "volatile_organic_compounds", "voltage", "volume", "volume_storage", "water", "weight",
    "wind_speed"}
BINARY_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window"}
UNITS = {  # the units Home Assistant accepts for each device class we use
    "current": {"A", "mA"}, "voltage": {"V", "mV", "kV"}, "power": {"W", "kW"},
    "energy": {"Wh", "kWh", "MWh"}, "energy_storage": {"Wh", "kWh", "MWh"},
    "temperature": {"\u00b0C", "\u00b0F", "K"}, "speed": {"km/h", "m/s", "mph"},
    "distance": {"km", "m", "mi"}, "duration": {"d", "h", "min", "s"}, "battery": {"%"},
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
STATE_CLASS_OK = {"energy": {"total", "total_increasing"}, "monetary": {"total"},
                  "enum": set(), "timestamp": set(), "date": set()}


def check_config(topic, cfg, state_topics):
    """One discovery config, key by key; returns its component."""
    parts = topic.split("/")
    assert len(parts) == 5 and parts[0] == "homeassistant" and parts[4] == "config", topic
    comp, node, obj = parts[1], parts[2], parts[3]
    assert comp in COMPONENT_KEYS and node == NODE, topic
    assert set(cfg) <= COMPONENT_KEYS[comp], (topic, set(cfg) - COMPONENT_KEYS[comp])
    for k in ("name", "unique_id", "state_topic", "availability_topic", "device"):
        assert k in cfg, (topic, k)
    assert cfg["unique_id"] == "%s_%s" % (NODE, obj), cfg
    assert cfg["availability_topic"] == PREFIX + "/status", cfg
    assert (cfg["payload_available"], cfg["payload_not_available"]) == ("online", "offline")
    assert cfg["qos"] in (0, 1, 2), cfg
    dev = cfg["device"]
    assert set(dev) <= DEVICE_KEYS and dev["identifiers"] == [NODE], dev
    assert dev["name"] == VEHICLE and dev["manufacturer"] == "Nissan", dev
    assert dev["model"] in ("Leaf", "Leaf (ZE0)", "Leaf (AZE0)", "Leaf (ZE1)"), dev
    assert cfg["state_topic"].startswith(PREFIX + "/"), cfg
    dc = cfg.get("device_class")
    if comp == "binary_sensor":
        assert dc is None or dc in BINARY_CLASSES, cfg
        assert (cfg["payload_on"], cfg["payload_off"]) == ("true", "false"), cfg
        assert cfg["state_topic"] in state_topics, cfg
        return comp
    assert dc is None or dc in SENSOR_CLASSES, cfg
    sc, unit = cfg.get("state_class"), cfg.get("unit_of_measurement")
    if dc == "enum":
        assert isinstance(cfg["options"], list) and cfg["options"], cfg
        assert all(isinstance(o, str) and o for o in cfg["options"]), cfg
        assert sc is None and unit is None, cfg
    else:
        assert "options" not in cfg, cfg
    if sc is not None:
        assert sc in STATE_CLASSES and sc in STATE_CLASS_OK.get(dc, STATE_CLASSES), cfg
    if dc in UNITS:
        assert unit in UNITS[dc], cfg
    if dc == "monetary":
        assert unit is not None and len(unit) == 3 and unit.isupper(), cfg
    if "value_template" in cfg:  # the ledger's sensors read JSON
        assert cfg["value_template"].startswith("{{ value_json."), cfg
        assert cfg["json_attributes_topic"] == cfg["state_topic"], cfg
    else:
        assert cfg["state_topic"] in state_topics, cfg
    return comp


# ---- the rig ----

class Rig:
    def __init__(self, broker, tls=False, password="leaf-secret-1", source="sim", sup=None,
                 mqtt=None, sections=None, enabled=("can",)):
        self.b = broker
        self.pwfile = os.path.join(broker.d, "leaf.password")
        with open(self.pwfile, "w") as f:
            f.write(password + "\n")
        os.chmod(self.pwfile, 0o600)
        m = {"enabled": "true", "username": "leaf", "password_file": self.pwfile,
             "url": "mqtt://127.0.0.1:%d" % broker.port}
        if tls:
            m.update(url="mqtts://localhost:%d" % broker.tls_port, ca_file=broker.ca)
        m.update(mqtt or {})
        secs = {"can": {"source": source}, "mqtt": m, "tariff": {"currency": "EUR"}}
        for k, v in (sections or {}).items():
            secs.setdefault(k, {}).update(v)
        s = {"vehicle": VEHICLE}
        s.update(sup or {})
        self.d = Leafmond(real=("can", "mqtt"), enabled=enabled, sup=s, sections=secs)

    def start(self, wait=True):
        self.d.start(wait_ready=wait)
        return self

    def stop(self):
        self.d.stop()
        self.d.check_sanitizers()

    def mqtt(self, st=None):
        return self.d.worker("mqtt", st)

    def counters(self):
        return self.mqtt().get("counters") or {}


def state_topics_of(latest):
    return {t for t in latest if t.startswith(PREFIX + "/") and t.count("/") == 3}


def wait_state(c, n, timeout=30):
    return wait_for(lambda: len(state_topics_of(c.latest())) >= n and c.latest(), timeout,
                    "%d state topics" % n)


def get_values(d, names):
    r = d.cli("get", *names)
    out = {}
    for line in r.stdout.splitlines():
        name, val = line.split()[:2]
        out[name] = val
    return out


# ---- tests ----

@cost(25)
def test_tls_state_equals_get_and_discovery_matches_schema():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    rig = Rig(b, tls=True).start()
    try:
        c = b.client()
        c.subscribe("#")
        wait_state(c, 40)
        assert rig.counters()["tls"] == 1
        # freeze the snapshot, let two intervals pass, then compare every topic
        rig.d.cli("stop", "can", check=True)
        time.sleep(2.5)
        latest = c.latest()
        topics = state_topics_of(latest)
        names = sorted(t.split("/")[-1] for t in topics)
        got = get_values(rig.d, names)
        for t in topics:
            group, name = t.split("/")[2:]
            assert name in got, name
            assert latest[t][0].decode() == got[name], (t, latest[t][0], got[name])
        assert latest[PREFIX + "/status"][0] == b"online"
        doc = json.loads(latest[PREFIX + "/state"][0])
        for name in names:
            v = doc[name]
            text = ("true" if v else "false") if isinstance(v, bool) else str(v)
            assert text == got[name] or float(text) == float(got[name]), (name, v, got[name])
        # discovery: one config per signal shown, plus the ledger's six
        configs = {t: json.loads(p) for t, (p, r) in latest.items()
                   if t.startswith("homeassistant/") and p}
        comps = {}
        for t, cfg in configs.items():
            comp = check_config(t, cfg, topics)
            comps[comp] = comps.get(comp, 0) + 1
        objs = {t.split("/")[3] for t in configs}
        assert set(names) <= objs, set(names) - objs
        assert {"last_trip_distance_km", "last_charge_cost"} <= objs
        assert comps.get("binary_sensor", 0) >= 5 and comps["sensor"] >= 30, comps
        measure("mqtt_discovery_messages_per_connect", len(configs), "messages")
        # no topic outside the two trees, none with a wildcard or a blank
        for t in latest:
            assert t.startswith(PREFIX + "/") or t.startswith("homeassistant/"), t
            assert not set(t) & set("+# "), t
        # a retained subscriber sees the same state at once
        c2 = b.client()
        c2.subscribe(PREFIX + "/#")
        wait_for(lambda: len(state_topics_of(c2.latest())) == len(topics), 10, "retained")
        assert all(r for t, (p, r) in c2.latest().items()), "state is retained"
        c2.close()
        c.close()
    finally:
        rig.stop()
        b.stop()


@cost(40)
def test_broker_killed_and_restarted_state_republished():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    # a name, resolved off the worker's loop before each attempt
    rig = Rig(b, mqtt={"url": "mqtt://localhost:%d" % b.port}).start()
    try:
        c = b.client()
        c.subscribe("#")
        wait_state(c, 40)
        pid = rig.mqtt()["pid"]
        fds = len(os.listdir("/proc/%d/fd" % pid))
        b.kill()
        c.close()
        st = wait_for(lambda: (lambda w: w["alerts"] and w)(rig.mqtt()), 20, "an alert")
        assert st["alerts"][0]["code"] == "unreachable", st["alerts"]
        time.sleep(8)  # a few failed attempts: they back off, nothing dies
        w = rig.mqtt()
        assert w["pid"] == pid and w["restarts"] == 0, w
        # each attempt tries every address of the name (::1 and 127.0.0.1
        # where /etc/hosts has both) before it backs off
        addrs = {a[4][0] for a in socket.getaddrinfo("localhost", b.port, type=socket.SOCK_STREAM)}
        fails = w["counters"]["connect_failures"]
        assert 2 <= fails <= 8 * len(addrs), (addrs, w["counters"])
        samples_before = w["counters"]["samples"]
        b.start()  # persistence is off: the retained state is gone with it
        c = b.client()
        c.subscribe("#")
        t0 = time.monotonic()
        wait_for(lambda: rig.counters().get("connected") == 1, 70, "reconnected")
        measure("mqtt_reconnect_after_broker_back_s", round(time.monotonic() - t0, 1), "s")
        latest = wait_state(c, 40)
        assert latest[PREFIX + "/status"][0] == b"online"
        assert any(t.endswith("/config") for t in latest), "discovery republished"
        cnt = rig.counters()
        assert cnt["connects"] == 2 and cnt["disconnects"] == 1, cnt
        assert len(os.listdir("/proc/%d/fd" % pid)) <= fds, "no socket left behind"
        # the current state, not a backlog: about one message per signal, not
        # one per sample of the outage
        per_topic = {}
        for t, p, q, r in c.seen():
            per_topic[t] = per_topic.get(t, 0) + 1
        assert max(per_topic.values()) <= 10, max(per_topic.items(), key=lambda kv: kv[1])
        assert cnt["samples"] > samples_before
        assert not rig.mqtt()["alerts"]
        # the last will: a killed worker is offline at once, its successor online
        old = rig.mqtt()["pid"]
        os.kill(old, signal.SIGKILL)
        status = lambda: c.latest().get(PREFIX + "/status", (b"", 0))[0]  # noqa: E731
        wait_for(lambda: status() == b"offline", 10, "the will")
        wait_for(lambda: status() == b"online", 20, "online again")
        rig.d.cli("stop", "mqtt", check=True)  # a clean stop says so too
        wait_for(lambda: status() == b"offline", 10, "offline on stop")
        c.close()
    finally:
        rig.stop()
        b.stop()


@cost(20)
def test_wrong_password_alert_no_crash_slow_retry():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    rig = Rig(b, password="not-the-password").start()
    try:
        w = wait_for(lambda: (lambda w: w["alerts"] and w)(rig.mqtt()), 20, "an auth alert")
        assert w["alerts"][0]["code"] == "auth", w["alerts"]
        assert "password" in w["alerts"][0]["text"], w["alerts"]
        assert w["ledger"]["last_error"]["code"] in (4, 5), w["ledger"]  # CONNACK
        time.sleep(6)
        w = rig.mqtt()
        assert w["restarts"] == 0 and w["state"] == "ready", w
        c = w["counters"]
        assert c["auth_refused"] == 1, c  # the next try is 30 s or more away
        assert c["retry_in_ms"] >= 30000, c
        # the owner fixes the password: a reload restarts the worker, which connects
        with open(rig.pwfile, "w") as f:
            f.write("leaf-secret-1\n")
        rig.d.cli("reload", check=True)
        wait_for(lambda: rig.counters().get("connected") == 1, 30, "connected after the fix")
        assert not rig.mqtt()["alerts"]
    finally:
        rig.stop()
        b.stop()


def sessions_of(log, conf):
    r = subprocess.run([bin_path("cli/leafmon"), "-c", conf, "decode", "--sessions", "--json",
                        log], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in r.stdout.splitlines()]


@cost(60)
def test_events_queue_durably_and_arrive_at_least_once():
    tmp = tempfile.mkdtemp(prefix="leafmon-mqtt-")
    log = os.path.join(tmp, "sim.log")
    with open(log, "w") as f:
        subprocess.run([bin_path("cli/leafmon"), "sim", "--to", "-", "--duration", "700"],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    b = Broker(os.path.join(tmp, "broker"))  # not started: the car is away from home
    rig = Rig(b, source="replay:%s,speed=20,keep_time" % log,
              sections={"ledger": {"trip_end_s": "10"}})
    truth = [s for s in sessions_of(log, rig.d.conf) if not s.get("partial")]
    assert {s["kind"] for s in truth} >= {"trip", "charge", "park"}, truth
    rig.start()
    try:
        wait_for(lambda: rig.counters().get("events_taken", 0) >= 3, 60, "first events")
        old = rig.mqtt()["pid"]
        os.kill(old, signal.SIGKILL)  # the queue is on disk; the rest is in the journal
        wait_for(lambda: rig.mqtt()["pid"] not in (old, 0) and rig.mqtt()["state"] == "ready",
                 20, "mqtt back")
        wait_for(lambda: rig.mqtt()["ledger"]["queued_records"] >= 3, 30, "queued again")
        led = rig.mqtt()["ledger"]
        assert led["dropped"] == 0 and led["oldest_age_s"] > 0, led
        # the broker comes back while the car still drives: the worker finds it
        # by itself (its backoff), sends the queue, then each event as it comes
        b.start()
        c = b.client()
        c.subscribe("#")
        def delivered():
            got = {}
            for t, p, q, r in c.seen():
                if t.startswith(PREFIX + "/event/"):
                    e = json.loads(p)
                    if e["phase"] == "end":
                        got[(e["kind"], round(e["start"], 3))] = e
            return got if all((s["kind"], round(s["start"], 3)) in got for s in truth) else None
        got = wait_for(delivered, 120, "every session's end delivered")
        for s in truth:
            e = got[(s["kind"], round(s["start"], 3))]
            assert e["detail"]["distance_km"] == s["distance_km"], (e, s)
        wait_for(lambda: rig.mqtt()["ledger"]["queued_records"] == 0, 20, "queue empty")
        latest = c.latest()
        trips = [s for s in truth if s["kind"] == "trip" and not s.get("move")]
        lt = json.loads(latest[PREFIX + "/last_trip"][0])
        assert lt["start"] == trips[-1]["start"] and lt["distance_km"] == trips[-1]["distance_km"]
        lc = json.loads(latest[PREFIX + "/last_charge"][0])
        assert lc["kind"] == "charge", lc
        cnt = rig.counters()
        assert cnt["events_acked"] >= len(truth), cnt
        measure("mqtt_events_delivered_after_outage", cnt["events_acked"], "events")
        c.close()
    finally:
        rig.stop()
        b.stop()


@cost(30)
def test_retained_flood_and_birth_storm():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    flood = b.client(user="leaf")
    for i in range(20000):  # another integration's retained world
        flood.publish("homeassistant/sensor/other_%d/x%d/config" % (i % 50, i), "{\"n\": %d}" % i,
                      retain=True)
    for i in range(2000):
        flood.publish("%s/battery/battery_soc_pct" % PREFIX, "1.0", retain=True)
    rig = Rig(b).start()
    try:
        c = b.client()
        c.subscribe(PREFIX + "/#")
        wait_state(c, 40)
        wait_for(lambda: rig.counters().get("discovery_messages", 0) >= 40, 20, "discovery")
        time.sleep(2)
        before = rig.counters()
        for i in range(500):  # Home Assistant restarting, over and over
            flood.publish("homeassistant/status", "online")
        wait_for(lambda: rig.counters()["births"] >= 500, 20, "births seen")
        time.sleep(2)
        cnt = rig.counters()
        assert cnt["received"] - before["received"] <= 600, cnt  # only the status topic
        republishes = (cnt["discovery_messages"] - before["discovery_messages"]) / max(
            1, before["discovery_messages"])
        assert republishes <= 3, (cnt, before)  # coalesced, not 500 rounds
        assert cnt["births_coalesced"] >= 490, cnt
        w = rig.mqtt()
        measure("mqtt_rss_kb_after_flood", rss_kb(w["pid"]), "kB")
        assert rss_kb(w["pid"]) < 64 * 1024
        assert w["restarts"] == 0
        # the stale retained values another client left are replaced by ours
        rig.d.cli("stop", "can", check=True)
        time.sleep(2.5)
        soc = get_values(rig.d, ["battery_soc_pct"])["battery_soc_pct"]
        assert c.latest()[PREFIX + "/battery/battery_soc_pct"][0].decode() == soc
        c.close()
        flood.close()
    finally:
        rig.stop()
        b.stop()


@cost(40)
def test_1000_signals_of_discovery_in_one_go():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    rig = Rig(b).start()
    procs = []
    try:
        c = b.client()
        c.subscribe("homeassistant/#")
        mine = lambda: {t for t in c.latest() if "/%s/" % NODE in t}  # noqa: E731
        wait_for(lambda: len(mine()) >= 40, 30, "first discovery")
        time.sleep(2)
        per = len(mine())
        cars = -(-1000 // per)
        print("     %d cars of %d discovery configs each" % (cars, per), flush=True)
        # more cars on the same bus and snapshot: each its own device, all at once
        for i in range(cars):
            conf = os.path.join(rig.d.tmp, "car%d.conf" % i)
            with open(rig.d.conf) as f:
                text = f.read()
            text = text.replace("vehicle = %s" % VEHICLE, "vehicle = car %d" % i)
            text = text.replace("statedir = %s" % rig.d.statedir,
                                "statedir = %s" % os.path.join(rig.d.tmp, "st%d" % i))
            with open(conf, "w") as f:
                f.write(text)
            procs.append(subprocess.Popen([bin_path("libexec/leafmon-mqtt"), "-c", conf,
                                           "--standalone", "--rundir", rig.d.rundir],
                                          stdout=subprocess.DEVNULL,
                                          stderr=open(conf + ".log", "w")))
        t0 = time.monotonic()
        def configs():
            n = {t for t, (p, r) in c.latest().items() if "/leafmon_car_" in t}
            return len(n) >= cars * per * 0.95 and n
        got = wait_for(configs, 60, "every car's discovery (in %s)" % rig.d.tmp)
        measure("mqtt_discovery_1000_s", round(time.monotonic() - t0, 2), "s")
        measure("mqtt_discovery_1000_configs", len(got), "configs")
        for t, (p, r) in c.latest().items():
            if "/leafmon_car_" in t:
                cfg = json.loads(p)
                assert cfg["unique_id"].startswith("leafmon_car_"), cfg
        uids = [json.loads(p)["unique_id"] for t, (p, r) in c.latest().items()
                if "/leafmon_car_" in t]
        assert len(uids) == len(set(uids)), "unique ids"
        assert all(p.poll() is None for p in procs), "every worker still up"
        c.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        rig.stop()
        b.stop()


@cost(15)
def test_doctor_mqtt():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    rig = Rig(b, tls=True).start()
    try:
        r = rig.d.cli("doctor", "mqtt", "--json")
        res = {x["check"]: x for x in json.loads(r.stdout)}
        assert r.returncode == 0, r.stdout
        for k in ("mqtt reachable", "mqtt tls", "mqtt credentials"):
            assert res[k]["result"] == "OK", res
        # a wrong password and an unknown CA, each named
        with open(rig.pwfile, "w") as f:
            f.write("wrong\n")
        r = rig.d.cli("doctor", "mqtt", "--json")
        res = {x["check"]: x for x in json.loads(r.stdout)}
        assert r.returncode == 1 and res["mqtt credentials"]["result"] == "FAIL", res
        other = Broker(os.path.join(b.d, "other"))  # its CA, not the broker's
        rig.d.sections["mqtt"]["ca_file"] = other.ca
        rig.d.write_config()
        r = rig.d.cli("doctor", "mqtt", "--json")
        res = {x["check"]: x for x in json.loads(r.stdout)}
        assert res["mqtt tls"]["result"] == "FAIL", res
        assert "certificate" in res["mqtt tls"]["detail"], res
    finally:
        rig.stop()
        b.stop()


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().split(")")[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@measurement
@cost(75)
def test_measure_messages_bytes_cpu_rss_per_hour_of_driving():
    b = Broker(tempfile.mkdtemp(prefix="leafmon-mqtt-")).start()
    rig = Rig(b).start()  # the sim's cycle: driving, then parked, charging
    try:
        c = b.client()
        c.subscribe("#")
        wait_state(c, 40)
        # the cycle drives from its 20th to its 175th second: measure inside it
        def speed():
            v = get_values(rig.d, ["vehicle_speed_kmh"]).get("vehicle_speed_kmh", "-")
            return v != "-" and float(v) > 5
        wait_for(speed, 60, "the car driving")
        w = rig.mqtt()
        c0, t0, cpu0 = w["counters"], time.monotonic(), cpu_s(w["pid"])
        time.sleep(60)
        assert speed(), "still driving"
        w = rig.mqtt()
        c1, t1, cpu1 = w["counters"], time.monotonic(), cpu_s(w["pid"])
        hours = (t1 - t0) / 3600
        msgs = (c1["messages"] - c0["messages"]) / hours
        byts = (c1["bytes"] - c0["bytes"]) / hours
        measure("mqtt_messages_per_hour_driving", round(msgs), "messages/h")
        measure("mqtt_bytes_per_hour_driving", round(byts), "bytes/h")
        measure("mqtt_state_docs_per_hour", round((c1["state_docs"] - c0["state_docs"]) / hours),
                "messages/h")
        measure("mqtt_worker_cpu_pct", round(100 * (cpu1 - cpu0) / (t1 - t0), 2), "%")
        measure("mqtt_worker_rss_kb", rss_kb(w["pid"]), "kB")
        measure("mqtt_discovery_messages", c1["discovery_messages"], "messages")
        assert msgs < 80 * 3600, msgs  # at most one per signal per second
    finally:
        rig.stop()
        b.stop()


if __name__ == "__main__":
    run([test_tls_state_equals_get_and_discovery_matches_schema,
         test_broker_killed_and_restarted_state_republished,
         test_wrong_password_alert_no_crash_slow_retry,
         test_events_queue_durably_and_arrive_at_least_once,
         test_retained_flood_and_birth_storm,
         test_1000_signals_of_discovery_in_one_go,
         test_doctor_mqtt,
         test_measure_messages_bytes_cpu_rss_per_hour_of_driving])
