"""What a board runs after boot, chosen by board.MODE (main.py calls run).

  "hil"     Serve tick-link sessions on the REPL port (USB CDC, or UART0 on
            boards with a USB-UART bridge) so a bench PC runs the simulated
            plant against this board: python -m tools.hil run SCENARIO --port P.
  "native"  Run the controller on the board's own pins (hal_native.NativeHal).

HIL sessions (frames: firmware/link.py; the host end: tools/hil.py):
- A session is one main_link.main() call, so one fresh Controller, from the
  first frame to a QUIT.  Sessions follow each other as long as the board is
  up, so every HIL run starts from the power-on state without a reset: the
  condition for comparing it bit for bit with the simulator's runtimes.
- Inside a session Ctrl-C is off (micropython.kbd_intr(-1)): frames are binary
  and 0x03 is data.  Between sessions it is on, so mpremote or a terminal can
  interrupt the board as usual; tools/deploy.py first sends a QUIT to end a
  session that an aborted run left open.  A session's first frame may arrive
  while Ctrl-C is still on, so the host keeps 0x03 out of it.
- Nothing may print: stdout is the link.  An exception that ends a session
  (the firmware has already driven its outputs safe and sent an 'E' frame) is
  kept in `last_error` for a look from the REPL, and the next session starts.
- The real actuator outputs are held in their safe state throughout.
"""

import sys

import micropython
import select

last_error = None


def run(board):
    if board.MODE == "hil":
        run_hil(board)
    elif board.MODE == "native":
        run_native(board)
    else:
        raise ValueError("board.MODE must be 'hil' or 'native', not %r" % (board.MODE,))


def _park_outputs(board):
    """Hold the real actuators safe while the plant is simulated, so a board
    left wired to an engine never sees a floating fuel output."""
    try:
        from machine import PWM  # noqa: F401
    except ImportError:
        return None     # the unix port (tests): a machine module without pins
    import hal_native
    return hal_native.Outputs(board)


def run_hil(board):
    global last_error
    import main_link
    parked = _park_outputs(board)  # noqa: F841  (kept referenced while serving)
    rx = sys.stdin.buffer
    tx = sys.stdout.buffer
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    try:
        while True:
            micropython.kbd_intr(3)
            ev = poll.poll()
            if not ev[0][1] & select.POLLIN:
                return          # stdin closed: only on the unix port
            micropython.kbd_intr(-1)
            try:
                main_link.main(rx, tx)
            except Exception as e:
                last_error = e
    finally:
        micropython.kbd_intr(3)


def run_native(board):
    import gc
    import hal_native
    import eventlog
    from config import Config
    from controller import Controller
    # The event log survives power cuts in a fixed-size file on the board's
    # littlefs; its ring goes first, while the heap is still in one piece.
    gc.collect()
    try:
        store = eventlog.FileStore("eventlog.bin", eventlog.store_size())
    except OSError:
        store = None        # no filesystem room: keep the log in RAM only
    log = eventlog.EventLog(store)
    if store is not None:
        log.load()
    cfg = Config()
    h = hal_native.NativeHal(board, cfg)
    c = Controller(h, cfg, log=log)
    h.on_uart = c.serve_uart      # the Modbus port, served between ticks
    # Nothing calls c.begin() yet: the start sequence (later work) will, at
    # crank disconnect.  Until then the governor holds fuel at 0.
    try:
        c.run()
    finally:
        # Also on Ctrl-C: KeyboardInterrupt is not an Exception, so the
        # fail-safe inside Controller.run does not see it.
        h.safe()
