"""The firmware unit tests (tests/fw) under the 32-bit MicroPython (the
webassembly port under node: host_sim/mp32), the same list as under CPython:
the first half of the runner's modules here, the second in
test_mp32_units_b.py (two files, so the test runner can run them side by
side: the port is ~5x slower than the unix one)."""

import os
import re
import subprocess
import sys

from conftest import ROOT
from host_sim import runtime as rt

RUNNER = os.path.join(ROOT, "tests", "fw", "run.py")


def run_half(half):
    """The runner's modules half 0 or 1 under the 32-bit port and CPython:
    all pass under both, and the same tests ran."""
    import ast
    with open(RUNNER) as f:
        tree = ast.parse(f.read())
    mods = [list(ast.literal_eval(n.value)) for n in tree.body if isinstance(n, ast.Assign)
            and getattr(n.targets[0], "id", "") == "MODULES"][0]
    mods = mods[:len(mods) // 2] if half == 0 else mods[len(mods) // 2:]
    cmd = rt.mp32_command("4m", (os.path.join(ROOT, "firmware"),
                                 os.path.join(ROOT, "tests", "fw"))) + [RUNNER] + mods
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    out = p.stdout + p.stderr
    m = re.search(r"^(\d+) passed, (\d+) failed$", p.stdout, re.M)
    assert m, out[-2000:]
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    assert p.returncode == 0 and m.group(2) == "0", "\n".join(fails)
    cp = subprocess.run([sys.executable, RUNNER] + mods, capture_output=True, text=True,
                        cwd=ROOT)
    names = lambda s: sorted(ln.split()[1] for ln in s.splitlines()
                             if ln.startswith(("PASS", "FAIL")))
    assert names(p.stdout) == names(cp.stdout) and int(m.group(1)) > 20


def test_firmware_unit_tests_pass_under_the_32_bit_micropython_first_half():
    run_half(0)
