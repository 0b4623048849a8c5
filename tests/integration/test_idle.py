"""Idle means asleep (issue 13): while the car's bus sleeps no leafmon process
wakes faster than once a second. leafmond with every worker that runs here:
can replaying a short simulated log that ends (so the bus falls asleep),
influx into a real influxd, cloud into victoria-metrics, web, mqtt into
mosquitto, abrp to a local server, and the ledger; and a real gpsd reporting
a fix a second to the can worker when gpsd is installed. Each process's wake-ups
are its own loop's count (returns from epoll_wait: the workers report it in
their heartbeat as loop_wakeups, leafmond in its status), over 10 s once the
can worker says the bus is asleep and the writers have sent everything.

The allowance: a window between two heartbeats of a worker spans a whole
number of its one-second wake-ups plus at most one that falls on the
boundary; leafmond also wakes for the test's own status requests, whose
cost in wake-ups is measured first with requests back to back. Also
measured, for reference: the rates while the replay runs."""

import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (WORKERS, Leafmond, Skip, bin_path, cost, measure, run,  # noqa: E402
                     secret, wait_for)

VEHICLE = "idle"
LOG_S = 40      # simulated seconds: long enough to measure the awake rates
WINDOW_S = 10.0


def need():
    for w in WORKERS:
        if not os.path.exists(bin_path("libexec/leafmon-" + w)):
            raise Skip("leafmon-%s is not built" % w)
    try:
        from servers import Influxd, VictoriaMetrics  # noqa: F401
        from mqttc import Broker  # noqa: F401
    except ImportError as e:
        raise Skip("test servers unavailable: %s" % e)


class Rig:
    def __init__(self):
        import subprocess

        from mqttc import Broker
        from servers import Influxd, VictoriaMetrics
        sys.path.insert(0, os.path.dirname(__file__))
        from test_abrp import Abrp
        self.tmp = tempfile.mkdtemp(prefix="leafmon-idle-")
        self.log = os.path.join(self.tmp, "sim.log")
        with open(self.log, "w") as f:
            subprocess.run([bin_path("cli/leafmon"), "sim", "--to", "-", "--duration",
                            str(LOG_S)], stdout=f, check=True, timeout=60)
        self.servers = []
        self.ix = self.up(Influxd())
        self.ix.create_db("leaf")
        self.vm = self.up(VictoriaMetrics())
        self.broker = self.up(Broker(os.path.join(self.tmp, "broker"), tls=False))
        self.abrp = self.up(Abrp())
        self.gps = self.gpsd()
        secs = {
            "can": {"source": "replay:%s,speed=1" % self.log, "asleep_after_s": "3"},
            "influx": {"url": self.ix.url, "unsynced_hold_s": "0", "timeout_s": "5"},
            "cloud": {"enabled": "true", "url": self.vm.url, "api": "v2", "org": "idle",
                      "bucket": "leaf", "token_file": secret(self.tmp, "token", "vm-token"),
                      "unsynced_hold_s": "0", "sync_interval_s": "1", "timeout_s": "5",
                      "max_bytes_per_5min": "1000000000"},
            "mqtt": {"enabled": "true", "url": "mqtt://127.0.0.1:%d" % self.broker.port,
                     "username": "leaf",
                     "password_file": secret(self.tmp, "mqtt", Broker.USERS["leaf"])},
            "abrp": {"enabled": "true", "url": self.abrp.url,
                     "token_file": secret(self.tmp, "abrp-token", "car-token"),
                     "api_key_file": secret(self.tmp, "abrp-key", "app-key")},
        }
        if self.gps is not None:
            secs["gps"] = {"source": "gpsd:127.0.0.1:%d" % self.gps.port}
        self.d = Leafmond(tmp=os.path.join(self.tmp, "d"), real=WORKERS, enabled=WORKERS,
                          sup={"vehicle": VEHICLE, "heartbeat_timeout_s": "10"}, sections=secs)

    def gpsd(self):
        """A real gpsd fed a fix a second (test_gps's feed), when it is installed."""
        import test_gps
        try:
            test_gps.need_gpsd()
        except Skip as e:
            print("     the can worker without GPS: %s" % e, flush=True)
            return None
        path = os.path.join(self.tmp, "drive.nmea")
        test_gps.write_nmea(path)
        feed = test_gps.Feed(self.tmp, path)
        feed.stop = feed.kill
        return self.up(feed)

    def up(self, server):
        self.servers.append(server)
        return server.start()

    def stop(self):
        try:
            self.d.stop()
            self.d.check_sanitizers()
        finally:
            for s in reversed(self.servers):
                s.stop()

    def sample(self):
        """{process: (monotonic time of the count, wake-ups)}: a worker's count is
        its last heartbeat's, dated by the heartbeat's age."""
        t = time.monotonic()
        st = self.d.status()
        out = {"leafmond": (t, st["supervisor"]["loop_wakeups"], {})}
        for w in st["workers"]:
            c = w.get("counters") or {}
            assert w["state"] == "ready" and "loop_wakeups" in c, w
            out[w["name"]] = (t - w["heartbeat_age_s"], c["loop_wakeups"], c)
        return out

    def status_cost(self):
        """leafmond's wake-ups for one status request (the least of five pairs)."""
        costs = []
        for _ in range(5):
            a, b = self.sample(), self.sample()
            costs.append(b["leafmond"][1] - a["leafmond"][1])
        return min(costs)

    def rates(self, seconds):
        a = self.sample()
        time.sleep(seconds)
        b = self.sample()
        self.changed = {p: {k: v - a[p][2].get(k, 0) for k, v in b[p][2].items()
                            if isinstance(v, (int, float)) and v != a[p][2].get(k)}
                        for p in a}
        return {p: (b[p][1] - a[p][1], b[p][0] - a[p][0]) for p in a}

    def asleep(self):
        c = self.d.worker("can").get("counters") or {}
        return c.get("bus_asleep") == 1

    def drained(self):
        st = self.d.status()
        for name in ("influx", "cloud"):
            led = self.d.worker(name, st).get("ledger") or {}
            if led.get("queued_records") != 0:
                return False
        return True


@cost(90)
def test_bus_asleep_wakes_no_process_faster_than_1hz():
    need()
    rig = Rig()
    try:
        rig.d.start(timeout=30)
        awake = rig.rates(WINDOW_S)
        assert not rig.asleep(), "the replay of %d s was over before the awake window" % LOG_S
        if rig.gps is not None:  # gpsd's reports came in while awake
            assert rig.changed["can"].get("gps_reports", 0) > 0, rig.changed["can"]
        for p, (n, dt) in sorted(awake.items()):
            measure("awake_wakeups_per_s_" + p, "%.1f" % (n / dt), "/s")
        wait_for(rig.asleep, LOG_S + 60, "the replay over, the bus asleep")
        wait_for(rig.drained, 60, "the writers drained")
        time.sleep(3)  # the last sample's deliveries and the ledger's commit
        per_request = rig.status_cost()
        idle = rig.rates(WINDOW_S)
        bad = []
        for p, (n, dt) in sorted(idle.items()):
            measure("idle_wakeups_per_s_" + p, "%.2f" % (n / dt), "/s")
            allowed = math.ceil(dt) + 1 + (per_request if p == "leafmond" else 0)
            if n > allowed:
                bad.append("%s: %d wake-ups in %.1f s (at most %d; counters that moved: %s)"
                           % (p, n, dt, allowed, rig.changed[p]))
        measure("idle_status_request_wakeups_leafmond", per_request, "")
        assert rig.asleep(), "the bus woke during the idle window"
        if rig.gps is not None:
            c = rig.d.worker("can")["counters"]
            assert c.get("gps_up") == 1 and c.get("gps_paused") == 1, c
        assert not bad, "; ".join(bad)
    finally:
        rig.stop()


if __name__ == "__main__":
    run([test_bus_asleep_wakes_no_process_faster_than_1hz])
