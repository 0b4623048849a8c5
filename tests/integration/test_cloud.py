"""leafmon-cloud end to end: leafmond + a sample publisher (leafmon-samplepub,
or the real leafmon-can replaying a real drive when it is built) + the real
cloud writer + a real server (victoria-metrics behind vmauth for the v2 API,
InfluxDB 1.6.7 for v1), with our fault proxy in front counting every stored
point per (measurement, tags, time). Every test polls with deadlines."""

import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (DATA, Leafmond, Skip, WriterRig, bin_path, cost,  # noqa: E402
                     cut_inside_a_record, kill_everything, measure, measurement, run,
                     wait_for)

from servers import FaultProxy, Influxd, VictoriaMetrics, VMAuth  # noqa: E402
import test_influx  # noqa: E402  (what leafmon-samplepub publishes)

VEHICLE = "ze1-test"
TOKEN = "s3cret-cloud-token"
MEASUREMENTS = ("battery", "motor", "vehicle", "charge")


# ---- what the cloud should receive from leafmon-samplepub ----

def expected_points(count, base_ms, step_ms, res_ms=1000, first=1):
    """{(measurement, t_ms): {field: value}}: per bucket, the last value of
    each field, plus battery_current_a_min/_max (samplepub has no power)."""
    per_seq = test_influx.expected(count)
    out = {}
    for meas, points in per_seq.items():
        for s in sorted(points):
            if s < first:
                continue
            t = base_ms + s * step_ms
            p = out.setdefault((meas, t - t % res_ms if res_ms else t), {})
            for f, v in points[s].items():
                p[f] = v
                if f == "battery_current_a":
                    p["battery_current_a_min"] = min(p.get("battery_current_a_min", v), v)
                    p["battery_current_a_max"] = max(p.get("battery_current_a_max", v), v)
    return out


def proxy_key(meas, t_ms):
    return ("%s,vehicle=%s" % (meas, VEHICLE), str(t_ms))


def expected_keys(points):
    return {proxy_key(m, t) for (m, t) in points}


def check_values(ix, db, points):
    """Every expected point is in InfluxDB with exactly its fields and values."""
    got = {}
    for meas in MEASUREMENTS:
        for r in ix.rows(db, meas):
            got[(meas, r["time"] // 1000000)] = r
    assert set(got) == set(points), "points: %d extra, %d missing" % (
        len(set(got) - set(points)), len(set(points) - set(got)))
    for key, fields in points.items():
        r = got[key]
        assert r["vehicle"] == VEHICLE, r
        have = {k for k, v in r.items() if v is not None} - {"time", "vehicle", "clock_unsynced"}
        assert have == set(fields), (key, sorted(have), sorted(fields))
        for f, v in fields.items():
            if isinstance(v, float):
                assert abs(r[f] - v) < 1e-9, (key, f, r[f], v)
            else:
                assert r[f] == v, (key, f, r[f], v)


class Rig(WriterRig):
    """leafmond with leafmon-samplepub as the can worker and the real cloud writer."""

    def __init__(self, url, count, rate=1000, step_ms=10, cloud=None, env=None, sup=None,
                 base_ms=None, token_file=None):
        sec = {"url": url, "api": "v2", "org": "leaf org", "bucket": "leaf-data",
               "token_file": token_file or token_path(), "unsynced_hold_s": "0",
               "timeout_s": "3", "ping_timeout_s": "2", "sync_interval_s": "1",
               "max_bytes_per_5min": "1000000000"}
        sec.update(cloud or {})
        super().__init__("cloud", sec, os.path.join("cloud", "spool"), count, rate, step_ms,
                         env=env, sup=sup, base_ms=base_ms, vehicle=VEHICLE)

    def expected(self, count=None, res_ms=1000):
        return expected_points(count or self.count, self.base_ms, self.step_ms, res_ms)


_token = None


def token_path():
    global _token
    if _token is None:
        import tempfile
        _token = os.path.join(tempfile.mkdtemp(prefix="leafmon-cloud-token-"), "cloud.token")
        with open(_token, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(_token, 0o600)
    return _token


class Remote:
    """victoria-metrics behind vmauth (checks the token) behind our proxy."""

    def __init__(self, token=TOKEN):
        self.vm = VictoriaMetrics().start()
        self.auth = VMAuth(self.vm.url, token).start()
        self.px = FaultProxy(self.auth.url).start()

    def stop(self):
        for s in (self.px, self.auth, self.vm):
            s.stop()


def wait_keys(px, want, timeout, what="every point"):
    wait_for(lambda: px.stats(log=False)["distinct"] >= len(want), timeout,
             "%s (%d) at the proxy" % (what, len(want)), interval=0.25)
    keys = px.keys()
    missing = want - set(keys)
    extra = set(keys) - want
    assert not missing and not extra, "missing %d %s, unexpected %d %s" % (
        len(missing), sorted(missing)[:3], len(extra), sorted(extra)[:3])
    return keys


def posts(px, ok_only=True):
    return [e for e in px.stats()["log"] if e["method"] == "POST" and
            (not ok_only or (e["forwarded"] and 200 <= e["status"] < 300))]


def max_window_bytes(entries, window_s):
    """The most uncompressed bytes any window of window_s carried (windows
    start at a request)."""
    sends = sorted((e["t"], e["raw_bytes"]) for e in entries)
    best = total = 0
    j = 0
    for i in range(len(sends)):
        while j < len(sends) and sends[j][0] < sends[i][0] + window_s:
            total += sends[j][1]
            j += 1
        best = max(best, total)
        total -= sends[i][1]
    return best


# ---- tests ----

@cost(7)
def test_v2_gzip_token_resolution_every_point_once():
    r = Remote()
    rig = Rig(r.px.url, 3000, rate=1000)
    try:
        rig.start()
        want = rig.expected()
        keys = wait_keys(r.px, expected_keys(want), 60)
        assert max(keys.values()) == 1, "a point was stored twice without any fault"
        ok = posts(r.px)
        for e in ok:
            assert e["path"] == "/api/v2/write", e
            assert e["query"] == {"org": "leaf org", "bucket": "leaf-data", "precision": "ms"}, e
            assert e["auth"] == "Token " + TOKEN, e
            assert e["encoding"] == "gzip" and e["bytes"] < e["raw_bytes"], e
        # every write of a round follows a /ping (the probe comes first)
        log = r.px.stats()["log"]
        first_post = next(i for i, e in enumerate(log) if e["method"] == "POST")
        assert any(e["path"] == "/ping" for e in log[:first_post]), log[:first_post + 1]
        # values, read back from victoria-metrics (series <measurement>_<field>)
        series = r.vm.export('{__name__=~"battery_battery_(voltage_v|current_a_min|current_a_max)"}')
        got = {(s["metric"]["__name__"], t): v for s in series
               for t, v in zip(s["timestamps"], s["values"])}
        checked = 0
        for (meas, t), fields in want.items():
            if meas != "battery":
                continue
            for f in ("battery_voltage_v", "battery_current_a_min", "battery_current_a_max"):
                assert abs(got[("battery_" + f, t)] - fields[f]) < 1e-9, (t, f)
                checked += 1
        assert checked == 3 * 31, checked  # 30 whole seconds and the last sample's
        wire = sum(e["bytes"] for e in ok)
        wait_for(lambda: rig.ledger().get("sent_bytes_today") == wire, 10,
                 "the ledger counts the %d body bytes the proxy saw" % wire)
        led, c = rig.ledger(), rig.counters()
        assert led["last_error"] is None and led["dropped"] == 0, led
        assert led["queued_records"] == 0, led
        assert c["api"] == 2 and c["sub_lost"] == 0, c
        # the HTTP bytes the worker counts are the bytes the proxy received
        wire_in = sum(e["wire_bytes"] for e in r.px.stats()["log"])
        assert c["http_sent_bytes"] == wire_in, (c["http_sent_bytes"], wire_in)
        measure("cloud_lp_bytes_per_record", round(c["bytes_lp"] / c["records"]), "bytes")
        measure("cloud_gzip_ratio_small_batches", round(c["bytes_body"] / c["bytes_lp"], 3), "")
        out = rig.d.cli("status", "sync").stdout
        assert "cloud sync: 0 records queued" in out, out
    finally:
        rig.stop()
        r.stop()


@cost(3)
def test_resolution_zero_sends_every_sample():
    r = Remote()
    rig = Rig(r.px.url, 1500, rate=1000, cloud={"resolution_ms": "0", "gzip": "false"})
    try:
        rig.start()
        want = rig.expected(res_ms=0)
        assert len(want) == test_influx.total_points(1500)
        wait_keys(r.px, expected_keys(want), 60)
        for e in posts(r.px):
            assert e["encoding"] == "" and e["bytes"] == e["raw_bytes"], e
        series = r.vm.export('{__name__=~"battery_battery_current_a_m.*"}')
        assert series == [], "no min/max at the full rate"
    finally:
        rig.stop()
        r.stop()


@cost(18)
def test_v1_influxd_restarts_and_kills_give_the_same_points():
    """Clean restarts (the open bucket goes out provisionally, then is rebuilt
    from the journal and superseded) and kill -9 (the checkpoint is before
    the open bucket) anywhere: InfluxDB ends with exactly the points of one
    clean run, min/max included."""
    ix = Influxd().start()
    ix.create_db("leaf")
    px = FaultProxy(ix.url).start()
    rig = Rig(px.url, 6000, rate=400, cloud={"api": "v1", "database": "leaf", "token_file": ""})
    try:
        rig.start()
        restarts = kills = 0
        for i in range(6):
            time.sleep(random.uniform(0.8, 1.6))
            w = rig.writer()
            if i % 2 == 0:
                rig.d.cli("restart", "cloud", check=True)
                restarts += 1
            else:
                os.kill(w["pid"], signal.SIGKILL)
                kills += 1
            wait_for(lambda: rig.writer()["state"] == "ready" and rig.writer()["pid"] != w["pid"],
                     20, "cloud writer back")
        want = rig.expected()
        wait_keys(px, expected_keys(want), 90)
        wait_for(lambda: rig.ledger().get("queued_records") == 0, 20, "queue drained")
        check_values(ix, "leaf", want)
        st = px.stats(log=False)
        c = rig.counters()
        measure("cloud_restart_resent_points", st["duplicates"], "points")
        measure("cloud_restarts_and_kills", restarts + kills, "")
        assert c["sub_lost"] == 0, c
        e = posts(px)[-1]
        assert e["path"] == "/write" and e["query"] == {"db": "leaf", "precision": "ms"}, e
    finally:
        rig.stop()
        px.stop()
        ix.stop()


@cost(63)
def test_offline_long_stretch_then_back_paced_live_first():
    r = Remote()
    r.px.default({"reset": True})  # the remote is down: every connection is reset
    window, limit = 10, 150000
    # 25 samples per second of log time, 250 samples a second: 10 log seconds
    # (10 records) per second; 60 s of publishing = 10 minutes of driving
    rig = Rig(r.px.url, 15000, rate=250, step_ms=40,
              cloud={"max_bytes_per_5min": str(limit), "pacing_window_s": str(window)})
    try:
        rig.start()
        wait_for(lambda: "unreachable" in rig.alerts(), 15, "unreachable alert")
        time.sleep(30)  # a long stretch offline, while the drive goes on
        led = rig.ledger()
        assert led["queued_records"] >= 250 and led["last_error"]["code"] < 0, led
        backlog_bytes = led["queued_bytes"]
        t_pub = rig.base_ms + rig.published() * rig.step_ms
        r.px.default({"forward": True})
        t_back = time.time()
        want = rig.expected()
        wait_keys(r.px, expected_keys(want), 120)
        ok = posts(r.px)  # the proxy refused everything before: each write is after the return
        # pacing: no window carried more than the limit
        busiest = max_window_bytes([e for e in posts(r.px, ok_only=False)], window)
        measure("cloud_pacing_busiest_window_bytes", busiest, "bytes per %d s (limit %d)" % (
            window, limit))
        assert busiest <= limit, busiest
        # live first: the first writes after the return carry the newest
        # samples (those since the last round, a batch or more of them: a
        # paced batch is small), then the backlog goes oldest-first from the
        # oldest point
        oldest = min(t for (_, t) in want)
        assert ok[0]["tmax"] >= t_pub - 30000, (ok[0], t_pub)
        first = next((i for i, e in enumerate(ok) if e["tmin"] == oldest), None)
        assert first is not None, ("the oldest point never came", oldest)
        assert first <= 10, ("the backlog started late", first, ok[:first + 1])
        assert all(e["tmin"] >= t_pub - 120000 for e in ok[:first]), (ok[:first + 1], t_pub)
        # the backlog drained at the paced rate: from its first write to the
        # last that still carried backlog (points older than t_pub)
        drain = [e for e in ok[first:] if e["tmin"] < t_pub - 5000]
        span = drain[-1]["t"] - drain[0]["t"]
        rate = sum(e["raw_bytes"] for e in drain[:-1]) / span
        measure("cloud_backlog_drain_rate", round(rate), "bytes/s (limit %d)" % (limit // window))
        measure("cloud_backlog_drain_vs_limit", round(rate / (limit / window), 3), "")
        measure("cloud_backlog_bytes_on_disk", backlog_bytes, "bytes")
        assert 0.75 * limit / window <= rate <= limit / window, rate
        mins = [e["tmin"] for e in drain]
        assert mins == sorted(mins), "backlog not oldest-first"
        assert r.px.stats(log=False)["duplicates"] == 0
        wait_for(lambda: "unreachable" not in rig.alerts(), 10, "alert cleared")
    finally:
        rig.stop()
        r.stop()


@cost(44)
def test_status_codes_split_retry_after_backoff_dead_letter_auth():
    r = Remote()
    rig = Rig(r.px.url, 5000, rate=250)
    px = r.px
    try:
        rig.start()
        wait_for(lambda: px.stats(log=False)["points"] > 50, 30, "traffic")
        conflict = ('{"code":"invalid","message":"partial write: field type conflict: input field '
                    '\\"battery_gids\\" on measurement \\"battery\\" is type integer, already exists '
                    'as type float dropped={n}"}')
        px.script({"status": 413, "body": '{"code":"request too large","message":"too big"}',
                   "match": "/write"},
                  {"status": 429, "headers": {"Retry-After": "2"}, "body": "slow down",
                   "match": "/write"},
                  {"status": 500, "body": '{"code":"internal error","message":"oops"}',
                   "match": "/write"},
                  {"status": 503, "body": '{"code":"unavailable","message":"busy"}',
                   "match": "/write"},
                  {"reject": "^battery,", "status": 400, "body": conflict, "match": "/write"})
        wait_for(lambda: px.stats(log=False)["queue"] == 0, 60, "the faults were played")

        def writes():  # a request is logged once answered: wait for the 400's
            log = [e for e in px.stats()["log"] if e["method"] == "POST"]
            return log if any(e["status"] == 400 for e in log) else None
        log = wait_for(writes, 20, "the partial write answered")
        i413 = next(i for i, e in enumerate(log) if e["status"] == 413)
        assert log[i413 + 1]["lines"] < log[i413]["lines"], "413 must split: %r" % log[i413:i413 + 2]
        i429 = next(i for i, e in enumerate(log) if e["status"] == 429)
        gap = log[i429 + 1]["t"] - log[i429]["t"]
        measure("cloud_retry_after_gap_s", round(gap, 2), "s")
        assert gap >= 1.9, gap
        i500 = next(i for i, e in enumerate(log) if e["status"] == 500)
        assert log[i500 + 1]["status"] == 503 and log[i500 + 2]["t"] > log[i500 + 1]["t"]
        i400 = next(i for i, e in enumerate(log) if e["status"] == 400)
        refused = log[i400]["lines"] - log[i400]["stored_lines"]
        assert refused >= 1
        wait_for(lambda: rig.ledger()["dead_lettered"] == refused, 20, "dead letters counted")
        dl = open(os.path.join(rig.d.statedir, "cloud", "deadletter.lp")).read()
        lines = [x for x in dl.splitlines() if not x.startswith("#")]
        assert len(lines) == refused and all(x.startswith("battery,") for x in lines), lines
        assert "HTTP 400" in dl and "field type conflict" in dl, dl[:300]
        # 401: the data stays, an alert shows in leafmon status, retries are slow
        px.default({"status": 401, "body": '{"code":"unauthorized","message":"unauthorized access"}'})
        wait_for(lambda: "auth" in rig.alerts(), 30, "auth alert")
        text = rig.d.cli("status").stdout
        assert "alert cloud:" in text and "token" in text, text
        sync = rig.d.cli("status", "sync").stdout
        assert "last error 401" in sync and "alert auth: " in sync, sync
        n0 = px.stats(log=False)["requests"]
        q0 = rig.ledger()["queued_records"]
        time.sleep(6)
        assert px.stats(log=False)["requests"] - n0 <= 3, "401 must be retried slowly"
        assert rig.ledger()["queued_records"] > q0, "records keep queueing"
        px.default({"forward": True})
        # everything but the refused lines arrives (the slow retry can take a while)
        want = expected_keys(rig.expected())
        gone = {(x.split(" ")[0], x.rsplit(" ", 1)[1]) for x in lines}
        wait_keys(px, want - gone, 700, "every point but the dead letters")
        wait_for(lambda: not ({"auth", "server_error"} & set(rig.alerts())), 20, "alerts cleared")
    finally:
        rig.stop()
        r.stop()


@cost(23)
def test_slow_responses_time_out_without_blocking_the_worker():
    r = Remote()
    px = r.px
    rig = Rig(px.url, 6000, rate=300, cloud={"timeout_s": "2", "ping_timeout_s": "1"})
    try:
        rig.start()
        wait_for(lambda: px.stats(log=False)["points"] > 50, 30, "traffic")
        px.script({"hang_s": 8, "match": "/write"},
                  {"delay_ms": 3000, "match": "/ping"},
                  {"delay_ms": 2500, "times": 2, "match": "/write"})
        c0 = rig.counters()["samples"]
        t0 = time.time()
        ages = []
        while px.stats(log=False)["queue"] > 0 and time.time() - t0 < 60:
            w = rig.writer()
            ages.append(w["heartbeat_age_s"])
            time.sleep(0.2)
        took = time.time() - t0
        c1 = rig.counters()
        assert max(ages) < 2.0, "heartbeat late: %.2f s" % max(ages)
        measure("cloud_heartbeat_age_max_during_hangs_s", round(max(ages), 2), "s")
        # the subscription went on at the publisher's rate
        assert c1["samples"] - c0 >= 0.8 * 300 * took, (c1["samples"] - c0, took)
        assert c1["network_errors"] >= 2, c1
        assert rig.writer()["restarts"] == 0
        wait_keys(px, expected_keys(rig.expected()), 90)
        measure("cloud_slow_resent_points", px.stats(log=False)["duplicates"], "points")
    finally:
        rig.stop()
        r.stop()


@cost(23)
def test_kill9_worker_mid_upload_loses_nothing():
    r = Remote()
    px = r.px
    px.default({"delay_ms": 400})  # every request is slow: kills land mid-upload
    rig = Rig(px.url, 8000, rate=400)
    try:
        rig.start()
        kills = 0
        for _ in range(6):
            wait_for(lambda: rig.writer()["state"] == "ready", 20, "writer ready")
            time.sleep(random.uniform(0.5, 1.5))
            w = rig.writer()
            os.kill(w["pid"], signal.SIGKILL)
            kills += 1
            wait_for(lambda: rig.writer()["state"] == "ready" and rig.writer()["pid"] != w["pid"],
                     20, "writer back")
        px.default({"forward": True})
        want = rig.expected()
        wait_keys(px, expected_keys(want), 120)
        st = px.stats(log=False)
        measure("cloud_kill9_count", kills, "")
        measure("cloud_kill9_points", len(want), "points")
        measure("cloud_kill9_lost_points", len(want) - st["distinct"], "points")
        measure("cloud_kill9_resent_points", st["duplicates"], "points")
        assert rig.counters()["sub_lost"] == 0
    finally:
        rig.stop()
        r.stop()


@cost(15)
def test_kill_everything_mid_upload_loses_nothing():
    r = Remote()
    px = r.px
    px.default({"delay_ms": 300})
    rig = Rig(px.url, 6000, rate=500)
    try:
        rig.start()
        wait_for(lambda: px.stats(log=False)["points"] > 100, 30, "uploading")
        kill_everything(rig.d)
        rig.d.start()  # RUNDIR survived (a crash, not a reboot): the journal is re-attached
        px.default({"forward": True})
        want = rig.expected()
        wait_keys(px, expected_keys(want), 90)
        measure("cloud_killall_resent_points", px.stats(log=False)["duplicates"], "points")
    finally:
        rig.stop()
        r.stop()


@cost(8)
def test_power_cut_torn_tail_rest_delivered():
    """A power cut: every process gone, RUNDIR (tmpfs) gone with the journal,
    the newest segment torn at a random byte. What was committed before the
    tear arrives; the loss is the newest seconds only, and it is reported."""
    r = Remote()
    px = r.px
    px.default({"status": 503, "body": "down"})  # nothing leaves: all of it is spooled
    rig = Rig(px.url, 4000, rate=1000)
    try:
        rig.start()
        wait_for(lambda: rig.published() >= 4000, 30, "all published")
        want = rig.expected()
        wait_for(lambda: rig.ledger().get("queued_records", 0) >= len(want) // 4 - 2, 15, "spooled")
        kill_everything(rig.d)
        import shutil
        shutil.rmtree(rig.d.rundir)
        segs = sorted(glob.glob(os.path.join(rig.spool_dir(), "*.seg")))
        # strictly inside one of the newest three quarters of the records: a
        # cut on a record boundary leaves no torn tail to report, and one in
        # the first record of a lone segment leaves nothing to deliver
        size, cut = cut_inside_a_record(segs[-1])
        measure("cloud_powercut_truncated_bytes", size - cut, "bytes")
        rig.d.env["LEAFMON_SAMPLEPUB"] = rig.pub_env(0)  # the car is off now
        px.default({"forward": True})
        rig.d.start()
        wait_for(lambda: rig.ledger().get("torn") == 1, 20, "torn tail reported")
        wait_for(lambda: rig.ledger()["queued_records"] == 0 and
                 px.stats(log=False)["distinct"] > 0, 60, "spool drained")
        keys = set(px.keys())
        allk = expected_keys(want)
        assert keys <= allk, "unexpected points: %r" % sorted(keys - allk)[:3]
        lost = sorted(int(t) for (_, t) in allk - keys)
        if lost:  # only the newest seconds can be missing
            assert min(lost) > max(int(t) for (_, t) in keys) - 1000, (lost[:3], len(lost))
        measure("cloud_powercut_lost_points", len(lost), "points")
        measure("cloud_powercut_lost_seconds", len({t // 1000 for t in lost}), "s of log")
    finally:
        rig.stop()
        r.stop()


def disk_cap_outage(outage):
    """20000 samples, one record each, into a 1 MiB cap while the remote
    fails (outage() sets how), then the rest delivered: what arrives is the
    newest, without a hole, and what was dropped is counted exactly."""
    r = Remote()
    px = r.px
    outage(px)
    rig = Rig(px.url, 20000, rate=2500, cloud={"spool_max_mb": "1", "resolution_ms": "0"})
    try:
        rig.start()
        wait_for(lambda: rig.published() >= 20000, 30, "all published")
        wait_for(lambda: rig.ledger().get("dropped", 0) > 0, 20, "oldest dropped")
        wait_for(lambda: rig.counters()["samples"] >= 20000, 20, "all taken")
        w = rig.writer()
        assert w["state"] == "ready" and w["restarts"] == 0 and w["heartbeat_age_s"] < 2, w
        led = rig.ledger()
        assert led["dropped_cap"] == led["dropped"] > 0, led
        assert led["spool_disk_bytes"] <= 1 << 20, led
        px.reset()  # forward everything from now on
        wait_for(lambda: rig.ledger()["queued_records"] == 0, 60, "the rest delivered")
        led = rig.ledger()
        keys = set(px.keys())
        # the samples that arrived are the newest ones, without a hole
        want = rig.expected(res_ms=0)
        by_seq = {}
        for (m, t), _ in want.items():
            by_seq.setdefault((t - rig.base_ms) // rig.step_ms, set()).add(proxy_key(m, t))
        arrived = sorted(s for s, k in by_seq.items() if k <= keys)
        first = arrived[0]
        holes = sorted(set(range(first, 20001)) - set(arrived))
        assert not holes, "%d samples missing after the first delivered (%d): %s...; lost by "\
            "the subscriber (counted): %s; ledger %s" % (len(holes), first, holes[:8],
                                                        rig.counters().get("sub_lost"), led)
        assert not any(k & keys for s, k in by_seq.items() if s < first)
        assert led["dropped"] == first - 1, (led["dropped"], first)
        return led["dropped"]
    finally:
        rig.stop()
        r.stop()


@cost(12)
def test_disk_cap_during_long_outage_drops_oldest_counted():
    # the remote is down: every connection is reset, the probe fails first
    dropped = disk_cap_outage(lambda px: px.default({"reset": True}))
    measure("cloud_cap_dropped_records", dropped, "records")


@cost(12)
def test_disk_cap_while_writes_fail_drops_the_batch_kept_for_retry():
    """The remote answers its /ping but fails every write (503): the writer
    keeps its batch for the retry while the cap drops the segments that
    batch came from. Sent when the remote is back, it would arrive although
    counted dropped, with a hole after it: it is made again instead."""
    disk_cap_outage(lambda px: px.script({"status": 503, "body": "overloaded",
                                          "match": "/write", "times": 10**6}))


@cost(15)
def test_stop_is_quick_and_loses_nothing():
    r = Remote()
    rig = Rig(r.px.url, 5000, rate=500)
    try:
        rig.start()
        wait_for(lambda: rig.published() >= 1500, 20, "publishing")
        code, took = rig.stop()
        assert code == 0, code
        measure("cloud_supervisor_stop_s", round(took, 2), "s")
        assert "cloud: stopped" in rig.d.logtext()
        rig.d.start()
        wait_keys(r.px, expected_keys(rig.expected()), 60)
    finally:
        rig.stop()
        r.stop()


@cost(7)
def test_retention_drops_old_records_with_a_count():
    r = Remote()
    days = 30
    # log time starts 30 days and 20 s ago: the first 20 s are too old
    base = (int(time.time()) - days * 86400 - 20) * 1000
    rig = Rig(r.px.url, 4000, rate=1000, base_ms=base, cloud={"retention_days": str(days)})
    try:
        rig.start()
        want = rig.expected()
        cut = int(time.time() * 1000) - days * 86400 * 1000
        # the youngest 8 s: still inside the retention when they are sent, even
        # slowly (the cut moves on with the clock; a point 3 s past it expired
        # before an ASan build's first round sent it)
        young = {k: v for k, v in want.items() if k[1] >= cut + 12000}
        assert young
        wait_for(lambda: set(r.px.keys()) >= expected_keys(young), 60, "young points")
        wait_for(lambda: rig.ledger()["queued_records"] == 0, 20, "nothing left")
        led, c = rig.ledger(), rig.counters()
        assert c["records_expired"] >= 17 and led["dropped_policy"] == c["records_expired"], (led, c)
        assert "retention" in rig.alerts()
        assert all(int(t) >= cut - 1000 for (_, t) in r.px.keys())
        measure("cloud_retention_dropped_records", c["records_expired"], "records")
    finally:
        rig.stop()
        r.stop()


@cost(25)
def test_sync_rounds_ping_first_and_quick_return():
    r = Remote()
    px = r.px
    rig = Rig(px.url, 100000, rate=50, cloud={"sync_interval_s": "4"})
    try:
        rig.start()
        wait_for(lambda: len(posts(px)) >= 3, 30, "three rounds")
        t = [e["t"] for e in posts(px)]
        gaps = [b - a for a, b in zip(t, t[1:])]
        assert min(gaps) >= 3.5, "writes go in rounds: %r" % gaps
        # the remote goes away for a while, and comes back
        px.default({"reset": True})
        wait_for(lambda: "unreachable" in rig.alerts(), 15, "unreachable")
        time.sleep(6)
        px.default({"forward": True})
        t_back = time.time()
        wait_for(lambda: any(e["t"] > t_back for e in posts(px)), 15, "a write after the return")
        first = min(e["t"] for e in posts(px) if e["t"] > t_back) - t_back
        measure("cloud_first_write_after_return_s", round(first, 2), "s (sync interval 4 s)")
        log = px.stats()["log"]
        i = next(k for k, e in enumerate(log) if e["t"] > t_back and e["method"] == "POST")
        assert log[i - 1]["path"] == "/ping", log[i - 2:i + 1]
    finally:
        rig.stop()
        r.stop()


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


@cost(5)
def test_tls_verified_with_ca_file():
    r = Remote()
    tls = FaultProxy(r.px.url)
    tls.tls = make_cert(tls.tmp)
    tls.start()
    rig = Rig(tls.url, 2000, rate=1000)
    try:
        rig.start()
        wait_for(lambda: "unreachable" in rig.alerts(), 20, "TLS refused")
        text = rig.alerts()["unreachable"]["text"]
        assert "certificate" in text.lower() or "ssl" in text.lower(), text
        assert r.px.stats(log=False)["points"] == 0
        rig.d.sections["cloud"]["ca_file"] = tls.tls[0]
        rig.d.write_config()
        rig.d.cli("reload", check=True)
        wait_keys(r.px, expected_keys(rig.expected()), 60)
    finally:
        rig.stop()
        tls.stop()
        r.stop()


# ---- real drives (the ZE1 e+ driving logs) through the real can worker ----

ZE1_DRIVES = ("EV-CANeplus2.log", "EV-CANeplus3.log", "EV-CANepluseco.log")


def can_binary():
    """The real leafmon-can: this build's, or LEAFMON_CAN_BIN (one built elsewhere)."""
    b = os.environ.get("LEAFMON_CAN_BIN") or bin_path("libexec/leafmon-can")
    if not os.path.exists(b):
        raise Skip("leafmon-can is not built on this branch (set LEAFMON_CAN_BIN to one built "
                   "elsewhere)")
    return b


def drive_log(name):
    p = os.path.join(DATA, "logs", "ze1_2018plus", name)
    if not os.path.exists(p):
        raise Skip("real logs absent (%s)" % DATA)
    return p


class DriveRig:
    """leafmond replaying a real drive through the real can worker and the real
    cloud writer; with influx_url also the real influx writer, whose InfluxDB
    then holds every published sample: the ground truth."""

    def __init__(self, source, cloud_url, cloud=None, influx_url=None):
        can = can_binary()
        enabled = ("can", "cloud") + (("influx",) if influx_url else ())
        sec = {"url": cloud_url, "api": "v2", "org": "leaf org", "bucket": "leaf-data",
               "token_file": token_path(), "unsynced_hold_s": "0", "timeout_s": "10",
               "sync_interval_s": "1", "max_bytes_per_5min": "1000000000"}
        sec.update(cloud or {})
        sections = {"can": {"source": source}, "cloud": sec}
        if influx_url:
            sections["influx"] = {"url": influx_url, "api": "v1", "database": "leaf",
                                  "unsynced_hold_s": "0", "timeout_s": "5"}
        self.d = Leafmond(real=enabled, enabled=enabled, sup={"vehicle": VEHICLE, "journal_mb": "16"},
                          sections=sections)
        link = os.path.join(self.d.bindir, "leafmon-can")
        os.unlink(link)
        os.symlink(can, link)
        influx = bin_path("libexec/leafmon-influx")
        if influx_url and not os.path.exists(influx):  # built beside its sources
            link = os.path.join(self.d.bindir, "leafmon-influx")
            os.unlink(link)
            os.symlink(bin_path("workers/influx/leafmon-influx"), link)

    def start(self):
        self.d.start(timeout=30)
        return self

    def stop(self):
        return self.d.stop()

    def worker(self, name):
        return self.d.worker(name)

    def replay_done(self):
        """The can worker's frame count has not moved for two seconds."""
        last = [None]

        def still():
            n = self.worker("can")["counters"].get("frames", 0)
            if n and n == last[0]:
                return n
            last[0] = n
            return None
        return wait_for(still, 300, "the replay to finish", interval=2.0)


def ground_truth(ix):
    """{(measurement, second ms): {field: value}} from every sample in InfluxDB:
    per second the last value of each field, min/max of power and current."""
    out = {}
    names = [v[0] for s in ix.query("SHOW MEASUREMENTS", db="leaf", epoch=None).get("series", [])
             for v in s["values"]]
    for meas in names:
        for r in sorted(ix.rows("leaf", meas), key=lambda r: r["time"]):
            p = out.setdefault((meas, r["time"] // 1000000000 * 1000), {})
            for f, v in r.items():
                if v is None or f in ("time", "vehicle", "clock_unsynced"):
                    continue
                p[f] = v
                if f in ("battery_current_a", "battery_power_kw"):
                    p[f + "_min"] = min(p.get(f + "_min", v), v)
                    p[f + "_max"] = max(p.get(f + "_max", v), v)
    return out


@cost(32)
def test_real_drive_offline_then_back_every_point():
    """A real ZE1 e+ drive replays while the remote is down; when it is back,
    every (measurement, second) the car produced arrives once, with the last
    value and the current and power peaks of each second (checked against
    the local InfluxDB that the influx writer filled with every sample)."""
    log = drive_log("EV-CANepluseco.log")
    ix = Influxd().start()
    ix.create_db("leaf")
    r = Remote()
    r.px.default({"reset": True})
    rig = DriveRig("replay:%s,speed=2" % log, r.px.url, influx_url=ix.url)
    try:
        rig.start()
        wait_for(lambda: "unreachable" in {a["code"] for a in rig.worker("cloud")["alerts"]}, 20,
                 "unreachable")
        rig.replay_done()
        wait_for(lambda: rig.worker("influx")["ledger"]["queued_records"] == 0, 30, "influx drained")
        queued = rig.worker("cloud")["ledger"]["queued_records"]
        assert queued >= 25, queued  # the drive is in the cloud spool, nothing went out
        assert r.px.stats(log=False)["points"] == 0
        truth = ground_truth(ix)
        r.px.default({"forward": True})
        keys = wait_keys(r.px, {proxy_key(m, t) for (m, t) in truth}, 60)
        measure("cloud_real_drive_points", len(keys), "points (%d s of driving)" % len(
            {t for (_, t) in truth}))
        measure("cloud_real_drive_resent_points", sum(keys.values()) - len(keys), "points")
        # a replay faster than real time stamps ahead of the clock: victoria-metrics
        # exports nothing newer than now
        newest = max(t for (_, t) in truth)
        wait_for(lambda: time.time() * 1000 > newest + 1000, 60, "the drive's times in the past")
        series = r.vm.export('{__name__=~"battery_battery_(voltage_v|current_a_m..|power_kw_m..)|'
                             'motor_motor_rpm"}')
        got = {(s["metric"]["__name__"], t): v for s in series
               for t, v in zip(s["timestamps"], s["values"])}
        checked = 0
        for (meas, t), fields in truth.items():
            for f, v in fields.items():
                name = "%s_%s" % (meas, f)
                if (name, t) in got:
                    assert abs(got[(name, t)] - v) <= 1e-9 * max(1, abs(v)), (name, t, got[(name, t)], v)
                    checked += 1
        import re
        pat = re.compile(r"battery_battery_(voltage_v|current_a_m..|power_kw_m..)|motor_motor_rpm$")
        want = sum(1 for (m, t), fs in truth.items() for f in fs if pat.match("%s_%s" % (m, f)))
        assert checked == want and want >= 5 * 25, (checked, want)
        c = rig.worker("cloud")["counters"]
        assert c["sub_lost"] == 0 and c["records_expired"] == 0, c
    finally:
        rig.stop()
        r.stop()
        ix.stop()


@cost(136)
@measurement
def test_real_drive_bytes_per_hour():
    """Bytes per hour of driving: the three ZE1 e+ drives looped at speed 40
    into a counting proxy, with a sync round every 8 s (320 s of driving, as
    the default 300 s round would carry), at the default resolution and at
    the full rate; line protocol as metered, gzip bodies as sent, and the
    HTTP overhead per request (headers both ways, pings included)."""
    runs = [(name, "1000") for name in ZE1_DRIVES] + [("EV-CANepluseco.log", "0")]
    for name, res in runs:
        log = drive_log(name)
        px = FaultProxy("").start()  # answers 204 itself, counts every line
        rig = DriveRig("replay:%s,speed=40,loop" % log, px.url,
                       cloud={"resolution_ms": res, "sync_interval_s": "8"})
        try:
            rig.start()
            span = 20 * 60 * 1000  # 20 minutes of driving

            def covered():
                ok = posts(px)
                return ok and max(e["tmax"] for e in ok) - min(e["tmin"] for e in ok) >= span
            wait_for(covered, 240, "20 minutes of driving delivered", interval=1.0)
            ok = posts(px)
            ok.sort(key=lambda e: e["tmin"])
            t0 = ok[0]["tmin"]
            inside = [e for e in ok if e["tmax"] < t0 + span]
            hours = (max(e["tmax"] for e in inside) - t0 + 1000) / 3600000.0
            raw = sum(e["raw_bytes"] for e in inside) / hours
            body = sum(e["bytes"] for e in inside) / hours
            lines_h = sum(e["lines"] for e in inside) / hours
            head = sum(e["wire_bytes"] - e["bytes"] for e in inside) / len(inside)
            tag = "%s_res%s" % (name.split(".")[0].replace("EV-CAN", ""), res)
            measure("cloud_bytes_per_hour_lp_plain_" + tag, round(raw), "bytes/h")
            measure("cloud_bytes_per_hour_gzip_" + tag, round(body), "bytes/h")
            measure("cloud_lines_per_hour_" + tag, round(lines_h), "lines/h")
            measure("cloud_request_header_bytes_" + tag, round(head), "bytes/request")
            measure("cloud_lines_per_request_" + tag, round(sum(e["lines"] for e in inside) /
                                                            len(inside)), "lines")
            c = rig.worker("cloud")["counters"]
            http = (c["http_sent_bytes"] + c["http_recv_bytes"] - c["bytes_body"]) / (
                c["pings"] + c["requests"])
            measure("cloud_http_overhead_per_request_" + tag, round(http), "bytes (both ways)")
            # at the default sync_interval_s = 300: 12 rounds an hour, a /ping and
            # about two writes each (the round's batch, then what came meanwhile)
            measure("cloud_wire_bytes_per_hour_at_300s_rounds_" + tag, round(body + 36 * http),
                    "bytes/h (HTTP level, before TLS)")
            assert body < raw / 3, (body, raw)
        finally:
            rig.stop()
            px.stop()


def doctor(cloud, rundir=None):
    """leafmon doctor cloud with a [cloud] section: (exit code, {check: (level, detail)}, text)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="leafmon-doctor-")
    conf = os.path.join(d, "leafmon.conf")
    sec = {"enabled": "true", "api": "v2", "org": "leaf org", "bucket": "leaf-data",
           "token_file": token_path(), "timeout_s": "5", "ping_timeout_s": "2"}
    sec.update(cloud)
    with open(conf, "w") as f:
        f.write("[supervisor]\nrundir = %s\nstatedir = %s\n[influx]\nenabled = false\n[cloud]\n" % (
            rundir or os.path.join(d, "run"), os.path.join(d, "state")))
        f.write("".join("%s = %s\n" % kv for kv in sec.items()))
    r = subprocess.run([bin_path("cli/leafmon"), "-c", conf, "doctor", "--json", "cloud"],
                       capture_output=True, text=True, timeout=60)
    res = {e["check"]: (e["result"], e["detail"]) for e in json.loads(r.stdout)}
    text = "".join("%s %s: %s\n" % (lvl, check, detail) for check, (lvl, detail) in res.items())
    return r.returncode, res, text


@cost(4)
def test_doctor_cloud_checks():
    import socket
    r = Remote()
    ix = Influxd().start()
    ix.create_db("leaf")
    tls = FaultProxy(r.px.url)
    tls.tls = make_cert(tls.tmp)
    tls.start()
    wrong = os.path.join(tls.tmp, "wrong.token")
    with open(wrong, "w") as f:
        f.write("not-the-token\n")
    os.chmod(wrong, 0o600)
    try:
        code, res, out = doctor({"url": r.px.url})
        assert code == 0 and res["cloud reachable"][0] == "OK", out
        assert res["cloud token"][0] == "OK" and "nothing stored" in res["cloud token"][1], out
        assert res["cloud url"][0] == "OK" and res["cloud sync"][0] == "SKIP", out
        assert r.px.stats(log=False)["points"] == 0, "the token check stores nothing"
        code, res, out = doctor({"url": r.px.url, "token_file": wrong})
        assert code == 1 and res["cloud token"][0] == "FAIL" and "refuses" in res["cloud token"][1], out
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d" % s.getsockname()[1]
        s.close()
        code, res, out = doctor({"url": dead})
        assert code == 1 and res["cloud reachable"][0] == "FAIL" and "cloud token" not in res, out
        code, res, out = doctor({"url": ix.url, "api": "v1", "database": "nope", "token_file": ""})
        assert code == 1 and res["cloud token"][0] == "FAIL" and "not found" in res["cloud token"][1], out
        code, res, out = doctor({"url": ix.url, "api": "v1", "database": "leaf", "token_file": ""})
        assert code == 0 and res["cloud token"][0] == "OK" and "1.6" in res["cloud reachable"][1], out
        # TLS: a private certificate is refused until ca_file names it
        code, res, out = doctor({"url": tls.url})
        assert code == 1 and res["cloud tls"][0] == "FAIL", out
        assert "verification failed" in res["cloud tls"][1], out
        code, res, out = doctor({"url": tls.url, "ca_file": tls.tls[0]})
        assert code == 0 and res["cloud tls"][0] == "OK", out
        assert "certificate verified" in res["cloud reachable"][1] and res["cloud token"][0] == "OK", out
        # plain http to another machine: the token would travel in clear
        # (an IPv4-mapped loopback address: nothing leaves this machine)
        code, res, out = doctor({"url": dead.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
                                 "ping_timeout_s": "1"})
        assert res["cloud url"][0] == "WARN", out
        # with leafmond running: the ledger
        rig = Rig(r.px.url, 500, rate=1000)
        try:
            rig.start()
            wait_for(lambda: rig.ledger().get("last_success"), 20, "a sync")
            code, res, out = doctor({"url": r.px.url}, rundir=rig.d.rundir)
            assert res["cloud sync"][0] == "OK" and "last success" in res["cloud sync"][1], out
            print("     " + out.replace("\n", "\n     "))
        finally:
            rig.stop()
    finally:
        tls.stop()
        ix.stop()
        r.stop()


if __name__ == "__main__":
    run([test_v2_gzip_token_resolution_every_point_once,
         test_resolution_zero_sends_every_sample,
         test_v1_influxd_restarts_and_kills_give_the_same_points,
         test_offline_long_stretch_then_back_paced_live_first,
         test_status_codes_split_retry_after_backoff_dead_letter_auth,
         test_slow_responses_time_out_without_blocking_the_worker,
         test_kill9_worker_mid_upload_loses_nothing,
         test_kill_everything_mid_upload_loses_nothing,
         test_power_cut_torn_tail_rest_delivered,
         test_disk_cap_during_long_outage_drops_oldest_counted,
         test_disk_cap_while_writes_fail_drops_the_batch_kept_for_retry,
         test_stop_is_quick_and_loses_nothing,
         test_retention_drops_old_records_with_a_count,
         test_sync_rounds_ping_first_and_quick_return,
         test_tls_verified_with_ca_file,
         test_doctor_cloud_checks,
         test_real_drive_offline_then_back_every_point,
         test_real_drive_bytes_per_hour])
