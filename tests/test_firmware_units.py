"""Firmware unit tests (tests/fw) pass under CPython and under the real
MicroPython unix port in a board-sized heap."""

import os
import re
import subprocess
import sys


from conftest import ROOT

RUNNER = os.path.join(ROOT, "tests", "fw", "run.py")


_OUT = {}


def _run(key, cmd):
    """Run the unit tests once per interpreter (cached: the name check
    below reads the same runs); returns (passed, stdout)."""
    if key not in _OUT:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
        _OUT[key] = p
    p = _OUT[key]
    out = p.stdout + p.stderr
    m = re.search(r"^(\d+) passed, (\d+) failed$", p.stdout, re.M)
    assert m, out
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    assert p.returncode == 0 and m.group(2) == "0", "\n".join(fails) or out
    return int(m.group(1)), p.stdout


def _names(s):
    return sorted(ln.split()[1] for ln in s.splitlines() if ln.startswith(("PASS", "FAIL")))


def test_firmware_unit_tests_pass_under_cpython():
    assert _run("cpython", [sys.executable, RUNNER])[0] >= 40


def test_firmware_unit_tests_pass_under_micropython(mp_bin):
    # The tests themselves are compiled from source and are not firmware:
    # they get room to do so.  The board-sized heap is proved on the compiled
    # firmware (test_closed_loop.py).
    assert _run("micropython", [mp_bin, "-X", "heapsize=4M", RUNNER])[0] >= 40


def test_the_runner_lists_every_firmware_unit_test_file():
    """A tests/fw/test_*.py the runner's MODULES leaves out would never run
    on any interpreter."""
    import ast
    tree = ast.parse(open(RUNNER).read())
    listed = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
              and getattr(n.targets[0], "id", "") == "MODULES"][0]
    names = set(ast.literal_eval(listed.value))
    files = {f[:-3] for f in os.listdir(os.path.dirname(RUNNER))
             if f.startswith("test_") and f.endswith(".py")}
    assert files == names, (sorted(files - names), sorted(names - files))


def test_both_interpreters_run_the_same_tests(mp_bin):
    a = _run("cpython", [sys.executable, RUNNER])[1]
    b = _run("micropython", [mp_bin, "-X", "heapsize=4M", RUNNER])[1]
    assert _names(a) == _names(b)


def test_firmware_and_board_code_contain_no_float_literals_or_float_division():
    """Integer only (rule 2): no float literal, no true division, no float(),
    in the firmware and in everything a board runs (the drivers too; a
    board's freeze manifest is host-side)."""
    import tokenize
    bad = []
    files = []
    for d in ("firmware", "boards/common", "boards/rp2040_pico", "boards/esp32_devkitc"):
        files += [os.path.join(ROOT, d, f) for f in sorted(os.listdir(os.path.join(ROOT, d)))
                  if f.endswith(".py") and f != "manifest.py"]
    for path in files:
        f = os.path.relpath(path, ROOT)
        with open(path, "rb") as fh:
            for tok in tokenize.tokenize(fh.readline):
                if tok.type == tokenize.NUMBER and re.search(r"[.eEjJ]", tok.string) \
                        and not tok.string.lower().startswith("0x"):
                    bad.append("%s:%d %s" % (f, tok.start[0], tok.string))
                if tok.type == tokenize.OP and tok.string in ("/", "/="):
                    bad.append("%s:%d true division" % (f, tok.start[0]))
                if tok.type == tokenize.NAME and tok.string in ("float", "math"):
                    bad.append("%s:%d %s" % (f, tok.start[0], tok.string))
    assert not bad, bad
