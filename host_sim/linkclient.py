"""The plant's end of the tick link (firmware/link.py) over any byte stream.

Shared by the simulator's MicroPython runtime (pipes to the unix port) and
the HIL runtime (tools/hil.py, a serial port to a board), so both speak the
protocol through one implementation that reuses the firmware's own codec.
"""

import time
from array import array

from . import firmware_path
from .errors import RuntimeError_

firmware_path()
import hal  # noqa: E402  (firmware modules, imported the way a board sees them)
import link  # noqa: E402
from config import SETTINGS, settings_crc  # noqa: E402
from controller import N_TELE  # noqa: E402

import protection as _pr  # noqa: E402
from controller import PROT_BASE  # noqa: E402
import sequencer as _seq  # noqa: E402

_SETTING_INDEX = {s[0]: i for i, s in enumerate(SETTINGS)}


def setting_index(name):
    """Setting number of a name: a config.SETTINGS name, or
    "prot.<protection>.<field>" (protection.FIELD_NAMES) for protection
    settings.  KeyError for an unknown name."""
    if name in _SETTING_INDEX:
        return _SETTING_INDEX[name]
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "prot":
        i = _pr.index_of(parts[1])
        if i >= 0 and parts[2] in _pr.FIELD_NAMES:
            return PROT_BASE + 8 * i + _pr.FIELD_NAMES.index(parts[2])
    raise KeyError(name)


def command_code(name):
    """sequencer.CMD_* code of a command name ("start", "reset", ...)."""
    if name in _seq.COMMAND_NAMES[1:]:
        return _seq.COMMAND_NAMES.index(name)
    raise KeyError(name)
# Codes of the firmware's 'E' frames (firmware/link.py and hal_link.py).
_ERRORS = {link.E_SOF: "no start byte", link.E_VERSION: "link version mismatch",
           link.E_LENGTH: "wrong frame length", link.E_CRC: "CRC error",
           link.E_RANGE: "value out of range", link.E_TYPE: "unexpected frame type",
           link.E_ORDER: "frame out of order (begin after the first tick, or refused)",
           link.E_FAILSAFE: "exception in the firmware, outputs driven safe"}
# Between sessions a board listens with Ctrl-C enabled (so mpremote can take
# it back); the first frame of a session must therefore not contain 0x03.
_CTRL_C = 0x03


def uart_chunks(data):
    """Offsets of the pieces UART bytes travel in ('U' frames carry up to
    link.UART_CHUNK): both runtimes feed the slave in the same pieces, so
    their answers are bit-identical.  An idle poll is one empty piece."""
    return range(0, len(data), link.UART_CHUNK) if data else (0,)


class LinkError(RuntimeError_):
    """The tick link failed; the message says how."""


class LinkClient:
    """The plant's end of the tick link (firmware/link.py) over a byte stream.

    read(n) returns up to n bytes, b"" (or None) on timeout or end of stream;
    write(data) sends bytes.  fail(message) builds the exception raised on any
    link failure, so each transport can add what it knows (the serial port's
    name, a dead process's stderr); it must be a host_sim RuntimeError_, the
    error sim.run's callers catch.  Frames are read header first, then the
    body the header announces, so an 'E' frame (shorter than an 'O') is read
    whole and reported instead of stalling the read.
    """

    def __init__(self, read, write, fail=LinkError):
        self._read = read
        self._write = write
        self._fail = fail
        self._buf = bytearray(link.frame_size(link.MAX_VALUES))
        self.vals = array("i", [0] * link.MAX_VALUES)
        self._out = array("i", [0] * link.MAX_VALUES)
        self.n_out = hal.N_OUT + N_TELE
        self.skipped = 0          # bytes hunted over before a start byte
        self.junk = b""           # the last of them, for error messages
        self.shared = []          # share frames ('F') the firmware sent in the last tick

    # -- frames ------------------------------------------------------------

    def frame(self, ftype, vals):
        """The encoded bytes of one frame carrying vals."""
        v = self._out
        for i, x in enumerate(vals):
            v[i] = x
        k = link.encode(self._buf, ftype, v, len(vals))
        return bytes(self._buf[:k])

    def send(self, ftype, vals):
        data = self.frame(ftype, vals)
        try:
            self._write(data)
        except OSError as e:
            raise self._fail("write failed: %s" % (e.strerror or e))

    def _read_exact(self, n, what):
        data = b""
        while len(data) < n:
            try:
                more = self._read(n - len(data))
            except OSError as e:
                raise self._fail("read failed: %s" % (e.strerror or e))
            if not more:
                raise self._fail("no %s from the firmware (timed out or stream closed)" % what)
            data += more
        return data

    def recv(self, what="frame"):
        """Read the next frame; returns its type (values in self.vals) or
        raises on timeout, end of stream, or a corrupt frame."""
        while True:
            b = self._read_exact(1, what)
            if b[0] == link.SOF:
                break
            self.skipped += 1
            self.junk = (self.junk + b)[-64:]
        hdr = b + self._read_exact(link.HEADER - 1, what)
        buf = self._buf
        buf[:link.HEADER] = hdr
        n = link.check_header(buf)
        if n < 0:
            raise self._fail("corrupt frame header from the firmware (code %d: %s)"
                             % (n, hdr.hex()))
        body = self._read_exact(4 * n + 2, what)
        buf[link.HEADER:link.frame_size(n)] = body
        r = link.decode(buf, self.vals)
        if r < 0:
            raise self._fail("corrupt frame from the firmware (code %d)" % r)
        return buf[2]

    def expect(self, ftype):
        """Read one frame of type ftype; an 'E' frame or any other type fails."""
        return self._check(self.recv("'%s' frame" % chr(ftype)), ftype)

    def _check(self, t, ftype):
        """The frame just read (type t) is an ftype, or fail; returns its
        value count."""
        if t == link.T_ERROR:
            code = self.vals[0]
            raise self._fail("firmware sent error %d: %s (errors so far: %d)" % (
                code, _ERRORS.get(code, "unknown"), self.vals[1]))
        if t != ftype:
            raise self._fail("expected a '%s' frame, got '%s'" % (chr(ftype), chr(t)))
        return self._buf[3]

    # -- the runtime operations ---------------------------------------------

    def configure(self, name, value):
        i = setting_index(name)
        self.send(link.T_SET, (i, value))
        self.expect(link.T_ANSWER)
        if self.vals[0] != i:
            raise self._fail("answer for setting %d, asked %d" % (self.vals[0], i))
        return bool(self.vals[1])

    def command(self, name):
        """Send an operator command by name; True if the firmware accepted it."""
        c = command_code(name)
        self.send(link.T_COMMAND, (c, 0))
        self.expect(link.T_ANSWER)
        return bool(self.vals[1])

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        self.send(link.T_BEGIN, (fuel_pct_x100, speed_rpm_x10))
        self.expect(link.T_ANSWER)

    def tick(self, inputs):
        """One tick: the outputs and telemetry; the share frames the firmware
        sent during it (they come before the 'O') in self.shared."""
        self.send(link.T_INPUTS, inputs[:hal.N_IN])
        shared = []
        self.shared = shared
        while True:
            t = self.recv("'O' frame")
            if t != link.T_SHARE:
                break
            buf = bytearray(link.SHARE_MAX)
            k = link.share_unpack(self.vals, buf)
            if k < 0 or self._buf[3] != 1 + (k + 2) // 3:
                raise self._fail("corrupt 'F' frame from the firmware")
            shared.append(bytes(buf[:k]))
        n = self._check(t, link.T_OUTPUTS)
        if n != self.n_out:
            # Host and board built from different firmware versions.
            raise self._fail("firmware sent %d output values, this host expects %d "
                             "(rebuild and redeploy the board firmware)" % (n, self.n_out))
        v = self.vals
        return tuple(v[:hal.N_OUT]), tuple(v[hal.N_OUT:n])

    def uart(self, data, t_us):
        """Hand the firmware's Modbus port bytes that arrived at t_us (b"":
        the line is silent up to t_us); returns the reply bytes it sent."""
        reply = b""
        t_us &= 0x3FFFFFFF
        for o in uart_chunks(data):
            chunk = data[o:o + link.UART_CHUNK]
            v = self._out
            n = link.uart_values(v, chunk, 0, len(chunk), t_us, 0)
            self.send(link.T_UART, list(v[:n]))
            while True:
                self.expect(link.T_UART)
                vals = self.vals
                k = vals[0]
                if vals[2] == 0:
                    if k != 0:
                        raise self._fail("'U' answer end carries %d bytes" % k)
                    break
                buf = bytearray(link.UART_CHUNK)
                if link.uart_unpack(vals, buf) != k:
                    raise self._fail("corrupt 'U' frame from the firmware")
                reply += bytes(buf[:k])
        return reply

    def share(self, frame):
        """Hand the firmware a frame from the stack's share link ('F'); not
        answered (a refusal is counted in the firmware; a malformed 'F' is
        answered 'E', which the next frame read reports).  A frame longer
        than an 'F' carries (link.SHARE_MAX) travels cut to SHARE_MAX bytes:
        still not a share frame's length, so refused for its length as the
        in-process firmware refuses the whole of it."""
        frame = bytes(frame[:link.SHARE_MAX])
        v = self._out
        n = link.share_values(v, frame, len(frame))
        self.send(link.T_SHARE, list(v[:n]))

    def quit(self):
        self.send(link.T_QUIT, ())

    def hello(self):
        """Ask the firmware who it is and refuse to go on if its protocol,
        vectors or setting table differ from this host's copy of the firmware
        (settings travel by index, vectors by position)."""
        self.send(link.T_HELLO, ())
        n = self.expect(link.T_HELLO)
        got = list(self.vals[:n])
        want = [link.LINK_VERSION, hal.N_IN, hal.N_OUT, N_TELE, settings_crc()]
        if got != want:
            names = ("link version", "inputs", "outputs", "telemetry values", "settings CRC")
            diff = ", ".join("%s %s (host %s)" % (names[i], got[i] if i < len(got) else "-", want[i])
                             for i in range(len(want)) if i >= len(got) or got[i] != want[i])
            raise self._fail("firmware on the other end differs from this host's: %s "
                             "(rebuild and redeploy the firmware)" % diff)
        return got

    def sync(self, timeout_s):
        """Wait until the firmware answers: send probe k (setting index -k,
        always refused, answered at once) and read until the answer to the
        latest probe arrives, resending while it does not.  Replies come in
        order, so once probe k is answered nothing older can follow: the
        stream is in step.  Anything else read meanwhile (boot messages,
        replies to older probes, a REPL banner) is skipped.  Needs a read()
        that times out."""
        deadline = time.monotonic() + timeout_s
        k = 0
        while time.monotonic() < deadline:
            k += 1
            probe = self.frame(link.T_SET, (-k, 0))
            if _CTRL_C in probe:
                continue
            try:
                self._write(probe)
            except OSError as e:
                raise self._fail("write failed: %s" % (e.strerror or e))
            while time.monotonic() < deadline:
                try:
                    t = self.recv()
                except RuntimeError_:
                    break          # quiet or garbled: send the next probe
                if t == link.T_ANSWER and self.vals[0] == -k:
                    return k
        raise self._fail("no tick-link answer within %.1f s: is the board running main.py "
                         "with MODE = \"hil\" in its board.py?%s"
                         % (timeout_s, (" (it sent %r)" % self.junk) if self.junk else ""))


class LinkRuntime:
    """The simulator runtime interface for firmware on the far end of a tick
    link: subclasses set self.link (a LinkClient) and say how to close."""

    def configure(self, name, value):
        return self.link.configure(name, value)

    def command(self, name):
        return self.link.command(name)

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        self.link.begin(fuel_pct_x100, speed_rpm_x10)

    def tick(self, inputs):
        return self.link.tick(inputs)

    def uart(self, data, t_us):
        return self.link.uart(data, t_us)

    def share_rx(self, frame):
        """A frame from the stack's share link, delivered between ticks (no
        answer: a refusal is counted by the firmware, as on CAN)."""
        self.link.share(frame)

    def share_sent(self):
        """The share frames the firmware sent during the last tick (bytes)."""
        return self.link.shared
