"""A stack run untraced (issue 12, the speed work): the report's sharing
figures are the traced run's - the load changes come from the run's own
record of the demand, not from the trace - and the fast paths the stack
simulator takes (FleetNetwork.solve_fast, the step-only load schedule, the sensors'
noise drawn a tick at a time)
give what the general ones give, to the bit."""

import random

from host_sim import fleetreport, fleetsim, scenario
from host_sim.plant.fleetnet import FleetNetwork
from host_sim.plant.grid import GRID_DEFAULTS, Grid
from host_sim.plant.load import LoadSchedule
from host_sim.plant.sensors import gauss_draws

TWO = """name = "two-steps"
duration_s = 16
seed = 5
[load]
initial_pct = 40
[[units]]
id = 1
[[units]]
id = 2
[[events]]
kind = "step"
t_s = 11
p_pct = 20
[[events]]
kind = "ramp"
t_s = 13
duration_s = 1.5
p_pct = 50
"""


def _runs(tmp_path):
    f = tmp_path / "two.toml"
    f.write_text(TWO)
    sc = scenario.load(str(f))
    return (fleetsim.run(sc, "cpython", trace=True), fleetsim.run(sc, "cpython", trace=False))


def test_an_untraced_run_reports_the_traced_runs_sharing_figures(tmp_path):
    traced, untraced = _runs(tmp_path)
    assert untraced.sha256 == traced.sha256
    assert untraced.trace["demand_kw"] == []
    s = fleetreport.sharing(untraced)
    assert s == fleetreport.sharing(traced)
    # the step and the ramp (after the start's 10 s of joining) are
    # transients, not steady ticks
    assert s["kw"]["transient"] is not None and s["kw"]["transient"]["samples"] > 0
    # the traced report without the record (the trace's column) agrees
    del traced.demand_changes
    assert fleetreport.sharing(traced) == s


def test_the_demand_record_is_the_traced_demand_column(tmp_path):
    traced, untraced = _runs(tmp_path)
    ch = untraced.demand_changes
    assert ch == traced.demand_changes and ch[0][0] == 0
    col = []
    for (k, d), nxt in zip(ch, ch[1:] + [(untraced.n_ticks, None)]):
        col += [d] * (nxt[0] - k)
    assert col == traced.trace["demand_kw"]


def test_solve_fast_is_solve():
    n = 5
    rng = random.Random(7)
    fl_a = FleetNetwork([250.0, 250.0, 500.0, 300.0, 250.0], [0.17, 0.2, 0.17, 0.15, 0.17],
                        [15.0] * n, [0.021] * n, 480.0, 60.0)
    fl_b = FleetNetwork([250.0, 250.0, 500.0, 300.0, 250.0], [0.17, 0.2, 0.17, 0.15, 0.17],
                        [15.0] * n, [0.021] * n, 480.0, 60.0)
    grid = Grid(GRID_DEFAULTS, 60.0, 0.001)
    for i in range(300):
        closed = [rng.random() < 0.7 for _ in range(n)]
        ang = [rng.uniform(-3.0, 3.0) for _ in range(n)]
        w = [rng.uniform(0.97, 1.03) for _ in range(n)]
        e = [rng.uniform(0.9, 1.1) for _ in range(n)]
        mb = rng.random() < 0.5
        if i % 50 == 25:
            grid.set_impedance(rng.uniform(1.0, 20.0), rng.uniform(2.0, 8.0))
        pl, ql = rng.uniform(0.0, 1200.0), rng.uniform(-100.0, 400.0)
        a = fl_a.solve(ang, w, e, closed, pl, ql, mb, grid)
        b = fl_b.solve_fast(ang, w, e, closed, pl, ql, mb, grid)
        assert (a["p_kw"], a["q_kvar"], a["bus_v_pu"], a["bus_f_hz"], a["bus_angle_rad"],
                a["p_grid_kw"], a["q_grid_kvar"], a["load_supplied"], a["mode"]) == \
            (b[0], b[1], b[3], b[4], b[5], b[6], b[7], b[8], b[9])
        grid.step(i * 0.001)


def test_a_step_only_schedule_is_the_general_one():
    rng = random.Random(3)
    for _ in range(20):
        evs = [{"kind": "step", "t_s": rng.choice([0.0, 1.0, 2.5, 2.5, 7.0, 9.99]),
                "p_pct": rng.uniform(0.0, 100.0)} for _ in range(rng.randint(0, 6))]
        fast = LoadSchedule(30.0, evs)
        slow = LoadSchedule(30.0, evs)
        slow._step_times = None          # the general loop
        for t in [rng.uniform(-1.0, 12.0) for _ in range(200)] + [0.0, 1.0, 2.5, 7.0, 9.99]:
            assert fast.demand_pct(t) == slow.demand_pct(t)


def test_gauss_draws_are_random_gauss_draw_for_draw():
    a = random.Random(11)
    b = random.Random(11)
    pick = random.Random(5)
    for _ in range(300):
        sig = [pick.choice([0.0, 0.2, 1.0, 2.0, 5.0, 0.001]) for _ in range(pick.randint(0, 13))]
        assert gauss_draws(a, sig) == [b.gauss(0.0, s) for s in sig]
        # single draws in between (the zero crossings' jitter): the pair's
        # second half carries over either way
        if pick.random() < 0.5:
            assert a.gauss(0.0, 5.0) == b.gauss(0.0, 5.0)
        assert a.getstate() == b.getstate() and a.gauss_next == b.gauss_next
