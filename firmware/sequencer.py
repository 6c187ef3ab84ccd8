"""Start / stop sequence: the state machine every start, stop and shutdown
goes through, in the order a commissioning engineer expects from a
professional controller.

  STOPPED -> PRESTART (gas valve proving, optional pre-lube)
          -> CRANK <-> CRANK_REST  (crank_attempts x crank_ms, rest between;
             crank disconnect by two independent means: speed pickup OR
             generator frequency, NFPA 110 style)
          -> WARMUP (idle) -> RAMP (idle -> rated) -> STABILISE (V, f in band)
          -> AVAILABLE -> SYNC -> CLOSING -> LOADED  (dead bus: no SYNC)
          -> UNLOAD (paralleled: soft unload) -> OPENING -> COOLDOWN
          -> STOPPING -> STOPPED
  STOPPING -> FAIL_TO_STOP when the engine still turns after stop_ms.
  Any shutdown-class alarm ends in LOCKOUT until a reset whose conditions
  have cleared.  The paralleling work inserts synchronising before CLOSING
  and soft unload before OPENING.  Loaded and paralleled with the grid, the
governor follows the power set point (powerctl.py) instead of speed.
The mains breaker (auto mains failure, loss of mains) is mains.py's.

Modes: OFF (stop now, no cool-down; no starts), MANUAL (start / stop and
breaker commands), AUTO (the remote start input runs the set and loads it).

Alarm classes act here, whatever the state: emergency stop and hard shutdown
cut fuel and open the breaker now; soft shutdown opens the breaker, cools
down and stops; trip breaker opens the breaker and blocks re-closing until
reset.  Nothing a command asks can skip these.

Timers count ms in tick_ms steps (no clock wrap to worry about).
"""

from fixpt import const
import synccheck
from measure import rpm_x10_of_mhz

# -- constants of hal, protection (tools/gen_consts.py; do not edit) --
_DI_ESTOP = const(1)  # hal.DI_ESTOP
_DI_GAS_PROVEN = const(32)  # hal.DI_GAS_PROVEN
_DI_GCB_CLOSED = const(16)  # hal.DI_GCB_CLOSED
_DI_MB_CLOSED = const(128)  # hal.DI_MB_CLOSED
_DI_METER_OK = const(64)  # hal.DI_METER_OK
_DI_REMOTE_START = const(2)  # hal.DI_REMOTE_START
_DO_COMMON_ALARM = const(128)  # hal.DO_COMMON_ALARM
_DO_COMMON_SHUTDOWN = const(256)  # hal.DO_COMMON_SHUTDOWN
_DO_CRANK = const(1)  # hal.DO_CRANK
_DO_GAS_VALVE = const(2)  # hal.DO_GAS_VALVE
_DO_GCB_CLOSE = const(16)  # hal.DO_GCB_CLOSE
_DO_GCB_OPEN = const(32)  # hal.DO_GCB_OPEN
_DO_HORN = const(64)  # hal.DO_HORN
_DO_IGNITION = const(4)  # hal.DO_IGNITION
_DO_PRELUBE = const(8)  # hal.DO_PRELUBE
_DO_READY = const(512)  # hal.DO_READY
_A_ALWAYS = const(0)  # protection.A_ALWAYS
_A_GCB = const(3)  # protection.A_GCB
_A_GRID = const(6)  # protection.A_GRID
_A_GRID_M = const(9)  # protection.A_GRID_M
_A_GRID_SETTLED = const(11)  # protection.A_GRID_SETTLED
_A_ISLAND = const(7)  # protection.A_ISLAND
_A_ISLAND_M = const(10)  # protection.A_ISLAND_M
_A_METERED = const(8)  # protection.A_METERED
_A_NON_EXPORT = const(12)  # protection.A_NON_EXPORT
_A_NOT_CRANKING = const(4)  # protection.A_NOT_CRANKING
_A_OIL = const(2)  # protection.A_OIL
_A_RATED = const(5)  # protection.A_RATED
_A_RUNNING = const(1)  # protection.A_RUNNING
_CL_HARD = const(5)  # protection.CL_HARD
_CL_SOFT = const(4)  # protection.CL_SOFT
_CL_TRIP = const(3)  # protection.CL_TRIP
_CL_WARNING = const(1)  # protection.CL_WARNING
_FLAG_FAIL_TO_STOP = const(8)  # protection.FLAG_FAIL_TO_STOP
_FLAG_GCB_FAIL_CLOSE = const(16)  # protection.FLAG_GCB_FAIL_CLOSE
_FLAG_OVERCRANK = const(4)  # protection.FLAG_OVERCRANK
_FLAG_PROVING_FAIL = const(128)  # protection.FLAG_PROVING_FAIL
_FLAG_SYNC_FAIL = const(256)  # protection.FLAG_SYNC_FAIL
# -- end of generated constants --

ST_STOPPED = const(0)
ST_PRESTART = const(1)
ST_CRANK = const(2)
ST_CRANK_REST = const(3)
ST_WARMUP = const(4)
ST_RAMP = const(5)
ST_STABILISE = const(6)
ST_AVAILABLE = const(7)
ST_SYNC = const(8)
ST_CLOSING = const(9)
ST_LOADED = const(10)
ST_UNLOAD = const(11)
ST_OPENING = const(12)
ST_COOLDOWN = const(13)
ST_STOPPING = const(14)
ST_FAIL_TO_STOP = const(15)
ST_LOCKOUT = const(16)
STATE_NAMES = ("stopped", "prestart", "crank", "crank_rest", "warmup", "ramp",
               "stabilise", "available", "sync", "closing", "loaded", "unload",
               "opening", "cooldown", "stopping", "fail_to_stop", "lockout")

MODE_OFF = const(0)
MODE_MANUAL = const(1)
MODE_AUTO = const(2)
MODE_NAMES = ("off", "manual", "auto")

CMD_START = const(1)
CMD_STOP = const(2)
CMD_RESET = const(3)
CMD_ACK = const(4)
CMD_MODE_OFF = const(5)
CMD_MODE_MANUAL = const(6)
CMD_MODE_AUTO = const(7)
CMD_CLOSE = const(8)
CMD_OPEN = const(9)
COMMAND_NAMES = ("", "start", "stop", "reset", "ack", "mode_off", "mode_manual",
                 "mode_auto", "close_gcb", "open_gcb")

# Fuel modes the controller applies
FUEL_OFF = const(0)
FUEL_START = const(1)    # open loop: start_fuel while cranking
FUEL_GOVERN = const(2)   # governor on the speed set point
FUEL_POWER = const(3)    # grid-parallel: governor on the power set point (powerctl)

_PURGE_MS = const(2000)       # ignition stays on after the gas valve shuts: burn the rest
_IN_BAND_F_MHZ = const(600)   # +-1 % of 60 Hz for STABILISE
_IN_BAND_V_PCT = const(500)   # +-5 % voltage for STABILISE
_EASE_MS = const(500)    # the run-up ramp eases into rated over about this
# State and run timers stop here (11.6 days; every threshold is far below):
# counted on for months on load, they would leave the 31-bit small ints of a
# 32-bit port, and allocate on every tick from then on.
_T_SAT_MS = const(1000000000)


class Sequencer:
    def __init__(self, cfg, alarms, log=None):
        self.cfg = cfg
        self.alarms = alarms
        self.log = log
        self.state = ST_STOPPED
        self.mode = MODE_AUTO
        self.timer_ms = 0         # time in the current state
        self.run_ms = 0           # time since crank disconnect
        self.attempt = 0
        self.manual_run = False
        self.manual_close = False
        self.flags = 0            # protection.FLAG_* raised by the sequence
        self.fuel_mode = FUEL_OFF
        self.sp_rpm_x10 = 0       # governor speed set point
        self.do = 0
        self.just_disconnected = False
        self._stop_cause_soft = False
        self._t_ms = 0
        self.paralleled = False   # GCB and MB both closed: power control
        self.unloaded = False     # set by the controller when unload is complete
        self.par_ms = 0           # time paralleled with the grid
        self.amf_run = False      # the mains monitor asks the set to run (AMF)
        # A stack (fleet.py sets these; a single set keeps them): the unit
        # is one of several on a common bus (its bus sensing is that bus),
        # power management wants it running, and the dead-bus arbiter lets it
        # close onto a dead bus.
        self.fleet = False
        self.fleet_run = True
        self.fleet_db_ok = True
        self.syncer = synccheck.Synchroniser(cfg)    # the generator breaker's
        # After a shutdown the run request must be seen off (the start input
        # cycled, AMF's request gone) or a separate start given before the
        # set starts again: a reset never restarts it in the same breath.
        self.start_inhibit = False
        self.turning = False      # the engine turns (speed or frequency seen)
        self.close_sync = False   # CLOSING across a closed mains breaker (synchronised)
        self.sync_aborts = 0      # closes abandoned because the window was lost
        self.estop = False        # the e-stop input, as last seen
        # The quiet path (update): allowed, and the inputs it was allowed on.
        self._q_ok = False
        self._q_di = 0
        self._q_amf = False
        self._q_worst = 0
        self._q_wl = 0
        self._q_horn = False
        self._q_stopped = True
        self._gen = 0             # counts state changes (mod 2**16)
        # armed_mask's last answer and what it was computed from.
        self._arm = 0
        self._arm_ok = False
        self._arm_di = 0
        self._arm_gen = 0
        self._arm_par = False

    def rebuild(self):
        """After a settings change (engine stopped): fresh synchroniser and
        timers; the mode and the start inhibit stay."""
        self.syncer = synccheck.Synchroniser(self.cfg)
        self.timer_ms = 0
        self.sp_rpm_x10 = 0
        self._q_ok = False
        self._arm_ok = False

    # -- commands (link, Modbus, panel) -------------------------------------
    def command(self, cmd, t_ms):
        """Apply an operator command; returns True if accepted.  Commands
        never bypass alarms or interlocks: they are requests the sequence
        grants only when it is safe."""
        self._q_ok = False        # the next tick runs in full
        ok = True
        if cmd == CMD_START:
            # MANUAL: run.  AUTO: the separate start that re-arms the run
            # request after a shutdown (refused when there is nothing to
            # re-arm, so a stray start is seen as refused).
            # Never during an e-stop or with a shutdown latched, whatever
            # path the command came by (panel, link, Modbus).
            ok = (self.mode == MODE_MANUAL or (self.mode == MODE_AUTO and self.start_inhibit)) \
                and self.alarms.worst < _CL_SOFT and not self.estop
            if ok:
                if self.mode == MODE_MANUAL:
                    self.manual_run = True
                self.start_inhibit = False
        elif cmd == CMD_STOP:
            self.manual_run = False
            self.manual_close = False
        elif cmd == CMD_RESET:
            # A shutdown stays latched while the engine still turns.
            self.alarms.reset(t_ms, self.turning)
            if self.state == ST_LOCKOUT and self.alarms.worst < _CL_SOFT:
                self._go(ST_STOPPED)
        elif cmd == CMD_ACK:
            self.alarms.ack(t_ms)
        elif cmd == CMD_MODE_OFF or cmd == CMD_MODE_MANUAL or cmd == CMD_MODE_AUTO:
            self.mode = cmd - CMD_MODE_OFF
            self.manual_run = self.mode == MODE_MANUAL and \
                ST_WARMUP <= self.state <= ST_COOLDOWN
            self.manual_close = self.manual_run and self.state == ST_LOADED
            if self.log is not None:
                self.log.log(t_ms, 2004, self.mode)
        elif cmd == CMD_CLOSE:
            ok = self.mode == MODE_MANUAL and self.alarms.worst < _CL_TRIP and not self.estop
            if ok:
                self.manual_close = True
        elif cmd == CMD_OPEN:
            ok = self.mode == MODE_MANUAL
            if ok:
                self.manual_close = False
        else:
            ok = False
        if ok and self.log is not None and cmd < CMD_MODE_OFF:
            self.log.log(t_ms, 2005, cmd)
        return ok

    def force_loaded(self):
        """Begin on load: the set is already running with its breaker closed
        (simulator scenarios that start at rated load, HIL sessions)."""
        self.state = ST_LOADED
        self._q_ok = False
        self._arm_ok = False
        self.timer_ms = 0
        self.run_ms = self.cfg.oil_arm_ms + 1
        self.turning = True
        self.manual_run = True
        self.manual_close = True
        self.fuel_mode = FUEL_GOVERN
        self.sp_rpm_x10 = self.cfg.rated_rpm_x10

    # -- helpers -------------------------------------------------------------
    def _go(self, st):
        if st != self.state:
            self.state = st
            self.timer_ms = 0
            self._gen = (self._gen + 1) & 0xFFFF    # a state change (quiet path)
            if self.log is not None:
                self.log.log(self._t_ms, 2003, st)

    def run_request(self, di):
        if self.mode == MODE_AUTO:
            return ((di & _DI_REMOTE_START) != 0 and self.fleet_run) or self.amf_run
        if self.mode == MODE_MANUAL:
            return self.manual_run
        return False

    def close_request(self, di):
        if self.mode == MODE_AUTO:
            return ((di & _DI_REMOTE_START) != 0 and self.fleet_run) or self.amf_run
        if self.mode == MODE_MANUAL:
            return self.manual_close
        return False

    def settings_changed(self):
        """A setting changed (live, engine running, or with a rebuild): the
        quiet path and the armed mask start afresh."""
        self._q_ok = False
        self._arm_ok = False

    def armed_mask(self, di):
        """The A_* bits protection is armed by now.  Kept from the last call
        while the inputs, the state and the parallel flag are the same and
        neither timer that arms a bit can still cross its threshold (run_ms
        and par_ms only grow in one state; both are already past it, or the
        bit cannot be set there)."""
        if self._arm_ok and di == self._arm_di and self._gen == self._arm_gen and \
                self.paralleled == self._arm_par:
            return self._arm
        st = self.state
        cfg = self.cfg
        m = 1 << _A_ALWAYS
        done = True
        if ST_WARMUP <= st <= ST_COOLDOWN:
            m |= 1 << _A_RUNNING
            if self.run_ms >= cfg.oil_arm_ms:
                m |= 1 << _A_OIL
            else:
                done = False
        metered = (di & _DI_METER_OK) != 0
        if metered:
            m |= 1 << _A_METERED
        if di & _DI_GCB_CLOSED:
            m |= 1 << _A_GCB
            if di & _DI_MB_CLOSED:
                m |= (1 << _A_GRID) | ((1 << _A_GRID_M) if metered else 0)
            else:
                m |= (1 << _A_ISLAND) | ((1 << _A_ISLAND_M) if metered else 0)
        if st != ST_CRANK:
            m |= 1 << _A_NOT_CRANKING
        if ST_AVAILABLE <= st <= ST_COOLDOWN:
            m |= 1 << _A_RATED
        if self.paralleled:
            if self.par_ms >= cfg.lom_inhibit_ms:
                m |= 1 << _A_GRID_SETTLED
                if metered and st == ST_LOADED and cfg.export_limit_kw_x10 == 0:
                    m |= 1 << _A_NON_EXPORT
            else:
                done = False
        self._arm = m
        self._arm_ok = done
        self._arm_di = di
        self._arm_gen = self._gen
        self._arm_par = self.paralleled
        return m

    def _ramp_sp(self, target, ease=False):
        """Ramp the speed set point towards target at ramp_rpm_x10_s; with
        ease (the run-up to rated), easing into it over about _EASE_MS: an
        engine whose fuel takes effect 0.1-0.5 s late overshoots a ramp that
        stops dead."""
        cfg = self.cfg
        step = cfg.ramp_tick_rpm_x10
        sp = self.sp_rpm_x10
        if ease:
            rem = target - sp if target > sp else sp - target
            e = rem * cfg.tick_ms // _EASE_MS + step // 10 + 1
            if e < step:
                step = e
        if sp < target:
            sp = sp + step if sp + step < target else target
        elif sp > target:
            sp = sp - step if sp - step > target else target
        self.sp_rpm_x10 = sp

    # -- the tick ------------------------------------------------------------
    def _sync(self, m):
        """Synchronise the generator to the bus (synccheck.Synchroniser):
        the speed set point follows its frequency target, and the voltage is
        matched by the controller through the AVR.  True: close now."""
        close = self.syncer.step(m, self.cfg.gcb_close_time_ms)
        self.sp_rpm_x10 = rpm_x10_of_mhz(self.syncer.f_target_mhz, self.cfg.poles)
        return close

    def update(self, m, t_ms):
        """One tick.  m: the Measure.  Decides state, fuel mode, speed set
        point and relay outputs (self.do)."""
        cfg = self.cfg
        tick = cfg.tick_ms
        self._t_ms = t_ms
        di = m.di
        a = self.alarms
        stopped = m.speed_rpm_x10 < cfg.rated_rpm_x10 // 100 and m.gen_f_mhz == 0
        if self._q_ok and di == self._q_di and self.amf_run == self._q_amf and \
                a.worst == self._q_worst and a.worst_local == self._q_wl and \
                a.horn == self._q_horn and stopped == self._q_stopped:
            # Quiet: the last tick ran in full in a state that waits only on
            # these inputs (STOPPED, LOCKOUT, LOADED at its set point: no
            # timer or measurement decides there), changed nothing, and
            # they are the same now: so would this tick, but for the
            # timers.  Exactly the full path's result (tests/fw/
            # test_sequencer_quiet.py); ~1/10 of its cost.
            t = self.timer_ms
            self.timer_ms = t + tick if t < _T_SAT_MS else t
            if self.state == ST_LOADED:
                t = self.run_ms
                self.run_ms = t + tick if t < _T_SAT_MS else t
            if self.paralleled:
                t = self.par_ms
                self.par_ms = t + tick if t < 1000000 else t
            self.unloaded = False
            return
        self._q_ok = False
        # Event flags raised last tick have been seen by protection this tick
        # (it runs first): clear them, so a reset can clear their alarms.
        self.flags = 0
        t = self.timer_ms
        self.timer_ms = t + tick if t < _T_SAT_MS else t
        self.just_disconnected = False
        self.estop = (di & _DI_ESTOP) != 0
        gcb = (di & _DI_GCB_CLOSED) != 0
        worst = a.worst
        st = self.state
        g0 = self._gen
        if ST_WARMUP <= st <= ST_COOLDOWN:
            t = self.run_ms
            self.run_ms = t + tick if t < _T_SAT_MS else t
        self.turning = not stopped
        if worst >= _CL_SOFT:
            # A shutdown: no restart until the request is cycled or a
            # separate start is given, and MANUAL forgets its run and close.
            self.start_inhibit = True
            self.manual_run = False
            self.manual_close = False
        asked = self.run_request(di)
        if self.start_inhibit and not asked:
            self.start_inhibit = False
        want_run = asked and worst < _CL_SOFT and not self.start_inhibit

        # Trip-class alarms that block closing and open the breaker: all of
        # them while the mains breaker is closed; with it open, the
        # interconnection trips no longer concern the set's own bus.
        wt = worst if di & _DI_MB_CLOSED else self.alarms.worst_local
        # --- alarm classes first: they override whatever the state wants ----
        self.paralleled = gcb and (di & _DI_MB_CLOSED) != 0
        self.par_ms = self.par_ms + tick if self.paralleled and self.par_ms < 1000000 else \
            (self.par_ms if self.paralleled else 0)
        if worst >= _CL_HARD:
            if st != ST_STOPPING and st != ST_FAIL_TO_STOP and st != ST_LOCKOUT and \
                    st != ST_STOPPED:
                self._go(ST_STOPPING)
            elif st == ST_STOPPED:
                self._go(ST_LOCKOUT)
        elif worst == _CL_SOFT:
            if st == ST_LOADED or st == ST_CLOSING or st == ST_UNLOAD or st == ST_SYNC:
                self._stop_cause_soft = True
                self._go(ST_OPENING)
            elif ST_WARMUP <= st <= ST_AVAILABLE:
                self._go(ST_COOLDOWN)
            elif st == ST_PRESTART or st == ST_CRANK or st == ST_CRANK_REST:
                self._go(ST_STOPPING)
            elif st == ST_STOPPED:
                self._go(ST_LOCKOUT)
        elif wt == _CL_TRIP and (st == ST_LOADED or st == ST_CLOSING or st == ST_UNLOAD):
            self._go(ST_OPENING)
        elif wt == _CL_TRIP and st == ST_SYNC:
            self._go(ST_AVAILABLE)
        if self.mode == MODE_OFF and (ST_PRESTART <= self.state <= ST_COOLDOWN):
            self._go(ST_STOPPING)     # OFF: stop now, no cool-down

        st = self.state
        t = self.timer_ms
        fuel_mode = FUEL_OFF
        do = 0
        if st == ST_STOPPED:
            self.attempt = 0
            if want_run:
                self._go(ST_PRESTART)
        elif st == ST_PRESTART:
            if cfg.prelube:
                do |= _DO_PRELUBE
            if not want_run:
                self._go(ST_STOPPED)
            elif t >= cfg.prestart_ms:
                if di & _DI_GAS_PROVEN:
                    self.attempt = 1
                    self._go(ST_CRANK)
                else:
                    self.flags |= _FLAG_PROVING_FAIL
        elif st == ST_CRANK:
            do |= _DO_CRANK | _DO_GAS_VALVE | _DO_IGNITION
            fuel_mode = FUEL_START
            if m.speed_rpm_x10 >= cfg.crank_disc_rpm_x10 or m.gen_f_mhz >= cfg.crank_disc_mhz:
                # Crank disconnect: either means is enough, so a failed pickup
                # cannot leave the starter engaged on a running engine.
                do &= ~_DO_CRANK
                self.run_ms = 0
                self.sp_rpm_x10 = m.speed_rpm_x10 if m.speed_rpm_x10 > 0 else cfg.crank_disc_rpm_x10
                self.just_disconnected = True
                fuel_mode = FUEL_GOVERN
                self._go(ST_WARMUP)
            elif not want_run:
                self._go(ST_STOPPING)
            elif t >= cfg.crank_ms:
                if self.attempt >= cfg.crank_attempts:
                    self.flags |= _FLAG_OVERCRANK
                    self._go(ST_STOPPING)
                else:
                    self._go(ST_CRANK_REST)
        elif st == ST_CRANK_REST:
            if not want_run:
                self._go(ST_STOPPED)
            elif t >= cfg.crank_rest_ms and stopped:
                self.attempt += 1
                self._go(ST_CRANK)
        elif ST_WARMUP <= st <= ST_COOLDOWN:
            do |= _DO_GAS_VALVE | _DO_IGNITION
            fuel_mode = FUEL_GOVERN
            if self.paralleled and (st == ST_LOADED or st == ST_UNLOAD):
                fuel_mode = FUEL_POWER
            if st == ST_WARMUP:
                self._ramp_sp(cfg.idle_rpm_x10)
                if not want_run:
                    self._go(ST_COOLDOWN)
                elif t >= cfg.warmup_ms:
                    self._go(ST_RAMP)
            elif st == ST_RAMP:
                self._ramp_sp(cfg.rated_rpm_x10, True)
                if self.sp_rpm_x10 == cfg.rated_rpm_x10:
                    self._go(ST_STABILISE)
            elif st != ST_CLOSING:
                # (CLOSING holds the synchroniser's last target: pulling the
                # set back to rated while the contacts travel would leave it
                # short of torque as they touch, and swing it into reverse
                # power.)
                self._ramp_sp(cfg.rated_rpm_x10)
            if st == ST_STABILISE:
                dv = m.v_pct_x100 - 10000
                ok = -_IN_BAND_F_MHZ < m.f_dev_mhz < _IN_BAND_F_MHZ and \
                    -_IN_BAND_V_PCT < dv < _IN_BAND_V_PCT and m.gen_f_mhz > 0
                if not ok:
                    self.timer_ms = 0
                elif t >= cfg.stabilise_ms:
                    self._go(ST_AVAILABLE)
            elif st == ST_AVAILABLE:
                do |= _DO_READY if self.mode == MODE_AUTO else 0
                if gcb:
                    self._go(ST_LOADED)      # closed from outside: follow it
                elif not want_run:
                    self._go(ST_COOLDOWN)
                elif self.close_request(di) and wt < _CL_TRIP:
                    if not (di & _DI_MB_CLOSED) and not (self.fleet and
                                                         not synccheck.bus_dead(m)):
                        # The mains breaker is open: nothing else feeds the
                        # site bus (in a stack: it reads dead); close onto
                        # it if permitted (in a stack: the dead-bus arbiter,
                        # deadbus.py, has given this unit the bus).
                        if cfg.dead_bus_close and self.fleet_db_ok:
                            self.close_sync = False
                            self._go(ST_CLOSING)
                    elif not synccheck.bus_dead(m):
                        self.syncer.reset()
                        self._go(ST_SYNC)
                    # Mains breaker closed on a dead utility: never close
                    # onto it (IEEE 1547: do not energise a de-energised
                    # area EPS).  Wait: AMF opens the mains breaker first;
                    # without AMF the grid comes back.
            elif st == ST_SYNC:
                if not want_run or not self.close_request(di):
                    self._go(ST_AVAILABLE)
                elif gcb:
                    self._go(ST_LOADED)
                elif (not (di & _DI_MB_CLOSED) and not self.fleet) or synccheck.bus_dead(m):
                    # The grid went away (or its breaker opened): back to
                    # AVAILABLE, which decides afresh (wait, or a dead-bus
                    # close once the mains breaker is open).  In a stack the
                    # bus is the units' own: synchronise to it while live.
                    self._go(ST_AVAILABLE)
                elif t >= cfg.sync_ms:
                    self.flags |= _FLAG_SYNC_FAIL
                    self._go(ST_AVAILABLE)
                elif self._sync(m):
                    self.close_sync = True
                    self._go(ST_CLOSING)
                    do |= _DO_GCB_CLOSE
            elif st == ST_CLOSING:
                mb_closed = (di & _DI_MB_CLOSED) != 0
                left = cfg.gcb_close_time_ms - t       # t: since the close decision
                if gcb:
                    self._go(ST_LOADED)
                elif not want_run or not self.close_request(di):
                    self._go(ST_AVAILABLE)
                elif self.close_sync:
                    # The sync check holds until the contacts touch: re-run
                    # it every tick with the close time still to go, and
                    # drop the coil the moment the window is lost (a grid
                    # phase jump, the grid gone) - not a breaker fault.
                    if (not mb_closed and not self.fleet) or synccheck.bus_dead(m):
                        self._go(ST_AVAILABLE)
                    elif not synccheck.close_permitted(cfg, m, left if left > 0 else 0):
                        if self.sync_aborts < 1000000:
                            self.sync_aborts += 1
                        self.syncer.reset()
                        self._go(ST_SYNC)
                    elif t > cfg.gcb_close_time_ms + 100:
                        # Contacts should have met by now: do not hold the
                        # coil while the angle walks out of the window.
                        self.flags |= _FLAG_GCB_FAIL_CLOSE
                        self._go(ST_AVAILABLE)
                    else:
                        do |= _DO_GCB_CLOSE
                elif mb_closed or not cfg.dead_bus_close or not self.fleet_db_ok:
                    # A dead-bus close whose bus is no longer ours alone (the
                    # mains breaker closed meanwhile, or in a stack the
                    # arbiter withdrew: another unit has it): abandon it.
                    self._go(ST_AVAILABLE)
                elif t >= cfg.gcb_ms:
                    self.flags |= _FLAG_GCB_FAIL_CLOSE
                    self._go(ST_AVAILABLE)
                else:
                    do |= _DO_GCB_CLOSE
            elif st == ST_LOADED:
                if not gcb:
                    self._go(ST_AVAILABLE)   # opened from outside (or tripped)
                elif not want_run or not self.close_request(di):
                    # Paralleled: hand the load back to the grid first.
                    self._go(ST_UNLOAD if self.paralleled else ST_OPENING)
            elif st == ST_UNLOAD:
                if not gcb:
                    self._go(ST_AVAILABLE)
                elif not self.paralleled and want_run and self.close_request(di):
                    # The grid went (loss of mains opened its breaker) while
                    # the set was handing the load back, and the set is still
                    # wanted (AMF): carry the site instead of dropping it.
                    self._go(ST_LOADED)
                elif not self.paralleled or self.unloaded:
                    self._go(ST_OPENING)
            elif st == ST_OPENING:
                # A breaker that does not open is caught at the output stage
                # (controller._outputs), on this path and every other.
                do |= _DO_GCB_OPEN
                if not gcb:
                    if self._stop_cause_soft or not want_run:
                        self._stop_cause_soft = False
                        self._go(ST_COOLDOWN)
                    else:
                        self._go(ST_AVAILABLE)
            elif st == ST_COOLDOWN:
                if want_run and worst < _CL_SOFT:
                    self._go(ST_AVAILABLE)   # asked to run again: back in service
                elif t >= cfg.cooldown_ms:
                    self._go(ST_STOPPING)
        elif st == ST_STOPPING or st == ST_FAIL_TO_STOP:
            if t < _PURGE_MS:
                do |= _DO_IGNITION
            if gcb:
                do |= _DO_GCB_OPEN
            if stopped:
                self._go(ST_LOCKOUT if worst >= _CL_SOFT else ST_STOPPED)
            elif st == ST_STOPPING and t >= cfg.stop_ms:
                self.flags |= _FLAG_FAIL_TO_STOP
                self._go(ST_FAIL_TO_STOP)
        elif st == ST_LOCKOUT:
            if gcb:
                do |= _DO_GCB_OPEN
        # A state entered this tick that stops fuelling takes effect at once.
        st = self.state
        if not (ST_WARMUP <= st <= ST_COOLDOWN or st == ST_CRANK):
            fuel_mode = FUEL_OFF
            do &= ~(_DO_GAS_VALVE | _DO_CRANK)
            if gcb:
                do |= _DO_GCB_OPEN
        elif st == ST_CRANK and fuel_mode != FUEL_START:
            fuel_mode = FUEL_START
        if fuel_mode == FUEL_POWER and not (self.state == ST_LOADED or self.state == ST_UNLOAD):
            fuel_mode = FUEL_GOVERN
        a = self.alarms
        if a.horn:
            do |= _DO_HORN
        if a.worst >= _CL_WARNING:
            do |= _DO_COMMON_ALARM
        if a.worst >= _CL_SOFT:
            do |= _DO_COMMON_SHUTDOWN
            do &= ~_DO_READY
        self.fuel_mode = fuel_mode
        self.do = do
        self.unloaded = False
        st = self.state
        if self._gen == g0 and self.flags == 0 and (st == ST_STOPPED or st == ST_LOCKOUT or (
                st == ST_LOADED and self.sp_rpm_x10 == cfg.rated_rpm_x10)):
            # Nothing moved, in a state that waits on inputs alone: the next
            # tick may take the quiet path above while they stay the same.
            self._q_ok = True
            self._q_di = di
            self._q_amf = self.amf_run
            self._q_worst = worst
            self._q_wl = a.worst_local
            self._q_horn = a.horn
            self._q_stopped = stopped
