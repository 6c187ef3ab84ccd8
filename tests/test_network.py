"""Grid and site network plant models (host_sim/plant/grid.py, network.py):
power flow between the set, the grid and the load for every breaker state,
the damped swing of a paralleled set, and the grid's disturbances."""

import math

import pytest

from host_sim.plant.alternator import ALT_DEFAULTS, Alternator
from host_sim.plant.grid import GRID_DEFAULTS, Grid
from host_sim.plant.network import NETWORK_DEFAULTS, Network

S_KVA = 250.0
V_RATED = 480.0
F_NOM = 60.0
DT = 0.001
PARAMS = dict(ALT_DEFAULTS, **GRID_DEFAULTS, **NETWORK_DEFAULTS)


def make():
    return Grid(PARAMS, F_NOM, DT), Network(PARAMS, S_KVA, V_RATED, F_NOM, DT)


def x_total(grid):
    return PARAMS["xdp_pu"] + grid.impedance_pu(S_KVA).imag


def test_grid_impedance_follows_fault_level_and_x_over_r():
    grid, _ = make()
    z = grid.impedance_pu(S_KVA)
    assert abs(z) == pytest.approx(S_KVA / 10000.0)       # 250 kVA / 10 MVA
    assert z.imag / z.real == pytest.approx(5.0)
    grid.set_impedance(5.0)
    assert abs(grid.impedance_pu(S_KVA)) == pytest.approx(0.05)


def test_paralleled_set_ahead_of_grid_exports_e_v_over_x_sin_delta():
    grid, net = make()
    d = math.radians(5.0)
    expect_kw = S_KVA * 1.0 * 1.0 / x_total(grid) * math.sin(d)
    r = net.solve(d, 1.0, 1.0, 0.0, 0.0, True, True, grid)
    assert r["gen_paralleled"] and r["load_supplied"] and r["mode"] == "parallel"
    assert r["p_gen_kw"] == pytest.approx(expect_kw, rel=0.02)
    assert r["p_grid_kw"] == pytest.approx(-r["p_gen_kw"])
    # With a site load the grid import drops by about the same amount.
    load_p, load_q = 125.0, 93.75
    r0 = net.solve(0.0, 1.0, 1.0, load_p, load_q, True, True, grid)
    r5 = net.solve(d, 1.0, 1.0, load_p, load_q, True, True, grid)
    for r in (r0, r5):
        assert r["p_grid_kw"] == pytest.approx(load_p - r["p_gen_kw"], abs=1e-9)
        assert r["q_grid_kvar"] == pytest.approx(load_q - r["q_gen_kvar"], abs=1e-9)
    assert r0["p_grid_kw"] - r5["p_grid_kw"] == pytest.approx(expect_kw, rel=0.03)


def test_parallel_bus_voltage_agrees_with_the_alternator_terminal_equation():
    grid, net = make()
    r = net.solve(math.radians(8.0), 1.0, 1.05, 100.0, 60.0, True, True, grid)
    alt = Alternator(ALT_DEFAULTS, DT)
    alt.e_p = 1.05
    for _ in range(5):
        v = alt.terminal(r["p_gen_kw"] / S_KVA, r["q_gen_kvar"] / S_KVA)
    assert v == pytest.approx(r["bus_v_pu"], abs=1e-4)


def test_island_supplies_a_full_load_with_no_grid_import():
    grid, net = make()
    r = net.solve(0.3, 1.0, 1.0, S_KVA, 0.0, True, False, grid)
    assert r["mode"] == "island" and r["load_supplied"] and not r["gen_paralleled"]
    assert r["p_gen_kw"] == S_KVA                     # exactly the load, no round trip
    assert r["p_grid_kw"] == 0.0 and r["q_grid_kvar"] == 0.0
    odd = net.solve(0.3, 1.0, 1.0, 123.456789, 77.7, True, False, grid)
    assert (odd["p_gen_kw"], odd["q_gen_kvar"]) == (123.456789, 77.7)
    alt = Alternator(ALT_DEFAULTS, DT)
    alt.e_p = 1.0
    assert r["bus_v_pu"] == pytest.approx(alt.terminal(1.0, 0.0), abs=1e-4)
    assert r["bus_f_hz"] == pytest.approx(F_NOM)


def test_both_breakers_open_leaves_the_load_unsupplied():
    grid, net = make()
    r = net.solve(0.0, 1.0, 1.0, 100.0, 75.0, False, False, grid)
    assert not r["load_supplied"] and r["bus_v_pu"] == 0.0 and r["bus_f_hz"] == 0.0
    assert r["p_gen_kw"] == 0.0 and r["p_grid_kw"] == 0.0


def test_grid_alone_supplies_the_load_with_the_set_at_no_load():
    grid, net = make()
    r = net.solve(0.0, 1.0, 1.0, 200.0, 150.0, False, True, grid)
    assert r["mode"] == "grid" and r["load_supplied"]
    assert r["p_gen_kw"] == 0.0 and r["p_grid_kw"] == 200.0
    assert 0.97 < r["bus_v_pu"] < 1.0          # small drop across the stiff grid


def test_outage_with_mains_breaker_closed_and_set_off_line_drops_the_load():
    grid, net = make()
    grid.outage()
    assert not grid.alive and grid.v_pu == 0.0
    r = net.solve(0.0, 1.0, 1.0, 100.0, 75.0, False, True, grid)
    assert not r["load_supplied"] and r["mode"] == "dead"


def test_outage_while_paralleled_islands_the_set_behind_the_closed_mains_breaker():
    grid, net = make()
    grid.outage()
    r = net.solve(0.2, 1.0, 1.0, 150.0, 100.0, True, True, grid)
    assert r["mode"] == "island" and r["load_supplied"] and not r["gen_paralleled"]
    assert r["p_gen_kw"] == pytest.approx(150.0)    # balanced island by default
    p = dict(PARAMS, dead_feeder_p_pu=0.4)
    net2 = Network(p, S_KVA, V_RATED, F_NOM, DT)
    r2 = net2.solve(0.2, 1.0, 1.0, 150.0, 100.0, True, True, grid)
    v = r2["bus_v_pu"]
    assert r2["p_grid_kw"] == pytest.approx(-0.4 * v * v * S_KVA)
    assert r2["p_gen_kw"] == pytest.approx(150.0 - r2["p_grid_kw"])


def test_grid_phase_jump_changes_power_at_once_by_the_power_angle_curve():
    grid, net = make()
    d = math.radians(5.0)
    r0 = net.solve(d, 1.0, 1.0, 0.0, 0.0, True, True, grid)
    grid.phase_jump(10.0)
    r1 = net.solve(d, 1.0, 1.0, 0.0, 0.0, True, True, grid)
    k = S_KVA / x_total(grid)
    expect = k * (math.sin(d - math.radians(10.0)) - math.sin(d))
    assert r1["p_gen_kw"] - r0["p_gen_kw"] == pytest.approx(expect, rel=0.02)
    # The bus, between a stiff grid and X'd, follows most of the jump: the
    # vector shift a relay at the PCC sees is X'd / (X'd + X_s) of it.
    shift = math.degrees(r1["bus_angle_rad"] - r0["bus_angle_rad"])
    assert shift == pytest.approx(10.0 * 0.17 / (0.17 + 0.025), abs=0.3)


def test_phase_difference_wraps_to_plus_minus_180():
    pd = Network.phase_difference_deg
    assert pd(math.radians(10), 0.0) == pytest.approx(10.0)
    assert pd(math.radians(350), 0.0) == pytest.approx(-10.0)
    assert pd(0.0, math.radians(190)) == pytest.approx(170.0)
    assert pd(math.pi, 0.0) == pytest.approx(180.0)
    assert pd(-math.pi, 0.0) == pytest.approx(180.0)


def test_damper_power_opposes_slip_and_is_bounded_far_from_sync():
    _, net = make()
    assert net.damper_pu(0.001) == pytest.approx(15.0 * 0.001, rel=1e-3)
    assert net.damper_pu(-0.001) < 0.0
    peak = max(net.damper_pu(s / 1000.0) for s in range(1, 1000))
    assert peak < 1.0                                 # D s_c / 2 ~ 0.94 pu


def _steady_angle(net, grid, pm, e, load_p, load_q):
    lo, hi = 0.0, math.radians(60.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        r = net.solve(grid.angle_rad + mid, 1.0, e, load_p, load_q, True, True, grid)
        if r["p_gen_kw"] / S_KVA < pm:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def test_paralleled_swing_after_a_power_step_is_damped_and_settles():
    """2H dw/dt = Pm - Pe - D_mech (w - 1), H 0.5 s on the set's rating,
    D_mech 0: all damping comes from the network's damper term, inside Pe.
    Symplectic Euler in the order sim.py uses: angle, network, speed."""
    grid, net = make()
    h, e, load_p, load_q = 0.5, 1.0, 100.0, 75.0
    pm = 0.3
    ang = _steady_angle(net, grid, pm, e, load_p, load_q)
    w = 1.0
    t_step, n = 0.1, 2500
    deltas, pes = [], []
    for k in range(n):
        t = (k + 1) * DT
        if t > t_step:
            pm = 0.6
        grid.step(t)
        ang += 2.0 * math.pi * F_NOM * w * DT
        r = net.solve(ang, w, e, load_p, load_q, True, True, grid)
        pe = r["p_gen_kw"] / S_KVA
        w += (pm - pe) * DT / (2.0 * h)
        deltas.append(Network.phase_difference_deg(ang, grid.angle_rad))
        pes.append(pe)
    assert pes[-1] == pytest.approx(0.6, abs=0.002)
    assert r["p_grid_kw"] == pytest.approx(load_p - 0.6 * S_KVA, abs=0.5)
    final = deltas[-1]
    dev = [x - final for x in deltas[int(t_step / DT):]]
    peaks = [i for i in range(1, len(dev) - 1)
             if dev[i] > dev[i - 1] and dev[i] >= dev[i + 1] and dev[i] > 1e-3]
    assert len(peaks) >= 3
    f_osc = 1.0 / ((peaks[2] - peaks[0]) / 2.0 * DT)
    assert 5.0 < f_osc < 9.0                          # swing mode of a 250 kVA set
    lam = math.log(dev[peaks[0]] / dev[peaks[1]])
    zeta = lam / math.sqrt(4.0 * math.pi ** 2 + lam * lam)
    assert zeta > 0.1


def test_grid_drift_is_a_linear_frequency_ramp_that_the_angle_integrates():
    grid, _ = make()
    grid.drift(1.0, 2.0, 0.5)
    f_at = {}
    n = 5000
    for k in range(n):
        t = (k + 1) * DT
        grid.step(t)
        f_at[round(t, 3)] = grid.f_hz
    assert f_at[0.5] == F_NOM
    assert f_at[2.0] == pytest.approx(60.25)
    assert f_at[3.0] == pytest.approx(60.5)
    assert f_at[5.0] == pytest.approx(60.5)
    # Extra phase over nominal: 0.25 Hz mean for 2 s plus 0.5 Hz for 2 s.
    extra = 2.0 * math.pi * (0.25 * 2.0 + 0.5 * 2.0)
    nominal = 2.0 * math.pi * F_NOM * n * DT
    assert math.remainder(grid.angle_rad - nominal - extra, 2.0 * math.pi) == \
        pytest.approx(0.0, abs=2.0 * math.pi * 0.5 * DT)


def test_grid_steps_ramps_outage_and_restore():
    grid, _ = make()
    grid.f_step(-0.2)
    grid.v_step(0.03)
    grid.step(DT)
    assert grid.f_hz == pytest.approx(59.8) and grid.v_pu == pytest.approx(1.03)
    grid.v_ramp(1.0, 1.0, 0.93)
    vals = {}
    for k in range(1, 3000):
        t = k * DT
        grid.step(t)
        vals[k] = grid.v_pu
    assert vals[900] == pytest.approx(1.03)
    assert vals[1500] == pytest.approx(0.98)
    assert vals[2500] == pytest.approx(0.93)
    a = grid.angle_rad
    grid.phase_jump(30.0)
    assert math.degrees(math.remainder(grid.angle_rad - a, 2 * math.pi)) == pytest.approx(30.0)
    grid.outage()
    grid.step(3.0)
    assert not grid.alive and grid.v_pu == 0.0
    grid.restore()
    assert grid.alive and grid.v_pu == pytest.approx(0.93)
