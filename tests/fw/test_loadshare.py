"""Island load sharing (loadshare.py): the stack's mean by rating, the
share error as speed and voltage biases, droop when a unit on the bus goes
unheard, and no step in the set points at either change of mode.
Plain Python: CPython and both MicroPythons."""

import loadshare as lsm
import sharelink as sl
from helpers import is_micropython

ON = sl.F_GCB_CLOSED | sl.F_SHARING


def _peers(own, units, seq=1):
    p = sl.Peers(own, 300)
    _hear(p, units, seq)
    return p


def _hear(p, units, seq):
    b = bytearray(sl.FRAME_BYTES)
    for u, (flags, pp, qq, r) in units.items():
        sl.encode(b, u, seq, 10, flags, 1, 1, pp, qq, r, sl.avail_kw(flags & sl.F_GCB_CLOSED, pp, r),
                  0, 0, 0)
        assert p.decode(b, len(b)) == -1


def test_the_mean_is_weighted_by_rating_and_the_bias_pulls_toward_it():
    # a 200 kW unit at 50 %, a 600 kW peer at 70 %: the stack at 65 %
    p = _peers(1, {2: (ON, 7000, 2000, 600)})
    ls = lsm.LoadShare(1)
    assert ls.update(p, True, 5000, 1000, 200, 10)
    assert ls.avg_p_pct_x100 == 6500 and ls.avg_q_pct_x100 == 1750
    # the kW error through its low-pass: an eighth of it the first period
    assert 0 < ls.spd_bias_pct_x100 <= 1500 * 10 // 100 // 8 + 1
    assert ls.v_bias_pct_x100 == 75          # 7.5 % x 10/100
    assert ls.n_on_bus == 2
    for _ in range(100):
        ls.update(p, True, 5000, 1000, 200, 10)
    # under the mean: a positive speed bias (take more load), 15 % x 10/100
    assert abs(ls.spd_bias_pct_x100 - 150) <= 1     # (the low-pass's rounding)


def test_units_off_the_bus_or_on_droop_are_not_in_the_mean():
    p = _peers(1, {2: (sl.F_SHARING, 9000, 0, 200), 3: (sl.F_GCB_CLOSED, 9000, 0, 200),
                   4: (ON, 3000, 0, 200)})
    ls = lsm.LoadShare(1)
    ls.update(p, True, 5000, 0, 200, 10)
    assert ls.avg_p_pct_x100 == 4000 and ls.n_on_bus == 2
    # ... but they are on the bus: this unit is not alone (2 and 4 closed)
    assert ls.n_bus_units == 3


def test_the_mean_stays_exact_and_small_for_sixteen_ten_megawatt_units_at_200_pct():
    units = dict((u, (ON, 20000, -20000, 10000)) for u in range(2, 17))
    p = _peers(1, units)
    ls = lsm.LoadShare(1)
    ls.update(p, True, 20000, -20000, 10000, 10)
    assert ls.avg_p_pct_x100 == 20000 and ls.avg_q_pct_x100 == -20000
    assert ls.spd_bias_pct_x100 == 0
    units = dict((u, (ON, -20000 + 2500 * u, 0, 137 * u)) for u in range(2, 17))
    p = _peers(1, units)
    ls.update(p, True, 0, 0, 5, 10)
    want = sum((-20000 + 2500 * u) * 137 * u // 100 for u in range(2, 17))
    r = sum(137 * u for u in range(2, 17)) + 5
    assert ls.avg_p_pct_x100 == want * 100 // r


def test_a_unit_on_the_bus_gone_unheard_drops_every_unit_to_droop_and_back():
    p = _peers(1, {2: (ON, 6000, 0, 200)})
    ls = lsm.LoadShare(1)
    assert ls.update(p, True, 6000, 0, 200, 10)
    p.tick(300)                               # unit 2 stale, last seen on the bus
    assert not ls.update(p, True, 6000, 0, 200, 10) and ls.fallbacks == 1
    _hear(p, {2: (ON, 6000, 0, 200)}, 2)
    assert ls.update(p, True, 6000, 0, 200, 10)
    # a unit last seen off the bus going stale changes nothing
    p = _peers(1, {2: (sl.F_SHARING, 0, 0, 200)})
    ls = lsm.LoadShare(1)
    ls.update(p, True, 6000, 0, 200, 10)
    p.tick(300)
    assert ls.update(p, True, 6000, 0, 200, 10)


def test_a_unit_unheard_past_forget_ms_is_taken_as_gone():
    p = _peers(1, {2: (ON, 6000, 0, 200)})
    ls = lsm.LoadShare(1)
    ls.update(p, True, 6000, 0, 200, 10)
    p.tick(300)
    assert not ls.update(p, True, 6000, 0, 200, 10)
    p.tick(ls.forget_ms)
    assert ls.update(p, True, 6000, 0, 200, 10) and ls.n_on_bus == 1


def test_neither_change_of_mode_steps_the_biases():
    p = _peers(1, {2: (ON, 9000, 4000, 200)})
    ls = lsm.LoadShare(1)
    for _ in range(100):
        ls.update(p, True, 5000, 0, 200, 10)
    b0 = (ls.spd_bias_pct_x100, ls.v_bias_pct_x100)
    assert abs(b0[0] - 200) <= 1 and b0[1] == 200, b0
    p.tick(300)
    ls.update(p, True, 5000, 0, 200, 10)       # to droop
    b1 = (ls.spd_bias_pct_x100, ls.v_bias_pct_x100)
    assert abs(b1[0] - b0[0]) <= 1 and abs(b1[1] - b0[1]) <= 1, (b0, b1)
    # the transfer term lets go at 0.2 %/s: 3.5 % in 17.5 s, then the droop bias
    for _ in range(1600):
        ls.update(p, True, 5000, 0, 200, 10)
    assert ls.spd_bias_pct_x100 > -150
    for _ in range(300):
        ls.update(p, True, 5000, 0, 200, 10)
    assert ls.spd_bias_pct_x100 == -150 and ls.v_bias_pct_x100 == 0
    _hear(p, {2: (ON, 5000, 0, 200)}, 2)
    ls.update(p, True, 5000, 0, 200, 10)       # back to sharing
    assert abs(ls.spd_bias_pct_x100 + 150) <= 1
    for _ in range(800):
        ls.update(p, True, 5000, 0, 200, 10)
    assert ls.spd_bias_pct_x100 == 0


def test_biases_are_held_within_their_limit():
    p = _peers(1, {2: (ON, 20000, 20000, 10000)})
    ls = lsm.LoadShare(1)
    ls.update(p, True, -20000, -20000, 1, 10)
    assert ls.spd_bias_pct_x100 == ls.bias_lim_pct_x100
    assert ls.v_bias_pct_x100 == ls.bias_lim_pct_x100


def test_update_allocates_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    p = _peers(1, dict((u, (ON, 5000 + u, 100, 200)) for u in range(2, 17)))
    ls = lsm.LoadShare(1)
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(40):
            ls.update(p, True, 4000 + i, 0, 200, 10)
            p.tick(10)
    finally:
        micropython.heap_unlock()
