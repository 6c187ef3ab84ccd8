"""Behaviour cases for the share link on a second RS-485 port
(boards/common/sharebus485.py) on the modelled multi-drop line
(rs485_line_model.py), with the firmware's sharelink table receiving.
Runs under CPython and both MicroPythons (tests/test_share_rs485.py):

  python tests/boards_models/sharebus485_cases.py [case ...]
  micropython -X heapsize=1m tests/boards_models/sharebus485_cases.py [case ...]

One line per case: PASS / SKIP / FAIL name; exit 1 on a failure.
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
if _HERE + "/../../firmware" not in sys.path:
    sys.path.insert(0, _HERE + "/../../firmware")
for _p in (_HERE + "/../../boards/common", _HERE):
    if _p not in sys.path:
        sys.path.append(_p)

import sharebus485 as sb  # noqa: E402
import rs485_line_model as lm  # noqa: E402
import sharelink as sl  # noqa: E402

MICROPYTHON = sys.implementation.name == "micropython"


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Rand:
    """A small LCG (the same numbers on every interpreter)."""

    def __init__(self, seed):
        self.s = seed & 0x7FFFFFFF

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


class Unit:
    def __init__(self, line, u, boot_us, ppm, rnd, baud):
        self.u = u
        self.uart = line.uart(u)
        self.uart.on_us = boot_us
        self.bus = sb.ShareBus485(self.uart, self.uart.de, u, baud, sleep_us=line.sleep_us)
        self.peers = sl.Peers(u, 300)
        self.cb = self.peers.decode
        self.buf = bytearray(sl.FRAME_BYTES)
        self.boot = boot_us
        self.ppm = ppm
        self.rnd = rnd
        self.next_svc = boot_us
        self.next_frame = boot_us + rnd.below(50000)
        self.next_poll = boot_us + rnd.below(10000)
        self.busy = 0           # blocked in its slot until then
        self.seq = 0

    def local(self, t):
        # Its own crystal: off by ppm, and started at boot.
        return (t + (t * self.ppm) // 1000000) & 0x3FFFFFFF


def simulate(n_units=16, t_end_us=1500000, seed=1, boot_spread_us=400000, baud=500000,
             jitter_us=100, period_us=500, same_boot=False):
    rnd = Rand(seed)
    line = lm.Line(baud)
    units = []
    for u in range(1, n_units + 1):
        boot = 0 if same_boot else rnd.below(boot_spread_us)
        units.append(Unit(line, u, boot, rnd.below(201) - 100, rnd, baud))
    while True:
        # The next event: a service (the 0.5 ms timer), a frame from the
        # firmware (every 50 ms), or a poll between ticks (every 10 ms).  A
        # unit blocked in its slot's write does nothing else meanwhile.
        x = None
        t = t_end_us
        kind = 0
        for y in units:
            b = y.busy
            e = y.next_svc if y.next_svc > b else b
            if e < t:
                x, t, kind = y, e, 0
            e = y.next_frame if y.next_frame > b else b
            if e < t:
                x, t, kind = y, e, 1
            e = y.next_poll if y.next_poll > b else b
            if e < t:
                x, t, kind = y, e, 2
        if x is None:
            break
        line.now = t
        if kind == 0:
            x.bus.service(x.local(t))
            x.busy = line.now           # flush() and sleep_us() move the clock on
            x.next_svc = t + period_us - jitter_us // 2 + x.rnd.below(jitter_us // 2 + 1)
        elif kind == 1:
            x.seq = (x.seq + 1) & 0xFF
            sl.encode(x.buf, x.u, x.seq, 7, sl.F_AUTO, x.u, 1, 10 * x.u, 0, 100, 0, 0, 5, 0)
            x.bus.send(x.buf, sl.FRAME_BYTES)
            x.next_frame += 50000
        else:
            x.peers.tick(10)
            x.bus.poll(x.cb)
            x.next_poll += 10000
    return line, units


def case_the_slot_length_fits_the_frame_at_the_board_baud_rate():
    air, spare = sb.slot_budget_us(500000, 600, 600)
    check(sb.SLOT_US * sb.MAX_UNITS == sb.PERIOD_US, "16 slots make the share period")
    check(air == 480 and spare == 3125 - (480 + 1200 + 600 + 50), "500 kbaud: %d %d" % (air, spare))
    check(sb.slot_budget_us(115200, 600, 600)[1] < 0, "115200 baud must not fit")
    try:
        sb.ShareBus485(lm.Line().uart(1), lm.Pin(None, 1), 1, 115200)
    except ValueError:
        return
    raise AssertionError("a baud rate that does not fit was accepted")


def case_sixteen_units_never_transmit_at_once_and_each_sees_the_fifteen_others():
    for seed in (1, 2, 3):
        line, units = simulate(16, seed=seed)
        check(not line.overlaps, "seed %d: drivers on at once: %r" % (seed, line.overlaps[:5]))
        for x in units:
            check(x.peers.n_fresh() == 15, "seed %d unit %d hears %d" % (seed, x.u, x.peers.n_fresh()))
            check(x.bus.rx_bad == 0 and x.peers.refused[sl.R_CRC] == 0, "bad frames")
        # After its listening time every unit sends in (nearly) every period:
        # its firmware's 50 ms and the schedule's are two clocks, so now and
        # then a frame waits a period (counted in tx_missed when replaced).
        for x in units:
            want = (1500000 - x.boot - 2 * 50000 - (x.u - 1) * sb.SLOT_US) // 50000 - 2
            check(x.bus.tx_frames >= want, "seed %d unit %d sent %d of %d"
                  % (seed, x.u, x.bus.tx_frames, want))


def case_units_booting_at_the_same_instant_do_not_collide():
    line, units = simulate(16, same_boot=True, seed=5)
    check(not line.overlaps, "collisions %r" % line.overlaps[:5])
    for x in units:
        check(x.peers.n_fresh() == 15, "unit %d hears %d" % (x.u, x.peers.n_fresh()))


def case_the_line_is_silent_between_any_two_frames():
    # Stronger than "no overlap": between the end of one frame and the
    # start of the next there is always more than the driver's turn-off and
    # two characters of silence (what the receivers' framing needs).
    for seed in (7, 8):
        line, units = simulate(16, seed=seed, jitter_us=100)
        tx = line.frames()
        gap = min(tx[i + 1][0] - tx[i][1] for i in range(len(tx) - 1))
        check(gap > sb.DE_US + 2 * line.char_us,
              "seed %d: %d us between two frames" % (seed, gap))
        check(len(tx) > 16 * 15, "frames %d" % len(tx))


class NoSlots(sb.ShareBus485):
    """Negative control: carrier sense only (send whenever the line is quiet)."""

    def _maybe_send(self, t):
        if self._quiet(t):
            self._put()


def case_negative_control_carrier_sense_without_slots_collides():
    saved = sb.ShareBus485
    sb.ShareBus485 = NoSlots
    try:
        line, units = simulate(16, seed=1, t_end_us=600000)
    finally:
        sb.ShareBus485 = saved
    check(len(line.overlaps) > 0, "the model saw no collision: it could not catch one")


def case_a_garbled_frame_or_noise_is_dropped_and_counted():
    line = lm.Line(500000)
    a = sb.ShareBus485(line.uart(1), lm.Pin(line, 1), 1)
    other = line.uart(2)
    other.de.value(1)
    fr = bytearray(sl.FRAME_BYTES)
    sl.encode(fr, 2, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    good = bytes(fr)
    fr[9] ^= 0x10
    line.now = 1000
    other.write(b"\x00\x11")                 # noise outside a frame
    line.now = 2000
    a.service(2000)
    line.now = 3000
    other.write(fr)                           # CRC wrong
    line.now = 5000
    a.service(5000)
    line.now = 6000
    other.write(good[:10])                    # cut short: the line goes quiet
    line.now = 7000
    a.service(7000)
    line.now = 9000
    a.service(9000)
    line.now = 10000
    other.write(good)
    line.now = 12000
    a.service(12000)
    got = []
    a.poll(lambda b, n: got.append(bytes(b[:n])))
    check(a.rx_noise == 2 and a.rx_bad == 2, "noise %d bad %d" % (a.rx_noise, a.rx_bad))
    check(got == [good], "only the good frame: %r" % got)


def case_the_per_call_paths_allocate_nothing():
    if not MICROPYTHON:
        raise Skip("heap_lock is MicroPython only")
    import micropython

    class Quiet:
        """A UART with a frame waiting now and then (no allocation)."""

        def __init__(self, fr):
            self.fr = fr
            self.n = 0

        def any(self):
            return self.n

        def readinto(self, buf, n):
            for i in range(n):
                buf[i] = self.fr[i]
            self.n = 0
            return n

        def write(self, b):
            return 24

        def flush(self):
            pass

    class P:
        def value(self, v=None):
            pass

    fr = bytearray(sl.FRAME_BYTES)
    sl.encode(fr, 1, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    u = Quiet(fr)
    b = sb.ShareBus485(u, P(), 2)
    peers = sl.Peers(2, 300)
    cb = peers.decode
    mine = bytearray(sl.FRAME_BYTES)
    sl.encode(mine, 2, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    t = 0
    micropython.heap_lock()
    try:
        for k in range(2000):
            t += 500
            if k % 100 == 0:
                b.send(mine, 24)
            if k % 100 == 50:
                sl.encode(fr, 1, k // 100, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
                u.n = 24
            b.service(t)
            if k % 20 == 0:
                b.poll(cb)
    finally:
        micropython.heap_unlock()
    check(b.tx_frames >= 15 and peers.good >= 15 and b.rx_frames >= 15,
          "sent %d heard %d" % (b.tx_frames, peers.good))


CASES = sorted(k for k in globals() if k.startswith("case_"))


def run(names=None):
    import gc
    failed = 0
    for name in names or CASES:
        gc.collect()            # the models' lists: a 1 MB heap, one case at a time
        fn = globals()[name]
        try:
            fn()
            print("PASS %s" % name)
        except Skip as e:
            print("SKIP %s: %s" % (name, e))
        except Exception as e:  # one line per case, go on
            failed += 1
            print("FAIL %s: %s %s" % (name, type(e).__name__, e))
    return failed


if __name__ == "__main__":
    sys.exit(1 if run(sys.argv[1:]) else 0)
