"""Fixed-point helpers round the same way on every interpreter."""

from fixpt import sat, mul_div, mul_shr, div_round, SMALL_INT_MAX


def test_sat_clamps_both_ends():
    assert sat(5, 0, 10) == 5
    assert sat(-1, 0, 10) == 0
    assert sat(11, 0, 10) == 10


def test_mul_div_floors_negative_results():
    assert mul_div(7, 3, 2) == 10
    assert mul_div(-7, 3, 2) == -11   # floor, not truncation, on both interpreters


def test_mul_shr_is_floor_of_q_multiply():
    assert mul_shr(3, 4096, 12) == 3
    assert mul_shr(-1, 1, 1) == -1


def test_div_round_is_symmetric():
    assert div_round(5, 2) == 3
    assert div_round(-5, 2) == -3
    assert div_round(4, 3) == 1
    assert div_round(-4, 3) == -1


def test_small_int_limit_is_31_bit():
    assert SMALL_INT_MAX == 2 ** 30 - 1
