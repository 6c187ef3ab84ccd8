"""The ATM90E32AS metering driver (boards/common/atm90e32.py) against its
register model (tests/boards_models/atm90e32_model.py): every behaviour case
in tests/boards_models/atm90e32_cases.py passes in-process under CPython and
under the real MicroPython unix port in a 256 KB heap (where the no-allocation
case runs under heap_lock).  One pytest test per case, named for it."""

import os
import subprocess
import sys

from conftest import ROOT

_DIR = os.path.join(ROOT, "tests", "boards_models")
_SCRIPT = os.path.join(_DIR, "atm90e32_cases.py")
if _DIR not in sys.path:
    sys.path.append(_DIR)

import atm90e32_cases as cases  # noqa: E402

_mp = {}


def _micropython_results(mp_bin):
    """Run every case once under MicroPython; {case: (status, line)}."""
    if not _mp:
        p = subprocess.run([mp_bin, "-X", "heapsize=256k", _SCRIPT], capture_output=True,
                           text=True, timeout=600, cwd=ROOT)
        for line in p.stdout.splitlines():
            parts = line.split(" ", 1)
            if len(parts) == 2 and parts[0] in ("PASS", "FAIL", "SKIP"):
                _mp[parts[1].split(":", 1)[0]] = (parts[0], line)
        _mp["_stderr"] = ("", p.stdout[-2000:] + p.stderr[-2000:])
    return _mp


def _make_test(name):
    def test(mp_bin):
        # CPython, in-process.
        try:
            getattr(cases, name)()
        except cases.Skip:
            assert name == "case_the_tick_allocates_nothing", name + " skipped under CPython"
        # MicroPython unix port, 256 KB heap.
        res = _micropython_results(mp_bin)
        status, line = res.get(name, ("missing", res["_stderr"][1]))
        assert status == "PASS", "micropython: " + line
    test.__name__ = "test_" + name[len("case_"):]
    test.__doc__ = name[len("case_"):].replace("_", " ")
    return test


for _name in cases.CASES:
    globals()["test_" + _name[len("case_"):]] = _make_test(_name)


def test_every_case_ran_under_micropython(mp_bin):
    res = _micropython_results(mp_bin)
    assert sorted(k for k in res if not k.startswith("_")) == cases.CASES, res["_stderr"][1]
