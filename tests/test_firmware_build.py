"""Every firmware and board module compiles with mpy-cross for every board's
CPU, and tools.build_firmware turns them into one .mpy image per board."""

import glob
import os

import pytest

from conftest import ROOT
from tools import build_firmware as bf

SOURCES = sorted(glob.glob(os.path.join(ROOT, "firmware", "*.py"))
                 + glob.glob(os.path.join(ROOT, "boards", "**", "*.py"), recursive=True))
# The arches come from the boards themselves (board.py MPY_ARCH), the same
# single source the build uses; the next test pins which boards exist.
ARCHES = sorted({bf.board_arch(b) for b in bf.list_boards()})
BOARD_ARCH = {"rp2040_pico": "armv6m", "esp32_devkitc": "xtensawin"}


@pytest.fixture(scope="module")
def mpy_cross():
    return bf.find_mpy_cross()


def test_each_board_declares_the_mpy_arch_of_its_cpu():
    assert {b: bf.board_arch(b) for b in bf.list_boards()} == BOARD_ARCH


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_module_compiles_with_mpy_cross_for_the_board_cpu(src, arch, mpy_cross, tmp_path):
    dst = tmp_path / "m.mpy"
    bf.compile_one(mpy_cross, src, str(dst), arch)
    assert dst.read_bytes()[:2] == b"M\x06"       # .mpy, version 6


def _expected_image(board):
    names = []
    for d in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "common"),
              os.path.join(ROOT, "boards", board)):
        for f in os.listdir(d):
            if f.endswith(".py") and f not in bf.HOST_FILES:
                names.append(f if f in bf.SOURCE_FILES else f[:-3] + ".mpy")
    return sorted(names)


def test_build_makes_an_mpy_image_per_board_with_main_py_kept_as_source(tmp_path, capsys):
    boards = ["rp2040_pico", "esp32_devkitc"]
    assert bf.main(["--out", str(tmp_path), "--no-heap"] + boards) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(boards)               # one summary line per board
    for board, line in zip(boards, lines):
        d = tmp_path / board
        files = sorted(os.listdir(d))
        assert files == _expected_image(board)
        assert "main.py" in files and "board.mpy" in files and "hal_native.mpy" in files
        total = sum((d / f).stat().st_size for f in files)
        assert line.split()[0] == board
        assert "%d files" % len(files) in line and "%d bytes" % total in line
        assert "-march=" + BOARD_ARCH[board] in line


def test_a_rebuild_leaves_no_stale_module_behind(tmp_path):
    stale = tmp_path / "rp2040_pico" / "removed_module.mpy"
    stale.parent.mkdir()
    stale.write_bytes(b"M\x06")
    assert bf.main(["--out", str(tmp_path), "rp2040_pico"]) == 0
    assert not stale.exists()


def test_a_compile_error_stops_the_build_with_exit_2_and_the_compilers_message(
        tmp_path, monkeypatch, capsys):
    bad = tmp_path / "broken.py"
    bad.write_text("def f(:\n    pass\n")
    monkeypatch.setattr(bf, "board_sources", lambda board: [str(bad)])
    assert bf.main(["--out", str(tmp_path / "out"), "rp2040_pico"]) == 2
    err = capsys.readouterr().err
    assert "broken.py" in err and "SyntaxError" in err


def test_a_module_name_defined_twice_is_refused(tmp_path, monkeypatch):
    (tmp_path / "hal.py").write_text("x = 1\n")       # would shadow firmware/hal.py
    monkeypatch.setattr(bf, "COMMON_DIR", str(tmp_path))
    with pytest.raises(bf.BuildError, match="both define module hal"):
        bf.board_sources("rp2040_pico")


def test_an_unknown_board_is_refused_with_exit_2(tmp_path, capsys):
    assert bf.main(["--out", str(tmp_path), "no_such_board"]) == 2
    assert "unknown board 'no_such_board'" in capsys.readouterr().err


def test_build_reports_each_images_heap_after_boot_on_the_32_bit_runtime(tmp_path, capsys):
    """The image booted to a HIL session's controller on the 32-bit
    MicroPython in the board's GC_HEAP_BYTES: live bytes, and whether it
    fits (loaded from .mpy files it does not, today: README, Boards)."""
    assert bf.main(["--out", str(tmp_path), "rp2040_pico"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("rp2040_pico")
    assert "frozen by manifest.py (" in lines[2]
    heap = bf.board_heap_bytes("rp2040_pico")
    assert heap == 190 * 1024
    h = bf.heap_after_boot(str(tmp_path / "rp2040_pico"), 1024 * 1024, "rp2040_pico")
    assert h["fits"] and 100000 < h["live"] < h["total"]
    import re
    m = re.search(r"heap after boot \(32-bit, \.mpy in RAM\): (\d+) B live", lines[1])
    assert m and abs(int(m.group(1)) - h["live"]) < 8192
    # Fits or not as the live heap (plus the ~6 KB of GC tables) says.
    if int(m.group(1)) > heap:
        assert "does NOT fit the board's %d B heap" % heap in lines[1]
    elif int(m.group(1)) < heap - 16384:
        assert "B free of" in lines[1]


def test_each_board_image_frozen_by_its_manifest_fits_its_heap_after_boot(tmp_path):
    """The deployed image (frozen as manifest.py freezes it: all of it on
    the ESP32, all but the 11 modules with machine code on the RP2040)
    boots in the board's heap plus exactly the code the frozen modules keep
    in flash without growing it, leaving at least 32 KB free; loaded from
    .mpy files the same image does not fit."""
    from tools import deploy
    for board in ("rp2040_pico", "esp32_devkitc"):
        n, size, dest, arch = bf.build_board(board, str(tmp_path), bf.find_mpy_cross())
        heap = bf.board_heap_bytes(board)
        h = bf.heap_after_boot(dest, heap, board)
        f = h["frozen"]
        unfrozen = deploy.unfrozen_modules(dest, arch)
        assert f["modules"] == n - 1 - len(unfrozen), board   # less main.py
        assert f["fits"] and f["free"] >= 32768, (board, f)
        assert not h["fits"] and f["live"] < h["live"] - f["code_in_flash"] + 4096, (board, h)
        # What the unfrozen modules keep: at least their machine code.
        native = sum(os.path.getsize(os.path.join(dest, m)) for m in unfrozen)
        assert f["live"] > native


def test_frozen_code_bytes_counts_a_modules_code_not_what_its_code_builds(tmp_path, monkeypatch):
    """A module whose function holds a 12 KB string keeps >= 12 KB of code;
    one whose top level builds a 20 KB bytearray keeps well under 1 KB,
    since the code-only twin never runs: the estimate moves to flash what
    freezing moves, and leaves in RAM what the module builds."""
    big = tmp_path / "bigcode.py"
    big.write_text("def f():\n    return %r\n" % ("x" * 12288))
    builds = tmp_path / "builds.py"
    builds.write_text("BUF = bytearray(20000)\n")
    monkeypatch.setattr(bf, "board_sources", lambda board: [str(big), str(builds)])
    code = bf.frozen_code_bytes("rp2040_pico", ["bigcode", "builds"])
    assert code["bigcode"] >= 12288 and code["builds"] < 1024, code


def test_without_node_the_build_stands_and_says_the_heap_check_was_skipped(
        tmp_path, capsys, monkeypatch):
    from host_sim import runtime as rt
    from host_sim.errors import RuntimeError_

    def missing(*a, **k):
        raise RuntimeError_("node not found: the 32-bit MicroPython runtime runs under node")
    monkeypatch.setattr(rt, "mp32_command", missing)
    assert bf.main(["--out", str(tmp_path), "rp2040_pico"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "heap check skipped: node not found" in lines[1]
    assert (tmp_path / "rp2040_pico" / "governor.mpy").exists()
