"""gxsim run --realtime --modbus-pty: the firmware's Modbus RTU slave served
on a pseudo-terminal in wall-clock time, to real masters (pymodbus, mbpoll),
in both runtimes.  Each runtime gets one live session (the running island
scenario iso-steps-ng, started loaded at 1800 rpm); the tests share it and
the last one ends it with SIGINT, as Ctrl-C would.

A pty carries no parity: the clients open it 8N1 (pyserial parity "N",
mbpoll -P none)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from pymodbus.client import ModbusSerialClient

from conftest import LiveSim
from host_sim import ROOT, firmware_path

firmware_path()
import registers  # noqa: E402  (firmware/registers.py)
import sequencer  # noqa: E402

SCENARIO = "iso-steps-ng"
READY_TIMEOUT_S = 30
POINTS = {p["name"]: p for p in registers.points()}


def _addr(name, table):
    p = POINTS[name]
    assert p["table"] == table, p
    return p["address"]


class Session(LiveSim):
    def __init__(self, runtime, tmp):
        LiveSim.__init__(self, tmp, SCENARIO, runtime, duration_s=20)

    def wait_ready(self):
        self.serving(READY_TIMEOUT_S)
        lines = [x for x in self.stderr if x.startswith(self.READY)]
        assert lines, "no ready line within %d s; exit %s; stderr: %s" % (
            READY_TIMEOUT_S, self.proc.poll(), "".join(self.stderr))
        assert lines[0].strip() == \
            "modbus: serving %s (19200 8N1 on a pty; address 1)" % self.path
        assert os.path.islink(self.path)

    def client(self):
        c = ModbusSerialClient(self.path, baudrate=19200, parity="N", timeout=1, retries=2)
        assert c.connect(), "pymodbus could not open %s" % self.path
        return c



@pytest.fixture(scope="module", params=["cpython", "micropython"])
def session(request, tmp_path_factory):
    s = Session(request.param, tmp_path_factory.mktemp("pty-" + request.param))
    try:
        s.wait_ready()
        yield s
    finally:
        s.kill()        # whatever happened: never leave a live simulator behind


def _mbpoll(s, *args):
    exe = shutil.which("mbpoll")
    if exe is None:
        pytest.fail("mbpoll is not installed (apt-get install mbpoll; .ci/run installs it)")
    p = subprocess.run([exe, "-m", "rtu", "-a", "1", "-b", "19200", "-P", "none", "-1"]
                       + list(args) + [s.path], capture_output=True, text=True, timeout=15)
    assert p.returncode == 0, "mbpoll %s: exit %d\n%s%s" % (
        " ".join(args), p.returncode, p.stdout, p.stderr)
    vals = {int(a): int(b) for a, b in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", p.stdout, re.M)}
    assert vals, "mbpoll printed no values:\n" + p.stdout
    return vals


def test_pymodbus_reads(session):
    c = session.client()
    try:
        ir = c.read_input_registers(0, count=60, device_id=1)
        assert not ir.isError(), ir
        speed = ir.registers[_addr("speed_rpm", "input_register")]
        assert 17800 <= speed <= 18200, "speed_rpm raw %d (x10 rpm), want ~18000" % speed
        assert 5900 <= ir.registers[_addr("gen_f_hz", "input_register")] <= 6100
        state = ir.registers[_addr("state", "input_register")]
        assert sequencer.STATE_NAMES[state] == "loaded", state
        # Input registers answer FC03 too; holding registers read back
        hr = c.read_holding_registers(0, count=2, device_id=1)
        assert not hr.isError() and 17800 <= hr.registers[0] <= 18200, hr
        a = _addr("base_kw", "holding_register")
        hr = c.read_holding_registers(a, count=2, device_id=1)
        assert not hr.isError() and len(hr.registers) == 2, hr
        rid = c.report_device_id(device_id=1)
        assert not rid.isError() and b"GX230" in rid.identifier, rid
        info = c.read_device_information(read_code=1, device_id=1)
        assert not info.isError(), info
        assert info.information[0] == registers.VENDOR
        assert info.information[1] == b"GX230"
        # A wrong address is answered 02, the session goes on
        bad = c.read_input_registers(9000, count=1, device_id=1)
        assert bad.isError() and bad.exception_code == 2, bad
    finally:
        c.close()


def test_mbpoll_matches_pymodbus(session):
    ir = _mbpoll(session, "-t", "3", "-r", "1", "-c", "10")      # FC04, PDU 0..9
    assert sorted(ir) == list(range(1, 11))
    assert 17800 <= ir[1] <= 18200, ir
    a = _addr("base_kw", "holding_register")
    hr = _mbpoll(session, "-t", "4", "-r", str(a + 1), "-c", "2")  # FC03
    c = session.client()        # a second master after mbpoll closed the port
    try:
        ref = c.read_input_registers(0, count=10, device_id=1).registers
        ref_hr = c.read_holding_registers(a, count=2, device_id=1).registers
    finally:
        c.close()
    # Measurements move between the two reads; the set point does not.
    assert abs(ir[1] - ref[0]) <= 100 and abs(ir[2] - ref[1]) <= 50, (ir, ref)
    assert [hr[a + 1] & 0xFFFF, hr[a + 2] & 0xFFFF] == ref_hr, (hr, ref_hr)


def test_write_round_trips(session):
    a = _addr("base_kw", "holding_register")
    p = POINTS["base_kw"]
    value = 1234 if p["min"] <= 1234 <= p["max"] else p["min"]
    c = session.client()
    try:
        w = c.write_registers(a, [(value >> 16) & 0xFFFF, value & 0xFFFF], device_id=1)
        assert not w.isError(), w
        r = c.read_holding_registers(a, count=2, device_id=1)
        assert not r.isError() and r.registers == [(value >> 16) & 0xFFFF, value & 0xFFFF], r
        # Round-trip time of a live read, for the record (not asserted)
        t0 = time.perf_counter()
        for _ in range(20):
            assert not c.read_input_registers(0, count=10, device_id=1).isError()
        print("%s: 20 reads of 10 input registers in %.1f ms" % (
            session.runtime, (time.perf_counter() - t0) * 1000.0))
    finally:
        c.close()


def test_sigint_ends_cleanly(session):
    session.proc.send_signal(signal.SIGINT)
    try:
        out, _ = session.proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("gxsim did not end within 30 s of SIGINT")
    assert session.proc.returncode == 0, "exit %d: %s" % (
        session.proc.returncode, "".join(session.stderr))
    assert "wrote %s/report.json" % session.out in out, out
    with open(os.path.join(session.out, "report.json")) as f:
        rep = json.load(f)
    assert rep["runtime"] == session.runtime
    assert 0 < rep["ticks"] < 2000, rep["ticks"]      # ended before --duration 20
    assert rep["duration_s"] == pytest.approx(rep["ticks"] * 0.01)
    assert os.path.exists(os.path.join(session.out, "trace.csv"))
    assert not os.path.lexists(session.path), "the pty symlink was left behind"
