"""The load step a unit offers the stack (fleet.py): its fuel's step
envelope, less what is in transit - the load it picked up within the last
five seconds - so the fleet's published acceptable step (Modbus
fleet_step_kw) does not count the same headroom twice while a step is
still being absorbed.  Plain Python: CPython and both MicroPythons."""

from config import Config
from fleet import Fleet
from helpers import is_micropython


def _fleet():
    c = Config()
    assert c.set_many([("fleet_unit_id", 1), ("fleet_mask", 6), ("fleet_master_id", 1)]) is None
    return Fleet(c)


def _run(f, p_kw, ms, on=True):
    for _ in range(ms // 50):
        f._transit(p_kw, on, 50)


def test_a_steady_unit_offers_its_fuels_whole_step():
    f = _fleet()
    _run(f, 100, 10000)
    assert f.offer_kw == f.step_kw > 0


def test_a_step_just_taken_is_in_transit_for_five_seconds_then_offered_again():
    f = _fleet()
    _run(f, 60, 8000)
    _run(f, 100, 1000)                  # picked up 40 kW a second ago
    assert f.offer_kw == f.step_kw - 40
    _run(f, 100, 3000)
    assert f.offer_kw == f.step_kw - 40
    _run(f, 100, 2100)                  # over five seconds on
    assert f.offer_kw == f.step_kw


def test_a_load_shed_is_no_transit_and_the_offer_never_goes_negative():
    f = _fleet()
    _run(f, 100, 8000)
    _run(f, 20, 1000)
    assert f.offer_kw == f.step_kw
    _run(f, 20 + 10 * f.step_kw, 1000)
    assert f.offer_kw == 0


def test_off_the_bus_the_whole_step_is_offered_and_a_close_starts_afresh():
    f = _fleet()
    _run(f, 0, 3000)
    _run(f, 100, 1000)
    assert f.offer_kw < f.step_kw
    _run(f, 0, 100, on=False)
    assert f.offer_kw == f.step_kw
    _run(f, 50, 200)                    # closed again, at 50 kW
    assert f.offer_kw == f.step_kw


def test_transit_allocates_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    f = _fleet()
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(200):
            f._transit(50 + i, True, 50)
    finally:
        micropython.heap_unlock()
