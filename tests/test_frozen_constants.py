"""No int that would be frozen as a read-only bigint (issue 11, part 1).

When the firmware is frozen into a board image (mpy-tool.py), a tuple literal
whose elements are all compile-time constants becomes one constant object, and
every int in it outside +-8191 is stored as a read-only bigint: arithmetic on
it allocates on every use, inside the heap-locked control tick.  Loaded as
.mpy the same code is fine, so no runtime test sees it; this AST check does.

Rules, over every file that can be frozen (firmware/*.py, boards/**/*.py):
  1. a constant tuple (an ast.Tuple, at any level, whose elements are all
     compile-time constants: int/float/str/bytes/None/bool literals, names
     bound by `NAME = const(...)`, unary +-~ and arithmetic on those, and
     nested constant tuples) holds no int with |v| > 8191;
  2. no compile-time int anywhere in the file - a literal, a const() value,
     a folded expression or any step of one - lies outside the 31-bit
     small-int range [-2**30, 2**30 - 1]: it is a bigint on a 32-bit port.
     A step counts because a 32-bit parser folds through a bigint and keeps
     the result as one: -1073741824 is minus the bigint 2**30, while
     -1073741823 - 1 folds to a small int.
The folding is deliberately generous (it folds more than MicroPython's parser
may), so it can only flag more, never less.
"""

import ast
import glob
import os

from conftest import ROOT

FROZEN_INT_MAX = 8191          # mpy-tool keeps ints in constant tuples as small ints up to this
SMALL_INT_MIN = -(1 << 30)     # 31-bit small ints on 32-bit ports
SMALL_INT_MAX = (1 << 30) - 1

_NOT_CONST = object()


def frozen_sources():
    """Every .py file that can be frozen into a board image, relative to ROOT."""
    files = glob.glob(os.path.join(ROOT, "firmware", "*.py"))
    files += glob.glob(os.path.join(ROOT, "boards", "**", "*.py"), recursive=True)
    return sorted(os.path.relpath(f, ROOT) for f in files)


def _const_call(node):
    """The argument of a bare `const(x)` call, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "const" and len(node.args) == 1 and not node.keywords):
        return node.args[0]
    return None


_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b, ast.Div: lambda a, b: a / b,
    ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b, ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b, ast.Pow: lambda a, b: a ** b,
}
_UNOPS = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a, ast.Invert: lambda a: ~a}


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Checker:
    def __init__(self, tree):
        self.consts = {}
        self.findings = []
        self._seen = set()
        # Every `NAME = const(...)` in the file, in source order (the parser
        # inlines them; const() of an earlier const() folds too).
        for node in ast.walk(tree):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                arg = _const_call(node.value)
                if arg is not None:
                    v = self.fold(arg)
                    if v is not _NOT_CONST:
                        self.consts[node.targets[0].id] = v

    def fold(self, node):
        """The compile-time value of an expression, or _NOT_CONST."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            return self.consts.get(node.id, _NOT_CONST)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            v = self.fold(node.operand)
            if _is_num(v) and not (isinstance(node.op, ast.Invert) and isinstance(v, float)):
                return _UNOPS[type(node.op)](v)
            return _NOT_CONST
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            a, b = self.fold(node.left), self.fold(node.right)
            if not (_is_num(a) and _is_num(b)):
                return _NOT_CONST
            if isinstance(node.op, (ast.LShift, ast.Pow)) and isinstance(b, int) and b > 256:
                return _NOT_CONST            # not worth folding; never in firmware
            try:
                return _BINOPS[type(node.op)](a, b)
            except (ArithmeticError, TypeError, ValueError):
                return _NOT_CONST
        if isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load):
            vals = tuple(self.fold(e) for e in node.elts)
            return _NOT_CONST if any(v is _NOT_CONST for v in vals) else vals
        arg = _const_call(node)
        if arg is not None:
            return self.fold(arg)
        return _NOT_CONST

    def report(self, node, value, why, per_line=False):
        key = (node.lineno, value, why) if per_line else (node.lineno, node.col_offset, why)
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append((node.lineno, value, why))

    def _tuple_ints(self, tup):
        """Yield (node, value) for every int element of a tuple, through nested tuples."""
        for e in tup.elts:
            if isinstance(e, ast.Tuple):
                yield from self._tuple_ints(e)
            else:
                v = self.fold(e)
                if isinstance(v, int) and not isinstance(v, bool):
                    yield e, v

    def check(self, tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load):
                if self.fold(node) is not _NOT_CONST:
                    for e, v in self._tuple_ints(node):
                        if abs(v) > FROZEN_INT_MAX:
                            self.report(e, v, "int in a constant tuple")
        self._check_small_int_range(tree)
        self.findings.sort()
        return self.findings

    def _check_small_int_range(self, tree):
        """Rule 2 on every compile-time int expression and every step of it."""
        for node in ast.walk(tree):
            if isinstance(node, ast.expr) and not isinstance(node, ast.Tuple):
                v = self.fold(node)
                if isinstance(v, int) and not isinstance(v, bool) and not (
                        SMALL_INT_MIN <= v <= SMALL_INT_MAX):
                    self.report(node, v, "int outside the 31-bit small-int range",
                                per_line=True)


def check_source(src, filename="<src>"):
    """Findings [(line, value, why)] for one source text."""
    tree = ast.parse(src, filename)
    return _Checker(tree).check(tree)


def check_files(paths):
    """Findings ["path:line: value (why)"] for files relative to ROOT."""
    out = []
    for rel in paths:
        with open(os.path.join(ROOT, rel)) as f:
            src = f.read()
        for line, value, why in check_source(src, rel):
            out.append("%s:%d: %d (%s)" % (rel, line, value, why))
    return out


# --- the checker itself ---------------------------------------------------

PLANTED = """
from micropython import const
_BIG = const(20000)
_NEG = const(-3)
T = ((1, 20000), (2, 3))
def f():
    return (0, -9000)[1]
def g(x):
    return x in (1, _BIG)
U = (_NEG * 4000, 'name', None, True)
V = (1, (2, (3, 8192)))
W = [(5, 9000), 1]
def h(x=(1, 1 << 14)):
    return x
"""

CLEAN = """
from array import array
from micropython import const
_X = const(20000)
A = array('i', [20000, -90000, 1 << 20])
L = [30000, 40000]
R = (1, 2, 8191, -8191, 'big', b'x')
def f(x):
    return (x, 20000)
def g(i):
    return A[i] + _X
for a, b in ((1, 2), (3, 4)):
    pass
M = 1 << 29
"""


def test_checker_finds_big_ints_planted_in_constant_tuples():
    got = [(line, v) for line, v, why in check_source(PLANTED) if "tuple" in why]
    assert got == [(5, 20000), (7, -9000), (9, 20000), (10, -12000), (11, 8192),
                   (12, 9000), (13, 16384)]


def test_checker_finds_ints_outside_the_31_bit_small_int_range():
    src = ("from micropython import const\n"
           "_BIG = const(1 << 30)\n"
           "X = 2 ** 31\n"
           "def f(y):\n"
           "    return y * -1073741824\n"          # minus the bigint 2**30
           "Z = -(1 << 29) - (1 << 29) - 1\n"
           "OK = (-1073741823 - 1, 1073741823, -(1 << 29) - (1 << 29))\n")
    got = [(line, v) for line, v, why in check_source(src) if "range" in why]
    assert got == [(2, 1 << 30), (3, 1 << 31), (5, 1 << 30), (6, -(1 << 30) - 1)]


def test_checker_accepts_const_names_arrays_lists_and_runtime_tuples():
    assert check_source(CLEAN) == []


def test_every_frozen_source_is_checked():
    files = frozen_sources()
    assert "firmware/fuels.py" in files and "firmware/governor.py" in files
    assert any(f.startswith("boards/") for f in files)


# --- the firmware ---------------------------------------------------------

def test_no_frozen_source_holds_a_bigint_constant():
    bad = check_files(frozen_sources())
    assert not bad, "ints that freeze as bigints:\n" + "\n".join(bad)
