"""Ledger databases for the read side's tests, made here per the schema
contract (docs/DESIGN.md "Ledger"), so they do not need the writer: the
sessions of simulated long days (`leafmon sim --scenario day --truth`),
with a cost put on each charge at a flat price, and daily battery rows of a
pack ageing over a year and a half, with the scatter of real readings."""

import json
import os
import random
import sqlite3
import subprocess
import time

from harness import bin_path

SCHEMA = """
CREATE TABLE session (
  kind TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
  phase TEXT NOT NULL, vehicle TEXT NOT NULL, detail TEXT NOT NULL,
  updated_ns INTEGER NOT NULL, PRIMARY KEY (kind, start_ns)) WITHOUT ROWID;
CREATE INDEX session_end ON session(kind, end_ns);
CREATE TABLE feed (name TEXT PRIMARY KEY, gen INTEGER NOT NULL, seq INTEGER NOT NULL);
"""

PRICE = {"ac": 0.28, "qc": 0.59}  # per grid kWh, EUR (the test's own tariff)


def create(statedir, user_version=1):
    os.makedirs(statedir, mode=0o750, exist_ok=True)
    path = os.path.join(statedir, "ledger.db")
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA user_version = %d" % user_version)
    db.commit()
    return db


def insert(db, detail_text):
    d = json.loads(detail_text)
    db.execute("INSERT INTO session VALUES (?, ?, ?, 'end', 'leaf', ?, ?)",
               (d["kind"], round(d["start"] * 1e9), round(d["end"] * 1e9), detail_text,
                time.time_ns()))


def sim_day(start, tmp):
    """The long day's sessions from the simulator's own truth, as JSON texts."""
    truth = os.path.join(tmp, "truth-%d.jsonl" % start)
    with open(os.devnull, "wb") as null:
        subprocess.run([bin_path("cli/leafmon"), "sim", "--to", "-", "--scenario", "day",
                        "--start", str(start), "--truth", truth], stdout=null, check=True,
                       timeout=120)
    out = []
    for line in open(truth):
        d = json.loads(line)
        if d["kind"] == "charge":
            # a charge's cost, as the writer stores it with a tariff set
            d["cost"] = round(d["grid_kwh"] * PRICE[d["charge_type"]], 2)
            d["currency"] = "EUR"
            line = json.dumps(d, separators=(",", ":"))
        out.append(line.strip())
    return out


def daily_rows(last_day, n, seed=7):
    """n battery_daily rows ending on day last_day (days since 1970, UTC
    dates): SOH from 88.4 % falling 2.9 %/year with 0.15 % scatter, GIDs and
    capacity along with it, 12 bars until the SOH's trend is under 85 %."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        day = last_day - (n - 1) + i
        if rng.random() < 0.15:  # days the car did not wake
            continue
        trend = 88.4 - 2.9 * i / 365.25
        soh = trend + rng.gauss(0, 0.15)
        date = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        d = {"kind": "battery_daily", "start": float(day * 86400), "end": float((day + 1) * 86400),
             "date": date, "soh_pct": round(soh, 1), "capacity_bars": 12 if trend >= 85 else 11,
             "gids_full": round(281 * soh / 88.4), "hx_pct": round(soh * 1.03, 1),
             "ah": round(79.0 * soh / 100, 1), "aux_min_v": 12.4}
        if i % 5 == 0:
            d["capacity_kwh"] = round(24.0 * soh / 100 + rng.gauss(0, 0.2), 2)
            d["capacity_temp_c"] = 15.0
        if i % 3 == 0:
            d["cells_delta_mv"] = 12 + i // 100
        rows.append(json.dumps(d, separators=(",", ":")))
    return rows


def populated(statedir, tmp, now=None, tweak=None):
    """A ledger of three simulated days (40, 10 and 1 day ago) and 500 days of
    battery rows; tweak(detail) may add keys to each session first. Returns
    every inserted detail text, by kind."""
    now = int(now or time.time())
    starts = [now - 40 * 86400, now - 10 * 86400, now - 86400]
    by = {"trip": [], "charge": [], "park": [], "battery_daily": []}
    db = create(statedir)
    for s in starts:
        for line in sim_day(s - s % 60, tmp):
            if tweak is not None:
                d = json.loads(line)
                tweak(d)
                line = json.dumps(d, separators=(",", ":"))
            by[json.loads(line)["kind"]].append(line)
    for line in daily_rows(now // 86400 - 1, 500):
        by["battery_daily"].append(line)
    for rows in by.values():
        for line in rows:
            insert(db, line)
    db.commit()
    db.close()
    for k in by:
        by[k].sort(key=lambda t: json.loads(t)["start"])
    return by


def fit(xs, ys):
    """Least squares, written out independently of the C: slope, intercept, s, n."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ssr = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    s = (ssr / (n - 2)) ** 0.5
    return b, a, s, n, mx, sxx
