"""The board's RS-485 port and the native HAL's serving loop, run in the
real MicroPython unix port with a stand-in `machine` module (the port has
no UART or GPIO): one write per reply with DE raised around it and
released only after the flush, and the Modbus port served between ticks."""

import os
import subprocess

from conftest import ROOT

FAKE_MACHINE = '''
log = []
class Pin:
    OUT = 1
    IN = 0
    IRQ_RISING = 1
    def __init__(self, pin, mode=0, value=None):
        self.pin = pin
        if value is not None:
            log.append(("pin", pin, value))
    def value(self, v=None):
        if v is not None:
            log.append(("pin", self.pin, v))
    def irq(self, **kw):
        pass
class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        pass
    def duty_u16(self, d):
        pass
class UART:
    rx = bytearray()
    def __init__(self, uid, **kw):
        log.append(("uart", kw["baudrate"], kw["parity"], kw["stop"]))
    def any(self):
        return len(UART.rx)
    def readinto(self, buf):
        n = min(len(buf), len(UART.rx))
        for i in range(n):
            buf[i] = UART.rx[i]
        UART.rx = UART.rx[n:]
        return n
    def write(self, b):
        log.append(("write", bytes(b)))
    def flush(self):
        log.append(("flush",))
def disable_irq():
    return 0
def enable_irq(s):
    pass
'''

SCRIPT = '''
import sys
sys.path.insert(0, %(fake)r)
sys.path.insert(0, %(common)r)
sys.path.insert(0, %(fw)r)
import machine
import rs485
class Board:
    RS485_UART_ID = 0
    RS485_TX_PIN = 0
    RS485_RX_PIN = 1
    RS485_DE_PIN = 2
    FUEL_PWM_PIN = 6
    AVR_PWM_PIN = 8
    IGN_PWM_PIN = 10
    FUEL_PWM_HZ = AVR_PWM_HZ = 10000
    IGN_PWM_HZ = 100
    LED_PIN = 25
    MPU_PIN = 14
    ZC_PIN = 15
    IRQ_HARD = 1
from config import Config
cfg = Config()
p = rs485.Rs485(Board, cfg)
reply = bytearray(260)
for i in range(7):
    reply[i] = i + 1
del machine.log[:]
p.send(reply, 7)
print("SEND", machine.log)
p.config(9600, 0, 2)
print("CONFIG", machine.log[-1])
import hal_native
h = hal_native.NativeHal(Board, cfg)
got = []
def on_uart(buf, n, t):
    got.append(bytes(buf[:n]))
h.on_uart = on_uart
machine.UART.rx = bytearray(b"\\x01\\x04\\x00\\x00\\x00\\x01\\x31\\xca")
h.wait_tick()
h.wait_tick()
print("GOT", got[0], len(got) > 1 and got[1] == b"")
'''


def test_a_reply_is_one_write_inside_the_driver_enable_and_the_port_is_served_between_ticks(
        tmp_path, mp_bin):
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    script = tmp_path / "t.py"
    script.write_text(SCRIPT % {"fake": str(tmp_path), "common": os.path.join(ROOT, "boards", "common"),
                                "fw": os.path.join(ROOT, "firmware")})
    p = subprocess.run([mp_bin, str(script)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = dict(line.split(" ", 1) for line in p.stdout.strip().splitlines())
    # DE (pin 2) up, the whole reply in one write, flush, then DE down.
    assert out["SEND"] == ("[('pin', 2, 1), ('write', b'\\x01\\x02\\x03\\x04\\x05\\x06\\x07'), "
                           "('flush',), ('pin', 2, 0)]"), out["SEND"]
    assert out["CONFIG"] == "('uart', 9600, None, 2)"
    # The bytes waiting in the UART reach the controller at once, and a read
    # that finds nothing tells it the line is silent.
    assert out["GOT"] == "b'\\x01\\x04\\x00\\x00\\x00\\x011\\xca' True", out["GOT"]
