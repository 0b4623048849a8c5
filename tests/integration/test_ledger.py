"""The ledger end to end: leafmond with the real can and ledger workers
replaying the simulator's long day (`leafmon sim --scenario day --truth`,
written to a file and replayed with keep_time) into STATEDIR/ledger.db,
checked against the simulator's own ground truth; kill -9 of each worker (the
InfluxDB writer too) and of everything during a trip and during a quick
charge, after which the ledger and InfluxDB's sessions' RP each hold the one
session with the same figures; a power cut (every
process killed and RUNDIR, the tmpfs, gone) inside a trip; a database that
cannot be opened; `leafmon import` twice; the battery check's alert; and the
ledger's size per month of driving."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Leafmond, bin_path, cost, kill_everything, measure, measurement,  # noqa: E402,E501
                     run, wait_for)
from servers import Influxd  # noqa: E402
from test_sessions import START, compare, lines  # noqa: E402

GEN = "AZE0"
_day = {}


def day_log():
    """The simulated day as a candump -l file, its truth and its AC efficiency
    (made once per run: 300 MB, removed at exit)."""
    if not _day:
        tmp = tempfile.mkdtemp(prefix="ldgw-day-")
        log, truth = os.path.join(tmp, "day.log"), os.path.join(tmp, "truth.json")
        with open(log, "wb") as f:
            subprocess.run([bin_path("cli/leafmon"), "sim", "--to", "-", "--scenario", "day",
                            "--start", str(START), "--generation", GEN, "--truth", truth],
                           stdout=f, check=True, timeout=600)
        t = lines(open(truth).read())
        ac = [x for x in t if x["kind"] == "charge" and x["charge_type"] == "ac"]
        _day.update(tmp=tmp, log=log, truth=t, eff=ac[0]["pack_kwh"] / ac[0]["grid_kwh"])
    return _day


def slice_log(name, t0, t1, skip=None):
    """The day's frames with t0 <= t < t1 (minus [skip) when given) into a file."""
    d = day_log()
    out = os.path.join(d["tmp"], name)
    with open(d["log"], "rb") as src, open(out, "wb") as dst:
        for line in src:
            t = float(line[1:line.index(b")")])
            if t >= t1:
                break
            if t >= t0 and not (skip and skip[0] <= t < skip[1]):
                dst.write(line)
    return out


def ledger(d):
    """Every row of the ledger, read-only, as dicts (detail parsed)."""
    path = os.path.join(d.statedir, "ledger.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        rows = db.execute("SELECT kind, start_ns, end_ns, phase, vehicle, detail, t_ns, updated_ns "
                          "FROM session ORDER BY start_ns, kind").fetchall()
    finally:
        db.close()
    return [dict(kind=r[0], start_ns=r[1], end_ns=r[2], phase=r[3], vehicle=r[4],
                 detail=json.loads(r[5]), t_ns=r[6], updated_ns=r[7]) for r in rows]


def rig(source, extra_ledger=None, journal_mb="64", asleep="5", influx=None):
    """leafmond with the can worker and the ledger; with influx (an Influxd
    with database leaf), the InfluxDB writer too."""
    d = day_log()
    led = {"ac_efficiency": "%.5f" % d["eff"]}
    led.update(extra_ledger or {})
    real, secs = ("can", "ledger"), {"can": {"source": source, "asleep_after_s": asleep},
                                     "ledger": led}
    if influx is not None:
        real += ("influx",)
        secs["influx"] = {"url": influx.url, "api": "v1", "database": "leaf"}
    return Leafmond(tmp=tempfile.mkdtemp(prefix="ldgw-it-"), real=real,
                    enabled=("can",) + real[2:], env={"TZ": "UTC0"},
                    sup={"journal_mb": journal_mb, "vehicle": "testcar", "failed_after": "1000"},
                    sections=secs)


def counters(d, name="ledger"):
    return d.worker(name).get("counters") or {}


def replay_over(d, path):
    return ("replay %s: end of log" % path) in d.logtext()


def settle(d, path, db_errors=False, influx=False):
    """The replay has ended and the bus slept (with influx, the InfluxDB
    writer's spool drained too); leafmond stopped gracefully (the ledger
    commits on stop). The ledger's counters just before: it lost and dropped
    nothing, and committed in batches."""
    wait_for(lambda: replay_over(d, path), 300, "the end of the replay", interval=0.5)
    wait_for(lambda: counters(d, "can").get("bus_asleep") == 1, 150, "the bus asleep",
             interval=0.5)
    time.sleep(1.5)  # the sleep's events ride the next sample: one tick
    if influx:
        wait_for(lambda: (d.worker("influx").get("ledger") or {}).get("queued_records") == 0,
                 120, "the InfluxDB writer's spool drained", interval=0.5)
    w = d.worker("ledger")
    c = w["counters"]
    assert c["sub_lost"] == 0 and c["invalid_events"] == 0 and c["db_open"] == 1, c
    assert db_errors or c["db_errors"] == 0, c
    # one commit per second at most while events flow: never one per sample or event
    assert c["commits"] <= w["uptime_s"] + 2 and c["commits"] < c["samples"], c
    code, _ = d.stop()
    assert code == 0, d.logtext()[-3000:]
    return c


def sessions_of(rows, kind):
    return [r for r in rows if r["kind"] == kind]


def assert_within(got, want, keys, pct=1.0):
    bad = []
    for k in keys:
        if abs(got[k] - want[k]) > max(abs(want[k]) * pct / 100, 0.02):
            bad.append("%s = %r, the truth %r (%g %%)" % (k, got[k], want[k], pct))
    assert not bad, "\n".join(bad)


@cost(60)
def test_day_into_the_ledger_equals_the_truth():
    d = day_log()
    src = "replay:%s,speed=0,keep_time" % d["log"]
    m = rig(src).start()
    try:
        c = settle(m, d["log"])
        print("     %d events, %d upserts, %d commits, %d samples" % (
            c["events"], c["inserted"] + c["replaced"], c["commits"], c["samples"]))
        rows = ledger(m)
        got = [r for r in rows if r["kind"] != "battery_daily"]
        truth = d["truth"]
        assert [r["kind"] for r in got] == [t["kind"] for t in truth], (
            [r["kind"] for r in got], [t["kind"] for t in truth])
        bad = []
        for i, (g, t) in enumerate(zip(got[:-1], truth[:-1])):
            if g["phase"] != "end":
                bad.append("#%d %s: phase %s" % (i, t["kind"], g["phase"]))
            compare(i, g["detail"], t, bad)
            if g["end_ns"] != round(g["detail"]["end"] * 1e6) * 1000 or g["vehicle"] != "testcar":
                bad.append("#%d: end_ns %d vehicle %s" % (i, g["end_ns"], g["vehicle"]))
        assert not bad, "\n".join(bad)
        # the day's last park is still open when the data ends (the live path
        # has no end of log: it goes on at the next wake)
        last, t = got[-1], truth[-1]
        assert t["partial"] and last["phase"] in ("start", "update"), last
        assert abs(last["detail"]["start"] - t["start"]) <= 0.5, (last, t)
        assert [r["detail"]["date"] for r in sessions_of(rows, "battery_daily")] == ["2024-03-08"]
        log = m.logtext()
        assert "leafmon-ledger[info]: stopped: " in log, log[-2000:]
    finally:
        m.stop()


def influx_sessions(ix, kind):
    """The points of kind in the sessions' RP (forever), as dicts."""
    res = ix.query('SELECT * FROM "leaf"."forever"."%s"' % kind, db="leaf")
    return [dict(zip(s["columns"], v)) for s in res.get("series", []) for v in s["values"]]


def kill_during(kind, path, truth, speed):
    """Replay path at speed, with the InfluxDB writer beside the ledger; while
    the session of kind is open: kill -9 the ledger, the can worker, the
    InfluxDB writer, then everything (leafmond too); then let it finish.
    Returns the ledger's rows and the session's points in InfluxDB."""
    ix = Influxd().start()
    ix.create_db("leaf")
    m = rig("replay:%s,speed=%s,keep_time" % (path, speed), influx=ix).start()
    try:
        def open_update(after_t):
            rows = [r for r in sessions_of(ledger(m), kind) if r["phase"] in ("start", "update")]
            return rows[0] if rows and rows[0]["t_ns"] > after_t else None
        seen = 0
        for victim in ("ledger", "can", "influx", "everything"):
            row = wait_for(lambda: open_update(seen), 120, "an open %s in the ledger" % kind,
                           interval=0.2)
            seen = row["t_ns"]
            if victim == "everything":
                kill_everything(m)
                m.start()
            else:
                pid = m.worker(victim)["pid"]
                os.kill(pid, 9)
                wait_for(lambda: m.worker(victim)["state"] == "ready" and
                         m.worker(victim)["pid"] != pid, 30, "%s back" % victim)
        wait_for(lambda: any(r["phase"] == "end" for r in sessions_of(ledger(m), kind)), 300,
                 "the %s's end" % kind, interval=0.5)
        settle(m, path, influx=True)
        c = m.logtext()
        assert c.count("ledger: ready") >= 3, c[-3000:]  # it really was restarted
        return ledger(m), influx_sessions(ix, kind)
    finally:
        m.stop()
        ix.stop()


def same_in_influx(points, detail, keys):
    """One point (its start is the session's: a resend overwrites it), with
    the ledger's final figures."""
    assert len(points) == 1, points
    p = points[0]
    assert abs(p["time"] / 1e9 - detail["start"]) < 1e-3 and p["phase"] == "end", p
    bad = [k for k in keys if abs(p[k] - detail[k]) > 1e-6]
    assert not bad, [(k, p[k], detail[k]) for k in bad]


def one_session_after_kills(kind, path, truth, influx_keys, shown):
    """kill_during, then: one session of kind, ended and "continued", with
    the truth's figures in the ledger and the same ones in InfluxDB."""
    rows, points = kill_during(kind, path, truth, 40)
    got = sessions_of(rows, kind)
    assert len(got) == 1, got
    g = got[0]["detail"]
    assert got[0]["phase"] == "end" and g.get("recovery") == "continued", got[0]
    bad = []
    compare(0, g, truth, bad)
    assert not bad, "\n".join(bad)
    same_in_influx(points, g, influx_keys)
    print("     %s after 4 kills: %s" % (kind, json.dumps({k: g.get(k) for k in shown})))


@cost(90)
def test_kill9_everything_during_a_trip():
    d = day_log()
    trip = d["truth"][0]
    assert trip["kind"] == "trip"
    path = slice_log("trip.log", START, trip["end"] + 400)
    keys = ("distance_km", "energy_out_kwh", "energy_in_kwh")
    one_session_after_kills("trip", path, trip, keys, keys + ("recovery",))


@cost(90)
def test_kill9_everything_during_a_quick_charge():
    d = day_log()
    i = next(i for i, t in enumerate(d["truth"]) if t.get("charge_type") == "qc")
    qc, before = d["truth"][i], d["truth"][i - 2]  # the drive to the charger, then a park
    # to the move after it: the car driving off ends the charge (at its target)
    path = slice_log("qc.log", before["start"] - 30, qc["end"] + 300)
    keys = ("pack_kwh", "grid_kwh", "soc_end_pct")
    one_session_after_kills("charge", path, qc, keys, keys + ("end_reason",))


@cost(45)
def test_power_cut_inside_a_trip_is_recovered():
    """Every process killed at once and RUNDIR gone (a reboot's tmpfs: the
    journal, the replay's position and the 1 s checkpoint with it); the car
    drove on for the 20 s the Pi took to boot. The trip continues from
    STATEDIR's checkpoint and says so. (The page cache cannot be dropped from
    here: what SQLite committed, with synchronous FULL, is taken as on disk.)"""
    d = day_log()
    trip = d["truth"][0]
    cut = trip["start"] + 1200
    a = slice_log("cut_a.log", START, cut)
    b = slice_log("cut_b.log", cut + 20, trip["end"] + 400)
    # the bus must not fall asleep (which ends a trip) before the cut
    m = rig("replay:%s,speed=0,keep_time" % a, asleep="60").start()
    try:
        wait_for(lambda: replay_over(m, a), 120, "the first half", interval=0.2)
        time.sleep(2.5)  # STATEDIR's checkpoint: within a second of each event
        before = sessions_of(ledger(m), "trip")
        assert len(before) == 1 and before[0]["phase"] == "update", before
        kill_everything(m)
        shutil.rmtree(m.rundir)
        m.sections["can"]["source"] = "replay:%s,speed=0,keep_time" % b
        m.write_config()
        m.start()
        settle(m, b)
        trips = sessions_of(ledger(m), "trip")
        assert len(trips) == 1 and trips[0]["phase"] == "end", trips
        g = trips[0]["detail"]
        assert g.get("recovery") == "continued", g
        assert abs(g["start"] - trip["start"]) <= 0.5, (g, trip)
        # 20 s of driving are not in the log, and what came after STATEDIR's
        # checkpoint (at most 30 s old) before the cut is not counted
        assert_within(g, trip, ("distance_km", "energy_out_kwh", "duration_s"), pct=2)
        print("     after the cut: %s" % json.dumps(
            {k: g.get(k) for k in ("distance_km", "energy_out_kwh", "recovery")}))
    finally:
        m.stop()


@cost(40)
def test_database_down_loses_nothing_from_the_journal():
    """ledger.db is not a database: alert ledger_db, the feed waits; once the
    owner moves it aside the worker opens a new one and writes every event
    the journal still holds."""
    d = day_log()
    trip = d["truth"][0]
    path = slice_log("down.log", START, trip["end"] + 400)
    m = rig("replay:%s,speed=0,keep_time" % path)
    os.makedirs(m.statedir, mode=0o750, exist_ok=True)
    bad = os.path.join(m.statedir, "ledger.db")
    with open(bad, "wb") as f:
        f.write(b"this is not a database" * 512)
    m.start(wait_ready=False)
    try:
        def alert():
            w = m.worker("ledger")
            return [a for a in w["alerts"] if a["code"] == "ledger_db"]
        a = wait_for(alert, 30, "alert ledger_db")[0]
        assert "not a database" in a["text"] and "journal" in a["text"], a
        assert m.worker("ledger")["ledger"]["db_errors"] >= 1
        wait_for(lambda: replay_over(m, path), 120, "the replay", interval=0.2)
        os.rename(bad, bad + ".damaged")
        wait_for(lambda: not alert() and counters(m).get("db_open") == 1, 60, "the alert gone")
        settle(m, path, db_errors=True)
        trips = sessions_of(ledger(m), "trip")
        assert len(trips) == 1 and trips[0]["phase"] == "end", trips
        assert_within(trips[0]["detail"], trip, ("distance_km", "energy_out_kwh"))
    finally:
        m.stop()


@cost(40)
def test_import_twice_is_once_and_respects_the_writer():
    d = day_log()
    trip = d["truth"][0]
    path = slice_log("import.log", START, trip["end"] + 400)
    quiet = os.path.join(d["tmp"], "quiet.log")  # the car awake for 0.2 s: no session
    with open(d["log"]) as src, open(quiet, "w") as dst:
        for _ in range(100):
            dst.write(src.readline())
    m = rig("replay:%s,speed=0,keep_time" % quiet)  # its ledger worker holds the database
    m.start()
    try:
        r = m.cli("import", path)
        assert r.returncode == 1 and "being written by process %d" % m.worker("ledger")["pid"] \
            in r.stderr and "leafmon stop ledger" in r.stderr, (r.returncode, r.stderr)
        m.cli("stop", "ledger", check=True)
        wait_for(lambda: m.worker("ledger")["state"] == "stopped", 20, "ledger stopped")
        first = m.cli("import", path, check=True)
        assert ": 3 sessions: 3 new," in first.stdout, first.stdout
        rows = ledger(m)
        second = m.cli("import", path, check=True)
        assert "0 new, 0 replaced, 3 already there" in second.stdout, second.stdout
        assert ledger(m) == rows  # not even updated_ns moved
        kinds = [r["kind"] for r in rows]
        assert kinds == ["battery_daily", "trip", "park"], kinds
        t = sessions_of(rows, "trip")[0]
        assert t["phase"] == "end" and t["vehicle"] == "testcar"
        assert abs(t["detail"]["start"] - trip["start"]) <= 0.5  # the log's own times
        assert_within(t["detail"], trip, ("distance_km", "energy_out_kwh"))
        # the read side (leafmon trips) shows what the writer wrote
        listed = json.loads(m.cli("trips", "--all", "--json", check=True).stdout)
        assert [x["start"] for x in listed] == [t["detail"]["start"]], listed
        assert listed[0]["distance_km"] == t["detail"]["distance_km"], listed
        m.cli("start", "ledger", check=True)
        m.wait_states()
    finally:
        m.stop()
    # a log without dates of its own is refused without --start
    rel = os.path.join(d["tmp"], "relative.log")
    with open(path) as src, open(rel, "w") as dst:
        for line in src:
            t, rest = line.split(")", 1)
            dst.write("(%.6f)%s" % (float(t[1:]) - START, rest))
    r = m.cli("import", rel)
    assert r.returncode == 1 and "--start" in r.stderr, r.stderr
    assert ledger(m) == rows


@cost(60)
def test_soh_sources_disagree_alert():
    """The AZE0 day's measured capacity is 98.4 % of a new 30 kWh pack's Ah
    beside 0x5BC's 100 %: within the default 5 points, an alert at 1."""
    d = day_log()
    trip = d["truth"][0]  # the day's first trip spans 48 % of SOC: a measured capacity
    path = slice_log("soh.log", START, trip["end"] + 400)
    m = rig("replay:%s,speed=0,keep_time" % path).start()
    try:
        wait_for(lambda: replay_over(m, path), 120, "the replay", interval=0.2)
        m.stop()
        # the day's battery_daily comes at the first frame of the next day: import it
        m.cli("import", path, check=True)
        daily = sessions_of(ledger(m), "battery_daily")[0]["detail"]
        implied = daily["capacity_ah"] / 79.0 * 100
        assert 0.5 < 100 - implied < 5, daily
        m.start()
        time.sleep(2)
        assert not [a for a in m.worker("ledger")["alerts"] if a["code"] == "soh_disagree"]
        m.stop()
        m.sections["ledger"]["soh_disagree_pct"] = "1"
        m.write_config()
        m.start()
        a = wait_for(lambda: [a for a in m.worker("ledger")["alerts"]
                              if a["code"] == "soh_disagree"], 20, "alert soh_disagree")[0]
        assert "battery 2024-03-08" in a["text"] and "soh_pct 100.0 %" in a["text"], a
        assert "capacity_ah %.1f %%" % implied in a["text"] and "30 kWh" in a["text"], a
    finally:
        m.stop()


@measurement
@cost(300)
def test_ledger_size_per_month():
    """30 simulated days (each: 4 trips, a quick and an AC charge, parks; 13
    sessions and a battery_daily) imported into one ledger: its size."""
    tmp = tempfile.mkdtemp(prefix="ldgw-month-")
    conf = os.path.join(tmp, "leafmon.conf")
    state = os.path.join(tmp, "state")
    with open(conf, "w") as f:
        f.write("[supervisor]\nstatedir = %s\nvehicle = testcar\n" % state)
    env = dict(os.environ, TZ="UTC0")
    for k in range(30):
        sim = subprocess.Popen([bin_path("cli/leafmon"), "sim", "--to", "-", "--scenario", "day",
                                "--start", str(START + 86400 * k), "--generation", GEN],
                               stdout=subprocess.PIPE)
        r = subprocess.run([bin_path("cli/leafmon"), "-c", conf, "import", "-"], stdin=sim.stdout,
                           capture_output=True, text=True, env=env, timeout=600)
        sim.stdout.close()
        assert sim.wait(timeout=60) == 0 and r.returncode == 0, r.stderr
    db = os.path.join(state, "ledger.db")
    n = sqlite3.connect(db).execute("SELECT count(*) FROM session").fetchone()[0]
    size = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal")
                                   else 0)
    assert n >= 30 * 13, n
    measure("ledger_db_bytes_per_month", size, "bytes (30 simulated days, %d sessions)" % n)
    measure("ledger_db_bytes_per_session", round(size / n), "bytes")
    shutil.rmtree(tmp)


def main():
    try:
        run([test_day_into_the_ledger_equals_the_truth, test_kill9_everything_during_a_trip,
             test_kill9_everything_during_a_quick_charge, test_power_cut_inside_a_trip_is_recovered,
             test_database_down_loses_nothing_from_the_journal,
             test_import_twice_is_once_and_respects_the_writer, test_soh_sources_disagree_alert,
             test_ledger_size_per_month])
    finally:
        if _day:
            shutil.rmtree(_day["tmp"], ignore_errors=True)


if __name__ == "__main__":
    main()
