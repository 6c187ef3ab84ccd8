"""The firmware unit tests (tests/fw) under the 32-bit MicroPython (the
webassembly port under node: host_sim/mp32), the same list as under CPython.
A file of its own so the test runner can put it beside test_mp32.py."""

import os
import re
import subprocess
import sys

from conftest import ROOT
from host_sim import runtime as rt

RUNNER = os.path.join(ROOT, "tests", "fw", "run.py")


def test_firmware_unit_tests_pass_under_the_32_bit_micropython():
    """Every firmware unit test, the same list as under CPython (the tests
    themselves compile from source here: they get room to)."""
    cmd = rt.mp32_command("4m", (os.path.join(ROOT, "firmware"),
                                 os.path.join(ROOT, "tests", "fw"))) + [RUNNER]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    out = p.stdout + p.stderr
    m = re.search(r"^(\d+) passed, (\d+) failed$", p.stdout, re.M)
    assert m, out[-2000:]
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    assert p.returncode == 0 and m.group(2) == "0", "\n".join(fails)
    cp = subprocess.run([sys.executable, RUNNER], capture_output=True, text=True, cwd=ROOT)
    names = lambda s: sorted(ln.split()[1] for ln in s.splitlines()
                             if ln.startswith(("PASS", "FAIL")))
    assert names(p.stdout) == names(cp.stdout)
