#!/usr/bin/env python3
"""The VM harness itself: a guest command's output, exit code and work-dir
files come back; the host root is read-only underneath an overlay; vcan0 is
up; a hung guest is killed at the hard timeout and leaves no qemu behind.
Two boots. Skips (77) where no VM can be had."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import leafmon_vm  # noqa: E402
from harness import measure  # noqa: E402

BUILD = os.environ.get("LEAFMON_BUILD", os.path.abspath("build"))


def qemu_pids_for(path):
    """Processes whose command line mentions path (our ctl or work dir)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if path.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok   " + what, flush=True)


def main():
    work = tempfile.mkdtemp(prefix="vmh-", dir=os.path.join(BUILD) if os.path.isdir(BUILD) else None)
    marker = "/leafmon-vm-overlay-probe"
    script = ("set -e; echo out-line; echo err-line >&2; cat /sys/class/net/vcan0/operstate; "
              "echo guest-wrote > %s/file; touch %s; test -e %s; "
              "test \"$LEAFMON_IN_VM\" = 1; test \"$X\" = 'a b'; pwd; exit 7") % (
                  work, marker, marker)
    try:
        rc, out, boot_s, total_s = leafmon_vm.run(["/bin/sh", "-c", script], work=work,
                                                  timeout=120, env=["X=a b"])
    except leafmon_vm.Unavailable as e:
        print("SKIP: no test VM on this machine: %s" % e)
        return 77
    print(out)
    check(rc == 7, "guest exit code 7 comes back (got %r)" % rc)
    check("out-line" in out and "err-line" in out, "stdout and stderr come back")
    check("unknown" in out or "up" in out, "vcan0 exists in the guest")
    check(out.strip().endswith(work), "the command runs in the work dir")
    with open(os.path.join(work, "file")) as f:
        check(f.read() == "guest-wrote\n", "a file written in the work dir reaches the host")
    check(not os.path.exists(marker), "writes outside the work dir stay in the guest overlay")
    measure("vm_boot_to_command", "%.2f" % boot_s, "s")
    measure("vm_command_total", "%.2f" % total_s, "s")
    measure("vm_load_average_1min", "%.2f" % os.getloadavg()[0])

    t0 = time.monotonic()
    rc, out, _, total_s = leafmon_vm.run(["sleep", "600"], work=work, timeout=12, quiet=False)
    check(rc == 124, "a hung guest is stopped at the hard timeout (rc %r after %.1f s)" %
          (rc, time.monotonic() - t0))
    check(time.monotonic() - t0 < 12 + 10, "the timeout is hard")
    check(not qemu_pids_for(work), "no qemu left behind")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
