"""Digital inputs and relays (boards/common/dio.py) inside NativeHal, in the
real MicroPython unix port and the 32-bit webassembly port, against a
stand-in `machine` that models pin levels and the interface board's
74HC595 / 74HC165 bus (tests/boards_models/machine_world.py): the debounce
(a glitch shorter than N ticks never reaches IN_DI), active-low inputs, a
broken e-stop wire (or a dead bus) reading as e-stop, relays following
OUT_DO with their active levels and all de-energised by safe(), the DI word
made afresh each tick with DI_METER_OK and DI_SENDER_FAULT, allocation-free
under heap_lock, on a direct-pin board and on each real board's pin map."""

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

DI_ESTOP, DI_REMOTE_START, DI_GAS_LEAK, DI_KNOCK = 1, 2, 4, 8
DI_GCB_CLOSED, DI_GAS_PROVEN, DI_METER_OK, DI_MB_CLOSED, DI_CONFIG_EN = 16, 32, 64, 128, 256
DI_SENDER_FAULT = 512


def run_mp(interp, tmp_path, script, mounts=()):
    (tmp_path / "machine.py").write_text("from machine_world import *\n")
    path = tmp_path / "t.py"
    path.write_text("import sys\nsys.path[:0] = %r\n" % (
        [str(tmp_path), MODELS, COMMON, FW] + list(mounts),) + script)
    if interp == "micropython":
        cmd = [rt.micropython_binary(), "-X", "heapsize=1m", str(path)]
    else:
        cmd = rt.mp32_command("1m", (MODELS, COMMON, FW) + tuple(mounts)) + [str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    return dict(line.split(" ", 1) for line in p.stdout.strip().splitlines())


# --- a board with inputs and relays on GPIO pins ------------------------------

DIRECT_SCRIPT = '''
import machine_world as W
import hal
import hal_native
import micropython
from array import array
from config import Config


class Board:
    FUEL_PWM_PIN = 6
    AVR_PWM_PIN = 8
    IGN_PWM_PIN = 10
    FUEL_PWM_HZ = AVR_PWM_HZ = 10000
    IGN_PWM_HZ = 100
    LED_PIN = 25
    MPU_PIN = 14
    ZC_PIN = 15
    IRQ_HARD = 1
    DI_PINS = ((hal.DI_ESTOP, 20, 1), (hal.DI_REMOTE_START, 21, 0), (hal.DI_GAS_LEAK, 22, 1))
    DO_PINS = ((hal.DO_CRANK, 2, 0), (hal.DO_GAS_VALVE, 3, 0), (hal.DO_IGNITION, 4, 1),
               (hal.DO_GCB_OPEN, 5, 0))


# Healthy field wiring: the e-stop loop and the gas detector pass current.
W.levels[20] = 1
W.levels[21] = 0
W.levels[22] = 1
h = hal_native.NativeHal(Board, Config())
print("BUILT", W.outs[2], W.outs[3], W.outs[4], W.outs[5])
inp = array("i", [0] * hal.N_IN)
out = array("i", [0] * hal.N_OUT)
seq = array("i", [0] * 40)


def run(n, k0):
    for k in range(n):
        h.read(inp)
        seq[k0 + k] = inp[hal.IN_DI]


micropython.heap_lock()
try:
    run(2, 0)                   # healthy
    W.levels[20] = 0            # e-stop contact bounce: 1 tick, then 2 ticks
    run(1, 2)
    W.levels[20] = 1
    run(2, 3)
    W.levels[20] = 0
    run(2, 5)
    W.levels[20] = 1
    run(3, 7)
    W.levels[20] = -1           # the e-stop wire is cut: nothing drives the pin
    run(4, 10)
    W.levels[20] = 1
    W.levels[21] = 1            # remote start (active high)
    run(4, 14)
    W.levels[22] = 0            # gas leak (active low)
    run(4, 18)
finally:
    micropython.heap_unlock()
print("SEQ", list(seq[:22]))
# Relays follow OUT_DO with their active levels.
out[hal.OUT_DO] = hal.DO_CRANK | hal.DO_IGNITION
micropython.heap_lock()
try:
    h.write(out, None)
finally:
    micropython.heap_unlock()
print("DO1", W.outs[2], W.outs[3], W.outs[4], W.outs[5])
out[hal.OUT_DO] = hal.DO_GAS_VALVE | hal.DO_GCB_OPEN
h.write(out, None)
print("DO2", W.outs[2], W.outs[3], W.outs[4], W.outs[5])
h.safe()
print("SAFE", W.outs[2], W.outs[3], W.outs[4], W.outs[5], W.pwm_duty[6])
out[hal.OUT_DO] = 4095
h.write(out, None)
print("AFTER", W.outs[2], W.outs[3], W.outs[4], W.outs[5])
'''


@pytest.mark.parametrize("interp", INTERPS)
def test_direct_inputs_are_debounced_active_low_and_a_broken_estop_wire_reads_estop(
        interp, tmp_path):
    r = run_mp(interp, tmp_path, DIRECT_SCRIPT)
    # Relays: de-energised from construction (the active-low ignition pin high).
    assert r["BUILT"] == "0 0 1 0"
    seq = eval(r["SEQ"])
    assert seq[0:2] == [0, 0]
    # A 1-tick and a 2-tick opening of the e-stop loop never reach IN_DI ...
    assert seq[2:7] == [0, 0, 0, 0, 0]
    assert seq[7:10] == [0, 0, 0]
    # ... a cut wire does, on the 3rd tick (N = 3), and stays.
    assert seq[10:14] == [0, 0, DI_ESTOP, DI_ESTOP]
    # Mended: clear on the 3rd healthy tick; remote start (active high) too.
    assert seq[14:18] == [DI_ESTOP, DI_ESTOP, DI_REMOTE_START, DI_REMOTE_START]
    assert seq[18:22] == [DI_REMOTE_START] * 2 + [DI_REMOTE_START | DI_GAS_LEAK] * 2
    # Crank + ignition: crank pin high, the active-low ignition pin low.
    assert r["DO1"] == "1 0 0 0"
    assert r["DO2"] == "0 1 1 1"
    # safe(): every relay de-energised (ignition pin back high) but the
    # generator breaker's trip coil, energised so the breaker opens (rule 6:
    # fuel off, breaker open), fuel 0; and it stays so whatever is written.
    assert r["SAFE"] == "0 0 1 1 0"
    assert r["AFTER"] == "0 0 1 1"


# --- each real board: inputs and relays on the shift-register bus ------------

BUS_SCRIPT = '''
import machine_world as W
import board as B0
import hal
import hal_native
import micropython
from array import array
from config import Config


class Board:
    pass


for k in dir(B0):
    if not k.startswith("__"):
        setattr(Board, k, getattr(B0, k))
Board.RS485_UART_ID = None
Board.METER_SPI_ID = None
bus = W.setup_bus(Board.XIO_CLK_PIN, Board.XIO_SER_PIN, Board.XIO_LATCH_PIN, Board.XIO_OE_PIN,
                  Board.XIO_QH_PIN)
mux = W.setup_mux(Board.SENDER_MUX_ADC_PIN, Board.SENDER_MUX_SEL_PINS)
# Healthy wiring: every input passes current except remote start, gas
# proven and the key switch (nothing asked, no gas proven yet, locked).
pos = {}
for bit, p, low in Board.DI_SR_BITS:
    pos[bit] = p
    bus.inputs[p] = 1 if low else 0
W.tracing[0] = True
h = hal_native.NativeHal(Board, Config())
print("BOOT", W.outs[Board.XIO_OE_PIN], bus.relays(), bus.latched)
print("OETRACE", [e for e in W.trace if e[0] == "pin" and e[1] == Board.XIO_OE_PIN])
W.tracing[0] = False
inp = array("i", [0] * hal.N_IN)
out = array("i", [0] * hal.N_OUT)
seq = array("i", [0] * 40)


class Meter:
    ok = True

    def read(self, inp):
        return Meter.ok


h._meter = Meter()


def run(n, k0):
    for k in range(n):
        h.read(inp)
        seq[k0 + k] = inp[hal.IN_DI]


micropython.heap_lock()
try:
    run(3, 0)
    bus.inputs[pos[hal.DI_ESTOP]] = 0           # 2-tick opening: ignored
    run(2, 3)
    bus.inputs[pos[hal.DI_ESTOP]] = 1
    run(3, 5)
    bus.inputs[pos[hal.DI_ESTOP]] = 0           # the loop stays open
    run(5, 8)
    bus.inputs[pos[hal.DI_ESTOP]] = 1
    bus.inputs[pos[hal.DI_GAS_PROVEN]] = 1
    bus.inputs[pos[hal.DI_GCB_CLOSED]] = 0      # b-contact opens: breaker closed
    run(5, 13)
    Meter.ok = False                            # metering lost: only its bit changes
    run(1, 18)
    Meter.ok = True
    bus.stuck = 1                               # QH stuck high: the check bits see it
    run(5, 19)
    bus.stuck = 0                               # QH stuck low: every wire "broken"
    run(5, 24)
    bus.stuck = -1
    run(5, 29)
finally:
    micropython.heap_unlock()
print("SEQ", list(seq[:34]))
print("FAULTS", h._di.bus_faults > 0)
dopos = {}
for bit, p, low in Board.DO_SR_BITS:
    dopos[bit] = p


def expect(do):
    w = 0
    for bit, p in dopos.items():
        if do & bit:
            w |= 1 << p
    return w


res = []
for do in (hal.DO_CRANK, hal.DO_GAS_VALVE | hal.DO_IGNITION, hal.DO_GCB_CLOSE | hal.DO_READY,
           hal.DO_MB_OPEN | hal.DO_HORN | hal.DO_COMMON_SHUTDOWN, 4095, 0):
    out[hal.OUT_DO] = do
    micropython.heap_lock()
    try:
        h.write(out, None)
        h.read(inp)
    finally:
        micropython.heap_unlock()
    res.append(bus.relays() == expect(do))
print("DO", res)
out[hal.OUT_DO] = hal.DO_GAS_VALVE | hal.DO_IGNITION
h.write(out, None)
# A clock glitch fills the 595s' shift register with junk between two
# transfers: the next read shifts the right word back in before it latches.
bus.sr = 0xFFFF
h.read(inp)
print("GLITCH", bus.relays() == expect(hal.DO_GAS_VALVE | hal.DO_IGNITION))
h.safe()
h.read(inp)
print("SAFE", W.outs[Board.XIO_OE_PIN], bus.relays(), bus.latched, W.pwm_duty[Board.FUEL_PWM_PIN])
out[hal.OUT_DO] = 4095
h.write(out, None)
h.read(inp)
print("AFTER", W.outs[Board.XIO_OE_PIN], bus.relays(), bus.latched)
'''


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("board", BOARDS)
def test_each_board_reads_its_inputs_and_drives_its_relays_over_the_shift_register_bus(
        board, interp, tmp_path):
    bdir = os.path.join(ROOT, "boards", board)
    r = run_mp(interp, tmp_path, BUS_SCRIPT, mounts=(bdir,))
    # /OE held high (relays off) until the safe word is latched, then enabled.
    assert r["BOOT"] == "0 0 0"
    oe = runpy.run_path(os.path.join(bdir, "board.py"))["XIO_OE_PIN"]
    assert eval(r["OETRACE"]) == [("pin", oe, 1), ("pin", oe, 0)]
    seq = eval(r["SEQ"])
    # Every tick's word: the debounced inputs (healthy: none), the metering
    # bit, and DI_SENDER_FAULT (the mux reads 0 counts here: the senders
    # are open or shorted, reported after their debounce).
    ok = DI_METER_OK
    sf = DI_SENDER_FAULT
    di = [x & ~sf for x in seq]
    assert di[0:3] == [ok] * 3
    assert di[3:8] == [ok] * 5                                   # a 2-tick opening: ignored
    # Bus inputs arrive one tick late (the 165 is loaded at the end of each
    # read), then the 3-tick debounce: the 4th read after the change.
    assert di[8:13] == [ok] * 3 + [ok | DI_ESTOP] * 2
    assert di[13:18] == [ok | DI_ESTOP] * 3 + [ok | DI_GAS_PROVEN | DI_GCB_CLOSED] * 2
    assert di[18] == DI_GAS_PROVEN | DI_GCB_CLOSED                 # DI_METER_OK alone cleared
    broken = DI_ESTOP | DI_GAS_LEAK | DI_KNOCK | DI_GCB_CLOSED | DI_MB_CLOSED
    # A stuck bus: every input reads its broken-wire state, after the debounce.
    assert di[19:24] == [ok | DI_GAS_PROVEN | DI_GCB_CLOSED] * 2 + [ok | broken] * 3
    assert di[24:29] == [ok | broken] * 5
    # Mended: the register held good data all along, so no extra tick here.
    assert di[29:34] == [ok | broken] * 2 + [ok | DI_GAS_PROVEN | DI_GCB_CLOSED] * 3
    assert r["FAULTS"] == "True"
    assert all(x & sf for x in seq[20:])
    assert r["DO"] == "[True, True, True, True, True, True]"
    assert r["GLITCH"] == "True"
    # safe(): /OE high at once (every relay off in one pin write), then the
    # safe word latched with the generator breaker's trip coil energised and
    # /OE low again: fuel off and breaker open (rule 6); fuel PWM 0; later
    # writes change nothing.
    g = runpy.run_path(os.path.join(bdir, "board.py"))
    trip = [1 << p for bit, p, low in g["DO_SR_BITS"] if bit == g["hal"].DO_GCB_OPEN][0]
    assert r["SAFE"] == "0 %d %d 0" % (trip, trip)
    assert r["AFTER"] == "0 %d %d" % (trip, trip)


PARK_SCRIPT = '''
import machine_world as W
import board as B0
import hal_native


class Board:
    pass


for k in dir(B0):
    if not k.startswith("__"):
        setattr(Board, k, getattr(B0, k))
bus = W.setup_bus(Board.XIO_CLK_PIN, Board.XIO_SER_PIN, Board.XIO_LATCH_PIN, Board.XIO_OE_PIN,
                  Board.XIO_QH_PIN)
bus.sr = bus.latched = 0xFFFF      # the registers' power-up contents
parked = hal_native.park(Board)
print("PARK", W.outs[Board.XIO_OE_PIN], bus.relays(), bus.latched, W.pwm_duty[Board.FUEL_PWM_PIN])
'''


@pytest.mark.parametrize("board", BOARDS)
def test_hil_mode_parks_the_relays_de_energised(board, tmp_path):
    bdir = os.path.join(ROOT, "boards", board)
    r = run_mp("micropython", tmp_path, PARK_SCRIPT, mounts=(bdir,))
    assert r["PARK"] == "1 0 0 0"
