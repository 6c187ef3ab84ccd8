"""What a board runs after boot, chosen by board.MODE (main.py calls run,
unless safe_mode says the safe-mode jumper is fitted).

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
- The real actuator outputs (PWMs and relays) are held in their safe state
  throughout.

Native mode (run_native) on a real board:
- Watchdog: a machine.WDT of board.WDT_TIMEOUT_MS (2 s), started once the
  controller is built and fed by NativeHal.wait_tick after each completed
  tick only.  2 s is > 4x the longest legitimate gap between two ticks (a
  settings save or event-log flush to littlefs at the quiet point, a few
  hundred ms; measure it on the board) and short because a hung loop holds
  the fuel PWM and the relays where they were until the reset; the reset
  floats every pin (the fuel and bias RC filters go to 0, the relay bus's
  /OE pull-up drops every relay).  The RP2040's WDT tops out at 8.3 s.
- An unhandled exception: outputs safe FIRST (Controller.run has already
  called fail_safe for an error inside the loop; this covers the rest),
  then one line appended to ERROR_FILE (size-capped: at ERROR_FILE_MAX the
  file becomes ERROR_FILE.1, so at most twice that is kept) and an
  EV_BOARD_ERROR entry (value: the line number where it was raised) in the
  event log, flushed; then machine.reset() after ERROR_RESET_DELAY_MS (so the
  console shows it).  A failing log write does not stop the reset, and if
  it hangs the watchdog resets anyway.  An error in every boot ends in a
  reset loop: the safe-mode jumper is the way out.
- Ctrl-C (KeyboardInterrupt) at the console: outputs safe, back to the REPL
  without a reset.  Neither port can stop a started WDT, so from then on a
  machine.Timer feeds it: the REPL is a technician's session, not a control
  loop.  machine.reset() starts the controller again.
- Safe mode (safe_mode, called by main.py before anything else): the
  board's SAFE_MODE_PIN held low at boot (a jumper to ground) skips the
  autostart, in either mode, and leaves the board at the REPL with no
  watchdog and nothing driven (every pin as after reset: outputs off).
"""

import sys

import micropython
import select

# A board-side error's event code lives with the other system events in
# eventlog.py (alarms.EV_* are 2001 up, the Modbus slave's 3001 up).
from eventlog import EV_BOARD_ERROR

last_error = None


ERROR_FILE = "errors.txt"
ERROR_FILE_MAX = 4096
ERROR_RESET_DELAY_MS = 1000
WDT_TIMEOUT_MS = 2000
_SAFE_MODE_READS = 3

repl_timer = None       # feeds the watchdog once Ctrl-C has stopped the controller


def safe_mode(board):
    """True (and says why on the console) when board.SAFE_MODE_PIN is held
    low at boot: main.py then skips the autostart.  Read 3 times over ~20 ms,
    so a glitch cannot keep an unattended controller at the REPL.  False on
    a board without the pin, and on the unix port (no machine.Pin)."""
    pin = getattr(board, "SAFE_MODE_PIN", None)
    if pin is None:
        return False
    try:
        from machine import Pin
    except ImportError:
        return False
    from time import sleep_ms
    if getattr(board, "SAFE_MODE_PULL_UP", 1):
        p = Pin(pin, Pin.IN, Pin.PULL_UP)
    else:
        p = Pin(pin, Pin.IN)        # the interface board's own pull-up
    for _ in range(_SAFE_MODE_READS):
        sleep_ms(7)         # the pull-up charges a long jumper wire first
        if p.value():
            return False
    print("gx230: safe mode: GPIO%d is held low (safe-mode jumper): autostart "
          "skipped, nothing driven, no watchdog; remove the jumper and reset to run" % pin)
    return True


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
    return hal_native.park(board)


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
# The protection rows' store (prottable): 189 values need a 1 KB record and
# a commit page, so two 2 KB blocks.
PROT_FILE = "prot.bin"
PROT_BLOCK_BYTES = 2048


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


def attach_config(c, cfg, cstore, prot_path=PROT_FILE):
    """Once the controller is built on a loaded configuration: its IEEE 1547
    trip profile (Protection starts on Category I), then the protection rows
    stored in flash over it (prottable: hand-set pickups, delays, classes;
    logged EV_PROT_LOAD with configstore.R_*; nothing usable stored leaves
    the profile), and the quiet-point saves of changed settings and rows,
    logged EV_CONFIG_SAVED and EV_PROT_SAVED.  cstore None (no filesystem
    room): nothing is loaded or saved."""
    import configstore
    import eventlog
    import profiles
    import prottable
    if cfg.ieee1547_category != 1:
        profiles.apply_ieee1547(c.prot, cfg.ieee1547_category)
    if cstore is None:
        return
    try:
        pstore = configstore.ConfigStore(
            configstore.FileBlockDev(prot_path, block_size=PROT_BLOCK_BYTES),
            settle_ms=CONFIG_SETTLE_MS, min_interval_ms=CONFIG_MIN_INTERVAL_MS,
            table=prottable.ProtectionTable())
    except (OSError, ValueError):
        pstore = None
        c.log.log(0, eventlog.EV_PROT_LOAD, configstore.R_IO_ERROR)
    if pstore is not None:
        pstore.load(c.prot)
        c.log.log(0, eventlog.EV_PROT_LOAD, pstore.reason)

    def save_if_changed():
        t = c.meas.t_ms
        if cstore.poll(cfg, t):
            c.log.log(t, eventlog.EV_CONFIG_SAVED, cstore.saves)
        if pstore is not None and pstore.poll(c.prot, t):
            c.log.log(t, eventlog.EV_PROT_SAVED, pstore.saves)
    c.on_quiet = save_if_changed


def _safe(h):
    if h is not None:
        try:
            h.safe()
        except Exception:
            pass        # the reset that follows floats every pin anyway


def error_line(e, t_ms=0, boot=0):
    """One line for ERROR_FILE: boot, time, the exception and where it was
    raised; and that line number (0 if unknown)."""
    import io
    buf = io.StringIO()
    sys.print_exception(e, buf)
    where = ""
    for ln in buf.getvalue().split("\n"):
        ln = ln.strip()
        if ln.startswith("File "):
            where = ln
    lineno = 0
    k = where.find(", line ")
    if k >= 0:
        digits = ""
        for ch in where[k + 7:]:
            if not "0" <= ch <= "9":
                break
            digits += ch
        if digits:
            lineno = int(digits)
    line = "boot %d t_ms %d %s: %s | %s" % (boot, t_ms, type(e).__name__, e, where)
    line = line.replace("\n", " ").replace("\r", " ")
    if len(line) > 200:
        line = line[:200]
    return line, lineno


def _append_error(line, path=None, cap=None):
    import os
    path = path or ERROR_FILE
    cap = cap or ERROR_FILE_MAX
    try:
        size = os.stat(path)[6]
    except OSError:
        size = 0
    if size + len(line) + 1 > cap:
        try:
            os.remove(path + ".1")
        except OSError:
            pass
        try:
            os.rename(path, path + ".1")
        except OSError:
            pass
    with open(path, "a") as f:
        f.write(line + "\n")


def report_error(e, log=None, t_ms=0):
    """The console, ERROR_FILE and the event log; never raises."""
    try:
        boot = log.boot() if log is not None else 0
        line, lineno = error_line(e, t_ms, boot)
    except Exception:
        line, lineno = "error (not printable)", 0
    try:
        print("gx230: unhandled error, outputs safe, resetting:", line)
        sys.print_exception(e)
    except Exception:
        pass
    try:
        _append_error(line)
    except Exception:
        pass
    if log is not None:
        try:
            log.log(t_ms, EV_BOARD_ERROR, lineno)
            log.flush(t_ms, True)
        except Exception:
            pass


def _feed_at_repl(board, wdt):
    global repl_timer
    from machine import Timer
    feed = wdt.feed
    period = getattr(board, "WDT_TIMEOUT_MS", WDT_TIMEOUT_MS) // 4
    repl_timer = Timer(getattr(board, "REPL_WDT_TIMER_ID", -1))
    repl_timer.init(period=period if period > 0 else 1, mode=Timer.PERIODIC,
                    callback=lambda t: feed())


def run_native(board):
    import gc
    import machine
    import hal_native
    import eventlog
    from controller import Controller
    h = None
    c = None
    log = None
    wdt = None
    try:
        # The event log survives power cuts in a fixed-size file on the
        # board's littlefs; its ring goes first, while the heap is still in
        # one piece.
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
        h.on_share = c.share_rx       # the stack's share link, between ticks (a single set: none)
        # Nothing calls c.begin() yet: the start sequence (later work) will, at
        # crank disconnect.  Until then the governor holds fuel at 0.
        wdt = machine.WDT(timeout=getattr(board, "WDT_TIMEOUT_MS", WDT_TIMEOUT_MS))
        h.watchdog(wdt)
        c.run()
    except KeyboardInterrupt:
        # Not an Exception: the fail-safe inside Controller.run does not see it.
        _safe(h)
        if wdt is not None:
            try:
                _feed_at_repl(board, wdt)
            except Exception as e:
                print("gx230: cannot feed the watchdog at the REPL (%r): it resets "
                      "the board in %d ms" % (e, getattr(board, "WDT_TIMEOUT_MS", WDT_TIMEOUT_MS)))
        print("gx230: stopped (Ctrl-C): outputs safe; at the REPL, machine.reset() "
              "restarts the controller")
        return
    except Exception as e:
        _safe(h)
        report_error(e, log, c.meas.t_ms if c is not None else 0)
        from time import sleep_ms
        sleep_ms(getattr(board, "ERROR_RESET_DELAY_MS", ERROR_RESET_DELAY_MS))
        machine.reset()
    # Controller.run returned (NativeHal never stops it): hold outputs safe.
    _safe(h)
