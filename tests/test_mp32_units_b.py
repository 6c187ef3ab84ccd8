"""The second half of the firmware unit tests under the 32-bit MicroPython
(test_mp32_units.py has the first and the runner)."""

from test_mp32_units import run_half


def test_firmware_unit_tests_pass_under_the_32_bit_micropython_second_half():
    run_half(1)
