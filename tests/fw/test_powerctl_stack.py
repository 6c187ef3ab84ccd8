"""Grid-parallel as a plant (powerctl.py with fleet.py's share): every unit
of a stack reads the same site meter and moves its own kW by its share of
the error, so the plant's total moves by the whole error whoever is on the
bus; with the link whole each is drawn to the units' mean % of rating; one
unit's formulas are the single set's.  Plain Python: CPython and both
MicroPythons."""

from config import Config
from measure import Measure
from powerctl import PowerCtl
from helpers import is_micropython


def _cfg(**kw):
    c = Config()
    assert c.set_many([("pc_mode", 1), ("import_cap_kw_x10", 3000)] +
                      sorted(kw.items())) is None
    return c


def _pc(cfg, share, p_kw_x10, whole=1, err=0):
    pc = PowerCtl(cfg)
    pc.share_x1000 = share
    pc.peers_whole = whole
    pc.share_err_pct_x100 = err
    pc.p_ref_kw_x10 = p_kw_x10
    pc.loading = False
    m = Measure(cfg)
    m.p_filt_kw_x10 = p_kw_x10
    return pc, m


def _goal(cfg, share, p, grid, whole=1, err=0, n=400):
    """The reference once it stops moving (the ramp is rate limited)."""
    pc, m = _pc(cfg, share, p, whole, err)
    m.grid_p_kw_x10 = grid
    ref = None
    for _ in range(n):
        ref = pc.update(m, False)
    return ref


def test_one_unit_of_a_stack_alone_on_the_grid_is_the_single_set_exactly():
    cfg = _cfg()
    for p, grid in ((800, 5000), (1200, 2000), (0, 9000), (1500, -400)):
        a, ma = _pc(cfg, 1000, p)
        ma.grid_p_kw_x10 = grid
        b = PowerCtl(cfg)
        b.p_ref_kw_x10 = p
        b.loading = False
        mb = Measure(cfg)
        mb.p_filt_kw_x10 = p
        mb.grid_p_kw_x10 = grid
        for _ in range(50):
            assert a.update(ma, False) == b.update(mb, False)


def test_a_unit_moves_its_kw_by_its_share_of_the_meter_error():
    cfg = _cfg()
    # import 500 kW over a 300 kW cap: a quarter share takes 50 kW of it
    assert _goal(cfg, 250, 1000, 5000) == 1000 + 2000 * 250 // 1000
    # under the cap: gives a quarter of the margin back
    assert _goal(cfg, 250, 1000, 1000) == 1000 - 2000 * 250 // 1000


def test_the_shares_sum_to_the_whole_correction_whatever_unit_is_lost():
    cfg = _cfg()
    for shares in ((250, 250, 250, 250), (334, 333, 333), (500, 500), (1000,)):
        moved = sum(_goal(cfg, s, 1000, 4000) - 1000 for s in shares)
        assert abs(moved - 1000) <= len(shares)     # the whole 100 kW, to rounding


def test_with_the_link_whole_a_unit_under_the_mean_takes_more_and_without_it_not():
    cfg = _cfg()
    at_cap = 3000
    up = _goal(cfg, 250, 1000, at_cap, whole=1, err=500)     # 5 % under the mean
    assert up > 1000
    assert _goal(cfg, 250, 1000, at_cap, whole=0, err=500) == 1000
    down = _goal(cfg, 250, 1000, at_cap, whole=1, err=-500)
    assert down < 1000


def test_the_export_guard_holds_for_each_units_share():
    cfg = _cfg(export_limit_kw_x10=0, import_min_kw_x10=100)
    # exporting 20 kW: each of four units backs off a quarter of (export + min import)
    g = _goal(cfg, 250, 1000, -200)
    assert g <= 1000 + (-200 - 100) * 250 // 1000


def test_extreme_meter_and_share_figures_stay_in_range():
    cfg = _cfg()
    pr_ = cfg.p_fuel_rated_kw_x10
    for grid in (-(1 << 29), -1048577, 1048577, 1 << 29):
        for share in (1, 62, 999):
            for err in (-(1 << 20), 1 << 20):
                g = _goal(cfg, share, 1000, grid, whole=1, err=err, n=5)
                assert 0 <= g <= pr_


def test_update_allocates_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    cfg = _cfg()
    pc, m = _pc(cfg, 250, 1000, 1, 300)
    m.grid_p_kw_x10 = 4000
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(40):
            m.grid_p_kw_x10 = 4000 + i
            pc.update(m, False)
    finally:
        micropython.heap_unlock()
