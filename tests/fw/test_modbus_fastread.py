"""The register read paths (Registers.read_regs: the input-register tables,
the settings / protection-field block, register by register; snapshot by
parts) give exactly the bytes of the one-path reader they replaced: every
live value taken for every request, then _reg_info / _value / _put per
register.  That reader is kept here, verbatim, as the reference (_ref_*), and
compared byte for byte over the whole map, in states that reach every
encoding (before the first tick, stopped, loaded, metering lost, sentinels,
saturation, negative and 32-bit values, alarms, the event log).  Plain
Python: CPython and MicroPython (tests/fw/run.py)."""

from array import array
import hal
import modbus
import registers as rg
import protection as pr
import sequencer as sq
import config as cf
import synccheck
from fixpt import isqrt, mul_div
from crc16 import crc16
from controller import Controller
from test_modbus_map import PortHal, _frame, _stopped, _loaded

NA = rg.NA
FAULT = rg.FAULT
POISON1 = 0x2A2A2A2A & 0x3FFFFFFF
POISON2 = -12345
FILL_A5 = bytes(bytearray([0xA5])) * 260
FILL_5A = bytes(bytearray([0x5A])) * 260


# ------------------------------------------------------- the reference reader

def _ref_snapshot(self):
    """Registers.snapshot before the parts: every live value."""
    c = self.ctl
    m = c.meas
    cfg = c.cfg
    lv = self.live
    a = c.alarms
    seq = c.seq
    p_ = c.prot
    meter = (m.di & hal.DI_METER_OK) != 0
    mpu_lost = (seq.flags | p_.vals[pr.SRC_FLAGS]) & pr.FLAG_MPU_LOSS
    lv[rg.L_SPEED] = FAULT if mpu_lost else m.speed_rpm_x10
    lv[rg.L_GEN_F] = m.gen_f_mhz // 10 if m.gen_f_mhz > 0 else NA
    lv[rg.L_GEN_V] = m.gen_v_dv
    inp = c.inp
    lv[rg.L_IA] = inp[hal.IN_GEN_IA_A_X10] if meter else FAULT
    lv[rg.L_IB] = inp[hal.IN_GEN_IB_A_X10] if meter else FAULT
    lv[rg.L_IC] = inp[hal.IN_GEN_IC_A_X10] if meter else FAULT
    lv[rg.L_P] = m.p_kw_x10 if meter else FAULT
    lv[rg.L_Q] = m.q_kvar_x10 if meter else FAULT
    lv[rg.L_P_PCT] = m.p_pct_x100 if meter else FAULT
    p = m.p_kw_x10
    q = m.q_kvar_x10
    pa = p if p >= 0 else -p
    qa = q if q >= 0 else -q
    small = cfg.p_rated_kw_x10 // 50
    if not meter:
        lv[rg.L_PF] = FAULT
    elif pa < small and qa < small:
        lv[rg.L_PF] = NA
    else:
        while pa >= 23170 or qa >= 23170:
            pa >>= 1
            qa >>= 1
        pf = mul_div(pa, 1000, isqrt(pa * pa + qa * qa))
        lv[rg.L_PF] = pf if q >= -(small >> 2) else -pf
    bus = m.bus_f_mhz > 0
    lv[rg.L_BUS_F] = m.bus_f_mhz // 10 if bus else NA
    lv[rg.L_BUS_V] = m.bus_v_dv
    lv[rg.L_GRID_P] = m.grid_p_kw_x10
    lv[rg.L_GRID_Q] = m.grid_q_kvar_x10
    both = bus and m.gen_f_mhz > 0
    lv[rg.L_PHASE] = m.phase_cdeg if both else NA
    lv[rg.L_SLIP] = m.slip_f_mhz if both else NA
    lv[rg.L_OIL] = m.oil_kpa
    lv[rg.L_COOL] = m.coolant_dc
    lv[rg.L_GAS] = m.gas_mbar
    lv[rg.L_MAP] = m.map_kpa_x10 if m.map_kpa_x10 > 0 else NA
    lv[rg.L_BATT] = m.batt_mv
    lv[rg.L_ROCOF] = m.rocof_mhz_s
    lv[rg.L_VSHIFT] = m.vshift_cdeg
    lv[rg.L_FDEV] = m.f_dev_mhz if m.gen_f_mhz > 0 else NA
    out = c.out
    lv[rg.L_FUEL] = out[hal.OUT_FUEL_PCT_X100]
    lv[rg.L_BIAS] = out[hal.OUT_AVR_BIAS_PCT_X100]
    lv[rg.L_REF] = c.gov.ref_rpm_x10
    lv[rg.L_PREF] = c.pc.p_ref_kw_x10 if seq.fuel_mode == sq.FUEL_POWER else NA
    lv[rg.L_SITE] = m.p_filt_kw_x10 + m.grid_p_kw_x10
    st = seq.state
    lv[rg.L_STATE] = st
    lv[rg.L_MODE] = seq.mode
    w = a.worst
    bits = 0
    if st != sq.ST_STOPPED:
        bits |= 1
    if st == sq.ST_AVAILABLE:
        bits |= 2
    if st == sq.ST_LOADED:
        bits |= 4
    if seq.paralleled:
        bits |= 8
    if c.mains.ok:
        bits |= 16
    if w != pr.CL_NONE:
        bits |= 32
    if w == pr.CL_WARNING:
        bits |= 64
    if w >= pr.CL_SOFT:
        bits |= 128
    if self._unlocked_now():
        bits |= 256
    if a.horn:
        bits |= 512
    if seq.mode == sq.MODE_AUTO:
        bits |= 1024
    if c.mains.amf_run:
        bits |= 2048
    if c.failsafe:
        bits |= 4096
    if c.mb.listen_only:
        bits |= 8192
    lv[rg.L_STATUS] = bits
    if st == sq.ST_CLOSING:
        lv[rg.L_SYNC] = 3
    elif st == sq.ST_SYNC or c.mains.retransfer:
        lv[rg.L_SYNC] = 2 if synccheck.close_permitted(cfg, m, cfg.gcb_close_time_ms) else 1
    else:
        lv[rg.L_SYNC] = 0
    lv[rg.L_DI] = m.di
    lv[rg.L_DO] = out[hal.OUT_DO]
    fo = a.first_out
    lv[rg.L_FIRST] = fo
    lv[rg.L_FIRST_CODE] = pr.PROTECTIONS[fo][pr.P_CODE] if fo >= 0 else 0
    lv[rg.L_WORST] = w
    la = a.last
    lv[rg.L_LAST] = la
    lv[rg.L_LAST_CODE] = pr.PROTECTIONS[la][pr.P_CODE] if la >= 0 else 0
    n = 0
    for k in range(3):
        lv[rg.L_LAT0 + k] = 0
        lv[rg.L_ACT0 + k] = 0
    for i in range(pr.N_PROT):
        if a.latched[i]:
            n += 1
            lv[rg.L_LAT0 + (i >> 4)] |= 1 << (i & 15)
        if p_.active[i]:
            lv[rg.L_ACT0 + (i >> 4)] |= 1 << (i & 15)
    lv[rg.L_NLATCHED] = n
    lv[rg.L_RUN_S] = c.run_s
    lv[rg.L_STARTS] = c.starts
    lv[rg.L_KWH] = c.kwh_x10
    lv[rg.L_UPTIME] = m.t_ms // 1000
    cnt = c.mb.counters
    for k in range(modbus.N_C):
        lv[rg.L_CNT0 + k] = cnt[k]
    lv[rg.L_REFUSED] = self.refused
    lv[rg.L_WRITES] = self.writes
    lv[rg.L_CTL_REFUSED] = c.refused
    lv[rg.L_CODE_FAILS] = self.code_fails
    lv[rg.L_FW0] = rg.FW_VERSION[0]
    lv[rg.L_FW0 + 1] = rg.FW_VERSION[1]
    lv[rg.L_FW0 + 2] = rg.FW_VERSION[2]
    lv[rg.L_MAP_CRC] = self.map_crc
    lv[rg.L_SET_CRC] = c.settings_crc
    lv[rg.L_LINK_VER] = c.link_version
    lv[rg.L_NPROT] = pr.N_PROT
    if self._unlocked_now():
        left = cfg.mb_unlock_s - ((m.t_ms - self.unlocked_at) & 0x3FFFFFFF) // 1000
        lv[rg.L_UNLOCKED_S] = left if self.unlocked else cfg.mb_unlock_s
    else:
        lv[rg.L_UNLOCKED_S] = 0
    log = c.log
    cnt = log.count()
    lv[rg.L_EV_COUNT] = cnt
    lv[rg.L_EV_NEWEST] = log.newest_seq() if cnt else NA
    ev = self._ev
    if self.event_index < cnt and log.read(cnt - 1 - self.event_index, ev):
        lv[rg.L_EV_SEQ] = ev[0]
        lv[rg.L_EV_BOOT] = ev[1]
        lv[rg.L_EV_T] = ev[2]
        lv[rg.L_EV_CODE] = ev[3]
        lv[rg.L_EV_VALUE] = ev[4]
        lv[rg.L_EV_VALID] = 1
    else:
        for k in range(rg.L_EV_SEQ, rg.L_EV_VALID):
            lv[k] = NA
        lv[rg.L_EV_VALID] = 0
    if c.ticks == 0:
        for k in range(rg.L_SPEED, rg.L_SITE + 1):
            lv[k] = NA


def _ref_read_regs(self, fc, start, qty, out, o):
    """Registers.read_regs before the fast paths: every live value, then
    _reg_info, _value and _put register by register."""
    rk = bytearray(125)
    for k in range(qty):
        a = start + k
        kind = self._reg_info(a)
        rk[k] = kind
        if kind == 0:
            return modbus.EX_ADDRESS
        if fc == rg.TB_IR and (kind == 2 or kind == 3 or (kind == 5 and a >= rg.IR_END)):
            return modbus.EX_ADDRESS
        if fc == rg.TB_IR and kind == 1 and rg.POINTS[self._at[a] >> 1][0] != rg.TB_IR:
            return modbus.EX_ADDRESS
    _ref_snapshot(self)
    c = self.ctl
    for k in range(qty):
        a = start + k
        kind = rk[k]
        oo = o + 2 * k
        if kind == 1:
            r = self._at[a]
            p = rg.POINTS[r >> 1]
            self._put(out, oo, p[3], self._value(p[7], p[8]), r & 1)
        elif kind == 2:
            i = (a - rg.SET_BASE) >> 1
            v = NA if i == self._code_i else getattr(c.cfg, cf.SETTINGS[i][0])
            self._put(out, oo, rg.T_S32, v, (a - rg.SET_BASE) & 1)
        elif kind == 3:
            i = (a - rg.PROT_BASE) // rg.PROT_STRIDE
            f = ((a - rg.PROT_BASE) % rg.PROT_STRIDE) >> 1
            self._put(out, oo, rg.T_S32, c.prot.get_field(i, f), (a - rg.PROT_BASE) & 1)
        elif kind == 4:
            i = a - rg.ALARM_BASE
            al = c.alarms
            v = (al.cls_at[i] if al.latched[i] else 0) | (16 if c.prot.active[i] else 0) | \
                (32 if al.acked[i] else 0) | (c.prot.cls[i] << 8)
            self._put(out, oo, rg.T_U16, v, 0)
        elif a >= rg.PROT_BASE:
            self._put(out, oo, rg.T_S32, NA, (a - rg.PROT_BASE) & 1)
        else:
            out[oo] = 0xFF
            out[oo + 1] = 0xFF
    return 0


def _ref_read_bits(self, fc, start, qty, out, o):
    """Registers.read_bits before the parts (every live value)."""
    c = self.ctl
    if start + qty > (rg.N_COILS if fc == rg.TB_COIL else rg.DI_ACTIVE + pr.N_PROT):
        return modbus.EX_ADDRESS
    if fc == rg.TB_COIL:
        return 0
    _ref_snapshot(self)
    lv = self.live
    nd = len(hal.DI_NAMES)
    no = len(hal.DO_NAMES)
    ns = len(rg.STATUS_NAMES)
    n = pr.N_PROT
    for k in range(qty):
        a = start + k
        if a < rg.DI_OUT:
            b = a < nd and (lv[rg.L_DI] >> a) & 1
        elif a < rg.DI_STATUS:
            b = a - rg.DI_OUT < no and (lv[rg.L_DO] >> (a - rg.DI_OUT)) & 1
        elif a < rg.DI_LATCHED:
            b = a - rg.DI_STATUS < ns and (lv[rg.L_STATUS] >> (a - rg.DI_STATUS)) & 1
        elif a < rg.DI_ACTIVE:
            b = a - rg.DI_LATCHED < n and c.alarms.latched[a - rg.DI_LATCHED] != 0
        else:
            b = c.prot.active[a - rg.DI_ACTIVE] != 0
        if b:
            out[o + (k >> 3)] |= 1 << (k & 7)
    return 0


# ------------------------------------------------------------------ helpers

class _Lcg:
    """Deterministic pseudo-random small ints (16-bit LCG; small ints on a
    32-bit port, no random module needed)."""

    def __init__(self, seed):
        self.x = seed & 0xFFFF

    def below(self, n):
        self.x = (self.x * 25173 + 13849) & 0xFFFF
        y = self.x
        self.x = (self.x * 25173 + 13849) & 0xFFFF
        return ((y << 8) ^ self.x) % n


def _poison(r, v):
    lv = r.live
    for k in range(len(lv)):
        lv[k] = v


def _n_set():
    return len(cf.SETTINGS)


def _same_read(c, fc, start, qty, fails):
    """New read (live values poisoned first: a part it failed to fill shows)
    against the reference; records a mismatch in fails.  Then the new read
    again over another fill: every byte of the registers is written (the
    slave does not zero the reply buffer for a register read) and none
    outside them."""
    r = c.regs
    _poison(r, POISON1)
    new = bytearray(FILL_A5)
    e_new = r.read_regs(fc, start, qty, new, 3)
    ref = bytearray(FILL_A5)
    e_ref = _ref_read_regs(r, fc, start, qty, ref, 3)
    ok = e_new == e_ref and (e_new != 0 or new == ref)
    if ok and e_new == 0:
        again = bytearray(FILL_5A)
        r.read_regs(fc, start, qty, again, 3)
        end = 3 + 2 * qty
        ok = again[3:end] == new[3:end] and again[:3] == FILL_5A[:3] and \
            again[end:] == FILL_5A[end:]
    if not ok and len(fails) < 8:
        fails.append((fc, start, qty, e_new, e_ref))


def _ranges():
    """(fc, start, qty) over the whole map: block edges, both halves of the
    32-bit points, every block whole, and random starts and quantities."""
    ns = _n_set()
    set_end = rg.SET_BASE + 2 * ns
    prot_end = rg.PROT_BASE + rg.PROT_STRIDE * pr.N_PROT
    alarm_end = rg.ALARM_BASE + pr.N_PROT
    out = []
    for fc in (rg.TB_HR, rg.TB_IR):
        for a, q in ((0, 50), (0, 125), (0, 1), (0, 34), (0, 35), (0, 36), (6, 1), (7, 1),
                     (7, 2), (6, 2), (5, 2), (5, 3), (7, 3), (9, 30), (14, 3), (15, 3),
                     (30, 5), (31, 4), (33, 2), (34, 1), (34, 16), (35, 15), (49, 3),
                     (50, 18), (50, 28), (59, 1), (58, 4), (60, 8), (62, 6), (68, 2),
                     (70, 8), (71, 6), (77, 1), (76, 2), (100, 26), (101, 23), (124, 2),
                     (125, 25), (150, 8), (157, 1), (158, 42), (199, 2), (200, 47),
                     (rg.ALARM_BASE + pr.N_PROT - 1, 2), (alarm_end, 3), (246, 125),
                     (300, 100), (399, 2), (400, 12), (401, 1), (402, 1), (409, 3),
                     (410, 1), (411, 1), (411, 2), (412, 1), (405, 10), (300, 125),
                     (999, 1), (999, 2), (1000, 4), (1000, 2), (1001, 3), (1002, 2),
                     (1003, 1), (1003, 2), (1004, 1), (1999, 2), (rg.SET_BASE, 125),
                     (rg.SET_BASE, 1), (rg.SET_BASE + 1, 1), (rg.SET_BASE + 1, 124),
                     (set_end - 3, 3), (set_end - 1, 1), (set_end - 2, 3), (set_end, 1),
                     (2999, 1), (rg.PROT_BASE, 125), (rg.PROT_BASE + 1, 9),
                     (rg.PROT_BASE + 7, 6), (rg.PROT_BASE + 8, 2), (rg.PROT_BASE + 9, 1),
                     (prot_end - 10, 10), (prot_end - 1, 1), (prot_end - 1, 2),
                     (prot_end, 1), (65535, 1), (65410, 125)):
            out.append((fc, a, q))
        # Every block whole, in reads of 125; the access code (reads NA).
        for lo, hi in ((0, rg.IR_END), (rg.SET_BASE, set_end), (rg.PROT_BASE, prot_end)):
            for a in range(lo, hi, 125):
                out.append((fc, a, 125 if a + 125 <= hi else hi - a))
        for i in range(ns):
            if cf.SETTINGS[i][0] == "mb_access_code":
                out.append((fc, rg.SET_BASE + 2 * i - 1, 4))
                out.append((fc, rg.SET_BASE + 2 * i + 1, 1))
        g = _Lcg(fc * 7 + 1)
        for k in range(70):
            which = g.below(5)
            q = 1 + g.below(125)
            if which <= 1:
                a = g.below(rg.IR_END + 20)
            elif which == 2:
                a = 980 + g.below(40)
            elif which == 3:
                a = rg.SET_BASE - 3 + g.below(2 * ns + 6)
            else:
                a = rg.PROT_BASE - 3 + g.below(rg.PROT_STRIDE * pr.N_PROT + 6)
            if a + q > 0x10000:
                q = 0x10000 - a
            out.append((fc, a, q))
    return out


def _check_all(c, what):
    fails = []
    for fc, a, q in _ranges():
        _same_read(c, fc, a, q, fails)
    assert not fails, "%s: (fc, start, qty, new, ref) %r" % (what, fails)


def _extremes(c):
    """Every encoding's edge on the live values' sources: saturation, the
    negative ones, 32-bit both signs and the sentinels."""
    m = c.meas
    m.oil_kpa = 70000                  # u16 above FFFD: FFFD
    m.gen_v_dv = -3                    # u16 below 0: 0
    m.coolant_dc = -40000              # s16 below -32768: 8000
    m.rocof_mhz_s = 40000              # s16 above 7FFD: 7FFD
    m.vshift_cdeg = -32768
    m.gas_mbar = NA - 5                # u16 below the sentinels: 0
    m.grid_p_kw_x10 = NA - 5           # s32 below the sentinels
    m.p_filt_kw_x10 = 1234567          # site: grid + this
    m.grid_q_kvar_x10 = 1073741823     # s32 at the top
    m.batt_mv = 0xFFFE                 # u16 one past the top: FFFD
    m.bus_v_dv = 0xFFFF
    m.f_dev_mhz = 32766                # s16 one past the top: 7FFD
    c.starts = -1                      # u32 below 0: 0
    c.kwh_x10 = 1073741823             # u32 at the top
    c.run_s = NA - 5                   # u32 below the sentinels: 0
    c.seq.flags |= pr.FLAG_MPU_LOSS    # speed: FAULT


def _with_alarms(c):
    al = c.alarms
    for i in (0, 3, 15, 16, 31, 32, pr.N_PROT - 1):
        al.latched[i] = 1
        al.cls_at[i] = pr.CL_TRIP
        c.prot.active[i] = 1
    al.acked[3] = 1
    c.prot.active[5] = 1
    al.first_out = 3
    al.last = pr.N_PROT - 1
    al.worst = pr.CL_TRIP


def _with_events(c):
    c.log.log(5, 4242, -7)
    c.log.log(6, 4343, 123456789)
    c.log.log(7, 4444, -1073741823)
    c.regs.event_index = 1


# -------------------------------------------------------------------- tests

def test_every_register_range_reads_the_same_bytes_before_the_first_tick():
    h = PortHal()
    c = Controller(h)
    assert c.ticks == 0
    _check_all(c, "before the first tick")


def test_every_register_range_reads_the_same_bytes_on_a_stopped_set():
    h, c = _stopped()
    _check_all(c, "stopped")


def test_every_register_range_reads_the_same_bytes_on_a_loaded_set_with_alarms_and_events():
    h, c = _loaded()
    _with_alarms(c)
    _with_events(c)
    _check_all(c, "loaded")


def test_every_register_range_reads_the_same_bytes_with_the_metering_lost():
    h, c = _loaded()
    h.next_in[hal.IN_DI] &= ~hal.DI_METER_OK
    c.tick()
    assert c.regs.read_regs(4, 3, 1, bytearray(8), 0) == 0
    assert c.regs.live[rg.L_IA] == FAULT and c.regs.live[rg.L_P] == FAULT
    _check_all(c, "meter lost")


def test_every_register_range_reads_the_same_bytes_at_every_encodings_edge():
    h, c = _loaded()
    _extremes(c)
    _with_events(c)
    c.regs.event_index = 2           # the entry with the most negative value
    _check_all(c, "extremes")


def test_every_register_range_reads_the_same_bytes_unlocked_synchronising_listed():
    h, c = _stopped()
    c.seq.state = sq.ST_SYNC          # sync status from the window
    c.regs.unlocked = True            # status bit 8, unlocked_s counting down
    c.regs.unlocked_at = c.meas.t_ms
    c.regs.event_index = 0x7FFF       # no entry there: NA
    _check_all(c, "unlocked, synchronising")


def test_reads_through_the_slave_give_the_reference_frames_whatever_the_buffer_held():
    h, c = _loaded()
    _with_alarms(c)
    _with_events(c)
    ref = bytearray(260)
    fails = []
    for fc, a, q in _ranges():
        rep = c.mb.reply
        for i in range(len(rep)):
            rep[i] = 0xC3             # the last reply's bytes, as far as a read knows
        got = _ask_raw(c, _frame(1, fc, a >> 8, a & 0xFF, q >> 8, q & 0xFF))
        e = _ref_read_regs(c.regs, fc, a, q, ref, 3)
        if e:
            want = bytearray(b"\x01\x00\x00")
            want[1] = fc | 0x80
            want[2] = e
        else:
            want = bytearray(3 + 2 * q)
            want[0] = 1
            want[1] = fc
            want[2] = 2 * q
            for i in range(3, 3 + 2 * q):
                want[i] = ref[i]
        k = crc16(want, 0, len(want))
        want.append(k & 0xFF)
        want.append(k >> 8)
        if got != bytes(want) and len(fails) < 5:
            fails.append((fc, a, q))
    assert not fails, fails


def _ask_raw(c, frame):
    h = c.hal
    h.n = 0
    c.serve_uart(frame, len(frame), 1000)
    return bytes(h.reply[:h.n])


def test_discrete_inputs_read_the_same_bits_from_the_state_part_alone():
    for make in (_stopped, _loaded):
        h, c = make()
        _with_alarms(c)
        c.regs.unlocked = True
        c.regs.unlocked_at = c.meas.t_ms
        r = c.regs
        n = rg.DI_ACTIVE + pr.N_PROT
        for a, q in ((0, n), (0, 1), (3, 20), (16, 16), (32, 14), (40, 70), (99, 3),
                     (100, pr.N_PROT), (190, 60), (n - 1, 1), (n - 1, 2), (0, 2000)):
            for fc in (rg.TB_COIL, rg.TB_DI):
                _poison(r, POISON1)
                new = bytearray(260)
                e1 = r.read_bits(fc, a, q, new, 3)
                ref = bytearray(260)
                e2 = _ref_read_bits(r, fc, a, q, ref, 3)
                assert e1 == e2 and new == ref, (fc, a, q)
    for k in (rg.L_DI, rg.L_DO, rg.L_STATUS):
        assert rg.part_of(k) == rg.P_STATE


def test_each_snapshot_part_fills_exactly_the_live_values_part_of_names():
    h, c = _loaded()
    _with_alarms(c)
    _with_events(c)
    r = c.regs
    for j in range(rg.N_PARTS):
        part = 1 << j
        _poison(r, POISON1)
        r.snapshot(part)
        v1 = array("i", r.live)
        _poison(r, POISON2)
        r.snapshot(part)
        v2 = r.live
        for k in range(rg.N_LIVE):
            filled = v1[k] != POISON1 or v2[k] != POISON2
            assert filled == (rg.part_of(k) == part), (part, k)
    _poison(r, POISON1)
    r.snapshot()
    v1 = list(r.live)
    _ref_snapshot(r)
    assert v1 == list(r.live)         # no argument: every part, the old values
    for k in range(rg.N_LIVE):
        assert rg.part_of(k) in (rg.P_MEAS, rg.P_STATE, rg.P_ALARMS, rg.P_COUNT, rg.P_EVENT)
    assert rg.P_ALL == (1 << rg.N_PARTS) - 1


def test_every_live_point_lies_in_its_parts_address_span():
    r = _stopped()[1].regs
    pg = r._prange
    for p in rg.POINTS:
        if p[0] == rg.TB_COIL or p[7] != rg.S_LIVE:
            continue
        j = 0
        while (1 << j) != rg.part_of(p[8]):
            j += 1
        w = 2 if p[3] in (rg.T_U32, rg.T_S32) else 1
        assert pg[2 * j] <= p[1] and p[1] + w <= pg[2 * j + 1], p[2]


def test_the_whole_input_register_block_takes_the_table_path():
    r = _stopped()[1].regs
    assert r._fast_end == rg.IR_END


def test_the_power_factor_is_the_old_isqrt_formula_for_any_p_and_q():
    h, c = _loaded()
    m = c.meas
    r = c.regs
    small = c.cfg.p_rated_kw_x10 // 50
    g = _Lcg(99)
    vals = [0, 1, -1, small - 1, small, -small, small // 4, -(small >> 2), -(small >> 2) - 1,
            23169, 23170, -23170, 46341, 100000, -100000, 1073741823, -1073741823]
    for k in range(60):
        v = g.below(30000)
        vals.append(v if k & 1 else -v)
        vals.append(g.below(1000) * 1000 + g.below(1000))
    fails = []
    for p in vals:
        for q in vals:
            m.p_kw_x10 = p
            m.q_kvar_x10 = q
            pa = p if p >= 0 else -p
            qa = q if q >= 0 else -q
            if pa < small and qa < small:
                want = NA
            else:
                while pa >= 23170 or qa >= 23170:
                    pa >>= 1
                    qa >>= 1
                pf = mul_div(pa, 1000, isqrt(pa * pa + qa * qa))
                want = pf if q >= -(small >> 2) else -pf
            r.snapshot(rg.P_MEAS)
            if r.live[rg.L_PF] != want and len(fails) < 5:
                fails.append((p, q, r.live[rg.L_PF], want))
    assert not fails, fails


def _twins():
    """Two stopped sets, both unlocked at the same time."""
    out = []
    for k in range(2):
        h, c = _stopped()
        code = c.cfg.mb_access_code
        _ask_raw(c, _frame(1, 6, 0x03, 0xEA, code >> 8, code & 0xFF))
        assert c.regs.unlocked
        out.append((h, c))
    return out


def _log_entries(c):
    log = c.log
    ev = array("i", [0] * 5)
    out = []
    for i in range(log.count()):
        log.read(i, ev)
        out.append(tuple(ev))
    return out


def _advance(h, c, t):
    h.next_in[hal.IN_T_MS] = t
    c.tick()


def test_the_unlock_expiry_is_logged_by_the_first_read_after_it_whatever_it_reads():
    buf = bytearray(260)
    # Reads that touch no status register: holes, measurements only, the
    # settings, a protection field, coils, discrete inputs, an address error.
    for fc, a, q in ((4, 35, 10), (4, 0, 5), (3, rg.SET_BASE, 4), (3, rg.PROT_BASE, 2),
                     (1, 0, 3), (2, 0, 8), (4, 412, 1)):
        (h1, c1), (h2, c2) = _twins()
        t_end = c1.regs.unlocked_at + c1.cfg.mb_unlock_s * 1000
        for t in (t_end - 1000, t_end + 5):
            for h, c in ((h1, c1), (h2, c2)):
                _advance(h, c, t)
            if fc <= 2:
                e1 = c1.regs.read_bits(fc, a, q, buf, 3)
                e2 = _ref_read_bits(c2.regs, fc, a, q, buf, 3)
            else:
                e1 = c1.regs.read_regs(fc, a, q, buf, 3)
                e2 = _ref_read_regs(c2.regs, fc, a, q, buf, 3)
            assert e1 == e2
            assert c1.regs.unlocked == c2.regs.unlocked, (fc, a, t)
            assert _log_entries(c1) == _log_entries(c2), (fc, a, t)
        last = _log_entries(c1)[-1]
        if fc == 1 or (fc == 4 and a == 412):
            # Coils and a refused address never took a snapshot: still open.
            assert c1.regs.unlocked and not (last[3] == rg.EV_MB_UNLOCK and last[4] == 0)
        else:
            assert not c1.regs.unlocked and last[3] == rg.EV_MB_UNLOCK and last[4] == 0
            assert last[2] == t_end + 5


def test_register_reads_on_every_path_do_not_allocate():
    try:
        import micropython
        import gc
    except ImportError:
        return                        # CPython: nothing to prove
    h, c = _loaded()
    _with_alarms(c)
    _with_events(c)
    r = c.regs
    rs = _ranges()
    n = len(rs)
    fcs = bytearray(n)
    starts = array("i", [0] * n)
    qtys = array("i", [0] * n)
    for k in range(n):
        fcs[k] = rs[k][0]
        starts[k] = rs[k][1]
        qtys[k] = rs[k][2]
    out = bytearray(260)
    frames = [_frame(1, 4, 0, 0, 0, 50), _frame(1, 3, 0, 0, 0, 125),
              _frame(1, 3, 0x07, 0xD0, 0, 125), _frame(1, 3, 0x0B, 0xB9, 0, 33),
              _frame(1, 4, 0, 200, 0, 47), _frame(1, 4, 1, 0x90, 0, 12),
              _frame(1, 2, 0, 0, 0, 246)]
    lens = [len(f) for f in frames]
    nf = len(frames)
    for k in range(n):                # warm up
        r.read_regs(fcs[k], starts[k], qtys[k], out, 3)
    for f in frames:
        _ask_raw(c, f)
    gc.collect()
    micropython.heap_lock()
    try:
        for rep in range(3):
            for k in range(n):
                r.read_regs(fcs[k], starts[k], qtys[k], out, 3)
                r.snapshot(1 << (k % rg.N_PARTS))
            for k in range(nf * 20):
                h.n = 0
                c.serve_uart(frames[k % nf], lens[k % nf], 1000 + k * 5000)
    finally:
        micropython.heap_unlock()
