"""Built-in scenarios 1, 4, 7, ... on the 32-bit port: allocation-free from
the first tick and bit-identical to CPython (mp32_scenarios.check)."""

import pytest

import mp32_scenarios


@pytest.mark.parametrize("name", mp32_scenarios.names(0))
def test_builtin_scenario_runs_allocation_free_and_bit_identical_on_32_bit(name):
    mp32_scenarios.check(name)
