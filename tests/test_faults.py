"""Built-in fault scenarios (host_sim/scenarios/fault-*.toml), table-driven.

Every scenario named fault-* is found with scenario.builtin_names() and run
on the CPython runtime; each must:
  - meet its [expect] table (report.expect_met: alarm, class, within_s,
    final_state, no_alarms);
  - raise the expected alarm as the first alarm of its class or worse, with
    nothing before it but the alarms listed for it in BEFORE below (a pre-
    alarm the scenario says must come first, or a consequence it allows):
    any other alarm before it is a nuisance trip or a wrong first-out;
  - raise it within its within_s of the fault (the first fault or input
    event other than remote start, as report.expect_met counts; t = 0 when
    the scenario has none), and not before the fault;
  - pass the scenario's own extra check in EXTRA, where it has one.
Every fault scenario also runs under the MicroPython runtime and must give
the same firmware_output_sha256 as CPython.

The CPython runs go through conftest.run_scenario (trace on, shared cache),
because report.build needs the trace.
"""

import pytest

from conftest import run_scenario
from host_sim import scenario

import protection as fw_prot  # noqa: E402  (firmware module, on the path via host_sim)
import hal  # noqa: E402

FAULT_NAMES = [n for n in scenario.builtin_names() if n.startswith("fault-")]


# name -> (alarms that must come before the expected one, in this order;
#          alarms that may come before it)
BEFORE = {
    "fault-oil-sender-drift": (("low_oil_pressure_pre",), ()),
    "fault-coolant-sender-drift": (("high_coolant_temp_pre",), ()),
    "fault-cooling-failure": (("high_coolant_temp_pre",), ()),
    "fault-gas-pressure-loss": (("low_gas_pressure_pre",), ()),
    # The frequency really is above 62 Hz for 0.16 s before the overspeed:
    # the 81O breaker trip is correct, not a nuisance.
    "fault-actuator-stuck": ((), ("over_frequency_2",)),
}


def _rank(cls):
    return fw_prot.CLASS_NAMES.index(cls)


def _fault_time(sc):
    """When the fault starts, as report.expect_met counts it."""
    from host_sim.report import fault_time
    return fault_time(sc)


def _at(r, t_s):
    """Trace index of the tick at time t_s."""
    return min(int(round(t_s / r.tick_s)), len(r.trace["t_s"]) - 1)


def _rated_rpm(r):
    return r.cfg.rated_rpm_x10 / 10.0


def _alarm(rep, name):
    return [a for a in rep["alarms"] if a["name"] == name][0]


# --- scenario-specific checks ------------------------------------------------

def _check_actuator_stuck(r, rep):
    # The gas shut-off valve stopped the engine with the throttle still stuck open.
    assert r.trace["speed_rpm"][-1] == 0.0
    assert r.trace["valve_pct"][-1] > 50.0


def _check_gcb_fail_to_close(r, rep):
    # One close attempt only: no re-closing onto the failed breaker.
    assert [s["state"] for s in rep["states"]].count("closing") == 1
    assert max(r.trace["gcb_closed"]) == 0


def _check_overcrank(r, rep):
    st = [s["state"] for s in rep["states"]]
    assert st.count("crank") == 3, st          # crank_attempts, then no more
    assert "warmup" not in st


def _check_gas_not_proven(r, rep):
    st = [s["state"] for s in rep["states"]]
    assert "crank" not in st, st
    assert max(r.trace["speed_rpm"]) == 0.0    # the starter never turned


def _check_fail_to_stop(r, rep):
    # The engine still turns: the controller alarmed, it could not stop it.
    assert r.trace["speed_rpm"][-1] > 0.5 * _rated_rpm(r)


def _check_knock(r, rep):
    cfg = r.cfg
    ceiling = cfg.fuel_max - cfg.fuel_max * cfg.knock_derate_pct // 100
    i = _at(r, _alarm(rep, "knock")["t_s"])
    assert max(r.out["out_fuel_pct_x100"][i:]) <= ceiling
    spd = r.trace["speed_rpm"][i:]
    assert 0.99 * _rated_rpm(r) < min(spd) and max(spd) < 1.01 * _rated_rpm(r)


def _check_gas_pressure_loss(r, rep):
    # Shut down on gas pressure before the engine stalled.
    i = _at(r, _alarm(rep, "low_gas_pressure")["t_s"])
    assert min(r.trace["speed_rpm"][:i + 1]) > 0.95 * _rated_rpm(r)


def _check_load_rejection(r, rep):
    assert rep["alarms"] == []


def _first(r, pred, t_from=0.0):
    """Time of the first tick at or after t_from where pred(out_do) holds."""
    do = r.out["out_do"]
    for k in range(_at(r, t_from), len(do)):
        if pred(do[k]):
            return k * r.tick_s
    return None


def _check_estop_stuck_breaker(r, rep):
    # The stuck generator breaker is backed up on the e-stop's path: the
    # mains breaker is tripped so the grid cannot motor the stopped engine.
    a = _alarm(rep, "gcb_fail_to_open")
    assert a["class"] == "hard_shutdown" and a["t_s"] - 6.0 <= 0.6
    t_mb = _first(r, lambda d: d & hal.DO_MB_OPEN, 6.0)
    assert t_mb is not None and t_mb - 6.0 <= 0.6
    assert r.trace["speed_rpm"][-1] == 0.0
    assert min(r.trace["p_kw"][_at(r, t_mb + 0.2):]) > -1.0      # never motored after


def _check_island_overload(r, rep):
    # Named and cleared fast: the stall is first out and the breaker is told
    # to open within a second of the step (5 s).
    assert rep["alarms"][0]["name"] == "stall" and rep["alarms"][0]["first_out"]
    t_open = _first(r, lambda d: d & hal.DO_GCB_OPEN, 5.0)
    assert t_open is not None and t_open - 5.0 <= 1.0


def _check_reset_during_rundown(r, rep):
    # The resets while it ran down were refused (the shutdown stayed until
    # lockout), and nothing cranked or fuelled until the start was cycled.
    states = [(s["state"], s["t_s"]) for s in rep["states"]]
    assert ("lockout", states[[n for n, _ in states].index("lockout")][1]) in states
    t_lock = [t for n, t in states if n == "lockout"][0]
    t_pre = [t for n, t in states if n == "prestart"][0]
    assert t_lock > 9.0 and t_pre >= 23.0
    t_fuel = _first(r, lambda d: d & (hal.DO_CRANK | hal.DO_GAS_VALVE), 6.2)
    assert t_fuel is not None and t_fuel >= 23.0
    lo = _alarm(rep, "low_oil_pressure")
    assert lo["t_s"] < 6.5 and [a["name"] for a in rep["alarms"]].count("low_oil_pressure") == 1


EXTRA = {
    "fault-estop-stuck-breaker": _check_estop_stuck_breaker,
    "fault-island-overload": _check_island_overload,
    "fault-reset-during-rundown": _check_reset_during_rundown,
    "fault-actuator-stuck": _check_actuator_stuck,
    "fault-gcb-fail-to-close": _check_gcb_fail_to_close,
    "fault-overcrank": _check_overcrank,
    "fault-gas-not-proven": _check_gas_not_proven,
    "fault-fail-to-stop": _check_fail_to_stop,
    "fault-knock": _check_knock,
    "fault-gas-pressure-loss": _check_gas_pressure_loss,
    "fault-load-rejection": _check_load_rejection,
}


def _describe(rep):
    al = ", ".join("%s %s (%s)" % (a["t_s"], a["name"], a["class"]) for a in rep["alarms"])
    st = " -> ".join("%s@%s" % (s["state"], s["t_s"]) for s in rep["states"])
    return "alarms: [%s]; states: %s; final %s" % (al, st, rep["final_state"])


# --- the tests ---------------------------------------------------------------

def test_there_is_a_fault_scenario_per_simulated_fault():
    # (start-from-stopped and load events cover the rest: e-stop, load rejection, overload)
    assert len(FAULT_NAMES) >= len(scenario.FAULTS)
    for n in FAULT_NAMES:
        sc = scenario.load(n)
        assert sc["expect"], "%s has no [expect] table" % n
        assert sc["duration_s"] <= 60.0, n
        with open(sc["path"]) as f:
            assert f.readline().startswith("#"), "%s: no comment header" % n
    used = set()
    for n in FAULT_NAMES:
        used |= {e["fault"] for e in scenario.load(n)["events"] if e["kind"] == "fault"}
    assert used == set(scenario.FAULTS), set(scenario.FAULTS) - used


@pytest.mark.parametrize("name", FAULT_NAMES)
def test_fault_scenario_ends_as_expected(name):
    r, rep = run_scenario(name)
    sc = r.scenario
    exp = sc["expect"]
    why = _describe(rep)
    assert rep["expect"]["met"], "%s: expected %s; got %s" % (name, exp, why)
    if "alarm" in exp:
        names = [a["name"] for a in rep["alarms"]]
        k = names.index(exp["alarm"])
        a = rep["alarms"][k]
        cls = exp.get("class", a["class"])
        assert a["class"] == cls, why
        # Nothing before it of its class or worse, and only what the table allows.
        required, optional = BEFORE.get(name, ((), ()))
        before = rep["alarms"][:k]
        worse = [b["name"] for b in before if _rank(b["class"]) >= _rank(cls)]
        assert not worse, "%s: %s came before %s; %s" % (name, worse, exp["alarm"], why)
        extra = [b["name"] for b in before if b["name"] not in required + optional]
        assert not extra, "%s: nuisance alarm(s) %s before %s; %s" % (name, extra, exp["alarm"], why)
        got_required = tuple(b["name"] for b in before if b["name"] in required)
        assert got_required == required, "%s: expected %s before %s; %s" % (
            name, required, exp["alarm"], why)
        if not required and not optional:
            assert a["first_out"], why
        # Within its time of the fault, and not before it.
        t0 = _fault_time(sc)
        assert t0 <= a["t_s"] <= t0 + exp.get("within_s", sc["duration_s"]), \
            "%s: %s at %.2f s, fault at %.2f s, within_s %s" % (
                name, exp["alarm"], a["t_s"], t0, exp.get("within_s"))
    if exp.get("no_alarms"):
        assert rep["alarms"] == [], why
    check = EXTRA.get(name)
    if check is not None:
        check(r, rep)


def test_full_load_rejection_stays_below_the_overspeed_trip():
    r, rep = run_scenario("fault-load-rejection")
    pickup = fw_prot.PROTECTIONS[fw_prot.index_of("overspeed")][fw_prot.P_PICKUP] / 10000.0
    assert pickup == 1.15
    # It really is a full rejection from rated load.
    assert r.scenario["load"]["initial_pct"] == 100.0
    assert max(r.trace["p_kw"]) > 0.95 * r.p_fuel_kw and r.trace["p_kw"][-1] < 0.02 * r.p_fuel_kw
    assert max(r.trace["speed_rpm"]) < pickup * _rated_rpm(r)
    assert rep["alarms"] == [] and rep["final_state"] == "loaded"


