"""A modelled multi-drop RS-485 line for the share-link slot scheme
(boards/common/sharebus485.py).  Plain Python, integer microseconds, for
CPython and both MicroPythons.

The line: each unit's UART (Uart) writes a whole frame at once with its
driver enabled (DE, the transceiver's pin: Pin); the frame occupies the
line from the write for len * char_us (8N1: 10 bits a character) and each
character reaches every other powered unit's receive buffer when its stop
bit has gone.  Two drivers on at once are recorded (.overlaps, with the
pair) and garble what the others receive (the characters are XORed).  A
unit does not hear itself (DE and /RE tied), nor a frame that began before
it was powered (Uart.on_us).  The line's clock (Line.now) is the
simulation's: flush() blocks until the last stop bit has gone and
Line.sleep_us(us) for us, both by moving it on.  Every frame is kept
(frames(): (start, end, unit, sync byte) in time order) and, with log_de,
every DE change (de_changes(): (time, unit, level)).  What the line keeps
for the whole run is in lists of small ints, no object a frame: under
MicroPython, long-lived small objects strewn over a 1 MB heap leave no room
for a list to grow.
"""


class Pin:
    def __init__(self, line, unit):
        self.line = line
        self.unit = unit
        self.level = 0

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        ln = self.line
        if v != self.level and ln is not None and ln.de_t is not None:
            ln.de_t.append(ln.now)
            ln.de_u.append(self.unit)
            ln.de_v.append(v)
        self.level = v


class Uart:
    """One unit's UART on the line (any / readinto / write / flush)."""

    def __init__(self, line, unit):
        self.line = line
        self.unit = unit
        self.de = Pin(line, unit)
        self.rx_t = []          # when each received byte is visible (in time order) ...
        self.rx_b = []          # ... and the byte (two lists of small ints: no object a byte)
        self.writes = 0
        self.on_us = 0          # powered from
        self.busy_until = 0     # its last frame's end

    def any(self):
        t = self.line.now
        n = 0
        for tv in self.rx_t:
            if tv <= t:
                n += 1
            else:
                break
        return n

    def readinto(self, buf, n=None):
        k = self.any()
        if n is not None and n < k:
            k = n
        for i in range(k):
            buf[i] = self.rx_b[i]
        del self.rx_t[:k]
        del self.rx_b[:k]
        return k

    def receive(self, t0, buf, char_us, garble):
        # Written out of time order (a unit blocked in its slot moved the
        # clock on while another was due earlier): keep rx in time order.
        rt = self.rx_t
        rb = self.rx_b
        late = len(rt) > 0 and rt[-1] > t0 + char_us
        for i in range(len(buf)):
            rt.append(t0 + (i + 1) * char_us)
            rb.append(buf[i] ^ 0x5A if garble else buf[i])
        if garble or late:
            pairs = sorted(zip(rt, rb))
            self.rx_t = [p[0] for p in pairs]
            self.rx_b = [p[1] for p in pairs]

    def write(self, buf):
        self.writes += 1
        self.busy_until = self.line.transmit(self, buf)
        return len(buf)

    def flush(self):
        if self.line.now < self.busy_until:
            self.line.now = self.busy_until


class Line:
    def __init__(self, baud=500000, log_de=False):
        self.char_us = (10 * 1000000 + baud - 1) // baud
        self.now = 0
        self.uarts = []
        self.tx_s = []          # every frame: start, ...
        self.tx_e = []          # ... end, ...
        self.tx_u = []          # ... unit, ...
        self.tx_b = []          # ... sync byte
        self.overlaps = []      # (unit, unit, t) for every pair of drivers on at once
        self.de_t = [] if log_de else None      # every DE change: time, unit, level
        self.de_u = []
        self.de_v = []

    def uart(self, unit):
        u = Uart(self, unit)
        self.uarts.append(u)
        return u

    def sleep_us(self, us):
        self.now += us

    def transmit(self, src, buf):
        if not src.de.level:
            raise AssertionError("unit %d wrote with its driver off" % src.unit)
        t0 = self.now
        t1 = t0 + len(buf) * self.char_us
        hit = False
        n = len(self.tx_s)
        for i in range(n - 40 if n > 40 else 0, n):
            if self.tx_s[i] < t1 and t0 < self.tx_e[i]:
                self.overlaps.append((self.tx_u[i], src.unit, t0))
                hit = True
        self.tx_s.append(t0)
        self.tx_e.append(t1)
        self.tx_u.append(src.unit)
        self.tx_b.append(buf[0] if len(buf) else -1)
        for u in self.uarts:
            if u is not src and t0 >= u.on_us:
                u.receive(t0, buf, self.char_us, hit)
        return t1

    def frames(self):
        """Every frame, (start, end, unit, sync byte), in time order."""
        return sorted(zip(self.tx_s, self.tx_e, self.tx_u, self.tx_b))

    def de_changes(self):
        """Every DE change, (time, unit, level), as they came."""
        return list(zip(self.de_t, self.de_u, self.de_v))
