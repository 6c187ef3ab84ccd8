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
from fixpt import const, mul_div, ptr32, sat, viper
import protection as pr
from config import Config, SETTINGS, LIVE, settings_crc
from measure import Measure, rpm_x10_of_mhz
from governor import Governor
from avr import Avr
from ignition import IgnitionCut
from alarms import Alarms
from sequencer import Sequencer
from powerctl import PowerCtl
from antiisland import ActiveIslanding
from mains import Mains
from eventlog import EventLog
import synccheck
import profiles
from breakers import BreakerWatch
import link
import modbus
import registers

# -- constants of hal, protection, sequencer, link (tools/gen_consts.py; do not edit) --
_DI_ESTOP = const(1)  # hal.DI_ESTOP
_DI_GCB_CLOSED = const(16)  # hal.DI_GCB_CLOSED
_DI_KNOCK = const(8)  # hal.DI_KNOCK
_DI_MB_CLOSED = const(128)  # hal.DI_MB_CLOSED
_DI_METER_OK = const(64)  # hal.DI_METER_OK
_DO_COMMON_SHUTDOWN = const(256)  # hal.DO_COMMON_SHUTDOWN
_DO_CRANK = const(1)  # hal.DO_CRANK
_DO_GAS_VALVE = const(2)  # hal.DO_GAS_VALVE
_DO_GCB_CLOSE = const(16)  # hal.DO_GCB_CLOSE
_DO_GCB_OPEN = const(32)  # hal.DO_GCB_OPEN
_DO_IGNITION = const(4)  # hal.DO_IGNITION
_DO_MB_CLOSE = const(1024)  # hal.DO_MB_CLOSE
_DO_MB_OPEN = const(2048)  # hal.DO_MB_OPEN
_DO_PRELUBE = const(8)  # hal.DO_PRELUBE
_DO_SHED_1 = const(4096)  # hal.DO_SHED_1
_N_IN = const(21)  # hal.N_IN
_N_OUT = const(4)  # hal.N_OUT
_OUT_AVR_BIAS_PCT_X100 = const(1)  # hal.OUT_AVR_BIAS_PCT_X100
_OUT_DO = const(3)  # hal.OUT_DO
_OUT_FUEL_PCT_X100 = const(0)  # hal.OUT_FUEL_PCT_X100
_OUT_IGN_CUT_PCT_X100 = const(2)  # hal.OUT_IGN_CUT_PCT_X100
_FLAG_GCB_FAIL_OPEN = const(32)  # protection.FLAG_GCB_FAIL_OPEN
_FLAG_ISLANDING = const(1024)  # protection.FLAG_ISLANDING
_FLAG_MB_FAIL_OPEN = const(512)  # protection.FLAG_MB_FAIL_OPEN
_FLAG_METER_LOSS = const(2)  # protection.FLAG_METER_LOSS
_FLAG_MPU_LOSS = const(1)  # protection.FLAG_MPU_LOSS
_FLAG_UNDERSPEED = const(64)  # protection.FLAG_UNDERSPEED
_FUEL_GOVERN = const(2)  # sequencer.FUEL_GOVERN
_FUEL_OFF = const(0)  # sequencer.FUEL_OFF
_FUEL_POWER = const(3)  # sequencer.FUEL_POWER
_FUEL_START = const(1)  # sequencer.FUEL_START
_MODE_AUTO = const(2)  # sequencer.MODE_AUTO
_ST_CLOSING = const(9)  # sequencer.ST_CLOSING
_ST_COOLDOWN = const(13)  # sequencer.ST_COOLDOWN
_ST_STABILISE = const(6)  # sequencer.ST_STABILISE
_ST_STOPPED = const(0)  # sequencer.ST_STOPPED
_ST_SYNC = const(8)  # sequencer.ST_SYNC
_ST_UNLOAD = const(11)  # sequencer.ST_UNLOAD
_ST_WARMUP = const(4)  # sequencer.ST_WARMUP
_LINK_VERSION = const(2)  # link.LINK_VERSION
# -- end of generated constants --

# Counters stop here, inside a 32-bit port's 31-bit small ints (a counter
# past them would allocate on every count, and raise once stored in an array).
_CNT_MAX = const(1000000000)

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
TELE_PHASE_CDEG = const(20)  # measured generator minus mains phase, 0.01 deg
TELE_SLIP_MHZ = const(21)    # measured (filtered) slip, generator minus mains, mHz
TELE_REFUSED = const(22)     # setting writes and commands refused since power-up
TELE_MAP_KPA_X10 = const(23)  # manifold absolute pressure, 0.1 kPa (0: no valid reading)
TELE_MAP_LEAD_PCT_X100 = const(24)  # the governor's lead on the manifold's charge deficit
N_TELE = const(25)
TELE_NAMES = ("speed_rpm_x10", "gen_f_mhz", "gen_v_dv", "p_kw_x10", "q_kvar_x10",
              "ref_rpm_x10", "ff_pct_x100", "p_pct_x100", "i_pct_x100",
              "d_pct_x100", "limited", "status", "state", "mode", "alarms0",
              "alarms1", "last_alarm", "last_value", "first_out", "worst_class",
              "phase_cdeg", "slip_mhz", "refused", "map_kpa_x10", "map_lead_pct_x100")

STATUS_RUNNING = const(1)
STATUS_FAILSAFE = const(2)

_STALL_N = const(50)          # stall: speed history, 50 ticks (0.5 s)
_STALL_LOW_N = const(150)     # stall: ticks under 95 % before a bog counts (1.5 s)

_PORT_SETTINGS = ("mb_address", "mb_baud", "mb_parity", "mb_stop_bits")

# Setting numbers on the link and Modbus: 0.. general settings (config.SETTINGS),
# PROT_BASE + 8 * protection index + field for protection settings.
PROT_BASE = const(1000)


class Controller:
    def __init__(self, hal_impl, cfg=None, log=None):
        self.hal = hal_impl
        self.cfg = cfg if cfg is not None else Config()
        self.inp = array("i", [0] * _N_IN)
        self.out = array("i", [0] * _N_OUT)
        self.tele = array("i", [0] * N_TELE)
        self._tele_on = getattr(hal_impl, "WANTS_TELE", True)
        self.log = log if log is not None else EventLog()
        self.prot = pr.Protection(self.cfg)
        self.alarms = Alarms(self.prot, self.log)
        # The sequence and the mains monitor keep their state (mode, latches,
        # mains health) across a settings change; the blocks with derived
        # coefficients are rebuilt.
        self.seq = Sequencer(self.cfg, self.alarms, self.log)
        self.mains = Mains(self.cfg)
        self._build()
        self.ticks = 0
        self.refused = 0          # setting writes and commands refused (saturates)
        # Output-stage supervision (see _outputs)
        self.gcb_watch = BreakerWatch()   # failing to open: the MB backs it up
        self.mb_watch = BreakerWatch()    # ... and the other way round
        self.close_blocked = 0    # close coils dropped by the output interlock
        self.failsafe = False     # fail_safe() has run: outputs held safe
        self.on_quiet = None      # callable() run at each quiet point (between ticks)
        self._spd_ring = array("i", [0] * _STALL_N)   # speed pct, last _STALL_N ticks
        self._stall_low_n = 0                          # ticks the speed has been under 95 %
        self._f_ring = array("i", [0] * 3)            # frequency speed pct, last 3 ticks
        self._f_k = 0
        self._spd_k = 0
        # Counters for the register map (since power-up; persisted with the
        # configuration in issue 11).
        self.run_s = 0
        self.starts = 0
        self.kwh_x10 = 0
        self._run_ms = 0
        self._e_acc = 0           # kW_x10 * ms not yet a whole 0.1 kWh
        self._st_prev = _ST_STOPPED
        # Modbus RTU slave on the HAL's UART (modbus.py, registers.py)
        self.settings_crc = settings_crc()
        self.link_version = _LINK_VERSION
        self.regs = registers.Registers(self)
        # FC17: the server id carries the firmware revision and the run
        # indicator comes last (no additional data): masters that take the
        # last byte as the run status (pymodbus) read it right too.
        self.mb = modbus.Slave(self.regs, self.cfg.mb_address, self.cfg.mb_baud, registers.IDENT,
                               registers.SERVER_ID)

    def _build(self):
        """(Re)build the blocks that hold derived coefficients.  Protection
        settings and the alarm state survive a settings change."""
        cfg = self.cfg
        self.meas = Measure(cfg)
        self.gov = Governor(cfg)
        self.avr = Avr(cfg)
        self.ign = IgnitionCut(cfg)
        self.seq.rebuild()
        self.pc = PowerCtl(cfg)
        self.aai = ActiveIslanding(cfg)
        self.mains.rebuild()
        self._was_power = False
        self.prot.cfg = cfg
        self.prot._build_inverse()
        self._knock_max = cfg.fuel_max - mul_div(cfg.fuel_max, cfg.knock_derate_pct, 100)
        # One of a stack (fleet.py): built only when the unit has an id, so a
        # single set runs none of it (one test per tick).
        seq = self.seq
        if cfg.fleet_unit_id:
            import fleet
            old = getattr(self, "fleet", None)
            self.fleet = fleet.Fleet(cfg)
            if old is not None:
                self.fleet.keep_plant(old)
            self._fleet_on = 1
            seq.fleet = True
            seq.fleet_run = False        # until power management has heard the stack
            seq.fleet_db_ok = False
            self.mains.stack = True
        else:
            self.fleet = None
            self._fleet_on = 0
            seq.fleet = False
            self.mains.stack = False
            seq.fleet_run = True
            seq.fleet_db_ok = True

    @property
    def running(self):
        return self.seq.state != _ST_STOPPED

    def set_setting(self, index, value):
        """Change setting number `index`: 0.. are config.SETTINGS, PROT_BASE +
        8 * i + field are protection settings.  Refused (old value kept, the
        refusal counted) when unknown, not an integer, out of range,
        inconsistent with the other settings, below a protection's class
        floor or disabling an always-enabled protection, or - for general
        settings, which rescale the control - while the engine is not
        stopped.  This is the one path the link, scenarios and Modbus use."""
        ok = self._set(index, value)
        # (A negative number is the link's probe - LinkClient.sync - always
        # refused, and not a write attempt: not counted.)
        if not ok and not (isinstance(index, int) and index < 0):
            self._refuse()
        return ok

    def _refuse(self):
        if self.refused < 1000000:
            self.refused += 1

    def _set(self, index, value):
        if not isinstance(index, int) or not isinstance(value, int) or \
                isinstance(value, bool):
            return False
        if index >= PROT_BASE:
            k = index - PROT_BASE
            return self.prot.set_field(k >> 3, k & 7, value)
        if index < 0 or index >= len(SETTINGS):
            return False
        name = SETTINGS[index][0]
        if self.seq.state != _ST_STOPPED:
            # Running: only the set points, grid limits and port settings
            # (config.LIVE), which need no rebuild of the control.
            if name not in LIVE or not self.cfg.set_live(index, value):
                return False
            self.settings_changed(index)
            return True
        if name == "ieee1547_category":
            # The profile and the setting change together, or neither does.
            if not 1 <= value <= 3 or not profiles.apply_ieee1547(self.prot, value):
                return False
        if not self.cfg.set(name, value):
            return False
        self._build()
        self.settings_changed(index)
        return True

    def set_settings(self, pairs):
        """Several general settings [(index, value)] as one change (any
        order), engine stopped only; all or nothing.  True if applied."""
        if self.seq.state != _ST_STOPPED:
            self._refuse()
            return False
        named = []
        cat = -1
        for i, v in pairs:
            if not isinstance(i, int) or not 0 <= i < len(SETTINGS):
                self._refuse()
                return False
            if SETTINGS[i][0] == "ieee1547_category":
                cat = v
            named.append((SETTINGS[i][0], v))
        # The trip profile changes with its setting, or neither does: load
        # the profile first, then the settings as a set; if the set is
        # refused, put back exactly the pickups and delays the profile
        # replaced (they may have been set by hand since).
        pr_ = self.prot
        saved = [(j, pr_.pickup[j], pr_.delay_ms[j]) for j in
                 [pr.index_of(name) for name, _ in profiles.IEEE1547]]
        if cat != -1 and (not isinstance(cat, int) or isinstance(cat, bool) or
                          not profiles.apply_ieee1547(pr_, cat)):
            self._refuse()
            return False
        if self.cfg.set_many(named) is not None:
            if cat != -1:
                pr_.set_pickups(saved)
            self._refuse()
            return False
        self._build()
        for i, v in pairs:
            self.settings_changed(i)
        return True

    def settings_changed(self, index):
        """Follow-up of setting `index` having changed: the power loop's
        derived slope, and the Modbus port (re-opened once the reply to the
        write that changed it has gone)."""
        name = SETTINGS[index][0]
        self.seq.settings_changed()
        fl = self.fleet
        if fl is not None and name in fl.PLANT:
            fl.plant_written()          # the stack's set points: its other units take them
        if name == "pf_x1000" or name == "ramp_pct_s":
            self.pc.retune()
        elif name == "fuel" or name == "map_learn_pct":
            # Another fuel's map, or other bounds: start again from the
            # commissioned line.
            self.gov.map_init()
        elif name in _PORT_SETTINGS:
            self.regs.port_changed = True

    def share_rx(self, buf, n):
        """A frame from the stack's share link (sharelink.py), between ticks:
        -1 taken, else the refusal (sharelink.R_*, counted); a single set
        refuses every frame (R_UNIT)."""
        if self.fleet is None:
            return 3       # sharelink.R_UNIT: not a unit of a stack
        return self.fleet.rx(buf, n)

    def serve_uart(self, buf, n, t_us):
        """Serve the Modbus port between ticks: n bytes of buf arrived at
        t_us (n = 0: the line was silent up to t_us).  Replies leave through
        the HAL at once.  Called by the HAL's wait_tick (on_uart) or by the
        simulator; never inside a tick."""
        mb = self.mb
        if n > 0:
            mb.feed(buf, n, t_us)
        else:
            mb.idle(t_us)
        h = self.hal
        while True:
            k = mb.poll(t_us)
            if k == 0:
                break
            h.uart_send(mb.reply, k)
        r = self.regs
        if r.port_changed:
            r.port_changed = False
            cfg = self.cfg
            mb.configure(cfg.mb_address, cfg.mb_baud)
            h.uart_config(cfg.mb_baud, cfg.mb_parity, cfg.mb_stop_bits)

    def command(self, cmd, arg=0):
        """Operator command (sequencer.CMD_*); returns True if accepted
        (a refusal is counted)."""
        ok = isinstance(cmd, int) and self.seq.command(cmd, self.meas.t_ms)
        if not ok:
            self._refuse()
        return ok

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        """Start on load from a running engine without a bump: the set is
        already at speed with its breaker closed (scenarios and HIL sessions
        that begin on load).  Only before the first tick: once the
        controller runs, only the sequence may put the set on load (a begin
        later would jump a locked-out set to LOADED).  Returns True if done."""
        if self.ticks != 0 or self.seq.state != _ST_STOPPED or \
                not isinstance(fuel_pct_x100, int) or not isinstance(speed_rpm_x10, int):
            self._refuse()
            return False
        cfg = self.cfg
        self.gov.preset(sat(fuel_pct_x100, 0, cfg.fuel_max),
                        sat(speed_rpm_x10, 0, 2 * cfg.rated_rpm_x10))
        self.seq.force_loaded()
        return True

    @viper
    def _flags(self, m, speed_pct_x100: int) -> int:
        """Condition flags for protection that the measurements imply."""
        # (Machine code on a board: host_sim/native.py.)
        cfg = self.cfg
        seq = self.seq
        f = int(seq.flags)
        st = int(seq.state)
        fnom = int(cfg.f_nom_mhz)
        rated = int(cfg.rated_rpm_x10)
        spd = int(m.speed_rpm_x10)
        gen_f = int(m.gen_f_mhz)
        # Speed reads zero while the generator frequency says the engine
        # turns, or the other way round (voltage sensing / excitation gone).
        if _ST_WARMUP <= st <= _ST_COOLDOWN and (
                (spd < rated // 20 and gen_f > fnom // 4) or
                (st >= _ST_STABILISE and spd > rated // 2 and gen_f == 0)):
            f |= _FLAG_MPU_LOSS
        if not (int(m.di) & _DI_METER_OK):
            f |= _FLAG_METER_LOSS
        if speed_pct_x100 < 9000:
            f |= _FLAG_UNDERSPEED
        if self.gcb_watch.failed:
            f |= _FLAG_GCB_FAIL_OPEN
        if self.mb_watch.failed:
            f |= _FLAG_MB_FAIL_OPEN
        if self.aai.detected:
            f |= _FLAG_ISLANDING
        return f

    @viper
    def tick(self):
        # Machine code on a board (host_sim/native.py): objects read into
        # arithmetic are cast with int(), flags kept as 0/1 words (viper has
        # no `not` on a machine value).
        inp = self.inp
        out = self.out
        cfg = self.cfg
        tick = int(cfg.tick_ms)
        self.hal.read(inp)
        m = self.meas
        m.update(inp)
        t_ms = int(m.t_ms)
        di = int(m.di)
        seq = self.seq
        # Speed by the second independent means, from generator frequency:
        # the governor falls back on it if the pickup fails, and overspeed
        # protection takes the higher of the two so one failed sensor cannot
        # blind it.
        gen_f = int(m.gen_f_mhz)
        # (rpm_x10_of_mhz written out, as the product below: gen_f <= 150 Hz.)
        f_rpm_x10 = gen_f * 12 // (int(cfg.poles) * 10)
        f_pct = f_rpm_x10 * 10000 // int(cfg.rated_rpm_x10)
        # The frequency path takes the lowest of the last three ticks (two
        # cycles or more): a real overspeed raises every cycle, a grid phase
        # jump shortens one cycle (a 60 deg jump reads 72 Hz for one cycle)
        # and must not shut the engine down.  The pickup stays instantaneous.
        fr = self._f_ring
        k = int(self._f_k)
        fr[k] = f_pct
        self._f_k = k + 1 if k < 2 else 0
        a = int(fr[0])
        b = int(fr[1])
        f_conf = a if a < b else b
        a = int(fr[2])
        if a < f_conf:
            f_conf = a
        a = int(m.speed_pct_x100)
        spd_pct = a if a > f_conf else f_conf
        # --- protect ---------------------------------------------------------
        # Stall.  An engine still falling faster than 5 %/s (against 50 ms
        # ago) is stalling; so is one that has been under 95 % for 1.5 s and
        # has not risen by 1 %/s over the last 0.5 s: it has bogged under a
        # load it cannot carry.  The bottom of a block-load dip, where the
        # speed sits for a few tenths while the turbo spools and then
        # climbs, is neither.
        ring = self._spd_ring
        k = int(self._spd_k)
        j = k + _STALL_N - 5
        d_fast = spd_pct - int(ring[j - _STALL_N if j >= _STALL_N else j])
        n = int(self._stall_low_n)
        n = 0 if spd_pct >= 9500 else (n + 1 if n < _STALL_LOW_N else n)
        self._stall_low_n = n
        bog = n >= _STALL_LOW_N and spd_pct - int(ring[k]) <= 50
        stall_pct = spd_pct if d_fast <= -25 or bog else 10000
        ring[k] = spd_pct
        self._spd_k = k + 1 if k + 1 < _STALL_N else 0
        flags = int(self._flags(m, spd_pct))
        prot = self.prot
        prot.load(m, spd_pct, stall_pct, flags)
        prot.update(seq.armed_mask(di), tick)
        self.alarms.update(t_ms)
        # --- mains and sequence ----------------------------------------------
        mn = self.mains
        mn.update(m, int(seq.mode) == _MODE_AUTO, (di & _DI_GCB_CLOSED) != 0,
                  prot.mains_tripped, tick)
        seq.amf_run = mn.amf_run
        if int(self._fleet_on) != 0:
            al = self.alarms
            self.fleet.tick(self.hal, m, seq, int(al.worst), int(self.run_s),
                            int(al.last), tick)
        seq.update(m, t_ms)
        st = int(seq.state)
        prev = int(self._st_prev)
        cnt_max = _CNT_MAX
        if st != prev:
            if st == _ST_WARMUP and prev < _ST_WARMUP:
                x = int(self.starts)
                if x < cnt_max:
                    self.starts = x + 1
            self._st_prev = st
        if _ST_WARMUP <= st <= _ST_COOLDOWN:
            x = int(self._run_ms) + tick
            if x >= 1000:
                x -= 1000
                y = int(self.run_s)
                if y < cnt_max:
                    self.run_s = y + 1
            self._run_ms = x
        p = int(m.p_kw_x10)
        if p > 0:
            # 0.1 kWh = 3,600,000 kW_x10 ms
            e = int(self._e_acc) + p * tick
            x = 3600000
            if e >= x:
                e -= x
                y = int(self.kwh_x10)
                if y < 1073741823:
                    self.kwh_x10 = y + 1
            self._e_acc = e
        # --- control ---------------------------------------------------------
        speed = int(m.speed_rpm_x10)
        if flags & _FLAG_MPU_LOSS and gen_f > 0:
            # Pickup lost: govern on generator frequency until the set stops.
            speed = f_rpm_x10
        elif int(self._fleet_on) != 0 and int(self.fleet.shared_bus) != 0 and gen_f > 0:
            # On an island bus with other sets: govern the bus's frequency
            # (its terminals are the bus), not this rotor's own swing
            # against the others.  Fed the swing, each governor pushes on
            # it late (actuator, manifold, torque lags) and undamps it:
            # measured, two and three units hunt at ~8 Hz with their kW
            # apart by up to 70 % of rating; the bus frequency is the
            # stack's common one.  The mean of the last two readings: one
            # cycle's zero-crossing jitter halved, for half a tick's lag (a
            # low-pass of a quarter a tick lagged the loop, and the stack
            # rang after a load rejection, 58.4-61.3 Hz, a biogas unit
            # swinging 11 % apart from two on natural gas; measured).
            fl = self.fleet
            x = int(fl.f_prev_rpm_x10)
            fl.f_prev_rpm_x10 = f_rpm_x10
            speed = f_rpm_x10 if x == 0 else (f_rpm_x10 + x) >> 1
        g = self.gov
        fm = int(seq.fuel_mode)
        cut = 0
        fuel = 0
        ign = self.ign
        p_filt = int(m.p_filt_kw_x10)
        # The fuel map learns only from honest steady running.
        learn = (flags & _FLAG_METER_LOSS) == 0 and int(ign.cut_pct_x100) == 0
        if fm == _FUEL_POWER:
            if not self._was_power:
                self.pc.start(p_filt)
            self._was_power = True
            pc = self.pc
            if int(self._fleet_on) != 0:
                fl = self.fleet
                pc.share_x1000 = int(fl.par_share_x1000)
                pc.share_err_pct_x100 = int(fl.par_err_pct_x100)
                pc.peers_whole = int(fl.par_whole)
            p_ref = int(pc.update(m, st == _ST_UNLOAD))
            seq.unloaded = pc.is_unloaded        # pc.unloaded(m), as update left it
            # Active anti-islanding: a small perturbation whose echo in the
            # frequency only an island can give (antiisland.py).
            armed = bool(seq.paralleled) and int(seq.par_ms) >= int(cfg.lom_inhibit_ms)
            # Near full output the pattern is centred one amplitude below
            # the rating (clipped at the top it would be lost): the set then
            # gives up aai_pct_x10 of output on average, no more.
            b = int(self.aai.update(gen_f, armed))
            if b != 0:
                top = int(cfg.p_fuel_rated_kw_x10) - int(self.aai.amp_kw_x10)
                x = (p_ref if p_ref < top else top) + b
                top = int(cfg.p_fuel_rated_kw_x10)
                p_ref = 0 if x < 0 else (x if x < top else top)
            g.learn_ok = learn
            fuel = int(g.update_power(p_ref, p_filt, speed))
            cut = int(ign.update(speed, int(m.p_jump_kw_x10)))
        elif fm == _FUEL_GOVERN:
            self._was_power = False
            if seq.just_disconnected:
                g.preset(cfg.start_fuel_pct_x100, speed)
            g.sp_rpm_x10 = int(seq.sp_rpm_x10)
            g.sync_gain = st == _ST_SYNC or \
                (st == _ST_CLOSING and (di & _DI_MB_CLOSED) != 0)
            rt = 1 if mn.retransfer else 0
            if rt:
                # Closed-transition retransfer: hold the island at the target
                # slip above the returning grid until the MB closes.
                g.sp_rpm_x10 = rpm_x10_of_mhz(mn.syncer.f_target_mhz, cfg.poles)
            knock = di & _DI_KNOCK
            g.fuel_max_now = self._knock_max if knock else cfg.fuel_max
            # Without metering there is no kW to feed forward: PI alone.
            p_ff = p_filt if (flags & _FLAG_METER_LOSS) == 0 else 0
            g.learn_ok = learn and knock == 0
            # The MAP lead only on load, and not while the island is being
            # synchronised back to the grid (the mains syncer's own tuning).
            g.map_enable = (di & _DI_GCB_CLOSED) != 0 and rt == 0
            if int(self._fleet_on) != 0:
                fl = self.fleet
                g.bias_rpm_x10 = int(fl.spd_bias_rpm_x10)   # island load sharing
                if int(fl.shared_bus) != 0:
                    # On a bus with other sets, its own kW is not the load
                    # to feed forward, nor its manifold's deficit against
                    # it: a unit that takes more fuel takes load from the
                    # others at once (its angle moves ahead), and fuel for
                    # that load pushes it further - the swing between sets
                    # grows (measured: four units diverge within 3 s,
                    # fleet4-island-ai).  It feeds forward its share of the
                    # stack's load (the mean % of rating, its own reading
                    # in it), with the timed lead.
                    if p_ff != 0 and int(fl.ls.sharing) != 0:
                        j = int(m.p_jump_kw_x10)
                        lim = int(cfg.ff_fast_kw_x10)
                        p_ff = int(fl.share_ff_kw_x10(p_ff, j > lim or -j > lim))
                        fl.ff_hold_q8 = p_ff << 8
                    elif int(fl.ff_hold_q8) >= 0:
                        # On droop (the link failed): the share it last
                        # knew, drawn to its own kW over ~5 s (512 ticks).
                        # Its own kW at once would feed the swing again
                        # (measured: four units on droop hunted within
                        # 10 s); held still, the link's return stepped
                        # every unit's feed-forward to the new share at
                        # once (a 2.5 % bump after a 15 % step on droop).
                        h = int(fl.ff_hold_q8)
                        if p_ff != 0:
                            h += ((p_ff << 8) - h) >> 9
                            fl.ff_hold_q8 = h
                        p_ff = h >> 8
                    g.map_enable = False
                else:
                    fl.ff_hold_q8 = -1
                    fl.f_prev_rpm_x10 = 0
            fuel = int(g.update(speed, p_ff, int(m.map_kpa_x10)))
            cut = int(ign.update(speed, int(m.p_jump_kw_x10)))
        elif fm == _FUEL_START:
            fuel = int(cfg.start_fuel_pct_x100)
        if fm == _FUEL_POWER:
            bias = int(self.avr.update_q(int(self.pc.q_ref_kvar_x10), int(m.q_kvar_x10)))
        elif (st == _ST_SYNC or mn.retransfer) and int(m.bus_v_dv) > 0:
            bias = int(self.avr.match(int(m.bus_v_dv), int(m.gen_v_dv)))
        else:
            v = int(m.gen_v_dv)
            if int(self._fleet_on) != 0:
                v -= int(self.fleet.v_bias_dv)    # the reference raised by the bias
            bias = int(self.avr.update(v, fm == _FUEL_GOVERN))
        if fm != _FUEL_POWER:
            # Not in power control (the grid gone, a stop, an e-stop): the
            # perturbation stops and the detector starts afresh next time.
            self.aai.update(0, False)
        do = int(seq.do) | int(mn.do)
        if int(self._fleet_on) != 0:
            # Load shedding: stage k energises DO_SHED_1..k (the bits are
            # consecutive).  Every unit works the stage out alike; wired
            # in parallel, any one of them sheds.
            k = int(self.fleet.pm.shed_stage)
            if k > 0:
                do |= ((1 << k) - 1) * _DO_SHED_1
        self._outputs(m, do, fuel, bias, cut)
        if self._tele_on:
            self._telemetry(m, g, fm)
        self.hal.write(out, self.tele)
        # Wraps to 1, never 0 (0 is "not ticked yet": begin()), within the
        # small ints: 124 days at 100 Hz would leave them.
        t = int(self.ticks)
        self.ticks = t + 1 if t < cnt_max else 1

    @viper
    def _telemetry(self, m, g, fm: int):
        """The telemetry row (TELE_*), for a HAL that uses it (WANTS_TELE).
        (Machine code on a board: host_sim/native.py.)"""
        seq = self.seq
        t = ptr32(self.tele)
        a = self.alarms
        t[TELE_SPEED_RPM_X10] = int(m.speed_rpm_x10)
        t[TELE_GEN_F_MHZ] = int(m.gen_f_mhz)
        t[TELE_GEN_V_DV] = int(m.gen_v_dv)
        t[TELE_P_KW_X10] = int(m.p_kw_x10)
        t[TELE_Q_KVAR_X10] = int(m.q_kvar_x10)
        t[TELE_REF_RPM_X10] = int(g.ref_rpm_x10)
        t[TELE_FF_PCT_X100] = int(g.ff_pct_x100)
        t[TELE_P_PCT_X100] = int(g.p_pct_x100)
        t[TELE_I_PCT_X100] = int(g.integ_q12) >> 12
        t[TELE_D_PCT_X100] = int(g.d_pct_x100)
        t[TELE_MAP_KPA_X10] = int(m.map_kpa_x10)
        t[TELE_MAP_LEAD_PCT_X100] = int(g.map_lead_pct_x100)
        t[TELE_LIMITED] = int(g.limited)
        t[TELE_STATUS] = STATUS_RUNNING if fm != _FUEL_OFF else 0
        t[TELE_STATE] = int(seq.state)
        t[TELE_MODE] = int(seq.mode)
        t[TELE_ALARMS0] = int(a.bits0)
        t[TELE_ALARMS1] = int(a.bits1)
        t[TELE_LAST_ALARM] = int(a.last)
        t[TELE_LAST_VALUE] = int(a.last_value)
        t[TELE_FIRST_OUT] = int(a.first_out)
        t[TELE_WORST_CLASS] = int(a.worst)
        t[TELE_PHASE_CDEG] = int(m.phase_cdeg)
        t[TELE_SLIP_MHZ] = int(m.slip_f_mhz)
        t[TELE_REFUSED] = int(self.refused)

    @viper
    def _outputs(self, m, do: int, fuel: int, bias: int, cut: int) -> int:
        """The last word on the outputs, whatever the sequence and the mains
        monitor asked: the interlocks no state, command or setting can get
        round, checked here where the outputs leave; writes the output
        vector and returns the relay word.
          - e-stop: no fuel, no crank, gas valve, ignition, pre-lube or
            breaker close; the generator breaker is opened;
          - breaker failure: a breaker told to open that is still closed
            after gcb_ms, on whatever path told it (e-stop, shutdown, trip,
            unload, loss of mains) - backup-trip the other breaker so the
            grid cannot motor a stopped engine, nor the set energise a lost
            utility, and raise the fail-to-open alarm;
          - sync check until the contacts touch: a close coil stays
            energised only while the close is still permitted: across a
            closed mains breaker, inside the synchronising window now and at
            contact (never onto a dead utility); across an open one, a dead
            bus close that dead_bus_close allows.  A close that loses its
            window drops the coil at once."""
        # (Machine code on a board: host_sim/native.py.)
        cfg = self.cfg
        tick = int(cfg.tick_ms)
        di = int(m.di)
        gcb = (di & _DI_GCB_CLOSED) != 0
        mb = (di & _DI_MB_CLOSED) != 0
        if di & _DI_ESTOP:
            fuel = 0
            cut = 0
            do &= ~(_DO_CRANK | _DO_GAS_VALVE | _DO_IGNITION | _DO_PRELUBE |
                    _DO_GCB_CLOSE)
            if gcb:
                do |= _DO_GCB_OPEN
        # Breaker failure: each breaker that will not open is backed up by
        # the other.
        # (A watch with nothing to time and nothing to clear is not called:
        # it would return its failed flag unchanged.)
        gw = self.gcb_watch
        mw = self.mb_watch
        if (gcb and do & _DO_GCB_OPEN) or (not gcb and (gw.open_ms or gw.failed)):
            f = gw.watch_open(gcb, do & _DO_GCB_OPEN, tick, cfg.gcb_ms)
        else:
            f = gw.failed
        if f:
            do &= ~_DO_MB_CLOSE
            if mb:
                do |= _DO_MB_OPEN
        if (mb and do & _DO_MB_OPEN) or (not mb and (mw.open_ms or mw.failed)):
            f = mw.watch_open(mb, do & _DO_MB_OPEN, tick, cfg.gcb_ms)
        else:
            f = mw.failed
        if f:
            do &= ~_DO_GCB_CLOSE
            if gcb:
                do |= _DO_GCB_OPEN
        # Close interlocks.  A trip coil wins over a close coil in the
        # mechanism; here a close is never asked while an open is.
        if do & _DO_GCB_OPEN:
            do &= ~_DO_GCB_CLOSE
        if do & _DO_MB_OPEN:
            do &= ~_DO_MB_CLOSE
        if do & _DO_GCB_CLOSE and do & _DO_MB_CLOSE and not gcb and not mb:
            # Two sources onto one dead site bus at once, unsynchronised:
            # never.  A coil already energised keeps its close; else the
            # grid goes first (the set then synchronises to it).
            if int(gw.coil_ms) > 0:
                do &= ~_DO_MB_CLOSE
            else:
                do &= ~_DO_GCB_CLOSE
        if do & _DO_GCB_CLOSE and not gcb:
            # Across a closed mains breaker: synchronised, now and at contact.
            # Across an open one: a dead-bus close, if allowed.
            # In a stack a live bus with the MB open is another unit's:
            # synchronised too; a dead one only if the arbiter gave it us.
            fl = int(self._fleet_on)
            live = 0
            if fl != 0:
                live = 1 - int(synccheck.bus_dead(m))
            if mb or live != 0:
                ok = int(self._close_ok(m, cfg.gcb_close_time_ms, gw.coil_ms))
            else:
                ok = int(cfg.dead_bus_close)
                if fl != 0 and int(self.seq.fleet_db_ok) == 0:
                    ok = 0
            if ok == 0:
                do &= ~_DO_GCB_CLOSE
        held = 0
        if do & _DO_GCB_CLOSE and not gcb:
            held = 1
        if held or gw.coil_ms:
            gw.coil(held != 0, tick)
        if do & _DO_MB_CLOSE and not mb:
            # Generator breaker closed: the site bus is live from the set (or
            # a stopped set would be motored): synchronise across the MB.
            # Open: the site bus has no source, the grid may pick it up.
            if gcb and not self._close_ok(m, cfg.mb_close_time_ms, mw.coil_ms):
                do &= ~_DO_MB_CLOSE
        held = 0
        if do & _DO_MB_CLOSE and not mb:
            held = 1
        if held or mw.coil_ms:
            mw.coil(held != 0, tick)
        out = self.out
        out[_OUT_FUEL_PCT_X100] = fuel
        out[_OUT_AVR_BIAS_PCT_X100] = bias
        out[_OUT_IGN_CUT_PCT_X100] = cut
        out[_OUT_DO] = do
        return do

    def _close_ok(self, m, close_ms, coil_ms):
        """The sync check for a close coil held coil_ms of close_ms; a
        refusal is counted."""
        left = close_ms - coil_ms
        if synccheck.close_permitted(self.cfg, m, left if left > 0 else 0):
            return True
        if self.close_blocked < 1000000:
            self.close_blocked += 1
        return False

    def fail_safe(self):
        """Fuel off and breaker open, whatever state we are in (rule 6)."""
        out = self.out
        out[_OUT_FUEL_PCT_X100] = 0
        out[_OUT_AVR_BIAS_PCT_X100] = 0
        out[_OUT_IGN_CUT_PCT_X100] = 0
        out[_OUT_DO] = _DO_GCB_OPEN | _DO_COMMON_SHUTDOWN
        self.tele[TELE_STATUS] = STATUS_FAILSAFE
        self.failsafe = True
        self.hal.safe()

    def quiet_point(self):
        """Work that must not land inside a tick: persist the event log
        (rate-limited by the log itself; forced after a shutdown), then
        on_quiet() if set (a board saves changed settings there:
        configstore.ConfigStore.poll)."""
        a = self.alarms
        if self.log.flush(self.meas.t_ms, a.force_flush):
            pass
        a.force_flush = False
        if self.on_quiet is not None:
            self.on_quiet()

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
