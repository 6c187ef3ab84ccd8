"""Fixed-point helpers shared by every firmware module.

Why this file exists: the RP2040 has no FPU and MicroPython boxes floats on the
heap, so the controller works in scaled integers.  Small ints on 32-bit ports
are 31-bit signed: any value (or product) outside +-(2**30 - 1) silently becomes
a heap-allocated bigint.  Every multiply that could grow goes through `mul_div`
or `mul_shr` here, so the host range test can swap in checking versions
(`host_sim.rangecheck`) and prove no intermediate leaves the small-int range.

Scales are carried in names across the firmware:
  *_rpm_x10     speed in 0.1 rpm            (1800 rpm -> 18000)
  *_mhz         frequency in millihertz     (60 Hz -> 60000)
  *_dv          voltage in 0.1 V            (480 V -> 4800)
  *_kw_x10      power in 0.1 kW             (200 kW -> 2000)
  *_pct_x100    percent in 0.01 %           (100 % -> 10000)
  *_us / *_ms   time in micro/milliseconds
  *_q12         dimensionless gain scaled by 4096
"""

try:
    from micropython import const
except ImportError:  # CPython: const() is only a hint to the MicroPython parser
    def const(x):
        return x


def viper(f):
    """Marks a hot function that a board compiles to machine code: the
    build rewrites `@viper` to `@micropython.viper` for a CPU with a native
    emitter (host_sim/native.py says how, and the rules such a function
    keeps); here, and wherever the firmware runs as written, the identity."""
    return f


def ptr32(a):
    """In a @viper function, a machine-word view of an array('i') (its items
    read and written without objects); here the array itself.  The x64
    unix port reads a word zero-extended: a signed item needs its sign
    restored (host_sim/native.py)."""
    return a


SMALL_INT_MAX = const(1073741823)  # 2**30 - 1, largest small int on 32-bit ports
Q12 = const(4096)
Q12_SHIFT = const(12)


def sat(x, lo, hi):
    """Clamp x into [lo, hi]."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def mul_div(a, b, d):
    """a * b // d with floor rounding (identical on CPython and MicroPython).

    The product a * b must itself stay a small int; the range test checks it.
    """
    return (a * b) // d


def mul_shr(a, b, s):
    """(a * b) >> s, i.e. a fixed-point multiply by a Q<s> gain (floor)."""
    return (a * b) >> s


def isqrt(n):
    """Integer square root (floor) of n >= 0, by Newton's method."""
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def div_round(a, d):
    """a / d rounded half away from zero, d > 0 (floor division would bias negatives)."""
    if a >= 0:
        return (a + (d >> 1)) // d
    return -((-a + (d >> 1)) // d)


def put_i32_le(b, o, v):
    """v as a little-endian int32 at b[o] (the event log's and the
    configuration store's records)."""
    b[o] = v & 0xFF
    b[o + 1] = (v >> 8) & 0xFF
    b[o + 2] = (v >> 16) & 0xFF
    b[o + 3] = (v >> 24) & 0xFF


def get_i32_le(b, o):
    """Signed little-endian int32 at b[o]; None outside the small-int range
    (so stored garbage never builds a bigint on a 32-bit port)."""
    hi = b[o + 3]
    if 0x40 <= hi < 0xC0:
        return None
    if hi >= 0x80:
        hi -= 256
    return (hi << 24) | (b[o + 2] << 16) | (b[o + 1] << 8) | b[o]
