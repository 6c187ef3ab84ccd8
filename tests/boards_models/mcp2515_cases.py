"""Behaviour cases for the MCP2515 share-link driver (boards/common/mcp2515.py)
against the register model and modelled CAN bus (mcp2515_model.py), with
the firmware's own share-link table (firmware/sharelink.py) on the
receiving side.  Runs under CPython and both MicroPythons:

  python tests/boards_models/mcp2515_cases.py [case ...]
  micropython -X heapsize=256k tests/boards_models/mcp2515_cases.py [case ...]
  node host_sim/mp32/mp32.mjs -X heapsize=256k --mount ... mcp2515_cases.py

One line per case: PASS name / SKIP name: why / FAIL name: error; exit 1 on a
failure.  tests/test_share_can.py runs it all three ways.
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
if _HERE + "/../../firmware" not in sys.path:
    sys.path.insert(0, _HERE + "/../../firmware")
for _p in (_HERE + "/../../boards/common", _HERE):
    if _p not in sys.path:
        sys.path.append(_p)

import mcp2515 as drv  # noqa: E402
import mcp2515_model as mdl  # noqa: E402
import sharelink as sl  # noqa: E402

MICROPYTHON = sys.implementation.name == "micropython"

# The documented register values (mcp2515.bit_timing's comments), written
# out here on their own so a changed table fails.
TIMING = (
    (8000000, 250000, 0x00, 0xB4, 0x02, 8125),
    (8000000, 500000, 0x00, 0x91, 0x01, 7500),
    (16000000, 250000, 0x01, 0xB4, 0x02, 8125),
    (16000000, 500000, 0x00, 0xB4, 0x02, 8125),
)


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Unit:
    """One controller's end of the link: its chip on the bus, the driver, and
    the firmware's table of peers."""

    def __init__(self, bus, u, osc_hz=8000000, bitrate=250000, chip_osc_hz=None):
        self.u = u
        self.chip = bus.attach(mdl.Mcp2515Model(chip_osc_hz or osc_hz))
        self.d = drv.Mcp2515(self.chip, self.chip.cs, u, osc_hz, bitrate)
        self.peers = sl.Peers(u, 300)
        self.cb = self.peers.decode          # bound once (a bound method allocates)
        self.buf = bytearray(sl.FRAME_BYTES)
        self.seq = 0

    def frame(self, p_pct_x100=0):
        self.seq = (self.seq + 1) & 0xFF
        sl.encode(self.buf, self.u, self.seq, 7, sl.F_AUTO, self.u, 1, p_pct_x100, 0,
                  100 + self.u, 0, 0, 1000 + self.u, 0)
        return self.buf

    def send(self, p_pct_x100=0):
        return self.d.send(self.frame(p_pct_x100), sl.FRAME_BYTES)

    def poll(self):
        return self.d.poll(self.cb)


def stack(n, bitrate=250000, osc_hz=8000000):
    bus = mdl.CanBus(bitrate)
    units = [Unit(bus, u, osc_hz, bitrate) for u in range(1, n + 1)]
    for x in units:
        check(x.d.begin(), "unit %d: begin failed" % x.u)
    return bus, units


def run_polled(bus, units, slots=400):
    """The bus, with every unit polling its chip after every frame slot (a
    board that keeps up)."""
    for k in range(slots):
        busy = bus.step()
        for x in units:
            x.poll()
        if not busy:
            break


def frag(u, f, frame):
    """Fragment f of `frame` as unit u sends it: (id, 8 bytes)."""
    return drv.ID_BASE + 4 * u + f, bytes(frame[8 * f:8 * f + 8])


def put(bus, rx, cid, data, ext=False, rtr=False, dlc=None):
    """A raw frame from an outside device; the receiving unit `rx` drains
    its chip after it (its two receive buffers hold two frames)."""
    bus.inject(cid, data, ext, rtr, dlc)
    rx.d.service()


def raw_set(bus, rx, u, frame, order=(0, 1, 2)):
    for f in order:
        cid, data = frag(u, f, frame)
        put(bus, rx, cid, data)


def encoded(u, seq=1, p=0):
    b = bytearray(sl.FRAME_BYTES)
    sl.encode(b, u, seq, 7, sl.F_AUTO, u, 1, p, 0, 100 + u, 0, 0, 1000 + u, 0)
    return b


# -- bit timing ---------------------------------------------------------------------

def case_bit_timing_registers_for_each_supported_crystal_and_bit_rate():
    for osc, rate, c1, c2, c3, sp in TIMING:
        check(drv.bit_timing(osc, rate) == (c1, c2, c3), "table %d %d" % (osc, rate))
        bus = mdl.CanBus(rate)
        a = Unit(bus, 1, osc, rate)
        b = Unit(bus, 2, osc, rate)
        check(a.d.begin() and b.d.begin(), "begin %d %d" % (osc, rate))
        r = a.chip.regs
        check((r[mdl.CNF1], r[mdl.CNF2], r[mdl.CNF3]) == (c1, c2, c3),
              "CNF written %d %d: %r" % (osc, rate, (r[mdl.CNF1], r[mdl.CNF2], r[mdl.CNF3])))
        got, got_sp, ntq, ok = a.chip.bit_rate()
        check(got == rate and got_sp == sp and ok,
              "%d Hz %d bit/s: the chip runs %d bit/s, sample %d, %d TQ, rules %r"
              % (osc, rate, got, got_sp, ntq, ok))
        check(a.chip.mode() == mdl.MODE_NORMAL, "not in normal mode")
        a.send()
        run_polled(bus, [a, b])
        check(b.peers.fresh(1), "%d %d: no frame through" % (osc, rate))
    for osc, rate in ((8000000, 1000000), (20000000, 250000), (16000000, 125000)):
        try:
            drv.bit_timing(osc, rate)
        except ValueError:
            continue
        raise AssertionError("unsupported %d %d accepted" % (osc, rate))


def case_a_unit_set_for_the_wrong_crystal_hears_nothing_and_counts_errors():
    bus = mdl.CanBus(250000)
    a = Unit(bus, 1)
    b = Unit(bus, 2)
    c = Unit(bus, 3, 16000000, 250000, chip_osc_hz=8000000)   # board.py says 16 MHz, 8 fitted
    for x in (a, b, c):
        check(x.d.begin(), "begin")
    check(c.chip.bit_rate()[0] == 125000, "the misconfigured chip runs %d" % c.chip.bit_rate()[0])
    a.send()
    run_polled(bus, [a, b, c])
    c.d.check()
    check(b.peers.fresh(1) and not c.peers.fresh(1), "the right unit hears, the wrong one does not")
    check(c.d.rec == 3, "receive errors at the wrong rate: REC %d" % c.d.rec)


# -- exchange ------------------------------------------------------------------------

def case_two_units_exchange_share_frames_end_to_end():
    bus, (a, b) = stack(2)
    for k in range(5):
        check(a.send(1234 + k) and b.send(-500 - k), "send refused")
        run_polled(bus, [a, b])
    check(a.peers.fresh(2) and b.peers.fresh(1), "each sees the other")
    check(b.peers.p_pct_x100[1] == 1238 and a.peers.p_pct_x100[2] == -504,
          "figures: %d %d" % (b.peers.p_pct_x100[1], a.peers.p_pct_x100[2]))
    check(b.peers.rating_kw[1] == 101 and a.peers.run_h[2] == 1002, "fields")
    check(a.peers.good == 5 and b.peers.good == 5, "every frame taken: %d %d" % (a.peers.good, b.peers.good))
    check(sum(a.peers.refused) == 0 and sum(b.peers.refused) == 0, "refusals")
    for x in (a, b):
        d = x.d
        check(d.tx_sets == 5 and d.rx_sets == 5 and d.rx_frames == 15, "counts %d %d %d"
              % (d.tx_sets, d.rx_sets, d.rx_frames))
        check(d.rx_foreign + d.rx_incomplete + d.rx_out_of_order + d.rx_overflows == 0, "drops")


def case_sixteen_units_each_see_the_fifteen_others():
    bus, units = stack(16)
    for r in range(3):
        for x in units:
            x.send(100 * x.u)
        # 48 frames: lowest id first (unit 1's set), each unit drains every slot
        run_polled(bus, units, slots=100)
    for x in units:
        check(x.peers.n_fresh() == 15, "unit %d hears %d" % (x.u, x.peers.n_fresh()))
        for u in range(1, 17):
            if u != x.u:
                check(x.peers.p_pct_x100[u] == 100 * u, "unit %d's view of %d" % (x.u, u))
        check(x.d.rx_sets == 45 and x.d.rx_overflows == 0, "unit %d: %d sets" % (x.u, x.d.rx_sets))
    check(bus.frames == 16 * 3 * 3, "frames on the bus %d" % bus.frames)


def case_interleaved_sets_from_several_units_reassemble_per_unit():
    bus, (a, b) = stack(2)
    f5 = encoded(5, p=555)
    f6 = encoded(6, p=666)
    for f in range(3):
        for u, fr in ((5, f5), (6, f6)):
            cid, data = frag(u, f, fr)
            put(bus, a, cid, data)
    a.poll()
    check(a.peers.fresh(5) and a.peers.fresh(6), "both sets")
    check(a.peers.p_pct_x100[5] == 555 and a.peers.p_pct_x100[6] == 666, "values")


# -- what never reaches share_rx ----------------------------------------------------

class Catch:
    def __init__(self):
        self.n = 0
        self.cb = self.take

    def take(self, buf, n):
        self.n += 1
        return -1


def case_a_missing_fragment_drops_the_set_and_counts_it():
    bus, (a, b) = stack(2)
    c = Catch()
    fr = encoded(7)
    raw_set(bus, a, 7, fr, (0, 2))               # fragment 1 lost
    a.d.poll(c.cb)
    check(c.n == 0 and a.d.rx_out_of_order == 1, "out of turn: %d %d" % (c.n, a.d.rx_out_of_order))
    raw_set(bus, a, 7, fr, (1, 2))               # its tail: the same dropped set, counted once
    raw_set(bus, a, 8, encoded(8), (1, 2))       # another unit's set without its head
    a.d.poll(c.cb)
    check(c.n == 0 and a.d.rx_out_of_order == 2, "headless %d" % a.d.rx_out_of_order)
    raw_set(bus, a, 7, fr, (0, 1))               # fragment 2 lost, then the next set
    raw_set(bus, a, 7, encoded(7, seq=2))
    a.d.poll(c.cb)
    check(a.d.rx_incomplete == 1 and c.n == 1, "incomplete %d, taken %d" % (a.d.rx_incomplete, c.n))


def case_out_of_order_fragments_are_dropped_and_counted():
    bus, (a, b) = stack(2)
    raw_set(bus, a, 9, encoded(9), (0, 2, 1))    # one set dropped (its late 1 with it)
    raw_set(bus, a, 9, encoded(9), (0, 2, 1, 2))
    a.poll()
    check(not a.peers.fresh(9) and a.peers.good == 0, "taken")
    check(a.d.rx_out_of_order == 2 and a.d.rx_sets == 0,
          "counted %d sets %d" % (a.d.rx_out_of_order, a.d.rx_sets))
    raw_set(bus, a, 9, encoded(9, seq=3))
    a.poll()
    check(a.peers.fresh(9), "the next whole set is taken")


def case_foreign_frames_are_ignored_and_counted_without_breaking_a_set():
    bus, (a, b) = stack(2)
    c = Catch()
    z = b"\x00" * 8
    fr = encoded(4)
    cid, data = frag(4, 0, fr)
    put(bus, a, cid, data)
    for fid, kw in ((0x123, {}), (0x303, {}), (0x307, {}), (0x344, {}), (0x7FF, {}),
                    (0x305, {"ext": True}), (0x305, {"rtr": True}), (0x305, {"dlc": 4})):
        put(bus, a, fid, z if "dlc" not in kw else z[:4], **kw)
    a.d.poll(c.cb)
    for f in (1, 2):
        cid, data = frag(4, f, fr)
        put(bus, a, cid, data)
    a.d.poll(c.cb)
    check(a.d.rx_foreign == 8, "foreign %d" % a.d.rx_foreign)
    check(c.n == 1 and a.d.rx_sets == 1 and a.d.rx_out_of_order == 0,
          "the unit's set around them: %d" % c.n)


def case_a_wire_error_is_retried_by_can_and_counted():
    bus, (a, b) = stack(2)
    bus.corrupt(1)
    a.send(777)
    run_polled(bus, [a, b])
    a.d.check()
    b.d.check()
    check(bus.errors == 1 and b.peers.fresh(1) and b.peers.p_pct_x100[1] == 777, "retried")
    # +8 for the error, -1 for each of the three good frames after it.
    check(a.d.tec == 5 and b.d.rec == 0, "TEC %d REC %d" % (a.d.tec, b.d.rec))
    check(b.d.rx_sets == 1 and b.peers.refused[sl.R_CRC] == 0, "one set")


def case_a_payload_corrupted_past_the_can_crc_is_refused_by_the_share_crc():
    bus, (a, b) = stack(2)
    fr = encoded(3, p=300)
    fr[10] ^= 0x01                            # a byte the CAN CRC did not catch
    raw_set(bus, a, 3, fr)
    a.poll()
    check(a.d.rx_sets == 1, "the transport hands the set on")
    check(not a.peers.fresh(3) and a.peers.refused[sl.R_CRC] == 1, "refused by the share CRC")


# -- errors ------------------------------------------------------------------------------

def case_bus_off_is_reported_counted_and_recovered():
    bus, (a, b) = stack(2)
    a.chip.tx_fault = True                    # its transceiver's TX is broken
    a.send()
    bus.run(100)
    a.d.check()
    b.d.check()
    check(a.d.bus_off and a.d.bus_offs == 1 and a.d.tec == 255 and a.d.error_passive,
          "bus-off %r count %d TEC %d" % (a.d.bus_off, a.d.bus_offs, a.d.tec))
    check(b.d.rec == 32, "the receivers saw the 32 errors: REC %d" % b.d.rec)
    a.send()                                  # still off: the stale set is aborted
    check(a.d.tx_late == 1 and a.d.bus_offs == 1, "late %d" % a.d.tx_late)
    a.chip.tx_fault = False
    for _ in range(mdl.RECOVER_SLOTS):
        bus.step()                            # 128 x 11 recessive bits
        b.poll()
    a.d.check()
    check(not a.d.bus_off and a.d.tec == 0 and a.d.bus_offs == 1, "recovered")
    a.send(4321)
    run_polled(bus, [a, b])
    check(b.peers.fresh(1) and b.peers.p_pct_x100[1] == 4321, "frames flow again")


def case_a_unit_alone_on_the_bus_goes_error_passive_not_bus_off():
    bus, (a, b) = stack(2)
    b.d.hold = 0
    b.chip.power_cycle()                      # the only other node drops to configuration mode
    a.send()
    bus.run(40)
    a.d.check()
    check(a.d.error_passive and not a.d.bus_off and a.d.tec == 128, "TEC %d" % a.d.tec)


def case_the_chips_receive_overflow_is_counted():
    bus, (a, b) = stack(2)
    b.send()
    bus.run()                                 # a does not drain: RXB0, RXB1 (rollover), lost
    a.d.check()
    check(a.d.rx_overflows == 1 and a.chip.lost == 1, "overflow %d" % a.d.rx_overflows)
    a.poll()
    check(a.d.rx_sets == 0 and not a.peers.fresh(2), "half a set is not a frame")
    b.send()
    run_polled(bus, [a, b])
    check(a.peers.fresh(2) and a.d.rx_incomplete == 1, "next set; the cut one counted")


def case_a_chip_that_resets_is_started_again():
    bus, (a, b) = stack(2)
    a.chip.power_cycle()
    a.send()                                  # sees configuration mode: down
    check(not a.d.up, "noticed")
    a.send(99)                                # started again, sent
    run_polled(bus, [a, b])
    check(a.d.up and a.d.begins == 2 and b.peers.p_pct_x100[1] == 99, "back")


def case_a_dead_chip_sends_nothing_and_is_retried():
    bus = mdl.CanBus()
    a = Unit(bus, 1)
    b = Unit(bus, 2)
    b.d.begin()
    a.chip.stuck(0xFF)
    check(not a.d.begin() and not a.d.up, "a dead chip is not up")
    for _ in range(5):
        check(not a.send(), "sent through a dead chip")
    check(a.d.tx_refused == 5, "refused %d" % a.d.tx_refused)
    a.chip.stuck(None)
    k = 0
    while not a.send() and k < 100:
        k += 1
    check(a.d.up and k < drv.RETRY_SENDS + 1, "retried after %d" % k)


# -- the interrupt path and the shared SPI bus ------------------------------------------------

def case_the_int_handler_drains_each_frame_and_waits_for_the_shared_bus():
    bus, (a, b) = stack(2)
    irq = b.d.irq_cb
    b.chip.int_cb = lambda: irq(None)
    a.send(10)
    bus.run()                                 # three frames, each drained on INT
    b.d.check()
    check(b.d.rx_overflows == 0 and b.chip.lost == 0, "drained on INT")
    b.poll()
    check(b.peers.p_pct_x100[1] == 10, "delivered")
    # The meter holds the SPI bus: the handler must not touch it.
    b.d.hold = 1
    n0 = b.chip.spi_frames
    a.send(20)
    bus.step()
    check(b.chip.spi_frames == n0 and b.d.deferred == 1, "touched a held bus")
    b.d.release()                             # the meter is done: drain now
    check(b.chip.spi_frames > n0 and b.d.deferred == 0, "drained on release")
    bus.run()
    b.poll()
    check(b.peers.p_pct_x100[1] == 20 and b.d.rx_overflows == 0, "the set arrived whole")


# -- allocation ------------------------------------------------------------------------------

def case_the_per_call_paths_allocate_nothing():
    if not MICROPYTHON:
        raise Skip("heap_lock is MicroPython only")
    import micropython
    bus, units = stack(3)
    a, b, c = units
    irq = c.d.irq_cb
    c.chip.int_cb = lambda: irq(None)
    bad = encoded(8)
    bad[5] ^= 1
    good = encoded(9)
    z = b"\x00" * 8
    ids = [frag(9, f, good)[0] for f in range(3)]
    datas = [frag(9, f, good)[1] for f in range(3)]
    bids = [frag(8, f, bad)[0] for f in range(3)]
    bdatas = [frag(8, f, bad)[1] for f in range(3)]
    bufs = [x.frame(100) for x in units]
    for x in units:
        x.send(1)
    run_polled(bus, units)
    micropython.heap_lock()
    try:
        for k in range(20):
            for x in units:
                x.d.send(x.buf, 24)
            for _ in range(12):
                bus.step()
                a.d.service()
                b.d.service()
            for x in units:
                x.d.poll(x.cb)
            a.d.check()
            # foreign, incomplete, out of order, CRC-bad: the drop paths
            put(bus, a, 0x123, z)
            put(bus, a, ids[0], datas[0])
            put(bus, a, ids[0], datas[0])
            put(bus, a, ids[2], datas[2])
            put(bus, a, bids[0], bdatas[0])
            put(bus, a, bids[1], bdatas[1])
            put(bus, a, bids[2], bdatas[2])
            a.d.poll(a.cb)
            c.d.hold = 1
            bus.inject(ids[0], datas[0])
            c.d.release()
            c.d.poll(c.cb)
    finally:
        micropython.heap_unlock()
    check(bufs is not None and a.peers.fresh(2) and a.peers.fresh(3), "exchange under the lock")
    check(a.d.rx_foreign >= 20 and a.d.rx_out_of_order >= 20 and a.d.rx_incomplete >= 20,
          "drop paths ran: %d %d %d" % (a.d.rx_foreign, a.d.rx_out_of_order, a.d.rx_incomplete))
    check(a.peers.refused[sl.R_CRC] >= 20, "CRC path ran")


CASES = sorted(k for k in globals() if k.startswith("case_"))


def run(names=None):
    failed = 0
    for name in names or CASES:
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
