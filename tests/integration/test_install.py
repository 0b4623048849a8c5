"""cmake --install puts everything where leafmond and systemd look: the
binaries, the workers in libexec/leafmon, the unit (which systemd-analyze
verifies), the sysusers entry, the example config and the web assets."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, Skip, run  # noqa: E402

PREFIX = "/usr/local"


def staged():
    dest = tempfile.mkdtemp(prefix="leafmon-install-")
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix", PREFIX],
                       env=dict(os.environ, DESTDIR=dest), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return dest


def test_install_layout():
    dest = staged()
    try:
        root = dest + PREFIX
        for rel in ("sbin/leafmond", "bin/leafmon", "sbin/leafmon-setup-influxdb",
                    "libexec/leafmon/leafmon-can", "libexec/leafmon/leafmon-influx",
                    "libexec/leafmon/leafmon-cloud", "libexec/leafmon/leafmon-web",
                    "libexec/leafmon/leafmon-mqtt",
                    "libexec/leafmon/leafmon-ledger",
                    "lib/systemd/system/leafmon.service", "lib/sysusers.d/leafmon.conf",
                    "lib/sysctl.d/60-leafmon.conf",
                    "share/leafmon/leafmon.conf", "share/leafmon/web/index.html",
                    "share/leafmon/web/vendor/uPlot.iife.min.js"):
            path = os.path.join(root, rel)
            assert os.path.exists(path), "not installed: " + rel
        for rel in ("sbin/leafmond", "bin/leafmon", "libexec/leafmon/leafmon-can"):
            assert os.access(os.path.join(root, rel), os.X_OK), rel
        unit = open(os.path.join(root, "lib/systemd/system/leafmon.service")).read()
        for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=", "Restart=on-failure",
                     "RestartPreventExitStatus=78", "RuntimeDirectoryPreserve=restart",
                     "User=leafmon", "StateDirectory=leafmon", "ConfigurationDirectory=leafmon",
                     "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_CAN AF_NETLINK",
                     # the leafmon group's CLI: RUNDIR 0750 (leafmond makes the
                     # files 0640 and the sockets 0660 itself), nothing for others
                     "RuntimeDirectoryMode=0750", "StateDirectoryMode=0750", "UMask=0027",
                     "ExecStart=%s/sbin/leafmond" % PREFIX):
            assert line in unit, "unit lacks " + line
        # the installed example parses
        r = subprocess.run([os.path.join(root, "sbin/leafmond"), "--check-config", "-c",
                            os.path.join(root, "share/leafmon/leafmon.conf")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        shutil.rmtree(dest)


def test_unit_verifies():
    if shutil.which("systemd-analyze") is None:
        raise Skip("systemd-analyze absent")
    dest = staged()
    try:
        unit = open(dest + PREFIX + "/lib/systemd/system/leafmon.service").read()
        # systemd checks that ExecStart exists: point it at the staged binary
        unit = unit.replace("ExecStart=%s/sbin/leafmond" % PREFIX,
                            "ExecStart=%s%s/sbin/leafmond" % (dest, PREFIX))
        path = os.path.join(dest, "leafmon.service")
        with open(path, "w") as f:
            f.write(unit)
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    finally:
        shutil.rmtree(dest)


run([test_install_layout, test_unit_verifies])
