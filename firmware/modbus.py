"""Modbus RTU slave, sans-IO: fed bytes and a microsecond time, it assembles
frames, answers them from a data model, and hands back reply bytes.

It knows the protocol (Modbus Application Protocol V1.1b3, Modbus over Serial
Line V1.02) and nothing about the genset: every point lives in the data model
(registers.py walks the register map).  The caller owns the UART:

    s.feed(buf, n, t_us)      bytes buf[0:n] read from the line at t_us
    s.idle(t_us)              a read found nothing: the line is silent up to t_us
    k = s.poll(t_us)          serve what is buffered; k > 0: send s.reply[0:k]
                              (one write, then flush), and poll again until 0

The data model answers m.read_bits(fc, start, qty, out, o) by setting the
bits that are 1 in out[o:] (zeroed for it), m.read_regs(fc, start, qty, out,
o) by writing every one of the 2 * qty bytes at out[o:] (not zeroed: the
reply buffer holds the last reply), m.write_bits / m.write_regs(start, qty,
buf, o, broadcast); each returns 0 or an exception code.  m.running() is
FC17's run indicator.

Framing.  USB-RS-485 adapters batch and split bytes, and a board reads its
UART between control ticks, so the inter-character gap cannot be the primary
frame delimiter: the frame length comes from the function code (and the byte
count for 15/16/20/21/23).  The t3.5 gap (38500000/baud us, 1750 us above
19200 baud) is the fallback: it ends a frame whose length the function code
does not tell (an unknown function, answered 01) and drops a partial frame
the master abandoned.  A gap is only ever declared by `idle`, i.e. when a read
found the line silent - bytes that waited in the UART FIFO during a tick are
not a gap.  After garbage the slave hunts byte by byte for the next frame with
a valid CRC; another slave's reply on a multi-drop line is recognised by its
length and skipped.

Check order (the specification's state diagrams, as libmodbus): function
code -> 01; quantity, byte count, FC05 value -> 03; address range -> 02 (the
model); execution -> 04 (the model).  Broadcast (address 0) executes writes
(5, 6, 15, 16) and never answers.  Wrong CRC, another address, a truncated
frame: silent, counted.

No allocation after construction: one receive buffer, one reply buffer, CRC
by table (crc16.py).
"""

from array import array
from fixpt import const, ptr32, viper
from crc16 import _TABLE

# In a @viper function ptr8 / ptr16 are the compiler's byte / half-word
# views of a bytearray / array('H'), as ptr32 is the word view of an
# array('i'); as written, all the identity (protection.py).  The hot
# functions (the read path: feed, poll, its sizing and CRC, _serve, _read,
# _seal) are machine code on a board (host_sim/native.py); the counters
# they bump are read as words (never negative: no sign to restore).
ptr8 = ptr32
ptr16 = ptr32

# Counters (FC08 sub-functions 0B..12, then our own)
C_BUS = const(0)        # frames with a good CRC seen on the line, any address   (08/0B)
C_CRC = const(1)        # frames with a bad CRC                                  (08/0C)
C_EXC = const(2)        # exception replies sent                                 (08/0D)
C_SERVER = const(3)     # frames addressed to us or broadcast                    (08/0E)
C_NORESP = const(4)     # frames to us that got no reply (broadcast, listen-only) (08/0F)
C_NAK = const(5)        # always 0: no program commands                          (08/10)
C_BUSY = const(6)       # always 0: never busy                                   (08/11)
C_OVERRUN = const(7)    # receive buffer overruns (more than a frame unparsed)   (08/12)
C_GAP = const(8)        # partial frames dropped by the t3.5 gap
C_FOREIGN = const(9)    # good frames for another address (requests or replies)
C_HUNT = const(10)      # bytes skipped hunting for a frame after garbage
N_C = const(11)
COUNTER_NAMES = ("bus_msgs", "crc_errors", "exceptions", "server_msgs", "no_response",
                 "nak", "busy", "overruns", "gap_drops", "foreign", "hunted_bytes")

EX_FUNCTION = const(1)
EX_ADDRESS = const(2)
EX_VALUE = const(3)
EX_FAILURE = const(4)

_RX = const(512)        # two maximum frames
_ADU = const(256)
# A write request's own byte-count field allows 9 + 255 bytes.  Frames past
# the 256-byte ADU are still read to their CRC, so an over-quantity write
# (FC16 with 124 or 125 registers) gets exception 03, not silence.
_REQ = const(264)
_T_MASK = const(0x3FFFFFFF)
_CMAX = const(1000000000)

# Device identification (FC43/14) defaults: (object id, value).  The
# controller passes its own (registers.IDENT).
IDENT = ((0, b"GX230 open controller"), (1, b"GX230"), (2, b"0.2"))


# A data model's register encoding (registers.py's input registers), done
# here in machine code: modbus.py is machine code on a board anyway, the
# register map's module stays frozen in flash (host_sim/native.py,
# FREEZE_UNSAFE_ARCHS).  put_regs' class of each register (m._fk[a]):
ENC_U16 = const(0)
ENC_S16 = const(1)
ENC_U32 = const(2)          # high word of a u32 (its low word follows)
ENC_S32 = const(3)          # high word of an s32
ENC_U32_LO = const(4)       # low word of a u32 (a read that starts on it)
ENC_S32_LO = const(5)
ENC_HOLE = const(6)         # unassigned: FFFF (m._fs[a]: the holes from a on)
ENC_WORD = const(7)         # a u16 from m._aw[m._fs[a]] (the alarm status words)
# The data model's value sentinels (registers.NA, registers.FAULT).
_NA = const(-1073741823 - 1)
_FAULT = const(-1073741823)
# A signed array('i') item read as a word gets its sign back from bit 31
# (the x64 unix port zero-extends it; a no-op on a 32-bit CPU and on an
# int, and exact over all 32 bits: a value may sit below the sentinels).
_SIGN = const(-1073741823 - 1)


@viper
def put_regs(m, start: int, e: int, out, o: int):
    """Registers start..e-1 of data model m into out[o:], big-endian, as
    registers.Registers._put encodes them, one step per point (both words of
    a 32-bit one), from m's tables: _fk (class, ENC_*), _fs (index), live
    (the values, array('i')) and _aw (ENC_WORD's words, array('i'))."""
    fk = ptr8(m._fk)
    fs = ptr8(m._fs)
    lv = ptr32(m.live)
    aw = ptr32(m._aw)
    b = ptr8(out)
    a = start
    while a < e:
        t = fk[a]
        if t == ENC_U16 or t == ENC_WORD:
            v = aw[fs[a]] if t == ENC_WORD else lv[fs[a]]
            if (v >> 31) & 1:
                v = (((v >> 1) | _SIGN) << 1) | (v & 1)
            if v < 0:
                v = 0xFFFF if v == _NA else (0xFFFE if v == _FAULT else 0)
            elif v > 0xFFFD:
                v = 0xFFFD
            b[o] = v >> 8
            b[o + 1] = v & 0xFF
        elif t == ENC_S16:
            v = lv[fs[a]]
            if (v >> 31) & 1:
                v = (((v >> 1) | _SIGN) << 1) | (v & 1)
            if v < 0:
                if v >= -32768:
                    v += 0x10000
                elif v == _NA:
                    v = 0x7FFF
                elif v == _FAULT:
                    v = 0x7FFE
                else:
                    v = 0x8000
            elif v > 32765:
                v = 32765
            b[o] = v >> 8
            b[o + 1] = v & 0xFF
        elif t < ENC_HOLE:
            v = lv[fs[a]]
            if (v >> 31) & 1:
                v = (((v >> 1) | _SIGN) << 1) | (v & 1)
            if v >= 0:
                hi = v >> 16
                lo = v & 0xFFFF
            elif v == _NA or v == _FAULT:
                hi = 0x7FFF if t & 1 else 0xFFFF
                lo = 0xFFFF if v == _NA else 0xFFFE
            elif t & 1:
                hi = (v >> 16) & 0xFFFF
                lo = v & 0xFFFF
            else:
                hi = 0          # a u32 does not go negative
                lo = 0
            if t <= ENC_S32:
                b[o] = hi >> 8
                b[o + 1] = hi & 0xFF
                if a + 1 < e:
                    b[o + 2] = lo >> 8
                    b[o + 3] = lo & 0xFF
                    a += 2
                    o += 4
                    continue
            else:
                b[o] = lo >> 8
                b[o + 1] = lo & 0xFF
        else:
            # A run of holes at once.
            n = fs[a]
            if n > e - a:
                n = e - a
            a += n
            n = o + 2 * n
            for i in range(o, n):
                b[i] = 0xFF
            o = n
            continue
        a += 1
        o += 2


def t35_us(baud):
    """The inter-frame silence: 3.5 characters of 11 bits, fixed 1750 us above 19200 baud."""
    return 38500000 // baud if baud <= 19200 else 1750


class Slave:
    def __init__(self, model, address=1, baud=19200, ident=None, server_id=b"GX230"):
        self.model = model
        self.rx = bytearray(_RX)
        self.h = 0                # first unconsumed byte
        self.n = 0                # end of buffered bytes
        self.eof = -1             # a gap ended a frame here (index into rx), -1 none
        self.synced = True        # self.h is a frame start (after a gap or a frame)
        self.t_last = 0
        self.reply = bytearray(_ADU + 4)
        self._bit = bytearray(1)
        self.counters = array("i", [0] * N_C)
        self.listen_only = False
        self.max_pdu = 253
        self.ident = ident if ident is not None else IDENT
        self.server_id = server_id
        self.run_extra = b""      # FC17 additional data
        self.address = 1
        self.t35 = 2005
        self.configure(address, baud)

    def configure(self, address, baud):
        self.address = address
        self.t35 = t35_us(baud)

    @viper
    def _inc(self, i: int):
        c = ptr32(self.counters)
        if c[i] < _CMAX:
            c[i] += 1

    def clear(self):
        c = self.counters
        for i in range(N_C):
            c[i] = 0

    # -- bytes in -------------------------------------------------------------
    @viper
    def feed(self, buf, n: int, t_us):
        rx = ptr8(self.rx)
        b = ptr8(buf)
        h = int(self.h)
        k = int(self.n)
        if h > 0:
            # Compact: move the unconsumed bytes to the front (no slicing).
            k = k - h
            for i in range(k):
                rx[i] = rx[h + i]
            self.n = k
            self.h = 0
            eof = int(self.eof)
            if eof >= 0:
                self.eof = eof - h
        if k + n > _RX:
            # More than two frames unparsed: the line is not speaking Modbus
            # to us.  Start again from the newest bytes.
            c = ptr32(self.counters)
            if c[C_OVERRUN] < _CMAX:
                c[C_OVERRUN] += 1
            k = 0
            self.n = 0
            self.eof = -1
            self.synced = False
            if n > _RX:
                for i in range(_RX):
                    rx[i] = b[n - _RX + i]
                self.n = _RX
                self.t_last = t_us
                return
        for i in range(n):
            rx[k + i] = b[i]
        self.n = k + n
        self.t_last = t_us

    def idle(self, t_us):
        """The line has been silent up to t_us: after t3.5 the bytes held end a frame."""
        if self.n > self.h and self.eof < 0 and ((t_us - self.t_last) & _T_MASK) >= self.t35:
            self.eof = self.n

    # -- framing --------------------------------------------------------------
    @viper
    def _req_len(self, h: int, avail: int) -> int:
        """Length of a request starting at h: > 0 total bytes, 0 not known yet
        (more bytes needed), -1 not a request we can size."""
        if avail < 2:
            return 0
        rx = ptr8(self.rx)
        fc = rx[h + 1]
        if fc <= 6 and fc >= 1 or fc == 8:
            return 8
        if fc == 15 or fc == 16:
            return 9 + rx[h + 6] if avail >= 7 else 0
        if fc == 43 or fc == 22:
            return 7 if fc == 43 else 10
        if fc == 17 or fc == 7 or fc == 11 or fc == 12:
            return 4
        if fc == 20 or fc == 21:
            return 5 + rx[h + 2] if avail >= 3 else 0
        if fc == 23:
            return 13 + rx[h + 10] if avail >= 11 else 0
        if fc == 24:
            return 6
        return -1

    @viper
    def _rsp_len(self, h: int, avail: int) -> int:
        """Length if the bytes at h are another slave's reply (same codes)."""
        if avail < 3:
            return 0
        rx = ptr8(self.rx)
        fc = rx[h + 1]
        if fc & 0x80:
            return 5
        if fc >= 1 and fc <= 4 or fc == 17 or fc == 12:
            return 5 + rx[h + 2]
        if fc == 5 or fc == 6 or fc == 15 or fc == 16 or fc == 8 or fc == 11:
            return 8
        if fc == 7:
            return 5
        if fc == 43:
            # 2B 0E code conformity more next n {id len value}
            if avail < 8:
                return 0
            k = 8
            for _ in range(rx[h + 7]):
                if k + 2 > avail:
                    return 0
                k += 2 + rx[h + k + 1]
            return k + 2
        return -1

    @viper
    def _crc_ok(self, h: int, ln: int) -> int:
        """1 if the last two bytes of rx[h:h+ln] are the CRC of the rest, else
        0 (crc16's loop, inline)."""
        rx = ptr8(self.rx)
        t = ptr16(_TABLE)
        c = 0xFFFF
        e = h + ln - 2
        for i in range(h, e):
            c = (c >> 8) ^ t[(c ^ rx[i]) & 0xFF]
        if rx[e] == (c & 0xFF) and rx[e + 1] == (c >> 8):
            return 1
        return 0

    def _crc_scan(self, h, avail):
        """Shortest length >= 4 at h whose last two bytes are the CRC of the
        rest (one running CRC, one pass), 0 if none: sizes a frame of a
        function the length table does not know."""
        rx = self.rx
        t = _TABLE
        c = 0xFFFF
        end = avail if avail <= _ADU else _ADU
        for k in range(end - 2):
            c = (c >> 8) ^ t[(c ^ rx[h + k]) & 0xFF]
            if k >= 1 and rx[h + k + 1] == (c & 0xFF) and rx[h + k + 2] == (c >> 8):
                return k + 3
        return 0

    def _frame_ahead(self, j, end):
        """Is there a request or reply with a good CRC starting in rx[j:end]?"""
        while j + 4 <= end:
            a = end - j
            ln = self._req_len(j, a)
            if 4 <= ln <= a and self._crc_ok(j, ln):
                return True
            r = self._rsp_len(j, a)
            if 4 <= r <= a and self._crc_ok(j, r):
                return True
            j += 1
        return False

    @viper
    def poll(self, t_us) -> int:
        cnt = ptr32(self.counters)
        while True:
            h = int(self.h)
            n = int(self.n)
            eof = int(self.eof)
            bounded = 1 if eof >= 0 else 0
            end = eof if bounded else n
            avail = end - h
            if avail <= 0:
                if bounded:
                    self.eof = -1
                    self.synced = True
                    if n > h:
                        continue
                self.h = 0
                self.n = 0
                return 0
            ln = int(self._req_len(h, avail))
            r = int(self._rsp_len(h, avail))
            if 4 <= ln and ln <= _REQ and ln <= avail and int(self._crc_ok(h, ln)):
                self.h = h + ln
                self.synced = True
                k = int(self._serve(h, ln))
                if k > 0:
                    return k
                continue
            if 4 <= r and r <= _ADU and r <= avail and int(self._crc_ok(h, r)):
                # Another slave's reply on a multi-drop line.
                self.h = h + r
                self.synced = True
                if cnt[C_BUS] < _CMAX:
                    cnt[C_BUS] += 1
                if cnt[C_FOREIGN] < _CMAX:
                    cnt[C_FOREIGN] += 1
                continue
            more = 0
            if ln == 0 or r == 0 or (avail < ln and ln <= _REQ) or (avail < r and r <= _ADU):
                more = 1
            synced = 1 if self.synced else 0
            if ln < 0 and r < 0 and synced:
                # A function neither table can size: the first CRC that
                # matches ends it (an unsupported function: answered 01).
                k = int(self._crc_scan(h, avail))
                if k:
                    self.h = h + k
                    k = int(self._serve(h, k))
                    if k > 0:
                        return k
                    continue
                # No CRC yet: a frame still arriving (wait for it, or for
                # the gap) unless a good frame already follows in the
                # buffer - then this is garbage in front of it.
                more = 0 if self._frame_ahead(h + 1, end) else 1
            if more and bounded == 0:
                return 0            # wait for the rest
            if more and synced:
                # The gap ended it short: a truncated frame.
                if cnt[C_GAP] < _CMAX:
                    cnt[C_GAP] += 1
                self.h = end
                continue
            # Garbage here: count a bad frame once, then hunt byte by byte.
            if synced:
                if cnt[C_CRC] < _CMAX:
                    cnt[C_CRC] += 1
                self.synced = False
            else:
                if cnt[C_HUNT] < _CMAX:
                    cnt[C_HUNT] += 1
            self.h = h + 1

    # -- serving --------------------------------------------------------------
    def _exc(self, fc, code):
        r = self.reply
        r[1] = fc | 0x80
        r[2] = code
        self._inc(C_EXC)
        return self._seal(3)

    @viper
    def _seal(self, k: int) -> int:
        """The CRC after reply[0:k] (crc16's loop, inline); the reply length."""
        r = ptr8(self.reply)
        t = ptr16(_TABLE)
        c = 0xFFFF
        for i in range(k):
            c = (c >> 8) ^ t[(c ^ r[i]) & 0xFF]
        r[k] = c & 0xFF
        r[k + 1] = c >> 8
        return k + 2

    def _echo(self, h, k):
        rx = self.rx
        r = self.reply
        for i in range(k):
            r[i] = rx[h + i]
        return self._seal(k)

    @viper
    def _serve(self, h: int, ln: int) -> int:
        """A frame with a good CRC at rx[h:h+ln]: returns the reply length (0 none)."""
        rx = ptr8(self.rx)
        cnt = ptr32(self.counters)
        addr = rx[h]
        if cnt[C_BUS] < _CMAX:
            cnt[C_BUS] += 1
        if addr != int(self.address) and addr != 0:
            if cnt[C_FOREIGN] < _CMAX:
                cnt[C_FOREIGN] += 1
            return 0
        if cnt[C_SERVER] < _CMAX:
            cnt[C_SERVER] += 1
        fc = rx[h + 1]
        bc = 1 if addr == 0 else 0
        if self.listen_only:
            # Monitored, not acted on, except the restart that ends it.
            if fc == 8 and ln == 8 and rx[h + 2] == 0 and rx[h + 3] == 1 and bc == 0:
                d = (rx[h + 4] << 8) | rx[h + 5]
                if d == 0 or d == 0xFF00:
                    self.listen_only = False
                    self.clear()
                    return 0
            if cnt[C_NORESP] < _CMAX:
                cnt[C_NORESP] += 1
            return 0
        if bc:
            if fc == 5 or fc == 6 or fc == 15 or fc == 16:
                self._write(h, ln, fc, True)
            if cnt[C_NORESP] < _CMAX:
                cnt[C_NORESP] += 1
            return 0
        r = ptr8(self.reply)
        r[0] = addr
        r[1] = fc
        if fc >= 1 and fc <= 4:
            return int(self._read(h, fc))
        if fc == 5 or fc == 6 or fc == 15 or fc == 16:
            return int(self._write(h, ln, fc, False))
        if fc == 8:
            return int(self._diag(h))
        if fc == 17:
            return int(self._server_id())
        if fc == 43:
            return int(self._ident(h))
        return int(self._exc(fc, EX_FUNCTION))

    @viper
    def _read(self, h: int, fc: int) -> int:
        rx = ptr8(self.rx)
        reply = self.reply
        r = ptr8(reply)
        start = (rx[h + 2] << 8) | rx[h + 3]
        qty = (rx[h + 4] << 8) | rx[h + 5]
        if fc <= 2:
            if qty < 1 or qty > 2000:
                return int(self._exc(fc, EX_VALUE))
            nb = (qty + 7) >> 3
        else:
            if qty < 1 or qty > 125:
                return int(self._exc(fc, EX_VALUE))
            nb = 2 * qty
        if start + qty > 0x10000:
            return int(self._exc(fc, EX_ADDRESS))
        if fc <= 2:
            # The model sets the bits that are 1.
            for i in range(3, 3 + nb):
                r[i] = 0
            e = int(self.model.read_bits(fc, start, qty, reply, 3))
        else:
            # The model writes every byte of the registers it reads.
            e = int(self.model.read_regs(fc, start, qty, reply, 3))
        if e:
            return int(self._exc(fc, e))
        r[2] = nb
        return int(self._seal(3 + nb))

    def _write(self, h, ln, fc, bc):
        rx = self.rx
        start = (rx[h + 2] << 8) | rx[h + 3]
        m = self.model
        if fc == 5:
            v = (rx[h + 4] << 8) | rx[h + 5]
            if v != 0 and v != 0xFF00:
                return 0 if bc else self._exc(fc, EX_VALUE)
            self._bit[0] = 1 if v else 0
            e = m.write_bits(start, 1, self._bit, 0, bc)
        elif fc == 6:
            e = m.write_regs(start, 1, rx, h + 4, bc)
        else:
            qty = (rx[h + 4] << 8) | rx[h + 5]
            nb = rx[h + 6]
            if fc == 15:
                ok = 1 <= qty <= 1968 and nb == (qty + 7) >> 3
            else:
                ok = 1 <= qty <= 123 and nb == 2 * qty
            if not ok:
                return 0 if bc else self._exc(fc, EX_VALUE)
            if start + qty > 0x10000:
                return 0 if bc else self._exc(fc, EX_ADDRESS)
            if fc == 15:
                e = m.write_bits(start, qty, rx, h + 7, bc)
            else:
                e = m.write_regs(start, qty, rx, h + 7, bc)
        if bc:
            return 0
        if e:
            return self._exc(fc, e)
        return self._echo(h, 6)

    def _diag(self, h):
        rx = self.rx
        r = self.reply
        sub = (rx[h + 2] << 8) | rx[h + 3]
        d = (rx[h + 4] << 8) | rx[h + 5]
        if sub == 0:
            return self._echo(h, 6)
        if sub == 1:
            if d != 0 and d != 0xFF00:
                return self._exc(8, EX_VALUE)
            self.clear()
            return self._echo(h, 6)
        if sub == 4:
            if d != 0:
                return self._exc(8, EX_VALUE)
            self.listen_only = True
            self._inc(C_NORESP)
            return 0
        if sub == 2 or sub == 0x0A or sub == 0x14 or 0x0B <= sub <= 0x12:
            if d != 0:
                return self._exc(8, EX_VALUE)
            v = 0
            if sub == 0x0A:
                self.clear()
            elif sub == 0x14:
                self.counters[C_OVERRUN] = 0
            elif sub != 2:
                v = self.counters[sub - 0x0B] & 0xFFFF
            for i in range(4):
                r[i] = rx[h + i]
            r[4] = v >> 8
            r[5] = v & 0xFF
            return self._seal(6)
        return self._exc(8, EX_FUNCTION)

    def _server_id(self):
        r = self.reply
        sid = self.server_id
        ex = self.run_extra
        k = 3
        for i in range(len(sid)):
            r[k] = sid[i]
            k += 1
        r[k] = 0xFF if self.model.running() else 0x00
        k += 1
        for i in range(len(ex)):
            if k >= _ADU - 2:
                break
            r[k] = ex[i]
            k += 1
        r[2] = k - 3
        return self._seal(k)

    def _ident(self, h):
        rx = self.rx
        r = self.reply
        if rx[h + 2] != 14:
            return self._exc(43, EX_FUNCTION)
        code = rx[h + 3]
        obj = rx[h + 4]
        if code < 1 or code > 4:
            return self._exc(43, EX_VALUE)
        ident = self.ident
        r[2] = 14
        r[3] = code
        r[4] = 0x83           # basic, regular and extended; stream and single
        r[5] = 0
        r[6] = 0
        k = 8
        count = 0
        found = -1
        for j in range(len(ident)):
            if ident[j][0] == obj:
                found = j
        if code == 4:
            if found < 0:
                return self._exc(43, EX_ADDRESS)
            r[7] = 1
            return self._seal(self._obj(k, obj, ident[found][1]))
        top = 2 if code == 1 else (0x7F if code == 2 else 0xFF)
        if obj > top or found < 0:
            obj = 0           # an unknown object: start from the beginning
        for j in range(len(ident)):
            oid = ident[j][0]
            if oid < obj or oid > top:
                continue
            v = ident[j][1]
            if k - 1 + 2 + len(v) > self.max_pdu:
                r[5] = 0xFF
                r[6] = oid
                break
            k = self._obj(k, oid, v)
            count += 1
        r[7] = count
        return self._seal(k)

    def _obj(self, k, oid, v):
        """One identification object (id, length, value) at reply[k]; returns the end."""
        r = self.reply
        r[k] = oid
        r[k + 1] = len(v)
        k += 2
        for i in range(len(v)):
            r[k] = v[i]
            k += 1
        return k
