"""A fleet: ten simulated cars (ten leafmonds, each with the real can worker
on the simulator at 1x, the real cloud writer and the real MQTT worker)
syncing into one victoria-metrics (the cloud's v2 write API) and one
mosquitto. Each car's series carry its own `vehicle` tag and only its own
values; the series count per car is the same for every car and does not
grow with time (no sample series is created during the measured window,
every one is a catalogue field; the sessions' points, which victoria-metrics
keeps beside them since it ignores the bucket, make one series per field and
kind, named <kind>_<field>, and only those may appear in the window); each car's MQTT topics are under its own
prefix (one car's name is hostile: a space, '+', '/', '#'), every message
the broker relays there is one that car published (the count and the bytes
equal the car's own counters), and its values are that car's `leafmon get`.
The figures: the remote's ingest rate (in all and per car), series per car,
bytes per car, MQTT messages per car, the fleet's CPU, and what 10,000 cars
would be (DESIGN.md, Beyond one car)."""

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Leafmond, catalogue, cost, measure, rss_kb, run, wait_for  # noqa: E402
from mqttc import Broker  # noqa: E402
from servers import VictoriaMetrics, http  # noqa: E402
from test_mqtt import cpu_s, get_values  # noqa: E402

CARS = ["car%02d" % i for i in range(9)] + ["car09 +/#"]
WINDOW_S = 40      # the measured window
SYNC_S = 2         # the cloud's sync round (300 s by default: a test cannot wait that long)
FLEET = 10000      # the extrapolation


def safe(name):
    """The vehicle name as one topic level (workers/mqtt/mqtt_ha.c)."""
    return "".join(c if c.isalnum() and c.isascii() or c in "_-" else "_" for c in name)


def series_names():
    """Every name the cloud may create: <group>_<signal> for the catalogue,
    the per-second min/max of current and power, and each group's
    clock_unsynced flag. A per-sample name would not be among them."""
    cat = catalogue()
    names = {"%s_%s" % (g, s) for s, (g, _) in cat.items()}
    names |= {"battery_%s_%s" % (s, m) for s in ("battery_current_a", "battery_power_kw")
              for m in ("min", "max")}
    names |= {"%s_clock_unsynced" % g for g, _ in cat.values()}
    return names


class Remote:
    """The one victoria-metrics every car writes to (directly: it ignores the
    token, which the v2 API needs)."""

    def __init__(self):
        self.vm = VictoriaMetrics().start()

    def get(self, path, **params):
        st, body, _ = http("GET", "%s%s?%s" % (self.vm.url, path, urllib.parse.urlencode(params)))
        if st != 200:
            raise AssertionError("%s: HTTP %d %s" % (path, st, body[:300]))
        return json.loads(body)

    def series(self):
        """vehicle -> set of the samples' series names, every series' label
        names, and vehicle -> set of the sessions' series names (the session
        points go to the sessions' bucket, which victoria-metrics ignores:
        <kind>_<field>, one series per field and kind, not per session)."""
        self.vm.flush()
        out, labels, sess = {}, set(), {}
        names = series_names()
        for s in self.get("/api/v1/series", **{"match[]": '{__name__!=""}', "start": "0"})["data"]:
            labels.add(tuple(sorted(s)))
            n = s["__name__"]
            into = out if n in names else sess
            into.setdefault(s.get("vehicle"), set()).add(n)
        return out, labels, sess

    def query(self, q, at):
        res = self.get("/api/v1/query", query=q, time="%.3f" % at)["data"]["result"]
        return {r["metric"].get("vehicle"): float(r["value"][1]) for r in res}

    def metrics(self):
        """victoria-metrics' own counters: rows taken by the influx protocol,
        series created, write requests."""
        st, body, _ = http("GET", self.vm.url + "/metrics")
        out = {"rows": 0.0, "new_series": 0.0, "requests": 0.0}
        for line in body.decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name == 'vm_rows_inserted_total{type="influx"}':
                out["rows"] = float(value)
            elif name == "vm_new_timeseries_created_total":
                out["new_series"] = float(value)
            elif name.startswith("vm_http_requests_total{") and 'protocol="influx"' in name:
                out["requests"] += float(value)
        return out

    def stop(self):
        self.vm.stop()


class Car:
    """One leafmond: can (sim, 1x), cloud -> the remote, mqtt -> the broker."""

    def __init__(self, name, remote, broker, secrets):
        self.name, self.safe = name, safe(name)
        self.prefix = "leafmon/" + self.safe
        self.node = "leafmon_" + self.safe
        secs = {"can": {"source": "sim"},
                "cloud": {"enabled": "true", "url": remote.vm.url, "api": "v2", "org": "fleet",
                          "bucket": "leaf", "token_file": secrets["token"],
                          "unsynced_hold_s": "0", "sync_interval_s": str(SYNC_S),
                          "max_bytes_per_5min": "1000000000"},
                "mqtt": {"enabled": "true", "url": "mqtt://127.0.0.1:%d" % broker.port,
                         "username": "leaf", "password_file": secrets["password"]}}
        # ten cars on two cores: a heartbeat may be late, a worker is not dead
        self.d = Leafmond(real=("can", "cloud", "mqtt"), enabled=("can", "cloud"),
                          sup={"vehicle": name, "heartbeat_timeout_s": "15"}, sections=secs)

    def owns(self, topic):
        parts = topic.split("/")
        if topic.startswith(self.prefix + "/"):
            return True
        return len(parts) == 5 and parts[0] == "homeassistant" and parts[2] == self.node

    def workers(self):
        st = self.d.status()
        return {w: self.d.worker(w, st) for w in ("can", "cloud", "mqtt")}

    def pids(self, ws):
        return [self.d.proc.pid] + [w["pid"] for w in ws.values()]


def secrets_in(d):
    out = {}
    for key, text in (("token", "fleet-token"), ("password", Broker.USERS["leaf"])):
        out[key] = os.path.join(d, key)
        with open(out[key], "w") as f:
            f.write(text + "\n")
        os.chmod(out[key], 0o600)
    return out


def snapshot(cars, remote):
    """Every car's worker counters, the remote's counters, the fleet's CPU."""
    ws = {c.name: c.workers() for c in cars}
    return {"t": time.time(), "vm": remote.metrics(), "ws": ws,
            "cpu": sum(cpu_s(p) for c in cars for p in c.pids(ws[c.name])),
            "rss": {c.name: sum(rss_kb(p) for p in c.pids(ws[c.name])) for c in cars}}


def delta(a, b, worker, counter):
    """Per car, how much a worker's counter grew from snapshot a to b."""
    return {n: b["ws"][n][worker]["counters"][counter] - a["ws"][n][worker]["counters"][counter]
            for n in b["ws"]}


def per_car(name, values, unit):
    """One MEASURE line per figure: the median over the cars, min and max."""
    v = sorted(values.values())
    measure(name, "%s (min %s, max %s)" % (round(statistics.median(v), 1), round(v[0], 1),
                                           round(v[-1], 1)), unit)


def check_no_crosstalk(cars, obs, broker_log):
    """Freeze the cars (stop their can workers) and compare, per car, what
    the broker relayed under its topics with what it published."""
    for c in cars:
        c.d.cli("stop", "can", check=True)
    wait_for(lambda: all(c.workers()["can"]["state"] == "stopped" for c in cars), 30,
             "every can worker stopped", interval=0.5)
    last = {}

    def settled():
        """Per car, the messages under its topics equal its counters, and the
        counters held still for a publish interval and a heartbeat."""
        seen, now = obs.seen(), time.monotonic()
        for c in cars:
            mine = [(t, p) for t, p, q, r in seen if c.owns(t)]
            cnt = c.workers()["mqtt"]["counters"]
            pair = (cnt["messages"], cnt["bytes"])
            if last.get(c.name, (None, 0))[0] != pair:
                last[c.name] = (pair, now)
            if (len(mine), sum(len(t.encode()) + len(p) for t, p in mine)) != pair:
                return False
            if now - last[c.name][1] < 2.5:
                return False
        return True
    wait_for(settled, 40, "every car's messages at the broker equal its own counters",
             interval=0.5)
    seen = obs.seen()
    strays = [t for t, p, q, r in seen if sum(c.owns(t) for c in cars) != 1]
    assert not strays, "topics owned by no car or by two: %s" % strays[:5]
    hostile = [t for t, p, q, r in seen if set(t) & set("+# ")]
    assert not hostile, "a vehicle name unsanitised in a topic: %s" % hostile[:5]
    latest = obs.latest()
    cat = catalogue()  # a state topic is <prefix>/<group>/<signal>
    state_topics = {}
    for c in cars:
        assert latest[c.prefix + "/status"][0] == b"online", c.name
        st = {t: p for t, (p, r) in latest.items() if t.startswith(c.prefix + "/") and
              t.count("/") == 3 and cat.get(t.split("/")[-1], ("",))[0] == t.split("/")[-2]}
        state_topics[c.name] = len(st)
        # the values under car X's topics are car X's own
        names = sorted(t.split("/")[-1] for t in st)
        got = get_values(c.d, names)
        assert set(got) == set(names), (c.name, set(names) - set(got), c.d.cli("get", *names))
        for t, p in st.items():
            assert p.decode() == got[t.split("/")[-1]], (c.name, t, p, got[t.split("/")[-1]])
        mq = c.workers()["mqtt"]
        assert mq["counters"]["connects"] == 1 and mq["counters"]["disconnects"] == 0, (
            c.name, mq["counters"])
    assert len(set(state_topics.values())) == 1, state_topics
    # one session per client id, none taken over by another car
    with open(broker_log, errors="replace") as f:
        log = f.read()
    for c in cars:
        assert log.count(" as leafmon-%s " % c.safe) == 1, (c.name, log[-2000:])
    assert "already connected" not in log, log[-2000:]
    return state_topics


@cost(120)
def test_ten_cars_one_remote_one_broker():
    tmp = tempfile.mkdtemp(prefix="leafmon-fleet-")
    remote = Remote()
    broker = Broker(os.path.join(tmp, "broker"), tls=False).start()
    secrets = secrets_in(tmp)
    cars = [Car(n, remote, broker, secrets) for n in CARS]
    obs = broker.client()
    obs.subscribe("#")
    try:
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        for c in cars:  # one at a time, each ready before the next starts
            c.d.start(timeout=60)
        measure("fleet_start_s", round(time.monotonic() - t0, 1), "s (10 cars, one after another)")
        # every car's series in the remote (a car's signals come in over its
        # first seconds: the same set for every car, unchanged for three sync
        # rounds), every car online at the broker
        since = [None, 0]

        def all_in():
            by, _, _ = remote.series()
            sets = {frozenset(v) for v in by.values()}
            now = time.monotonic()
            if len(by) != len(cars) or len(sets) != 1:
                return False
            if since[0] != sets:
                since[:] = [sets, now]
            return now - since[1] >= 3 * SYNC_S
        wait_for(all_in, 90, "every car's series in victoria-metrics", interval=0.5)
        wait_for(lambda: all((c.prefix + "/status") in obs.latest() for c in cars), 30,
                 "every car online at the broker", interval=0.5)
        a = snapshot(cars, remote)
        by1, _, sess1 = remote.series()
        time.sleep(WINDOW_S)  # the measured window
        b = snapshot(cars, remote)
        by2, labels, sess2 = remote.series()
        load1 = os.getloadavg()[0]
        secs = b["t"] - a["t"]

        # one vehicle tag per car, as written; no other label; no series without a car
        assert set(by2) == set(CARS), sorted(by2, key=str)
        assert labels == {("__name__", "vehicle")}, labels
        # flat: every car the same series, none created during the window, all
        # of them catalogue fields (no per-sample series)
        sets = {frozenset(v) for v in by2.values()}
        assert len(sets) == 1, {n: len(v) for n, v in by2.items()}
        assert by1 == by2, {n: sorted(by2[n] - by1.get(n, set())) for n in by2}
        # the only series made in the window are sessions' (a trip starting)
        made = sum(len(v - sess1.get(n, set())) for n, v in sess2.items())
        assert b["vm"]["new_series"] - a["vm"]["new_series"] == made, (a["vm"], b["vm"], made)
        bad = {x for v in sess2.values() for x in v
               if not x.startswith(("trip_", "charge_", "park_", "battery_daily_"))}
        assert not bad, sorted(bad)
        assert set(sess2) <= set(CARS), sorted(sess2, key=str)
        series = len(next(iter(sets)))
        for c in cars:
            w = b["ws"][c.name]
            assert all(x["restarts"] == 0 for x in w.values()), (c.name, w)
            assert w["cloud"]["counters"]["sub_lost"] == 0, (c.name, w["cloud"]["counters"])
            assert not w["cloud"]["alerts"] and not w["mqtt"]["alerts"], (c.name, w)

        rows = b["vm"]["rows"] - a["vm"]["rows"]
        wire = delta(a, b, "cloud", "http_sent_bytes")
        body = delta(a, b, "cloud", "bytes_body")
        lp = delta(a, b, "cloud", "bytes_lp")
        points = delta(a, b, "cloud", "lines_ok")
        msgs = delta(a, b, "mqtt", "messages")
        mbytes = delta(a, b, "mqtt", "bytes")
        assert rows > 0 and all(v > 0 for v in wire.values()) and all(v > 0 for v in msgs.values())

        states = check_no_crosstalk(cars, obs, os.path.join(broker.d, "mosquitto.log"))
        # per car, the rows the remote holds for the window (every car's data is
        # in by now: its can worker is stopped, its spool drained)
        for c in cars:
            wait_for(lambda: c.workers()["cloud"]["ledger"]["queued_records"] == 0, 30,
                     "%s's cloud spool drained" % c.name, interval=0.5)
        remote.vm.flush()
        stored = remote.query('sum by (vehicle) (count_over_time({vehicle!=""}[%ds]))' % secs,
                              b["t"])
        assert set(stored) == set(CARS), stored
        med = statistics.median(stored.values())
        for n, v in stored.items():  # no car starved, none counted twice
            assert 0.5 * med <= v <= 1.5 * med, stored
        # the last value of each car's frame count in the remote is that car's
        # own (the cars started one after another: the counts differ)
        def frames_match():
            remote.vm.flush()
            vm = remote.query("last_over_time(can_can_frames_total[10m])", time.time())
            return all(vm.get(c.name) == float(get_values(c.d, ["can_frames_total"])[
                "can_frames_total"]) for c in cars)
        wait_for(frames_match, 30, "each car's last can_frames_total in the remote", interval=1)
        total_rate = rows / secs
        per_rate = {n: v / secs for n, v in stored.items()}
        measure("fleet_cars", len(cars), "cars (sim at 1x; cloud sync every %d s)" % SYNC_S)
        measure("fleet_window_s", round(secs, 1), "s")
        measure("fleet_load_avg", "%.2f before, %.2f after" % (load0, load1), "(2 cores)")
        measure("fleet_cpu_pct_per_car", round(100 * (b["cpu"] - a["cpu"]) / secs / len(cars), 2),
                "% of one core (leafmond + can + cloud + mqtt)")
        per_car("fleet_rss_kb_per_car", b["rss"], "kB (leafmond + can + cloud + mqtt)")
        measure("fleet_vm_rows_per_s", round(total_rate, 1), "samples/s (vm_rows_inserted_total)")
        per_car("fleet_vm_rows_per_s_per_car", per_rate, "samples/s stored per car")
        per_car("fleet_cloud_points_per_s_per_car", {n: v / secs for n, v in points.items()},
                "points/s (lines: one per group and second)")
        measure("fleet_vm_write_requests_per_s", round((b["vm"]["requests"] - a["vm"]["requests"])
                                                       / secs, 2), "requests/s")
        measure("fleet_series_per_car", series, "series (flat over %d s)" % round(secs))
        measure("fleet_series_total", series * len(cars), "series")
        measure("fleet_session_series_per_car", max(len(v) for v in sess2.values()) if sess2 else 0,
                "series (sessions so far: one per field and kind)")
        per_car("fleet_cloud_wire_bytes_per_s_per_car", {n: v / secs for n, v in wire.items()},
                "bytes/s (HTTP, pings included)")
        per_car("fleet_cloud_gzip_bytes_per_s_per_car", {n: v / secs for n, v in body.items()},
                "bytes/s (request bodies)")
        per_car("fleet_cloud_lp_bytes_per_s_per_car", {n: v / secs for n, v in lp.items()},
                "bytes/s (line protocol, uncompressed)")
        per_car("fleet_mqtt_msgs_per_s_per_car", {n: v / secs for n, v in msgs.items()}, "msgs/s")
        per_car("fleet_mqtt_bytes_per_s_per_car", {n: v / secs for n, v in mbytes.items()},
                "bytes/s (topic + payload)")
        measure("fleet_mqtt_state_topics_per_car", next(iter(states.values())), "topics")
        k = FLEET / len(cars)
        measure("fleet_%d_vm_rows_per_s" % FLEET, round(total_rate * k), "samples/s")
        measure("fleet_%d_series" % FLEET, series * FLEET, "series")
        measure("fleet_%d_cloud_wire_bytes_per_s" % FLEET, round(sum(wire.values()) / secs * k),
                "bytes/s")
        measure("fleet_%d_cloud_gzip_bytes_per_day" % FLEET,
                round(sum(body.values()) / secs * k * 86400 / 1e9, 1), "GB/day")
        measure("fleet_%d_mqtt_msgs_per_s" % FLEET, round(sum(msgs.values()) / secs * k),
                "msgs/s (if they shared one broker)")
        obs.close()
    finally:
        for c in cars:
            c.d.stop()
        broker.stop()
        remote.stop()


if __name__ == "__main__":
    run([test_ten_cars_one_remote_one_broker])
