"""The share link on a second RS-485 port: the time-slot transport
(boards/common/sharebus485.py) on a modelled multi-drop line
(tests/boards_models/rs485_line_model.py) with the firmware's sharelink
table receiving: sixteen units with their own clocks (+-100 ppm), random
boots and a jittery 0.5 ms service timer, each sending the firmware's
traffic (a share frame every period, a plant frame once a second at its
own phase), never have two drivers on at once (and a negative control
without the slots does); a slot carries a share and a plant frame pending
together, with the framing silence between them and the driver enabled
only for each write; every table takes every other unit's frames of both
kinds (and a negative control with one pending frame loses plant frames);
a baud rate too slow for two frames a slot is refused; bad frames are
counted and dropped; the per-call paths allocate nothing.  Every case in
tests/boards_models/sharebus485_cases.py under CPython, the unix port and
the 32-bit webassembly port (1 MB heaps: the line model keeps lists)."""

import os
import subprocess
import sys

from conftest import ROOT
from host_sim import runtime as rt

_DIR = os.path.join(ROOT, "tests", "boards_models")
_SCRIPT = os.path.join(_DIR, "sharebus485_cases.py")
if _DIR not in sys.path:
    sys.path.append(_DIR)

import sharebus485_cases as cases  # noqa: E402

_mp = {}


def _results(interp):
    """Run every case once under `interp`; {case: (status, line)}."""
    if interp not in _mp:
        if interp == "micropython":
            cmd = [rt.micropython_binary(), "-X", "heapsize=1m", _SCRIPT]
        else:
            cmd = rt.mp32_command("1m", (os.path.join(ROOT, "firmware"),
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
