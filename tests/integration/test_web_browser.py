"""The dashboard in a real browser (Debian's chromium, headless, driven by
playwright-core from the build's npm install): login gate, tiles equal to
/api/latest, a live value changing within a second, units, history charts
from InfluxDB that draw a line for every series (temperatures stored only
once a minute, as keyframes), shared zoom and charge shading, the system page (a restart
through the CSRF check), raw views, logout, no console errors; and without
a password: no "Log out", and the charts of a fresh start (the worker's
ring, values sent once) drawn as lines too. Screenshots go to the build's
artifacts dir; the capture-to-browser latency of the live stream is
measured here. The can worker is the real leafmon-can on its simulator
when it is built, else leafmon-webfeed."""

import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ARTIFACTS, BUILD, Skip, measure, run, wait_for  # noqa: E402
from servers import Influxd  # noqa: E402
from webtest import WebStack, password_file, real_can  # noqa: E402

PASSWORD = "browser-Pass-456"
NODE_MODULES = os.path.join(BUILD, "web", "npm", "node_modules")


def hour_of_driving(now):
    """Line protocol for the last hour: drive, park, an AC charge, drive again.
    The temperatures change slowly: they are written once a minute only, as
    the can worker's keyframes write a value that did not change."""
    lines, soc = [], 72.0
    for i in range(360):
        t = now - 3600 + i * 10
        m = i / 6.0
        charging = 25 <= m < 45
        driving = m < 20 or m >= 45
        speed = max(0.0, 60 + 30 * math.sin(i / 9.0)) if driving else 0.0
        power = -6.6 if charging else (3 + speed * 0.2 + 15 * math.sin(i / 4.0)) if driving else 0.3
        soc += -power * 10 / 3600 / 24 * 100
        volts = 355 + soc * 0.4 - power * 0.3
        temp = 21 + m * 0.08 + (2 if charging else 0)
        ms = t * 1000
        lines.append("battery,vehicle=t battery_soc_pct=%.2f,battery_soc_dash_pct=%.0f,"
                     "battery_power_kw=%.2f,battery_voltage_v=%.1f,battery_current_a=%.1f %d"
                     % (soc, soc - 2, power, volts, power * 1000 / volts, ms))
        lines.append("vehicle,vehicle=t vehicle_speed_kmh=%.1f %d" % (speed, ms))
        lines.append("charge,vehicle=t charge_active=%s,charge_obc_power_kw=%.1f %d"
                     % ("true" if charging else "false", 6.6 if charging else 0.0, ms))
        if i % 6 == 0:
            lines.append("battery,vehicle=t battery_temp_max_c=%.1f,battery_temp_avg_c=%.1f,"
                         "battery_temp_min_c=%.1f %d" % (temp + 1, temp, temp - 1, ms))
            lines.append("climate,vehicle=t climate_ambient_c=%.1f %d" % (12 + m * 0.05, ms))
    return lines


def need_browser():
    if not os.path.exists("/usr/bin/chromium"):
        raise Skip("/usr/bin/chromium is not installed (apt-get install --no-install-recommends chromium)")
    if not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
        raise Skip("playwright-core is not in %s (configure with LEAFMON_TESTS=ON and LEAFMON_NPM=ON)"
                   % NODE_MODULES)


def browse(s, mode, password=""):
    """web_browser.js against stack s: its JSON result (asserted ok)."""
    env = dict(os.environ, NODE_PATH=NODE_MODULES, LEAFMON_URL="http://127.0.0.1:%d" % s.port,
               LEAFMON_PASSWORD=password, LEAFMON_SHOTS=os.path.join(ARTIFACTS, "web"),
               LEAFMON_MODE=mode)
    p = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "web_browser.js")],
                       env=env, capture_output=True, text=True, timeout=240)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, "no result from the browser run: %s %s" % (p.stdout[-2000:], p.stderr[-2000:])
    res = json.loads(lines[-1])
    print("     checks: " + "; ".join(res["checks"]), flush=True)
    assert p.returncode == 0 and res.get("ok"), "%s\n%s" % (res.get("error"), p.stderr[-2000:])
    for f in res["screenshots"]:
        assert os.path.getsize(f) > 10000, f
    print("     screenshots: " + ", ".join(res["screenshots"]), flush=True)
    cover = [r["cover"] for r in res.get("lines", [])]
    if cover:
        measure("web_history_line_cover_min_%s" % mode, min(cover),
                "of the canvas columns a series spans (%d series)" % len(cover))
    return res


def test_dashboard_in_chromium():
    need_browser()
    tmp = tempfile.mkdtemp(prefix="leafmon-web-browser-")
    pw = password_file(tmp, PASSWORD)
    ix = Influxd().start()
    ix.create_db("leaf", sessions=False)
    ix.load("leaf", hour_of_driving(int(time.time())))
    can = real_can()
    print("     can worker: %s" % ("leafmon-can on sim" if can == "real" else "leafmon-webfeed"), flush=True)
    s = WebStack(web={"password_file": pw}, cycle_s=12, can=can,
                 influx={"enabled": "true", "url": ix.url, "database": "leaf"}).start()
    try:
        can_pid = s.pid("can")
        res = browse(s, "login", PASSWORD)
        lat = res["latency"]
        measure("web_sse_capture_to_browser_p50_ms", round(lat["p50"], 1), "ms (n=%d)" % lat["n"])
        measure("web_sse_capture_to_browser_p99_ms", round(lat["p99"], 1), "ms")
        measure("web_live_value_change_ms", res["live_change_ms"], "ms")
        c = s.d.worker("web")["counters"]
        measure("web_sample_age_on_arrival_p50_ms", round(c["sample_age_p50_ms"], 1),
                "ms (capture -> the web worker: the can worker's share)")
        measure("web_sample_age_on_arrival_p99_ms", round(c["sample_age_p99_ms"], 1), "ms")
        assert lat["n"] >= 50 and lat["p99"] < 1000, lat
        # the restart clicked in the browser really happened
        wait_for(lambda: s.pid("can") != can_pid, 10, "the can worker restarted from the browser")
    finally:
        s.stop()
        ix.stop()


def test_open_dashboard_draws_the_ring():
    """No password, no InfluxDB: the state of a fresh `scripts/run` whose
    InfluxDB is not there yet. 20 s of the ring's history, in which
    the temperatures never changed (sent once), must chart as lines."""
    need_browser()
    can = real_can()
    s = WebStack(can=can).start()
    try:
        def ring_seconds():
            now = int(time.time())
            h = s.get_json("/api/history?signals=can_frames_total&step=1&from=%d&to=%d"
                           % (now - 120, now + 1))
            return h["points"] >= 20 or None
        wait_for(ring_seconds, 60, "20 s of history in the ring")
        browse(s, "open")
    finally:
        s.stop()


if __name__ == "__main__":
    run([test_dashboard_in_chromium, test_open_dashboard_draws_the_ring])
