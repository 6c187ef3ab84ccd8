"""The firmware on a real 32-bit MicroPython: MicroPython 1.28's webassembly
port under node (host_sim/mp32/mp32.mjs), whose small ints are 31-bit and
whose pointers are 4 bytes, as on an RP2040 or an ESP32.  The 64-bit unix
port cannot show a value that leaves the 31-bit range: there it stays a small
int, here it becomes a bigint, which allocates, which heap_lock() turns into
a MemoryError and the firmware into a fail-safe."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from host_sim import runtime as rt
from host_sim import scenario, sim
from host_sim.errors import RuntimeError_



def _mp32(args, heapsize="1m", mounts=(), timeout=600, cwd=ROOT, heap_report=None):
    cmd = rt.mp32_command(heapsize, mounts, heap_report) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_the_32_bit_runtime_has_31_bit_small_ints_so_a_shift_past_them_allocates(tmp_path):
    """The check bites: 1 << 29 is a small int there, 1 << 30 a bigint that
    heap_lock refuses; the unix port (63-bit small ints) takes both."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys, micropython\n"
        "def shift(x, n):\n"
        "    return x << n\n"
        "def locked(n):\n"
        "    micropython.heap_lock()\n"
        "    try:\n"
        "        shift(1, n)\n"
        "        return 'small'\n"
        "    except MemoryError:\n"
        "        return 'bigint'\n"
        "    finally:\n"
        "        micropython.heap_unlock()\n"
        "print(sys.maxsize, locked(29), locked(30))\n")
    p = _mp32([str(probe)])
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [str(2 ** 31 - 1), "small", "bigint"]
    u = subprocess.run([rt.micropython_binary(), str(probe)], capture_output=True, text=True)
    assert u.stdout.split() == [str(2 ** 63 - 1), "small", "small"]


def test_the_32_bit_runtime_reports_a_script_error_in_one_traceback_and_exit_status(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nsys.stdout.write('out')\nraise ValueError('boom')\n")
    p = _mp32([str(bad)])
    assert p.returncode == 1 and p.stdout == "out"
    assert p.stderr.strip().splitlines()[-1] == "ValueError: boom"
    ok = tmp_path / "exit.py"
    ok.write_text("import sys\nsys.exit(3)\n")
    assert _mp32([str(ok)]).returncode == 3


def _broken_firmware(tmp_path):
    """The firmware with one deliberate 31-bit overflow in the tick: a
    value shifted by 30, kept in an attribute (the negative control)."""
    d = tmp_path / "firmware"
    shutil.copytree(os.path.join(ROOT, "firmware"), d,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(d / "controller.py", "a") as f:
        f.write("\n\n_tick_unbroken = Controller.tick\n\n\n"
                "def _tick_overflowing(self):\n"
                "    self._overflow_probe = (self.ticks | 1) << 30\n"
                "    _tick_unbroken(self)\n\n\n"
                "Controller.tick = _tick_overflowing\n")
    return str(d)


def _short(name="iso-steps-ng", seconds=3):
    sc = scenario.load(name)
    sc["duration_s"] = seconds
    return sc


def test_a_deliberate_overflow_in_the_tick_fails_the_32_bit_heap_lock_but_not_the_64_bit(
        tmp_path):
    """The negative control for the whole-scenario checks below: the same
    broken build runs clean on the 64-bit unix port and fails safe here."""
    fw = _broken_firmware(tmp_path)
    sc = _short()
    ref = sim.run(sc, "cpython", trace=False)
    with pytest.raises(RuntimeError_) as e:
        sim.run(sc, rt.MicroPython32Runtime(heap_lock_after=50, firmware_dir=fw), trace=False)
    assert "exception in the firmware, outputs driven safe" in str(e.value)
    assert "MemoryError" in str(e.value)
    u = rt.MicroPythonRuntime(heap_lock_after=50, firmware_dir=fw)
    assert sim.run(sc, u, trace=False).sha256 == ref.sha256


@pytest.mark.parametrize("board", ["rp2040_pico", "esp32_devkitc"])
def test_each_board_image_serves_a_session_in_the_32_bit_mpy_heap_without_growing_it(
        board, tmp_path):
    """The built image (firmware, board.py and the app, compiled for the
    board's architecture) imported as a board boots it, then a tick-link
    session, in runtime.MPY_HEAP_32 of 32-bit heap with the heap locked from
    tick 50: the heap did not have to grow and the output is CPython's.
    The webassembly port loads no machine code, so it runs the image's
    bytecode twin (tools/build_firmware.build_bytecode_twin: the same
    modules, the @viper ones as written); the machine code's own outputs
    are the unix runtime's (tests/test_native.py).
    (An RP2040 gives ~190 KB, less than .mpy files need: README, Boards.)"""
    from tools import build_firmware as bf
    n, _, built, _ = bf.build_board(board, str(tmp_path / "image"), bf.find_mpy_cross())
    assert n > 0
    dest = str(tmp_path / "twin")
    os.makedirs(dest)
    bf.build_bytecode_twin(board, dest, built)
    with open(os.path.join(dest, "run_board.py"), "w") as f:
        f.write("import board\nimport app\nimport main_link\nmain_link.cli()\n")
    sc = _short(seconds=3)
    r = sim.run(sc, rt.MicroPython32Runtime(heap_lock_after=50, image_dir=dest,
                                            script="run_board.py"), trace=False)
    assert r.sha256 == sim.run(sc, "cpython", trace=False).sha256
    assert r.heap["end"] == r.heap["start"], r.heap
    assert r.heap["heapsize"] == int(rt.MPY_HEAP_32[:-1]) * 1024


def test_gxsim_runs_on_the_32_bit_runtime_and_reports_its_heap(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "host_sim.cli", "run", "iso-steps-ng",
                        "--runtime", "micropython32", "--duration", "2", "--no-plot",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    import json
    rep = json.loads((out / "report.json").read_text())
    assert rep["runtime"] == "micropython32"
    h = rep["heap_32bit"]
    assert h["start"] == h["end"] and h["heapsize"] == int(rt.MPY_HEAP_32[:-1]) * 1024
    assert "32-bit heap: %d bytes given, %d at the end" % (h["start"], h["end"]) in p.stdout
