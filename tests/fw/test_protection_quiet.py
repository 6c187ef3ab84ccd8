"""The protection pass's quiet path (protection.Protection.update runs only
the rows of a source whose value has left its band, or that has a row
active) gives exactly what running every row every tick gives: the same
active, timer, tripped and trip value per row, the same count and the same
trip-mains flag, tick by tick, through values that cross every pickup and
hysteresis, arming that comes and goes, and setting writes (enable, pickup,
delay, class, curve) between ticks - under every interpreter."""

import protection as pr
from helpers import Lcg as _Lcg
from config import Config

_N_SRC = pr.N_SRC


def _full(p, mask, tick_ms):
    """Every row, every tick: the reference the quiet path must equal."""
    p.mains_tripped = False
    new = 0
    for s in range(_N_SRC):
        new += p._rows(mask, tick_ms, s)
    return new


def _near(r, p, s):
    """A value for source s near one of its rows' pickups (either side of
    it and of its hysteresis), or anywhere in its range."""
    rows = [i for i in range(pr.N_PROT) if pr.PROTECTIONS[i][pr.P_SRC] == s]
    if s == pr.SRC_DI or s == pr.SRC_FLAGS:
        v = 0
        for i in rows:
            if r.next(4) == 0:
                v |= p.pickup[i]
        return v | (r.next(2) << 20)
    k = r.next(5)
    if k == 0 or not rows:
        return r.next(40001) - 20000
    if s == pr.SRC_I_A_X10 and k < 4:
        # The inverse-time element's own pickup (in A), either side of it.
        return p.inv.pickup_a_x10 + r.next(81) - 40
    pk = p.pickup[rows[r.next(len(rows))]]
    return pk + r.next(401) - 200


def _same(a, b):
    for i in range(pr.N_PROT):
        if a.active[i] != b.active[i] or a.timer_ms[i] != b.timer_ms[i] or \
                a.tripped[i] != b.tripped[i] or a.value_at[i] != b.value_at[i]:
            return i
    ia = a.inv
    ib = b.inv
    if ia.acc_ppm != ib.acc_ppm or ia.tripped != ib.tripped or ia._rem != ib._rem or \
            ia._dec_rem != ib._dec_rem or ia.picked_up != ib.picked_up:
        return pr.i51
    return -1


def _write(r, ps):
    """One random setting write, applied to both (accepted or refused
    alike)."""
    i = r.next(pr.N_PROT)
    f = r.next(pr.N_FIELDS)
    lo = ps[0].pk_lo[i]
    hi = ps[0].pk_hi[i]
    if f == pr.F_ENABLE:
        v = r.next(2)
    elif f == pr.F_PICKUP:
        v = lo + r.next(hi - lo + 1) if hi > lo else lo
    elif f == pr.F_DELAY_MS:
        v = r.next(6) * 50
    elif f == pr.F_CLASS:
        v = 1 + r.next(6)
    else:
        v = r.next(4)
    ok = [p.set_field(i, f, v) for p in ps]
    assert ok[0] == ok[1]


def _run(seed, ticks):
    cfg = Config()
    quiet = pr.Protection(cfg)
    full = pr.Protection(cfg)
    r = _Lcg(seed)
    vals = [0] * _N_SRC
    for s in range(_N_SRC):
        vals[s] = _near(r, quiet, s)
    mask = 0x1FFF
    for k in range(ticks):
        # A few sources move each tick; the arming changes now and then.
        for n in range(r.next(4)):
            s = r.next(_N_SRC)
            vals[s] = _near(r, quiet, s)
        if r.next(50) == 0:
            mask = r.next(0x2000) | 1
        if r.next(80) == 0:
            _write(r, (quiet, full))
        for s in range(_N_SRC):
            quiet.vals[s] = vals[s]
            full.vals[s] = vals[s]
        nq = quiet.update(mask, 10)
        nf = _full(full, mask, 10)
        bad = _same(quiet, full)
        assert nq == nf and bad < 0 and quiet.mains_tripped == full.mains_tripped, \
            (seed, k, bad, nq, nf)
    return True


def test_the_quiet_path_equals_every_row_every_tick_through_crossings_arming_and_writes():
    for seed in (1, 2, 3, 4):
        assert _run(seed, 1500)


def test_a_row_disabled_while_active_resets_as_it_did_when_every_row_ran():
    cfg = Config()
    quiet = pr.Protection(cfg)
    full = pr.Protection(cfg)
    i = pr.index_of("battery_under_voltage")   # the only row below 22 V
    for p in (quiet, full):
        p.vals[pr.SRC_BATT_MV] = 20000
    for k in range(5):
        quiet.update(0x1FFF, 10)
        _full(full, 0x1FFF, 10)
    assert quiet.active[i] and quiet.timer_ms[i] == 50
    for p in (quiet, full):
        assert p.set_field(i, pr.F_ENABLE, 0)
    quiet.update(0x1FFF, 10)
    _full(full, 0x1FFF, 10)
    assert _same(quiet, full) < 0 and not quiet.active[i] and quiet.timer_ms[i] == 0


def test_a_refused_pickup_write_leaves_the_quiet_path_watching_the_old_pickup():
    # Over-voltage stage 1 raised above stage 2 breaks the pickup order and
    # is refused: a voltage just above the old stage-1 pickup must still
    # start its timer (the band must not have moved to the refused value).
    cfg = Config()
    p = pr.Protection(cfg)
    i = pr.index_of("over_voltage_1")
    j = pr.index_of("over_voltage_2")
    old = p.pickup[i]
    assert not p.set_field(i, pr.F_PICKUP, p.pickup[j] + 100)
    assert p.pickup[i] == old
    p.vals[pr.SRC_V_PCT] = old + 10
    mask = 1 << pr.A_GRID_M
    for k in range(3):
        p.update(mask | 1, 10)
    assert p.active[i] and p.timer_ms[i] == 30
