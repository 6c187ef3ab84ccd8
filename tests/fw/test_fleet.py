"""Controllers of a stack, each the whole firmware (controller.py with
fleet.py), wired through their HALs: share frames from each delivered to
the others, a common bus that a closed breaker makes live.  A single set
refuses share frames and is untouched; three AVAILABLE sets on a dead bus:
exactly one closes, the other two synchronise to it; power management's
answer reaches the sequencer.  Plain Python: CPython and both
MicroPythons."""

import hal
import sequencer as sq
import sharelink as sl
from controller import Controller
from config import SETTINGS
from helpers import ScriptHal, running_inputs, period_for_mhz


class UnitHal(ScriptHal):
    def __init__(self):
        ScriptHal.__init__(self)
        self.sent = []

    def share_send(self, buf, n):
        self.sent.append(bytes(buf[:n]))


def _idx(name):
    for i in range(len(SETTINGS)):
        if SETTINGS[i][0] == name:
            return i


def _unit(u, n, **settings):
    h = UnitHal()
    c = Controller(h)
    mask = 0
    for k in range(1, n + 1):
        mask |= 1 << k
    pairs = [("fleet_unit_id", u), ("fleet_mask", mask), ("pm_start_delay_s", 0),
             ("pm_min_units", n)] + list(settings.items())
    assert c.cfg.set_many(pairs) is None
    c._build()
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 0)
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    c.seq.state = sq.ST_AVAILABLE
    c.seq.run_ms = 60000
    c.seq.turning = True
    c.seq.sp_rpm_x10 = c.cfg.rated_rpm_x10
    return h, c


def _bus(units, live):
    for h, c in units:
        v = h.next_in
        if live:
            v[hal.IN_BUS_PERIOD_100NS] = period_for_mhz(60000)
            v[hal.IN_BUS_V_DV] = c.cfg.v_rated_dv
        else:
            v[hal.IN_BUS_PERIOD_100NS] = 0
            v[hal.IN_BUS_V_DV] = 0
        v[hal.IN_ZC_DT_100NS] = 0


def _run(units, ticks, close_ticks=5):
    """Tick every unit, deliver frames, close a breaker whose coil was held
    close_ticks ticks, and make the bus live once one is closed."""
    held = [0] * len(units)
    closed_order = []
    for t in range(ticks):
        for h, c in units:
            h.next_in[hal.IN_T_MS] = t * 10
        for i, (h, c) in enumerate(units):
            c.tick()
        for i, (h, c) in enumerate(units):
            for fr in h.sent:
                for j, (h2, c2) in enumerate(units):
                    if j != i:
                        c2.share_rx(bytearray(fr), len(fr))
            h.sent = []
        for i, (h, c) in enumerate(units):
            do = h.last_out[hal.OUT_DO]
            if h.next_in[hal.IN_DI] & hal.DI_GCB_CLOSED:
                continue
            held[i] = held[i] + 1 if do & hal.DO_GCB_CLOSE else 0
            if held[i] >= close_ticks:
                live = any(u[0].next_in[hal.IN_DI] & hal.DI_GCB_CLOSED for u in units)
                closed_order.append((t, c.cfg.fleet_unit_id, live))
                h.next_in[hal.IN_DI] |= hal.DI_GCB_CLOSED
        _bus(units, any(u[0].next_in[hal.IN_DI] & hal.DI_GCB_CLOSED for u in units))
    return closed_order


def test_a_single_set_refuses_share_frames_and_sends_none():
    h = UnitHal()
    c = Controller(h)
    b = bytearray(sl.FRAME_BYTES)
    sl.encode(b, 2, 1, 7, 0, 1, 1, 0, 0, 200, 0, 0, 0, 0)
    assert c.share_rx(b, len(b)) == sl.R_UNIT
    running_inputs(h, c.cfg, 0, 0)
    for _ in range(20):
        c.tick()
    assert h.sent == [] and c.fleet is None and c.seq.fleet_run and c.seq.fleet_db_ok


def test_a_unit_of_a_stack_broadcasts_its_frame_every_50_ms():
    h, c = _unit(1, 2)
    for _ in range(20):
        c.tick()
    assert len(h.sent) == 4
    p = sl.Peers(2, 300)
    assert p.decode(bytearray(h.sent[-1]), sl.FRAME_BYTES) == -1
    assert p.state[1] == sq.ST_AVAILABLE and p.flags[1] & sl.F_AUTO
    assert p.rating_kw[1] == c.cfg.p_fuel_rated_kw_x10 // 10 and p.master[1] == 1


def test_three_sets_on_a_dead_bus_close_one_and_the_others_synchronise_to_it():
    units = [_unit(u, 3) for u in (1, 2, 3)]
    _bus(units, False)
    order = _run(units, 400)
    # exactly one dead-bus close: the master, after its claim
    assert order and order[0][1] == 1 and not order[0][2], order
    assert order[0][0] * 10 >= units[0][1].cfg.fleet_claim_ms
    dead = [o for o in order if not o[2]]
    assert len(dead) == 1, order
    # the others went to synchronise to the live bus (none closed dead)
    for h, c in units[1:]:
        assert c.seq.state in (sq.ST_SYNC, sq.ST_CLOSING, sq.ST_LOADED), c.seq.state


def test_with_the_link_cut_only_the_master_closes_the_dead_bus():
    units = [_unit(u, 3) for u in (1, 2, 3)]
    _bus(units, False)
    # no frames delivered: the HALs drop what they send
    for h, c in units:
        h.share_send = lambda buf, n: None
    order = _run(units, 300)
    assert [o[1] for o in order if not o[2]] == [1], order
    # and without the master, nobody
    units = [_unit(u, 3) for u in (2, 3)]
    for h, c in units:
        h.share_send = lambda buf, n: None
    _bus(units, False)
    assert _run(units, 300) == []


def test_power_management_decides_the_run_request_in_auto():
    # two units, min one running, neither running: the best-ranked (1)
    # starts once the link has been heard, unit 2 is told to wait
    units = [_unit(u, 2, pm_min_units=1) for u in (1, 2)]
    for h, c in units:
        c.seq.state = sq.ST_STOPPED
        running_inputs(h, c.cfg, 0, 0)
        h.next_in[hal.IN_MPU_PULSES] = 0
        h.next_in[hal.IN_GEN_PERIOD_100NS] = 0
        h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    _run(units, 50)
    # listening first (fleet.py: twice the stale time): nobody starts
    assert not units[0][1].seq.fleet_run and units[0][1].seq.state == sq.ST_STOPPED
    _run(units, 100)
    assert units[0][1].seq.fleet_run and not units[1][1].seq.fleet_run
    assert units[0][1].seq.state != sq.ST_STOPPED
    assert units[1][1].seq.state == sq.ST_STOPPED
