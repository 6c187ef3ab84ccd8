"""The plant is the GX230, not what the firmware is set to, and every plant
and GGOV1 parameter has physical limits, written next to its default
(host_sim/plant/*.py *_PARAMS, host_sim/ggov1.py GGOV1_PARAMS), that a
scenario cannot leave."""

import math

import pytest

from host_sim import scenario, sim
from host_sim.plant import params as plant_params

TABLES = [("plant", name, p) for name, p in scenario.PLANT_PARAMS.items()] + \
         [("ggov1", name, p) for name, p in scenario.GGOV1_PARAMS.items()]
IDS = ["%s.%s" % (t, n) for t, n, _ in TABLES]


def _parse(extra):
    return scenario.parse(dict({"duration_s": 5}, **extra))


def _teeth_per_s(inputs):
    """Pickup edge rate from the HAL inputs: (edges - 1) over their span (us)."""
    return (inputs[1] - 1) / inputs[2] * 1e6


def _short_run(raw, seed=1):
    """A short running-start run (fractions of a second of wall time); returns
    the result and the input vector of every tick."""
    sc = _parse(raw)
    ins = []
    r = sim.run(sc, "cpython", seed=seed, on_tick=lambda k, i, o, t: ins.append(list(i)))
    return r, ins


# --- A: the plant's own ratings ------------------------------------------------

@pytest.mark.parametrize("fw_rating", [None, 2000, 1670, 1000])
def test_fifty_hertz_plant_is_166_7_kw_whatever_rating_the_firmware_was_given(fw_rating):
    """At 50 Hz the engine makes its 1800 rpm torque at 1500 rpm: 200 kW x
    1500/1800.  The firmware's p_rated_kw_x10 (default 2000, the 60 Hz
    figure) moves neither the plant's power base nor the 100 % load."""
    raw = {"f_nom_hz": 50, "duration_s": 1, "load": {"initial_pct": 100}}
    if fw_rating is not None:
        raw["firmware"] = {"p_rated_kw_x10": fw_rating}
    pr = sim.plant_ratings(_parse(raw))
    assert pr["rated_rpm"] == 1500.0
    assert pr["p_base_kw"] == pytest.approx(200.0 * 1500.0 / 1800.0)
    r, _ = _short_run(raw)
    assert r.p_fuel_kw == pytest.approx(166.667, abs=1e-3)
    assert all(d == pytest.approx(166.667, abs=1e-3) for d in r.trace["demand_kw"][:20])
    # H on the plant's own base: J w^2 / (2 P) = 6 * (50 pi)^2 / (2 * 166.7 kW)
    assert r.h_s == pytest.approx(6.0 * (50.0 * math.pi) ** 2 / (2.0 * 166666.7), rel=1e-4)
    assert r.v_nom == 480.0


def test_load_percentages_are_of_the_plants_fuel_rated_kw_not_the_firmwares():
    raw = {"fuel": "propane", "duration_s": 1, "load": {"initial_pct": 50},
           "firmware": {"p_rated_kw_x10": 1500}}
    r, _ = _short_run(raw)
    assert r.p_fuel_kw == pytest.approx(200.0 * 0.85)
    assert r.trace["demand_kw"][5] == pytest.approx(0.5 * 170.0)


@pytest.mark.parametrize("misset", [{"mpu_teeth": 120}, {"v_rated_dv": 4000},
                                    {"poles": 2}, {"p_rated_kw_x10": 1500}])
def test_misset_firmware_settings_change_neither_the_plant_nor_its_sensors(misset):
    """The sensors' physics (pickup teeth, voltage, metering scale) is the
    plant's: the first tick's inputs are bit for bit those of a correctly
    commissioned firmware, whatever the firmware was told."""
    raw = {"duration_s": 1, "load": {"initial_pct": 35}}
    good_r, good_in = _short_run(raw)
    bad_r, bad_in = _short_run(dict(raw, firmware=misset))
    assert bad_in[0] == good_in[0]
    assert sim.plant_ratings(_parse(dict(raw, firmware=misset))) == sim.plant_ratings(_parse(raw))
    assert (bad_r.p_fuel_kw, bad_r.v_nom, bad_r.h_s, bad_r.t_dead_s) == \
        (good_r.p_fuel_kw, good_r.v_nom, good_r.h_s, good_r.t_dead_s)
    # 118 teeth at 1800 rpm pass the pickup at 3540 per second; 480 V metered
    assert _teeth_per_s(good_in[0]) == pytest.approx(3540.0, rel=2e-3)
    assert abs(good_in[0][4] - 4800) < 30


def test_a_firmware_told_the_wrong_tooth_count_mismeasures_the_speed_honestly():
    raw = {"duration_s": 1, "load": {"initial_pct": 35}}
    good, _ = _short_run(raw)
    bad, _ = _short_run(dict(raw, firmware={"mpu_teeth": 120}))
    fw_good = good.fw["fw_speed_rpm_x10"][0]
    fw_bad = bad.fw["fw_speed_rpm_x10"][0]
    assert abs(fw_good - 18000) < 20
    assert fw_bad == pytest.approx(18000 * 118 / 120, abs=20)   # 1770 rpm: it believes its 120


def test_the_plants_own_ratings_can_be_set_in_plant_and_size_the_run():
    plant = {"p_rated_kw": 180.0, "v_rated_v": 400.0, "mpu_teeth": 160}
    commissioned = {"p_rated_kw_x10": 1800, "v_rated_dv": 4000, "mpu_teeth": 160,
                    "i_rated_a_x10": 3608}
    raw = {"duration_s": 1, "load": {"initial_pct": 100}, "plant": plant,
           "firmware": commissioned}
    r, ins = _short_run(raw)
    assert r.p_fuel_kw == 180.0 and r.v_nom == 400.0
    assert r.trace["demand_kw"][50] == pytest.approx(180.0)
    assert _teeth_per_s(ins[0]) == pytest.approx(160 * 30.0, rel=2e-3)
    assert abs(ins[0][4] - 4000) < 30
    assert not r.alarms                     # commissioned to match: nothing trips
    # The same plant behind a firmware left at its defaults (118 teeth) sees
    # 1800 x 160 / 118 = 2441 rpm and trips on overspeed: it mis-measures.
    r2, ins2 = _short_run(dict(raw, firmware={}))
    assert ins2[0] == ins[0]
    assert [a["name"] for a in r2.alarms][:1] == ["overspeed"]


# --- B: physical limits -----------------------------------------------------------

def test_plant_parameter_names_are_unique_across_the_plant_modules():
    assert len(scenario.PLANT_PARAMS) == sum(len(t) for t in scenario.PLANT_TABLES)


@pytest.mark.parametrize("table,name,p", TABLES, ids=IDS)
def test_every_default_lies_inside_its_own_limits(table, name, p):
    assert p.lo < p.hi
    assert p.lo <= p.default <= p.hi
    assert plant_params.refusal(p, p.default) is None
    assert math.isfinite(p.lo) and math.isfinite(p.hi) and p.unit and p.why
    assert _parse({})[table][name] == p.default


def test_the_defaults_satisfy_every_cross_parameter_rule():
    sc = _parse({})
    for table, rules in (("plant", scenario.PLANT_RULES), ("ggov1", scenario.GGOV1_RULES)):
        for field, ok, _ in rules:
            assert ok(sc[table]), field


def _refused(table, name, value):
    with pytest.raises(scenario.ScenarioError) as e:
        _parse({table: {name: value}})
    msg = str(e.value)
    assert msg.startswith("%s.%s: " % (table, name)), msg
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("table,name,p", TABLES, ids=IDS)
def test_every_parameter_is_taken_at_its_limits_and_refused_just_outside(table, name, p):
    for v in (p.lo, p.hi):
        assert _parse({table: {name: v}})[table][name] == v
    if plant_params.is_integer(p):
        below, above = p.lo - 1, p.hi + 1
    else:
        below, above = math.nextafter(p.lo, -math.inf), math.nextafter(p.hi, math.inf)
    for v in (below, above):
        msg = _refused(table, name, v)
        assert "between %s and %s" % (plant_params.fmt(p.lo), plant_params.fmt(p.hi)) in msg
        assert "(%s)" % p.unit in msg


@pytest.mark.parametrize("table,name,p", TABLES, ids=IDS)
def test_every_parameter_refuses_a_non_number(table, name, p):
    bad = ["x", "", True, False, [1.0], {"v": 1.0}, math.nan, math.inf, -math.inf]
    if plant_params.is_integer(p):
        bad.append(float(p.default))        # 6.0 where an integer is meant
    for v in bad:
        _refused(table, name, v)


def test_plant_inertia_below_its_physical_limit_is_refused_with_the_field_named():
    with pytest.raises(scenario.ScenarioError) as e:
        _parse({"plant": {"j_kgm2": 1e-300}})
    assert str(e.value) == "plant.j_kgm2: must be a number between 1 and 50 (kg m^2), got 1e-300"


def test_ggov1_valve_floor_must_stay_below_its_ceiling():
    assert _parse({"ggov1": {"vmin": 0.5, "vmax": 0.6}})["ggov1"]["vmin"] == 0.5
    with pytest.raises(scenario.ScenarioError) as e:
        _parse({"ggov1": {"vmin": 0.5, "vmax": 0.5}})
    assert str(e.value).startswith("ggov1.vmin: must be less than vmax")


def test_integer_parameters_come_back_as_ints_and_the_rest_as_floats():
    sc = _parse({"plant": {"cylinders": 8, "j_kgm2": 7}})
    assert type(sc["plant"]["cylinders"]) is int and type(sc["plant"]["j_kgm2"]) is float


@pytest.mark.parametrize("which", ["lo", "hi"])
@pytest.mark.parametrize("start,governor,grid", [("running", "firmware", False),
                                                 ("running", "ggov1", True),
                                                 ("stopped", "firmware", True)])
def test_a_plant_with_every_parameter_at_a_limit_runs_without_dividing_by_zero(
        which, start, governor, grid):
    plant = {k: getattr(p, which) for k, p in scenario.PLANT_PARAMS.items()}
    if start == "running" and grid:
        # A paralleled running start begins at its load-flow solution; with
        # every electrical parameter at its floor (a 0.5 MVA, X/R 0.5 grid at
        # 0.85 pu, a 150 kVA, X'd 0.05 alternator) there may be none to begin
        # at: that is a bad scenario, refused with one line (exit 2 in gxsim,
        # test below), so this case keeps the grid's own defaults.
        plant = {k: v for k, v in plant.items() if not k.startswith("grid_")}
    raw = {"duration_s": 2, "start": start, "governor": governor, "grid": {"present": grid},
           "plant": plant,
           "ggov1": {k: getattr(p, which) for k, p in scenario.GGOV1_PARAMS.items()},
           "load": {"initial_pct": 50 if start == "running" else 0},
           "events": [{"t_s": 1.0, "kind": "step", "p_pct": 100}]}
    r = sim.run(_parse(raw), "cpython")
    for col in ("freq_hz", "volt_v", "p_kw", "fuel_cmd_pct"):
        assert all(math.isfinite(x) for x in r.trace[col]), col


def test_a_paralleled_running_start_without_a_load_flow_solution_is_a_bad_scenario(tmp_path):
    """No steady state to begin at: one line naming [plant], exit 2, no run."""
    import subprocess
    import sys
    from conftest import ROOT
    plant = {k: p.lo for k, p in scenario.PLANT_PARAMS.items()}
    raw = {"duration_s": 2, "grid": {"present": True}, "plant": plant,
           "load": {"initial_pct": 50}}
    from host_sim.errors import NoOperatingPoint
    try:
        sim.run(_parse(raw), "cpython")
    except NoOperatingPoint as e:
        msg = str(e)
    else:
        pytest.skip("this plant at its floors has a load-flow solution after all")
    assert msg.startswith("plant:") and "\n" not in msg
    lines = ["duration_s = 2", "[grid]", "present = true", "[load]", "initial_pct = 50", "[plant]"]
    lines += ["%s = %r" % (k, v) for k, v in plant.items()]
    f = tmp_path / "nolf.toml"
    f.write_text("\n".join(lines) + "\n")
    p = subprocess.run([sys.executable, "-m", "host_sim.cli", "run", str(f), "--out",
                        str(tmp_path / "out"), "--no-plot"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().startswith("gxsim: bad scenario: plant:") and len(
        p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "out").exists()
