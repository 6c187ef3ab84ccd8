"""Measurement turns raw pickup timing and periods into engineering integers."""

from array import array
import hal
from config import Config
from measure import Measure


def _inp():
    return array("i", [0] * hal.N_IN)


def test_speed_from_pickup_edges_is_exact_at_rated():
    cfg = Config()
    m = Measure(cfg)
    v = _inp()
    # 1800 rpm, 118 teeth: 3540 teeth/s; 36 edges span 35 teeth = 9887 us
    v[hal.IN_MPU_PULSES] = 36
    v[hal.IN_MPU_SPAN_US] = 9887
    m.update(v)
    assert abs(m.speed_rpm_x10 - 18000) <= 2, m.speed_rpm_x10


def test_speed_reads_zero_after_pickup_goes_quiet():
    cfg = Config()
    m = Measure(cfg)
    v = _inp()
    v[hal.IN_MPU_PULSES] = 36
    v[hal.IN_MPU_SPAN_US] = 9887
    m.update(v)
    v[hal.IN_MPU_PULSES] = 0
    v[hal.IN_MPU_SPAN_US] = 0
    for _ in range(4):
        m.update(v)
    assert m.speed_rpm_x10 > 0          # held through a short gap (cranking)
    m.update(v)
    assert m.speed_rpm_x10 == 0


def test_frequency_from_period_is_floor_of_1e10_over_period():
    cfg = Config()
    m = Measure(cfg)
    v = _inp()
    for per in (166667, 200000, 166000, 999999, 66666, 2000000):
        v[hal.IN_GEN_PERIOD_100NS] = per
        m.update(v)
        assert m.gen_f_mhz == 10000000000 // per, per


def test_implausible_period_reads_as_no_cycle():
    m = Measure(Config())
    v = _inp()
    for per in (1, 50000, 2000001, -5):
        v[hal.IN_GEN_PERIOD_100NS] = per
        m.update(v)
        assert m.gen_f_mhz == 0, per


def test_dead_bus_reads_zero_frequency():
    m = Measure(Config())
    v = _inp()
    m.update(v)
    assert m.gen_f_mhz == 0


def test_kw_filter_follows_noise_slowly_and_steps_at_once():
    cfg = Config()
    m = Measure(cfg)
    v = _inp()
    v[hal.IN_GEN_P_KW_X10] = 50     # 5 kW of noise-sized change: filtered
    m.update(v)
    assert 0 < m.p_filt_kw_x10 < 50
    v[hal.IN_GEN_P_KW_X10] = 700    # a 35 % load step: followed now
    m.update(v)
    assert m.p_filt_kw_x10 == 700
    assert m.p_jump_kw_x10 > 600


def test_map_outside_the_sensors_range_reads_as_no_reading():
    cfg = Config()
    m = Measure(cfg)
    v = _inp()
    for raw, want in ((1560, 1560), (100, 100), (4000, 4000), (0, 0), (99, 0),
                      (4001, 0), (-5, 0), (65535, 0), (1 << 29, 0)):
        v[hal.IN_MAP_KPA_X10] = raw
        m.update(v)
        assert m.map_kpa_x10 == want, (raw, m.map_kpa_x10)
