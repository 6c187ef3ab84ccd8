"""The share link inside NativeHal on each board's own pin map, in the real
MicroPython unix port and the 32-bit webassembly port: three controllers,
each with its fleet id, send their frames through share_send to the
board's MCP2515 (a register model, tests/boards_models/mcp2515_model.py, on
a modelled CAN bus; on the metering IC's SPI bus, whose chip here does not
answer), the chips drain on INT (Pico) or the 1 kHz timer (ESP32), and the
wait-for-tick loop hands the frames to Controller.share_rx: every firmware's
sharelink table shows the other two.  The steady loop (ticks, bus, waits)
runs under heap_lock.  A single set (fleet_unit_id 0) builds no transport
and sends nothing.

One stand-in `machine` world holds one set of pins, so after each board is
built its driver is wired straight to its own chip model (the construction
and begin() went through the world's SPI and chip-select pin)."""

import os
import subprocess

import pytest

from conftest import ROOT
from host_sim import runtime as rt

FW = os.path.join(ROOT, "firmware")
COMMON = os.path.join(ROOT, "boards", "common")
MODELS = os.path.join(ROOT, "tests", "boards_models")
BOARDS = ("rp2040_pico", "esp32_devkitc")
INTERPS = ("micropython", "micropython32")

SCRIPT = '''
import machine_world as W
import board as B0
import mcp2515_model as M
import hal_native
import micropython
from config import Config
from controller import Controller


class Board:
    pass


for k in dir(B0):
    if not k.startswith("__"):
        setattr(Board, k, getattr(B0, k))
Board.RS485_UART_ID = None
CS = Board.SHARE_CAN_CS_PIN
INT = getattr(Board, "SHARE_CAN_INT_PIN", None)
bus = M.CanBus(Board.SHARE_CAN_BITRATE)

# A single set: no transport, nothing sent.
single = hal_native.NativeHal(Board, Config())
print("SINGLE", single._share is None, single._share_timer is None)
single.share_send(bytearray(24), 24)

units = []
for u in (1, 2, 3):
    cfg = Config()
    cfg.fleet_unit_id = u
    cfg.fleet_mask = 0b1110
    cfg.fleet_master_id = 1
    chip = W.attach_spi(CS, bus.attach(M.Mcp2515Model(Board.SHARE_CAN_OSC_HZ)))
    h = hal_native.NativeHal(Board, cfg)
    d = h._share
    up = d.up
    # From here on this board's driver talks to its own chip (see above).
    d._wri = chip.write_readinto
    d._csv = chip.cs.value
    del W.spi_chips[CS]
    if INT is not None:
        handler = W.irq_handlers[INT]
        chip.int_cb = (lambda f: (lambda: f(INT)))(handler)
        drain = "int"
    else:
        t = h._share_timer
        drain = "timer %d %d" % (t.tid, t.period)
    c = Controller(h, cfg)
    h.on_share = c.share_rx
    units.append((u, chip, h, d, c))
    print("UNIT", u, up, d.cnf, drain, h._share_guard is d)


def rounds(n):
    for k in range(n):
        for u, chip, h, d, c in units:
            c.tick()
        for s in range(12):
            bus.step()
            if INT is None:
                for u, chip, h, d, c in units:
                    h._share_timer.callback(None)     # the 1 kHz timer, between frames
        for u, chip, h, d, c in units:
            h.wait_tick()


rounds(30)
micropython.heap_lock()
try:
    rounds(30)
finally:
    micropython.heap_unlock()
for u, chip, h, d, c in units:
    p = c.fleet.peers
    print("PEERS", repr((u, [v for v in (1, 2, 3) if p.fresh(v)], p.good, sum(p.refused),
                         d.tx_sets, d.rx_sets, d.rx_overflows + d.ring_overflows, d.rx_foreign)))
print("CLASH", W.spi_clashes[0])
'''


def run_mp(interp, tmp_path, board):
    bdir = os.path.join(ROOT, "boards", board)
    (tmp_path / "machine.py").write_text("from machine_world import *\n")
    path = tmp_path / "t.py"
    path.write_text("import sys\nsys.path[:0] = %r\n" % ([str(tmp_path), MODELS, COMMON, FW, bdir],)
                    + SCRIPT)
    if interp == "micropython":
        cmd = [rt.micropython_binary(), "-X", "heapsize=2m", str(path)]
    else:
        cmd = rt.mp32_command("2m", (MODELS, COMMON, FW, bdir)) + [str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    out = {}
    for line in p.stdout.strip().splitlines():
        k, v = line.split(" ", 1)
        out.setdefault(k, []).append(v)
    return out


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("board", BOARDS)
def test_three_boards_exchange_share_frames_over_can_and_each_firmware_sees_the_others(
        board, interp, tmp_path):
    r = run_mp(interp, tmp_path, board)
    assert r["SINGLE"] == ["True True"]
    drain = "int" if board == "rp2040_pico" else "timer 1 1"
    for u, line in zip((1, 2, 3), r["UNIT"]):
        # Up at boot, 8 MHz / 250 kbit/s (CNF1-3 0x00 0xB4 0x02), on the
        # meter's SPI bus (so the meter's reads hold it).
        assert line == "%d True (0, 180, 2) %s True" % (u, drain), line
    for line in r["PEERS"]:
        u, fresh, good, refused, tx, rx, lost, foreign = eval(line)
        others = [v for v in (1, 2, 3) if v != u]
        assert fresh == others, line
        # 60 ticks of 10 ms: a share frame every 5 ticks, from each of the
        # two others; and unit 2's plant frame (fleet.py: once a second, at
        # period 7u mod 20 - only unit 2's falls within the 12 periods).
        assert tx == 12 + (u == 2) and rx == good == 24 + (u != 2) and refused == 0, line
        assert lost == 0 and foreign == 0, line
    assert r["CLASH"] == ["0"]


RS485_SCRIPT = '''
import machine_world as W
import board as B0
import rs485_line_model as L
import hal_native
from config import Config


class Board:
    pass


for k in dir(B0):
    if not k.startswith("__"):
        setattr(Board, k, getattr(B0, k))
Board.RS485_UART_ID = None
Board.METER_SPI_ID = None
# The Pico's documented RS-485 option in place of the CAN lines.
Board.SHARE_LINK = "rs485"
Board.SHARE_UART_ID = 1
Board.SHARE_TX_PIN = 20
Board.SHARE_RX_PIN = 21
Board.SHARE_DE_PIN = 28
Board.SHARE_BAUD = 500000
line = L.Line(500000)
port = W.attach_uart(1, line.uart(1))
cfg = Config()
cfg.fleet_unit_id = 3
cfg.fleet_mask = 0b1010
h = hal_native.NativeHal(Board, cfg)
b = h._share
t = h._share_timer
print("BUILT", type(b).__name__, b.unit, b.air_us, t.tid, t.freq, t.running, W.outs[28])
h.share_send(bytearray(24), 24)
print("PENDING", b._pending)
h.safe()
print("SAFE", W.outs[28], t.running)
'''


def test_the_rs485_option_is_built_on_its_pins_and_goes_safe(tmp_path, mp_bin):
    bdir = os.path.join(ROOT, "boards", "rp2040_pico")
    (tmp_path / "machine.py").write_text("from machine_world import *\n")
    path = tmp_path / "t.py"
    path.write_text("import sys\nsys.path[:0] = %r\n" % ([str(tmp_path), MODELS, COMMON, FW, bdir],)
                    + RS485_SCRIPT)
    p = subprocess.run([mp_bin, "-X", "heapsize=1m", str(path)], capture_output=True, text=True,
                       timeout=120, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    out = dict(line.split(" ", 1) for line in p.stdout.strip().splitlines())
    # UART1 at 500 kbaud, a 480 us frame, the slots kept by a 2 kHz timer,
    # DE low; a frame waits for the slot; safe(): DE low, the timer stopped.
    assert out["BUILT"] == "ShareBus485 3 480 -1 2000 True 0"
    assert out["PENDING"] == "True"
    assert out["SAFE"] == "0 False"
