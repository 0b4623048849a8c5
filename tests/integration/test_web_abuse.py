"""leafmon-web against what an adversarial pass found (issue 10, sections 6
and 7), one regression test each: failed logins limited per client address
(sessions and other addresses pass), slot holding (slowloris heads, SSE
clients that never read), JSON errors always valid UTF-8, the Host check
against DNS rebinding, libmicrohttpd 0.9.75's HEAD and bad Content-Length
answers, a restart of the web worker answered first, a parameter without a
value, and an SSE client leaving counted instead of warned about. Client
addresses other than 127.0.0.1 are loopback ones (127.0.0.2 ...)."""

import http.client
import json
import os
import re
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import measure, run, wait_for  # noqa: E402
from webtest import SSE, WebStack, password_file, qs, status_line  # noqa: E402

PASSWORD = "abuse-Password-789"
HEAD_DEADLINE_S = 15  # workers/web/web.h WEB_HEAD_DEADLINE_S
SSE_STALL_S = 20  # WEB_SSE_STALL_S


def abuse_password():
    return password_file(tempfile.mkdtemp(prefix="leafmon-web-abuse-"), PASSWORD)


def login(s, password, source=None):
    return s.req("/api/login", method="POST", body=qs(password=password), source=source,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})


def counter(s, name):
    return s.d.worker("web")["counters"].get(name, 0)


def test_login_limit_is_per_address():
    """Guesses from one address do not lock out the owner elsewhere, nor any
    session; that address's own password attempts wait."""
    s = WebStack(web={"password_file": abuse_password()}).start()
    try:
        r = login(s, PASSWORD)
        tok = re.match(r"leafmon_session=([0-9a-f]{64});", r.header("Set-Cookie")).group(1)
        evil = "127.0.0.2"
        codes = [login(s, "guess%d" % i, source=evil).status for i in range(12)]
        assert codes == [401] * 10 + [429] * 2, codes
        assert login(s, PASSWORD, source=evil).status == 429  # not even checked
        bearer = s.req("/api/latest", headers={"Authorization": "Bearer " + PASSWORD}, source=evil)
        assert bearer.status == 429 and int(bearer.header("Retry-After")) > 0, bearer.headers
        # the owner, from its own address, and every session, from anywhere
        assert login(s, PASSWORD).status == 200
        assert s.req("/api/latest", headers={"Authorization": "Bearer " + PASSWORD},
                     source="127.0.0.3").status == 200
        assert s.req("/api/latest", headers={"Authorization": "Bearer " + tok},
                     source=evil).status == 200
        assert s.req("/api/latest", headers={"Cookie": "leafmon_session=" + tok},
                     source=evil).status == 200
    finally:
        s.stop()


def trickle(sock_list, period, stop):
    """Send one more header line on each socket every period seconds."""
    while not stop.wait(period):
        for c in sock_list:
            try:
                c.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass


def closed_by_server(c, timeout=3):
    c.settimeout(timeout)
    try:
        return c.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def answered(s, source):
    try:
        return s.req("/api/signals", timeout=2, source=source).status == 200
    except (OSError, http.client.HTTPException):
        return False


def test_slowloris_does_not_hold_the_slots():
    """8 addresses x 32 connections (all 256 slots at the defaults) sending
    a request head a line at a time, every 20 s (one of each 32 every
    second): within the head deadline they are closed, and others get in."""
    s = WebStack().start()
    slow, fast, stop = [], [], threading.Event()
    try:
        for a in range(2, 10):
            for k in range(32):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=5,
                                             source_address=("127.0.0.%d" % a, 0))
                c.sendall(b"GET /api/latest HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                (fast if k == 0 else slow).append(c)
        threads = [threading.Thread(target=trickle, args=(slow, 20, stop), daemon=True),
                   threading.Thread(target=trickle, args=(fast, 1, stop), daemon=True)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        assert not answered(s, "127.0.0.10"), "the slots were not all taken"
        wait_for(lambda: answered(s, "127.0.0.10"), HEAD_DEADLINE_S + 10,
                 "a slot for a client that sends its request")
        took = time.monotonic() - t0
        measure("web_slowloris_slots_free_after_s", round(took, 1), "s (8 x 32 slow heads)")
        assert took >= HEAD_DEADLINE_S - 3, took  # the deadline, not something sooner
        assert all(closed_by_server(c) for c in fast), "a head trickled every second was kept"
        assert sum(closed_by_server(c, 0.2) for c in slow) == len(slow)
        wait_for(lambda: counter(s, "head_timeouts") >= 256, 10, "the timeouts counted")
        assert s.d.worker("web")["state"] == "ready"
    finally:
        stop.set()
        for c in slow + fast:
            c.close()
        s.stop()


def test_sse_client_that_never_reads_is_dropped():
    """A stream client with a tiny receive buffer that never reads: once the
    kernel's buffers are full its data waits; after SSE_STALL_S it is
    dropped and counted, while a client that reads keeps its stream."""
    s = WebStack(can_extra={"publish_interval_ms": "10"}).start()
    reader = SSE(s, timeout=10)
    try:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", s.port))
        c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        t0 = time.monotonic()
        got = []
        def dropped():
            got.extend(reader.events(time.monotonic() + 0.5))
            return counter(s, "sse_stalled") >= 1
        wait_for(dropped, SSE_STALL_S + 40, "the stalled client dropped")
        took = time.monotonic() - t0
        measure("web_sse_stalled_client_dropped_after_s", round(took, 1), "s")
        assert took >= SSE_STALL_S, took
        c.settimeout(5)
        data = b""
        while True:  # what was buffered, then the end of the stream
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:100]
        c.close()
        assert counter(s, "sse_stalled") == 1  # the reader was not dropped
        seqs = [d["seq"] for n, d, _ in got if n == "sample"]
        assert len(seqs) > took * 20, len(seqs)  # it kept receiving all along
        assert seqs == sorted(seqs)
    finally:
        reader.close()
        s.stop()


def test_sse_client_leaving_is_counted_not_warned():
    s = WebStack().start()
    try:
        for i in range(5):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert c.recv(100).startswith(b"HTTP/1.1 200")
            if i % 2 == 0:  # leave hard (RST) while samples flow; else a plain close
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
        wait_for(lambda: counter(s, "sse_gone") >= 5, 15, "the departures counted")
        wait_for(lambda: "leafmon_web_sse_disconnects_total 5" in s.req("/metrics").text(), 10,
                 "and in /metrics")
        log = s.d.logtext()
        assert "Failed to send" not in log and "mhd:" not in log, log[-2000:]
    finally:
        s.stop()


def strict_json(r):
    text = r.body.decode("utf-8")  # raises on anything but valid UTF-8
    return json.loads(text)


def test_json_errors_are_valid_utf8():
    s = WebStack().start()
    try:
        r = s.raw(b"GET /api/latest?signals=%ff HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Connection: close\r\n\r\n")
        body = r.split(b"\r\n\r\n", 1)[1]
        assert status_line(r) == 400
        err = json.loads(body.decode("utf-8"))["error"]
        assert "\ufffd" in err, err
        # echoed values are cut on a character boundary
        r = s.req("/api/history?" + qs(signals="battery_soc_pct", step="1234567890123456789\u00e9x"))
        err = strict_json(r)["error"]
        assert r.status == 400 and "'1234567890123456789'" in err, err
        r = s.req("/api/latest?" + qs(**{"a" + "\u00e9" * 10: "1"}))
        err = strict_json(r)["error"]
        assert r.status == 400 and "\ufffd" not in err and err.startswith("unknown parameter"), err
        r = s.req("/api/control/restart?" + qs(worker="\u20ac" * 10), method="POST")
        assert r.status in (400, 403) and strict_json(r)["error"]
    finally:
        s.stop()


def test_host_check_without_a_password():
    """DNS rebinding: a page of another site whose name now resolves here
    sends that name; without a password it gets 421, this server's own
    names and addresses do not."""
    s = WebStack(web={"server_name": "leaf.example.org, leafpi"}).start()
    try:
        for host in ("evil.example", "evil.example:%d" % s.port, "leaf.example.org.evil",
                     "127.0.0.1.nip.io"):
            r = s.req("/api/latest", headers={"Host": host})
            assert r.status == 421 and "server_name" in strict_json(r)["error"], (host, r.status)
            assert s.req("/", headers={"Host": host}).status == 421, host
        for host in ("127.0.0.1:%d" % s.port, "localhost:%d" % s.port, "[::1]:%d" % s.port,
                     "LEAF.example.org", "leafpi:%d" % s.port, socket.gethostname()):
            assert s.req("/api/latest", headers={"Host": host}).status == 200, host
        wait_for(lambda: counter(s, "host_refused") >= 8, 10, "the refusals counted")
    finally:
        s.stop()
    # with a password the login decides, whatever the name
    s = WebStack(web={"password_file": abuse_password()}).start()
    try:
        assert s.req("/api/latest", headers={"Host": "evil.example"}).status == 401
        assert s.req("/api/latest", headers={"Host": "evil.example",
                                             "Authorization": "Bearer " + PASSWORD}).status == 200
    finally:
        s.stop()


def test_head_on_streams_and_bad_content_length():
    """HEAD on the streamed routes is 405 (MHD 0.9.75 would end it with a
    chunk terminator, out of step with a keep-alive client), and a
    Content-Length MHD cannot parse gets one answer, not two header blocks."""
    s = WebStack().start()
    try:
        c = s.conn()
        for path in ("/api/stream", "/api/export.csv?signals=battery_soc_pct"):
            c.request("HEAD", path)
            r = c.getresponse()
            r.read()
            assert r.status == 405 and r.getheader("Allow") == "GET", (path, r.status)
            c.request("GET", "/api/session")  # the same connection is still in step
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read())["authenticated"], path
        c.close()
        assert s.req("/api/latest", method="HEAD").status == 200
        for cl, want in ((b"abc", 400), (b"-1", 400), (b"5, 6", 400), (b"1e3", 400), (b"", 400),
                         (b"99999999999999999999999", 413), (b"99999999999", 413)):
            raw = s.raw(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + cl +
                        b"\r\n\r\n")
            assert raw.count(b"HTTP/1.1 ") == 1 and status_line(raw) == want, (cl, raw[:400])
            assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"], raw
        raw = s.raw(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                    b"Content-Length: 6\r\n\r\n")
        assert raw.count(b"HTTP/1.1 ") == 1 and status_line(raw) == 400, raw[:300]
        wait_for(lambda: counter(s, "head_refused") >= 8, 10, "counted")
        assert s.d.worker("web")["state"] == "ready"
    finally:
        s.stop()


def test_parameter_without_a_value_is_400():
    s = WebStack().start()
    try:
        for path in ("/api/latest?signals", "/api/history?signals=battery_soc_pct&step",
                     "/api/export.csv?signals"):
            r = s.req(path)
            assert r.status == 400 and "has no value" in strict_json(r)["error"], (path, r.body)
        assert s.req("/api/latest?signals=battery_soc_pct").status == 200
    finally:
        s.stop()


def test_restart_of_the_web_worker_is_answered_first():
    s = WebStack(web={"password_file": abuse_password()}).start()
    try:
        old = s.pid()
        r = s.req("/api/control/restart?worker=web", method="POST",
                  headers={"Authorization": "Bearer " + PASSWORD})
        assert r.status == 202 and strict_json(r)["ok"] is True, (r.status, r.body)
        s.wait_port(old_pid=old)
        assert s.pid() != old
        assert s.req("/api/latest", headers={"Authorization": "Bearer " + PASSWORD}).status == 200
    finally:
        s.stop()


if __name__ == "__main__":
    run([test_login_limit_is_per_address, test_slowloris_does_not_hold_the_slots,
         test_sse_client_that_never_reads_is_dropped, test_sse_client_leaving_is_counted_not_warned,
         test_json_errors_are_valid_utf8, test_host_check_without_a_password,
         test_head_on_streams_and_bad_content_length, test_parameter_without_a_value_is_400,
         test_restart_of_the_web_worker_is_answered_first])
