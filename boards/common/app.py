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


# Settings saved to flash: a change is saved once it has held for this long
# (a burst of Modbus writes is one save) and saves are at least this far
# apart.  littlefs spreads the wear (~4 erases a save): a set point written
# every few seconds for 20 years stays inside a 100k-cycle flash.
CONFIG_SETTLE_MS = 10000
CONFIG_MIN_INTERVAL_MS = 60000


def load_config(log, path="config.bin"):
    """The configuration from flash (configstore: two slots, CRC, commit
    mark; factory defaults when nothing valid is stored), and the store to
    save changes with (None: no filesystem room, defaults, nothing saved).
    Logs EV_CONFIG_LOAD with the reason (configstore.R_*)."""
    import configstore
    import eventlog
    from config import Config
    cfg = Config()
    try:
        cstore = configstore.ConfigStore(configstore.FileBlockDev(path),
                                         settle_ms=CONFIG_SETTLE_MS,
                                         min_interval_ms=CONFIG_MIN_INTERVAL_MS)
    except (OSError, ValueError):
        log.log(0, eventlog.EV_CONFIG_LOAD, configstore.R_IO_ERROR)
        return cfg, None
    cstore.load(cfg)
    log.log(0, eventlog.EV_CONFIG_LOAD, cstore.reason)
    return cfg, cstore


def attach_config(c, cfg, cstore):
    """Once the controller is built on a loaded configuration: its IEEE 1547
    trip profile (Protection starts on Category I), and the quiet-point save
    of changed settings, logged EV_CONFIG_SAVED."""
    import eventlog
    import profiles
    if cfg.ieee1547_category != 1:
        profiles.apply_ieee1547(c.prot, cfg.ieee1547_category)
    if cstore is None:
        return

    def save_if_changed():
        if cstore.poll(cfg, c.meas.t_ms):
            c.log.log(c.meas.t_ms, eventlog.EV_CONFIG_SAVED, cstore.saves)
    c.on_quiet = save_if_changed


def run_native(board):
    import gc
    import hal_native
    import eventlog
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
    cfg, cstore = load_config(log)
    h = hal_native.NativeHal(board, cfg)
    c = Controller(h, cfg, log=log)
    attach_config(c, cfg, cstore)
    h.on_uart = c.serve_uart      # the Modbus port, served between ticks
    # Nothing calls c.begin() yet: the start sequence (later work) will, at
    # crank disconnect.  Until then the governor holds fuel at 0.
    try:
        c.run()
    finally:
        # Also on Ctrl-C: KeyboardInterrupt is not an Exception, so the
        # fail-safe inside Controller.run does not see it.
        h.safe()
