"""Chaos: leafmond with the real workers replaying 11 minutes of real log into
a real InfluxDB, while the suite kills workers at random (50+ times), kills
the supervisor once, stops InfluxDB for a long stretch, cuts the power with
a torn spool tail, fills the spool to its cap and makes the state directory
unwritable. At the end every sample the can worker published must be in
InfluxDB exactly once per (measurement, tags, time), or be dropped with a
counted reason; the figures are printed as MEASURE lines. The cloud half
(leafmon-cloud to victoria-metrics behind vmauth, which checks the token,
behind our fault proxy, which plays dead for a stretch) joins when
leafmon-cloud is built. CTest label `chaos`; skips (77) until the workers
and the writers' test servers are built."""

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DATA, REAL_BINARIES, Leafmond, Skip, bin_path,  # noqa: E402
                     cut_inside_a_record, decoded, measure, pid_alive, run, wait_for)

LOG = "logs/ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt"  # 16 s of a ZE1 quick charge
COPIES = 40  # back to back: an 11-minute charge log
VEHICLE = "chaos"
# Integrals over time carry across can-worker restarts (by design): a replay
# that starts over (the second one below, on a copy of the log) adds to
# them, so their values at a time depend on it. Every other signal must
# match `leafmon decode`. (A can worker killed during a replay goes on where
# it was: tests/integration/test_can_replay.py.)
INTEGRATED = ("battery_energy_out_kwh", "battery_energy_in_kwh")
KILLS = 54
PUBLISH_MS = 100  # [can] publish_interval_ms: ticks are multiples of it
GRACEFUL_STOPS = 2  # the supervisor's death (workers see EOF) and the reload of [can]


def need():
    try:
        import servers  # noqa: F401 - the writers' test servers
    except ImportError:
        raise Skip("tests/integration/servers.py (the writers' test servers) is not here yet")
    for w in ("can", "influx", "web"):
        if not os.path.exists(bin_path(REAL_BINARIES[w])):
            raise Skip("leafmon-%s is not built" % w)
    path = os.path.join(DATA, LOG)
    if not os.path.exists(path):
        raise Skip("real log %s absent (LEAFMON_DATA)" % path)
    return long_log(path)


def long_log(path):
    """COPIES of a real log back to back as one candump -l file in a temp
    dir (never committed): `leafmon replay --to -` converts it, each copy is
    shifted past the previous one."""
    import atexit
    import shutil
    import tempfile
    r = subprocess.run([bin_path("cli/leafmon"), "replay", "--to", "-", "--speed", "0", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout, "leafmon replay --to - failed"
    frames = []
    for line in r.stdout.splitlines():
        t, rest = line.split(" ", 1)
        frames.append((float(t.strip("()")), rest))
    span = frames[-1][0] + 1.0
    # absolute times two hours ago (kept by keep_time): inside every
    # retention, and a restarted replay repeats exactly the same times
    base = int(time.time()) - 7200 - frames[0][0]
    tmp = tempfile.mkdtemp(prefix="chaos-log-")
    atexit.register(shutil.rmtree, tmp, True)
    out = os.path.join(tmp, "long.log")
    with open(out, "w") as f:
        for k in range(COPIES):
            for t, rest in frames:
                f.write("(%.6f) %s\n" % (base + t + k * span, rest))
    measure("chaos_log_minutes", "%.1f" % (COPIES * span / 60), "min")
    return out


def in_influx(ix, measurements):
    got = {}
    for meas in measurements:
        for r in ix.rows("leaf", meas):
            assert r.pop("vehicle") == VEHICLE, r
            r.pop("clock_unsynced", None)
            t = r.pop("time") // 1000000
            key = (meas, t)
            assert key not in got, "two points for %s" % (key,)
            got[key] = {k: v for k, v in r.items() if v is not None}
    return got


def compare(want, got):
    """Every decoded point is in InfluxDB once with its values; nothing else."""
    missing = sorted(k for k in want if k not in got)
    extra = sorted(k for k in got if k not in want)
    differ = []
    for k, fields in want.items():
        row = got.get(k)
        if row is None:
            continue
        for f, v in fields.items():
            g = row.get(f)
            if f in INTEGRATED:
                continue
            same = g == v or (isinstance(v, float) and isinstance(g, (int, float)) and
                              abs(g - v) <= 1e-9 * max(1.0, abs(v)))
            if not same:
                differ.append((k, f, g, v))
    return missing, extra, differ


TOKEN = "chaos-cloud-token"


def have_cloud():
    return os.path.exists(bin_path(REAL_BINARIES["cloud"]))


class Remote:
    """The cloud: victoria-metrics behind vmauth (which checks the token)
    behind our fault proxy (which counts every point and can play dead)."""

    def __init__(self):
        from servers import FaultProxy, VictoriaMetrics, VMAuth
        self.vm = VictoriaMetrics().start()
        self.auth = VMAuth(self.vm.url, TOKEN).start()
        self.px = FaultProxy(self.auth.url).start()

    def stop(self):
        for s in (self.px, self.auth, self.vm):
            s.stop()


def token_file(d):
    path = os.path.join(d, "cloud.token")
    with open(path, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(path, 0o600)
    return path


class Chaos:
    def __init__(self, log, ix, influx_extra=None, sup=None, remote=None):
        self.ix = ix
        sec = {"url": ix.url, "unsynced_hold_s": "0", "timeout_s": "3"}
        sec.update(influx_extra or {})
        s = {"vehicle": VEHICLE, "failed_after": "1000", "journal_mb": "16"}
        s.update(sup or {})
        real = ("can", "influx", "web") + (("cloud",) if remote else ())
        self.d = Leafmond(real=real, enabled=real, sup=s,
                          sections={"can": {"source": "replay:%s,speed=0,keep_time" % log,
                                            "asleep_after_s": "2"},
                                    "influx": sec, "web": {"enabled": "true", "port": "0"}})
        if remote:
            self.d.sections["cloud"] = {
                "enabled": "true", "url": remote.px.url, "api": "v2", "org": "chaos",
                "bucket": "leaf", "token_file": token_file(self.d.tmp), "unsynced_hold_s": "0",
                "timeout_s": "3", "sync_interval_s": "1", "max_bytes_per_5min": "1000000000"}
            self.d.write_config()
        self.remote = remote
        self.restarts = {w: 0 for w in real}
        self.restarts["supervisor"] = 0

    def ledger(self):
        return self.d.worker("influx").get("ledger") or {}

    def kill_random(self):
        """kill -9 one worker that is up; returns its name or None."""
        st = self.d.status()
        up = [w for w in st["workers"] if w["state"] == "ready" and w.get("pid")]
        if not up:
            return None
        w = random.choice(up)
        os.kill(w["pid"], signal.SIGKILL)
        self.restarts[w["name"]] = self.restarts.get(w["name"], 0) + 1
        return w["name"]

    def kill_supervisor(self):
        pids = [w["pid"] for w in self.d.status()["workers"] if w.get("pid")]
        self.d.kill9()
        # the workers see EOF on fd 3 and exit by themselves
        wait_for(lambda: not any(pid_alive(p) for p in pids), 20, "workers gone with leafmond")
        self.restarts["supervisor"] += 1
        self.d.start()

    def power_cut(self):
        pids = [w["pid"] for w in self.d.status()["workers"] if w.get("pid")]
        self.d.kill9()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not any(pid_alive(p) for p in pids), 10, "everything dead")

    def spool_dir(self):
        return os.path.join(self.d.statedir, "spool-influx")

    def cloud_ledger(self):
        return self.d.worker("cloud").get("ledger") or {} if self.remote else {}

    def drained(self):
        led = self.ledger()
        can = self.d.status().get("can") or {}
        cloud_done = not self.remote or self.cloud_ledger().get("queued_records") == 0
        return led.get("queued_records") == 0 and can.get("bus_asleep") == 1 and cloud_done


def test_chaos_kills_outage_supervisor_power_cut():
    log = need()
    from servers import FaultProxy, Influxd
    want = decoded(log, skip_groups=("can",))
    ix = Influxd().start()
    ix.create_db("leaf")
    # a pass-through proxy that counts every point sent, to measure resends
    px = FaultProxy(ix.url).start()
    remote = Remote() if have_cloud() else None
    if remote is None:
        print("     note: leafmon-cloud is not built: the cloud half is left out", flush=True)
    c = Chaos(log, ix, influx_extra={"url": px.url}, remote=remote)
    max_spool = 0
    t0 = time.monotonic()
    try:
        c.d.start()
        kills = 0
        outage = None
        for i in range(KILLS * 3):
            if kills >= KILLS:
                break
            time.sleep(random.uniform(0.5, 1.2))  # the pace of the chaos itself
            if c.kill_random():
                kills += 1
            if kills == 15 and outage is None:
                ix.stop()  # InfluxDB away for a long stretch while the kills go on
                outage = time.monotonic()
            if outage and not ix.running() and time.monotonic() - outage > 25:
                ix.start()
            if kills == 35 and not c.restarts["supervisor"]:
                c.kill_supervisor()
            if remote and kills == 25:
                remote.px.default({"status": 503, "body": "down"})  # the cloud away
            if remote and kills == 50:
                remote.px.default({"forward": True})
            max_spool = max(max_spool, spool_bytes(c))
        if not ix.running():
            ix.start()
        if remote:
            remote.px.default({"forward": True})
        measure("chaos_worker_kills", kills)
        wait_for(lambda: all(w["state"] in ("ready", "disabled") for w in c.d.status()["workers"]),
                 60, "every worker back")
        # the power cut: everything SIGKILLed while the writer has a backlog,
        # the spool's tail torn, then a restart. The backlog: the log replayed
        # again from a copy (a restarted worker would go on with the same
        # replay where it was, at its end), the same times (keep_time)
        ix.stop()
        copy = log + ".again"
        shutil.copyfile(log, copy)
        c.d.sections["can"]["source"] = "replay:%s,speed=0,keep_time" % copy
        c.d.write_config()
        c.d.cli("reload", check=True)
        wait_for(lambda: c.ledger().get("queued_records", 0) > 100, 60, "a backlog to cut into")
        max_spool = max(max_spool, spool_bytes(c))
        c.power_cut()
        segs = sorted(glob.glob(os.path.join(c.spool_dir(), "*.seg")))
        torn = 0
        if segs:
            size, cut = cut_inside_a_record(segs[-1], 0.5)
            torn = size - cut
        measure("chaos_power_cut_truncated_bytes", torn, "bytes")
        ix.start()
        c.d.start()
        wait_for(c.drained, 240, "replay over and the spool drained", interval=0.5)
        led = c.ledger()
        got = in_influx(ix, sorted({m for m, _ in want}))
        missing, extra, differ = compare(want, got)
        counters = c.d.worker("influx").get("counters") or {}
        measure("chaos_points_expected", len(want), "points")
        measure("chaos_points_delivered", len(got), "points")
        measure("chaos_points_missing", len(missing), "points")
        measure("chaos_points_extra", len(extra), "points")
        measure("chaos_values_differ", len(differ), "fields")
        measure("chaos_restarts", json.dumps(c.restarts))
        measure("chaos_ledger", json.dumps({k: led.get(k) for k in (
            "dropped", "dead_lettered", "queued_records", "torn", "torn_bytes") if k in led}))
        pst = px.stats()
        measure("chaos_points_sent", "distinct=%s duplicates=%s (resent after kills, the outage and "
                "the second replay)" % (pst.get("distinct"),
                                                            pst.get("duplicates")))
        measure("chaos_writer_counters", json.dumps({k: counters.get(k) for k in (
            "sub_lost", "sub_duplicates", "sub_from_journal", "http_retried",
            "network_errors") if k in counters}))
        measure("chaos_max_spool_bytes", max_spool, "bytes")
        measure("chaos_wall", "%.0f" % (time.monotonic() - t0), "s")
        assert c.restarts["supervisor"] == 1
        assert sum(n for w, n in c.restarts.items() if w != "supervisor") >= 50
        # A worker stopped gracefully (its parent gone, `leafmon restart`)
        # flushes the tick it had open: a real, partial sample whose time
        # lies inside a tick that the full replay cuts again later. Those are
        # the only extra points allowed, at most one tick per graceful stop.
        ticks = {t // PUBLISH_MS for _, t in want}
        partial = {t // PUBLISH_MS for _, t in extra if t // PUBLISH_MS in ticks}
        unexplained = [k for k in extra if k[1] // PUBLISH_MS not in ticks]
        measure("chaos_partial_tick_points", "%d points in %d ticks (graceful stops: %d)" % (
            len(extra) - len(unexplained), len(partial), GRACEFUL_STOPS))
        assert not unexplained, "points that no sample carried: %s" % unexplained[:5]
        assert len(partial) <= GRACEFUL_STOPS, "partial ticks %s" % sorted(partial)
        assert not differ, "values differ from leafmon decode: %s" % differ[:5]
        # the power cut's torn records come again from the journal (the
        # writer resumes at its mark), so nothing may be missing at all
        assert not missing, "missing %d points: %s" % (len(missing), missing[:5])
        assert not led.get("dropped") and not led.get("dead_lettered"), led
        if remote:
            check_cloud(c, remote, want)
    finally:
        c.d.stop()
        px.stop()
        ix.stop()
        if remote:
            remote.stop()


def check_cloud(c, remote, want):
    """At 1 s resolution the cloud gets one point per measurement and second
    (its floor) that any sample touched, each exactly once at the server."""
    expect = {(m, t - t % 1000) for (m, t) in want}
    keys = remote.px.keys()
    got = {}
    for (series, ts), n in keys.items():
        meas = series.split(",", 1)[0]
        if meas != "can":
            got[(meas, int(ts))] = n
    missing = sorted(expect - set(got))
    extra = sorted(set(got) - expect)
    led = c.cloud_ledger()
    st = remote.px.stats(log=False)
    measure("chaos_cloud_points", "expected=%d delivered=%d missing=%d extra=%d resent=%s" % (
        len(expect), len(got), len(missing), len(extra), st.get("duplicates")))
    measure("chaos_cloud_ledger", json.dumps({k: led.get(k) for k in (
        "dropped", "dead_lettered", "queued_records") if k in led}))
    assert not missing and not extra, (missing[:3], extra[:3])
    assert not led.get("dropped") and not led.get("dead_lettered"), led


def spool_bytes(c):
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(c.spool_dir(), "*.seg")))


def test_chaos_spool_cap():
    """With InfluxDB away, a 1 MiB spool cap drops the oldest records and
    counts them; what is left is delivered once the server is back."""
    log = need()
    from servers import Influxd
    ix = Influxd().start()
    ix.create_db("leaf")
    ix.stop()  # away from the start: everything goes to the spool
    c = Chaos(log, ix, influx_extra={"spool_max_mb": "1"})
    c.d.sections["can"]["source"] = "replay:%s,speed=0,keep_time,loop" % log
    c.d.write_config()
    try:
        c.d.start()
        wait_for(lambda: c.ledger().get("dropped", 0) > 0, 120, "the cap reached")
        c.d.cli("stop", "can", check=True)
        wait_for(lambda: c.d.worker("can")["state"] == "stopped", 20, "the can worker stopped")
        time.sleep(2)  # let the writer take the last samples off the bus
        spooled = (c.d.worker("influx").get("counters") or {}).get("samples", 0)
        cap = spool_bytes(c)
        ix.start()
        wait_for(lambda: c.ledger().get("queued_records") == 0, 180, "the spool drained")
        led = c.ledger()
        times = set()
        for meas in ("battery", "motor", "vehicle", "charge", "climate", "can"):
            times |= {r["time"] // 1000000 for r in ix.rows("leaf", meas)}
        first_logged = min(t for _, t in decoded(log, skip_groups=("can",)))
        measure("chaos_cap", "samples=%d dropped=%d delivered_samples=%d spool_bytes_at_cap=%d" % (
            spooled, led.get("dropped", 0), len(times), cap))
        assert cap <= (1 << 20) + (256 << 10), "spool %d bytes over a 1 MiB cap" % cap
        assert len(times) + led["dropped"] == spooled, "delivered + dropped != spooled"
        assert min(times) > first_logged, "the oldest records were not the ones dropped"
    finally:
        c.d.stop()
        ix.stop()


def test_chaos_read_only_state_dir():
    """A state directory that takes no new files keeps the writer up (memory
    mode, an alert) and loses nothing it can deliver."""
    log = need()
    if subprocess.run(["which", "chattr"], capture_output=True).returncode != 0:
        raise Skip("chattr not installed (e2fsprogs)")
    from servers import Influxd
    want = decoded(log, skip_groups=("can",))
    ix = Influxd().start()
    ix.create_db("leaf")
    c = Chaos(log, ix)
    os.makedirs(c.d.statedir, exist_ok=True)
    # a directory that takes no new files, even for root
    r = subprocess.run(["chattr", "+i", c.d.statedir], capture_output=True, text=True)
    if r.returncode != 0:
        ix.stop()
        raise Skip("chattr +i not supported here: %s" % r.stderr.strip())
    try:
        c.d.start()
        wait_for(c.drained, 180, "replay over and delivered from memory", interval=0.5)
        w = c.d.worker("influx")
        measure("chaos_readonly_alerts", json.dumps([a.get("code") for a in w.get("alerts", [])]))
        got = in_influx(ix, sorted({m for m, _ in want}))
        missing, extra, differ = compare(want, got)
        measure("chaos_readonly_points", "%d of %d" % (len(got), len(want)))
        assert w["state"] == "ready", w
        assert not missing and not extra and not differ, (missing[:3], extra[:3], differ[:3])
    finally:
        subprocess.run(["chattr", "-i", c.d.statedir])
        c.d.stop()
        ix.stop()


if __name__ == "__main__":
    run([test_chaos_kills_outage_supervisor_power_cut, test_chaos_spool_cap,
         test_chaos_read_only_state_dir])
