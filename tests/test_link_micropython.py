"""The tick link against the real MicroPython firmware process: corrupted
frames are answered with an error frame and counted, the stream resyncs, the
next good frame is served, and settings are refused with the old kept."""

import subprocess
from array import array

from host_sim import firmware_path

firmware_path()
import link  # noqa: E402
import hal  # noqa: E402
from controller import N_TELE  # noqa: E402
from config import SETTINGS  # noqa: E402


class Fw:
    def __init__(self, mp_bin):
        from host_sim.runtime import firmware_command
        args, d = firmware_command()
        self.p = subprocess.Popen(args, cwd=d, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)

    def send_raw(self, b):
        self.p.stdin.write(b)

    def frame(self, ftype, vals):
        buf = bytearray(link.frame_size(link.MAX_VALUES))
        n = link.encode(buf, ftype, array("i", vals), len(vals))
        return bytes(buf[:n])

    def read_frame(self):
        hdr = self.p.stdout.read(4)
        body = self.p.stdout.read(4 * hdr[3] + 2)
        buf = bytearray(hdr + body)
        vals = array("i", [0] * link.MAX_VALUES)
        n = link.decode(buf, vals)
        assert n >= 0
        return buf[2], list(vals[:n])

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=5)
        return self.p.returncode


def _inputs():
    v = [0] * hal.N_IN
    v[hal.IN_MPU_PULSES] = 36
    v[hal.IN_MPU_SPAN_US] = 9887
    v[hal.IN_GEN_PERIOD_100NS] = 166667
    v[hal.IN_GEN_V_DV] = 4800
    return v


def test_corrupt_frames_get_error_replies_and_good_frames_still_work(mp_bin):
    fw = Fw(mp_bin)
    good = fw.frame(link.T_INPUTS, _inputs())
    bad_crc = bytearray(good)
    bad_crc[6] ^= 0xFF
    fw.send_raw(bytes(bad_crc))
    t, v = fw.read_frame()
    assert t == link.T_ERROR and v == [link.E_CRC, 1]
    fw.send_raw(b"\x00\x13garbage")              # line noise: hunted over
    bad_ver = bytearray(good)
    bad_ver[1] = 9
    fw.send_raw(bytes(bad_ver[:4]))
    t, v = fw.read_frame()
    assert t == link.T_ERROR and v == [link.E_VERSION, 2]
    fw.send_raw(good)
    t, v = fw.read_frame()
    assert t == link.T_OUTPUTS and len(v) == hal.N_OUT + N_TELE
    assert v[hal.OUT_FUEL_PCT_X100] == 0         # not begun: no fuel
    assert fw.close() == 0


def test_wrong_input_length_is_an_error_not_a_tick(mp_bin):
    fw = Fw(mp_bin)
    fw.send_raw(fw.frame(link.T_INPUTS, [1, 2, 3]))
    t, v = fw.read_frame()
    assert t == link.T_ERROR and v[0] == link.E_LENGTH
    assert fw.close() == 0


def test_settings_over_the_link_refuse_bad_values(mp_bin):
    fw = Fw(mp_bin)
    idx = [s[0] for s in SETTINGS].index("kp_pu_x100")
    fw.send_raw(fw.frame(link.T_SET, [idx, 99999]))
    assert fw.read_frame() == (link.T_ANSWER, [idx, 0])
    fw.send_raw(fw.frame(link.T_SET, [idx, 300]))
    assert fw.read_frame() == (link.T_ANSWER, [idx, 1])
    fw.send_raw(fw.frame(link.T_SET, [999, 1]))
    assert fw.read_frame() == (link.T_ANSWER, [999, 0])
    fw.send_raw(fw.frame(link.T_BEGIN, [1700, 18000]))
    assert fw.read_frame()[0] == link.T_ANSWER
    fw.send_raw(fw.frame(link.T_SET, [idx, 350]))   # running: refused
    assert fw.read_frame() == (link.T_ANSWER, [idx, 0])
    fw.send_raw(fw.frame(link.T_INPUTS, _inputs()))
    t, v = fw.read_frame()
    assert t == link.T_OUTPUTS and v[hal.OUT_FUEL_PCT_X100] > 0
    fw.send_raw(fw.frame(link.T_QUIT, []))
    assert fw.close() == 0


def test_host_refuses_firmware_with_a_different_setting_table(mp_bin, monkeypatch):
    """Settings travel by index: a board built from another setting table
    must be refused at hello, not silently mis-configured."""
    import pytest
    from host_sim import linkclient
    from host_sim.errors import RuntimeError_
    fw = Fw(mp_bin)
    client = linkclient.LinkClient(fw.p.stdout.read, fw.p.stdin.write)
    assert client.hello()[0] == link.LINK_VERSION          # same firmware: accepted
    monkeypatch.setattr(linkclient, "settings_crc", lambda: 12345)
    with pytest.raises(RuntimeError_) as e:
        client.hello()
    assert "settings CRC" in str(e.value)
    fw.send_raw(fw.frame(link.T_QUIT, []))
    assert fw.close() == 0


def test_frames_with_the_wrong_value_count_are_refused_and_never_run(mp_bin):
    """S, C and B carry exactly two values, H and Q none, I the input
    vector: any other count is E_LENGTH and nothing runs with values left
    over in the buffer from an earlier frame (issue 8, item 9)."""
    fw = Fw(mp_bin)
    idx = [s[0] for s in SETTINGS].index("kp_pu_x100")
    fw.send_raw(fw.frame(link.T_SET, [idx, 300]))             # leaves [idx, 300] behind
    assert fw.read_frame() == (link.T_ANSWER, [idx, 1])
    errors = 0
    for ftype, vals in ((link.T_SET, []), (link.T_SET, [idx]), (link.T_SET, [idx, 301, 7]),
                        (link.T_COMMAND, []), (link.T_COMMAND, [7]), (link.T_COMMAND, [7, 0, 0]),
                        (link.T_BEGIN, []), (link.T_BEGIN, [1700]), (link.T_BEGIN, [1700, 18000, 1]),
                        (link.T_HELLO, [1]), (link.T_QUIT, [0]), (link.T_INPUTS, [0] * (hal.N_IN + 1)),
                        (link.T_OUTPUTS, [0] * 4), (link.T_ANSWER, [1, 1]), (link.T_ERROR, [1, 1])):
        fw.send_raw(fw.frame(ftype, vals))
        t, v = fw.read_frame()
        errors += 1
        want = link.E_TYPE if ftype in (link.T_OUTPUTS, link.T_ANSWER, link.T_ERROR) else link.E_LENGTH
        assert t == link.T_ERROR and v == [want, errors], (chr(ftype), vals, v)
    # nothing was changed, begun or commanded by them
    fw.send_raw(fw.frame(link.T_INPUTS, _inputs()))
    t, v = fw.read_frame()
    assert t == link.T_OUTPUTS and v[hal.OUT_FUEL_PCT_X100] == 0
    assert v[hal.N_OUT + 13] == 2                              # TELE_MODE: still AUTO
    fw.send_raw(fw.frame(link.T_QUIT, []))
    assert fw.close() == 0


def test_begin_is_refused_once_the_session_has_ticked(mp_bin):
    fw = Fw(mp_bin)
    fw.send_raw(fw.frame(link.T_INPUTS, _inputs()))
    assert fw.read_frame()[0] == link.T_OUTPUTS
    fw.send_raw(fw.frame(link.T_BEGIN, [5000, 18000]))
    t, v = fw.read_frame()
    assert t == link.T_ERROR and v[0] == link.E_ORDER
    fw.send_raw(fw.frame(link.T_INPUTS, _inputs()))
    t, v = fw.read_frame()
    assert t == link.T_OUTPUTS and v[hal.OUT_FUEL_PCT_X100] == 0     # not put on load
    assert v[hal.N_OUT + 12] == 0                                    # TELE_STATE: stopped
    fw.send_raw(fw.frame(link.T_QUIT, []))
    assert fw.close() == 0
