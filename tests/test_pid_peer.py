"""The PID peer (host_sim/pid.py) is the documented, SIMC-tuned PID: its
identification, gains, margins and ISO figures are the ones its docstring
states, and it keeps the firmware's actuator limits."""

import pytest

from host_sim import pid, scenario, sim, report


@pytest.fixture(scope="module")
def ident():
    sc = scenario.load("iso-steps-ng-pid")
    return pid.identify(sc["plant"], "natural_gas", 60)


def test_the_identified_step_response_is_the_documented_one(ident):
    th, tau, k = ident
    assert th == pytest.approx(0.0445, abs=0.002)
    assert tau == pytest.approx(0.058, abs=0.003)
    assert k == pytest.approx(2.14, abs=0.02)


def test_simc_gives_the_documented_gains_and_margins(ident):
    kp, ki, kd = pid.simc(*ident)
    assert (kp, ki, kd) == (pytest.approx(6.1, abs=0.1), pytest.approx(14.7, abs=0.3),
                            pytest.approx(0.30, abs=0.02))
    pm, gm, wc = pid.margins(*ident, kp, ki, kd)
    assert pm == pytest.approx(41, abs=2) and pm >= 35
    assert gm == pytest.approx(2.1, abs=0.1) and gm >= 2


def test_the_pid_peer_reproduces_its_documented_iso_figures():
    r = sim.run(scenario.load("iso-steps-ng-pid"), "cpython", trace=True)
    rep = report.build(r, 1.0)
    ev = rep["iso8528"]["events"]
    dips = [e["freq_dev_pct"] for e in ev]
    recs = [e["freq_recovery_s"] for e in ev]
    assert dips[:3] == [pytest.approx(x, abs=0.02) for x in (-3.48, -2.69, -2.16)]
    assert recs[:3] == [pytest.approx(x, abs=0.03) for x in (0.44, 0.51, 0.82)]
    assert dips[3] == pytest.approx(4.85, abs=0.03)
    assert rep["iso8528"]["class"] == "G3" and r.final_state == "loaded"


def test_the_pid_peer_keeps_the_firmwares_actuator_limits_and_does_not_wind_up():
    p = pid.PidPeer(7.9, 16.2, 0.63, 0.01, 0)
    p.settle(0.5)
    u = [p.step(0.8) for _ in range(300)]        # a deep, long dip
    steps = [b - a for a, b in zip([0.5] + u, u)]
    assert max(steps) <= p.rate_up + 1e-12
    assert max(u) == pytest.approx(p.hi) and p.integ <= p.hi
    # Back at speed, it leaves the ceiling at once (no wound-up integrator).
    v = [p.step(1.0) for _ in range(5)]
    assert v[-1] < p.hi


def test_the_plant_family_sweep_runs_both_governors_on_every_variant():
    from tools import sweep
    assert len(sweep.variants()) == 2 * 3 * 2 * 2 * 2 * 3
    assert {v["air"] for v in sweep.variants()} == {"ng", "lean"}
    rows = sweep.sweep(jobs=2, quick=True)
    assert len(rows) == 2
    for r in rows:
        assert r["firmware"]["dip"] and r["pid"]["dip"]
        assert r["dip_ratio"] == pytest.approx(r["firmware"]["dip"] / r["pid"]["dip"])


def test_the_firmwares_estop_still_stops_an_engine_the_pid_governs():
    # The peer replaces only the fuel command: the firmware's relays (gas
    # valve, ignition, breaker) still act, so an e-stop stops the engine.
    sc = scenario.load("iso-steps-ng-pid")
    sc["duration_s"] = 20.0
    sc["events"] = [{"kind": "step", "t_s": 2.0, "p_pct": 50.0},
                    {"kind": "input", "t_s": 5.0, "input": "estop", "value": True}]
    r = sim.run(sc, "cpython", trace=True)
    assert r.final_state == "lockout"
    assert r.trace["speed_rpm"][-1] < 50.0
    assert any(a["name"] == "emergency_stop" for a in r.alarms)


def test_the_wide_open_probe_opens_at_the_step_and_hands_back_at_its_first_return():
    p = pid.WideOpenProbe(6.0, 15.0, 0.3, 0.01, 0, steady_act=lambda d: 0.2 + 0.5 * d)
    p.settle(0.3)
    assert p.step(1.0, 1.0, 0.3) == pytest.approx(0.3, abs=0.01)    # steady: the PID
    u = [p.step(1.0, 1.0, 0.8)]                  # the demand steps: wide open ...
    u += [p.step(0.97, 1.0, 0.8) for _ in range(20)]
    assert u[-1] == pytest.approx(p.hi) and all(b >= a for a, b in zip(u, u[1:]))
    # ... at the actuator's rate (the firmware's own), held while the speed is low ...
    assert u[1] - u[0] == pytest.approx(p.rate_up)
    assert p.step(0.985, 1.0, 0.8) == pytest.approx(p.hi) and p.open
    # ... until it is back inside -1 %: then the PID, from the steady actuator
    p.step(0.995, 1.0, 0.8)
    assert not p.open and p.integ == pytest.approx(0.6, abs=0.002)
    # A dip that never leaves the band is held until the speed is back at rated.
    p.step(1.0, 1.0, 0.95)
    assert p.open
    p.step(0.995, 1.0, 0.95)
    assert p.open
    p.step(1.0, 1.0, 0.95)
    assert not p.open


def test_no_governor_dips_less_than_the_wide_open_limit_on_the_nominal_plant():
    """The bound the sweep scores against is a bound: the firmware's and the
    PID's first troughs on every ISO step are at least as deep as the
    probe's, and their recovery no earlier than its first return."""
    from tools import sweep
    v = {"j_kgm2": 6.0, "tau_act_s": 0.03, "tau_manifold_s": 0.06, "dead_s": 0.0,
         "gain": 1.0, "air": "ng"}
    fw, pd, lim = (sweep._run((g, v, None)) for g in sweep.GOVS)
    assert lim["dip"] is not None and lim["first_return"] is not None
    assert lim["dip"] <= fw["dip"] and lim["dip"] <= pd["dip"]
    assert lim["first_return"] <= fw["rec"] and lim["first_return"] <= pd["rec"]
    assert lim["dip"] < 0.8 * pd["dip"] and lim["first_return"] < 0.5 * pd["rec"]


def test_the_limit_is_read_up_to_the_probes_hand_back_and_not_after():
    from tools import sweep
    t = [i * 0.01 for i in range(400)]
    f = [60.0] * 400
    for i in range(105, 130):
        f[i] = 59.0                  # out of -1 % at 1.05 s, back at 1.30 s
    f[110] = 58.5                    # the trough: 2.5 %
    for i in range(135, 150):
        f[i] = 58.0                  # after the hand-back: not the bound
    ev = [{"kind": "load_increase", "t_s": 1.0}]
    assert sweep._limit_figures({"t_s": t, "freq_hz": f}, ev, 60) == (2.5, 0.3)
    f = [60.0] * 105 + [59.7] * 25 + [60.0] * 270     # never out of the band
    assert sweep._limit_figures({"t_s": t, "freq_hz": f}, ev, 60) == (0.5, 0.0)
    f = [60.0] * 100 + [59.0] * 300                   # never back within 3 s
    assert sweep._limit_figures({"t_s": t, "freq_hz": f}, ev, 60)[1] is None
