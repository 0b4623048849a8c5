#!/usr/bin/env python3
"""A small fake of InfluxDB 2.x's HTTP API for testing scripts/setup-influxdb
and the writer's v2 path where no real 2.x server is available (Debian ships
1.6.7 only). It implements what those use, with 2.x's status codes: /ping
(X-Influxdb-Version: v2.7.4), /api/v2/setup (GET, POST), /api/v2/orgs (GET,
POST), /api/v2/buckets (GET, POST, PATCH), /api/v2/authorizations (GET,
POST), /api/v2/write (token with write permission on the bucket), and
GET /__fake/state for the test. Tokens are checked on every /api/v2 call
except setup. Standard library only.

Run: fakeinflux2.py --port-file F
"""

import argparse
import http.server
import json
import os
import secrets
import socketserver
import sys
import threading
import urllib.parse


class Fake:
    def __init__(self):
        self.lock = threading.Lock()
        self.users, self.orgs, self.buckets, self.auths = [], [], [], []
        self.calls = {}
        self.lines = 0
        self.writes = []

    def new_id(self):
        return secrets.token_hex(8)

    def auth(self, header):
        if not header or not header.startswith("Token "):
            return None
        tok = header[6:]
        return next((a for a in self.auths if a["token"] == tok and a["status"] == "active"), None)


def op_token(a):
    return a is not None and any(p["action"] == "write" and p["resource"]["type"] == "orgs"
                                 for p in a["permissions"])


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, obj=None, headers=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def err(self, status, code, msg):
        self.send(status, {"code": code, "message": msg})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self, method):
        f = self.server.fake
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        raw = self.body()
        with f.lock:
            key = "%s %s" % (method, u.path if not u.path.startswith("/api/v2/buckets/") else
                             "/api/v2/buckets/{id}")
            f.calls[key] = f.calls.get(key, 0) + 1
            if u.path == "/ping":
                return self.send(204, headers={"X-Influxdb-Version": "v2.7.4",
                                               "X-Influxdb-Build": "OSS"})
            if u.path == "/__fake/state":
                return self.send(200, {"users": f.users, "orgs": f.orgs, "buckets": f.buckets,
                                       "auths": f.auths, "calls": f.calls, "lines": f.lines,
                                       "writes": f.writes[-50:]})
            if u.path == "/api/v2/setup":
                return self.onboarding(f, method, raw)
            a = f.auth(self.headers.get("Authorization"))
            if a is None:
                return self.err(401, "unauthorized", "unauthorized access")
            if u.path == "/api/v2/write" and method == "POST":
                return self.write(f, a, q, raw)
            if u.path == "/api/v2/buckets" and method == "GET" and not op_token(a):
                return self.readable_buckets(f, a, q)
            if not op_token(a):
                return self.err(403, "forbidden", "insufficient permissions")
            return self.manage(f, method, u.path, q, raw)

    def onboarding(self, f, method, raw):
        if method == "GET":
            return self.send(200, {"allowed": not f.users})
        if f.users:
            return self.err(422, "conflict", "onboarding has already been completed")
        req = json.loads(raw)
        for k in ("username", "password", "org", "bucket"):
            if not req.get(k):
                return self.err(422, "unprocessable entity", "missing " + k)
        if len(req["password"]) < 8:
            return self.err(422, "unprocessable entity", "passwords must be at least 8 characters long")
        user = {"id": f.new_id(), "name": req["username"]}
        org = {"id": f.new_id(), "name": req["org"]}
        secs = req.get("retentionPeriodSeconds", 0)
        bucket = {"id": f.new_id(), "orgID": org["id"], "name": req["bucket"],
                  "retentionRules": [{"type": "expire", "everySeconds": secs}] if secs else []}
        auth = {"id": f.new_id(), "token": secrets.token_urlsafe(32), "status": "active",
                "orgID": org["id"], "description": req["username"] + "'s Token",
                "permissions": [{"action": act, "resource": {"type": t}}
                                for t in ("orgs", "buckets", "authorizations") for act in ("read", "write")]}
        f.users.append(user)
        f.orgs.append(org)
        f.buckets.append(bucket)
        f.auths.append(auth)
        self.send(201, {"user": user, "org": org, "bucket": bucket, "auth": auth})

    def readable_buckets(self, f, a, q):
        """2.x lists only the buckets a token may read."""
        ids = {p["resource"].get("id") for p in a["permissions"]
               if p["action"] == "read" and p["resource"]["type"] == "buckets"}
        org = next((o for o in f.orgs if o["name"] == q.get("org")), None)
        bs = [b for b in f.buckets if b["id"] in ids and ("name" not in q or b["name"] == q["name"])
              and (org is None or b["orgID"] == org["id"])]
        return self.send(200, {"buckets": bs})

    def manage(self, f, method, path, q, raw):
        if path == "/api/v2/orgs" and method == "GET":
            orgs = [o for o in f.orgs if "org" not in q or o["name"] == q["org"]]
            if "org" in q and not orgs:
                return self.err(404, "not found", "organization name \"%s\" not found" % q["org"])
            return self.send(200, {"orgs": orgs})
        if path == "/api/v2/orgs" and method == "POST":
            org = {"id": f.new_id(), "name": json.loads(raw)["name"]}
            f.orgs.append(org)
            return self.send(201, org)
        if path == "/api/v2/buckets" and method == "GET":
            org = next((o for o in f.orgs if o["name"] == q.get("org")), None)
            bs = [b for b in f.buckets if ("name" not in q or b["name"] == q["name"]) and
                  ("orgID" not in q or b["orgID"] == q["orgID"]) and
                  ("org" not in q or (org is not None and b["orgID"] == org["id"]))]
            return self.send(200, {"buckets": bs})
        if path == "/api/v2/buckets" and method == "POST":
            req = json.loads(raw)
            if any(b["name"] == req["name"] and b["orgID"] == req["orgID"] for b in f.buckets):
                return self.err(422, "conflict", "bucket with name %s already exists" % req["name"])
            b = {"id": f.new_id(), "orgID": req["orgID"], "name": req["name"],
                 "retentionRules": req.get("retentionRules", [])}
            f.buckets.append(b)
            return self.send(201, b)
        if path.startswith("/api/v2/buckets/") and method == "PATCH":
            b = next((b for b in f.buckets if b["id"] == path.rsplit("/", 1)[1]), None)
            if b is None:
                return self.err(404, "not found", "bucket not found")
            b["retentionRules"] = json.loads(raw).get("retentionRules", [])
            return self.send(200, b)
        if path == "/api/v2/authorizations" and method == "GET":
            return self.send(200, {"authorizations": [a for a in f.auths
                                                      if "orgID" not in q or a["orgID"] == q["orgID"]]})
        if path == "/api/v2/authorizations" and method == "POST":
            req = json.loads(raw)
            a = {"id": f.new_id(), "token": secrets.token_urlsafe(32), "status": "active",
                 "orgID": req["orgID"], "description": req.get("description", ""),
                 "permissions": req["permissions"]}
            f.auths.append(a)
            return self.send(201, a)
        return self.err(404, "not found", "path not found")

    def write(self, f, a, q, raw):
        org = next((o for o in f.orgs if o["name"] == q.get("org") or o["id"] == q.get("org")), None)
        if org is None:
            return self.err(404, "not found", "organization name \"%s\" not found" % q.get("org"))
        b = next((b for b in f.buckets if b["orgID"] == org["id"] and b["name"] == q.get("bucket")), None)
        if b is None:
            return self.err(404, "not found", "bucket \"%s\" not found" % q.get("bucket"))
        if q.get("precision", "ns") not in ("ns", "us", "ms", "s"):
            return self.err(400, "invalid", "invalid precision %s" % q.get("precision"))
        allowed = any(p["action"] == "write" and p["resource"]["type"] == "buckets" and
                      p["resource"].get("id") in (None, b["id"]) for p in a["permissions"])
        if not allowed:
            return self.err(403, "forbidden", "insufficient permissions for write")
        n = sum(1 for x in raw.split(b"\n") if x.strip())
        f.lines += n
        f.writes.append({"org": q.get("org"), "bucket": q.get("bucket"),
                         "precision": q.get("precision"), "lines": n})
        self.send(204)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PATCH(self):
        self.route("PATCH")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), H)
    srv.fake = Fake()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
