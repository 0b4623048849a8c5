#!/usr/bin/env python3
"""The ledger's read side (bench/README.md): not tests, figures.

Builds a ledger per the schema contract holding YEARS (default 5) of the
simulator's long day, every day (its 12 sessions shifted a day at a time,
plus a battery_daily row), then times the CLI's answers (wall and CPU, the process's start included),
medians of 7 runs:
trips --json (all, and --since 30d), charges --csv, trips --monthly --json,
battery --json (the trend over the last 365 days). Also the file's size per
month of that driving (the rows as stored, VACUUMed; the writer's WAL and
its page slack come on top). Usage: run_ledger_bench.py [YEARS]
Needs a build (LEAFMON_BUILD, default ./build)."""

import json
import os
import resource
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
from harness import bin_path  # noqa: E402
import ledgerdb  # noqa: E402

YEARS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0


def build(st, tmp):
    days = int(YEARS * 365)
    t0 = int(time.time()) // 86400 * 86400 - days * 86400
    day = [json.loads(line) for line in ledgerdb.sim_day(t0 + 8 * 3600, tmp)]
    db = ledgerdb.create(st)
    rows = 0
    for k in range(days):
        shift = k * 86400
        for d in day:
            d2 = dict(d, start=d["start"] + shift, end=d["end"] + shift)
            ledgerdb.insert(db, json.dumps(d2, separators=(",", ":")))
            rows += 1
    for line in ledgerdb.daily_rows(t0 // 86400 + days - 1, days):
        ledgerdb.insert(db, line)
        rows += 1
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    db.close()
    return days, rows


def timed(st, *args):
    env = dict(os.environ, LEAFMON_STATEDIR=st)
    env.pop("LEAFMON_CONFIG", None)
    ts, cpu = [], []
    for _ in range(7):
        t = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([bin_path("cli/leafmon")] + list(args), env=env, capture_output=True)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ts.append(time.perf_counter() - t)
        cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
        assert r.returncode == 0, r.stderr
    return statistics.median(ts) * 1000, statistics.median(cpu) * 1000, len(r.stdout)


def main():
    tmp = tempfile.mkdtemp(prefix="leafmon-ledger-bench-")
    st = os.path.join(tmp, "state")
    days, rows = build(st, tmp)
    size = os.path.getsize(os.path.join(st, "ledger.db"))
    print("ledger: %d days, %d rows, %.1f MB, %.0f kB per month of daily driving"
          % (days, rows, size / 1e6, size / 1e3 / (days / 30.44)))
    for args in (["trips", "--json"], ["trips", "--since", "30d", "--json"], ["charges", "--csv"],
                 ["trips", "--monthly", "--json"], ["battery", "--json"], ["battery", "--since", "30d"]):
        ms, cpu, n = timed(st, *args)
        print("leafmon %-32s median %6.1f ms (CPU %6.1f ms), %8d bytes out"
              % (" ".join(args), ms, cpu, n))


if __name__ == "__main__":
    main()
