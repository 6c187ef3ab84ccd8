"""Generate firmware/curves.py, the inverse-time (ANSI 51) overcurrent tables.

  python -m tools.gen_curves            write firmware/curves.py
  python -m tools.gen_curves --check    exit 1 if firmware/curves.py is stale
  python -m tools.gen_curves --report   print the grid and the worst errors

This file is the single source of truth for the curve formulas; the firmware
never sees them, only the table written here (floats exist on the host only).

Curves, operate time t in seconds at a multiple M = I / pickup:
  IEC 60255-151   t = TMS * k / (M^a - 1)
      standard inverse   k = 0.14   a = 0.02
      very inverse       k = 13.5   a = 1
      extremely inverse  k = 80     a = 2
      long-time inverse  k = 120    a = 1
  IEEE C37.112    t = TD * (A / (M^p - 1) + B)
      moderately inverse A = 0.0515 B = 0.114  p = 0.02
      very inverse       A = 19.61  B = 0.491  p = 2
      extremely inverse  A = 28.2   B = 0.1217 p = 2

The firmware integrates an operate *rate* rather than timing: at TMS 1 the
element must reach 1e6 ppm after t(M) seconds, so rate(M) = 1e6 / t(M) ppm/s,
and a TMS (or TD) divides it.  The rate, unlike the time, is finite and
smooth down to M = 1 (it goes to 0 there), so it can be interpolated
linearly, and integrating it handles a current that changes during the fault.

Grid: one M grid (x100) shared by every curve, from M = 1.00 (rate 0) to 20
(above 20 the firmware holds the last rate: definite minimum time, as the
IEC curves are specified up to 20 x pickup).  It is chosen greedily: from
each grid point, the next is the farthest M_x100 such that, for every curve,
linear interpolation between the two *rounded integer* rates is within
ERR_TARGET of the formula's time at every sampled M in between.  So the
table is fine near pickup, where the curves bend, and coarse at high M.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "firmware", "curves.py")

# (code name, short name, family, constants, formula for the comment)
CURVES = (
    ("CURVE_IEC_SI", "iec_si", "iec", (0.14, 0.02), "t = TMS * 0.14 / (M^0.02 - 1)"),
    ("CURVE_IEC_VI", "iec_vi", "iec", (13.5, 1.0), "t = TMS * 13.5 / (M - 1)"),
    ("CURVE_IEC_EI", "iec_ei", "iec", (80.0, 2.0), "t = TMS * 80 / (M^2 - 1)"),
    ("CURVE_IEC_LTI", "iec_lti", "iec", (120.0, 1.0), "t = TMS * 120 / (M - 1)"),
    ("CURVE_IEEE_MI", "ieee_mi", "ieee", (0.0515, 0.114, 0.02),
     "t = TD * (0.0515 / (M^0.02 - 1) + 0.114)"),
    ("CURVE_IEEE_VI", "ieee_vi", "ieee", (19.61, 0.491, 2.0),
     "t = TD * (19.61 / (M^2 - 1) + 0.491)"),
    ("CURVE_IEEE_EI", "ieee_ei", "ieee", (28.2, 0.1217, 2.0),
     "t = TD * (28.2 / (M^2 - 1) + 0.1217)"),
)
CURVE_NAMES = tuple(c[1] for c in CURVES)

M_MIN_X100 = 100       # pickup: rate 0
M_MAX_X100 = 2000      # top of the grid; the rate is held above it
ERR_TARGET = 0.005     # 0.5 % of the time, half the 1 % the tests allow
_SAMPLES = 100         # samples per candidate segment
FULL_PPM = 1000000
FROZEN_INT_MAX = 8191  # largest int a frozen constant tuple keeps as a small int


def time_s(code, m, tms=1.0):
    """Operate time in seconds of curve `code` at multiple m > 1, TMS/TD tms."""
    fam, c = CURVES[code][2], CURVES[code][3]
    if fam == "iec":
        k, a = c
        return tms * k / (m ** a - 1.0)
    a, b, p = c
    return tms * (a / (m ** p - 1.0) + b)


def rate_ppm_s(code, m):
    """Exact (float) operate rate at TMS 1: 1e6 / t(M) ppm/s, 0 at M <= 1."""
    if m <= 1.0:
        return 0.0
    return FULL_PPM / time_s(code, m)


def table_rate(code, m_x100):
    """The integer rate the table stores at grid point m_x100."""
    return int(round(rate_ppm_s(code, m_x100 / 100.0)))


def _segment_err(p, q):
    """Worst |time error| (fraction) over all curves of interpolating the
    integer rates linearly between grid points p and q (M x100)."""
    worst = 0.0
    for code in range(len(CURVES)):
        r0, r1 = table_rate(code, p), table_rate(code, q)
        for j in range(0 if p > M_MIN_X100 else 1, _SAMPLES + 1):
            f = j / _SAMPLES
            m = (p + (q - p) * f) / 100.0
            lerp = r0 + (r1 - r0) * f
            e = abs(rate_ppm_s(code, m) / lerp - 1.0)
            if e > worst:
                worst = e
    return worst


def build_grid(err_target=ERR_TARGET):
    """Greedy M_x100 grid: each step as long as the error target allows."""
    ok = lambda p, s: _segment_err(p, p + s) <= err_target
    grid = [M_MIN_X100]
    p = M_MIN_X100
    while p < M_MAX_X100:
        room = M_MAX_X100 - p
        # The error grows with the step: bracket the longest good step by
        # doubling, then bisect.  A step of 0.01 is taken even if it fails.
        good, bad = 1, 2
        while bad <= room and ok(p, bad):
            good, bad = bad, bad * 2
        if bad > room:
            if ok(p, room):
                good = room
            else:
                bad = room
        while bad - good > 1 and good < room:
            mid = (good + bad) // 2
            if ok(p, mid):
                good = mid
            else:
                bad = mid
        p += good
        grid.append(p)
    return tuple(grid)


def build_tables(grid=None):
    """(grid, rates): rates[code] is the tuple of integer rates on grid."""
    if grid is None:
        grid = build_grid()
    rates = tuple(tuple(table_rate(code, m) for m in grid) for code in range(len(CURVES)))
    return grid, rates


def interp_rate(grid, rates, m):
    """Float replica of the table lookup, for the report (the tests use the
    firmware's own integer lookup)."""
    mx = m * 100.0
    if mx >= grid[-1]:
        return float(rates[-1])
    for k in range(len(grid) - 1):
        if grid[k] <= mx < grid[k + 1]:
            f = (mx - grid[k]) / (grid[k + 1] - grid[k])
            return rates[k] + (rates[k + 1] - rates[k]) * f
    return 0.0


def _wrap(items, indent, width=99):
    lines, cur = [], indent
    for s in items:
        piece = s + ","
        if len(cur) + len(piece) + 1 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += piece + " "
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def render(grid=None, rates=None):
    """Text of firmware/curves.py."""
    if rates is None:
        grid, rates = build_tables(grid)
    # M_X100 is written as a constant tuple: frozen, that is only safe for
    # ints within +-8191 (tests/test_frozen_constants.py).
    assert all(-FROZEN_INT_MAX <= m <= FROZEN_INT_MAX for m in grid), "M_X100 needs tuple([...])"
    out = [
        '"""Inverse-time overcurrent curve tables: generated by tools/gen_curves.py, do not edit.',
        "",
        "Data only; overcurrent.py (InverseTime) uses it, tools/gen_curves.py has the",
        "formulas and how the grid was chosen.  M_X100 is the multiple of pickup at",
        "each grid point, x100 (%d points, M = %d.%02d .. %d.%02d).  RATES_PPM_S[curve][k] is"
        % (len(grid), grid[0] // 100, grid[0] % 100, grid[-1] // 100, grid[-1] % 100),
        "the operate rate at M_X100[k] and TMS (TD) 1, in ppm of the trip per",
        "second: 1e6 / t(M), rounded.  Interpolated linearly it is within %.1f %% of"
        % (ERR_TARGET * 100),
        "the formula's time for every M on the grid.",
        "",
        "Each curve's rates are built at import from a list (tuple([...])), not",
        "written as a tuple literal: a constant tuple frozen into a board image",
        "keeps its ints beyond +-8191 as read-only bigints, which allocate on every",
        "use in the tick (issue 11).  M_X100 stays a constant tuple: its ints are small.",
        '"""',
        "",
        "from fixpt import const",
        "",
    ]
    for code, c in enumerate(CURVES):
        out.append("%s = const(%d)" % (c[0], code))
    out.append("N_CURVES = const(%d)" % len(CURVES))
    out.append("N_GRID = const(%d)" % len(grid))
    out.append("")
    out.append("CURVE_NAMES = (" + ", ".join('"%s"' % n for n in CURVE_NAMES) + ")")
    out.append("")
    out.append("M_X100 = (")
    out.extend(_wrap(["%d" % m for m in grid], "    "))
    out.append(")")
    out.append("")
    out.append("RATES_PPM_S = (")
    for code, c in enumerate(CURVES):
        out.append("    # %s: %s" % (c[1], c[4]))
        out.append("    tuple([")
        out.extend(_wrap(["%d" % r for r in rates[code]], "        "))
        out.append("    ]),")
    out.append(")")
    return "\n".join(out) + "\n"


def worst_errors(grid, rates, lo=1.05, hi=20.0, step=0.001):
    """Worst |time error| per curve of the float replica over [lo, hi]."""
    res = []
    for code in range(len(CURVES)):
        worst, at = 0.0, lo
        n = int(round((hi - lo) / step))
        for j in range(n + 1):
            m = lo + j * step
            e = abs(rate_ppm_s(code, m) / interp_rate(grid, rates[code], m) - 1.0)
            if e > worst:
                worst, at = e, m
        res.append((worst, at))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.gen_curves", description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if %s is stale" % os.path.relpath(OUT, ROOT))
    ap.add_argument("--report", action="store_true", help="print the grid and worst errors")
    ap.add_argument("--out", default=OUT, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    grid, rates = build_tables()
    text = render(grid, rates)
    if a.report:
        print("grid: %d points: %s" % (len(grid), " ".join("%d" % m for m in grid)))
        for code, (e, at) in enumerate(worst_errors(grid, rates)):
            print("%-8s worst %.3f %% at M = %.3f" % (CURVE_NAMES[code], e * 100, at))
        return 0
    if a.check:
        try:
            with open(a.out) as fh:
                cur = fh.read()
        except OSError:
            cur = None
        if cur != text:
            print("%s is stale: run python -m tools.gen_curves" % a.out, file=sys.stderr)
            return 1
        print("%s is up to date" % a.out)
        return 0
    with open(a.out, "w") as fh:
        fh.write(text)
    print("wrote %s: %d grid points x %d curves" % (a.out, len(grid), len(CURVES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
