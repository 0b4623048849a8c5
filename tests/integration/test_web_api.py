"""leafmon-web's HTTP API against a running leafmond: every route, every
parameter error, static files and path traversal (encoded too), request
size limits, connection limits, the login gate (cookie, bearer, CSRF,
failure limit, secrets never echoed), TLS with a certificate made here,
and a clean stop with clients attached."""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Skip, measure, pid_alive, run, wait_for  # noqa: E402
from webtest import SSE, WebStack, qs, real_can, status_line  # noqa: E402

PASSWORD = "leaf-Password-123"


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)


def test_routes_without_login():
    s = WebStack().start()
    try:
        # the port is in `leafmon status` for people and tests alike
        r = s.d.cli("status", check=True)
        assert "web" in r.stdout
        assert int(s.d.worker("web")["counters"]["port"]) == s.port

        latest = wait_for(lambda: s.get_json("/api/latest") if "battery_soc_pct" in
                          s.get_json("/api/latest")["signals"] else None, 10, "snapshot values")
        sig = latest["signals"]
        assert sig["battery_soh_pct"]["v"] == 87.5 and sig["battery_gids_full"]["v"] == 281, sig
        assert sig["vehicle_gear"]["v"] in ("P", "D"), sig["vehicle_gear"]
        assert sig["battery_main_relay_on"]["v"] is True
        assert set(sig["battery_soc_pct"]) == {"v", "t", "stale", "bus"}
        cli = json.loads(s.d.cli("snapshot", "--json", check=True).stdout)
        assert set(cli["signals"]) == set(sig), set(cli["signals"]) ^ set(sig)
        assert cli["generation"] == latest["generation"]

        two = s.get_json("/api/latest?signals=battery_soc_pct,vehicle_gear")
        assert set(two["signals"]) == {"battery_soc_pct", "vehicle_gear"}

        cat = s.get_json("/api/signals")
        by = {x["name"]: x for x in cat}
        assert by["vehicle_gear"]["labels"] == ["P", "R", "N", "D", "B"]
        assert by["battery_voltage_v"] == {"id": 2, "name": "battery_voltage_v", "unit": "V",
                                           "group": "battery", "type": "float", "labels": None,
                                           "description": "Pack voltage (0x1DB)"}
        assert "motor_temp_c" not in by  # provisional: not published
        assert all(set(x) == {"id", "name", "unit", "group", "type", "labels", "description"}
                   for x in cat)

        api = s.get_json("/api/status")
        cli = s.d.status()
        assert set(api) == set(cli), set(api) ^ set(cli)
        assert [w["name"] for w in api["workers"]] == [w["name"] for w in cli["workers"]]
        assert s.d.worker("web", api)["state"] == "ready"
        assert api["clock"]["boot_id"] == cli["clock"]["boot_id"]

        sse = SSE(s)
        assert sse.r.status == 200 and sse.r.getheader("Content-Type") == "text/event-stream"
        evs = sse.events(time.monotonic() + 1.5)
        sse.close()
        assert evs[0][0] == "snapshot" and "battery_soc_pct" in evs[0][1]["signals"], evs[0]
        seqs = [e[1]["seq"] for e in evs if e[0] == "sample"]
        assert len(seqs) >= 8 and seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        assert all(isinstance(e[1]["v"], dict) for e in evs[1:])

        now = int(time.time())
        h = s.get_json("/api/history?" + qs(signals="vehicle_speed_kmh,battery_soc_pct",
                                             **{"from": now - 120, "to": now + 1, "step": 1}))
        assert h["source"] == "ring" and h["step"] == 1 and h["points"] >= 2, h
        assert len(h["t"]) == h["points"] == len(h["series"]["vehicle_speed_kmh"])
        assert h["t"] == sorted(h["t"])
        assert all(v is None or 0 <= v <= 91 for v in h["series"]["vehicle_speed_kmh"])

        r = s.req("/api/export.csv?" + qs(signals="vehicle_speed_kmh,vehicle_gear",
                                          **{"from": now - 120, "to": now + 1, "step": 1}))
        assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
        assert r.header("Content-Disposition").startswith("attachment; filename=\"leafmon-")
        lines = r.text().split("\r\n")
        assert lines[0] == "time,vehicle_speed_kmh,vehicle_gear", lines[0]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z,[0-9.]*,[PRNDB]?$", lines[1]), lines[1]

        m = s.req("/metrics")
        assert m.status == 200 and m.header("Content-Type").startswith("text/plain; version=0.0.4")
        text = m.text()
        for want in ("leafmon_battery_soc_ratio ", 'leafmon_worker_up{worker="web"} 1',
                     'leafmon_worker_state{worker="can",state="ready"} 1', "leafmon_web_sse_clients",
                     'leafmon_vehicle_gear{label="', "leafmon_status_available 1",
                     'leafmon_worker_stat{worker="can",name="samples"}'):
            assert want in text, want
        soc = float(re.search(r"^leafmon_battery_soc_ratio (\S+)$", text, re.M).group(1))
        assert abs(soc - latest["signals"]["battery_soc_pct"]["v"] / 100) < 0.05, soc

        sess = s.get_json("/api/session")
        assert sess == {"auth_required": False, "authenticated": True, "control": False,
                        "tls": False}, sess
        r = s.req("/api/control/restart?worker=influx", method="POST")
        assert r.status == 403 and "password_file" in r.json()["error"], r.body
    finally:
        s.stop()


# what `promtool check metrics` and Prometheus's naming page ask (Debian's
# promtool 2.42 checks only some of it)
ABBREVIATED = {"s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "m", "h", "d", "a", "v",
               "c", "kw", "kwh", "pct", "kmh", "km", "nm", "mv", "rpm", "ah"}
NOT_BASE = {"minutes", "hours", "days", "miles", "kilowatts", "percent", "counter", "gauge"}


def lint_metrics(text):
    problems, types, helps = [], {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            words = set(name.split("_")[1:])
            if words & ABBREVIATED or words & NOT_BASE:
                problems.append("%s: %s" % (name, sorted(words & (ABBREVIATED | NOT_BASE))))
            if (kind == "counter") != name.endswith("_total"):
                problems.append("%s: a %s %s _total" % (name, kind, "without" if kind == "counter"
                                                         else "with"))
        elif line and not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            if name not in types or name not in helps:
                problems.append("%s: no TYPE or HELP before its samples" % name)
    return problems, types


def test_metrics_pass_promtool():
    """/metrics with every signal the real can worker's simulator sends and
    the status document: promtool's lint, and the naming rules it leaves out."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise Skip("promtool is not installed (Debian's prometheus package; "
                   "scripts/install-deps --test installs it)")
    s = WebStack(can=real_can()).start()
    try:
        want = ("leafmon_can_frames_total", "leafmon_battery_temp_avg_celsius",
                "leafmon_worker_stat", "leafmon_sync_dropped_total")
        text = wait_for(lambda: (lambda t: t if all(w in t for w in want) else None)(
            s.req("/metrics").text()), 20, "signals and status in /metrics")
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                           timeout=30)
        out = (p.stdout + p.stderr).decode()
        assert p.returncode == 0 and out.strip() == "", out
        problems, types = lint_metrics(text)
        assert problems == [], problems
        assert types["leafmon_can_frames_total"] == "counter", types
        assert types["leafmon_battery_energy_out_joules_total"] == "counter", types
        assert "leafmon_vehicle_speed_meters_per_second" in types, sorted(types)
        measure("web_metrics_families", len(types), "metric families, promtool clean")
    finally:
        s.stop()


def test_static_files_and_headers():
    s = WebStack().start()
    try:
        for path, ctype in (("/", "text/html"), ("/index.html", "text/html"),
                            ("/login.html", "text/html"), ("/app.js", "text/javascript"),
                            ("/style.css", "text/css"), ("/vendor/uPlot.iife.min.js", "text/javascript"),
                            ("/vendor/uPlot.min.css", "text/css"), ("/favicon.svg", "image/svg+xml")):
            r = s.req(path)
            assert r.status == 200, (path, r.status)
            assert r.header("Content-Type").startswith(ctype), (path, r.header("Content-Type"))
            assert r.header("X-Content-Type-Options") == "nosniff"
            assert r.header("X-Frame-Options") == "DENY"
            if ctype == "text/html":
                assert "default-src 'self'" in r.header("Content-Security-Policy")
        r = s.req("/app.js")
        etag = r.header("ETag")
        assert etag and s.req("/app.js", headers={"If-None-Match": etag}).status == 304
        assert s.req("/nothing.js").status == 404
        assert s.req("/vendor").status == 404  # a directory
        r = s.req("/app.js?v=123")
        assert r.status == 200  # cache-busting queries on files are harmless
        head = s.req("/api/latest", method="HEAD")
        assert head.status == 200 and head.body == b""
    finally:
        s.stop()


def test_parameter_errors_are_400_json():
    s = WebStack().start()
    try:
        now = int(time.time())
        bad = [
            "/api/history?signals=nope",
            "/api/history?signals=motor_temp_c",
            "/api/history?signals=battery_soc_pct,battery_soc_pct",
            "/api/history?signals=" + ",".join(["battery_soc_pct"] * 1) + ",," + "vehicle_speed_kmh",
            "/api/history?signals=",
            "/api/history",
            "/api/history?" + qs(signals=",".join(x["name"] for x in s.get_json("/api/signals")[:25])),
            "/api/history?" + qs(signals="battery_soc_pct", **{"from": "yesterday"}),
            "/api/history?" + qs(signals="battery_soc_pct", to="2024-02-30T00:00:00Z"),
            "/api/history?" + qs(signals="battery_soc_pct", **{"from": now, "to": now - 10}),
            "/api/history?" + qs(signals="battery_soc_pct", **{"from": 0, "to": now}),
            "/api/history?" + qs(signals="battery_soc_pct", step="0"),
            "/api/history?" + qs(signals="battery_soc_pct", step="-5"),
            "/api/history?" + qs(signals="battery_soc_pct", step="1.5"),
            "/api/history?" + qs(signals="battery_soc_pct", step="1e3"),
            "/api/history?" + qs(signals="battery_soc_pct", step="99999999999999999999"),
            "/api/history?" + qs(signals="battery_soc_pct", step="1", **{"from": now - 86400}),
            "/api/history?" + qs(signals="battery_soc_pct", points="0"),
            "/api/history?" + qs(signals="battery_soc_pct", points="5001"),
            "/api/history?" + qs(signals="battery_soc_pct", points="abc"),
            "/api/history?" + qs(signals="battery_soc_pct", points="10", step="60"),
            "/api/history?" + qs(signals="battery_soc_pct", bogus="1"),
            "/api/history?signals=battery_soc_pct&signals=vehicle_speed_kmh",
            "/api/export.csv?" + qs(signals="battery_soc_pct", step="1", **{"from": now - 86400}),
            "/api/export.csv?signals=nope",
            "/api/latest?signals=nope",
            "/api/latest?foo=bar",
            "/api/status?x=1",
            "/metrics?format=json",
        ]
        for path in bad:
            r = s.req(path)
            assert r.status == 400, (path, r.status, r.body)
            assert r.header("Content-Type") == "application/json", path
            assert r.json()["error"], path
        r = s.req("/api/export.csv?" + qs(signals="battery_soc_pct", step="2", **{"from": now - 86400}))
        assert r.status == 200, r.body[:200]  # 43200 rows: within the export's limit
        assert s.req("/api/nope").status == 404
        assert s.req("/api/nope").json()["error"] == "no such API route"
        r = s.req("/api/latest", method="POST", body=b"")
        assert r.status == 405 and r.header("Allow") == "GET, HEAD", r.headers
        r = s.req("/api/login", method="GET")
        assert r.status == 405 and r.header("Allow") == "POST"
        assert s.req("/api/latest", method="DELETE").status == 405
        assert s.req("/index.html", method="PUT", body=b"x").status == 405
        assert s.d.worker("web")["state"] == "ready"
    finally:
        s.stop()


TRAVERSALS = [
    "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/..%2f..%2f..%2fetc%2fpasswd", "/vendor/../../../etc/passwd", "/.%2e/.%2e/etc/passwd",
    "/%252e%252e/%252e%252e/etc/passwd", "/index.html%00.png", "/..\\..\\etc\\passwd",
    "/%5c..%5c..%5cetc%5cpasswd", "//etc/passwd", "/.git/config", "/login.html/../../etc/passwd",
    "/vendor/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/./index.html", "/../" + "a/" * 100 + "etc/passwd",
]


def test_path_traversal_is_404():
    s = WebStack().start()
    try:
        for path in TRAVERSALS:
            raw = s.raw(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
            code = status_line(raw)
            assert code in (400, 404), (path, raw[:200])
            assert b"root:" not in raw and b"[core]" not in raw, path
        # the worker's own files outside the root are not reachable either
        leaf = os.path.basename(s.d.conf)
        for path in ("/../" + leaf, "/%2e%2e/%2e%2e/" + leaf):
            assert status_line(s.raw(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())) == 404
        assert s.d.worker("web")["state"] == "ready"
    finally:
        s.stop()


def test_request_size_limits():
    s = WebStack().start()
    try:
        big_header = b"X-Big: " + b"a" * 40000 + b"\r\n"
        raw = s.raw(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big_header + b"\r\n")
        assert status_line(raw) == 431 and b"battery" not in raw, raw[:200]
        raw = s.raw(b"GET /api/latest?" + b"a" * 40000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status_line(raw) == 414 and b"battery" not in raw, raw[:200]
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(3000))
        raw = s.raw(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n")
        assert status_line(raw) == 431 and b"battery" not in raw, raw[:200]
        r = s.req("/api/login", method="POST", body=b"password=" + b"x" * 5000,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 413, r.status
        raw = s.raw(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n")
        assert status_line(raw) == 413, raw[:200]
        raw = s.raw(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    (b"1000\r\n" + b"x" * 4096 + b"\r\n") * 3 + b"0\r\n\r\n")
        assert status_line(raw) == 413, raw[:200]
        raw = s.raw(b"GARBAGE\r\n\r\n")
        assert status_line(raw) in (400, None), raw[:100]
        assert s.get_json("/api/latest")["signals"]
        assert s.d.worker("web")["state"] == "ready"
    finally:
        s.stop()


def test_connection_limits():
    s = WebStack(web={"max_clients": "12", "max_per_ip": "6"}).start()
    socks = []
    try:
        def idle():
            c = socket.create_connection(("127.0.0.1", s.port), timeout=3)
            c.sendall(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
            return c
        for _ in range(6):
            socks.append(idle())
        time.sleep(0.3)  # let the worker accept all six
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=3)
        extra.sendall(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            got = extra.recv(1000)
        except ConnectionResetError:
            got = b""
        extra.close()
        assert got == b"", got[:100]  # closed without an answer: the 7th from one address
        for c in socks[:3]:
            c.close()
        socks = socks[3:]
        # room again once clients leave
        wait_for(lambda: s.req("/api/latest", timeout=2).status == 200, 5, "a free slot")
        # SSE clients count too
        streams = [SSE(s, timeout=3) for _ in range(3)]
        try:
            c = socket.create_connection(("127.0.0.1", s.port), timeout=3)
            c.sendall(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try:
                got = c.recv(1000)
            except ConnectionResetError:
                got = b""
            c.close()
            assert got == b"", got[:100]
        finally:
            for x in streams:
                x.close()
        assert s.d.worker("web")["state"] == "ready"
    finally:
        for c in socks:
            c.close()
        s.stop()


def login(s, password=PASSWORD, extra=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(extra or {})
    return s.req("/api/login", method="POST", body=qs(password=password), headers=h)


def cookie_of(r):
    m = re.match(r"leafmon_session=([0-9a-f]*);", r.header("Set-Cookie") or "")
    return m.group(1) if m else None


def test_login_gate_cookie_bearer_csrf():
    tmp = tempfile.mkdtemp(prefix="leafmon-web-secrets-")
    pwfile = os.path.join(tmp, "web.password")
    tokfile = os.path.join(tmp, "influx.token")
    write_secret(pwfile, PASSWORD)
    write_secret(tokfile, "influx-SECRET-token-xyz")
    s = WebStack(web={"password_file": pwfile},
                 influx={"enabled": "true", "url": "http://127.0.0.1:9", "token_file": tokfile})
    s.start()
    try:
        # locked: API 401 with a challenge, pages redirect to the login page
        for path in ("/api/latest", "/api/status", "/api/signals", "/api/stream", "/metrics",
                     "/api/history?signals=battery_soc_pct", "/api/export.csv?signals=battery_soc_pct",
                     "/app.js", "/vendor/uPlot.iife.min.js"):
            r = s.req(path)
            assert r.status == 401, (path, r.status)
            if path.startswith("/api") or path == "/metrics":
                assert r.header("WWW-Authenticate") == 'Bearer realm="leafmon"'
        for path in ("/", "/index.html"):
            r = s.req(path)
            assert r.status == 303 and r.header("Location") == "/login.html", (path, r.status)
        for path in ("/login.html", "/login.js", "/style.css", "/favicon.svg"):
            assert s.req(path).status == 200, path
        assert s.get_json("/api/session") == {"auth_required": True, "authenticated": False,
                                              "control": False, "tls": False}
        assert s.req("/api/control/restart?worker=influx", method="POST").status == 401

        # bearer: the password itself works for API clients
        assert s.req("/api/latest", headers={"Authorization": "Bearer nope"}).status == 401
        assert s.req("/api/latest", headers={"Authorization": "Basic " + PASSWORD}).status == 401
        assert s.req("/metrics", headers={"Authorization": "Bearer " + PASSWORD}).status == 200

        # login
        assert login(s, "wrong").status == 401
        assert login(s, "").status == 401
        assert s.req("/api/login", method="POST", body="user=x",
                     headers={"Content-Type": "application/x-www-form-urlencoded"}).status == 400
        assert login(s, extra={"Origin": "http://evil.example"}).status == 403
        r = login(s)
        assert r.status == 200, r.body
        sc = r.header("Set-Cookie")
        for part in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"):
            assert part in sc, sc
        assert "Secure" not in sc  # no TLS here
        tok = cookie_of(r)
        assert tok and len(tok) == 64, sc
        ck = {"Cookie": "leafmon_session=" + tok}
        assert s.req("/api/latest", headers=ck).status == 200
        assert s.req("/", headers=ck).status == 200
        sess = s.get_json("/api/session", headers=ck)
        assert sess["authenticated"] and sess["control"] and len(sess["csrf"]) == 64
        assert sess["csrf"] != tok
        assert s.req("/api/latest", headers={"Cookie": "leafmon_session=" + "0" * 64}).status == 401
        assert s.req("/api/latest", headers={"Authorization": "Bearer " + tok}).status == 200

        # control: login and CSRF both needed
        csrf = sess["csrf"]
        old = s.pid("influx")
        path = "/api/control/restart?worker=influx"
        assert s.req(path, method="POST", headers=ck).status == 403
        assert s.req(path, method="POST", headers=dict(ck, **{"X-CSRF-Token": "0" * 64})).status == 403
        assert s.req(path, method="POST", headers=dict(ck, **{"X-CSRF-Token": csrf, "Origin":
                                                              "http://evil.example"})).status == 403
        assert s.req(path, method="POST", headers=dict(ck, **{"X-CSRF-Token": csrf,
                                                              "Sec-Fetch-Site": "cross-site"})).status == 403
        assert s.pid("influx") == old
        r = s.req(path, method="POST", headers=dict(ck, **{"X-CSRF-Token": csrf,
                                                           "Origin": "http://127.0.0.1:%d" % s.port}))
        assert r.status == 200 and r.json()["ok"], r.body
        wait_for(lambda: s.d.worker("influx")["pid"] != old and
                 s.d.worker("influx")["state"] == "ready", 10, "influx restarted from the web")
        r = s.req("/api/control/restart", method="POST", body="worker=can",
                  headers={"Authorization": "Bearer " + PASSWORD,
                           "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 200, r.body  # a bearer client needs no CSRF token
        r = s.req("/api/control/restart?worker=leafmond", method="POST",
                  headers={"Authorization": "Bearer " + PASSWORD})
        assert r.status == 400

        # secrets never come back, from any route, nor go to the log
        seen = b""
        for path in ("/api/latest", "/api/status", "/api/signals", "/metrics", "/api/session",
                     "/api/history?signals=battery_soc_pct", "/", "/app.js"):
            r = s.req(path, headers=ck)
            seen += r.body + repr(r.headers).encode()
        sse = SSE(s, headers=ck)
        for _, d, _ in sse.events(time.monotonic() + 0.5):
            seen += json.dumps(d).encode()
        sse.close()
        for secret in (PASSWORD, tok, "influx-SECRET-token-xyz"):
            assert secret.encode() not in seen, secret
            assert secret not in s.d.logtext(), secret

        # logout ends the session
        r = s.req("/api/logout", method="POST", headers=dict(ck, **{"X-CSRF-Token": csrf}))
        assert r.status == 200 and "Max-Age=0" in r.header("Set-Cookie")
        assert s.req("/api/latest", headers=ck).status == 401

        # the failure limit: after 10 wrong guesses a minute (3 were made above) even the
        # right password waits
        codes = [login(s, "guess").status for _ in range(10)]
        assert codes == [401] * 7 + [429] * 3, codes
        r = login(s)
        assert r.status == 429 and 0 < int(r.header("Retry-After")) <= 60, r.headers
        r = s.req("/api/latest", headers={"Authorization": "Bearer " + PASSWORD})
        assert r.status == 429
        measure("web_login_failures_before_limit", 10, "per 60 s")
    finally:
        s.stop()


def test_session_survives_web_restart():
    tmp = tempfile.mkdtemp(prefix="leafmon-web-secrets-")
    pwfile = os.path.join(tmp, "web.password")
    write_secret(pwfile, PASSWORD)
    s = WebStack(web={"password_file": pwfile}).start()
    try:
        tok = cookie_of(login(s))
        ck = {"Cookie": "leafmon_session=" + tok}
        old = s.pid()
        s.d.cli("restart", "web", check=True)
        s.wait_port(old_pid=old)
        assert s.req("/api/latest", headers=ck).status == 200
        st = os.stat(os.path.join(s.d.statedir, "web-sessions"))
        assert st.st_mode & 0o777 == 0o600
        with open(os.path.join(s.d.statedir, "web-sessions")) as f:
            assert tok not in f.read()
    finally:
        s.stop()


def make_cert(d):
    if subprocess.run(["which", "openssl"], capture_output=True).returncode != 0:
        raise Skip("openssl not installed")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def test_tls_with_a_self_signed_certificate():
    tmp = tempfile.mkdtemp(prefix="leafmon-web-tls-")
    cert, key = make_cert(tmp)
    pwfile = os.path.join(tmp, "web.password")
    write_secret(pwfile, PASSWORD)
    s = WebStack(web={"tls_cert": cert, "tls_key": key, "password_file": pwfile}).start()
    try:
        assert s.d.worker("web")["counters"]["tls"] == 1
        r = login(s)
        assert r.status == 200 and "; Secure" in r.header("Set-Cookie"), r.headers
        ck = {"Cookie": "leafmon_session=" + cookie_of(r)}
        wait_for(lambda: "battery_soc_pct" in s.get_json("/api/latest", headers=ck)["signals"], 10,
                 "values over TLS")
        assert s.get_json("/api/session", headers=ck)["tls"] is True
        # plain HTTP on the TLS port gets no answer worth the name
        raw = s.raw(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert b"battery" not in raw
        # an untrusting client refuses the self-signed certificate
        ctx = ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw_sock:
            try:
                with ctx.wrap_socket(raw_sock, server_hostname="127.0.0.1"):
                    ok = True
            except ssl.SSLCertVerificationError:
                ok = False
        assert not ok
    finally:
        s.stop()


def test_stop_with_clients_attached():
    s = WebStack().start()
    try:
        streams = [SSE(s) for _ in range(20)]
        for x in streams:
            assert x.events(time.monotonic() + 2, max_events=1)
        pid = s.pid()
        t0 = time.monotonic()
        s.d.cli("stop", "web", check=True)
        s.d.wait_states({"web": "stopped"}, timeout=10)
        took = time.monotonic() - t0
        measure("web_stop_with_20_sse_clients_ms", round(took * 1000, 1), "ms")
        assert not pid_alive(pid)
        w = s.d.worker("web")
        assert "0" in (w["last_exit"] or "exit 0") and "SIG" not in (w["last_exit"] or ""), w
        for x in streams:  # every stream ended
            x.events(time.monotonic() + 2)
            x.close()
    finally:
        s.stop()


if __name__ == "__main__":
    run([test_routes_without_login, test_metrics_pass_promtool, test_static_files_and_headers,
         test_parameter_errors_are_400_json, test_path_traversal_is_404, test_request_size_limits,
         test_connection_limits, test_login_gate_cookie_bearer_csrf,
         test_session_survives_web_restart, test_tls_with_a_self_signed_certificate,
         test_stop_with_clients_attached])
