"""The tick link's byte loops in viper, for the board's own CPU: CRC-16/MODBUS
and the int32 packing of link frames (firmware/link.py, firmware/crc16.py).

In plain bytecode these loops are most of a HIL tick's framing: ~120 bytes
of CRC and ~50 values packed or unpacked per tick, each a handful of
bytecodes per byte.  Viper compiles them to machine code (mpy-cross -march,
the board's MPY_ARCH): on the unix port (x86-64) the framing per tick falls
to a fraction (make bench prints both).

This module is optional and only ever a speed-up: crc16.py and link.py
import it if they can and otherwise keep their pure-Python loops, which are
the definition; the results are the same bit for bit
(tests/test_fastlink.py checks that on random frames and on every edge of
the value range).  It is not importable everywhere, on purpose:
  - CPython has no `micropython.viper`: ImportError / NameError;
  - a port without a native emitter (the webassembly one) refuses the
    source: SyntaxError;
  - a .mpy compiled for another CPU (the RP2040 image on the unix port)
    is refused: ValueError.
Callers catch exactly those.

Viper ints are machine words (32-bit on a board): every value here is a
byte, a 16-bit CRC, or an int32 that already fits (the link's values lie in
+-2**30), so nothing wraps.
"""

import micropython
from crc16 import _TABLE


@micropython.viper
def crc16(buf, start: int, end: int) -> int:
    """CRC of buf[start:end]: crc16.crc16's loop, in machine code."""
    p = ptr8(buf)
    t = ptr16(_TABLE)
    c = 0xFFFF
    i = start
    while i < end:
        c = (c >> 8) ^ t[(c ^ p[i]) & 0xFF]
        i += 1
    return c


@micropython.viper
def pack(buf, o: int, vals, n: int):
    """vals[0:n] (an array('i')) into buf from byte o, little-endian."""
    p = ptr8(buf)
    v = ptr32(vals)
    i = 0
    while i < n:
        x = v[i]
        p[o] = x & 0xFF
        p[o + 1] = (x >> 8) & 0xFF
        p[o + 2] = (x >> 16) & 0xFF
        p[o + 3] = (x >> 24) & 0xFF
        o += 4
        i += 1


@micropython.viper
def copy(dst, d: int, src, s: int, n: int):
    """dst[d:d+n] = src[s:s+n] for array('i')s: the link HAL's per-tick
    copies between the frame's values and the controller's vectors."""
    a = ptr32(dst)
    b = ptr32(src)
    i = 0
    while i < n:
        a[d + i] = b[s + i]
        i += 1


@micropython.viper
def unpack(buf, o: int, vals, n: int) -> int:
    """n int32 values from buf at byte o into vals (an array('i')), after
    checking every top byte is a sign extension of bit 30 (the values stay
    small ints on a 32-bit port); returns n, or -1 (vals untouched)."""
    p = ptr8(buf)
    i = 0
    k = o
    while i < n:
        hi = p[k + 3]
        if hi >= 0x40 and hi < 0xC0:
            return -1
        k += 4
        i += 1
    v = ptr32(vals)
    i = 0
    while i < n:
        v[i] = p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)
        o += 4
        i += 1
    return n
