"""Shared helpers for firmware unit tests (plain Python, both interpreters)."""

from array import array
import hal


def is_micropython():
    import sys
    return sys.implementation.name == "micropython"


class ScriptHal(hal.Hal):
    """A HAL whose inputs the test sets directly and whose outputs it reads.
    It is the test's side of the real seam, not a stand-in for firmware code."""

    def __init__(self):
        self.next_in = array("i", [0] * hal.N_IN)
        self.last_out = array("i", [0] * hal.N_OUT)
        self.safe_calls = 0

    def read(self, inp):
        n = self.next_in
        for i in range(hal.N_IN):
            inp[i] = n[i]

    def write(self, out, tele):
        o = self.last_out
        for i in range(hal.N_OUT):
            o[i] = out[i]

    def safe(self):
        self.safe_calls += 1


def running_inputs(h, cfg, speed_rpm_x10, p_kw_x10, t_ms=0):
    """Inputs of a set running at speed_rpm_x10 and p_kw_x10, rated voltage."""
    v = h.next_in
    teeth_per_s_x10 = speed_rpm_x10 * cfg.mpu_teeth // 60     # teeth/s * 10
    # edges in a 10 ms window and the span they cover, to 1 us
    edges = teeth_per_s_x10 // 1000 + 1
    span_us = (edges - 1) * 10000000 // teeth_per_s_x10 if teeth_per_s_x10 else 0
    v[hal.IN_T_MS] = t_ms
    v[hal.IN_MPU_PULSES] = edges
    v[hal.IN_MPU_SPAN_US] = span_us
    f_mhz = speed_rpm_x10 * cfg.poles * 5 // 6   # rpm * poles / 120 Hz, in mHz
    v[hal.IN_GEN_PERIOD_100NS] = 10000000000 // f_mhz if f_mhz else 0
    v[hal.IN_GEN_V_DV] = cfg.v_rated_dv
    v[hal.IN_GEN_P_KW_X10] = p_kw_x10
    v[hal.IN_GEN_Q_KVAR_X10] = 0
    i = p_kw_x10 * 3007 // 2000
    v[hal.IN_GEN_IA_A_X10] = i
    v[hal.IN_GEN_IB_A_X10] = i
    v[hal.IN_GEN_IC_A_X10] = i
    v[hal.IN_OIL_KPA] = 400
    v[hal.IN_COOLANT_DC] = 820
    v[hal.IN_GAS_MBAR] = 35
    v[hal.IN_BATT_MV] = 27000
    v[hal.IN_DI] = (hal.DI_GCB_CLOSED | hal.DI_METER_OK | hal.DI_REMOTE_START |
                    hal.DI_GAS_PROVEN)


def loaded_controller(p_kw_x10=1000, grid=True):
    """A controller running on load, breaker closed, all inputs healthy;
    paralleled with the grid (mains breaker closed) unless grid=False."""
    from controller import Controller
    h = ScriptHal()
    c = Controller(h)
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, p_kw_x10)
    if grid:
        h.next_in[hal.IN_DI] |= hal.DI_MB_CLOSED
        h.next_in[hal.IN_GRID_P_KW_X10] = 500   # the site imports 50 kW
    c.begin(5000, c.cfg.rated_rpm_x10)
    c.tick()
    return h, c


def period_for_mhz(f_mhz):
    return 10000000000 // f_mhz


class Lcg:
    """A small deterministic generator (the same on every interpreter), for
    the random walks of the quiet-path tests."""

    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x3FFFFFFF
        return (self.x >> 8) % n
