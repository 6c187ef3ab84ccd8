"""Smoke test of the Modbus benchmarks and the fuzz campaign
(tools/modbus_bench.py, tools/mp_modbus_bench.py), each in a tiny size.

Behaviour only, no timing: the pieces run, every request is answered, the
slave allocates nothing per request under MicroPython, a short fuzz campaign
passes in both interpreters with identical output, and the fuzz checks do
catch a firmware that breaks each rule they enforce.
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pytest  # noqa: E402

from host_sim import runtime as rt_mod  # noqa: E402
from tools import modbus_bench as mb  # noqa: E402
from tools import mp_modbus_bench as mpb  # noqa: E402

import modbus  # noqa: E402  (firmware, on the path via host_sim)
import registers  # noqa: E402
import sequencer  # noqa: E402


def _have_micropython():
    try:
        rt_mod.micropython_binary()
        return True
    except rt_mod.RuntimeError_:
        return False


needs_mp = pytest.mark.skipif(not _have_micropython(), reason="micropython unix port missing")


@needs_mp
@pytest.mark.skipif(shutil.which("socat") is None, reason="socat missing")
def test_round_trip_every_request_answered():
    n = 10
    r = mb.round_trip(n, warmup=2, canned=True)
    for k in ("firmware", "pymodbus", "canned"):
        assert r[k]["ok"] == n and r[k]["failed"] == 0, (k, r[k])
        assert r[k]["raw_ok"] == n and r[k]["raw_failed"] == 0, (k, r[k])
        assert r[k]["median_ms"] > 0 and r[k]["raw_median_ms"] > 0
    assert r["ratio_median"] > 0 and r["raw_ratio_median"] > 0
    assert r["firmware_exit"] == 0          # the gxsim session ended cleanly on SIGINT


@needs_mp
def test_slave_cost_allocates_nothing_and_replies_agree():
    s = mb.slave_cost(20)
    names = [r[0] for r in mpb.requests()]
    assert [r["request"] for r in s["rows"]] == names
    for r in s["rows"]:
        assert r["reply_ok"] and r["same_reply"], r
        assert r["heap_bytes_per_req"] == 0.0, r
        assert r["heap_lock"] == "ok (20 requests)", r
        assert r["mp_us_median"] > 0 and r["cpy_us_median"] > 0


def test_fuzz_in_process_passes():
    r = mb.fuzz_inprocess(mb.fuzz_events(1500, 5))
    assert r["exception"] is None
    assert r["violations"] == []
    st = r["stats"]
    # The stream reached the interesting paths.
    assert st["replies"] > 100 and st["exceptions"] > 50
    assert st["config_changes"] > 0 and st["setpoint_changes"] > 0 and st["unlocks"] > 0
    assert r["frames"] == 1500


@needs_mp
def test_fuzz_micropython_output_identical():
    r = mb.fuzz_micropython(400, 6)
    assert r["exit"] == 0 and r["exception"] is None, r
    assert r["identical"], r.get("first_difference")
    assert r["cpython"]["violations"] == []


def test_fuzz_output_reflects_the_stream(tmp_path):
    # The compared output is not trivially equal: another stream differs.
    a = mb.fuzz_inprocess(list(mb.fuzz_events(200, 1)), record=True)["output"]
    b = mb.fuzz_inprocess(list(mb.fuzz_events(200, 2)), record=True)["output"]
    assert a.count(b"R") > 20 and a != b


# -- the checks catch what they are meant to catch -------------------------------

def _violations(n=2500, seed=3):
    return [v[0] for v in mb.fuzz_inprocess(mb.fuzz_events(n, seed))["violations"]]


def test_fuzz_catches_configuration_without_unlock(monkeypatch):
    monkeypatch.setattr(registers.Registers, "_unlocked_now", lambda self: True)
    v = _violations()
    assert any("without a valid unlock" in x for x in v), v


def test_fuzz_catches_a_bad_reply_crc(monkeypatch):
    orig = modbus.Slave._seal

    def seal(self, k):
        n = orig(self, k)
        if self.reply[1] == 3:
            self.reply[n - 1] ^= 1
        return n
    monkeypatch.setattr(modbus.Slave, "_seal", seal)
    assert any("bad CRC" in x for x in _violations(600))


def test_fuzz_catches_a_start_without_the_command(monkeypatch):
    orig = sequencer.Sequencer.command

    def command(self, cmd, t_ms):
        if cmd == sequencer.CMD_MODE_AUTO:      # "auto" also starts: wrong
            self.mode = sequencer.MODE_MANUAL
            self.manual_run = True
            return True
        return orig(self, cmd, t_ms)
    monkeypatch.setattr(sequencer.Sequencer, "command", command)
    assert any("engine started" in x for x in _violations())


def test_fuzz_catches_inconsistent_counters(monkeypatch):
    orig = modbus.Slave._exc

    def exc(self, fc, code):
        if code == modbus.EX_ADDRESS:
            self.counters[modbus.C_EXC] -= 1
        return orig(self, fc, code)
    monkeypatch.setattr(modbus.Slave, "_exc", exc)
    assert any("exceptions counter" in x for x in _violations(600))


def test_fuzz_catches_a_broadcast_answered(monkeypatch):
    orig = modbus.Slave._serve

    def serve(self, h, ln):
        if self.rx[h] == 0:
            self.rx[h] = 1
        return orig(self, h, ln)
    monkeypatch.setattr(modbus.Slave, "_serve", serve)
    assert any("no CRC-valid request" in x for x in _violations(1500))


def test_fuzz_reports_a_firmware_exception(monkeypatch):
    def boom(self, h, fc):
        raise IndexError("injected")
    monkeypatch.setattr(modbus.Slave, "_read", boom)
    r = mb.fuzz_inprocess(mb.fuzz_events(50, 1))
    assert r["exception"] and "IndexError" in r["exception"]


def test_bench_cli_modbus_fuzz_alone():
    p = subprocess.run([sys.executable, "-m", "tools.bench", "--modbus-fuzz", "300",
                        "--fuzz-mp-frames", "100" if _have_micropython() else "0"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "verdict: PASS" in p.stdout
