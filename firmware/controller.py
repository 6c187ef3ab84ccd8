"""The controller tick: measure -> protect -> sequence -> control -> outputs.

One `Controller` owns the preallocated input, output and telemetry vectors
and the control blocks.  `tick()` is the whole steady-state control step and
must not allocate (proved under MicroPython with heap_lock in the tests).

Order matters and is fixed:
  1. measure     raw HAL inputs -> engineering integers
  2. protect     every protection element, then alarm latching
  3. sequence    the start/stop state machine acts on alarm classes and
                 commands; decides fuel mode, speed set point and relays
  4. control     governor (or start fuel, or none), ignition cut, AVR bias
  5. outputs     one write to the HAL
An unhandled exception anywhere drives the outputs safe (fuel off, breaker
open) before it propagates (rule 6).

Telemetry (TELE_*) is one documented row per tick - the firmware's view of
the world - so the simulator can log it beside the plant's truth and compare
runtimes bit for bit.
"""

from array import array
from fixpt import const, mul_div

import hal
import protection as pr
from config import Config, SETTINGS
from measure import Measure, rpm_x10_of_mhz
from governor import Governor
from avr import Avr
from ignition import IgnitionCut
from alarms import Alarms
from sequencer import Sequencer, FUEL_OFF, FUEL_START, FUEL_GOVERN, FUEL_POWER, \
    ST_STOPPED, ST_COOLDOWN, ST_WARMUP, ST_STABILISE, ST_SYNC, ST_CLOSING, ST_UNLOAD, \
    MODE_AUTO
from powerctl import PowerCtl
from mains import Mains
from eventlog import EventLog

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
TELE_STATE = const(12)
TELE_MODE = const(13)
TELE_ALARMS0 = const(14)     # latched alarms, protection index 0..29 (bit i)
TELE_ALARMS1 = const(15)     # latched alarms, protection index 30..59
TELE_LAST_ALARM = const(16)  # index of the most recent alarm raised (-1 none)
TELE_LAST_VALUE = const(17)  # the value that tripped it (its source's unit)
TELE_FIRST_OUT = const(18)   # first alarm since the last reset (-1 none)
TELE_WORST_CLASS = const(19)
N_TELE = const(20)
TELE_NAMES = ("speed_rpm_x10", "gen_f_mhz", "gen_v_dv", "p_kw_x10", "q_kvar_x10",
              "ref_rpm_x10", "ff_pct_x100", "p_pct_x100", "i_pct_x100",
              "d_pct_x100", "limited", "status", "state", "mode", "alarms0",
              "alarms1", "last_alarm", "last_value", "first_out", "worst_class")

STATUS_RUNNING = const(1)
STATUS_FAILSAFE = const(2)

# Setting numbers on the link and Modbus: 0.. general settings (config.SETTINGS),
# PROT_BASE + 8 * protection index + field for protection settings.
PROT_BASE = const(1000)


class Controller:
    def __init__(self, hal_impl, cfg=None, log=None):
        self.hal = hal_impl
        self.cfg = cfg if cfg is not None else Config()
        self.inp = array("i", [0] * hal.N_IN)
        self.out = array("i", [0] * hal.N_OUT)
        self.tele = array("i", [0] * N_TELE)
        self.log = log if log is not None else EventLog()
        self.prot = pr.Protection(self.cfg)
        self.alarms = Alarms(self.prot, self.log)
        self._build()
        self.ticks = 0

    def _build(self):
        """(Re)build the blocks that hold derived coefficients.  Protection
        settings and the alarm state survive a settings change."""
        cfg = self.cfg
        self.meas = Measure(cfg)
        self.gov = Governor(cfg)
        self.avr = Avr(cfg)
        self.ign = IgnitionCut(cfg)
        self.seq = Sequencer(cfg, self.alarms, self.log)
        self.pc = PowerCtl(cfg)
        self.mains = Mains(cfg)
        self._was_power = False
        self.prot.cfg = cfg
        self.prot._build_inverse()
        self._knock_max = cfg.fuel_max - mul_div(cfg.fuel_max, cfg.knock_derate_pct, 100)

    @property
    def running(self):
        return self.seq.state != ST_STOPPED

    def set_setting(self, index, value):
        """Change setting number `index`: 0.. are config.SETTINGS, PROT_BASE +
        8 * i + field are protection settings.  Refused (old value kept) when
        out of range, unknown, or - for general settings, which rescale the
        control - while the engine is not stopped."""
        if index >= PROT_BASE:
            k = index - PROT_BASE
            return self.prot.set_field(k >> 3, k & 7, value)
        if self.seq.state != ST_STOPPED or index < 0 or index >= len(SETTINGS):
            return False
        name = SETTINGS[index][0]
        if not self.cfg.set(name, value):
            return False
        if name == "ieee1547_category":
            import profiles
            profiles.apply_ieee1547(self.prot, value)
        self._build()
        return True

    def command(self, cmd, arg=0):
        """Operator command (sequencer.CMD_*); returns True if accepted."""
        return self.seq.command(cmd, self.meas.t_ms)

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        """Start on load from a running engine without a bump: the set is
        already at speed with its breaker closed (scenarios and HIL sessions
        that begin on load).  A normal start goes through the sequence."""
        self.gov.preset(fuel_pct_x100, speed_rpm_x10)
        self.seq.force_loaded()

    def _flags(self, m, speed_pct_x100):
        """Condition flags for protection that the measurements imply."""
        cfg = self.cfg
        seq = self.seq
        f = seq.flags
        st = seq.state
        running = ST_WARMUP <= st <= ST_COOLDOWN
        fnom = cfg.f_nom_mhz
        # Speed reads zero while the generator frequency says the engine
        # turns, or the other way round (voltage sensing / excitation gone).
        if running and ((m.speed_rpm_x10 < cfg.rated_rpm_x10 // 20 and m.gen_f_mhz > fnom // 4) or
                        (st >= ST_STABILISE and m.speed_rpm_x10 > cfg.rated_rpm_x10 // 2 and
                         m.gen_f_mhz == 0)):
            f |= pr.FLAG_MPU_LOSS
        if not (m.di & hal.DI_METER_OK):
            f |= pr.FLAG_METER_LOSS
        if speed_pct_x100 < 9000:
            f |= pr.FLAG_UNDERSPEED
        return f

    def tick(self):
        inp = self.inp
        out = self.out
        cfg = self.cfg
        self.hal.read(inp)
        m = self.meas
        m.update(inp)
        t_ms = m.t_ms
        seq = self.seq
        # Speed by the second independent means, from generator frequency:
        # the governor falls back on it if the pickup fails, and overspeed
        # protection takes the higher of the two so one failed sensor cannot
        # blind it.
        f_rpm_x10 = rpm_x10_of_mhz(m.gen_f_mhz, cfg.poles)
        f_pct = mul_div(f_rpm_x10, 10000, cfg.rated_rpm_x10)
        spd_pct = m.speed_pct_x100 if m.speed_pct_x100 > f_pct else f_pct
        # --- protect ---------------------------------------------------------
        v = self.prot.vals
        v[pr.SRC_SPEED_PCT] = spd_pct
        v[pr.SRC_F_DEV_MHZ] = m.f_dev_mhz
        v[pr.SRC_V_PCT] = m.v_pct_x100
        v[pr.SRC_P_PCT] = m.p_pct_x100
        v[pr.SRC_Q_PCT] = m.q_pct_x100
        v[pr.SRC_I_PCT] = m.i_pct_x100
        v[pr.SRC_I_UNBAL_PCT] = m.i_unbal_pct_x100
        v[pr.SRC_I_A_X10] = m.i_max_a_x10
        v[pr.SRC_OIL_KPA] = m.oil_kpa
        v[pr.SRC_COOLANT_DC] = m.coolant_dc
        v[pr.SRC_GAS_MBAR] = m.gas_mbar
        v[pr.SRC_BATT_MV] = m.batt_mv
        v[pr.SRC_DI] = m.di
        v[pr.SRC_ROCOF] = m.rocof_mhz_s if m.rocof_mhz_s >= 0 else -m.rocof_mhz_s
        v[pr.SRC_VSHIFT] = m.vshift_cdeg if m.vshift_cdeg >= 0 else -m.vshift_cdeg
        v[pr.SRC_IMPORT_PCT] = m.import_pct_x100
        flags = self._flags(m, spd_pct)
        v[pr.SRC_FLAGS] = flags
        self.prot.update(seq.armed_mask(m.di), cfg.tick_ms)
        self.alarms.update(t_ms)
        # --- mains and sequence ----------------------------------------------
        mn = self.mains
        mn.update(m, seq.mode == MODE_AUTO, (m.di & hal.DI_GCB_CLOSED) != 0,
                  self.prot.mains_tripped, cfg.tick_ms)
        seq.amf_run = mn.amf_run
        seq.update(m, t_ms)
        # --- control ---------------------------------------------------------
        speed = m.speed_rpm_x10
        if flags & pr.FLAG_MPU_LOSS and m.gen_f_mhz > 0:
            # Pickup lost: govern on generator frequency until the set stops.
            speed = f_rpm_x10
        g = self.gov
        fm = seq.fuel_mode
        cut = 0
        if fm == FUEL_POWER:
            if not self._was_power:
                self.pc.start(m.p_filt_kw_x10)
            self._was_power = True
            p_ref = self.pc.update(m, seq.state == ST_UNLOAD)
            seq.unloaded = self.pc.unloaded(m)
            fuel = g.update_power(p_ref, m.p_filt_kw_x10, speed)
            cut = self.ign.update(speed, m.p_jump_kw_x10)
        elif fm == FUEL_GOVERN:
            self._was_power = False
            if seq.just_disconnected:
                g.preset(cfg.start_fuel_pct_x100, speed)
            g.sp_rpm_x10 = seq.sp_rpm_x10
            g.sync_gain = seq.state == ST_SYNC or \
                (seq.state == ST_CLOSING and (m.di & hal.DI_MB_CLOSED) != 0)
            if mn.retransfer:
                # Closed-transition retransfer: hold the island at the target
                # slip above the returning grid until the MB closes.
                g.sp_rpm_x10 = rpm_x10_of_mhz(mn.syncer.f_target_mhz, cfg.poles)
            g.fuel_max_now = self._knock_max if m.di & hal.DI_KNOCK else cfg.fuel_max
            # Without metering there is no kW to feed forward: PI alone.
            p_ff = m.p_filt_kw_x10 if not (flags & pr.FLAG_METER_LOSS) else 0
            fuel = g.update(speed, p_ff)
            cut = self.ign.update(speed, m.p_jump_kw_x10)
        elif fm == FUEL_START:
            fuel = cfg.start_fuel_pct_x100
        else:
            fuel = 0
        if fm == FUEL_POWER:
            bias = self.avr.update_q(self.pc.q_ref_kvar_x10, m.q_kvar_x10)
        elif (seq.state == ST_SYNC or mn.retransfer) and m.bus_v_dv > 0:
            bias = self.avr.match(m.bus_v_dv, m.gen_v_dv)
        else:
            bias = self.avr.update(m.gen_v_dv, fm == FUEL_GOVERN)
        out[hal.OUT_FUEL_PCT_X100] = fuel
        out[hal.OUT_AVR_BIAS_PCT_X100] = bias
        out[hal.OUT_IGN_CUT_PCT_X100] = cut
        out[hal.OUT_DO] = seq.do | mn.do
        # --- telemetry -------------------------------------------------------
        t = self.tele
        a = self.alarms
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
        t[TELE_STATUS] = STATUS_RUNNING if fm != FUEL_OFF else 0
        t[TELE_STATE] = seq.state
        t[TELE_MODE] = seq.mode
        t[TELE_ALARMS0] = a.bits0
        t[TELE_ALARMS1] = a.bits1
        t[TELE_LAST_ALARM] = a.last
        t[TELE_LAST_VALUE] = a.last_value
        t[TELE_FIRST_OUT] = a.first_out
        t[TELE_WORST_CLASS] = a.worst
        self.hal.write(out, t)
        self.ticks += 1

    def fail_safe(self):
        """Fuel off and breaker open, whatever state we are in (rule 6)."""
        out = self.out
        out[hal.OUT_FUEL_PCT_X100] = 0
        out[hal.OUT_AVR_BIAS_PCT_X100] = 0
        out[hal.OUT_IGN_CUT_PCT_X100] = 0
        out[hal.OUT_DO] = hal.DO_GCB_OPEN | hal.DO_COMMON_SHUTDOWN
        self.tele[TELE_STATUS] = STATUS_FAILSAFE
        self.hal.safe()

    def quiet_point(self):
        """Work that must not land inside a tick: persist the event log
        (rate-limited by the log itself; forced after a shutdown)."""
        a = self.alarms
        if self.log.flush(self.meas.t_ms, a.force_flush):
            pass
        a.force_flush = False

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
                    # A quiet point between ticks, so a collection (and a
                    # log write) never lands in the middle of one.
                    self.quiet_point()
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
