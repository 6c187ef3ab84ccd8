"""The mean-value engine at large signal (host_sim/plant/engine.py): torque
from the charge per cycle, so its capacity holds as the speed sags; the
boost limit that makes a 0 -> 100 % block load a turbo-lag event and a 120 %
step a stall; the lean-burn parameter set; the mixer's lambda trim."""

import pytest

from conftest import run_scenario
from host_sim import scenario, sim, report
from host_sim.plant.engine import Engine, ENGINE_DEFAULTS, LEAN_BURN


def _engine(**over):
    return Engine(dict(ENGINE_DEFAULTS, **over), "natural_gas", 60, 200.0, 0.0005)


def _wot_torque(e, w):
    """Net steady torque (pu) with the throttle wide open at speed w."""
    p_m, b, q = e._steady(1.0, w)
    return e.k_torque * q - e.friction * w


def test_wide_open_at_rated_speed_carries_110_pct_and_no_more():
    t = _wot_torque(_engine(), 1.0)
    assert 1.05 <= t <= 1.15, t


def test_torque_capacity_does_not_collapse_as_the_speed_sags():
    """The fault the review found in the old plant: fuel limited by air flow
    per second made torque fall with speed.  From the charge per cycle, a
    wide-open engine makes at 80 % speed at least 90 % of its rated torque."""
    e = _engine()
    t1 = _wot_torque(e, 1.0)
    for w in (0.95, 0.9, 0.85, 0.8):
        assert _wot_torque(e, w) >= 0.9 * t1, w


def test_with_no_boost_yet_a_wide_open_throttle_makes_about_two_thirds():
    """A 0 -> 100 % block load: the turbo has not spooled, so the charge
    holds only what ambient pressure gives (p_amb 0.65)."""
    e = _engine()
    e.settle(e.act_for_load(0.0), 1.0)
    p_m_wot = e.p_amb                      # the manifold can rise to ambient at once
    q = e.eta_v(1.0) * p_m_wot * e._e_f(1.0)
    t = e.k_torque * q - e.friction
    assert 0.55 <= t <= 0.70, t
    # The lean-burn set, most of whose charge is boost, far less.
    lean = _engine(**LEAN_BURN)
    q = lean.eta_v(1.0) * lean.p_amb * lean._e_f(1.0)
    assert lean.k_torque * q - lean.friction < 0.25


def test_the_throttle_holds_every_load_up_to_rating_in_steady_state():
    e = _engine()
    prev = -1.0
    for p in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        a = e.act_for_load(p)
        assert prev < a < 1.0, p               # monotonic, with reserve at rated
        prev = a
        e.settle(a, 1.0)
        assert e.k_torque * e.q - e.friction == pytest.approx(p, abs=0.01), p


def test_the_leanburn_scenario_carries_exactly_the_lean_burn_parameter_set():
    sc = scenario.load("iso-steps-leanburn")
    for k, v in LEAN_BURN.items():
        assert sc["plant"][k] == v, k


def test_a_leaner_gas_leans_the_charge_at_once_and_the_lambda_trim_restores_it():
    e = Engine(dict(ENGINE_DEFAULTS), "biogas", 60, 200.0, 0.0005)
    a = e.act_for_load(0.5)
    e.settle(a, 1.0)
    q0 = e._e_f(e.trim)
    e.lhv_factor = 0.85                    # 60 -> 51 % CH4
    assert e._e_f(e.trim) == pytest.approx(0.85 * q0, rel=1e-9)
    for _ in range(int(5 * 3.0 / 0.0005)):  # five trim time constants
        e.step(a, 0.5 * e.w)
    # Back at stoichiometric: only the dilution is lost (2.6 %).
    assert e.trim == pytest.approx(1 / 0.85, rel=0.01)
    assert e._e_f(e.trim) == pytest.approx(0.974 * q0, rel=0.005)


def test_the_trim_has_authority_limits():
    e = Engine(dict(ENGINE_DEFAULTS), "biogas", 60, 200.0, 0.0005)
    e.settle(e.act_for_load(0.5), 1.0)
    e.lhv_factor = 0.5                      # beyond the 30 % authority
    for _ in range(int(30.0 / 0.0005)):
        e.step(0.6, 0.3 * e.w)
    assert e.trim == pytest.approx(1.3)


def test_a_larger_throttle_gain_needs_less_opening_for_the_same_load():
    assert _engine(throttle_gain_pu=1.1).act_for_load(0.7) < _engine().act_for_load(0.7)


def test_block_load_on_the_nominal_plant_recovers_inside_nfpa110_level1():
    _, rep = run_scenario("block-load-ng")
    b = rep["block_load"]
    assert b["carried"] and b["nfpa110_level1"], b
    assert b["stable_s"] <= 10.0 and b["dip_pct"] > -20.0, b
    assert not rep["alarms"]


@pytest.mark.parametrize("p_v_exp", [2.0, 0.0])
def test_a_120_pct_step_stalls_and_the_stall_stage_clears_it_by_name(p_v_exp):
    """Past the wastegate's boost limit no governor can hold 120 %: the speed
    falls, the stall stage (a last-resort protection) trips the breaker,
    named first out, before the engine stops."""
    sc = scenario.load("block-load-ng")
    sc["load"]["p_v_exp"] = p_v_exp
    sc["events"] = [{"kind": "step", "t_s": 5.0, "p_pct": 120.0}]
    sc["duration_s"] = 15.0
    r = sim.run(sc, "cpython", trace=True)
    rep = report.build(r)
    first = rep["alarms"][0]
    assert first["name"] == "stall" and first["first_out"], rep["alarms"]
    assert 5.0 < first["t_s"] < 6.5, first
    k = int(round(first["t_s"] / r.tick_s))
    assert min(r.trace["speed_rpm"][:k + 1]) > 0.5 * 1800.0     # cleared before it stopped
    assert r.trace["gcb_closed"][-1] == 0


@pytest.mark.parametrize("pct", [100.0, 90.0])
def test_a_constant_power_block_load_stalls_even_wide_open_at_the_instant_of_the_step(pct):
    """A UPS's whole rating in one step is beyond this engine, not beyond
    its governor: with the throttle opened wide the instant the load lands
    (host_sim/pid.py WideOpenProbe, which no governor can beat) the turbo
    cannot spool before the speed - and with it the torque a constant-power
    load demands - runs away, and the stall stage trips.  So a UPS must walk
    its load in (README); 80 % is carried."""
    sc = scenario.load("block-load-ng")
    sc["load"]["p_v_exp"] = 0.0
    sc["governor"] = "wide_open"
    sc["events"] = [{"kind": "step", "t_s": 5.0, "p_pct": pct}]
    sc["duration_s"] = 12.0
    r = sim.run(sc, "cpython", trace=True)
    assert [a["name"] for a in report.build(r)["alarms"]][:1] == ["stall"]
    sc["events"] = [{"kind": "step", "t_s": 5.0, "p_pct": 80.0}]
    r = sim.run(sc, "cpython", trace=True)
    assert not report.build(r)["alarms"] and min(r.trace["speed_rpm"]) > 0.8 * 1800.0
