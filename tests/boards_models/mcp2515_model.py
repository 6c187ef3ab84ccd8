"""Register-level model of the MCP2515 CAN controller on its SPI bus, and a
CAN bus joining several, for the share-link driver tests
(boards/common/mcp2515.py).  Plain Python: runs under CPython and both
MicroPythons (no f-strings, dataclasses or typing).

The chip, from the MCP2515 datasheet (Microchip DS20001801) as the driver
cites it:
  - SPI, byte by byte while CS is low: RESET 0xC0 (every register to its
    reset value: CANCTRL 0x87, CANSTAT 0x80 = configuration mode, the rest
    0; pending TX and RX dropped); READ 0x03 a, data out from a on;
    WRITE 0x02 a d...; READ RX BUFFER 0x90 / 0x92 / 0x94 / 0x96 (RXB0SIDH,
    RXB0D0, RXB1SIDH, RXB1D0), clearing RXnIF when CS rises; LOAD TX BUFFER
    0x40..0x45 (TXBn SIDH / D0); RTS 0x80 | buffers; READ STATUS 0xA0
    (repeated while clocked); BIT MODIFY 0x05 a mask data (on a register
    that is not bit-modifiable the mask is 0xFF).  Bytes clocked with CS
    high are ignored (MISO floats: 0xFF).  CANSTAT and CANCTRL appear at
    every 0xXE / 0xXF.
  - write protection: CNF1-3, filters and masks only in configuration
    mode; TEC, REC, CANSTAT read-only; EFLG only bits 7:6; TXBnCTRL only
    TXREQ and TXP (clearing TXREQ aborts: ABTF); RXB0CTRL RXM and BUKT,
    RXB1CTRL RXM.  Refused writes are counted (.rejected).
  - mode: REQOP takes effect at once (the chip waits for the bus to be idle:
    the model's bus is idle between steps).
  - receive: into RXB0 if RX0IF is clear, else into RXB1 if BUKT is set and
    RX1IF clear, else lost with EFLG RX1OVR (rolled) / RX0OVR, ERRIF set.
    Filters are not modelled (RXM = 11 and all-zero masks both accept
    everything, which is all the driver uses).
  - INT: low while CANINTF & CANINTE; each fall calls .int_cb() (the
    board's pin IRQ).
  - errors (ISO 11898-1 fault confinement, the chip's TEC / REC / EFLG): a
    transmit error +8 TEC, a receive error +1 REC, a good transmit -1 TEC, a
    good receive -1 REC; EWARN / TXWAR / RXWAR at 96, TXEP / RXEP at 128,
    TXBO above 255 (the node stops sending and receiving until it has seen
    128 x 11 recessive bits: RECOVER_SLOTS idle or busy frame slots of the
    bus, then TEC = REC = 0).  An error-passive transmitter that gets no
    ACK does not count it (the standard's exception), so a node alone on a
    bus goes error passive, not bus-off.
  - faults: stuck(0xFF / 0x00) = MISO stuck (a dead chip); tx_fault = every
    frame it sends fails (a broken transceiver: bit errors); osc_hz other
    than the bus's design = a wrong bit rate, derived from CNF1-3.

The bus (CanBus): step() is one frame slot.  Every node in normal mode and
not bus-off offers its highest-priority pending buffer (TXP, then the
higher buffer number, as the chip does); the lowest id wins arbitration.
The frame reaches every other node at the bus's bit rate (a node at another
bit rate sees errors, +1 REC, and receives nothing; its own error flags are
not modelled), unless a wire error is injected (corrupt(n)): then no node
takes it, receivers +1 REC, the sender +8 TEC, and the sender retries it in
a later slot, as CAN does.  inject(...) puts a raw frame from an outside
device on the bus (any id, extended, remote, any DLC).
Nothing here allocates per step or per SPI byte (preallocated bytearrays,
small ints), so the driver's calls run under heap_lock with it.
"""

CANSTAT = 0x0E
CANCTRL = 0x0F
TEC = 0x1C
REC = 0x1D
CNF3 = 0x28
CNF2 = 0x29
CNF1 = 0x2A
CANINTE = 0x2B
CANINTF = 0x2C
EFLG = 0x2D
TXB0CTRL = 0x30
RXB0CTRL = 0x60
RXB1CTRL = 0x70

MODE_NORMAL = 0x00
MODE_CONFIG = 0x80

RECOVER_SLOTS = 13          # 128 x 11 = 1408 bits ~ 13 frames of ~111 bits

# Bit-modifiable registers (DS20001801 12.10): the rest take mask 0xFF.
_BITMOD = (0x0C, 0x0D, CANCTRL, CNF3, CNF2, CNF1, CANINTE, CANINTF, EFLG,
           0x30, 0x40, 0x50, 0x60, 0x70)
# Registers written only in configuration mode: filters, masks, CNF1-3.
_CONFIG_ONLY = tuple(range(0x00, 0x0C)) + tuple(range(0x10, 0x1C)) + \
    tuple(range(0x20, 0x28)) + (CNF3, CNF2, CNF1)


class CsPin:
    """The chip-select line (machine.Pin-like: value(v) / value())."""

    def __init__(self, chip):
        self._chip = chip
        self.level = 1

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            if v:
                self._chip._deselect()
            else:
                self._chip._select()
        return None


def bit_rate(osc_hz, cnf1, cnf2, cnf3):
    """(bit/s, sample point in 0.01 %, TQ a bit, rules kept) from CNF1-3."""
    brp = cnf1 & 0x3F
    sjw = (cnf1 >> 6) + 1
    prop = (cnf2 & 7) + 1
    ps1 = ((cnf2 >> 3) & 7) + 1
    if cnf2 & 0x80:
        ps2 = (cnf3 & 7) + 1
    else:
        ps2 = ps1 if ps1 > 2 else 2        # BTLMODE 0: PS2 = max(PS1, IPT)
    ntq = 1 + prop + ps1 + ps2
    rate = osc_hz // (2 * (brp + 1) * ntq)
    sp = (1 + prop + ps1) * 10000 // ntq
    ok = prop + ps1 >= ps2 and ps2 > sjw and ps2 >= 2 and 8 <= ntq <= 25
    return rate, sp, ntq, ok


class Mcp2515Model:
    """One chip.  osc_hz: its crystal."""

    def __init__(self, osc_hz=8000000):
        self.osc_hz = osc_hz
        self.cs = CsPin(self)
        self.regs = bytearray(128)
        self.int_cb = None
        self.stuck_byte = -1
        self.tx_fault = False
        self.bus = None
        # statistics
        self.spi_frames = 0
        self.rejected = 0
        self.resets = 0
        self.ignored = 0
        self.sent = 0           # frames it put on the bus
        self.received = 0       # frames it stored in a receive buffer
        self.lost = 0           # frames lost to a full receive buffer
        self._sel = 0
        self._pos = 0
        self._ins = 0
        self._addr = 0
        self._mask = 0
        self._off_slots = 0
        self._int = 0
        self._tec = 0           # TEC beyond 255 (the register saturates; bus-off above 255)
        self._reset()

    # -- test controls ------------------------------------------------------

    def stuck(self, byte):
        """MISO stuck at byte; None: the chip answers again."""
        self.stuck_byte = -1 if byte is None else byte

    def power_cycle(self):
        """A brown-out: every register back to its reset value."""
        self._reset()

    def mode(self):
        return self.regs[CANSTAT] & 0xE0

    def bit_rate(self):
        r = self.regs
        return bit_rate(self.osc_hz, r[CNF1], r[CNF2], r[CNF3])

    def bus_off(self):
        return self.regs[EFLG] & 0x20 != 0

    # -- register file ------------------------------------------------------

    def _reset(self):
        r = self.regs
        for a in range(128):
            r[a] = 0
        r[CANCTRL] = 0x87
        r[CANSTAT] = 0x80
        self._tec = 0
        self.resets += 1
        self._off_slots = 0
        self.rate_bps = 0       # the bit rate CNF1-3 give (kept here: bit_rate() makes a tuple)
        self._rate()
        self._int_update()

    def _rate(self):
        r = self.regs
        self.rate_bps = bit_rate(self.osc_hz, r[CNF1], r[CNF2], r[CNF3])[0]

    def _read(self, a):
        low = a & 0x0F
        if low == 0x0E:
            return self.regs[CANSTAT]
        if low == 0x0F:
            return self.regs[CANCTRL]
        return self.regs[a & 0x7F]

    def _write(self, a, v):
        a &= 0x7F
        r = self.regs
        low = a & 0x0F
        if low == 0x0F:
            a = CANCTRL
        elif low == 0x0E or a == TEC or a == REC:
            self.rejected += 1
            return
        if a in _CONFIG_ONLY and r[CANSTAT] & 0xE0 != MODE_CONFIG:
            self.rejected += 1
            return
        if a == CANCTRL:
            r[CANCTRL] = v
            r[CANSTAT] = (r[CANSTAT] & 0x1F) | (v & 0xE0)
            return
        if a == EFLG:
            r[EFLG] = (r[EFLG] & 0x3F) | (v & 0xC0)
            return
        if a == 0x30 or a == 0x40 or a == 0x50:
            old = r[a]
            nv = (old & 0x70) | (v & 0x0B)
            if old & 0x08 and not v & 0x08:
                nv |= 0x40          # ABTF: aborted
            r[a] = nv
            return
        if a == RXB0CTRL:
            r[a] = (r[a] & 0x0B) | (v & 0x64)
            return
        if a == RXB1CTRL:
            r[a] = (r[a] & 0x0F) | (v & 0x60)
            return
        r[a] = v
        if a == CANINTF or a == CANINTE:
            self._int_update()
        elif a == CNF1 or a == CNF2 or a == CNF3:
            self._rate()

    def _status(self):
        r = self.regs
        f = r[CANINTF]
        s = f & 3
        if r[0x30] & 8:
            s |= 0x04
        if f & 0x04:
            s |= 0x08
        if r[0x40] & 8:
            s |= 0x10
        if f & 0x08:
            s |= 0x20
        if r[0x50] & 8:
            s |= 0x40
        if f & 0x10:
            s |= 0x80
        return s

    def _int_update(self):
        on = 1 if self.regs[CANINTF] & self.regs[CANINTE] else 0
        was = self._int
        self._int = on
        if on and not was and self.int_cb is not None:
            self.int_cb()

    # -- SPI ------------------------------------------------------------------

    def _select(self):
        self._sel = 1
        self._pos = 0

    def _deselect(self):
        if self._sel and self._pos > 0:
            self.spi_frames += 1
            ins = self._ins
            if ins == 0x90 or ins == 0x92:
                self._clear_if(0x01)
            elif ins == 0x94 or ins == 0x96:
                self._clear_if(0x02)
        self._sel = 0

    def _clear_if(self, bit):
        self.regs[CANINTF] &= ~bit & 0xFF
        self._int_update()

    def write_readinto(self, w, r):
        for i in range(len(w)):
            r[i] = self._byte(w[i])

    def _byte(self, b):
        if not self._sel:
            self.ignored += 1
            return 0xFF
        if self.stuck_byte >= 0:
            return self.stuck_byte
        p = self._pos
        self._pos = p + 1
        if p == 0:
            self._ins = b
            if b == 0xC0:
                self._reset()
            elif b & 0xF8 == 0x80:
                self._rts(b & 7)
            elif b & 0xF9 == 0x90:
                self._addr = (0x61, 0x66, 0x71, 0x76)[(b >> 1) & 3]
            elif b & 0xF8 == 0x40 and b & 7 < 6:
                self._addr = (0x31, 0x36, 0x41, 0x46, 0x51, 0x56)[b & 7]
            return 0xFF
        ins = self._ins
        if ins == 0x03:
            if p == 1:
                self._addr = b & 0x7F
                return 0xFF
            v = self._read(self._addr)
            self._addr = (self._addr + 1) & 0x7F
            return v
        if ins == 0x02:
            if p == 1:
                self._addr = b & 0x7F
            else:
                self._write(self._addr, b)
                self._addr = (self._addr + 1) & 0x7F
            return 0xFF
        if ins & 0xF9 == 0x90:
            v = self.regs[self._addr]
            self._addr = (self._addr + 1) & 0x7F
            return v
        if ins & 0xF8 == 0x40:
            self.regs[self._addr] = b
            self._addr = (self._addr + 1) & 0x7F
            return 0xFF
        if ins == 0xA0:
            return self._status()
        if ins == 0x05:
            if p == 1:
                self._addr = b & 0x7F
            elif p == 2:
                self._mask = b
            elif p == 3:
                a = self._addr
                m = self._mask if a in _BITMOD else 0xFF
                self._write(a, (self._read(a) & ~m & 0xFF) | (b & m))
            return 0xFF
        return 0xFF

    def _rts(self, bits):
        r = self.regs
        for n in range(3):
            if bits & (1 << n):
                a = 0x30 + 0x10 * n
                r[a] = (r[a] & 0x0B & ~0x40) | 0x08

    # -- on the bus -------------------------------------------------------------

    def _active(self):
        return self.regs[CANSTAT] & 0xE0 == MODE_NORMAL and not self.bus_off()

    def pending(self):
        """The buffer it offers to arbitration (-1 none): TXP, then the
        higher buffer number."""
        if not self._active():
            return -1
        r = self.regs
        best = -1
        bp = -1
        for n in range(3):
            c = r[0x30 + 0x10 * n]
            if c & 8 and (c & 3) >= bp:
                best = n
                bp = c & 3
        return best

    def tx_id(self, n):
        r = self.regs
        a = 0x31 + 0x10 * n
        return (r[a] << 3) | (r[a + 1] >> 5)

    def _count(self, reg, d):
        r = self.regs
        v = r[reg] if reg == REC else self._tec
        v += d
        if v < 0:
            v = 0
        if reg == TEC:
            self._tec = v
            r[TEC] = v if v < 256 else 255
        else:
            r[REC] = v if v < 256 else 255
        self._flags()

    def _flags(self):
        r = self.regs
        t = self._tec
        e = r[REC]
        f = r[EFLG] & 0xC0
        if t >= 96 or e >= 96:
            f |= 0x01
        if e >= 96:
            f |= 0x02
        if t >= 96:
            f |= 0x04
        if e >= 128:
            f |= 0x08
        if t >= 128:
            f |= 0x10
        if t > 255:
            f |= 0x20
        old = r[EFLG]
        r[EFLG] = f
        if f != old:
            r[CANINTF] |= 0x20      # ERRIF
            self._int_update()

    def tx_error(self):
        self._count(TEC, 8)
        if self.bus_off():
            self._off_slots = 0

    def tx_no_ack(self):
        if self._tec >= 128:
            return                  # error passive: an ACK error is not counted
        self._count(TEC, 8)

    def tx_done(self, n):
        r = self.regs
        a = 0x30 + 0x10 * n
        r[a] &= ~0x08 & 0xFF
        r[CANINTF] |= 0x04 << n
        self.sent += 1
        if self._tec:
            self._count(TEC, -1)
        self._int_update()

    def rx_error(self):
        self._count(REC, 1)

    def slot(self):
        """A frame slot of bus time passed (bus-off recovery)."""
        if self.bus_off() and self.regs[CANSTAT] & 0xE0 == MODE_NORMAL:
            self._off_slots += 1
            if self._off_slots >= RECOVER_SLOTS:
                self._tec = 0
                self.regs[TEC] = 0
                self.regs[REC] = 0
                self._flags()

    def receive(self, src, off, ext):
        """A frame from the bus: 13 bytes at src[off] (SIDH .. D7)."""
        r = self.regs
        if r[CANSTAT] & 0xE0 != MODE_NORMAL and r[CANSTAT] & 0xE0 != 0x60:
            return
        if self.bus_off():
            return
        e = r[REC]
        if e:
            self._count(REC, -1)
        f = r[CANINTF]
        if not f & 1:
            base = 0x61
            bit = 1
        elif r[RXB0CTRL] & 0x04 and not f & 2:
            base = 0x71
            bit = 2
        else:
            r[EFLG] |= 0x80 if r[RXB0CTRL] & 0x04 else 0x40
            r[CANINTF] |= 0x20
            self.lost += 1
            self._int_update()
            return
        for j in range(13):
            r[base + j] = src[off + j]
        self.received += 1
        r[CANINTF] = f | bit
        self._int_update()


class CanBus:
    """Several chips on one bus at `bitrate` (bit/s)."""

    def __init__(self, bitrate=250000):
        self.bitrate = bitrate
        self.nodes = []
        self.frames = 0           # frames delivered
        self.errors = 0           # frames destroyed by a wire error
        self._corrupt = 0
        self._raw = bytearray(13)
        self._raw_n = 0           # raw frames waiting (one at a time)
        self._img = bytearray(13)

    def attach(self, chip):
        chip.bus = self
        self.nodes.append(chip)
        return chip

    def corrupt(self, n=1):
        """The next n frames on the wire are destroyed (CRC error at every
        receiver): CAN retries them."""
        self._corrupt = n

    def inject(self, cid, data, ext=False, rtr=False, dlc=None):
        """A raw frame from an outside device, sent at the next step."""
        r = self._raw
        r[0] = (cid >> 3) & 0xFF
        r[1] = ((cid & 7) << 5) | (0x08 if ext else 0) | (0x10 if rtr and not ext else 0)
        r[2] = 0
        r[3] = 0
        n = len(data) if dlc is None else dlc
        r[4] = (n & 0x0F) | (0x40 if rtr and ext else 0)
        for j in range(8):
            r[5 + j] = data[j] if j < len(data) else 0
        self._raw_n = 1
        self.step()

    def _ok_rate(self, chip):
        return chip.rate_bps == self.bitrate

    def step(self):
        """One frame slot; returns True if a frame was on the bus."""
        for c in self.nodes:
            c.slot()
        if self._raw_n:
            self._raw_n = 0
            self._deliver(None, self._raw)
            return True
        win = None
        wbuf = -1
        wid = 0x800
        for c in self.nodes:
            n = c.pending()
            if n >= 0:
                i = c.tx_id(n)
                if i < wid:
                    win = c
                    wbuf = n
                    wid = i
        if win is None:
            return False
        if win.tx_fault or not self._ok_rate(win):
            win.tx_error()
            self.errors += 1
            for c in self.nodes:
                if c is not win and c._active():
                    c.rx_error()
            return True
        if self._corrupt > 0:
            self._corrupt -= 1
            self.errors += 1
            win.tx_error()
            for c in self.nodes:
                if c is not win and c._active():
                    c.rx_error()
            return True
        acked = False
        for c in self.nodes:
            if c is not win and c._active() and self._ok_rate(c):
                acked = True
        if not acked:
            win.tx_no_ack()
            return True
        img = self._img
        r = win.regs
        a = 0x31 + 0x10 * wbuf
        for j in range(13):
            img[j] = r[a + j]
        img[4] &= 0x0F              # the DLC register's RTR bit is the sender's
        win.tx_done(wbuf)
        self._deliver(win, img)
        return True

    def _deliver(self, src, img):
        self.frames += 1
        for c in self.nodes:
            if c is src:
                continue
            if not c._active():
                continue
            if not self._ok_rate(c):
                c.rx_error()
                continue
            c.receive(img, 0, 0)

    def run(self, n=200):
        """Up to n slots, until the bus is idle; returns slots used."""
        for k in range(n):
            if not self.step():
                return k
        return n
