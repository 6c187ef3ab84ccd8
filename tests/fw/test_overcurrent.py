"""ANSI 51 inverse-time overcurrent: trips on the IEC / IEEE curve time,
never at or below pickup, resets as configured, latches, never allocates.

Expected times come from the standards' formulas, written out again here
with floats (tests may use floats; the firmware may not), independent of the
table generator tools/gen_curves.py."""

import overcurrent as oc
from overcurrent import InverseTime
from helpers import is_micropython

_TICK_MS = 10
_PICKUP = 2500        # 250.0 A

# code: (family, constants) from IEC 60255-151 and IEEE C37.112
_FORMULA = {
    oc.CURVE_IEC_SI: ("iec", 0.14, 0.02),
    oc.CURVE_IEC_VI: ("iec", 13.5, 1.0),
    oc.CURVE_IEC_EI: ("iec", 80.0, 2.0),
    oc.CURVE_IEC_LTI: ("iec", 120.0, 1.0),
    oc.CURVE_IEEE_MI: ("ieee", 0.0515, 0.114, 0.02),
    oc.CURVE_IEEE_VI: ("ieee", 19.61, 0.491, 2.0),
    oc.CURVE_IEEE_EI: ("ieee", 28.2, 0.1217, 2.0),
}


def _formula_ms(code, m, tms):
    """Operate time in ms at multiple m (held at 20 above 20 x pickup)."""
    if m > 20.0:
        m = 20.0
    f = _FORMULA[code]
    if f[0] == "iec":
        t = tms * f[1] / (m ** f[2] - 1.0)
    else:
        t = tms * (f[1] / (m ** f[3] - 1.0) + f[2])
    return t * 1000.0


def _ms_to_trip(e, i_a_x10, limit_ticks):
    for n in range(1, limit_ticks + 1):
        if e.update(i_a_x10):
            return n * e.tick_ms
    return None


# (curve, M, tms): every curve, near pickup to beyond the top of the table,
# TMS from the smallest to the largest allowed
_CASES = (
    (oc.CURVE_IEC_SI, 1.2, 0.05),
    (oc.CURVE_IEC_SI, 2.0, 0.1),
    (oc.CURVE_IEC_SI, 5.0, 1.0),
    (oc.CURVE_IEC_SI, 13.3, 2.0),
    (oc.CURVE_IEC_VI, 1.1, 0.1),
    (oc.CURVE_IEC_VI, 3.0, 0.5),
    (oc.CURVE_IEC_VI, 20.0, 1.0),
    (oc.CURVE_IEC_EI, 2.5, 0.2),
    (oc.CURVE_IEC_EI, 6.2, 1.0),
    (oc.CURVE_IEC_EI, 10.0, 0.05),
    (oc.CURVE_IEC_EI, 40.0, 0.1),
    (oc.CURVE_IEC_LTI, 1.5, 0.2),
    (oc.CURVE_IEC_LTI, 7.0, 1.0),
    (oc.CURVE_IEEE_MI, 1.2, 2.0),
    (oc.CURVE_IEEE_MI, 1.1, 0.5),
    (oc.CURVE_IEEE_MI, 8.0, 1.0),
    (oc.CURVE_IEEE_VI, 1.5, 0.5),
    (oc.CURVE_IEEE_VI, 4.0, 1.0),
    (oc.CURVE_IEEE_VI, 50.0, 2.0),
    (oc.CURVE_IEEE_EI, 1.1, 0.05),
    (oc.CURVE_IEEE_EI, 1.5, 1.0),
    (oc.CURVE_IEEE_EI, 20.0, 0.5),
)


def test_trips_within_one_tick_plus_2_percent_of_the_curve_time():
    bad = []
    for code, m, tms in _CASES:
        i = int(m * _PICKUP + 0.5)
        tms_x1000 = int(tms * 1000 + 0.5)
        want = _formula_ms(code, i / _PICKUP, tms_x1000 / 1000.0)
        e = InverseTime(code, _PICKUP, tms_x1000, _TICK_MS)
        got = _ms_to_trip(e, i, int(want * 1.1) // _TICK_MS + 10)
        if got is None or abs(got - want) > _TICK_MS + 0.02 * want:
            bad.append((oc.CURVE_NAMES[code], m, tms, want, got))
    assert not bad, bad


def test_time_scales_with_tms():
    e1 = InverseTime(oc.CURVE_IEC_SI, _PICKUP, 100, _TICK_MS)
    e2 = InverseTime(oc.CURVE_IEC_SI, _PICKUP, 1000, _TICK_MS)
    t1 = _ms_to_trip(e1, 3 * _PICKUP, 100000)
    t2 = _ms_to_trip(e2, 3 * _PICKUP, 100000)
    assert abs(t2 - 10 * t1) <= 10 * _TICK_MS, (t1, t2)


def test_never_trips_at_or_below_pickup():
    for code in range(oc.N_CURVES):
        for i in (_PICKUP, _PICKUP * 99 // 100, 0):
            e = InverseTime(code, _PICKUP, oc.TMS_X1000_MIN, _TICK_MS)
            for _ in range(5000):          # 50 s at the fastest TMS
                assert not e.update(i)
            assert e.acc_ppm == 0 and not e.picked_up, (code, i)


def test_just_above_pickup_picks_up_and_operates_slowly():
    e = InverseTime(oc.CURVE_IEC_SI, _PICKUP, 1000, _TICK_MS)
    i = _PICKUP * 105 // 100                 # M = 1.05: 143.5 s at TMS 1
    for _ in range(1000):
        assert not e.update(i)
    assert e.picked_up
    want = 10000.0 / _formula_ms(oc.CURVE_IEC_SI, 1.05, 1.0) * 1e6   # ppm after 10 s
    assert abs(e.acc_ppm - want) <= 0.01 * want, (e.acc_ppm, want)


def test_drop_below_pickup_resets_at_once_by_default():
    e = InverseTime(oc.CURVE_IEC_VI, _PICKUP, 1000, _TICK_MS)   # M=2: 13.5 s
    for _ in range(1000):                    # 10 s: 74 % of the trip
        assert not e.update(2 * _PICKUP)
    assert e.acc_ppm > 700000
    e.update(_PICKUP - 1)
    assert e.acc_ppm == 0
    t = _ms_to_trip(e, 2 * _PICKUP, 10000)   # the full time again
    assert abs(t - 13500) <= _TICK_MS + 270, t


def test_drop_below_pickup_decays_linearly_over_reset_ms():
    e = InverseTime(oc.CURVE_IEC_VI, _PICKUP, 1000, _TICK_MS, reset_ms=2000)
    for _ in range(675):                     # 6.75 s of 13.5 s: half way
        e.update(2 * _PICKUP)
    assert abs(e.acc_ppm - 500000) <= 1000, e.acc_ppm
    for _ in range(50):                      # 0.5 s of a 2 s full-scale reset
        assert not e.update(0)
    assert abs(e.acc_ppm - 250000) <= 1000, e.acc_ppm
    for _ in range(49):
        e.update(0)
    assert 0 < e.acc_ppm <= 6000
    e.update(0)
    assert e.acc_ppm == 0
    e.update(0)
    assert e.acc_ppm == 0


def test_repeated_overloads_add_up_with_a_slow_reset():
    # 5 s on, 1 s off: with a 10 s reset the element still trips, with the
    # instant reset it never does (each 5 s run is 37 % of the 13.5 s time)
    for reset_ms, trips in ((10000, True), (0, False)):
        e = InverseTime(oc.CURVE_IEC_VI, _PICKUP, 1000, _TICK_MS, reset_ms=reset_ms)
        tripped = False
        for n in range(6000):
            tripped = e.update(2 * _PICKUP if n % 600 < 500 else 0) or tripped
        assert tripped == trips, reset_ms


def test_varying_current_integrates_the_fractions_of_the_trip():
    # 40 % of the time at M = 2, then M = 4 for the remaining 60 %
    e = InverseTime(oc.CURVE_IEC_EI, _PICKUP, 500, _TICK_MS)
    t2 = _formula_ms(oc.CURVE_IEC_EI, 2.0, 0.5)     # 13.33 s
    t4 = _formula_ms(oc.CURVE_IEC_EI, 4.0, 0.5)     # 2.667 s
    n1 = int(0.4 * t2) // _TICK_MS
    for _ in range(n1):
        assert not e.update(2 * _PICKUP)
    done = n1 * _TICK_MS / t2
    got = _ms_to_trip(e, 4 * _PICKUP, 10000)
    want = (1.0 - done) * t4
    assert abs(got - want) <= _TICK_MS + 0.02 * want, (got, want)


def test_trip_latches_until_reset():
    e = InverseTime(oc.CURVE_IEEE_EI, _PICKUP, 100, _TICK_MS)
    assert _ms_to_trip(e, 10 * _PICKUP, 1000) is not None
    for _ in range(100):
        assert e.update(0)                   # current gone, still tripped
    assert e.tripped and not e.picked_up
    e.reset()
    assert not e.tripped and e.acc_ppm == 0
    assert not e.update(0)


def test_rate_rises_with_current_and_holds_above_20x():
    for code in range(oc.N_CURVES):
        e = InverseTime(code, 1234, 1000, _TICK_MS)
        last = 0
        for i in range(1234, 50 * 1234, 97):
            r = e.rate_ppm_s(i)
            assert r >= last, (code, i)
            last = r
        top = e.rate_ppm_s(20 * 1234)
        assert top == e.rate_ppm_s(50 * 1234) == e.rate_ppm_s(10 ** 9) > 0


def test_settings_out_of_range_are_refused():
    good = (oc.CURVE_IEC_SI, _PICKUP, 1000, _TICK_MS, 0)
    # (argument index, value)
    bad = ((0, 7), (0, -1), (1, 0), (1, oc.PICKUP_A_X10_MAX + 1), (2, 49), (2, 2001),
           (3, 0), (3, 101), (4, -1), (4, oc.RESET_MS_MAX + 1))
    for at, v in bad:
        args = list(good)
        args[at] = v
        try:
            InverseTime(*args)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % (args,))
    InverseTime(*good)


def test_curve_codes_and_names_agree():
    assert oc.CURVE_NAMES == ("iec_si", "iec_vi", "iec_ei", "iec_lti",
                              "ieee_mi", "ieee_vi", "ieee_ei")
    assert (oc.CURVE_IEC_SI, oc.CURVE_IEC_VI, oc.CURVE_IEC_EI, oc.CURVE_IEC_LTI,
            oc.CURVE_IEEE_MI, oc.CURVE_IEEE_VI, oc.CURVE_IEEE_EI) == tuple(range(7))
    assert oc.N_CURVES == len(oc.CURVE_NAMES) == 7


def test_update_does_not_allocate():
    if not is_micropython():
        return   # heap_lock exists only on MicroPython; CPython run is a no-op
    import gc
    import micropython
    els = [InverseTime(c, _PICKUP, 50 + 300 * c, _TICK_MS, reset_ms=500 * (c & 1))
           for c in range(oc.N_CURVES)]
    # below, near, between grid points, above the top, far above; then
    # decay, and finally latched after the trip
    currents = [0, _PICKUP, _PICKUP + 1, 3 * _PICKUP + 7, 21 * _PICKUP,
                50 * _PICKUP, 10 ** 8, _PICKUP // 2]
    gc.collect()
    micropython.heap_lock()
    try:
        for n in range(3000):
            i = currents[(n >> 4) & 7]
            for e in els:
                e.update(i)
                e.rate_ppm_s(i)
    finally:
        micropython.heap_unlock()
    tripped = [e.tripped for e in els]
    assert True in tripped and False in tripped    # both paths ran locked
