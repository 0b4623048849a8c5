"""scripts/setup-influxdb against a real InfluxDB 1.6.7 (with and without
authentication) and, for the 2.x path, against tests/tools/fakeinflux2.py (no
2.x server is packaged for Debian): what it creates, that a second run
changes nothing, weak passwords refused, token files 0600, the config
updated in place, and the writer then writing with those settings."""

import os
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, run, secret, wait_for  # noqa: E402
from servers import FakeInflux2, Influxd, http  # noqa: E402
from test_influx import Rig, total_points  # noqa: E402

SCRIPT = os.path.join(SRC, "scripts", "setup-influxdb")
STRONG = "Tr4ns-Canada!Hwy"


def setup(*args, expect=0):
    r = subprocess.run(["python3", SCRIPT] + list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != expect:
        raise AssertionError("setup-influxdb %s: exit %d (want %d)\n%s%s" % (
            " ".join(args), r.returncode, expect, r.stdout, r.stderr))
    return r.stdout + r.stderr


def conf_with_other_sections(tmp):
    p = os.path.join(tmp, "leafmon.conf")
    with open(p, "w") as f:
        f.write("; my car\n[supervisor]\nvehicle = blue leaf\n\n[influx]\nurl = http://old:8086 ; was\n"
                "precision = ms\n\n[web]\nport = 8080\n")
    return p


def keys(path, section="influx"):
    out, sec = {}, None
    for line in open(path):
        line = line.strip()
        if line.startswith("["):
            sec = line.strip("[]")
        elif "=" in line and sec == section:
            k, v = line.split("=", 1)
            out[k.strip()] = v.split(" ;")[0].strip()
    return out


def test_v1_database_and_retention_policy_idempotent():
    ix = Influxd().start()
    tmp = tempfile.mkdtemp(prefix="leafmon-setup-")
    conf = conf_with_other_sections(tmp)
    try:
        out = setup("-c", conf, "--url", ix.url, "--database", "leaf", "--retention-policy", "leafmon",
                    "--retention", "52w", "--token-file", os.path.join(tmp, "t"))
        assert "created   database leaf" in out and "created   retention policy leafmon" in out, out
        rps = ix.query('SHOW RETENTION POLICIES ON "leaf"', epoch=None)["series"][0]["values"]
        rp = next(r for r in rps if r[0] == "leafmon")
        assert rp[1] == "8736h0m0s" and rp[4] is True, rp
        forever = next(r for r in rps if r[0] == "forever")  # the sessions': infinite, not default
        assert forever[1] == "0s" and forever[4] is False, forever
        assert "created   retention policy forever on leaf: INF (sessions)" in out, out
        k = keys(conf)
        assert k["api"] == "v1" and k["database"] == "leaf" and k["retention_policy"] == "leafmon", k
        assert k["session_rp"] == "forever", k
        assert k["url"] == ix.url, k
        assert keys(conf, "web") == {"port": "8080"} and keys(conf, "supervisor")["vehicle"] == "blue leaf"
        assert "; my car" in open(conf).read()
        before = open(conf).read()
        out = setup("-c", conf, "--url", ix.url, "--database", "leaf", "--retention-policy", "leafmon",
                    "--retention", "52w")
        assert "created" not in out and "altered" not in out and "is current" in out, out
        assert open(conf).read() == before
        out = setup("-c", conf, "--url", ix.url, "--retention", "30d")
        assert "altered   retention policy leafmon" in out, out
        rps = ix.query('SHOW RETENTION POLICIES ON "leaf"', epoch=None)["series"][0]["values"]
        assert next(r for r in rps if r[0] == "leafmon")[1] == "720h0m0s"
        # a sessions' RP someone made finite is made infinite again; the same name as the
        # samples' RP is refused (it would keep the samples forever)
        ix.query('ALTER RETENTION POLICY "forever" ON "leaf" DURATION 720h', epoch=None)
        out = setup("-c", conf, "--url", ix.url, "--retention", "30d")
        assert "altered   retention policy forever: 720h0m0s -> INF (sessions)" in out, out
        out = setup("-c", conf, "--url", ix.url, "--session-rp", "leafmon", expect=2)
        assert "--session-rp must differ" in out, out
    finally:
        ix.stop()


def test_v1_with_auth_admin_writer_user_and_the_writer_uses_it():
    ix = Influxd(auth=True).start()
    tmp = tempfile.mkdtemp(prefix="leafmon-setup-")
    conf = os.path.join(tmp, "leafmon.conf")
    tok = os.path.join(tmp, "influx.token")
    admin_pw = secret(tmp, "admin.pw", "Adm1n-Pass-For-Tests")
    user_pw = secret(tmp, "user.pw", STRONG)
    args = ["-c", conf, "--url", ix.url, "--admin-user", "root", "--admin-password-file", admin_pw,
            "--user", "leafmon", "--password-file", user_pw, "--token-file", tok]
    try:
        setup("-c", conf, "--url", ix.url, expect=2)  # auth on: admin needed
        out = setup(*args)
        assert "created   admin user root" in out and "created   user leafmon" in out, out
        assert stat.S_IMODE(os.stat(tok).st_mode) == 0o600
        assert open(tok).read().strip() == "leafmon:" + STRONG
        assert keys(conf)["token_file"] == tok
        out = setup(*args)
        assert "created" not in out, out
        # the writer authenticates with user:password from the token file
        rig = Rig(ix.url, 500, influx={"token_file": tok, "database": "leaf",
                                       "retention_policy": "leafmon"}).start()
        try:
            def count():
                res = ix.query('SELECT count("battery_voltage_v") FROM "leafmon"."battery"', db="leaf",
                               auth="root:Adm1n-Pass-For-Tests")
                s = res.get("series")
                return s[0]["values"][0][1] if s else 0
            wait_for(lambda: count() == 500, 30, "500 points written with basic auth")
        finally:
            rig.stop()
    finally:
        ix.stop()


def test_weak_passwords_refused():
    ix = Influxd(auth=True).start()
    tmp = tempfile.mkdtemp(prefix="leafmon-setup-")
    try:
        for pw in ("short1!A", "passwordpassword", "aaaaaaaaaaaaaaaa", "Root-is-the-user-42",
                   "alllowercaseletters", "MyLeafCar-2013!x", "123456789012"):
            p = secret(tmp, "pw", pw)
            out = setup("-c", os.path.join(tmp, "c.conf"), "--url", ix.url, "--admin-user", "root",
                        "--admin-password-file", p, expect=2)
            assert "refused: password" in out, (pw, out)
        st, body, _ = http("POST", ix.url + "/query", "q=SHOW+USERS",
                           {"Content-Type": "application/x-www-form-urlencoded"})
        assert b"create admin user first" in body, body  # nothing was created
    finally:
        ix.stop()


def test_v2_setup_against_fake_then_idempotent_then_the_writer():
    fake = FakeInflux2().start()
    tmp = tempfile.mkdtemp(prefix="leafmon-setup-")
    conf = conf_with_other_sections(tmp)
    tok = os.path.join(tmp, "influx.token")
    op = os.path.join(tmp, "operator.token")
    pw = secret(tmp, "admin.pw", STRONG)
    args = ["-c", conf, "--url", fake.url, "--org", "leaf-telemetry", "--bucket", "leaf-data",
            "--retention", "365d", "--username", "owner", "--password-file", pw, "--token-file", tok,
            "--admin-token-file", op]
    try:
        out = setup(*args)
        assert "created   initial setup" in out and "created   write token" in out, out
        st = fake.state()
        rules = {b["name"]: [r["everySeconds"] for r in b["retentionRules"]] for b in st["buckets"]}
        assert rules == {"leaf-data": [365 * 86400], "leaf-sessions": []}, rules  # [] = forever
        writer = [a for a in st["auths"] if a["description"].startswith("leafmon writer")]
        assert len(writer) == 1 and open(tok).read().strip() == writer[0]["token"]
        assert {p["action"] for p in writer[0]["permissions"]} == {"write", "read"}
        ids = {b["id"] for b in st["buckets"]}
        assert {p["resource"]["id"] for p in writer[0]["permissions"] if p["action"] == "write"} == ids
        assert stat.S_IMODE(os.stat(tok).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(op).st_mode) == 0o600
        k = keys(conf)
        assert (k["api"], k["org"], k["bucket"], k["token_file"]) == ("v2", "leaf-telemetry", "leaf-data", tok)
        assert k["session_bucket"] == "leaf-sessions", k
        calls = dict(st["calls"])
        out = setup(*args)  # set up already: uses the operator token, creates nothing
        st = fake.state()
        posts = {c: n - calls.get(c, 0) for c, n in st["calls"].items() if c.startswith(("POST", "PATCH"))}
        assert not any(posts.values()), posts
        assert "write token for buckets leaf-data and leaf-sessions exists" in out, out
        assert "bucket leaf-sessions exists (retention forever, sessions)" in out, out
        out = setup(*(args[:-6] + ["--retention", "30d", "--token-file", tok, "--admin-token-file", op]))
        assert "altered   bucket leaf-data retention" in out, out
        assert fake.state()["buckets"][0]["retentionRules"][0]["everySeconds"] == 30 * 86400
        # and the writer writes there with that token (v2, org, bucket, precision)
        rig = Rig(fake.url, 300, influx={"token_file": tok, "org": "leaf-telemetry",
                                         "bucket": "leaf-data"}).start()
        try:
            wait_for(lambda: fake.state()["lines"] >= total_points(300), 30, "points at the fake")
            w = fake.state()["writes"][-1]
            assert (w["org"], w["bucket"], w["precision"]) == ("leaf-telemetry", "leaf-data", "ms"), w
            assert fake.state()["lines"] == total_points(300)
        finally:
            rig.stop()
        with open(tok, "w") as f:
            f.write("stolen\n")
        setup("-c", conf, "--url", fake.url, "--admin-token-file", tok, "--token-file", tok, expect=1)
    finally:
        fake.stop()


if __name__ == "__main__":
    run([test_v1_database_and_retention_policy_idempotent,
         test_v1_with_auth_admin_writer_user_and_the_writer_uses_it,
         test_weak_passwords_refused,
         test_v2_setup_against_fake_then_idempotent_then_the_writer])
