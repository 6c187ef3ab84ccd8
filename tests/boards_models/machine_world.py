"""A stand-in `machine` module for the board code's tests, at the pin level:
GPIO levels, PWM duties, ADC counts (direct pins, and a 74HC4051 whose
channel follows its select pins), the interface board's 74HC595 x2 /
74HC165 bus (dio.ShiftIo) as logic, a WDT that counts feeds, Timer and
reset() that record their calls, SPI buses whose chips (register models
with a .cs pin and write_readinto, e.g. mcp2515_model) answer while their
chip-select GPIO is low (attach_spi; two selected at once is counted in
spi_clashes), Pin IRQ handlers kept per pin (fire(n) calls one, as the port
would schedule it), and UARTs that are a line model's ends (attach_uart;
an unattached one is a silent port that keeps what it is sent).  Runs under both MicroPythons; a test
writes `from machine_world import *` into a machine.py ahead on sys.path
and drives the world through this module's globals.

Nothing here allocates on the paths the board code calls per tick (the
heap-lock tests run through it): dict stores hit keys made at construction,
the trace is off unless `trace` is set.
"""

trace = []          # events, when tracing: ("pin", n, v), ("pwm", n, duty), ("feed",), ...
tracing = [False]
levels = {}         # input level per GPIO, as the outside world drives it
outs = {}           # output level per GPIO, as the board drives it
pulls = {}          # pull per GPIO as configured
pwm_duty = {}       # duty_u16 per PWM pin
adc_counts = {}     # read_u16 per direct ADC pin
quiet = {}          # output pins whose writes are not traced (bus clock / data)
spi_chips = {}      # chip-select GPIO -> chip model
spi_clashes = [0]   # transfers with two chips selected
irq_handlers = {}   # GPIO -> handler, as Pin.irq set it
uarts = {}          # UART id -> a line model's UART
_mux = [None]
_bus = [None]


class Reset(BaseException):
    """machine.reset() was called (a board never returns from it)."""


def _ev(e):
    if tracing[0]:
        trace.append(e)


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, n, mode=-1, pull=-1, value=None):
        self.n = n
        self.mode = mode
        pulls[n] = pull
        if n not in outs:
            outs[n] = 0
        if n not in levels:
            levels[n] = -1
        if value is not None:
            self.value(value)

    def value(self, v=None):
        n = self.n
        if v is None:
            b = _bus[0]
            if b is not None and n == b.qh:
                return b.qh_level()
            lv = levels[n]
            if lv >= 0:
                return lv
            return 1 if pulls[n] == Pin.PULL_UP else 0
        v = 1 if v else 0
        if tracing[0] and outs[n] != v and n not in quiet:
            _ev(("pin", n, v))
        outs[n] = v
        c = spi_chips.get(n)
        if c is not None:
            c.cs.value(v)
        b = _bus[0]
        if b is not None:
            b.on_pin(n, v)
        return None

    def irq(self, handler=None, trigger=0, hard=False):
        if handler is not None:
            irq_handlers[self.n] = handler


def fire(n):
    """Pin n's IRQ handler runs (the port schedules it between bytecodes)."""
    h = irq_handlers.get(n)
    if h is not None:
        h(n)


def attach_spi(cs_pin, chip):
    spi_chips[cs_pin] = chip
    outs.setdefault(cs_pin, 1)
    return chip


class SPI:
    MSB = 0
    made = []

    def __init__(self, sid, **kw):
        self.sid = sid
        self.kw = kw
        SPI.made.append(self)

    def write_readinto(self, w, r):
        sel = None
        for cs in spi_chips:
            if outs.get(cs, 1) == 0:
                if sel is not None:
                    spi_clashes[0] += 1
                sel = spi_chips[cs]
        if sel is None:
            for i in range(len(w)):
                r[i] = 0xFF          # nobody drives MISO: the pull-up
            return
        sel.write_readinto(w, r)


def attach_uart(uid, port):
    uarts[uid] = port
    return port


class UART:
    """UART(id, ...): the attached line model's port, or a silent one."""

    def __init__(self, uid, **kw):
        self.uid = uid
        self.kw = kw
        self.sent = 0
        self._p = uarts.get(uid)

    def any(self):
        return self._p.any() if self._p is not None else 0

    def readinto(self, buf, n=None):
        if self._p is None:
            return 0
        return self._p.readinto(buf, n)

    def write(self, b):
        self.sent += len(b)
        if self._p is not None:
            self._p.write(b)
        return len(b)

    def flush(self):
        pass


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        self.n = pin.n
        pwm_duty[self.n] = duty_u16
        _ev(("pwm", self.n, duty_u16))

    def duty_u16(self, d):
        if tracing[0] and pwm_duty[self.n] != d:
            _ev(("pwm", self.n, d))
        pwm_duty[self.n] = d


class Mux:
    """74HC4051: read_u16 on `adc` gives counts[S0 + 2 S1 + 4 S2]; a select
    pin the board does not drive (tied low) reads 0."""

    def __init__(self, adc, sel):
        self.adc = adc
        self.sel = list(sel)
        self.counts = [0] * 8
        self.reads = [0] * 8       # samples taken per channel

    def channel(self):
        ch = 0
        j = 0
        for p in self.sel:
            if outs.get(p, 0):
                ch |= 1 << j
            j += 1
        return ch


class ADC:
    ATTN_11DB = 3
    made = []           # (pin, atten) per ADC constructed

    def __init__(self, pin, atten=None):
        self.n = pin.n
        self.atten = atten
        ADC.made.append((pin.n, atten))
        if self.n not in adc_counts:
            adc_counts[self.n] = 0

    def read_u16(self):
        m = _mux[0]
        if m is not None and self.n == m.adc:
            ch = m.channel()
            m.reads[ch] += 1
            return m.counts[ch]
        return adc_counts[self.n]


class Bus:
    """Two cascaded 74HC595 (sr, latched: bit p = output Q_p) and one
    74HC165 (inputs[0..7] = A..H, serial input tied low) on shared CLK and
    LATCH (595 RCLK = 165 SH/LD) lines, /OE on `oe`."""

    def __init__(self, clk, ser, latch, oe, qh):
        self.clk, self.ser, self.latch, self.oe, self.qh = clk, ser, latch, oe, qh
        for p in (clk, ser, latch, oe):
            outs.setdefault(p, 0)
        quiet[clk] = 1
        quiet[ser] = 1
        quiet[latch] = 1
        self.sr = 0
        self.latched = 0
        self.inputs = [0] * 8
        self.reg = 0
        self.stuck = -1            # QH forced to 0 / 1 (a bus fault), -1: not
        self.latches = 0
        self._clk = 0
        self._latch = 1

    def on_pin(self, n, v):
        if n == self.clk:
            if v and not self._clk:
                self.sr = ((self.sr << 1) | outs[self.ser]) & 0xFFFF
                if self._latch:
                    self.reg = (self.reg << 1) & 0xFF     # serial input tied low
            self._clk = v
        elif n == self.latch:
            if not v:
                r = 0
                i = 0
                for x in self.inputs:
                    if x:
                        r |= 1 << i
                    i += 1
                self.reg = r
            elif not self._latch:
                self.latched = self.sr
                self.latches += 1
            self._latch = v

    def qh_level(self):
        if self.stuck >= 0:
            return self.stuck
        return (self.reg >> 7) & 1

    def relays(self):
        """The 16 outputs as driven: 0 while /OE is high (all off)."""
        return 0 if outs[self.oe] else self.latched


def setup_mux(adc, sel):
    _mux[0] = Mux(adc, sel)
    return _mux[0]


def setup_bus(clk, ser, latch, oe, qh):
    _bus[0] = Bus(clk, ser, latch, oe, qh)
    return _bus[0]


class WDT:
    feeds = 0
    made = []

    def __init__(self, timeout=5000):
        WDT.made.append(timeout)
        _ev(("wdt", timeout))

    def feed(self):
        WDT.feeds += 1
        _ev(("feed",))


class Timer:
    PERIODIC = 1
    ONE_SHOT = 0
    made = []

    def __init__(self, tid=-1):
        self.tid = tid
        Timer.made.append(self)

    def init(self, period=0, mode=0, callback=None, freq=0):
        self.period = period
        self.freq = freq
        self.mode = mode
        self.callback = callback
        self.running = True
        _ev(("timer", self.tid, period))

    def deinit(self):
        self.running = False


resets = [0]


def reset():
    resets[0] += 1
    _ev(("reset",))
    raise Reset()


def disable_irq():
    return 0


def enable_irq(s):
    pass
