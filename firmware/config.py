"""Controller configuration: validated integer settings and derived gains.

Settings are stored in engineering units chosen so that a commissioning
engineer can read them (gains in per-unit, times in ms); `Config.derive()`
turns them once, at start-up, into the raw tick-rate coefficients the
governor uses, so the tick itself never divides by a setting.

A setter refuses an out-of-range value and keeps the old one (rule 5): that is
what the Modbus layer will call.
"""

from fixpt import const, mul_div
import fuels


def _row(*fields):
    """A table row, built at import.  Not a tuple literal: a tuple of
    constants compiles to one constant object, and frozen into a board image
    (mpy-tool) its ints beyond +-8191 are read-only bigints, so arithmetic
    on them allocates in the heap-locked tick (issue 11,
    tests/test_frozen_constants.py).  The ints passed here are small ints."""
    return fields


# (name, default, min, max): one table, so validation, docs and the register
# map all read the same limits.
SETTINGS = (
    _row("f_nom_hz", 60, 50, 60),         # 50 or 60 only (checked below)
    _row("poles", 4, 2, 12),              # alternator poles: 4 -> 1800/1500 rpm
    _row("mpu_teeth", 118, 20, 400),      # flywheel ring-gear teeth seen by the MPU
    _row("p_rated_kw_x10", 2000, 100, 20000),  # set rating at natural gas, 0.1 kW
    _row("v_rated_dv", 4800, 1000, 6900),  # rated line-line voltage, 0.1 V
    _row("i_rated_a_x10", 3007, 100, 30000),  # rated phase current, 0.1 A (250 kVA at 480 V)
    _row("fuel", 0, 0, 3),                # fuels.FUEL_*
    _row("tick_ms", 10, 5, 50),           # control period (100 Hz)
    _row("droop_pct_x100", 0, 0, 1000),   # speed droop on kW, 0 = isochronous
    # Speed PID: the feed-forward and the fuel map carry the load; these trim
    # what the map gets wrong.  Kp and Kd are the SIMC tuning of the PID peer
    # (host_sim/pid.py: 6.1, 0.30 s on the GX230's identified response); Ki
    # is 10 /s, not its 14.7, for robustness: with 50 ms more dead time than
    # commissioned (tools/sweep.py's family) the SIMC integral rings
    # without end, this one settles (README, "Governor over a family").
    _row("kp_pu_x100", 600, 0, 10000),    # proportional gain, pu fuel / pu speed
    _row("ki_pu_x100", 1000, 0, 5000),    # integral gain, pu fuel / (pu speed * s)
    _row("kd_pu_ms", 300, 0, 500),          # derivative gain, pu fuel / (pu speed/s) in ms
    _row("ff_pct", 100, 0, 150),          # share of the fuel-map feed-forward used
    _row("ff_lead_pct", 100, 0, 300),     # lead on the feed-forward: over-fuel share of a change
    _row("ff_lead_ms", 100, 10, 1000),    # the lag it leads (throttle + manifold)
    _row("map_learn_pct", 25, 0, 50),     # fuel-map learning bounds, % of the NL-FL span (0 off)
    _row("inertia_h_ms", 440, 0, 3000),   # set inertia H on its rating: speed-ramp feed-forward (0 off)
    _row("p_filt_ms", 20, 0, 500),        # kW filter for the feed-forward
    _row("ff_fast_pct", 10, 1, 100),      # kW jump (% rating) that bypasses the filter
    _row("ign_cut_enable", 1, 0, 1),      # overspeed ignition cut (skip-fire), per fuel
    _row("ign_cut_dp_pct", 40, 10, 100),  # kW drop (% rating) in one tick that arms it
    _row("ign_cut_on_pct_x100", 300, 100, 1500),  # overspeed where proportional cut starts
    _row("avr_trim_ki_pct_x100", 200, 0, 5000),  # island voltage trim, bias %/s per % error
    # Start / stop sequence (NFPA 110 style defaults: 3 x 15 s crank, 15 s rest)
    _row("crank_attempts", 3, 1, 6),
    _row("crank_ms", 15000, 1000, 60000),
    _row("crank_rest_ms", 15000, 1000, 120000),
    _row("crank_disc_rpm_x10", 4000, 1000, 9000),  # crank disconnect by speed pickup ...
    _row("crank_disc_mhz", 13000, 5000, 30000),  # ... or by generator frequency
    _row("start_fuel_pct_x100", 3000, 500, 8000),  # throttle while cranking
    _row("prestart_ms", 2000, 0, 60000),        # gas valve proving (+ pre-lube)
    _row("prelube", 0, 0, 1),
    _row("idle_rpm_x10", 12000, 6000, 18000),   # warm-up idle speed
    _row("warmup_ms", 10000, 0, 600000),
    _row("ramp_rpm_x10_s", 3000, 100, 20000),   # idle -> rated speed ramp
    _row("stabilise_ms", 2000, 0, 60000),       # V and f in band this long -> available
    _row("cooldown_ms", 60000, 0, 1800000),
    _row("stop_ms", 30000, 5000, 120000),       # fail-to-stop time
    _row("oil_arm_ms", 10000, 0, 30000),        # low oil pressure armed after crank disconnect
    _row("gcb_ms", 500, 50, 2000),              # breaker feedback time (fail to close / open; breaker-failure backup)
    _row("dead_bus_close", 1, 0, 1),            # may close onto a dead bus (island)
    _row("knock_derate_pct", 20, 0, 50),        # fuel ceiling cut while knock is reported
    _row("ieee1547_category", 1, 1, 3),         # grid trip profile (profiles.py)
    # Synchroniser (ANSI 25); the IEEE 1547 limits in synccheck.py always apply on top
    _row("sync_df_max_mhz", 300, 0, 300),       # slip window: generator minus grid ...
    _row("sync_df_min_mhz", 0, -300, 300),      # ... positive by default: picks up load
    _row("sync_slip_mhz", 100, -250, 250),      # slip the synchroniser arrives at
    _row("sync_approach_ms", 500, 0, 20000),    # phase-approach time constant (0: constant slip)
    _row("sync_travel_mhz", 1000, 20, 2000),    # fastest slip while the phase comes round
    _row("sync_kp_pct", 100, 50, 200),          # governor kp while synchronising, % of kp_pu
    _row("sync_dv_pct_x100", 500, 0, 1000),     # voltage difference window
    _row("sync_phase_cdeg", 1000, 100, 2000),   # phase window (0.01 deg)
    _row("gcb_close_time_ms", 50, 0, 300),      # generator breaker close time: advance-angle basis
    _row("mb_close_time_ms", 50, 0, 300),       # mains breaker close time (island back onto the grid)
    _row("sync_ms", 60000, 5000, 600000),       # sync-fail timer
    _row("sync_static", 0, 0, 1),               # 1: phase-lock (static) synchronising
    # Grid-parallel power control
    _row("pc_mode", 1, 0, 2),                   # 0 base load, 1 import limit (peak shave), 2 export limit
    _row("base_kw_x10", 1000, 0, 20000),
    _row("import_cap_kw_x10", 1000, 0, 50000),  # grid import the site may take
    _row("export_limit_kw_x10", 0, 0, 20000),   # export allowed (0 = zero export)
    _row("import_min_kw_x10", 200, 0, 5000),    # zero export: import kept at least this
    _row("ramp_pct_s", 5, 1, 50),               # soft load / unload rate, % of rating per s
    _row("unload_pct", 5, 1, 30),               # open the breaker below this on unload
    _row("pc_ki_pct", 100, 1, 1000),            # power loop integral, pu fuel / (pu kW s)
    _row("q_mode", 0, 0, 1),                    # 0 power factor, 1 fixed kvar
    _row("pf_x1000", 1000, -1000, 1000),        # power factor set point: + lagging (exports vars), - leading; |pf| >= 0.8
    _row("kvar_x10", 0, -10000, 10000),
    _row("lom_inhibit_ms", 2000, 0, 5000),      # loss-of-mains detection blind after closing
    # Auto mains failure (standby duty)
    _row("amf", 0, 0, 1),                       # standby duty: start on mains failure
    _row("mains_fail_ms", 500, 0, 30000),
    _row("mains_ok_ms", 10000, 0, 1800000),     # grid healthy this long before retransfer
    _row("retransfer_open", 0, 0, 1),           # 1: open-transition retransfer
    _row("lom_reconnect", 1, 0, 1),             # AUTO: after a loss-of-mains trip, resync the island to the returned grid
    # Active anti-islanding (antiisland.py): always on while paralleled
    _row("aai_pct_x10", 20, 10, 50),            # power perturbation, 0.1 % of rating
    _row("aai_window_ms", 250, 100, 1000),      # perturbation window (pairs of opposite sign)
    # Modbus RTU slave (modbus.py, registers.py)
    _row("mb_address", 1, 1, 247),              # slave address on the RS-485 line
    _row("mb_baud", 19200, 1200, 115200),       # 1200 2400 4800 9600 19200 38400 57600 115200
    _row("mb_parity", 2, 0, 2),                 # 0 none, 1 odd, 2 even (the Modbus default 8E1)
    _row("mb_stop_bits", 1, 1, 2),
    _row("mb_access_code", 1954, 0, 9999),      # written to access_code to unlock configuration writes; never read back
    _row("mb_unlock_s", 300, 10, 3600),         # configuration writes stay open this long after the last one
    # Governor: lead on the manifold's charge deficit (governor.py), from the
    # engine's MAP sensor.  Appended, so the settings before keep their numbers.
    _row("map_lead_pct", 300, 0, 500),          # lead on the charge deficit (0 off: the timed ff_lead alone)
    _row("map_nl_kpa_x10", 0, 0, 4000),         # MAP at no load, rated speed (either 0: the fuel table's line)
    _row("map_fl_kpa_x10", 0, 0, 4000),         # MAP at the fuel's rated kW
    # Stacked units (issue 12): the load-share link (sharelink.py), dead-bus
    # arbitration (deadbus.py), power management (powermgmt.py) and island
    # load sharing (loadshare.py).  fleet_unit_id 0: a single set, none of it.
    _row("fleet_unit_id", 0, 0, 16),            # this unit's id on the share link (0: a single set)
    _row("fleet_mask", 0, 0, 131070),           # bit u set: unit u is in the stack (bits 1..16)
    _row("fleet_master_id", 1, 1, 16),          # the dead-bus master: the same on every unit
    _row("fleet_claim_ms", 1000, 100, 10000),   # dead-bus claim before a close (>= deadbus.min_claim_ms)
    _row("fleet_prio", 1, 1, 255),              # start order, 1 first (pm_rank 0)
    _row("pm_rank", 0, 0, 1),                   # 0 by priority, 1 by running hours (equalisation)
    _row("pm_eq_band_h", 50, 1, 1000),          # running hours that count as equal
    _row("pm_start_pct", 80, 10, 100),          # start the next above this % of running capacity
    _row("pm_stop_pct", 60, 5, 95),             # stop one if the rest would be below this %
    _row("pm_reserve_kw", 0, 0, 50000),         # spinning reserve kept
    _row("pm_step_kw", 0, 0, 50000),            # load step the stack keeps able to accept
    _row("pm_min_units", 1, 1, 16),             # units kept running
    _row("pm_start_delay_s", 10, 0, 600),
    _row("pm_stop_delay_s", 60, 0, 3600),
    _row("ls_droop_pct_x100", 300, 100, 1000),  # speed and voltage droop when the share link fails
    _row("pm_shed_pct", 100, 50, 150),          # shed a stage above this % of running capacity
    _row("pm_restore_pct", 85, 10, 140),        # restore a stage below this % (< pm_shed_pct)
    _row("pm_shed_delay_s", 2, 0, 600),         # each stage shed (restored) after this long
)

# Settings that may change while the engine runs, without rebuilding the
# control blocks: the operator's set points (written without an unlock over
# Modbus: registers.py), the grid-connection limits and the port settings.
SETPOINTS = ("pc_mode", "base_kw_x10", "import_cap_kw_x10", "q_mode", "pf_x1000", "kvar_x10")
LIVE = SETPOINTS + ("export_limit_kw_x10", "import_min_kw_x10", "mb_address", "mb_baud",
                    "mb_parity", "mb_stop_bits", "mb_access_code", "mb_unlock_s")
# Built from a list, not a constant tuple (see _row).
BAUDS = tuple([1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200])

_WHY = (None, "f_nom_hz: must be 50 or 60", "poles: must be even",
        "tick_ms: must divide 1000 (whole ticks per second)",
        "pf_x1000: |pf_x1000| must be 800..1000 (power factor 0.8 to 1, lagging or leading)",
        None, "crank_disc_rpm_x10: must be below idle_rpm_x10",
        "crank_disc_mhz: must be below the idle frequency (idle_rpm_x10 * poles / 1.2)",
        None, "sync_df_min_mhz: must be below sync_df_max_mhz",
        "sync_slip_mhz: must lie in the slip window sync_df_min_mhz..sync_df_max_mhz",
        "sync_travel_mhz: must be at least |sync_slip_mhz|",
        "mb_baud: must be one of 1200 2400 4800 9600 19200 38400 57600 115200",
        "gcb_ms: the breaker feedback time must exceed the close times",
        "map_fl_kpa_x10: must exceed map_nl_kpa_x10 by at least 10 kPa (100) "
        "(either 0: the fuel table's MAP line)",
        "fleet_mask: must include this unit (bit fleet_unit_id) and the master "
        "(bit fleet_master_id)",
        "pm_stop_pct: must be below pm_start_pct",
        "fleet_claim_ms: must be at least deadbus.min_claim_ms for the share link "
        "and gcb_close_time_ms (651 ms + gcb_close_time_ms)",
        "pm_restore_pct: must be below pm_shed_pct")

# deadbus.min_claim_ms(sharelink stale 300, period 50, latency 50, close 0,
# detect 200) = 651: the share link's figures (fleet.py) and the bus-dead
# detection (measure.py's bus voltage, one filtered cycle, with margin).
_CLAIM_FLOOR_MS = const(651)

_INDEX = {}
for _i in range(len(SETTINGS)):
    _INDEX[SETTINGS[_i][0]] = _i


def settings_crc():
    """CRC-16 over the setting names in order: identifies the setting table
    (settings are addressed by index on the tick link and, later, Modbus)."""
    from crc16 import crc16
    b = ",".join([s[0] for s in SETTINGS]).encode()
    return crc16(b, 0, len(b))


class Config:
    """Holds settings by name plus derived raw coefficients."""

    def __init__(self):
        for s in SETTINGS:
            setattr(self, s[0], s[1])
        self.derive()

    def set(self, name, value):
        """Set one setting.  Returns True if accepted; an unknown name, a
        non-integer, an out-of-range value or one that contradicts the other
        settings (see problem()) is refused and the old value kept."""
        return self.set_many(((name, value),)) is None

    def set_many(self, pairs):
        """Set several settings as one change: every value is range-checked,
        then the relations are checked on the whole new set, so a set that is
        consistent as a whole is taken whatever its order, and a set that
        contradicts itself is refused as a whole (old values kept).  Returns
        None if applied, else a one-line reason naming the setting."""
        old = []
        why = None
        for name, value in pairs:
            i = _INDEX.get(name, -1) if isinstance(name, str) else -1
            if i < 0:
                why = "%s: unknown setting" % (name,)
                break
            s_ = SETTINGS[i]
            if not isinstance(value, int) or isinstance(value, bool) or \
                    value < s_[2] or value > s_[3]:
                why = "%s: must be an integer between %d and %d" % (name, s_[2], s_[3])
                break
            old.append((name, getattr(self, name)))
            setattr(self, name, value)
        if why is None:
            why = self.problem()
        if why is not None:
            for k in range(len(old) - 1, -1, -1):
                setattr(self, old[k][0], old[k][1])
            return why
        self.derive()
        return None

    def problem(self):
        """The first relation between settings that does not hold, as a
        one-line reason, or None.  Each range alone is not enough: poles = 12
        leaves idle (1200 rpm) above rated (600 rpm), so every start would
        trip overspeed."""
        k = self.relation()
        if k == 0:
            return None
        if k == 5:
            return ("idle_rpm_x10: must be below the rated speed, 1200 * f_nom_hz / poles "
                    "= %d rpm_x10" % (1200 * self.f_nom_hz // self.poles))
        if k == 8:
            return ("i_rated_a_x10: sqrt(3) * v_rated * i_rated (%d kVA_x10) must be at "
                    "least p_rated_kw_x10" % self._s_kva_x10())
        return _WHY[k]

    def _s_kva_x10(self):
        return (self.v_rated_dv * self.i_rated_a_x10 // 1000) * 1732 // 10000

    def relation(self):
        """problem() as a number (0 = all hold), without building a string:
        the Modbus path checks a live write with it allocation-free."""
        if self.f_nom_hz != 50 and self.f_nom_hz != 60:
            return 1
        if self.poles & 1:
            return 2
        if 1000 % self.tick_ms:
            return 3
        pf = self.pf_x1000 if self.pf_x1000 >= 0 else -self.pf_x1000
        if pf < 800:
            return 4
        if self.idle_rpm_x10 >= 1200 * self.f_nom_hz // self.poles:
            return 5
        if self.crank_disc_rpm_x10 >= self.idle_rpm_x10:
            return 6
        # Crank disconnect by frequency below the idle frequency (mHz of
        # idle speed: rpm_x10 * poles / 1200 * 1000).
        if self.crank_disc_mhz * 6 >= self.idle_rpm_x10 * self.poles * 5:
            return 7
        # The rated current carries the rated power: sqrt(3) V I >= P.
        if self._s_kva_x10() < self.p_rated_kw_x10:
            return 8
        if self.sync_df_min_mhz >= self.sync_df_max_mhz:
            return 9
        if not self.sync_df_min_mhz <= self.sync_slip_mhz <= self.sync_df_max_mhz:
            return 10
        slip = self.sync_slip_mhz if self.sync_slip_mhz >= 0 else -self.sync_slip_mhz
        if self.sync_travel_mhz < slip:
            return 11
        if self.mb_baud not in BAUDS:
            return 12
        if self.gcb_close_time_ms >= self.gcb_ms or self.mb_close_time_ms >= self.gcb_ms:
            return 13
        # Both set, or (either 0) the fuel table's line: so the pair can be
        # written one at a time from either end.
        if self.map_nl_kpa_x10 and self.map_fl_kpa_x10 and \
                self.map_fl_kpa_x10 < self.map_nl_kpa_x10 + 100:
            return 14
        u = self.fleet_unit_id
        fm = self.fleet_mask
        if u and ((fm >> u) & 1 == 0 or (fm >> self.fleet_master_id) & 1 == 0):
            return 15
        if self.pm_stop_pct >= self.pm_start_pct:
            return 16
        # Dead-bus claims (deadbus.py): the link's stale time, frame period
        # and twice its latency, the breaker's close time and the dead-bus
        # detection, so no two units can close onto a dead bus: a floor no
        # write can lower.
        if self.fleet_claim_ms < _CLAIM_FLOOR_MS + self.gcb_close_time_ms:
            return 17
        if self.pm_restore_pct >= self.pm_shed_pct:
            return 18
        return 0

    def set_live(self, i, value):
        """Set SETTINGS[i] (one of LIVE) while the engine runs: range and
        relations checked, the old value kept on refusal; no allocation.
        Returns True if accepted."""
        s_ = SETTINGS[i]
        if value < s_[2] or value > s_[3]:
            return False
        name = s_[0]
        old = getattr(self, name)
        setattr(self, name, value)
        if self.relation():
            setattr(self, name, old)
            return False
        self.derive()
        return True

    def derive(self):
        """Compute raw per-tick coefficients from the settings (start-up only)."""
        fuel = fuels.FUELS[self.fuel]
        self.fuel_row = fuel
        # Rated speed: 120 * f / poles rpm, in 0.1 rpm.
        self.rated_rpm_x10 = 1200 * self.f_nom_hz // self.poles
        self.f_nom_mhz = 1000 * self.f_nom_hz
        # Speed from pickup timing: rpm_x10 = (edges - 1) * mpu_k / span_us,
        # mpu_k = 60 s * 1e6 us * 10 / teeth.
        self.mpu_k = 600000000 // self.mpu_teeth
        self.p_fuel_rated_kw_x10 = mul_div(self.p_rated_kw_x10,
                                           fuel[fuels.F_DERATE_PCT_X100], 10000)
        gain = fuel[fuels.F_GAIN_PCT]
        # kp: fuel_pct_x100 per rpm_x10, Q10.  1 pu fuel = 10000, 1 pu speed = rated.
        # (x 102400 as 256 then 400: kp 10000 x biogas 120 % x 102400 would
        # pass 2**30; the rounding lost is under 0.1 %.)
        self.kp_q10 = mul_div(mul_div(self.kp_pu_x100, gain, 100), 25600,
                              self.rated_rpm_x10) * 4
        # Synchronising, unloaded: sync_kp_pct of the base kp on every fuel.
        # The fuel's gain scale is for the loaded set (knock margin, valve
        # gain at load); unloaded, hydrogen's 80 % left its synchroniser
        # lagging the approach (p95 4.5 s against 3.2 s on the base gain).
        # (x 1024 as 256 then 4: kp 10000 x 200 % x 1024 would pass 2**30.)
        self.kp_sync_q10 = mul_div(self.kp_pu_x100 * self.sync_kp_pct, 256,
                                   self.rated_rpm_x10) * 4
        # ki per tick: fuel_pct_x100 per rpm_x10 per tick, Q12.
        # (x 4096 as 1024 then 4: ki 5000 x 120 % x 50 ms x 4096 would pass 2**30.)
        self.ki_q12 = mul_div(mul_div(self.ki_pu_x100, gain, 100) * self.tick_ms,
                              1024, 10 * self.rated_rpm_x10) * 4
        # Synchronising, the integrator runs at a fifth: the set point moves
        # (the synchroniser's braking profile) and a full integral on an
        # integrating plant overshoots every move; the synchroniser's own
        # slip integrator removes the steady error.
        self.ki_sync_q12 = self.ki_q12 // 5
        # kd on measured speed change per tick, Q8: pu fuel per (pu speed / s).
        # fuel_x100 = kd_s * d(speed_pu)/dt * 10000 = kd_ms * d_rpm_x10 * 10000 / (rated * tick_ms)
        self.kd_q8 = mul_div(mul_div(self.kd_pu_ms, gain, 100) * 10000 // self.tick_ms,
                             256, self.rated_rpm_x10)
        # Droop: speed reference falls by droop % of rated at rated kW.
        self.droop_rpm_x10 = mul_div(self.rated_rpm_x10, self.droop_pct_x100, 10000)
        self.fuel_min = fuel[fuels.F_FUEL_MIN_PCT_X100]
        self.fuel_max = fuel[fuels.F_FUEL_MAX_PCT_X100]
        self.rate_up_tick = fuel[fuels.F_RATE_UP_PCT_X100_S] * self.tick_ms // 1000
        self.rate_dn_tick = fuel[fuels.F_RATE_DN_PCT_X100_S] * self.tick_ms // 1000
        self.fuel_nl = fuel[fuels.F_FUEL_NL_PCT_X100]
        # Feed-forward slope: actuator span from no load to rated kW, scaled by ff_pct.
        self.ff_span = mul_div(fuel[fuels.F_FUEL_FL_PCT_X100] - self.fuel_nl,
                               self.ff_pct, 100)
        # The fuel map's commissioned span (the learned map starts on it) and
        # the lead's first-order lag, alpha in Q12 = tick / (tau + tick).
        self.map_span = fuel[fuels.F_FUEL_FL_PCT_X100] - self.fuel_nl
        # The MAP line the governor's MAP lead reads the manifold on: the
        # commissioning reading if set, else the fuel table's.
        if self.map_nl_kpa_x10 and self.map_fl_kpa_x10:
            self.map_line_nl = self.map_nl_kpa_x10
            self.map_line_span = self.map_fl_kpa_x10 - self.map_nl_kpa_x10
        else:
            self.map_line_nl = fuel[fuels.F_MAP_NL_KPA_X10]
            self.map_line_span = fuel[fuels.F_MAP_FL_KPA_X10] - self.map_line_nl
        self.ff_lead_alpha_q12 = mul_div(self.tick_ms, 4096, self.ff_lead_ms + self.tick_ms)
        # Speed-ramp feed-forward: accelerating at a pu/s takes 2H a pu torque,
        # ~ ff_span * 2H * a of fuel.  acc_ff = dsp * acc_k / tick_ms for a set
        # point change dsp (rpm_x10 per tick).
        self.acc_k = mul_div(self.ff_span, 2 * self.inertia_h_ms, self.rated_rpm_x10)
        # The run-up ramp per tick: the sequencer's set-point step, and the
        # steepest slope the acceleration feed-forward believes.
        self.ramp_tick_rpm_x10 = self.ramp_rpm_x10_s * self.tick_ms // 1000
        # A kW change larger than this skips the filter (a load step is real,
        # metering noise is not that large).
        self.ff_fast_kw_x10 = mul_div(self.p_fuel_rated_kw_x10, self.ff_fast_pct, 100)
        # Ignition cut: most skipped firings for this fuel (0 for hydrogen).
        self.ign_cut_max = fuel[fuels.F_IGN_CUT_MAX_PCT] * 100 if self.ign_cut_enable else 0
        self.ign_cut_dp_kw_x10 = mul_div(self.p_fuel_rated_kw_x10, self.ign_cut_dp_pct, 100)
        self.ign_cut_on_rpm_x10 = mul_div(self.rated_rpm_x10, self.ign_cut_on_pct_x100, 10000)
        # First-order kW filter: alpha in Q12 = tick / (tau + tick).
        self.p_alpha_q12 = mul_div(self.tick_ms, 4096, self.p_filt_ms + self.tick_ms)
        # Voltage trim integral per tick, Q12 of bias_pct_x100 per v_dv error.
        # bias %/s per % error -> per tick: ki * tick/1000 * (10000/v_rated) * ...
        self.avr_ki_q12 = mul_div(self.avr_trim_ki_pct_x100 * self.tick_ms, 4096,
                                  self.v_rated_dv * 10)
        self.v_rated_dv_cfg = self.v_rated_dv
        # kvar loop: 1 % bias per s per % (of rating) kvar error, per tick, Q12.
        # Slow on purpose: 1 % bias moves ~2.5 % kvar through the AVR's
        # paralleling droop, so the loop runs at ~2.5 /s, well inside the AVR.
        self.avr_kq_q12 = mul_div(10 * self.tick_ms, 4096, self.p_rated_kw_x10)
        # Power loop (grid-parallel): kp 0.5 pu fuel per pu kW error; ki per
        # tick in Q12 of fuel_pct_x100 per kW_x10 error.
        self.pc_kp_x1000 = mul_div(self.ff_span, 500, self.p_fuel_rated_kw_x10)
        self.pc_ki_q12 = mul_div(mul_div(self.pc_ki_pct * self.tick_ms, 4096, 1000),
                                 self.ff_span, self.p_fuel_rated_kw_x10 * 100) + 1
