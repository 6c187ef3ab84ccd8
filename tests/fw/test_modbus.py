"""Modbus RTU slave conformance, from the specification (Modbus Application
Protocol V1.1b3, Modbus over Serial Line V1.02), not from the implementation.

Raw request frames go in, exact reply frames are checked.  The data model is
a small deterministic one defined here (100 coils, 100 discrete inputs, 100
holding and 100 input registers at 0..99, writes stored), so these tests prove
the protocol layer alone.  Plain Python: runs under CPython and MicroPython
(tests/fw/run.py).
"""

from array import array
import modbus
from crc16 import crc16


# ---------------------------------------------------------------- helpers

def crc_spec(buf, start, end):
    """CRC-16/MODBUS written bit by bit from the serial-line spec (init FFFF,
    reflected polynomial A001): an independent check of replies."""
    c = 0xFFFF
    for i in range(start, end):
        c ^= buf[i]
        for _ in range(8):
            if c & 1:
                c = (c >> 1) ^ 0xA001
            else:
                c >>= 1
    return c


def hx(s):
    """bytes from 'AA BB CC' (no bytes.fromhex needed)."""
    out = bytearray()
    for w in s.split():
        out.append(int(w, 16))
    return bytes(out)


def tohex(b):
    return " ".join(["%02X" % x for x in b])


def fr(data):
    """A frame: data (list/bytes) + CRC low byte first (firmware crc16)."""
    b = bytearray(data)
    c = crc16(b, 0, len(b))
    b.append(c & 0xFF)
    b.append(c >> 8)
    return bytes(b)


def fr_spec(data):
    """The same, with the independent CRC (for expected replies)."""
    b = bytearray(data)
    c = crc_spec(b, 0, len(b))
    b.append(c & 0xFF)
    b.append(c >> 8)
    return bytes(b)


def req(addr, fc, a, b):
    """The common 8-byte request: addr fc a(16) b(16) crc."""
    return fr([addr, fc, a >> 8, a & 0xFF, b >> 8, b & 0xFF])


def req15(addr, start, qty, data, bc=None):
    if bc is None:
        bc = len(data)
    return fr([addr, 15, start >> 8, start & 0xFF, qty >> 8, qty & 0xFF, bc] + list(data))


def req16(addr, start, qty, words, bc=None):
    d = []
    for w in words:
        d.append(w >> 8)
        d.append(w & 0xFF)
    if bc is None:
        bc = len(d)
    return fr([addr, 16, start >> 8, start & 0xFF, qty >> 8, qty & 0xFF, bc] + d)


def exc(fc, code, addr=1):
    return fr_spec([addr, fc | 0x80, code])


def eq(got, want, what=""):
    if bytes(got) != bytes(want):
        raise AssertionError("%s: got [%s] want [%s]" % (what, tohex(got), tohex(want)))


IDENT7 = ((0, b"GX Vendor"), (1, b"GX230"), (2, b"1.2.3"), (3, b"http://gx.example"),
          (4, b"GX230 genset"), (5, b"GX230-A"), (6, b"site app"), (0x80, b"map 7"))


class Model:
    """Deterministic test model: n coils, n discrete inputs, n holding and n
    input registers at 0..n-1.  Writes store values.  write_code / read_code
    make the next model operations return that exception (3 or 4).
    No allocation in any method (the heap-lock test uses it)."""

    def __init__(self, n=100):
        self.n = n
        self.coils = bytearray(n)
        self.di = bytearray(n)
        self.hr = array("H", [0] * n)
        self.ir = array("H", [0] * n)
        self.write_code = 0
        self.read_code = 0
        self.run = True
        self.writes = 0          # write_* calls
        self.bcast_writes = 0    # ... of them with broadcast=True
        self.reads = 0
        self.last_addr = -1
        self.last_qty = -1
        self.last_table = -1

    def read_bits(self, table, addr, qty, out, o):
        self.reads += 1
        self.last_table = table
        if table == 1:
            src = self.coils
        elif table == 2:
            src = self.di
        else:
            raise AssertionError("read_bits table %d" % table)
        if qty < 1 or addr < 0 or addr + qty > self.n:
            return 2
        if self.read_code:
            return self.read_code
        nb = (qty + 7) >> 3
        for i in range(nb):
            out[o + i] = 0
        for i in range(qty):
            if src[addr + i]:
                out[o + (i >> 3)] |= 1 << (i & 7)
        return 0

    def read_regs(self, table, addr, qty, out, o):
        self.reads += 1
        self.last_table = table
        if table == 3:
            src = self.hr
        elif table == 4:
            src = self.ir
        else:
            raise AssertionError("read_regs table %d" % table)
        if qty < 1 or addr < 0 or addr + qty > self.n:
            return 2
        if self.read_code:
            return self.read_code
        for i in range(qty):
            v = src[addr + i]
            out[o + 2 * i] = v >> 8
            out[o + 2 * i + 1] = v & 0xFF
        return 0

    def _wr(self, addr, qty, broadcast):
        self.writes += 1
        if broadcast:
            self.bcast_writes += 1
        self.last_addr = addr
        self.last_qty = qty

    def write_bits(self, addr, qty, buf, o, broadcast):
        self._wr(addr, qty, broadcast)
        if qty < 1 or addr < 0 or addr + qty > self.n:
            return 2
        if self.write_code:
            return self.write_code
        for i in range(qty):
            self.coils[addr + i] = (buf[o + (i >> 3)] >> (i & 7)) & 1
        return 0

    def write_regs(self, addr, qty, buf, o, broadcast):
        self._wr(addr, qty, broadcast)
        if qty < 1 or addr < 0 or addr + qty > self.n:
            return 2
        if self.write_code:
            return self.write_code
        for i in range(qty):
            self.hr[addr + i] = (buf[o + 2 * i] << 8) | buf[o + 2 * i + 1]
        return 0

    def running(self):
        return self.run


def t35(baud):
    """Serial Line V1.02 2.5.1.1: 3.5 characters of 11 bits, fixed 1750 us
    above 19200 baud."""
    if baud > 19200:
        return 1750
    return 38500000 // baud


class Bus:
    """The master's side of the line.  Time advances 50 ms before each
    request (the line was silent: idle), the request arrives in one chunk,
    the slave is polled, then the line is silent again for more than t3.5
    (idle) and polled once more, as a driver polling its UART would.
    Every reply is checked: valid CRC (independent), our address, <= 256 B."""

    def __init__(self, s, baud=19200, address=1):
        self.s = s
        self.t = 1000000
        self.baud = baud
        self.address = address

    def drain(self):
        out = []
        for _ in range(20):
            k = self.s.poll(self.t)
            if not k:
                return out
            r = bytes(self.s.reply[0:k])
            assert 5 <= k <= 256, "reply length %d" % k
            assert crc_spec(r, 0, k) == 0, "reply CRC [%s]" % tohex(r)
            assert r[0] == self.address, "reply address [%s]" % tohex(r)
            out.append(r)
        raise AssertionError("poll never returned 0")

    def quiet(self, dt=50000):
        self.t += dt
        self.s.idle(self.t)
        return self.drain()

    def feed(self, data, dt=0):
        self.t += dt
        b = bytearray(data)
        self.s.feed(b, len(b), self.t)
        return self.drain()

    def ask(self, data):
        out = self.quiet()
        assert not out, "reply before request"
        out = self.feed(data)
        out += self.quiet(t35(self.baud) + 100)
        return out

    def one(self, data):
        r = self.ask(data)
        assert len(r) == 1, "want one reply to [%s], got %d" % (tohex(data), len(r))
        return r[0]

    def silent(self, data):
        r = self.ask(data)
        assert not r, "want silence for [%s], got [%s]" % (tohex(data), tohex(r[0]))


def setup(n=100, address=1, baud=19200, ident=IDENT7):
    m = Model(n)
    s = modbus.Slave(m, address=address, baud=baud, ident=ident)
    return m, s, Bus(s, baud, address)


def u16(r, i):
    return (r[i] << 8) | r[i + 1]


# ---------------------------------------------------------------- CRC

def test_crc_firmware_matches_spec_check_values():
    data = b"123456789"
    assert crc16(data, 0, 9) == 0x4B37
    assert crc_spec(data, 0, 9) == 0x4B37
    eq(fr([1, 3, 0, 0, 0, 10]), hx("01 03 00 00 00 0A C5 CD"), "spec frame")


# ---------------------------------------------------------------- exact frames

def test_exact_reply_fc03_spec_frame():
    m, s, bus = setup()
    r = bus.one(hx("01 03 00 00 00 0A C5 CD"))
    eq(r, hx("01 03 14" + " 00" * 20 + " A3 67"), "FC03 10 zero regs")


def test_exact_reply_exception_02():
    m, s, bus = setup()
    r = bus.one(req(1, 3, 96, 5))
    eq(r, hx("01 83 02 C0 F1"), "FC03 start 96 qty 5")


def test_exact_reply_fc06_and_fc05_echo():
    m, s, bus = setup()
    eq(bus.one(hx("01 06 00 01 00 03 98 0B")), hx("01 06 00 01 00 03 98 0B"), "FC06 echo")
    assert m.hr[1] == 3
    eq(bus.one(hx("01 05 00 0A FF 00 AC 38")), hx("01 05 00 0A FF 00 AC 38"), "FC05 echo")
    assert m.coils[10] == 1


def test_exact_reply_fc08_echo():
    m, s, bus = setup()
    eq(bus.one(hx("01 08 00 00 A5 37 DA 8D")), hx("01 08 00 00 A5 37 DA 8D"), "08/00")


def test_exact_reply_unsupported_function():
    m, s, bus = setup()
    eq(bus.one(fr([1, 7])), hx("01 87 01 82 30"), "FC07 -> 01")


# ---------------------------------------------------------------- FC01 / FC02

def _set_bits(dst, start, pattern, nbits):
    for i in range(nbits):
        dst[start + i] = (pattern[i >> 3] >> (i & 7)) & 1


def test_fc01_spec_example_19_coils():
    # V1.1b3 6.1: coils 20-38 -> CD 6B 05 (here at PDU 19, as in the spec)
    m, s, bus = setup()
    _set_bits(m.coils, 19, hx("CD 6B 05"), 19)
    r = bus.one(req(1, 1, 19, 19))
    eq(r, fr_spec([1, 1, 3, 0xCD, 0x6B, 0x05]), "FC01")
    assert m.last_table == 1


def test_fc02_spec_example_22_inputs():
    # V1.1b3 6.2: 22 inputs -> AC DB 35 (spec at 197; here at 10)
    m, s, bus = setup()
    _set_bits(m.di, 10, hx("AC DB 35"), 22)
    r = bus.one(req(1, 2, 10, 22))
    eq(r, fr_spec([1, 2, 3, 0xAC, 0xDB, 0x35]), "FC02")
    assert m.last_table == 2


def test_fc01_last_byte_padded_with_zeros():
    m, s, bus = setup()
    for i in range(100):
        m.coils[i] = 1
    r = bus.one(req(1, 1, 0, 100))
    assert r[2] == 13 and len(r) == 3 + 13 + 2
    for i in range(12):
        assert r[3 + i] == 0xFF
    assert r[15] == 0x0F
    r = bus.one(req(1, 1, 99, 1))
    eq(r, fr_spec([1, 1, 1, 1]), "FC01 last coil")


def test_fc01_fc02_quantity_limits():
    m, s, bus = setup()
    for fc in (1, 2):
        eq(bus.one(req(1, fc, 0, 0)), exc(fc, 3), "qty 0")
        eq(bus.one(req(1, fc, 0, 2001)), exc(fc, 3), "qty 2001")
        eq(bus.one(req(1, fc, 0, 0xFFFF)), exc(fc, 3), "qty FFFF")
        # 2000 is a legal quantity: the map (100) refuses it with 02, not 03
        eq(bus.one(req(1, fc, 0, 2000)), exc(fc, 2), "qty 2000")
        eq(bus.one(req(1, fc, 96, 5)), exc(fc, 2), "96+5")
        eq(bus.one(req(1, fc, 100, 1)), exc(fc, 2), "start 100")
        eq(bus.one(req(1, fc, 0xFFFF, 1)), exc(fc, 2), "start FFFF")
        r = bus.one(req(1, fc, 96, 4))
        assert r[1] == fc and r[2] == 1


# ---------------------------------------------------------------- FC03 / FC04

def test_fc03_spec_example_three_registers():
    # V1.1b3 6.3: 022B 0000 0064
    m, s, bus = setup()
    m.hr[7] = 0x022B
    m.hr[8] = 0
    m.hr[9] = 0x64
    eq(bus.one(req(1, 3, 7, 3)), fr_spec([1, 3, 6, 2, 0x2B, 0, 0, 0, 0x64]), "FC03")
    assert m.last_table == 3


def test_fc04_spec_example_and_tables_distinct():
    m, s, bus = setup()
    m.ir[8] = 0x000A
    m.hr[8] = 0x1111
    eq(bus.one(req(1, 4, 8, 1)), fr_spec([1, 4, 2, 0, 0x0A]), "FC04")
    assert m.last_table == 4
    eq(bus.one(req(1, 3, 8, 1)), fr_spec([1, 3, 2, 0x11, 0x11]), "FC03 same addr")


def test_fc03_fc04_quantity_limits_and_check_order():
    m, s, bus = setup()
    for fc in (3, 4):
        eq(bus.one(req(1, fc, 0, 0)), exc(fc, 3), "qty 0")
        eq(bus.one(req(1, fc, 0, 126)), exc(fc, 3), "qty 126")
        # quantity is checked before the address: both bad -> 03
        eq(bus.one(req(1, fc, 96, 126)), exc(fc, 3), "96 qty 126")
        eq(bus.one(req(1, fc, 5000, 0)), exc(fc, 3), "5000 qty 0")
        # 125 is legal: the 100-register map refuses it with 02
        eq(bus.one(req(1, fc, 0, 125)), exc(fc, 2), "qty 125")
        eq(bus.one(req(1, fc, 96, 5)), exc(fc, 2), "96+5")
        eq(bus.one(req(1, fc, 0xFFFF, 1)), exc(fc, 2), "FFFF")
        r = bus.one(req(1, fc, 96, 4))
        assert r[2] == 8 and len(r) == 13


def test_fc03_125_registers_fill_the_frame():
    m, s, bus = setup(n=200)
    for i in range(200):
        m.hr[i] = (i * 257 + 1) & 0xFFFF
    r = bus.one(req(1, 3, 75, 125))
    assert len(r) == 255 and r[2] == 250
    for i in range(125):
        assert u16(r, 3 + 2 * i) == m.hr[75 + i]


def test_read_refused_by_model_is_04():
    m, s, bus = setup()
    m.read_code = 4
    eq(bus.one(req(1, 3, 0, 1)), exc(3, 4), "model 04")
    eq(bus.one(req(1, 1, 0, 1)), exc(1, 4), "model 04")
    m.read_code = 0
    # an address error still takes precedence in this model
    eq(bus.one(req(1, 4, 99, 2)), exc(4, 2), "02")


# ---------------------------------------------------------------- FC05 / FC06

def test_fc05_on_off_and_echo():
    m, s, bus = setup()
    f = req(1, 5, 42, 0xFF00)
    eq(bus.one(f), f, "FC05 on")
    assert m.coils[42] == 1 and m.last_addr == 42 and m.last_qty == 1
    assert m.bcast_writes == 0
    f = req(1, 5, 42, 0x0000)
    eq(bus.one(f), f, "FC05 off")
    assert m.coils[42] == 0


def test_fc05_illegal_values_are_03_and_not_written():
    m, s, bus = setup()
    for v in (0x1234, 0x00FF, 0xFF01, 0x0001, 0xFFFF, 0x8000):
        eq(bus.one(req(1, 5, 3, v)), exc(5, 3), "FC05 value %04X" % v)
    assert m.writes == 0 and m.coils[3] == 0
    # the value is checked before the address
    eq(bus.one(req(1, 5, 500, 0x1234)), exc(5, 3), "bad value, bad address")
    eq(bus.one(req(1, 5, 500, 0xFF00)), exc(5, 2), "bad address")
    eq(bus.one(req(1, 5, 100, 0x0000)), exc(5, 2), "address 100")


def test_fc06_any_value_and_errors():
    m, s, bus = setup()
    for v in (0, 1, 0x7FFF, 0x8000, 0xFFFF):
        f = req(1, 6, 99, v)
        eq(bus.one(f), f, "FC06 echo")
        assert m.hr[99] == v
    eq(bus.one(req(1, 6, 100, 1)), exc(6, 2), "FC06 address 100")
    m.write_code = 3
    eq(bus.one(req(1, 6, 5, 1)), exc(6, 3), "model 03")
    m.write_code = 4
    eq(bus.one(req(1, 6, 5, 1)), exc(6, 4), "model 04")
    assert m.hr[5] == 0


def test_fc05_refused_by_model():
    m, s, bus = setup()
    m.write_code = 4
    eq(bus.one(req(1, 5, 5, 0xFF00)), exc(5, 4), "FC05 04")
    m.write_code = 3
    eq(bus.one(req(1, 5, 5, 0xFF00)), exc(5, 3), "FC05 03")
    assert m.coils[5] == 0


# ---------------------------------------------------------------- FC15 / FC16

def test_fc15_spec_example_ten_coils():
    # V1.1b3 6.11: 10 coils from 20 (PDU 19), CD 01 -> 1011 0011 10
    m, s, bus = setup()
    m.coils[29] = 1
    r = bus.one(req15(1, 19, 10, [0xCD, 0x01]))
    eq(r, fr_spec([1, 15, 0, 19, 0, 10]), "FC15 reply")
    want = (1, 0, 1, 1, 0, 0, 1, 1, 1, 0)
    for i in range(10):
        assert m.coils[19 + i] == want[i], i
    assert m.coils[29] == 1 and m.last_qty == 10


def test_fc15_quantity_and_byte_count():
    m, s, bus = setup()
    eq(bus.one(req15(1, 0, 0, [])), exc(15, 3), "qty 0")
    eq(bus.one(req15(1, 0, 1969, [0] * 247)), exc(15, 3), "qty 1969")
    eq(bus.one(req15(1, 0, 1968, [0] * 246)), exc(15, 2), "qty 1968 is legal; map -> 02")
    eq(bus.one(req15(1, 0, 10, [0xFF])), exc(15, 3), "bc 1 for 10 coils")
    eq(bus.one(req15(1, 0, 10, [0xFF, 3, 0])), exc(15, 3), "bc 3 for 10 coils")
    eq(bus.one(req15(1, 0, 8, [0xFF, 0])), exc(15, 3), "bc 2 for 8 coils")
    # byte count checked before the address
    eq(bus.one(req15(1, 500, 10, [0xFF])), exc(15, 3), "bc bad, address bad")
    eq(bus.one(req15(1, 96, 5, [0x1F])), exc(15, 2), "96+5")
    assert m.coils[0] == 0 and m.coils[96] == 0
    m.write_code = 4
    eq(bus.one(req15(1, 0, 3, [7])), exc(15, 4), "model 04")
    m.write_code = 0
    eq(bus.one(req15(1, 97, 3, [5])), fr_spec([1, 15, 0, 97, 0, 3]), "last 3")
    assert (m.coils[97], m.coils[98], m.coils[99]) == (1, 0, 1)


def test_fc16_spec_example_two_registers():
    # V1.1b3 6.12: 2 registers from 2 (PDU 1), 000A 0102
    m, s, bus = setup()
    r = bus.one(req16(1, 1, 2, [0x000A, 0x0102]))
    eq(r, fr_spec([1, 16, 0, 1, 0, 2]), "FC16 reply")
    assert m.hr[1] == 0x000A and m.hr[2] == 0x0102 and m.hr[3] == 0


def test_fc16_quantity_and_byte_count():
    m, s, bus = setup()
    eq(bus.one(req16(1, 0, 0, [])), exc(16, 3), "qty 0")
    eq(bus.one(req16(1, 0, 124, [1])), exc(16, 3), "qty 124")
    eq(bus.one(req16(1, 0, 123, [0] * 123)), exc(16, 2), "qty 123 legal; map -> 02")
    # Past the 256-byte ADU but within the byte-count field's own reach
    # (9 + 255): still read to its CRC and answered 03, never silence.
    eq(bus.one(req16(1, 0, 124, [0] * 124)), exc(16, 3), "qty 124 in full, 257 B")
    eq(bus.one(req16(1, 0, 125, [0] * 125)), exc(16, 3), "qty 125 in full, 259 B")
    eq(bus.one(fr([1, 16, 0, 0, 0, 127, 255] + [0] * 255)), exc(16, 3), "bc 255, 264 B")
    eq(bus.one(req16(1, 0, 2, [5, 6])), fr_spec([1, 16, 0, 0, 0, 2]), "in step after")
    m.hr[0] = m.hr[1] = 0
    eq(bus.one(fr([1, 16, 0, 0, 0, 2, 3, 0, 1, 2])), exc(16, 3), "bc 3 for 2 regs")
    eq(bus.one(req16(1, 0, 2, [1, 2, 3])), exc(16, 3), "bc 6 for 2 regs")
    eq(bus.one(req16(1, 0, 2, [1])), exc(16, 3), "bc 2 for 2 regs")
    eq(bus.one(req16(1, 500, 2, [1])), exc(16, 3), "bc bad, address bad")
    eq(bus.one(req16(1, 99, 2, [1, 2])), exc(16, 2), "99+2")
    assert m.hr[0] == 0 and m.hr[99] == 0
    m.write_code = 3
    eq(bus.one(req16(1, 0, 1, [9])), exc(16, 3), "model 03")
    m.write_code = 4
    eq(bus.one(req16(1, 0, 1, [9])), exc(16, 4), "model 04")
    assert m.hr[0] == 0


def test_fc16_123_registers():
    m, s, bus = setup(n=200)
    words = [(i * 7919) & 0xFFFF for i in range(123)]
    eq(bus.one(req16(1, 10, 123, words)), fr_spec([1, 16, 0, 10, 0, 123]), "FC16 123")
    for i in range(123):
        assert m.hr[10 + i] == words[i]


# ---------------------------------------------------------------- unsupported FCs

def test_unsupported_functions_are_01():
    m, s, bus = setup()
    # known lengths: 7, 11, 12 (4 B), 20/21 (5+bc), 22 (10), 23 (13+bc), 24 (6)
    frames = (
        (7, fr([1, 7])),
        (11, fr([1, 11])),
        (12, fr([1, 12])),
        (20, fr([1, 20, 7, 6, 0, 1, 0, 0, 0, 1])),
        (21, fr([1, 21, 9, 6, 0, 1, 0, 0, 0, 1, 0, 5])),
        (22, fr([1, 22, 0, 4, 0, 0xF2, 0, 0x25])),
        (23, fr([1, 23, 0, 3, 0, 6, 0, 14, 0, 3, 6, 0, 0xFF, 0, 0xFF, 0, 0xFF])),
        (24, fr([1, 24, 4, 0xDE])),
    )
    for fc, f in frames:
        eq(bus.one(f), exc(fc, 1), "FC%d" % fc)
    assert m.writes == 0


def test_unknown_function_ended_by_the_gap_is_01():
    # a function code whose length the slave cannot know: the t3.5 gap ends
    # the frame (RTU framing, Serial Line 2.5.1.1), answered 01
    m, s, bus = setup()
    for fc in (0x41, 0x64, 0x09):
        eq(bus.one(fr([1, fc, 0, 0])), exc(fc, 1), "FC%02X" % fc)


def test_a_long_unknown_function_arriving_in_pieces_is_01_after_the_gap():
    # Found by the fuzz soak: 10 bytes of an unknown function fed 1, 4, 1, 2,
    # 2 bytes at a time must not be taken for garbage once 8 bytes are held.
    m, s, bus = setup()
    f = fr([1, 0x41, 0x97, 0x28, 0x55, 0x43, 0xA4, 0x6D])
    bus.quiet()
    got = []
    o = 0
    for k in (1, 4, 1, 2, 2):
        got += bus.feed(f[o:o + k], 100)
        o += k
    got += bus.quiet(t35(19200) + 100)
    assert len(got) == 1, got
    eq(got[0], exc(0x41, 1), "FC41 in pieces")
    assert s.counters[modbus.C_CRC] == 0


def test_unsupported_mei_type_is_01():
    m, s, bus = setup()
    eq(bus.one(fr([1, 43, 0x0D, 1, 0])), exc(43, 1), "MEI 0D")


# ---------------------------------------------------------------- FC08

def diag(sub, data=0, addr=1):
    return req(addr, 8, sub, data)


def test_fc08_00_echo_any_data():
    m, s, bus = setup()
    for d in (0, 0xA537, 0xFFFF, 0x0102):
        f = diag(0, d)
        eq(bus.one(f), f, "08/00")


def test_fc08_counter_subfunctions_match_counters():
    m, s, bus = setup()
    C = modbus
    f = diag(0x0A)
    eq(bus.one(f), f, "08/0A echo")
    for i in range(len(s.counters)):
        assert s.counters[i] == 0, "counter %d not cleared" % i
    for _ in range(3):
        bus.one(req(1, 3, 0, 1))
    bus.silent(req(2, 3, 0, 1))                  # another slave
    bad = bytearray(req(1, 3, 0, 1))
    bad[7] ^= 0x55
    bus.silent(bad)                              # CRC error
    eq(bus.one(req(1, 3, 0, 0)), exc(3, 3), "exc")  # exception
    bus.silent(req(0, 6, 4, 77))                 # broadcast write
    assert m.hr[4] == 77
    k = s.counters
    assert k[C.C_BUS] == 6, k[C.C_BUS]
    assert k[C.C_CRC] == 1, k[C.C_CRC]
    assert k[C.C_EXC] == 1, k[C.C_EXC]
    assert k[C.C_SERVER] == 5, k[C.C_SERVER]
    assert k[C.C_NORESP] == 1, k[C.C_NORESP]
    assert k[C.C_NAK] == 0 and k[C.C_BUSY] == 0
    assert k[C.C_FOREIGN] == 1, k[C.C_FOREIGN]
    subs = ((0x0B, C.C_BUS), (0x0C, C.C_CRC), (0x0D, C.C_EXC), (0x0E, C.C_SERVER),
            (0x0F, C.C_NORESP), (0x10, C.C_NAK), (0x11, C.C_BUSY), (0x12, C.C_OVERRUN))
    for sub, ci in subs:
        r = bus.one(diag(sub))
        assert len(r) == 8 and r[1] == 8 and u16(r, 2) == sub
        assert u16(r, 4) == s.counters[ci], "08/%02X reply %d counters %d" % (
            sub, u16(r, 4), s.counters[ci])
    # this very request is a message seen: 0B and 0E include it or not, but
    # never count anything that did not happen
    r = bus.one(diag(0x0B))
    assert u16(r, 4) in (6 + 8, 6 + 9), u16(r, 4)
    r = bus.one(diag(0x0C))
    assert u16(r, 4) == 1
    r = bus.one(diag(0x0D))
    assert u16(r, 4) == 1


def test_fc08_counter_data_must_be_zero():
    m, s, bus = setup()
    for sub in (0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x14):
        eq(bus.one(diag(sub, 1)), exc(8, 3), "08/%02X data 0001" % sub)


def test_fc08_02_diagnostic_register():
    m, s, bus = setup()
    eq(bus.one(diag(2)), fr_spec([1, 8, 0, 2, 0, 0]), "08/02")


def test_fc08_unsupported_subfunctions_are_01():
    m, s, bus = setup()
    for sub in (0x03, 0x05, 0x09, 0x13, 0x15, 0x16, 0x100, 0xFFFF):
        eq(bus.one(diag(sub)), exc(8, 1), "08/%04X" % sub)


def test_fc08_0a_clears_counters():
    m, s, bus = setup()
    bus.one(req(1, 3, 0, 1))
    bus.silent(req(3, 3, 0, 1))
    bus.one(req(1, 3, 0, 0))
    assert s.counters[modbus.C_BUS] == 3 and s.counters[modbus.C_EXC] == 1
    f = diag(0x0A)
    eq(bus.one(f), f, "08/0A")
    for i in range(len(s.counters)):
        assert s.counters[i] == 0, i


def test_fc08_01_restart_echoes_and_clears():
    m, s, bus = setup()
    bus.one(req(1, 3, 0, 0))
    for d in (0x0000, 0xFF00):
        f = diag(1, d)
        eq(bus.one(f), f, "08/01 %04X" % d)
        for i in range(len(s.counters)):
            assert s.counters[i] == 0, i
    eq(bus.one(diag(1, 0x1234)), exc(8, 3), "08/01 data 1234")


def test_fc08_04_listen_only_until_restart():
    # V1.1b3 6.8.1 sub 04: monitored, no action, no response; only 08/01 is
    # processed, and "if the port is currently in Listen Only Mode, no
    # response is returned" to it (sub 01); it ends listen-only.
    m, s, bus = setup()
    bus.silent(diag(4))
    assert s.listen_only
    nr = s.counters[modbus.C_NORESP]
    bus.silent(req(1, 3, 0, 1))
    bus.silent(req(1, 6, 1, 55))
    bus.silent(req(0, 6, 2, 56))
    bus.silent(req(1, 3, 0, 0))
    bus.silent(diag(0, 0x1234))
    bus.silent(fr([1, 17]))
    assert m.writes == 0 and m.hr[1] == 0 and m.hr[2] == 0
    assert s.counters[modbus.C_EXC] == 0
    assert s.counters[modbus.C_NORESP] >= nr + 6
    # 08/04 itself got no response either: counted (0F definition)
    assert s.counters[modbus.C_NORESP] == 7, s.counters[modbus.C_NORESP]
    bus.silent(diag(1))
    assert not s.listen_only
    r = bus.one(req(1, 3, 0, 1))
    eq(r, fr_spec([1, 3, 2, 0, 0]), "answered after restart")


def test_fc08_14_clears_overrun_only():
    m, s, bus = setup()
    bus.one(req(1, 3, 0, 1))
    junk = bytearray(b"\xff" * 600)
    bus.feed(junk)
    bus.quiet()
    assert s.counters[modbus.C_OVERRUN] > 0 or s.counters[modbus.C_HUNT] > 0
    f = diag(0x14)
    eq(bus.one(f), f, "08/14 echo")
    assert s.counters[modbus.C_OVERRUN] == 0
    assert s.counters[modbus.C_BUS] >= 2
    r = bus.one(diag(0x12))
    assert u16(r, 4) == 0


# ---------------------------------------------------------------- FC17

def test_fc17_report_server_id():
    m, s, bus = setup()
    s.run_extra = b"fw 9.8.7"
    r = bus.one(fr([1, 17]))
    assert r[1] == 17 and r[2] == len(r) - 5
    data = r[3:len(r) - 2]
    sid = b"GX230"
    assert data[0:len(sid)] == sid, data
    assert data[len(sid)] == 0xFF
    assert data[len(sid) + 1:] == b"fw 9.8.7", data
    m.run = False
    r = bus.one(fr([1, 17]))
    assert r[3 + len(sid)] == 0x00
    bus.silent(fr([0, 17]))


# ---------------------------------------------------------------- FC43 / 14

def mei(code, obj, addr=1):
    return fr([addr, 43, 14, code, obj])


def parse_mei(r):
    """-> (code, conformity, more, next, [(id, value)]) with structure checks."""
    assert r[1] == 43 and r[2] == 14, tohex(r)
    n = r[7]
    objs = []
    i = 8
    for _ in range(n):
        oid = r[i]
        ln = r[i + 1]
        objs.append((oid, bytes(r[i + 2:i + 2 + ln])))
        i += 2 + ln
    assert i == len(r) - 2, "object list length [%s]" % tohex(r)
    return r[3], r[4], r[5], r[6], objs


def test_fc43_basic_regular_extended_stream():
    m, s, bus = setup()
    for code, ids in ((1, (0, 1, 2)), (2, (0, 1, 2, 3, 4, 5, 6)),
                      (3, (0, 1, 2, 3, 4, 5, 6, 0x80))):
        c, conf, more, nxt, objs = parse_mei(bus.one(mei(code, 0)))
        assert c == code and conf == 0x83 and more == 0 and nxt == 0
        assert [o[0] for o in objs] == list(ids), objs
        for oid, val in objs:
            assert dict(IDENT7)[oid] == val


def test_fc43_exact_basic_frame():
    ident = ((0, b"V"), (1, b"PC"), (2, b"1.0"))
    m, s, bus = setup(ident=ident)
    want = fr_spec([1, 43, 14, 1, 0x83, 0, 0, 3, 0, 1, ord("V"), 1, 2, ord("P"), ord("C"),
                    2, 3, ord("1"), ord("."), ord("0")])
    eq(bus.one(mei(1, 0)), want, "43/14 basic")


def test_fc43_stream_from_an_object():
    m, s, bus = setup()
    c, conf, more, nxt, objs = parse_mei(bus.one(mei(2, 4)))
    assert [o[0] for o in objs] == [4, 5, 6], objs
    c, conf, more, nxt, objs = parse_mei(bus.one(mei(1, 1)))
    assert [o[0] for o in objs] == [1, 2], objs


def test_fc43_stream_from_unknown_object_restarts_at_0():
    m, s, bus = setup()
    for code, obj, ids in ((1, 0x50, [0, 1, 2]), (3, 0x90, [0, 1, 2, 3, 4, 5, 6, 0x80]),
                           (2, 0x07, [0, 1, 2, 3, 4, 5, 6])):
        c, conf, more, nxt, objs = parse_mei(bus.one(mei(code, obj)))
        assert [o[0] for o in objs] == ids, (code, obj, objs)


def test_fc43_individual_access():
    m, s, bus = setup()
    for oid in (0, 2, 5, 0x80):
        c, conf, more, nxt, objs = parse_mei(bus.one(mei(4, oid)))
        assert c == 4 and conf == 0x83 and more == 0 and nxt == 0
        assert objs == [(oid, dict(IDENT7)[oid])], objs
    eq(bus.one(mei(4, 0x50)), exc(43, 2), "code 4 unknown object")
    eq(bus.one(mei(4, 7)), exc(43, 2), "code 4 object 7")


def test_fc43_bad_read_code_is_03():
    m, s, bus = setup()
    for code in (0, 5, 0xFF):
        eq(bus.one(mei(code, 0)), exc(43, 3), "read code %d" % code)


def _walk_stream(bus, code, max_pdu):
    """Ask until more-follows is 00; -> (objects, replies)."""
    got = []
    obj = 0
    replies = 0
    for _ in range(20):
        r = bus.one(mei(code, obj))
        replies += 1
        assert len(r) - 3 <= max_pdu, "PDU %d > %d" % (len(r) - 3, max_pdu)
        c, conf, more, nxt, objs = parse_mei(r)
        assert c == code and len(objs) >= 1
        got += objs
        if more == 0:
            assert nxt == 0
            return got, replies
        assert more == 0xFF, more
        ids = [o[0] for o in objs]
        assert nxt not in ids and nxt > ids[-1], (nxt, ids)
        obj = nxt
    raise AssertionError("stream never ended")


def test_fc43_more_follows_with_lowered_max_pdu():
    m, s, bus = setup()
    s.max_pdu = 40
    got, replies = _walk_stream(bus, 3, 40)
    assert replies >= 3
    assert got == list(IDENT7), got


def test_fc43_more_follows_with_long_strings():
    ident = []
    for oid in (0, 1, 2, 3, 4, 5, 6, 0x80):
        ident.append((oid, bytes([0x41 + (oid & 0x0F)]) * 60))
    ident = tuple(ident)
    m, s, bus = setup(ident=ident)
    r = bus.one(mei(3, 0))
    c, conf, more, nxt, objs = parse_mei(r)
    ids = [o[0] for o in ident]
    assert more == 0xFF, more
    assert nxt == ids[len(objs)], (nxt, len(objs))
    assert [o[0] for o in objs] == ids[:len(objs)]
    got, replies = _walk_stream(bus, 3, 253)
    assert replies >= 2
    assert got == list(ident), [o[0] for o in got]
    # basic stream: 3 x 62 bytes fits in one PDU
    c, conf, more, nxt, objs = parse_mei(bus.one(mei(1, 0)))
    assert more == 0 and [o[0] for o in objs] == [0, 1, 2]


def test_fc43_broadcast_not_answered():
    m, s, bus = setup()
    bus.silent(mei(1, 0, addr=0))


# ---------------------------------------------------------------- broadcast

def test_broadcast_writes_executed_never_answered():
    m, s, bus = setup()
    bus.silent(req(0, 6, 10, 0xBEEF))
    assert m.hr[10] == 0xBEEF and m.bcast_writes == 1
    bus.silent(req(0, 5, 11, 0xFF00))
    assert m.coils[11] == 1 and m.bcast_writes == 2
    bus.silent(req15(0, 20, 3, [0x05]))
    assert (m.coils[20], m.coils[21], m.coils[22]) == (1, 0, 1) and m.bcast_writes == 3
    bus.silent(req16(0, 30, 2, [0x1234, 0x5678]))
    assert m.hr[30] == 0x1234 and m.hr[31] == 0x5678 and m.bcast_writes == 4
    assert s.counters[modbus.C_NORESP] == 4
    assert s.counters[modbus.C_SERVER] == 4
    assert s.counters[modbus.C_EXC] == 0


def test_broadcast_errors_and_reads_are_silent():
    m, s, bus = setup()
    bus.silent(req(0, 6, 100, 1))            # would be 02
    bus.silent(req(0, 5, 1, 0x1234))         # would be 03
    bus.silent(req(0, 3, 0, 1))              # read
    bus.silent(req(0, 4, 0, 1))
    bus.silent(req(0, 1, 0, 1))
    bus.silent(req(0, 2, 0, 1))
    bus.silent(req(0, 3, 0, 0))              # would be 03
    bus.silent(fr([0, 7]))                   # unsupported
    bus.silent(diag(0, 0x1234, addr=0))
    bus.silent(fr([0, 17]))
    assert m.coils[1] == 0
    assert s.counters[modbus.C_EXC] == 0
    r = bus.one(req(1, 3, 0, 1))
    assert r[1] == 3


def test_broadcast_then_read_in_one_chunk():
    # a USB adapter can deliver the broadcast and the next request together
    m, s, bus = setup()
    bus.quiet()
    r = bus.feed(req(0, 6, 3, 99) + req(1, 3, 3, 1))
    r += bus.quiet(3000)
    assert len(r) == 1
    eq(r[0], fr_spec([1, 3, 2, 0, 99]), "read after broadcast")


# ---------------------------------------------------------------- addressing

def test_other_addresses_silent_and_counted():
    m, s, bus = setup()
    for a in (2, 17, 247):
        bus.silent(req(a, 6, 1, 5))
    assert m.writes == 0 and m.hr[1] == 0
    assert s.counters[modbus.C_FOREIGN] == 3
    assert s.counters[modbus.C_BUS] == 3
    assert s.counters[modbus.C_SERVER] == 0


def test_reserved_addresses_248_255_are_not_ours():
    # Serial Line 2.2: 248-255 reserved.  The frames are good (valid CRC):
    # bus messages (0B), not CRC errors (0C)
    m, s, bus = setup()
    for a in range(248, 256):
        bus.silent(req(a, 6, 1, a))
        bus.silent(req(a, 3, 0, 1))
    assert m.writes == 0
    assert s.counters[modbus.C_SERVER] == 0
    assert s.counters[modbus.C_CRC] == 0, "CRC errors %d for 16 good frames" % s.counters[modbus.C_CRC]
    assert s.counters[modbus.C_BUS] == 16, "bus msgs %d for 16 good frames" % s.counters[modbus.C_BUS]


def test_reserved_address_frame_then_our_request_in_one_chunk():
    m, s, bus = setup()
    bus.quiet()
    got = bus.feed(req(250, 6, 1, 1) + req(1, 3, 1, 1))
    got += bus.quiet(t35(19200) + 100)
    assert m.writes == 0
    assert len(got) == 1
    eq(got[0], fr_spec([1, 3, 2, 0, 0]), "our request after a reserved-address frame")


def test_configure_changes_address():
    m, s, bus = setup()
    s.configure(17, 19200)
    bus.address = 17
    bus.silent(req(1, 3, 0, 1))
    r = bus.one(req(17, 3, 0, 1))
    assert r[0] == 17
    m2, s2, bus2 = setup(address=247)
    assert bus2.one(req(247, 3, 0, 1))[0] == 247


# ---------------------------------------------------------------- CRC / truncation

def test_wrong_crc_silent_and_counted():
    m, s, bus = setup()
    f = bytearray(req(1, 6, 1, 0x1234))
    f[6] ^= 0xFF
    bus.silent(f)
    assert m.writes == 0
    assert s.counters[modbus.C_CRC] == 1
    assert s.counters[modbus.C_BUS] == 0
    assert s.counters[modbus.C_SERVER] == 0
    r = bus.one(req(1, 6, 1, 0x1234))
    assert m.hr[1] == 0x1234 and r[1] == 6


def test_every_single_bit_flip_is_silent():
    m, s, bus = setup()
    f = req(1, 6, 1, 0x1234)
    for pos in range(len(f)):
        for bit in range(8):
            g = bytearray(f)
            g[pos] ^= 1 << bit
            before = (s.counters[modbus.C_CRC] + s.counters[modbus.C_GAP] +
                      s.counters[modbus.C_HUNT] + s.counters[modbus.C_FOREIGN])
            bus.silent(g)
            after = (s.counters[modbus.C_CRC] + s.counters[modbus.C_GAP] +
                     s.counters[modbus.C_HUNT] + s.counters[modbus.C_FOREIGN])
            assert after > before, "flip %d.%d not counted" % (pos, bit)
    assert m.writes == 0
    assert s.counters[modbus.C_SERVER] == 0
    r = bus.one(f)
    assert r == f


def test_truncated_frame_dropped_by_gap_and_counted():
    m, s, bus = setup()
    f = req(1, 6, 1, 7)
    for cut in (1, 2, 5, 7):
        before = s.counters[modbus.C_GAP]
        bus.silent(f[:cut])
        assert s.counters[modbus.C_GAP] == before + 1, cut
    assert m.writes == 0
    eq(bus.one(f), f, "good frame after truncated ones")
    g = req16(1, 0, 2, [1, 2])
    bus.silent(g[:9])
    eq(bus.one(g), fr_spec([1, 16, 0, 0, 0, 2]), "FC16 after truncated FC16")


# ---------------------------------------------------------------- framing in time

def test_frame_split_byte_by_byte():
    m, s, bus = setup()
    m.hr[2] = 0x0A0B
    bus.quiet()
    f = req(1, 3, 2, 1)
    char_us = 11000000 // 19200 + 1
    got = []
    for i in range(len(f)):
        got += bus.feed(f[i:i + 1], char_us)
        if i < len(f) - 1:
            assert not got, "reply before the last byte"
    got += bus.quiet(3000)
    assert len(got) == 1
    eq(got[0], fr_spec([1, 3, 2, 0x0A, 0x0B]), "byte by byte")


def test_frame_split_with_idle_polls_below_t1_5_is_kept():
    # a driver polling between characters: silent for less than t1.5
    for baud in (9600, 19200, 115200):
        m, s, bus = setup(baud=baud)
        bus.quiet()
        f = req(1, 6, 3, 0x55AA)
        got = bus.feed(f[:3], 0)
        got += bus.quiet(400)
        got += bus.feed(f[3:6], 100)
        got += bus.quiet(400)
        got += bus.feed(f[6:], 100)
        got += bus.quiet(t35(baud) + 100)
        assert len(got) == 1 and got[0] == f, baud
        assert s.counters[modbus.C_GAP] == 0


def test_frame_split_across_t3_5_gap_is_dropped():
    for baud in (9600, 19200, 38400, 115200):
        m, s, bus = setup(baud=baud)
        f = req(1, 6, 5, 0x0007)
        bus.quiet()
        got = bus.feed(f[:4])
        got += bus.quiet(t35(baud) + 50)     # the master gave up
        assert s.counters[modbus.C_GAP] == 1, baud
        got += bus.feed(f[4:], 100)          # the tail: garbage
        got += bus.quiet(t35(baud) + 50)
        assert not got, baud
        assert m.writes == 0
        g = req(1, 6, 6, 8)
        eq(bus.one(g), g, "next good frame at %d" % baud)
        assert m.hr[6] == 8 and m.hr[5] == 0


def test_two_requests_in_one_chunk_both_answered():
    m, s, bus = setup()
    m.hr[0] = 1
    m.hr[1] = 2
    bus.quiet()
    got = bus.feed(req(1, 3, 0, 1) + req(1, 3, 1, 1))
    got += bus.quiet(3000)
    assert len(got) == 2
    eq(got[0], fr_spec([1, 3, 2, 0, 1]), "first")
    eq(got[1], fr_spec([1, 3, 2, 0, 2]), "second")


# ---------------------------------------------------------------- resynchronisation

def test_garbage_before_a_good_frame_resynchronises():
    # no gap between the junk and the frame: the frame is answered (at once,
    # or once the line falls silent for t3.5)
    m, s, bus = setup()
    m.hr[0] = 0x4242
    want = fr_spec([1, 3, 2, 0x42, 0x42])
    for junk in (hx("FF 00 13 77 AA"), hx("01 03 00 00"), hx("00"), hx("01"),
                 hx("01 10 00 00"), hx("55 AA 55 AA 55 AA 55 AA 55 AA")):
        bus.quiet()
        got = bus.feed(junk + req(1, 3, 0, 1))
        got += bus.quiet(t35(19200) + 100)
        assert len(got) == 1, "junk [%s]: %d replies" % (tohex(junk), len(got))
        eq(got[0], want, "after junk [%s]" % tohex(junk))
    assert m.writes == 0


OTHER_REPLIES = (
    fr([2, 3, 4, 0, 1, 0, 2]),                    # FC03 reply
    fr([2, 0x83, 2]),                             # exception reply
    fr([2, 0x90, 3]),                             # exception reply to FC16
    fr([2, 1, 1, 5]),                             # FC01 reply (6 bytes)
    fr([2, 5, 0, 1, 0xFF, 0]),                    # FC05 echo
    fr([2, 15, 0, 1, 0, 10]),                     # FC15 reply (8 bytes)
    fr([2, 16, 0, 1, 0, 2]),                      # FC16 reply (8 bytes)
    fr([2, 8, 0, 0, 0xA5, 0x37]),                 # FC08 echo
    fr([2, 17, 3, 1, 2, 0xFF]),                   # FC17 reply
    fr([2, 43, 14, 1, 0x83, 0, 0, 1, 0, 1, 65]),  # FC43 reply
)


def test_another_slaves_reply_then_our_request_in_one_chunk():
    # a multi-drop line carries other slaves' replies; one read can hold
    # such a reply and the next request to us
    m, s, bus = setup()
    m.hr[0] = 0x0102
    want = fr_spec([1, 3, 2, 1, 2])
    bad = []
    for rep in OTHER_REPLIES:
        before = s.counters[modbus.C_FOREIGN]
        crc0 = s.counters[modbus.C_CRC]
        bus.quiet()
        got = bus.feed(rep + req(1, 3, 0, 1))
        got += bus.quiet(t35(19200) + 100)
        if len(got) != 1 or got[0] != want:
            bad.append("[%s]: %d replies" % (tohex(rep), len(got)))
        elif s.counters[modbus.C_FOREIGN] != before + 1 or s.counters[modbus.C_CRC] != crc0:
            bad.append("[%s]: foreign +%d crc +%d" % (tohex(rep), s.counters[modbus.C_FOREIGN] - before,
                                                      s.counters[modbus.C_CRC] - crc0))
    assert not bad, "; ".join(bad)


def test_another_slaves_reply_alone_is_a_good_foreign_frame():
    # with the gaps a real line has: silent, a good frame (0B), foreign,
    # no CRC error or dropped partial frame; the next request is answered
    want = fr_spec([1, 3, 2, 0, 0])
    bad = []
    for rep in OTHER_REPLIES:
        m, s, bus = setup()
        got = bus.ask(rep)
        k = s.counters
        if got or k[modbus.C_BUS] != 1 or k[modbus.C_FOREIGN] != 1 or k[modbus.C_CRC] \
                or k[modbus.C_GAP] or k[modbus.C_SERVER]:
            bad.append("[%s]: replies %d bus %d foreign %d crc %d gap %d" % (
                tohex(rep), len(got), k[modbus.C_BUS], k[modbus.C_FOREIGN], k[modbus.C_CRC],
                k[modbus.C_GAP]))
        got = bus.ask(req(1, 3, 0, 1))
        if len(got) != 1 or got[0] != want:
            bad.append("[%s]: next request not answered" % tohex(rep))
    assert not bad, "; ".join(bad)


def test_request_to_us_inside_another_slaves_reply_is_not_executed():
    # slave 2 returns 5 registers that happen to spell a write to us
    inner = req(1, 6, 9, 0x0BAD)
    data = list(inner) + [0, 0]
    rep = fr([2, 3, len(data)] + data)
    m, s, bus = setup()
    bus.silent(rep)
    bus.quiet()
    got = bus.feed(rep + req(1, 3, 9, 1))
    assert m.writes == 0 and m.hr[9] == 0
    assert len(got) == 1
    eq(got[0], fr_spec([1, 3, 2, 0, 0]), "read after")


def test_long_junk_counts_and_does_not_raise():
    m, s, bus = setup()
    x = 12345
    junk = bytearray(300)
    for i in range(300):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        junk[i] = (x >> 16) & 0xFF
    bus.quiet()
    bus.feed(junk)
    bus.quiet()
    assert s.counters[modbus.C_OVERRUN] + s.counters[modbus.C_HUNT] > 0
    # a single feed larger than any receive buffer
    big = junk + junk + junk + junk
    bus.feed(big)
    bus.quiet()
    ff = bytearray(b"\xff" * 1000)
    bus.feed(ff)
    bus.quiet()
    assert m.writes == 0
    r = bus.one(req(1, 3, 0, 1))
    assert r[1] == 3


def test_oversized_fc16_frame_does_not_write():
    # byte count 254: the frame (263 B) exceeds the 256-byte ADU
    m, s, bus = setup()
    words = [0x1111] * 127
    bus.ask(req16(1, 0, 127, words))
    assert m.hr[0] == 0
    r = bus.one(req(1, 3, 0, 1))
    eq(r, fr_spec([1, 3, 2, 0, 0]), "after oversized frame")


def test_poll_with_nothing_returns_0():
    m, s, bus = setup()
    assert s.poll(0) == 0
    s.idle(10000)
    assert s.poll(10000) == 0


# ---------------------------------------------------------------- no allocation

def test_no_allocation_per_request_under_heap_lock():
    m = Model(200)
    s = modbus.Slave(m, address=1, baud=19200, ident=IDENT7)
    # (frame, kind, expected replies, expected reply FC, expected model writes)
    # kind 1: first part of a split frame (the next entry follows without a gap)
    plan = []

    def add(f, kind, nrep, rfc, nwr):
        plan.append((bytearray(f), kind, nrep, rfc, nwr))

    add(req(1, 3, 0, 125), 0, 1, 3, 0)
    add(req(1, 4, 75, 125), 0, 1, 4, 0)
    add(req(1, 1, 0, 200), 0, 1, 1, 0)
    add(req(1, 2, 0, 200), 0, 1, 2, 0)
    add(req16(1, 0, 123, [i for i in range(123)]), 0, 1, 16, 1)
    add(req15(1, 0, 200, [0xA5] * 25), 0, 1, 15, 1)
    add(req(1, 5, 7, 0xFF00), 0, 1, 5, 1)
    add(req(1, 6, 7, 0x1234), 0, 1, 6, 1)
    add(req(1, 3, 0, 126), 0, 1, 0x83, 0)
    add(req(1, 3, 199, 2), 0, 1, 0x83, 0)
    add(req(1, 5, 7, 0x1234), 0, 1, 0x85, 0)
    add(fr([1, 7]), 0, 1, 0x87, 0)
    add(diag(0, 0xA537), 0, 1, 8, 0)
    add(diag(0x0B), 0, 1, 8, 0)
    add(fr([1, 17]), 0, 1, 17, 0)
    add(mei(1, 0), 0, 1, 43, 0)
    add(mei(4, 0x80), 0, 1, 43, 0)
    add(mei(4, 0x50), 0, 1, 0xAB, 0)
    add(req(0, 6, 8, 1), 0, 0, 0, 1)             # broadcast
    add(req(2, 6, 8, 1), 0, 0, 0, 0)             # another slave
    add(fr([2, 3, 4, 0, 1, 0, 2]), 0, 0, 0, 0)   # another slave's reply
    bad = bytearray(req(1, 6, 8, 1))
    bad[7] ^= 1
    add(bad, 0, 0, 0, 0)                         # CRC error
    add(b"\xff\x00\x13\x77\xaa" * 8, 0, 0, 0, 0)  # garbage
    f = req(1, 6, 9, 2)
    add(f[:3], 1, 0, 0, 0)                       # split frame
    add(f[3:], 0, 1, 6, 1)
    f = req(1, 3, 10, 3)
    for i in range(7):
        add(f[i:i + 1], 1, 0, 0, 0)              # byte by byte
    add(f[7:], 0, 1, 3, 0)
    add(req(1, 6, 9, 2)[:5], 0, 0, 0, 0)         # truncated, dropped by the gap
    add(diag(0x0A), 0, 1, 8, 0)                  # clear counters now and then
    np = len(plan)
    frames = [p[0] for p in plan]
    kinds = bytearray([p[1] for p in plan])
    nrep = bytearray([p[2] for p in plan])
    rfc = bytearray([p[3] for p in plan])
    nwr = bytearray([p[4] for p in plan])
    total = 3200                 # ~2500 complete requests
    want_rep = 0
    want_wr = 0
    i = 0
    while i < total:
        want_rep += nrep[i % np]
        want_wr += nwr[i % np]
        i += 1
    try:
        import micropython
    except ImportError:
        micropython = None
    reply = s.reply
    t = 1000000
    replies = 0
    bad_crc = 0
    bad_fc = 0
    got_this = 0
    prev = 0
    i = 0
    if micropython is not None:
        micropython.heap_lock()
    try:
        while i < total:
            j = i % np
            f = frames[j]
            if prev == 1:
                t += 300
            else:
                t += 20000
                s.idle(t)
            s.feed(f, len(f), t)
            got_this = 0
            k = s.poll(t)
            while k:
                if crc16(reply, 0, k) != 0 or reply[0] != 1:
                    bad_crc += 1
                if reply[1] != rfc[j]:
                    bad_fc += 1
                replies += 1
                got_this += 1
                k = s.poll(t)
            prev = kinds[j]
            if prev != 1:
                t += 3000
                s.idle(t)
                k = s.poll(t)
                while k:
                    if crc16(reply, 0, k) != 0 or reply[0] != 1:
                        bad_crc += 1
                    if reply[1] != rfc[j]:
                        bad_fc += 1
                    replies += 1
                    got_this += 1
                    k = s.poll(t)
            if got_this != nrep[j]:
                bad_fc += 1000
            i += 1
    finally:
        if micropython is not None:
            micropython.heap_unlock()
    assert bad_crc == 0, bad_crc
    assert bad_fc == 0, bad_fc
    assert replies == want_rep, (replies, want_rep)
    assert m.writes == want_wr, (m.writes, want_wr)
    assert t < 0x3FFFFFFF
