"""gxtool: talk to a GX230 over Modbus RTU (a board's RS-485 port, or the
simulator's pty: gxsim run SCENARIO --realtime --modbus-pty PATH).

  gxtool --port PORT [--address N] [--baud B] [--parity N|E|O] [--stop 1|2]
         [--timeout S] COMMAND ...

  monitor [--once]            live table (~1 Hz) of the main values; Ctrl-C ends it
  read NAME...                prints "name = value unit"
  write NAME VALUE [--code N] writes one point; a configuration point is
                              unlocked first with the access code (--code,
                              env GXTOOL_CODE, default 1954)
  start | stop | reset | ack  the command pair [code, code ^ 0xFFFF]
  mode auto|manual|off
  events [--count N]          the event log, newest first
  dump --json                 every readable point, name -> value
  log --csv FILE --interval S [--count N] NAME...

Names, units and scales are the firmware's register map (registers.points(),
through tools/mbmap.py).  Exit status: 0 ok, 1 the device answered with an
exception (refused), 2 usage, unknown name or a value the point cannot hold
(nothing sent), 3 no answer, or the port cannot be opened.
"""

import argparse
import csv
import json
import logging
import os
import sys
import time

from tools import mbmap

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NO_ANSWER = 3

def _default_code():
    from host_sim import firmware_path
    firmware_path()
    import config
    return [st[1] for st in config.SETTINGS if st[0] == "mb_access_code"][0]


DEFAULT_CODE = _default_code()   # the firmware's default mb_access_code

# What a Modbus exception code means here (registers.py checks a write in
# this order: address 02, value 03, interlocks 04).
WRITE_MEANING = {
    1: "function not supported",
    2: "not a writable point",
    3: "value refused (out of range or inconsistent)",
    4: "refused by an interlock (locked, engine running, ...)",
}
READ_MEANING = {
    1: "function not supported",
    2: "address not in the device's register map (a different firmware version?)",
    3: "quantity refused",
    4: "device failure",
}


class ToolError(Exception):
    """A one-line message for the user and the exit status that goes with it."""

    def __init__(self, message, code):
        Exception.__init__(self, message)
        self.code = code


class Refused(ToolError):
    def __init__(self, message, exc_code):
        ToolError.__init__(self, message, EXIT_REFUSED)
        self.exc_code = exc_code


class NoAnswer(ToolError):
    def __init__(self, message):
        ToolError.__init__(self, message, EXIT_NO_ANSWER)


def _quiet_pymodbus():
    # pymodbus logs every timeout to stderr; the tool says it once, clearly.
    lg = logging.getLogger("pymodbus")
    lg.setLevel(logging.CRITICAL + 10)
    lg.propagate = False
    if not lg.handlers:
        lg.addHandler(logging.NullHandler())


class Device:
    """One GX230 at `address` on a serial port, through pymodbus."""

    def __init__(self, port, address=1, baud=19200, parity="E", stop=1, timeout=1.0):
        self.port = port
        self.address = address
        self.baud = baud
        self.parity = parity
        self.stop = stop
        self.timeout = timeout
        self.client = None
        self.requests = self.answers = self.timeouts = self.exceptions = 0

    # -- connection --
    def open(self):
        if self.client is not None:
            return
        _quiet_pymodbus()
        from pymodbus.client import ModbusSerialClient
        c = ModbusSerialClient(self.port, baudrate=self.baud, parity=self.parity,
                               stopbits=self.stop, bytesize=8, timeout=self.timeout,
                               retries=0)
        if not c.connect():
            raise NoAnswer("cannot open %s: %s" % (self.port, self._open_problem()))
        self.client = c

    def _open_problem(self):
        """Why the port does not open (pymodbus only says that it did not)."""
        import serial
        try:
            s = serial.Serial(self.port, baudrate=self.baud, parity=self.parity,
                              stopbits=self.stop, timeout=0)
        except Exception as e:
            no = e.args[0] if e.args and isinstance(e.args[0], int) else getattr(e, "errno", None)
            if isinstance(no, int) and no > 0:
                why = os.strerror(no)
            else:
                why = str(e) or type(e).__name__
            if no == 22:
                why += " (setting %d %s%d)" % (self.baud, self.parity, self.stop)
            if self.parity != "N" and (no == 22 or "Invalid argument" in why):
                why += " (a pty carries no parity: use --parity N)"
            return why
        s.close()
        return "the port opens with pyserial but not with pymodbus"

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def no_answer(self):
        return NoAnswer("no answer from address %d on %s within %g s"
                        % (self.address, self.port, self.timeout))

    # -- one request --
    def _call(self, what, fn, *args, **kw):
        """Run one pymodbus request; returns the response or raises
        NoAnswer / Refused (what: words for the message)."""
        from pymodbus.exceptions import ConnectionException, ModbusIOException
        self.open()
        self.requests += 1
        broadcast = self.address == 0
        try:
            r = fn(*args, device_id=self.address, no_response_expected=broadcast, **kw)
        except ModbusIOException:
            self.timeouts += 1
            raise self.no_answer()
        except ConnectionException:
            self.timeouts += 1
            self.close()
            raise NoAnswer("lost the port %s (the device or the simulator behind it went away)"
                           % self.port)
        if broadcast:
            return None
        if r is None:
            self.timeouts += 1
            raise self.no_answer()
        self.answers += 1
        if r.isError():
            code = getattr(r, "exception_code", None)
            if code is None:
                # pymodbus wraps a garbled or short answer as an error response
                self.timeouts += 1
                raise NoAnswer("no valid answer from address %d on %s: %s"
                               % (self.address, self.port, r))
            self.exceptions += 1
            raise Refused("%s: exception %02d" % (what, code), code)
        return r

    # -- reads --
    def _read(self, rd):
        c = self.client
        fn = {1: c.read_coils, 2: c.read_discrete_inputs,
              3: c.read_holding_registers, 4: c.read_input_registers}[rd.fc]
        what = "read %s" % (rd.points[0]["name"] if len(rd.points) == 1 else
                            "%s..%s" % (rd.points[0]["name"], rd.points[-1]["name"]))
        r = self._call(what, fn, rd.address, count=rd.count)
        data = r.bits[:rd.count] if rd.fc <= 2 else r.registers
        if len(data) < rd.count:
            raise NoAnswer("short answer from address %d on %s to %s"
                           % (self.address, self.port, what))
        return data

    def read_items(self, pts):
        """{name: raw words or bits} of the points, in as few reads as possible.
        A read the device refuses is retried point by point, so the message
        names the point it refuses."""
        if self.address == 0:
            raise ToolError("address 0 is broadcast: a read gets no answer", EXIT_USAGE)
        self.open()
        out = {}
        for rd in mbmap.plan_reads(pts):
            try:
                out.update(mbmap.split_read(rd, self._read(rd)))
            except Refused as e:
                if len(rd.points) == 1:
                    raise Refused("read %s: exception %02d, %s"
                                  % (rd.points[0]["name"], e.exc_code,
                                     READ_MEANING.get(e.exc_code, "refused")), e.exc_code)
                for p in rd.points:
                    out.update(self.read_items([p]))
        return out

    def read(self, pts):
        """{name: (value, reason)} (see mbmap.decode)."""
        pts = [mbmap.lookup(p) if isinstance(p, str) else p for p in pts]
        items = self.read_items(pts)
        return {p["name"]: mbmap.decode(p, items[p["name"]]) for p in pts}

    # -- writes --
    def write_items(self, p, words, what=None):
        what = what or "write %s" % p["name"]
        self.open()
        c = self.client
        try:
            if p["table"] == "coil":
                self._call(what, c.write_coil, p["address"], bool(words[0]))
            else:
                self._call(what, c.write_registers, p["address"], list(words))
        except Refused as e:
            raise Refused("%s refused: exception %02d, %s"
                          % (what, e.exc_code, WRITE_MEANING.get(e.exc_code, "refused")),
                          e.exc_code)

    def unlock(self, code):
        p = mbmap.lookup("access_code")
        try:
            words = mbmap.encode(p, code)
        except mbmap.MapError as e:
            raise ToolError("bad access code: %s" % e, EXIT_USAGE)
        try:
            self.write_items(p, words, "unlock")
        except Refused as e:
            if e.exc_code == 4:
                raise Refused("unlock refused: wrong access code, or code attempts blocked "
                              "after wrong ones (--code N or env GXTOOL_CODE)", 4)
            raise

    def command(self, name):
        """Send command `name` (sequencer.COMMAND_NAMES) as the command pair."""
        sq = mbmap._mods()["sequencer"]
        code = sq.COMMAND_NAMES.index(name)
        p = mbmap.lookup("command")
        self.write_items(p, [code, code ^ 0xFFFF], "command %s" % name)


# --- commands --------------------------------------------------------------------

def _need_unlock(p):
    """A configuration point: the interlocks registers.py opens with the code."""
    rg = mbmap._mods()["registers"]
    return p.get("interlock") in (rg.LOCK_NAMES[rg.L_UNLOCK], rg.LOCK_NAMES[rg.L_STOPPED])


def _access_code(args):
    if args.code is not None:
        return args.code
    env = os.environ.get("GXTOOL_CODE")
    if env is not None and env.strip():
        return env.strip()
    return DEFAULT_CODE


def cmd_read(dev, args):
    pts = [mbmap.lookup(n) for n in args.names]
    for p in pts:
        if not mbmap.readable(p):
            raise ToolError("%s is write-only (it reads as nothing)" % p["name"], EXIT_USAGE)
    vals = dev.read(pts)
    for p in pts:
        v, why = vals[p["name"]]
        print(mbmap.show(p, v, why))
    return EXIT_OK


def cmd_write(dev, args):
    p = mbmap.lookup(args.name)
    if not mbmap.writable(p):
        raise ToolError("%s is read-only (%s)" % (p["name"], p["table"].replace("_", " ")),
                        EXIT_USAGE)
    if p["name"] == "command":
        raise ToolError("use gxtool start|stop|reset|ack|mode for commands", EXIT_USAGE)
    try:
        words = mbmap.encode(p, args.value)
    except mbmap.MapError as e:
        raise ToolError(str(e), EXIT_USAGE)
    if _need_unlock(p):
        dev.unlock(_access_code(args))
    what = "write %s = %s%s" % (p["name"], args.value, (" " + p["unit"]) if p["unit"] else "")
    try:
        dev.write_items(p, words, what)
    except Refused as e:
        if e.exc_code == 4 and p.get("interlock"):
            raise Refused("%s [%s: %s]" % (e, p["name"], p["interlock"]), 4)
        raise
    if dev.address == 0:
        print("%s: sent as a broadcast (no answer, not read back)" % p["name"])
    elif mbmap.readable(p):
        v, why = dev.read([p])[p["name"]]
        print(mbmap.show(p, v, why))
    else:
        print("%s: written" % p["name"])
    return EXIT_OK


def cmd_command(dev, args):
    name = args.cmd if args.cmd != "mode" else "mode_" + args.mode
    dev.command(name)
    print("%s: %s" % (name, "sent as a broadcast (no answer)" if dev.address == 0
                      else "accepted"))
    return EXIT_OK


def _event_points():
    names = ("event_count", "event_newest_seq", "event_seq", "event_boot", "event_t_ms",
             "event_code", "event_value", "event_valid")
    return [mbmap.lookup(n) for n in names]


def read_events(dev, count=None):
    """The newest `count` entries (all held if None), newest first, as dicts
    (seq, boot, t_ms, code, value).  An entry logged while reading shifts
    the window by one: it is skipped by its seq, never shown twice."""
    pts = _event_points()
    idx_p = mbmap.lookup("event_index")
    out = []
    last_seq = None
    idx = 0
    held = None
    while count is None or len(out) < count:
        dev.write_items(idx_p, mbmap.encode(idx_p, idx), "select event %d" % idx)
        v = {n: val for n, (val, _) in dev.read(pts).items()}
        if held is None:
            held = v["event_count"] or 0
            if count is None:
                count = held
        if not v["event_valid"] or idx > held + 64:
            break
        seq = v["event_seq"]
        idx += 1
        if last_seq is not None and seq is not None and seq >= last_seq:
            continue          # the log grew: this entry was shown already
        last_seq = seq
        out.append({"seq": seq, "boot": v["event_boot"], "t_ms": v["event_t_ms"],
                    "code": v["event_code"], "value": v["event_value"]})
    return out


def _event_line(e, older=None):
    """One entry as text; `older` is the entry logged just before it (an
    EV_MB_VALUE is shown in the units of the register its write names)."""
    code = e["code"]
    t = e["t_ms"]
    ts = "%10.3f s" % (t / 1000.0) if t is not None else "         ? s"
    name = mbmap.event_name(code) if code is not None else "?"
    val = mbmap.event_value_text(code, e["value"]) if code is not None else ""
    rg = mbmap._mods()["registers"]
    if code == getattr(rg, "EV_MB_VALUE", None) and older is not None and \
            older["seq"] is not None and e["seq"] is not None and \
            older["seq"] == e["seq"] - 1 and older["value"] is not None and \
            e["value"] is not None:
        val = mbmap.event_value_of_write(older["code"], older["value"], e["value"]) or val
    return "#%-6s boot %-3s %s  %-5s %-26s %s" % (
        e["seq"], e["boot"], ts, code, name, val)


def cmd_events(dev, args):
    if args.count is not None and args.count < 1:
        raise ToolError("--count must be at least 1", EXIT_USAGE)
    evs = read_events(dev, args.count)
    if not evs:
        print("event log empty")
    for i, e in enumerate(evs):
        print(_event_line(e, evs[i + 1] if i + 1 < len(evs) else None))
    return EXIT_OK


def dump_points():
    """Every readable point reachable by its name."""
    pts = mbmap.points()
    dup = {id(p) for p in mbmap.DUPLICATES}
    return [p for p in pts if mbmap.readable(p) and id(p) not in dup]


def cmd_dump(dev, args):
    if not args.json:
        raise ToolError("dump needs --json (the only format)", EXIT_USAGE)
    pts = dump_points()
    vals = dev.read(pts)
    json.dump({p["name"]: vals[p["name"]][0] for p in pts}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_log(dev, args):
    if args.interval <= 0:
        raise ToolError("--interval must be a positive number of seconds", EXIT_USAGE)
    if args.count is not None and args.count < 1:
        raise ToolError("--count must be at least 1", EXIT_USAGE)
    pts = [mbmap.lookup(n) for n in args.names]
    for p in pts:
        if not mbmap.readable(p):
            raise ToolError("%s is write-only" % p["name"], EXIT_USAGE)
    try:
        f = open(args.csv, "w", newline="")
    except OSError as e:
        raise ToolError("cannot write %s: %s" % (args.csv, e.strerror or e), EXIT_USAGE)
    n = ok = 0
    with f:
        w = csv.writer(f)
        w.writerow(["time", "t_s"] + ["%s [%s]" % (p["name"], p["unit"]) if p["unit"]
                                       else p["name"] for p in pts])
        f.flush()
        t0 = time.monotonic()
        try:
            while args.count is None or n < args.count:
                due = t0 + n * args.interval
                left = due - time.monotonic()
                if left > 0:
                    time.sleep(left)
                now = time.time()
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)) + \
                    ".%03d" % (int(now * 1000) % 1000)
                try:
                    vals = dev.read(pts)
                    ok += 1
                    cells = [mbmap.fmt(p, vals[p["name"]][0], unit=False)
                             if vals[p["name"]][0] is not None else "" for p in pts]
                except NoAnswer as e:
                    print("gxtool: %s (row left empty)" % e, file=sys.stderr)
                    cells = [""] * len(pts)
                w.writerow([stamp, "%.3f" % (time.monotonic() - t0)] + cells)
                f.flush()
                n += 1
        except KeyboardInterrupt:
            pass
    if n and not ok:
        raise dev.no_answer()
    return EXIT_OK


# --- monitor -----------------------------------------------------------------------

MONITOR_LEFT = (
    ("Engine", ("state", "mode", "speed_rpm", "speed_ref_rpm", "fuel_pct", "oil_kpa",
                "coolant_degc", "gas_mbar", "map_kpa", "batt_v", "run_s", "starts")),
    ("Generator", ("gen_v_v", "gen_f_hz", "gen_ia_a", "gen_ib_a", "gen_ic_a", "p_kw",
                   "q_kvar", "pf", "p_ref_kw", "kwh")),
)
MONITOR_RIGHT = (
    ("Mains", ("bus_v_v", "bus_f_hz", "grid_p_kw", "grid_q_kvar", "site_kw")),
    ("Sync", ("sync_status", "phase_deg", "slip_hz")),
    ("Breakers", ("gcb_closed", "mb_closed")),
    ("Alarms", ("alarm_count", "worst_class", "first_out")),
    ("Comm", ("mb_bus_msgs", "mb_crc_errors", "mb_exceptions", "mb_writes",
              "mb_writes_refused", "unlocked_s")),
)
ALARM_WORDS = ("alarms_latched_0", "alarms_latched_1", "alarms_latched_2")


def monitor_points():
    names = [n for _, ns in MONITOR_LEFT + MONITOR_RIGHT for n in ns] + list(ALARM_WORDS)
    return [mbmap.lookup(n) for n in names]


def _cell(p, v, why):
    if p["name"] in ("gcb_closed", "mb_closed"):
        return "closed" if v else "open"
    d = mbmap.describe(p, v)
    if p["name"] in ("state", "mode", "sync_status", "worst_class", "first_out") and d:
        return d
    text = mbmap.fmt(p, v, why)
    return text + (" (%s)" % d if d else "")


def monitor_frame(dev):
    """The monitor's picture of one poll: (a rich renderable, the NoAnswer /
    Refused that kept the values from it, or None)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    pts = monitor_points()
    vals = None
    failure = None
    try:
        vals = dev.read(pts)
    except (NoAnswer, Refused) as e:
        failure = e

    def side(sections):
        t = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
        t.add_column("name", style="cyan", no_wrap=True)
        t.add_column("value", justify="right", no_wrap=True)
        for title, names in sections:
            t.add_row(Text(title, style="bold"), "")
            for n in names:
                p = mbmap.lookup(n)
                if vals is None:
                    t.add_row(n, "-")
                else:
                    t.add_row(n, _cell(p, *vals[n]))
        return t

    grid = Table.grid(padding=(0, 4))
    grid.add_column()
    grid.add_column()
    grid.add_row(side(MONITOR_LEFT), side(MONITOR_RIGHT))
    head = Text("GX230 at address %d on %s   %s" % (dev.address, dev.port,
                                                   time.strftime("%H:%M:%S")), style="bold")
    lines = [head, grid]
    if vals is not None:
        latched = mbmap.alarm_names([vals[n][0] for n in ALARM_WORDS])
        lines.append(Text("latched: " + (", ".join(latched) if latched else "none"),
                          style="red" if latched else "green"))
    lines.append(Text("this tool: %d requests, %d answers, %d no answer, %d exceptions"
                      % (dev.requests, dev.answers, dev.timeouts, dev.exceptions),
                      style="dim"))
    if failure is not None:
        lines.append(Text(str(failure), style="bold red"))
    return Group(*lines), failure


def cmd_monitor(dev, args):
    from rich.console import Console
    if args.once:
        frame, failure = monitor_frame(dev)
        if failure is not None:
            raise failure
        Console(width=max(100, Console().width)).print(frame)
        return EXIT_OK
    from rich.live import Live
    dev.open()      # a port that cannot be opened is an error, not a picture
    try:
        frame, _ = monitor_frame(dev)
        with Live(frame, auto_refresh=False, screen=True, redirect_stderr=False) as live:
            while True:
                t = time.monotonic()
                frame, _ = monitor_frame(dev)
                live.update(frame, refresh=True)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# --- command line ----------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print("gxtool: %s" % message, file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        v = None
    if v is None or not 0 < v < 1e6:
        raise argparse.ArgumentTypeError("must be a positive number of seconds, got %r" % text)
    return v


def _address(text):
    try:
        v = int(text)
    except ValueError:
        v = -1
    if not 0 <= v <= 247:
        raise argparse.ArgumentTypeError("must be 0 (broadcast) .. 247, got %r" % text)
    return v


def _link_options(p, defaults):
    """The port options, on the main parser (defaults) and on every
    subcommand (SUPPRESS: given after the command, they still count)."""
    d = (lambda v: v) if defaults else (lambda v: argparse.SUPPRESS)
    p.add_argument("--port", default=d(os.environ.get("GXTOOL_PORT")),
                   help="serial port (env GXTOOL_PORT)")
    p.add_argument("--address", type=_address, default=d(1), help="slave address (1)")
    p.add_argument("--baud", type=int, default=d(19200), help="baud rate (19200)")
    p.add_argument("--parity", choices=("N", "E", "O"), default=d("E"),
                   help="parity (E, the Modbus default; N on a pty)")
    p.add_argument("--stop", type=int, choices=(1, 2), default=d(1), help="stop bits (1)")
    p.add_argument("--timeout", type=_positive_float, default=d(1.0),
                   help="seconds to wait for an answer (1)")


def build_parser():
    p = _Parser(prog="gxtool", description="GX230 Modbus RTU master: monitor, read, write, "
                "commands, event log, dump, log")
    _link_options(p, True)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    def add(name, help_):
        s = sub.add_parser(name, help=help_)
        _link_options(s, False)
        return s

    s = add("monitor", "live table of the main values (Ctrl-C ends it)")
    s.add_argument("--once", action="store_true", help="print one frame and exit")
    s = add("read", "read points by name")
    s.add_argument("names", nargs="+", metavar="NAME")
    s = add("write", "write one point (unlocks a configuration point first)")
    s.add_argument("name", metavar="NAME")
    s.add_argument("value", metavar="VALUE")
    s.add_argument("--code", default=None, help="access code (env GXTOOL_CODE, default %d)"
                   % DEFAULT_CODE)
    for c in ("start", "stop", "reset", "ack"):
        add(c, "command: %s" % c)
    s = add("mode", "command: operating mode")
    s.add_argument("mode", choices=("auto", "manual", "off"))
    s = add("events", "the event log, newest first")
    s.add_argument("--count", type=int, default=None, help="newest N entries (all)")
    s = add("dump", "every readable point")
    s.add_argument("--json", action="store_true", help="JSON to stdout")
    s = add("log", "record points to a CSV file")
    s.add_argument("--csv", required=True, metavar="FILE")
    s.add_argument("--interval", type=_positive_float, required=True, metavar="S")
    s.add_argument("--count", type=int, default=None, metavar="N")
    s.add_argument("names", nargs="+", metavar="NAME")
    return p


COMMANDS = {"monitor": cmd_monitor, "read": cmd_read, "write": cmd_write,
            "start": cmd_command, "stop": cmd_command, "reset": cmd_command,
            "ack": cmd_command, "mode": cmd_command, "events": cmd_events,
            "dump": cmd_dump, "log": cmd_log}


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if args.cmd is None:
        p.print_help(sys.stderr)
        return EXIT_USAGE
    if not args.port:
        p.print_usage(sys.stderr)
        print("gxtool: --port is required (or set GXTOOL_PORT)", file=sys.stderr)
        return EXIT_USAGE
    dev = Device(args.port, args.address, args.baud, args.parity, args.stop, args.timeout)
    try:
        with dev:
            return COMMANDS[args.cmd](dev, args)
    except ToolError as e:
        print("gxtool: %s" % e, file=sys.stderr)
        return e.code
    except mbmap.MapError as e:
        print("gxtool: %s" % e, file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("gxtool: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        # Never a traceback to a user; GXTOOL_DEBUG=1 shows it for developers.
        if os.environ.get("GXTOOL_DEBUG"):
            raise
        print("gxtool: internal error: %s: %s (set GXTOOL_DEBUG=1 for details)"
              % (type(e).__name__, e), file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
