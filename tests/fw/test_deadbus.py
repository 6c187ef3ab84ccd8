"""Dead-bus arbiter (deadbus.py) rules, unit by unit; the link-cut sweep
over a modelled stack is tests/test_deadbus_cuts.py.  Plain Python:
CPython and both MicroPythons."""

import deadbus as db
import sharelink as sl
from helpers import is_micropython

STALE = 200
MASK3 = (1 << 1) | (1 << 2) | (1 << 3)


def _hear(p, unit, seq, claim=False, master=1):
    b = bytearray(sl.FRAME_BYTES)
    sl.encode(b, unit, seq, 7, sl.F_DEADBUS_CLAIM if claim else 0, 1, master, 0, 0, 200, 0,
              0, 0, 0)
    assert p.decode(b, len(b)) == -1


def _claim_until(a, p, ms):
    ok = False
    for _ in range(ms // 10 + 1):
        ok = a.update(p, True, True, 10)
    return ok


def test_a_close_needs_an_unbroken_claim_of_claim_ms_and_a_dead_bus():
    p = sl.Peers(2, STALE)
    _hear(p, 1, 1)
    _hear(p, 3, 1)
    a = db.DeadBus(2, 1, MASK3, 300)
    assert not _claim_until(a, p, 290) and a.why == db.W_CLAIMING and a.claiming
    assert a.update(p, True, True, 10) and a.why == db.W_NONE
    # the bus goes live (another source): the claim ends at once
    assert not a.update(p, True, False, 10) and not a.claiming and a.claim_for_ms == 0
    # and starts again from nothing
    assert not a.update(p, True, True, 10)


def test_a_unit_yields_to_the_master_and_to_lower_ids_not_to_higher():
    a = db.DeadBus(2, 1, MASK3, 0)
    p = sl.Peers(2, STALE)
    _hear(p, 1, 1, claim=True)
    _hear(p, 3, 1)
    assert not a.update(p, True, True, 10) and a.why == db.W_YIELD
    p = sl.Peers(2, STALE)
    _hear(p, 1, 1)
    _hear(p, 3, 1, claim=True)
    assert a.update(p, True, True, 10)
    # a master other than 1: unit 3 is master, unit 2 yields to it
    a = db.DeadBus(2, 3, MASK3, 0)
    p = sl.Peers(2, STALE)
    _hear(p, 1, 1, master=3)
    _hear(p, 3, 1, claim=True, master=3)
    assert not a.update(p, True, True, 10) and a.why == db.W_YIELD


def test_only_the_master_closes_when_a_unit_of_the_stack_is_unheard():
    p = sl.Peers(2, STALE)
    _hear(p, 1, 1)           # unit 3 never heard
    a = db.DeadBus(2, 1, MASK3, 0)
    assert not a.update(p, True, True, 10) and a.why == db.W_UNHEARD
    m = db.DeadBus(1, 1, MASK3, 0)
    assert m.update(sl.Peers(1, STALE), True, True, 10)
    # a unit outside the stack's mask is not waited for
    a = db.DeadBus(2, 1, (1 << 1) | (1 << 2), 0)
    assert a.update(p, True, True, 10)


def test_a_master_mismatch_or_a_duplicate_id_blocks_every_dead_bus_close():
    m = db.DeadBus(1, 1, MASK3, 0)
    p = sl.Peers(1, STALE)
    _hear(p, 2, 1, master=2)
    assert not m.update(p, True, True, 10) and m.why == db.W_MASTER
    p = sl.Peers(1, STALE)
    b = bytearray(sl.FRAME_BYTES)
    sl.encode(b, 1, 1, 7, 0, 1, 1, 0, 0, 200, 0, 0, 0, 0)
    assert p.decode(b, len(b)) == sl.R_DUPLICATE
    assert not m.update(p, True, True, 10) and m.why == db.W_DUPLICATE and not m.claiming


def test_min_claim_ms_adds_every_delay_a_claim_can_go_unseen():
    assert db.min_claim_ms(200, 50, 20, 100, 40) == 200 + 50 + 40 + 100 + 40 + 1


def test_update_allocates_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    p = sl.Peers(2, STALE)
    _hear(p, 1, 1)
    _hear(p, 3, 1)
    a = db.DeadBus(2, 1, MASK3, 100)
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(40):
            a.update(p, True, i < 30, 10)
            p.tick(10)
    finally:
        micropython.heap_unlock()
    assert a.grants > 0
