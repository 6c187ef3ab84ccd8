"""Sixteen units (issue 12, fleet16-steps): the built-in is a stack of
sixteen running GX230s on an island whose load steps are ones the stack
can accept; its first seconds under CPython end with all sixteen on the
bus and loaded, the site supplied throughout; the bench's 16-unit section
runs.  Cheap runs only (a few simulated seconds): the whole scenario's
sharing figures are `make bench`'s, never timed here."""

from conftest import ROOT  # noqa: F401  (the repo on sys.path)
from host_sim import firmware_path, fleetreport, fleetsim, scenario
from tools import bench

firmware_path()
import fuels as fw_fuels  # noqa: E402

NAME = "fleet16-steps"
SHORT_S = 3.0


def test_fleet16_steps_is_sixteen_running_units_on_an_island_with_acceptable_steps():
    assert NAME in scenario.fleet_builtin_names()
    sc = scenario.load(NAME)
    assert sc["fleet"]
    assert [u["id"] for u in sc["units"]] == list(range(1, 17))
    assert all(u["start"] == "running" and u["mode"] == "auto" for u in sc["units"])
    assert not sc["grid"]["present"]
    steps = [e for e in sc["events"] if e["kind"] == "step"]
    assert len(steps) >= 3 and any(e["p_pct"] < p for e, p in zip(
        steps, [sc["load"]["initial_pct"]] + [e["p_pct"] for e in steps]))
    # Every step within its units' acceptable step (the fuel's ISO 8528-5 guide).
    max_step = min(fw_fuels.FUELS[fw_fuels.fuel_code(u["fuel"])][fw_fuels.F_MAX_STEP_PCT]
                   for u in sc["units"])
    prev = sc["load"]["initial_pct"]
    for e in steps:
        assert abs(e["p_pct"] - prev) <= max_step, e
        prev = e["p_pct"]


def test_sixteen_units_stay_loaded_with_the_site_supplied():
    sc = dict(scenario.load(NAME), duration_s=SHORT_S)
    r = fleetsim.run(sc, "cpython", trace=False)
    rep = fleetreport.build(r)
    assert rep["n_units"] == 16
    assert rep["final_states"] == {str(i): "loaded" for i in range(1, 17)}
    assert rep["blackouts"] == []
    assert all(u["alarms"] == [] and u["gcb_opens"] == [] for u in rep["units"])


def test_the_bench_stack_section_reports_speed_and_sharing(capsys):
    f = bench.fleet_bench(sim_s=1.0, mp_sim_s=0, runtimes=("cpython",))
    assert f["status"] == 0
    (row,) = f["rows"]
    assert row["runtime"] == "cpython" and row["sim_s"] == 1.0
    assert row["loaded"] == row["n_units"] == 16 and row["blackouts"] == 0
    assert row["vs_cpython"] == 1.0
    assert f["traced"]["same_as_untraced"] is True
    assert set(f["sharing"]["goals"]) >= {"steady_kw_met", "steady_kvar_met", "transient_kw_met"}
    bench.print_fleet(f)
    out = capsys.readouterr().out
    assert "Stack simulation speed (fleet16-steps, 16 units" in out
    assert "Stack sharing (fleet16-steps" in out
