"""Tick link: the framed binary protocol between a plant (host simulator or
HIL bench) and the firmware (MicroPython unix port or a real board over USB
serial).  One input frame in, one output frame out, per control tick.

Frame layout (little endian), version 2:
  0      SOF 0xA5
  1      protocol version (LINK_VERSION)
  2      type: 'I' inputs, 'O' outputs+telemetry, 'S' set setting,
         'A' setting answer, 'B' begin (preset governor), 'Q' quit,
         'E' error report, 'H' hello (identity: versions and vector sizes),
         'C' operator command (start, stop, reset, mode, breaker: sequencer.CMD_*),
         'U' UART bytes (the Modbus port; version 2),
         'F' a share-link frame (the stack's, fleet.py; see below)
  3      n, number of int32 values that follow (0..MAX_VALUES)
  4..    n x int32
  4+4n   CRC-16/MODBUS over bytes 0..4+4n-1, low byte first
Each type carries a fixed number of values (I: the input vector, S, C, B:
2, H, Q: 0; U, F: their header values, then the bytes as below); a frame
with another count is refused with E_LENGTH.  'B' is taken only before the
session's first 'I' (E_ORDER after).
UART channel ('U', both ways): values [n_bytes, t_us, flag, packed...], the
bytes packed three to a value (b0 | b1 << 8 | b2 << 16), at most UART_CHUNK
(87) bytes a frame.  Plant to firmware: bytes that arrived on the line at
t_us (firmware clock, us, wrapping at 2**30), n_bytes = 0 meaning "the line
was silent up to t_us"; flag 0.  The firmware serves them at once, between
ticks, and answers with its reply bytes in 'U' frames flagged 1 (t_us of the
request), ending with one 'U' frame of n_bytes = 0, flag 0: every 'U' in gets
exactly one such answer, so both ends stay in step.
Share channel ('F', both ways): values [n_bytes, packed...], the bytes
packed three to a value as in 'U' (no t_us, no flag), 0..SHARE_MAX (30)
bytes a frame (sharelink.FRAME_BYTES, 24, in practice).  Plant to firmware:
a frame another unit of the stack broadcast; the firmware hands it to
on_share(buf, n) (Controller.share_rx) between ticks and does not answer
(fire and forget, as on CAN: a refusal is counted inside the firmware).  A
malformed one (a count that does not match n_bytes, n_bytes outside
0..SHARE_MAX: E_LENGTH; a value not three bytes: E_RANGE) is answered 'E'
like any bad frame, which the host reads before the next tick's 'O'.
Firmware to plant: each frame the controller sends (Hal.share_send) during
a tick, so they arrive before that tick's 'O' frame.
'F' leaves LINK_VERSION at 2: it adds a type and changes none, and each
end says when the other lacks it.  A board without 'F' answers one with 'E'
E_TYPE (the host reports it at the next frame it reads); a host without it
fails on an 'F' where it expects an 'O'.  A session that shares nothing is
the same frames as before, so bumping the version would only cut off the
version-2 boards and hosts that never use the stack.
Values are signed 32-bit on the wire but must lie within the 31-bit small-int
range (+-2**30) so that a 32-bit MicroPython port decodes them without a
bigint; a frame breaking that is rejected like a CRC error.

encode/decode work in caller-supplied buffers and never allocate.
"""

from fixpt import const

from array import array

from crc16 import crc16

SOF = const(0xA5)
LINK_VERSION = const(2)
MAX_VALUES = const(32)
HEADER = const(4)
T_INPUTS = const(0x49)    # 'I'
T_OUTPUTS = const(0x4F)   # 'O'
T_SET = const(0x53)       # 'S'  [setting index, value]
T_ANSWER = const(0x41)    # 'A'  [setting index, 1 accepted / 0 refused]
T_BEGIN = const(0x42)     # 'B'  [fuel_pct_x100, speed_rpm_x10]
T_QUIT = const(0x51)      # 'Q'
T_ERROR = const(0x45)     # 'E'  [error code, errors so far]
T_HELLO = const(0x48)     # 'H'  asked with no values; answered 'H' with IDENT_* values
T_COMMAND = const(0x43)   # 'C'  [command, argument]; answered 'A' [command, 1/0]
T_UART = const(0x55)      # 'U'  [n_bytes, t_us, flag, bytes packed 3 per value]
UART_CHUNK = const(87)    # bytes per 'U' frame: (MAX_VALUES - 3) * 3
T_SHARE = const(0x46)     # 'F'  [n_bytes, bytes packed 3 per value]: a share-link frame
SHARE_MAX = const(30)     # bytes per 'F' frame (11 values; sharelink.FRAME_BYTES is 24)

# Decode results (negative = frame rejected)
E_OK = const(0)
E_SOF = const(-1)
E_VERSION = const(-2)
E_LENGTH = const(-3)
E_CRC = const(-4)
E_RANGE = const(-5)
E_TYPE = const(-6)        # a frame type the firmware does not serve
E_ORDER = const(-7)       # a frame out of order ('B' after the first tick, or refused)
E_FAILSAFE = const(-100)  # exception in the firmware: outputs driven safe

# Answer to a hello: who is on the other end.  A host refuses to run against
# firmware whose vectors or setting table differ from its own copy, since
# settings travel by index and vectors by position.
IDENT_VERSION = const(0)
IDENT_N_IN = const(1)
IDENT_N_OUT = const(2)
IDENT_N_TELE = const(3)
IDENT_SETTINGS_CRC = const(4)
N_IDENT = const(5)


def frame_size(n):
    return HEADER + 4 * n + 2


# The byte loops below in machine code on a board (boards/common/fastlink.py,
# viper), for array('i') values; the loops here are the definition and
# everything else's path (crc16.py says when).
try:
    import fastlink as _fast
except (ImportError, SyntaxError, ValueError, NameError):
    _fast = None
_ARRAY_T = type(array("i"))


def _pack(buf, o, vals, n):
    """vals[0:n] as little-endian int32 into buf from byte o (fastlink's
    viper loop for an array('i') on a board); returns the end."""
    if _fast is not None and type(vals) is _ARRAY_T:
        _fast.pack(buf, o, vals, n)
        return o + 4 * n
    for i in range(n):
        v = vals[i]
        buf[o] = v & 0xFF
        buf[o + 1] = (v >> 8) & 0xFF
        buf[o + 2] = (v >> 16) & 0xFF
        buf[o + 3] = (v >> 24) & 0xFF
        o += 4
    return o


def encode(buf, ftype, vals, n):
    """Write a frame carrying vals[0:n] into buf; returns its length."""
    return encode_two(buf, ftype, vals, n, vals, 0)


def encode_two(buf, ftype, a, na, b, nb):
    """encode() of the values a[0:na] followed by b[0:nb] (the output frame:
    outputs, then telemetry), packed from where they are; returns its
    length."""
    buf[0] = SOF
    buf[1] = LINK_VERSION
    buf[2] = ftype
    buf[3] = na + nb
    f = _fast
    if f is not None and type(a) is _ARRAY_T and type(b) is _ARRAY_T:
        # The board's path, every tick (the 'O' frame): fastlink's loops
        # called straight, not through _pack (a call costs ~1000 Cortex-M0
        # instructions).
        f.pack(buf, HEADER, a, na)
        o = HEADER + 4 * na
        if nb:
            f.pack(buf, o, b, nb)
            o += 4 * nb
    else:
        o = _pack(buf, HEADER, a, na)
        if nb:
            o = _pack(buf, o, b, nb)
    c = crc16(buf, 0, o)
    buf[o] = c & 0xFF
    buf[o + 1] = c >> 8
    return o + 2


def check_header(buf):
    """Validate bytes 0..3; returns n (>= 0) or a negative E_* code."""
    if buf[0] != SOF:
        return E_SOF
    if buf[1] != LINK_VERSION:
        return E_VERSION
    n = buf[3]
    if n > MAX_VALUES:
        return E_LENGTH
    return n


def decode(buf, vals):
    """Check CRC and range of a complete frame in buf and unpack its values
    into vals; returns n or a negative E_* code (vals then untouched)."""
    n = check_header(buf)
    if n < 0:
        return n
    return decode_body(buf, vals, n)


def decode_body(buf, vals, n):
    """decode() for a frame whose header check_header has passed (n its
    count): the CRC and the values."""
    o = HEADER + 4 * n
    c = crc16(buf, 0, o)
    if buf[o] != (c & 0xFF) or buf[o + 1] != (c >> 8):
        return E_CRC
    if _fast is not None and type(vals) is _ARRAY_T:
        return n if _fast.unpack(buf, HEADER, vals, n) == n else E_RANGE
    o = HEADER
    for i in range(n):
        hi = buf[o + 3]
        # Top byte must be a sign extension of bit 30: keeps values small ints.
        if 0x40 <= hi < 0xC0:
            return E_RANGE
        if hi >= 0x80:
            hi -= 256
        o += 4
    o = HEADER
    for i in range(n):
        hi = buf[o + 3]
        if hi >= 0x80:
            hi -= 256
        vals[i] = (hi << 24) | (buf[o + 2] << 16) | (buf[o + 1] << 8) | buf[o]
        o += 4
    return n


def uart_values(vals, data, start, n, t_us, flag):
    """Fill vals for a 'U' frame carrying data[start:start+n]; returns the
    value count."""
    vals[0] = n
    vals[1] = t_us
    vals[2] = flag
    return _put_bytes(vals, 3, data, start, n)


def share_values(vals, data, n):
    """Fill vals for an 'F' frame carrying data[0:n] (n <= SHARE_MAX);
    returns the value count."""
    if n < 0 or n > SHARE_MAX:
        raise ValueError("share frame length")
    vals[0] = n
    return _put_bytes(vals, 1, data, 0, n)


def _put_bytes(vals, k, data, start, n):
    """data[start:start+n] packed three a value into vals from index k;
    returns the index after the last."""
    i = 0
    while i < n:
        v = data[start + i]
        if i + 1 < n:
            v |= data[start + i + 1] << 8
        if i + 2 < n:
            v |= data[start + i + 2] << 16
        vals[k] = v
        k += 1
        i += 3
    return k


def uart_unpack(vals, out):
    """Bytes of a decoded 'U' frame into out; returns n (-1: inconsistent)."""
    n = vals[0]
    if n < 0 or n > UART_CHUNK:
        return -1
    return _get_bytes(vals, 3, out, n)


def share_unpack(vals, out):
    """Bytes of a decoded 'F' frame into out; returns n (-1: inconsistent)."""
    n = vals[0]
    if n < 0 or n > SHARE_MAX:
        return -1
    return _get_bytes(vals, 1, out, n)


def _get_bytes(vals, k, out, n):
    """n bytes packed three a value from vals[k] on into out; returns n
    (-1: a value that is not three bytes)."""
    for i in range(n):
        v = vals[k + i // 3]
        if v < 0 or v > 0xFFFFFF:
            return -1
        out[i] = (v >> (8 * (i % 3))) & 0xFF
    return n
