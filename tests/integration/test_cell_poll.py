"""Cell polling ([can] poll_cells, issue 11): leafmond with the real can
worker on the simulator, whose LBC answers the poller's ISO-TP requests
(groups 01 02 04 06): the 96 cells, the thermistors, Hx and Ah appear in the
snapshot (`leafmon get`) and, through the real influx writer, in InfluxDB
measurement `cell`, and a recording of it decodes to the same cells; the
simulated LBC made to answer with a negative
response or not at all is counted and gives no cells; a replay cannot
transmit, so the poller stays off and says why while the LeafSpy replies in
a real log still decode passively."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DATA, Leafmond, Skip, bin_path, measure, run, wait_for  # noqa: E402

LEAFSPY_LOG = "logs/ze0_2011-2012/ch1_20251127_195942_leaf_ze0_leafspy.csv"
CELLS = ["cell_%03d_mv" % i for i in range(1, 97)]


def need(*workers):
    for w in ("libexec/leafmon-can", "cli/leafmon") + tuple("libexec/leafmon-" + x for x in workers):
        if not os.path.exists(bin_path(w)):
            raise Skip("%s is not built" % w)


def counters(lm):
    return lm.status().get("can") or {}


def wait_counter(lm, name, pred, timeout=30):
    return wait_for(lambda: (lambda c: c if pred(c.get(name, -1)) else None)(counters(lm)),
                    timeout, "can counter %s" % name)


def get(lm, *names):
    """The snapshot's values of names ({name: value}, absent ones left out)."""
    r = lm.cli("get", *names, "--json")
    sig = json.loads(r.stdout)["signals"]
    return {k: x["v"] for k, x in sig.items() if k in names and x.get("v") is not None}


def test_sim_cells_polled_into_snapshot_and_influx():
    need("influx")
    from servers import Influxd
    ix = Influxd().start()
    ix.create_db("leaf")
    lm = Leafmond(real=("can", "influx"), enabled=("can", "influx"), sections={
        "can": {"source": "sim", "poll_cells": "true", "poll_interval_s": "10", "record": "true"},
        "influx": {"enabled": "true", "url": ix.url, "database": "leaf", "unsynced_hold_s": "0"}})
    try:
        lm.start()
        c = wait_counter(lm, "poll_replies", lambda v: v >= 4)
        assert c["poll_on"] == 1, c
        v = get(lm, "battery_voltage_v", "cells_voltage_avg_mv", "cells_voltage_delta_mv",
                "cells_temp_1_c", "battery_hx_pct", "battery_ah", *CELLS)
        missing = [n for n in CELLS if n not in v]
        assert not missing, "cells missing from the snapshot: %s" % missing[:5]
        # the simulated pack: cells around its voltage / 96, a 10 mV spread
        per_cell = v["battery_voltage_v"] / 96 * 1000
        assert abs(v["cells_voltage_avg_mv"] - per_cell) < 15, v
        assert 0 < v["cells_voltage_delta_mv"] <= 10, v
        assert all(abs(v[n] - per_cell) < 20 for n in CELLS), v
        assert -20 < v["cells_temp_1_c"] < 60 and 80 < v["battery_hx_pct"] < 100, v
        measure("poll_sim_cells_avg_mv", "%.1f" % v["cells_voltage_avg_mv"], "mV")
        # InfluxDB: measurement cell with the 96 fields
        rows = wait_for(lambda: ix.rows("leaf", "cell") or None, 30, "points in measurement cell")
        fields = set(k for r in rows for k, x in r.items() if x is not None)
        assert set(CELLS) <= fields, sorted(set(CELLS) - fields)[:5]
        cells = wait_for(lambda: ix.rows("leaf", "cells") or None, 30, "points in measurement cells")
        assert any(r.get("cells_voltage_min_mv") for r in cells), cells[:2]
        # the rate limit: a second cycle only after poll_interval_s
        c1 = wait_counter(lm, "poll_cycles", lambda v: v >= 2, timeout=40)
        # four requests a cycle (the last may be under way), no cycle early
        assert 4 * (c1["poll_cycles"] - 1) < c1["poll_requests"] <= 4 * c1["poll_cycles"], c1
        assert c1["poll_cycles"] <= 1 + (lm.worker("can")["uptime_s"] - 2) / 10 + 1e-9, c1
        assert c1["poll_tx_frames"] == c1["poll_requests"] + c1["poll_flow_controls"], c1
        for k in ("poll_nrc", "poll_timeouts", "poll_seq_errors", "poll_bad_replies",
                  "poll_tx_errors", "poll_foreign", "poll_aborted"):
            assert c1[k] == 0, (k, c1)
        measure("poll_sim_cycles", "%d cycles, %d requests, %d flow controls in %.0f s" % (
            c1["poll_cycles"], c1["poll_requests"], c1["poll_flow_controls"],
            lm.worker("can")["uptime_s"]))
        last = get(lm, "cell_001_mv", "cell_096_mv")
    finally:
        lm.stop()
        ix.stop()
    recorded_poll_decodes_alike(lm, c1, last)


def recorded_poll_decodes_alike(lm, c, last):
    """The recording holds our requests and flow control (direction T) and the
    LBC's replies; `leafmon decode` of it reads the same cells passively."""
    d = os.path.join(lm.statedir, "recordings")
    logs = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))
    lines = [ln for p in logs for ln in open(p)]
    sent = [ln for ln in lines if "79B#" in ln]
    assert sent and all(ln.rstrip().endswith(" T") for ln in sent), sent[:3]
    assert len(sent) >= c["poll_requests"] + c["poll_flow_controls"], (len(sent), c)
    assert any("79B#02210200000000" in ln for ln in sent), sent[:4]
    vals = {"cell_001_mv": set(), "cell_096_mv": set()}
    for p in logs:
        r = subprocess.run([bin_path("cli/leafmon"), "decode", "--json", p], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        for ln in r.stdout.splitlines():
            if ln.startswith("{"):
                s = json.loads(ln)
                for k in vals:
                    if k in s:
                        vals[k].add(s[k])
    for k, v in last.items():
        assert v in vals[k], (k, v, sorted(vals[k]))


def run_mode(mode):
    lm = Leafmond(real=("can",), enabled=("can",), sections={
        "can": {"source": "sim,lbc=%s" % mode, "poll_cells": "true", "poll_interval_s": "10"}})
    lm.start()
    return lm


def test_sim_negative_response_counted_no_cells():
    need()
    lm = run_mode("nrc")
    try:
        c = wait_counter(lm, "poll_nrc", lambda v: v >= 4)
        assert c["poll_last_nrc"] == 0x12 and c["poll_unsupported"] == 4, c
        assert c["poll_replies"] == 0 and c["poll_flow_controls"] == 0, c
        assert not get(lm, *CELLS), "cells from a negative response"
        # every group is given up: no more requests, however long we wait
        import time
        time.sleep(12)
        c2 = counters(lm)
        assert c2["poll_requests"] == 4, c2
    finally:
        lm.stop()


def test_sim_silent_lbc_times_out_no_cells():
    need()
    lm = run_mode("silent")
    try:
        c = wait_counter(lm, "poll_timeouts", lambda v: v >= 4)
        assert c["poll_requests"] >= 4 and c["poll_replies"] == 0, c
        assert c["poll_flow_controls"] == 0, c
        assert not get(lm, *CELLS), "cells from a silent LBC"
    finally:
        lm.stop()


def test_replay_cannot_poll_passive_replies_decode():
    need()
    path = os.path.join(DATA, LEAFSPY_LOG)
    if not os.path.exists(path):
        raise Skip("%s is not here (set LEAFMON_DATA to ../shared/data/leaf)" % path)
    lm = Leafmond(real=("can",), enabled=("can",), sections={
        "can": {"source": "replay:%s,speed=0" % path, "poll_cells": "true"}})
    try:
        lm.start()
        w = wait_for(lambda: (lambda w: w if any(a["code"] == "poll_off" for a in w.get("alerts", []))
                              else None)(lm.worker("can")), 20, "alert poll_off")
        alert = [a for a in w["alerts"] if a["code"] == "poll_off"][0]
        assert "replay" in alert["text"] and "cannot transmit" in alert["text"], alert
        c = w.get("counters") or counters(lm)
        assert c["poll_on"] == 0, c
        assert not any(k.startswith("poll_requests") for k in c), c
        # LeafSpy's group 0x01 reply in the log: Hx 29.34 %, 33.1 Ah (decode_test's figures)
        v = wait_for(lambda: (lambda v: v if "battery_hx_pct" in v else None)(
            get(lm, "battery_hx_pct", "battery_ah")), 30, "Hx from the log's LeafSpy replies")
        assert abs(v["battery_hx_pct"] - 29.34) < 0.005 and abs(v["battery_ah"] - 33.1) < 0.05, v
        assert "cell polling is off" in lm.logtext()
    finally:
        lm.stop()


if __name__ == "__main__":
    run([test_sim_cells_polled_into_snapshot_and_influx, test_sim_negative_response_counted_no_cells,
         test_sim_silent_lbc_times_out_no_cells, test_replay_cannot_poll_passive_replies_decode])
