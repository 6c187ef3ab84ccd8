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
