#!/usr/bin/env python3
"""The influx writer's benchmarks (bench/README.md): not tests, figures.

  1. spool -> HTTP points/s into a local influxd next to influxd's own
     ceiling with plain batched writes, same run (bench_spool_influx);
  2. end-to-end samples/s and points/s through leafmond, NNG, the journal,
     the writer's spool and HTTP (leafmon-samplepub publishing flat out);
  3. spool bytes per hour of real driving/charging (real logs replayed by
     leafmon-can, cut at the default publish interval), and
  4. fsyncs per second at the default publish rate (10 samples/s).
Medians of several runs. Usage: run_influx_bench.py [--quick]
Needs a build (LEAFMON_BUILD, default ./build) and influxd."""

import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
os.environ.setdefault("LEAFMON_SRC", SRC)
os.environ.setdefault("LEAFMON_BUILD", os.path.join(SRC, "build"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from harness import DATA, Leafmond, bin_path, wait_for  # noqa: E402
from servers import Influxd  # noqa: E402
from test_influx import Rig, decoded, total_points  # noqa: E402

QUICK = "--quick" in sys.argv


def bench_spool_http():
    ix = Influxd().start()
    try:
        n, rounds = ("50000", "3") if QUICK else ("200000", "7")
        out = subprocess.run([bin_path("bench/bench_spool_influx"), ix.url, tempfile.mkdtemp(), n, rounds],
                             capture_output=True, text=True, check=True).stdout
        print(out, end="")
        m = re.search(r"MEDIAN ceiling (\d+) .* spool->HTTP (\d+) .* ratio ([\d.]+) % "
                      r"\(median of the rounds' ratios ([\d.]+) %\)", out)
        return {"ceiling_points_s": int(m.group(1)), "spool_http_points_s": int(m.group(2)),
                "ratio_pct": float(m.group(3)), "paired_ratio_pct": float(m.group(4))}
    finally:
        ix.stop()


def bench_e2e():
    count = 30000 if QUICK else 100000
    rates, prates = [], []
    for run in range(1 if QUICK else 3):
        ix = Influxd().start()
        ix.create_db("leaf")
        rig = Rig(ix.url, count, rate=200000, sup={"journal_mb": "64"})
        try:
            t0 = time.monotonic()
            rig.start()
            wait_for(lambda: ix.count("leaf", "battery", "battery_voltage_v") >= count, 300,
                     "all points", interval=0.05)
            wait_for(lambda: ix.count("leaf", "charge", "charge_status") >= count // 10, 60, "charge")
            secs = time.monotonic() - t0
            c = rig.counters()
            rates.append(count / secs)
            prates.append(total_points(count) / secs)
            print("e2e run %d: %d samples (%d points) in %.2f s: %.0f samples/s, %.0f points/s; "
                  "gap fill from the journal %d, lost %d" % (
                      run, count, total_points(count), secs, rates[-1], prates[-1],
                      c.get("sub_from_journal", 0), c.get("sub_lost", 0)), flush=True)
        finally:
            rig.stop()
            ix.stop()
    return {"e2e_samples_s": round(statistics.median(rates)),
            "e2e_points_s": round(statistics.median(prates))}


LOGS = ["logs/ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt",
        "logs/ze1_2018plus/EV-CANepluseco.log",
        "logs/ze0_2011-2012/ZE0w24kWhstock.log",
        "logs/aze0_2013-2017/ch1_20250804_161600_bypass.csv",
        "logs/env200/env200-2015-with-40kWh-startup-nobridge.crtd"]
MARK_BYTES = 32 + 18  # one checkpoint mark per commit, one commit a second


def bench_bytes_per_hour():
    out = {}
    for rel in LOGS[:2] if QUICK else LOGS:
        path = os.path.join(DATA, rel)
        if not os.path.exists(path):
            continue
        want = decoded(path)
        times = sorted({t for _, t in want})
        hours = (times[-1] - times[0]) / 3.6e6
        d = Leafmond(real=("can", "influx"), enabled=("can", "influx"),
                     sections={"can": {"source": "replay:%s,speed=0" % path, "asleep_after_s": "2"},
                               "influx": {"url": "http://127.0.0.1:9", "timeout_s": "1"}})
        d.start()
        try:
            wait_for(lambda: (d.worker("can")["counters"] or {}).get("samples", 0) >= len(times), 60,
                     "replay")
            wait_for(lambda: (d.worker("influx")["counters"] or {}).get("spooled", 0) >= len(times)
                     and d.worker("influx")["ledger"]["spool_memory_records"] == 0, 30, "spooled")
            segs = glob.glob(os.path.join(d.statedir, "spool-influx", "*.seg"))
            data = sum(os.path.getsize(s) for s in segs)
            per_h = data / hours + MARK_BYTES * 3600
            rate = len(times) / (hours * 3600)
            out[os.path.basename(rel)] = {"samples_per_s": round(rate, 2),
                                          "spool_mb_per_hour": round(per_h / 1e6, 2),
                                          "bytes_per_sample": round(data / len(times), 1)}
            print("%-55s %6.1f min of log, %5.2f samples/s, %6.1f bytes/sample, %5.2f MB/h" % (
                rel, hours * 60, rate, data / len(times), per_h / 1e6), flush=True)
        finally:
            d.stop()
    return out


def bench_fsyncs():
    ix = Influxd().start()
    ix.create_db("leaf")
    secs = 15 if QUICK else 60
    rig = Rig(ix.url, 100000, rate=10, base_ms=int(time.time() * 1000))
    try:
        rig.start()
        time.sleep(3)
        a = rig.counters()["fsyncs"]
        t0 = time.monotonic()
        time.sleep(secs)
        b = rig.counters()["fsyncs"]
        per_s = (b - a) / (time.monotonic() - t0)
        print("fsyncs: %.2f per second over %d s at 10 samples/s (delivering as they come)" % (
            per_s, secs), flush=True)
        return {"fsyncs_per_s": round(per_s, 2)}
    finally:
        rig.stop()
        ix.stop()


def main():
    res = {}
    print("== spool -> HTTP vs influxd's ceiling ==", flush=True)
    res.update(bench_spool_http())
    print("== end to end through NNG ==", flush=True)
    res.update(bench_e2e())
    print("== spool bytes per hour (real logs, default publish interval) ==", flush=True)
    res["bytes_per_hour"] = bench_bytes_per_hour()
    print("== fsyncs per second ==", flush=True)
    res.update(bench_fsyncs())
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
