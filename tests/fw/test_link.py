"""Tick-link frames: round trip, and every corruption is detected."""

from array import array
import link


def _frame(vals):
    buf = bytearray(link.frame_size(link.MAX_VALUES))
    v = array("i", vals)
    n = link.encode(buf, link.T_INPUTS, v, len(vals))
    return buf, n


def test_round_trip_keeps_values_including_small_int_extremes():
    vals = [0, 1, -1, 123456, -98765, 2 ** 30 - 1, -(2 ** 30)]
    buf, n = _frame(vals)
    assert n == link.frame_size(len(vals))
    out = array("i", [0] * link.MAX_VALUES)
    assert link.decode(buf, out) == len(vals)
    for i in range(len(vals)):
        assert out[i] == vals[i]


def test_flipped_bit_is_a_crc_error():
    buf, n = _frame([5, 6, 7])
    out = array("i", [0] * link.MAX_VALUES)
    for pos in range(4, n - 2):
        buf[pos] ^= 0x10
        assert link.decode(buf, out) == link.E_CRC
        buf[pos] ^= 0x10


def test_bad_start_version_and_length_are_refused():
    buf, n = _frame([1])
    out = array("i", [0] * link.MAX_VALUES)
    buf[0] = 0
    assert link.decode(buf, out) == link.E_SOF
    buf[0] = link.SOF
    buf[1] = 99
    assert link.decode(buf, out) == link.E_VERSION
    buf[1] = link.LINK_VERSION
    buf[3] = link.MAX_VALUES + 1
    assert link.decode(buf, out) == link.E_LENGTH


def test_value_outside_small_int_range_is_refused():
    buf, n = _frame([0])
    buf[7] = 0x40          # top byte of value 0: 2**30, not a small int
    from crc16 import crc16
    c = crc16(buf, 0, 8)
    buf[8] = c & 0xFF
    buf[9] = c >> 8
    out = array("i", [0] * link.MAX_VALUES)
    assert link.decode(buf, out) == link.E_RANGE


def test_crc16_matches_modbus_check_value():
    from crc16 import crc16
    data = b"123456789"
    assert crc16(data, 0, len(data)) == 0x4B37


# -- the share channel ('F') through the link HAL, on in-memory streams ------

class _Stream:
    """A byte stream in memory: readinto() from the bytes given, write()
    collected in out (the two methods LinkHal uses)."""

    def __init__(self, data=b""):
        self.data = bytes(data)
        self.pos = 0
        self.out = bytearray()

    def readinto(self, mv):
        n = len(self.data) - self.pos
        if n > len(mv):
            n = len(mv)
        for i in range(n):
            mv[i] = self.data[self.pos + i]
        self.pos += n
        return n

    def write(self, b):
        self.out.extend(bytes(b))


def _enc(ftype, vals):
    buf = bytearray(link.frame_size(link.MAX_VALUES))
    n = link.encode(buf, ftype, array("i", vals), len(vals))
    return bytes(buf[:n])


def _share_frame(data):
    v = array("i", [0] * link.MAX_VALUES)
    n = link.share_values(v, data, len(data))
    return _enc(link.T_SHARE, list(v[:n]))


def _frames(data):
    """The frames in data: [(type, [values])]."""
    out = []
    o = 0
    vals = array("i", [0] * link.MAX_VALUES)
    while o < len(data):
        n = data[o + 3]
        k = link.frame_size(n)
        buf = bytearray(data[o:o + k])
        assert link.decode(buf, vals) == n
        out.append((buf[2], list(vals[:n])))
        o += k
    return out


def _hal(data):
    from hal_link import LinkHal
    rx = _Stream(data)
    tx = _Stream()
    h = LinkHal(rx, tx, 0)
    got = []
    h.on_share = lambda buf, n: got.append(bytes(buf[:n]))
    return h, tx, got


def _inputs_frame():
    import hal
    return _enc(link.T_INPUTS, [0] * hal.N_IN)


def _some_share_bytes(n):
    return bytes([(37 * i + 5) & 0xFF for i in range(n)])


def test_a_share_frame_in_reaches_on_share_between_ticks_and_is_not_answered():
    frames = [_some_share_bytes(24), _some_share_bytes(1), b"", _some_share_bytes(link.SHARE_MAX)]
    data = b"".join(_share_frame(f) for f in frames) + _inputs_frame()
    h, tx, got = _hal(data)
    assert h.wait_tick()
    assert got == frames
    assert tx.out == bytearray() and h.errors == 0
    assert not h.wait_tick()                  # the stream ended


def test_a_share_frame_with_a_count_that_disagrees_with_its_bytes_is_refused_with_e_length():
    good = _share_frame(_some_share_bytes(24))
    short = _enc(link.T_SHARE, [24, 1, 2, 3])                    # 24 bytes need 8 values
    long_ = _enc(link.T_SHARE, [3, 1, 2])                        # 3 bytes are one value
    over = _enc(link.T_SHARE, [link.SHARE_MAX + 3] + [0] * 11)   # past SHARE_MAX
    empty = _enc(link.T_SHARE, [])
    h, tx, got = _hal(good + short + long_ + over + empty + _inputs_frame())
    assert h.wait_tick()
    assert len(got) == 1
    assert _frames(tx.out) == [(link.T_ERROR, [link.E_LENGTH, k]) for k in (1, 2, 3, 4)]


def test_a_share_frame_with_a_value_wider_than_three_bytes_is_refused_with_e_range():
    h, tx, got = _hal(_enc(link.T_SHARE, [2, 0x1000000]) + _inputs_frame())
    assert h.wait_tick()
    assert got == [] and _frames(tx.out) == [(link.T_ERROR, [link.E_RANGE, 1])]


def test_share_send_writes_one_share_frame_that_another_link_hal_hands_on_unchanged():
    from hal_link import LinkHal
    tx = _Stream()
    h = LinkHal(_Stream(), tx, 0)
    sent = bytearray(_some_share_bytes(24))
    h.share_send(sent, 24)
    h.share_send(sent, 7)
    fr = _frames(tx.out)
    assert [t for t, v in fr] == [link.T_SHARE, link.T_SHARE]
    assert fr[0][1][0] == 24 and len(fr[0][1]) == 9 and fr[1][1][0] == 7
    # through a second link HAL: the same bytes reach its on_share
    h2, tx2, got = _hal(bytes(tx.out) + _inputs_frame())
    assert h2.wait_tick()
    assert got == [bytes(sent), bytes(sent[:7])] and tx2.out == bytearray()


def test_a_share_frame_longer_than_the_link_carries_is_not_encoded():
    v = array("i", [0] * link.MAX_VALUES)
    try:
        link.share_values(v, bytearray(link.SHARE_MAX + 1), link.SHARE_MAX + 1)
    except ValueError:
        return
    assert False, "encoded"


def test_the_share_channel_fits_a_frame_and_a_share_frame_fits_it():
    import sharelink
    assert 1 + (link.SHARE_MAX + 2) // 3 <= link.MAX_VALUES
    assert sharelink.FRAME_BYTES < link.SHARE_MAX
