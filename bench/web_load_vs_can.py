#!/usr/bin/env python3
"""Does web load slow the can worker? Runs the can worker's frame -> snapshot
latency bench (bench_decode, from the can part) three times on an idle
machine, then three times while leafmon-web serves 200 SSE clients and a
burst of /api/latest (bench_web); prints the medians side by side.
Run by hand from the source tree after a build:
    bench/web_load_vs_can.py [BENCH_DECODE]
(default build/bench/bench_decode)."""

import os
import re
import statistics
import subprocess
import sys
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LEAFMON_BUILD", os.path.join(top, "build"))
sys.path.insert(0, os.path.join(top, "tests", "integration"))
from harness import bin_path  # noqa: E402
from webtest import WebStack  # noqa: E402

DECODE = sys.argv[1] if len(sys.argv) > 1 else bin_path("bench/bench_decode")


def latency():
    out = subprocess.run([DECODE, "--runs", "1"], capture_output=True, text=True).stdout
    m = re.search(r"median ([0-9.]+) ms, p99 ([0-9.]+) ms", out)
    if m is None:
        sys.exit("no frame -> snapshot latency in bench_decode's output:\n" + out)
    return float(m.group(1)), float(m.group(2))


def summary(name, xs):
    print("%-8s frame -> snapshot median %.3f ms, p99 %.3f ms (median of %d runs)"
          % (name, statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs), len(xs)))


def main():
    if not os.path.exists(DECODE):
        sys.exit("%s not built (the can worker's bench)" % DECODE)
    idle = [latency() for _ in range(3)]
    s = WebStack(web={"max_clients": "400", "max_per_ip": "400"}).start()
    loaded = []
    try:
        for _ in range(3):
            load = subprocess.Popen([bin_path("workers/web/bench_web"), "-p", str(s.port), "-s", "200",
                                     "-c", "8", "-d", "24"], stdout=subprocess.PIPE, text=True)
            time.sleep(1.5)  # streams open, burst running
            loaded.append(latency())
            print("web load:", load.communicate()[0].strip())
    finally:
        s.stop()
    summary("idle", idle)
    summary("loaded", loaded)


if __name__ == "__main__":
    main()
