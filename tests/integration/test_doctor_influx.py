"""cli/doctor_influx.c against real servers: an unreachable URL, a missing
database, a working 1.6.7, a refused password, a 2.x-shaped API (the fake)
with and without the bucket, and a spool and dead-letter file to report."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import bin_path, free_port, run  # noqa: E402
from servers import FakeInflux2, Influxd  # noqa: E402

SRC = os.path.join(os.path.dirname(__file__), "..", "..")


def doctor(influx, statedir=None):
    """leafmon doctor --json influx with an [influx] section: {check: [(level, detail, fix)]}."""
    tmp = tempfile.mkdtemp(prefix="leafmon-doctor-")
    conf = os.path.join(tmp, "leafmon.conf")
    with open(conf, "w") as f:
        f.write("[supervisor]\nrundir = %s\nstatedir = %s\n" % (
            os.path.join(tmp, "run"), statedir or tmp))
        f.write("[influx]\n" + "".join("%s = %s\n" % kv for kv in influx.items()))
    r = subprocess.run([bin_path("cli/leafmon"), "-c", conf, "doctor", "--json", "influx"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 1), (r.returncode, r.stderr)  # 1: something FAILed
    out = {}
    for e in json.loads(r.stdout):
        out.setdefault(e["check"], []).append((e["result"], e["detail"], e.get("fix", "")))
    fails = any(lvl == "FAIL" for v in out.values() for (lvl, _, _) in v)
    assert r.returncode == (1 if fails else 0), (r.returncode, out)
    return out


def level(out, check):
    return out[check][0][0]


def test_unreachable_and_missing_database():
    out = doctor({"url": "http://127.0.0.1:%d" % free_port(), "timeout_s": "2"})
    assert level(out, "influx reachable") == "FAIL", out
    assert "systemctl start influxdb" in out["influx reachable"][0][2]
    ix = Influxd().start()
    try:
        out = doctor({"url": ix.url, "database": "leaf"})
        assert level(out, "influx reachable") == "OK" and "API v1 (auto)" in out["influx reachable"][0][1]
        assert level(out, "influx database") == "FAIL", out
        assert "setup-influxdb" in out["influx database"][0][2]
        ix.create_db("leaf", sessions=False)
        ix.query('CREATE RETENTION POLICY "rp1" ON "leaf" DURATION 1d REPLICATION 1')
        out = doctor({"url": ix.url, "database": "leaf", "retention_policy": "rp1"})
        assert level(out, "influx database") == "OK" and level(out, "influx retention") == "OK", out
        out = doctor({"url": ix.url, "database": "leaf", "retention_policy": "nope"})
        assert level(out, "influx retention") == "FAIL", out
        # the sessions' RP (session_rp = forever by default): missing, finite, infinite
        assert level(out, "influx session retention") == "FAIL", out
        assert "setup-influxdb" in out["influx session retention"][0][2], out
        ix.query('CREATE RETENTION POLICY "forever" ON "leaf" DURATION 720h REPLICATION 1')
        out = doctor({"url": ix.url, "database": "leaf", "retention_policy": "rp1"})
        assert level(out, "influx session retention") == "WARN", out
        ix.query('ALTER RETENTION POLICY "forever" ON "leaf" DURATION INF')
        out = doctor({"url": ix.url, "database": "leaf", "retention_policy": "rp1"})
        assert level(out, "influx session retention") == "OK", out
        assert "infinite" in out["influx session retention"][0][1], out
    finally:
        ix.stop()


def test_refused_credentials_and_spool_report():
    ix = Influxd(auth=True).start()
    tmp = tempfile.mkdtemp(prefix="leafmon-doctor-")
    try:
        ix.query("CREATE USER root WITH PASSWORD 'Adm1n-Pass-For-Tests' WITH ALL PRIVILEGES")
        tok = os.path.join(tmp, "tok")
        with open(tok, "w") as f:
            f.write("root:wrong-password\n")
        os.chmod(tok, 0o600)
        state = os.path.join(tmp, "state")
        os.makedirs(os.path.join(state, "spool-influx"))
        with open(os.path.join(state, "spool-influx", "0000000000000000.seg"), "wb") as f:
            f.write(b"x" * 900000)
        open(os.path.join(state, "spool-influx", "0000000000000010.seg.future"), "w").close()
        with open(os.path.join(state, "influx-deadletter.lp"), "w") as f:
            f.write("# HTTP 400\nbattery x=1 1\n")
        out = doctor({"url": ix.url, "token_file": tok, "spool_max_mb": "1"}, state)
        assert level(out, "influx authorized") == "FAIL", out
        spool = out["influx spool"]
        assert spool[0][0] == "WARN" and "1 segments" in spool[0][1], spool  # 0.9 of 1 MB
        assert spool[1][0] == "WARN" and "set aside" in spool[1][1], spool
        assert level(out, "influx dead letters") == "WARN"
        with open(tok, "w") as f:
            f.write("root:Adm1n-Pass-For-Tests\n")
        out = doctor({"url": ix.url, "token_file": tok}, state)
        assert level(out, "influx authorized") == "OK", out
    finally:
        ix.stop()


def test_v2_bucket_via_fake():
    fake = FakeInflux2().start()
    tmp = tempfile.mkdtemp(prefix="leafmon-doctor-")
    try:
        pw = os.path.join(tmp, "pw")
        with open(pw, "w") as f:
            f.write("Tr4ns-Canada!Hwy\n")
        tok = os.path.join(tmp, "tok")
        subprocess.run(["python3", os.path.join(SRC, "scripts", "setup-influxdb"), "-c",
                        os.path.join(tmp, "c.conf"), "--url", fake.url, "--username", "owner",
                        "--password-file", pw, "--token-file", tok, "--admin-token-file",
                        os.path.join(tmp, "op")], check=True, capture_output=True)
        out = doctor({"url": fake.url, "token_file": tok, "org": "leaf-telemetry", "bucket": "leaf-data"})
        assert "API v2" in out["influx reachable"][0][1], out
        assert level(out, "influx bucket") == "OK", out
        assert level(out, "influx session bucket") == "OK", out  # setup-influxdb made it
        out = doctor({"url": fake.url, "token_file": tok, "org": "leaf-telemetry", "bucket": "leaf-data",
                      "session_bucket": "gone"})
        assert level(out, "influx session bucket") == "FAIL", out
        out = doctor({"url": fake.url, "token_file": tok, "org": "leaf-telemetry", "bucket": "leaf-data",
                      "session_bucket": "leaf-data"})
        assert level(out, "influx session bucket") == "WARN", out  # 52 weeks: not forever
        out = doctor({"url": fake.url, "token_file": tok, "org": "leaf-telemetry", "bucket": "other"})
        assert level(out, "influx bucket") == "FAIL", out
        with open(tok, "w") as f:
            f.write("nope\n")
        out = doctor({"url": fake.url, "token_file": tok, "org": "leaf-telemetry", "bucket": "leaf-data"})
        assert level(out, "influx authorized") == "FAIL", out
    finally:
        fake.stop()


if __name__ == "__main__":
    run([test_unreachable_and_missing_database, test_refused_credentials_and_spool_report,
         test_v2_bucket_via_fake])
