"""Helpers for the web worker's integration tests: leafmond with the real
leafmon-web and a can worker (leafmon-webfeed until the real leafmon-can is
asked for), HTTP(S) clients that keep every byte, raw sockets for requests
http.client would not send (InfluxDB comes from servers.Influxd).
Standard library only."""

import http.client
import json
import os
import socket
import ssl
import time
import urllib.parse

from harness import Leafmond, Skip, bin_path, wait_for

WEBROOT = bin_path("web/root")
WEB_BINARY = bin_path("libexec/leafmon-web")  # leafmon_worker() puts workers there


def real_can():
    """The real leafmon-can when it is built, else the stand-in feed."""
    return "real" if os.path.exists(bin_path("libexec/leafmon-can")) else "feed"


class WebStack:
    """leafmond + leafmon-web (real) + a can worker (leafmon-webfeed, or the real one
    with can="real" and can_source); other workers are test stand-ins."""

    def __init__(self, web=None, influx=None, sup=None, env=None, can="feed", cycle_s=None,
                 can_source="sim", can_extra=None):
        web_sec = {"enabled": "true", "port": "0", "root": WEBROOT}
        web_sec.update(web or {})
        influx_sec = {"enabled": "false"}
        influx_sec.update(influx or {})
        real = ("web", "can") if can == "real" else ("web",)
        env = dict(env or {})
        if cycle_s is not None:
            env["LEAFMON_WEBFEED_CYCLE_S"] = str(cycle_s)
        can_sec = {"source": can_source}
        can_sec.update(can_extra or {})
        self.d = Leafmond(real=real, env=env, sup=sup,
                          sections={"web": web_sec, "influx": influx_sec, "can": can_sec},
                          enabled=("can", "influx", "web"))
        self.relink("web", WEB_BINARY)
        if can == "real":
            cands = [bin_path("libexec/leafmon-can"), bin_path("workers/can/leafmon-can")]
            found = [c for c in cands if os.path.exists(c)]
            if not found:
                raise Skip("the real can worker is not built")
            self.relink("can", found[0])
        if can == "feed":
            self.relink("can", bin_path("tests/leafmon-webfeed"))
        self.tls = bool(web_sec.get("tls_cert"))
        self.cafile = web_sec.get("tls_cert")
        self.port = None

    def relink(self, worker, target):
        link = os.path.join(self.d.bindir, "leafmon-" + worker)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)

    def start(self, timeout=20):
        self.d.start(timeout=timeout)
        self.port = self.wait_port()
        return self

    def wait_port(self, old_pid=None):
        def port():
            w = self.d.worker("web")
            if w["state"] != "ready" or (old_pid and w["pid"] == old_pid):
                return None
            return int(w["counters"].get("port", 0)) or None
        self.port = wait_for(port, 15, "web port in the status counters")
        return self.port

    def stop(self):
        return self.d.stop()

    def pid(self, name="web"):
        return self.d.worker(name)["pid"]

    # ---- HTTP ----
    def conn(self, timeout=10, source=None):
        """source: the client's own loopback address (127.0.0.2 ...)."""
        src = (source, 0) if source else None
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.cafile)
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx, source_address=src)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=src)

    def req(self, path, method="GET", headers=None, body=None, timeout=10, source=None):
        c = self.conn(timeout, source)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, r.getheaders(), data)
        finally:
            c.close()

    def get_json(self, path, headers=None, want=200):
        r = self.req(path, headers=headers)
        assert r.status == want, "%s: %d %r" % (path, r.status, r.body[:300])
        return r.json()

    def raw(self, data, timeout=5, source=None):
        """Send raw bytes, return everything the server sends before closing (or timeout)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
        try:
            s.sendall(data)
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and _complete(out):
                    break
            return out
        finally:
            s.close()


def _complete(out):
    head, _, body = out.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def text(self):
        return self.body.decode("utf-8", "replace")


def status_line(raw):
    line = raw.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class SSE:
    """A raw /api/stream reader: events as (name, data-dict, receive time)."""

    def __init__(self, stack, headers=None, timeout=10):
        self.c = stack.conn(timeout)
        self.c.request("GET", "/api/stream", headers=headers or {})
        self.r = self.c.getresponse()
        self.buf = b""

    def events(self, until, max_events=10 ** 9):
        out = []
        while time.monotonic() < until and len(out) < max_events:
            chunk = self.r.fp.read1(65536)
            if not chunk:
                break
            now = time.time()
            self.buf += chunk
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                name, data = "message", []
                for line in block.decode().split("\n"):
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                if data:
                    out.append((name, json.loads("\n".join(data)), now))
        return out

    def close(self):
        self.c.close()


def password_file(directory, password):
    """The web worker's password file (mode 0600, as it requires) in directory."""
    path = os.path.join(directory, "password")
    with open(path, "w") as f:
        f.write(password + "\n")
    os.chmod(path, 0o600)
    return path


def qs(**kw):
    return urllib.parse.urlencode({k: v for k, v in kw.items() if v is not None})


# ---- a throwaway InfluxDB 1.x ----
