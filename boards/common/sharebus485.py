"""The stack's share link (firmware/sharelink.py) on a second RS-485 port:
a multi-drop, half-duplex bus where every unit talks only in its own time
slot, so no two drivers are ever on at once (RS-485 has no arbitration: two
at once is a garbled frame for everyone).

Two kinds of frame.  The firmware hands over a share frame (sync 0xA6)
every period and a plant frame (sync 0xA7, the same length and CRC) once a
second, half a period after a share frame (fleet.py).  Each kind has its
own pending buffer: a newer share frame replaces an older one not yet sent,
a newer plant frame an older plant frame, and each replacement is counted
(tx_missed); one of each is kept.  Both go out in the unit's next slot,
the share frame first, each in a blocking write of its own with the
driver enabled only for it, and between them at least GAP_CHARS characters
of line silence (the framing silence: 3.5 characters as for Modbus RTU,
rounded up).  A frame of any other sync byte is sent as the share frame
(the receivers' checks judge it).

Slots.  The share period (fleet.PERIOD_MS, 50 ms) is cut into MAX_UNITS
slots of SLOT_US = 50000 / 16 = 3125 us; unit u owns slot u - 1.  A frame
is FRAME_BYTES characters of 10 bits (8N1): air_us = 24 x char_us, 480 us
at 500 kbaud.  A unit starts its first frame no earlier than its slot start
and at most late_us after it by its own clock (late_us: how late service()
may be called: the board's timer period plus its latency), plus the error
of its estimate of the schedule (below: late_us of the reference unit and
sense_us, how late a frame's bytes are seen).  After each frame the driver
is held one more character (rp2 before 1.24: flush() returns a character
early), then turned off; the second frame starts after the silence and
STEP_US more (the code between the two writes: pin writes, a sleep and the
write call; an allowance, not a measurement).  Both frames and the last
driver turn-off (DE_US) must be over before the next slot can start, so
the constructor refuses a baud rate whose
    2 (air_us + char_us) + GAP_CHARS char_us + STEP_US
        + 2 late_us + sense_us + DE_US > SLOT_US
At late_us = sense_us = 600 us and 500 kbaud: 2 x (480 + 20) + 80 + 50 +
1200 + 600 + 50 = 2980 us, 145 us to spare (one frame alone needed 2330,
795 spare).  460800 baud still fits (37 us spare); 400000 does not, nor
250000 (which held one frame) nor 115200.

The schedule.  Every unit keeps the time origin of slot 0.  A share frame
heard from unit k started at (about) origin + (k - 1) SLOT_US: a slot's
share frame is always its first.  Plant frames are not used for the
schedule (one after a garbled share frame starts a frame and a silence
late).  The estimate is never early: its start is taken as the latest it
can have been, from the bytes seen and when (a frame's first byte seen in
a read of n bytes at t began by t - n char_us; silences inside the read
only make the true start earlier).  The reference is the lowest unit id
heard within _REF_STALE_US: every other unit takes its origin from the
reference's frames; the reference (and a unit hearing no lower one) keeps
its own, so errors do not chain from unit to unit.  The clocks' drift
between two frames (100 ppm of 50 ms: 5 us) is far inside the margins.
Starting: a unit listens _LISTEN_PERIODS periods plus its own slot offset
before its first frame (hearing anyone puts it on their schedule at once),
and transmits only on a quiet line (no byte for 2 characters).  Two units
that boot with nothing else on the bus both free-run; their first frames
can coincide only if one boots exactly a slot offset after the other, and
then only once: until it has heard anyone a unit's period is
PERIOD + (u - 1) SLOT_US, which moves them apart the next round.

Receiving: bytes gathered from a sync byte (either kind) to FRAME_BYTES; a
line quiet for more than sense_us inside a frame ends it short.  A frame
with a good CRC (the firmware's CRC-16, the same as sharelink's) and a unit
id is queued for poll(cb) between ticks (cb = Controller.share_rx, which
checks it again and takes it); anything else is counted (rx_bad: short or
CRC; rx_noise: bytes outside a frame) and dropped.  A first frame cut
short takes the slot's second with it (its bytes complete the first).

Board use (hal_native.NativeHal): service(t_us) from a periodic timer (the
board's SHARE_TIMER_ID, 0.5 ms: a scheduled callback, so it runs between
two bytecodes of the tick) and from the wait-for-tick loop; send(buf, n)
from the tick stores the frame for the next slot; poll(cb) between ticks.
The driver-enable pin is a GPIO held high only for each blocking write of
a frame (rs485.py does the same for Modbus; this is a second port and
driver of its own, and the Modbus one is untouched).  A slot with both
frames blocks the callback ~1.1 ms (one frame: ~0.5 ms), once a second.
Allocation free after construction; integer only; times are ticks_us()
values, compared modulo 2**30 as ticks_diff does.
"""

import time
from array import array

try:
    from micropython import const
except ImportError:  # CPython: const() is only a hint to the MicroPython parser
    def const(x):
        return x

from crc16 import crc16

SYNC = const(0xA6)            # sharelink.SYNC
PLANT_SYNC = const(0xA7)      # sharelink.PLANT_SYNC
FRAME_BYTES = const(24)       # sharelink.FRAME_BYTES
MAX_UNITS = const(16)         # sharelink.MAX_UNITS
PERIOD_US = const(50000)      # fleet.PERIOD_MS
SLOT_US = const(3125)         # PERIOD_US // MAX_UNITS
DE_US = const(50)             # the transceiver's driver turns off within this (e.g. 30 us)
GAP_CHARS = const(4)          # line silence between a slot's two frames, characters
STEP_US = const(50)           # the code from one frame's flush() to the next write()
_LISTEN_PERIODS = const(2)
_REF_STALE_US = const(300000)  # fleet.STALE_MS: a reference unheard this long is gone
_QUEUE = const(16)            # frames waiting for poll(): 15 (a 10 ms poll meets 3-4 slots)
_RXBUF = const(64)
_MASK = const(0x3FFFFFFF)     # ticks_us() wraps at 2**30
_HALF = const(0x20000000)
_CNT_MAX = const(1000000000)


def _d(a, b):
    """a - b for ticks_us() values (as time.ticks_diff)."""
    return ((a - b + _HALF) & _MASK) - _HALF


def _inc(v):
    return v + 1 if v < _CNT_MAX else v


def slot_budget_us(baud, late_us, sense_us):
    """(air_us, spare_us): a frame's time on the line, and what is left of
    a slot after the worst-case start, two frames with the driver held a
    character after each, the silence and code between them, and the
    driver's turn-off."""
    char_us = (10 * 1000000 + baud - 1) // baud
    air = FRAME_BYTES * char_us
    used = 2 * (air + char_us) + GAP_CHARS * char_us + STEP_US + 2 * late_us + sense_us + DE_US
    return air, SLOT_US - used


class ShareBus485:
    """uart: write / flush / any / readinto (timeout 0); de: the driver
    enable pin (value); unit: this unit's fleet id (0: listen only); now:
    the clock service_cb reads (time.ticks_us on a board); sleep_us: the
    pause (time.sleep_us unless given; None under CPython: a model whose
    UART keeps its own clock passes its own)."""

    def __init__(self, uart, de, unit, baud=500000, late_us=600, sense_us=600, sleep_us=None,
                 now=None):
        air, spare = slot_budget_us(baud, late_us, sense_us)
        if spare < 0:
            raise ValueError("sharebus485: %d baud does not fit two frames in a %d us slot"
                             % (baud, SLOT_US))
        self.char_us = (10 * 1000000 + baud - 1) // baud
        self.air_us = air
        self.gap_us = GAP_CHARS * self.char_us
        self.late_us = late_us
        self.sense_us = sense_us
        self.unit = unit
        self._uart = uart
        self._de = de
        self._sleep_us = sleep_us if sleep_us is not None else getattr(time, "sleep_us", None)
        de.value(0)
        self._rx = bytearray(_RXBUF)
        self._asm = bytearray(FRAME_BYTES)
        self._an = 0
        self._start = 0            # the frame being gathered began by this time
        self._last_rx = 0          # when bytes were last seen
        self._q = bytearray(FRAME_BYTES * _QUEUE)
        self._qh = 0
        self._qt = 0
        self.frame = bytearray(FRAME_BYTES)
        self._tx = bytearray(FRAME_BYTES)      # the share frame (or any other kind)
        self._txp = bytearray(FRAME_BYTES)     # the plant frame
        self._ps = False           # a share frame waits for the slot
        self._pp = False           # a plant frame waits for the slot
        self._pending = False      # either
        # The schedule.
        self._origin = 0
        self._ref = 0              # the unit the origin follows (0: own clock)
        self._ref_t = 0
        self._synced = False       # heard anyone yet
        self._boot = -1            # first service() time
        self._next_free = 0        # unsynced: when to send next
        self._sent_cycle = 0       # the origin of the cycle last sent in ...
        self._sent = False         # ... once there is one
        self._in = False           # inside service()
        self.service_cb = self._service_cb    # made once: a bound method allocates
        self._now = now            # ticks_us, for the timer callback
        # Counters (saturating).
        self.tx_frames = 0
        self.tx_missed = 0         # a frame replaced by one of its kind before its slot came
        self.rx_frames = 0         # good frames queued
        self.rx_bad = 0            # wrong length, sync or CRC
        self.rx_noise = 0          # bytes outside any frame
        self.rx_dropped = 0        # the queue was full
        self.t_us = array("i", [0])  # last service time (diagnostics)

    # -- the tick side --------------------------------------------------------

    def send(self, buf, n):
        """The frame to send in this unit's next slot: a plant frame
        (PLANT_SYNC) replaces an older plant frame not yet sent, any other
        an older share frame; one of each waits.  Its flag is down while
        it is copied, so a service() that comes meanwhile (the timer's
        scheduled callback, between two bytecodes) leaves it alone."""
        if n != FRAME_BYTES or self.unit < 1:
            return False
        if buf[0] == PLANT_SYNC:
            if self._pp:
                self._pp = False
                self.tx_missed = _inc(self.tx_missed)
            t = self._txp
            for j in range(FRAME_BYTES):
                t[j] = buf[j]
            self._pp = True
        else:
            if self._ps:
                self._ps = False
                self.tx_missed = _inc(self.tx_missed)
            t = self._tx
            for j in range(FRAME_BYTES):
                t[j] = buf[j]
            self._ps = True
        self._pending = True
        return True

    def poll(self, cb):
        """Between ticks: hand every queued frame to cb(frame, FRAME_BYTES)."""
        got = 0
        n = 0
        while self._qt != self._qh and n < _QUEUE:
            o = FRAME_BYTES * self._qt
            q = self._q
            f = self.frame
            for j in range(FRAME_BYTES):
                f[j] = q[o + j]
            t = self._qt + 1
            self._qt = 0 if t >= _QUEUE else t
            got += 1
            n += 1
            cb(f, FRAME_BYTES)
        return got

    # -- the timer side ----------------------------------------------------------

    def _service_cb(self, arg):
        self.service(self._now())

    def service(self, t):
        """Read the line, and send this unit's frames if its slot is now.
        A call inside a call (the timer's scheduled callback runs between
        two bytecodes of a service() from the wait-for-tick loop) returns at
        once: it would read into the buffer being gathered from, or send a
        frame inside the other's write and drop the driver under it."""
        if self._in:
            return
        self._in = True
        try:
            self._service(t)
        finally:
            self._in = False

    def _service(self, t):
        self.t_us[0] = t
        if self._boot < 0:
            self._boot = t
            self._next_free = (t + _LISTEN_PERIODS * PERIOD_US + (self.unit - 1) * SLOT_US) & _MASK
        self._receive(t)
        # Keep the origin within a period of now (ticks compare only within
        # 2**29 us): the same phase, a whole number of periods on.
        e = _d(t, self._origin)
        if e > PERIOD_US:
            self._origin = (self._origin + (e // PERIOD_US) * PERIOD_US) & _MASK
        if self._pending:
            self._maybe_send(t)

    def _receive(self, t):
        u = self._uart
        n = u.any()
        if n:
            if n > _RXBUF:
                n = _RXBUF
            k = u.readinto(self._rx, n)
            if not k:
                k = 0
            c = self.char_us
            for i in range(k):
                self._byte(self._rx[i], (t - (k - i) * c) & _MASK)
            self._last_rx = t
        elif self._an and _d(t, self._last_rx) > self.sense_us:
            # The line went quiet inside a frame: a short frame.
            self._an = 0
            self.rx_bad = _inc(self.rx_bad)

    def _byte(self, b, t_start):
        an = self._an
        if an == 0:
            if b != SYNC and b != PLANT_SYNC:
                self.rx_noise = _inc(self.rx_noise)
                return
            self._start = t_start
        a = self._asm
        a[an] = b
        an += 1
        if an < FRAME_BYTES:
            self._an = an
            return
        self._an = 0
        c = crc16(a, 0, 22)
        k = a[2]
        if a[22] != (c & 0xFF) or a[23] != (c >> 8) or k < 1 or k > MAX_UNITS:
            self.rx_bad = _inc(self.rx_bad)
            return
        if a[0] == SYNC:
            self._heard(k, self._start)   # a slot's first frame (see above)
        h = self._qh
        nh = h + 1
        if nh >= _QUEUE:
            nh = 0
        if nh == self._qt:
            self.rx_dropped = _inc(self.rx_dropped)
            return
        q = self._q
        o = FRAME_BYTES * h
        for j in range(FRAME_BYTES):
            q[o + j] = a[j]
        self._qh = nh
        self.rx_frames = _inc(self.rx_frames)

    def _heard(self, k, t_start):
        # Follow the lowest unit heard lately, unless that is this one (then
        # its own clock: ref 0); until anyone is heard, anyone.
        if k == self.unit:
            return                  # another controller on our id: the firmware raises it
        ref = self._ref
        gone = ref != 0 and _d(t_start, self._ref_t) > _REF_STALE_US
        if not self._synced or (k < self.unit and (ref == 0 or gone or k <= ref)):
            self._ref = k if k < self.unit else 0
            self._ref_t = t_start
            self._origin = (t_start - (k - 1) * SLOT_US) & _MASK
            self._synced = True
        elif gone:
            self._ref = 0           # the reference is gone: keep its origin, on our clock

    def _maybe_send(self, t):
        if not self._synced:
            if _d(t, self._next_free) < 0:
                return
            if not self._quiet(t):
                return
            self._put()
            # Until it hears anyone, a unit's period is its own (see above).
            self._next_free = (t + PERIOD_US + (self.unit - 1) * SLOT_US) & _MASK
            self._origin = (t - (self.unit - 1) * SLOT_US) & _MASK
            return
        if _d(t, self._next_free) < 0:
            return                  # still listening after boot
        # Where in the cycle is t?  pos in 0..PERIOD_US-1.
        pos = _d(t, self._origin) % PERIOD_US
        start = (self.unit - 1) * SLOT_US
        if pos < start or pos > start + self.late_us:
            return
        cyc = (t - pos) & _MASK
        if self._sent and -SLOT_US < _d(cyc, self._sent_cycle) < SLOT_US:
            return                  # already sent in this cycle's slot
        if not self._quiet(t):
            return
        self._sent_cycle = cyc
        self._sent = True
        if self._ref == 0:
            self._origin = cyc       # its own clock: carry the origin forward
        self._put()

    def _quiet(self, t):
        return self._an == 0 and self._uart.any() == 0 and \
            _d(t, self._last_rx) > 2 * self.char_us

    def _put(self):
        """The slot's frames: the share frame, then the plant frame after
        the framing silence (the driver off meanwhile)."""
        if self._ps:
            self._ps = False
            self._write(self._tx)
            if self._pp and self._sleep_us is not None:
                self._sleep_us(self.gap_us)
        if self._pp:
            self._pp = False
            self._write(self._txp)
        self._pending = False

    def _write(self, buf):
        de = self._de
        de.value(1)
        self._uart.write(buf)
        self._uart.flush()
        if self._sleep_us is not None:
            self._sleep_us(self.char_us)   # rp2 < 1.24: flush returns a character early
        de.value(0)
        self.tx_frames = _inc(self.tx_frames)

    def safe(self):
        self._de.value(0)
