"""Power management (powermgmt.py): load-dependent start and stop, by
priority or running hours, one start or stop at a time, the next unit for a
tripped one, load shedding in stages, and the step the stack can accept.
Every unit is run on the same frames: they agree on who starts and who
stops.  Plain Python: CPython and both MicroPythons."""

import powermgmt as pmm
import sharelink as sl
from helpers import is_micropython

LOADED = 10        # sequencer.ST_LOADED
STOPPED = 0
CRANK = 2
RUN_FLAGS = sl.F_AUTO | sl.F_GCB_CLOSED


def _stack(units):
    """units: {id: (state, flags, prio, p_pct_x100, rating_kw, step_kw, run_h)}.
    Returns {id: Peers} as each unit hears the others."""
    out = {}
    b = bytearray(sl.FRAME_BYTES)
    for own in units:
        p = sl.Peers(own, 500)
        for u, (st, fl, pr, pp, r, s, h) in units.items():
            if u == own:
                continue
            on = fl & sl.F_GCB_CLOSED
            sl.encode(b, u, 1, st, fl, pr, 1, pp, 0, r, sl.avail_kw(on, pp, r), s if on else 0,
                      h, 0)
            assert p.decode(b, len(b)) == -1
        out[own] = p
    return out


def _decide(units, ms, dt=100, make=None, pms=None, overload=False):
    """Every unit's PowerMgmt over ms of the same frames; {id: run}."""
    peers = _stack(units)
    pms = pms or {}
    for u in units:
        if u not in pms:
            pms[u] = pmm.PowerMgmt(u)
            if make:
                make(pms[u])
    run = {}
    for _ in range(ms // dt):
        for u, (st, fl, pr, pp, r, s, h) in units.items():
            run[u] = pms[u].update(peers[u], bool(fl & sl.F_AUTO) and not fl & sl.F_SHUTDOWN,
                                   st, bool(fl & sl.F_GCB_CLOSED), pr, h, r, pp * r // 10000,
                                   s, dt, overload)
            peers[u].tick(0)
    return run, pms


def _fleet(loads, stopped=(3, 4), rating=200, step=60):
    u = {}
    for i, pct in enumerate(loads):
        u[i + 1] = (LOADED, RUN_FLAGS, i + 1, pct, rating, step, 1000)
    for k in stopped:
        u[k] = (STOPPED, sl.F_AUTO, k, 0, rating, step, 1000)
    return u


def test_the_best_ranked_stopped_unit_starts_once_the_load_held_above_start_pct():
    u = _fleet((9000, 9000))
    run, _ = _decide(u, 9000)
    assert run == {1: True, 2: True, 3: False, 4: False}
    run, pms = _decide(u, 10100)
    assert run == {1: True, 2: True, 3: True, 4: False}
    assert pms[3].cap_kw == 400 and pms[3].load_kw == 360


def test_below_start_pct_nothing_starts():
    run, _ = _decide(_fleet((7900, 7900)), 30000)
    assert run == {1: True, 2: True, 3: False, 4: False}


def test_no_second_start_while_one_is_in_progress():
    u = _fleet((9500, 9500), stopped=(4,))
    u[3] = (CRANK, sl.F_AUTO, 3, 0, 200, 60, 1000)
    run, _ = _decide(u, 30000)
    assert run[3] and not run[4]


def test_the_worst_ranked_running_unit_stops_when_the_rest_carry_the_load():
    # three at 30 %: 180 kW on 600; the other two would carry it at 45 %
    u = _fleet((3000, 3000, 3000), stopped=())
    run, _ = _decide(u, 59000)
    assert run == {1: True, 2: True, 3: True}
    run, _ = _decide(u, 60100)
    assert run == {1: True, 2: True, 3: False}


def test_no_stop_when_the_rest_would_be_above_stop_pct_or_short_of_reserve():
    u = _fleet((4500, 4500, 4500), stopped=())     # the rest at 67.5 %: above 60
    run, _ = _decide(u, 120000)
    assert all(run.values())

    def reserve(p):
        p.reserve_kw = 250
    u = _fleet((3000, 3000, 3000), stopped=())     # rest: 400 - 180 = 220 < 250
    run, _ = _decide(u, 120000, make=reserve)
    assert all(run.values())


def test_a_tripped_unit_is_replaced_by_the_next_within_the_trip_delay():
    u = _fleet((9000, 9000), stopped=(3, 4))
    u[2] = (16, sl.F_AUTO | sl.F_SHUTDOWN, 2, 0, 200, 60, 1000)   # locked out
    u[1] = (LOADED, RUN_FLAGS, 1, 18000, 200, 60, 1000)           # carrying both: 180 %
    run, _ = _decide(u, 900)
    assert not run[3]
    run, _ = _decide(u, 1100)
    assert run[3] and not run[4]


def test_running_hours_equalisation_starts_the_unit_with_fewest_hours_in_bands():
    u = _fleet((9000, 9000), stopped=(3, 4))
    u[3] = (STOPPED, sl.F_AUTO, 3, 0, 200, 60, 5000)
    u[4] = (STOPPED, sl.F_AUTO, 4, 0, 200, 60, 1200)

    def hours(p):
        p.rank_mode = pmm.RANK_HOURS
    run, _ = _decide(u, 10100, make=hours)
    assert run[4] and not run[3]
    # within one band (50 h) the unit id decides: no swapping hour by hour
    u[3] = (STOPPED, sl.F_AUTO, 3, 0, 200, 60, 1210)
    u[4] = (STOPPED, sl.F_AUTO, 4, 0, 200, 60, 1201)
    run, _ = _decide(u, 10100, make=hours)
    assert run[3] and not run[4]


def test_the_configured_step_keeps_enough_units_running():
    u = _fleet((2000, 2000))            # 80 kW on 400; steps 60 + 60 = 120

    def ai(p):
        p.step_kw = 150
    run, pms = _decide(u, 10100, make=ai)
    assert pms[1].fleet_step_kw == 120 and run[3]
    # and a unit is not stopped if the step would fall short
    u = _fleet((1000, 1000, 1000), stopped=())

    def ai2(p):
        p.step_kw = 150
    run, pms = _decide(u, 120000, make=ai2)
    assert all(run.values()) and pms[1].fleet_step_kw == 180


def test_the_step_a_unit_offers_is_capped_by_its_spare_capacity():
    u = _fleet((9500, 9500), stopped=())        # 10 kW spare each, step 60
    run, pms = _decide(u, 100)
    assert pms[1].fleet_step_kw == 20


def test_min_units_keeps_that_many_running():
    u = _fleet((500,), stopped=(2, 3))

    def two(p):
        p.min_units = 2
    run, _ = _decide(u, 10100, make=two)
    assert run == {1: True, 2: True, 3: False}


def _slow(p):
    p.shed_pct = 95          # a figure under the running capacity: the slow path


def test_load_shedding_rises_a_stage_per_delay_once_nothing_can_start_and_falls_back():
    u = _fleet((9800, 9800), stopped=())
    run, pms = _decide(u, 1900, make=_slow)
    assert pms[1].shed_stage == 0
    run, pms = _decide(u, 7700, make=_slow)     # (the last stage's size measured: 0 here)
    assert pms[1].shed_stage == 3 and pms[2].shed_stage == 3
    # load falls below restore_pct: one stage back per delay
    u2 = _fleet((8000, 8000), stopped=())
    run, pms = _decide(u2, 2100, pms=pms)
    assert pms[1].shed_stage == 2
    run, pms = _decide(u2, 4100, pms=pms)
    assert pms[1].shed_stage == 0
    # with a unit left to start and the load under the capacity, no
    # shedding: start it instead
    run, pms = _decide(_fleet((9800, 9800), stopped=(3,)), 10100, make=_slow)
    assert pms[1].shed_stage == 0 and run[3]


def _site(pm, demand_kw, stage_kw, ms, dt=100):
    """One unit alone on the bus (200 kW) carrying a site of demand_kw with
    stage_kw[k] on shedding stage k's contactor, for ms: its load follows
    its own shed stage."""
    peers = sl.Peers(1, 500)
    for _ in range(ms // dt):
        p_kw = demand_kw - sum(stage_kw[1:pm.shed_stage + 1])
        pm.update(peers, True, LOADED, True, 1, 1000, 200, p_kw, 60, dt)


def _moves(pm, demand_kw, sizes, ms, forget=False):
    moves = 0
    k = pm.shed_stage
    for _ in range(ms // 100):
        if forget:
            for i in range(len(pm.stage_kw)):
                pm.stage_kw[i] = 0
        _site(pm, demand_kw, sizes, 100)
        moves += pm.shed_stage != k
        k = pm.shed_stage
    return moves


def test_a_stage_bigger_than_the_hysteresis_is_held_until_the_load_with_it_fits():
    # The site draws 208 kW on one unit (104 %); stage 1 carries 41 kW.
    pm = pmm.PowerMgmt(1)
    sizes = (0, 41, 20, 20)
    _site(pm, 208, sizes, 100)
    assert pm.shed_stage == 1                  # over the capacity: at once
    # 167 kW is under restore_pct (170), but 167 + 41 is over shed_pct: held
    assert _moves(pm, 208, sizes, 30000) == 0 and pm.shed_stage == 1
    assert pm.stage_kw[1] == 41
    # the site's own load falls: 149 + 41 = 190 kW fits under shed_pct: back
    _site(pm, 190, sizes, 2100)
    assert pm.shed_stage == 0
    # Negative control: without the sizes, stage 1 comes back, puts the unit
    # over its capacity and is shed again, over and over.
    pm = pmm.PowerMgmt(1)
    _site(pm, 208, sizes, 100)
    assert _moves(pm, 208, sizes, 30000, forget=True) >= 10


def test_an_overloaded_stack_sheds_a_stage_every_100_ms_and_starts_the_next_too():
    # over the running capacity (a unit tripped): no waiting out the delay,
    # and a start in progress does not hold it (a start takes ~20 s)
    run, pms = _decide(_fleet((10500, 10500), stopped=(3,)), 300)
    assert pms[1].shed_stage == 3 and pms[2].shed_stage == 3
    run, pms = _decide(_fleet((10500, 10500), stopped=(3,)), 1100)
    assert run[3] and not run.get(4)


def test_a_bus_frequency_overload_sheds_fast_though_the_kw_read_under_capacity():
    # a set at its fuel limit reads no more than its rating as it slows
    u = _fleet((9700, 9700), stopped=())
    run, pms = _decide(u, 200, overload=True)
    assert pms[1].shed_stage == 2
    run, pms = _decide(u, 100, overload=True, pms=pms)
    assert pms[1].shed_stage == 3
    # without the overload the same figures shed nothing
    run, pms = _decide(u, 6100)
    assert pms[1].shed_stage == 0


def test_frames_that_lie_about_load_shed_nothing_the_units_own_readings_deny():
    # Two phantom units (a node on the link, figures consistent, CRC good)
    # claim 190 % each: the frames sum over the running capacity, but the
    # two real units read 50 % each: no stage is shed, fast or slow.
    u = _fleet((5000, 5000), stopped=())
    u[3] = (LOADED, RUN_FLAGS, 3, 19000, 200, 0, 1000)
    u[4] = (LOADED, RUN_FLAGS, 4, 19000, 200, 0, 1000)
    run, pms = _decide(u, 6100, make=_slow)
    assert pms[1].cap_kw == 800 and pms[1].load_kw > 800
    assert pms[1].shed_stage == 0 and pms[2].shed_stage == 0
    # the same frames with the real units loaded (>= restore_pct): shed
    u.update(_fleet((9000, 9000), stopped=()))
    run, pms = _decide(u, 300)
    assert pms[1].shed_stage == 3 and pms[2].shed_stage == 3


def test_a_frame_claiming_a_light_load_neither_restores_a_stage_nor_stops_a_set():
    # shed to stage 3 on a real overload (two at 98 %, the slow path)
    u = _fleet((9800, 9800), stopped=())
    run, pms = _decide(u, 6100, make=_slow)
    assert pms[1].shed_stage == 3
    # unit 2's frames now say 20 %: the frames' load is under restore_pct,
    # but unit 1 still reads 98 %: it keeps its stages
    u[2] = (LOADED, RUN_FLAGS, 2, 2000, 200, 60, 1000)
    run, pms = _decide(u, 10100, pms=pms)
    assert pms[1].shed_stage == 3
    # Three at 50 %: the other two would carry it at 75 %, no stop.  A
    # phantom, best-ranked, on the bus at 0 % makes the frames say the
    # rest would carry it at 50 %: unit 3 (worst-ranked) reads 50 % of its
    # own, more than a stop leaves (60 % x 600 / 800 = 45 %): it runs on.
    u = _fleet((5000, 5000, 5000), stopped=())
    run, _ = _decide(u, 120000)
    assert all(run.values())
    u[5] = (LOADED, RUN_FLAGS, 1, 0, 200, 60, 1000)
    run, pms = _decide(u, 120000)
    assert pms[3].cap_kw == 800 and run[3]
    # (with every unit truly at 35 % it stops, as before)
    u = _fleet((3500, 3500, 3500), stopped=())
    run, _ = _decide(u, 60100)
    assert not run[3]


def test_a_unit_out_of_auto_or_shut_down_is_never_counted_nor_asked_to_run():
    u = _fleet((9000, 9000), stopped=(3, 4))
    u[3] = (STOPPED, 0, 3, 0, 200, 60, 1000)                 # in MANUAL / OFF
    run, _ = _decide(u, 10100)
    assert not run[3] and run[4]


def test_update_allocates_nothing():
    if not is_micropython():
        return
    import gc
    import micropython
    u = _fleet((9000, 9000))
    peers = _stack(u)
    pm = pmm.PowerMgmt(3)
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(50):
            pm.update(peers[3], True, STOPPED, False, 3, 1000, 200, 0, 60, 100)
    finally:
        micropython.heap_unlock()


def test_on_the_same_frames_at_most_one_unit_starts_and_at_most_one_stops():
    """Random stacks of up to 8 units: whatever the mix, the units agree,
    so one demand never starts two sets nor stops two."""
    seed = 7
    for trial in range(40):
        u = {}
        n = 2 + trial % 7
        for k in range(1, n + 1):
            seed = (seed * 1103515245 + 12345) & 0x3FFFFFFF
            on = seed & 1
            pct = (seed >> 3) % 11000
            prio = 1 + (seed >> 9) % 4
            u[k] = (LOADED, RUN_FLAGS, prio, pct, 100 + (seed >> 13) % 300, 50, 0) if on else \
                (STOPPED, sl.F_AUTO, prio, 0, 100 + (seed >> 13) % 300, 50, 0)
        for ms in (10100, 60100):
            run, _ = _decide(u, ms)
            starts = [k for k in u if run[k] and not u[k][1] & sl.F_GCB_CLOSED]
            stops = [k for k in u if not run[k] and u[k][1] & sl.F_GCB_CLOSED]
            assert len(starts) <= 1 and len(stops) <= 1, (trial, u, run)
            assert not (starts and stops), (trial, u, run)


def test_zero_delays_start_and_stop_only_while_the_need_is_there():
    def zero(p):
        p.start_delay_ms = 0
        p.stop_delay_ms = 0
    # nothing needed: no start, however short the delay
    run, _ = _decide(_fleet((1000, 1000, 1000), stopped=(4,)), 1000, make=zero)
    assert not run[4]
    # a start in progress: no second one
    u = _fleet((9500, 9500), stopped=(4,))
    u[3] = (CRANK, sl.F_AUTO, 3, 0, 200, 60, 1000)
    run, _ = _decide(u, 1000, make=zero)
    assert not run[4]


def test_nothing_starts_or_stops_while_listening():
    def listen(p):
        p.listen_ms = 600
        p.start_delay_ms = 0
    u = _fleet((9500, 9500))
    run, _ = _decide(u, 500, make=listen)
    assert not run[3]
    run, _ = _decide(u, 800, make=listen)
    assert run[3]
