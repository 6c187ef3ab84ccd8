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


def _cmd_run(args):
    from . import sim, report, runtime
    try:
        sc = sc_mod.load(args.scenario)
    except sc_mod.ScenarioError as e:
        print("gxsim: bad scenario: %s" % e, file=sys.stderr)
        return 2
    out = args.out or os.path.join("out", sc["name"])
    t0 = time.perf_counter()
    try:
        r = sim.run(sc, args.runtime, seed=args.seed)
    except runtime.RuntimeError_ as e:
        print("gxsim: %s" % e, file=sys.stderr)
        return 3
    wall = time.perf_counter() - t0
    rep = report.build(r, wall)
    report.write_all(r, rep, out, plot=not args.no_plot)
    print(report.summary_text(rep))
    print("wrote %s/report.json, trace.csv%s" % (out, "" if args.no_plot else ", plot.png"))
    return 0


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
