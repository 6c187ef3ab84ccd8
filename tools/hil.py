"""Hardware in the loop: the simulator's plant against the firmware on a real
board, over the tick link on a serial port.

  python -m tools.hil run SCENARIO --port PORT [--baud 115200] [--out DIR]
                          [--seed N] [--no-plot] [--compare]

The board runs boards/<board>/main.py with MODE = "hil" in its board.py: it
serves tick-link sessions back to back on its USB (or UART) REPL port, one
fresh Controller per session (boards/common/app.py).  The plant, the sensor
models and the report are exactly those of `gxsim run`; only the runtime
differs, so the run's firmware_output_sha256 must equal the CPython runtime's
for the same scenario and seed (--compare checks it).

SerialRuntime is the simulator runtime interface (configure, begin, tick,
close, name) on a pyserial port, built on host_sim.linkclient.LinkClient - the
same plant end of the tick link the MicroPython runtime uses over pipes.

Exit status: 0 ok, 1 --compare found a mismatch, 2 bad scenario, arguments
or port, 3 the board or its link failed.
"""

import argparse
import sys

import serial

from host_sim.runtime import RuntimeError_
from host_sim.linkclient import LinkClient, LinkError, LinkRuntime  # noqa: F401  (re-exported)

class PortError(RuntimeError_):
    """The serial port cannot be opened."""


class SerialRuntime(LinkRuntime):
    """The simulator runtime interface over a serial port (a board in HIL).

    port: a device path (/dev/ttyACM0, COM3) or any pyserial URL
    (socket://host:port, rfc2217://...).  fresh_session=True (a board) sends
    QUIT first so the board's app starts a fresh session with a new
    Controller, whatever an earlier, interrupted run left behind; use False
    when the far end is a one-shot `micropython main_link.py`, which QUIT
    would end.  timeout_s bounds every reply during the run; sync_timeout_s
    covers a board that is still booting (an ESP32 resets when the port
    opens on some adapters).
    """

    name = "hil"

    def __init__(self, port, baud=115200, timeout_s=2.0, sync_timeout_s=5.0,
                 fresh_session=True):
        self.port = port
        try:
            # exclusive: a second program (mpremote, a terminal) on the same
            # port would steal bytes from the link.
            self._ser = serial.serial_for_url(port, baudrate=baud, timeout=timeout_s,
                                              write_timeout=timeout_s, exclusive=True)
        except (serial.SerialException, ValueError) as e:
            raise PortError("cannot open serial port %s: %s" % (port, e))
        # pyserial raises DTR on open: the rp2 port's USB CDC sends nothing
        # until the host has done so.
        self.link = LinkClient(self._ser.read, self._ser.write, self._fail)
        try:
            self._ser.reset_input_buffer()
            if fresh_session:
                self.link.quit()
            self._ser.timeout = 0.25        # probe often while syncing
            self.link.sync(sync_timeout_s)
            self._ser.timeout = timeout_s
            self.link.hello()
        except Exception:
            self._ser.close()
            raise

    def _fail(self, msg):
        return LinkError("%s: %s" % (self.port, msg))

    def close(self):
        """End the session (the board starts a fresh one) and release the port."""
        if not self._ser.is_open:
            return
        try:
            self.link.quit()
            self._ser.flush()
        except (RuntimeError_, serial.SerialException, OSError):
            pass
        self._ser.close()


# -- CLI ----------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print("hil: %s" % message, file=sys.stderr)
        sys.exit(2)


def _cmd_run(args):
    from host_sim import sim
    from host_sim.cli import run_and_report
    code, sc, r = run_and_report("hil", args.scenario,
                                 lambda: SerialRuntime(args.port, baud=args.baud),
                                 seed=args.seed, out=args.out, out_suffix="-hil",
                                 no_plot=args.no_plot, setup_errors=(PortError,))
    if code or not args.compare:
        return code
    ref = sim.run(sc, "cpython", seed=args.seed, trace=False)
    same = ref.sha256 == r.sha256
    print("board output %s the CPython runtime's (%s)" % (
        "matches" if same else "DIFFERS FROM", ref.sha256))
    return 0 if same else 1


def main(argv=None):
    p = _Parser(prog="python -m tools.hil",
                description="run a scenario's plant against a board in HIL mode")
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("run", help="run a scenario (a .toml path or a built-in name)")
    r.add_argument("scenario")
    r.add_argument("--port", required=True, help="serial port or pyserial URL of the board")
    r.add_argument("--baud", type=int, default=115200,
                   help="UART baud rate (ignored by USB CDC ports; default 115200)")
    r.add_argument("--out", default=None, help="output directory (default out/<scenario>-hil)")
    r.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    r.add_argument("--no-plot", action="store_true", help="skip plot.png")
    r.add_argument("--compare", action="store_true",
                   help="also run the CPython runtime and check the outputs match bit for bit")
    args = p.parse_args(argv)
    if args.cmd == "run":
        return _cmd_run(args)
    p.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
