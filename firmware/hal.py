"""The one HAL seam between the integer control core and the outside world.

Everything the controller knows arrives in one preallocated `array('i')` of
inputs, and everything it commands leaves in one `array('i')` of outputs.
Boards (boards/), the host simulator (host_sim/) and the hardware-in-the-loop
link (firmware/hal_link.py) each implement `Hal` once; nothing else in the
firmware knows which one is in use.  Keeping the seam a flat integer vector is
what lets the link protocol carry it byte-for-byte to a real board.

Input vector (index constants IN_*), all integers, units in the names:
  IN_T_MS            monotonic time of this sample, ms; wraps to 0 at 2**30 ms
                     (12.4 days) so it stays a small int - use differences
  IN_MPU_PULSES      speed-pickup edges seen during the last tick window
  IN_MPU_SPAN_US     time from the first to the last of those edges, us
  IN_GEN_PERIOD_100NS  period of the last complete generator voltage cycle,
                     in 100 ns units (0 = no cycle seen: dead bus / stopped)
  IN_GEN_V_DV        generator line-line RMS voltage, 0.1 V
  IN_GEN_P_KW_X10    generator active power, 0.1 kW (metering IC)
  IN_GEN_Q_KVAR_X10  generator reactive power, 0.1 kvar (+ = exporting vars)
  IN_GEN_IA_A_X10 .. IN_GEN_IC_A_X10   phase currents, 0.1 A RMS
  IN_OIL_KPA         lube oil pressure, kPa (4-20 mA sender)
  IN_COOLANT_DC      coolant temperature, 0.1 degC
  IN_GAS_MBAR        gas supply pressure upstream of the shut-off valves, mbar
  IN_BATT_MV         starter battery voltage, mV
  IN_BUS_PERIOD_100NS  period of the last complete mains-side voltage cycle
                     (sensed on the grid side of the mains breaker), 100 ns
  IN_BUS_V_DV        mains-side line-line RMS voltage, 0.1 V
  IN_ZC_DT_100NS     generator zero crossing minus the mains zero crossing
                     before it, 100 ns, wrapped into (-period/2, period/2]:
                     the firmware turns it into phase angle and slip
  IN_GRID_P_KW_X10   power imported from the grid at the point of common
                     coupling (+ import, - export), 0.1 kW (site meter)
  IN_GRID_Q_KVAR_X10 reactive power imported at the PCC, 0.1 kvar
  IN_MAP_KPA_X10     intake manifold absolute pressure after the throttle,
                     0.1 kPa (the engine's TMAP sensor; 0 = no sensor: a
                     reading outside its plausible range is a failed sensor,
                     measure.py reports it as 0 and the governor does
                     without it)
  IN_DI              digital inputs, one bit each (DI_*), already debounced
                     and in "true = condition present" logic (a normally-closed
                     e-stop loop that opens reads as DI_ESTOP = 1)
Output vector (OUT_*):
  OUT_FUEL_PCT_X100  fuel actuator command, 0..10000 = 0.00..100.00 %
  OUT_AVR_BIAS_PCT_X100  AVR set-point bias, -10000..10000 = -100..+100 % of
                     the AVR's bias range (a +-10 % voltage trim on the GX230)
  OUT_IGN_CUT_PCT_X100   share of firings the ignition module skips,
                     0..10000 = 0..100 % (overspeed limiter, see ignition.py)
  OUT_DO             relay outputs, one bit each (DO_*)
"""

from fixpt import const

IN_T_MS = const(0)
IN_MPU_PULSES = const(1)
IN_MPU_SPAN_US = const(2)
IN_GEN_PERIOD_100NS = const(3)
IN_GEN_V_DV = const(4)
IN_GEN_P_KW_X10 = const(5)
IN_GEN_Q_KVAR_X10 = const(6)
IN_GEN_IA_A_X10 = const(7)
IN_GEN_IB_A_X10 = const(8)
IN_GEN_IC_A_X10 = const(9)
IN_OIL_KPA = const(10)
IN_COOLANT_DC = const(11)
IN_GAS_MBAR = const(12)
IN_BATT_MV = const(13)
IN_DI = const(14)
IN_BUS_PERIOD_100NS = const(15)
IN_BUS_V_DV = const(16)
IN_ZC_DT_100NS = const(17)
IN_GRID_P_KW_X10 = const(18)
IN_GRID_Q_KVAR_X10 = const(19)
IN_MAP_KPA_X10 = const(20)
N_IN = const(21)

# IN_DI bits
DI_ESTOP = const(1)          # emergency-stop loop open
DI_REMOTE_START = const(2)   # remote start / run request (AUTO mode)
DI_GAS_LEAK = const(4)       # gas detector in the enclosure
DI_KNOCK = const(8)          # knock controller: knock present (propane, hydrogen)
DI_GCB_CLOSED = const(16)    # generator breaker auxiliary contact: closed
DI_GAS_PROVEN = const(32)    # valve-proving / gas train pressure switch healthy
DI_METER_OK = const(64)      # metering front end answering and in range
DI_MB_CLOSED = const(128)    # mains (grid) breaker closed: the bus is tied to the grid
DI_CONFIG_EN = const(256)    # configuration key switch: Modbus configuration writes open
DI_SENDER_FAULT = const(512)  # an engine sender (oil, coolant, gas) reads open or short
                              # circuit: its protection is blind (boards/common/senders.py)
DI_ALL = const(1023)         # every defined bit: measure.py drops the others

OUT_FUEL_PCT_X100 = const(0)
OUT_AVR_BIAS_PCT_X100 = const(1)
OUT_IGN_CUT_PCT_X100 = const(2)
OUT_DO = const(3)
N_OUT = const(4)

# OUT_DO bits
DO_CRANK = const(1)          # starter motor
DO_GAS_VALVE = const(2)      # gas shut-off valves open (de-energise = fuel off)
DO_IGNITION = const(4)       # ignition module enabled
DO_PRELUBE = const(8)        # pre-lube pump
DO_GCB_CLOSE = const(16)     # generator breaker close coil (held while closing)
DO_GCB_OPEN = const(32)      # generator breaker trip / open coil
DO_HORN = const(64)          # audible alarm (silenced by acknowledge)
DO_COMMON_ALARM = const(128)     # any alarm latched
DO_COMMON_SHUTDOWN = const(256)  # a shutdown-class alarm latched
DO_READY = const(512)        # set available for load (AUTO, no shutdown)
DO_MB_CLOSE = const(1024)    # mains breaker close coil (AMF retransfer)
DO_MB_OPEN = const(2048)     # mains breaker trip coil (AMF, loss of mains)
# Load shedding (a stack's power management, powermgmt.py): stage k's
# non-critical loads off while energised.  Stages are cumulative (stage 2
# sheds 1 and 2); de-energised (a controller failed safe, powered down)
# the loads are on: shedding is a convenience, never the safe state.
DO_SHED_1 = const(4096)
DO_SHED_2 = const(8192)
DO_SHED_3 = const(16384)

# Names of the DI_* and DO_* bits, bit 0 first (register map, docs).
DI_NAMES = ("estop", "remote_start", "gas_leak", "knock", "gcb_closed", "gas_proven",
            "meter_ok", "mb_closed", "config_enable", "sender_fault")
DO_NAMES = ("crank", "gas_valve", "ignition", "prelube", "gcb_close", "gcb_open", "horn",
            "common_alarm", "common_shutdown", "ready", "mb_close", "mb_open",
            "shed_1", "shed_2", "shed_3")

# Names in vector order: the host (trace, link, docs) reads these instead of
# re-declaring the layout.
IN_NAMES = ("t_ms", "mpu_pulses", "mpu_span_us", "gen_period_100ns",
            "gen_v_dv", "gen_p_kw_x10", "gen_q_kvar_x10", "gen_ia_a_x10",
            "gen_ib_a_x10", "gen_ic_a_x10", "oil_kpa", "coolant_dc", "gas_mbar",
            "batt_mv", "di", "bus_period_100ns", "bus_v_dv", "zc_dt_100ns",
            "grid_p_kw_x10", "grid_q_kvar_x10", "map_kpa_x10")
OUT_NAMES = ("fuel_pct_x100", "avr_bias_pct_x100", "ign_cut_pct_x100", "do")


class Hal:
    """Interface every HAL implements.  Methods must not allocate."""

    # Whether write() uses the telemetry vector.  A board's own HAL does not
    # (Modbus reads the controller's state itself): the controller then
    # leaves the vector alone (~14k Cortex-M0 instructions a tick saved).
    WANTS_TELE = True

    def wait_tick(self):
        """Block until the next control tick is due.  Returns False to stop."""
        raise NotImplementedError

    def read(self, inp):
        """Fill the input vector `inp` (array('i', N_IN)) for this tick."""
        raise NotImplementedError

    def write(self, out, tele):
        """Apply the output vector `out`; `tele` is the telemetry vector
        (see controller.TELE_NAMES) a HAL may log or forward."""
        raise NotImplementedError

    def safe(self):
        """Drive outputs to the safe state (fuel off) after an unhandled error."""
        raise NotImplementedError

    # The Modbus RTU port (RS-485 on a board, a pty in the simulator, 'U'
    # frames on the tick link).  A HAL's wait_tick serves the port in the
    # time left before the next tick, calling on_uart(buf, n, t_us) with the
    # bytes read (n = 0: the line was found silent at t_us); the controller
    # answers through uart_send.  A HAL without a port keeps these.
    on_uart = None

    def uart_send(self, buf, n):
        """Send buf[0:n] as one write (the board drives DE around it)."""
        pass

    # The stack's share link (fleet.py): a HAL of a unit in a stack sends each
    # frame on CAN / a second RS-485 port / the simulator's modelled bus, and
    # hands frames received to Controller.share_rx between ticks.
    def share_send(self, buf, n):
        """Broadcast buf[0:n] to the other units (one frame)."""
        pass

    def uart_config(self, baud, parity, stop_bits):
        """Re-open the port (a Modbus port setting changed)."""
        pass
