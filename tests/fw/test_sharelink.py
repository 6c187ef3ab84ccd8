"""The load-share link's frame and peer table (issue 12): a frame round
trips; a bad frame of every kind (length, sync, CRC, unit id, a second
controller on our id, impossible figures, a repeat) is refused, counted by
why and never reaches the table; ages go stale; the codec allocates nothing.
Plain Python: CPython and both MicroPythons."""

import sharelink as sl
from crc16 import crc16
from helpers import is_micropython

STALE_MS = 300


def _frame(unit=2, seq=1, state=10, flags=sl.F_GCB_CLOSED | sl.F_SHARING, prio=3, master=1,
           p=5000, q=1000, rating=200, avail=None, step=60, run_h=1234, alarm=0):
    """A frame as a GX230 sends it (its capacity left from its kW, by
    default), or with the figures given."""
    b = bytearray(sl.FRAME_BYTES)
    if avail is None:
        avail = sl.avail_kw(flags & sl.F_GCB_CLOSED, p, rating)
    sl.encode(b, unit, seq, state, flags, prio, master, p, q, rating, avail, step, run_h, alarm)
    return b


def _reseal(b):
    c = crc16(b, 0, 22)
    b[22] = c & 0xFF
    b[23] = c >> 8
    return b


def test_a_frame_round_trips_into_the_peer_table():
    t = sl.Peers(1, STALE_MS)
    b = _frame(unit=5, seq=9, p=3234, q=4321, rating=250, step=80, run_h=60000,
               alarm=77, prio=7, state=10, flags=sl.F_GCB_CLOSED | sl.F_AUTO, master=4)
    assert t.decode(b, len(b)) == -1
    assert t.fresh(5) and not t.fresh(4) and t.n_fresh() == 1 and t.good == 1
    assert (t.p_pct_x100[5], t.q_pct_x100[5], t.rating_kw[5], t.avail_kw[5], t.step_kw[5],
            t.run_h[5], t.alarm[5], t.prio[5], t.state[5], t.flags[5], t.master[5]) == \
        (3234, 4321, 250, 170, 80, 60000, 77, 7, 10, sl.F_GCB_CLOSED | sl.F_AUTO, 4)
    # off the bus: no capacity, no step
    b = _frame(unit=6, p=-12, rating=250, avail=0, step=0, state=7,
               flags=sl.F_AVAILABLE | sl.F_AUTO)
    assert t.decode(b, len(b)) == -1 and t.p_pct_x100[6] == -12 and t.avail_kw[6] == 0


def test_the_encoder_saturates_figures_into_their_fields_never_wraps():
    b = _frame(p=99999, q=-99999, rating=70000, avail=-5, step=99999, run_h=10 ** 6, prio=0)
    t = sl.Peers(1, STALE_MS)
    assert t.decode(b, len(b)) == -1
    assert t.p_pct_x100[2] == sl.IMPOSSIBLE_PCT_X100
    assert t.q_pct_x100[2] == -sl.IMPOSSIBLE_PCT_X100
    assert t.rating_kw[2] == sl.MAX_RATING_KW and t.avail_kw[2] == 0
    assert t.step_kw[2] == sl.MAX_RATING_KW and t.run_h[2] == 65535 and t.prio[2] == 1


def _refused(t, b, n, why):
    before = t.refused[why]
    good = t.good
    assert t.decode(b, n) == why, sl.REFUSAL_NAMES[why]
    assert t.refused[why] == before + 1
    assert t.good == good


def test_every_kind_of_bad_frame_is_refused_counted_and_never_acted_on():
    t = sl.Peers(1, STALE_MS)
    # Known state for unit 2: a good frame first; nothing bad may change it.
    assert t.decode(_frame(seq=1, p=4000), sl.FRAME_BYTES) == -1
    snap = (t.p_pct_x100[2], t.seq[2], t.rating_kw[2])
    b = _frame(seq=2)
    _refused(t, b, sl.FRAME_BYTES - 1, sl.R_LENGTH)
    _refused(t, bytearray(30), 30, sl.R_LENGTH)
    _refused(t, _reseal(bytearray([0xA5]) + _frame(seq=2)[1:]), sl.FRAME_BYTES, sl.R_SYNC)
    x = _frame(seq=2)
    x[1] = 2
    _refused(t, _reseal(x), sl.FRAME_BYTES, sl.R_SYNC)
    # Every single-bit flip of a good frame fails the CRC (or the sync).
    for i in range(sl.FRAME_BYTES):
        for bit in range(8):
            x = _frame(seq=2, p=4000)
            x[i] ^= 1 << bit
            r = t.decode(x, sl.FRAME_BYTES)
            assert r in (sl.R_CRC, sl.R_SYNC), (i, bit, r)
    for u in (0, 17, 255):
        x = _frame(seq=2)
        x[2] = u
        _refused(t, _reseal(x), sl.FRAME_BYTES, sl.R_UNIT)
    # Impossible figures, each resealed with a valid CRC (a sender bug, or
    # a hostile node on the bus).
    for off, v in ((8, 20001), (8, -20001 & 0xFFFF), (10, 30000), (12, 0), (12, 10001)):
        x = _frame(seq=2)
        x[off] = v & 0xFF
        x[off + 1] = v >> 8
        _refused(t, _reseal(x), sl.FRAME_BYTES, sl.R_IMPOSSIBLE)
    for off, v in ((4, 17), (6, 0), (7, 0), (7, 17)):
        x = _frame(seq=2)
        x[off] = v
        _refused(t, _reseal(x), sl.FRAME_BYTES, sl.R_IMPOSSIBLE)
    x = _frame(seq=2, rating=200)
    x[14] = 201                           # capacity above the rating
    _refused(t, _reseal(x), sl.FRAME_BYTES, sl.R_IMPOSSIBLE)
    x = _frame(seq=2, rating=200)
    x[16] = 250                           # step above the rating
    _refused(t, _reseal(x), sl.FRAME_BYTES, sl.R_IMPOSSIBLE)
    # Figures that disagree with each other: on the bus at 190 % with 100 kW
    # to spare (the figures a node would send to look overloaded), or 1 kW
    # off the capacity its kW leaves; off the bus with capacity, or a step.
    for p, av in ((19000, 100), (5000, 99), (5000, 101), (-500, 199), (12000, 1)):
        _refused(t, _frame(seq=2, p=p, avail=av), sl.FRAME_BYTES, sl.R_IMPOSSIBLE)
    for av, st in ((1, 0), (0, 1), (200, 60)):
        _refused(t, _frame(seq=2, flags=sl.F_AUTO, avail=av, step=st), sl.FRAME_BYTES,
                 sl.R_IMPOSSIBLE)
    # (and the frames a GX230 sends at those figures are taken: below)
    assert (t.p_pct_x100[2], t.seq[2], t.rating_kw[2]) == snap
    for i, p in enumerate((19000, 5000, -500, 12000, -20000, 20000)):
        assert t.decode(_frame(seq=10 + i, p=p), sl.FRAME_BYTES) == -1
    assert t.decode(_frame(seq=20, flags=sl.F_AUTO, step=0), sl.FRAME_BYTES) == -1


def test_a_second_controller_on_our_unit_id_is_refused_and_raised():
    t = sl.Peers(3, STALE_MS)
    assert not t.duplicate()
    _refused(t, _frame(unit=3), sl.FRAME_BYTES, sl.R_DUPLICATE)
    assert t.duplicate() and not t.fresh(3)
    t.tick(STALE_MS)
    assert not t.duplicate()


def test_a_repeated_frame_is_dropped_and_does_not_refresh_the_age():
    t = sl.Peers(1, STALE_MS)
    b = _frame(seq=4)
    assert t.decode(b, sl.FRAME_BYTES) == -1
    t.tick(200)
    _refused(t, b, sl.FRAME_BYTES, sl.R_REPEAT)
    assert t.age_ms[2] == 200
    assert t.decode(_frame(seq=5), sl.FRAME_BYTES) == -1 and t.age_ms[2] == 0
    # After a long silence the same seq is a new frame (a restarted unit).
    t.tick(STALE_MS)
    assert t.decode(_frame(seq=5), sl.FRAME_BYTES) == -1


def test_a_silent_unit_goes_stale_and_leaves_the_fleet_figures():
    t = sl.Peers(1, STALE_MS)
    for u in (2, 3, 4):
        assert t.decode(_frame(unit=u), sl.FRAME_BYTES) == -1
    assert t.n_fresh() == 3
    t.tick(STALE_MS - 10)
    assert t.decode(_frame(unit=3, seq=2), sl.FRAME_BYTES) == -1
    t.tick(10)
    assert t.n_fresh() == 1 and t.fresh(3) and not t.fresh(2)
    for _ in range(5000):
        t.tick(10 ** 6)                   # ages saturate, never wrap
    assert t.age_ms[2] > 0 and not t.fresh(2) and not t.fresh(3)


def test_encode_decode_and_tick_allocate_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    t = sl.Peers(1, STALE_MS)
    b = bytearray(sl.FRAME_BYTES)
    bad = bytearray(sl.FRAME_BYTES)
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(50):
            sl.encode(b, 2 + (i & 7), i, 10, 1, 3, 1, 4000 + i, -i, 200, sl.avail_kw(True, 4000 + i, 200),
                      60, i, 0)
            t.decode(b, sl.FRAME_BYTES)
            t.decode(bad, sl.FRAME_BYTES)
            t.tick(10)
            t.fresh(2)
            t.n_fresh()
            t.duplicate()
    finally:
        micropython.heap_unlock()
    assert t.good == 50
