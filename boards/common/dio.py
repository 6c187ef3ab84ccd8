"""Digital inputs (the IN_DI bits of firmware/hal.py, debounced, in "true =
condition present" logic) and relay outputs (the OUT_DO bits) of the native
HAL.

Each DI_* bit comes from one input and each DO_* bit goes to one output,
with its active level, listed in board.py:
  DI_PINS     ((DI bit, GPIO, active_low), ...)   inputs on GPIO pins
  DO_PINS     ((DO bit, GPIO, active_low), ...)   relay drivers on GPIO pins
  DI_SR_BITS  ((DI bit, position, active_low), ...)  inputs on the shift-
  DO_SR_BITS  ((DO bit, position, active_low), ...)  register bus (ShiftIo)
  DI_DEBOUNCE_TICKS  optional, default 3
A board may mix both kinds.  The RP2040 and ESP32 DevKitC boards have too
few free pins for 8 inputs and 12 relays (board.py counts them), so their
interface board carries both on ShiftIo.

Wiring rule for every input: a broken wire must read as the unsafe state.
Every field input is wired so that the healthy state drives current (the
interface board's opto-coupler then pulls the logic input high), and no
current (a cut wire, an unplugged connector, a dead interface board: pull-
downs, on the MCU pins too) reads 0.  So a safety input is active-low
whenever its "condition present" is the unsafe one:
  e-stop      normally-closed loop: closed = 1; pressed or broken = 0 =
              DI_ESTOP, the loop open (active_low)
  gas leak    the detector's healthy (energised) relay contact: broken = leak
  knock       the knock controller's "no knock" output: broken = knock
              (fuel limited, warning)
  breakers    the auxiliary b-contact (closed while the breaker is OPEN), so
              a broken wire reads "closed": the controller then asks for a
              sync check before any close and never makes a dead-bus close
              onto a bus that may be live, the dangerous mistake
  gas proven  active-high: broken = not proven (no start)
Remote start and the configuration key are not safety inputs; broken they
read inactive: no start request, configuration locked.

Debounce: a bit changes only after N consecutive equal samples, one sample
per tick (N = 3: 30 ms at 10 ms ticks, longer than contact bounce (1-10 ms)
and short next to the 200-500 ms delays of the protections on these inputs;
the e-stop acts within N ticks).  Kept as the last N raw words: a bit goes
to 1 when all N are 1 and to 0 when all N are 0, so a glitch shorter than N
ticks never reaches the firmware.  The first read takes its sample as is
(priming the history): there is no earlier state to debounce against, and
starting from "all broken" would latch an e-stop alarm at every boot.

Outputs: safe() drives every output to its de-energised level, and that is
the safe state by design of the outputs themselves: gas valves closed
(spring return, DO_GAS_VALVE energises to open), crank off, ignition off,
breaker close and trip coils off, pre-lube, horn and lamps off.  After
safe() the relays stay de-energised until a new Relays is built (the next
boot): it is what Controller.fail_safe and the board's error path expect.
Unchanged outputs are rewritten every _REFRESH_TICKS writes, so an output
upset by interference does not stay wrong.

ShiftIo (the interface board's I/O bus, 5 pins): two 74HC595 (16 outputs,
Q0 = first register's QA ... Q15 = second register's QH) into ULN2803A
relay drivers, and one 74HC165 (8 inputs, A = position 0 ... H = 7), on
one clock (CLK: the 595s' SRCLK and the 165's CLK), SER (595 data in), QH
(165 data out), LATCH (the 595s' RCLK and the 165's SH/LD, tied: low loads
the 165, the rising edge latches the 595s) and /OE (the 595s' output
enable, pulled up on the interface board).  Why it is safe:
  * /OE is high (outputs off, the ULN2803 inputs pulled low) from power-up
    and through any MCU reset, watchdog included, until the firmware has
    latched the safe word; safe() raises it first, so every relay drops in
    one pin write whatever the registers hold.
  * Every latch pulse follows a complete 16-bit shift of the intended word,
    so a clock glitch that corrupted the shift register between transfers
    can never reach the outputs.
  * The 165's serial input is tied low: a transfer reads the 8 inputs and
    then 8 zeros.  A 1 among those (QH stuck high, the chain broken) makes
    every input on the bus read its broken-wire state; QH stuck low reads
    the same by itself.
One transfer per tick in read() (shift the current relay word again while
the 165's inputs come in, then pulse LATCH: the 595s re-latch the same word,
the 165 loads the inputs the next read shifts in, so inputs are at most one
tick old), plus one in write() when the relay word changes.  About 70 pin
operations a transfer: ~0.2 ms a tick on an RP2040 (measure it; a PIO
program would take it to nothing).

No allocation per tick: bound pin methods and masks are made in __init__.
"""

from array import array

from fixpt import const

DEBOUNCE_TICKS = const(3)
_REFRESH_TICKS = const(100)
_BITS = const(16)

# Counters stop here, inside a 32-bit port's 31-bit small ints.
_CNT_MAX = const(1000000000)
_IN_SHIFT = const(8)       # 165 input position p arrives in transfer bit 8 + p
_CHECK_MASK = const(255)   # the 8 bits shifted in from the 165's grounded serial input


class ShiftIo:
    """The 74HC595 x2 / 74HC165 bus.  .out is the word in the 595s' shift
    register (and on their outputs after the next latch)."""

    def __init__(self, board):
        from machine import Pin
        # /OE first: outputs off while the rest is set up.
        self._oe = Pin(board.XIO_OE_PIN, Pin.OUT, value=1).value
        self._latch = Pin(board.XIO_LATCH_PIN, Pin.OUT, value=1).value
        self._clk = Pin(board.XIO_CLK_PIN, Pin.OUT, value=0).value
        self._ser = Pin(board.XIO_SER_PIN, Pin.OUT, value=0).value
        qh = getattr(board, "XIO_QH_PIN", None)
        self._qh = None if qh is None else Pin(qh, Pin.IN, Pin.PULL_DOWN).value
        self.out = 0
        self.enabled = 0
        # Load the 165 once, so the first read sees the inputs, not the
        # register's power-up contents.
        self.write(0)

    def _shift(self, word):
        """Shift `word` out (MSB first, so bit p lands on Q_p) while the
        165's bits come in; returns them (first bit read = bit 15)."""
        clk = self._clk
        ser = self._ser
        qh = self._qh
        w = 0
        m = 32768
        while m:
            ser(1 if word & m else 0)
            if qh is not None:
                w = (w << 1) | qh()
            clk(1)
            clk(0)
            m >>= 1
        return w

    def _pulse(self):
        self._latch(0)
        self._latch(1)

    def write(self, word):
        self.out = word
        self._shift(word)
        self._pulse()

    def sample(self):
        """Re-shift the current output word, reading the inputs the last
        pulse loaded, then pulse; returns the 16 bits read."""
        w = self._shift(self.out)
        self._pulse()
        return w

    def enable(self):
        self._oe(0)
        self.enabled = 1

    def disable(self):
        self._oe(1)
        self.enabled = 0


def _entries(rows, what):
    bits = []
    where = []
    low = []
    for row in rows:
        if len(row) != 3 or row[0] <= 0 or row[0] & (row[0] - 1):
            raise ValueError("dio: %s entry %r: (one bit, pin or position, active_low)" %
                             (what, row))
        if row[0] in bits:
            raise ValueError("dio: %s: bit %d listed twice" % (what, row[0]))
        bits.append(row[0])
        where.append(row[1])
        low.append(1 if row[2] else 0)
    return bits, where, low


class Inputs:
    """The debounced DI word.  read() once per tick."""

    def __init__(self, board, xio=None):
        from machine import Pin
        bits, pins, low = _entries(getattr(board, "DI_PINS", ()), "DI_PINS")
        self._pin = [Pin(p, Pin.IN, Pin.PULL_DOWN).value for p in pins]
        self._pbit = array("i", bits)
        self._plow = array("i", low)
        bits, pos, low = _entries(getattr(board, "DI_SR_BITS", ()), "DI_SR_BITS")
        for p in pos:
            if not 0 <= p < 8:
                raise ValueError("dio: DI_SR_BITS position %r (the 165 has A..H = 0..7)" % (p,))
        if bits and xio is None:
            raise ValueError("dio: DI_SR_BITS needs the XIO_* bus pins")
        self._xio = xio if bits else None
        self._sbit = array("i", bits)
        self._smask = array("i", [1 << (_IN_SHIFT + p) for p in pos])
        self._slow = array("i", low)
        # What the bus inputs read with every wire broken (level 0).
        broken = 0
        for i in range(len(bits)):
            if low[i]:
                broken |= bits[i]
        self._sr_broken = broken
        n = getattr(board, "DI_DEBOUNCE_TICKS", DEBOUNCE_TICKS)
        if not 1 <= n <= 50:
            raise ValueError("dio: DI_DEBOUNCE_TICKS %r" % (n,))
        self._hist = array("i", [0] * n)
        self._h = 0
        self._primed = 0
        self.word = 0
        self.bus_faults = 0      # reads whose check bits were wrong (diagnostics)

    def raw(self):
        """This tick's inputs in logical form (not debounced)."""
        w = 0
        n = len(self._pin)
        i = 0
        while i < n:
            if self._pin[i]() != self._plow[i]:
                w |= self._pbit[i]
            i += 1
        x = self._xio
        if x is not None:
            s = x.sample()
            if s & _CHECK_MASK:
                w |= self._sr_broken
                if self.bus_faults < _CNT_MAX:
                    self.bus_faults += 1
            else:
                n = len(self._sbit)
                i = 0
                while i < n:
                    if (1 if s & self._smask[i] else 0) != self._slow[i]:
                        w |= self._sbit[i]
                    i += 1
        return w

    def read(self):
        r = self.raw()
        h = self._hist
        n = len(h)
        if not self._primed:
            i = 0
            while i < n:
                h[i] = r
                i += 1
            self._primed = 1
            self.word = r
            return r
        k = self._h
        h[k] = r
        k += 1
        if k >= n:
            k = 0
        self._h = k
        a = -1
        o = 0
        i = 0
        while i < n:
            a &= h[i]
            o |= h[i]
            i += 1
        self.word = (self.word & o) | a
        return self.word


class Relays:
    """The DO word on the relay outputs.  Built in the safe state."""

    def __init__(self, board, xio=None):
        from machine import Pin
        bits, pins, low = _entries(getattr(board, "DO_PINS", ()), "DO_PINS")
        # Each pin starts at its de-energised level, before anything else.
        self._pin = [Pin(pins[i], Pin.OUT, value=low[i]).value for i in range(len(pins))]
        self._pbit = array("i", bits)
        self._plow = array("i", low)
        sbits, pos, slow = _entries(getattr(board, "DO_SR_BITS", ()), "DO_SR_BITS")
        for p in pos:
            if not 0 <= p < _BITS:
                raise ValueError("dio: DO_SR_BITS position %r (0..15)" % (p,))
        if sbits and xio is None:
            raise ValueError("dio: DO_SR_BITS needs the XIO_* bus pins")
        for b in sbits:
            if b in bits:
                raise ValueError("dio: DO bit %d on a pin and on the bus" % b)
        self._xio = xio if sbits else None
        self._sbit = array("i", sbits)
        self._smask = array("i", [1 << p for p in pos])
        self._slow = array("i", slow)
        safe = 0
        for i in range(len(sbits)):
            if slow[i]:
                safe |= 1 << pos[i]
        self._safe_word = safe
        self._last = -1
        self._age = 0
        self._dead = 0
        if self._xio is not None:
            self._xio.write(safe)
            self._xio.enable()

    def write(self, do):
        if self._dead:
            return
        if do == self._last and self._age < _REFRESH_TICKS:
            self._age += 1
            return
        self._last = do
        self._age = 0
        n = len(self._pin)
        i = 0
        while i < n:
            self._pin[i](1 if ((do & self._pbit[i]) != 0) != (self._plow[i] != 0) else 0)
            i += 1
        x = self._xio
        if x is not None:
            w = 0
            n = len(self._sbit)
            i = 0
            while i < n:
                if ((do & self._sbit[i]) != 0) != (self._slow[i] != 0):
                    w |= self._smask[i]
                i += 1
            x.write(w)

    def safe(self, keep=0):
        """Every relay de-energised except the DO bits in `keep`, and write()
        ignored from then on.  The fail-safe keeps DO_GCB_OPEN: the breaker's
        trip coil is energise-to-trip, so dropping it would leave the breaker
        closed (rule 6 wants it open); it drops at the reset that follows."""
        self._dead = 1
        x = self._xio
        if x is not None:
            x.disable()           # every bus output off in one pin write
            w = self._safe_word
            n = len(self._sbit)
            i = 0
            while i < n:
                if keep & self._sbit[i]:
                    w ^= self._smask[i]     # the energised level of a kept bit
                i += 1
            x.write(w)
            if w != self._safe_word:
                x.enable()
        n = len(self._pin)
        i = 0
        while i < n:
            on = (keep & self._pbit[i]) != 0
            self._pin[i](1 if on != (self._plow[i] != 0) else 0)
            i += 1
