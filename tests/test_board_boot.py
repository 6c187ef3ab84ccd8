"""A built board image boots in HIL mode and serves tick-link sessions back
to back, each one a fresh controller matching the CPython runtime; the
`tools.hil run` command drives it end to end.

The image is the real one tools.build_firmware makes for the RP2040, its
machine code built for this machine's CPU instead of the RP2040's (the unix
port runs it; where it has no native emitter, the image's bytecode twin),
started as a board starts it: main.py -> board.MODE -> app.run.  Only the
transport differs: a pty instead of USB CDC.
"""

import json
import os
import pty
import subprocess
import sys
import tty

import pytest

from conftest import ROOT
from host_sim import scenario, sim
from tools import build_firmware as bf
from tools.hil import SerialRuntime
# The boot image carries the HIL app and the native HAL on top of the
# firmware.  A Pico's MicroPython heap is ~190 KB (32-bit); the 64-bit unix
# port needs ~1.4x that.  The firmware with its Modbus slave, the HIL app
# and the MAP lead now needs 296k here to load from .mpy files (288k before
# the MAP lead; host_sim/runtime.py BOARD_HEAP says what that means for a
# board: frozen bytecode, issue 11); 304k leaves a little room.
PICO_HEAP = "304k"

BOARD = "rp2040_pico"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from host_sim import native
    out = tmp_path_factory.mktemp("build")
    if native.HOST_ARCH:
        n, _, dest, _ = bf.build_board(BOARD, str(out), bf.find_mpy_cross(), native.HOST_ARCH)
    else:
        dest = str(out / BOARD)
        os.makedirs(dest)
        bf.build_bytecode_twin(BOARD, dest)
        n = len(os.listdir(dest))
    assert n > 0
    return dest


class Board:
    """The image running on the unix port behind a pty; .port is its tty."""

    def __init__(self, mp_bin, image):
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.proc = subprocess.Popen([mp_bin, "-X", "heapsize=" + PICO_HEAP, "main.py"], cwd=image,
                                     stdin=self._master, stdout=self._master,
                                     stderr=subprocess.PIPE)

    def hang_up(self):
        """Close the host side; returns (exit status, stderr) of the board."""
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        try:
            rc = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        os.close(self._master)
        return rc, err


@pytest.fixture
def board(mp_bin, image):
    b = Board(mp_bin, image)
    yield b
    if b.proc.returncode is None:
        b.hang_up()


def _scenario(seconds):
    sc = scenario.load("iso-steps-ng")
    sc["duration_s"] = seconds
    return sc


def test_board_in_hil_mode_serves_fresh_sessions_back_to_back_then_exits_on_hangup(board):
    sc = _scenario(3)
    expected = sim.run(sc, "cpython", trace=False).sha256
    # Three runs, one session each: the state one run leaves behind (a
    # running governor) must not reach the next.
    digests = [sim.run(sc, SerialRuntime(board.port), trace=False).sha256 for _ in range(3)]
    # A host that dies mid-run sends no QUIT: its session stays open with a
    # changed setting.  The next run's leading QUIT discards it.
    rt = SerialRuntime(board.port)
    assert rt.configure("kp_pu_x100", 900)
    rt._ser.close()                         # the crash: port gone, no QUIT
    digests.append(sim.run(sc, SerialRuntime(board.port), trace=False).sha256)
    assert digests == [expected] * 4
    # The host hangs up: on the unix port stdin ends, app.run returns and
    # main.py finishes cleanly (a real board would wait for the next session).
    assert board.hang_up() == (0, "")


SHORT_TOML = """
name = "short-step"
description = "2 s with one 35 % load step"
duration_s = 2
fuel = "natural_gas"
f_nom_hz = 60

[[events]]
t_s = 1
kind = "step"
p_pct = 35
"""


def test_hil_run_command_writes_the_report_and_compare_confirms_a_bit_exact_match(
        board, tmp_path):
    sc_path = tmp_path / "short.toml"
    sc_path.write_text(SHORT_TOML)
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "tools.hil", "run", str(sc_path), "--port",
                        board.port, "--out", str(out), "--no-plot", "--compare"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["runtime"] == "hil" and rep["scenario"] == "short-step"
    assert (out / "trace.csv").exists()
    assert "board output matches the CPython runtime's (%s)" % rep["firmware_output_sha256"] \
        in p.stdout


def test_hil_run_command_names_a_missing_port_in_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tools.hil", "run", "iso-steps-ng", "--port",
                        "/dev/ttyNOSUCH9", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert lines[0].startswith("hil: cannot open serial port /dev/ttyNOSUCH9")
