#!/usr/bin/env python3
"""Run one libFuzzer target for a bounded time (the CTest `fuzz` label, and
the longer documented runs in fuzz/README.md).

The corpus lives in --workdir (build dir, not git): seeds made by our own
code (fuzz_mkseeds), committed seed dirs, and the real logs from
LEAFMON_DATA when present (read at run time, never copied into git).
Prints one summary line: `FUZZ name execs=N exec_per_s=N corpus=N
findings=N seconds=N`. Exit 0 when no crash, leak or timeout was found,
1 otherwise (the reproducer is kept in workdir/artifacts and printed)."""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time


def copy_seeds(src, dest):
    n = 0
    if os.path.isdir(src):
        files = [os.path.join(src, f) for f in sorted(os.listdir(src))]
    else:
        files = sorted(glob.glob(src))
    for f in files:
        if os.path.isfile(f):
            shutil.copy(f, os.path.join(dest, "seed-" + os.path.basename(f)))
            n += 1
    return n


def pack_dirs(top, dest):
    """fuzz_spool's input: [kind][rid 8 BE][len 4 BE][bytes] per file, kind
    0 a segment (its rid from the name), 1 the state file."""
    import struct
    n = 0
    if not os.path.isdir(top):
        return 0
    for sub in sorted(os.listdir(top)):
        d = os.path.join(top, sub)
        if not os.path.isdir(d):
            continue
        blob = b""
        for f in sorted(os.listdir(d))[:6]:
            with open(os.path.join(d, f), "rb") as fh:
                body = fh.read(65536)
            if f == "state":
                blob += struct.pack(">BQI", 1, 0, len(body)) + body
            elif f.endswith(".seg"):
                blob += struct.pack(">BQI", 0, int(f[:-4], 16), len(body)) + body
        with open(os.path.join(dest, "pack-" + sub), "wb") as o:
            o.write(blob)
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzzer", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mkseeds")
    ap.add_argument("--seeds", action="append", default=[])
    ap.add_argument("--data", action="append", default=[],
                    help="glob under LEAFMON_DATA (real logs, run time only)")
    ap.add_argument("--max-data-bytes", type=int, default=16 * 1024,
                    help="real-log seeds are truncated to this size (libFuzzer -max_len)")
    ap.add_argument("--pack-dirs", action="append", default=[],
                    help="each subdir (a spool fixture) becomes one fuzz_spool seed")
    ap.add_argument("--fuzzer-arg", action="append", default=[],
                    help="passed to libFuzzer as is (e.g. --fuzzer-arg=-max_len=2048)")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()

    seeds = os.path.join(a.workdir, "seeds")
    corpus = os.path.join(a.workdir, "corpus")
    arts = os.path.join(a.workdir, "artifacts")
    shutil.rmtree(seeds, ignore_errors=True)
    shutil.rmtree(arts, ignore_errors=True)  # findings are this run's
    for d in (seeds, corpus, arts):
        os.makedirs(d, exist_ok=True)
    nseeds = 0
    for s in a.seeds:
        if s == "mkseeds":
            gen = os.path.join(a.workdir, "generated")
            shutil.rmtree(gen, ignore_errors=True)
            subprocess.run([a.mkseeds, gen], check=True, stdout=subprocess.DEVNULL)
            nseeds += copy_seeds(os.path.join(gen, a.name), seeds)
        else:
            nseeds += copy_seeds(s, seeds)
    for d in a.pack_dirs:
        nseeds += pack_dirs(d, seeds)
    data = os.environ.get("LEAFMON_DATA", "")
    ndata = 0
    for g in a.data:
        for f in sorted(glob.glob(os.path.join(data, g), recursive=True)) if data else []:
            if os.path.isfile(f):
                with open(f, "rb") as src:
                    chunk = src.read(a.max_data_bytes)
                with open(os.path.join(seeds, "data-%d-%s" % (ndata, os.path.basename(f))),
                          "wb") as dst:
                    dst.write(chunk)
                ndata += 1
    if a.data and ndata == 0:
        print("note: real logs absent (LEAFMON_DATA=%s): fuzzing from generated seeds only" %
              data)
    max_len = max([4096] + [os.path.getsize(os.path.join(seeds, f)) for f in os.listdir(seeds)])
    if any(x.startswith("-max_len=") for x in a.fuzzer_arg):
        max_len = None
    argv = [a.fuzzer, "-max_total_time=%d" % a.seconds, "-timeout=10", "-rss_limit_mb=2048",
            "-print_final_stats=1"] + (["-max_len=%d" % max_len] if max_len else []) + \
        a.fuzzer_arg + ["-artifact_prefix=%s/" % arts, corpus, seeds]
    if a.jobs > 1:
        argv[1:1] = ["-fork=%d" % a.jobs, "-ignore_crashes=0"]
    t0 = time.monotonic()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                       text=True, errors="replace", timeout=a.seconds * 2 + 120)
    secs = time.monotonic() - t0
    out = p.stdout
    execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(execs[-1]) if execs else int((re.findall(r"#(\d+)\s", out) or ["0"])[-1])
    findings = sorted(f for f in os.listdir(arts) if re.match(r"(crash|leak|timeout|oom)-", f))
    print("FUZZ %s execs=%d exec_per_s=%d corpus=%d seeds=%d real_log_seeds=%d findings=%d "
          "seconds=%.0f" % (a.name, execs, execs / max(secs, 1e-3), len(os.listdir(corpus)),
                            nseeds, ndata, len(findings), secs))
    if p.returncode != 0 or findings:
        tail = "\n".join(out.splitlines()[-80:])
        print(tail)
        for f in findings:
            print("reproducer: %s/%s  (run: %s %s/%s)" % (arts, f, a.fuzzer, arts, f))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
