"""Overspeed ignition cut: anticipates load rejection, bounded, never on H2."""

from config import Config
from ignition import IgnitionCut
import fuels


def _ign(fuel=fuels.FUEL_NG):
    c = Config()
    assert c.set("fuel", fuel)
    return c, IgnitionCut(c)


def test_no_cut_in_normal_running():
    c, ig = _ign()
    for _ in range(100):
        assert ig.update(c.rated_rpm_x10 + 50, 10) == 0


def test_large_kw_drop_cuts_at_once_before_speed_rises():
    c, ig = _ign()
    cut = ig.update(c.rated_rpm_x10, -c.p_fuel_rated_kw_x10)   # full rejection
    assert cut == c.ign_cut_max > 0


def test_cut_is_proportional_to_overspeed():
    c, ig = _ign()
    a = ig.update(c.rated_rpm_x10 + c.ign_cut_on_rpm_x10 + 100, 0)
    ig2 = IgnitionCut(c)
    b = ig2.update(c.rated_rpm_x10 + c.ign_cut_on_rpm_x10 + 400, 0)
    assert 0 < a < b <= c.ign_cut_max


def test_cut_never_lasts_more_than_a_second_then_locks_out():
    c, ig = _ign()
    on = 0
    for _ in range(300):
        if ig.update(c.rated_rpm_x10 * 11 // 10, 0):
            on += 1
    assert on == 100
    # lockout clears once the speed is back near rated
    ig.update(c.rated_rpm_x10, 0)
    assert ig.update(c.rated_rpm_x10 * 11 // 10, 0) > 0


def test_hydrogen_never_cuts_ignition():
    c, ig = _ign(fuels.FUEL_H2)
    assert ig.update(c.rated_rpm_x10 * 12 // 10, -c.p_fuel_rated_kw_x10) == 0
