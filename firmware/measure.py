"""Measurement: turn the raw HAL input vector into engineering integers.

Speed comes from speed-pickup (MPU) edge timing: the HAL counts ring-gear
teeth edges in the tick window and timestamps the first and last, so
  rpm_x10 = (edges - 1) * mpu_k / span_us,  mpu_k = 6e8 / teeth,
which resolves 1 us in ~10 ms (0.02 rpm at 1800 rpm) without floats.
Generator frequency comes from the period of the last complete voltage cycle,
in 100 ns units: f_mhz = 1e10 / period, computed as two exact integer
divisions because 1e10 is not a small int.
Voltage, kW and kvar come from the metering front end already scaled.
"""

from fixpt import mul_div, mul_shr
import hal

# After this many ticks with no pulses the speed reads zero: at 10 ms ticks and
# 118 teeth that is below ~25 rpm, far under cranking speed.
_MPU_STALE_TICKS = 5


class Measure:
    def __init__(self, cfg):
        self.cfg = cfg
        self.speed_rpm_x10 = 0
        self.gen_f_mhz = 0
        self.gen_v_dv = 0
        self.p_kw_x10 = 0
        self.q_kvar_x10 = 0
        self.p_filt_kw_x10 = 0
        self.p_jump_kw_x10 = 0
        self._mpu_stale = 0
        self.t_ms = 0

    def update(self, inp):
        cfg = self.cfg
        self.t_ms = inp[hal.IN_T_MS]
        edges = inp[hal.IN_MPU_PULSES]
        span_us = inp[hal.IN_MPU_SPAN_US]
        if edges >= 2 and span_us > 0:
            self.speed_rpm_x10 = mul_div(edges - 1, cfg.mpu_k, span_us)
            self._mpu_stale = 0
        else:
            # At cranking speed a tick may see one edge or none: hold the last
            # reading for a few ticks before declaring the engine stopped.
            self._mpu_stale += 1
            if self._mpu_stale >= _MPU_STALE_TICKS:
                self._mpu_stale = _MPU_STALE_TICKS
                self.speed_rpm_x10 = 0
        per = inp[hal.IN_GEN_PERIOD_100NS]
        if per > 0:
            # floor(1e10 / per) without forming 1e10: q = 1e9 // per, r < per.
            q = 1000000000 // per
            r = 1000000000 - q * per
            self.gen_f_mhz = q * 10 + (r * 10) // per
        else:
            self.gen_f_mhz = 0
        self.gen_v_dv = inp[hal.IN_GEN_V_DV]
        p = inp[hal.IN_GEN_P_KW_X10]
        self.p_kw_x10 = p
        self.q_kvar_x10 = inp[hal.IN_GEN_Q_KVAR_X10]
        # Light low-pass on kW for the governor feed-forward (metering noise).
        pf = self.p_filt_kw_x10
        # Remember how far the raw kW sits from the filtered value before
        # the update: a sudden drop arms the overspeed ignition cut.
        self.p_jump_kw_x10 = p - pf
        if p - pf > cfg.ff_fast_kw_x10 or pf - p > cfg.ff_fast_kw_x10:
            # A load step is real (noise is never this large): follow it now
            # so the feed-forward acts within one metering cycle.
            self.p_filt_kw_x10 = p
        else:
            self.p_filt_kw_x10 = pf + ((mul_shr(p - pf, cfg.p_alpha_q12, 0) + 2048) >> 12)
