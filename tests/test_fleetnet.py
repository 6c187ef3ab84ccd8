"""The N-set site network (host_sim/plant/fleetnet.py, issue 12): with one
machine it is the one-set network (network.py) to solver tolerance; machines
at one angle share by rating; an angle lead takes load; the damper works
against the grid or, in an island, against the machines' centre; and the
bus is dead with no source."""

import math

from host_sim.plant.alternator import ALT_DEFAULTS
from host_sim.plant.fleetnet import FleetNetwork
from host_sim.plant.grid import GRID_DEFAULTS, Grid
from host_sim.plant.network import NETWORK_DEFAULTS, Network

S_KVA = 250.0
V_RATED = 480.0
F_NOM = 60.0
DT = 0.001
PARAMS = dict(ALT_DEFAULTS, **GRID_DEFAULTS, **NETWORK_DEFAULTS)
XDP = PARAMS["xdp_pu"]
D = PARAMS["damper_d_pu"]
T2 = PARAMS["damper_tdo2_s"]


def fleet(n, s=S_KVA):
    sk = s if isinstance(s, list) else [s] * n
    return FleetNetwork(sk, [XDP] * n, [D] * n, [T2] * n, V_RATED, F_NOM)


def test_one_machine_on_the_grid_is_the_one_set_network():
    grid = Grid(PARAMS, F_NOM, DT)
    one = Network(PARAMS, S_KVA, V_RATED, F_NOM, DT)
    fl = fleet(1)
    for ang, w, e, pl, ql in ((0.1, 1.0, 1.05, 150.0, 40.0), (-0.2, 1.002, 0.98, 0.0, 0.0),
                              (0.35, 0.999, 1.1, 220.0, -30.0)):
        for _ in range(5):     # both warm their solvers
            a = one.solve(ang, w, e, pl, ql, True, True, grid)
            b = fl.solve([ang], [w], [e], [True], pl, ql, True, grid)
        assert abs(a["p_gen_kw"] - b["p_kw"][0]) < 1e-6 * S_KVA
        assert abs(a["q_gen_kvar"] - b["q_kvar"][0]) < 1e-6 * S_KVA
        assert abs(a["bus_v_pu"] - b["bus_v_pu"]) < 1e-8
        assert abs(a["bus_f_hz"] - b["bus_f_hz"]) < 1e-9
        assert abs(a["p_grid_kw"] - b["p_grid_kw"]) < 1e-6 * S_KVA
        assert b["mode"] == "parallel"


def test_machines_at_one_angle_and_emf_share_an_island_load_by_rating():
    grid = Grid(PARAMS, F_NOM, DT)
    fl = fleet(3, [250.0, 250.0, 500.0])
    for _ in range(5):
        r = fl.solve([0.3] * 3, [1.0] * 3, [1.05] * 3, [True] * 3, 600.0, 150.0, False, grid)
    assert r["mode"] == "island"
    assert abs(sum(r["p_kw"]) - 600.0) < 1e-6 and abs(sum(r["q_kvar"]) - 150.0) < 1e-6
    assert abs(r["p_kw"][0] - 150.0) < 1e-6 and abs(r["p_kw"][2] - 300.0) < 1e-6
    assert abs(r["q_kvar"][1] - 37.5) < 1e-6
    assert abs(r["bus_f_hz"] - F_NOM) < 1e-9 and r["p_grid_kw"] == 0.0


def test_a_machine_ahead_in_angle_takes_load_from_the_others():
    grid = Grid(PARAMS, F_NOM, DT)
    fl = fleet(2)
    for _ in range(5):
        r = fl.solve([0.32, 0.30], [1.0, 1.0], [1.05, 1.05], [True, True], 300.0, 0.0, False, grid)
    assert r["p_kw"][0] > r["p_kw"][1] + 10.0
    assert abs(sum(r["p_kw"]) - 300.0) < 1e-6
    # power-angle: the difference is about E^2 / (2 X) sin(0.02) on the 500 kVA base
    x = XDP * 2 * S_KVA / S_KVA      # each X'd on the 500 kVA base, in series between them
    est = 1.05 ** 2 / x * math.sin(0.02) * 500.0
    assert 0.6 * est < r["p_kw"][0] - r["p_kw"][1] < 1.4 * est


def test_in_an_island_the_damper_acts_against_the_machines_centre():
    grid = Grid(PARAMS, F_NOM, DT)
    fl = fleet(2)
    r = fl.solve([0.3, 0.3], [1.01, 0.99], [1.05, 1.05], [True, True], 200.0, 0.0, False, grid)
    # the fast one delivers more through its damper, the slow one less
    assert r["p_kw"][0] > r["p_kw"][1]
    assert abs(r["bus_f_hz"] - F_NOM) < 1e-9
    # both at one speed: no damper power, however fast
    r = fl.solve([0.3, 0.3], [1.01, 1.01], [1.05, 1.05], [True, True], 200.0, 0.0, False, grid)
    assert abs(r["p_kw"][0] - r["p_kw"][1]) < 1e-9


def test_the_bus_is_dead_with_no_source_and_the_grid_alone_carries_the_load():
    grid = Grid(PARAMS, F_NOM, DT)
    fl = fleet(3)
    r = fl.solve([0.0] * 3, [1.0] * 3, [1.0] * 3, [False] * 3, 300.0, 0.0, False, grid)
    assert r["mode"] == "dead" and r["bus_v_pu"] == 0.0 and not r["load_supplied"]
    r = fl.solve([0.0] * 3, [1.0] * 3, [1.0] * 3, [False] * 3, 300.0, 50.0, True, grid)
    assert r["mode"] == "grid" and r["p_grid_kw"] == 300.0 and r["bus_f_hz"] == grid.f_hz
    assert r["p_kw"] == [0.0, 0.0, 0.0]
    # a machine with its breaker open carries nothing
    r = fl.solve([0.3, 0.3, 0.3], [1.0] * 3, [1.05] * 3, [True, False, True], 300.0, 0.0,
                 False, grid)
    assert r["p_kw"][1] == 0.0 and abs(r["p_kw"][0] - 150.0) < 1e-6
