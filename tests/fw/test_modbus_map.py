"""The register map over the real controller: what a SCADA reads, and every
interlock a hostile or stray write meets (both interpreters)."""

from array import array
import hal
import modbus
import registers as rg
import protection as pr
import sequencer as sq
import config as cf
from crc16 import crc16
from controller import Controller
from helpers import ScriptHal, running_inputs, loaded_controller, is_micropython

# kp_pu_x100's default, from the one settings table
KP_DEFAULT = [row[1] for row in cf.SETTINGS if row[0] == "kp_pu_x100"][0]


class PortHal(ScriptHal):
    """ScriptHal with the Modbus port: the test reads the replies."""

    def __init__(self):
        ScriptHal.__init__(self)
        self.reply = bytearray(300)
        self.n = 0

    def uart_send(self, buf, n):
        for i in range(n):
            self.reply[self.n + i] = buf[i]
        self.n += n


def _frame(*body):
    b = bytearray(len(body) + 2)
    for i in range(len(body)):
        b[i] = body[i]
    c = crc16(b, 0, len(body))
    b[len(body)] = c & 0xFF
    b[len(body) + 1] = c >> 8
    return b


def _ask(c, frame, t_us=1000):
    h = c.hal
    h.n = 0
    c.serve_uart(frame, len(frame), t_us)
    return bytes(h.reply[:h.n])


def _stopped():
    h = PortHal()
    c = Controller(h)
    running_inputs(h, c.cfg, 0, 0)
    h.next_in[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN
    c.tick()
    return h, c


def _loaded():
    h0, c0 = loaded_controller()
    h = PortHal()
    h.next_in = h0.next_in
    c = Controller(h)
    c.begin(5000, c.cfg.rated_rpm_x10)
    c.tick()
    return h, c


def _hi(x):
    return (x >> 8) & 0xFF


def _lo(x):
    return x & 0xFF


def _read(c, fc, addr, qty):
    r = _ask(c, _frame(1, fc, _hi(addr), _lo(addr), _hi(qty), _lo(qty)))
    assert r[1] == fc, r
    return [(r[3 + 2 * i] << 8) | r[4 + 2 * i] for i in range(qty)]


def _point(name):
    for p in rg.POINTS:
        if p[2] == name:
            return p
    raise KeyError(name)


def _setting_addr(name):
    for i in range(len(cf.SETTINGS)):
        if cf.SETTINGS[i][0] == name:
            return rg.SET_BASE + 2 * i
    raise KeyError(name)


def _prot_addr(name, field):
    return rg.PROT_BASE + rg.PROT_STRIDE * pr.index_of(name) + 2 * pr.FIELD_NAMES.index(field)


def _write32(c, addr, v, unit=1):
    v &= 0xFFFFFFFF
    return _ask(c, _frame(unit, 16, _hi(addr), _lo(addr), 0, 2, 4,
                          (v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))


def _unlock(c, code=None):
    code = c.cfg.mb_access_code if code is None else code
    return _ask(c, _frame(1, 6, 0x03, 0xEA, _hi(code), _lo(code)))


def _command(c, code, comp=None, unit=1):
    comp = code ^ 0xFFFF if comp is None else comp
    return _ask(c, _frame(unit, 16, 0x03, 0xE8, 0, 2, 4, _hi(code), _lo(code),
                          _hi(comp), _lo(comp)))


def _exc(r):
    return r[2] if len(r) == 5 and r[1] & 0x80 else 0


def test_a_scada_reads_the_running_set_in_engineering_units():
    h, c = _loaded()
    v = _read(c, 4, 0, 34)
    assert abs(v[0] - c.cfg.rated_rpm_x10) < 20          # speed_rpm x10
    assert abs(v[1] - 6000) < 10                         # gen_f_hz x100
    assert v[2] == c.cfg.v_rated_dv
    assert (v[6] << 16 | v[7]) == c.meas.p_kw_x10       # p_kw, s32 high word first
    st = _read(c, 4, 50, 2)
    assert st[0] == sq.ST_LOADED and st[1] == sq.MODE_AUTO
    # The same values through FC03 (masters limited to holding registers).
    assert _read(c, 3, 0, 34)[:3] == v[:3]


def test_every_input_register_and_discrete_input_is_readable_in_full_blocks():
    h, c = _loaded()
    for a in range(0, rg.IR_END, 125):
        q = 125 if a + 125 <= rg.IR_END else rg.IR_END - a
        assert len(_read(c, 4, a, q)) == q
    n = rg.DI_ACTIVE + pr.N_PROT
    r = _ask(c, _frame(1, 2, 0, 0, _hi(n), _lo(n)))
    assert r[1] == 2 and r[2] == (n + 7) // 8
    # ... and one past the end is outside the map.
    r = _ask(c, _frame(1, 2, 0, 0, _hi(n + 1), _lo(n + 1)))
    assert _exc(r) == 2
    assert _exc(_ask(c, _frame(1, 4, _hi(rg.IR_END - 1), _lo(rg.IR_END - 1), 0, 2))) == 2


def test_values_that_cannot_be_measured_read_as_sentinels_never_plausible_numbers():
    h, c = _stopped()
    v = _read(c, 4, 0, 20)
    assert v[1] == 0xFFFF            # gen_f_hz u16: no voltage, no frequency
    assert v[12] == 0xFFFF           # bus_f_hz
    assert v[18] == 0x7FFF and v[19] == 0x7FFF   # phase, slip (s16)
    assert v[10] == 0x7FFF           # pf: no current
    h2, c2 = _loaded()
    h2.next_in[hal.IN_DI] &= ~hal.DI_METER_OK
    c2.tick()
    v = _read(c2, 4, 0, 12)
    assert v[6] == 0x7FFF and v[7] == 0xFFFE     # p_kw s32: sensor fault
    assert v[3] == 0xFFFE                        # current u16: sensor fault
    assert v[10] == 0x7FFE                       # pf s16: sensor fault


def test_a_configuration_write_without_the_unlock_is_refused_04_and_logged():
    h, c = _stopped()
    a = _setting_addr("kp_pu_x100")
    old = c.cfg.kp_pu_x100
    n0 = c.log.count()
    assert _exc(_write32(c, a, 500)) == 4
    assert c.cfg.kp_pu_x100 == old
    assert c.regs.refused == 1
    ev = array("i", [0] * 5)
    assert c.log.read(c.log.count() - 2, ev) and ev[3] == rg.EV_MB_REFUSED and ev[4] == a
    assert c.log.read(c.log.count() - 1, ev) and ev[3] == rg.EV_MB_VALUE and ev[4] == 500
    assert c.log.count() == n0 + 2


def test_the_access_code_opens_configuration_writes_and_a_wrong_one_is_04():
    h, c = _stopped()
    assert _exc(_unlock(c, 1234)) == 4
    assert not c.regs.unlocked
    assert _exc(_unlock(c)) == 0
    a = _setting_addr("kp_pu_x100")
    assert _exc(_write32(c, a, 500)) == 0
    assert c.cfg.kp_pu_x100 == 500
    # The code itself is never read back.
    v = _read(c, 3, _setting_addr("mb_access_code"), 2)
    assert v == [0x7FFF, 0xFFFF]
    # config_lock closes it again.
    _ask(c, _frame(1, 5, 0, 2, 0xFF, 0))
    assert _exc(_write32(c, a, 400)) == 4 and c.cfg.kp_pu_x100 == 500


def test_five_wrong_codes_block_even_the_right_one_for_a_minute():
    h, c = _stopped()
    for _ in range(5):
        assert _exc(_unlock(c, 1)) == 4
    assert _exc(_unlock(c)) == 4 and not c.regs.unlocked


def test_the_unlock_times_out_after_mb_unlock_s():
    h, c = _stopped()
    _unlock(c)
    t = c.meas.t_ms + c.cfg.mb_unlock_s * 1000 + 10
    h.next_in[hal.IN_T_MS] = t
    c.tick()
    assert _exc(_write32(c, _setting_addr("kp_pu_x100"), 500)) == 4


def test_out_of_range_and_inconsistent_settings_are_refused_03_and_nothing_changes():
    h, c = _stopped()
    _unlock(c)
    a = _setting_addr("kp_pu_x100")
    assert _exc(_write32(c, a, 10001)) == 3 and c.cfg.kp_pu_x100 == KP_DEFAULT
    assert _exc(_write32(c, a, -1)) == 3
    # poles = 12 leaves idle above rated: inconsistent with the rest.
    assert _exc(_write32(c, _setting_addr("poles"), 12)) == 3 and c.cfg.poles == 4
    # A value beyond the 31-bit range in the high word: refused, no bigint.
    r = _ask(c, _frame(1, 16, _hi(a), _lo(a), 0, 2, 4, 0x7F, 0xFF, 0, 1))
    assert _exc(r) == 3


def test_several_settings_in_one_write_are_taken_as_a_set_or_not_at_all():
    h, c = _stopped()
    _unlock(c)
    a = _setting_addr("kp_pu_x100")
    # kp, ki, kd are adjacent: one FC16 of 6 registers.
    r = _ask(c, _frame(1, 16, _hi(a), _lo(a), 0, 6, 12, 0, 0, 1, 0x2C, 0, 0, 0, 100,
                       0, 0, 0, 50))
    assert _exc(r) == 0
    assert (c.cfg.kp_pu_x100, c.cfg.ki_pu_x100, c.cfg.kd_pu_ms) == (300, 100, 50)
    # The last one out of range: none of them change.
    r = _ask(c, _frame(1, 16, _hi(a), _lo(a), 0, 6, 12, 0, 0, 1, 0x90, 0, 0, 0, 120,
                       0, 0, 0x7F, 0xFF))
    assert _exc(r) == 3
    assert (c.cfg.kp_pu_x100, c.cfg.ki_pu_x100, c.cfg.kd_pu_ms) == (300, 100, 50)


def test_half_a_32_bit_point_or_a_read_only_register_cannot_be_written():
    h, c = _stopped()
    _unlock(c)
    a = _setting_addr("kp_pu_x100")
    assert _exc(_ask(c, _frame(1, 6, _hi(a), _lo(a), 0, 5))) == 2
    assert _exc(_ask(c, _frame(1, 6, _hi(a + 1), _lo(a + 1), 0, 5))) == 2
    assert _exc(_ask(c, _frame(1, 6, 0, 0, 0, 5))) == 2          # speed_rpm
    assert _exc(_ask(c, _frame(1, 6, 0x0B, 0xB7, 0, 5))) == 2    # unmapped


def test_running_only_set_points_change_and_they_need_no_unlock():
    h, c = _loaded()
    a = _setting_addr("base_kw_x10")
    assert _exc(_write32(c, a, 1500)) == 0 and c.cfg.base_kw_x10 == 1500
    assert c.seq.state == sq.ST_LOADED
    # A general setting, even unlocked, waits for the engine to stop.
    _unlock(c)
    assert _exc(_write32(c, _setting_addr("kp_pu_x100"), 500)) == 4
    assert c.cfg.kp_pu_x100 == KP_DEFAULT
    # A set point out of range: 03, kept.
    assert _exc(_write32(c, _setting_addr("pf_x1000"), 700)) == 3
    assert c.cfg.pf_x1000 == 1000


def test_no_write_lowers_the_estop_class_or_switches_off_overspeed():
    h, c = _stopped()
    _unlock(c)
    i = pr.index_of("emergency_stop")
    assert _exc(_write32(c, _prot_addr("emergency_stop", "class"), pr.CL_WARNING)) == 3
    assert c.prot.cls[i] == pr.CL_ESTOP
    j = pr.index_of("overspeed")
    assert _exc(_write32(c, _prot_addr("overspeed", "enable"), 0)) == 3
    assert c.prot.enable[j] == 1
    assert _exc(_write32(c, _prot_addr("overspeed", "class"), pr.CL_WARNING)) == 3
    # A legal change goes through: a later overspeed stage is still settable.
    lo, hi, dlo, dhi = pr.limits(j)
    assert _exc(_write32(c, _prot_addr("overspeed", "pickup"), lo)) == 0
    assert c.prot.pickup[j] == lo
    # Without the unlock even a legal protection write is refused.
    _ask(c, _frame(1, 5, 0, 2, 0xFF, 0))
    assert _exc(_write32(c, _prot_addr("overspeed", "pickup"), hi)) == 4


def test_a_command_needs_its_complement_in_the_next_register():
    h, c = _stopped()
    c.command(sq.CMD_MODE_MANUAL)
    assert _exc(_ask(c, _frame(1, 6, 0x03, 0xE8, 0, sq.CMD_START))) == 3   # one register
    assert _exc(_command(c, sq.CMD_START, 0x1234)) == 3                  # wrong complement
    assert _exc(_command(c, 99)) == 3                                     # no such command
    assert not c.seq.manual_run
    assert _exc(_command(c, sq.CMD_START)) == 0
    assert c.seq.manual_run


def test_a_broadcast_never_starts_changes_mode_or_closes_but_may_stop():
    h, c = _stopped()
    c.command(sq.CMD_MODE_MANUAL)
    for code in (sq.CMD_START, sq.CMD_MODE_AUTO, sq.CMD_MODE_OFF, sq.CMD_CLOSE):
        assert _command(c, code, unit=0) == b""            # never answered
    assert not c.seq.manual_run and c.seq.mode == sq.MODE_MANUAL and not c.seq.manual_close
    _command(c, sq.CMD_START)
    assert c.seq.manual_run
    assert _command(c, sq.CMD_STOP, unit=0) == b""
    assert not c.seq.manual_run


def test_configuration_is_never_written_by_broadcast_even_unlocked():
    h, c = _stopped()
    _unlock(c)
    assert _write32(c, _setting_addr("kp_pu_x100"), 500, unit=0) == b""
    assert _write32(c, _prot_addr("overspeed", "delay_ms"), 0, unit=0) == b""
    assert c.cfg.kp_pu_x100 == KP_DEFAULT
    assert c.prot.delay_ms[pr.index_of("overspeed")] == pr.PROTECTIONS[pr.index_of("overspeed")][pr.P_DELAY]
    # A set point may go to every unit at once.
    assert _write32(c, _setting_addr("base_kw_x10"), 1200, unit=0) == b""
    assert c.cfg.base_kw_x10 == 1200


def test_no_start_over_modbus_during_an_estop_or_with_a_shutdown_latched():
    h, c = _stopped()
    c.command(sq.CMD_MODE_MANUAL)
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP
    c.tick()
    assert _exc(_command(c, sq.CMD_START)) == 4 and not c.seq.manual_run
    h.next_in[hal.IN_DI] &= ~hal.DI_ESTOP
    c.tick()
    i = pr.index_of("low_oil_pressure")
    c.alarms.latched[i] = 1
    c.alarms.cls_at[i] = pr.CL_HARD
    c.alarms._summarise()
    assert _exc(_command(c, sq.CMD_START)) == 4 and not c.seq.manual_run


def test_a_close_command_over_modbus_never_closes_outside_the_sync_window():
    h, c = _stopped()
    cfg = c.cfg
    c.command(sq.CMD_MODE_MANUAL)
    c.seq.state = sq.ST_AVAILABLE
    c.seq.manual_run = True
    running_inputs(h, cfg, cfg.rated_rpm_x10, 0)
    v = h.next_in
    v[hal.IN_DI] = (v[hal.IN_DI] & ~hal.DI_GCB_CLOSED) | hal.DI_MB_CLOSED
    v[hal.IN_BUS_PERIOD_100NS] = v[hal.IN_GEN_PERIOD_100NS]
    v[hal.IN_BUS_V_DV] = cfg.v_rated_dv
    v[hal.IN_ZC_DT_100NS] = v[hal.IN_GEN_PERIOD_100NS] // 4     # 90 degrees apart
    c.tick()
    assert _exc(_command(c, sq.CMD_CLOSE)) == 0
    for k in range(300):
        v[hal.IN_T_MS] += cfg.tick_ms
        c.tick()
        assert c.out[hal.OUT_DO] & hal.DO_GCB_CLOSE == 0


def test_the_event_log_reads_through_its_window_newest_first():
    h, c = _stopped()
    c.log.log(5, 4242, -7)
    c.log.log(6, 4343, 123456789)
    _ask(c, _frame(1, 6, 0x03, 0xEB, 0, 0))
    v = _read(c, 4, 400, 12)
    assert v[0] == c.log.count()
    assert v[8] == 4343 and (v[9] << 16 | v[10]) == 123456789 and v[11] == 1
    _ask(c, _frame(1, 6, 0x03, 0xEB, 0, 1))
    v = _read(c, 4, 400, 12)
    assert v[8] == 4242 and ((v[9] << 16 | v[10]) - (1 << 32)) == -7
    _ask(c, _frame(1, 6, 0x03, 0xEB, 0x7F, 0))
    v = _read(c, 4, 400, 12)
    assert v[11] == 0 and v[8] == 0xFFFF


def test_a_refused_write_flood_cannot_push_alarms_out_of_the_log():
    h, c = _stopped()
    n0 = c.log.count()
    for k in range(200):
        _write32(c, _setting_addr("kp_pu_x100"), k)
    assert c.regs.refused == 200
    assert c.log.count() - n0 <= 2 * 10


def test_port_settings_apply_after_the_reply_that_changed_them():
    h, c = _stopped()
    _unlock(c)
    r = _write32(c, _setting_addr("mb_address"), 7)
    assert _exc(r) == 0 and r[0] == 1           # answered from the old address
    assert _ask(c, _frame(1, 4, 0, 0, 0, 1)) == b""
    assert _ask(c, _frame(7, 4, 0, 0, 0, 1))[0] == 7


def test_modbus_requests_on_the_real_map_do_not_allocate():
    try:
        import micropython
        import gc
    except ImportError:
        return
    h, c = _loaded()
    frames = [_frame(1, 4, 0, 0, 0, 125), _frame(1, 3, 0, 0, 0, 100),
              _frame(1, 4, 0, 200, 0, 46), _frame(1, 2, 0, 0, 0, 246),
              _frame(1, 4, 1, 0x90, 0, 12), _frame(1, 1, 0, 0, 0, 3),
              _frame(1, 16, 0x08, 0x38, 0, 2, 4, 0, 0, 5, 0xDC),      # base_kw set point
              _frame(1, 16, 0x07, 0xE2, 0, 2, 4, 0, 0, 1, 0xF4),      # locked: 04
              _frame(1, 16, 0x03, 0xE8, 0, 2, 4, 0, 4, 0xFF, 0xFB),   # ack command
              _frame(1, 6, 0x03, 0xEB, 0, 3),                         # event index
              _frame(1, 5, 0, 0, 0xFF, 0),                            # ack coil
              _frame(1, 8, 0, 0x0B, 0, 0), _frame(1, 43, 14, 1, 0), _frame(1, 17),
              _frame(9, 3, 0, 0, 0, 1), bytearray(b"\x01\x03\x00\x00\x00\x01\x00\x00"),
              _frame(1, 3, 0x07, 0xD0, 0, 125),                        # settings block
              _frame(1, 3, 0x0B, 0xB8, 0, 125),                        # protection settings
              _frame(1, 3, 0x03, 0xE8, 0, 4)]                          # control registers
    for f in frames:          # warm up: first-time paths may allocate
        _ask(c, f)
    refused0 = c.regs.refused
    nf = len(frames)
    lens = [len(f) for f in frames]
    gc.collect()
    micropython.heap_lock()
    try:
        for k in range(3000):
            h.n = 0
            c.serve_uart(frames[k % nf], lens[k % nf], k * 5000)
    finally:
        micropython.heap_unlock()
    assert c.regs.refused > refused0


def test_the_trip_profile_and_its_setting_change_together_in_a_multi_register_write():
    import profiles
    h, c = _stopped()
    _unlock(c)
    a = _setting_addr("ieee1547_category")
    b = _setting_addr("sync_df_max_mhz")
    assert b == a + 2
    name, cats = profiles.IEEE1547[0]
    i = pr.index_of(name)
    # A hand-set pickup survives a refused set: category 2 with an
    # inconsistent slip window (max below min) is refused as a whole.
    hand = cats[0][0] + (1 if c.prot.allowed(i, pr.F_PICKUP, cats[0][0] + 1) else -1)
    assert c.set_setting(1000 + 8 * i + pr.F_PICKUP, hand)
    # sync_df_max_mhz = 0 is in range but not above sync_df_min_mhz (0).
    r = _ask(c, _frame(1, 16, _hi(a), _lo(a), 0, 4, 8, 0, 0, 0, 2, 0, 0, 0, 0))
    assert _exc(r) == 3
    assert c.cfg.ieee1547_category == 1 and c.prot.pickup[i] == hand
    r = _ask(c, _frame(1, 16, _hi(a), _lo(a), 0, 4, 8, 0, 0, 0, 2, 0, 0, 0x01, 0x2C))
    assert _exc(r) == 0
    assert c.cfg.ieee1547_category == 2 and c.prot.pickup[i] == cats[1][0]
    assert c.cfg.sync_df_max_mhz == 300


def test_the_stack_figures_read_not_available_on_a_single_set_and_live_on_a_unit():
    h, c = _stopped()
    r = _read(c, 4, 80, 18)
    assert r[0:2] == [0xFFFF, 0xFFFF] and r[6] == 0xFFFF and r[8] == 0xFFFF, r
    assert r[14] == r[15] == 0xFFFF and r[16:18] == [0xFFFF, 0xFFFF], r
    # a unit of a stack of two, its peer loaded on the bus
    import sharelink as sl
    h = PortHal()
    c = Controller(h)
    assert c.cfg.set_many((("fleet_unit_id", 1), ("fleet_mask", 6))) is None
    c._build()
    running_inputs(h, c.cfg, 0, 0)
    h.next_in[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN
    b = bytearray(sl.FRAME_BYTES)
    sl.encode(b, 2, 1, 10, sl.F_GCB_CLOSED | sl.F_AUTO | sl.F_SHARING, 1, 1, 5000, 0, 200,
              100, 60, 0, 0)
    assert c.share_rx(b, len(b)) == -1
    c.share_rx(b, 3)                       # a short frame: refused, counted
    c.tick()
    r = _read(c, 4, 80, 14)
    assert (r[0] << 16 | r[1]) == 60                     # step: unit 2's envelope
    assert (r[2] << 16 | r[3]) == 200 and (r[4] << 16 | r[5]) == 100
    assert r[6] == 1 and r[7] == 0 and r[8] == 1
    assert (r[10] << 16 | r[11]) == 1 and (r[12] << 16 | r[13]) == 1
    # the plant's set points: a newer revision from unit 2, then one out of range
    sl.encode_plant(b, 2, 1, sl.PF_SET, 7, 1, 1000, 4400, 0, 200)
    assert c.share_rx(b, len(b)) == -1
    sl.encode_plant(b, 2, 2, sl.PF_SET, 8, 1, 1000, 65000, 0, 200)
    assert c.share_rx(b, len(b)) == -1
    c.tick()
    r = _read(c, 4, 94, 4)
    assert r == [7, 1, 0, 1] and c.cfg.import_cap_kw_x10 == 4400, r
    # and reading them allocates nothing (heap_lock, MicroPython)
    from helpers import is_micropython
    if is_micropython():
        import gc
        import micropython
        fr = _frame(1, 4, 0, 80, 0, 14)
        gc.collect()
        micropython.heap_lock()
        try:
            for _ in range(5):
                c.serve_uart(fr, len(fr), 1000)
        finally:
            micropython.heap_unlock()
