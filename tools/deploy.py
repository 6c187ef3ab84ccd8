"""Copy a built board image to a board with mpremote, then restart it.

  python -m tools.deploy --board BOARD --port PORT [--build build] [--dry-run] [--frozen]

Steps (build the image first: python -m tools.build_firmware, or make firmware):
  1. Send one tick-link QUIT frame to PORT.  A board in HIL mode only listens
     to Ctrl-C between sessions (boards/common/app.py); the QUIT ends a
     session an aborted HIL run left open, so mpremote's Ctrl-C gets through.
     At a REPL the frame is a line of junk that mpremote's first Enter
     turns into a harmless SyntaxError.
  2. One mpremote connection: delete any stale <module>.py on the board that
     would shadow a new <module>.mpy (MicroPython imports .py first), copy
     every file of build/<board>/ (mpremote skips files whose hash already
     matches), then `reset`.  A hard reset, not mpremote's soft-reset: that
     one happens in the raw REPL, where MicroPython does not run main.py.

--dry-run prints the commands instead of running them and touches no port.
Exit status: 0 ok, 2 bad arguments, no image, no such port, or mpremote
missing, 3 mpremote or the port failed during the deploy.
"""

import argparse
import os
import shlex
import subprocess
import sys

import serial

from host_sim import firmware_path, venv_tool
from tools.build_firmware import list_boards

firmware_path()
import link  # noqa: E402  (firmware/link.py: the frame codec the board uses)


class DeployError(Exception):
    def __init__(self, message, status=2):
        Exception.__init__(self, message)
        self.status = status


def image_files(build_dir, board):
    d = os.path.join(build_dir, board)
    files = sorted(f for f in os.listdir(d) if os.path.isfile(os.path.join(d, f))) \
        if os.path.isdir(d) else []
    if not files:
        raise DeployError("no firmware image in %s: build it first with "
                          "`python -m tools.build_firmware --out %s %s` (or make firmware)"
                          % (d, build_dir, board))
    return d, files


def unfrozen_modules(image_dir, arch):
    """The .mpy files a frozen build leaves on the filesystem: those with
    machine code, on a CPU whose frozen machine code is not safe
    (host_sim/native.py, FREEZE_UNSAFE_ARCHS; boards/<board>/manifest.py
    freezes the others)."""
    from host_sim import native
    if arch not in native.FREEZE_UNSAFE_ARCHS:
        return []
    return sorted(f for f in os.listdir(image_dir) if f.endswith(".mpy")
                  and native.has_machine_code(os.path.join(image_dir, f)))


def mpremote_segments(image_dir, files, frozen=False, keep=()):
    """The mpremote command as segments joined by '+' (one connection).
    frozen: the firmware is frozen into the board's MicroPython image: copy
    only what runs from the filesystem (main.py, boot.py, and `keep`: the
    modules the image does not freeze) and delete every other copy of an
    image module there, .py or .mpy, since a file on the filesystem shadows
    the frozen module of the same name."""
    modules = ",".join('"%s"' % f[:-4] for f in files if f.endswith(".mpy") and f not in keep)
    if frozen:
        cleanup = ('import os;[os.remove(f) for f in os.listdir() '
                   'if f[-4:] in (".mpy",) and f[:-4] in (%s,) or f[-3:]==".py" and f[:-3] '
                   'in (%s,)]' % (modules, modules))
        files = [f for f in files if not f.endswith(".mpy") or f in keep]
    else:
        # Stale sources would shadow the new bytecode: import finds x.py before x.mpy.
        cleanup = ('import os;[os.remove(f) for f in os.listdir() '
                   'if f[-3:]==".py" and f[:-3] in (%s,)]' % modules)
    segs = [["exec", cleanup]]
    for f in files:
        segs.append(["fs", "cp", os.path.join(image_dir, f), ":" + f])
    segs.append(["reset"])
    return segs


def mpremote_argv(mpremote, port, segs):
    argv = [mpremote, "connect", port]
    for i, s in enumerate(segs):
        if i:
            argv.append("+")
        argv += s
    return argv


def format_command(port, segs):
    """Shell-pastable, one mpremote step per line."""
    lines = [shlex.join(["mpremote", "connect", port])]
    for i, s in enumerate(segs):
        lines.append(("  + " if i else "  ") + shlex.join(s))
    return " \\\n".join(lines)


def find_mpremote():
    found = venv_tool("mpremote")
    if found:
        return found
    raise DeployError("mpremote not found next to %s or on PATH: install the pinned "
                      "mpremote from pyproject.toml (make venv does)" % sys.executable)


def release_hil_session(port):
    """Step 1: send a QUIT frame so a board in HIL mode listens to Ctrl-C."""
    buf = bytearray(link.frame_size(0))
    frame = bytes(buf[:link.encode(buf, link.T_QUIT, (), 0)])
    try:
        with serial.serial_for_url(port, baudrate=115200, timeout=1, write_timeout=1) as s:
            s.write(frame)
            s.flush()
    except (serial.SerialException, OSError) as e:
        raise DeployError("cannot open serial port %s: %s" % (port, e))


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print("deploy: %s" % message, file=sys.stderr)
        sys.exit(2)


def deploy(board, port, build_dir, dry_run, out=None, frozen=False):
    out = out or sys.stdout
    if board not in list_boards():
        raise DeployError("unknown board %r (known: %s)" % (board, ", ".join(list_boards())))
    image_dir, files = image_files(build_dir, board)
    from tools.build_firmware import board_arch
    keep = unfrozen_modules(image_dir, board_arch(board)) if frozen else []
    segs = mpremote_segments(image_dir, files, frozen, keep)
    if frozen:
        files = [f for f in files if not f.endswith(".mpy") or f in keep]
    if dry_run:
        print("# 1. release a board in HIL mode: send a tick-link QUIT frame to %s" % port,
              file=out)
        print("# 2. copy %d files from %s%s and reset:" % (
            len(files), image_dir, " (the firmware is frozen into MicroPython: boards/%s/"
            "manifest.py)" % board if frozen else ""), file=out)
        print(format_command(port, segs), file=out)
        return 0
    # A device path that does not exist is the common mistake (board
    # unplugged, wrong number): say so plainly.  URLs (socket://...) and
    # COM ports are left to pyserial.
    if port.startswith("/") and not os.path.exists(port):
        raise DeployError("serial port %s does not exist: is the board plugged in? "
                          "(`mpremote connect list` shows the ports)" % port)
    mpremote = find_mpremote()
    release_hil_session(port)
    print(format_command(port, segs), file=out)
    out.flush()
    rc = subprocess.call(mpremote_argv(mpremote, port, segs))
    if rc != 0:
        raise DeployError("mpremote failed (exit status %d)" % rc, status=3)
    print("deployed %d files to %s on %s" % (len(files), board, port), file=out)
    return 0


def main(argv=None):
    p = _Parser(prog="python -m tools.deploy",
                description="copy a built firmware image to a board with mpremote")
    p.add_argument("--board", required=True, help="board name (%s)" % ", ".join(list_boards()))
    p.add_argument("--port", required=True, help="serial port of the board, e.g. /dev/ttyACM0")
    p.add_argument("--build", default="build", help="build directory (default: build)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--frozen", action="store_true",
                   help="the board's MicroPython has the firmware frozen in "
                        "(boards/BOARD/manifest.py): copy main.py only and remove "
                        "module files that would shadow the frozen ones")
    args = p.parse_args(argv)
    try:
        return deploy(args.board, args.port, args.build, args.dry_run, frozen=args.frozen)
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return e.status


if __name__ == "__main__":
    sys.exit(main())
