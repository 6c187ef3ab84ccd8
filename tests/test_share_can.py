"""The share link on CAN: the MCP2515 driver (boards/common/mcp2515.py)
against its register model and a modelled CAN bus
(tests/boards_models/mcp2515_model.py), with the firmware's sharelink table
on the receiving side.  Every behaviour case in
tests/boards_models/mcp2515_cases.py passes in-process under CPython, under
the MicroPython unix port and under the 32-bit webassembly port (both in a
256 KB heap; the no-allocation case runs under heap_lock on both).  One
pytest test per case, named for it."""

import os
import subprocess
import sys

from conftest import ROOT
from host_sim import runtime as rt

_DIR = os.path.join(ROOT, "tests", "boards_models")
_SCRIPT = os.path.join(_DIR, "mcp2515_cases.py")
if _DIR not in sys.path:
    sys.path.append(_DIR)

import mcp2515_cases as cases  # noqa: E402

_mp = {}


def _results(interp):
    """Run every case once under `interp`; {case: (status, line)}."""
    if interp not in _mp:
        if interp == "micropython":
            cmd = [rt.micropython_binary(), "-X", "heapsize=256k", _SCRIPT]
        else:
            cmd = rt.mp32_command("256k", (os.path.join(ROOT, "firmware"),
                                           os.path.join(ROOT, "boards", "common"))) + [_SCRIPT]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=_DIR)
        res = {}
        for line in p.stdout.splitlines():
            parts = line.split(" ", 1)
            if len(parts) == 2 and parts[0] in ("PASS", "FAIL", "SKIP"):
                res[parts[1].split(":", 1)[0]] = (parts[0], line)
        res["_stderr"] = ("", p.stdout[-2000:] + p.stderr[-2000:])
        _mp[interp] = res
    return _mp[interp]


def _make_test(name):
    def test():
        try:
            getattr(cases, name)()
        except cases.Skip:
            assert name == "case_the_per_call_paths_allocate_nothing", name + " skipped under CPython"
        for interp in ("micropython", "micropython32"):
            res = _results(interp)
            status, line = res.get(name, ("missing", res["_stderr"][1]))
            assert status == "PASS", interp + ": " + line
    test.__name__ = "test_" + name[len("case_"):]
    test.__doc__ = name[len("case_"):].replace("_", " ")
    return test


for _name in cases.CASES:
    globals()["test_" + _name[len("case_"):]] = _make_test(_name)


def test_every_case_ran_under_both_micropythons():
    for interp in ("micropython", "micropython32"):
        res = _results(interp)
        assert sorted(k for k in res if not k.startswith("_")) == cases.CASES, res["_stderr"][1]
