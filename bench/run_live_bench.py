#!/usr/bin/env python3
"""The live path's cost (issue 13): leafmond with every worker that runs here
(test_idle's rig: can, influx into a real influxd, cloud into
victoria-metrics, web, mqtt into mosquitto, abrp to a local server, the
ledger, and gpsd when installed), the can worker replaying a real ZE1 e+
drive log at 1x in a loop. For each [can] read_batch_ms given, in rounds so
that a busy spell of the machine hits every value alike: CPU of each process
over the window (utime + stime from /proc/PID/stat), its wake-ups a second
(the loop's own count), RSS and Private (Private_Clean + Private_Dirty from
/proc/PID/smaps_rollup) at the window's end, and the frames the can worker
read. Prints the medians over the rounds. Run by hand after a build:
    bench/run_live_bench.py [--batch 0,10] [--rounds 3] [--seconds 30]
with LEAFMON_DATA pointing at ../shared/data/leaf (the default)."""

import argparse
import os
import statistics
import sys
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LEAFMON_BUILD", os.path.join(top, "build"))
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import test_idle  # noqa: E402

DATA = os.environ.get("LEAFMON_DATA", os.path.join(top, "..", "shared", "data", "leaf"))
LOG = os.path.join(DATA, "logs", "ze1_2018plus", "EV-CANepluseco.log")
TICK = os.sysconf("SC_CLK_TCK")


def children(pid):
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out[int(p)] = st[st.index("(") + 1:st.rindex(")")]
    return out


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kb(pid):
    rss = private = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Rss":
                rss = int(v.split()[0])
            elif k in ("Private_Clean", "Private_Dirty"):
                private += int(v.split()[0])
    return rss, private


def one_run(batch, seconds):
    rig = test_idle.Rig()
    rig.d.sections["can"].update({"source": "replay:%s,speed=1,loop" % LOG,
                                  "read_batch_ms": str(batch), "asleep_after_s": "30"})
    rig.d.write_config()
    try:
        rig.d.start(timeout=30)
        time.sleep(8)  # past the start: the hold, the writers' first batches
        procs = {rig.d.proc.pid: "leafmond"}
        procs.update({p: n.replace("leafmon-", "") for p, n in children(rig.d.proc.pid).items()
                      if n.startswith("leafmon")})
        frames0 = rig.d.worker("can")["counters"].get("frames", 0)
        a, c0 = rig.sample(), {p: cpu_s(p) for p in procs}
        t0 = time.monotonic()
        time.sleep(seconds)
        b, c1 = rig.sample(), {p: cpu_s(p) for p in procs}
        dt = time.monotonic() - t0
        frames = rig.d.worker("can")["counters"].get("frames", 0) - frames0
        row = {"frames_per_s": frames / dt}
        for p, name in procs.items():
            rss, private = memory_kb(p)
            wk = name if name in a else None
            wps = (b[wk][1] - a[wk][1]) / (b[wk][0] - a[wk][0]) if wk else float("nan")
            row[name] = {"cpu_pct": (c1[p] - c0[p]) / dt * 100, "wakeups_per_s": wps,
                         "rss_kb": rss, "private_kb": private}
        return row
    finally:
        rig.stop()


def med(rows, name, key):
    return statistics.median(r[name][key] for r in rows if name in r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", default="0,10")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30)
    o = ap.parse_args()
    if not os.path.exists(LOG):
        sys.exit("no %s (set LEAFMON_DATA)" % LOG)
    test_idle.need()
    batches = [int(x) for x in o.batch.split(",")]
    rows = {b: [] for b in batches}
    for r in range(o.rounds):
        for b in batches:
            rows[b].append(one_run(b, o.seconds))
            print("round %d, read_batch_ms %d: %.0f frames/s, can %.2f %% of a core"
                  % (r + 1, b, rows[b][-1]["frames_per_s"], rows[b][-1]["can"]["cpu_pct"]),
                  flush=True)
    for b in batches:
        rs = rows[b]
        names = sorted({n for r in rs for n in r if n != "frames_per_s"})
        fps = statistics.median(r["frames_per_s"] for r in rs)
        print("\n[can] read_batch_ms = %d: %.0f frames/s, median of %d windows of %.0f s"
              % (b, fps, len(rs), o.seconds))
        print("%-10s %8s %10s %8s %10s" % ("process", "CPU %", "wakeups/s", "RSS kB", "Private kB"))
        tot = [0.0, 0, 0]
        for n in names:
            c, w = med(rs, n, "cpu_pct"), med(rs, n, "wakeups_per_s")
            rss, pv = med(rs, n, "rss_kb"), med(rs, n, "private_kb")
            tot[0] += c
            tot[1] += rss
            tot[2] += pv
            print("%-10s %8.2f %10.1f %8d %10d" % (n, c, w, rss, pv))
        print("%-10s %8.2f %10s %8d %10d" % ("all", tot[0], "", tot[1], tot[2]))
        print("can worker: %.2f us of CPU a frame; all processes: %.2f us a frame"
              % (med(rs, "can", "cpu_pct") / 100 / fps * 1e6, tot[0] / 100 / fps * 1e6))


if __name__ == "__main__":
    main()
