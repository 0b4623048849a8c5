#!/usr/bin/env python3
"""Run a command inside a stock Debian kernel under qemu, with real SocketCAN.

The host has no AF_CAN; a throwaway VM does. `setup` installs qemu when it is
missing, downloads the pinned kernel and a static busybox (apt-get download,
see kernel.pin), extracts the uncompressed vmlinux and the modules we need
into a cache dir and builds the initramfs. `run` boots the guest with the
host's / shared read-only (tmpfs overlay on top; TMPDIR=/run/tmp), a read-write work dir at the
same absolute path, vcan0 up (and two emulated Kvaser boards, can0/can1, on
one qemu CAN bus with --kvaser), runs the command and returns its output and
exit code. Exit 77 when the VM cannot be had here (no qemu, no download).

Usage:
  leafmon_vm.py setup
  leafmon_vm.py run [--work DIR] [--kvaser] [--timeout S] [--env K=V] [--cwd D] [--need F]
                    -- CMD [ARG...]
  leafmon_vm.py resolve          # print the current linux-image-amd64 dependency
Standard library only.
"""

import argparse
import fcntl
import glob
import hashlib
import io
import lzma
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
QEMU = "qemu-system-x86_64"
# Modules the guest needs; their dependencies come from modules.dep.
MODULES_BASE = ["virtio_pci", "9p", "9pnet_virtio", "overlay", "can", "can-raw", "can-dev",
                "can-bcm", "vcan"]
MODULES_KVASER = ["sja1000", "kvaser_pci"]
CMDLINE = ("console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init 8250.nr_uarts=1 "
           "i8042.noaux i8042.nokbd tsc=reliable no_timer_check mitigations=off acpi=noirq "
           "cryptomgr.notests rcupdate.rcu_expedited=1")
KVM_INIT_DEADLINE_S = 20.0
HARNESS_FORMAT = 2  # bump when the initramfs layout changes (part of its cache key)


class Unavailable(Exception):
    """The VM cannot be had on this machine: tests skip (77) with this text."""


def log(msg):
    print("leafmon-vm: " + msg, file=sys.stderr, flush=True)


def cache_dir():
    d = os.environ.get("LEAFMON_VM_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "leafmon-vm")
    os.makedirs(d, exist_ok=True)
    return d


def read_pin():
    pin = {}
    with open(os.path.join(HERE, "kernel.pin")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) == 3:
                pin[line[0]] = (line[1], line[2])
    if "kernel" not in pin or "busybox" not in pin:
        raise SystemExit("leafmon-vm: kernel.pin lacks a kernel or busybox line")
    return pin


def sh(args, **kw):
    return subprocess.run(args, check=True, **kw)


def apt_install(pkgs):
    if os.geteuid() != 0:
        raise Unavailable("%s missing and not root: apt-get install -y --no-install-recommends %s"
                          % (pkgs[0], " ".join(pkgs)))
    log("installing " + " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
           "-o", "DPkg::Lock::Timeout=600"] + pkgs
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    if r.returncode != 0:
        raise Unavailable("apt-get install %s failed:\n%s" % (" ".join(pkgs), r.stdout[-2000:]))


def ensure_qemu():
    if shutil.which(QEMU):
        return shutil.which(QEMU)
    apt_install(["qemu-system-x86"])
    if not shutil.which(QEMU):
        raise Unavailable("qemu-system-x86 installed but %s not found" % QEMU)
    return shutil.which(QEMU)


def resolve_current_kernel():
    r = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], stdout=subprocess.PIPE,
                       text=True)
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            name = line.split()[1]
            v = subprocess.run(["apt-cache", "show", "--no-all-versions", name],
                               stdout=subprocess.PIPE, text=True).stdout
            for vl in v.splitlines():
                if vl.startswith("Version: "):
                    return name, vl.split()[1]
    return None


def apt_download(name, version, dest):
    """apt-get download NAME=VERSION into dest (once more after an apt-get
    update when the package lists are stale or empty); the .deb or None."""
    os.makedirs(dest, exist_ok=True)
    for attempt in range(2):
        r = subprocess.run(["apt-get", "download", "-q", "%s=%s" % (name, version)], cwd=dest,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        debs = glob.glob(os.path.join(dest, name + "_*.deb"))
        if r.returncode == 0 and debs:
            return debs[0]
        if attempt == 0 and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=600"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log("apt-get download %s=%s failed: %s" % (name, version, r.stdout.strip()[-500:]))
    return None


def deb_extract(deb, dest, members):
    """Unpack the given member globs of a .deb's data into dest."""
    os.makedirs(dest, exist_ok=True)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    sh(["tar", "-x", "-C", dest, "--wildcards"] + members, stdin=tar.stdout)
    if tar.wait() != 0:
        raise RuntimeError("dpkg-deb --fsys-tarfile %s failed" % deb)


def vmlinux_from_bzimage(bz, out):
    """The bzImage's payload is an XZ stream: decompress it on the host once,
    since decompressing inside a TCG guest costs seconds on every boot."""
    with open(bz, "rb") as f:
        data = f.read()
    off = data.find(b"\xfd7zXZ\x00")
    if off < 0:
        raise RuntimeError("%s: no XZ payload found" % bz)
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    elf = dec.decompress(data[off:])
    if elf[:4] != b"\x7fELF":
        raise RuntimeError("%s: XZ payload is not an ELF image" % bz)
    with open(out + ".tmp", "wb") as f:
        f.write(elf)
    os.rename(out + ".tmp", out)


def module_closure(moddir, wanted):
    """Modules to insmod, dependencies first, from each .ko's modinfo
    `depends=` (the package ships no modules.dep: depmod makes it on install)."""
    deps = {}
    paths = {}
    for path in glob.glob(os.path.join(moddir, "kernel", "**", "*.ko*"), recursive=True):
        name = os.path.basename(path).split(".ko")[0].replace("_", "-")
        paths[name] = path
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".xz"):
            data = lzma.decompress(data)
        m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
        deps[name] = [d.decode().replace("_", "-") for d in m.group(1).split(b",") if d] if m else []
    order = []

    def visit(n):
        n = n.replace("_", "-")
        if n in order:
            return
        if n not in deps:
            raise RuntimeError("module %s not unpacked (add its folder to setup())" % n)
        for d in deps[n]:
            visit(d)
        order.append(n)

    for w in wanted:
        visit(w)
    return order, paths


def cpio_newc(entries):
    """An uncompressed newc cpio archive: entries are (name, mode, data)."""
    out = io.BytesIO()
    ino = 1
    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        nb = name.encode() + b"\0"
        hdr = "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0)
        ino += 1
        out.write(hdr.encode() + nb)
        out.write(b"\0" * ((4 - out.tell() % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - out.tell() % 4) % 4))
    return out.getvalue()


def fetch(name, version, cdir, what):
    pin_dir = os.path.join(cdir, "deb")
    deb = apt_download(name, version, pin_dir)
    if deb:
        return deb, name, version
    if what != "kernel":
        raise Unavailable("cannot download %s=%s" % (name, version))
    cur = resolve_current_kernel()
    if not cur:
        raise Unavailable("cannot download %s=%s and apt knows no linux-image-amd64" %
                          (name, version))
    log("WARNING: pinned kernel %s=%s is gone from the archive; using %s=%s "
        "(update tests/vm/kernel.pin)" % (name, version, cur[0], cur[1]))
    deb = apt_download(cur[0], cur[1], pin_dir)
    if not deb:
        raise Unavailable("cannot download %s=%s" % cur)
    return deb, cur[0], cur[1]


def setup():
    """Make sure qemu, the kernel, the modules and the initramfs exist; return
    a dict of paths. Cached by kernel version and init script content; one
    process at a time fills the cache (a lock file beside it)."""
    qemu = ensure_qemu()
    cdir = cache_dir()
    with open(os.path.join(cdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return fill_cache(qemu, cdir)


def fill_cache(qemu, cdir):
    pin = read_pin()
    kname, kver = pin["kernel"]
    kdir = os.path.join(cdir, "%s_%s" % (kname, kver.replace(":", "_")))
    vmlinux = os.path.join(kdir, "vmlinux")
    if not os.path.exists(vmlinux):
        t0 = time.monotonic()
        deb, kname, kver = fetch(kname, kver, cdir, "kernel")
        kdir = os.path.join(cdir, "%s_%s" % (kname, kver.replace(":", "_")))
        vmlinux = os.path.join(kdir, "vmlinux")
        tmp = tempfile.mkdtemp(dir=cdir)
        deb_extract(deb, tmp, ["./boot/vmlinuz-*", "./boot/config-*",
                               "./lib/modules/*/modules.*",
                               "./lib/modules/*/kernel/net/9p", "./lib/modules/*/kernel/fs/9p",
                               "./lib/modules/*/kernel/fs/netfs",
                               "./lib/modules/*/kernel/fs/fscache",
                               "./lib/modules/*/kernel/fs/overlayfs",
                               "./lib/modules/*/kernel/net/can",
                               "./lib/modules/*/kernel/drivers/net/can",
                               "./lib/modules/*/kernel/drivers/virtio"])
        vmlinux_from_bzimage(glob.glob(os.path.join(tmp, "boot", "vmlinuz-*"))[0],
                             os.path.join(tmp, "vmlinux"))
        if os.path.exists(kdir):
            shutil.rmtree(kdir)
        os.chmod(tmp, 0o755)
        os.rename(tmp, kdir)
        os.unlink(deb)
        log("kernel %s=%s unpacked in %.1f s" % (kname, kver, time.monotonic() - t0))
    bname, bver = pin["busybox"]
    busybox = os.path.join(cdir, "busybox-%s" % bver.replace(":", "_"))
    if not os.path.exists(busybox):
        deb, _, _ = fetch(bname, bver, cdir, "busybox")
        tmp = tempfile.mkdtemp(dir=cdir)
        deb_extract(deb, tmp, ["./bin/busybox"])
        os.rename(os.path.join(tmp, "bin", "busybox"), busybox)
        shutil.rmtree(tmp)
        os.unlink(deb)
    return {"qemu": qemu, "kdir": kdir, "vmlinux": vmlinux, "busybox": busybox,
            "initrd": initramfs(kdir, busybox)}


def initramfs(kdir, busybox):
    moddir = glob.glob(os.path.join(kdir, "lib", "modules", "*"))[0]
    with open(os.path.join(HERE, "init.sh"), "rb") as f:
        init = f.read()
    order, paths = module_closure(moddir, MODULES_BASE + MODULES_KVASER)
    kvaser = {m.replace("_", "-") for m in MODULES_KVASER}
    base = [m for m in order if m not in kvaser]
    key = init + ("%s|%s|%s" % (order, base, HARNESS_FORMAT)).encode()
    h = hashlib.sha256(key).hexdigest()[:16]
    out = os.path.join(kdir, "initramfs-%s.cpio" % h)
    if os.path.exists(out):
        return out
    with open(busybox, "rb") as f:
        bb = f.read()
    entries = [("bin", 0o40755, b""), ("modules", 0o40755, b""), ("bin/busybox", 0o100755, bb),
               ("init", 0o100755, init)]
    for m in order:
        p = paths[m]
        with open(p, "rb") as f:
            data = f.read()
        if p.endswith(".xz"):
            data = lzma.decompress(data)
        entries.append(("modules/%s.ko" % m, 0o100644, data))
    # kvaser modules are loaded only when asked (see run()): order file per mode
    entries.append(("modules.base", 0o100644, ("\n".join(base) + "\n").encode()))
    entries.append(("modules.all", 0o100644, ("\n".join(order) + "\n").encode()))
    with open(out + ".tmp", "wb") as f:
        f.write(cpio_newc(entries))
    os.rename(out + ".tmp", out)
    for old in glob.glob(os.path.join(kdir, "initramfs-*.cpio")):
        if old != out:
            os.unlink(old)  # made from an older init.sh
    return out


def kvm_usable():
    """Real KVM only: /dev/kvm here may be a slow software nested hypervisor
    (kvm_pvm), under which TCG is faster."""
    if os.environ.get("LEAFMON_VM_ACCEL") in ("tcg", "kvm"):
        return os.environ["LEAFMON_VM_ACCEL"] == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    return not os.path.exists("/sys/module/kvm_pvm")


def qemu_argv(paths, ctl, work, kvaser, accel, mem):
    append = CMDLINE + (" leafmon.work=%s" % work if work else "") + \
        (" leafmon.kvaser=1" if kvaser else "")
    argv = [paths["qemu"]]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", "tcg,thread=multi", "-cpu", "max"]
    argv += ["-machine", "pc", "-m", str(mem), "-smp", "2", "-nodefaults", "-no-user-config",
             "-display", "none", "-vga", "none", "-monitor", "none", "-no-reboot",
             "-serial", "file:%s/console.log" % ctl,
             "-kernel", paths["vmlinux"], "-initrd", paths["initrd"], "-append", append,
             "-fsdev", "local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap",
             "-device", "virtio-9p-pci,fsdev=fsroot,mount_tag=root",
             "-fsdev", "local,id=fsctl,path=%s,security_model=none,multidevs=remap" % ctl,
             "-device", "virtio-9p-pci,fsdev=fsctl,mount_tag=ctl"]
    if work:
        argv += ["-fsdev", "local,id=fswork,path=%s,security_model=none,multidevs=remap" % work,
                 "-device", "virtio-9p-pci,fsdev=fswork,mount_tag=work"]
    if kvaser:
        argv += ["-object", "can-bus,id=canbus0",
                 "-device", "kvaser_pci,canbus=canbus0", "-device", "kvaser_pci,canbus=canbus0"]
    return argv


def write_cmd(ctl, cmd, env, cwd):
    lines = ["# generated by leafmon_vm.py"]
    envs = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
            "LANG=C.UTF-8", "TMPDIR=/run/tmp", "LEAFMON_IN_VM=1"] + env
    lines.append("cd %s || exit 125" % shlex.quote(cwd or "/"))
    lines.append("exec env -i -- %s %s" % (" ".join(shlex.quote(e) for e in envs),
                                           " ".join(shlex.quote(c) for c in cmd)))
    with open(os.path.join(ctl, "cmd.sh"), "w") as f:
        f.write("\n".join(lines) + "\n")


def boot(paths, ctl, work, kvaser, accel, timeout, mem):
    """Run one guest to completion; returns (rc or None, boot_s, total_s, why)."""
    for name in ("started", "ready", "rc", "out", "console.log"):
        if os.path.exists(os.path.join(ctl, name)):
            os.unlink(os.path.join(ctl, name))
    argv = ["setpriv", "--pdeathsig", "KILL", "timeout", "--kill-after=5", str(int(timeout)),
            "setpriv", "--pdeathsig", "KILL"] + qemu_argv(paths, ctl, work, kvaser, accel, mem)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    boot_s = None
    why = ""
    try:
        while p.poll() is None:
            if boot_s is None and os.path.exists(os.path.join(ctl, "ready")):
                boot_s = time.monotonic() - t0
            if accel == "kvm" and boot_s is None and not os.path.exists(
                    os.path.join(ctl, "started")) and time.monotonic() - t0 > KVM_INIT_DEADLINE_S:
                why = "kvm-slow"
                p.kill()
                break
            time.sleep(0.02)
        qout = p.communicate()[0].decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    total_s = time.monotonic() - t0
    if boot_s is None and os.path.exists(os.path.join(ctl, "ready")):
        boot_s = total_s
    if p.returncode == 124 or p.returncode == 137:
        why = why or "timeout after %d s" % timeout
    elif p.returncode != 0 and not why:
        why = "qemu exited %d: %s" % (p.returncode, qout.strip()[-1000:])
    if os.environ.get("LEAFMON_VM_DEBUG"):
        for mark in ("started", "ready"):  # the guest's uptime at each point
            if os.path.exists(os.path.join(ctl, mark)):
                with open(os.path.join(ctl, mark)) as f:
                    log("guest uptime at %s: %s s" % (mark, f.read().strip()))
    rc = None
    rcf = os.path.join(ctl, "rc")
    if os.path.exists(rcf):
        with open(rcf) as f:
            rc = int(f.read().strip() or "-1")
    return rc, boot_s, total_s, why


def run(cmd, work=None, kvaser=False, timeout=120, env=(), cwd=None, mem=1024, quiet=False):
    """Boot, run cmd in the guest, return (rc, output, boot_s, total_s).
    Raises Unavailable when the VM cannot be had; rc 124 means timed out."""
    paths = setup()
    if work:
        work = os.path.abspath(work)
        os.makedirs(work, exist_ok=True)
    ctl = tempfile.mkdtemp(prefix="leafmon-vm-")
    try:
        write_cmd(ctl, cmd, list(env), cwd or work)
        accel = "kvm" if kvm_usable() else "tcg"
        rc, boot_s, total_s, why = boot(paths, ctl, work, kvaser, accel, timeout, mem)
        if why == "kvm-slow":
            log("KVM guest did not reach /init in %.0f s; retrying with TCG" % KVM_INIT_DEADLINE_S)
            accel = "tcg"
            rc, boot_s, total_s, why = boot(paths, ctl, work, kvaser, accel, timeout, mem)
        out = ""
        if os.path.exists(os.path.join(ctl, "out")):
            with open(os.path.join(ctl, "out"), errors="replace") as f:
                out = f.read()
        if rc is None:
            console = ""
            if os.path.exists(os.path.join(ctl, "console.log")):
                with open(os.path.join(ctl, "console.log"), errors="replace") as f:
                    console = f.read()[-4000:]
            out += "\nleafmon-vm: no exit code from the guest (%s); console tail:\n%s" % (
                why or "guest died", console)
            rc = 124 if why.startswith("timeout") else 125
        if not quiet:
            log("accel %s, boot to command %s s, total %.2f s, exit %d" % (
                accel, "%.2f" % boot_s if boot_s is not None else "-", total_s, rc))
        return rc, out, boot_s, total_s
    finally:
        shutil.rmtree(ctl, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="op", required=True)
    sub.add_parser("setup")
    sub.add_parser("resolve")
    r = sub.add_parser("run")
    r.add_argument("--work")
    r.add_argument("--kvaser", action="store_true")
    r.add_argument("--timeout", type=int, default=120)
    r.add_argument("--mem", type=int, default=1024)
    r.add_argument("--env", action="append", default=[])
    r.add_argument("--cwd")
    r.add_argument("--need", action="append", default=[],
                   help="skip (77) without booting when this host file is missing")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    try:
        if a.op == "setup":
            p = setup()
            print("\n".join("%s %s" % kv for kv in sorted(p.items())))
            return 0
        if a.op == "resolve":
            print("%s %s" % (resolve_current_kernel() or ("?", "?")))
            return 0
        for need in a.need:
            if not os.path.exists(need):
                print("SKIP: %s is not built: nothing to test in the VM" % need, flush=True)
                return SKIP
        cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
        if not cmd:
            ap.error("run needs a command")
        rc, out, _, _ = run(cmd, a.work, a.kvaser, a.timeout, a.env, a.cwd, a.mem)
        sys.stdout.write(out)
        sys.stdout.flush()
        return rc
    except Unavailable as e:
        print("SKIP: no test VM on this machine: %s" % e, flush=True)
        return SKIP


if __name__ == "__main__":
    sys.exit(main())
