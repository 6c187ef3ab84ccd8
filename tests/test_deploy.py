"""tools.deploy: --dry-run prints the one mpremote connection that copies
the whole image and resets the board; mistakes (no such port, no image) end
in one clear line and a non-zero exit, never a traceback."""

import os
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT
from tools import build_firmware as bf

BOARD = "rp2040_pico"
PORT = "/dev/ttyACM0"


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    bf.build_board(BOARD, str(out), bf.find_mpy_cross())
    return str(out)


def _deploy(*args):
    return subprocess.run([sys.executable, "-m", "tools.deploy"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def _segments(stdout):
    """The printed command as argv segments split at '+'."""
    cmd = "".join(line for line in stdout.splitlines(keepends=True) if not line.startswith("#"))
    argv = shlex.split(cmd.replace("\\\n", " "))
    segs, cur = [], []
    for a in argv:
        if a == "+":
            segs.append(cur)
            cur = []
        else:
            cur.append(a)
    segs.append(cur)
    return segs


def test_dry_run_prints_one_mpremote_connection_that_copies_every_file_then_resets(build_dir):
    p = _deploy("--board", BOARD, "--port", PORT, "--build", build_dir, "--dry-run")
    assert p.returncode == 0, p.stderr
    segs = _segments(p.stdout)
    image = os.path.join(build_dir, BOARD)
    files = sorted(os.listdir(image))
    assert segs[0][:4] == ["mpremote", "connect", PORT, "exec"]     # stale .py cleanup
    assert segs[1:-1] == [["fs", "cp", os.path.join(image, f), ":" + f] for f in files]
    assert segs[-1] == ["reset"]              # hard reset: main.py runs again
    assert "QUIT" in p.stdout.splitlines()[0]  # says it would release a HIL session first


def test_dry_run_cleanup_removes_only_sources_that_would_shadow_new_mpy_files(
        build_dir, mp_bin, tmp_path):
    p = _deploy("--board", BOARD, "--port", PORT, "--build", build_dir, "--dry-run")
    snippet = _segments(p.stdout)[0][4]
    for name in ("controller.py", "main.py", "notes.py"):
        (tmp_path / name).write_text("x = 1\n")
    # Run it with the MicroPython it is written for, in a scratch "board" dir.
    r = subprocess.run([mp_bin, "-c", "import os; os.chdir(%r); " % str(tmp_path) + snippet],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["main.py", "notes.py"]


def test_a_missing_port_gives_one_clear_line_and_a_nonzero_exit(build_dir):
    p = _deploy("--board", BOARD, "--port", "/dev/ttyNOSUCH9", "--build", build_dir)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert lines[0].startswith("deploy: serial port /dev/ttyNOSUCH9 does not exist")


def test_a_missing_image_says_how_to_build_it(tmp_path):
    p = _deploy("--board", BOARD, "--port", PORT, "--build", str(tmp_path), "--dry-run")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "tools.build_firmware" in lines[0]


@pytest.mark.parametrize("board", bf.list_boards())
def test_each_boards_freeze_manifest_freezes_exactly_the_image_modules(board, monkeypatch):
    """boards/<board>/manifest.py (MicroPython's FROZEN_MANIFEST for a
    frozen build) freezes the image `make firmware` builds (build/<board>/,
    its @viper functions already machine code): every module of it, but on
    a CPU whose frozen machine code is not safe (ARMv6-M: host_sim/
    native.py) the modules with machine code, which stay .mpy files that
    `deploy --frozen` copies.  Nothing else, with paths that exist; the
    manifest itself is not part of the image."""
    from host_sim import native
    from tools import deploy
    mdir = os.path.join(ROOT, "boards", board)
    out = os.path.join(ROOT, "build")
    bf.build_board(board, out, bf.find_mpy_cross())     # what make firmware writes
    built = os.path.join(out, board)
    frozen = []
    included = []

    def freeze_mpy(path, script=None, opt=None):
        d = os.path.normpath(os.path.join(mdir, path))
        assert d == built, path
        names = [script] if isinstance(script, str) else \
            (list(script) if script is not None else os.listdir(d))
        for n in names:
            assert os.path.isfile(os.path.join(d, n)), n
        frozen.extend(n[:-4] for n in names if n.endswith(".mpy"))

    def include(path, **kw):
        assert path.startswith("$(PORT_DIR)/")     # the port's own modules only
        included.append(path)

    monkeypatch.chdir(mdir)                     # as MicroPython's makemanifest runs it
    with open("manifest.py") as f:
        exec(compile(f.read(), "manifest.py", "exec"),
             {"freeze_mpy": freeze_mpy, "include": include})
    image = [os.path.basename(s)[:-3] for s in bf.board_sources(board)
             if os.path.basename(s) not in bf.SOURCE_FILES]
    left = [f[:-4] for f in deploy.unfrozen_modules(built, bf.board_arch(board))]
    assert sorted(frozen + left) == sorted(image)
    assert len(set(frozen)) == len(frozen) and not set(frozen) & set(left)
    if bf.board_arch(board) in native.FREEZE_UNSAFE_ARCHS:
        assert "measure" in left and "governor" in left and "registers" in frozen
    else:
        assert left == []
    assert "manifest" not in image and included


def test_a_frozen_deploy_copies_main_only_and_removes_modules_that_would_shadow_the_frozen(
        build_dir):
    p = _deploy("--board", BOARD, "--port", PORT, "--build", build_dir, "--dry-run", "--frozen")
    assert p.returncode == 0, p.stderr
    segs = _segments(p.stdout)
    cps = [s for s in segs if s[:2] == ["fs", "cp"]]
    # main.py, and on the RP2040 (ARMv6-M) the modules with machine code,
    # which its frozen image leaves out (host_sim/native.py).
    from tools import deploy
    left = deploy.unfrozen_modules(os.path.join(build_dir, BOARD), bf.board_arch(BOARD))
    assert "governor.mpy" in left and "registers.mpy" not in left
    assert sorted(c[3] for c in cps) == sorted([":main.py"] + [":" + f for f in left])
    assert segs[0][:4] == ["mpremote", "connect", PORT, "exec"]
    cleanup = segs[0][4]
    assert '".mpy"' in cleanup and '"registers"' in cleanup and '"board"' in cleanup
    assert '"governor"' not in cleanup          # copied, so not deleted
    assert segs[-1] == ["reset"]
