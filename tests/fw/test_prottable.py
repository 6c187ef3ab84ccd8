"""Protection rows in flash (prottable over configstore): hand-set pickups,
delays, classes, enables and the inverse-time curve survive a power cycle;
a cut at every byte of a save leaves the old rows or the new; a stored row
no write could make (an e-stop's class lowered, an always-enabled protection
disabled, pickups out of order, a value off its limits) is refused as a
whole and the rows stay as built; a settings slot is never read as rows."""

import configstore as cs
import protection as pr
from config import Config
from configstore import ConfigStore
from prottable import ProtectionTable
from ramblock import RamNor, PowerCut

T = ProtectionTable()


def _prot():
    return pr.Protection(Config())


def _vals(p):
    return [T.get(p, i) for i in range(T.n)]


def _dev():
    """64-byte pages, 256-byte blocks, four blocks a slot (an 832-byte
    record of 189 values + the commit page)."""
    return RamNor(256, 8, 64)


def _reboot(dev):
    dev.power_on()
    st = ConfigStore(dev, page=dev.page, table=T)
    p = _prot()
    st.load(p)
    return st, p


def _set(p, name, field, value):
    assert p.set_field(pr.index_of(name), field, value), (name, field, value)


def _hand_set(k):
    """Rows an engineer might set on site, two different ways (k = 1, 2)."""
    p = _prot()
    _set(p, "over_voltage_1", pr.F_PICKUP, 10800 + 100 * k)
    _set(p, "over_voltage_1", pr.F_DELAY_MS, 1000 * k)
    _set(p, "current_unbalance", pr.F_ENABLE, 0 if k == 1 else 1)
    _set(p, "loss_of_excitation", pr.F_CLASS, pr.CL_WARNING + k)
    _set(p, "battery_under_voltage", pr.F_PICKUP, 21000 + 500 * k)
    _set(p, "overcurrent_time", pr.F_CURVE, k)
    return p


def test_the_table_names_every_protection_field_and_the_curve():
    assert T.n == 4 * pr.N_PROT + 1
    assert T.name(0) == "overspeed.enable" and T.name(3) == "overspeed.class"
    assert T.name(T.n - 1) == "overcurrent_time.curve"
    assert len(set(T.name(i) for i in range(T.n))) == T.n
    assert _vals(_prot()) == list(T.defaults)


def test_hand_set_protection_rows_survive_a_power_cycle():
    dev = _dev()
    st = ConfigStore(dev, page=dev.page, table=T)
    p0 = _prot()
    assert st.load(p0) == cs.R_NO_CONFIG
    assert _vals(p0) == list(T.defaults)
    p = _hand_set(1)
    st.save(p)
    st2, p2 = _reboot(dev)
    assert st2.reason == cs.R_OK and _vals(p2) == _vals(p)
    # The derived state follows: the inverse-time element was rebuilt on
    # the stored curve, and the quiet bands on the stored pickups.
    assert p2.inv.curve_code == p.inv.curve_code == 1
    assert not st2.differs(p2)
    _set(p2, "over_voltage_1", pr.F_PICKUP, 11200)
    assert st2.differs(p2)


def test_a_cut_at_every_byte_of_a_protection_save_leaves_the_old_rows_or_the_new():
    dev = _dev()
    st = ConfigStore(dev, page=dev.page, table=T)
    st.load(_prot())
    p1 = _hand_set(1)
    st.save(p1)
    base = dev.snapshot()
    v1 = _vals(p1)
    p2 = _hand_set(2)
    v2 = _vals(p2)
    st, _ = _reboot(dev)
    st.save(p2)
    total = dev.steps
    k_commit = total - (dev.page - 4)
    for k in range(0, total + 1):
        dev.restore(base)
        st = ConfigStore(dev, page=dev.page, table=T)
        st.load(_prot())
        dev.cut_after(k)
        try:
            st.save(p2)
            assert k >= total, k
        except PowerCut:
            assert k < total, k
        st, p = _reboot(dev)
        assert _vals(p) == (v1 if k < k_commit else v2), (k, st.reason, st.detail)
        assert dev.set_bits == 0


def _store_raw(dev, mutate):
    """A slot holding rows no write could make: the arrays written behind
    Protection's back, then saved as they are."""
    p = _prot()
    mutate(p)
    st = ConfigStore(dev, page=dev.page, table=T)
    st.load(_prot())
    st.save(p)


def _poke(name, i, v):
    def mutate(p):
        getattr(p, name)[i] = v
    return mutate


def _curve(v):
    def mutate(p):
        p.curve = v
    return mutate


def test_stored_rows_no_write_could_make_are_refused_as_a_whole():
    es = pr.index_of("emergency_stop")
    ov = pr.index_of("over_voltage_1")
    attacks = (
        ("emergency_stop.class", _poke("cls", es, pr.CL_WARNING)),
        ("emergency_stop.enable", _poke("enable", es, 0)),
        ("emergency_stop.delay_ms", _poke("delay_ms", es, 5000)),
        ("overspeed.pickup", _poke("pickup", 0, 20000)),
        ("overspeed.class", _poke("cls", 0, pr.CL_TRIP)),
        ("pickups out of order", _poke("pickup", ov, 12500)),
        ("overcurrent_time.curve", _curve(99)),
    )
    for what, mutate in attacks:
        dev = _dev()
        # a valid hand-set slot first, then the hostile one (newer)
        st = ConfigStore(dev, page=dev.page, table=T)
        st.load(_prot())
        good = _hand_set(1)
        st.save(good)
        _store_raw(dev, mutate)
        st, p = _reboot(dev)
        # The hostile slot is refused, naming what; the older good one loads.
        assert st.slot_state(st.slot) == cs.S_APPLIED and _vals(p) == _vals(good), what
        other = 1 - st.slot
        assert st.slot_state(other) == cs.S_REFUSED, what
        assert what in st.slot_why(other), (what, st.slot_why(other))
        assert p.cls[es] == pr.CL_ESTOP and p.enable[es] == 1 and p.delay_ms[es] == 0
        # Alone, it leaves the rows as the controller built them.
        dev = _dev()
        _store_raw(dev, mutate)
        st, p = _reboot(dev)
        assert st.reason == cs.R_REFUSED and what in st.detail, (what, st.detail)
        assert _vals(p) == list(T.defaults), what


def test_a_failed_load_keeps_the_rows_the_controller_built():
    """Nothing usable stored: the IEEE 1547 profile applied before the load
    stays (fallback does not reset to the table's defaults)."""
    import profiles
    dev = _dev()
    p = _prot()
    assert profiles.apply_ieee1547(p, 3)
    before = _vals(p)
    assert before != list(T.defaults)
    st = ConfigStore(dev, page=dev.page, table=T)
    assert st.load(p) == cs.R_NO_CONFIG
    assert _vals(p) == before


def test_a_settings_slot_is_never_read_as_protection_rows_nor_the_reverse():
    dev = _dev()
    sst = ConfigStore(dev, page=dev.page)
    sst.load(Config())
    c = Config()
    assert c.set_many((("droop_pct_x100", 400),)) is None
    sst.save(c)
    st, p = _reboot(dev)
    assert st.reason == cs.R_CORRUPT and _vals(p) == list(T.defaults)
    dev = _dev()
    st = ConfigStore(dev, page=dev.page, table=T)
    st.load(_prot())
    st.save(_hand_set(2))
    dev.power_on()
    sst = ConfigStore(dev, page=dev.page)
    c = Config()
    assert sst.load(c) == cs.R_CORRUPT
    assert c.droop_pct_x100 == 0


def test_rows_stored_by_a_firmware_with_fewer_protections_migrate_with_defaults():
    """A slot of the first n values whose table id matches this firmware's
    first n names (protections appended since) loads, the rest at their
    defaults."""
    dev = _dev()
    st = ConfigStore(dev, page=dev.page, table=T)
    st.load(_prot())
    p = _hand_set(1)
    st.save(p)
    # Rewrite slot 0 as the older firmware would have: n = 4 * 40 values.
    n = 4 * 40
    ss = dev.bs * 4
    b = bytearray(dev.mem[0:ss])
    from crc16 import crc16
    tid = cs.table_id(n, T)
    b[8] = n & 0xFF
    b[9] = n >> 8
    b[10] = tid & 0xFF
    b[11] = tid >> 8
    end = 16 + 4 * n
    c = crc16(b, 0, end)
    b[end] = c & 0xFF
    b[end + 1] = c >> 8
    for i in range(end + 2, ss - dev.page):
        b[i] = 0xFF
    dev.mem[0:ss] = b
    st, p2 = _reboot(dev)
    assert st.reason == cs.R_OK and st.migrated == T.n - n, (st.reason, st.detail)
    want = _vals(p)[:n] + list(T.defaults)[n:]
    assert _vals(p2) == want


def test_polling_the_protection_store_without_a_change_does_not_allocate():
    from helpers import is_micropython
    if not is_micropython():
        return   # heap_lock exists only on MicroPython
    import gc
    import micropython
    dev = _dev()
    st = ConfigStore(dev, page=dev.page, table=T)
    p = _hand_set(1)
    st.load(_prot())
    st.save(p)
    t = 0
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(20):
            t += 1000
            st.poll(p, t)
            st.differs(p)
    finally:
        micropython.heap_unlock()
