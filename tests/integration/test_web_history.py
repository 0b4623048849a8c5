"""/api/history and /api/export.csv: downsampled by a real InfluxDB 1.6
(GROUP BY time, mean for numbers, last for bools and enums) and compared
with the same buckets computed here, values carried into the empty buckets
after them for up to 2.5 keyframe intervals (fill(previous) up to staleness);
the in-memory ring when InfluxDB is down or misconfigured (with a note
saying so), checked against the live stream's own values, carrying a value
that never changes for as long as samples flow; the ring refilled from the
journal after a restart."""

import csv
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import measure, rss_kb, run, wait_for  # noqa: E402
from servers import Influxd  # noqa: E402
from webtest import SSE, WebStack, qs  # noqa: E402

GEARS = ["P", "R", "N", "D", "B"]
STALE_AFTER_S = 150  # 2.5 x keyframe_s (60): workers/web/web.h WEB_STALE_AFTER_KEYFRAMES_X10


def fixture(now):
    """An hour of points, one every 10 s, ending a little before now; and the
    outside temperature only once a minute (the keyframes of a value that
    does not change), with ten minutes missing (the car was off)."""
    start = (now - 3600) // 60 * 60
    pts = []
    for i in range(360):
        t = start + i * 10
        pts.append((t, 50 + i * 0.05, 200 + i % 7, GEARS[(i // 30) % 5], (i // 90) % 2 == 1))
    lines = []
    for t, soc, gids, gear, charging in pts:
        lines.append("battery,vehicle=test battery_soc_pct=%r,battery_gids=%di %d" % (soc, gids, t * 1000))
        lines.append('vehicle,vehicle=test vehicle_gear="%s" %d' % (gear, t * 1000))
        lines.append("charge,vehicle=test charge_active=%s %d" % ("true" if charging else "false", t * 1000))
    ambient = [(start + m * 60 + 7, 12 + m * 0.1) for m in range(60) if not 20 <= m < 30]
    for t, v in ambient:
        lines.append("climate,vehicle=test climate_ambient_c=%r %d" % (v, t * 1000))
    return start, pts, ambient, lines


def expected(pts, t0, step, t_from, t_to):
    """Buckets as InfluxDB makes them: epoch-aligned, mean or last."""
    rows = {}
    for t, soc, gids, gear, charging in pts:
        if not (t_from <= t < t_to):
            continue
        b = t0 + (t - t0) // step * step
        r = rows.setdefault(b, {"soc": [], "gids": [], "gear": None, "chg": None})
        r["soc"].append(soc)
        r["gids"].append(gids)
        r["gear"] = GEARS.index(gear)
        r["chg"] = 1 if charging else 0
    return {b: (sum(r["soc"]) / len(r["soc"]), sum(r["gids"]) / len(r["gids"]), r["gear"], r["chg"])
            for b, r in rows.items()}


def carried(want, t0, step, t_to, now):
    """fill(previous) up to staleness: each empty bucket up to now takes the
    newest earlier bucket's values while that is no more than STALE_AFTER_S
    older (every signal of these tuples has the same buckets)."""
    out, prev = {}, None
    for b in range(t0, t_to, step):
        if b in want:
            out[b], prev = want[b], b
        elif prev is not None and b <= now and b - prev <= STALE_AFTER_S:
            out[b] = want[prev]
    return out


def test_history_from_influxdb():
    ix = Influxd().start()
    s = None
    try:
        ix.create_db("leaf", sessions=False)
        now = int(time.time())
        start, pts, ambient, lines = fixture(now)
        ix.load("leaf", lines)
        s = WebStack(influx={"enabled": "true", "url": ix.url, "database": "leaf", "api": "v1"}).start()
        sigs = "battery_soc_pct,battery_gids,vehicle_gear,charge_active"
        t0 = time.monotonic()
        h = s.get_json("/api/history?" + qs(signals=sigs, step=60, **{"from": start, "to": now}))
        measure("web_history_influx_1h_4_signals_ms", round((time.monotonic() - t0) * 1000, 1), "ms")
        assert h["source"] == "influx" and "note" not in h, h.get("note")
        want = carried(expected(pts, start // 60 * 60, 60, start, now), start, 60, now, time.time())
        got = {t // 1000: tuple(h["series"][k][i] for k in sigs.split(","))
               for i, t in enumerate(h["t"])}
        assert set(got) == set(want), sorted(set(got) ^ set(want))[:5]
        for b, w in want.items():
            g = got[b]
            assert abs(g[0] - w[0]) < 1e-9 and abs(g[1] - w[1]) < 1e-9, (b, g, w)
            assert g[2] == w[2] and g[3] == w[3], (b, g, w)

        # a value sent once a minute draws a line in 10 s buckets, until it
        # has been missing for longer than STALE_AFTER_S
        h = s.get_json("/api/history?" + qs(signals="climate_ambient_c", step=10,
                                             **{"from": start, "to": now}))
        per = {t // 10 * 10: [v] for t, v in ambient}
        want = carried({b: v for b, v in per.items()}, start, 10, now, time.time())
        got = {t // 1000: [v] for t, v in zip(h["t"], h["series"]["climate_ambient_c"])}
        assert got == want, sorted(set(got) ^ set(want))[:8]
        assert len(got) > 0.75 * (now - start) / 10, len(got)  # a line, not dots
        gap = [b for b in range(start + 20 * 60, start + 30 * 60, 10) if b not in got]
        assert len(gap) >= 40, gap  # the ten minutes without points are not bridged

        # points= picks the step; never more rows than asked for
        h = s.get_json("/api/history?" + qs(signals="battery_soc_pct", points=100,
                                             **{"from": start, "to": now}))
        assert h["source"] == "influx" and 0 < h["points"] <= 100 and h["step"] >= 36, h["step"]

        r = s.req("/api/export.csv?" + qs(signals=sigs, step=60, **{"from": start, "to": now}))
        assert r.status == 200 and r.header("X-Leafmon-Source") == "influx"
        rows = list(csv.reader(io.StringIO(r.text())))
        assert rows[0] == ["time"] + sigs.split(",")
        want = carried(expected(pts, start // 60 * 60, 60, start, now), start, 60, now, time.time())
        assert len(rows) - 1 == len(want)
        first = want[min(want)]
        assert rows[1][2] == "%g" % first[1] and rows[1][3] == GEARS[first[2]], rows[1]
        assert rows[1][4] == ("true" if first[3] else "false")
        wait_for(lambda: s.d.worker("web")["counters"]["history_influx"] >= 3 and
                 s.d.worker("web")["counters"]["exports"] >= 1, 5, "history counters")

        # a database InfluxDB does not have: the ring answers, and says why
        s.stop()
        s = WebStack(influx={"enabled": "true", "url": ix.url, "database": "nosuch"}).start()
        wait_for(lambda: s.get_json("/api/history?signals=vehicle_speed_kmh")["points"] > 0, 10,
                 "ring data")
        h = s.get_json("/api/history?signals=vehicle_speed_kmh")
        assert h["source"] == "ring" and "database not found" in h["note"], h
    finally:
        if s:
            s.stop()
        ix.stop()


def test_history_falls_back_to_the_ring():
    ix = Influxd().start()
    s = WebStack(influx={"enabled": "true", "url": ix.url, "database": "leaf"}).start()
    try:
        ix.create_db("leaf", sessions=False)
        h = s.get_json("/api/history?signals=vehicle_speed_kmh")
        assert h["source"] == "influx", h  # empty, but InfluxDB answered
        ix.stop()
        t0 = time.monotonic()
        h = wait_for(lambda: (lambda x: x if x["points"] > 0 else None)(
            s.get_json("/api/history?signals=vehicle_speed_kmh")), 10, "ring points")
        measure("web_history_fallback_influx_down_ms", round((time.monotonic() - t0) * 1000, 1), "ms")
        assert h["source"] == "ring" and "InfluxDB did not answer" in h["note"], h
        wait_for(lambda: s.d.worker("web")["counters"]["history_fallbacks"] >= 1, 5,
                 "the fallback counted")
    finally:
        s.stop()
        ix.stop()


def test_an_oversized_answer_is_cut_and_falls_back():
    """A server that answers /query with far more than the grid can hold
    (here 200 MB, streamed): the web worker stops reading at its cap, says
    so in the note and answers from memory; its memory stays small."""
    import http.server
    import threading

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(200 << 20))
            self.end_headers()
            chunk = b'{"results":[' + b" " * 65524
            try:
                for _ in range(200 * 16):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the client hung up: what we want

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    s = WebStack(influx={"enabled": "true", "url": "http://127.0.0.1:%d" % srv.server_port,
                         "database": "leaf"}).start()
    try:
        h = wait_for(lambda: (lambda x: x if x["points"] > 0 else None)(
            s.get_json("/api/history?signals=vehicle_speed_kmh")), 10, "ring points")
        assert h["source"] == "ring" and "larger than the cap" in h["note"], h
        rss = rss_kb(s.d.worker("web")["pid"])
        measure("web_history_oversized_answer_rss", rss, "kB")
        assert rss < 64 * 1024, rss
    finally:
        s.stop()
        srv.shutdown()


def test_ring_matches_the_live_stream():
    s = WebStack().start()
    try:
        sse = SSE(s)
        evs = sse.events(time.monotonic() + 6)
        sse.close()
        per_s = {}
        for name, d, _ in evs:
            if name == "sample" and "vehicle_speed_kmh" in d["v"]:
                per_s.setdefault(int(d["t"]), []).append(d["v"]["vehicle_speed_kmh"])
        full = sorted(per_s)[1:-1]  # seconds seen whole
        assert len(full) >= 3, per_s
        h = s.get_json("/api/history?" + qs(signals="vehicle_speed_kmh", step=1,
                                             **{"from": full[0], "to": full[-1] + 1}))
        assert h["source"] == "ring"
        ring = dict(zip((t // 1000 for t in h["t"]), h["series"]["vehicle_speed_kmh"]))
        for sec in full:
            want = sum(per_s[sec]) / len(per_s[sec])
            assert abs(ring[sec] - want) < 1e-3 * max(1, abs(want)), (sec, ring.get(sec), want)

        # a restarted web worker refills its ring from the journal
        old = s.pid()
        s.d.cli("restart", "web", check=True)
        s.wait_port(old_pid=old)
        h = s.get_json("/api/history?" + qs(signals="vehicle_speed_kmh", step=1,
                                             **{"from": full[0], "to": full[-1] + 1}))
        ring2 = dict(zip((t // 1000 for t in h["t"]), h["series"]["vehicle_speed_kmh"]))
        for sec in full:
            assert abs(ring2[sec] - ring[sec]) < 1e-6, (sec, ring2.get(sec), ring[sec])
    finally:
        s.stop()


def test_ring_carries_an_unchanged_value():
    """The feed sends the outside temperature once (it never changes): the
    ring's chart still draws it in every second while samples flow, from a
    restarted worker too (the journal), and no further than they did."""
    s = WebStack().start()
    try:
        def hist(**kw):
            now = time.time()
            return s.get_json("/api/history?" + qs(signals="climate_ambient_c,vehicle_speed_kmh",
                                                    step=1, **{"from": int(now - 40), "to": int(now + 5)}))
        wait_for(lambda: hist()["points"] >= 6, 15, "six seconds of history")
        h = hist()
        amb = [v for v in h["series"]["climate_ambient_c"]]
        first = next(i for i, v in enumerate(amb) if v is not None)
        assert all(v == 14.5 for v in amb[first:]), amb  # one sample, a whole line
        assert len(amb) - first >= 5, amb
        assert h["t"][-1] <= time.time() * 1000, h["t"]  # nothing beyond now

        old = s.pid()
        s.d.cli("restart", "web", check=True)
        s.wait_port(old_pid=old)
        h2 = hist()
        amb2 = dict(zip(h2["t"], h2["series"]["climate_ambient_c"]))
        assert all(amb2.get(t) == 14.5 for t, v in zip(h["t"], amb) if v is not None), amb2

        s.d.cli("stop", "can", check=True)
        s.d.wait_states({"can": "stopped"}, timeout=10)
        stopped_ms = time.time() * 1000
        time.sleep(3)  # a few seconds of no samples at all
        h3 = hist()
        late = [t for t, v in zip(h3["t"], h3["series"]["climate_ambient_c"])
                if v is not None and t > stopped_ms + 1000]
        assert late == [], late  # stale once samples stopped: not carried on
        assert any(v == 14.5 for v in h3["series"]["climate_ambient_c"]), h3
    finally:
        s.stop()


def test_no_history_at_all():
    s = WebStack(web={"history_ring_hours": "0"}).start()
    try:
        r = s.req("/api/history?signals=vehicle_speed_kmh")
        assert r.status == 503 and "history_ring_hours = 0" in r.json()["error"], r.body
    finally:
        s.stop()


if __name__ == "__main__":
    run([test_history_from_influxdb, test_history_falls_back_to_the_ring,
         test_an_oversized_answer_is_cut_and_falls_back,
         test_ring_matches_the_live_stream, test_ring_carries_an_unchanged_value,
         test_no_history_at_all])
