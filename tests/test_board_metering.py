"""The native HAL reads the generator through its metering IC: NativeHal
builds the ATM90E32AS driver on the board's SPI pins and fills V, kW, kvar
and DI_METER_OK every tick; a chip that stops answering clears the bit (the
metering-loss protection takes it from there) and the readings go to 0.
Run in the real MicroPython unix port and the 32-bit webassembly port with a
stand-in `machine` whose SPI bus is the register-level chip model
(tests/boards_models/atm90e32_model.py)."""

import os
import subprocess

import pytest

from conftest import ROOT
from host_sim import runtime as rt

FAKE_MACHINE = '''
import atm90e32_model as M
chip = M.Atm90e32Model()
CS_PIN = 17
class Pin:
    OUT = 1
    IN = 0
    IRQ_RISING = 1
    def __init__(self, pin, mode=0, value=None):
        self.pin = pin
        self._cs = chip.cs if pin == CS_PIN else None
        if value is not None:
            self.value(value)
    def value(self, v=None):
        if self._cs is not None:
            return self._cs.value(v)
    def irq(self, **kw):
        pass
class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        pass
    def duty_u16(self, d):
        pass
class SPI:
    MSB = 0
    def __init__(self, spi_id, **kw):
        self.kw = kw
    def write_readinto(self, w, r):
        chip.write_readinto(w, r)
def disable_irq():
    return 0
def enable_irq(s):
    pass
'''

SCRIPT = '''
import sys
sys.path[:0] = [%(fake)r, %(models)r, %(common)r, %(fw)r]
import machine
import hal
import hal_native
from config import Config
from array import array


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
    METER_SPI_ID = 0
    METER_SCK_PIN = 18
    METER_MOSI_PIN = 19
    METER_MISO_PIN = 16
    METER_CS_PIN = 17


chip = machine.chip
chip.set_balanced(4800, 2400, 2000, 500)      # 480 V, 240 A, 200 kW, 50 kvar
h = hal_native.NativeHal(Board, Config())
inp = array("i", [0] * hal.N_IN)
for k in range(20):
    h.read(inp)
print("OK", inp[hal.IN_DI] & hal.DI_METER_OK != 0, inp[hal.IN_GEN_V_DV],
      inp[hal.IN_GEN_P_KW_X10], inp[hal.IN_GEN_Q_KVAR_X10], inp[hal.IN_GEN_IA_A_X10])
chip.stuck(0xFF)
seen = []
for k in range(5):
    h.read(inp)
    seen.append(1 if inp[hal.IN_DI] & hal.DI_METER_OK else 0)
print("LOST", seen, inp[hal.IN_GEN_P_KW_X10], inp[hal.IN_GEN_V_DV])
chip.stuck(None)
k = 0
while k < 300 and not inp[hal.IN_DI] & hal.DI_METER_OK:
    h.read(inp)
    k += 1
print("BACK", inp[hal.IN_DI] & hal.DI_METER_OK != 0, k < 300, inp[hal.IN_GEN_P_KW_X10])
'''


@pytest.mark.parametrize("interp", ["micropython", "micropython32"])
def test_the_native_hal_meters_the_generator_and_reports_a_silent_chip_as_metering_loss(
        interp, tmp_path):
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    dirs = {"fake": str(tmp_path), "models": os.path.join(ROOT, "tests", "boards_models"),
            "common": os.path.join(ROOT, "boards", "common"), "fw": os.path.join(ROOT, "firmware")}
    script = tmp_path / "t.py"
    script.write_text(SCRIPT % dirs)
    if interp == "micropython":
        cmd = [rt.micropython_binary(), "-X", "heapsize=1m", str(script)]
    else:
        cmd = rt.mp32_command("1m", (dirs["models"], dirs["common"], dirs["fw"])) + [str(script)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    out = dict(line.split(" ", 1) for line in p.stdout.strip().splitlines())
    ok = out["OK"].split()
    assert ok[0] == "True"
    v, pkw, q, ia = (int(x) for x in ok[1:])
    assert abs(v - 4800) <= 2 and abs(pkw - 2000) <= 1 and abs(q - 500) <= 1
    assert abs(ia - 2400) <= 2
    # Three bad reads in a row make it metering loss, with the readings at 0.
    assert out["LOST"] == "[1, 1, 0, 0, 0] 0 0", out["LOST"]
    back = out["BACK"].split()
    assert back[0] == "True" and back[1] == "True" and abs(int(back[2]) - 2000) <= 1
