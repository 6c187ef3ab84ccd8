"""Closed loop on the modelled GX230: ISO 8528-5 figures, both runtimes
bit-identical, the reference governor beaten, allocation-free and in range."""

import pytest

from conftest import run_scenario
from host_sim import scenario, sim, rangecheck, report
from host_sim.runtime import MicroPythonRuntime

BUILTINS = scenario.builtin_names()
FIRMWARE_STEP_SCENARIOS = ["iso-steps-ng", "iso-steps-propane", "iso-steps-h2", "iso-steps-biogas"]


def test_default_scenario_meets_g3_in_both_runtimes_with_identical_output():
    r_cp, rep_cp = run_scenario("iso-steps-ng", "cpython")
    r_mp, rep_mp = run_scenario("iso-steps-ng", "micropython")
    assert rep_cp["iso8528"]["class"] == "G3"
    assert rep_mp["iso8528"]["class"] == "G3"
    assert rep_cp["firmware_output_sha256"] == rep_mp["firmware_output_sha256"]
    kinds = [e["kind"] for e in rep_cp["iso8528"]["events"]]
    assert kinds == ["load_increase"] * 3 + ["load_decrease"]
    assert rep_cp["iso8528"]["events"][-1]["step_pct"] == 100.0


# The 64-bit unix port on scenarios that between them take every path of
# the firmware (island steps on each air path and at 50 Hz, a start and
# stop, peak shaving, AMF, Modbus, islanding, a close onto a phase jump,
# trips, a stuck breaker, a reset in the run-down); every built-in runs on
# the 32-bit port, heap-locked from tick 1 (test_mp32_scenarios_*.py), which is the
# stricter of the two.
UNIX_SCENARIOS = ["iso-steps-ng", "iso-steps-leanburn", "iso-steps-ng-50hz", "start-stop-ng",
                  "sync-and-peak-shave", "amf-standby", "modbus-setpoint",
                  "grid-loss-island-balanced", "grid-phase-jump-at-close",
                  "fault-estop-stuck-breaker", "fault-overcrank", "fault-mpu-loss",
                  "fault-reset-during-rundown", "sync-grid-loss-amf", "fault-sender-open"]


@pytest.mark.parametrize("name", UNIX_SCENARIOS)
def test_scenarios_are_bit_identical_between_runtimes_and_allocation_free(name):
    """The unix port with the heap locked from tick 50 to the end: any
    allocation in the tick, the link, a start, a stop, a trip, the event log
    or the Modbus slave fails the run; and the outputs, alarms and final
    state are CPython's."""
    ra, a = run_scenario(name, "cpython")
    sc = scenario.load(name)
    rb = sim.run(sc, MicroPythonRuntime(heap_lock_after=50), trace=False)
    assert a["firmware_output_sha256"] == rb.sha256
    assert ra.alarms == rb.alarms and ra.final_state == rb.final_state
    assert rb.n_ticks == ra.n_ticks


@pytest.mark.parametrize("name", FIRMWARE_STEP_SCENARIOS)
def test_every_fuel_meets_g3_with_its_own_step_table(name):
    _, rep = run_scenario(name)
    assert rep["iso8528"]["class"] == "G3", rep["iso8528"]["events"]


def test_ggov1_with_turbine_parameters_stalls_the_engine_where_the_firmware_governor_meets_g3():
    """The turbine-typical GGOV1 (standards.md) cannot hold this engine on a
    35 % step: the speed keeps falling and the stall stage - a last-resort
    protection no scenario can switch off - opens the breaker within a
    second; the firmware governor takes the same step inside G3.  (The
    honest peer is the SIMC-tuned PID: the next test.)"""
    _, fw = run_scenario("iso-steps-ng")
    _, gg = run_scenario("iso-steps-ng-ggov1")
    assert gg["governor"] == "ggov1"
    assert fw["iso8528"]["class"] == "G3" and not fw["alarms"]
    first = gg["alarms"][0]
    assert first["name"] == "stall" and 5.0 < first["t_s"] < 6.0
    assert gg["iso8528"]["events"] == [] and gg["iso8528"]["unscored"]


@pytest.mark.parametrize("name", ["iso-steps-ng", "iso-steps-leanburn"])
def test_on_the_nominal_plant_the_firmware_dips_at_most_0_8x_and_recovers_in_0_5x_the_pid_peer(name):
    """Issue 10's goals against the strongest plain peer (the PID, SIMC-tuned
    on the same nominal plant: iso-steps-ng-pid is the natural-gas twin), on
    every step of the nominal plant of each air path, each governor as
    commissioned for it: worst dip <= 0.8x, worst recovery <= 0.5x (each
    load step's within 0.6x), a rejection recovered no later, and a steady
    band inside 0.25 %."""
    fw = report.build(sim.run(scenario.load(name), "cpython", trace=True), 1.0)
    sc = scenario.load(name)
    sc["governor"] = "pid"
    pd = report.build(sim.run(sc, "cpython", trace=True), 1.0)
    assert pd["governor"] == "pid" and pd["iso8528"]["class"] == "G3" and not pd["alarms"]
    assert fw["iso8528"]["class"] == "G3" and not fw["alarms"]
    ev_fw, ev_pd = fw["iso8528"]["events"], pd["iso8528"]["events"]
    assert [e["t_s"] for e in ev_fw] == [e["t_s"] for e in ev_pd]
    for a, b in zip(ev_fw, ev_pd):
        assert abs(a["freq_dev_pct"]) <= 0.8 * abs(b["freq_dev_pct"]), (a, b)
        assert a["freq_band_pct"] <= 0.25, a
        assert a["freq_recovery_s"] <= b["freq_recovery_s"], (a, b)
    ups = [(a, b) for a, b in zip(ev_fw, ev_pd) if a["kind"] == "load_increase"]
    assert max(a["freq_recovery_s"] for a, _ in ups) <= 0.5 * max(b["freq_recovery_s"] for _, b in ups)
    for a, b in ups:
        assert a["freq_recovery_s"] <= 0.6 * b["freq_recovery_s"], (a, b)


def test_ai_pulse_load_stays_inside_g3_transient_limits():
    _, rep = run_scenario("ai-pulse-ng")
    p = rep["load_pulse"]
    assert p["edges"] >= 18
    assert p["within_g3_transient_limits"], p


def test_fifty_hertz_set_holds_1500_rpm_with_g3_frequency_figures():
    """At 50 Hz the governor meets every G3 frequency limit; the set as a
    whole is G2 only because the alternator's field decay lets the voltage
    overshoot a full 0.8 pf rejection by ~20.3 % (G3: 20 %)."""
    _, rep = run_scenario("iso-steps-ng-50hz")
    assert rep["f_nom_hz"] == 50
    assert rep["iso8528"]["class"] in ("G3", "G2")
    for e in rep["iso8528"]["events"]:
        if e["kind"] == "load_increase":
            assert e["freq_dev_pct"] >= -7.0
        else:
            assert e["freq_dev_pct"] <= 10.0
        assert e["freq_recovery_s"] is not None and e["freq_recovery_s"] <= 3.0
        assert e["freq_band_pct"] <= 0.5
        assert abs(e["freq_steady_hz"] - 50.0) < 0.05


def test_same_seed_repeats_and_another_seed_differs():
    _, a = run_scenario("iso-steps-ng")
    sc = scenario.load("iso-steps-ng")
    assert sim.run(sc, "cpython", trace=False).sha256 == a["firmware_output_sha256"]
    assert sim.run(sc, "cpython", seed=2, trace=False).sha256 != a["firmware_output_sha256"]


def test_no_overspeed_beyond_ten_percent_on_full_load_rejection():
    _, rep = run_scenario("iso-steps-ng")
    rej = rep["iso8528"]["events"][-1]
    assert rej["kind"] == "load_decrease" and rej["freq_dev_pct"] < 10.0


def test_firmware_runs_in_a_board_sized_heap(mp_bin):
    """The compiled firmware, controller and link built, in the unix-port
    equivalent of a board heap (runtime.BOARD_HEAP), with room left."""
    import subprocess
    from host_sim.runtime import compiled_firmware, BOARD_HEAP
    from host_sim import native
    d = compiled_firmware(arch=native.HOST_ARCH)   # as a board: @viper code native
    code = ("import sys, gc; sys.path.insert(0, %r); import main_link;"
            "h, c = main_link.build(sys.stdin.buffer, sys.stdout.buffer);"
            "gc.collect(); print(gc.mem_free())" % d)
    p = subprocess.run([mp_bin, "-X", "heapsize=" + BOARD_HEAP, "-c", code],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout.split()[-1]) > 24 * 1024   # room for the tick and the link


# The CPython-side range proof, on scenarios that between them apply every
# kind of setting before the first tick (begin, the settings rebuild, the
# lean-burn table, a start; 50 Hz and every other setting at its limits:
# test_settings_at_their_limits_stay_in_range).  Every tick of every
# built-in runs on the real 32-bit port with the heap locked
# (test_mp32_scenarios_*.py), where a value leaving the 31-bit range would
# allocate and fail the run.
RANGE_SCENARIOS = ["iso-steps-ng", "amf-standby", "modbus-setpoint", "iso-steps-leanburn",
                   "fault-overcrank"]


@pytest.mark.parametrize("name", RANGE_SCENARIOS)
def test_no_fixed_point_intermediate_leaves_the_31_bit_range(name):
    sc = scenario.load(name)
    with rangecheck.RangeChecker() as rc:
        sim.run(sc, "cpython", trace=False)
    assert rc.lines > 10000            # the tracer really saw the firmware
    assert not rc.violations, rc.violations
    assert rc.max_abs < 2 ** 30


def test_every_line_of_the_default_scenario_stays_in_range():
    """The thorough mode: every integer local checked after every line,
    through the default scenario's first two load steps (24 s)."""
    sc = scenario.load("iso-steps-ng")
    sc["duration_s"] = 24
    with rangecheck.RangeChecker(lines=True) as rc:
        sim.run(sc, "cpython", trace=False)
    assert rc.lines > 200000
    assert not rc.violations, rc.violations


def test_settings_at_their_limits_stay_in_range():
    """Every setting at its minimum and maximum (others default) derives
    coefficients, and runs ticks, without leaving the small-int range."""
    from host_sim import firmware_path
    firmware_path()
    import config
    from controller import Controller
    from tests_fw_bridge import ScriptHal, running_inputs
    with rangecheck.RangeChecker() as rc:
        for name, default, lo, hi in config.SETTINGS:
            for v in (lo, hi):
                h = ScriptHal()
                c = Controller(h)
                if not c.cfg.set(name, v):
                    continue   # refused by a consistency rule (e.g. tick_ms)
                c._build()
                c.begin(c.cfg.fuel_nl, c.cfg.rated_rpm_x10)
                for spd, p in ((c.cfg.rated_rpm_x10, 0), (0, 0),
                               (c.cfg.rated_rpm_x10 * 2, -2 * c.cfg.p_rated_kw_x10),
                               (c.cfg.rated_rpm_x10 // 2, 2 * c.cfg.p_rated_kw_x10)):
                    running_inputs(h, c.cfg, spd, p)
                    c.tick()
    assert not rc.violations, rc.violations


def test_every_fuel_with_every_loop_gain_at_its_maximum_derives_inside_the_range():
    """The fuel's gain scale multiplies the settings: kp, ki, kd and the
    synchronising kp all at their maxima, on each fuel and tick period,
    still derive without leaving the small-int range."""
    from host_sim import firmware_path
    firmware_path()
    import config
    import fuels
    lim = {row[0]: row[3] for row in config.SETTINGS}
    with rangecheck.RangeChecker() as rc:
        for fuel in range(fuels.N_FUELS):
            for tick in (lim["tick_ms"], 10):
                c = config.Config()
                assert c.set_many([("fuel", fuel), ("tick_ms", tick),
                                   ("kp_pu_x100", lim["kp_pu_x100"]),
                                   ("ki_pu_x100", lim["ki_pu_x100"]),
                                   ("kd_pu_ms", lim["kd_pu_ms"]),
                                   ("sync_kp_pct", lim["sync_kp_pct"])]) is None, (fuel, tick)
                c.derive()
                assert c.kp_q10 > 0 and c.ki_q12 > 0 and c.kp_sync_q10 > 0
    assert not rc.violations, rc.violations
