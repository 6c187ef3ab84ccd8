"""Behaviour cases for the share link on a second RS-485 port
(boards/common/sharebus485.py) on the modelled multi-drop line
(rs485_line_model.py), with the firmware's sharelink table receiving.
Runs under CPython and both MicroPythons (tests/test_share_rs485.py):

  python tests/boards_models/sharebus485_cases.py [case ...]
  micropython -X heapsize=1m tests/boards_models/sharebus485_cases.py [case ...]

One line per case: PASS / SKIP / FAIL name; exit 1 on a failure.
"""

import sys
from array import array

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


PLANT_PERIODS = 20     # fleet._PLANT_PERIODS: a plant frame every 20 share periods (1 s)


def plant_rev(u):
    return 1000 + u     # each unit's plant frames say whose they are


class Unit:
    """A unit: the firmware's share-link traffic as fleet.Fleet.tick sends
    it (a 10 ms tick; a share frame every 50 ms; every 20th period, at a
    phase of its own, a plant frame at the first tick half a period later:
    30 ms), its bus driver, and its sharelink table fed by poll()."""

    def __init__(self, line, u, boot_us, ppm, rnd, baud, cls):
        self.u = u
        self.uart = line.uart(u)
        self.uart.on_us = boot_us
        self.bus = cls(self.uart, self.uart.de, u, baud, sleep_us=line.sleep_us)
        self.peers = sl.Peers(u, 300)
        self.cb = self.take
        self.buf = bytearray(sl.FRAME_BYTES)
        self.pbuf = bytearray(sl.FRAME_BYTES)
        self.boot = boot_us
        self.ppm = ppm
        self.rnd = rnd
        self.next_svc = boot_us
        self.next_tick = boot_us + rnd.below(10000)
        self.next_poll = boot_us + rnd.below(10000)
        self.busy = 0           # blocked in its slot until then
        self.seq = 0
        self.pseq = 0
        self.acc = 50           # fleet: the first tick already sends
        self.plant_k = (u * 7) % PLANT_PERIODS
        self.plant_due = False
        self.sent = [0, 0]      # frames handed to send(): share, plant
        # What its table took, by kind (0 share, 1 plant) and sender; the
        # frames missing between two taken (by seq); anything refused.
        n = sl.MAX_UNITS + 1
        self.got = [[0] * n, [0] * n]
        self.gaps = [[0] * n, [0] * n]
        self.last = [[-1] * n, [-1] * n]
        self.refused = 0
        self.plant_wrong = 0

    def local(self, t):
        # Its own crystal: off by ppm, and started at boot.
        return (t + (t * self.ppm) // 1000000) & 0x3FFFFFFF

    def take(self, b, n):
        if self.peers.decode(b, n) != -1:
            self.refused += 1
            return
        kind = 1 if b[0] == sl.PLANT_SYNC else 0
        y = b[2]
        if kind and (self.peers.plant_u != y or self.peers.plant_rev != plant_rev(y)):
            self.plant_wrong += 1
        self.peers.plant_u = 0          # the fleet reads and clears it
        self.got[kind][y] += 1
        ls = self.last[kind][y]
        if ls >= 0:
            self.gaps[kind][y] += ((b[3] - ls) & 0xFF) - 1
        self.last[kind][y] = b[3]

    def tick(self, plant):
        a = self.acc + 10
        if a < 50:
            self.acc = a
            if self.plant_due and a >= 25:
                self.plant_due = False
                self.pseq = (self.pseq + 1) & 0xFF
                sl.encode_plant(self.pbuf, self.u, self.pseq, sl.PF_SET, plant_rev(self.u), 1,
                                1000, 500, 0, 0)
                self.bus.send(self.pbuf, sl.FRAME_BYTES)
                self.sent[1] += 1
            return
        self.acc = 0
        self.seq = (self.seq + 1) & 0xFF
        sl.encode(self.buf, self.u, self.seq, 7, sl.F_AUTO, self.u, 1, 10 * self.u, 0, 100, 0, 0,
                  5, 0)
        self.bus.send(self.buf, sl.FRAME_BYTES)
        self.sent[0] += 1
        k = self.plant_k + 1
        if k >= PLANT_PERIODS:
            k = 0
            self.plant_due = plant
        self.plant_k = k


def simulate(n_units=16, t_end_us=1500000, seed=1, boot_spread_us=400000, baud=500000,
             jitter_us=100, period_us=500, same_boot=False, plant=True, cls=None, log_de=False):
    cls = cls or sb.ShareBus485
    rnd = Rand(seed)
    line = lm.Line(baud, log_de)
    units = []
    for u in range(1, n_units + 1):
        boot = 0 if same_boot else rnd.below(boot_spread_us)
        units.append(Unit(line, u, boot, rnd.below(201) - 100, rnd, baud, cls))
    while True:
        # The next event: a service (the 0.5 ms timer), the firmware's tick
        # (every 10 ms: the frames), or a poll between ticks (every 10 ms).
        # A unit blocked in its slot's writes does nothing else meanwhile.
        x = None
        t = t_end_us
        kind = 0
        for y in units:
            b = y.busy
            e = y.next_svc if y.next_svc > b else b
            if e < t:
                x, t, kind = y, e, 0
            e = y.next_tick if y.next_tick > b else b
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
            x.tick(plant)
            x.next_tick += 10000
        else:
            x.peers.tick(10)
            x.bus.poll(x.cb)
            x.next_poll += 10000
    return line, units


def on_line(frames, u, sync, t_from=0, t_to=1 << 29):
    """Frames (Line.frames()) unit u put on the line with this sync byte,
    begun at or after t_from and over by t_to."""
    return sum(1 for s, e, k, b in frames if k == u and b == sync and s >= t_from and e <= t_to)


def delivery_problems(line, units, t_end_us):
    """What went missing (empty: nothing).  Every frame a unit handed over
    is on the line, replaced by a newer one of its kind (tx_missed) or
    still pending, and no plant frame is replaced; every other unit's table
    took every frame on the line since it was powered (those over 25 ms
    before the end surely: it polls every 10 ms), by kind, so the frames it
    saw missing between two it took (by seq) are the sender's counted
    replacements: none of the plant frames, no more share frames than the
    sender's tx_missed.  (A share frame handed over just after its slot
    has passed waits a period and the next replaces it: the firmware's
    50 ms and the schedule's are two clocks.)"""
    bad = []
    fr = line.frames()
    for y in units:
        out = on_line(fr, y.u, sl.SYNC) + on_line(fr, y.u, sl.PLANT_SYNC)
        pend = (1 if y.bus._ps else 0) + (1 if y.bus._pp else 0)
        if y.sent[0] + y.sent[1] != out + y.bus.tx_missed + pend:
            bad.append("unit %d handed over %d, sent %d, counted %d missed, %d pending"
                       % (y.u, y.sent[0] + y.sent[1], out, y.bus.tx_missed, pend))
        pp = on_line(fr, y.u, sl.PLANT_SYNC)
        if pp != y.sent[1] - (1 if y.bus._pp else 0):
            bad.append("unit %d: %d plant frames handed over, %d sent" % (y.u, y.sent[1], pp))
    for x in units:
        if x.bus.rx_bad or x.bus.rx_dropped or x.bus.rx_noise or x.refused or x.plant_wrong:
            bad.append("unit %d: bad %d dropped %d noise %d refused %d plant_wrong %d"
                       % (x.u, x.bus.rx_bad, x.bus.rx_dropped, x.bus.rx_noise, x.refused,
                          x.plant_wrong))
        for y in units:
            if y is x:
                continue
            for kind, sync in ((0, sl.SYNC), (1, sl.PLANT_SYNC)):
                lo = on_line(fr, y.u, sync, x.boot, t_end_us - 25000)
                hi = on_line(fr, y.u, sync, x.boot)
                if not lo <= x.got[kind][y.u] <= hi:
                    bad.append("unit %d took %d %s frames of unit %d's %d..%d"
                               % (x.u, x.got[kind][y.u], ("share", "plant")[kind], y.u, lo, hi))
            if x.gaps[1][y.u]:
                bad.append("unit %d: %d plant frames of unit %d missing" % (x.u, x.gaps[1][y.u], y.u))
            if x.gaps[0][y.u] > y.bus.tx_missed:
                bad.append("unit %d: %d share frames of unit %d missing, %d replaced"
                           % (x.u, x.gaps[0][y.u], y.u, y.bus.tx_missed))
    return bad


def case_the_slot_holds_two_frames_at_the_board_baud_rate():
    air, spare = sb.slot_budget_us(500000, 600, 600)
    check(sb.SLOT_US * sb.MAX_UNITS == sb.PERIOD_US, "16 slots make the share period")
    # Two frames, each with the driver held a character after it; the
    # framing silence (4 characters) and the code between them; twice the
    # lateness, the sensing and the driver's turn-off.
    want = 3125 - (2 * (480 + 20) + 4 * 20 + 50 + 2 * 600 + 600 + 50)
    check(air == 480 and spare == want == 145, "500 kbaud: %d %d" % (air, spare))
    check(sb.slot_budget_us(460800, 600, 600)[1] == 37, "460800 baud fits with 37 us")
    b = sb.ShareBus485(lm.Line().uart(1), lm.Pin(None, 1), 1, 500000)
    check(b.gap_us == 80 and b.air_us == 480, "gap %d air %d" % (b.gap_us, b.air_us))


def case_a_baud_too_slow_for_two_frames_is_refused():
    # 250 kbaud held one frame a slot (960 + 2 x 600 + 600 + 50 = 2810 of
    # 3125 us), not two (2 x (960 + 40) + 160 + 50 + 1850 = 4060).
    check(960 + 2 * 600 + 600 + 50 <= sb.SLOT_US, "one frame fits at 250 kbaud")
    for baud in (400000, 250000, 115200):
        check(sb.slot_budget_us(baud, 600, 600)[1] < 0, "%d baud must not fit" % baud)
        try:
            sb.ShareBus485(lm.Line(baud).uart(1), lm.Pin(None, 1), 1, baud)
        except ValueError:
            continue
        raise AssertionError("%d baud was accepted" % baud)
    sb.ShareBus485(lm.Line(460800).uart(1), lm.Pin(None, 1), 1, 460800)   # fits: no error


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


def slot_pairs(line):
    """The frames on the line in time order, and the indices i where frame
    i + 1 is the same unit's second frame of the slot."""
    tx = line.frames()
    pairs = [i for i in range(len(tx) - 1)
             if tx[i][2] == tx[i + 1][2] and tx[i + 1][0] - tx[i][0] < sb.SLOT_US]
    return tx, pairs


def case_the_line_is_silent_between_any_two_frames():
    # Stronger than "no overlap": between one unit's frames and the next
    # unit's there is always more than the driver's turn-off and two
    # characters of silence; between a slot's two frames (share, then
    # plant) at least the framing silence, and both within the slot's
    # budget from the first's start.
    for seed in (7, 8):
        line, units = simulate(16, seed=seed, jitter_us=100, t_end_us=2000000)
        tx, pairs = slot_pairs(line)
        gap = min(tx[i + 1][0] - tx[i][1] for i in range(len(tx) - 1) if i not in pairs)
        check(gap > sb.DE_US + 2 * line.char_us,
              "seed %d: %d us between two units' frames" % (seed, gap))
        check(len(tx) > 16 * 15, "frames %d" % len(tx))
        check(len(pairs) >= 16, "seed %d: %d slots with two frames" % (seed, len(pairs)))
        b = units[0].bus
        for i in pairs:
            check(tx[i][3] == sl.SYNC and tx[i + 1][3] == sl.PLANT_SYNC,
                  "seed %d: a slot's frames %r %r" % (seed, tx[i], tx[i + 1]))
            g = tx[i + 1][0] - tx[i][1]
            check(b.gap_us <= g <= b.gap_us + line.char_us,
                  "seed %d: %d us between a slot's two frames" % (seed, g))
            check(tx[i + 1][1] - tx[i][0] <= 2 * (b.air_us + b.char_us) + b.gap_us + sb.STEP_US,
                  "seed %d: a slot's two frames take %d us" % (seed, tx[i + 1][1] - tx[i][0]))


def case_the_driver_is_enabled_only_for_each_write():
    # Every DE-high interval holds exactly one frame: it starts with it and
    # ends a character after its last stop bit (the rp2 flush hold), so DE
    # is low in the silence between a slot's two frames.
    line, units = simulate(16, seed=9, t_end_us=1500000, log_de=True)
    de = line.de_changes()
    fr = line.frames()
    for x in units:
        ups = []
        t_up = None
        for t, u, v in de:
            if u != x.u:
                continue
            if v:
                t_up = t
            else:
                check(t_up is not None, "unit %d: DE low twice" % x.u)
                ups.append((t_up, t))
                t_up = None
        check(t_up is None, "unit %d: DE left high" % x.u)
        mine = [(s, e) for s, e, k, b in fr if k == x.u]
        check(len(ups) == len(mine) == x.bus.tx_frames,
              "unit %d: %d DE pulses, %d frames" % (x.u, len(ups), len(mine)))
        for (t0, t1), (s, e) in zip(ups, mine):
            check(t0 == s and t1 == e + line.char_us,
                  "unit %d: DE %d..%d for a frame %d..%d" % (x.u, t0, t1, s, e))


def case_sixteen_units_deliver_every_share_and_plant_frame_to_every_table():
    # The firmware's traffic (a share frame every period, a plant frame a
    # second at each unit's own phase 30 ms after a share frame) for 2.5 s:
    # no two drivers at once, and every table takes every frame of every
    # other unit, both kinds, through sharelink.Peers.decode (plant_u and
    # plant_rev name the sender).
    for seed in (1, 2):
        t_end = 2500000
        line, units = simulate(16, seed=seed, t_end_us=t_end)
        check(not line.overlaps, "seed %d: drivers on at once: %r" % (seed, line.overlaps[:5]))
        bad = delivery_problems(line, units, t_end)
        check(not bad, "seed %d: %s" % (seed, "; ".join(bad[:5])))
        for x in units:
            for y in units:
                if y is not x:
                    check(x.got[1][y.u] >= 1 and x.got[0][y.u] >= 20,
                          "seed %d: unit %d took %d share, %d plant frames of unit %d"
                          % (seed, x.u, x.got[0][y.u], x.got[1][y.u], y.u))


class OnePending(sb.ShareBus485):
    """Negative control: one pending frame (the driver before plant frames):
    a newer frame of either kind replaces whatever waits."""

    def send(self, buf, n):
        if self._ps or self._pp:
            self._ps = self._pp = False
            self.tx_missed += 1
        return sb.ShareBus485.send(self, buf, n)


def case_negative_control_one_pending_frame_loses_plant_frames():
    line, units = simulate(16, seed=1, t_end_us=2500000, cls=OnePending)
    bad = delivery_problems(line, units, 2500000)
    check(not line.overlaps, "overlaps %r" % line.overlaps[:3])
    check(len([m for m in bad if "plant frames handed over" in m]) >= 4,
          "the check did not see plant frames lost: %r" % bad[:5])


def case_a_plant_frame_and_a_share_frame_pending_together_go_out_in_one_slot():
    line = lm.Line(500000, log_de=True)
    ua = line.uart(1)
    a = sb.ShareBus485(ua, ua.de, 1, sleep_us=line.sleep_us)
    ub = line.uart(2)
    obs = sb.ShareBus485(ub, ub.de, 2, sleep_us=line.sleep_us)   # listens, sends nothing
    share = bytearray(sl.FRAME_BYTES)
    plant = bytearray(sl.FRAME_BYTES)
    # Two of each, the newer of each kind replacing the older: both kept.
    sl.encode(share, 1, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    sl.encode_plant(plant, 1, 1, sl.PF_SET, 41, 1, 1000, 500, 0, 0)
    check(a.send(share, 24) and a.send(plant, 24), "taken")
    sl.encode(share, 1, 2, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    a.send(share, 24)
    sl.encode_plant(plant, 1, 2, sl.PF_SET, 42, 1, 1000, 500, 0, 0)
    a.send(plant, 24)
    check(a.tx_missed == 2 and a._ps and a._pp, "missed %d" % a.tx_missed)
    t = 0
    while t < 200000:                         # its first slot: after 2 periods of listening
        line.now = t
        a.service(t)
        line.now = t
        obs.service(t)
        t += 500
    check(a.tx_frames == 2 and not a._pending, "sent %d" % a.tx_frames)
    tx = line.frames()
    check(len(tx) == 2 and tx[0][3] == sl.SYNC and tx[1][3] == sl.PLANT_SYNC,
          "one share frame, then one plant frame: %r" % tx)
    check(tx[1][0] - tx[0][1] >= a.gap_us and tx[1][0] - tx[0][0] < sb.SLOT_US,
          "in one slot, the silence between: %r" % tx)
    check(line.de_v == [1, 0, 1, 0], "DE %r" % line.de_changes())
    peers = sl.Peers(2, 300)
    got = []

    def take(b, n):
        got.append((b[0], b[3], peers.decode(b, n)))

    obs.poll(take)
    check(got == [(sl.SYNC, 2, -1), (sl.PLANT_SYNC, 2, -1)], "taken %r" % got)
    check(peers.plant_u == 1 and peers.plant_rev == 42 and peers.seq[1] == 2,
          "plant_u %d rev %d" % (peers.plant_u, peers.plant_rev))
    # Alone, a plant frame goes out alone in the next slot.
    a.send(plant, 24)
    t0 = t
    while t < t0 + sb.PERIOD_US + 1000:
        line.now = t
        a.service(t)
        t += 500
    tx = line.frames()
    check(a.tx_frames == 3 and len(tx) == 3 and tx[2][3] == sl.PLANT_SYNC, "%r" % tx)


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


class Nesting(lm.Uart):
    """A UART during whose write (or read) the timer's scheduled callback
    runs the driver's service() again, as it can between two bytecodes of a
    service() called from the wait-for-tick loop (hal_native)."""

    bus = None
    nested = 0

    def _nest(self):
        if self.bus is not None and self.nested < 20:
            self.nested += 1
            self.bus.service(self.line.now)

    def write(self, buf):
        self._nest()
        return lm.Uart.write(self, buf)

    def readinto(self, buf, n=None):
        self._nest()
        return lm.Uart.readinto(self, buf, n)


def case_a_service_inside_a_service_does_nothing():
    line = lm.Line(500000, log_de=True)
    ua = Nesting(line, 1)
    line.uarts.append(ua)
    a = sb.ShareBus485(ua, ua.de, 1, sleep_us=line.sleep_us)
    other = line.uart(2)
    share = bytearray(sl.FRAME_BYTES)
    plant = bytearray(sl.FRAME_BYTES)
    sl.encode(share, 1, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    sl.encode_plant(plant, 1, 1, sl.PF_SET, 5, 1, 1000, 500, 0, 0)
    a.send(share, 24)
    a.send(plant, 24)
    ua.bus = a
    fr = bytearray(sl.FRAME_BYTES)
    sl.encode(fr, 2, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    t = 0
    while t < 200000:
        line.now = t
        if t == 150000:                       # after its first slot (it free-runs until now)
            other.de.value(1)
            other.write(fr)                   # something to read: a nested read meets it
            other.flush()
            other.de.value(0)
        line.now = t + 20
        a.service(t + 20)
        t += 500
    check(ua.nested > 0, "the nesting never happened")
    check(not line.overlaps, "overlapping frames: %r" % line.overlaps)
    check(a.tx_frames == 2 and ua.writes == 2, "sent %d" % a.tx_frames)
    check(line.de_u.count(1) == 4, "DE %r" % line.de_changes())
    got = []
    a.poll(lambda b, n: got.append(b[2]))
    check(got == [2] and a.rx_bad == 0 and a.rx_noise == 0,
          "heard %r bad %d noise %d" % (got, a.rx_bad, a.rx_noise))


def case_the_per_call_paths_allocate_nothing():
    if not MICROPYTHON:
        raise Skip("heap_lock is MicroPython only")
    import micropython

    class Quiet:
        """A UART with a frame waiting now and then (no allocation)."""

        def __init__(self, fr):
            self.fr = fr
            self.n = 0
            self.writes = 0

        def any(self):
            return self.n

        def readinto(self, buf, n):
            for i in range(n):
                buf[i] = self.fr[i]
            self.n = 0
            return n

        def write(self, b):
            self.writes += 1
            return 24

        def flush(self):
            pass

    class P:
        def value(self, v=None):
            pass

    slept = array("i", [0])

    def sleep_us(us):
        slept[0] += us

    fr = bytearray(sl.FRAME_BYTES)
    sl.encode(fr, 1, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    u = Quiet(fr)
    b = sb.ShareBus485(u, P(), 2, sleep_us=sleep_us)
    peers = sl.Peers(2, 300)
    cb = peers.decode
    mine = bytearray(sl.FRAME_BYTES)
    sl.encode(mine, 2, 1, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
    plant = bytearray(sl.FRAME_BYTES)
    sl.encode_plant(plant, 2, 1, sl.PF_SET, 7, 1, 1000, 500, 0, 0)
    t = 0
    micropython.heap_lock()
    try:
        for k in range(4000):
            t += 500
            if k % 100 == 0:
                b.send(mine, 24)
            if k % 1000 == 60:
                b.send(plant, 24)           # 30 ms later: out with the next share frame
            if k % 100 == 50:
                if k % 1000 == 550:         # unit 1's plant frame now and then
                    sl.encode_plant(fr, 1, k // 1000, sl.PF_SET, k // 1000, 1, 1000, 500, 0, 0)
                else:
                    sl.encode(fr, 1, k // 100, 7, 0, 1, 1, 0, 0, 100, 0, 0, 5, 0)
                u.n = 24
            b.service(t)
            if k % 20 == 0:
                b.poll(cb)
                peers.plant_u = 0
    finally:
        micropython.heap_unlock()
    check(b.tx_frames >= 35 and u.writes == b.tx_frames and peers.good >= 35 and b.rx_frames >= 35,
          "sent %d heard %d" % (b.tx_frames, peers.good))
    check(peers.plant_seq[1] == 3 and peers.plant_rev == 3, "plant frames taken: %d" % peers.plant_seq[1])
    check(slept[0] == b.tx_frames * b.char_us + 4 * b.gap_us,
          "slept %d: a hold per frame and four silences" % slept[0])


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
