"""Sessions as InfluxDB points end to end: the simulator's long day (`leafmon
sim --scenario day`, written out and replayed at speed 0 with its own times)
through the real can worker and the real writers into a real InfluxDB 1.6.7
(retention policy `forever`, made by scripts/setup-influxdb) and a real
victoria-metrics (the cloud writer, API v2, bucket `leaf-sessions`). InfluxDB:
one point per session at its start, whose fields are `leafmon decode
--sessions --json` of the same log; the samples stay in their own RP; kill -9
of the writer while it delivers changes none of that. victoria-metrics does
not overwrite (see vm_problems): one sample per session and field at its
start, the start figures decode's, the running ones at most the end's."""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, Leafmond, bin_path, cost, measure, run, wait_for  # noqa: E402
from servers import Influxd, VictoriaMetrics  # noqa: E402

VEHICLE = "leaf, sess=1"  # a tag value that needs escaping
DB, RP, SRP = "leaf", "leafmon", "forever"
KINDS = ("trip", "charge", "park", "battery_daily")
TAGS = ("kind", "charge_type")  # the measurement and a tag, not fields
# victoria-metrics keeps one sample per series and timestamp, but not the last
# one written (nor the largest): of a session's points it may keep an update.
# Fixed at the start, these equal decode's whatever point was kept; the
# GROWING ones are at most the end's.
FIXED = ("start", "soc_start_pct", "gids_start", "odo_start_km", "pack_temp_start_c")
GROWING = ("end", "duration_s", "distance_km", "energy_out_kwh", "energy_in_kwh", "driving_s",
           "charging_s")


def day_log(tmp):
    """The long day ending a few hours ago, and its sessions as decode gives them."""
    start = int(time.time()) - 86400
    log = os.path.join(tmp, "day.log")
    with open(log, "w") as f:
        subprocess.run([bin_path("cli/leafmon"), "sim", "--to", "-", "--scenario", "day", "--start",
                        str(start), "--generation", "AZE0"], stdout=f, check=True, timeout=300)
    r = subprocess.run([bin_path("cli/leafmon"), "decode", "--sessions", "--json", log],
                       capture_output=True, text=True, check=True, timeout=300)
    sessions = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert {s["kind"] for s in sessions} == set(KINDS), sessions
    return log, sessions


def setup_rps(ix, tmp):
    conf = os.path.join(tmp, "setup.conf")
    r = subprocess.run(["python3", os.path.join(SRC, "scripts", "setup-influxdb"), "-c", conf,
                        "--url", ix.url, "--database", DB, "--retention-policy", RP, "--retention",
                        "52w", "--session-rp", SRP, "--token-file", os.path.join(tmp, "t")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def rows(ix, rp, kind):
    res = ix.query('SELECT * FROM "%s"."%s"."%s"' % (DB, rp, kind), db=DB)
    out = []
    for s in res.get("series", []):
        out += [dict(zip(s["columns"], v)) for v in s["values"]]
    return out


def field_problems(kind, want, row):
    """How a point differs from its session's JSON (nothing more, nothing less)."""
    bad = []
    if row.get("vehicle") != VEHICLE:
        bad.append("vehicle tag %r" % row.get("vehicle"))
    if kind == "charge" and row.get("charge_type") != want["charge_type"]:
        bad.append("charge_type tag %r" % row.get("charge_type"))
    if row.get("clock_unsynced") not in (None, True):
        bad.append("clock_unsynced %r" % row.get("clock_unsynced"))
    if row.get("phase") != "end":
        bad.append("phase %r" % row.get("phase"))
    for k, v in want.items():
        if k not in TAGS and row.get(k) != v:
            bad.append("%s = %r, decode %r" % (k, row.get(k), v))
    for k, v in row.items():
        if v is not None and k not in want and k not in ("time", "vehicle", "phase",
                                                         "clock_unsynced"):
            bad.append("%s = %r not in the session" % (k, v))  # left from an update
    return bad


def influx_problems(ix, sessions):
    """Every complete session once, at its start, with its figures; every
    point some session's; the sessions' RP holds nothing else."""
    bad = []
    for kind in KINDS:
        got = {}
        for r in rows(ix, SRP, kind):
            t = r["time"] // 1000000
            if t in got:
                bad.append("%s: two points at %d" % (kind, t))
            got[t] = r
        want = {int(round(s["start"] * 1000)): s for s in sessions if s["kind"] == kind}
        for t, s in sorted(want.items()):
            if s.get("partial"):
                continue  # decode ends it at the log's end, the live path not yet
            if t not in got:
                bad.append("%s at %d missing" % (kind, t))
                continue
            bad += ["%s at %d: %s" % (kind, t, p) for p in field_problems(kind, s, got[t])]
        bad += ["%s at %d: no such session" % (kind, t) for t in got if t not in want]
    meas = ix.query("SHOW MEASUREMENTS", db=DB).get("series", [{}])[0].get("values", [])
    for (m,) in meas:
        if m not in KINDS and rows(ix, SRP, m):
            bad.append("samples' measurement %s in RP %s" % (m, SRP))
    for kind in KINDS:  # charge is a signal group too: no session fields in the samples' RP
        res = ix.query('SELECT count("phase") FROM "%s"."%s"."%s"' % (DB, RP, kind), db=DB)
        if res.get("series"):
            bad.append("session measurement %s in RP %s" % (kind, RP))
    return bad


class Rig:
    def __init__(self, log, ix, tmp):
        self.ix = ix
        self.d = Leafmond(real=("can", "influx"), enabled=("can", "influx"),
                          sup={"vehicle": VEHICLE, "journal_mb": "64", "failed_after": "1000"},
                          sections={"can": {"source": "replay:%s,speed=0,keep_time" % log},
                                    "influx": {"url": ix.url, "api": "v1", "database": DB,
                                               "retention_policy": RP, "session_rp": SRP,
                                               "unsynced_hold_s": "0"}})

    def counters(self):
        return self.d.worker("influx").get("counters", {})

    def wait_delivered(self, sessions, timeout):
        last = []

        def done():
            last[:] = influx_problems(self.ix, sessions)
            led = self.d.worker("influx").get("ledger") or {}
            return not last and led.get("queued_records", 1) == 0
        try:
            wait_for(done, timeout, "every session in RP %s" % SRP, interval=2)
        except AssertionError:
            raise AssertionError("not delivered: %s" % "\n".join(last[:40]))


@cost(90)
def test_influx_one_point_per_session_in_the_forever_rp():
    tmp = tempfile.mkdtemp(prefix="leafmon-sesspts-")
    log, sessions = day_log(tmp)
    ix = Influxd().start()
    try:
        setup_rps(ix, tmp)
        rig = Rig(log, ix, tmp)
        t0 = time.monotonic()
        rig.d.start()
        try:
            rig.wait_delivered(sessions, 240)
            measure("session_points_day_delivered_s", "%.1f" % (time.monotonic() - t0), "s")
            c = rig.counters()
            assert c.get("session_records_dropped") == 0, c
            assert c.get("session_events_spooled", 0) >= len(sessions) - 2, c  # + updates
            measure("session_points_day_events", int(c.get("session_events_spooled", 0)))
        finally:
            rig.d.stop()
    finally:
        ix.stop()


@cost(120)
def test_influx_kill9_while_delivering_still_one_point_each():
    tmp = tempfile.mkdtemp(prefix="leafmon-sesspts-")
    log, sessions = day_log(tmp)
    ix = Influxd().start()
    try:
        setup_rps(ix, tmp)
        rig = Rig(log, ix, tmp)
        rig.d.start()
        kills = 0
        try:
            rnd = random.Random(11)
            deadline = time.monotonic() + 120
            while kills < 5 and time.monotonic() < deadline:
                time.sleep(rnd.uniform(0.3, 1.5))
                w = rig.d.worker("influx")
                if w["state"] != "ready" or not w.get("pid"):
                    continue
                if (w.get("ledger") or {}).get("queued_records", 0) == 0 and kills > 0:
                    break  # nothing left in flight to kill
                os.kill(w["pid"], signal.SIGKILL)
                kills += 1
            assert kills >= 2, "the writer was killed only %d times" % kills
            measure("session_points_writer_kills", kills)
            rig.d.wait_states(timeout=30)
            rig.wait_delivered(sessions, 300)
            assert rig.counters().get("session_records_dropped") == 0, rig.counters()
        finally:
            rig.d.stop()
    finally:
        ix.stop()


def vm_problems(vm, sessions, finals=None):
    """victoria-metrics keeps numbers only (strings arrive as 0, booleans as
    0/1) and ignores bucket and org: series <kind>_<field>{vehicle,
    charge_type}. One sample per session and field, at its start; FIXED
    fields equal decode's, GROWING ones at most decode's. finals counts the
    sessions whose every GROWING field is the end's."""
    bad = []
    for kind in ("trip", "charge"):
        want = {int(round(s["start"] * 1000)): s for s in sessions if s["kind"] == kind}
        fields = {k for s in sessions if s["kind"] == kind for k in s} | {"phase"}
        names = {}
        for s in vm.export('{__name__=~"%s_.+"}' % kind):
            m = s["metric"]
            field = m["__name__"][len(kind) + 1:]
            if field not in fields:
                continue  # a signal of the charge group
            if m.get("vehicle") != VEHICLE or "db" in m:
                bad.append("%s: labels %r" % (kind, m))
            for t, v in zip(s["timestamps"], s["values"]):
                key = (field, m.get("charge_type"), t)
                if key in names:
                    bad.append("%s_%s: two samples at %d" % (kind, field, t))
                names[key] = v
        for t, sess in want.items():
            ct = sess.get("charge_type")
            final = True
            for f in FIXED + GROWING + ("phase",):
                if f not in sess and f != "phase":
                    continue
                v = names.get((f, ct, t))
                w = sess.get(f, 0)  # phase: a string, stored as 0
                eps = 1e-9 * max(1, abs(w))
                if v is None:
                    bad.append("%s at %d: no %s" % (kind, t, f))
                elif f in GROWING and v > w + eps:
                    bad.append("%s at %d: %s = %r beyond the end's %r" % (kind, t, f, v, w))
                elif f not in GROWING and abs(v - w) > eps:
                    bad.append("%s at %d: %s = %r, decode %r" % (kind, t, f, v, w))
                final = final and v is not None and abs(v - w) <= eps
            if finals is not None:
                finals.append(final)
        bad += ["%s_%s at %d: no such session" % (kind, f, t) for (f, _, t) in names
                if t not in want]
    return bad


@cost(90)
def test_cloud_to_victoria_metrics_one_sample_per_session():
    tmp = tempfile.mkdtemp(prefix="leafmon-sesspts-")
    log, sessions = day_log(tmp)
    vm = VictoriaMetrics().start()
    tok = os.path.join(tmp, "cloud.token")
    with open(tok, "w") as f:
        f.write("t0ken\n")
    os.chmod(tok, 0o600)
    d = Leafmond(real=("can", "cloud"), enabled=("can", "cloud"),
                 sup={"vehicle": VEHICLE, "journal_mb": "64"},
                 sections={"can": {"source": "replay:%s,speed=0,keep_time" % log},
                           "cloud": {"enabled": "true", "url": vm.url, "api": "v2", "org": "o",
                                     "bucket": "leaf-telemetry", "session_bucket": "leaf-sessions",
                                     "token_file": tok, "unsynced_hold_s": "0",
                                     "sync_interval_s": "1", "gzip": "true",
                                     "max_bytes_per_5min": "1000000000"}})
    try:
        d.start()
        last = []

        def done():
            last[:] = vm_problems(vm, sessions)
            led = d.worker("cloud").get("ledger") or {}
            return not last and led.get("queued_records", 1) == 0
        try:
            wait_for(done, int(os.environ.get("SESSPTS_WAIT", "240")), "every trip and charge in victoria-metrics", interval=2)
        except AssertionError:
            w = d.worker("cloud")
            raise AssertionError("not delivered: %s\nledger %r\ncounters %r" % (
                "\n".join(last[:40]), w.get("ledger"), w.get("counters")))
        finals = []
        assert not vm_problems(vm, sessions, finals)
        measure("session_points_vm_final_share", "%.2f" % (sum(finals) / len(finals)))
        c = d.worker("cloud").get("counters", {})
        assert c.get("session_records_dropped") == 0 and c.get("session_events_spooled", 0) > 0, c
        r = d.cli("doctor", "--json", "cloud")
        checks = {e["check"]: e for e in json.loads(r.stdout)}
        assert checks["cloud sessions"]["result"] == "OK", checks
    finally:
        d.stop()
        vm.stop()


if __name__ == "__main__":
    run([test_influx_one_point_per_session_in_the_forever_rp,
         test_influx_kill9_while_delivering_still_one_point_each,
         test_cloud_to_victoria_metrics_one_sample_per_session])
