#!/usr/bin/env python3
"""Cell polling over real SocketCAN (vcan0), inside the test VM
(tests/vm/leafmon_vm.py; CTest kernel_can_poll). leafmond runs the real can
worker on `socketcan:vcan0` with `poll_cells = true`; this script is the
car: the simulator's EV-CAN traffic paced at real time (so the LBC's 0x1DB is
heard), and an LBC of its own written here from LEAF-CAN.md section 8 (not
leafmon's simulator) that answers "02 21 GG" with ISO-TP replies, honouring
the flow control's block size and STmin, a negative response "7F 21 12" for
group 04 and silence for group 06. Checked: the requests and flow control on
the wire, the cells it sent in the snapshot exactly, the NRC and the timeout
counted, a bus that falls silent gets no request (and a cycle follows its
wake-up after 2 s), another tester's 0x79B stops the worker. Skips (77) outside a CAN kernel."""

import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest_can  # noqa: E402
from guest_can import IFACE, Sender, can_counters, need, sim_frames  # noqa: E402
from harness import Leafmond, measure, run, wait_for  # noqa: E402

CELLS_MV = [3650 + (i * 13) % 40 for i in range(96)]  # what our LBC reports
PACK_V = sum(CELLS_MV) / 1000.0


def frame_bytes(cid, data):
    return struct.pack("=IB3x8s", cid, len(data), bytes(data).ljust(8, b"\0"))


def group_reply(gg):
    """The reply of group gg ("61 GG ..."), AZE0 layouts."""
    if gg == 0x01:
        p = bytearray(41)
        struct.pack_into(">H", p, 18, int(PACK_V * 100))
        struct.pack_into(">H", p, 26, 8741)  # Hx 87.41 %
        p[33:36] = (840000).to_bytes(3, "big")  # 84.0 Ah
        return bytes([0x61, 0x01]) + bytes(p)
    if gg == 0x02:
        p = b"".join(struct.pack(">H", mv) for mv in CELLS_MV)
        p += struct.pack(">HH", int(PACK_V * 100), int(PACK_V * 100))
        return bytes([0x61, 0x02]) + p
    return None


class Lbc(threading.Thread):
    """The LBC: answers on 0x7BB, logs what it was sent on 0x79B."""

    def __init__(self):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
        self.s.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FILTER,
                          struct.pack("=II", 0x79B, 0x7FF))
        self.s.bind((IFACE,))
        self.s.settimeout(0.1)
        self.seen = []  # (monotonic time, bytes) of every 0x79B frame
        self.pending = None  # (message, offset, next sn) waiting for flow control
        self.stop_flag = False
        self.fc_params = []

    def send(self, data):
        self.s.send(frame_bytes(0x7BB, bytes(data).ljust(8, b"\xff")))

    def consecutive(self, bs, st):
        msg, off, sn = self.pending
        k = 0
        while off < len(msg) and (bs == 0 or k < bs):
            time.sleep(max(st, 0) / 1000.0)
            self.send(bytes([0x20 | sn]) + msg[off:off + 7])
            off += 7
            sn = (sn + 1) & 0x0F
            k += 1
        self.pending = (msg, off, sn) if off < len(msg) else None

    def request(self, gg):
        if gg == 0x04:
            self.send(b"\x03\x7f\x21\x12")
            return
        msg = group_reply(gg)
        if msg is None:
            return  # group 06 (and LeafSpy's 61): no answer at all
        self.send(bytes([0x10 | (len(msg) >> 8), len(msg) & 0xFF]) + msg[:6])
        self.pending = (msg, 6, 1)

    def run(self):
        while not self.stop_flag:
            try:
                raw = self.s.recv(16)
            except socket.timeout:
                continue
            cid, n, data = struct.unpack("=IB3x8s", raw)
            data = data[:n]
            self.seen.append((time.monotonic(), data))
            if data[0] == 0x02 and data[1] == 0x21:
                self.request(data[2])
            elif data[0] >> 4 == 3 and self.pending:
                self.fc_params.append(bytes(data))
                self.consecutive(data[1], data[2])

    def ours(self, since=0.0):
        """The requests of the groups leafmon asks (LeafSpy's test asks 61)."""
        return [d for t, d in self.seen if t >= since and d[:2] == b"\x02\x21" and d[2] != 0x61]


class Car:
    """The simulator's EV-CAN frames at their own pace (10 s of the car,
    looped), from start() until stop()."""

    def __init__(self):
        self.frames = sim_frames()
        self.rate = len(self.frames) / 10.0
        self.t = None

    def _run(self):
        snd = Sender()
        i = 0
        while not self.stop_flag:
            chunk = [self.frames[(i + k) % len(self.frames)] for k in range(20)]
            snd.paced(chunk, self.rate)
            i += 20
        snd.close()

    def start(self):
        self.stop_flag = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def stop(self):
        self.stop_flag = True
        if self.t:
            self.t.join()


def test_poll_over_vcan0():
    need()
    lbc, car = Lbc(), Car()
    lbc.start()
    car.start()
    lm = Leafmond(real=("can",), enabled=(), sections={"can": {
        "source": "socketcan:%s" % IFACE, "poll_cells": "true", "poll_interval_s": "10"}})
    try:
        lm.start()
        t0 = time.monotonic()
        c = wait_for(lambda: (lambda c: c if c.get("poll_timeouts", 0) >= 1 else None)(
            can_counters(lm)), 30, "a first cycle (its last group times out)")
        measure("vm_poll_first_cycle", "%.1f" % (time.monotonic() - t0), "s")
        # on the wire: the four requests exactly, one flow control per first frame
        reqs = lbc.ours()
        assert [bytes(r) for r in reqs[:4]] == [bytes([0x02, 0x21, g, 0, 0, 0, 0, 0])
                                                for g in (1, 2, 4, 6)], reqs[:4]
        assert lbc.fc_params[:2] == [b"\x30\x00\x00\x00\x00\x00\x00\x00"] * 2, lbc.fc_params
        assert c["poll_replies"] == 2 and c["poll_nrc"] == 1 and c["poll_last_nrc"] == 0x12, c
        assert c["poll_timeouts"] == 1 and c["poll_flow_controls"] == 2, c
        assert c["poll_tx_errors"] == 0 and c["poll_seq_errors"] == 0, c
        # the cells our LBC sent, exactly, in the snapshot
        import json
        names = ["cell_%03d_mv" % (i + 1) for i in range(96)] + ["battery_hx_pct", "battery_ah"]
        sig = json.loads(lm.cli("get", *names, "--json").stdout)["signals"]
        got = [sig.get(n, {}).get("v") for n in names]
        assert got[:96] == CELLS_MV, list(zip(got, CELLS_MV))[:5]
        assert got[96] == 87.41 and got[97] == 84.0, got[96:]
        # the car sleeps: past poll_interval_s, still no request
        car.stop()
        t_quiet = time.monotonic()
        time.sleep(12)
        assert not lbc.ours(since=t_quiet), lbc.ours(since=t_quiet)
        assert can_counters(lm)["poll_cycles"] == 1
        # it wakes: a cycle once the LBC has been heard for 2 s
        car.start()
        t_wake = time.monotonic()
        # group 04 said 7F 21 12 (not supported): it is not asked again
        wait_for(lambda: len(lbc.ours(since=t_wake)) >= 3, 15, "a cycle after the wake-up")
        assert [r[2] for r in lbc.ours(since=t_wake)] == [1, 2, 6], lbc.ours(since=t_wake)
        first = min(t for t, d in lbc.seen if t >= t_wake and d[:2] == b"\x02\x21")
        assert first - t_wake >= 1.9, first - t_wake
        measure("vm_poll_wake_to_request", "%.2f" % (first - t_wake), "s")
        try:
            wait_for(lambda: can_counters(lm).get("poll_timeouts", 0) >= 2 or None, 10,
                     "the second cycle done")
        finally:
            print("     counters %s" % {k: v for k, v in can_counters(lm).items()
                                        if k.startswith("poll_")}, flush=True)
        c = can_counters(lm)
        assert c["poll_cycles"] == 2 and c["poll_replies"] == 4 and c["poll_nrc"] == 1, c
        assert c["poll_unsupported"] == 1 and c["poll_requests"] == 7, c
        # another tester: LeafSpy asks group 61 every 300 ms for 5 s
        base = len(lbc.ours())
        spy = Sender()
        t_spy = time.monotonic()
        while time.monotonic() - t_spy < 5:
            spy.send(0x79B, b"\x02\x21\x61\x00\x00\x00\x00\x00")
            time.sleep(0.3)
        spy.close()
        c = wait_for(lambda: (lambda c: c if c.get("poll_foreign", 0) >= 15 else None)(
            can_counters(lm)), 10, "the foreign tester counted")
        assert c["poll_backoffs"] == 1 and c["poll_backing_off"] == 1, c
        # 12 s after the tester began: past poll_interval_s, but we stay quiet
        time.sleep(max(0, t_spy + 12 - time.monotonic()))
        assert len(lbc.ours()) == base, lbc.ours()[base:]
        measure("vm_poll_requests", "%d ours, %d frames seen on 0x79B" % (
            len(lbc.ours()), len(lbc.seen)))
    finally:
        car.stop()
        lbc.stop_flag = True
        lm.stop()


def test_doctor_listen_only_controller_cannot_poll():
    """An emulated SJA1000 (Kvaser) in listen-only mode cannot send: with
    poll_cells on, `leafmon doctor can` fails check can.poll; with it off,
    or the controller back in normal mode, there is no such failure."""
    need()
    import json
    import subprocess
    if not os.path.exists("/sys/class/net/can0"):
        from harness import Skip
        raise Skip("no emulated kvaser_pci boards (leafmon_vm.py run --kvaser)")

    def doctor(poll, listen_only):
        subprocess.run(["/usr/sbin/ip", "link", "set", "can0", "down"], check=True)
        subprocess.run(["/usr/sbin/ip", "link", "set", "can0", "type", "can", "bitrate", "500000",
                        "listen-only", "on" if listen_only else "off"], check=True)
        subprocess.run(["/usr/sbin/ip", "link", "set", "can0", "up"], check=True)
        lm = Leafmond(real=("can",), enabled=(), sections={"can": {
            "source": "socketcan:can0", "poll_cells": "true" if poll else "false"}})
        r = lm.cli("doctor", "can", "--json")
        return {c["check"]: c for c in json.loads(r.stdout)}

    c = doctor(True, True)
    assert c["can.poll"]["result"] == "FAIL", c.get("can.poll")
    assert "listen-only" in c["can.poll"]["detail"], c["can.poll"]
    assert "can.poll" not in doctor(False, True)
    assert "can.poll" not in doctor(True, False)


if __name__ == "__main__":
    run([test_poll_over_vcan0, test_doctor_listen_only_controller_cannot_poll])
