"""Plant parameter tables: every parameter's default beside its physical limits.

Each plant module (and ggov1.py) declares one table, NAME_PARAMS = {name:
Param(default, lo, hi, unit, why)}, and derives its NAME_DEFAULTS dict from
it, so the default, the range a scenario may set and the reason for that
range are written once, in the module whose equations use the value.
scenario.py checks a scenario's [plant] and [ggov1] tables against these
tables (`refusal`) and against each module's cross-parameter RULES; the tests
read the same tables.

A parameter whose default is an int is an integer (cylinders, ring-gear
teeth): 6.0 is refused there, as f_nom_hz = 60.0 is.  Every range is closed
and finite, excludes the values an equation divides by zero at, and keeps
each explicit first-order step (a = dt / tau at dt = 1 ms) well inside its
stable region.
"""

from collections import namedtuple

Param = namedtuple("Param", "default lo hi unit why")


def defaults(table):
    """{name: default} from a NAME_PARAMS table."""
    return {k: p.default for k, p in table.items()}


def is_integer(p):
    return isinstance(p.default, int) and not isinstance(p.default, bool)


def fmt(x):
    """A limit as a person writes it: 1, 0.05, 2147483647, 1e-06."""
    if isinstance(x, int):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e15:
        return "%d" % x
    return repr(float(x))


def refusal(p, value):
    """None if `value` is allowed for Param `p`, else the reason, e.g.
    "must be a number between 1 and 50 (kg m^2)" (the caller names the
    field and shows the value)."""
    integer = is_integer(p)
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not (p.lo <= value <= p.hi):
        return "must be %s between %s and %s (%s)" % (
            "an integer" if integer else "a number", fmt(p.lo), fmt(p.hi), p.unit)
    return None


def value(p, v):
    """The checked value in the type the model uses (float unless integer)."""
    return int(v) if is_integer(p) else float(v)
