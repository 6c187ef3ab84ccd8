"""Island voltage trim: slow, bounded, idle through dips."""

from config import Config
from avr import Avr


def test_trim_raises_bias_when_voltage_sits_low():
    c = Config()
    a = Avr(c)
    for _ in range(500):
        b = a.update(c.v_rated_dv - 24, True)   # 0.5 % low
    assert b > 0


def test_trim_ignores_transient_dips():
    c = Config()
    a = Avr(c)
    for _ in range(100):
        b = a.update(c.v_rated_dv * 90 // 100, True)   # 10 % dip: the AVR's job
    assert b == 0


def test_trim_is_bounded_and_idle_when_stopped():
    c = Config()
    a = Avr(c)
    for _ in range(100000):
        b = a.update(c.v_rated_dv - 200, True)
    assert b == 3000
    a2 = Avr(c)
    assert a2.update(c.v_rated_dv - 100, False) == 0
