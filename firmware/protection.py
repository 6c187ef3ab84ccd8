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
from fixpt import const, mul_div, ptr32, viper, SMALL_INT_MAX
import overcurrent

# In a @viper function ptr8 is the compiler's byte view of a bytearray, as
# ptr32 is the word view of an array('i'); as written, both the identity.
ptr8 = ptr32

# -- constants of  (tools/gen_consts.py; do not edit) --
# -- end of generated constants --


def _row(*fields):
    """A table row, built at import, not a constant tuple (see config._row)."""
    return fields


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
SRC_STALL_PCT = const(17)   # speed pct_x100 of rated while it falls faster
                            # than 5 %/s or has bogged (controller.py); else 10000
N_SRC = const(18)

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
FLAG_MB_FAIL_OPEN = const(512)
FLAG_ISLANDING = const(1024)

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

# One row per source (index = SRC_*): hysteresis (drop-out, in the source's
# unit) and the limits a pickup on that source may be set to.  One table, so
# a new source cannot be added without its limits (a shorter limits table
# once let a valid write index past its end).
SOURCES = (
    #     hyst  pickup lo  pickup hi
    _row(50, 5000, 15000),    # SRC_SPEED_PCT
    _row(50, -10000, 10000),  # SRC_F_DEV_MHZ
    _row(100, 1000, 15000),   # SRC_V_PCT
    _row(50, -5000, 5000),    # SRC_P_PCT
    _row(50, -10000, 10000),  # SRC_Q_PCT
    _row(100, 1000, 100000),  # SRC_I_PCT
    _row(100, 100, 10000),    # SRC_I_UNBAL_PCT
    _row(10, 100, 100000),    # SRC_I_A_X10
    _row(10, 0, 1000),        # SRC_OIL_KPA
    _row(10, 0, 1500),        # SRC_COOLANT_DC
    _row(1, 0, 1000),         # SRC_GAS_MBAR
    _row(200, 5000, 40000),   # SRC_BATT_MV
    _row(0, 0, 0),            # SRC_DI     (bit masks: K_BIT pickups are fixed)
    _row(0, 0, 0),            # SRC_FLAGS
    _row(100, 100, 10000),    # SRC_ROCOF
    _row(100, 200, 3000),     # SRC_VSHIFT
    _row(50, 100, 5000),      # SRC_IMPORT_PCT
    _row(0, 5000, 9500),      # SRC_STALL_PCT (no hysteresis: the value jumps)
)
if len(SOURCES) != N_SRC:
    raise ValueError("protection.SOURCES must have one row per SRC_*")
_HYST = array("i", [s_[0] for s_ in SOURCES])

# name, ANSI/code, kind, source, pickup, delay_ms, class, arm, enabled,
#   floor   the lowest class a write may give it (CL_WARNING: any)
#   fixed   1: always enabled - a write of enable = 0 is refused
#   limits  None: the source's pickup limits and 0..600000 ms of delay
#           (TMS 50..2000 for K_INVERSE); else (pickup lo, hi, delay lo, hi)
# K_BIT pickups (which input or flag bit) are never writable.
# Codes: the ANSI device number where one exists (x10 + stage), else 1000+.
# The last-resort protections (fixed, with a floor at the class that stops
# the danger) are what no setting write, scenario or Modbus master can take
# away: emergency stop, overspeed, the NFPA 110 Level 1 shutdowns (overcrank,
# low oil pressure, high coolant temperature), gas leak and gas pressure,
# breaker failure, the engine-stall stage, the 50/51/32 generator
# protections and the IEEE 1547 interconnection trips (floor: trip mains -
# opening either breaker ceases to energise the utility).
_G = CL_MAINS     # floor of the interconnection trips
PROTECTIONS = (
    _row("overspeed", 120, K_OVER, SRC_SPEED_PCT, 11500, 0, CL_HARD, A_ALWAYS, 1,
         CL_HARD, 1, _row(10500, 12500, 0, 500)),
    _row("over_frequency_2", 812, K_OVER, SRC_F_DEV_MHZ, 2000, 160, CL_TRIP, A_GRID, 1,
         _G, 1, _row(100, 6000, 0, 600000)),
    _row("over_frequency_1", 811, K_OVER, SRC_F_DEV_MHZ, 1200, 300000, CL_TRIP, A_GRID, 1,
         _G, 1, _row(100, 6000, 0, 600000)),
    _row("under_frequency_1", 813, K_UNDER, SRC_F_DEV_MHZ, -1500, 300000, CL_TRIP, A_GRID, 1,
         _G, 1, _row(-6000, -100, 0, 600000)),
    _row("under_frequency_2", 814, K_UNDER, SRC_F_DEV_MHZ, -3500, 160, CL_TRIP, A_GRID, 1,
         _G, 1, _row(-6000, -100, 0, 600000)),
    _row("over_voltage_2", 592, K_OVER, SRC_V_PCT, 12000, 160, CL_TRIP, A_GRID_M, 1,
         _G, 1, _row(10500, 13500, 0, 30000)),
    _row("over_voltage_1", 591, K_OVER, SRC_V_PCT, 11000, 2000, CL_TRIP, A_GRID_M, 1,
         _G, 1, _row(10500, 13500, 0, 30000)),
    _row("under_voltage_1", 271, K_UNDER, SRC_V_PCT, 7000, 2000, CL_TRIP, A_GRID_M, 1,
         _G, 1, _row(1000, 9500, 0, 30000)),
    _row("under_voltage_2", 272, K_UNDER, SRC_V_PCT, 4500, 160, CL_TRIP, A_GRID_M, 1,
         _G, 1, _row(1000, 9500, 0, 30000)),
    _row("reverse_power", 320, K_UNDER, SRC_P_PCT, -500, 3000, CL_TRIP, A_GRID_M, 1,
         CL_TRIP, 1, _row(-2000, -100, 0, 30000)),
    _row("loss_of_excitation", 400, K_UNDER, SRC_Q_PCT, -3000, 5000, CL_TRIP, A_GRID_M, 1,
         CL_WARNING, 0, _row(-10000, -500, 0, 600000)),
    _row("current_unbalance", 460, K_OVER, SRC_I_UNBAL_PCT, 2000, 5000, CL_TRIP, A_METERED, 1,
         CL_WARNING, 0, None),
    _row("overcurrent_inst", 500, K_OVER, SRC_I_PCT, 30000, 50, CL_TRIP, A_METERED, 1,
         CL_TRIP, 1, _row(15000, 50000, 0, 1000)),
    # 51: pickup in pct_x100 of rated current, "delay" field holds TMS x1000,
    # the curve (overcurrent.CURVE_*) is a setting of its own (see CURVE below).
    _row("overcurrent_time", 510, K_INVERSE, SRC_I_A_X10, 11000, 100, CL_TRIP, A_METERED, 1,
         CL_TRIP, 1, _row(10000, 20000, 50, 2000)),
    _row("low_oil_pressure_pre", 1001, K_UNDER, SRC_OIL_KPA, 200, 2000, CL_WARNING, A_OIL, 1,
         CL_WARNING, 0, None),
    _row("low_oil_pressure", 1002, K_UNDER, SRC_OIL_KPA, 140, 1000, CL_HARD, A_OIL, 1,
         CL_HARD, 1, _row(70, 400, 0, 10000)),
    _row("high_coolant_temp_pre", 1003, K_OVER, SRC_COOLANT_DC, 950, 5000, CL_WARNING, A_ALWAYS, 1,
         CL_WARNING, 0, None),
    _row("high_coolant_temp", 1004, K_OVER, SRC_COOLANT_DC, 1030, 2000, CL_HARD, A_ALWAYS, 1,
         CL_HARD, 1, _row(850, 1200, 0, 10000)),
    _row("low_gas_pressure_pre", 1005, K_UNDER, SRC_GAS_MBAR, 20, 2000, CL_WARNING, A_RUNNING, 1,
         CL_WARNING, 0, None),
    _row("low_gas_pressure", 1006, K_UNDER, SRC_GAS_MBAR, 12, 1000, CL_HARD, A_RUNNING, 1,
         CL_WARNING, 0, None),
    _row("high_gas_pressure_pre", 1007, K_OVER, SRC_GAS_MBAR, 60, 2000, CL_WARNING, A_ALWAYS, 1,
         CL_WARNING, 0, None),
    _row("high_gas_pressure", 1008, K_OVER, SRC_GAS_MBAR, 80, 1000, CL_HARD, A_ALWAYS, 1,
         CL_SOFT, 1, _row(30, 500, 0, 10000)),
    _row("gas_leak", 1009, K_BIT, SRC_DI, 4, 500, CL_HARD, A_ALWAYS, 1,
         CL_HARD, 1, _row(0, 0, 0, 2000)),
    _row("overcrank", 1010, K_BIT, SRC_FLAGS, FLAG_OVERCRANK, 0, CL_HARD, A_ALWAYS, 1,
         CL_SOFT, 1, None),
    _row("fail_to_stop", 1011, K_BIT, SRC_FLAGS, FLAG_FAIL_TO_STOP, 0, CL_WARNING, A_ALWAYS, 1,
         CL_WARNING, 1, None),
    _row("speed_pickup_loss", 1012, K_BIT, SRC_FLAGS, FLAG_MPU_LOSS, 500, CL_SOFT, A_RUNNING, 1,
         CL_SOFT, 1, _row(0, 0, 0, 10000)),
    _row("metering_loss", 1013, K_BIT, SRC_FLAGS, FLAG_METER_LOSS, 1000, CL_SOFT, A_RUNNING, 1,
         CL_SOFT, 1, _row(0, 0, 0, 10000)),
    _row("battery_under_voltage", 1014, K_UNDER, SRC_BATT_MV, 22000, 10000, CL_WARNING, A_NOT_CRANKING, 1,
         CL_WARNING, 0, None),
    _row("battery_over_voltage", 1015, K_OVER, SRC_BATT_MV, 31000, 10000, CL_WARNING, A_ALWAYS, 1,
         CL_WARNING, 0, None),
    _row("knock", 1016, K_BIT, SRC_DI, 8, 200, CL_WARNING, A_RUNNING, 1,
         CL_WARNING, 0, None),
    _row("emergency_stop", 1017, K_BIT, SRC_DI, 1, 0, CL_ESTOP, A_ALWAYS, 1,
         CL_ESTOP, 1, _row(0, 0, 0, 0)),
    _row("gcb_fail_to_close", 1018, K_BIT, SRC_FLAGS, FLAG_GCB_FAIL_CLOSE, 0, CL_TRIP, A_ALWAYS, 1,
         CL_WARNING, 0, None),
    _row("gcb_fail_to_open", 1019, K_BIT, SRC_FLAGS, FLAG_GCB_FAIL_OPEN, 0, CL_HARD, A_ALWAYS, 1,
         CL_HARD, 1, _row(0, 0, 0, 0)),
    _row("underspeed", 1020, K_BIT, SRC_FLAGS, FLAG_UNDERSPEED, 5000, CL_HARD, A_RATED, 1,
         CL_TRIP, 1, _row(0, 0, 500, 30000)),
    _row("gas_valve_proving", 1021, K_BIT, SRC_FLAGS, FLAG_PROVING_FAIL, 0, CL_HARD, A_ALWAYS, 1,
         CL_SOFT, 1, None),
    # Island V/f set (codes x10 + 5, 6: the ANSI function, island stage)
    _row("island_under_frequency", 815, K_UNDER, SRC_F_DEV_MHZ, -6000, 5000, CL_TRIP, A_ISLAND, 1,
         CL_WARNING, 0, None),
    _row("island_over_frequency", 816, K_OVER, SRC_F_DEV_MHZ, 6000, 3000, CL_TRIP, A_ISLAND, 1,
         CL_WARNING, 0, None),
    _row("island_under_voltage", 275, K_UNDER, SRC_V_PCT, 8000, 5000, CL_TRIP, A_ISLAND_M, 1,
         CL_WARNING, 0, None),
    _row("island_over_voltage", 595, K_OVER, SRC_V_PCT, 11500, 2000, CL_TRIP, A_ISLAND_M, 1,
         CL_WARNING, 0, None),
    _row("sync_fail", 250, K_BIT, SRC_FLAGS, FLAG_SYNC_FAIL, 0, CL_TRIP, A_ALWAYS, 1,
         CL_WARNING, 0, None),
    # Loss of mains while paralleled (standards.md: ROCOF over 4-9 cycles,
    # 0.1-2 Hz/s; vector shift 6-12 deg in one cycle; blind after closing).
    # This set's inertia is low (H 0.44 s): a 10 deg grid phase jump swings
    # its frequency at ~2.7 Hz/s, so ROCOF sits at 3.5 Hz/s to ride through
    # it - above IEEE 1547's ROCOF ride-through (0.5 / 2.0 / 3.0 Hz/s for
    # Cat I / II / III); a 25 % power mismatch on islanding gives ~15 Hz/s.
    _row("rocof", 817, K_OVER, SRC_ROCOF, 3500, 100, CL_MAINS, A_GRID_SETTLED, 1,
         CL_WARNING, 0, None),
    _row("vector_shift", 780, K_OVER, SRC_VSHIFT, 1000, 0, CL_MAINS, A_GRID_SETTLED, 1,
         CL_WARNING, 0, None),
    # Minimum import (32 at the PCC): a zero-export site always imports at
    # least import_min_kw_x10 (power control keeps it), so an import near
    # zero means the grid is not there - the balanced island that ROCOF and
    # vector shift cannot see (IEEE 1547: cease to energise within 2 s).
    _row("min_import", 322, K_UNDER, SRC_IMPORT_PCT, 500, 1000, CL_MAINS, A_NON_EXPORT, 1,
         CL_WARNING, 0, None),
    # Engine stall (a fast underspeed stage, ANSI 14): a load beyond what
    # the engine can carry pulls the speed down and it keeps falling; open
    # the breaker before the engine stalls and the bus collapses (the set
    # then recovers and carries nothing until reset), and name the cause
    # before its consequences (low oil pressure, under-voltage) trip.  The
    # source reads rated unless the speed is still falling faster than
    # 5 %/s or has bogged (under 95 % for 1.5 s and not rising by 1 %/s
    # over the last 0.5 s), so a deep dip whose bottom
    # the engine sits at while its turbo spools (a block load) does not
    # trip it.
    _row("stall", 141, K_UNDER, SRC_STALL_PCT, 8500, 300, CL_TRIP, A_GCB, 1,
         CL_TRIP, 1, _row(5000, 9500, 100, 2000)),
    # The mains breaker did not open when told to (loss of mains, AMF):
    # backup, open the generator breaker - the set must stop energising
    # the utility (IEEE 1547) even if that drops the site.
    _row("mb_fail_to_open", 1022, K_BIT, SRC_FLAGS, FLAG_MB_FAIL_OPEN, 0, CL_TRIP, A_ALWAYS, 1,
         CL_TRIP, 1, _row(0, 0, 0, 0)),
    # Active anti-islanding (antiisland.py): the frequency follows the set's
    # own power perturbation, which only an island lets it do - the
    # balanced island that no passive relay sees, export allowed or not.
    _row("islanding", 1023, K_BIT, SRC_FLAGS, FLAG_ISLANDING, 0, CL_MAINS, A_GRID_SETTLED, 1,
         CL_MAINS, 1, _row(0, 0, 0, 0)),
    # An engine sender reads open or short circuit (the board's sender
    # inputs report it in DI_SENDER_FAULT): the protection on that sender is
    # blind - an open coolant sender must not read as a cold engine - so the
    # set stops with its cool-down run and does not start again until the
    # sender is mended; fixed at that class (rule 5: a failed sensor drives
    # the engine to a safe state).
    _row("sender_fault", 1024, K_BIT, SRC_DI, 512, 2000, CL_SOFT, A_ALWAYS, 1,
         CL_SOFT, 1, _row(0, 0, 0, 10000)),
)
N_PROT = const(47)
if len(PROTECTIONS) != N_PROT:
    raise ValueError("protection.N_PROT must equal len(PROTECTIONS)")

P_NAME = const(0)
P_CODE = const(1)
P_KIND = const(2)
P_SRC = const(3)
P_PICKUP = const(4)
P_DELAY = const(5)
P_CLASS = const(6)
P_ARM = const(7)
P_ENABLE = const(8)
P_FLOOR = const(9)
P_FIXED = const(10)
P_LIMITS = const(11)
_DELAY_MAX = const(600000)   # delay limit of a row without limits, ms

# Rows by source, for the quiet path of Protection.update: the rows of
# source s (in table order) are _ROW_LIST[_ROW_START[s]:_ROW_START[s + 1]];
# a source's rows are all K_BIT (_BIT_SRC) or all of the other kinds.  These
# and the row fields update and _rows read are arrays, not the table's
# tuples: in machine code (@viper) an array item is one load, a tuple item
# a call.
_ROW_LIST = array("i", [i for s_ in range(N_SRC) for i in range(N_PROT)
                        if PROTECTIONS[i][P_SRC] == s_])
_ROW_START = array("i", [0] * (N_SRC + 1))
for _s in range(N_SRC):
    _ROW_START[_s + 1] = _ROW_START[_s] + len([p for p in PROTECTIONS if p[P_SRC] == _s])
_KIND_OF = array("i", [p[P_KIND] for p in PROTECTIONS])
_SRC_OF = array("i", [p[P_SRC] for p in PROTECTIONS])
_ARM_OF = array("i", [p[P_ARM] for p in PROTECTIONS])
# -2**30: bits 31 and 30 of a word, both the sign of any value within
# +-2**30.  A @viper function reading a signed array item as a word restores
# its sign with `if x & _SIGN: x |= _SIGN`: a no-op on a 32-bit CPU; the x64
# port (the unix runtime) reads a word zero-extended.
_SIGN = const(-1073741823 - 1)
_BIT_SRC = bytes([1 if any(p[P_SRC] == s_ and p[P_KIND] == K_BIT for p in PROTECTIONS) else 0
                  for s_ in range(N_SRC)])
for _p in PROTECTIONS:
    if (_p[P_KIND] == K_BIT) != (_BIT_SRC[_p[P_SRC]] == 1):
        raise ValueError("protection: a source mixes bit and level rows")
_ALL_ARMS = const(0x3FFFFFFF)    # every arming bit (A_* < 30)

# Settable fields per protection (link / Modbus index = base + 8 * i + field)
F_ENABLE = const(0)
F_PICKUP = const(1)
F_DELAY_MS = const(2)
F_CLASS = const(3)
F_CURVE = const(4)      # K_INVERSE only
N_FIELDS = const(5)
FIELD_NAMES = ("enable", "pickup", "delay_ms", "class", "curve")


def limits(i):
    """(pickup lo, pickup hi, delay lo, delay hi) of protection i: its own
    row's, or those of its source and kind."""
    p = PROTECTIONS[i]
    lim = p[P_LIMITS]
    if p[P_KIND] == K_BIT:
        # Which bit a protection watches is part of its definition.
        if lim is None:
            return (p[P_PICKUP], p[P_PICKUP], 0, _DELAY_MAX)
        return (p[P_PICKUP], p[P_PICKUP], lim[2], lim[3])
    if lim is not None:
        return lim
    s_ = SOURCES[p[P_SRC]]
    if p[P_KIND] == K_INVERSE:
        return (s_[1], s_[2], 50, 2000)
    return (s_[1], s_[2], 0, _DELAY_MAX)


def index_of(name):
    for i in range(N_PROT):
        if PROTECTIONS[i][P_NAME] == name:
            return i
    return -1


# Pickups that must stay ordered (lower, higher): a pre-alarm before its
# shutdown, stage 1 before stage 2, the under-element below the over-element
# on one quantity.  A write that would break an order is refused.
ORDER = (
    ("under_voltage_2", "under_voltage_1"), ("over_voltage_1", "over_voltage_2"),
    ("under_frequency_2", "under_frequency_1"), ("over_frequency_1", "over_frequency_2"),
    ("under_voltage_1", "over_voltage_1"), ("under_frequency_1", "over_frequency_1"),
    ("low_oil_pressure", "low_oil_pressure_pre"),
    ("high_coolant_temp_pre", "high_coolant_temp"),
    ("low_gas_pressure", "low_gas_pressure_pre"),
    ("low_gas_pressure_pre", "high_gas_pressure_pre"),
    ("high_gas_pressure_pre", "high_gas_pressure"),
    ("battery_under_voltage", "battery_over_voltage"),
    ("island_under_voltage", "island_over_voltage"),
    ("island_under_frequency", "island_over_frequency"),
    ("overcurrent_time", "overcurrent_inst"),
)
_ORDER_I = array("b", [0] * (2 * len(ORDER)))
for _k in range(len(ORDER)):
    for _j in range(2):
        _ORDER_I[2 * _k + _j] = index_of(ORDER[_k][_j])
        if _ORDER_I[2 * _k + _j] < 0:
            raise ValueError("protection.ORDER names an unknown protection")


class Protection:
    def __init__(self, cfg):
        self.cfg = cfg
        n = N_PROT
        self.enable = array("i", [p[P_ENABLE] for p in PROTECTIONS])
        self.pickup = array("i", [p[P_PICKUP] for p in PROTECTIONS])
        self.delay_ms = array("i", [p[P_DELAY] for p in PROTECTIONS])
        self.cls = array("i", [p[P_CLASS] for p in PROTECTIONS])
        # Write limits, copied out of the table once (frozen bytecode keeps
        # large constants in tuples as bigints: no arithmetic on them later).
        lim = [limits(i) for i in range(n)]
        self.pk_lo = array("i", [x[0] for x in lim])
        self.pk_hi = array("i", [x[1] for x in lim])
        self.dl_lo = array("i", [x[2] for x in lim])
        self.dl_hi = array("i", [x[3] for x in lim])
        self.floor = bytearray([p[P_FLOOR] for p in PROTECTIONS])
        self.fixed = bytearray([p[P_FIXED] for p in PROTECTIONS])
        self.timer_ms = array("i", [0] * n)
        self.active = bytearray(n)    # condition present (after arming)
        self.tripped = bytearray(n)   # set the tick the delay ran out
        self.vals = array("i", [0] * N_SRC)
        self.value_at = array("i", [0] * n)   # value when tripped
        self.mains_tripped = False   # a trip-mains protection acted this tick
        self.n_new = 0               # protections that tripped this tick
        self.i51 = index_of("overcurrent_time")
        self._inv_src = PROTECTIONS[self.i51][P_SRC]
        self.curve = overcurrent.CURVE_IEC_VI
        # The quiet path (see update): per source with an enabled row, the
        # band its value may move in without any row's condition appearing;
        # rebuilt by every accepted setting write (_bands).
        self._n_chk = 0
        self._chk_src = bytearray(N_SRC)     # the level sources to check
        self._chk_lo = array("i", [0] * N_SRC)
        self._chk_hi = array("i", [0] * N_SRC)
        self._chk_of = bytearray(N_SRC)      # source -> its place in _chk_*
        self._band_lo = array("i", [0] * N_SRC)   # each source's own band
        self._band_hi = array("i", [0] * N_SRC)
        self._band_arm = array("i", [0] * N_SRC)  # the arming bits its rows need
        self._chk_arm = array("i", [0] * N_SRC)
        self._di_bits = 0
        self._flag_bits = 0
        self._src_busy = bytearray(N_SRC)   # a row of this source is active
        self._src_used = bytearray(N_SRC)   # a source with a row to run
        self._build_inverse()

    def _build_inverse(self):
        i = self.i51
        pick_a_x10 = mul_div(self.cfg.i_rated_a_x10, self.pickup[i], 10000)
        self.inv = overcurrent.InverseTime(self.curve, pick_a_x10, self.delay_ms[i],
                                           self.cfg.tick_ms)
        self._bands()

    def ordered(self):
        """Every ORDER pair holds (lower pickup strictly below the higher)."""
        o = _ORDER_I
        pk = self.pickup
        for k in range(0, len(o), 2):
            if pk[o[k]] >= pk[o[k + 1]]:
                return False
        return True

    def allowed(self, i, field, value):
        """Would this write be accepted on its own limits?  (The pickup
        order is checked by set_field with the value in place.)"""
        if i < 0 or i >= N_PROT or not isinstance(value, int) or isinstance(value, bool):
            return False
        if field == F_ENABLE:
            # An always-enabled protection takes only enable = 1.
            return value == 1 or (value == 0 and not self.fixed[i])
        if field == F_PICKUP:
            return self.pk_lo[i] <= value <= self.pk_hi[i]
        if field == F_DELAY_MS:
            return self.dl_lo[i] <= value <= self.dl_hi[i]
        if field == F_CLASS:
            # Never below the protection's class floor.
            return self.floor[i] <= value <= CL_ESTOP and value >= CL_WARNING
        if field == F_CURVE:
            return PROTECTIONS[i][P_KIND] == K_INVERSE and \
                0 <= value < len(overcurrent.CURVE_NAMES)
        return False

    def set_field(self, i, field, value):
        """Change one setting of protection i.  A value outside its limits,
        below the class floor, disabling an always-enabled protection, or
        breaking the pickup order is refused and the old value kept.
        Returns True if accepted."""
        if not self.allowed(i, field, value):
            return False
        if field == F_ENABLE:
            self.enable[i] = value
        elif field == F_PICKUP:
            old = self.pickup[i]
            self.pickup[i] = value
            if not self.ordered():
                self.pickup[i] = old
                return False
        elif field == F_DELAY_MS:
            self.delay_ms[i] = value
        elif field == F_CLASS:
            self.cls[i] = value
        else:
            self.curve = value
        if PROTECTIONS[i][P_KIND] == K_INVERSE:
            self._build_inverse()
        else:
            self._bands()
        return True

    def set_pickups(self, items):
        """Set several (index, pickup, delay_ms) at once, as one change: all
        are applied or none (a profile may pass through an order that no
        single write could).  Returns True if applied."""
        for i, pk, dl in items:
            if not (self.allowed(i, F_PICKUP, pk) and self.allowed(i, F_DELAY_MS, dl)):
                return False
        old = [(i, self.pickup[i], self.delay_ms[i]) for i, pk, dl in items]
        for i, pk, dl in items:
            self.pickup[i] = pk
            self.delay_ms[i] = dl
        if not self.ordered():
            for i, pk, dl in old:
                self.pickup[i] = pk
                self.delay_ms[i] = dl
            return False
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

    def _bands(self):
        """The quiet path's table (see update), rebuilt by every accepted
        setting write, never in the tick.  For each level source (not K_BIT)
        with an enabled row: the band [lo, hi] inside which no K_OVER or
        K_UNDER row's condition is present, and for the inverse-time
        element none at or below its pickup (at rest there, it changes
        nothing; not at rest, its source is busy).  For the two bit
        sources: the mask of the bits their enabled rows watch.
        A level source is checked only while one of its rows is armed: a
        row that is not armed is idle (or active, and then its source runs
        until it has reset).  A source with a row active (or its
        inverse-time element not at rest) gets an empty band and every
        arming (_set_busy) until it is idle again."""
        lo = self._band_lo
        hi = self._band_hi
        used = self._src_used
        arm = self._band_arm
        for s in range(N_SRC):
            lo[s] = -SMALL_INT_MAX
            hi[s] = SMALL_INT_MAX
            used[s] = 0
            arm[s] = 0
        self._di_bits = 0
        self._flag_bits = 0
        for i in range(N_PROT):
            p = PROTECTIONS[i]
            s = p[P_SRC]
            if self.active[i] or self.timer_ms[i] or self.tripped[i]:
                used[s] = 1           # run until it has reset (disabled now)
            if not self.enable[i]:
                continue
            k = p[P_KIND]
            pk = self.pickup[i]
            used[s] = 1
            if k == K_OVER:
                if pk < hi[s]:
                    hi[s] = pk
            elif k == K_UNDER:
                if pk > lo[s]:
                    lo[s] = pk
            elif k == K_BIT:
                if s == SRC_DI:
                    self._di_bits |= pk
                else:
                    self._flag_bits |= pk
            else:
                # Inverse time: above its pickup it integrates; below it,
                # at rest (busy otherwise, see _rows), nothing changes.
                x = self.inv.pickup_a_x10
                if x < hi[s]:
                    hi[s] = x
            arm[s] |= 1 << p[P_ARM]
        n = 0
        for s in range(N_SRC):
            if used[s] and not _BIT_SRC[s]:
                self._chk_src[n] = s
                self._chk_lo[n] = lo[s]
                self._chk_hi[n] = hi[s]
                self._chk_arm[n] = arm[s]
                self._chk_of[s] = n
                n += 1
        self._n_chk = n
        for s in range(N_SRC):
            self._set_busy(s, 0)
        for i in range(N_PROT):
            if self.active[i] or self.timer_ms[i] or self.tripped[i]:
                self._set_busy(PROTECTIONS[i][P_SRC], 1)
        if not self.inv.quiet():
            self._set_busy(self._inv_src, 1)

    def _set_busy(self, s, b):
        """Source s has a row active (b = 1) or none: a level source's band
        is then empty (always run) or its own again."""
        self._src_busy[s] = b
        if not _BIT_SRC[s] and self._src_used[s]:
            j = self._chk_of[s]
            self._chk_lo[j] = 1 if b else self._band_lo[s]
            self._chk_hi[j] = 0 if b else self._band_hi[s]
            # Busy: run whatever the arming (an unarmed row resets).
            self._chk_arm[j] = _ALL_ARMS if b else self._band_arm[s]

    @viper
    def load(self, m, speed_pct: int, stall_pct: int, flags: int):
        """Fill vals (one per SRC_*) from the Measure m and what the
        controller derives: the speed it protects on, the stall source and
        the condition flags.  Here, where the SRC_* are this module's own
        constants."""
        # Machine code on a board (host_sim/native.py): vals is written as
        # words, each Measure attribute read once and cast with int().
        v = ptr32(self.vals)
        v[SRC_SPEED_PCT] = speed_pct
        v[SRC_F_DEV_MHZ] = int(m.f_dev_mhz)
        v[SRC_V_PCT] = int(m.v_pct_x100)
        v[SRC_P_PCT] = int(m.p_pct_x100)
        v[SRC_Q_PCT] = int(m.q_pct_x100)
        v[SRC_I_PCT] = int(m.i_pct_x100)
        v[SRC_I_UNBAL_PCT] = int(m.i_unbal_pct_x100)
        v[SRC_I_A_X10] = int(m.i_max_a_x10)
        v[SRC_OIL_KPA] = int(m.oil_kpa)
        v[SRC_COOLANT_DC] = int(m.coolant_dc)
        v[SRC_GAS_MBAR] = int(m.gas_mbar)
        v[SRC_BATT_MV] = int(m.batt_mv)
        v[SRC_DI] = int(m.di)
        x = int(m.rocof_mhz_s)
        v[SRC_ROCOF] = x if x >= 0 else -x
        x = int(m.vshift_cdeg)
        v[SRC_VSHIFT] = x if x >= 0 else -x
        v[SRC_IMPORT_PCT] = int(m.import_pct_x100)
        v[SRC_STALL_PCT] = stall_pct
        v[SRC_FLAGS] = flags

    @viper
    def update(self, armed_mask: int, tick_ms: int) -> int:
        """One tick: run every element against self.vals (filled by the
        controller).  armed_mask has bit (1 << A_*) set for each arming
        condition met now.  Sets active[i] and tripped[i]; returns the number
        of protections that tripped this tick.

        The quiet path, which gives exactly what running every row would,
        for less: a row that is idle (not active, timer 0, not tripped) and
        whose condition is absent stays exactly as it is, so only the rows
        of a source whose value has left its band (_bands), or that has a
        row active, are run."""
        # Machine code on a board (host_sim/native.py): the arrays are read
        # as words, a signed one with its sign restored (_SIGN).  _rows
        # changes the _chk_* items in place, never the arrays.
        self.mains_tripped = False
        new = 0
        vals = ptr32(self.vals)
        busy = ptr8(self._src_busy)
        # The bit sources (never negative)...
        if vals[SRC_DI] & int(self._di_bits) or busy[SRC_DI]:
            new += int(self._rows(armed_mask, tick_ms, SRC_DI))
        if vals[SRC_FLAGS] & int(self._flag_bits) or busy[SRC_FLAGS]:
            new += int(self._rows(armed_mask, tick_ms, SRC_FLAGS))
        # ... and the level sources, each against its band (empty while busy).
        src = ptr8(self._chk_src)
        lo = ptr32(self._chk_lo)
        hi = ptr32(self._chk_hi)
        arm = ptr32(self._chk_arm)
        for j in range(int(self._n_chk)):
            if arm[j] & armed_mask:
                s = src[j]
                v = vals[s]
                if v & _SIGN:
                    v |= _SIGN
                h = hi[j]
                if h & _SIGN:
                    h |= _SIGN
                lw = lo[j]
                if lw & _SIGN:
                    lw |= _SIGN
                if v > h or v < lw:
                    new += int(self._rows(armed_mask, tick_ms, s))
        self.n_new = new
        return new

    @viper
    def _rows(self, armed_mask: int, tick_ms: int, only: int) -> int:
        """Run every row of source `only`; then mark it busy (a row active)
        or not."""
        # Machine code on a board, as update: the row fields come from the
        # module's arrays, the settings and state from self's, as words.
        vals = ptr32(self.vals)
        enable = ptr32(self.enable)
        pickup = ptr32(self.pickup)
        delay = ptr32(self.delay_ms)
        cls = ptr32(self.cls)
        timer = ptr32(self.timer_ms)
        value_at = ptr32(self.value_at)
        active = ptr8(self.active)
        tripped = ptr8(self.tripped)
        rows = ptr32(_ROW_LIST)
        start = ptr32(_ROW_START)
        kind_of = ptr32(_KIND_OF)
        src_of = ptr32(_SRC_OF)
        arm_of = ptr32(_ARM_OF)
        hyst = ptr32(_HYST)
        new = 0
        b = 0
        for k in range(start[only], start[only + 1]):
            i = rows[k]
            tripped[i] = 0
            kind = kind_of[i]
            if not enable[i] or not (armed_mask >> arm_of[i]) & 1:
                active[i] = 0
                timer[i] = 0
                if kind == K_INVERSE:
                    self.inv.reset()
                continue
            src = src_of[i]
            v = vals[src]
            if v & _SIGN:
                v |= _SIGN
            pk = pickup[i]
            if pk & _SIGN:
                pk |= _SIGN
            was = active[i]
            if kind == K_OVER:
                cond = v > pk if not was else v > pk - hyst[src]
            elif kind == K_UNDER:
                cond = v < pk if not was else v < pk + hyst[src]
            elif kind == K_BIT:
                cond = (v & pk) != 0
            else:
                if self.inv.update(v):
                    active[i] = 1
                    b = 1
                    if timer[i] == 0:
                        timer[i] = 1
                        tripped[i] = 1
                        value_at[i] = v
                        new += 1
                    continue
                active[i] = 0
                timer[i] = 0
                continue
            if cond:
                active[i] = 1
                b = 1
                t = timer[i]
                dl = delay[i]
                if t <= dl:
                    # Count the time the condition has been present; trip on
                    # the tick it reaches the delay (one tick late at most).
                    t += tick_ms
                    timer[i] = t
                    if t > dl:
                        tripped[i] = 1
                        value_at[i] = v
                        new += 1
                        if cls[i] == CL_MAINS:
                            self.mains_tripped = True
            else:
                active[i] = 0
                timer[i] = 0
        if only == int(self._inv_src) and not self.inv.quiet():
            b = 1
        if b != ptr8(self._src_busy)[only]:
            self._set_busy(only, b)
        return new
