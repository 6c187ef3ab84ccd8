"""A modelled multi-drop RS-485 line for the share-link slot scheme
(boards/common/sharebus485.py).  Plain Python, integer microseconds, for
CPython and both MicroPythons.

The line: each unit's UART (Uart) writes a whole frame at once with its
driver enabled (DE, the transceiver's pin: Pin); the frame occupies the
line from the write for len * char_us (8N1: 10 bits a character) and each
character reaches every other unit's receive buffer when its stop bit has
gone.  Two drivers on at once are recorded (.overlaps, with the pair) and
garble what the others receive (the characters are XORed).  A unit does
not hear itself (DE and /RE tied).  flush() returns at once: the caller's
clock (World.now) is the simulation's, and the transmission is accounted
for in its interval [start, start + air].
"""


class Pin:
    def __init__(self, line, unit):
        self.line = line
        self.unit = unit
        self.level = 0

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = 1 if v else 0


class Uart:
    """One unit's UART on the line (any / readinto / write / flush)."""

    def __init__(self, line, unit):
        self.line = line
        self.unit = unit
        self.de = Pin(line, unit)
        self.rx = []            # (time visible, byte)
        self.writes = 0

    def any(self):
        t = self.line.now
        n = 0
        for tv, b in self.rx:
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
            buf[i] = self.rx[i][1]
        del self.rx[:k]
        return k

    def write(self, buf):
        self.writes += 1
        self.line.transmit(self, buf)
        return len(buf)

    def flush(self):
        pass


class Line:
    def __init__(self, baud=500000):
        self.char_us = (10 * 1000000 + baud - 1) // baud
        self.now = 0
        self.uarts = []
        self.tx = []            # (start, end, unit) of every frame
        self.overlaps = []      # (unit, unit, t) for every pair of drivers on at once

    def uart(self, unit):
        u = Uart(self, unit)
        self.uarts.append(u)
        return u

    def transmit(self, src, buf):
        if not src.de.level:
            raise AssertionError("unit %d wrote with its driver off" % src.unit)
        t0 = self.now
        t1 = t0 + len(buf) * self.char_us
        hit = False
        for s, e, u in self.tx[-40:]:
            if s < t1 and t0 < e:
                self.overlaps.append((u, src.unit, t0))
                hit = True
        self.tx.append((t0, t1, src.unit))
        for u in self.uarts:
            if u is src:
                continue
            for i in range(len(buf)):
                b = buf[i] ^ 0x5A if hit else buf[i]
                u.rx.append((t0 + (i + 1) * self.char_us, b))
            if hit:
                u.rx.sort()
