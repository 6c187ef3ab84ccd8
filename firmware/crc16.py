"""CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), table driven.

Shared by the Modbus RTU server and the host/board tick link, so both ends of
every wire compute it with this one function.  The 256-entry table is built
once at import (512 bytes as array('H')); `crc16` itself does not allocate.
"""

from array import array

_TABLE = array("H", [0] * 256)
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0xA001 if _c & 1 else _c >> 1
    _TABLE[_i] = _c


def crc16(buf, start, end):
    """CRC of buf[start:end] (no slicing, so no allocation)."""
    c = 0xFFFF
    t = _TABLE
    for i in range(start, end):
        c = (c >> 8) ^ t[(c ^ buf[i]) & 0xFF]
    return c


# On a board the same loop in machine code (boards/common/fastlink.py, viper,
# compiled for the board's CPU), bit-identical; everywhere else (CPython, a
# port without a native emitter, an image for another CPU) the loop above.
try:
    from fastlink import crc16  # noqa: F811
except (ImportError, SyntaxError, ValueError, NameError):
    pass
