"""RUNDIR and STATEDIR trust, and who may use what is in them (DESIGN.md
"Command line"). A fallback /tmp/leafmon-$UID that another user made
beforehand (mode 0777, with a symlink state.shm.new to a file of ours) is
refused with a clear error, and nothing is written through the symlink;
likewise a directory of ours that others may write, and the state dir. In a
directory of its own, leafmond's files are 0640 and its sockets 0660 even
under umask 002, so the owner's group can use the CLI and other users
cannot. The test makes its own users and group (useradd, groupadd) and
removes them: it needs root, and skips saying so otherwise."""

import grp
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Skip, bin_path, run, wait_for  # noqa: E402

# the fallbacks apply only when none of these says otherwise
DIR_ENV = ("LEAFMON_RUNDIR", "LEAFMON_STATEDIR", "RUNTIME_DIRECTORY", "STATE_DIRECTORY",
           "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "HOME", "LEAFMON_CONFIG", "NOTIFY_SOCKET")


class Users:
    """A group and three users: the victim (who runs leafmond, primary group
    the new group), a member of that group, and an outsider (the attacker)."""

    def __init__(self):
        if os.geteuid() != 0:
            raise Skip("needs root to create the second user (useradd); run as root to test")
        for tool in ("useradd", "userdel", "groupadd", "groupdel"):
            if shutil.which(tool) is None:
                raise Skip("%s not installed" % tool)
        tag = "%d" % (os.getpid() % 100000)
        self.group = "lmg" + tag
        self.names = {"victim": "lmv" + tag, "member": "lmm" + tag, "outsider": "lmo" + tag}
        subprocess.run(["groupadd", self.group], check=True)
        self.made = []
        try:
            for role, name in self.names.items():
                args = ["useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/usr/sbin/nologin"]
                args += ["-g", self.group] if role == "victim" else ["-g", "users"]
                if role == "member":
                    args += ["-G", self.group]
                subprocess.run(args + [name], check=True)
                self.made.append(name)
        except Exception:
            self.remove()
            raise
        self.gid = grp.getgrnam(self.group).gr_gid

    def pw(self, role):
        return pwd.getpwnam(self.names[role])

    def uid(self, role):
        return self.pw(role).pw_uid

    def popen_args(self, role, umask=0o022):
        p = self.pw(role)
        extra = [self.gid] if role == "member" else []
        env = {k: v for k, v in os.environ.items() if k not in DIR_ENV}
        return dict(user=p.pw_uid, group=p.pw_gid, extra_groups=extra, umask=umask, env=env)

    def run(self, role, args, timeout=30):
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              **self.popen_args(role))

    def remove(self):
        for name in self.made:
            subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", self.group], capture_output=True)


def fallback_dirs(uid):
    return "/tmp/leafmon-%d" % uid, "/tmp/leafmon-state-%d" % uid


def others_may_run(path):
    """Every directory above path lets other users through (a checkout
    under /root, mode 0700, does not)."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def binaries(tmp):
    """Where the test users can run the programs from: the build tree, or
    else a copy of its programs in tmp (same layout, so leafmond finds its
    workers beside it as it would in the build)."""
    if others_may_run(bin_path("supervisor/leafmond")):
        return bin_path
    for rel in ["supervisor/leafmond", "cli/leafmon"] + [
            "libexec/" + n for n in os.listdir(bin_path("libexec"))]:
        dst = os.path.join(tmp, "bin", rel)
        os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
        shutil.copy2(bin_path(rel), dst)
        os.chmod(dst, 0o755)
    for dirpath, _, _ in os.walk(os.path.join(tmp, "bin")):
        os.chmod(dirpath, 0o755)
    return lambda rel: os.path.join(tmp, "bin", rel)


def write_config(tmp, bins):
    """No rundir, no statedir: the /tmp fallbacks apply."""
    conf = os.path.join(tmp, "leafmon.conf")
    with open(conf, "w") as f:
        f.write("[supervisor]\nworker_dir = %s\nstop_timeout_s = 3\njournal_mb = 1\n"
                "[can]\nsource = sim\n[influx]\nenabled = false\n[cloud]\nenabled = false\n"
                "[web]\nenabled = false\n" % bins("libexec"))
    os.chmod(conf, 0o644)
    return conf


class Rig:
    def __init__(self):
        self.u = Users()
        self.tmp = tempfile.mkdtemp(prefix="leafmon-rundir-")
        os.chmod(self.tmp, 0o755)
        self.bin = binaries(self.tmp)
        self.conf = write_config(self.tmp, self.bin)
        self.rundir, self.statedir = fallback_dirs(self.u.uid("victim"))
        # a file of the victim's that a followed symlink would overwrite
        self.precious = os.path.join(self.tmp, "precious")
        with open(self.precious, "w") as f:
            f.write("the victim's own data\n")
        os.chown(self.precious, self.u.uid("victim"), self.u.gid)
        self.proc = None

    def leafmond(self, umask=0o022):
        log = open(os.path.join(self.tmp, "leafmond.log"), "ab")
        self.proc = subprocess.Popen([self.bin("supervisor/leafmond"), "-c", self.conf],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     **self.u.popen_args("victim", umask))
        return self.proc

    def log(self):
        with open(os.path.join(self.tmp, "leafmond.log"), errors="replace") as f:
            return f.read()

    def plant(self, path, owner_role, mode, link=None):
        """What the attacker prepares: a directory of theirs, open to all,
        with a symlink to the victim's file in it."""
        os.makedirs(path)
        os.chown(path, self.u.uid(owner_role), -1)
        os.chmod(path, mode)
        if link:
            target = os.path.join(path, link)
            os.symlink(self.precious, target)
            os.lchown(target, self.u.uid(owner_role), -1)

    def cli(self, role, *args):
        return self.u.run(role, [self.bin("cli/leafmon"), "-c", self.conf, "--rundir",
                                 self.rundir] + list(args))

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for d in (self.rundir, self.statedir, self.tmp):
            shutil.rmtree(d, ignore_errors=True)
        self.u.remove()


def refused(rig, what):
    p = rig.leafmond()
    code = p.wait(timeout=20)
    assert code == 78, "leafmond exit %s, log:\n%s" % (code, rig.log())
    assert what in rig.log(), rig.log()
    with open(rig.precious) as f:
        assert f.read() == "the victim's own data\n", "written through the planted symlink"


def test_foreign_fallback_dirs_refused_nothing_written_through_symlinks():
    rig = Rig()
    try:
        victim, outsider = rig.u.uid("victim"), rig.u.uid("outsider")
        # someone else's /tmp/leafmon-$UID, open to all, a symlink in it
        rig.plant(rig.rundir, "outsider", 0o777, link="state.shm.new")
        refused(rig, "%s belongs to uid %d, not to us (uid %d)" % (rig.rundir, outsider, victim))
        assert sorted(os.listdir(rig.rundir)) == ["state.shm.new"], os.listdir(rig.rundir)
        # a worker on its own refuses it as well
        r = rig.u.run("victim", [rig.bin("libexec/leafmon-can"), "--standalone", "-c", rig.conf])
        assert r.returncode == 78 and "belongs to uid %d" % outsider in r.stderr, r
        # the victim's own directory, but writable by everybody
        shutil.rmtree(rig.rundir)
        rig.plant(rig.rundir, "victim", 0o777, link="journal.shm.new")
        refused(rig, "%s is writable by others (mode 0777)" % rig.rundir)
        # a good run dir, but someone else's state dir
        shutil.rmtree(rig.rundir)
        rig.plant(rig.statedir, "outsider", 0o777, link="can-energy.new")
        refused(rig, "statedir %s belongs to uid %d" % (rig.statedir, outsider))
        assert sorted(os.listdir(rig.statedir)) == ["can-energy.new"]
    finally:
        rig.close()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_own_dirs_private_files_0640_sockets_0660_group_uses_the_cli():
    rig = Rig()
    try:
        # umask 002 (user-private groups) would have made them group-writable
        rig.leafmond(umask=0o002)
        wait_for(lambda: rig.cli("victim", "status", "--json").returncode == 0, 30,
                 "leafmond up, every worker ready (log: %s)" % rig.tmp)
        st = os.stat(rig.rundir)
        assert st.st_uid == rig.u.uid("victim") and mode(rig.rundir) == 0o750, oct(st.st_mode)
        assert mode(rig.statedir) == 0o750, oct(mode(rig.statedir))
        for name in ("state.shm", "journal.shm", "status.json", "leafmond.lock"):
            assert mode(os.path.join(rig.rundir, name)) == 0o640, (name, oct(mode(
                os.path.join(rig.rundir, name))))
        for name in ("control.ipc", "samples.ipc", "frames.ipc"):
            path = os.path.join(rig.rundir, name)
            assert stat.S_ISSOCK(os.lstat(path).st_mode) and mode(path) == 0o660, (
                name, oct(mode(path)))
        # the owner's group uses the CLI: the control socket and the snapshot
        r = rig.cli("member", "status", "--json")
        assert r.returncode == 0, r
        assert {w["name"]: w["state"] for w in json.loads(r.stdout)["workers"]}["can"] == "ready"
        wait_for(lambda: rig.cli("member", "get", "battery_voltage_v").returncode == 0, 20,
                 "the member reads the snapshot")
        # anybody else: neither
        r = rig.cli("outsider", "status")
        assert r.returncode == 3, r  # leafmond cannot be reached
        r = rig.cli("outsider", "get", "battery_voltage_v")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r
        rig.proc.send_signal(signal.SIGTERM)
        assert rig.proc.wait(timeout=30) == 0, rig.log()
        assert mode(os.path.join(rig.statedir, "can-energy")) == 0o640
    finally:
        rig.close()


if __name__ == "__main__":
    run([test_foreign_fallback_dirs_refused_nothing_written_through_symlinks,
         test_own_dirs_private_files_0640_sockets_0660_group_uses_the_cli])
