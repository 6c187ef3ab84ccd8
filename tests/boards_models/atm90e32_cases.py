"""Behaviour cases for the ATM90E32AS driver (boards/common/atm90e32.py)
against the register model (atm90e32_model.py).  Runs under CPython and the
MicroPython unix port:

  python tests/boards_models/atm90e32_cases.py [case ...]
  micropython -X heapsize=256k tests/boards_models/atm90e32_cases.py [case ...]

One line per case: PASS name / SKIP name: why / FAIL name: error; exit 1 on a
failure.  tests/test_atm90e32.py runs it both ways.
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
# firmware/ first, as a board (and host_sim.firmware_path) has it; the board
# code and the model after everything else, so they shadow nothing in pytest.
if _HERE + "/../../firmware" not in sys.path:
    sys.path.insert(0, _HERE + "/../../firmware")
for _p in (_HERE + "/../../boards/common", _HERE):
    if _p not in sys.path:
        sys.path.append(_p)

from array import array  # noqa: E402

import hal  # noqa: E402
import atm90e32 as drvmod  # noqa: E402
from atm90e32_model import Atm90e32Model  # noqa: E402
import atm90e32_model as mdl  # noqa: E402

MICROPYTHON = sys.implementation.name == "micropython"
SMALL_MAX = 2 ** 30 - 1
SMALL_MIN = -(2 ** 30)

METER_IN = (hal.IN_GEN_V_DV, hal.IN_GEN_P_KW_X10, hal.IN_GEN_Q_KVAR_X10,
            hal.IN_GEN_IA_A_X10, hal.IN_GEN_IB_A_X10, hal.IN_GEN_IC_A_X10)


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def make(cal=None, f_nom=60, begin=True, **kw):
    us = drvmod._cal(cal, "u_scale")
    is_ = drvmod._cal(cal, "i_scale")
    ug = drvmod._cal(cal, "ugain")[0]
    ig = drvmod._cal(cal, "igain")[0]
    m = Atm90e32Model(u_scale=us, i_scale=is_, ugain_ref=ug, igain_ref=ig)
    d = drvmod.Atm90e32(m, m.cs, cal, **kw)
    inp = array("i", [0] * hal.N_IN)
    ok = d.begin(f_nom) if begin else None
    return m, d, inp, ok


def tick(d, inp, n=1):
    ok = False
    for _ in range(n):
        ok = d.read(inp)
    return ok


def until_metering(d, inp, limit=400):
    for k in range(limit):
        if d.read(inp):
            return k + 1
    raise AssertionError("metering did not come up in %d ticks (state %d why %d reg %x val %x)"
                         % (limit, d.state, d.why, d.bad_reg, d.bad_val))


def settle(d, inp):
    """Metering on and every slot read with the model's present values."""
    until_metering(d, inp)
    tick(d, inp, 7)


def near(got, want, what, tol=1):
    check(-tol <= got - want <= tol, "%s: got %d, want %d +-%d" % (what, got, want, tol))


def meter_values(inp):
    return [inp[k] for k in METER_IN]


def check_hal(inp, v, p, q, i):
    near(inp[hal.IN_GEN_V_DV], v, "V dv")
    near(inp[hal.IN_GEN_P_KW_X10], p, "P kW_x10")
    near(inp[hal.IN_GEN_Q_KVAR_X10], q, "Q kvar_x10")
    near(inp[hal.IN_GEN_IA_A_X10], i, "IA")
    near(inp[hal.IN_GEN_IB_A_X10], i, "IB")
    near(inp[hal.IN_GEN_IC_A_X10], i, "IC")


def isqrt(n):
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def round_div(n, d):
    """n / d rounded half away from zero (d > 0), computed independently of
    the driver's arithmetic."""
    a = -n if n < 0 else n
    q = a // d
    if (a - q * d) * 2 >= d:
        q += 1
    return -q if n < 0 else q


# -- begin / configuration ------------------------------------------------------

def case_begin_writes_the_configuration_and_every_register_reads_back():
    m, d, inp, ok = make(f_nom=60)
    check(ok is True, "begin returned %r (why %d reg %x val %x)" % (ok, d.why, d.bad_reg, d.bad_val))
    r = m.regs
    check(r[mdl.METEREN] == 1, "MeterEn %x" % r[mdl.METEREN])
    check(r[mdl.MMODE0] == 0x1087, "MMode0 %x: 60 Hz bit 12 on the 0087 base" % r[mdl.MMODE0])
    check(r[0x0D] == 6300 and r[0x0C] == 5700, "FreqHiTh/LoTh %d %d" % (r[0x0D], r[0x0C]))
    check(r[0x61] == 0x8000 and r[0x6A] == 0x8000, "gains")
    check(r[mdl.CFGREGACCEN] == 0, "configuration left open: CfgRegAccEn %x" % r[mdl.CFGREGACCEN])
    check(m.resets == 2, "one soft reset (plus power-on): %d" % m.resets)
    check(m.rejected == 0 and m.partial == 0 and m.ignored == 0,
          "bus: rejected %d partial %d ignored %d" % (m.rejected, m.partial, m.ignored))
    # Locked: a stray write after begin does not change the calibration.
    d._wr(0x62, 0x1234)
    check(r[0x62] == 0x8000 and m.rejected == 1, "locked chip took a write")
    m2, d2, inp2, ok2 = make(f_nom=50)
    check(ok2 and m2.regs[mdl.MMODE0] == 0x0087 and m2.regs[0x0D] == 5250, "50 Hz image")


def case_begin_writes_the_calibration_from_cal():
    cal = {"ugain": (0x7A00, 0x7B00, 0x7C00), "igain": (0x6100, 0x6200, 0x6300),
           "uoffset": (-5, 0, 7), "ioffset": (1, -2, 3), "pqgain": (0x10, 0, 0xFFF0),
           "phi": (3, 4, 5), "mmode1": 0x15}
    m, d, inp, ok = make(cal)
    check(ok, "begin failed")
    r = m.regs
    check([r[0x61], r[0x65], r[0x69]] == [0x7A00, 0x7B00, 0x7C00], "Ugain")
    check([r[0x62], r[0x66], r[0x6A]] == [0x6100, 0x6200, 0x6300], "Igain")
    check([r[0x63], r[0x67], r[0x6B]] == [0xFFFB, 0, 7], "Uoffset (negative as 16-bit)")
    check([r[0x64], r[0x68], r[0x6C]] == [1, 0xFFFE, 3], "Ioffset")
    check([r[0x47], r[0x48], r[0x4B], r[0x4C]] == [0x10, 3, 0xFFF0, 5], "PQGain/Phi")
    check(r[mdl.MMODE1] == 0x15, "MMode1")


def case_a_calibration_write_the_chip_did_not_take_fails_begin():
    m = Atm90e32Model()
    m.flip_write(0x66, 0x0010)            # IgainB arrives with a bit flipped
    d = drvmod.Atm90e32(m, m.cs, None)
    inp = array("i", [0] * hal.N_IN)
    ok = d.begin(60)
    check(ok is False, "begin passed a register that reads back wrong")
    check(d.why == drvmod.WHY_REJECTED and d.bad_reg == 0x66 and d.bad_val == 0x8010,
          "why %d reg %x val %x" % (d.why, d.bad_reg, d.bad_val))
    check(d.init_failures == 1, "init_failures %d" % d.init_failures)
    inp[hal.IN_GEN_P_KW_X10] = 99
    check(d.read(inp) is False and meter_values(inp) == [0] * 6, "no metering after a failed begin")


def case_a_missing_chip_fails_begin():
    for byte in (0xFF, 0x00):
        m = Atm90e32Model()
        m.stuck(byte)
        d = drvmod.Atm90e32(m, m.cs, None)
        check(d.begin(60) is False, "begin passed with MISO stuck %02x" % byte)
        check(d.why == drvmod.WHY_NO_CHIP, "why %d" % d.why)


# -- conversion -------------------------------------------------------------------

def case_readings_at_nominal_are_within_one_lsb():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)      # 480 V LL, 240 A, 200 kW, 50 kvar
    settle(d, inp)
    check_hal(inp, 4800, 2000, 500, 2400)
    check(d.freq_chz == 6000, "Freq %d" % d.freq_chz)


def case_readings_at_zero_are_zero():
    m, d, inp, ok = make()
    settle(d, inp)
    check(meter_values(inp) == [0] * 6, "dead bus reads %r" % meter_values(inp))
    check(d.freq_chz == 0, "Freq of a dead bus %d" % d.freq_chz)


def case_reverse_power_reads_negative():
    m, d, inp, ok = make()
    m.set_balanced(4800, 700, -500, -300)      # motoring 50 kW, absorbing 30 kvar
    settle(d, inp)
    check_hal(inp, 4800, -500, -300, 700)


def case_readings_at_maximum_are_within_one_lsb():
    m, d, inp, ok = make()
    m.set_balanced(10000, 13000, 13000, -13000)    # 1000 V LL, 1300 A, 1.3 MW, -1.3 Mvar
    settle(d, inp)
    check_hal(inp, 10000, 13000, -13000, 13000)


def case_reversed_cts_are_flipped_by_ct_dir():
    m, d, inp, ok = make({"ct_dir": -1})
    m.set_balanced(4800, 2400, -2000, -500)    # CTs the other way round
    settle(d, inp)
    check_hal(inp, 4800, 2000, 500, 2400)


def case_a_pt_scales_the_voltage():
    m, d, inp, ok = make({"u_scale": 20})      # 4160 V set through a 20:1 PT
    m.set_balanced(41600, 300, 2000, 100)
    settle(d, inp)
    near(inp[hal.IN_GEN_V_DV], 41600, "V dv", tol=20)   # 1 chip LSB is 20 dv
    near(inp[hal.IN_GEN_P_KW_X10], 2000, "P", tol=8)    # PmeanT LSB = 1.6 kW here
    near(inp[hal.IN_GEN_IA_A_X10], 300, "IA")


def case_power_is_within_one_lsb_across_the_range():
    # Sub-LSB powers (whole watts) over the 16-bit range of PmeanT (+-2.6 MW
    # at i_scale 20): the half-LSB centring keeps the error under 100 W.
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 0, 0)
    settle(d, inp)
    x = 12345
    worst = 0
    for _ in range(200):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF       # the same on both interpreters
        pw = x % 5200001 - 2600000
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        qv = x % 5200001 - 2600000
        m.p_w = pw
        m.q_var = qv
        d.read(inp)
        e = inp[hal.IN_GEN_P_KW_X10] * 100 - pw
        f = inp[hal.IN_GEN_Q_KVAR_X10] * 100 - qv
        e = -e if e < 0 else e
        f = -f if f < 0 else f
        worst = max(worst, e, f)
    check(worst < 100, "P/Q error %d W: more than one 0.1 kW LSB" % worst)


def _trace_range(fn):
    """Run fn with every int local of the driver's frames (and every int
    attribute of its self) checked at each line: CPython only.  Every
    product in the driver is a named local, so this sees the products."""
    seen = [0, 0, ""]

    def local(frame, event, arg):
        if event == "line" or event == "return":
            for k, v in frame.f_locals.items():
                vals = ()
                if type(v) is int:
                    vals = ((k, v),)
                elif k == "self" and hasattr(v, "__dict__"):
                    vals = [("self." + a, x) for a, x in v.__dict__.items() if type(x) is int]
                for name, x in vals:
                    if x > seen[0]:
                        seen[0] = x
                        seen[2] = "%s:%d %s" % (frame.f_code.co_name, frame.f_lineno, name)
                    if x < seen[1]:
                        seen[1] = x
        return local

    def glob(frame, event, arg):
        if frame.f_code.co_filename.endswith("atm90e32.py"):
            frame.f_trace_lines = True
            return local
        return None

    sys.settrace(glob)
    try:
        fn()
    finally:
        sys.settrace(None)
    return seen


def case_full_scale_registers_give_exact_results_within_the_small_int_range():
    # The corners of every product: PmeanT/QmeanT at both ends of the 16-bit
    # range, IrmsX at 0xFFFF, UrmsX at the largest allowed u_max, with the
    # largest scale products cal allows.
    corners = ((1, 8191), (8191, 1), (1, 20), (91, 90))
    tracing = not MICROPYTHON and hasattr(sys, "settrace")
    worst = [0, 0, ""]
    for us, is_ in corners:
        for praw, qraw in ((0x7FFF, 0x8000), (0x8000, 0x7FFF), (0xFFFF, 0x0000)):
            cal = {"u_scale": us, "i_scale": is_, "u_max": 65534}
            m, d, inp, ok = make(cal)
            check(ok, "begin at %d/%d" % (us, is_))
            for ph in range(3):
                m.set_raw(mdl.URMSA + ph, 65534)
                m.set_raw(mdl.IRMSA + ph, 0xFFFF)
            m.set_raw(mdl.PMEANT, praw)
            m.set_raw(mdl.QMEANT, qraw)

            def run():
                settle(d, inp)
            if tracing:
                s = _trace_range(run)
                if s[0] > worst[0]:
                    worst[0] = s[0]
                    worst[2] = s[2]
                worst[1] = min(worst[1], s[1])
            else:
                run()
            sp = praw - 65536 if praw > 32767 else praw
            sq = qraw - 65536 if qraw > 32767 else qraw
            want_p = round_div((2 * sp + 1) * 2 * us * is_, 100)
            want_q = round_div((2 * sq + 1) * 2 * us * is_, 100)
            # V = 3 * 65534 * sqrt(3) / 30 dv: floor(2V) by isqrt, then round.
            s3 = 3 * 65534
            want_v = ((isqrt(s3 * s3 // 75) + 1) // 2) * us
            want_i = round_div(0xFFFF * is_, 100)
            got = meter_values(inp)
            check(got == [want_v, want_p, want_q, want_i, want_i, want_i],
                  "u %d i %d P %x Q %x: got %r want %r"
                  % (us, is_, praw, qraw, got, [want_v, want_p, want_q, want_i, want_i, want_i]))
    if tracing:
        check(worst[0] <= SMALL_MAX and worst[1] >= SMALL_MIN,
              "an int left the small-int range: max %d at %s, min %d" % (worst[0], worst[2], worst[1]))
        check(worst[0] > 2 ** 29, "the trace saw no large product (max %d): not tracing?" % worst[0])


# -- faults -------------------------------------------------------------------------

def _stops_answering(byte):
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    before = meter_values(inp)
    m.stuck(byte)
    check(d.read(inp) is True and meter_values(inp) == before, "1st bad tick must hold")
    check(d.consecutive == 1, "consecutive %d" % d.consecutive)
    check(d.read(inp) is True and meter_values(inp) == before, "2nd bad tick must hold")
    check(d.read(inp) is False, "3rd bad tick: metering lost")
    check(meter_values(inp) == [0] * 6, "after the loss P/Q/V/I read %r" % meter_values(inp))
    check(d.why == drvmod.WHY_NO_ANSWER and d.errors == 3 and d.losses == 1,
          "why %d errors %d losses %d" % (d.why, d.errors, d.losses))
    for _ in range(100):                      # stays lost, retrying, values 0
        check(d.read(inp) is False and meter_values(inp) == [0] * 6, "dead chip metering")
    check(d.init_failures >= 1 and d.why == drvmod.WHY_NO_CHIP, "retries: %d why %d"
          % (d.init_failures, d.why))


def case_a_chip_stuck_at_ff_is_metering_loss_after_three_bad_ticks():
    _stops_answering(0xFF)


def case_a_chip_stuck_at_00_is_metering_loss_after_three_bad_ticks():
    _stops_answering(0x00)


def case_a_single_glitch_is_held_not_metering_loss():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    before = meter_values(inp)
    m.glitch(mdl.METEREN, 1, 0x5A5A)
    check(d.read(inp) is True and meter_values(inp) == before, "a glitch tick must hold")
    check(d.errors == 1 and d.consecutive == 1, "errors %d" % d.errors)
    check(d.read(inp) is True and d.consecutive == 0, "the next good tick clears the count")
    m.glitch(mdl.METEREN, 2, 0)
    tick(d, inp, 2)
    check(d.read(inp) is True and d.state == drvmod.ST_RUN, "two glitches are not a loss")
    m.glitch(mdl.METEREN, 3, 0xFFFF)
    tick(d, inp, 2)
    check(d.read(inp) is False and d.losses == 1, "three in a row are")


def case_a_changed_calibration_register_is_metering_loss():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    m.corrupt(0x66, 0x7000)                  # IgainB changed behind the driver (SEU)
    lost = None
    for k in range(7 * 41):                  # one full AUX cycle at most
        if not d.read(inp):
            lost = k
            break
    check(lost is not None, "a changed IgainB went unnoticed")
    check(d.why == drvmod.WHY_CONFIG and d.bad_reg == 0x66 and d.bad_val == 0x7000,
          "why %d reg %x val %x" % (d.why, d.bad_reg, d.bad_val))
    check(meter_values(inp) == [0] * 6, "values after the loss %r" % meter_values(inp))
    # Recovery rewrites the calibration and metering comes back right.
    until_metering(d, inp)
    tick(d, inp, 7)
    check(m.regs[0x66] == 0x8000, "IgainB not rewritten")
    check_hal(inp, 4800, 2000, 500, 2400)


def case_a_glitched_calibration_read_back_is_a_bad_tick_not_a_loss():
    m, d, inp, ok = make()
    settle(d, inp)
    m.glitch(0x65, 1, 0x1234)                # UgainA read garbled once
    for _ in range(7 * 41):
        check(d.read(inp) is True, "a single bad read-back lost metering")
    check(d.errors == 1 and d.losses == 0, "errors %d losses %d" % (d.errors, d.losses))


def case_a_chip_reset_mid_run_is_metering_loss_and_recovers():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    m.power_cycle()                           # brown-out: MeterEn back to 0
    tick(d, inp, 2)
    check(d.read(inp) is False and d.why == drvmod.WHY_NO_ANSWER, "reset chip not noticed")
    n = until_metering(d, inp)
    check(n < 100, "recovery took %d ticks" % n)
    tick(d, inp, 7)
    check_hal(inp, 4800, 2000, 500, 2400)
    check(m.regs[mdl.METEREN] == 1 and m.regs[mdl.CFGREGACCEN] == 0, "re-initialised and locked")


def case_metering_recovers_after_the_chip_answers_again():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    m.stuck(0xFF)
    tick(d, inp, 200)                         # lost, and a few failed retries
    check(d.state != drvmod.ST_RUN and d.init_failures >= 2, "failures %d" % d.init_failures)
    m.stuck(None)
    m.power_cycle()                           # it came back from a power cut
    worst = 0
    for k in range(200):
        f = m.frames
        ok = d.read(inp)
        worst = max(worst, m.frames - f)
        if ok:
            break
    check(ok, "no recovery")
    check(worst <= 8, "a recovery tick ran %d transactions" % worst)
    tick(d, inp, 7)
    check_hal(inp, 4800, 2000, 500, 2400)
    check(d.losses == 1, "losses %d" % d.losses)


def case_reconfigure_changes_the_line_frequency_in_bounded_ticks():
    m, d, inp, ok = make(f_nom=60)
    m.set_balanced(4800, 2400, 2000, 500, f_chz=5000)
    settle(d, inp)
    d.reconfigure(50)
    worst = 0
    for k in range(100):
        f = m.frames
        ok = d.read(inp)
        worst = max(worst, m.frames - f)
        if ok:
            break
    check(ok and m.regs[mdl.MMODE0] == 0x0087 and m.regs[0x0D] == 5250, "not reconfigured")
    check(worst <= 8 and d.losses == 0, "worst %d losses %d" % (worst, d.losses))


def case_an_impossible_voltage_is_metering_loss():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    m.set_raw(mdl.URMSA + 1, 61000)           # 610 V phase > u_max (600.00 V)
    lost = False
    for _ in range(10):
        if not d.read(inp):
            lost = True
            break
    check(lost and d.why == drvmod.WHY_NO_ANSWER and d.bad_reg == mdl.URMSA + 1,
          "lost %r why %d reg %x" % (lost, d.why, d.bad_reg))


# -- bus ----------------------------------------------------------------------------

def case_a_tick_is_four_whole_transactions_inside_cs():
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    e = m.cs.edges
    for _ in range(50):
        f = m.frames
        d.read(inp)
        check(m.frames - f == 4, "a tick ran %d transactions" % (m.frames - f))
    check(m.cs.edges - e == 50 * 8, "CS edges %d: one low/high pair per frame" % (m.cs.edges - e))
    check(m.partial == 0 and m.ignored == 0 and m.cs.level == 1,
          "partial %d ignored %d cs %d" % (m.partial, m.ignored, m.cs.level))
    # Lost and waiting for the retry: no SPI at all.
    m.stuck(0xFF)
    tick(d, inp, 3)
    f = m.frames
    d.read(inp)
    check(m.frames == f, "a lost tick used the bus")


def case_split_frames_read_the_same():
    m, d, inp, ok = make(split=True)
    check(ok, "begin with split frames")
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)
    check_hal(inp, 4800, 2000, 500, 2400)
    check(m.partial == 0 and m.ignored == 0, "split frames cut")


def case_the_model_ignores_a_frame_without_cs():
    m = Atm90e32Model()
    rx = bytearray(4)
    m.regs[mdl.CFGREGACCEN] = mdl.CFG_OPEN
    m.write_readinto(bytearray([0x00, 0x33, 0x12, 0x34]), rx)   # write MMode0, CS high
    check(m.regs[mdl.MMODE0] == 0x0087 and list(rx) == [0xFF] * 4 and m.ignored == 4,
          "a frame without CS was decoded")
    m.cs.value(0)
    m.write_readinto(bytearray([0x00, 0x33, 0x12, 0x34]), rx)
    m.cs.value(1)
    check(m.regs[mdl.MMODE0] == 0x1234 and m.regs[mdl.LASTSPIDATA] == 0x1234, "framed write")
    m.cs.value(0)
    m.write_readinto(bytearray([0x80, 0x33, 0, 0]), rx)
    m.cs.value(1)
    check(rx[2] == 0x12 and rx[3] == 0x34, "framed read %r" % list(rx))


def case_the_tick_allocates_nothing():
    if not MICROPYTHON:
        raise Skip("heap_lock is MicroPython only")
    import micropython
    m, d, inp, ok = make()
    m.set_balanced(4800, 2400, 2000, 500)
    settle(d, inp)

    def locked(n):
        micropython.heap_lock()
        try:
            for _ in range(n):
                d.read(inp)
        finally:
            micropython.heap_unlock()

    locked(7 * 41 + 10)                       # every slot, every AUX register
    m.glitch(mdl.METEREN, 1, 0)
    locked(3)                                 # a held bad tick
    m.stuck(0xFF)
    locked(120)                               # loss, waits, failed retries
    m.stuck(None)
    locked(120)                               # recovery and warm-up
    check(d.state == drvmod.ST_RUN, "did not recover under heap_lock: state %d" % d.state)
    m.corrupt(0x62, 0x1111)
    locked(7 * 41 + 120)                      # configuration loss and recovery
    check(d.state == drvmod.ST_RUN and d.losses == 2, "state %d losses %d" % (d.state, d.losses))
    check_hal(inp, 4800, 2000, 500, 2400)


CASES = sorted(k for k in globals() if k.startswith("case_"))


def run(names=None):
    failed = 0
    for name in names or CASES:
        fn = globals()[name]
        try:
            fn()
            print("PASS %s" % name)
        except Skip as e:
            print("SKIP %s: %s" % (name, e))
        except Exception as e:  # one line per case, go on
            failed += 1
            print("FAIL %s: %s %s" % (name, type(e).__name__, e))
    return failed


if __name__ == "__main__":
    sys.exit(1 if run(sys.argv[1:]) else 0)
