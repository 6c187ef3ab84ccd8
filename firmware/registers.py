"""The Modbus register map - one table - and the data model the slave
(modbus.py) reads and writes through.

Every point is data here: table, address, name, type, scale, unit, access,
the source of its value and the interlock on writes.  `Registers` walks the
table; there is no code per register.  docs/registers.md, registers.json and
registers.csv, gxtool and the tests all come from `points()` (expanded
host-side by registers_info.py).

Tables and address plan (PDU addresses, 0-based; mbpoll and many SCADA
packages count from 1: add 1):
  input registers    0..   measurements, state, alarms summary, counters
                     100.. communication counters     150.. identification
                     200+i alarm status of protection i
                     400.. the event log window
  holding registers  1000.. control: command pair, access code, event index
                     2000 + 2*i  setting i (config.SETTINGS), s32
                     3000 + 10*i + 2*f  field f of protection i, s32
                     Input registers also answer FC03 (masters limited to
                     holding registers); they refuse writes (02).
  coils              0.. commands that need no confirmation (write 1)
  discrete inputs    0.. digital inputs, 16.. relay outputs, 32.. status,
                     100+i protection i latched, 200+i protection i active

Encoding: 32-bit values are two registers, high word first, everywhere.
Signed values are two's complement.  A value that cannot be measured now
reads as a sentinel, never as a plausible number (as Deep Sea does):
  u16 0xFFFF, s16 0x7FFF, 32-bit 0xFFFF FFFF / 0x7FFF FFFF: not available
  (no voltage to measure a frequency from, no current for a power factor,
  no entry at this event index, a write-only point); ...FFFE / ...7FFE:
  sensor fault (metering lost, speed pickup lost).  Real values saturate one
  below the sentinels.

Writes: a write must cover whole points (both words of a 32-bit point) and
is checked as a whole before anything changes: address (02), then every
value against its range (03), then the interlocks (04); a refused write
changes nothing, and is counted and logged (code EV_MB_REFUSED with the
register, then EV_MB_VALUE with the value; at most 10 refusals a minute are
logged, so a flood cannot push alarms out of the log).
  - configuration (settings, protection settings) needs an unlock: the
    access code (setting mb_access_code) written to access_code opens it for
    mb_unlock_s after the last configuration write, or the config_enable
    input held; five wrong codes block code attempts for 60 s.  Settings
    outside config.LIVE change only with the engine stopped (they rescale
    the control); protection settings go through Protection.set_field (class
    floors, always-on, limits, pickup order).
  - set points (config.SETPOINTS: power and kvar references, their modes)
    need no unlock: they are operation, range-checked and logged on change.
  - commands (start, stop, reset, ack, mode, breaker) go through the command
    pair: one FC16 write of [code, code ^ 0xFFFF] to command (1000-1001).
    A single register, or a wrong complement: 03.  Then exactly the
    interlocks a local command meets (Controller.command): refused -> 04.
    A broadcast can never start the engine, change mode or close a breaker.
Nothing here allocates per request, except accepted configuration writes,
which rebuild the control blocks (engine stopped).
"""

from fixpt import const
from array import array
import hal
import config as cf
import protection as pr
import synccheck
import modbus
from modbus import put_regs
from crc16 import _TABLE

# -- constants of hal, protection, sequencer, modbus (tools/gen_consts.py; do not edit) --
_DI_CONFIG_EN = const(256)  # hal.DI_CONFIG_EN
_DI_METER_OK = const(64)  # hal.DI_METER_OK
_IN_GEN_IA_A_X10 = const(7)  # hal.IN_GEN_IA_A_X10
_IN_GEN_IB_A_X10 = const(8)  # hal.IN_GEN_IB_A_X10
_IN_GEN_IC_A_X10 = const(9)  # hal.IN_GEN_IC_A_X10
_OUT_AVR_BIAS_PCT_X100 = const(1)  # hal.OUT_AVR_BIAS_PCT_X100
_OUT_DO = const(3)  # hal.OUT_DO
_OUT_FUEL_PCT_X100 = const(0)  # hal.OUT_FUEL_PCT_X100
_CL_NONE = const(0)  # protection.CL_NONE
_CL_SOFT = const(4)  # protection.CL_SOFT
_CL_WARNING = const(1)  # protection.CL_WARNING
_FLAG_MPU_LOSS = const(1)  # protection.FLAG_MPU_LOSS
_F_CURVE = const(4)  # protection.F_CURVE
_K_INVERSE = const(3)  # protection.K_INVERSE
_N_PROT = const(47)  # protection.N_PROT
_P_CODE = const(1)  # protection.P_CODE
_P_KIND = const(2)  # protection.P_KIND
_P_NAME = const(0)  # protection.P_NAME
_SRC_FLAGS = const(13)  # protection.SRC_FLAGS
_CMD_ACK = const(4)  # sequencer.CMD_ACK
_CMD_CLOSE = const(8)  # sequencer.CMD_CLOSE
_CMD_MODE_AUTO = const(7)  # sequencer.CMD_MODE_AUTO
_CMD_MODE_OFF = const(5)  # sequencer.CMD_MODE_OFF
_CMD_OPEN = const(9)  # sequencer.CMD_OPEN
_CMD_RESET = const(3)  # sequencer.CMD_RESET
_CMD_START = const(1)  # sequencer.CMD_START
_FUEL_POWER = const(3)  # sequencer.FUEL_POWER
_MODE_AUTO = const(2)  # sequencer.MODE_AUTO
_ST_AVAILABLE = const(7)  # sequencer.ST_AVAILABLE
_ST_CLOSING = const(9)  # sequencer.ST_CLOSING
_ST_LOADED = const(10)  # sequencer.ST_LOADED
_ST_STOPPED = const(0)  # sequencer.ST_STOPPED
_ST_SYNC = const(8)  # sequencer.ST_SYNC
_C_BUS = const(0)  # modbus.C_BUS
_C_CRC = const(1)  # modbus.C_CRC
_C_EXC = const(2)  # modbus.C_EXC
_C_FOREIGN = const(9)  # modbus.C_FOREIGN
_C_GAP = const(8)  # modbus.C_GAP
_C_HUNT = const(10)  # modbus.C_HUNT
_C_NORESP = const(4)  # modbus.C_NORESP
_C_OVERRUN = const(7)  # modbus.C_OVERRUN
_C_SERVER = const(3)  # modbus.C_SERVER
_ENC_HOLE = const(6)  # modbus.ENC_HOLE
_ENC_S16 = const(1)  # modbus.ENC_S16
_ENC_S32 = const(3)  # modbus.ENC_S32
_ENC_S32_LO = const(5)  # modbus.ENC_S32_LO
_ENC_U16 = const(0)  # modbus.ENC_U16
_ENC_U32 = const(2)  # modbus.ENC_U32
_ENC_U32_LO = const(4)  # modbus.ENC_U32_LO
_ENC_WORD = const(7)  # modbus.ENC_WORD
_EX_ADDRESS = const(2)  # modbus.EX_ADDRESS
_EX_FAILURE = const(4)  # modbus.EX_FAILURE
_EX_VALUE = const(3)  # modbus.EX_VALUE
_N_C = const(11)  # modbus.N_C
# -- end of generated constants --

# Counters stop here, inside a 32-bit port's 31-bit small ints (a counter
# past them would allocate on every count, and raise once stored in an array).
_CNT_MAX = const(1000000000)

FW_VERSION = (0, 2, 0)
VENDOR = b"GX230 open controller project"
IDENT = ((0, VENDOR), (1, b"GX230"), (2, b"0.2.0"),
         (3, b"https://github.com/gx230/gx230"), (4, b"GX230 genset controller"),
         (5, b"GX230-200kW multi-fuel"), (6, b"GX230 edge genset"))

SERVER_ID = b"GX230 fw 0.2.0"

TB_COIL = const(1)
TB_DI = const(2)
TB_HR = const(3)
TB_IR = const(4)
TABLE_NAMES = ("", "coil", "discrete_input", "holding_register", "input_register")

T_U16 = const(0)
T_S16 = const(1)
T_U32 = const(2)
T_S32 = const(3)
T_BIT = const(4)
TYPE_NAMES = ("u16", "s16", "u32", "s32", "bit")

A_R = const(0)
A_RW = const(1)
A_W = const(2)
ACCESS_NAMES = ("r", "rw", "w")

# Interlocks on writes
L_NONE = const(0)
L_SETPOINT = const(1)      # range only (operation, no unlock)
L_UNLOCK = const(2)        # configuration: unlocked
L_STOPPED = const(3)       # configuration, engine stopped
L_CONFIRM = const(4)       # command pair
L_CODE = const(5)          # the access code itself
LOCK_NAMES = ("none", "set point: range only", "unlock", "unlock, engine stopped",
              "command pair [code, code ^ 0xFFFF] in one FC16 write", "access code")

# Value sources
S_LIVE = const(0)          # Registers.live[idx], filled per request
S_CMD = const(1)
S_CODE = const(2)
S_EVIDX = const(3)
S_COIL = const(4)          # coil action idx

# Live values (indices into Registers.live)
L_SPEED = const(0)
L_GEN_F = const(1)
L_GEN_V = const(2)
L_IA = const(3)
L_IB = const(4)
L_IC = const(5)
L_P = const(6)
L_Q = const(7)
L_PF = const(8)
L_P_PCT = const(9)
L_BUS_F = const(10)
L_BUS_V = const(11)
L_GRID_P = const(12)
L_GRID_Q = const(13)
L_PHASE = const(14)
L_SLIP = const(15)
L_OIL = const(16)
L_COOL = const(17)
L_GAS = const(18)
L_BATT = const(19)
L_ROCOF = const(20)
L_VSHIFT = const(21)
L_FDEV = const(22)
L_FUEL = const(23)
L_BIAS = const(24)
L_REF = const(25)
L_PREF = const(26)
L_SITE = const(27)
L_STATE = const(28)
L_MODE = const(29)
L_STATUS = const(30)
L_SYNC = const(31)
L_DI = const(32)
L_DO = const(33)
L_FIRST = const(34)
L_FIRST_CODE = const(35)
L_WORST = const(36)
L_NLATCHED = const(37)
L_LAST = const(38)
L_LAST_CODE = const(39)
L_LAT0 = const(40)          # latched bits 0..15, 16..31, 32..47
L_ACT0 = const(43)          # active bits
L_RUN_S = const(46)
L_STARTS = const(47)
L_KWH = const(48)
L_UPTIME = const(49)
L_CNT0 = const(50)          # modbus counters (_N_C)
L_REFUSED = const(61)       # Modbus writes refused
L_WRITES = const(62)        # Modbus writes accepted
L_CTL_REFUSED = const(63)   # every refused setting write / command (all paths)
L_FW0 = const(64)           # major, minor, patch
L_MAP_CRC = const(67)
L_SET_CRC = const(68)
L_LINK_VER = const(69)
L_NPROT = const(70)
L_UNLOCKED_S = const(71)
L_EV_COUNT = const(72)
L_EV_NEWEST = const(73)
L_EV_SEQ = const(74)
L_EV_BOOT = const(75)
L_EV_T = const(76)
L_EV_CODE = const(77)
L_EV_VALUE = const(78)
L_EV_VALID = const(79)
L_CODE_FAILS = const(80)
L_MAP = const(81)
L_FL_STEP = const(82)       # the stack (fleet.py; NA on a single set)
L_FL_CAP = const(83)
L_FL_LOAD = const(84)
L_FL_RUN = const(85)
L_FL_SHED = const(86)
L_FL_SHARE = const(87)
L_FL_DBWHY = const(88)
L_FL_GOOD = const(89)
L_FL_BAD = const(90)
L_FL_PREV = const(91)       # the plant's set points' revision (fleet.py)
L_FL_PSET = const(92)
L_FL_PREF = const(93)
N_LIVE = const(94)

# -2**30 written as a sum: the literal 1073741824 is not a small int on a
# 32-bit port, so a board compiling this from source would make NA a bigint
# and every comparison with it allocate (tests/test_mp32.py).
NA = const(-1073741823 - 1)  # live value: not available now
FAULT = const(-1073741823)  # live value: sensor fault

# Status bits (input register status, discrete inputs 32..)
STATUS_NAMES = ("running", "available", "loaded", "paralleled", "mains_healthy",
                "alarm", "warning", "shutdown", "config_unlocked", "horn", "auto",
                "amf_run", "failsafe", "listen_only")
SYNC_NAMES = ("idle", "synchronising", "in_window", "closing")

# The table.  (table, address, name, type, scale, unit, access, source, index,
# interlock).  scale: engineering value = raw / scale.  Each point's
# description for the docs is in registers_info.py (host side: a board does
# not carry the prose).
POINTS = (
    (TB_IR, 0, "speed_rpm", T_U16, 10, "rpm", A_R, S_LIVE, L_SPEED, L_NONE),
    (TB_IR, 1, "gen_f_hz", T_U16, 100, "Hz", A_R, S_LIVE, L_GEN_F, L_NONE),
    (TB_IR, 2, "gen_v_v", T_U16, 10, "V", A_R, S_LIVE, L_GEN_V, L_NONE),
    (TB_IR, 3, "gen_ia_a", T_U16, 10, "A", A_R, S_LIVE, L_IA, L_NONE),
    (TB_IR, 4, "gen_ib_a", T_U16, 10, "A", A_R, S_LIVE, L_IB, L_NONE),
    (TB_IR, 5, "gen_ic_a", T_U16, 10, "A", A_R, S_LIVE, L_IC, L_NONE),
    (TB_IR, 6, "p_kw", T_S32, 10, "kW", A_R, S_LIVE, L_P, L_NONE),
    (TB_IR, 8, "q_kvar", T_S32, 10, "kvar", A_R, S_LIVE, L_Q, L_NONE),
    (TB_IR, 10, "pf", T_S16, 1000, "", A_R, S_LIVE, L_PF, L_NONE),
    (TB_IR, 11, "p_pct", T_S16, 100, "%", A_R, S_LIVE, L_P_PCT, L_NONE),
    (TB_IR, 12, "bus_f_hz", T_U16, 100, "Hz", A_R, S_LIVE, L_BUS_F, L_NONE),
    (TB_IR, 13, "bus_v_v", T_U16, 10, "V", A_R, S_LIVE, L_BUS_V, L_NONE),
    (TB_IR, 14, "grid_p_kw", T_S32, 10, "kW", A_R, S_LIVE, L_GRID_P, L_NONE),
    (TB_IR, 16, "grid_q_kvar", T_S32, 10, "kvar", A_R, S_LIVE, L_GRID_Q, L_NONE),
    (TB_IR, 18, "phase_deg", T_S16, 100, "deg", A_R, S_LIVE, L_PHASE, L_NONE),
    (TB_IR, 19, "slip_hz", T_S16, 1000, "Hz", A_R, S_LIVE, L_SLIP, L_NONE),
    (TB_IR, 20, "oil_kpa", T_U16, 1, "kPa", A_R, S_LIVE, L_OIL, L_NONE),
    (TB_IR, 21, "coolant_degc", T_S16, 10, "degC", A_R, S_LIVE, L_COOL, L_NONE),
    (TB_IR, 22, "gas_mbar", T_U16, 1, "mbar", A_R, S_LIVE, L_GAS, L_NONE),
    (TB_IR, 23, "batt_v", T_U16, 1000, "V", A_R, S_LIVE, L_BATT, L_NONE),
    (TB_IR, 24, "rocof_hz_s", T_S16, 1000, "Hz/s", A_R, S_LIVE, L_ROCOF, L_NONE),
    (TB_IR, 25, "vshift_deg", T_S16, 100, "deg", A_R, S_LIVE, L_VSHIFT, L_NONE),
    (TB_IR, 26, "f_dev_hz", T_S16, 1000, "Hz", A_R, S_LIVE, L_FDEV, L_NONE),
    (TB_IR, 27, "fuel_pct", T_U16, 100, "%", A_R, S_LIVE, L_FUEL, L_NONE),
    (TB_IR, 28, "avr_bias_pct", T_S16, 100, "%", A_R, S_LIVE, L_BIAS, L_NONE),
    (TB_IR, 29, "speed_ref_rpm", T_U16, 10, "rpm", A_R, S_LIVE, L_REF, L_NONE),
    (TB_IR, 30, "p_ref_kw", T_S32, 10, "kW", A_R, S_LIVE, L_PREF, L_NONE),
    (TB_IR, 32, "site_kw", T_S32, 10, "kW", A_R, S_LIVE, L_SITE, L_NONE),
    (TB_IR, 34, "map_kpa", T_U16, 10, "kPa", A_R, S_LIVE, L_MAP, L_NONE),
    (TB_IR, 50, "state", T_U16, 1, "", A_R, S_LIVE, L_STATE, L_NONE),
    (TB_IR, 51, "mode", T_U16, 1, "", A_R, S_LIVE, L_MODE, L_NONE),
    (TB_IR, 52, "status", T_U16, 1, "", A_R, S_LIVE, L_STATUS, L_NONE),
    (TB_IR, 53, "sync_status", T_U16, 1, "", A_R, S_LIVE, L_SYNC, L_NONE),
    (TB_IR, 54, "digital_inputs", T_U16, 1, "", A_R, S_LIVE, L_DI, L_NONE),
    (TB_IR, 55, "relay_outputs", T_U16, 1, "", A_R, S_LIVE, L_DO, L_NONE),
    (TB_IR, 56, "first_out", T_S16, 1, "", A_R, S_LIVE, L_FIRST, L_NONE),
    (TB_IR, 57, "first_out_code", T_U16, 1, "", A_R, S_LIVE, L_FIRST_CODE, L_NONE),
    (TB_IR, 58, "worst_class", T_U16, 1, "", A_R, S_LIVE, L_WORST, L_NONE),
    (TB_IR, 59, "alarm_count", T_U16, 1, "", A_R, S_LIVE, L_NLATCHED, L_NONE),
    (TB_IR, 60, "last_alarm", T_S16, 1, "", A_R, S_LIVE, L_LAST, L_NONE),
    (TB_IR, 61, "last_alarm_code", T_U16, 1, "", A_R, S_LIVE, L_LAST_CODE, L_NONE),
    (TB_IR, 62, "alarms_latched_0", T_U16, 1, "", A_R, S_LIVE, L_LAT0, L_NONE),
    (TB_IR, 63, "alarms_latched_1", T_U16, 1, "", A_R, S_LIVE, L_LAT0 + 1, L_NONE),
    (TB_IR, 64, "alarms_latched_2", T_U16, 1, "", A_R, S_LIVE, L_LAT0 + 2, L_NONE),
    (TB_IR, 65, "alarms_active_0", T_U16, 1, "", A_R, S_LIVE, L_ACT0, L_NONE),
    (TB_IR, 66, "alarms_active_1", T_U16, 1, "", A_R, S_LIVE, L_ACT0 + 1, L_NONE),
    (TB_IR, 67, "alarms_active_2", T_U16, 1, "", A_R, S_LIVE, L_ACT0 + 2, L_NONE),
    (TB_IR, 70, "run_s", T_U32, 1, "s", A_R, S_LIVE, L_RUN_S, L_NONE),
    (TB_IR, 72, "starts", T_U32, 1, "", A_R, S_LIVE, L_STARTS, L_NONE),
    (TB_IR, 74, "kwh", T_U32, 10, "kWh", A_R, S_LIVE, L_KWH, L_NONE),
    (TB_IR, 76, "uptime_s", T_U32, 1, "s", A_R, S_LIVE, L_UPTIME, L_NONE),
    # The stack (issue 12; not available on a single set): the load step the
    # stack can accept now (the data centre paces its jobs by it), its
    # running capacity and load, the units running or starting, the load
    # shedding stage, 1 sharing isochronously / 0 droop, why a dead-bus
    # close waits (deadbus.W_*), and share-link frames taken and refused.
    (TB_IR, 80, "fleet_step_kw", T_U32, 1, "kW", A_R, S_LIVE, L_FL_STEP, L_NONE),
    (TB_IR, 82, "fleet_capacity_kw", T_U32, 1, "kW", A_R, S_LIVE, L_FL_CAP, L_NONE),
    (TB_IR, 84, "fleet_load_kw", T_S32, 1, "kW", A_R, S_LIVE, L_FL_LOAD, L_NONE),
    (TB_IR, 86, "fleet_units_running", T_U16, 1, "", A_R, S_LIVE, L_FL_RUN, L_NONE),
    (TB_IR, 87, "fleet_shed_stage", T_U16, 1, "", A_R, S_LIVE, L_FL_SHED, L_NONE),
    (TB_IR, 88, "fleet_sharing", T_U16, 1, "", A_R, S_LIVE, L_FL_SHARE, L_NONE),
    (TB_IR, 89, "fleet_deadbus_wait", T_U16, 1, "", A_R, S_LIVE, L_FL_DBWHY, L_NONE),
    (TB_IR, 90, "share_frames_good", T_U32, 1, "", A_R, S_LIVE, L_FL_GOOD, L_NONE),
    (TB_IR, 92, "share_frames_refused", T_U32, 1, "", A_R, S_LIVE, L_FL_BAD, L_NONE),
    (TB_IR, 94, "fleet_plant_rev", T_U16, 1, "", A_R, S_LIVE, L_FL_PREV, L_NONE),
    (TB_IR, 95, "fleet_plant_set", T_U16, 1, "", A_R, S_LIVE, L_FL_PSET, L_NONE),
    (TB_IR, 96, "fleet_plant_refused", T_U32, 1, "", A_R, S_LIVE, L_FL_PREF, L_NONE),
    (TB_IR, 100, "mb_bus_msgs", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_BUS, L_NONE),
    (TB_IR, 102, "mb_crc_errors", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_CRC, L_NONE),
    (TB_IR, 104, "mb_exceptions", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_EXC, L_NONE),
    (TB_IR, 106, "mb_server_msgs", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_SERVER, L_NONE),
    (TB_IR, 108, "mb_no_response", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_NORESP, L_NONE),
    (TB_IR, 110, "mb_overruns", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_OVERRUN, L_NONE),
    (TB_IR, 112, "mb_gap_drops", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_GAP, L_NONE),
    (TB_IR, 114, "mb_foreign", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_FOREIGN, L_NONE),
    (TB_IR, 116, "mb_hunted_bytes", T_U32, 1, "", A_R, S_LIVE, L_CNT0 + _C_HUNT, L_NONE),
    (TB_IR, 118, "mb_writes_refused", T_U32, 1, "", A_R, S_LIVE, L_REFUSED, L_NONE),
    (TB_IR, 120, "mb_writes", T_U32, 1, "", A_R, S_LIVE, L_WRITES, L_NONE),
    (TB_IR, 122, "refused_total", T_U32, 1, "", A_R, S_LIVE, L_CTL_REFUSED, L_NONE),
    (TB_IR, 124, "mb_code_fails", T_U16, 1, "", A_R, S_LIVE, L_CODE_FAILS, L_NONE),
    (TB_IR, 150, "fw_major", T_U16, 1, "", A_R, S_LIVE, L_FW0, L_NONE),
    (TB_IR, 151, "fw_minor", T_U16, 1, "", A_R, S_LIVE, L_FW0 + 1, L_NONE),
    (TB_IR, 152, "fw_patch", T_U16, 1, "", A_R, S_LIVE, L_FW0 + 2, L_NONE),
    (TB_IR, 153, "map_crc", T_U16, 1, "", A_R, S_LIVE, L_MAP_CRC, L_NONE),
    (TB_IR, 154, "settings_crc", T_U16, 1, "", A_R, S_LIVE, L_SET_CRC, L_NONE),
    (TB_IR, 155, "link_version", T_U16, 1, "", A_R, S_LIVE, L_LINK_VER, L_NONE),
    (TB_IR, 156, "n_protections", T_U16, 1, "", A_R, S_LIVE, L_NPROT, L_NONE),
    (TB_IR, 157, "unlocked_s", T_U16, 1, "s", A_R, S_LIVE, L_UNLOCKED_S, L_NONE),
    (TB_IR, 400, "event_count", T_U16, 1, "", A_R, S_LIVE, L_EV_COUNT, L_NONE),
    (TB_IR, 401, "event_newest_seq", T_U32, 1, "", A_R, S_LIVE, L_EV_NEWEST, L_NONE),
    (TB_IR, 403, "event_seq", T_U32, 1, "", A_R, S_LIVE, L_EV_SEQ, L_NONE),
    (TB_IR, 405, "event_boot", T_U16, 1, "", A_R, S_LIVE, L_EV_BOOT, L_NONE),
    (TB_IR, 406, "event_t_ms", T_U32, 1, "ms", A_R, S_LIVE, L_EV_T, L_NONE),
    (TB_IR, 408, "event_code", T_U16, 1, "", A_R, S_LIVE, L_EV_CODE, L_NONE),
    (TB_IR, 409, "event_value", T_S32, 1, "", A_R, S_LIVE, L_EV_VALUE, L_NONE),
    (TB_IR, 411, "event_valid", T_U16, 1, "", A_R, S_LIVE, L_EV_VALID, L_NONE),
    (TB_HR, 1000, "command", T_U32, 1, "", A_W, S_CMD, 0, L_CONFIRM),
    (TB_HR, 1002, "access_code", T_U16, 1, "", A_W, S_CODE, 0, L_CODE),
    (TB_HR, 1003, "event_index", T_U16, 1, "", A_RW, S_EVIDX, 0, L_NONE),
    (TB_COIL, 0, "ack", T_BIT, 1, "", A_W, S_COIL, 0, L_NONE),
    (TB_COIL, 1, "reset", T_BIT, 1, "", A_W, S_COIL, 1, L_NONE),
    (TB_COIL, 2, "config_lock", T_BIT, 1, "", A_W, S_COIL, 2, L_NONE),
)

# Blocks generated from the other tables (the point names come from them).
SET_BASE = const(2000)
PROT_BASE = const(3000)
PROT_STRIDE = const(10)
ALARM_BASE = const(200)       # input registers: alarm status per protection
DI_IN = const(0)
DI_OUT = const(16)
DI_STATUS = const(32)
DI_LATCHED = const(100)
DI_ACTIVE = const(200)
_EXPL_SPAN = const(1004)
IR_END = const(412)           # input registers 0..411: unassigned ones read 0xFFFF
N_COILS = const(8)            # coils 0..7: unassigned ones read 0, refuse writes
PROT_SETTING_BASE = const(1000)   # controller.PROT_BASE: setting number of protection fields      # explicit register rows live below this address

EV_MB_WRITE = const(3001)     # value = register of an accepted configuration write
EV_MB_VALUE = const(3002)     # value = the value written (follows 3001 / 3003)
EV_MB_REFUSED = const(3003)   # value = register of a refused write
EV_MB_UNLOCK = const(3004)    # value = 1 opened, 0 closed
EV_MB_CODE_FAIL = const(3005)  # value = wrong codes in a row
_LOG_PER_MIN = const(10)
# What each point of a pending write is (Registers._wk)
_W_SET = const(12)        # a setting: _wi = setting index
_W_PROT = const(13)       # a protection field: _wi = 8 * protection + field
_W_CMD = const(20)        # the command pair: _wi = code, _wa = complement, _wv = register
_W_CODE = const(22)       # the access code (20 + S_CODE)
_W_EVIDX = const(23)      # the event index (20 + S_EVIDX)
_MAX_W = const(123)

# Parts of the live values: Registers.snapshot(parts) fills only the parts a
# request reads (part_of says which part a live value is in).  A read's parts
# come from the address span of each part (Registers._prange).
P_MEAS = const(1)          # measurements: L_SPEED..L_SITE, L_MAP
P_STATE = const(2)         # state, mode, status, sync, DI/DO, first/last/worst
P_ALARMS = const(4)        # latched and active bit words, L_NLATCHED
P_COUNT = const(8)         # run time, counters, versions, CRCs, unlock time left
P_EVENT = const(16)        # the event log window
P_ALL = const(31)
N_PARTS = const(5)         # part j is bit 1 << j

# How read_regs' fast path encodes each register below Registers._fast_end:
# Registers._fk[a] is its class (modbus.ENC_*: modbus.put_regs encodes
# them), Registers._fs[a] its live index (a hole: the holes from it on; an
# alarm status: its protection, the index into Registers._aw).


def part_of(idx):
    """The snapshot part (P_*) that fills live value idx."""
    if idx <= L_SITE or idx == L_MAP:
        return P_MEAS
    if idx == L_NLATCHED or L_LAT0 <= idx < L_RUN_S:
        return P_ALARMS
    if idx <= L_LAST_CODE:
        return P_STATE
    if L_EV_COUNT <= idx <= L_EV_VALID:
        return P_EVENT
    return P_COUNT


def _sat(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


class Registers:
    """The data model behind the slave: `ctl` is the Controller."""

    def __init__(self, ctl):
        self.ctl = ctl
        self.live = array("i", [0] * N_LIVE)
        # Explicit register rows by address: row * 2 + word, -1 none.
        # (Built without a temporary list: one of 1004 items is 8 KB on a
        # 64-bit port, at start-up when the heap is most crowded.)
        self._at = array("h", bytearray(2 * _EXPL_SPAN))
        for a in range(_EXPL_SPAN):
            self._at[a] = -1
        self._bit_at = array("h", [-1] * N_COILS)
        for k in range(len(POINTS)):
            p = POINTS[k]
            if p[0] == TB_COIL:
                self._bit_at[p[1]] = k
                continue
            w = 2 if p[3] == T_U32 or p[3] == T_S32 else 1
            for j in range(w):
                self._at[p[1] + j] = k * 2 + j
        self._n_set = len(cf.SETTINGS)
        self._set_lo = array("i", [s[2] for s in cf.SETTINGS])
        self._set_hi = array("i", [s[3] for s in cf.SETTINGS])
        self._live = bytearray(self._n_set)
        self._setpoint = bytearray(self._n_set)
        self._code_i = -1
        for i in range(self._n_set):
            name = cf.SETTINGS[i][0]
            self._live[i] = 1 if name in cf.LIVE else 0
            self._setpoint[i] = 1 if name in cf.SETPOINTS else 0
            if name == "mb_access_code":
                self._code_i = i
        self._wold = array("i", bytearray(4 * _MAX_W))
        self._rk = bytearray(125)                # kind of each register of a read
        # Pending write: point kind / index / value per point written.
        self._wk = array("i", bytearray(4 * _MAX_W))
        self._wi = array("i", bytearray(4 * _MAX_W))
        self._wv = array("i", bytearray(4 * _MAX_W))
        self._wa = array("i", bytearray(4 * _MAX_W))
        self._ev = array("i", [0] * 5)
        self._aw = array("i", [0] * _N_PROT)     # alarm status words (_alarm_words)
        self._build_fast()
        self.event_index = 0
        self.unlocked_at = 0
        self.unlocked = False
        self.code_fails = 0
        self.code_block_at = 0
        self.refused = 0
        self.writes = 0
        self._log_t = 0
        self._log_n = 0
        self.port_changed = False
        self.map_crc = map_crc()

    # -- reading --------------------------------------------------------------
    def running(self):
        return self.ctl.seq.state != _ST_STOPPED

    def _unlocked_now(self):
        c = self.ctl
        if c.meas.di & _DI_CONFIG_EN:
            return True
        if self.unlocked and ((c.meas.t_ms - self.unlocked_at) & 0x3FFFFFFF) >= \
                c.cfg.mb_unlock_s * 1000:
            self.unlocked = False
            c.log.log(c.meas.t_ms, EV_MB_UNLOCK, 0)
        return self.unlocked

    def _build_fast(self):
        """Tables of read_regs' fast path, from the map.  _prange: the
        address span [lo, hi) of the points each snapshot part fills (part j
        at 2j, 2j + 1; an unused part never matches).  _fast_end: the input
        registers from 0 up to the first that is not an input-register point
        of a live value, a hole or an alarm status (IR_END with this map):
        below it every register answers FC03 and FC04 alike, and _fk holds
        each one's class (_C_*), _fs its live index (a hole: the holes from
        it on)."""
        pg = array("h", bytearray(4 * N_PARTS))
        for j in range(N_PARTS):
            pg[2 * j] = 0x7FFF
        for p in POINTS:
            if p[0] == TB_COIL or p[7] != S_LIVE:
                continue
            b = part_of(p[8])
            j = 0
            while b > 1:
                b >>= 1
                j += 1
            w = 2 if p[3] == T_U32 or p[3] == T_S32 else 1
            if p[1] < pg[2 * j]:
                pg[2 * j] = p[1]
            if p[1] + w > pg[2 * j + 1]:
                pg[2 * j + 1] = p[1] + w
        self._prange = pg
        at = self._at
        end = 0
        while end < IR_END and end < _EXPL_SPAN:
            r = at[end]
            if r >= 0:
                p = POINTS[r >> 1]
                if p[0] != TB_IR or p[7] != S_LIVE or p[3] == T_BIT:
                    break
                # A high word is encoded with its low word in one step: the
                # next register must be that low word.
                if (p[3] == T_U32 or p[3] == T_S32) and not r & 1 and \
                        (end + 1 >= _EXPL_SPAN or at[end + 1] != r + 1):
                    break
            end += 1
        self._fast_end = end
        fk = bytearray(end)
        fs = bytearray(end)
        for a in range(end - 1, -1, -1):
            r = at[a]
            if r < 0:
                if ALARM_BASE <= a < ALARM_BASE + _N_PROT:
                    fk[a] = _ENC_WORD
                    fs[a] = a - ALARM_BASE
                else:
                    # fs: the holes from here on (at most 255)
                    fk[a] = _ENC_HOLE
                    n = fs[a + 1] if a + 1 < end and fk[a + 1] == _ENC_HOLE else 0
                    fs[a] = n + 1 if n < 255 else 255
                continue
            p = POINTS[r >> 1]
            t = p[3]
            if t == T_U16:
                fk[a] = _ENC_U16
            elif t == T_S16:
                fk[a] = _ENC_S16
            elif t == T_U32:
                fk[a] = _ENC_U32_LO if r & 1 else _ENC_U32
            else:
                fk[a] = _ENC_S32_LO if r & 1 else _ENC_S32
            fs[a] = p[8]
        self._fk = fk
        self._fs = fs

    def snapshot(self, parts=P_ALL):
        """Fill self.live from the controller (once per request): the parts
        (P_*) the request reads, every part by default.  The unlock window
        is checked first whatever the parts, so its expiry is logged by the
        first request after it, as when every request filled every part."""
        c = self.ctl
        m = c.meas
        cfg = c.cfg
        unlocked = self._unlocked_now()       # once per request
        lv = self.live
        if parts & P_MEAS:
            meter = (m.di & _DI_METER_OK) != 0
            mpu_lost = (c.seq.flags | c.prot.vals[_SRC_FLAGS]) & _FLAG_MPU_LOSS
            lv[L_SPEED] = FAULT if mpu_lost else m.speed_rpm_x10
            lv[L_GEN_F] = m.gen_f_mhz // 10 if m.gen_f_mhz > 0 else NA
            lv[L_GEN_V] = m.gen_v_dv
            inp = c.inp
            lv[L_IA] = inp[_IN_GEN_IA_A_X10] if meter else FAULT
            lv[L_IB] = inp[_IN_GEN_IB_A_X10] if meter else FAULT
            lv[L_IC] = inp[_IN_GEN_IC_A_X10] if meter else FAULT
            lv[L_P] = m.p_kw_x10 if meter else FAULT
            lv[L_Q] = m.q_kvar_x10 if meter else FAULT
            lv[L_P_PCT] = m.p_pct_x100 if meter else FAULT
            p = m.p_kw_x10
            q = m.q_kvar_x10
            pa = p if p >= 0 else -p
            qa = q if q >= 0 else -q
            small = cfg.p_rated_kw_x10 // 50
            if not meter:
                lv[L_PF] = FAULT
            elif pa < small and qa < small:
                lv[L_PF] = NA            # under 2 % of rating: no meaningful angle
            else:
                # Halve both until the squares' sum stays a small int on a
                # 32-bit port (23170**2 * 2 < 2**30).
                while pa >= 23170 or qa >= 23170:
                    pa >>= 1
                    qa >>= 1
                # pa * 1000 // isqrt(pa**2 + qa**2), fixpt.isqrt's Newton
                # steps from pa + qa instead of from the square: any start
                # at or above the root ends on the same floor root, and
                # this one is within 42 % of it (a few steps, not ~20).
                n2 = pa * pa + qa * qa
                r = pa + qa
                y = (r + n2 // r) >> 1
                while y < r:
                    r = y
                    y = (r + n2 // r) >> 1
                pf = (pa * 1000) // r
                # + lagging (exporting vars), - leading; within 0.5 % of
                # rating of zero kvar it is unity, not a sign that flickers.
                lv[L_PF] = pf if q >= -(small >> 2) else -pf
            bus = m.bus_f_mhz > 0
            lv[L_BUS_F] = m.bus_f_mhz // 10 if bus else NA
            lv[L_BUS_V] = m.bus_v_dv
            lv[L_GRID_P] = m.grid_p_kw_x10
            lv[L_GRID_Q] = m.grid_q_kvar_x10
            both = bus and m.gen_f_mhz > 0
            lv[L_PHASE] = m.phase_cdeg if both else NA
            lv[L_SLIP] = m.slip_f_mhz if both else NA
            lv[L_OIL] = m.oil_kpa
            lv[L_COOL] = m.coolant_dc
            lv[L_GAS] = m.gas_mbar
            lv[L_MAP] = m.map_kpa_x10 if m.map_kpa_x10 > 0 else NA
            lv[L_BATT] = m.batt_mv
            lv[L_ROCOF] = m.rocof_mhz_s
            lv[L_VSHIFT] = m.vshift_cdeg
            lv[L_FDEV] = m.f_dev_mhz if m.gen_f_mhz > 0 else NA
            out = c.out
            lv[L_FUEL] = out[_OUT_FUEL_PCT_X100]
            lv[L_BIAS] = out[_OUT_AVR_BIAS_PCT_X100]
            lv[L_REF] = c.gov.ref_rpm_x10
            lv[L_PREF] = c.pc.p_ref_kw_x10 if c.seq.fuel_mode == _FUEL_POWER else NA
            lv[L_SITE] = m.p_filt_kw_x10 + m.grid_p_kw_x10
            if c.ticks == 0:
                # Before the first tick nothing has been measured yet.
                for k in range(L_SPEED, L_SITE + 1):
                    lv[k] = NA
        if parts & P_STATE:
            a = c.alarms
            seq = c.seq
            st = seq.state
            lv[L_STATE] = st
            lv[L_MODE] = seq.mode
            w = a.worst
            bits = 0
            if st != _ST_STOPPED:
                bits |= 1
            if st == _ST_AVAILABLE:
                bits |= 2
            if st == _ST_LOADED:
                bits |= 4
            if seq.paralleled:
                bits |= 8
            if c.mains.ok:
                bits |= 16
            if w != _CL_NONE:
                bits |= 32
            if w == _CL_WARNING:
                bits |= 64
            if w >= _CL_SOFT:
                bits |= 128
            if unlocked:
                bits |= 256
            if a.horn:
                bits |= 512
            if seq.mode == _MODE_AUTO:
                bits |= 1024
            if c.mains.amf_run:
                bits |= 2048
            if c.failsafe:
                bits |= 4096
            if c.mb.listen_only:
                bits |= 8192
            lv[L_STATUS] = bits
            if st == _ST_CLOSING:
                lv[L_SYNC] = 3
            elif st == _ST_SYNC or c.mains.retransfer:
                lv[L_SYNC] = 2 if synccheck.close_permitted(cfg, m, cfg.gcb_close_time_ms) else 1
            else:
                lv[L_SYNC] = 0
            lv[L_DI] = m.di
            lv[L_DO] = c.out[_OUT_DO]
            fo = a.first_out
            lv[L_FIRST] = fo
            lv[L_FIRST_CODE] = pr.PROTECTIONS[fo][_P_CODE] if fo >= 0 else 0
            lv[L_WORST] = w
            la = a.last
            lv[L_LAST] = la
            lv[L_LAST_CODE] = pr.PROTECTIONS[la][_P_CODE] if la >= 0 else 0
        if parts & P_ALARMS:
            latched = c.alarms.latched
            active = c.prot.active
            n = 0
            for k in range(3):
                lv[L_LAT0 + k] = 0
                lv[L_ACT0 + k] = 0
            for i in range(_N_PROT):
                if latched[i]:
                    n += 1
                    lv[L_LAT0 + (i >> 4)] |= 1 << (i & 15)
                if active[i]:
                    lv[L_ACT0 + (i >> 4)] |= 1 << (i & 15)
            lv[L_NLATCHED] = n
        if parts & P_COUNT:
            lv[L_RUN_S] = c.run_s
            lv[L_STARTS] = c.starts
            lv[L_KWH] = c.kwh_x10
            lv[L_UPTIME] = m.t_ms // 1000
            cnt = c.mb.counters
            for k in range(_N_C):
                lv[L_CNT0 + k] = cnt[k]
            lv[L_REFUSED] = self.refused
            lv[L_WRITES] = self.writes
            lv[L_CTL_REFUSED] = c.refused
            lv[L_CODE_FAILS] = self.code_fails
            lv[L_FW0] = FW_VERSION[0]
            lv[L_FW0 + 1] = FW_VERSION[1]
            lv[L_FW0 + 2] = FW_VERSION[2]
            lv[L_MAP_CRC] = self.map_crc
            lv[L_SET_CRC] = c.settings_crc
            lv[L_LINK_VER] = c.link_version
            lv[L_NPROT] = _N_PROT
            fl = c.fleet
            if fl is None:
                for k in range(L_FL_STEP, L_FL_PREF + 1):
                    lv[k] = NA
            else:
                pm = fl.pm
                lv[L_FL_STEP] = pm.fleet_step_kw
                lv[L_FL_CAP] = pm.cap_kw
                lv[L_FL_LOAD] = pm.load_kw
                lv[L_FL_RUN] = pm.n_running
                lv[L_FL_SHED] = pm.shed_stage
                lv[L_FL_SHARE] = 1 if fl.ls.sharing else 0
                lv[L_FL_DBWHY] = fl.db.why
                pe = fl.peers
                lv[L_FL_GOOD] = pe.good
                bad = 0
                for k in range(7):      # sharelink.N_REFUSALS
                    bad += pe.refused[k]
                lv[L_FL_BAD] = bad
                lv[L_FL_PREV] = fl.plant_rev
                lv[L_FL_PSET] = 1 if fl.plant_set else 0
                lv[L_FL_PREF] = fl.plant_refused
            if unlocked:
                left = cfg.mb_unlock_s - ((m.t_ms - self.unlocked_at) & 0x3FFFFFFF) // 1000
                lv[L_UNLOCKED_S] = left if self.unlocked else cfg.mb_unlock_s
            else:
                lv[L_UNLOCKED_S] = 0
        if parts & P_EVENT:
            log = c.log
            cnt = log.count()
            lv[L_EV_COUNT] = cnt
            lv[L_EV_NEWEST] = log.newest_seq() if cnt else NA
            ev = self._ev
            if self.event_index < cnt and log.read(cnt - 1 - self.event_index, ev):
                lv[L_EV_SEQ] = ev[0]
                lv[L_EV_BOOT] = ev[1]
                lv[L_EV_T] = ev[2]
                lv[L_EV_CODE] = ev[3]
                lv[L_EV_VALUE] = ev[4]
                lv[L_EV_VALID] = 1
            else:
                for k in range(L_EV_SEQ, L_EV_VALID):
                    lv[k] = NA
                lv[L_EV_VALID] = 0

    def _alarm_word(self, i):
        """Alarm status register of protection i (input register 200 + i)."""
        c = self.ctl
        al = c.alarms
        return (al.cls_at[i] if al.latched[i] else 0) | (16 if c.prot.active[i] else 0) | \
            (32 if al.acked[i] else 0) | (c.prot.cls[i] << 8)

    def _alarm_words(self, start, e):
        """_alarm_word of the protections registers start..e-1 cover, into
        self._aw (read by put_regs)."""
        lo = start - ALARM_BASE if start > ALARM_BASE else 0
        hi = e - ALARM_BASE if e < ALARM_BASE + _N_PROT else _N_PROT
        c = self.ctl
        al = c.alarms
        latched = al.latched
        cls_at = al.cls_at
        acked = al.acked
        active = c.prot.active
        cls = c.prot.cls
        aw = self._aw
        for i in range(lo, hi):
            aw[i] = (cls_at[i] if latched[i] else 0) | (16 if active[i] else 0) | \
                (32 if acked[i] else 0) | (cls[i] << 8)

    def _value(self, kind, idx):
        """Raw value of a point (NA / FAULT markers possible)."""
        if kind == S_LIVE:
            return self.live[idx]
        if kind == S_EVIDX:
            return self.event_index
        return NA              # write-only points

    def _put(self, out, o, typ, v, word):
        """Store word `word` of value v of type typ at out[o], big-endian."""
        if typ == T_U16 or typ == T_S16:
            if v == NA or v == FAULT:
                x = (0xFFFF if typ == T_U16 else 0x7FFF) - (v - NA)
            elif typ == T_U16:
                x = _sat(v, 0, 0xFFFD)
            else:
                x = _sat(v, -32768, 32765) & 0xFFFF
        else:
            if v == NA or v == FAULT:
                x = (0xFFFF if typ == T_U32 else 0x7FFF) if word == 0 else 0xFFFF - (v - NA)
            else:
                if typ == T_U32 and v < 0:
                    v = 0
                x = ((v >> 16) & 0xFFFF) if word == 0 else (v & 0xFFFF)
        out[o] = x >> 8
        out[o + 1] = x & 0xFF

    def _reg_info(self, a):
        """Locate register a: returns kind code and fills self._ri (type,
        value-source kind, index, word).  kind: 0 unmapped, 1 explicit row,
        2 setting, 3 protection field, 4 alarm status, 5 hole (reads FFFF)."""
        if a < _EXPL_SPAN:
            r = self._at[a]
            if r >= 0:
                return 1
            if ALARM_BASE <= a < ALARM_BASE + _N_PROT:
                return 4
            return 5 if a < IR_END else 0
        if SET_BASE <= a < SET_BASE + 2 * self._n_set:
            return 2
        if PROT_BASE <= a < PROT_BASE + PROT_STRIDE * _N_PROT:
            f = ((a - PROT_BASE) % PROT_STRIDE) >> 1
            if f < 4 or (f == _F_CURVE and pr.PROTECTIONS[(a - PROT_BASE) // PROT_STRIDE][_P_KIND] == _K_INVERSE):
                return 3
            return 5
        return 0

    def read_bits(self, fc, start, qty, out, o):
        c = self.ctl
        if start + qty > (N_COILS if fc == TB_COIL else DI_ACTIVE + _N_PROT):
            return _EX_ADDRESS
        if fc == TB_COIL:
            return 0                  # command coils read 0
        self.snapshot(P_STATE)        # L_DI, L_DO, L_STATUS
        lv = self.live
        nd = len(hal.DI_NAMES)
        no = len(hal.DO_NAMES)
        ns = len(STATUS_NAMES)
        n = _N_PROT
        for k in range(qty):
            a = start + k
            if a < DI_OUT:
                b = a < nd and (lv[L_DI] >> a) & 1
            elif a < DI_STATUS:
                b = a - DI_OUT < no and (lv[L_DO] >> (a - DI_OUT)) & 1
            elif a < DI_LATCHED:
                b = a - DI_STATUS < ns and (lv[L_STATUS] >> (a - DI_STATUS)) & 1
            elif a < DI_ACTIVE:
                b = a - DI_LATCHED < n and c.alarms.latched[a - DI_LATCHED] != 0
            else:
                b = c.prot.active[a - DI_ACTIVE] != 0
            if b:
                out[o + (k >> 3)] |= 1 << (k & 7)
        return 0

    def read_regs(self, fc, start, qty, out, o):
        """FC03 / FC04 of registers start..start+qty-1 into out[o:], every
        byte of them written; 0 or an exception code.  Three paths, the same
        bytes: the input registers from the tables _build_fast made, a range
        within the settings or within the protection fields (_read_s32), and
        anything else register by register (_reg_info, _value, _put: the
        reference tests/fw/test_modbus_fastread.py holds the others to).
        Only the snapshot parts the range reads are filled."""
        # The parts: those whose points' address span the range overlaps
        # (computed now, filled after the address check).
        e = start + qty
        pg = self._prange
        parts = 0
        if start < pg[1] and e > pg[0]:
            parts = P_MEAS
        if start < pg[3] and e > pg[2]:
            parts |= P_STATE
        if start < pg[5] and e > pg[4]:
            parts |= P_ALARMS
        if start < pg[7] and e > pg[6]:
            parts |= P_COUNT
        if start < pg[9] and e > pg[8]:
            parts |= P_EVENT
        if e <= self._fast_end:
            # The input registers: every one answers FC03 and FC04, and is a
            # live value, a hole or an alarm status.  Encoded as _put does,
            # one step per point, by modbus.put_regs (machine code on a
            # board, while this module stays frozen in flash) from the
            # tables _build_fast made; the alarm status words first.
            self.snapshot(parts)
            if e > ALARM_BASE and start < ALARM_BASE + _N_PROT:
                self._alarm_words(start, e)
            put_regs(self, start, e, out, o)
            return 0
        if fc == TB_HR and (SET_BASE <= start and e <= SET_BASE + 2 * self._n_set or
                            PROT_BASE <= start and e <= PROT_BASE + PROT_STRIDE * _N_PROT):
            # Within the settings, or within the protection fields: every
            # register is a word of an s32 (holding registers only).
            self.snapshot(parts)
            self._read_s32(start, e, out, o)
            return 0
        # Everything else register by register.  Address check first, for
        # the whole range (02 before anything); what each register is, kept
        # for the pass that fills them.
        rk = self._rk
        for k in range(qty):
            a = start + k
            kind = self._reg_info(a)
            rk[k] = kind
            if kind == 0:
                return _EX_ADDRESS
            if fc == TB_IR and (kind == 2 or kind == 3 or (kind == 5 and a >= IR_END)):
                return _EX_ADDRESS
            if fc == TB_IR and kind == 1 and POINTS[self._at[a] >> 1][0] != TB_IR:
                return _EX_ADDRESS
        self.snapshot(parts)
        c = self.ctl
        for k in range(qty):
            a = start + k
            kind = rk[k]
            oo = o + 2 * k
            if kind == 1:
                r = self._at[a]
                p = POINTS[r >> 1]
                self._put(out, oo, p[3], self._value(p[7], p[8]), r & 1)
            elif kind == 2:
                i = (a - SET_BASE) >> 1
                v = NA if i == self._code_i else getattr(c.cfg, cf.SETTINGS[i][0])
                self._put(out, oo, T_S32, v, (a - SET_BASE) & 1)
            elif kind == 3:
                i = (a - PROT_BASE) // PROT_STRIDE
                f = ((a - PROT_BASE) % PROT_STRIDE) >> 1
                self._put(out, oo, T_S32, c.prot.get_field(i, f), (a - PROT_BASE) & 1)
            elif kind == 4:
                self._put(out, oo, T_U16, self._alarm_word(a - ALARM_BASE), 0)
            elif a >= PROT_BASE:
                # A protection without a curve: the s32 "not available".
                self._put(out, oo, T_S32, NA, (a - PROT_BASE) & 1)
            else:
                out[oo] = 0xFF
                out[oo + 1] = 0xFF
        return 0

    def _read_s32(self, start, e, out, o):
        """Registers start..e-1, all in the settings block or all in the
        protection fields, into out[o:]: read_regs' kinds 2, 3 and the
        curve of a protection without one (5), one step per point."""
        c = self.ctl
        prot = start >= PROT_BASE
        base = PROT_BASE if prot else SET_BASE
        cfg = c.cfg
        sets = cf.SETTINGS
        a = start
        while a < e:
            d = a - base
            if prot:
                i = d // PROT_STRIDE
                f = (d % PROT_STRIDE) >> 1
                if f < 4 or (f == _F_CURVE and pr.PROTECTIONS[i][_P_KIND] == _K_INVERSE):
                    v = c.prot.get_field(i, f)
                else:
                    v = NA            # a protection without a curve
            else:
                i = d >> 1
                v = NA if i == self._code_i else getattr(cfg, sets[i][0])
            # As _put(T_S32): high word, low word.
            if v >= 0:
                hi = v >> 16
                lo = v & 0xFFFF
            elif v == NA or v == FAULT:
                hi = 0x7FFF
                lo = 0xFFFF if v == NA else 0xFFFE
            else:
                hi = (v >> 16) & 0xFFFF
                lo = v & 0xFFFF
            if d & 1:
                out[o] = lo >> 8
                out[o + 1] = lo & 0xFF
            else:
                out[o] = hi >> 8
                out[o + 1] = hi & 0xFF
                if a + 1 < e:
                    out[o + 2] = lo >> 8
                    out[o + 3] = lo & 0xFF
                    a += 1
                    o += 2
            a += 1
            o += 2

    # -- writing --------------------------------------------------------------
    def _refuse(self, a, v, code, counted=False):
        """Refuse a write at register a (value v): counted, logged (rate
        limited), and the exception code returned.  counted: the controller
        already counted it (its own setting / command path refused it)."""
        if self.refused < 1000000000:
            self.refused += 1
        c = self.ctl
        t = c.meas.t_ms
        if ((t - self._log_t) & 0x3FFFFFFF) >= 60000:
            self._log_t = t
            self._log_n = 0
        if self._log_n < _LOG_PER_MIN:
            self._log_n += 1
            c.log.log(t, EV_MB_REFUSED, a)
            c.log.log(t, EV_MB_VALUE, v)
        if not counted:
            c._refuse()
        return code

    def write_bits(self, start, qty, buf, o, bc):
        for k in range(qty):
            a = start + k
            if a >= N_COILS or self._bit_at[a] < 0:
                return self._refuse(a, 0, _EX_ADDRESS)
        c = self.ctl
        t = c.meas.t_ms
        for k in range(qty):
            if not (buf[o + (k >> 3)] >> (k & 7)) & 1:
                continue
            act = POINTS[self._bit_at[start + k]][8]
            if act == 0:
                c.command(_CMD_ACK)
            elif act == 1:
                c.command(_CMD_RESET)
            elif self.unlocked:
                self.unlocked = False
                c.log.log(t, EV_MB_UNLOCK, 0)
        if self.writes < _CNT_MAX:
            self.writes += 1
        return 0

    def write_regs(self, start, qty, buf, o, bc):
        """Decode and check the whole write, then apply it (all or nothing)."""
        c = self.ctl
        wk = self._wk
        wi = self._wi
        wv = self._wv
        wa = self._wa
        n = 0
        k = 0
        # 1. addresses: whole, writable points
        while k < qty:
            a = start + k
            kind = self._reg_info(a)
            w = 2
            if kind == 1:
                r = self._at[a]
                p = POINTS[r >> 1]
                if r & 1 or p[6] == A_R:
                    return self._refuse(a, 0, _EX_ADDRESS)
                typ = p[3]
                w = 2 if typ == T_U32 or typ == T_S32 else 1
                idx = p[7]
            elif kind == 2 or kind == 3:
                if (a - (SET_BASE if kind == 2 else PROT_BASE)) & 1:
                    return self._refuse(a, 0, _EX_ADDRESS)
                typ = T_S32
                idx = (a - SET_BASE) >> 1 if kind == 2 else \
                    ((a - PROT_BASE) // PROT_STRIDE) * 8 + (((a - PROT_BASE) % PROT_STRIDE) >> 1)
                kind = _W_SET if kind == 2 else _W_PROT
            else:
                return self._refuse(a, 0, _EX_ADDRESS)
            if k + w > qty:
                # Half a point.  The command's first word alone is a command
                # without its complement: a bad value, not a bad address.
                return self._refuse(a, 0, _EX_VALUE if kind == 1 and idx == S_CMD
                                    else _EX_ADDRESS)
            b = o + 2 * k
            hi = (buf[b] << 8) | buf[b + 1]
            if w == 1:
                v = hi - 0x10000 if typ == T_S16 and hi >= 0x8000 else hi
            else:
                lo = (buf[b + 2] << 8) | buf[b + 3]
                if kind == 1 and idx == S_CMD:
                    # The command pair: code and complement, checked below.
                    wa[n] = lo
                    wk[n] = _W_CMD
                    wi[n] = hi
                    wv[n] = a
                    n += 1
                    k += w
                    continue
                if typ == T_S32 and hi >= 0x8000:
                    hi -= 0x10000
                if hi > 0x3FFF or hi < -0x4000:
                    return self._refuse(a, hi, _EX_VALUE)
                v = (hi << 16) | lo
            if kind == 1:
                kind = _W_CODE if idx == S_CODE else _W_EVIDX
            wk[n] = kind
            wi[n] = idx
            wv[n] = v
            wa[n] = a
            n += 1
            k += w
        # 2. values and interlocks, nothing changed yet
        unlocked = self._unlocked_now()
        running = c.seq.state != _ST_STOPPED
        for j in range(n):
            kind = wk[j]
            v = wv[j]
            if kind == _W_CMD:       # command pair: wi = code, wa = complement
                code = wi[j]
                if (code ^ 0xFFFF) != wa[j] or code < 1 or code > _CMD_OPEN:
                    return self._refuse(v, code, _EX_VALUE)
                if bc and (code == _CMD_START or code == _CMD_CLOSE or
                           _CMD_MODE_OFF <= code <= _CMD_MODE_AUTO):
                    return self._refuse(v, code, _EX_FAILURE)
            elif kind == _W_CODE:
                if not 0 <= v <= 9999:
                    return self._refuse(wa[j], v, _EX_VALUE)
                if bc:
                    return self._refuse(wa[j], v, _EX_FAILURE)
            elif kind == _W_EVIDX:
                if v < 0 or v > 0x7FFF:
                    return self._refuse(wa[j], v, _EX_VALUE)
            elif kind == _W_SET:
                i = wi[j]
                if v < self._set_lo[i] or v > self._set_hi[i] or i == self._code_i and bc:
                    return self._refuse(wa[j], v, _EX_VALUE)
                if not self._setpoint[i] and (not unlocked or bc):
                    # Configuration is one unit at a time: never broadcast.
                    return self._refuse(wa[j], v, _EX_FAILURE)
                if running and not self._live[i]:
                    return self._refuse(wa[j], v, _EX_FAILURE)
            elif kind == _W_PROT:
                i = wi[j] >> 3
                if not c.prot.allowed(i, wi[j] & 7, v):
                    return self._refuse(wa[j], v, _EX_VALUE)
                if not unlocked or bc:
                    return self._refuse(wa[j], v, _EX_FAILURE)
        # 3. apply.  Settings first, as one set (a consistent set is taken in
        # any order); then protection fields; the code; commands last.
        t = c.meas.t_ms
        e = self._apply_settings(n, running)
        if e:
            return e
        wold = self._wold
        for j in range(n):
            kind = wk[j]
            v = wv[j]
            if kind == _W_PROT:
                i = wi[j] >> 3
                f = wi[j] & 7
                old = c.prot.get_field(i, f)
                wold[j] = old
                if not c.set_setting(PROT_SETTING_BASE + wi[j], v):
                    # Breaks the pickup order: undo this write's earlier
                    # fields, newest first (back through states that held).
                    for jj in range(j - 1, -1, -1):
                        if wk[jj] == _W_PROT:
                            c.prot.set_field(wi[jj] >> 3, wi[jj] & 7, wold[jj])
                    return self._refuse(wa[j], v, _EX_VALUE, True)
                if old != v:
                    c.log.log(t, EV_MB_WRITE, wa[j])
                    c.log.log(t, EV_MB_VALUE, v)
                self._touch(t)
            elif kind == _W_EVIDX:
                self.event_index = v
            elif kind == _W_CODE:
                if ((t - self.code_block_at) & 0x3FFFFFFF) < 60000 and self.code_fails >= 5:
                    return self._refuse(wa[j], 0, _EX_FAILURE)
                if v != c.cfg.mb_access_code:
                    if self.code_fails < _CNT_MAX:
                        self.code_fails += 1
                    if self.code_fails >= 5:
                        self.code_block_at = t
                    c.log.log(t, EV_MB_CODE_FAIL, self.code_fails)
                    return self._refuse(wa[j], 0, _EX_FAILURE)
                self.code_fails = 0
                if not self.unlocked:
                    c.log.log(t, EV_MB_UNLOCK, 1)
                self.unlocked = True
                self.unlocked_at = t
            elif kind == _W_CMD:
                if not c.command(wi[j]):
                    return self._refuse(v, wi[j], _EX_FAILURE, True)
        if self.writes < _CNT_MAX:
            self.writes += 1
        return 0

    def _touch(self, t):
        if self.unlocked:
            self.unlocked_at = t

    def _apply_settings(self, n, running):
        """Write the settings of a pending write; 0 or an exception code."""
        c = self.ctl
        wk = self._wk
        t = c.meas.t_ms
        cnt = 0
        for j in range(n):
            if wk[j] == _W_SET:
                cnt += 1
        if cnt == 0:
            return 0
        cfg = c.cfg
        if cnt == 1 or running:
            # One setting (or live ones, one by one, each consistent alone).
            for j in range(n):
                if wk[j] != _W_SET:
                    continue
                i = self._wi[j]
                v = self._wv[j]
                old = getattr(cfg, cf.SETTINGS[i][0])
                # The controller's one setting path (running: only the
                # live ones, without a rebuild - allocation free).
                if not c.set_setting(i, v):
                    return self._refuse(self._wa[j], v, _EX_VALUE, True)
                if old != v:
                    c.log.log(t, EV_MB_WRITE, self._wa[j])
                    c.log.log(t, EV_MB_VALUE, v)
                if not self._setpoint[i]:
                    self._touch(t)
            return 0
        # Several, engine stopped: as one set through the controller.
        pairs = []
        for j in range(n):
            if wk[j] == _W_SET:
                pairs.append((self._wi[j], self._wv[j]))
        if not c.set_settings(pairs):
            j = 0
            while wk[j] != _W_SET:
                j += 1
            return self._refuse(self._wa[j], self._wv[j], _EX_VALUE, True)
        for j in range(n):
            if wk[j] == _W_SET:
                c.log.log(t, EV_MB_WRITE, self._wa[j])
                c.log.log(t, EV_MB_VALUE, self._wv[j])
        self._touch(t)
        return 0


def _crc_str(c, s):
    for ch in s:
        c = (c >> 8) ^ _TABLE[(c ^ ord(ch)) & 0xFF]
    return c


def map_crc():
    """CRC-16 over the map's layout: the explicit rows (table, address, name,
    type) and the names the generated blocks take their points from.
    Integrators check it against docs/registers.md.  Walks the tables in
    place (no lists, no point dicts: it runs at start-up on a board)."""
    c = 0xFFFF
    for p in POINTS:
        c = _crc_str(c, p[2])
        x = p[0] * 65536 + p[1] * 8 + p[3]
        for k in range(4):
            c = (c >> 8) ^ _TABLE[(c ^ (x >> (8 * k))) & 0xFF]
    for s_ in cf.SETTINGS:
        c = _crc_str(c, s_[0])
    for q in pr.PROTECTIONS:
        c = _crc_str(c, q[_P_NAME])
    for tab in (hal.DI_NAMES, hal.DO_NAMES, STATUS_NAMES):
        for n in tab:
            c = _crc_str(c, n)
    return c


def points():
    """Every point as a dict (host side; expanded by registers_info.py)."""
    import registers_info
    return registers_info.points()
