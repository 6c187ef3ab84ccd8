"""The one build step between the firmware's source and a CPU's machine code.

The tick's hot functions are marked `@viper` in the firmware (fixpt.viper,
the identity: CPython, a port without a native emitter - the webassembly
one - and plain bytecode run them exactly as written).  For a CPU that has
MicroPython's native emitter (the boards' armv6m and xtensawin, the unix
port's x64), `transform` rewrites each such decorator line to
`@micropython.viper`, line for line (tracebacks keep their line numbers),
and mpy-cross compiles those functions to machine code: the same
statements, on machine words instead of objects, at about half the
instructions per tick on a Cortex-M0 (README, Performance).  Nothing else
in the source changes.  MicroPython recognises the decorator by its name
at compile time, so the module needs no `import micropython`.

The same source is therefore compiled two ways, and tests hold both to
CPython bit for bit: the unix port runs the viper build (host_sim.runtime
compiles it for the host CPU; tests/test_native.py runs the firmware unit
tests on it), the webassembly port the plain one.

Rules for a @viper function, on top of the firmware's own (integers only,
every value within +-2**30):
  - an object that enters arithmetic or a comparison with a machine word is
    cast with int() (an attribute, an array item, a call's result): viper
    refuses to mix them (mpy-cross fails the build, naming the line);
  - no division by a value that can be zero: viper's // and % do not raise;
  - a viper word wraps at 32 bits where an int would grow: the +-2**30 rule
    is what keeps the two equal;
  - on ARMv6-M, no integer constant that the Thumb code builds from a
    literal pool (`thumb_literal`): MicroPython's mpy-tool (v1.28) aligns
    frozen ARMv6-M code to 2 bytes only, while the literal load assumes the
    code starts on a 4-byte boundary, so half the time the constant read
    would be the wrong word.  `literal_hazards` finds them; the build
    refuses them (tools/build_firmware.py).  Such a constant is read from
    an array instead (see measure.py).
"""

import ast
import os
import platform
import re

_MARK = re.compile(r"^(\s*)@viper(\s*(#.*)?)$")
VIPER_DECORATOR = "@micropython.viper"

# The unix port's native emitter for this machine's CPU (mpy-cross -march);
# None where MicroPython has none (aarch64): the plain build is used there.
HOST_ARCH = {"x86_64": "x64", "amd64": "x64", "i686": "x86", "i386": "x86"}.get(
    platform.machine().lower())

# Architectures with a native emitter (mpy-cross -march values).
NATIVE_ARCHS = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
                "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")


def transform(text):
    """The source with each `@viper` decorator line made `@micropython.viper`."""
    out = []
    for line in text.splitlines(True):
        m = _MARK.match(line.rstrip("\r\n"))
        if m:
            nl = line[len(line.rstrip("\r\n")):]
            line = m.group(1) + VIPER_DECORATOR + (m.group(2) or "") + nl
        out.append(line)
    return "".join(out)


def viper_functions(tree):
    """(qualified name, FunctionDef) of every function marked @viper."""
    found = []

    def walk(node, prefix):
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.ClassDef)):
                name = prefix + ch.name
                if isinstance(ch, ast.FunctionDef) and any(
                        isinstance(d, ast.Name) and d.id == "viper" for d in ch.decorator_list):
                    found.append((name, ch))
                walk(ch, name + ".")

    walk(tree, "")
    return found


def thumb_literal(v):
    """True if ARMv6-M code loads the 32-bit constant v from a literal pool
    (py/asmthumb.c, asm_thumb_mov_reg_i32_optimised, v1.28): anything that
    is not an 8-bit value, an 8-bit value shifted, or 16 bits, each
    possibly negated."""
    v &= 0xFFFFFFFF
    if v <= 0xFF:
        return False
    if v & 0x80000000 and v != 0x80000000:
        v = (-v) & 0xFFFFFFFF
    clz = 32 - v.bit_length()
    ctz = (v & -v).bit_length() - 1
    if clz + ctz >= 24:
        return False
    return v > 0xFFFF


def _module_consts(tree):
    """NAME -> value of the module's `NAME = const(v)` lines."""
    consts = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "const"
                and len(node.value.args) == 1):
            try:
                consts[node.targets[0].id] = _fold(node.value.args[0], consts)
            except ValueError:
                pass
    return consts


_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
           ast.Mod: lambda a, b: a % b, ast.LShift: lambda a, b: a << b,
           ast.RShift: lambda a, b: a >> b, ast.BitAnd: lambda a, b: a & b,
           ast.BitOr: lambda a, b: a | b, ast.BitXor: lambda a, b: a ^ b}


def _fold(node, consts):
    """The value of a constant integer expression (what MicroPython's
    compiler folds), else ValueError."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
        v = _fold(node.operand, consts)
        return -v if isinstance(node.op, ast.USub) else (v if isinstance(node.op, ast.UAdd) else ~v)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_fold(node.left, consts), _fold(node.right, consts))
    raise ValueError


def literal_hazards(text, filename="<source>"):
    """[(line, function, value)] for each integer constant in a @viper
    function that ARMv6-M would load from a literal pool (see the top)."""
    tree = ast.parse(text, filename)
    consts = _module_consts(tree)
    out = []
    for name, fn in viper_functions(tree):
        def visit(node):
            try:
                v = _fold(node, consts)
            except (ValueError, ZeroDivisionError):
                for ch in ast.iter_child_nodes(node):
                    visit(ch)
                return
            if thumb_literal(v):
                out.append((node.lineno, name, v))
        for stmt in fn.body:
            visit(stmt)
    return out


def stage(src_dir, dst_dir, names=None):
    """Write the transformed .py files of src_dir into dst_dir (created);
    returns the file names written."""
    os.makedirs(dst_dir, exist_ok=True)
    names = names or sorted(f for f in os.listdir(src_dir) if f.endswith(".py"))
    for n in names:
        with open(os.path.join(src_dir, n)) as f:
            text = f.read()
        with open(os.path.join(dst_dir, n), "w") as f:
            f.write(transform(text))
    return names
