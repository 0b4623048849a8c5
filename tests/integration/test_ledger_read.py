"""The ledger's read side: `leafmon trips|charges|parks|battery` and the web
worker's /api/trips|charges|parks|battery|monthly, on a ledger.db made
per the schema contract from three simulated long days (the simulator's
own truth) and 500 days of battery rows. JSON: exactly the stored details,
by start; CSV: the contract's keys as the header, one row per session;
monthly totals and the battery trend recomputed here independently; no
ledger yet, a newer schema, bad options and parameters; the login gate."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import bin_path, run, wait_for  # noqa: E402
import ledgerdb  # noqa: E402
from webtest import WebStack, password_file, qs  # noqa: E402

PASSWORD = "ledger-Pass-789"


def cli(statedir, *args):
    env = dict(os.environ, LEAFMON_STATEDIR=statedir)
    env.pop("LEAFMON_CONFIG", None)
    return subprocess.run([bin_path("cli/leafmon")] + list(args), env=env, capture_output=True,
                          text=True, timeout=60)


def ok(statedir, *args):
    r = cli(statedir, *args)
    assert r.returncode == 0, "leafmon %s: %d %s" % (" ".join(args), r.returncode, r.stderr)
    return r.stdout


def not_move(t):
    return not json.loads(t).get("move")


def month_of(unix):
    return time.strftime("%Y-%m", time.localtime(unix))


def expected_monthly(by, since=None):
    months = {}
    for kind in ("trip", "charge", "park"):
        for t in by[kind]:
            d = json.loads(t)
            if since is not None and d["start"] < since:
                continue
            m = months.setdefault(month_of(d["start"]), {"trips": 0, "charges": 0, "km": 0.0,
                                                         "net": 0.0, "pack": 0.0, "grid": 0.0,
                                                         "cost": {}, "lost": 0.0})
            if kind == "trip":
                m["trips"] += 1
                m["km"] += d["distance_km"]
                m["net"] += d["net_kwh"]
            elif kind == "charge":
                m["charges"] += 1
                m["pack"] += d["pack_kwh"]
                m["grid"] += d["grid_kwh"]
                m["cost"][d["currency"]] = m["cost"].get(d["currency"], 0) + d["cost"]
            else:
                m["lost"] += d["kwh_lost"]
    return months


def check_monthly(got, by, since=None):
    want = expected_monthly(by, since)
    assert [g["month"] for g in got] == sorted(want), (got, sorted(want))
    for g in got:
        w = want[g["month"]]
        assert g["trips"] == w["trips"] and g["charges"] == w["charges"], (g, w)
        if w["trips"]:
            assert abs(g["distance_km"] - w["km"]) < 0.002, (g, w)
            assert abs(g["net_kwh"] - w["net"]) < 0.002, (g, w)
            assert abs(g["wh_per_km"] - w["net"] * 1000 / w["km"]) < 0.06, (g, w)
        if w["charges"]:
            assert abs(g["charge_pack_kwh"] - w["pack"]) < 0.002
            assert abs(g["charge_grid_kwh"] - w["grid"]) < 0.002
            assert set(g["cost"]) == {"EUR"} and abs(g["cost"]["EUR"] - w["cost"]["EUR"]) < 0.006
            assert g["charges_uncosted"] == 0
        assert abs(g["park_kwh_lost"] - w["lost"]) < 0.002


def check_trend(doc, by):
    """The trend recomputed from the daily rows: slopes within 1e-3 %/year,
    the projected date and its standard error within a day."""
    rows = [json.loads(t) for t in by["battery_daily"]]
    def day(r):
        return int(r["start"] // 86400)
    last = day(rows[-1])
    tr = doc["trend"]
    assert tr["last_date"] == rows[-1]["date"]
    assert tr["days"] == sum(1 for r in rows if day(r) > last - 365)
    assert [w["days"] for w in tr["windows"]] == [30, 90, 365]
    for w in tr["windows"]:
        for key in ("soh_pct", "gids_full", "capacity_kwh"):
            pts = [(day(r), r[key]) for r in rows if key in r and day(r) > last - w["days"]]
            got = w[key]
            assert got["n"] == len(pts), (w["days"], key, got, len(pts))
            if len(pts) < 3:
                assert "slope_per_year" not in got and got["reason"], got
                continue
            b, a, s, n, mx, sxx = ledgerdb.fit([p[0] for p in pts], [p[1] for p in pts])
            assert abs(got["slope_per_year"] - b * 365.25) < 1e-3, (key, got, b * 365.25)
            assert abs(got["stderr_per_year"] - s / sxx ** 0.5 * 365.25) < 1e-3, (key, got)
    pts = [(day(r), r["soh_pct"]) for r in rows if day(r) > last - 365]
    b, a, s, n, mx, sxx = ledgerdb.fit([p[0] for p in pts], [p[1] for p in pts])
    p = tr["projection"]
    assert p["bars"] == rows[-1]["capacity_bars"]
    thr = 85.0 if p["bars"] == 12 else 78.75
    x = (thr - a) / b
    se = s / abs(b) * (1 / n + (x - mx) ** 2 / sxx) ** 0.5
    want = time.strftime("%Y-%m-%d", time.gmtime(round(x) * 86400))
    assert p["threshold_soh_pct"] == thr and p["n"] == n, p
    assert abs(p["fitted_soh_pct"] - (a + b * last)) < 0.006, (p, a + b * last)
    assert p["date"] == want, (p, want, x)
    assert abs(p["stderr_days"] - se) <= 1, (p, se)
    assert p["earliest"] < p["date"] < p["latest"], p
    return p


def test_cli_json_csv_and_totals():
    tmp = tempfile.mkdtemp(prefix="leafmon-ledger-")
    st = os.path.join(tmp, "state")
    by = ledgerdb.populated(st, tmp)
    trips = [t for t in by["trip"] if not_move(t)]
    assert len(trips) == 9 and len(by["trip"]) == 12 and len(by["charge"]) == 6, \
        {k: len(v) for k, v in by.items()}

    # --json: exactly the stored objects, by start
    assert ok(st, "trips", "--json") == "[" + ",".join(trips) + "]\n"
    assert ok(st, "trips", "--all", "--json") == "[" + ",".join(by["trip"]) + "]\n"
    assert ok(st, "charges", "--json") == "[" + ",".join(by["charge"]) + "]\n"
    assert ok(st, "parks", "--json") == "[" + ",".join(by["park"]) + "]\n"
    since = time.time() - 5 * 86400
    recent = [t for t in trips if json.loads(t)["start"] >= since]
    assert 0 < len(recent) < len(trips)
    assert ok(st, "trips", "--since", "5d", "--json") == "[" + ",".join(recent) + "]\n"
    day = time.strftime("%Y-%m-%d", time.localtime(since))
    midnight = time.mktime(time.strptime(day, "%Y-%m-%d"))
    from_day = [t for t in trips if json.loads(t)["start"] >= midnight]
    assert json.loads(ok(st, "trips", "--since", day, "--json")) == [json.loads(t) for t in from_day]

    # --csv: the contract's keys as the header, every row, the values
    rows = list(csv.DictReader(io.StringIO(ok(st, "charges", "--csv"))))
    header = ok(st, "charges", "--csv").splitlines()[0].split(",")
    assert header[:6] == ["kind", "start", "end", "partial", "recovery", "distance_km"], header
    for key in ("charge_type", "pack_kwh", "grid_kwh", "cost", "currency", "end_reason"):
        assert key in header, key
    assert len(rows) == len(by["charge"])
    for row, text in zip(rows, by["charge"]):
        d = json.loads(text)
        assert row["charge_type"] == d["charge_type"] and row["currency"] == "EUR"
        assert abs(float(row["pack_kwh"]) - d["pack_kwh"]) < 1e-9
        assert abs(float(row["start"]) - d["start"]) < 1e-6
        assert abs(float(row["cost"]) - d["cost"]) < 1e-9
        assert row["recovery"] == ""  # absent: an empty cell
    trows = list(csv.DictReader(io.StringIO(ok(st, "trips", "--all", "--csv"))))
    assert len(trows) == len(by["trip"]) and {r["move"] for r in trows} == {"true", "false"}

    # --monthly, recomputed here
    check_monthly(json.loads(ok(st, "trips", "--monthly", "--json")), by)
    check_monthly(json.loads(ok(st, "charges", "--monthly", "--since", "5d", "--json")), by, since)

    # battery: the daily rows, the trend
    doc = json.loads(ok(st, "battery", "--json"))
    assert set(doc) == {"daily", "trend"}
    assert doc["daily"] == [json.loads(t) for t in by["battery_daily"]]
    p = check_trend(doc, by)
    print("     projection: %s (+- %d days)" % (p["date"], p["stderr_days"]), flush=True)
    assert len(json.loads(ok(st, "battery", "--since", "30d", "--json"))["daily"]) <= 31

    # the readable tables
    out = ok(st, "trips")
    assert out.splitlines()[0].startswith("start") and len(out.splitlines()) == 1 + len(trips)
    assert " move" in ok(st, "trips", "--all")
    out = ok(st, "charges")
    assert "qc" in out and "EUR" in out and len(out.splitlines()) == 1 + len(by["charge"])
    out = ok(st, "battery")
    assert "next capacity bar" in out and p["date"] in out, out[-500:]
    out = ok(st, "charges", "--monthly")
    assert "EUR" in out and month_of(time.time() - 86400) in out


def test_cli_empty_future_and_usage():
    tmp = tempfile.mkdtemp(prefix="leafmon-ledger-")
    st = os.path.join(tmp, "state")
    # no ledger yet: empty answers, not an error
    assert ok(st, "trips", "--json") == "[]\n"
    assert ok(st, "charges", "--monthly", "--json") == "[]\n"
    doc = json.loads(ok(st, "battery", "--json"))
    assert doc["daily"] == [] and doc["trend"]["projection"]["reason"]
    assert "no ledger yet" in ok(st, "trips")
    assert ok(st, "charges", "--csv").startswith("kind,start,end,")
    # a newer schema: a clear error
    ledgerdb.create(st, user_version=2).close()
    r = cli(st, "trips", "--json")
    assert r.returncode == 1 and "schema version 2" in r.stderr and r.stdout == "", r
    # usage
    for args in (["trips", "--since", "yesterday"], ["charges", "--all"], ["battery", "--monthly"],
                 ["trips", "--monthly", "--csv"], ["trips", "extra"], ["parks", "--bogus"]):
        r = cli(st, *args)
        assert r.returncode == 2 and "usage" in r.stderr + r.stdout, (args, r)
    assert "neither a date" in cli(st, "trips", "--since", "yesterday").stderr


def as_reader(statedir, *args):
    """The CLI as a member of the owner's group would run it: unable to write
    STATEDIR (root: as nobody, the files world-readable; others: the
    directory made read-only)."""
    if os.geteuid() == 0:
        os.chmod(os.path.dirname(statedir), 0o755)  # mkdtemp's 0700
        os.chmod(statedir, 0o755)
        for f in os.listdir(statedir):
            os.chmod(os.path.join(statedir, f), 0o644)
        env = dict(os.environ, LEAFMON_STATEDIR=statedir, HOME="/nonexistent")
        env.pop("LEAFMON_CONFIG", None)
        return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               bin_path("cli/leafmon"), "trips", "--json"] + list(args),
                              env=env, capture_output=True, text=True, timeout=60)
    os.chmod(statedir, 0o555)
    try:
        return cli(statedir, "trips", "--json", *args)
    finally:
        os.chmod(statedir, 0o750)


def test_cli_reads_a_ledger_it_may_not_write():
    tmp = tempfile.mkdtemp(prefix="leafmon-ledger-ro-")
    st = os.path.join(tmp, "state")
    a = '{"kind":"trip","start":1000.000,"end":2000.000,"distance_km":5.000}'
    b = '{"kind":"trip","start":3000.000,"end":4000.000,"distance_km":6.000}'
    db = ledgerdb.create(st)
    ledgerdb.insert(db, a)
    db.commit()
    db.close()  # the writer stopped: no -wal, no -shm left
    assert sorted(os.listdir(st)) == ["ledger.db"], os.listdir(st)
    r = as_reader(st)
    assert r.returncode == 0 and r.stdout == "[" + a + "]\n", r
    assert sorted(os.listdir(st)) == ["ledger.db"], os.listdir(st)
    # the writer running, its last transaction still in the WAL
    os.chmod(st, 0o750)
    db = sqlite3.connect(os.path.join(st, "ledger.db"))
    db.execute("PRAGMA wal_autocheckpoint = 0")
    ledgerdb.insert(db, b)
    db.commit()
    try:
        assert os.path.getsize(os.path.join(st, "ledger.db-wal")) > 0
        r = as_reader(st)
        assert r.returncode == 0 and r.stdout == "[" + a + "," + b + "]\n", r
    finally:
        db.close()


def test_api_same_json_login_and_errors():
    tmp = tempfile.mkdtemp(prefix="leafmon-ledger-api-")
    pw = password_file(tmp, PASSWORD)
    s = WebStack(web={"password_file": pw})
    by = ledgerdb.populated(s.d.statedir, tmp)
    s.start()
    auth = {"Authorization": "Bearer " + PASSWORD}
    st = s.d.statedir
    try:
        for path in ("/api/trips", "/api/charges", "/api/parks", "/api/battery", "/api/monthly"):
            r = s.req(path)
            assert r.status == 401 and r.header("WWW-Authenticate") .startswith("Bearer"), (path, r.status)
        # the same JSON as the CLI, byte for byte
        for path, args in (("/api/trips", ["trips"]), ("/api/trips?all=1", ["trips", "--all"]),
                           ("/api/charges", ["charges"]), ("/api/parks", ["parks"]),
                           ("/api/trips?since=5d", ["trips", "--since", "5d"]),
                           ("/api/monthly", ["trips", "--monthly"])):
            r = s.req(path, headers=auth)
            assert r.status == 200 and r.header("Content-Type") == "application/json", (path, r.status)
            assert r.body.decode() + "\n" == ok(st, *(args + ["--json"])), path
        bat = s.get_json("/api/battery", headers=auth)
        assert bat["daily"] == [json.loads(t) for t in by["battery_daily"]]
        check_trend(bat, by)
        assert s.get_json("/api/trips?all=false", headers=auth) == \
            [json.loads(t) for t in by["trip"] if not_move(t)]
        day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 20 * 86400))
        got = s.get_json("/api/charges?" + qs(since=day), headers=auth)
        assert got == json.loads(ok(st, "charges", "--since", day, "--json")) and got
        # bad parameters: 400 with a message, as every route answers them
        for path, words in (("/api/trips?since=yesterday", "neither a date"),
                            ("/api/trips?all=maybe", "all must be"),
                            ("/api/charges?all=1", "all"),
                            ("/api/battery?since=", "neither a date"),
                            ("/api/trips?since=1d&since=2d", "since"),
                            ("/api/monthly?signals=a", "signals")):
            r = s.req(path, headers=auth)
            assert r.status == 400 and words in r.json()["error"], (path, r.status, r.body)
        r = s.req("/api/trips", method="POST", headers=auth)
        assert r.status == 405, r.status
        # counters come with the heartbeats (each second); ask gently
        c = wait_for(lambda: (lambda c: c if c["ledger_queries"] >= 9 else None)(
            s.d.worker("web")["counters"]), 10, "the ledger counters in a heartbeat",
            interval=0.5)
        assert c["ledger_errors"] == 0, c
        # a newer schema: 500 saying so
        db = sqlite3.connect(os.path.join(st, "ledger.db"))
        db.execute("PRAGMA user_version = 9")
        db.commit()
        db.close()
        r = s.req("/api/trips", headers=auth)
        assert r.status == 500 and "schema version 9" in r.json()["error"], (r.status, r.body)
        # no ledger: empty, not an error
        for f in os.listdir(st):
            if f.startswith("ledger.db"):
                os.unlink(os.path.join(st, f))
        assert s.get_json("/api/trips", headers=auth) == []
        assert s.get_json("/api/battery", headers=auth)["daily"] == []
    finally:
        s.stop()


if __name__ == "__main__":
    run([test_cli_json_csv_and_totals, test_cli_empty_future_and_usage,
         test_cli_reads_a_ledger_it_may_not_write,
         test_api_same_json_login_and_errors])
