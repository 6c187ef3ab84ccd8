"""HAL over the tick link: the plant is on the other end of a byte stream.

Used by the simulator's MicroPython runtime (the unix port talks over its
stdin/stdout pipes) and by a real board in hardware-in-the-loop mode (USB CDC
serial).  Each tick the plant sends an 'I' frame with the input vector; the
firmware answers with one 'O' frame carrying the output vector followed by the
telemetry vector.  Setting ('S') and begin ('B') frames may arrive between
ticks and are answered at once.  Share-link frames ('F', the stack's) travel
both ways unanswered: one in goes to on_share (Controller.share_rx) between
ticks, one the controller sends during a tick goes out before its 'O'.

Bad frames are counted and answered with an 'E' frame so the plant never
waits on a reply that will not come; the stream is resynchronised by hunting
for the next start byte.  Nothing here allocates after construction.
"""

from array import array
from fixpt import const
import hal
import link
# The codec's per-tick functions as this module's own names: a global
# look-up, not a module attribute's (~270 Cortex-M0 instructions a use).
from link import check_header as _check_header, decode_body as _decode_body, \
    encode_two as _encode_two

# -- constants of hal, link (tools/gen_consts.py; do not edit) --
_N_IN = const(21)  # hal.N_IN
_N_OUT = const(4)  # hal.N_OUT
_E_FAILSAFE = const(-100)  # link.E_FAILSAFE
_E_LENGTH = const(-3)  # link.E_LENGTH
_E_ORDER = const(-7)  # link.E_ORDER
_E_RANGE = const(-5)  # link.E_RANGE
_E_TYPE = const(-6)  # link.E_TYPE
_HEADER = const(4)  # link.HEADER
_MAX_VALUES = const(32)  # link.MAX_VALUES
_N_IDENT = const(5)  # link.N_IDENT
_SHARE_MAX = const(30)  # link.SHARE_MAX
_SOF = const(165)  # link.SOF
_T_ANSWER = const(65)  # link.T_ANSWER
_T_BEGIN = const(66)  # link.T_BEGIN
_T_COMMAND = const(67)  # link.T_COMMAND
_T_ERROR = const(69)  # link.T_ERROR
_T_HELLO = const(72)  # link.T_HELLO
_T_INPUTS = const(73)  # link.T_INPUTS
_T_OUTPUTS = const(79)  # link.T_OUTPUTS
_T_QUIT = const(81)  # link.T_QUIT
_T_SET = const(83)  # link.T_SET
_T_SHARE = const(70)  # link.T_SHARE
_T_UART = const(85)  # link.T_UART
_UART_CHUNK = const(87)  # link.UART_CHUNK
# -- end of generated constants --

# Counters stop here, inside a 32-bit port's 31-bit small ints (a counter
# past them would allocate on every count, and raise once stored in an array).
_CNT_MAX = const(1000000000)

# The per-tick copies in machine code on a board (boards/common/fastlink.py,
# as link.py uses it); the loops below everywhere else, bit-identical.
_fast = link._fast
_ARRAY_T = link._ARRAY_T


# Values each frame type the firmware serves must carry.
_COUNTS = {_T_INPUTS: _N_IN, _T_SET: 2, _T_COMMAND: 2, _T_BEGIN: 2,
           _T_HELLO: 0, _T_QUIT: 0}


class LinkHal(hal.Hal):
    def __init__(self, rx, tx, n_tele, ident=None):
        # The stream's methods, bound once: rx.readinto(memoryview) -> int,
        # tx.write(memoryview).  Looking a method up on a stream object
        # allocates on some ports (the 32-bit webassembly one), and this is
        # the tick's path.
        self._readinto = rx.readinto
        self._write = tx.write
        self._buf = bytearray(link.frame_size(_MAX_VALUES))
        mv = memoryview(self._buf)
        self._hdr = mv[0:_HEADER]
        self._one = mv[0:1]
        self._hdr_rest = mv[1:_HEADER]
        # One memoryview per possible body length, made now so that reading
        # a frame never slices (slicing a memoryview allocates).
        self._bodies = [mv[_HEADER:link.frame_size(n)] for n in range(_MAX_VALUES + 1)]
        self._frames = [mv[0:link.frame_size(n)] for n in range(_MAX_VALUES + 1)]
        self._vals = array("i", [0] * _MAX_VALUES)
        self._out_vals = array("i", [0] * _MAX_VALUES)
        self._n_tele = n_tele
        # Identity answered to a hello ('H'): see link.IDENT_*.
        self._ident = array("i", ident if ident is not None else [0] * _N_IDENT)
        self.errors = 0
        self.ticks = 0           # input frames served this session
        self.on_set = None       # callable(index, value) -> bool
        self.on_begin = None     # callable(fuel_pct_x100, speed_rpm_x10)
        self.on_command = None   # callable(command, argument) -> bool
        self.on_uart = None      # callable(buf, n, t_us): the Modbus port (controller.serve_uart)
        self.on_share = None     # callable(buf, n): a share-link frame (controller.share_rx)
        # The bytes of a 'U' frame in, and of an 'F' frame in (never both at
        # once: each is handed on and done with before the next frame).
        self._ubuf = bytearray(_UART_CHUNK)
        self._fast_in = None     # the input vector frames decode into (see read)
        self._direct = False     # the last frame went there
        self._u_t = 0

    def _read_exact(self, mv, n, got=0):
        """Fill mv (n bytes long), of which `got` are in already; False at
        end of stream.  (The callers try one read themselves first: a whole
        frame waiting is the usual case.)"""
        if got:
            mv = mv[got:]
        while got < n:
            k = self._readinto(mv)
            if not k:
                return False
            got += k
            if got < n:
                # A short read on a serial port: continue into the rest.
                # Rare on pipes; only then do we pay for a slice.
                mv = mv[k:]
        return True

    def _reply(self, ftype, a, b):
        v = self._out_vals
        v[0] = a
        v[1] = b
        n = link.encode(self._buf, ftype, v, 2)
        self._write(self._frames[2])
        return n

    def _next_frame(self):
        """Read one valid frame; returns its type, or 0 at end of stream.
        An input frame of the right length decodes straight into the
        vector read() was last given (the controller's input vector: nothing
        reads it between this and the tick), else into _vals."""
        buf = self._buf
        ri = self._readinto
        one = self._one
        rest = self._hdr_rest
        while True:
            if not ri(one):
                return 0
            if buf[0] != _SOF:
                continue  # hunting for a start byte
            k = ri(rest)
            if k != 3 and not (k and self._read_exact(rest, 3, k)):
                return 0
            n = _check_header(buf)
            if n < 0:
                self._error()
                self._reply(_T_ERROR, n, self.errors)
                continue
            body = self._bodies[n]
            k = ri(body)
            if k != 4 * n + 2 and not (k and self._read_exact(body, 4 * n + 2, k)):
                return 0
            into = self._vals
            direct = buf[2] == _T_INPUTS and n == _N_IN and self._fast_in is not None
            if direct:
                into = self._fast_in
            r = _decode_body(buf, into, n)
            if r < 0:
                self._error()
                self._reply(_T_ERROR, r, self.errors)
                continue
            self._direct = direct
            return buf[2]

    def _error(self):
        if self.errors < _CNT_MAX:
            self.errors += 1

    def _refuse(self, code):
        self._error()
        self._reply(_T_ERROR, code, self.errors)

    def wait_tick(self):
        while True:
            t = self._next_frame()
            if t == 0:
                return False
            # Every frame type carries exactly its own count of values: a
            # frame with more or fewer is refused (E_LENGTH) and never run
            # with values left over in the buffer from an earlier frame.
            n = self._buf[3]
            if t == _T_INPUTS and n == _N_IN:
                self.ticks = self.ticks + 1 if self.ticks < _CNT_MAX else 1          # the usual frame first
                return True
            want = _COUNTS.get(t, -1)
            if t == _T_UART:
                # Three header values, then the bytes packed three a value.
                k = self._vals[0]
                want = 3 + (k + 2) // 3 if 0 <= k <= _UART_CHUNK else 99
            elif t == _T_SHARE:
                # One header value (the byte count), then the bytes.
                k = self._vals[0]
                want = 1 + (k + 2) // 3 if 0 <= k <= _SHARE_MAX else 99
            if want < 0:
                self._refuse(_E_TYPE)
                continue
            if n != want:
                self._refuse(_E_LENGTH)
                continue
            if t == _T_UART:
                self._serve_uart()
                continue
            if t == _T_SHARE:
                # Not answered (as on CAN): the controller counts a refusal.
                k = link.share_unpack(self._vals, self._ubuf)
                if k < 0:
                    self._refuse(_E_RANGE)
                elif self.on_share is not None:
                    self.on_share(self._ubuf, k)
                continue
            if t == _T_INPUTS:
                self.ticks = self.ticks + 1 if self.ticks < _CNT_MAX else 1
                return True
            if t == _T_QUIT:
                return False
            v = self._vals
            if t == _T_SET:
                ok = self.on_set(v[0], v[1]) if self.on_set else False
                self._reply(_T_ANSWER, v[0], 1 if ok else 0)
            elif t == _T_COMMAND:
                ok = self.on_command(v[0], v[1]) if self.on_command else False
                self._reply(_T_ANSWER, v[0], 1 if ok else 0)
            elif t == _T_HELLO:
                link.encode(self._buf, _T_HELLO, self._ident, _N_IDENT)
                self._write(self._frames[_N_IDENT])
            elif t == _T_BEGIN:
                # Begin on load only before the session's first tick: later it
                # would put a running (or locked-out) controller on load.
                if self.ticks == 0 and self.on_begin is not None and self.on_begin(v[0], v[1]):
                    self._reply(_T_ANSWER, -1, 1)
                else:
                    self._refuse(_E_ORDER)
            else:
                # A frame only the firmware sends ('O', 'A', 'E'): not served.
                self._refuse(_E_TYPE)

    def _serve_uart(self):
        v = self._vals
        k = link.uart_unpack(v, self._ubuf)
        if k < 0:
            self._refuse(_E_RANGE)
            return
        self._u_t = v[1] & 0x3FFFFFFF
        if self.on_uart is not None:
            self.on_uart(self._ubuf, k, self._u_t)
        # The end of this answer: no more reply bytes.
        n = link.uart_values(self._out_vals, self._ubuf, 0, 0, self._u_t, 0)
        link.encode(self._buf, _T_UART, self._out_vals, n)
        self._write(self._frames[n])

    def uart_send(self, buf, n):
        """Reply bytes from the slave, in 'U' frames flagged 1."""
        o = 0
        while o < n:
            k = n - o if n - o < _UART_CHUNK else _UART_CHUNK
            m = link.uart_values(self._out_vals, buf, o, k, self._u_t, 1)
            link.encode(self._buf, _T_UART, self._out_vals, m)
            self._write(self._frames[m])
            o += k

    def share_send(self, buf, n):
        """A share-link frame out, in one 'F' frame (during the tick: it
        reaches the plant before the tick's 'O')."""
        m = link.share_values(self._out_vals, buf, n)
        link.encode(self._buf, _T_SHARE, self._out_vals, m)
        self._write(self._frames[m])

    def read(self, inp):
        if self._direct:
            v = self._fast_in
            if inp is v:
                return           # decoded into it already (_next_frame)
        else:
            v = self._vals
        if _fast is not None and type(inp) is _ARRAY_T:
            _fast.copy(inp, 0, v, 0, _N_IN)
            # From the next frame on, decoded straight into it.
            self._fast_in = inp
            return
        for i in range(_N_IN):
            inp[i] = v[i]

    def write(self, out, tele):
        # One 'O' frame: the outputs, then the telemetry, packed from the
        # controller's own vectors.
        nt = self._n_tele
        _encode_two(self._buf, _T_OUTPUTS, out, _N_OUT, tele, nt)
        self._write(self._frames[_N_OUT + nt])

    def safe(self):
        # The plant on the other end applies fuel 0 when it sees the error.
        self._reply(_T_ERROR, _E_FAILSAFE, self.errors)
