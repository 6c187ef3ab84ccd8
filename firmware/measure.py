"""Measurement: turn the raw HAL input vector into engineering integers.

Speed comes from speed-pickup (MPU) edge timing: the HAL counts ring-gear
teeth edges in the tick window and timestamps the first and last, so
  rpm_x10 = (edges - 1) * mpu_k / span_us,  mpu_k = 6e8 / teeth,
which resolves 1 us in ~10 ms (0.02 rpm at 1800 rpm) without floats.
Generator frequency comes from the period of the last complete voltage cycle,
in 100 ns units: f_mhz = 1e10 / period, computed as two exact integer
divisions because 1e10 is not a small int.
Voltage, kW, kvar and phase currents come from the metering front end
already scaled; engine senders (oil, coolant, gas pressure, battery) and the
digital inputs arrive as they are.  For protection, the quantities are also
expressed relative to rating (pct_x100 of rated) once here, so every
protection compares like with like whatever the set's size or frequency.
"""

from array import array
from fixpt import const, mul_div, viper

# -- constants of hal (tools/gen_consts.py; do not edit) --
_DI_ALL = const(1023)  # hal.DI_ALL
_IN_BATT_MV = const(13)  # hal.IN_BATT_MV
_IN_BUS_PERIOD_100NS = const(15)  # hal.IN_BUS_PERIOD_100NS
_IN_BUS_V_DV = const(16)  # hal.IN_BUS_V_DV
_IN_COOLANT_DC = const(11)  # hal.IN_COOLANT_DC
_IN_DI = const(14)  # hal.IN_DI
_IN_GAS_MBAR = const(12)  # hal.IN_GAS_MBAR
_IN_GEN_IA_A_X10 = const(7)  # hal.IN_GEN_IA_A_X10
_IN_GEN_IB_A_X10 = const(8)  # hal.IN_GEN_IB_A_X10
_IN_GEN_IC_A_X10 = const(9)  # hal.IN_GEN_IC_A_X10
_IN_GEN_PERIOD_100NS = const(3)  # hal.IN_GEN_PERIOD_100NS
_IN_GEN_P_KW_X10 = const(5)  # hal.IN_GEN_P_KW_X10
_IN_GEN_Q_KVAR_X10 = const(6)  # hal.IN_GEN_Q_KVAR_X10
_IN_GEN_V_DV = const(4)  # hal.IN_GEN_V_DV
_IN_GRID_P_KW_X10 = const(18)  # hal.IN_GRID_P_KW_X10
_IN_GRID_Q_KVAR_X10 = const(19)  # hal.IN_GRID_Q_KVAR_X10
_IN_MAP_KPA_X10 = const(20)  # hal.IN_MAP_KPA_X10
_IN_MPU_PULSES = const(1)  # hal.IN_MPU_PULSES
_IN_MPU_SPAN_US = const(2)  # hal.IN_MPU_SPAN_US
_IN_OIL_KPA = const(10)  # hal.IN_OIL_KPA
_IN_T_MS = const(0)  # hal.IN_T_MS
_IN_ZC_DT_100NS = const(17)  # hal.IN_ZC_DT_100NS
# -- end of generated constants --

# ROCOF window: the generator frequency 8 ticks (80 ms, ~5 cycles at 60 Hz)
# ago - standards.md: ROCOF filtered over 4-9 cycles.
_ROCOF_N = const(8)
# Plausible cycle periods (100 ns): 150 Hz down to 5 Hz.  Anything else is a
# bad reading and counts as no cycle, never as a wild frequency.
_PER_MIN = const(66666)
_PER_MAX = const(2000000)


def mhz_of_period(per):
    """floor(1e10 / per) in mHz for a valid period (100 ns units), 0 for 0,
    without forming 1e10 (not a small int): q = 1e9 // per, r < per."""
    if per <= 0:
        return 0
    q = 1000000000 // per
    return q * 10 + ((1000000000 - q * per) * 10) // per


# Plausibility bounds at the seam: every HAL input is saturated into these
# before anything is derived from it, so any input in the link's +-2**30
# gives the same outputs on every interpreter and no intermediate leaves the
# 31-bit small-int range (a value out of range of an array('i') raises on
# CPython and wraps on MicroPython).  They are far outside anything a healthy
# GX230 produces (10x its ratings), so they never clip a real reading; a
# reading beyond them is a failed sensor or wiring, and saturating it keeps
# its sign (an absurd speed still trips overspeed).
_SPEED_MAX_RPM_X10 = const(100000)   # 10000 rpm
_V_MAX_DV = const(100000)            # 10 kV
_P_MAX_KW_X10 = const(100000)        # +-10 MW, kvar likewise
_I_MAX_A_X10 = const(100000)         # 10 kA
_MAP_MIN_KPA_X10 = const(100)    # 10 kPa: no running engine's manifold is below it
_MAP_MAX_KPA_X10 = const(4000)   # 400 kPa: the sensor's full scale
_SENDER_MAX = const(10000)           # kPa, mbar
_COOLANT_LO_DC = const(-1000)        # -100 degC
_COOLANT_HI_DC = const(3000)         # +300 degC
_BATT_MAX_MV = const(100000)
_SPAN_MAX_US = const(100000)         # twice the longest tick
_EDGES_MAX = const(10000)            # per tick: 50 kHz of teeth at 0.2 s


def mpu_rpm_x10(edges, span_us, mpu_k):
    """floor((edges - 1) * mpu_k / span_us), saturated at _SPEED_MAX_RPM_X10.
    The plain product passes 2**30 at about two revolutions per tick (a
    50 ms tick at overspeed), so split mpu_k = q * span + r: both partial
    products stay small for edges <= _EDGES_MAX, span <= _SPAN_MAX_US."""
    n = edges - 1
    q = mpu_k // span_us
    if q > _SPEED_MAX_RPM_X10 // n:
        return _SPEED_MAX_RPM_X10
    r = mpu_k - q * span_us
    v = n * q + (n * r) // span_us
    return v if v < _SPEED_MAX_RPM_X10 else _SPEED_MAX_RPM_X10


def cdeg_of(dt, per):
    """The angle dt / per of a turn in 0.01 deg (floor of 36000 dt / per),
    for |dt| <= per <= _PER_MAX, without a product beyond the small-int
    range: dt * 1000 = q * per + r, 0 <= r < per, then 36 q + 36 r // per."""
    x = dt * 1000
    q = x // per
    return q * 36 + (x - q * per) * 36 // per


def rpm_x10_of_mhz(f_mhz, poles):
    """Shaft speed (0.1 rpm) that makes f_mhz on a `poles`-pole alternator."""
    return mul_div(f_mhz, 12, poles * 10)

# After this many ticks with no pulses the speed reads zero: at 10 ms ticks and
# 118 teeth that is below ~25 rpm, far under cranking speed.
_MPU_STALE_TICKS = const(5)


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
        self.i_max_a_x10 = 0
        self.oil_kpa = 0
        self.coolant_dc = 0
        self.gas_mbar = 0
        self.map_kpa_x10 = 0      # manifold absolute pressure; 0: no valid reading
        self.batt_mv = 0
        self.di = 0
        # Relative to rating, for protection (pct_x100 = 0.01 % of rated)
        self.speed_pct_x100 = 0
        self.f_dev_mhz = 0        # generator frequency minus nominal
        self.v_pct_x100 = 0
        self.p_pct_x100 = 0
        self.q_pct_x100 = 0
        self.i_pct_x100 = 0       # highest phase current
        self.i_unbal_pct_x100 = 0  # (max - min) phase current, % of rated current
        # Mains side and paralleling
        self.bus_f_mhz = 0
        self.bus_v_dv = 0
        self.bus_v_pct_x100 = 0
        self.phase_cdeg = 0        # generator minus mains voltage angle, 0.01 deg
        self.slip_mhz = 0          # generator minus mains frequency
        # The same two, low-passed for the synchroniser: one cycle's period
        # carries ~25 mHz (1 sigma) of zero-crossing jitter, too much for a
        # slip check or the speed set point.  Slip: tau 40 ms (it is inside
        # the phase loop, where lag costs stability); bus: tau 80 ms.
        self.slip_f_mhz = 0
        self.bus_f_f_mhz = 0
        self._slip_q3 = 0               # slip_f << 3
        self._bus_f_q3 = 0              # bus_f_f << 3 (0: start afresh)
        self.dv_pct_x100 = 0       # generator minus mains voltage, % of rated
        self.grid_p_kw_x10 = 0     # import at the PCC
        self.grid_q_kvar_x10 = 0
        self.import_pct_x100 = 0   # grid import, % of the set's rated kW
        self.rocof_mhz_s = 0       # generator frequency rate of change
        self.vshift_cdeg = 0       # generator voltage vector shift in the last cycle
        self._f_hist = array("i", [0] * _ROCOF_N)
        self._per_hist = array("i", [0] * _ROCOF_N)
        self._per_sum = 0               # sum of _per_hist
        self._hi = 0

    @viper
    def update(self, inp):
        # Machine code on a board (host_sim/native.py): every object read
        # here is cast with int(), and every divisor is a rating (> 0 by the
        # settings' ranges) or tested > 0 first.
        cfg = self.cfg
        self.t_ms = int(inp[_IN_T_MS])
        # Saturation written out (not fixpt.sat): a call per input costs
        # ~1000 Cortex-M0 instructions.
        x = int(inp[_IN_MPU_PULSES])
        edges = 0 if x < 0 else (x if x < _EDGES_MAX else _EDGES_MAX)
        x = int(inp[_IN_MPU_SPAN_US])
        span_us = 0 if x < 0 else (x if x < _SPAN_MAX_US else _SPAN_MAX_US)
        if edges >= 2 and span_us > 0:
            # (mpu_rpm_x10 written out: a call costs ~1000 instructions.)
            n = edges - 1
            k = int(cfg.mpu_k)
            q = k // span_us
            if q > _SPEED_MAX_RPM_X10 // n:
                v = _SPEED_MAX_RPM_X10
            else:
                v = n * q + (n * (k - q * span_us)) // span_us
            self.speed_rpm_x10 = v if v < _SPEED_MAX_RPM_X10 else _SPEED_MAX_RPM_X10
            self._mpu_stale = 0
        else:
            # At cranking speed a tick may see one edge or none: hold the last
            # reading for a few ticks before declaring the engine stopped.
            n = int(self._mpu_stale) + 1
            self._mpu_stale = n
            if n >= _MPU_STALE_TICKS:
                self._mpu_stale = _MPU_STALE_TICKS
                self.speed_rpm_x10 = 0
        # An implausible period (noise, a dead input) counts as no cycle.
        per = int(inp[_IN_GEN_PERIOD_100NS])
        if _PER_MIN <= per <= _PER_MAX:
            # (mhz_of_period written out.)
            q = 1000000000 // per
            gen_f = q * 10 + ((1000000000 - q * per) * 10) // per
        else:
            per = 0
            gen_f = 0
        self.gen_f_mhz = gen_f
        x = int(inp[_IN_GEN_V_DV])
        gen_v = 0 if x < 0 else (x if x < _V_MAX_DV else _V_MAX_DV)
        self.gen_v_dv = gen_v
        x = int(inp[_IN_GEN_P_KW_X10])
        p = -_P_MAX_KW_X10 if x < -_P_MAX_KW_X10 else (x if x < _P_MAX_KW_X10 else _P_MAX_KW_X10)
        self.p_kw_x10 = p
        x = int(inp[_IN_GEN_Q_KVAR_X10])
        q = -_P_MAX_KW_X10 if x < -_P_MAX_KW_X10 else (x if x < _P_MAX_KW_X10 else _P_MAX_KW_X10)
        self.q_kvar_x10 = q
        x = int(inp[_IN_GEN_IA_A_X10])
        ia = 0 if x < 0 else (x if x < _I_MAX_A_X10 else _I_MAX_A_X10)
        x = int(inp[_IN_GEN_IB_A_X10])
        ib = 0 if x < 0 else (x if x < _I_MAX_A_X10 else _I_MAX_A_X10)
        x = int(inp[_IN_GEN_IC_A_X10])
        ic = 0 if x < 0 else (x if x < _I_MAX_A_X10 else _I_MAX_A_X10)
        imax = ia if ia > ib else ib
        if ic > imax:
            imax = ic
        imin = ia if ia < ib else ib
        if ic < imin:
            imin = ic
        self.i_max_a_x10 = imax
        x = int(inp[_IN_OIL_KPA])
        self.oil_kpa = 0 if x < 0 else (x if x < _SENDER_MAX else _SENDER_MAX)
        x = int(inp[_IN_COOLANT_DC])
        self.coolant_dc = _COOLANT_LO_DC if x < _COOLANT_LO_DC else \
            (x if x < _COOLANT_HI_DC else _COOLANT_HI_DC)
        x = int(inp[_IN_GAS_MBAR])
        self.gas_mbar = 0 if x < 0 else (x if x < _SENDER_MAX else _SENDER_MAX)
        x = int(inp[_IN_BATT_MV])
        self.batt_mv = 0 if x < 0 else (x if x < _BATT_MAX_MV else _BATT_MAX_MV)
        # A 20-400 kPa TMAP sensor: below 10 kPa (an open signal wire reads
        # 0 V) or above its range is a failed sensor, not a pressure.
        v = int(inp[_IN_MAP_KPA_X10])
        self.map_kpa_x10 = v if _MAP_MIN_KPA_X10 <= v <= _MAP_MAX_KPA_X10 else 0
        self.di = int(inp[_IN_DI]) & _DI_ALL
        # Relative to rating.  The products are written out (not fixpt.mul_div,
        # a call each): every reading was saturated above to at most 100000
        # (the speed by mpu_rpm_x10), so x * 10000 <= 1e9 < 2**30.
        self.speed_pct_x100 = int(self.speed_rpm_x10) * 10000 // int(cfg.rated_rpm_x10)
        self.f_dev_mhz = gen_f - int(cfg.f_nom_mhz) if gen_f > 0 else 0
        v_rated = int(cfg.v_rated_dv)
        v_pct = gen_v * 10000 // v_rated
        self.v_pct_x100 = v_pct
        p_rated = int(cfg.p_rated_kw_x10)
        self.p_pct_x100 = p * 10000 // p_rated
        self.q_pct_x100 = q * 10000 // p_rated
        i_rated = int(cfg.i_rated_a_x10)
        self.i_pct_x100 = imax * 10000 // i_rated
        self.i_unbal_pct_x100 = (imax - imin) * 10000 // i_rated
        # Mains side: frequency, voltage, and the angle between the two
        # voltages from their zero-crossing timestamps.
        bper = int(inp[_IN_BUS_PERIOD_100NS])
        if _PER_MIN <= bper <= _PER_MAX:
            q = 1000000000 // bper
            bus_f = q * 10 + ((1000000000 - q * bper) * 10) // bper
        else:
            bper = 0
            bus_f = 0
        self.bus_f_mhz = bus_f
        x = int(inp[_IN_BUS_V_DV])
        bus_v = 0 if x < 0 else (x if x < _V_MAX_DV else _V_MAX_DV)
        self.bus_v_dv = bus_v
        bus_v_pct = bus_v * 10000 // v_rated
        self.bus_v_pct_x100 = bus_v_pct
        if bper > 0 and per > 0:
            half = bper >> 1
            x = int(inp[_IN_ZC_DT_100NS])
            # (cdeg_of written out.)
            x = (-half if x < -half else (x if x < half else half)) * 1000
            q = x // bper
            self.phase_cdeg = q * 36 + (x - q * bper) * 36 // bper
            # Beyond +-25 % of nominal there is nothing to synchronise.
            lim = int(cfg.f_nom_mhz) >> 2
            x = gen_f - bus_f
            slip = -lim if x < -lim else (x if x < lim else lim)
            self.slip_mhz = slip
            bq = int(self._bus_f_q3)
            if bq == 0:
                sq = slip << 3
                bq = bus_f << 3
            else:
                sq = int(self._slip_q3)
                sq += ((slip << 3) - sq) >> 2
                bq += ((bus_f << 3) - bq) >> 3
            self._slip_q3 = sq
            self._bus_f_q3 = bq
            self.slip_f_mhz = (sq + 4) >> 3
            self.bus_f_f_mhz = (bq + 4) >> 3
        else:
            self.phase_cdeg = 0
            self.slip_mhz = 0
            self.slip_f_mhz = 0
            self.bus_f_f_mhz = 0
            self._slip_q3 = 0
            self._bus_f_q3 = 0
        self.dv_pct_x100 = v_pct - bus_v_pct
        x = int(inp[_IN_GRID_P_KW_X10])
        gp = -_P_MAX_KW_X10 if x < -_P_MAX_KW_X10 else (x if x < _P_MAX_KW_X10 else _P_MAX_KW_X10)
        self.grid_p_kw_x10 = gp
        x = int(inp[_IN_GRID_Q_KVAR_X10])
        self.grid_q_kvar_x10 = -_P_MAX_KW_X10 if x < -_P_MAX_KW_X10 else \
            (x if x < _P_MAX_KW_X10 else _P_MAX_KW_X10)
        # (|grid kW| is within _P_MAX_KW_X10 = 100000 already.)
        self.import_pct_x100 = gp * 10000 // p_rated
        # Loss-of-mains measures on the generator voltage: ROCOF over the
        # window, and vector shift = this cycle's period against the window's
        # mean period (a phase jump of x deg stretches one cycle by x/360 T).
        k = int(self._hi)
        fh = self._f_hist
        ph = self._per_hist
        f_old = int(fh[k])
        p_old_sum = int(self._per_sum)  # the window before this cycle
        self._per_sum = p_old_sum - int(ph[k]) + per
        fh[k] = gen_f
        ph[k] = per
        self._hi = k + 1 if k + 1 < _ROCOF_N else 0
        if per > 0 and f_old > 0:
            self.rocof_mhz_s = (gen_f - f_old) * 1000 // (_ROCOF_N * int(cfg.tick_ms))
            p_avg = p_old_sum // _ROCOF_N
            if p_avg > 0:
                x = per - p_avg
                lim = p_avg >> 2
                x = (-lim if x < -lim else (x if x < lim else lim)) * 1000
                q = x // p_avg
                self.vshift_cdeg = q * 36 + (x - q * p_avg) * 36 // p_avg
            else:
                self.vshift_cdeg = 0
        else:
            self.rocof_mhz_s = 0
            self.vshift_cdeg = 0
        # Light low-pass on kW for the governor feed-forward (metering noise).
        pf = int(self.p_filt_kw_x10)
        # Remember how far the raw kW sits from the filtered value before
        # the update: a sudden drop arms the overspeed ignition cut.
        self.p_jump_kw_x10 = p - pf
        if p - pf > int(cfg.ff_fast_kw_x10) or pf - p > int(cfg.ff_fast_kw_x10):
            # A load step is real (noise is never this large): follow it now
            # so the feed-forward acts within one metering cycle.
            self.p_filt_kw_x10 = p
        else:
            self.p_filt_kw_x10 = pf + (((p - pf) * int(cfg.p_alpha_q12) + 2048) >> 12)
