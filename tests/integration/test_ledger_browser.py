"""The Trips, Charges and Battery pages in a real browser (Debian's chromium,
headless, playwright-core from the build's npm install), on a ledger made
per the schema contract (three simulated long days and 500 days of battery
rows) and a real InfluxDB holding each session's curves: every list drawn
from the API, monthly totals, a trip's and a quick charge's charts over
their own intervals with every series a drawn line, the charge's heat, the
battery's tiles, trend, projection and history charts, the cell voltages
with their spread, no console errors. Screenshots go to the artifacts dir."""

import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ARTIFACTS, run  # noqa: E402
import ledgerdb  # noqa: E402
from test_web_browser import NODE_MODULES, need_browser  # noqa: E402
from servers import Influxd  # noqa: E402
from webtest import WebStack, password_file  # noqa: E402

PASSWORD = "ledger-Browser-321"
QC_TEMPS = (18.0, 31.0)  # the quick charge's pack: start and max
AC_TEMPS = (12.0, 13.0)
CELL_SPREAD = 3921 - 3893  # tests/webfeed.c's cells


def pack_temps(d):
    """Figures the writer keeps that the simulator's truth does not carry:
    a charge's pack temperatures; a trip's, and its derived figures."""
    if d["kind"] == "charge":
        a, b = QC_TEMPS if d["charge_type"] == "qc" else AC_TEMPS
        d.update(pack_temp_start_c=a, pack_temp_max_c=b, pack_temp_end_c=b - 0.5)
    elif d["kind"] == "trip":
        d.update(pack_temp_start_c=10.0, pack_temp_end_c=12.0,
                 regen_share=round(d["energy_in_kwh"] / d["energy_out_kwh"], 3),
                 speed_mean_kmh=round(d["distance_km"] / (d["duration_s"] / 3600), 2),
                 aux_min_v=12.9)
        if d["distance_km"] >= 0.01:
            d["wh_per_km"] = round(d["net_kwh"] * 1000 / d["distance_km"], 1)


def curves(by):
    """Line protocol for each trip's and charge's interval, 10 s apart;
    temperatures every 30 s (as keyframes write an unchanged value)."""
    lines = []
    for t in by["trip"]:
        d = json.loads(t)
        n = max(2, int((d["end"] - d["start"]) // 10))
        for i in range(n + 1):
            x = d["start"] + (d["end"] - d["start"]) * i / n
            ms = int(x * 1000)
            k = i / n
            speed = max(0.0, d["speed_max_kmh"] * (0.55 + 0.45 * math.sin(i / 7.0)))
            soc = d["soc_start_pct"] + (d["soc_end_pct"] - d["soc_start_pct"]) * k
            lines.append("vehicle,vehicle=t vehicle_speed_kmh=%.1f %d" % (speed, ms))
            lines.append("battery,vehicle=t battery_soc_pct=%.2f,battery_power_kw=%.2f %d"
                         % (soc, 4 + speed * 0.25 + 12 * math.sin(i / 3.0), ms))
            if i % 3 == 0:
                lines.append("battery,vehicle=t battery_temp_avg_c=%.1f %d" % (10 + 2 * k, ms))
                lines.append("climate,vehicle=t climate_ambient_c=%.1f %d" % (8 + math.sin(k * 3), ms))
    for t in by["charge"]:
        d = json.loads(t)
        a, b = QC_TEMPS if d["charge_type"] == "qc" else AC_TEMPS
        kw = d["pack_kwh"] * 3600 / d["charging_s"]
        n = max(2, int((d["end"] - d["start"]) // 10))
        for i in range(n + 1):
            x = d["start"] + (d["end"] - d["start"]) * i / n
            ms = int(x * 1000)
            k = i / n
            soc = d["soc_start_pct"] + (d["soc_end_pct"] - d["soc_start_pct"]) * k
            p = kw * (1.2 - 0.5 * k) if d["charge_type"] == "qc" else kw
            lines.append("battery,vehicle=t battery_soc_pct=%.2f,battery_power_kw=%.2f %d" % (soc, -p, ms))
            if d["charge_type"] == "ac":
                lines.append("charge,vehicle=t charge_obc_power_kw=%.2f %d" % (p * 1.1, ms))
            if i % 3 == 0:
                temp = a + (b - a) * math.sin(k * math.pi / 2)
                lines.append("battery,vehicle=t battery_temp_max_c=%.1f,battery_temp_avg_c=%.1f,"
                             "battery_temp_min_c=%.1f %d" % (temp + 1, temp, temp - 1, ms))
    return lines


def test_ledger_pages_in_chromium():
    need_browser()
    tmp = tempfile.mkdtemp(prefix="leafmon-ledger-browser-")
    pw = password_file(tmp, PASSWORD)
    ix = Influxd().start()
    ix.create_db("leaf", sessions=False)
    s = WebStack(web={"password_file": pw}, env={"LEAFMON_WEBFEED_CELLS": "1"},
                 influx={"enabled": "true", "url": ix.url, "database": "leaf"})
    by = ledgerdb.populated(s.d.statedir, tmp, tweak=pack_temps)
    lines = curves(by)
    for i in range(0, len(lines), 5000):
        ix.load("leaf", lines[i:i + 5000])
    s.start()
    auth = {"Authorization": "Bearer " + PASSWORD}
    try:
        months = s.get_json("/api/monthly", headers=auth)
        bat = s.get_json("/api/battery", headers=auth)
        trips = [json.loads(t) for t in by["trip"]]
        charges = [json.loads(t) for t in by["charge"]]
        daily = [json.loads(t) for t in by["battery_daily"]]
        expect = {
            "trips": [d["start"] for d in trips if not d.get("move")],
            "trips_all": len(trips),
            "charges": [d["start"] for d in charges],
            "qc": [d["start"] for d in charges if d["charge_type"] == "qc"],
            "months": [m["month"] for m in months],
            "last_month": {"month": months[-1]["month"], "km": months[-1]["distance_km"]},
            "soh": daily[-1]["soh_pct"], "bars": daily[-1]["capacity_bars"],
            "projection": bat["trend"]["projection"]["date"],
            "cell_spread": CELL_SPREAD,
        }
        env = dict(os.environ, NODE_PATH=NODE_MODULES, LEAFMON_URL="http://127.0.0.1:%d" % s.port,
                   LEAFMON_PASSWORD=PASSWORD, LEAFMON_SHOTS=os.path.join(ARTIFACTS, "ledger"),
                   LEAFMON_EXPECT=json.dumps(expect))
        p = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "ledger_browser.js")],
                           env=env, capture_output=True, text=True, timeout=240)
        out = [l for l in p.stdout.splitlines() if l.startswith("{")]
        assert out, "no result from the browser run: %s %s" % (p.stdout[-2000:], p.stderr[-2000:])
        res = json.loads(out[-1])
        print("     checks: " + "; ".join(res["checks"]), flush=True)
        assert p.returncode == 0 and res.get("ok"), "%s\n%s" % (res.get("error"), p.stderr[-2000:])
        for f in res["screenshots"]:
            assert os.path.getsize(f) > 10000, f
        print("     screenshots: " + ", ".join(res["screenshots"]), flush=True)
        print("     series drawn: %d, lowest cover %.3f" % (
            len(res["series"]), min(r["cover"] for r in res["series"])), flush=True)
    finally:
        s.stop()
        ix.stop()


if __name__ == "__main__":
    run([test_ledger_pages_in_chromium])
