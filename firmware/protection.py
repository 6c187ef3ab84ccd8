"""Protections: every function with pickup, delay (or curve), enable and class.

One table, PROTECTIONS, defines every protection the GX230 has: ANSI device
functions for the generator (12, 81O/U, 59/27, 32, 40, 46, 50/51) and the
engine and plant functions commercial controllers carry (oil, coolant, gas,
battery, speed-pickup and metering loss, overcrank, fail to stop, breaker
supervision, knock, e-stop).  Settings live in preallocated arrays so they can
be changed (refused when out of range, old value kept) and read back by
index, which is how the tick link and Modbus address them.

Kinds of element:
  K_OVER / K_UNDER  a measured quantity above / below pickup for delay_ms
  K_BIT             a digital input or a condition flag the controller
                    computes (FLAG_*) present for delay_ms
  K_INVERSE         inverse-time overcurrent (overcurrent.InverseTime)
A condition that drops out resets the delay timer at once (the time to trip
is the delay exactly, within one tick - as the IEEE 1547 clearing times are
written).  It drops out at the pickup less a small hysteresis, so a value
sitting on the setting does not chatter the alarm.

Arming: each protection acts only in the states that make sense for it
(A_*): the IEEE 1547 interconnection trips (and 32, 40) only while the set
is paralleled with the grid; the island set of V/f trips, wide enough for
ISO 8528-5 G3 transients, while the set supplies its bus alone; protections
that read the metering front end only while it is healthy (a dead meter reads
zero volts, which must not look like an under-voltage); low oil pressure only
after oil_arm_ms from crank disconnect; battery under-voltage never while
cranking.

Classes (CL_*), lowest to highest: warning, trip mains (open the mains
breaker: loss of mains while paralleled; the set carries the site on),
trip breaker, soft shutdown (open, cool down, stop), hard shutdown (fuel off
now), emergency stop.
The default grid trip table is the IEEE 1547-2018 Category I profile, with
clearing times as the delays (profiles.py also carries Categories II, III).
Island defaults follow commercial genset controllers: 81U at 90 % for 5 s,
81O at 110 % for 3 s, 27 at 80 % for 5 s, 59 at 115 % for 2 s.

Units: see measure.py; pickups in the unit of their source (SRC_*).
"""

from array import array
from fixpt import const, mul_div
import overcurrent

# --- classes -------------------------------------------------------------
CL_NONE = const(0)
CL_WARNING = const(1)
CL_MAINS = const(2)     # trip the mains breaker: the grid is lost, the set carries on
CL_TRIP = const(3)
CL_SOFT = const(4)
CL_HARD = const(5)
CL_ESTOP = const(6)
CLASS_NAMES = ("none", "warning", "trip_mains", "trip_breaker", "soft_shutdown",
               "hard_shutdown", "emergency_stop")

# --- kinds ---------------------------------------------------------------
K_OVER = const(0)
K_UNDER = const(1)
K_BIT = const(2)
K_INVERSE = const(3)

# --- sources (index into Protection.vals, filled by the controller) -------
SRC_SPEED_PCT = const(0)    # speed, pct_x100 of rated
SRC_F_DEV_MHZ = const(1)    # generator frequency - nominal, mHz (0 when dead)
SRC_V_PCT = const(2)        # voltage, pct_x100 of rated
SRC_P_PCT = const(3)        # active power, pct_x100 of rated kW
SRC_Q_PCT = const(4)        # reactive power, pct_x100 of rated kW
SRC_I_PCT = const(5)        # highest phase current, pct_x100 of rated
SRC_I_UNBAL_PCT = const(6)  # max - min phase current, pct_x100 of rated
SRC_I_A_X10 = const(7)      # highest phase current, 0.1 A (for 51)
SRC_OIL_KPA = const(8)
SRC_COOLANT_DC = const(9)
SRC_GAS_MBAR = const(10)
SRC_BATT_MV = const(11)
SRC_DI = const(12)          # hal.DI_* bits
SRC_FLAGS = const(13)       # FLAG_* bits computed by the controller
SRC_ROCOF = const(14)       # |generator ROCOF|, mHz/s
SRC_VSHIFT = const(15)      # |generator vector shift|, 0.01 deg
SRC_IMPORT_PCT = const(16)  # grid import at the PCC, pct_x100 of the set's rated kW
N_SRC = const(17)

# Condition flags the controller computes (SRC_FLAGS)
FLAG_MPU_LOSS = const(1)
FLAG_METER_LOSS = const(2)
FLAG_OVERCRANK = const(4)
FLAG_FAIL_TO_STOP = const(8)
FLAG_GCB_FAIL_CLOSE = const(16)
FLAG_GCB_FAIL_OPEN = const(32)
FLAG_UNDERSPEED = const(64)
FLAG_PROVING_FAIL = const(128)
FLAG_SYNC_FAIL = const(256)

# --- arming --------------------------------------------------------------
A_ALWAYS = const(0)
A_RUNNING = const(1)     # engine running (crank disconnect until stopped)
A_OIL = const(2)         # running, and oil_arm_ms since crank disconnect
A_GCB = const(3)         # generator breaker closed
A_NOT_CRANKING = const(4)
A_RATED = const(5)       # at rated speed (after the idle -> rated ramp)
A_GRID = const(6)        # breaker closed and paralleled with the grid (mains breaker closed)
A_ISLAND = const(7)      # breaker closed, the set alone on its bus
A_METERED = const(8)     # the metering front end is healthy (V, kW, kvar, A are real)
A_GRID_M = const(9)      # A_GRID and A_METERED
A_ISLAND_M = const(10)   # A_ISLAND and A_METERED
A_GRID_SETTLED = const(11)  # paralleled for lom_inhibit_ms (loss-of-mains blind time over)
A_NON_EXPORT = const(12)    # A_GRID_SETTLED, metered, loaded, and a zero-export site

# Hysteresis (drop-out) per source, in the source's unit.
_HYST = (50, 50, 100, 50, 50, 100, 100, 10, 10, 10, 1, 200, 0, 0, 100, 100, 50)

# name, ANSI/code, kind, source, pickup, delay_ms, class, arm, enabled
# Codes: the ANSI device number where one exists (x10 + stage), else 1000+.
PROTECTIONS = (
    ("overspeed", 120, K_OVER, SRC_SPEED_PCT, 11500, 0, CL_HARD, A_ALWAYS, 1),
    ("over_frequency_2", 812, K_OVER, SRC_F_DEV_MHZ, 2000, 160, CL_TRIP, A_GRID, 1),
    ("over_frequency_1", 811, K_OVER, SRC_F_DEV_MHZ, 1200, 300000, CL_TRIP, A_GRID, 1),
    ("under_frequency_1", 813, K_UNDER, SRC_F_DEV_MHZ, -1500, 300000, CL_TRIP, A_GRID, 1),
    ("under_frequency_2", 814, K_UNDER, SRC_F_DEV_MHZ, -3500, 160, CL_TRIP, A_GRID, 1),
    ("over_voltage_2", 592, K_OVER, SRC_V_PCT, 12000, 160, CL_TRIP, A_GRID_M, 1),
    ("over_voltage_1", 591, K_OVER, SRC_V_PCT, 11000, 2000, CL_TRIP, A_GRID_M, 1),
    ("under_voltage_1", 271, K_UNDER, SRC_V_PCT, 7000, 2000, CL_TRIP, A_GRID_M, 1),
    ("under_voltage_2", 272, K_UNDER, SRC_V_PCT, 4500, 160, CL_TRIP, A_GRID_M, 1),
    ("reverse_power", 320, K_UNDER, SRC_P_PCT, -500, 3000, CL_TRIP, A_GRID_M, 1),
    ("loss_of_excitation", 400, K_UNDER, SRC_Q_PCT, -3000, 5000, CL_TRIP, A_GRID_M, 1),
    ("current_unbalance", 460, K_OVER, SRC_I_UNBAL_PCT, 2000, 5000, CL_TRIP, A_METERED, 1),
    ("overcurrent_inst", 500, K_OVER, SRC_I_PCT, 30000, 50, CL_TRIP, A_METERED, 1),
    # 51: pickup in pct_x100 of rated current, "delay" field holds TMS x1000,
    # the curve (overcurrent.CURVE_*) is a setting of its own (see CURVE below).
    ("overcurrent_time", 510, K_INVERSE, SRC_I_A_X10, 11000, 100, CL_TRIP, A_METERED, 1),
    ("low_oil_pressure_pre", 1001, K_UNDER, SRC_OIL_KPA, 200, 2000, CL_WARNING, A_OIL, 1),
    ("low_oil_pressure", 1002, K_UNDER, SRC_OIL_KPA, 140, 1000, CL_HARD, A_OIL, 1),
    ("high_coolant_temp_pre", 1003, K_OVER, SRC_COOLANT_DC, 950, 5000, CL_WARNING, A_ALWAYS, 1),
    ("high_coolant_temp", 1004, K_OVER, SRC_COOLANT_DC, 1030, 2000, CL_HARD, A_ALWAYS, 1),
    ("low_gas_pressure_pre", 1005, K_UNDER, SRC_GAS_MBAR, 20, 2000, CL_WARNING, A_RUNNING, 1),
    ("low_gas_pressure", 1006, K_UNDER, SRC_GAS_MBAR, 12, 1000, CL_HARD, A_RUNNING, 1),
    ("high_gas_pressure_pre", 1007, K_OVER, SRC_GAS_MBAR, 60, 2000, CL_WARNING, A_ALWAYS, 1),
    ("high_gas_pressure", 1008, K_OVER, SRC_GAS_MBAR, 80, 1000, CL_HARD, A_ALWAYS, 1),
    ("gas_leak", 1009, K_BIT, SRC_DI, 4, 500, CL_HARD, A_ALWAYS, 1),
    ("overcrank", 1010, K_BIT, SRC_FLAGS, FLAG_OVERCRANK, 0, CL_HARD, A_ALWAYS, 1),
    ("fail_to_stop", 1011, K_BIT, SRC_FLAGS, FLAG_FAIL_TO_STOP, 0, CL_WARNING, A_ALWAYS, 1),
    ("speed_pickup_loss", 1012, K_BIT, SRC_FLAGS, FLAG_MPU_LOSS, 500, CL_SOFT, A_RUNNING, 1),
    ("metering_loss", 1013, K_BIT, SRC_FLAGS, FLAG_METER_LOSS, 1000, CL_SOFT, A_RUNNING, 1),
    ("battery_under_voltage", 1014, K_UNDER, SRC_BATT_MV, 22000, 10000, CL_WARNING, A_NOT_CRANKING, 1),
    ("battery_over_voltage", 1015, K_OVER, SRC_BATT_MV, 31000, 10000, CL_WARNING, A_ALWAYS, 1),
    ("knock", 1016, K_BIT, SRC_DI, 8, 200, CL_WARNING, A_RUNNING, 1),
    ("emergency_stop", 1017, K_BIT, SRC_DI, 1, 0, CL_ESTOP, A_ALWAYS, 1),
    ("gcb_fail_to_close", 1018, K_BIT, SRC_FLAGS, FLAG_GCB_FAIL_CLOSE, 0, CL_TRIP, A_ALWAYS, 1),
    ("gcb_fail_to_open", 1019, K_BIT, SRC_FLAGS, FLAG_GCB_FAIL_OPEN, 0, CL_HARD, A_ALWAYS, 1),
    ("underspeed", 1020, K_BIT, SRC_FLAGS, FLAG_UNDERSPEED, 5000, CL_HARD, A_RATED, 1),
    ("gas_valve_proving", 1021, K_BIT, SRC_FLAGS, FLAG_PROVING_FAIL, 0, CL_HARD, A_ALWAYS, 1),
    # Island V/f set (codes x10 + 5, 6: the ANSI function, island stage)
    ("island_under_frequency", 815, K_UNDER, SRC_F_DEV_MHZ, -6000, 5000, CL_TRIP, A_ISLAND, 1),
    ("island_over_frequency", 816, K_OVER, SRC_F_DEV_MHZ, 6000, 3000, CL_TRIP, A_ISLAND, 1),
    ("island_under_voltage", 275, K_UNDER, SRC_V_PCT, 8000, 5000, CL_TRIP, A_ISLAND_M, 1),
    ("island_over_voltage", 595, K_OVER, SRC_V_PCT, 11500, 2000, CL_TRIP, A_ISLAND_M, 1),
    ("sync_fail", 250, K_BIT, SRC_FLAGS, FLAG_SYNC_FAIL, 0, CL_TRIP, A_ALWAYS, 1),
    # Loss of mains while paralleled (standards.md: ROCOF over 4-9 cycles,
    # 0.1-2 Hz/s; vector shift 6-12 deg in one cycle; blind after closing).
    # This set's inertia is low (H 0.44 s): a 10 deg grid phase jump swings
    # its frequency at ~2.7 Hz/s, so ROCOF sits at 3.5 Hz/s to ride through
    # it - above IEEE 1547's ROCOF ride-through (0.5 / 2.0 / 3.0 Hz/s for
    # Cat I / II / III); a 25 % power mismatch on islanding gives ~15 Hz/s.
    ("rocof", 817, K_OVER, SRC_ROCOF, 3500, 20, CL_MAINS, A_GRID_SETTLED, 1),
    ("vector_shift", 780, K_OVER, SRC_VSHIFT, 1000, 0, CL_MAINS, A_GRID_SETTLED, 1),
    # Minimum import (32 at the PCC): a zero-export site always imports at
    # least import_min_kw_x10 (power control keeps it), so an import near
    # zero means the grid is not there - the balanced island that ROCOF and
    # vector shift cannot see (IEEE 1547: cease to energise within 2 s).
    ("min_import", 322, K_UNDER, SRC_IMPORT_PCT, 500, 1000, CL_MAINS, A_NON_EXPORT, 1),
)
N_PROT = const(43)

P_NAME = const(0)
P_CODE = const(1)
P_KIND = const(2)
P_SRC = const(3)
P_PICKUP = const(4)
P_DELAY = const(5)
P_CLASS = const(6)
P_ARM = const(7)
P_ENABLE = const(8)

# Settable fields per protection (link / Modbus index = base + 8 * i + field)
F_ENABLE = const(0)
F_PICKUP = const(1)
F_DELAY_MS = const(2)
F_CLASS = const(3)
F_CURVE = const(4)      # K_INVERSE only
N_FIELDS = const(5)
FIELD_NAMES = ("enable", "pickup", "delay_ms", "class", "curve")

# Limits of a pickup per source (lo, hi), so a setter can refuse nonsense.
_PICKUP_LIMITS = ((5000, 15000), (-10000, 10000), (1000, 15000), (-5000, 5000),
                  (-10000, 10000), (1000, 100000), (100, 10000), (100, 100000),
                  (0, 1000), (0, 1500), (0, 1000), (5000, 40000), (1, 65535),
                  (1, 65535), (100, 10000), (200, 3000))


def index_of(name):
    for i in range(N_PROT):
        if PROTECTIONS[i][P_NAME] == name:
            return i
    return -1


class Protection:
    def __init__(self, cfg):
        self.cfg = cfg
        n = N_PROT
        self.enable = array("i", [p[P_ENABLE] for p in PROTECTIONS])
        self.pickup = array("i", [p[P_PICKUP] for p in PROTECTIONS])
        self.delay_ms = array("i", [p[P_DELAY] for p in PROTECTIONS])
        self.cls = array("i", [p[P_CLASS] for p in PROTECTIONS])
        self.timer_ms = array("i", [0] * n)
        self.active = bytearray(n)    # condition present (after arming)
        self.tripped = bytearray(n)   # set the tick the delay ran out
        self.vals = array("i", [0] * N_SRC)
        self.value_at = array("i", [0] * n)   # value when tripped
        self.mains_tripped = False   # a trip-mains protection acted this tick
        self.i51 = index_of("overcurrent_time")
        self.curve = overcurrent.CURVE_IEC_VI
        self._build_inverse()

    def _build_inverse(self):
        i = self.i51
        pick_a_x10 = mul_div(self.cfg.i_rated_a_x10, self.pickup[i], 10000)
        self.inv = overcurrent.InverseTime(self.curve, pick_a_x10, self.delay_ms[i],
                                           self.cfg.tick_ms)

    def set_field(self, i, field, value):
        """Change one setting of protection i; out-of-range values are refused
        and the old value kept.  Returns True if accepted."""
        if i < 0 or i >= N_PROT or not isinstance(value, int) or isinstance(value, bool):
            return False
        p = PROTECTIONS[i]
        if field == F_ENABLE:
            if value not in (0, 1):
                return False
            self.enable[i] = value
        elif field == F_PICKUP:
            lo, hi = _PICKUP_LIMITS[p[P_SRC]]
            if p[P_KIND] == K_INVERSE:
                lo, hi = 5000, 40000
            if value < lo or value > hi:
                return False
            self.pickup[i] = value
        elif field == F_DELAY_MS:
            lo, hi = (50, 2000) if p[P_KIND] == K_INVERSE else (0, 600000)
            if value < lo or value > hi:
                return False
            self.delay_ms[i] = value
        elif field == F_CLASS:
            if value < CL_WARNING or value > CL_ESTOP:
                return False
            self.cls[i] = value
        elif field == F_CURVE:
            if p[P_KIND] != K_INVERSE or value < 0 or value >= len(overcurrent.CURVE_NAMES):
                return False
            self.curve = value
        else:
            return False
        if p[P_KIND] == K_INVERSE:
            self._build_inverse()
        return True

    def get_field(self, i, field):
        if field == F_ENABLE:
            return self.enable[i]
        if field == F_PICKUP:
            return self.pickup[i]
        if field == F_DELAY_MS:
            return self.delay_ms[i]
        if field == F_CLASS:
            return self.cls[i]
        return self.curve

    def update(self, armed_mask, tick_ms):
        """One tick: run every element against self.vals (filled by the
        controller).  armed_mask has bit (1 << A_*) set for each arming
        condition met now.  Sets active[i] and tripped[i]; returns the number
        of protections that tripped this tick."""
        vals = self.vals
        new = 0
        self.mains_tripped = False
        for i in range(N_PROT):
            self.tripped[i] = 0
            p = PROTECTIONS[i]
            if not self.enable[i] or not (armed_mask >> p[P_ARM]) & 1:
                self.active[i] = 0
                self.timer_ms[i] = 0
                if p[P_KIND] == K_INVERSE:
                    self.inv.reset()
                continue
            kind = p[P_KIND]
            src = p[P_SRC]
            v = vals[src]
            pk = self.pickup[i]
            was = self.active[i]
            if kind == K_OVER:
                cond = v > pk if not was else v > pk - _HYST[src]
            elif kind == K_UNDER:
                cond = v < pk if not was else v < pk + _HYST[src]
            elif kind == K_BIT:
                cond = (v & pk) != 0
            else:
                cond = self.inv.update(v)
                if cond:
                    self.active[i] = 1
                    if self.timer_ms[i] == 0:
                        self.timer_ms[i] = 1
                        self.tripped[i] = 1
                        self.value_at[i] = v
                        new += 1
                    continue
                self.active[i] = 0
                self.timer_ms[i] = 0
                continue
            if cond:
                self.active[i] = 1
                t = self.timer_ms[i]
                if t <= self.delay_ms[i]:
                    # Count the time the condition has been present; trip on
                    # the tick it reaches the delay (one tick late at most).
                    t += tick_ms
                    self.timer_ms[i] = t
                    if t > self.delay_ms[i]:
                        self.tripped[i] = 1
                        self.value_at[i] = v
                        new += 1
                        if self.cls[i] == CL_MAINS:
                            self.mains_tripped = True
            else:
                self.active[i] = 0
                self.timer_ms[i] = 0
        return new
