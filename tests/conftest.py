"""Shared fixtures: the repo on sys.path, the MicroPython binary, and a
session cache of simulator runs so several tests can read one run."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from host_sim import scenario as _sc  # noqa: E402
from host_sim import sim as _sim  # noqa: E402
from host_sim import report as _report  # noqa: E402
from host_sim.runtime import micropython_binary  # noqa: E402

_cache = {}


def run_scenario(name, runtime="cpython", seed=None, **kw):
    """Run a built-in scenario once per (name, runtime, seed); returns
    (result, report dict)."""
    key = (name, runtime, seed, tuple(sorted(kw.items())))
    if key not in _cache:
        sc = _sc.load(name)
        r = _sim.run(sc, runtime, seed=seed, **kw)
        _cache[key] = (r, _report.build(r))
    return _cache[key]


@pytest.fixture(scope="session")
def mp_bin():
    return micropython_binary()


@pytest.fixture
def run():
    return run_scenario
