"""Shared fixtures: the repo on sys.path, the MicroPython binary, a
session cache of simulator runs so several tests can read one run, and a
live simulator serving Modbus on a pty (LiveSim)."""

import os
import subprocess
import sys
import threading

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


class LiveSim:
    """`gxsim run SCENARIO --realtime --modbus-pty` as a child process: its
    pty at .path, its outputs in .out, its stderr lines in .stderr; .ready
    is set by the "modbus: serving" line (or the end of stderr).  stdout is
    piped (a test may read the closing lines).  Always kill() it."""

    READY = "modbus: serving"

    def __init__(self, tmp, scenario, runtime="cpython", duration_s=20):
        self.runtime = runtime
        self.path = str(tmp / "ttyGX")
        self.out = str(tmp / "out")
        self.stderr = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host_sim.cli", "run", scenario, "--runtime", runtime,
             "--realtime", "--modbus-pty", self.path, "--duration", str(duration_s),
             "--no-plot", "--out", self.out],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.startswith(self.READY):
                self.ready.set()
        self.ready.set()

    def serving(self, timeout_s):
        """Wait for the ready line; True if it came."""
        self.ready.wait(timeout_s)
        return any(x.startswith(self.READY) for x in self.stderr)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
