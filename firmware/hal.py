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
Output vector (OUT_*):
  OUT_FUEL_PCT_X100  fuel actuator command, 0..10000 = 0.00..100.00 %
  OUT_AVR_BIAS_PCT_X100  AVR set-point bias, -10000..10000 = -100..+100 % of
                     the AVR's bias range (a +-10 % voltage trim on the GX230)
  OUT_IGN_CUT_PCT_X100   share of firings the ignition module skips,
                     0..10000 = 0..100 % (overspeed limiter, see ignition.py)
"""

from fixpt import const

IN_T_MS = const(0)
IN_MPU_PULSES = const(1)
IN_MPU_SPAN_US = const(2)
IN_GEN_PERIOD_100NS = const(3)
IN_GEN_V_DV = const(4)
IN_GEN_P_KW_X10 = const(5)
IN_GEN_Q_KVAR_X10 = const(6)
N_IN = const(7)

OUT_FUEL_PCT_X100 = const(0)
OUT_AVR_BIAS_PCT_X100 = const(1)
OUT_IGN_CUT_PCT_X100 = const(2)
N_OUT = const(3)

# Names in vector order: the host (trace, link, docs) reads these instead of
# re-declaring the layout.
IN_NAMES = ("t_ms", "mpu_pulses", "mpu_span_us", "gen_period_100ns",
            "gen_v_dv", "gen_p_kw_x10", "gen_q_kvar_x10")
OUT_NAMES = ("fuel_pct_x100", "avr_bias_pct_x100", "ign_cut_pct_x100")


class Hal:
    """Interface every HAL implements.  Methods must not allocate."""

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
