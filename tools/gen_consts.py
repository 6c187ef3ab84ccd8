"""Write the local copies of other modules' constants into firmware modules
(and the boards' shared modules, boards/common).

Why: MicroPython folds a `const()` name only inside the module that defines
it.  `hal.DI_GCB_CLOSED` in another module is a global load plus a module
attribute look-up on every use (~270 Cortex-M0 instructions); a private
`_DI_GCB_CLOSED = const(4)` in the module itself costs nothing at run time.
The copies are generated here from the defining module, never written by
hand, and `tests/test_gen_consts.py` fails if one is out of step.

A firmware module opts in with a block:

    # -- constants of hal, protection (tools/gen_consts.py; do not edit) --
    ... generated lines ...
    # -- end of generated constants --

The block then holds `_NAME = const(value)  # module.NAME` for every `_NAME`
the module uses whose NAME is a `NAME = const(...)` of one of the listed
modules (a name in two of them, or also defined by the module itself, is an
error).

  python -m tools.gen_consts            rewrite the blocks
  python -m tools.gen_consts --check    exit 1 naming each block out of date
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW = os.path.join(ROOT, "firmware")
BOARDS = os.path.join(ROOT, "boards", "common")

_BEGIN = re.compile(r"^# -- constants of ([a-z0-9_, ]+) \(tools/gen_consts\.py; do not edit\) --$")
_END = "# -- end of generated constants --"
_CONST_DEF = re.compile(r"^([A-Z][A-Z0-9_]*) = const\(", re.M)
_USE = re.compile(r"\b_([A-Z][A-Z0-9_]*)\b")
_LOCAL_DEF = re.compile(r"^(_[A-Z][A-Z0-9_]*)\s*=", re.M)


class GenError(Exception):
    pass


def _consts_of(name):
    """{NAME: int value} for the module's `NAME = const(...)` lines."""
    path = os.path.join(FW, name + ".py")
    if not os.path.exists(path):
        raise GenError("%s: no such firmware module" % name)
    with open(path) as f:
        names = _CONST_DEF.findall(f.read())
    if FW not in sys.path:
        sys.path.insert(0, FW)
    mod = __import__(name)
    out = {}
    for n in names:
        v = getattr(mod, n)
        if not isinstance(v, int) or isinstance(v, bool):
            raise GenError("%s.%s: not an int" % (name, n))
        out[n] = v
    return out


def _split(text, path):
    """(head, sources, body_lines, tail) or None if the module has no block."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = _BEGIN.match(line)
        if m:
            break
    else:
        return None
    try:
        j = lines.index(_END, i + 1)
    except ValueError:
        raise GenError("%s: block not closed by %r" % (path, _END))
    srcs = [s.strip() for s in m.group(1).split(",") if s.strip()]
    return lines[:i + 1], srcs, lines[i + 1:j], lines[j:]


def block_for(path):
    """(current block lines, wanted block lines) of one module, or None."""
    with open(path) as f:
        text = f.read()
    parts = _split(text, path)
    if parts is None:
        return None
    head, srcs, body, tail = parts
    rest = "\n".join(head[:-1] + tail)
    local = set(_LOCAL_DEF.findall(rest))
    tables = [(s, _consts_of(s)) for s in srcs]
    wanted = []
    seen = set()
    for name in _USE.findall(rest):
        if name in seen:
            continue
        seen.add(name)
        hits = [(s, t[name]) for s, t in tables if name in t]
        if not hits:
            continue
        if len(hits) > 1:
            raise GenError("%s: _%s is in %s" % (path, name, " and ".join(s for s, _ in hits)))
        if "_" + name in local:
            raise GenError("%s: _%s is defined here and in %s" % (path, name, hits[0][0]))
        wanted.append((srcs.index(hits[0][0]), name, hits[0][0], hits[0][1]))
    wanted.sort()
    lines = ["_%s = const(%d)  # %s.%s" % (n, v, s, n) for _, n, s, v in wanted]
    return body, lines


def modules():
    """The firmware's modules and the boards' shared ones (both run on a board)."""
    out = []
    for d in (FW, BOARDS):
        if os.path.isdir(d):
            out += sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".py"))
    return out


def run(check):
    stale = []
    for path in modules():
        got = block_for(path)
        if got is None:
            continue
        body, lines = got
        if body == lines:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not check:
            with open(path) as f:
                head, srcs, _, tail = _split(f.read(), path)
            with open(path, "w") as f:
                f.write("\n".join(head + lines + tail))
    return stale


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    try:
        stale = run(check)
    except GenError as e:
        print("gen_consts: %s" % e)
        return 2
    for p in stale:
        print("gen_consts: %s %s" % (p, "is out of date (python -m tools.gen_consts)"
                                     if check else "rewritten"))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
