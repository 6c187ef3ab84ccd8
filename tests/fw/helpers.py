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
