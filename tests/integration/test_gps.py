"""The optional GPS (issue 12): the real leafmon-can reads a real gpsd
(Debian's) that gpsfake's engine (python3-gps, tests/tools/gpsfeed.py) feeds
with an NMEA file the test writes. The position signals arrive in `leafmon
get` and in a real InfluxDB, at most once a second; gpsd dying and coming
back costs the CAN frames nothing and the position comes back; without a
fix, and from a stream of garbage, nothing is published."""

import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Leafmond, Skip, bin_path, cost, free_port, run, wait_for  # noqa: E402

FEED = os.path.join(os.path.dirname(__file__), "..", "tools", "gpsfeed.py")
DEBIAN_PYTHON = "/usr/bin/python3"  # the one python3-gps belongs to
LAT0, LON0 = 48.137200, 11.575600


def need_gpsd():
    for b in ("libexec/leafmon-can", "libexec/leafmon-influx", "cli/leafmon"):
        if not os.path.exists(bin_path(b)):
            raise Skip("%s is not built" % b)
    if not os.path.exists("/usr/sbin/gpsd"):
        raise Skip("gpsd not installed (Debian package gpsd)")
    r = subprocess.run([DEBIAN_PYTHON, "-c", "import gps.fake"], capture_output=True)
    if r.returncode != 0:
        raise Skip("gpsfake's engine not installed (Debian package python3-gps)")


def nmea(body):
    c = 0
    for ch in body:
        c ^= ord(ch)
    return "$%s*%02X\r\n" % (body, c)


def dm(v, width):
    a = abs(v)
    d = int(a)
    return "%0*d%07.4f" % (width, d, (a - d) * 60)


def write_nmea(path, n=120, fix=True):
    """A drive north at 40 km/h (21.6 kn), one RMC + GGA a second."""
    out = []
    for i in range(n):
        lat = LAT0 + i * 0.0001
        t = "12%02d%02d.00" % (i // 60, i % 60)
        la, lo = dm(lat, 2), dm(LON0, 3)
        if fix:
            out.append(nmea("GPRMC,%s,A,%s,N,%s,E,21.6,90.0,031226,,,A" % (t, la, lo)))
            out.append(nmea("GPGGA,%s,%s,N,%s,E,1,08,0.9,519.0,M,47.0,M,," % (t, la, lo)))
        else:  # a receiver without satellites: void RMC, GGA quality 0
            out.append(nmea("GPRMC,%s,V,,,,,,,031226,,,N" % t))
            out.append(nmea("GPGGA,%s,,,,,0,00,99.9,,M,,M,," % t))
    with open(path, "w") as f:
        f.write("".join(out))


def write_garbage(path):
    rnd = random.Random(12)
    lines = []
    for i in range(200):
        k = i % 4
        if k == 0:  # bytes
            lines.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 90))))
        elif k == 1:  # a sentence with a wrong checksum
            lines.append(b"$GPRMC,120000.00,A,4808.2320,N,01134.5360,E,21.6,90.0,031226,,,A*00\r\n")
        elif k == 2:  # cut short
            lines.append(b"$GPGGA,120001.00,4808.23")
        else:  # a valid frame of nonsense fields
            lines.append(nmea("GPRMC,99x,A,abc,Q,def,Z,fast,north,000000,,,A").encode())
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))


class Feed:
    """gpsd on a loopback port, fed by gpsfeed.py; kill() is gpsd dying."""

    def __init__(self, tmp, path, port=None):
        self.tmp, self.path = tmp, path
        self.port = port or free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.tmp, "gpsfeed.log"), "ab")
        self.proc = subprocess.Popen([DEBIAN_PYTHON, FEED, "--port", str(self.port),
                                      "--nmea", self.path], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: "gpsd on" in open(os.path.join(self.tmp, "gpsfeed.log")).read(), 20,
                 "gpsd started by gpsfeed")
        return self

    def kill(self):
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # gpsd and its feeder at once
            self.proc.wait()
            self.proc = None


def rig(tmp_feed_path=None, influx=False):
    ix = None
    sections = {"can": {"source": "sim", "asleep_after_s": "5"}}
    real = ("can",)
    if influx:
        from servers import Influxd
        ix = Influxd().start()
        ix.create_db("leaf")
        sections["influx"] = {"url": ix.url, "unsynced_hold_s": "0", "timeout_s": "3"}
        real = ("can", "influx")
    d = Leafmond(real=real, enabled=real, sections=sections, sup={"vehicle": "gps"})
    return d, ix


def counters(d):
    return d.worker("can")["counters"]


def get(d, *names):
    """{name: value} of the signals the snapshot holds (exit 1: some are not there)."""
    r = d.cli("get", "--json", *names)
    assert r.returncode in (0, 1), (r.returncode, r.stderr)
    return {k: v["v"] for k, v in json.loads(r.stdout)["signals"].items()}


def configure(d, port):
    d.sections["gps"] = {"source": "gpsd:127.0.0.1:%d" % port}
    d.write_config()


@cost(25)
def test_gps_values_in_get_and_influx():
    need_gpsd()
    d, ix = rig(influx=True)
    path = os.path.join(d.tmp, "drive.nmea")
    write_nmea(path)
    feed = Feed(d.tmp, path).start()
    try:
        configure(d, feed.port)
        d.start()
        t0 = time.monotonic()
        v = wait_for(lambda: (lambda g: g if g.get("position_fix") == "3d" else None)(
            get(d, "position_lat_deg", "position_lon_deg", "position_alt_m",
                "position_speed_kmh", "position_heading_deg", "position_fix")), 30,
            "a 3D fix in the snapshot")
        assert LAT0 - 1e-6 <= v["position_lat_deg"] <= LAT0 + 0.0121, v
        assert abs(v["position_lon_deg"] - LON0) < 1e-6, v
        assert abs(v["position_alt_m"] - 519.0) < 0.01, v
        assert abs(v["position_speed_kmh"] - 21.6 * 1.852) < 0.1, v
        assert abs(v["position_heading_deg"] - 90.0) < 0.01, v
        c = wait_for(lambda: (lambda c: c if c.get("gps_published", 0) >= 5 else None)(
            counters(d)), 30, "five position updates")
        elapsed = time.monotonic() - t0
        assert c["gps_up"] == 1 and c["gps_connects"] == 1, c
        assert c["gps_published"] <= elapsed + 2, (c, elapsed)  # at most once a second
        # InfluxDB: measurement position, field per signal, enum as its label
        rows = wait_for(lambda: ix.rows("leaf", "position"), 30, "position points in InfluxDB")
        lats = [r["position_lat_deg"] for r in rows if r.get("position_lat_deg") is not None]
        assert lats and all(LAT0 - 1e-6 <= x <= LAT0 + 0.0121 for x in lats), rows[:3]
        assert any(r.get("position_fix") == "3d" for r in rows), rows[:3]
        # the sim's CAN frames flowed all along
        assert counters(d)["frames"] > 1000
        # the session module saw the positions too: the sim's trip (from 20 s
        # of its cycle) starts where the GPS was (its checkpoint, RUNDIR)
        def trip_start():
            with open(os.path.join(d.rundir, "can-sessions")) as f:
                kv = dict(x.split(" ", 1) for x in f.read().splitlines() if " " in x)
            return kv if kv.get("cur.kind") == "0" and kv.get("cur.p0.lat", "nan") != "nan" else None
        kv = wait_for(trip_start, 60, "an open trip in the session checkpoint")
        # its fractions are C99 hexadecimal floats (session_ckpt.c)
        num = lambda v: float.fromhex(v) if "0x" in v else float(v)
        assert LAT0 - 1e-6 <= num(kv["cur.p0.lat"]) <= LAT0 + 0.0121, kv["cur.p0.lat"]
        assert abs(num(kv["cur.p0.lon"]) - LON0) < 1e-6, kv["cur.p0.lon"]
    finally:
        feed.kill()
        d.stop()
        ix.stop()


@cost(40)
def test_gps_gpsd_dies_and_comes_back():
    need_gpsd()
    d, _ = rig()
    path = os.path.join(d.tmp, "drive.nmea")
    write_nmea(path)
    feed = Feed(d.tmp, path).start()
    try:
        configure(d, feed.port)
        d.start()
        wait_for(lambda: counters(d).get("gps_published", 0) >= 2, 30, "positions")
        feed.kill()
        c = wait_for(lambda: (lambda c: c if c.get("gps_up") == 0 else None)(counters(d)), 20,
                     "the worker sees gpsd gone")
        assert c["gps_disconnects"] == 1, c
        # the frame path does not wait for gpsd: frames keep coming, no restart
        f0 = counters(d)["frames"]
        wait_for(lambda: counters(d)["frames"] > f0 + 500, 10, "frames while gpsd is away")
        assert d.worker("can")["restarts"] == 0
        pub = counters(d)["gps_published"]
        st = wait_for(lambda: (lambda w: w if any(a["code"] == "no_gps" for a in w["alerts"])
                               else None)(d.worker("can")), 30, "alert no_gps")
        assert "127.0.0.1:%d" % feed.port in st["alerts"][0]["text"] or any(
            "127.0.0.1:%d" % feed.port in a["text"] for a in st["alerts"])
        feed = Feed(d.tmp, path, port=feed.port).start()  # gpsd is back
        c = wait_for(lambda: (lambda c: c if c.get("gps_up") == 1 and
                              c.get("gps_published", 0) > pub + 2 else None)(counters(d)), 60,
                     "positions again after the backoff")
        assert c["gps_connects"] == 2, c
        assert not any(a["code"] == "no_gps" for a in d.worker("can")["alerts"])
        assert d.worker("can")["restarts"] == 0
    finally:
        feed.kill()
        d.stop()


@cost(30)
def test_gps_unanswering_gpsd_never_blocks_the_frames():
    """A gpsd address that takes no connection (a listener whose queue is
    full: the kernel drops the SYNs, as a host that is gone does): the
    worker's connect waits in the loop, not in it; frames flow, no restart."""
    need_gpsd()
    import socket
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fill = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fill.append(c)
    time.sleep(0.5)
    d, _ = rig()
    try:
        configure(d, port)
        d.start()
        f0 = wait_for(lambda: counters(d).get("frames"), 10, "frames")
        time.sleep(14)  # two probes time out (5 s each, then the backoff)
        c = counters(d)
        assert c["frames"] > f0 + 5000 and c["gps_up"] == 0 and c["gps_connects"] == 0, c
        w = d.worker("can")
        assert w["restarts"] == 0 and w["heartbeat_age_s"] < 3, w
        assert "no answer within 5 s" in d.logtext()
    finally:
        d.stop()
        for c in fill:
            c.close()
        lst.close()


def check_nothing_published(d, what):
    c = wait_for(lambda: (lambda c: c if c.get("gps_up") == 1 and c.get("frames", 0) > 1000
                          else None)(counters(d)), 30, "gpsd watched")
    time.sleep(6)  # several epochs of the feed: a fix would have been published by now
    c = counters(d)
    assert c["gps_published"] == 0 and c["gps_fixes"] == 0, (what, c)
    g = get(d, "position_lat_deg", "position_fix")
    assert g.get("position_lat_deg") is None and g.get("position_fix") is None, (what, g)
    assert d.worker("can")["restarts"] == 0
    return c


@cost(20)
def test_gps_no_fix_publishes_nothing():
    need_gpsd()
    d, _ = rig()
    path = os.path.join(d.tmp, "nofix.nmea")
    write_nmea(path, fix=False)
    feed = Feed(d.tmp, path).start()
    try:
        configure(d, feed.port)
        d.start()
        c = check_nothing_published(d, "no fix")
        assert c["gps_reports"] > 0, c  # gpsd did talk: the reports held no fix
    finally:
        feed.kill()
        d.stop()


@cost(20)
def test_gps_garbage_stream_publishes_nothing():
    need_gpsd()
    d, _ = rig()
    path = os.path.join(d.tmp, "garbage.nmea")
    write_garbage(path)
    feed = Feed(d.tmp, path).start()
    try:
        configure(d, feed.port)
        d.start()
        check_nothing_published(d, "garbage")
    finally:
        feed.kill()
        d.stop()


@cost(30)
def test_gps_position_line_in_the_dashboard():
    """The live page shows the coordinates and links to a map at them."""
    need_gpsd()
    from webtest import WebStack
    node_modules = os.path.join(bin_path("web"), "npm", "node_modules")
    if not os.path.exists("/usr/bin/chromium") or not os.path.isdir(
            os.path.join(node_modules, "playwright-core")):
        raise Skip("chromium or playwright-core (the build's npm install) is not there")
    s = WebStack(can="real")
    path = os.path.join(s.d.tmp, "drive.nmea")
    write_nmea(path)
    feed = Feed(s.d.tmp, path).start()
    try:
        configure(s.d, feed.port)
        s.start()
        wait_for(lambda: counters(s.d).get("gps_published", 0) >= 1, 30, "a position")
        env = dict(os.environ, NODE_PATH=node_modules, LEAFMON_URL="http://127.0.0.1:%d" % s.port)
        p = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "web_position.js")],
                           env=env, capture_output=True, text=True, timeout=120)
        lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
        assert p.returncode == 0 and lines, (p.stdout[-1500:], p.stderr[-1500:])
        r = json.loads(lines[-1])
        assert r["text"].startswith("Position 48.13") and "11.57560" in r["text"], r
        assert "3d fix" in r["text"] and "519 m" in r["text"], r
        q = r["href"]
        assert q.startswith("https://www.openstreetmap.org/?mlat=48.13") and "&mlon=11.57560" in q, r
        assert "noopener" in r["rel"] and not r["errors"], r
    finally:
        feed.kill()
        s.stop()


def test_gps_source_is_checked():
    need_gpsd()
    d = Leafmond()
    for bad, why in (("gpsd:gps.example.com:2947", "not an IP address or localhost"),
                     ("gpsd:127.0.0.1", "no port"), ("serial:/dev/ttyUSB0", "is not gpsd:HOST:PORT"),
                     ("gpsd:127.0.0.1:70000", "no port")):
        d.sections["gps"] = {"source": bad}
        d.write_config()
        r = subprocess.run([bin_path("supervisor/leafmond"), "-c", d.conf, "--check-config"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 78 and why in r.stderr, (bad, r.returncode, r.stderr)


if __name__ == "__main__":
    run([test_gps_values_in_get_and_influx, test_gps_gpsd_dies_and_comes_back,
         test_gps_no_fix_publishes_nothing, test_gps_garbage_stream_publishes_nothing,
         test_gps_unanswering_gpsd_never_blocks_the_frames,
         test_gps_position_line_in_the_dashboard, test_gps_source_is_checked])
