"""Real servers for the writer tests, as plain processes on loopback free
ports with temporary directories, stopped at exit even when a test fails:
InfluxDB 1.6.7 (influxd), victoria-metrics, vmauth, and our own fault-
injecting proxy (tests/tools/faultproxy.py). Standard library only; shared
by the influx and the cloud writer's tests."""

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import SRC, Skip, free_port, wait_for

_running = []


def _stop_all():
    for s in list(_running):
        try:
            s.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(_stop_all)


def http(method, url, body=None, headers=None, timeout=10):
    """(status, body bytes, headers dict); status 0 when there is no answer."""
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b"", {}


class _Proc:
    name = "server"

    def __init__(self, tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="leafmon-%s-" % self.name)
        self.proc = None
        self.log = os.path.join(self.tmp, self.name + ".log")

    def _spawn(self, argv, env=None):
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     env=e, start_new_session=True)
        if self not in _running:
            _running.append(self)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self in _running:
            _running.remove(self)

    def kill9(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        if self in _running:
            _running.remove(self)

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Influxd(_Proc):
    """A throwaway InfluxDB 1.x: `influxd run -config FILE` with its own
    meta/data/wal dirs, HTTP on 127.0.0.1:PORT, RPC on another free port."""
    name = "influxd"

    def __init__(self, tmp=None, auth=False):
        super().__init__(tmp)
        if shutil.which("influxd") is None:
            raise Skip("influxd not installed (Debian package influxdb)")
        self.port = free_port()
        self.rpc_port = free_port()
        self.auth = auth
        self.url = "http://127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.tmp, "influxdb.conf")
        self._write_conf()

    def _write_conf(self):
        d = self.tmp
        with open(self.conf, "w") as f:
            f.write("""reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%s/meta"
[data]
  dir = "%s/data"
  wal-dir = "%s/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  auth-enabled = %s
  log-enabled = false
[logging]
  level = "warn"
""" % (self.rpc_port, d, d, d, self.port, "true" if self.auth else "false"))

    def start(self, timeout=30):
        self._spawn(["influxd", "run", "-config", self.conf, "-pidfile",
                     os.path.join(self.tmp, "influxd.pid")])
        wait_for(lambda: http("GET", self.url + "/ping", timeout=1)[0] == 204, timeout,
                 "influxd /ping on %s" % self.url, interval=0.05)
        return self

    def query(self, q, db=None, epoch="ns", auth=None, method="POST"):
        params = {"q": q, "epoch": epoch}
        if db:
            params["db"] = db
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth:
            import base64
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        st, body, _ = http(method, self.url + "/query", urllib.parse.urlencode(params), headers)
        if st != 200:
            raise AssertionError("query %r: HTTP %d %s" % (q, st, body[:300]))
        res = json.loads(body)["results"][0]
        if "error" in res:
            raise AssertionError("query %r: %s" % (q, res["error"]))
        return res

    def create_db(self, name, auth=None, sessions=True):
        """The database, and (as scripts/setup-influxdb makes it) the sessions'
        infinite retention policy `forever`, which the writers use for trips,
        charges, parks and battery_daily."""
        self.query('CREATE DATABASE "%s"' % name, auth=auth)
        if sessions:
            self.query('CREATE RETENTION POLICY "forever" ON "%s" DURATION INF REPLICATION 1' % name,
                       auth=auth)

    def write(self, db, lines, precision="ms"):
        """POST /write: lines, a string or a list of lines; (status, body)."""
        if not isinstance(lines, (str, bytes)):
            lines = "\n".join(lines)
        st, body, _ = http("POST", "%s/write?db=%s&precision=%s" % (self.url, db, precision), lines)
        return st, body

    def load(self, db, lines):
        """Lines (ms precision) that must be taken: HTTP 204."""
        st, body = self.write(db, lines)
        assert st == 204, (st, body[:300])

    def rows(self, db, measurement, where=""):
        """Every point of a measurement as dicts (time in ns)."""
        res = self.query('SELECT * FROM "%s" %s' % (measurement, where), db=db)
        out = []
        for s in res.get("series", []):
            cols = s["columns"]
            for v in s["values"]:
                out.append(dict(zip(cols, v)))
        return out

    def count(self, db, measurement, field):
        res = self.query('SELECT count("%s") FROM "%s"' % (field, measurement), db=db)
        s = res.get("series")
        return s[0]["values"][0][1] if s else 0


class VictoriaMetrics(_Proc):
    """victoria-metrics: accepts /api/v2/write and /write (line protocol)."""
    name = "victoria-metrics"

    def __init__(self, tmp=None, dedup=True):
        super().__init__(tmp)
        if shutil.which("victoria-metrics") is None:
            raise Skip("victoria-metrics not installed")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.dedup = dedup

    def start(self, timeout=30):
        argv = ["victoria-metrics", "-storageDataPath=" + os.path.join(self.tmp, "data"),
                "-httpListenAddr=127.0.0.1:%d" % self.port, "-retentionPeriod=100y",
                "-search.latencyOffset=0s", "-loggerLevel=WARN"]
        if self.dedup:
            argv.append("-dedup.minScrapeInterval=1ms")
        self._spawn(argv)
        wait_for(lambda: http("GET", self.url + "/health", timeout=1)[0] == 200, timeout,
                 "victoria-metrics /health", interval=0.05)
        return self

    def flush(self):
        http("POST", self.url + "/internal/force_flush")

    def export(self, match):
        """Series as dicts {metric, values, timestamps} for a match[] selector."""
        self.flush()
        st, body, _ = http("POST", self.url + "/api/v1/export",
                           urllib.parse.urlencode({"match[]": match}),
                           {"Content-Type": "application/x-www-form-urlencoded"})
        if st != 200:
            raise AssertionError("export: HTTP %d %s" % (st, body[:200]))
        return [json.loads(x) for x in body.decode().splitlines() if x.strip()]


class VMAuth(_Proc):
    """vmauth in front of a victoria-metrics: checks `Authorization: Token T`
    (missing header 401, wrong token 400)."""
    name = "vmauth"

    def __init__(self, upstream_url, token, tmp=None):
        super().__init__(tmp)
        if shutil.which("vmauth") is None:
            raise Skip("vmauth not installed")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.conf = os.path.join(self.tmp, "auth.yml")
        with open(self.conf, "w") as f:
            f.write('users:\n  - bearer_token: "%s"\n    url_prefix: "%s"\n' % (token, upstream_url))

    def start(self, timeout=30):
        self._spawn(["vmauth", "-auth.config=" + self.conf,
                     "-httpListenAddr=127.0.0.1:%d" % self.port, "-loggerLevel=WARN"])
        wait_for(lambda: http("GET", self.url + "/health", timeout=1)[0] in (200, 401, 400),
                 timeout, "vmauth listening", interval=0.05)
        return self


class FaultProxy(_Proc):
    """tests/tools/faultproxy.py in front of `upstream` (see its docstring)."""
    name = "faultproxy"

    def __init__(self, upstream="", tmp=None, tls=None):
        """tls: (cert, key) PEM files to serve HTTPS (the URL then names
        localhost, as a certificate for it would)."""
        super().__init__(tmp)
        self.upstream = upstream
        self.port_file = os.path.join(self.tmp, "port")
        self.url = None
        self.tls = tls

    def start(self, timeout=15):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        tool = os.path.join(SRC, "tests", "tools", "faultproxy.py")
        argv = ["python3", tool, "--upstream", self.upstream, "--port-file", self.port_file]
        if self.tls:
            argv += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        self._spawn(argv)
        wait_for(lambda: os.path.exists(self.port_file), timeout, "faultproxy port file")
        with open(self.port_file) as f:
            port = f.read().strip()
        self.url = ("https://localhost:%s" if self.tls else "http://127.0.0.1:%s") % port
        # the control channel is plain HTTP on the same port only without TLS
        self.ctl_url = None if self.tls else self.url
        return self

    def _ctl(self, path, obj=None):
        if self.ctl_url is None:
            raise AssertionError("faultproxy: no control channel over TLS (use a plain one)")
        get = obj is None and (path.startswith("stats") or path == "keys")
        st, body, _ = http("GET" if get else "POST",
                           self.ctl_url + "/__proxy/" + path,
                           json.dumps(obj) if obj is not None else (None if get else b""))
        if st not in (200, 204):
            raise AssertionError("faultproxy %s: HTTP %d %s" % (path, st, body[:200]))
        return json.loads(body) if body else None

    def script(self, *actions):
        self._ctl("script", list(actions))

    def default(self, action):
        self._ctl("default", action)

    def reset(self):
        self._ctl("reset", {})

    def stats(self, log=True):
        return self._ctl("stats" if log else "stats?log=0")

    def keys(self, dest=None, sessions=("leaf-sessions", "forever")):
        """{(series, timestamp): times stored} of every point the upstream took
        for the destination `dest` (a bucket, else an rp); by default of
        every destination but the sessions' (their defaults)."""
        out = {}
        for series, ts, n, d in self._ctl("keys"):
            if d == dest if dest is not None else d not in sessions:
                out[(series, ts)] = out.get((series, ts), 0) + n
        return out


class FakeInflux2(_Proc):
    """tests/tools/fakeinflux2.py: the parts of InfluxDB 2.x's API that
    setup-influxdb and the writer use (no real 2.x server in Debian)."""
    name = "fakeinflux2"

    def __init__(self, tmp=None):
        super().__init__(tmp)
        self.port_file = os.path.join(self.tmp, "port")
        self.url = None

    def start(self, timeout=15):
        tool = os.path.join(SRC, "tests", "tools", "fakeinflux2.py")
        self._spawn(["python3", tool, "--port-file", self.port_file])
        wait_for(lambda: os.path.exists(self.port_file), timeout, "fakeinflux2 port file")
        with open(self.port_file) as f:
            self.url = "http://127.0.0.1:%s" % f.read().strip()
        return self

    def state(self):
        st, body, _ = http("GET", self.url + "/__fake/state")
        if st != 200:
            raise AssertionError("fake state: HTTP %d" % st)
        return json.loads(body)
