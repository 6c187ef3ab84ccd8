"""gxsim: run GX230 scenarios against the unchanged firmware.

  gxsim run SCENARIO [--runtime cpython|micropython] [--out DIR] [--seed N] [--no-plot]
  gxsim list
Exit codes: 0 ok, 2 bad scenario or arguments (one clear message, nothing
run), 3 the firmware or its link failed.
"""

import argparse
import os
import sys
import time

from . import scenario as sc_mod


def _cmd_list(args):
    for n in sc_mod.builtin_names():
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
                   no_plot=False, setup_errors=()):
    """Load a scenario, run it on the runtime make_runtime() builds, write
    report.json / trace.csv / plot.png and print the summary.  Shared by
    gxsim and tools.hil.  Returns (exit code, scenario, result or None):
    2 bad scenario or a setup error (setup_errors: exception types meaning
    the runtime could not be set up, e.g. a missing serial port), 3 the
    firmware or its link failed."""
    from . import sim, report
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
    if out is None:
        out = os.path.join("out", sc["name"] + out_suffix)
    why = out_dir_problem(out)
    if why:
        print("%s: bad --out: %s" % (prog, why), file=sys.stderr)
        return 2, sc, None
    t0 = time.perf_counter()
    try:
        r = sim.run(sc, make_runtime(), seed=seed)
    except setup_errors as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 2, sc, None
    except NoOperatingPoint as e:
        print("%s: bad scenario: %s" % (prog, e), file=sys.stderr)
        return 2, sc, None
    except RuntimeError_ as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 3, sc, None
    wall = time.perf_counter() - t0
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


def _cmd_run(args):
    code, _, _ = run_and_report("gxsim", args.scenario, lambda: args.runtime, seed=args.seed,
                                out=args.out, no_plot=args.no_plot)
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
    r.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    r.add_argument("--out", default=None, help="output directory (default out/<scenario>)")
    r.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    r.add_argument("--no-plot", action="store_true", help="skip plot.png")
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
