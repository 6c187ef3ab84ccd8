"""The load-share link between the controllers of a stack (issue 12): one
small frame per unit per period, broadcast to every other unit, and the
table of what each peer last said.

On a board the frame goes out on CAN (an MCP2515 on the RP2040, TWAI on an
ESP32: 24 bytes are three CAN frames, or one CAN-FD frame) or a second
RS-485 port; in the simulator on a modelled bus with latency, loss and
cuts.  This module knows none of that: it fills a frame and checks one.

Frame (FRAME_BYTES, little endian; percentages of the sender's own rating,
so mixed fleets compare):
  0   0xA6 sync, 1 version (VERSION)
  2   unit id, 1..MAX_UNITS
  3   seq, u8: +1 per frame (a repeat of the last seq is a duplicate)
  4   sequencer state (sequencer.ST_*)
  5   flags (F_*)
  6   priority, 1..255 (1 first to start)
  7   the dead-bus master unit id it is set to, 1..MAX_UNITS (deadbus.py:
      units that disagree about it never close onto a dead bus)
  8   p_pct_x100, s16: active power, 0.01 % of rating
  10  q_pct_x100, s16: reactive power, 0.01 % of rating
  12  rating_kw, u16
  14  avail_kw, u16: what it could still take at rated (0 when not on the bus)
  16  step_kw, u16: the load step it can accept now (its fuel's envelope)
  18  run_h, u16: running hours (saturated at 65535)
  20  alarm_code, u16: the worst active alarm's code, 0 none
  22  CRC-16/MODBUS of bytes 0..21
A frame is refused, counted by why (R_*), and never reaches the table
when: its length is not FRAME_BYTES, the sync or version is wrong, the CRC
fails, the unit id is 0, above MAX_UNITS or this unit's own (a second
controller set to our id: DUPLICATE, raised as a flag the fleet logic
alarms on), or a figure is impossible: a power outside +-IMPOSSIBLE_PCT_X100,
a rating outside 1..MAX_RATING_KW, capacity or step above the rating, a
state past the sequencer's last, a priority of 0, or figures that
disagree: on the bus, a capacity other than avail_kw() of its power; off
it, any capacity or step.
The plant frame (PLANT_SYNC, the same length, link and checks) carries
the plant's grid-parallel set points, so the stack has one reference with
no master (fleet.py decides which to adopt):
  0   0xA7 sync, 1 version
  2   unit id, 3 seq (its own count, apart from the share frames')
  4   pc_mode (0..2)
  5   flags: PF_SET (its revision is the stack's, not a boot default)
  6   rev, u16: +1 (mod 2**16) at every change written on any unit
  8   base_kw_x10, 10 import_cap_kw_x10, 12 export_limit_kw_x10,
  14  import_min_kw_x10 (u16 each), 16..21 reserved 0, 22 CRC
A plant frame is refused like a share frame (length, CRC, unit, duplicate,
repeat), and as impossible when its mode is past 2 or a reserved byte or
flag is set; the ranges of its values are the settings' (fleet.py adopts
them through Config.set_live, which refuses and keeps the old).  Taken,
it is left in plant_* (plant_u: its sender, 0 none) for the fleet.

A frame with the seq of the one before from the same unit is a repeat
(the bus delivered it twice): dropped, counted, not refreshing the age.

The table keeps, per unit id, the fields above and the age of its last good
frame (age_ms, advanced by tick()); a unit whose age passes stale_ms is
stale: it is left out of every fleet figure (fresh()), as is one never
heard.  Allocation free in decode(), encode() and tick().
"""

from array import array

from fixpt import const
from crc16 import crc16

VERSION = const(1)
SYNC = const(0xA6)
PLANT_SYNC = const(0xA7)
PF_SET = const(1)
FRAME_BYTES = const(24)
MAX_UNITS = const(16)
MAX_RATING_KW = const(10000)
IMPOSSIBLE_PCT_X100 = const(20000)   # 200 % of rating: no set carries that
_ST_LAST = const(16)                 # sequencer.ST_LOCKOUT
_AGE_SAT_MS = const(1000000000)
_CNT_SAT = const(1000000)

# flags
F_GCB_CLOSED = const(1)     # its generator breaker is closed (on the bus)
F_MB_CLOSED = const(2)      # it sees the mains breaker closed (paralleled)
F_SHARING = const(4)        # isochronous sharing on (not in droop fallback)
F_DEADBUS_CLAIM = const(8)  # it claims the dead bus (arbitration)
F_AVAILABLE = const(16)     # running and ready to take load
F_SHUTDOWN = const(32)      # a breaker trip or shutdown latched: out of the stack until reset
F_AUTO = const(64)          # in AUTO: the fleet may start and stop it

# refusals (counts in Peers.refused[R_*])
R_LENGTH = const(0)
R_SYNC = const(1)           # sync byte or version
R_CRC = const(2)
R_UNIT = const(3)           # id 0 or above MAX_UNITS
R_DUPLICATE = const(4)      # another controller uses this unit's id
R_IMPOSSIBLE = const(5)     # a figure no GX230 can report
R_REPEAT = const(6)         # the same frame twice
N_REFUSALS = const(7)
REFUSAL_NAMES = ("length", "sync", "crc", "unit", "duplicate", "impossible", "repeat")


def _s16(b, o):
    v = b[o] | (b[o + 1] << 8)
    return v - 65536 if v >= 32768 else v


def _u16(b, o):
    return b[o] | (b[o + 1] << 8)


def _put16(b, o, v):
    v &= 0xFFFF
    b[o] = v & 0xFF
    b[o + 1] = v >> 8


def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


def avail_kw(on_bus, p_pct_x100, rating_kw):
    """The capacity a unit has left, kW, as its frame says it: the rating
    less its power (both from the frame's own figures, so a receiver can
    check it), 0..rating; 0 off the bus."""
    if not on_bus:
        return 0
    x = rating_kw - p_pct_x100 * rating_kw // 10000
    return 0 if x < 0 else (rating_kw if x > rating_kw else x)


def encode_plant(buf, unit, seq, flags, rev, mode, base_kw_x10, cap_kw_x10, export_kw_x10,
                 import_min_kw_x10):
    """Fill buf[0:FRAME_BYTES] with this unit's plant frame."""
    buf[0] = PLANT_SYNC
    buf[1] = VERSION
    buf[2] = unit & 0xFF
    buf[3] = seq & 0xFF
    buf[4] = _clamp(mode, 0, 255)
    buf[5] = flags & PF_SET
    _put16(buf, 6, rev)
    _put16(buf, 8, _clamp(base_kw_x10, 0, 65535))
    _put16(buf, 10, _clamp(cap_kw_x10, 0, 65535))
    _put16(buf, 12, _clamp(export_kw_x10, 0, 65535))
    _put16(buf, 14, _clamp(import_min_kw_x10, 0, 65535))
    for i in range(16, 22):
        buf[i] = 0
    c = crc16(buf, 0, 22)
    buf[22] = c & 0xFF
    buf[23] = c >> 8


def encode(buf, unit, seq, state, flags, prio, master, p_pct_x100, q_pct_x100, rating_kw,
           avail_kw, step_kw, run_h, alarm_code):
    """Fill buf[0:FRAME_BYTES] with this unit's frame.  Figures are
    saturated into their fields (never wrapped), so the frame always passes
    a receiver's checks when this unit's own figures are sane."""
    buf[0] = SYNC
    buf[1] = VERSION
    buf[2] = unit & 0xFF
    buf[3] = seq & 0xFF
    buf[4] = state & 0xFF
    buf[5] = flags & 0xFF
    buf[6] = _clamp(prio, 1, 255)
    buf[7] = master & 0xFF
    _put16(buf, 8, _clamp(p_pct_x100, -IMPOSSIBLE_PCT_X100, IMPOSSIBLE_PCT_X100))
    _put16(buf, 10, _clamp(q_pct_x100, -IMPOSSIBLE_PCT_X100, IMPOSSIBLE_PCT_X100))
    r = _clamp(rating_kw, 1, MAX_RATING_KW)
    _put16(buf, 12, r)
    _put16(buf, 14, _clamp(avail_kw, 0, r))
    _put16(buf, 16, _clamp(step_kw, 0, r))
    _put16(buf, 18, _clamp(run_h, 0, 65535))
    _put16(buf, 20, _clamp(alarm_code, 0, 65535))
    c = crc16(buf, 0, 22)
    buf[22] = c & 0xFF
    buf[23] = c >> 8


class Peers:
    """What every other unit of the stack last said.  Index = unit id
    (0 unused).  own: this unit's id (frames claiming it are duplicates)."""

    def __init__(self, own, stale_ms):
        n = MAX_UNITS + 1
        self.own = own
        self.stale_ms = stale_ms
        self.age_ms = array("i", [_AGE_SAT_MS] * n)   # since its last good frame
        self.seq = array("i", [-1] * n)
        self.state = bytearray(n)
        self.flags = bytearray(n)
        self.prio = bytearray(n)
        self.master = bytearray(n)
        self.p_pct_x100 = array("i", [0] * n)
        self.q_pct_x100 = array("i", [0] * n)
        self.rating_kw = array("i", [0] * n)
        self.avail_kw = array("i", [0] * n)
        self.step_kw = array("i", [0] * n)
        self.run_h = array("i", [0] * n)
        self.alarm = array("i", [0] * n)
        self.good = 0                             # frames taken
        self.refused = array("i", [0] * N_REFUSALS)
        self.dup_ms = _AGE_SAT_MS                 # since the last duplicate-id frame
        # the plant frame last taken (plant_u = 0: none since the fleet read it)
        self.plant_seq = array("i", [-1] * n)
        self.plant_u = 0
        self.plant_flags = 0
        self.plant_rev = 0
        self.plant_mode = 0
        self.plant_base = 0
        self.plant_cap = 0
        self.plant_export = 0
        self.plant_imin = 0

    def _refuse(self, why):
        if self.refused[why] < _CNT_SAT:
            self.refused[why] += 1
        return why

    def decode(self, b, n):
        """Check frame b[0:n] and take it into the table; returns -1 if
        taken, else the refusal (R_*), counted."""
        if n != FRAME_BYTES:
            return self._refuse(R_LENGTH)
        if (b[0] != SYNC and b[0] != PLANT_SYNC) or b[1] != VERSION:
            return self._refuse(R_SYNC)
        c = crc16(b, 0, 22)
        if b[22] != (c & 0xFF) or b[23] != (c >> 8):
            return self._refuse(R_CRC)
        u = b[2]
        if u == 0 or u > MAX_UNITS:
            return self._refuse(R_UNIT)
        if u == self.own:
            self.dup_ms = 0
            return self._refuse(R_DUPLICATE)
        if b[0] == PLANT_SYNC:
            return self._plant(b, u)
        p = _s16(b, 8)
        q = _s16(b, 10)
        r = _u16(b, 12)
        av = _u16(b, 14)
        st = _u16(b, 16)
        if b[4] > _ST_LAST or b[6] == 0 or b[7] == 0 or b[7] > MAX_UNITS or r == 0 or r > MAX_RATING_KW or \
                av > r or st > r or not -IMPOSSIBLE_PCT_X100 <= p <= IMPOSSIBLE_PCT_X100 or \
                not -IMPOSSIBLE_PCT_X100 <= q <= IMPOSSIBLE_PCT_X100:
            return self._refuse(R_IMPOSSIBLE)
        # The figures must agree with each other as a GX230 writes them: on
        # the bus the capacity left is avail_kw() of its kW; off it there is
        # neither capacity nor a step to offer.  (A frame that says 190 %
        # and plenty to spare, or offers a step from a set off the bus, is
        # no GX230's.)
        if b[5] & F_GCB_CLOSED:
            if av != avail_kw(True, p, r):
                return self._refuse(R_IMPOSSIBLE)
        elif av != 0 or st != 0:
            return self._refuse(R_IMPOSSIBLE)
        if b[3] == self.seq[u] and self.age_ms[u] < self.stale_ms:
            return self._refuse(R_REPEAT)
        self.seq[u] = b[3]
        self.age_ms[u] = 0
        self.state[u] = b[4]
        self.flags[u] = b[5]
        self.prio[u] = b[6]
        self.master[u] = b[7]
        self.p_pct_x100[u] = p
        self.q_pct_x100[u] = q
        self.rating_kw[u] = r
        self.avail_kw[u] = av
        self.step_kw[u] = st
        self.run_h[u] = _u16(b, 18)
        self.alarm[u] = _u16(b, 20)
        if self.good < _CNT_SAT:
            self.good += 1
        return -1

    def _plant(self, b, u):
        if b[4] > 2 or b[5] & ~PF_SET:
            return self._refuse(R_IMPOSSIBLE)
        for i in range(16, 22):
            if b[i] != 0:
                return self._refuse(R_IMPOSSIBLE)
        if b[3] == self.plant_seq[u] and self.age_ms[u] < self.stale_ms:
            return self._refuse(R_REPEAT)
        self.plant_seq[u] = b[3]
        self.plant_u = u
        self.plant_flags = b[5]
        self.plant_rev = _u16(b, 6)
        self.plant_mode = b[4]
        self.plant_base = _u16(b, 8)
        self.plant_cap = _u16(b, 10)
        self.plant_export = _u16(b, 12)
        self.plant_imin = _u16(b, 14)
        if self.good < _CNT_SAT:
            self.good += 1
        return -1

    def tick(self, dt_ms):
        """Advance every age by dt_ms (saturating)."""
        a = self.age_ms
        for u in range(1, MAX_UNITS + 1):
            v = a[u] + dt_ms
            a[u] = v if v < _AGE_SAT_MS else _AGE_SAT_MS
        v = self.dup_ms + dt_ms
        self.dup_ms = v if v < _AGE_SAT_MS else _AGE_SAT_MS

    def fresh(self, u):
        """Unit u was heard within stale_ms."""
        return self.age_ms[u] < self.stale_ms

    def duplicate(self):
        """Another controller claimed this unit's id within stale_ms."""
        return self.dup_ms < self.stale_ms

    def n_fresh(self):
        k = 0
        for u in range(1, MAX_UNITS + 1):
            if self.age_ms[u] < self.stale_ms:
                k += 1
        return k
