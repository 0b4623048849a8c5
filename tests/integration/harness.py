"""Test harness for leafmon's integration tests: start leafmond (with test
workers or the real ones) in a temporary directory, ask it for its status,
poll with deadlines (never bare sleeps for correctness), and record
measurements. Standard library only."""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.environ.get("LEAFMON_BUILD", os.path.abspath("build"))
SRC = os.environ.get("LEAFMON_SRC", os.path.abspath("."))
DATA = os.environ.get("LEAFMON_DATA", os.path.join(SRC, "..", "shared", "data", "leaf"))
ARTIFACTS = os.environ.get("LEAFMON_ARTIFACTS", os.path.join(BUILD, "artifacts"))

WORKERS = ("can", "influx", "cloud", "web", "mqtt", "abrp", "ledger")
REAL_BINARIES = {w: "libexec/leafmon-" + w for w in WORKERS}


class Skip(Exception):
    pass


def bin_path(rel):
    return os.path.join(BUILD, rel)


def measure(name, value, unit=""):
    """Print a measurement and keep it in artifacts/measurements.txt."""
    line = "MEASURE %s %s %s" % (name, value, unit)
    print("     " + line, flush=True)
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, "measurements.txt"), "a") as f:
        f.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), line))


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred() until it returns a true value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - a failing probe is retried
            last_exc = e
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s%s" % (
        timeout, what, (" (last error: %r)" % last_exc) if last_exc else ""))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive for our purposes
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def secret(tmp, name, text):
    """A 0600 file of one line in tmp (tokens, passwords): its path."""
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text + "\n")
    os.chmod(p, 0o600)
    return p


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Leafmond:
    """One leafmond in its own temporary directory."""

    def __init__(self, tmp=None, real=(), env=None, sup=None, sections=None, enabled=WORKERS):
        self.tmp = tmp or tempfile.mkdtemp(prefix="leafmon-it-")
        self.rundir = os.path.join(self.tmp, "run")
        self.statedir = os.path.join(self.tmp, "state")
        self.bindir = os.path.join(self.tmp, "bin")
        os.makedirs(self.bindir, exist_ok=True)
        for w in WORKERS:
            target = bin_path(REAL_BINARIES[w]) if w in real else bin_path("tests/leafmon-testworker")
            link = os.path.join(self.bindir, "leafmon-" + w)
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env.pop("NOTIFY_SOCKET", None)
        self.sup = {
            "rundir": self.rundir, "statedir": self.statedir, "worker_dir": self.bindir,
            "restart_min_ms": "50", "restart_max_ms": "1000", "heartbeat_timeout_s": "3",
            "stop_timeout_s": "3", "journal_mb": "4", "log_level": "info",
        }
        self.sup.update(sup or {})
        self.sections = {"can": {"source": "sim"}, "influx": {"enabled": "true"},
                         "cloud": {"enabled": "false"}, "web": {"enabled": "true", "port": "0"}}
        if "cloud" in enabled:
            self.sections["cloud"] = {"enabled": "true", "org": "test", "api": "v1", "token_file": ""}
        for w in ("influx", "web"):
            if w not in enabled:
                self.sections[w]["enabled"] = "false"
        for k, v in (sections or {}).items():
            self.sections.setdefault(k, {}).update(v)
        self.conf = os.path.join(self.tmp, "leafmon.conf")
        self.write_config()
        self.proc = None
        self.log = os.path.join(self.tmp, "leafmond.log")

    def write_config(self, extra=""):
        lines = ["[supervisor]"] + ["%s = %s" % kv for kv in self.sup.items()]
        for sec, kv in self.sections.items():
            lines.append("[%s]" % sec)
            lines += ["%s = %s" % item for item in kv.items()]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)

    def start(self, wait_ready=True, timeout=20):
        self.proc = subprocess.Popen([bin_path("supervisor/leafmond"), "-c", self.conf],
                                     env=self.env, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        if wait_ready:
            self.wait_states(timeout=timeout)
        return self

    def cli(self, *args, check=False, timeout=20):
        r = subprocess.run([bin_path("cli/leafmon"), "-c", self.conf] + list(args),
                           env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("leafmon %s: exit %d: %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def status(self):
        r = self.cli("status", "--json")
        if r.returncode not in (0, 4):
            raise AssertionError("status: exit %d: %s" % (r.returncode, r.stderr))
        return json.loads(r.stdout)

    def worker(self, name, st=None):
        st = st or self.status()
        for w in st["workers"]:
            if w["name"] == name:
                return w
        raise KeyError(name)

    def wait_states(self, want=None, timeout=20):
        """Wait until every worker is in the wanted state (default: ready or disabled)."""
        def ok():
            st = self.status()
            for w in st["workers"]:
                target = (want or {}).get(w["name"], ("ready", "disabled"))
                if isinstance(target, str):
                    target = (target,)
                if w["state"] not in target:
                    return None
            return st
        return wait_for(ok, timeout, "worker states %s" % (want or "ready"))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        self.check_sanitizers()
        return code, time.monotonic() - t0

    def check_sanitizers(self):
        """Fail when a sanitizer (ASan, UBSan, LSan, TSan) reported anything in
        leafmond's log, which also collects the workers' stderr."""
        log = self.logtext()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "WARNING: ThreadSanitizer"):
            i = log.find(marker)
            if i >= 0:
                raise AssertionError("sanitizer report in %s:\n%s" % (self.log, log[max(0, i - 200):i + 3000]))

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def logtext(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""


def catalogue():
    """signal name -> (group, type) from common/signals*.def; the group is
    the InfluxDB measurement."""
    import re
    out = {}
    for name in ("signals.def", "signals_cells.def"):
        with open(os.path.join(SRC, "common", name)) as f:
            for m in re.finditer(r"^SIG\(\d+,\s*(\w+),\s*\"[^\"]*\",\s*(\w+),\s*(\w+)",
                                 f.read(), re.M):
                out[m.group(1)] = (m.group(2).lower(), m.group(3))
    return out


def decoded(path, skip_groups=()):
    """{(measurement, t_ms): {field: value}} as `leafmon decode` cuts the
    log, without the groups named in skip_groups."""
    r = subprocess.run([bin_path("cli/leafmon"), "decode", "--json", path], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-500:]
    cat = catalogue()
    out = {}
    for line in r.stdout.splitlines():
        sample = json.loads(line)
        t_ms = round(sample.pop("t") * 1e6) // 1000
        for name, v in sample.items():
            if cat[name][0] not in skip_groups:
                out.setdefault((cat[name][0], t_ms), {})[name] = v
    return out


def cut_inside_a_record(path, newest=0.75):
    """A power cut mid-write: truncate a spool segment at a random byte
    strictly inside one of its records, among the newest fraction of them
    (spool/spool_fmt.h: 64-byte segment header, records of a 32-byte header
    with the payload length at offset 4). Returns (size before, cut)."""
    import random
    with open(path, "rb") as f:
        b = f.read()
    starts, off = [], 64
    while off + 32 <= len(b):
        ln = int.from_bytes(b[off + 4:off + 8], "little")
        starts.append((off, off + 32 + ln))
        off += 32 + ln
    if not starts:
        return len(b), len(b)
    start, end = random.choice(starts[int(len(starts) * (1 - newest)):])
    cut = random.randint(start + 1, end - 1)
    os.truncate(path, cut)
    return len(b), cut


def kill_everything(d):
    """SIGKILL leafmond and every worker at once (a power cut, as the
    processes see it)."""
    pids = [w["pid"] for w in d.status()["workers"] if w.get("pid")]
    d.kill9()
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: not any(pid_alive(p) for p in pids), 10, "everything dead")


class WriterRig:
    """leafmond with leafmon-samplepub standing in for the can worker
    (deterministic samples: count, rate, base_ms, step_ms) and one real
    writer (influx or cloud) configured by its section."""

    def __init__(self, worker, section, spool, count, rate, step_ms, env=None, sup=None,
                 base_ms=None, vehicle=None):
        # an hour ago by default: old enough never to wait for the clock
        self.base_ms = base_ms or (int(time.time()) - 3600) * 1000
        self.count, self.rate, self.step_ms = count, rate, step_ms
        self.worker, self.spool = worker, spool
        e = {"LEAFMON_SAMPLEPUB": self.pub_env(count)}
        e.update(env or {})
        s = {"vehicle": vehicle} if vehicle else {}
        s.update(sup or {})
        self.d = Leafmond(real=(worker,), enabled=("can", worker), env=e, sup=s,
                          sections={worker: section})
        link = os.path.join(self.d.bindir, "leafmon-can")
        os.unlink(link)
        os.symlink(bin_path("tests/leafmon-samplepub"), link)

    def pub_env(self, count):
        return "count=%d,rate=%d,base_ms=%d,step_ms=%d" % (count, self.rate, self.base_ms,
                                                            self.step_ms)

    def start(self):
        self.d.start()
        return self

    def stop(self):
        return self.d.stop()

    def writer(self):
        return self.d.worker(self.worker)

    def ledger(self):
        return self.writer()["ledger"] or {}

    def counters(self):
        return self.writer().get("counters") or {}

    def alerts(self):
        return {a["code"]: a for a in self.writer()["alerts"]}

    def published(self):
        return self.d.worker("can")["counters"].get("next_seq", 1) - 1

    def spool_dir(self):
        return os.path.join(self.d.statedir, self.spool)


def cost(seconds):
    """Decorator: a test's usual run time, so --shard can balance the shards."""
    def mark(fn):
        fn.cost = seconds
        return fn
    return mark


def measurement(fn):
    """Decorator: a test whose point is a figure (bytes per hour, a rate), not
    a behaviour other tests do not already cover. LEAFMON_SKIP_MEASUREMENTS=1
    (the sanitizer builds) skips it, and says so."""
    fn.measurement = True
    return fn


def shard_of(tests, k, n):
    """The tests of shard k (1-based) of n: longest first onto the least
    loaded shard (by the tests' cost, 10 s if unmarked). Every test is in
    exactly one shard, whatever the list."""
    load = [0.0] * n
    owner = {}
    order = sorted(range(len(tests)), key=lambda i: -getattr(tests[i], "cost", 10))
    for i in order:
        j = min(range(n), key=lambda j: (load[j], j))
        load[j] += getattr(tests[i], "cost", 10)
        owner[i] = j
    return [t for i, t in enumerate(tests) if owner[i] == k - 1]


def run(tests):
    """Run test functions; print one line each; exit 0, 1 (failure) or 77
    (all skipped). Arguments: --shard=K/N runs one shard of the list (ctest
    runs the shards side by side); other arguments select tests whose name
    contains one of them. Selecting nothing is a failure, never a pass."""
    failed = skipped = 0
    selected = []
    for a in sys.argv[1:]:
        if a.startswith("--shard="):
            k, n = (int(x) for x in a[len("--shard="):].split("/"))
            if not 1 <= k <= n:
                sys.exit("bad shard %s" % a)
            tests = shard_of(tests, k, n)
            print("shard %d/%d: %s" % (k, n, " ".join(t.__name__ for t in tests)), flush=True)
        else:
            selected.append(a)
    skip_measurements = os.environ.get("LEAFMON_SKIP_MEASUREMENTS") == "1"
    ran = 0
    for fn in tests:
        if selected and not any(s in fn.__name__ for s in selected):
            continue
        ran += 1
        t0 = time.monotonic()
        try:
            if skip_measurements and getattr(fn, "measurement", False):
                raise Skip("a measurement: not run in this build (LEAFMON_SKIP_MEASUREMENTS=1)")
            fn()
            print("ok   %s (%.1f s)" % (fn.__name__, time.monotonic() - t0), flush=True)
        except Skip as e:
            skipped += 1
            print("skip %s: %s" % (fn.__name__, e), flush=True)
        except Exception:  # noqa: BLE001
            failed += 1
            print("FAIL %s\n%s" % (fn.__name__, traceback.format_exc()), flush=True)
    print("%d tests, %d failed, %d skipped" % (ran, failed, skipped), flush=True)
    if ran == 0:
        print("no test selected: %s" % " ".join(sys.argv[1:]), flush=True)
        sys.exit(1)
    sys.exit(1 if failed else 77 if skipped == ran else 0)


def median_max(xs):
    return statistics.median(xs), max(xs)
