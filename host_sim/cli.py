"""gxsim: run GX230 scenarios against the unchanged firmware.

  gxsim run SCENARIO [--runtime cpython|micropython|micropython32] [--out DIR] [--seed N] [--no-plot]
                     [--duration S] [--realtime [--modbus-pty PATH]]
  gxsim list
--realtime paces the run to the wall clock (Ctrl-C ends it early, outputs
written as usual); --modbus-pty PATH serves the firmware's Modbus RTU slave
on a pty linked at PATH (open it 8N1: a pty carries no parity).
Exit codes: 0 ok, 2 bad scenario or arguments (one clear message, nothing
run), 3 the firmware or its link failed.
"""

import argparse
import os
import sys
import time

from . import scenario as sc_mod


def _cmd_list(args):
    for n in sc_mod.builtin_names() + sc_mod.fleet_builtin_names():
        try:
            d = sc_mod.load(n)["description"]
        except sc_mod.ScenarioError as e:
            d = "(broken: %s)" % e
        print("%-22s %s" % (n, d))
    return 0


OUTPUT_FILES = ("report.json", "trace.csv", "plot.png")


def out_dir_problem(out):
    """Why the run's outputs could not be written to directory `out`, or
    None: checked before the run, so a bad --out costs nothing.  Nothing is
    created here; the nearest existing ancestor must be a writable
    directory, and whatever already exists on the way must be one too."""
    if not out:
        return "must be a directory path, got an empty string"
    if "\0" in out:
        return "must not contain a NUL character"
    for part in out.split(os.sep):
        if len(os.fsencode(part)) > 255:
            return "%s: a path component longer than 255 bytes" % sc_mod._show(part)
    if os.path.lexists(out):
        if not os.path.isdir(out):
            return "%s exists and is not a directory" % sc_mod._path(out)
        if not os.access(out, os.W_OK | os.X_OK):
            return "%s: no permission to write there" % sc_mod._path(out)
        for f in OUTPUT_FILES:
            p = os.path.join(out, f)
            if os.path.lexists(p) and not os.path.isfile(p):
                return "%s exists and is not a regular file" % sc_mod._path(p)
            if os.path.isfile(p) and not os.access(p, os.W_OK):
                return "%s: no permission to overwrite it" % sc_mod._path(p)
        return None
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return "%s is not a directory, so %s cannot be created under it" % (
            sc_mod._path(parent), sc_mod._path(out))
    if not os.access(parent, os.W_OK | os.X_OK):
        return "%s: no permission to create %s there" % (sc_mod._path(parent),
                                                          sc_mod._path(out))
    return None


def run_and_report(prog, scenario, make_runtime, seed=None, out=None, out_suffix="",
                   no_plot=False, setup_errors=(), make_port=None, duration=None):
    """Load a scenario, run it on the runtime make_runtime() builds, write
    report.json / trace.csv / plot.png and print the summary.  Shared by
    gxsim and tools.hil.  Returns (exit code, scenario, result or None):
    2 bad scenario or a setup error (setup_errors: exception types meaning
    the runtime could not be set up, e.g. a missing serial port), 3 the
    firmware or its link failed.  duration: seconds, replacing the
    scenario's duration_s.  make_port(sc): the sim.run port (modbus_port.py)
    for this scenario, made after the scenario and --out are checked and
    closed after the run; it may raise modbus_port.PtyError (exit 2).  A run
    the port ended early (Ctrl-C) reports the time it simulated."""
    from . import sim, report
    from .modbus_port import PtyError
    from .errors import RuntimeError_, NoOperatingPoint
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)
                             or not 0 <= seed <= sc_mod.SEED_MAX):
        print("%s: bad --seed: must be an integer between 0 and %d, got %s"
              % (prog, sc_mod.SEED_MAX, sc_mod._show(seed)), file=sys.stderr)
        return 2, None, None
    try:
        sc = sc_mod.load(scenario)
    except sc_mod.ScenarioError as e:
        print("%s: bad scenario: %s" % (prog, e), file=sys.stderr)
        return 2, None, None
    if duration is not None:
        sc["duration_s"] = float(duration)
    if sc.get("fleet"):
        return _run_stack(prog, sc, make_runtime, seed, out, out_suffix, no_plot, make_port)
    if out is None:
        out = os.path.join("out", sc["name"] + out_suffix)
    why = out_dir_problem(out)
    if why:
        print("%s: bad --out: %s" % (prog, why), file=sys.stderr)
        return 2, sc, None
    port = None
    if make_port is not None:
        try:
            port = make_port(sc)
        except PtyError as e:
            print("%s: %s" % (prog, e), file=sys.stderr)
            return 2, sc, None
    t0 = time.perf_counter()
    try:
        r = sim.run(sc, make_runtime(), seed=seed, port=port)
    except (setup_errors or ()) + (PtyError,) as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 2, sc, None
    except NoOperatingPoint as e:
        print("%s: bad scenario: %s" % (prog, e), file=sys.stderr)
        return 2, sc, None
    except RuntimeError_ as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 3, sc, None
    finally:
        if port is not None:
            port.close()
    wall = time.perf_counter() - t0
    if r.n_ticks * r.tick_s < sc["duration_s"] - 1e-9:
        # Ended early (a realtime session's Ctrl-C): report what was simulated.
        sc["duration_s"] = round(r.n_ticks * r.tick_s, 6)
    rep = report.build(r, wall)
    try:
        report.write_all(r, rep, out, plot=not no_plot)
    except OSError as e:
        # Checked before the run; this is the disk filling up or the
        # directory changing under us meanwhile.
        print("%s: cannot write the outputs to %s: %s"
              % (prog, sc_mod._path(out), e.strerror or e), file=sys.stderr)
        return 2, sc, r
    print(report.summary_text(rep))
    print("wrote %s/report.json, trace.csv%s" % (out, "" if no_plot else ", plot.png"))
    return 0, sc, r


def _run_stack(prog, sc, make_runtime, seed, out, out_suffix, no_plot, make_port):
    """A stack scenario ([[units]]: fleetsim.py): every unit in the named
    runtime, the outputs written as for a single set."""
    from . import fleetsim, fleetreport
    from .errors import RuntimeError_
    if make_port is not None:
        print("%s: %s is a stack: --realtime and --modbus-pty serve a single set"
              % (prog, sc["name"]), file=sys.stderr)
        return 2, sc, None
    runtime = make_runtime()
    if not isinstance(runtime, str):
        print("%s: %s is a stack: it runs in the simulator's runtimes (each unit its own), "
              "not on one board" % (prog, sc["name"]), file=sys.stderr)
        return 2, sc, None
    if out is None:
        out = os.path.join("out", sc["name"] + out_suffix)
    why = out_dir_problem(out)
    if why:
        print("%s: bad --out: %s" % (prog, why), file=sys.stderr)
        return 2, sc, None
    t0 = time.perf_counter()
    try:
        r = fleetsim.run(sc, runtime, seed=seed)
    except RuntimeError_ as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 3, sc, None
    wall = time.perf_counter() - t0
    rep = fleetreport.build(r, wall)
    try:
        fleetreport.write_all(r, rep, out, plot=not no_plot)
    except OSError as e:
        print("%s: cannot write the outputs to %s: %s"
              % (prog, sc_mod._path(out), e.strerror or e), file=sys.stderr)
        return 2, sc, r
    print(fleetreport.summary_text(rep))
    print("wrote %s/report.json, trace.csv%s" % (out, "" if no_plot else ", plot.png"))
    return 0, sc, r


def _duration(text):
    """--duration S: a positive, finite number of seconds, or None (with a message)."""
    try:
        d = float(text)
    except ValueError:
        d = None
    if d is None or not (0.0 < d <= 3600.0):
        # A scenario's own limit: the trace of a longer run would not fit.
        print("gxsim: bad --duration: must be a number of seconds above 0, at most 3600, "
              "got %s" % sc_mod._show(text), file=sys.stderr)
        return None
    return d


def _realtime_port(args):
    """make_port for run_and_report: --realtime pacing, with the Modbus pty
    when --modbus-pty is given (None: neither asked for)."""
    if not args.realtime:
        return None

    def make(sc):
        from . import sim
        from . import modbus_port as mp
        scripted = any(e["kind"] == "modbus" for e in sc["events"])
        if args.modbus_pty is None:
            inner = mp.ScriptPort(sc, sim.firmware_config(sc)) if scripted else None
            return mp.Realtime(inner=inner)
        if scripted:
            raise mp.PtyError("--modbus-pty: scenario %s has scripted Modbus events; they "
                              "and a live master would share the one UART" % sc["name"])
        cfg = sim.firmware_config(sc)
        path = args.modbus_pty

        def ready():
            print("modbus: serving %s (%d 8N1 on a pty; address %d)"
                  % (path, cfg.mb_baud, cfg.mb_address), file=sys.stderr, flush=True)
        return mp.PtyPort(path, ready=ready)
    return make


def _cmd_run(args):
    duration = None
    if args.duration is not None:
        duration = _duration(args.duration)
        if duration is None:
            return 2
    if args.modbus_pty is not None and not args.realtime:
        print("gxsim: --modbus-pty needs --realtime (the pty is served on the wall clock)",
              file=sys.stderr)
        return 2
    code, _, _ = run_and_report("gxsim", args.scenario, lambda: args.runtime, seed=args.seed,
                                out=args.out, no_plot=args.no_plot,
                                make_port=_realtime_port(args), duration=duration)
    return code


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print("gxsim: %s" % message, file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    p = _Parser(prog="gxsim", description="GX230 controller simulator")
    sub = p.add_subparsers(dest="cmd")
    r = sub.add_parser("run", help="run a scenario (a .toml path or a built-in name)")
    r.add_argument("scenario")
    r.add_argument("--runtime", choices=("cpython", "micropython", "micropython32"),
                   default="cpython")
    r.add_argument("--out", default=None, help="output directory (default out/<scenario>)")
    r.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    r.add_argument("--no-plot", action="store_true", help="skip plot.png")
    r.add_argument("--duration", default=None, metavar="S",
                   help="simulate S seconds instead of the scenario's duration_s")
    r.add_argument("--realtime", action="store_true",
                   help="pace the run to the wall clock (Ctrl-C ends it, outputs written)")
    r.add_argument("--modbus-pty", default=None, metavar="PATH",
                   help="with --realtime: serve the firmware's Modbus RTU slave on a pty "
                        "linked at PATH (19200 8N1; a pty has no parity)")
    sub.add_parser("list", help="list built-in scenarios")
    args = p.parse_args(argv)
    try:
        if args.cmd == "run":
            return _cmd_run(args)
        if args.cmd == "list":
            return _cmd_list(args)
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("gxsim: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        # Never a traceback to a user; GXSIM_DEBUG=1 shows it for developers.
        if os.environ.get("GXSIM_DEBUG"):
            raise
        print("gxsim: internal error: %s: %s (set GXSIM_DEBUG=1 for details)"
              % (type(e).__name__, e), file=sys.stderr)
        return 1
    p.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
