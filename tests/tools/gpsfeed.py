"""gpsfake for the tests: a real gpsd (Debian's) on a loopback port, fed with
an NMEA file through a pseudo-terminal by gpsfake's own engine (python3-gps,
gps.fake: DaemonInstance starts gpsd -b -N -S PORT -F SOCKET, FakePTY is the
serial line). Debian 12 ships the gpsfake command in gpsd-clients, which
pulls in matplotlib and GTK; the library it is built on is enough here.

Usage: gpsfeed.py --port P --nmea FILE [--rate HZ]
The file's lines are sent in epochs (each RMC sentence starts one, a file
without one is sent a line per epoch) at HZ epochs a second, over and over,
until SIGTERM. A file that is not NMEA at all is sent as it is: gpsd sorts
it out (that is the garbage test)."""

import argparse
import os
import signal
import sys
import tempfile
import time

from gps import fake


class _Load:
    """The little of gps.fake.TestLoad that FakePTY uses."""

    def __init__(self, path):
        self.name = path
        self.serial = None
        self.sentences = []
        self.delay = 0.0


def epochs(path):
    with open(path, "rb") as f:
        lines = [x if x.endswith(b"\n") else x + b"\r\n"
                 for x in f.read().splitlines(keepends=True)]
    if not any(b"RMC," in x for x in lines):
        return [[x] for x in lines] or [[b"\r\n"]]
    out = []
    for line in lines:
        if b"RMC," in line or not out:
            out.append([])
        out[-1].append(line)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--nmea", required=True)
    ap.add_argument("--rate", type=float, default=1.0)
    a = ap.parse_args()
    groups = epochs(a.nmea)
    sock = os.path.join(tempfile.mkdtemp(prefix="gpsfeed-"), "gpsd.sock")
    daemon = fake.DaemonInstance(control_socket=sock)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    pty = fake.FakePTY(_Load(a.nmea), speed=9600)
    daemon.spawn(options="-n", port=a.port, background=True)
    daemon.wait_ready()
    daemon.add_device(pty.byname)
    print("gpsfeed: gpsd on 127.0.0.1:%d, device %s" % (a.port, pty.byname), flush=True)
    i = 0
    try:
        while not stop and daemon.is_alive():
            pty.read()
            for line in groups[i % len(groups)]:
                pty.write(line)
            i += 1
            time.sleep(1.0 / a.rate)
    finally:
        daemon.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
