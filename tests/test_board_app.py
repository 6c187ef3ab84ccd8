"""The board as a controller (boards/common/app.py run_native, main.py), in
the real MicroPython unix port and the 32-bit webassembly port, with the
real Controller on each board's pin map and a stand-in `machine`
(tests/boards_models/machine_world.py) that counts WDT feeds and records
Timer and reset() calls: the watchdog is fed once per completed tick and
not for a tick that raises; an exception in the loop drives the outputs
safe before the error line is written, logs it to the error file and the
event log, then resets; Ctrl-C drives them safe and returns to the REPL
without a reset, a timer then keeping the watchdog fed; the safe-mode pin
held low skips the autostart."""

import os
import runpy
import subprocess

import pytest

from conftest import ROOT
from host_sim import runtime as rt

FW = os.path.join(ROOT, "firmware")
COMMON = os.path.join(ROOT, "boards", "common")
MODELS = os.path.join(ROOT, "tests", "boards_models")
BOARDS = ("rp2040_pico", "esp32_devkitc")
INTERPS = ("micropython", "micropython32")


def run_mp(interp, tmp_path, script, mounts=()):
    (tmp_path / "machine.py").write_text("from machine_world import *\n")
    path = tmp_path / "t.py"
    path.write_text("import sys\nsys.path[:0] = %r\n" % (
        [str(tmp_path), MODELS, COMMON, FW] + list(mounts),) + script)
    if interp == "micropython":
        cmd = [rt.micropython_binary(), "-X", "heapsize=1m", str(path)]
    else:
        cmd = rt.mp32_command("1m", (MODELS, COMMON, FW) + tuple(mounts)) + [str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    res = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition(" ")
        if k.isupper():
            res[k] = v
    return res, p.stdout


RUN_SCRIPT = '''
import machine_world as W
import board as B0
import app
import controller
import eventlog
import hal
from array import array


class Board:
    pass


for k in dir(B0):
    if not k.startswith("__"):
        setattr(Board, k, getattr(B0, k))
Board.MODE = "native"
Board.RS485_UART_ID = None
Board.METER_SPI_ID = None
Board.ERROR_RESET_DELAY_MS = 20
bus = W.setup_bus(Board.XIO_CLK_PIN, Board.XIO_SER_PIN, Board.XIO_LATCH_PIN, Board.XIO_OE_PIN,
                  Board.XIO_QH_PIN)
for bit, p, low in Board.DI_SR_BITS:
    bus.inputs[p] = 1 if low else 0
mode = %(mode)r
orig = controller.Controller.tick
n = [0]
running = array("i", [0] * hal.N_OUT)
running[hal.OUT_FUEL_PCT_X100] = 4000
running[hal.OUT_DO] = hal.DO_GAS_VALVE | hal.DO_IGNITION
feeds_at = []


def tick(self):
    n[0] += 1
    feeds_at.append(W.WDT.feeds)
    if n[0] == 5:
        if mode == "raise":
            raise ValueError("boom in tick 5")
        raise KeyboardInterrupt
    orig(self)
    # What a running set has on: fuel, gas valve and ignition.
    self.hal.write(running, self.tele)


controller.Controller.tick = tick
orig_append = app._append_error


def rec(line, path=None, cap=None):
    W.trace.append(("errfile", line))
    orig_append(line, path, cap)


app._append_error = rec
W.tracing[0] = True
try:
    app.run(Board)
    print("END returned")
except W.Reset:
    print("END reset")
W.tracing[0] = False
fuel = Board.FUEL_PWM_PIN
oe = Board.XIO_OE_PIN
keep = []
for e in W.trace:
    if e[0] == "pin" and e[1] != oe or e[0] == "pwm" and e[1] != fuel:
        continue
    keep.append(e)
print("TRACE", keep)
print("FEEDS", feeds_at, W.WDT.feeds, W.WDT.made)
print("RELAYS", bus.relays(), W.outs[oe], W.pwm_duty[fuel])
try:
    print("ERRFILE", open("errors.txt").read().strip())
except OSError:
    print("ERRFILE none")
st = eventlog.FileStore("eventlog.bin", eventlog.store_size())
lg = eventlog.EventLog(st)
lg.load()
e = [0] * 5
codes = []
for k in range(lg.count()):
    lg.read(k, e)
    codes.append((e[3], e[4]))
print("EVENTS", [c for c in codes if c[0] == app.EV_BOARD_ERROR])
if W.Timer.made:
    t = W.Timer.made[-1]
    f0 = W.WDT.feeds
    t.callback(t)
    t.callback(t)
    print("TIMER", t.tid, t.period, t.mode == W.Timer.PERIODIC, W.WDT.feeds - f0)
print("RESETS", W.resets[0])
'''


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("board", BOARDS)
def test_an_error_in_the_loop_drives_outputs_safe_then_logs_then_resets_and_the_wdt_is_fed_per_tick(
        board, interp, tmp_path):
    bdir = os.path.join(ROOT, "boards", board)
    r, out = run_mp(interp, tmp_path, RUN_SCRIPT % {"mode": "raise"}, mounts=(bdir,))
    assert r["END"] == "reset", out
    f = r["FEEDS"]
    at = eval(f[:f.index("]") + 1])
    rest = f[f.index("]") + 2:].split(" ", 1)
    # Tick k starts after k - 1 completed ticks, each fed once; the tick
    # that raised is never fed.
    assert at == [0, 1, 2, 3, 4]
    assert int(rest[0]) == 4
    assert eval(rest[1]) == [2000]
    trace = eval(r["TRACE"])
    kinds = [e[0] for e in trace]
    last_feed = len(kinds) - 1 - kinds[::-1].index("feed")
    after = trace[last_feed + 1:]
    # Ticks 1-4 ran with fuel on and the relays energised; then, after the
    # last feed: safe first (fuel 0, /OE high: every relay off), then the
    # log line, then the reset, and nothing else.
    assert any(e[0] == "pwm" and e[2] > 0 for e in trace[:last_feed])
    ak = [e[0] for e in after]
    err = ak.index("errfile")
    assert ak[-1] == "reset" and ak.count("reset") == 1 and err == len(ak) - 2
    safe = after[:err]
    g = runpy.run_path(os.path.join(bdir, "board.py"))
    assert [e for e in safe if e[0] == "pwm"] == [("pwm", g["FUEL_PWM_PIN"], 0)]
    # /OE high first (every relay off in one write), then only the breaker's
    # trip coil energised: fuel off and breaker open (rule 6).
    assert [e for e in safe if e[0] == "pin"][0] == ("pin", g["XIO_OE_PIN"], 1)
    trip = [1 << p for bit, p, low in g["DO_SR_BITS"] if bit == g["hal"].DO_GCB_OPEN][0]
    assert r["RELAYS"] == "%d 0 0" % trip
    line = r["ERRFILE"]
    assert "ValueError: boom in tick 5" in line and line.count("\n") == 0
    assert "line" in line and line.startswith("boot ")
    ev = eval(r["EVENTS"])
    assert len(ev) == 1 and ev[0][1] > 0        # the line number it was raised at
    assert r["RESETS"] == "1"


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("board", BOARDS)
def test_ctrl_c_drives_outputs_safe_and_returns_to_the_repl_without_a_reset(board, interp,
                                                                            tmp_path):
    bdir = os.path.join(ROOT, "boards", board)
    r, out = run_mp(interp, tmp_path, RUN_SCRIPT % {"mode": "kbd"}, mounts=(bdir,))
    assert r["END"] == "returned", out
    assert r["RESETS"] == "0"
    g = runpy.run_path(os.path.join(ROOT, "boards", board, "board.py"))
    trip = [1 << p for bit, p, low in g["DO_SR_BITS"] if bit == g["hal"].DO_GCB_OPEN][0]
    assert r["RELAYS"] == "%d 0 0" % trip       # only the breaker's trip coil
    assert r["ERRFILE"] == "none"
    trace = eval(r["TRACE"])
    kinds = [e[0] for e in trace]
    assert "reset" not in kinds and "errfile" not in kinds
    # Outputs safe before the timer that keeps the (unstoppable) WDT fed.
    t = kinds.index("timer")
    assert any(e[0] == "pwm" and e[2] == 0 for e in trace[:t])
    tid, period, periodic, fed = r["TIMER"].split()
    assert int(tid) == (-1 if board == "rp2040_pico" else 0)
    assert 0 < int(period) < 2000 and periodic == "True" and fed == "2"
    assert "at the REPL" in out


ERROR_FILE_SCRIPT = '''
import app
import os
for k in range(60):
    try:
        raise OSError(k)
    except OSError as e:
        line, n = app.error_line(e, 1000 + k, 3)
    app._append_error(line + " " + "x" * 80, "err.txt", 1024)
a = os.stat("err.txt")[6]
b = os.stat("err.txt.1")[6]
print("SIZES", a, b, open("err.txt").read().splitlines()[-1].startswith("boot 3 t_ms 1059 OSError: 59"))
'''


@pytest.mark.parametrize("interp", INTERPS)
def test_the_error_file_is_size_capped(interp, tmp_path):
    r, out = run_mp(interp, tmp_path, ERROR_FILE_SCRIPT)
    a, b, last = r["SIZES"].split()
    assert 0 < int(a) <= 1024 and 0 < int(b) <= 1024 and last == "True"


SAFE_MODE_SCRIPT = '''
import machine_world as W
import board
import app
calls = []
app.run = lambda b: calls.append(b.MODE)
W.levels[board.SAFE_MODE_PIN] = %(level)d
with open(%(main)r) as f:
    exec(f.read())                  # what MicroPython does with main.py at boot
print("RAN", len(calls), W.pulls[board.SAFE_MODE_PIN])
'''


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("board", BOARDS)
def test_the_safe_mode_pin_held_low_skips_the_autostart(board, interp, tmp_path):
    bdir = os.path.join(ROOT, "boards", board)
    main = os.path.join(bdir, "main.py")
    pull = "1" if board == "rp2040_pico" else "-1"    # the ESP32's pin has an external pull-up
    r, out = run_mp(interp, tmp_path, SAFE_MODE_SCRIPT % {"level": 0, "main": main},
                    mounts=(bdir,))
    assert r["RAN"] == "0 " + pull
    assert "safe mode" in out and "autostart skipped" in out
    r, out = run_mp(interp, tmp_path, SAFE_MODE_SCRIPT % {"level": 1, "main": main},
                    mounts=(bdir,))
    assert r["RAN"] == "1 " + pull and "safe mode" not in out
