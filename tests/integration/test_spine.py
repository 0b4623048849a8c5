"""The spine with test workers: start to READY, restarts after kill -9,
the death tally, exit 78 (and the real web worker's start-up failures), restart of one worker, heartbeat loss, stop
escalation, reload (good and bad), ordered SIGTERM, re-attach after a
supervisor restart, gap-free subscription across kill -9, systemd notify."""

import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Leafmond, bin_path, measure, median_max, pid_alive, rss_kb, run,  # noqa: E402
                     wait_for)


def test_start_to_ready_and_notify():
    notify_dir = os.path.join(Leafmond().tmp, "notify")
    os.makedirs(notify_dir)
    sock_path = os.path.join(notify_dir, "sd.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(0.2)
    d = Leafmond(env={})
    d.env["NOTIFY_SOCKET"] = sock_path
    d.env["WATCHDOG_USEC"] = "2000000"
    t0 = time.monotonic()
    d.start(wait_ready=False)
    try:
        msgs = []
        def got_ready():
            try:
                msgs.append(s.recv(4096).decode())
            except socket.timeout:
                pass
            return any("READY=1" in m for m in msgs)
        wait_for(got_ready, 20, "READY=1 on NOTIFY_SOCKET")
        measure("supervisor_start_to_ready_ms", round((time.monotonic() - t0) * 1000, 1), "ms")
        d.wait_states()
        def got(what):
            try:
                msgs.append(s.recv(4096).decode())
            except socket.timeout:
                pass
            return any(what in m for m in msgs)
        wait_for(lambda: got("STATUS=can ready"), 10, "STATUS= line")
        os.environ.get("WATCHDOG_USEC")
        wait_for(lambda: got("WATCHDOG=1"), 10, "WATCHDOG=1")
        measure("supervisor_rss_kb", rss_kb(d.proc.pid), "kB")
        code, took = d.stop()
        assert code == 0, code
        wait_for(lambda: got("STOPPING=1"), 5, "STOPPING=1")
    finally:
        d.stop()
        s.close()


def test_kill9_each_worker_comes_back():
    # a fixed 100 ms backoff (the doubling policy has its own unit test), so
    # each of the 25 measurements is backoff + fork/exec + ready + polling
    d = Leafmond(sup={"restart_min_ms": "100", "restart_max_ms": "100"}).start()
    try:
        lat = []
        for round_ in range(5):
            for name in ("can", "influx", "cloud", "web", "ledger"):
                st = d.status()
                w = d.worker(name, st)
                others = {x["name"]: x["pid"] for x in st["workers"] if x["name"] != name}
                old = w["pid"]
                t0 = time.monotonic()
                os.kill(old, signal.SIGKILL)
                def back():
                    x = d.worker(name)
                    return x["state"] == "ready" and x["pid"] not in (None, old)
                wait_for(back, 15, "%s back and ready after kill -9" % name, interval=0.005)
                lat.append((time.monotonic() - t0) * 1000)
                st2 = d.status()
                for x in st2["workers"]:
                    if x["name"] != name:
                        assert x["pid"] == others[x["name"]], "%s pid changed" % x["name"]
                w2 = d.worker(name, st2)
                assert "SIGKILL" in (w2["last_exit"] or ""), w2
        med, mx = median_max(lat)
        measure("worker_restart_kill9_to_ready_median_ms", round(med, 1),
                "ms (n=%d, includes the 100 ms backoff)" % len(lat))
        measure("worker_restart_kill9_to_ready_max_ms", round(mx, 1), "ms")
        assert d.worker("can")["restarts"] == 5
    finally:
        d.stop()


def test_crash_loop_ends_failed_then_retries():
    d = Leafmond(env={"LEAFMON_TEST_CLOUD": "crash"},
                 sup={"failed_after": "4", "failed_window_s": "60", "failed_retry_s": "2",
                      "restart_min_ms": "20", "restart_max_ms": "100"})
    d.start(wait_ready=False)
    try:
        st = d.wait_states({"cloud": "failed"}, timeout=20)
        w = d.worker("cloud", st)
        assert any(a["code"] == "failed" and "4 deaths" in a["text"] for a in w["alerts"]), w
        assert 0 < w["next_start_in_s"] <= 2.0, w
        r = d.cli("status")
        assert r.returncode == 4 and "failed" in r.stdout, r
        # the slow periodic retry happens, and fails again
        restarts = w["restarts"]
        wait_for(lambda: d.worker("cloud")["restarts"] > restarts, 10, "periodic retry")
        for other in ("can", "influx", "web"):
            assert d.worker(other)["state"] == "ready"
    finally:
        d.stop()


def test_exit78_failed_until_reload():
    d = Leafmond(env={"LEAFMON_TEST_WEB": "exit78"})
    d.start(wait_ready=False)
    try:
        st = d.wait_states({"web": "failed"}, timeout=15)
        w = d.worker("web", st)
        assert w["restarts"] == 1 and any(a["code"] == "config" for a in w["alerts"]), w
        time.sleep(1.0)  # a quiet second: it must not be retried on its own
        assert d.worker("web")["restarts"] == 1
        r = d.cli("reload", check=True)
        assert "web: started" in r.stdout, r.stdout
        wait_for(lambda: d.worker("web")["restarts"] == 2, 10, "retry after reload")
    finally:
        d.stop()


def test_real_web_start_failures_exit_78_or_1():
    """worker_fail's contract with the real web worker: a configuration only
    the worker finds wrong (a TLS key over its 1 MiB limit) is exit 78, the
    supervisor's config alert and no retry before a reload; a bind that is no
    address is the loader's exit 78; a port in use is exit 1, not 78."""
    d = Leafmond(real=("web",))
    cert, key = os.path.join(d.tmp, "cert.pem"), os.path.join(d.tmp, "key.pem")
    with open(cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n")
    with open(key, "w") as f:
        f.write("A" * (2 << 20))
    d.sections["web"].update({"tls_cert": cert, "tls_key": key})
    d.write_config()
    d.start(wait_ready=False)
    try:
        st = d.wait_states({"web": "failed"}, timeout=15)
        w = d.worker("web", st)
        assert w["restarts"] == 1 and any(a["code"] == "config" for a in w["alerts"]), w
        assert "78" in w["last_exit"], w
        time.sleep(1.0)
        assert d.worker("web")["restarts"] == 1
        with open(d.log, errors="replace") as f:
            log = f.read()
        assert "cannot read tls_cert" in log and "cannot start (see above)" in log, log
    finally:
        d.stop()

    def web_alone(**web):
        d.sections["web"] = dict({"enabled": "true"}, **web)
        d.write_config()
        return subprocess.run([bin_path("libexec/leafmon-web"), "--standalone", "-c", d.conf],
                              capture_output=True, text=True, timeout=20)
    r = web_alone(bind="localhost", port="0")
    assert r.returncode == 78 and "is not an IPv4 or IPv6 address" in r.stderr, r
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    try:
        r = web_alone(bind="127.0.0.1", port=str(held.getsockname()[1]))
        assert r.returncode == 1 and "cannot listen on 127.0.0.1" in r.stderr, r
        assert "cannot start (see above)" in r.stderr, r
    finally:
        held.close()


def test_restart_one_worker_leaves_others():
    d = Leafmond().start()
    try:
        before = {w["name"]: w["pid"] for w in d.status()["workers"]}
        d.cli("restart", "influx", check=True)
        wait_for(lambda: d.worker("influx")["state"] == "ready" and
                 d.worker("influx")["pid"] != before["influx"], 10, "influx restarted")
        after = {w["name"]: w["pid"] for w in d.status()["workers"]}
        for name in ("can", "cloud", "web"):
            assert after[name] == before[name], name
        d.cli("stop", "web", check=True)
        d.wait_states({"web": "stopped"}, timeout=10)
        assert not pid_alive(before["web"])
        time.sleep(0.5)  # stopped stays stopped
        assert d.worker("web")["state"] == "stopped"
        d.cli("start", "web", check=True)
        d.wait_states(timeout=10)
        r = d.cli("restart", "nosuch")
        assert r.returncode == 1 and "unknown worker" in r.stderr, r
    finally:
        d.stop()


def test_heartbeat_loss_kills_and_restarts():
    d = Leafmond(env={"LEAFMON_TEST_INFLUX": "hang"}, sup={"heartbeat_timeout_s": "1"})
    d.start(wait_ready=False)
    try:
        wait_for(lambda: "no heartbeat" in (d.worker("influx")["last_exit"] or ""), 15,
                 "hung influx killed")
        assert d.worker("influx")["restarts"] >= 1
    finally:
        d.stop()


def test_zero_length_channel_messages_are_not_eof():
    d = Leafmond(env={"LEAFMON_TEST_WEB": "empty-msgs"}).start()
    try:
        pid = d.worker("web")["pid"]
        time.sleep(1.0)  # twenty empty packets go by
        w = d.worker("web")
        assert w["state"] == "ready" and w["pid"] == pid and w["restarts"] == 0, w
        assert w["heartbeat_age_s"] < 2, w
    finally:
        d.stop()


def test_ignored_stop_escalates():
    d = Leafmond(env={"LEAFMON_TEST_WEB": "ignore-stop"}, sup={"stop_timeout_s": "1"}).start()
    try:
        pid = d.worker("web")["pid"]
        t0 = time.monotonic()
        d.cli("stop", "web", check=True)
        d.wait_states({"web": "stopped"}, timeout=10)
        took = time.monotonic() - t0
        assert not pid_alive(pid)
        # the worker ignores Stop and its own SIGTERM handling: SIGKILL ends it
        assert "SIGKILL" in d.worker("web")["last_exit"], d.worker("web")
        assert "sending SIGTERM" in d.logtext() and "sending SIGKILL" in d.logtext()
        assert took < 1 + 2 + 2, took
    finally:
        d.stop()


def test_reload_bad_config_keeps_old_and_good_restarts_changed():
    d = Leafmond().start()
    try:
        before = {w["name"]: w["pid"] for w in d.status()["workers"]}
        good = open(d.conf).read()
        with open(d.conf, "a") as f:
            f.write("[web]\nportt = 81\n")
        d.proc.send_signal(signal.SIGHUP)
        st = wait_for(lambda: (lambda s: s if s["alerts"] else None)(d.status()), 10,
                      "reload alert")
        assert "portt" in st["alerts"][0]["text"] and ":%d:" % (good.count("\n") + 2) in \
            st["alerts"][0]["text"], st["alerts"]
        assert {w["name"]: w["pid"] for w in st["workers"]} == before
        d.sections["web"]["port"] = "1"  # a changed [web] section
        d.write_config()
        r = d.cli("reload", check=True)
        assert "web: restarted" in r.stdout and "can" not in r.stdout, r.stdout
        wait_for(lambda: d.worker("web")["pid"] != before["web"] and
                 d.worker("web")["state"] == "ready", 10, "web restarted")
        st = d.status()
        assert not st["alerts"], st["alerts"]
        for name in ("can", "influx", "cloud"):
            assert d.worker(name, st)["pid"] == before[name], name
        d.sections["influx"]["enabled"] = "false"
        d.write_config()
        d.cli("reload", check=True)
        d.wait_states({"influx": "disabled"}, timeout=10)
        r = d.cli("start", "influx")
        assert r.returncode == 1 and "disabled" in r.stderr
    finally:
        d.stop()


def test_sigterm_stops_everything_within_bound():
    d = Leafmond(sup={"stop_timeout_s": "2"}).start()
    pids = [w["pid"] for w in d.status()["workers"] if w["pid"]]  # not the disabled
    code, took = d.stop()
    assert code == 0, code
    for p in pids:
        assert not pid_alive(p), p
    measure("supervisor_sigterm_stop_ms", round(took * 1000, 1), "ms")
    assert took < 4 * (2 + 2), took
    log = d.logtext()
    order = [log.find("%s: stopped" % n) for n in ("can", "web", "ledger", "cloud", "influx")]
    assert all(x >= 0 for x in order) and order == sorted(order), (order, log[-2000:])


def test_subscriber_killed_misses_no_seq_and_supervisor_reattaches():
    d = Leafmond(env={"LEAFMON_TEST_CAN": "publish", "LEAFMON_TEST_INFLUX": "subscribe"},
                 enabled=("influx",)).start()
    seqs_path = os.path.join(d.statedir, "influx.seqs")
    try:
        for _ in range(5):
            time.sleep(0.3)  # let samples flow between kills (no correctness depends on it)
            pid = d.worker("influx")["pid"]
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: d.worker("influx")["state"] == "ready" and
                     d.worker("influx")["pid"] != pid, 10, "influx back")
        gen_before = open(os.path.join(d.rundir, "journal.shm"), "rb").read(48)[24:32]
        # the supervisor itself dies; workers notice EOF and exit; a new one re-attaches
        before = [w["pid"] for w in d.status()["workers"] if w["pid"]]
        d.kill9()
        wait_for(lambda: not any(pid_alive(p) for p in before), 10, "orphans exit on EOF")
        d.start()
        gen_after = open(os.path.join(d.rundir, "journal.shm"), "rb").read(48)[24:32]
        assert gen_before == gen_after, "journal re-created instead of re-attached"
        assert "re-attached" in d.logtext()
        time.sleep(0.5)
        d.stop()
        seqs = [int(x) for x in open(seqs_path).read().split()]
        uniq = sorted(set(seqs))
        assert uniq[0] == 1, uniq[:5]
        missing = set(range(uniq[0], uniq[-1] + 1)) - set(uniq)
        measure("spine_subscriber_seqs", len(uniq), "samples")
        measure("spine_subscriber_duplicates_after_kill9", len(seqs) - len(uniq), "samples")
        assert not missing, "missing seqs: %s" % sorted(missing)[:20]
        assert len(uniq) > 200, len(uniq)
    finally:
        d.stop()


def test_second_leafmond_on_same_rundir_refused():
    d = Leafmond().start()
    try:
        before = {w["name"]: w["pid"] for w in d.status()["workers"]}
        r = subprocess.run([bin_path("supervisor/leafmond"), "-c", d.conf], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 1 and "another leafmond (pid %d)" % d.proc.pid in r.stderr, r
        assert {w["name"]: w["pid"] for w in d.status()["workers"]} == before
    finally:
        d.stop()


def test_cli_without_daemon_and_check_config():
    d = Leafmond()
    r = d.cli("status")
    assert r.returncode == 3 and "not running" in r.stderr, r
    r = d.cli("get", "battery_soc_pct")
    assert r.returncode == 3, r
    r = subprocess.run([bin_path("supervisor/leafmond"), "-c", d.conf, "--check-config"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "[supervisor]" in r.stdout, r
    with open(d.conf, "a") as f:
        f.write("[can]\npublish_interval_ms = fast\n")
    r = subprocess.run([bin_path("supervisor/leafmond"), "-c", d.conf, "--check-config"],
                       capture_output=True, text=True)
    assert r.returncode == 78 and "leafmon.conf:" in r.stderr and "fast" in r.stderr, r
    r = subprocess.run([bin_path("supervisor/leafmond"), "-c", d.conf], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 78, r


def test_workers_found_beside_leafmond_without_worker_dir():
    """Issue 14 item 6: leafmond run from the build tree finds the build's
    own workers (build/libexec, beside build/supervisor/leafmond) when
    worker_dir is not set, and says so; a leafmond elsewhere with nothing
    beside it falls back to the installed dir, and says that."""
    import shutil
    d = Leafmond(sup={"worker_dir": ""}, enabled=(), sections={"can": {"source": "sim"}})
    d.start(timeout=30)
    try:
        libexec = os.path.realpath(bin_path("libexec"))
        assert "workers from %s (beside leafmond)" % libexec in d.logtext(), d.logtext()
        w = d.worker("can")
        assert w["state"] == "ready" and w["pid"], w
        assert os.path.realpath("/proc/%d/exe" % w["pid"]) == os.path.join(libexec, "leafmon-can")
    finally:
        d.stop()
    # a copy of leafmond with no libexec beside it
    alone = os.path.join(d.tmp, "alone", "sbin")
    os.makedirs(alone)
    shutil.copy(bin_path("supervisor/leafmond"), alone)
    r = subprocess.run([os.path.join(alone, "leafmond"), "--version"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0 and ": installed)" in r.stdout, r
    r = subprocess.run([bin_path("supervisor/leafmond"), "--version"], capture_output=True,
                       text=True, timeout=10)
    assert "workers in %s: beside leafmond" % libexec in r.stdout, r


run([test_start_to_ready_and_notify, test_kill9_each_worker_comes_back,
     test_crash_loop_ends_failed_then_retries, test_exit78_failed_until_reload,
     test_real_web_start_failures_exit_78_or_1,
     test_restart_one_worker_leaves_others, test_heartbeat_loss_kills_and_restarts,
     test_zero_length_channel_messages_are_not_eof, test_ignored_stop_escalates, test_reload_bad_config_keeps_old_and_good_restarts_changed,
     test_sigterm_stops_everything_within_bound,
     test_subscriber_killed_misses_no_seq_and_supervisor_reattaches,
     test_second_leafmond_on_same_rundir_refused, test_cli_without_daemon_and_check_config,
     test_workers_found_beside_leafmond_without_worker_dir])
