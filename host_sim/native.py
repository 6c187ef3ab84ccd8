"""The one build step between the firmware's source and a CPU's machine code.

The tick's hot functions are marked `@viper` in the firmware (fixpt.viper,
the identity: CPython, a port without a native emitter - the webassembly
one - and plain bytecode run them exactly as written).  For a CPU that has
MicroPython's native emitter (the boards' armv6m and xtensawin, the unix
port's x64), `transform` rewrites each such decorator line to
`@micropython.viper`, line for line (tracebacks keep their line numbers),
and mpy-cross compiles those functions to machine code: the same
statements, on machine words instead of objects, at about half the
instructions per tick on a Cortex-M0 (README, Benchmarks).  Nothing else
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
  - no default argument values: viper compiles them and ignores them (a
    call that leaves one out fails), so every caller passes every argument;
  - no `not` on a machine value outside an `if` (viper has none): flags
    are read as 0/1 words (`f = 1 if self.flag else 0`) and tested `== 0`;
  - no division by a value that can be zero: viper's // and % do not raise;
  - a viper word wraps at 32 bits where an int would grow: the +-2**30 rule
    is what keeps the two equal;
  - an array('i') read through ptr32 gives machine words, zero-extended
    from 32 bits on the x64 unix port: a signed item gets its sign back
    (protection.py, _SIGN), or is read as an object with int();
  - the board's build freezes the machine code where that is safe: not on
    ARMv6-M (FREEZE_UNSAFE_ARCHS below).
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


# Architectures whose frozen machine code is not safe: MicroPython's mpy-tool
# (v1.28) aligns frozen ARMv6-M code to 2 bytes, and ARMv6-M code reads
# literal-pool words relative to a 4-byte boundary - not only large
# constants but every viper function's argument check and every jump
# beyond 2 KB (seen on the Cortex-M0 rig: a hard fault).  ARMv7-M builds
# those with movw/movt and wide branches, Xtensa code is frozen 4-aligned.
# On such a board the image's modules with machine code stay .mpy files on
# its filesystem (loaded into RAM, which the loader aligns), the rest is
# frozen (boards/<board>/manifest.py, tools/deploy.py --frozen).
FREEZE_UNSAFE_ARCHS = ("armv6m",)


def has_machine_code(path):
    """True if the .mpy file carries machine code (its header's arch)."""
    with open(path, "rb") as f:
        h = f.read(4)
    return len(h) == 4 and ((h[2] >> 2) & 0x2F) != 0
