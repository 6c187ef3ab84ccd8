"""Pytest tests from a file of behaviour cases (tests/boards_models/*_cases.py)
that runs in-process under CPython and as a script under the MicroPython
unix port and the 32-bit webassembly port: one test per case, named for it,
passing when the case passes on all three, and one test that every case ran
under both MicroPythons.  A case may raise cases.Skip under CPython only if
it is the allocation case (heap_lock needs a MicroPython)."""

import os
import subprocess

from conftest import ROOT
from host_sim import runtime as rt

ALLOC_CASE = "case_the_per_call_paths_allocate_nothing"
INTERPS = ("micropython", "micropython32")


def case_tests(cases, script, heap):
    """{test name: test function} for module `cases`, whose script file is
    `script` (run from its directory), in a MicroPython heap of `heap`."""
    cwd = os.path.dirname(script)
    seen = {}

    def results(interp):
        """Run every case once under `interp`; {case: (status, line)}."""
        if interp not in seen:
            if interp == "micropython":
                cmd = [rt.micropython_binary(), "-X", "heapsize=" + heap, script]
            else:
                cmd = rt.mp32_command(heap, (os.path.join(ROOT, "firmware"),
                                             os.path.join(ROOT, "boards", "common"))) + [script]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)
            res = {}
            for line in p.stdout.splitlines():
                parts = line.split(" ", 1)
                if len(parts) == 2 and parts[0] in ("PASS", "FAIL", "SKIP"):
                    res[parts[1].split(":", 1)[0]] = (parts[0], line)
            res["_stderr"] = ("", p.stdout[-2000:] + p.stderr[-2000:])
            seen[interp] = res
        return seen[interp]

    def make(name):
        def test():
            try:
                getattr(cases, name)()
            except cases.Skip:
                assert name == ALLOC_CASE, name + " skipped under CPython"
            for interp in INTERPS:
                res = results(interp)
                status, line = res.get(name, ("missing", res["_stderr"][1]))
                assert status == "PASS", interp + ": " + line
        test.__name__ = "test_" + name[len("case_"):]
        test.__doc__ = name[len("case_"):].replace("_", " ")
        return test

    def test_every_case_ran_under_both_micropythons():
        for interp in INTERPS:
            res = results(interp)
            assert sorted(k for k in res if not k.startswith("_")) == cases.CASES, \
                res["_stderr"][1]

    out = {"test_" + n[len("case_"):]: make(n) for n in cases.CASES}
    out["test_every_case_ran_under_both_micropythons"] = test_every_case_ran_under_both_micropythons
    return out
