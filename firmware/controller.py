"""The controller tick: measure -> control -> outputs, at a fixed rate.

One `Controller` owns the preallocated input, output and telemetry vectors
and the control blocks.  `tick()` is the whole steady-state control step and
must not allocate (proved under MicroPython with heap_lock in the tests).
Protection and the start/stop sequence slot in between measure and control
(see the marked places) in later work.

Telemetry (TELE_*) is one documented row per tick - the firmware's view of
the world - so the simulator can log it beside the plant's truth and compare
runtimes bit for bit.
"""

from array import array
from fixpt import const

import hal
from config import Config, SETTINGS
from measure import Measure
from governor import Governor
from avr import Avr
from ignition import IgnitionCut

TELE_SPEED_RPM_X10 = const(0)
TELE_GEN_F_MHZ = const(1)
TELE_GEN_V_DV = const(2)
TELE_P_KW_X10 = const(3)
TELE_Q_KVAR_X10 = const(4)
TELE_REF_RPM_X10 = const(5)
TELE_FF_PCT_X100 = const(6)
TELE_P_PCT_X100 = const(7)
TELE_I_PCT_X100 = const(8)
TELE_D_PCT_X100 = const(9)
TELE_LIMITED = const(10)
TELE_STATUS = const(11)
N_TELE = const(12)
TELE_NAMES = ("speed_rpm_x10", "gen_f_mhz", "gen_v_dv", "p_kw_x10", "q_kvar_x10",
              "ref_rpm_x10", "ff_pct_x100", "p_pct_x100", "i_pct_x100",
              "d_pct_x100", "limited", "status")

STATUS_RUNNING = const(1)
STATUS_FAILSAFE = const(2)


class Controller:
    def __init__(self, hal_impl, cfg=None):
        self.hal = hal_impl
        self.cfg = cfg if cfg is not None else Config()
        self.inp = array("i", [0] * hal.N_IN)
        self.out = array("i", [0] * hal.N_OUT)
        self.tele = array("i", [0] * N_TELE)
        self._build()
        self.running = False
        self.ticks = 0

    def _build(self):
        cfg = self.cfg
        self.meas = Measure(cfg)
        self.gov = Governor(cfg)
        self.avr = Avr(cfg)
        self.ign = IgnitionCut(cfg)

    def set_setting(self, index, value):
        """Change setting number `index` (order of config.SETTINGS).  Refused
        while running: gains and scales change only with the engine stopped."""
        if self.running or index < 0 or index >= len(SETTINGS):
            return False
        if not self.cfg.set(SETTINGS[index][0], value):
            return False
        self._build()
        return True

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        """Start closed-loop control from a running engine without a bump.
        (The start sequence will call this at crank disconnect.)"""
        self.gov.preset(fuel_pct_x100, speed_rpm_x10)
        self.running = True

    def tick(self):
        inp = self.inp
        out = self.out
        self.hal.read(inp)
        m = self.meas
        m.update(inp)
        # -- protection and sequencing slot in here --
        if self.running:
            fuel = self.gov.update(m.speed_rpm_x10, m.p_filt_kw_x10)
            cut = self.ign.update(m.speed_rpm_x10, m.p_jump_kw_x10)
        else:
            fuel = 0
            cut = 0
        bias = self.avr.update(m.gen_v_dv, self.running)
        out[hal.OUT_FUEL_PCT_X100] = fuel
        out[hal.OUT_AVR_BIAS_PCT_X100] = bias
        out[hal.OUT_IGN_CUT_PCT_X100] = cut
        t = self.tele
        g = self.gov
        t[TELE_SPEED_RPM_X10] = m.speed_rpm_x10
        t[TELE_GEN_F_MHZ] = m.gen_f_mhz
        t[TELE_GEN_V_DV] = m.gen_v_dv
        t[TELE_P_KW_X10] = m.p_kw_x10
        t[TELE_Q_KVAR_X10] = m.q_kvar_x10
        t[TELE_REF_RPM_X10] = g.ref_rpm_x10
        t[TELE_FF_PCT_X100] = g.ff_pct_x100
        t[TELE_P_PCT_X100] = g.p_pct_x100
        t[TELE_I_PCT_X100] = g.integ_q12 >> 12
        t[TELE_D_PCT_X100] = g.d_pct_x100
        t[TELE_LIMITED] = g.limited
        t[TELE_STATUS] = STATUS_RUNNING if self.running else 0
        self.hal.write(out, t)
        self.ticks += 1

    def fail_safe(self):
        """Fuel off, whatever state we are in (rule 6)."""
        self.running = False
        out = self.out
        out[hal.OUT_FUEL_PCT_X100] = 0
        out[hal.OUT_AVR_BIAS_PCT_X100] = 0
        out[hal.OUT_IGN_CUT_PCT_X100] = 0
        self.tele[TELE_STATUS] = STATUS_FAILSAFE
        self.hal.safe()

    def run(self, lock_after=-1, gc_every=100):
        """Tick forever as the HAL paces.  An unhandled error drives the set
        to the safe state before it propagates.  lock_after >= 0 turns on
        micropython.heap_lock() after that many ticks (the allocation test)."""
        import gc
        try:
            import micropython
            lock = micropython.heap_lock
            unlock = micropython.heap_unlock
        except (ImportError, AttributeError):
            lock = unlock = None
        locked = False
        try:
            while self.hal.wait_tick():
                self.tick()
                if lock is not None and self.ticks == lock_after:
                    gc.collect()
                    lock()
                    locked = True
                elif not locked and self.ticks % gc_every == 0:
                    # A quiet point between ticks, so a collection never
                    # lands in the middle of one.
                    gc.collect()
        except Exception:
            if locked:
                unlock()
                locked = False
            self.fail_safe()
            raise
        finally:
            if locked:
                unlock()
