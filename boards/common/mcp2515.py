"""Microchip MCP2515 stand-alone CAN controller on SPI: the stack's share
link (firmware/sharelink.py, issue 12) on a CAN bus, for boards without a
CAN peripheral MicroPython drives (the RP2040 has none; the ESP32's TWAI has
no MicroPython class in the v1.28 esp32 port: README, Stacked units).

Written from the MCP2515 datasheet (Microchip DS20001801, "Stand-Alone CAN
Controller with SPI Interface"): section 12 (SPI instructions), 5 (bit
timing, CNF1-3), 3 and 4 (TX / RX buffers, rollover), 6 (errors), 10
(modes).  Only the parts used here:
  SPI instructions (mode 0,0 or 1,1; MSB first; CS low around each):
    RESET 0xC0; READ 0x03 a [data...]; WRITE 0x02 a d [d...] (sequential);
    READ RX BUFFER 0x90 (RXB0SIDH..) / 0x94 (RXB1SIDH..), which clears that
    buffer's RXnIF when CS rises; LOAD TX BUFFER 0x40 / 0x42 / 0x44 (TXB0 /
    TXB1 / TXB2 SIDH..); RTS 0x80 | buffers (0x87: all three); READ STATUS
    0xA0 -> RX0IF, RX1IF, TXB0 TXREQ, TX0IF, TXB1 TXREQ, TX1IF, TXB2 TXREQ,
    TX2IF (bits 0..7); BIT MODIFY 0x05 a mask data.
  Registers: CANSTAT 0x0E (OPMOD bits 7:5), CANCTRL 0x0F (REQOP bits 7:5:
    000 normal, 100 configuration, the state after reset), TEC 0x1C, REC
    0x1D, CNF3 0x28, CNF2 0x29, CNF1 0x2A, CANINTE 0x2B, CANINTF 0x2C, EFLG
    0x2D (RX1OVR, RX0OVR, TXBO, TXEP, RXEP, TXWAR, RXWAR, EWARN: bits 7..0),
    TXBnCTRL 0x30 / 0x40 / 0x50 (TXREQ bit 3, TXP bits 1:0), RXB0CTRL 0x60
    (RXM bits 6:5, BUKT bit 2), RXB1CTRL 0x70.  A buffer's 13 bytes: SIDH
    (SID 10:3), SIDL (SID 2:0 in bits 7:5, SRR bit 4: a standard remote
    frame received, IDE bit 3), EID8, EID0, DLC (RTR bit 6, DLC bits 3:0),
    D0..D7.
  Bit time = SyncSeg (1 TQ) + PropSeg + PS1 + PS2, TQ = 2 (BRP + 1) / Fosc;
    CNF1 = (SJW - 1) << 6 | BRP; CNF2 = BTLMODE (0x80: PS2 from CNF3) |
    SAM << 6 | (PS1 - 1) << 3 | (PropSeg - 1); CNF3 = PS2 - 1.  Rules kept:
    PropSeg + PS1 >= PS2, PS2 > SJW, PS2 >= 2 (the information processing
    time), 8..25 TQ a bit.
  The chip recovers from bus-off by itself after 128 x 11 recessive bits.

The share frame on CAN.  A 24-byte share frame is three classic 8-byte data
frames with standard 11-bit ids ID_BASE + 4 * unit + fragment (fragment
0..2 = bytes 0-7, 8-15, 16-23): unit 1 is 0x304..0x306, unit 16
0x340..0x342.  Lower ids win CAN arbitration, so the order on the bus is
fixed and no id is shared by two units (two controllers set to one id
collide in the data field: error frames, TEC rising; sharelink's duplicate
check sees the rest).  The three fragments go in TXB0, TXB1, TXB2 with
priorities 3, 2, 1 and one RTS: they leave back to back, in order, without
the CPU (one buffer would need reloading twice per frame, ~0.5 ms apart at
250 kbit/s, which a 10 ms tick loop cannot do without waiting).  A set
still pending when the next is sent (the bus saturated, or bus-off) is
aborted and counted (tx_late): the new frame replaces it.

Receiving.  Both receive buffers take every frame (RXM = 11, filters off)
with rollover (BUKT): a frame arriving while RXB0 is full goes to RXB1.
service() drains the chip (READ STATUS, then READ RX BUFFER for each full
buffer, RXB0 first) into a ring of raw frames; poll(cb) services and
reassembles.  Reassembly is per sending unit: fragment 0 starts a set,
fragments 1 and 2 must follow in that order; a fragment 0 arriving on an
unfinished set drops it (rx_incomplete), a fragment out of turn drops the
set (rx_out_of_order, once a set: its later fragments go quietly), and a frame that is not a share fragment (another
id, an extended or remote frame, DLC not 8) is counted (rx_foreign) and
ignored.  Only a complete set reaches cb(frame, 24): Controller.share_rx,
whose sharelink CRC and checks then judge the bytes.  With two receive
buffers the chip holds ~1 ms of a busy bus at 250 kbit/s, so the board
drains it between ticks AND mid-tick: service is also the handler of the
INT pin (falling edge, a scheduled IRQ) or of a periodic timer
(NativeHal).  The SPI bus is shared with the metering IC, so every access
here runs under `hold`: a handler that finds the bus held (by the meter's
read or by this driver's own main-loop access) only marks `deferred`, and
release() drains once the holder is done.

Errors: check() (from send, every share period) reads CANSTAT, TEC, REC and
EFLG: error passive, bus-off (counted on entry: bus_offs) and the chip's
receive overflows (RXnOVR, counted and cleared).  A chip that left normal
mode (a reset or brown-out: CANSTAT not normal) is started again, as is one
that did not answer at begin (every RETRY_SENDS sends).

Allocation free after construction: every SPI transaction uses its own
preallocated buffers (write_readinto), the ring and the per-unit assembly
buffers are bytearrays, counters are small ints (saturating at _CNT_MAX).
Integer only.  Runs under CPython (the tests' register model) and both
MicroPythons.
"""

from array import array

try:
    from micropython import const
except ImportError:  # CPython: const() is only a hint to the MicroPython parser
    def const(x):
        return x

# SPI instructions (DS20001801 table 12-1)
_RESET = const(0xC0)
_READ = const(0x03)
_WRITE = const(0x02)
_READ_RX0 = const(0x90)
_READ_RX1 = const(0x94)
_LOAD_TX0 = const(0x40)       # + 2 * buffer
_RTS_ALL = const(0x87)
_READ_STATUS = const(0xA0)
_BIT_MODIFY = const(0x05)

# Registers
_CANSTAT = const(0x0E)
_CANCTRL = const(0x0F)
_TEC = const(0x1C)
_CNF3 = const(0x28)
_CANINTE = const(0x2B)
_CANINTF = const(0x2C)
_EFLG = const(0x2D)
_TXB0CTRL = const(0x30)       # TXBnCTRL at 0x30 + 0x10 * n
_RXB0CTRL = const(0x60)
_RXB1CTRL = const(0x70)

_MODE_MASK = const(0xE0)
_MODE_NORMAL = const(0x00)
_MODE_CONFIG = const(0x80)
_RXM_ANY = const(0x60)        # RXBnCTRL RXM = 11: every frame, filters off
_BUKT = const(0x04)           # RXB0CTRL: roll over into RXB1
_RX_IE = const(0x03)          # CANINTE RX0IE | RX1IE: INT follows the receive buffers
_ERR_IF = const(0xA0)         # CANINTF MERRF | ERRIF
_TXREQ_ALL = const(0x54)      # READ STATUS: TXB0 / TXB1 / TXB2 TXREQ
_TXREQ = const(0x08)          # TXBnCTRL TXREQ
_EF_RXOVR = const(0xC0)
_EF_TXBO = const(0x20)
_EF_TXEP = const(0x10)
_EF_RXEP = const(0x08)
_IDE = const(0x08)            # RXBnSIDL: extended frame
_SRR = const(0x10)            # RXBnSIDL: a standard remote frame
_RTR = const(0x40)            # RXBnDLC: an extended remote frame

# The share frame on CAN
ID_BASE = const(0x300)
FRAGMENTS = const(3)
FRAME_BYTES = const(24)       # sharelink.FRAME_BYTES
MAX_UNITS = const(16)         # sharelink.MAX_UNITS
_ID_FIRST = const(0x304)      # unit 1, fragment 0
_ID_END = const(0x343)        # past unit 16, fragment 2

_CNT_MAX = const(1000000000)
RETRY_SENDS = const(20)       # a chip that is not up is started again every 20 sends (1 s)
_DROPPING = const(0xFF)       # reassembly: a set dropped, waiting for a fragment 0
_DRAIN_MAX = const(8)         # buffers read per service() call, at most
_BUF = const(13)              # bytes of a TX / RX buffer: SIDH .. D7


def bit_timing(osc_hz, bitrate):
    """(CNF1, CNF2, CNF3) for a crystal and bit rate; ValueError if not one
    of the four supported.  SJW 1 TQ, one sample (SAM 0), BTLMODE 1."""
    if osc_hz == 8000000 and bitrate == 250000:
        # TQ = 2 x 1 / 8 MHz = 250 ns (BRP 0); 4 us a bit = 16 TQ:
        # Sync 1 + Prop 5 + PS1 7 + PS2 3; sample point 13/16 = 81.25 %.
        # CNF1 = 0x00; CNF2 = 0x80 | (7-1) << 3 | (5-1) = 0xB4; CNF3 = 3-1 = 0x02.
        return 0x00, 0xB4, 0x02
    if osc_hz == 8000000 and bitrate == 500000:
        # TQ = 250 ns (BRP 0); 2 us a bit = 8 TQ: Sync 1 + Prop 2 + PS1 3 +
        # PS2 2; sample point 6/8 = 75 % (8 TQ leave no finer choice).
        # CNF1 = 0x00; CNF2 = 0x80 | (3-1) << 3 | (2-1) = 0x91; CNF3 = 2-1 = 0x01.
        return 0x00, 0x91, 0x01
    if osc_hz == 16000000 and bitrate == 250000:
        # TQ = 2 x 2 / 16 MHz = 250 ns (BRP 1); 16 TQ as at 8 MHz: 81.25 %.
        # CNF1 = 0x01; CNF2 = 0xB4; CNF3 = 0x02.
        return 0x01, 0xB4, 0x02
    if osc_hz == 16000000 and bitrate == 500000:
        # TQ = 2 x 1 / 16 MHz = 125 ns (BRP 0); 2 us = 16 TQ: 81.25 %.
        # CNF1 = 0x00; CNF2 = 0xB4; CNF3 = 0x02.
        return 0x00, 0xB4, 0x02
    raise ValueError("MCP2515: supported: 8 or 16 MHz crystal, 250 or 500 kbit/s")


def _noop_sleep(ms):
    pass


try:
    from time import sleep_ms as _sleep_ms
except ImportError:  # CPython host tests: the register model needs no settling time
    _sleep_ms = _noop_sleep


def _inc(v):
    return v + 1 if v < _CNT_MAX else v


class Mcp2515:
    """The MCP2515 on `spi` (write_readinto) with chip select `cs` (value(v),
    held high between transactions), carrying this unit's share frames.
    unit: this unit's fleet id (1..16; 0: nothing is sent).  osc_hz /
    bitrate: bit_timing().  ring: raw CAN frames buffered between service()
    and poll()."""

    def __init__(self, spi, cs, unit, osc_hz=8000000, bitrate=250000, ring=32,
                 sleep_ms=None):
        self.cnf = bit_timing(osc_hz, bitrate)
        self.unit = unit
        self._wri = spi.write_readinto       # bound methods made once
        self._csv = cs.value
        self._csv(1)
        self._sleep = sleep_ms if sleep_ms is not None else _sleep_ms
        # One pair of buffers per transaction length: write_readinto needs
        # equal lengths, and a slice would allocate.
        self._o1 = bytearray(1)
        self._i1 = bytearray(1)
        self._o2 = bytearray(2)
        self._i2 = bytearray(2)
        self._o3 = bytearray(3)
        self._i3 = bytearray(3)
        self._o4 = bytearray(4)
        self._i4 = bytearray(4)
        self._o5 = bytearray(5)
        self._i5 = bytearray(5)
        self._ob = bytearray(1 + _BUF)       # LOAD TX BUFFER / READ RX BUFFER
        self._ib = bytearray(1 + _BUF)
        # Received frames, raw: id and 8 data bytes (DLC 8 only; others are
        # counted foreign on the way in).
        self._rn = ring
        self._rid = array("H", [0] * ring)
        self._rdat = bytearray(8 * ring)
        self._rhead = 0
        self._rtail = 0
        # Reassembly, per sending unit (index = unit id): the next fragment
        # expected (0: none in progress, _DROPPING: the rest of a dropped
        # set) and the bytes so far.
        self._next = bytearray(MAX_UNITS + 1)
        self._asm = bytearray(FRAME_BYTES * (MAX_UNITS + 1))
        self.frame = bytearray(FRAME_BYTES)  # a complete set, handed to cb
        # The shared-bus guard (see the module docstring).
        self.hold = 0
        self.deferred = 0
        self.irq_cb = self._irq              # made once: a bound method allocates
        self._retry = 0
        # State and counters (diagnostics; saturating).
        self.up = False
        self.begins = 0
        self.begin_failures = 0
        self.tx_sets = 0            # sets loaded and requested
        self.tx_late = 0            # a previous set still pending: aborted
        self.tx_refused = 0         # not sent: wrong length, no unit, chip not up
        self.rx_frames = 0          # CAN frames read out of the chip
        self.rx_foreign = 0         # not a share fragment
        self.rx_sets = 0            # complete sets handed on
        self.rx_incomplete = 0      # a set cut short by the sender's next fragment 0
        self.rx_out_of_order = 0    # a fragment out of turn (its set dropped)
        self.ring_overflows = 0     # frames lost: the ring was full
        self.rx_overflows = 0       # frames lost in the chip (EFLG RXnOVR)
        self.bus_offs = 0           # entries into bus-off
        self.bus_off = False
        self.error_passive = False
        self.tec = 0
        self.rec = 0
        self.eflg = 0

    # -- SPI ------------------------------------------------------------------

    def _x(self, o, i):
        c = self._csv
        c(0)
        try:
            self._wri(o, i)
        finally:
            c(1)

    def _rd(self, addr):
        o = self._o3
        o[0] = _READ
        o[1] = addr
        o[2] = 0
        self._x(o, self._i3)
        return self._i3[2]

    def _wr(self, addr, v):
        o = self._o3
        o[0] = _WRITE
        o[1] = addr
        o[2] = v
        self._x(o, self._i3)

    def _modify(self, addr, mask, v):
        o = self._o4
        o[0] = _BIT_MODIFY
        o[1] = addr
        o[2] = mask
        o[3] = v
        self._x(o, self._i4)

    def _status(self):
        o = self._o2
        o[0] = _READ_STATUS
        o[1] = 0
        self._x(o, self._i2)
        return self._i2[1]

    # -- the shared-bus guard ----------------------------------------------------

    def release(self):
        """The bus holder (the HAL around the meter, or this driver) is done:
        drain the chip if a handler was turned away meanwhile."""
        self.hold = 0
        if self.deferred:
            self.deferred = 0
            self.hold = 1
            try:
                self._drain()
            finally:
                self.hold = 0

    def _irq(self, arg):
        # INT pin (falling edge) or periodic timer, as a scheduled callback:
        # runs between two bytecodes of whatever the main loop is doing.
        if self.hold:
            self.deferred = 1
            return
        self.hold = 1
        try:
            self._drain()
        finally:
            self.hold = 0

    # -- start ----------------------------------------------------------------------

    def begin(self):
        """Reset the chip, set the bit timing, both receive buffers open with
        rollover, the TX priorities, and normal mode.  True when the chip
        answered and every register read back."""
        self.hold = 1
        try:
            ok = self._begin()
        finally:
            self.release()
        return ok

    def _begin(self):
        self.begins = _inc(self.begins)
        self.up = False
        o = self._o1
        o[0] = _RESET
        self._x(o, self._i1)
        # The oscillator restarts after RESET (128 cycles, 16 us at 8 MHz).
        self._sleep(1)
        if self._rd(_CANSTAT) & _MODE_MASK != _MODE_CONFIG:
            return self._failed()         # no chip (MISO 0xFF / 0x00), or not reset
        c1, c2, c3 = self.cnf
        o = self._o5
        o[0] = _WRITE
        o[1] = _CNF3                      # sequential: CNF3, CNF2, CNF1 at 0x28..0x2A
        o[2] = c3
        o[3] = c2
        o[4] = c1
        self._x(o, self._i5)
        o[0] = _READ
        o[2] = o[3] = o[4] = 0
        i = self._i5
        self._x(o, i)
        if i[2] != c3 or i[3] != c2 or i[4] != c1:
            return self._failed()
        self._wr(_RXB0CTRL, _RXM_ANY | _BUKT)
        self._wr(_RXB1CTRL, _RXM_ANY)
        # TX priorities 3, 2, 1: fragment 0 in TXB0 leaves first.
        for b in range(FRAGMENTS):
            self._wr(_TXB0CTRL + 0x10 * b, 3 - b)
        self._wr(_CANINTF, 0)
        self._wr(_CANINTE, _RX_IE)
        self._wr(_CANCTRL, _MODE_NORMAL)  # CLKOUT off, one-shot off (CAN retransmits)
        for _ in range(10):
            if self._rd(_CANSTAT) & _MODE_MASK == _MODE_NORMAL:
                self.up = True
                self._retry = 0
                return True
            self._sleep(1)
        return self._failed()

    def _failed(self):
        self.begin_failures = _inc(self.begin_failures)
        self._retry = RETRY_SENDS
        return False

    # -- sending ------------------------------------------------------------------------

    def send(self, buf, n):
        """A share frame buf[0:24] out as three CAN frames, and the chip's
        error state read (check).  Returns True if the set was requested."""
        self.hold = 1
        try:
            ok = self._send(buf, n)
        finally:
            self.release()
        return ok

    def _send(self, buf, n):
        u = self.unit
        if not self.up:
            r = self._retry - 1
            self._retry = r
            if r > 0 or not self._begin():
                self.tx_refused = _inc(self.tx_refused)
                return False
        self._check()
        if not self.up or n != FRAME_BYTES or u < 1 or u > MAX_UNITS:
            self.tx_refused = _inc(self.tx_refused)
            return False
        if self._status() & _TXREQ_ALL:
            # The last set has not all gone (a saturated bus or bus-off):
            # abort it, so the newest frame goes, not a stale one.
            for b in range(FRAGMENTS):
                self._modify(_TXB0CTRL + 0x10 * b, _TXREQ, 0)
            self.tx_late = _inc(self.tx_late)
        o = self._ob
        base = ID_BASE + 4 * u
        for f in range(FRAGMENTS):
            cid = base + f
            o[0] = _LOAD_TX0 + 2 * f
            o[1] = cid >> 3               # SIDH: SID 10:3
            o[2] = (cid & 7) << 5         # SIDL: SID 2:0, standard frame
            o[3] = 0
            o[4] = 0
            o[5] = 8                      # DLC 8, data frame
            k = 8 * f
            for j in range(8):
                o[6 + j] = buf[k + j]
            self._x(o, self._ib)
        o = self._o1
        o[0] = _RTS_ALL
        self._x(o, self._i1)
        self.tx_sets = _inc(self.tx_sets)
        return True

    def safe(self):
        """Nothing to drive: a controller going safe leaves the chip as it is
        (its peers see its frames stop and go stale)."""
        pass

    def check(self):
        """Read the chip's error state now (send does it every frame)."""
        self.hold = 1
        try:
            self._check()
        finally:
            self.release()

    def _check(self):
        if self._rd(_CANSTAT) & _MODE_MASK != _MODE_NORMAL:
            # Reset behind our back (brown-out) or never started: start again
            # at the next send.
            if self.up:
                self.up = False
                self._retry = 1
            return
        o = self._o4
        o[0] = _READ
        o[1] = _TEC                       # TEC, REC
        o[2] = o[3] = 0
        i = self._i4
        self._x(o, i)
        self.tec = i[2]
        self.rec = i[3]
        o[0] = _READ
        o[1] = _CANINTF                   # CANINTF, EFLG
        o[2] = o[3] = 0
        self._x(o, i)
        intf = i[2]
        ef = i[3]
        self.eflg = ef
        boff = (ef & _EF_TXBO) != 0
        if boff and not self.bus_off:
            self.bus_offs = _inc(self.bus_offs)
        self.bus_off = boff
        self.error_passive = (ef & (_EF_TXEP | _EF_RXEP)) != 0
        if ef & _EF_RXOVR:
            if ef & 0x40:
                self.rx_overflows = _inc(self.rx_overflows)
            if ef & 0x80:
                self.rx_overflows = _inc(self.rx_overflows)
            self._modify(_EFLG, _EF_RXOVR, 0)
        if intf & _ERR_IF:
            self._modify(_CANINTF, _ERR_IF, 0)

    # -- receiving ------------------------------------------------------------------------

    def service(self):
        """Drain the chip's receive buffers into the ring (main loop)."""
        self.hold = 1
        try:
            self._drain()
        finally:
            self.release()

    def _drain(self):
        if not self.up:
            return
        for _ in range(_DRAIN_MAX // 2):
            st = self._status()
            if st & 3 == 0:
                return
            if st & 1:
                self._take(_READ_RX0)
            if st & 2:
                self._take(_READ_RX1)

    def _take(self, instr):
        o = self._ob
        o[0] = instr
        for j in range(1, 1 + _BUF):
            o[j] = 0
        i = self._ib
        self._x(o, i)                     # CS rising frees the buffer
        self.rx_frames = _inc(self.rx_frames)
        if i[2] & (_IDE | _SRR) or i[5] & _RTR or i[5] & 0x0F != 8:
            self.rx_foreign = _inc(self.rx_foreign)
            return
        h = self._rhead
        nh = h + 1
        if nh >= self._rn:
            nh = 0
        if nh == self._rtail:
            self.ring_overflows = _inc(self.ring_overflows)
            return
        self._rid[h] = (i[1] << 3) | (i[2] >> 5)
        d = self._rdat
        k = 8 * h
        for j in range(8):
            d[k + j] = i[6 + j]
        self._rhead = nh

    def poll(self, cb):
        """Between ticks: service the chip, then reassemble what the ring
        holds and call cb(frame, FRAME_BYTES) for every complete set.
        Returns the number of sets handed on."""
        self.service()
        got = 0
        t = self._rtail
        n = self._rn
        while t != self._rhead:
            # The entry is used up before the tail moves past it: a handler
            # filling the ring meanwhile never overwrites it.
            done = self._assemble(self._rid[t], 8 * t)
            t += 1
            if t >= n:
                t = 0
            self._rtail = t
            if done:
                got += 1
                cb(self.frame, FRAME_BYTES)
        return got

    def _assemble(self, cid, k):
        """One received frame (id, data at ring offset k) into its unit's
        set; True when that completed the set (then in self.frame)."""
        if cid < _ID_FIRST or cid >= _ID_END or cid & 3 == 3:
            self.rx_foreign = _inc(self.rx_foreign)
            return False
        f = cid & 3
        u = (cid - ID_BASE) >> 2
        nxt = self._next
        want = nxt[u]
        if f == 0:
            if want != 0 and want != _DROPPING:
                self.rx_incomplete = _inc(self.rx_incomplete)
        elif f != want:
            # Its fragment 0 (or the one before) was lost, or the chip's two
            # buffers were read out of arrival order: the set cannot be
            # trusted.  Counted once; its other fragments are dropped quietly
            # until the sender's next fragment 0.
            if want != _DROPPING:
                self.rx_out_of_order = _inc(self.rx_out_of_order)
                nxt[u] = _DROPPING
            return False
        a = self._asm
        d = self._rdat
        o = FRAME_BYTES * u + 8 * f
        for j in range(8):
            a[o + j] = d[k + j]
        if f < FRAGMENTS - 1:
            nxt[u] = f + 1
            return False
        nxt[u] = 0
        fr = self.frame
        o = FRAME_BYTES * u
        for j in range(FRAME_BYTES):
            fr[j] = a[o + j]
        self.rx_sets = _inc(self.rx_sets)
        return True
