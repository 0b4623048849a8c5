"""Sessions end to end with the CLI: the simulator's long day (`leafmon sim
--scenario day`: driving, the bus asleep for hours, a quick charge, a move,
an AC charge interrupted and resumed, a wake after midnight) piped through
`leafmon decode --sessions --json`, against the simulator's own ground truth
(--truth, from its physics, not from the decoder): every session found, in
order, each figure within 1 % or within the resolution of the signal it
comes from (0.1 % SOC, 1 GID, 1 km odometer, 0.1 V, 0.1 kWh of 0x59E, and
0.02 kWh for energies: the 0.5 A steps of 0x1DB over minutes of a nearly
constant small current)."""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import bin_path, cost, measure, run  # noqa: E402

START = 1709879400  # 2024-03-08 06:30 UTC, a Friday
PRICE_AC = 0.25
QC_KWH, QC_MIN, QC_FEE = 0.40, 0.10, 1.00

# key: absolute tolerance (else 1 % of the truth)
RESOLUTION = {
    "start": 0.5, "end": 0.5, "duration_s": 0.5, "distance_km": 0.002, "energy_out_kwh": 0.02,
    "energy_in_kwh": 0.02, "net_kwh": 0.02, "pack_kwh": 0.02, "grid_kwh": 0.02,
    "soc_start_pct": 0.15, "soc_end_pct": 0.15, "soc_lost_pct": 0.2, "gids_start": 1.5,
    "gids_end": 1.5, "gids_lost": 2.0, "odo_start_km": 1.0, "odo_end_km": 1.0,
    "kwh_lost": 0.15, "aux_start_v": 0.15, "aux_end_v": 0.15, "aux_min_v": 0.15,
    "speed_max_kmh": 0.02, "power_max_kw": 0.5, "charging_s": 0.5, "capacity_kwh": 0.0,
    "capacity_ah": 0.0,
}
EXACT = ("kind", "charge_type", "end_reason", "move")


def lines(text):
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def sim_cmd(truth, gen):
    return [bin_path("cli/leafmon"), "sim", "--to", "-", "--scenario", "day", "--start",
            str(START), "--generation", gen, "--truth", truth]


def within(key, got, want):
    tol = max(abs(want) * 0.01, RESOLUTION.get(key, 0.0))
    return abs(got - want) <= tol + 1e-9, tol


def compare(i, got, want, bad):
    if got.get("partial", False) != want.get("partial", False):
        bad.append("#%d %s: partial is %r" % (i, want["kind"], got.get("partial", False)))
    for key, w in want.items():
        if key in EXACT:
            if got.get(key) != w:
                bad.append("#%d %s: %s is %r, the truth %r" % (i, want["kind"], key, got.get(key), w))
            continue
        if want.get("partial") and key in ("end", "duration_s", "soc_end_pct", "gids_end",
                                           "soc_lost_pct", "gids_lost", "kwh_lost", "aux_end_v",
                                           "aux_min_v", "energy_out_kwh"):
            continue  # the data ends inside it: its end is the log's
        if key not in got:
            bad.append("#%d %s: %s missing (truth %r)" % (i, want["kind"], key, w))
            continue
        ok, tol = within(key, got[key], w)
        if not ok:
            bad.append("#%d %s: %s = %r, the truth %r (+-%g)" % (i, want["kind"], key, got[key],
                                                               w, tol))


def expected_cost(t):
    if t["charge_type"] == "ac":
        return t["grid_kwh"] * PRICE_AC
    return QC_FEE + QC_KWH * t["grid_kwh"] + QC_MIN * t["duration_s"] / 60


def day(gen):
    tmp = tempfile.mkdtemp(prefix="leafmon-sessions-")
    truth_path = os.path.join(tmp, "truth.json")
    # the truth first: the AC efficiency the model has (grid = pack / efficiency is the
    # contract's estimate; the check is that the figures follow from the measured pack kWh)
    subprocess.run(sim_cmd(truth_path, gen), stdout=subprocess.DEVNULL, check=True, timeout=600)
    truth = lines(open(truth_path).read())
    ac = [t for t in truth if t["kind"] == "charge" and t["charge_type"] == "ac"]
    eff = ac[0]["pack_kwh"] / ac[0]["grid_kwh"]
    conf = os.path.join(tmp, "leafmon.conf")
    with open(conf, "w") as f:
        f.write("[ledger]\nac_efficiency = %.5f\n[tariff]\ncurrency = EUR\nprice_kwh = %g\n"
                "qc_price_kwh = %g\nqc_price_min = %g\nqc_session_fee = %g\n"
                % (eff, PRICE_AC, QC_KWH, QC_MIN, QC_FEE))
    env = dict(os.environ, TZ="UTC0")
    t0 = time.monotonic()
    sim = subprocess.Popen(sim_cmd(truth_path, gen), stdout=subprocess.PIPE)
    dec = subprocess.run([bin_path("cli/leafmon"), "-c", conf, "decode", "--sessions", "--json",
                          "-"], stdin=sim.stdout, capture_output=True, text=True, env=env,
                         timeout=900)
    sim.stdout.close()
    assert sim.wait(timeout=60) == 0
    assert dec.returncode == 0, dec.stderr
    took = time.monotonic() - t0
    assert lines(open(truth_path).read()) == truth  # the simulator is deterministic
    got_all = lines(dec.stdout)
    got = [g for g in got_all if g["kind"] != "battery_daily"]
    kinds = [t["kind"] for t in truth]
    assert [g["kind"] for g in got] == kinds, ([g["kind"] for g in got], kinds)
    assert kinds.count("trip") == 4 and kinds.count("charge") == 2, kinds
    bad = []
    for i, (g, t) in enumerate(zip(got, truth)):
        compare(i, g, t, bad)
        if t["kind"] == "charge":
            ok, tol = within("cost", g.get("cost", -1), expected_cost(t))
            if not ok or g.get("currency") != "EUR":
                bad.append("#%d charge: cost %r %r, expected %.3f" % (i, g.get("cost"),
                                                                   g.get("currency"),
                                                                   expected_cost(t)))
        worst = max((abs(g[k] / t[k] - 1) for k in ("energy_out_kwh", "distance_km", "pack_kwh",
                                                    "grid_kwh") if k in t and t[k] > 0.5),
                    default=0)
        print("     %-6s %s  truth %s  worst main figure %.3f %%" % (
            t["kind"], json.dumps({k: g.get(k) for k in ("distance_km", "energy_out_kwh",
                                                         "energy_in_kwh", "pack_kwh",
                                                         "grid_kwh", "soc_end_pct")
                                   if k in g}),
            json.dumps({k: round(t[k], 4) for k in ("distance_km", "energy_out_kwh",
                                                    "energy_in_kwh", "pack_kwh", "grid_kwh",
                                                    "soc_end_pct") if k in t}),
            worst * 100), flush=True)
    assert not bad, "\n".join(bad)
    # one battery_daily per local day with the bus awake; the first has the day's capacity
    daily = [g for g in got_all if g["kind"] == "battery_daily"]
    assert [d["date"] for d in daily] == ["2024-03-08", "2024-03-09"], daily
    cap = [t["capacity_kwh"] for t in truth if "capacity_kwh" in t]
    if cap:  # a 56 kWh pack spans under 30 % of SOC in every session of the day
        assert abs(daily[0]["capacity_kwh"] / cap[0] - 1) <= 0.01, (daily[0], cap)
    else:
        assert "capacity_kwh" not in daily[0], daily[0]
    measure("sim_day_%s_decode_sessions_s" % gen, round(took, 1), "s")


@cost(30)
def test_sim_day_aze0_sessions_match_the_truth():
    day("AZE0")


@cost(30)
def test_sim_day_ze0_sessions_match_the_truth():
    day("ZE0")  # 0x5BF's charger states, CHAdeMO on @qc


@cost(30)
def test_sim_day_ze1_sessions_match_the_truth():
    day("ZE1")  # 0x390, the 0x3C9 mirror of CHAdeMO on EV-CAN


if __name__ == "__main__":
    run([test_sim_day_aze0_sessions_match_the_truth, test_sim_day_ze0_sessions_match_the_truth,
         test_sim_day_ze1_sessions_match_the_truth])
