"""One reference for the stack's grid-parallel set points (fleet.py, the
plant frame of sharelink.py): pc_mode, base_kw_x10, import_cap_kw_x10,
export_limit_kw_x10 and import_min_kw_x10 written on any unit are taken by
every other, a newer revision over an older, the lowest id's at an equal
one; a unit's own settings refuse set points out of their ranges, all or
nothing, counted.  No master: whichever unit is lost, the others keep the
reference.  Plain Python: CPython and both MicroPythons."""

import sharelink as sl
from config import Config, SETTINGS
from fleet import Fleet, PLANT_SETTINGS
from helpers import is_micropython
from test_fleet import _unit, _run, _idx


def _fleet(u=2, **settings):
    c = Config()
    pairs = [("fleet_unit_id", u), ("fleet_mask", 30), ("fleet_master_id", 1)]
    assert c.set_many(pairs + list(settings.items())) is None
    return Fleet(c)


def _plant(b, u, seq, rev, mode=1, base=1000, cap=3000, export=0, imin=200, flags=sl.PF_SET):
    sl.encode_plant(b, u, seq, flags, rev, mode, base, cap, export, imin)
    return b


def _reseal(b):
    from crc16 import crc16
    c = crc16(b, 0, 22)
    b[22] = c & 0xFF
    b[23] = c >> 8
    return b


def _points(cfg):
    return tuple(getattr(cfg, n) for n in PLANT_SETTINGS)


def test_a_plant_frame_round_trips_and_bad_ones_are_refused_and_counted():
    t = sl.Peers(1, 300)
    b = bytearray(sl.FRAME_BYTES)
    assert t.decode(_plant(b, 3, 1, 513, 2, 1500, 45000, 800, 100), sl.FRAME_BYTES) == -1
    assert (t.plant_u, t.plant_rev, t.plant_mode, t.plant_base, t.plant_cap, t.plant_export,
            t.plant_imin, t.plant_flags) == (3, 513, 2, 1500, 45000, 800, 100, sl.PF_SET)
    assert not t.fresh(3)                 # a plant frame is no share figure
    t.plant_u = 0
    for why, mangle in ((sl.R_IMPOSSIBLE, (4, 3)), (sl.R_IMPOSSIBLE, (5, 2)),
                        (sl.R_IMPOSSIBLE, (17, 1)), (sl.R_UNIT, (2, 0)), (sl.R_UNIT, (2, 17)),
                        (sl.R_DUPLICATE, (2, 1))):
        x = _plant(bytearray(sl.FRAME_BYTES), 3, 2, 514)
        x[mangle[0]] = mangle[1]
        before = t.refused[why]
        assert t.decode(_reseal(x), sl.FRAME_BYTES) == why
        assert t.refused[why] == before + 1 and t.plant_u == 0
    x = _plant(bytearray(sl.FRAME_BYTES), 3, 2, 514)
    x[10] ^= 1                             # CRC
    assert t.decode(x, sl.FRAME_BYTES) == sl.R_CRC and t.plant_u == 0
    assert t.decode(_plant(b, 3, 1, 600), 23) == sl.R_LENGTH
    # the same seq again from a unit heard: a repeat (share frames keep it fresh)
    sl.encode(b, 3, 1, 10, 0, 1, 1, 0, 0, 200, 0, 0, 0, 0)
    assert t.decode(b, sl.FRAME_BYTES) == -1
    assert t.decode(_plant(b, 3, 1, 600), sl.FRAME_BYTES) == sl.R_REPEAT and t.plant_u == 0


def test_a_set_point_written_on_one_unit_is_taken_by_every_other():
    units = [_unit(u, 3) for u in (1, 2, 3)]
    _run(units, 30)
    h3, c3 = units[2]
    assert c3.set_setting(_idx("import_cap_kw_x10"), 4500)
    assert c3.set_setting(_idx("pc_mode"), 0)
    _run(units, 10)                        # sent within a period, not a second later
    for h, c in units:
        assert c.cfg.import_cap_kw_x10 == 4500 and c.cfg.pc_mode == 0, c.cfg.fleet_unit_id
        assert c.fleet.plant_rev == c3.fleet.plant_rev == 2 and c.fleet.plant_set
    assert units[0][1].fleet.plant_adopted >= 1 and c3.fleet.plant_adopted == 0
    # unit 3 lost: a write on unit 1 still reaches unit 2
    assert units[0][1].set_setting(_idx("base_kw_x10"), 1500)
    _run(units[:2], 10)
    assert units[1][1].cfg.base_kw_x10 == 1500 and c3.cfg.base_kw_x10 == 1000
    # unit 3 back: it takes the newer revision
    _run(units, 120)
    assert c3.cfg.base_kw_x10 == 1500 and c3.fleet.plant_rev == 3


def test_units_booted_with_other_set_points_take_the_lowest_ids():
    units = [_unit(1, 3, import_cap_kw_x10=3000), _unit(2, 3, import_cap_kw_x10=4000),
             _unit(3, 3, import_cap_kw_x10=5000, pc_mode=2)]
    _run(units, 250)
    for h, c in units:
        assert c.cfg.import_cap_kw_x10 == 3000 and c.cfg.pc_mode == 1
        assert not c.fleet.plant_set and c.fleet.plant_rev == 0
    assert units[0][1].fleet.plant_adopted == 0


def test_an_older_revision_is_not_taken_and_an_equal_one_only_from_a_lower_id():
    f = _fleet(u=3)
    b = bytearray(sl.FRAME_BYTES)
    assert f.rx(_plant(b, 4, 1, 10, cap=4000), sl.FRAME_BYTES) == -1   # set, rev 10: taken
    assert f.cfg.import_cap_kw_x10 == 4000 and f.plant_rev == 10 and f.plant_set
    f.rx(_plant(b, 4, 2, 9, cap=2000), sl.FRAME_BYTES)                # older
    f.rx(_plant(b, 4, 3, 10, cap=2000), sl.FRAME_BYTES)               # equal, a higher id
    f.rx(_plant(b, 2, 1, 10, cap=2500, flags=0), sl.FRAME_BYTES)      # not the stack's yet
    assert f.cfg.import_cap_kw_x10 == 4000
    f.rx(_plant(b, 2, 2, 10, cap=2500), sl.FRAME_BYTES)               # equal, a lower id
    assert f.cfg.import_cap_kw_x10 == 2500
    f.rx(_plant(b, 4, 4, 11, cap=3500), sl.FRAME_BYTES)               # newer
    assert f.cfg.import_cap_kw_x10 == 3500 and f.plant_rev == 11
    # serial numbers (RFC 1982): up to 32767 ahead is newer, and 0 after 65535
    for seq, rev in ((5, 30000), (6, 60000), (7, 65535), (8, 0)):
        f.rx(_plant(b, 4, seq, rev, cap=3000 + seq), sl.FRAME_BYTES)
        assert f.cfg.import_cap_kw_x10 == 3000 + seq and f.plant_rev == rev
    f.rx(_plant(b, 4, 9, 40000, cap=3800), sl.FRAME_BYTES)           # 40000 ahead: behind
    assert f.cfg.import_cap_kw_x10 == 3008 and f.plant_rev == 0


def test_set_points_its_settings_refuse_are_counted_and_none_taken():
    f = _fleet(u=2, import_cap_kw_x10=3000, pc_mode=1, base_kw_x10=1000)
    b = bytearray(sl.FRAME_BYTES)
    before = _points(f.cfg)
    hi = SETTINGS[_idx("import_cap_kw_x10")][3]
    # base load changes first and is valid; the cap is past its range: neither
    f.rx(_plant(b, 3, 1, 5, base=1500, cap=hi + 1), sl.FRAME_BYTES)
    assert _points(f.cfg) == before and f.plant_refused == 1 and f.plant_rev == 0
    hi = SETTINGS[_idx("export_limit_kw_x10")][3]
    f.rx(_plant(b, 3, 2, 6, export=hi + 1), sl.FRAME_BYTES)
    assert _points(f.cfg) == before and f.plant_refused == 2
    assert not f.plant_changed and f.plant_adopted == 0


def test_a_write_with_the_engine_stopped_rebuilds_and_the_revision_goes_on():
    units = [_unit(u, 2) for u in (1, 2)]
    _run(units, 30)
    h, c = units[1]
    c.seq.state = 0                        # stopped: a write rebuilds the control
    assert c.set_setting(_idx("import_cap_kw_x10"), 4100)
    assert c.set_setting(_idx("import_cap_kw_x10"), 4200)
    assert c.fleet.plant_rev == 2 and c.fleet.plant_set
    _run(units, 10)
    assert units[0][1].cfg.import_cap_kw_x10 == 4200


def test_the_plant_paths_allocate_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    f = _fleet(u=3)
    b = bytearray(sl.FRAME_BYTES)
    hi = SETTINGS[_idx("import_cap_kw_x10")][3]
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(40):
            f.rx(_plant(b, 2 + (i & 1) * 2, 1 + i, 1 + i // 2, mode=i % 3, cap=2000 + i,
                        base=500 + i), sl.FRAME_BYTES)
            f.rx(_plant(b, 4, 100 + i, 60 + i, cap=hi + 1), sl.FRAME_BYTES)
            f._ticked = True
            f.plant_written()
    finally:
        micropython.heap_unlock()
    assert f.plant_adopted > 0 and f.plant_refused > 0
