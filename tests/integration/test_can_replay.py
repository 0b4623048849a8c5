"""The can worker's replay survives its own death (issue 10, section 3):
leafmond with the real leafmon-can replaying a log at speed 1 and the real
leafmon-influx into a real InfluxDB, while the test kills the can worker and
the writer again and again with SIGKILL. Every point `leafmon decode --json`
cuts from the log must be in InfluxDB at the same offset from the replay's
start, with the same fields, and nothing else: a restarted can worker goes
on with the same timeline at the frame it had reached. The same with
`loop`, against `leafmon decode` of the passes laid end to end. Also: a
replay of a file that holds no frame goes to `failed` with alert bad_log."""

import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DATA, Leafmond, Skip, bin_path, catalogue, cost, measure, run,  # noqa: E402
                     wait_for)

QC_LOG = "logs/ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt"  # untimed: the bus clock's 16 s
VEHICLE = "resume"


def need_binaries():
    for b in ("libexec/leafmon-can", "libexec/leafmon-influx", "cli/leafmon"):
        if not os.path.exists(bin_path(b)):
            raise Skip("%s is not built" % b)
    try:
        from servers import Influxd  # noqa: F401
    except ImportError:
        raise Skip("tests/integration/servers.py is not here")


def decoded_samples(path, *options):
    """[(t_ns, {signal: value})] as `leafmon decode --json` cuts the log."""
    import json
    r = subprocess.run([bin_path("cli/leafmon"), "decode", "--json", *options, path],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-500:]
    out = []
    for line in r.stdout.splitlines():
        s = json.loads(line)
        sec, _, frac = line[len('{"t": '):].split(",", 1)[0].partition(".")
        t = int(sec) * 10**9 + int(frac.ljust(6, "0")) * 1000
        del s["t"]
        out.append((t, s))
    return out


def by_point(samples):
    """{(measurement, t_us): {field: value}} as the influx writer stores them
    (precision = us: a log's times are kept to the microsecond)."""
    cat = catalogue()
    out = {}
    for t, s in samples:
        for name, v in s.items():
            out.setdefault((cat[name][0], t // 1000), {})[name] = v
    return out


def stored(ix, groups):
    got = {}
    for meas in groups:
        for r in ix.rows("leaf", meas):
            assert r.pop("vehicle") == VEHICLE, r
            assert r.pop("clock_unsynced", None) in (None, True), r
            t = r.pop("time") // 1000
            got[(meas, t)] = {k: v for k, v in r.items() if v is not None}
    return got


def compare(got, want, until_us=None):
    """Every wanted point is there at the same offset with the same fields,
    and no other. The offset is the replay's re-basing (whole seconds). The
    last sample is cut differently: `leafmon decode` adds every health
    counter to it, the worker cuts it when the bus falls asleep; so the can
    group's last point and the can worker's asleep point (after the log's
    last frame) are left out, and with until_us only what lies before it
    counts (times from the start of want, which is a relative log).
    Returns the number of points compared."""
    cat = catalogue()
    offset = min(t for _, t in got) - min(t for _, t in want)
    assert offset % 10**6 == 0, "re-basing is to a whole second: offset %d us" % offset
    last = max(t for _, t in want)
    want = {k: v for k, v in want.items() if not (k[0] == "can" and k[1] == last)}
    got = {(m, t - offset): v for (m, t), v in got.items()
           if not (m == "can" and t - offset >= last)}
    if until_us is not None:
        want = {k: v for k, v in want.items() if k[1] < until_us}
        got = {k: v for k, v in got.items() if k[1] < until_us}
    missing = sorted(k for k in want if k not in got)
    extra = sorted(k for k in got if k not in want)
    for m, t in extra[:4]:  # what it holds, beside the last wanted point before it
        before = max((k for k in want if k[0] == m and k[1] < t), default=None, key=lambda k: k[1])
        print("extra %s@%d %s; wanted before it: %s" % (m, t, got[(m, t)], want.get(before)))
    assert not missing and not extra, "missing %d %s, extra %d %s" % (
        len(missing), missing[:4], len(extra), extra[:4])
    t0 = min(t for _, t in want)
    bad = []
    for k, fields in sorted(want.items(), key=lambda kv: kv[0][1]):
        row = got[k]
        for f in set(row) | set(fields):
            g, v = row.get(f), fields.get(f)
            if g is None or v is None:
                same = False
            elif cat[f][1] == "FLOAT":
                same = abs(g - v) <= 1e-9 * max(1.0, abs(v))
            else:
                same = g == v
            if not same:
                bad.append((k[0], k[1] - t0, f, g, v))
    assert not bad, "%d fields differ (measurement, us from the start, field, got, want): %s" % (
        len(bad), bad[:6])
    return len(want)


class Rig:
    def __init__(self, source, **can):
        from servers import Influxd
        self.ix = Influxd().start()
        self.ix.create_db("leaf")
        self.d = Leafmond(real=("can", "influx"), enabled=("can", "influx"),
                          sup={"vehicle": VEHICLE, "failed_after": "1000"},
                          sections={"can": {"source": source, "asleep_after_s": "3", **can},
                                    "influx": {"url": self.ix.url, "unsynced_hold_s": "0",
                                               "timeout_s": "3", "precision": "us"}})
        self.kills = {"can": 0, "influx": 0}

    def start(self):
        self.d.start()
        return self

    def stop(self):
        try:
            self.d.stop()
        finally:
            self.ix.stop()

    def counters(self, w):
        return self.d.worker(w).get("counters") or {}

    def kill(self, name):
        w = self.d.worker(name)
        if w["state"] != "ready" or not w["pid"]:
            return
        os.kill(w["pid"], signal.SIGKILL)
        self.kills[name] += 1
        wait_for(lambda: self.d.worker(name)["state"] == "ready" and
                 self.d.worker(name)["pid"] != w["pid"], 20, "%s back" % name)

    def kill_while(self, pred, gap=(0.8, 1.8)):
        """Kill the can worker and the writer in turn, at random moments."""
        turn = 0
        while pred():
            time.sleep(random.uniform(*gap))
            self.kill(("can", "influx")[turn % 2])
            turn += 1

    def drained(self):
        led = self.d.worker("influx").get("ledger") or {}
        return led.get("queued_records") == 0

    def resumed_in_log(self):
        return self.d.logtext().count("going on at frame")


def sim_log(tmp, seconds):
    """Our own simulator's frames as a candump -l log (absolute times)."""
    path = os.path.join(tmp, "sim.log")
    with open(path, "w") as f:
        subprocess.run([bin_path("cli/leafmon"), "sim", "--to", "-", "--duration", str(seconds)],
                       stdout=f, check=True, timeout=60)
    return path


def passes(path, n, tmp):
    """n passes of a candump -l log end to end, each shifted as a looping
    replay shifts it (the span of the log plus 10 ms), and made relative
    (the first frame at 0): a replay re-bases the log to a whole second, so
    its ticks fall where `leafmon decode` puts them for a relative log.
    Returns the file and the length of a pass in microseconds."""
    lines = open(path).read().splitlines()

    def us(line):
        a, b = line[1:line.index(")")].split(".")
        return int(a) * 10**6 + int(b)
    first, last = us(lines[0]), us(lines[-1])
    out = os.path.join(tmp, "passes.log")
    step = last - first + 10000
    with open(out, "w") as f:
        for k in range(n):
            for line in lines:
                t = us(line) - first + k * step
                f.write("(%d.%06d)%s\n" % (t // 10**6, t % 10**6, line[line.index(")") + 1:]))
    return out, step


@cost(45)
def test_kill9_during_replay_adds_and_loses_nothing():
    need_binaries()
    log = os.path.join(DATA, QC_LOG)
    if not os.path.exists(log):
        raise Skip("real log %s absent (LEAFMON_DATA)" % log)
    samples = decoded_samples(log)
    want = by_point(samples)
    frames = 22641
    rig = Rig("replay:%s,speed=1" % log).start()
    try:
        # the log is 16 s of the car's time: kills all the way through it
        rig.kill_while(lambda: rig.counters("can").get("src0_frames", 0) < frames - 1500)
        wait_for(lambda: rig.counters("can").get("src0_frames", 0) == frames and
                 rig.counters("can").get("bus_asleep") == 1, 60, "the replay over, the bus asleep")
        wait_for(rig.drained, 60, "the spool drained")
        assert rig.kills["can"] >= 4 and rig.kills["influx"] >= 4, rig.kills
        assert rig.resumed_in_log() == rig.kills["can"], (rig.resumed_in_log(), rig.kills)
        assert rig.d.logtext().count("from the top") == 1  # the first start only
        n = compare(stored(rig.ix, {m for m, _ in want} | {"can"}), want)
        measure("can_replay_kill9_can_kills", rig.kills["can"], "")
        measure("can_replay_kill9_writer_kills", rig.kills["influx"], "")
        measure("can_replay_kill9_points_compared", n, "points")
    finally:
        rig.stop()


@cost(40)
def test_kill9_during_looping_replay():
    need_binaries()
    rig = None
    tmp = Leafmond().tmp
    log = sim_log(tmp, 6)
    joined, pass_us = passes(log, 4, tmp)
    # no keyframes here: the worker counts them on the log's own (absolute)
    # time, the joined relative file on its own, so they would fall apart
    # whenever a pass crosses a minute of the simulator's clock
    want = by_point(decoded_samples(joined, "--keyframe", "0"))
    per_pass = sum(1 for _ in open(log))
    try:
        rig = Rig("replay:%s,speed=1,loop" % log, keyframe_s="0").start()
        # three passes and a bit, killing through the pass boundaries
        rig.kill_while(lambda: rig.counters("can").get("src0_frames", 0) < 3 * per_pass + 200)
        rig.d.cli("stop", "can", check=True)  # the loop never ends by itself
        wait_for(lambda: rig.d.worker("can")["state"] == "stopped", 20, "the can worker stopped")
        wait_for(rig.drained, 60, "the spool drained")
        got = stored(rig.ix, {m for m, _ in want})
        # compare the first three passes: the fourth is still going
        n = compare(got, want, until_us=3 * pass_us)
        assert rig.kills["can"] >= 4, rig.kills
        assert rig.resumed_in_log() == rig.kills["can"]
        measure("can_replay_loop_kill9_can_kills", rig.kills["can"], "")
        measure("can_replay_loop_points_compared", n, "points")
    finally:
        if rig is not None:
            rig.stop()


@cost(6)
def test_replay_of_no_frames_fails_with_alert():
    need_binaries()
    d = Leafmond(real=("can",), enabled=("can",))
    junk = os.path.join(d.tmp, "notes.txt")
    with open(junk, "w") as f:
        f.write("these are my notes\nnot a CAN log\n")
    d.sections["can"]["source"] = "replay:%s,loop" % junk
    d.write_config()
    d.start()
    try:
        def alert():
            for a in d.worker("can")["alerts"]:
                if a["code"] == "bad_log":
                    return a
        a = wait_for(alert, 20, "alert bad_log")
        assert "no line of" in a["text"] and "Vector ASC" in a["text"], a
        c = d.worker("can")["counters"]
        assert c["src0_replay_ev_up"] == 0 and c["src0_frames"] == 0, c
        time.sleep(3)  # not retried, not looped: still the one warning
        assert d.logtext().count("replay: no line of") == 1, d.logtext()[-2000:]
    finally:
        d.stop()


if __name__ == "__main__":
    run([test_kill9_during_replay_adds_and_loses_nothing, test_kill9_during_looping_replay,
         test_replay_of_no_frames_fails_with_alert])
