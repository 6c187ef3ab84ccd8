"""Property tests (hypothesis) of the Modbus RTU slave (firmware/modbus.py)
against the specification (Modbus over Serial Line V1.02, Application
Protocol V1.1b3), over a small recording data model defined here.

Random byte streams and mutated valid frames (bit flips, truncation,
insertion, deletion, duplication), cut into chunks at random points with
random idle polls and t3.5 gaps, are fed to a Slave:
  * it never raises;
  * it never calls a model write unless the stream held a frame with a valid
    CRC, addressed to us or broadcast, with a write function code and the
    spec's length, quantity and byte count, all between two t3.5 gaps; the
    write carries exactly that frame's address, quantity, values and
    broadcast flag (an independent scanner written from the spec finds them);
  * every reply has a valid CRC and our address, is 5..256 bytes, and answers
    a CRC-valid frame addressed to us with the same function code;
  * counters only grow between clears (a clear needs a CRC-valid FC08 0A /
    01 / 14 to us in the stream), and C_SERVER <= C_BUS;
  * valid requests to us, separated by gaps and split at random points, are
    each answered once, in order (liveness).
"""

from collections import Counter

from hypothesis import HealthCheck, given, settings, strategies as st

from host_sim import firmware_path

firmware_path()
import modbus  # noqa: E402
from crc16 import crc16  # noqa: E402

ADDR = 1
BAUD = 19200
T35 = 38500000 // BAUD       # Serial Line 2.5.1.1
N = 100

# An independent CRC-16/MODBUS table (poly A001 reflected, init FFFF)
_T = []
for _i in range(256):
    _c = _i
    for _k in range(8):
        _c = (_c >> 1) ^ 0xA001 if _c & 1 else _c >> 1
    _T.append(_c)


def crc(b, i=0, j=None):
    c = 0xFFFF
    for x in (b[i:] if j is None else b[i:j]):
        c = (c >> 8) ^ _T[(c ^ x) & 0xFF]
    return c


def fr(data):
    b = bytearray(data)
    c = crc16(b, 0, len(b))
    return bytes(b + bytes([c & 0xFF, c >> 8]))


class RecModel:
    """100 of each table; records every write call with its decoded values."""

    def __init__(self, write_code=0):
        self.coils = [0] * N
        self.di = [(i * 7) & 1 for i in range(N)]
        self.hr = [i * 3 for i in range(N)]
        self.ir = [i * 5 for i in range(N)]
        self.write_code = write_code
        self.calls = []

    def read_bits(self, table, addr, qty, out, o):
        assert table in (1, 2)
        if qty < 1 or addr + qty > N:
            return 2
        src = self.coils if table == 1 else self.di
        for i in range((qty + 7) // 8):
            out[o + i] = 0
        for i in range(qty):
            if src[addr + i]:
                out[o + i // 8] |= 1 << (i % 8)
        return 0

    def read_regs(self, table, addr, qty, out, o):
        assert table in (3, 4)
        if qty < 1 or addr + qty > N:
            return 2
        src = self.hr if table == 3 else self.ir
        for i in range(qty):
            out[o + 2 * i] = src[addr + i] >> 8
            out[o + 2 * i + 1] = src[addr + i] & 0xFF
        return 0

    def write_bits(self, addr, qty, buf, o, broadcast):
        try:
            vals = tuple((buf[o + i // 8] >> (i % 8)) & 1 for i in range(qty))
        except IndexError:
            vals = None
        self.calls.append(("bits", addr, qty, vals, bool(broadcast)))
        if qty < 1 or addr + qty > N:
            return 2
        if self.write_code:
            return self.write_code
        for i in range(qty):
            self.coils[addr + i] = vals[i]
        return 0

    def write_regs(self, addr, qty, buf, o, broadcast):
        try:
            vals = tuple((buf[o + 2 * i] << 8) | buf[o + 2 * i + 1] for i in range(qty))
        except IndexError:
            vals = None
        self.calls.append(("regs", addr, qty, vals, bool(broadcast)))
        if qty < 1 or addr + qty > N:
            return 2
        if self.write_code:
            return self.write_code
        for i in range(qty):
            self.hr[addr + i] = vals[i]
        return 0

    def running(self):
        return True


# ------------------------------------------------------------ spec scanner

def write_candidates(segments):
    """Writes a spec slave could execute: CRC-valid FC05/06/15/16 frames of
    the spec's length, to us or broadcast, with legal values, inside one
    gap-delimited segment.  -> Counter of (kind, addr, qty, values, bcast)."""
    out = Counter()
    for seg in segments:
        for i in range(len(seg) - 1):
            a = seg[i]
            if a not in (0, ADDR):
                continue
            fc = seg[i + 1]
            if fc in (5, 6):
                ln = 8
            elif fc in (15, 16):
                if i + 6 >= len(seg):
                    continue
                ln = 9 + seg[i + 6]
            else:
                continue
            if ln > 264 or i + ln > len(seg) or crc(seg, i, i + ln) != 0:
                continue
            f = seg[i:i + ln]
            start = (f[2] << 8) | f[3]
            q = (f[4] << 8) | f[5]
            bc = a == 0
            if fc == 5:
                if q == 0xFF00:
                    out[("bits", start, 1, (1,), bc)] += 1
                elif q == 0:
                    out[("bits", start, 1, (0,), bc)] += 1
            elif fc == 6:
                out[("regs", start, 1, (q,), bc)] += 1
            elif fc == 15:
                nb = f[6]
                if 1 <= q <= 1968 and nb == (q + 7) // 8:
                    vals = tuple((f[7 + k // 8] >> (k % 8)) & 1 for k in range(q))
                    out[("bits", start, q, vals, bc)] += 1
            else:
                nb = f[6]
                if 1 <= q <= 123 and nb == 2 * q:
                    vals = tuple((f[7 + 2 * k] << 8) | f[8 + 2 * k] for k in range(q))
                    out[("regs", start, q, vals, bc)] += 1
    return out


def frames_to_us(segments):
    """Counter of function codes of every CRC-valid frame to us (any length
    4..264: a write's byte count allows 9 + 255, and an over-quantity write
    past the 256-byte ADU is answered 03) inside one segment: what a reply
    may answer."""
    out = Counter()
    for seg in segments:
        n = len(seg)
        for i in range(n - 3):
            if seg[i] != ADDR:
                continue
            c = 0xFFFF
            for j in range(i, min(n, i + 264)):
                c = (c >> 8) ^ _T[(c ^ seg[j]) & 0xFF]
                if j - i >= 3 and c == 0:
                    out[seg[i + 1]] += 1
    return out


def clear_candidates(segments):
    """CRC-valid FC08 0A / 01 / 14 requests to us: the only things that may
    lower a counter."""
    n = 0
    for seg in segments:
        for i in range(len(seg) - 7):
            if seg[i] == ADDR and seg[i + 1] == 8 and seg[i + 2] == 0 \
                    and seg[i + 3] in (0x01, 0x0A, 0x14) and crc(seg, i, i + 8) == 0:
                n += 1
    return n


# ------------------------------------------------------------ driver

def run(events, write_code=0, max_pdu=None):
    """Feed events [("feed", bytes, dt) | ("idle", dt)] to a fresh Slave.
    Returns (model, slave, replies, segments, counter violations)."""
    m = RecModel(write_code)
    s = modbus.Slave(m, address=ADDR, baud=BAUD, ident=modbus.IDENT)
    if max_pdu:
        s.max_pdu = max_pdu
    t = 5000000
    t_last = t
    segments = [bytearray()]
    replies = []
    prev = list(s.counters)
    decreases = 0
    problems = []

    def drain():
        nonlocal prev, decreases
        for _ in range(64):
            k = s.poll(t)
            if not k:
                break
            replies.append(bytes(s.reply[0:k]))
        else:
            problems.append("poll never returned 0")
        cur = list(s.counters)
        if any(c < p for c, p in zip(cur, prev)):
            decreases += 1
        if cur[modbus.C_SERVER] > cur[modbus.C_BUS]:
            problems.append("C_SERVER %d > C_BUS %d" % (cur[modbus.C_SERVER], cur[modbus.C_BUS]))
        if any(c < 0 for c in cur):
            problems.append("negative counter %r" % cur)
        prev = cur

    for ev in events:
        if ev[0] == "feed":
            data, dt = ev[1], ev[2]
            t += dt
            b = bytearray(data)
            s.feed(b, len(b), t)
            t_last = t
            segments[-1] += data
        else:
            t += ev[1]
            if t - t_last > T35 and segments[-1]:
                segments.append(bytearray())
            s.idle(t)
        drain()
    # the line falls silent at the end
    t += T35 + 1000
    s.idle(t)
    drain()
    return m, s, replies, [bytes(x) for x in segments], decreases, problems


def check(events, write_code=0, max_pdu=None):
    m, s, replies, segments, decreases, problems = run(events, write_code, max_pdu)
    assert not problems, problems
    # replies
    allowed = frames_to_us(segments)
    seen = Counter()
    for r in replies:
        assert 5 <= len(r) <= 256, r.hex(" ")
        assert crc(r) == 0, "reply CRC " + r.hex(" ")
        assert r[0] == ADDR, "reply address " + r.hex(" ")
        seen[r[1] & 0x7F] += 1
    for fc, k in seen.items():
        assert k <= allowed[fc], "%d replies to FC%d, %d requests in the stream" % (k, fc, allowed[fc])
    # writes
    cand = write_candidates(segments)
    done = Counter(m.calls)
    for call, k in done.items():
        assert k <= cand[call], "model write %r x%d without such a frame (candidates %r)" % (
            call, k, dict(cand))
    # counters
    assert decreases <= clear_candidates(segments), "counters fell %d times" % decreases
    return m, s, replies


# ------------------------------------------------------------ strategies

ADDRS = st.sampled_from([ADDR, ADDR, ADDR, 0, 2, 247, 250])
WORD = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0, 1, 95, 99, 100, 0xFF00, 125, 126]))


@st.composite
def request(draw, addr=ADDRS):
    """A CRC-valid request frame (fields mostly near the limits)."""
    a = draw(addr)
    fc = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 8, 15, 16, 17, 43, 7, 0x41]))
    if fc in (1, 2, 3, 4, 5, 6):
        s0, q = draw(WORD), draw(WORD)
        if fc == 5 and draw(st.booleans()):
            q = draw(st.sampled_from([0, 0xFF00]))
        if fc in (3, 4) and draw(st.booleans()):
            s0, q = draw(st.integers(0, 99)), draw(st.integers(1, 125))
        return fr([a, fc, s0 >> 8, s0 & 0xFF, q >> 8, q & 0xFF])
    if fc == 8:
        sub = draw(st.sampled_from([0, 1, 2, 3, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
                                    0x10, 0x11, 0x12, 0x14, 0x15]))
        d = draw(st.sampled_from([0, 0, 0xFF00, 0x1234]))
        return fr([a, 8, 0, sub, d >> 8, d & 0xFF])
    if fc in (15, 16):
        s0 = draw(st.integers(0, 120))
        if fc == 15:
            q = draw(st.integers(0, 130))
            nb = (q + 7) // 8
        else:
            q = draw(st.integers(0, 125))
            nb = 2 * q
        if draw(st.integers(0, 5)) == 0:
            nb = draw(st.integers(0, 247))   # the ADU stays <= 256 bytes
        data = draw(st.binary(min_size=nb, max_size=nb))
        return fr(bytes([a, fc, s0 >> 8, s0 & 0xFF, q >> 8, q & 0xFF, nb]) + data)
    if fc == 17 or fc == 7:
        return fr([a, fc])
    if fc == 43:
        code = draw(st.integers(0, 5))
        obj = draw(st.sampled_from([0, 1, 2, 3, 0x80, 0x50]))
        return fr([a, 43, 14, code, obj])
    return fr([a, fc, 0, 0])


@st.composite
def foreign_reply(draw):
    a = draw(st.sampled_from([2, 3, 247]))
    kind = draw(st.integers(0, 5))
    if kind == 0:
        n = draw(st.integers(1, 20))
        return fr(bytes([a, 3, 2 * n]) + draw(st.binary(min_size=2 * n, max_size=2 * n)))
    if kind == 1:
        return fr([a, draw(st.sampled_from([0x81, 0x83, 0x86, 0x90])), draw(st.integers(1, 4))])
    if kind == 2:
        return fr([a, 6, 0, 1, 0, 2])
    if kind == 4:
        return fr([a, draw(st.sampled_from([15, 16])), 0, 1, 0, draw(st.integers(1, 123))])
    if kind == 5:
        v = draw(st.binary(min_size=1, max_size=20))
        return fr(bytes([a, 43, 14, 1, 0x83, 0, 0, 1, 0, len(v)]) + v)
    n = draw(st.integers(1, 10))
    return fr(bytes([a, 1, n]) + draw(st.binary(min_size=n, max_size=n)))


@st.composite
def mutated(draw, data):
    b = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.integers(0, 4))
        if not b:
            b += draw(st.binary(min_size=1, max_size=8))
            continue
        p = draw(st.integers(0, len(b) - 1))
        if op == 0:
            b[p] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            del b[p:]
        elif op == 2:
            b[p:p] = draw(st.binary(min_size=1, max_size=12))
        elif op == 3:
            q = draw(st.integers(p, min(len(b), p + 40)))
            b[p:p] = b[p:q]
        else:
            del b[p]
    return bytes(b)


@st.composite
def chunked(draw, data, gaps=True):
    """Cut data at random points; between chunks: nothing, a short idle
    poll (< t1.5), or a t3.5 gap."""
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=12))))
    events = []
    p = 0
    for c in cuts + [len(data)]:
        if c <= p:
            continue
        events.append(("feed", data[p:c], draw(st.integers(0, 600))))
        p = c
        k = draw(st.integers(0, 9 if gaps else 5))
        if k in (4, 5):
            events.append(("idle", draw(st.integers(0, 500))))
        elif k >= 8:
            events.append(("idle", T35 + draw(st.integers(50, 20000))))
    return events


def test_checker_sanity():
    """The scanner and the driver see a plain write, and nothing once a bit
    of it is flipped or a gap splits it."""
    f = fr([ADDR, 6, 0, 7, 0x12, 0x34])
    m, s, replies = check([("feed", f, 0)])
    assert m.calls == [("regs", 7, 1, (0x1234,), False)] and replies == [f]
    assert write_candidates([f]) == Counter({("regs", 7, 1, (0x1234,), False): 1})
    g = bytearray(f)
    g[4] ^= 8
    m, s, replies = check([("feed", bytes(g), 0)])
    assert m.calls == [] and replies == []
    m, s, replies = check([("feed", f[:3], 0), ("idle", T35 + 100), ("feed", f[3:], 0)])
    assert m.calls == [] and replies == []
    assert write_candidates([f[:3], f[3:]]) == Counter()
    b = fr([0, 16, 0, 1, 0, 2, 4, 0, 1, 0, 2])
    m, s, replies = check([("feed", b, 0)])
    assert m.calls == [("regs", 1, 2, (1, 2), True)] and replies == []


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=200, **SETTINGS)
@given(st.data())
def test_random_bytes(data):
    raw = data.draw(st.binary(min_size=0, max_size=700))
    events = data.draw(chunked(raw))
    check(events)


@settings(max_examples=300, **SETTINGS)
@given(st.data())
def test_mutated_frames(data):
    parts = data.draw(st.lists(st.one_of(request(), request(), foreign_reply(),
                                         st.binary(min_size=1, max_size=16)),
                               min_size=1, max_size=10))
    stream = data.draw(mutated(b"".join(parts)))
    events = data.draw(chunked(stream))
    check(events, write_code=data.draw(st.sampled_from([0, 0, 3, 4])),
          max_pdu=data.draw(st.sampled_from([None, None, 30, 60])))


@settings(max_examples=150, **SETTINGS)
@given(st.data())
def test_unmutated_requests_are_answered_in_order(data):
    """Requests to us, each followed by a t3.5 gap (and sometimes preceded by a
    foreign reply or request, also gap-separated), split at random points
    inside: each request to us is answered exactly once, in order, with its
    function code (or FC | 0x80)."""
    reqs = data.draw(st.lists(request(addr=st.just(ADDR)), min_size=1, max_size=8))
    events = []
    want = []
    for r in reqs:
        if r[1] == 8 and r[3] == 4:
            continue                      # listen-only: no replies follow
        if data.draw(st.booleans()):
            other = data.draw(st.one_of(foreign_reply(), request(addr=st.sampled_from([0, 2, 250]))))
            events += data.draw(chunked(other, gaps=False))
            events.append(("idle", T35 + 500))
        events += data.draw(chunked(r, gaps=False))
        events.append(("idle", T35 + 500))
        want.append(r[1])
    m, s, replies = check(events)
    got = [x[1] & 0x7F for x in replies]
    assert got == want, (got, want, [r.hex(" ") for r in reqs])
