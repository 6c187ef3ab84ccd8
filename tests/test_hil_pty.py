"""The HIL path over a real pty: the MicroPython firmware on one end of a
pseudo-terminal, the simulator's plant on the other, the same outputs bit for
bit as the CPython runtime.

pyserial opens ports by name and the pty master has none, so for the
SerialRuntime test the host opens the slave (/dev/pts/N, a tty exactly like
/dev/ttyACM0) and the firmware sits on the master.  The second test turns it
round: the firmware reads a raw-mode tty, as a board reads its USB CDC port,
and the host drives the master through LinkClient.
"""

import os
import pty
import select
import subprocess
import tty

import pytest

from host_sim import firmware_path, scenario, sim
from tools.hil import LinkClient, LinkError, SerialRuntime

firmware_path()
import link  # noqa: E402  (firmware/link.py)

DURATION_S = 10


def _scenario():
    sc = scenario.load("iso-steps-ng")
    sc["duration_s"] = DURATION_S
    return sc


@pytest.fixture(scope="module")
def cpython_sha():
    return sim.run(_scenario(), "cpython", trace=False).sha256


@pytest.fixture
def pty_pair():
    master, slave = pty.openpty()
    tty.setraw(slave)
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def _start_firmware(mp_bin, fd):
    from host_sim.runtime import firmware_command
    args, d = firmware_command()
    return subprocess.Popen(args, cwd=d, stdin=fd, stdout=fd, stderr=subprocess.PIPE)


def _finish(proc):
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = None
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return rc, err


def test_serial_runtime_over_a_pty_matches_the_cpython_runtime_bit_for_bit(
        mp_bin, pty_pair, cpython_sha):
    master, slave = pty_pair
    proc = _start_firmware(mp_bin, master)
    try:
        # One-shot main_link.py: a leading QUIT would end it (boards serve
        # sessions back to back and get one; see test_board_boot.py).
        rt = SerialRuntime(os.ttyname(slave), fresh_session=False)
        r = sim.run(_scenario(), rt)
    finally:
        rc, err = _finish(proc)
    assert r.runtime == "hil"
    assert r.n_ticks == DURATION_S * 100
    assert r.sha256 == cpython_sha
    assert (rc, err) == (0, "")            # close() sent QUIT: a clean exit


class _FdRuntime:
    """The runtime interface on a raw file descriptor, through LinkClient."""

    name = "pty-master"

    def __init__(self, fd, timeout_s=2.0):
        def read(n):
            ready, _, _ = select.select([fd], [], [], timeout_s)
            return os.read(fd, n) if ready else b""
        self.link = LinkClient(read, lambda b: os.write(fd, b))
        self.configure = self.link.configure
        self.begin = self.link.begin
        self.tick = self.link.tick

    def close(self):
        self.link.quit()


def test_firmware_reading_a_raw_tty_gives_the_same_outputs(mp_bin, pty_pair, cpython_sha):
    master, slave = pty_pair
    proc = _start_firmware(mp_bin, slave)
    try:
        r = sim.run(_scenario(), _FdRuntime(master))
    finally:
        rc, err = _finish(proc)
    assert r.sha256 == cpython_sha
    assert (rc, err) == (0, "")


def test_an_error_frame_from_the_firmware_surfaces_as_a_link_error_naming_it(
        mp_bin, pty_pair):
    master, slave = pty_pair
    proc = _start_firmware(mp_bin, slave)
    rt = _FdRuntime(master)
    try:
        rt.link.send(link.T_INPUTS, (1, 2, 3))        # 3 inputs, the firmware wants 7
        with pytest.raises(LinkError, match="firmware sent error -3: wrong frame length"):
            rt.link.expect(link.T_OUTPUTS)
        assert rt.configure("kp_pu_x100", 300)        # and the link carries on
    finally:
        rt.close()
        rc, err = _finish(proc)
    assert (rc, err) == (0, "")


def test_a_silent_port_fails_with_a_clear_message_instead_of_hanging(pty_pair):
    master, slave = pty_pair            # nothing answers on the master
    with pytest.raises(LinkError, match="no tick-link answer within 0.5 s"):
        SerialRuntime(os.ttyname(slave), sync_timeout_s=0.5)


def test_a_missing_port_is_a_port_error():
    from tools.hil import PortError
    with pytest.raises(PortError, match="cannot open serial port /dev/no-such-tty"):
        SerialRuntime("/dev/no-such-tty")
