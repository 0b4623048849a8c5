#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for leafmon's writer tests (standard library only).

It forwards requests to an upstream server (InfluxDB, victoria-metrics) or,
per a script, answers them itself: any status with a body and headers (413,
429 with Retry-After, 5xx, 400, 401, ...), added latency, a connection reset,
or a hang (no answer for N seconds). It counts the line-protocol points that
the upstream stored (2xx), per (measurement+tags, timestamp), so a test can
prove "every point arrived, none twice".

Run:  faultproxy.py --upstream http://127.0.0.1:8086 [--listen 127.0.0.1:0]
                    [--port-file F]
Control (JSON over HTTP on the same port, paths under /__proxy/):
  POST /__proxy/script   [action, ...]   appended to the queue
  POST /__proxy/default  action          used when the queue is empty
  POST /__proxy/reset                    clears queue, default, counts, log
  GET  /__proxy/stats[?log=0]            counts and the request log (log=0: without)
  GET  /__proxy/keys                     [series, timestamp, times stored, destination] of every
                                         point (destination: the bucket, else the rp parameter)
An action is an object with any of:
  "match": "regex on the path" (not consumed by requests that do not match)
  "times": N (default 1)
  "delay_ms": N          wait before handling
  "status": N, "body": "...", "headers": {...}   answer without forwarding
  "reset": true          close the connection with a TCP reset
  "hang_s": N            read the request, answer nothing for N seconds
  "forward": true        forward (the default)
  "reject": "regex"      a partial write: lines matching the regex are refused,
                         the others forwarded; the answer is "status" (400) with
                         "body" where {n} is the number refused and {line} the
                         first of them (JSON-escaped). Without a matching line
                         the request is forwarded and the action stays queued.
With --tls-cert/--tls-key it serves HTTPS (for TLS verification tests).
Each logged request has "t" (arrival), "bytes" (body as sent), "raw_bytes"
(uncompressed), "wire_bytes" (request line, headers and body) and, for line
protocol, "tmin"/"tmax" (the oldest and newest timestamps in it).
"""

import argparse
import gzip
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "content-length", "host"}


def lp_keys(body):
    """(series, timestamp) of each line: series = measurement and tags as sent."""
    keys = []
    for line in body.split(b"\n"):
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        # the series ends at the first space not escaped by a backslash
        i, esc = 0, False
        while i < len(line):
            c = line[i:i + 1]
            if esc:
                esc = False
            elif c == b"\\":
                esc = True
            elif c == b" ":
                break
            i += 1
        series = line[:i].decode("utf-8", "replace")
        ts = line.rsplit(b" ", 1)[-1].decode()
        keys.append((series, ts))
    return keys


class State:
    def __init__(self, upstream):
        self.lock = threading.Lock()
        self.upstream = urllib.parse.urlsplit(upstream) if upstream else None
        self.reset()

    def reset(self):
        self.queue = []
        self.default = {"forward": True}
        self.counts = {}
        self.points = 0
        self.requests = 0
        self.by_status = {}
        self.log = []

    def push_front(self, a):
        """Give back an action that did not apply (next_action took one of its times)."""
        with self.lock:
            for q in self.queue:
                if q.get("_id") == a["_id"]:
                    q["times"] = q.get("times", 1) + 1
                    return
            a["times"] = 1
            self.queue.insert(0, a)

    def next_action(self, path):
        with self.lock:
            self.requests += 1
            for a in self.queue:
                if "match" in a and not re.search(a["match"], path):
                    continue
                a.setdefault("_id", id(a))
                a["times"] = a.get("times", 1) - 1
                if a["times"] <= 0:
                    self.queue.remove(a)
                return dict(a)
            return dict(self.default)

    def stats(self, with_log=True):
        with self.lock:
            dup = sum(c - 1 for c in self.counts.values() if c > 1)
            return {"requests": self.requests, "points": self.points,
                    "distinct": len(self.counts), "duplicates": dup,
                    "by_status": self.by_status, "queue": len(self.queue),
                    "log": self.log[-20000:] if with_log else []}

    def keys(self):
        with self.lock:
            return [[k[0], k[1], c, k[2]] for k, c in self.counts.items()]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (OSError, ValueError):
            pass  # a reset or hang we caused ourselves, or a client that gave up

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        b = self.rfile.read(n) if n else b""
        if len(b) < n:
            # the client died mid-request (a kill -9 of the writer): a real
            # server never sees a short body as a request, so neither may
            # the server behind us (it would store the lines, the last one
            # cut short: a point at a truncated timestamp)
            raise ConnectionAbortedError("request body: %d of %d bytes" % (len(b), n))
        return b

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def control(self, st):
        path = self.path.split("?")[0]
        data = self.body()
        if path == "/__proxy/stats":
            full = "log=0" not in self.path
            return self.reply(200, json.dumps(st.stats(full)).encode(), {"Content-Type": "application/json"})
        if path == "/__proxy/keys":
            return self.reply(200, json.dumps(st.keys()).encode(), {"Content-Type": "application/json"})
        with st.lock:
            if path == "/__proxy/script":
                st.queue.extend(json.loads(data))
            elif path == "/__proxy/default":
                st.default = json.loads(data)
            elif path == "/__proxy/reset":
                st.reset()
            else:
                return self.reply(404, b"unknown control path\n")
        return self.reply(204)

    def raw_body(self, body):
        try:
            return gzip.decompress(body) if self.headers.get("Content-Encoding", "") == "gzip" else body
        except OSError:
            return b""

    def record(self, st, status, body, forwarded, stored=None):
        """stored: the lines the upstream kept, when not all of the body."""
        url = urllib.parse.urlsplit(self.path)
        enc = self.headers.get("Content-Encoding", "")
        head = len(self.requestline) + 2 + 2 + sum(len(k) + len(v) + 4 for k, v in
                                                    self.headers.items())
        entry = {"method": self.command, "path": url.path, "query": dict(urllib.parse.parse_qsl(url.query)),
                 "auth": self.headers.get("Authorization", ""), "encoding": enc, "status": status,
                 "forwarded": forwarded, "bytes": len(body), "lines": 0,
                 "t": getattr(self, "t_arrival", time.time()), "t_done": time.time(),
                 "raw_bytes": 0, "wire_bytes": head + len(body)}
        if body and self.command == "POST":
            raw = self.raw_body(body)
            entry["raw_bytes"] = len(raw)
            keys = lp_keys(raw)
            entry["lines"] = len(keys)
            ts = [int(k[1]) for k in keys if k[1].lstrip("-").isdigit()]
            if ts:
                entry["tmin"], entry["tmax"] = min(ts), max(ts)
            if stored is not None:
                keys = lp_keys(stored)
                entry["stored_lines"] = len(keys)
            if forwarded and (stored is not None or 200 <= status < 300):
                with st.lock:
                    dest = entry["query"].get("bucket") or entry["query"].get("rp", "")
                    for k in keys:
                        k = (k[0], k[1], dest)
                        st.counts[k] = st.counts.get(k, 0) + 1
                    st.points += len(keys)
        with st.lock:
            st.by_status[str(status)] = st.by_status.get(str(status), 0) + 1
            st.log.append(entry)

    def forward(self, st, body, headers=None):
        up = st.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        if headers is None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        try:
            conn.request(self.command, self.path, body=body if self.command == "POST" else None,
                         headers=headers)
            r = conn.getresponse()
            data = r.read()
            hdrs = {k: v for k, v in r.getheaders() if k.lower() not in HOP}
            return r.status, data, hdrs
        except OSError as e:
            return 502, ("upstream: %s\n" % e).encode(), {}
        finally:
            conn.close()

    def partial(self, st, a, body):
        """A partial write: refuse the lines matching a["reject"], forward the rest."""
        lines = self.raw_body(body).split(b"\n")
        pat = re.compile(a["reject"].encode())
        bad = [x for x in lines if x.strip() and pat.search(x)]
        if not bad:
            st.push_front(a)
            return False
        good = b"\n".join(x for x in lines if x.strip() and not pat.search(x)) + b"\n"
        fwd = 204
        if good.strip() and st.upstream is not None:
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP | {"content-encoding"}}
            fwd, _, _ = self.forward(st, good, hdrs)
        first = json.dumps(bad[0].decode("utf-8", "replace"))[1:-1]
        out = a.get("body", "{n} refused").replace("{n}", str(len(bad))).replace("{line}", first)
        if 200 <= fwd < 300:
            self.record(st, a.get("status", 400), body, True, stored=good)
        else:
            self.record(st, fwd, body, False)
        self.reply(a.get("status", 400), out.encode(), a.get("headers"))
        return True

    def handle_one(self):
        st = self.server.state
        if self.path.startswith("/__proxy/"):
            return self.control(st)
        self.t_arrival = time.time()
        body = self.body()
        a = st.next_action(urllib.parse.urlsplit(self.path).path)
        if a.get("reject") and self.command == "POST" and self.partial(st, a, body):
            return
        if a.get("delay_ms"):
            time.sleep(a["delay_ms"] / 1000.0)
        if a.get("reset"):
            self.record(st, -1, body, False)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if a.get("hang_s"):
            self.record(st, -2, body, False)
            time.sleep(a["hang_s"])
            self.close_connection = True
            return
        if "status" in a:
            out = a.get("body", "").encode()
            self.record(st, a["status"], body, False)
            return self.reply(a["status"], out, a.get("headers"))
        if st.upstream is None:
            self.record(st, 204, body, True)
            return self.reply(204)
        status, data, hdrs = self.forward(st, body)
        self.record(st, status, body, True)
        self.reply(status, data, hdrs)

    def do_GET(self):
        self.handle_one()

    def do_POST(self):
        self.handle_one()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", default="", help="http://host:port (empty: answer 204 itself)")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="and this key")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    srv = Server((host, int(port)), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(args.upstream)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    print("faultproxy on %s:%d -> %s" % (host, srv.server_address[1], args.upstream or "(none)"),
          flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
