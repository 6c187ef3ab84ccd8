"""Governor behaviour: isochronous hold, feed-forward, anti-windup, limits."""

from config import Config
from governor import Governor


def _gov(**kw):
    c = Config()
    for k in kw:
        assert c.set(k, kw[k]), k
    g = Governor(c)
    g.preset(c.fuel_nl, c.rated_rpm_x10)
    return c, g


def test_holds_output_at_rated_speed_and_no_load():
    c, g = _gov()
    for _ in range(100):
        u = g.update(c.rated_rpm_x10, 0, 0)
    assert u == c.fuel_nl


def test_slow_engine_gets_more_fuel_and_integrator_grows():
    c, g = _gov()
    u0 = g.update(c.rated_rpm_x10, 0, 0)
    u1 = g.update(c.rated_rpm_x10 - 180, 0, 0)
    assert u1 > u0
    i1 = g.integ_q12
    g.update(c.rated_rpm_x10 - 180, 0, 0)
    assert g.integ_q12 > i1


def test_feed_forward_moves_actuator_on_a_kw_step_before_speed_moves():
    c, g = _gov()
    g.update(c.rated_rpm_x10, 0, 0)
    u = g.update(c.rated_rpm_x10, c.p_fuel_rated_kw_x10 * 35 // 100, 0)
    # 35 % of the map span in one tick, plus the lead's over-fuel (rate
    # limit permitting); the speed has not moved, so P and D add nothing.
    want = c.fuel_nl + c.ff_span * 35 // 100
    assert u > c.fuel_nl
    assert u == c.fuel_nl + c.rate_up_tick or u >= want, (u, want)


def test_rate_limit_bounds_each_tick():
    c, g = _gov()
    prev = g.update(c.rated_rpm_x10, 0, 0)
    for _ in range(20):
        u = g.update(c.rated_rpm_x10 - 3000, c.p_fuel_rated_kw_x10, 0)
        assert u - prev <= c.rate_up_tick
        prev = u


def test_position_limit_holds_and_integrator_does_not_wind_up():
    c, g = _gov()
    for _ in range(2000):   # 20 s with the engine stuck 10 % slow
        u = g.update(c.rated_rpm_x10 * 9 // 10, c.p_fuel_rated_kw_x10, 0)
    assert u == c.fuel_max
    wound = g.integ_q12
    assert (wound >> 12) <= c.fuel_max - c.fuel_min
    # Speed recovers above rated: the output leaves the limit within a few ticks.
    n = 0
    while g.update(c.rated_rpm_x10 + 90, c.p_fuel_rated_kw_x10, 0) >= c.fuel_max:
        n += 1
        assert n < 20, "integrator wound up"


def test_output_never_below_min_on_overspeed():
    c, g = _gov()
    for _ in range(300):
        u = g.update(c.rated_rpm_x10 * 12 // 10, 0, 0)
        assert c.fuel_min <= u <= c.fuel_max


def test_droop_lowers_reference_with_load():
    c, g = _gov(droop_pct_x100=400)
    g.update(c.rated_rpm_x10, c.p_fuel_rated_kw_x10, 0)
    assert g.ref_rpm_x10 == c.rated_rpm_x10 - c.rated_rpm_x10 * 4 // 100


def test_fifty_hertz_set_regulates_to_1500_rpm():
    c, g = _gov(f_nom_hz=50)
    assert c.rated_rpm_x10 == 15000
    u0 = g.update(15000, 0, 0)
    assert u0 == c.fuel_nl
    assert g.update(14800, 0, 0) > u0
