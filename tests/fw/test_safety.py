"""Interlocks that no setting write, command, reset or grid event can get
round (issue 8).  Each test tries the attack and checks the controller's
answer at its outputs.  Plain Python: runs under CPython and MicroPython."""

import hal
import protection as pr
import sequencer as sq
import synccheck
from config import Config, SETTINGS
from controller import Controller, PROT_BASE
from helpers import ScriptHal, running_inputs, loaded_controller, period_for_mhz

BIG = (0, 1, -1, 2, 7, 1073741823, -1073741824, 65535, -65535)
_ENGINE_OUT = hal.DO_CRANK | hal.DO_GAS_VALVE | hal.DO_IGNITION | hal.DO_PRELUBE


def _ix(name, field):
    return PROT_BASE + 8 * pr.index_of(name) + field


def _paralleled(h, c, phase_cdeg=0):
    """A live grid behind a closed mains breaker, in phase unless told."""
    v = h.next_in
    v[hal.IN_DI] |= hal.DI_MB_CLOSED
    v[hal.IN_BUS_PERIOD_100NS] = period_for_mhz(60000)
    v[hal.IN_BUS_V_DV] = c.cfg.v_rated_dv
    v[hal.IN_ZC_DT_100NS] = phase_cdeg * 166667 // 36000


def _dead_grid(h):
    v = h.next_in
    v[hal.IN_BUS_PERIOD_100NS] = 0
    v[hal.IN_BUS_V_DV] = 0
    v[hal.IN_ZC_DT_100NS] = 0


def _available(grid=True, **settings):
    """Running at rated speed, breaker open, AVAILABLE, remote start on."""
    h = ScriptHal()
    c = Controller(h)
    for k in settings:
        assert c.cfg.set(k, settings[k]), k
    c._build()
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 0)
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    if grid:
        _paralleled(h, c)
    c.seq.state = sq.ST_AVAILABLE
    c.seq.run_ms = 60000
    c.seq.turning = True
    c.seq.sp_rpm_x10 = c.cfg.rated_rpm_x10
    return h, c


def _latch(c, name, cls):
    """An alarm latched at class cls, as Alarms.update latches one."""
    i = pr.index_of(name)
    c.alarms.latched[i] = 1
    c.alarms.cls_at[i] = cls
    c.alarms._summarise()


def _ticks(c, n):
    for _ in range(n):
        c.tick()


# --- 1. e-stop and last-resort protections are not settings -------------------

def test_estop_cannot_be_disabled_downgraded_delayed_or_remapped_by_a_setting_write():
    h, c = loaded_controller(grid=False)
    i = pr.index_of("emergency_stop")
    before = c.refused
    for field, value in ((pr.F_ENABLE, 0), (pr.F_CLASS, pr.CL_WARNING), (pr.F_CLASS, pr.CL_HARD),
                         (pr.F_DELAY_MS, 5000), (pr.F_PICKUP, hal.DI_KNOCK), (pr.F_PICKUP, 0)):
        assert not c.set_setting(PROT_BASE + 8 * i + field, value), (field, value)
    assert c.refused == before + 6
    assert c.prot.enable[i] == 1 and c.prot.cls[i] == pr.CL_ESTOP
    assert c.prot.delay_ms[i] == 0 and c.prot.pickup[i] == hal.DI_ESTOP


def test_overspeed_cannot_be_disabled_or_set_below_hard_shutdown_or_out_of_reach():
    h, c = loaded_controller(grid=False)
    i = pr.index_of("overspeed")
    assert not c.set_setting(_ix("overspeed", pr.F_ENABLE), 0)
    for cl in range(pr.CL_NONE, pr.CL_HARD):
        assert not c.set_setting(_ix("overspeed", pr.F_CLASS), cl)
    assert not c.set_setting(_ix("overspeed", pr.F_PICKUP), 15000)      # 150 %: never reached
    assert not c.set_setting(_ix("overspeed", pr.F_DELAY_MS), 600000)
    assert c.prot.enable[i] == 1 and c.prot.cls[i] == pr.CL_HARD and c.prot.pickup[i] == 11500
    assert c.set_setting(_ix("overspeed", pr.F_CLASS), pr.CL_ESTOP)      # upwards is fine
    assert c.set_setting(_ix("overspeed", pr.F_PICKUP), 11000)


def test_no_write_lowers_any_protection_below_its_class_floor():
    h, c = loaded_controller(grid=False)
    for i in range(pr.N_PROT):
        floor = pr.PROTECTIONS[i][pr.P_FLOOR]
        cls = c.prot.cls[i]
        for v in range(-2, pr.CL_ESTOP + 3):
            ok = c.set_setting(PROT_BASE + 8 * i + pr.F_CLASS, v)
            assert ok == (floor <= v <= pr.CL_ESTOP and v >= pr.CL_WARNING), (i, v)
            if not ok:
                assert c.prot.cls[i] == cls
            cls = c.prot.cls[i]
        assert c.prot.cls[i] >= floor


def test_always_enabled_protections_refuse_enable_zero():
    h, c = loaded_controller(grid=False)
    fixed = 0
    for i in range(pr.N_PROT):
        if pr.PROTECTIONS[i][pr.P_FIXED]:
            fixed += 1
            assert not c.set_setting(PROT_BASE + 8 * i + pr.F_ENABLE, 0)
            assert c.prot.enable[i] == 1
    # the last resorts are among them
    for n in ("emergency_stop", "overspeed", "low_oil_pressure", "high_coolant_temp",
              "overcrank", "gas_leak", "gcb_fail_to_open", "mb_fail_to_open", "stall",
              "islanding", "reverse_power", "overcurrent_inst", "sender_fault"):
        assert pr.PROTECTIONS[pr.index_of(n)][pr.P_FIXED], n
    assert fixed >= 20


def test_bit_protections_cannot_be_pointed_at_another_input():
    h, c = loaded_controller(grid=False)
    for i in range(pr.N_PROT):
        p = pr.PROTECTIONS[i]
        if p[pr.P_KIND] == pr.K_BIT:
            for v in (0, 1, 2, 4, 8, 16, 32, 64, 128, 255, 1024):
                ok = c.set_setting(PROT_BASE + 8 * i + pr.F_PICKUP, v)
                assert ok == (v == p[pr.P_PICKUP]), (p[pr.P_NAME], v)
            assert c.prot.pickup[i] == p[pr.P_PICKUP]


def test_every_field_of_every_protection_is_written_or_refused_at_and_beyond_its_limits():
    """No write raises (seen: the min_import pickup raised IndexError); an
    accepted value reads back, a refused one leaves the old value."""
    h, c = loaded_controller(grid=False)
    p = c.prot
    for i in range(pr.N_PROT):
        lo, hi, dlo, dhi = pr.limits(i)
        for field in range(8):
            if field == pr.F_PICKUP:
                vals = (lo - 1, lo, hi, hi + 1) + BIG
            elif field == pr.F_DELAY_MS:
                vals = (dlo - 1, dlo, dhi, dhi + 1) + BIG
            else:
                vals = BIG + (3, 4, 5, 6)
            for v in vals:
                old = p.get_field(i, field) if field < pr.N_FIELDS else None
                ok = c.set_setting(PROT_BASE + 8 * i + field, v)
                if field >= pr.N_FIELDS:
                    assert not ok
                elif ok:
                    assert p.get_field(i, field) == v
                    assert p.allowed(i, field, v)
                else:
                    assert p.get_field(i, field) == old
        c.tick()
    assert p.ordered()
    # Indices beyond the table, negative and odd ones: refused, never raised.
    for k in (-1, -1000, PROT_BASE - 1, PROT_BASE + 8 * pr.N_PROT, 1 << 29, -(1 << 29)):
        assert not c.set_setting(k, 1)
    assert not c.set_setting(PROT_BASE, True)


def test_every_general_setting_is_written_or_refused_at_and_beyond_its_limits():
    h = ScriptHal()
    c = Controller(h)
    for i in range(len(SETTINGS)):
        name, d, lo, hi = SETTINGS[i]
        for v in (lo - 1, lo, hi, hi + 1, d) + BIG:
            old = getattr(c.cfg, name)
            ok = c.set_setting(i, v)
            if ok:
                assert getattr(c.cfg, name) == v and c.cfg.problem() is None
            else:
                assert getattr(c.cfg, name) == old
        c.set_setting(i, d)
        c.tick()
    assert c.cfg.problem() is None


def test_a_latched_alarm_keeps_the_class_it_tripped_with_until_reset():
    h, c = loaded_controller(grid=False)
    i = pr.index_of("island_under_voltage")
    assert c.set_setting(_ix("island_under_voltage", pr.F_DELAY_MS), 0)
    h.next_in[hal.IN_GEN_V_DV] = 3000                  # 62 %: trips the breaker
    _ticks(c, 3)
    assert c.alarms.latched[i] and c.alarms.worst == pr.CL_TRIP
    assert c.set_setting(_ix("island_under_voltage", pr.F_CLASS), pr.CL_WARNING)
    h.next_in[hal.IN_GEN_V_DV] = 4800
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED         # the breaker opened
    _ticks(c, 50)
    assert c.alarms.worst == pr.CL_TRIP                # the write did not lift the trip
    assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE
    c.command(sq.CMD_RESET)
    c.tick()
    assert c.alarms.worst == pr.CL_NONE


def test_refused_writes_keep_the_old_value_and_are_counted():
    h, c = loaded_controller(grid=False)
    n = c.refused
    assert not c.set_setting(_ix("low_oil_pressure", pr.F_PICKUP), 0)
    assert not c.set_setting(_ix("min_import", pr.F_PICKUP), 999999)
    assert not c.set_setting(0, 50)              # general setting while running
    assert not c.command(99)
    assert c.refused == n + 4
    c.tick()
    assert c.tele[22] == c.refused              # TELE_REFUSED


def test_pickups_that_would_break_their_order_are_refused():
    h, c = loaded_controller(grid=False)
    # a low-oil shutdown above its own pre-alarm, stage 2 inside stage 1
    assert not c.set_setting(_ix("low_oil_pressure", pr.F_PICKUP), 250)
    assert not c.set_setting(_ix("under_voltage_2", pr.F_PICKUP), 7500)
    assert not c.set_setting(_ix("over_voltage_2", pr.F_PICKUP), 10800)
    assert c.prot.ordered()
    assert c.set_setting(_ix("low_oil_pressure_pre", pr.F_PICKUP), 300)
    assert c.set_setting(_ix("low_oil_pressure", pr.F_PICKUP), 250)


def test_ieee1547_category_change_applies_its_profile_or_nothing():
    h = ScriptHal()
    c = Controller(h)
    assert c.set_setting(_ix("over_voltage_1", pr.F_PICKUP), 13000) is False  # > OV2: refused
    assert c.set_setting(_ix("over_voltage_2", pr.F_PICKUP), 13500)
    assert c.set_setting(_ix("over_voltage_1", pr.F_PICKUP), 13000)
    i_cat = [s[0] for s in SETTINGS].index("ieee1547_category")
    assert c.set_setting(i_cat, 3)       # passes through orders no single write could
    assert c.prot.pickup[pr.index_of("under_voltage_1")] == 8800
    assert c.prot.pickup[pr.index_of("over_voltage_1")] == 11000
    assert c.prot.pickup[pr.index_of("over_voltage_2")] == 12000
    assert c.prot.ordered() and c.cfg.ieee1547_category == 3
    assert not c.set_setting(i_cat, 4) and c.cfg.ieee1547_category == 3


def test_contradicting_settings_are_refused_as_a_set():
    c = Config()
    assert not c.set("poles", 12)                # idle 1200 rpm above rated 600
    assert c.poles == 4
    assert c.set_many((("poles", 12), ("idle_rpm_x10", 4500), ("crank_disc_rpm_x10", 2000),
                       ("crank_disc_mhz", 8000))) is not None   # rated 600 rpm: idle still above
    assert c.poles == 4 and c.idle_rpm_x10 == 12000
    # consistent as a whole, in an order no single write could take
    assert c.set_many((("idle_rpm_x10", 7000), ("crank_disc_mhz", 7000), ("poles", 6))) is None
    assert c.rated_rpm_x10 == 12000 and c.idle_rpm_x10 == 7000
    assert "idle_rpm_x10" in c.set_many((("idle_rpm_x10", 12000),))
    for bad in (("sync_df_min_mhz", 300), ("sync_slip_mhz", -100), ("gcb_ms", 50),
                ("i_rated_a_x10", 100)):
        assert not Config().set(bad[0], bad[1]), bad
    c = Config()
    assert c.set("idle_rpm_x10", 6000) and not c.set("crank_disc_rpm_x10", 7000)


def test_a_setting_write_keeps_the_mode_and_the_start_inhibit():
    h = ScriptHal()
    c = Controller(h)
    running_inputs(h, c.cfg, 0, 0)
    h.next_in[hal.IN_MPU_PULSES] = 0
    h.next_in[hal.IN_GEN_PERIOD_100NS] = 0
    h.next_in[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN | hal.DI_REMOTE_START
    assert c.command(sq.CMD_MODE_OFF)
    c.tick()
    assert c.set_setting(0, 50)                 # f_nom_hz, engine stopped
    _ticks(c, 20)
    assert c.seq.mode == sq.MODE_OFF and c.seq.state == sq.ST_STOPPED


# --- e-stop at the output stage --------------------------------------------------

def test_the_islanding_detector_starts_afresh_whenever_power_control_ends():
    # Paralleled, an island found; then an e-stop takes the set straight
    # out of power control: a stale detection must not trip the mains
    # breaker the next time the set is paralleled.
    h, c = _stuck_paralleled()
    c.aai.detected = True
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP
    c.tick()
    assert not c.aai.detected and c.aai.update(0, False) == 0


def test_no_crank_gas_valve_or_ignition_output_while_estop_is_set_in_any_state():
    for st in range(len(sq.STATE_NAMES)):
        h, c = loaded_controller(grid=False)
        c.seq.state = st
        h.next_in[hal.IN_DI] |= hal.DI_ESTOP
        c.tick()
        do = h.last_out[hal.OUT_DO]
        assert do & _ENGINE_OUT == 0, (sq.STATE_NAMES[st], do)
        assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0
        assert do & hal.DO_GCB_OPEN and not do & hal.DO_GCB_CLOSE
    # whatever the sequence asks (every relay at once), at the output stage
    h, c = loaded_controller(grid=False)
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP
    c.meas.update(h.next_in)
    do = c._outputs(c.meas, 0xFFF, 5000, 0, 3000)
    assert do & (_ENGINE_OUT | hal.DO_GCB_CLOSE) == 0 and do & hal.DO_GCB_OPEN
    assert c.out[hal.OUT_FUEL_PCT_X100] == 0 and c.out[hal.OUT_IGN_CUT_PCT_X100] == 0


def test_reset_while_the_estop_is_held_never_cranks_or_loads_the_set():
    h, c = loaded_controller(grid=False)
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP
    _ticks(c, 5)
    # the engine stops
    running_inputs(h, c.cfg, 0, 0)
    h.next_in[hal.IN_MPU_PULSES] = 0
    h.next_in[hal.IN_GEN_PERIOD_100NS] = 0
    h.next_in[hal.IN_DI] = (hal.DI_ESTOP | hal.DI_METER_OK | hal.DI_GAS_PROVEN |
                            hal.DI_REMOTE_START)
    _ticks(c, 300)
    for _ in range(5):
        c.command(sq.CMD_RESET)
        c.command(sq.CMD_START)
        for _ in range(200):
            c.tick()
            assert h.last_out[hal.OUT_DO] & (_ENGINE_OUT | hal.DO_GCB_CLOSE) == 0
    assert c.alarms.latched[pr.index_of("emergency_stop")]
    assert c.seq.state == sq.ST_LOCKOUT


def test_a_controller_that_boots_to_a_closed_generator_breaker_opens_it_on_its_first_tick():
    """A watchdog or power-cycle reset while the set was paralleled: the
    controller boots STOPPED and finds its breaker closed, the engine
    perhaps still turning.  Whatever the mode, run request, grid or
    engine, its first tick asks the breaker open with fuel and gas off,
    and keeps asking while it reads closed: a resetting controller never
    leaves a coasting engine on the bus to be motored, nor closes again."""
    modes = (sq.CMD_MODE_OFF, sq.CMD_MODE_MANUAL, sq.CMD_MODE_AUTO)
    for mode in modes:
        for turning in (False, True):
            for grid in (False, True):
                for remote in (False, True):
                    h = ScriptHal()
                    c = Controller(h)
                    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10 if turning else 0,
                                   1500 if turning else 0)
                    if not turning:
                        h.next_in[hal.IN_GEN_PERIOD_100NS] = 0
                        h.next_in[hal.IN_GEN_V_DV] = 0
                    if grid:
                        _paralleled(h, c)
                    if not remote:
                        h.next_in[hal.IN_DI] &= ~hal.DI_REMOTE_START
                    c.command(mode)
                    c.command(sq.CMD_CLOSE)
                    case = (mode, turning, grid, remote)
                    for n in range(50):
                        c.tick()
                        do = h.last_out[hal.OUT_DO]
                        assert do & hal.DO_GCB_OPEN, (case, n)
                        assert do & (hal.DO_GCB_CLOSE | hal.DO_GAS_VALVE | hal.DO_CRANK) == 0, \
                            (case, n)
                        assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0, (case, n)


# --- 2. breaker failure on every open path ---------------------------------------

def _stuck_paralleled(p_kw_x10=1000):
    h, c = loaded_controller(p_kw_x10, grid=True)
    _paralleled(h, c)
    _ticks(c, 300)                # settled, paralleled, power control
    assert c.seq.state == sq.ST_LOADED and c.seq.fuel_mode == sq.FUEL_POWER
    return h, c


def _open_path_estop(h, c):
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP


def _open_path_hard(h, c):
    h.next_in[hal.IN_DI] |= hal.DI_GAS_LEAK


def _open_path_soft(h, c):
    i = pr.index_of("high_coolant_temp_pre")
    assert c.prot.set_field(i, pr.F_CLASS, pr.CL_SOFT) and c.prot.set_field(i, pr.F_DELAY_MS, 0)
    h.next_in[hal.IN_COOLANT_DC] = 1000


def _open_path_trip(h, c):
    for k in (hal.IN_GEN_IA_A_X10, hal.IN_GEN_IB_A_X10, hal.IN_GEN_IC_A_X10):
        h.next_in[k] = 12000                   # 400 % of rated current: 50 trips


def _open_path_unload(h, c):
    h.next_in[hal.IN_DI] &= ~hal.DI_REMOTE_START
    h.next_in[hal.IN_GEN_P_KW_X10] = 50        # unloaded at once


def _open_path_off(h, c):
    c.command(sq.CMD_MODE_OFF)


def test_breaker_fail_to_open_is_caught_on_every_open_path_and_trips_the_mains_breaker():
    for path in (_open_path_estop, _open_path_hard, _open_path_soft, _open_path_trip,
                 _open_path_unload, _open_path_off):
        h, c = _stuck_paralleled()
        path(h, c)
        seen_open = None
        for k in range(1500):
            c.tick()              # the breaker never opens: its contact stays closed
            do = h.last_out[hal.OUT_DO]
            if do & hal.DO_GCB_OPEN and seen_open is None:
                seen_open = k
            if c.alarms.latched[pr.index_of("gcb_fail_to_open")]:
                break
        name = path.__name__
        assert seen_open is not None, name
        assert c.alarms.latched[pr.index_of("gcb_fail_to_open")], name
        assert (k - seen_open) * c.cfg.tick_ms <= c.cfg.gcb_ms + 3 * c.cfg.tick_ms, (name, k, seen_open)
        c.tick()
        do = h.last_out[hal.OUT_DO]
        assert do & hal.DO_MB_OPEN and not do & hal.DO_MB_CLOSE, name
        assert c.alarms.worst >= pr.CL_HARD, name
        # no fuel once the alarm acted
        _ticks(c, 5)
        assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0, name


def test_a_mains_breaker_that_fails_to_open_is_backed_up_by_the_generator_breaker():
    h, c = _stuck_paralleled()
    c.mains.decoupled = True          # a loss-of-mains trip asks the MB open ...
    for _ in range(100):
        c.tick()                      # ... and its contact stays closed
    assert c.alarms.latched[pr.index_of("mb_fail_to_open")]
    assert h.last_out[hal.OUT_DO] & hal.DO_GCB_OPEN


# --- 3. no dead-bus close onto a dead utility --------------------------------------

def test_no_dead_bus_close_through_a_closed_mains_breaker_onto_a_dead_grid():
    h, c = _available()
    _dead_grid(h)
    for _ in range(2000):
        c.tick()
        assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE
    assert c.seq.state == sq.ST_AVAILABLE


def test_grid_lost_during_sync_waits_for_the_grid_without_amf():
    h, c = _available()
    h.next_in[hal.IN_ZC_DT_100NS] = 166667 // 3      # 120 deg: synchronising
    _ticks(c, 20)
    assert c.seq.state == sq.ST_SYNC
    _dead_grid(h)
    for _ in range(1500):
        c.tick()
        assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE
    _paralleled(h, c, 12000)                          # the grid is back
    _ticks(c, 5)
    assert c.seq.state == sq.ST_SYNC


def test_grid_lost_during_sync_with_amf_opens_the_mains_breaker_before_closing():
    h, c = _available(amf=1, mains_fail_ms=500)
    h.next_in[hal.IN_ZC_DT_100NS] = 166667 // 3
    _ticks(c, 20)
    assert c.seq.state == sq.ST_SYNC
    _dead_grid(h)
    mb_open_at = None
    for k in range(300):
        c.tick()
        do = h.last_out[hal.OUT_DO]
        if do & hal.DO_MB_OPEN and mb_open_at is None:
            mb_open_at = k
            h.next_in[hal.IN_DI] &= ~hal.DI_MB_CLOSED     # the mains breaker opens
        if do & hal.DO_GCB_CLOSE:
            assert mb_open_at is not None and not h.next_in[hal.IN_DI] & hal.DI_MB_CLOSED
            break
    assert h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE     # then carries the site
    assert c.alarms.worst < pr.CL_TRIP


def test_output_interlock_drops_a_close_across_a_closed_mains_breaker_outside_the_window():
    h, c = _available()
    _paralleled(h, c, 6000)                          # 60 deg
    c.meas.update(h.next_in)
    assert not c._outputs(c.meas, hal.DO_GCB_CLOSE, 0, 0, 0) & hal.DO_GCB_CLOSE
    _dead_grid(h)
    c.meas.update(h.next_in)
    assert not c._outputs(c.meas, hal.DO_GCB_CLOSE, 0, 0, 0) & hal.DO_GCB_CLOSE
    assert c.close_blocked == 2


def test_two_sources_never_close_onto_a_dead_bus_at_once():
    h, c = _available(grid=False)
    c.meas.update(h.next_in)
    do = c._outputs(c.meas, hal.DO_GCB_CLOSE | hal.DO_MB_CLOSE, 0, 0, 0)
    assert not (do & hal.DO_GCB_CLOSE and do & hal.DO_MB_CLOSE)
    for _ in range(3):
        do = c._outputs(c.meas, hal.DO_GCB_CLOSE | hal.DO_MB_CLOSE, 0, 0, 0)
        assert not (do & hal.DO_GCB_CLOSE and do & hal.DO_MB_CLOSE)


def test_the_grid_never_closes_onto_a_stopped_engine_behind_a_closed_generator_breaker():
    h, c = _available(grid=False)
    running_inputs(h, c.cfg, 0, 0)
    h.next_in[hal.IN_GEN_PERIOD_100NS] = 0
    h.next_in[hal.IN_GEN_V_DV] = 0
    h.next_in[hal.IN_MPU_PULSES] = 0
    h.next_in[hal.IN_BUS_PERIOD_100NS] = period_for_mhz(60000)
    h.next_in[hal.IN_BUS_V_DV] = 4800
    c.meas.update(h.next_in)
    assert not c._outputs(c.meas, hal.DO_MB_CLOSE, 0, 0, 0) & hal.DO_MB_CLOSE


def test_a_latched_interconnection_trip_blocks_the_grid_but_not_the_sets_own_island():
    # Tripped by the IEEE 1547 under-frequency while paralleled; the grid is
    # then cut off (AMF opened its breaker): the set may carry the site.
    h, c = _available()
    _latch(c, "under_frequency_2", pr.CL_TRIP)
    for _ in range(100):
        c.tick()
        assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE      # not across the MB
    h.next_in[hal.IN_DI] &= ~hal.DI_MB_CLOSED
    _dead_grid(h)
    closed = False
    for _ in range(20):
        c.tick()
        closed = closed or bool(h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE)
    assert closed
    # a local trip still blocks the island close
    h, c = _available(grid=False)
    _latch(c, "overcurrent_inst", pr.CL_TRIP)
    for _ in range(100):
        c.tick()
        assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE


# --- 4. the sync check holds until the contacts touch -------------------------------

def test_close_coil_drops_when_the_window_is_lost_before_the_contacts_touch():
    h, c = _available()
    c.seq.state = sq.ST_CLOSING
    c.seq.close_sync = True
    c.seq.timer_ms = 0
    _paralleled(h, c, -100)
    h.next_in[hal.IN_GEN_PERIOD_100NS] = period_for_mhz(60100)   # 0.1 Hz fast
    _ticks(c, 4)
    c.tick()
    assert h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE
    _paralleled(h, c, -6000)                                       # a 60 deg grid phase jump
    c.tick()
    assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE
    assert c.seq.state == sq.ST_SYNC and c.seq.sync_aborts == 1
    assert c.alarms.worst == pr.CL_NONE                            # not a breaker fault


# --- 5. a shutdown cannot be reset while its danger lasts ---------------------------

def _shut_down_on_oil():
    h, c = loaded_controller(grid=False)
    h.next_in[hal.IN_OIL_KPA] = 30
    _ticks(c, 150)
    assert c.alarms.latched[pr.index_of("low_oil_pressure")]
    return h, c


def test_shutdown_alarm_cannot_be_reset_while_the_engine_still_turns():
    h, c = _shut_down_on_oil()
    running_inputs(h, c.cfg, 11810, 0)            # running down at 1181 rpm, 30 kPa
    h.next_in[hal.IN_OIL_KPA] = 30
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    for _ in range(10):
        c.tick()
        c.command(sq.CMD_RESET)
    assert c.alarms.latched[pr.index_of("low_oil_pressure")]
    for _ in range(100):
        c.tick()
        # (the ignition may stay on for the purge: it burns what is left)
        do = h.last_out[hal.OUT_DO]
        assert do & (hal.DO_CRANK | hal.DO_GAS_VALVE | hal.DO_GCB_CLOSE) == 0
        assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0
        assert c.seq.state == sq.ST_STOPPING


def _stop_engine(h, c):
    running_inputs(h, c.cfg, 0, 0)
    h.next_in[hal.IN_MPU_PULSES] = 0
    h.next_in[hal.IN_GEN_PERIOD_100NS] = 0
    h.next_in[hal.IN_GEN_V_DV] = 0
    h.next_in[hal.IN_OIL_KPA] = 0
    h.next_in[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN | hal.DI_REMOTE_START


def test_reset_after_a_shutdown_never_restarts_until_the_start_input_is_cycled():
    h, c = _shut_down_on_oil()
    _stop_engine(h, c)
    _ticks(c, 200)
    assert c.seq.state == sq.ST_LOCKOUT
    c.command(sq.CMD_RESET)
    for _ in range(500):          # remote start still on: no restart
        c.tick()
        assert c.seq.state == sq.ST_STOPPED
        assert h.last_out[hal.OUT_DO] & _ENGINE_OUT == 0
    h.next_in[hal.IN_DI] &= ~hal.DI_REMOTE_START
    c.tick()
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    c.tick()
    assert c.seq.state == sq.ST_PRESTART       # cycled: a deliberate new start


def test_a_separate_start_rearms_auto_after_a_shutdown_and_a_stray_one_is_refused():
    h, c = _shut_down_on_oil()
    _stop_engine(h, c)
    _ticks(c, 200)
    assert not c.command(sq.CMD_START)          # still latched: refused
    c.command(sq.CMD_RESET)
    _ticks(c, 10)
    assert c.seq.state == sq.ST_STOPPED
    assert c.command(sq.CMD_START)
    c.tick()
    assert c.seq.state == sq.ST_PRESTART
    assert not c.command(sq.CMD_START) or c.seq.mode == sq.MODE_MANUAL


def test_manual_run_and_close_are_forgotten_on_a_shutdown():
    h, c = loaded_controller(grid=False)
    assert c.command(sq.CMD_MODE_MANUAL)
    assert c.command(sq.CMD_START) and c.command(sq.CMD_CLOSE)
    h.next_in[hal.IN_OIL_KPA] = 30
    _ticks(c, 150)
    _stop_engine(h, c)
    h.next_in[hal.IN_DI] &= ~hal.DI_REMOTE_START
    _ticks(c, 200)
    c.command(sq.CMD_RESET)
    _ticks(c, 300)
    assert c.seq.state == sq.ST_STOPPED
    assert not c.seq.manual_run and not c.seq.manual_close


# --- 6. overload and stall named and cleared fast ------------------------------------

def test_a_stalling_engine_trips_its_breaker_and_names_the_stall_first():
    h, c = loaded_controller(grid=False)
    rpm = c.cfg.rated_rpm_x10
    opened = None
    for k in range(150):
        rpm -= 40                     # falling ~2400 rpm/s: stalling under load
        running_inputs(h, c.cfg, rpm, 2400)
        c.tick()
        if h.last_out[hal.OUT_DO] & hal.DO_GCB_OPEN:
            opened = k
            break
    assert opened is not None and opened * c.cfg.tick_ms <= 1000
    assert c.alarms.first_out == pr.index_of("stall")


def test_a_deep_dip_the_engine_recovers_from_does_not_trip_stall():
    h, c = loaded_controller(grid=False)
    rated = c.cfg.rated_rpm_x10
    rpm = rated
    for k in range(300):
        rpm += -60 if k < 30 else (15 if rpm < rated else 0)   # to 80 %, then back
        running_inputs(h, c.cfg, rpm, 1500)
        c.tick()
    assert not c.alarms.latched[pr.index_of("stall")]


# --- 9. the link and begin ------------------------------------------------------

def test_begin_is_refused_after_the_first_tick():
    h, c = loaded_controller(grid=False)     # begun, then ticked
    c.seq.state = sq.ST_LOCKOUT
    assert not c.begin(5000, 18000)
    assert c.seq.state == sq.ST_LOCKOUT
    c2 = Controller(ScriptHal())
    assert c2.begin(5000, 18000) and c2.seq.state == sq.ST_LOADED


# --- 8. inputs at the edges of the range ----------------------------------------

def test_inputs_at_the_edges_of_the_range_are_saturated_not_wrapped():
    h, c = loaded_controller(grid=True)
    for v in (1073741823, -1073741824, 0, 1):
        for i in range(hal.N_IN):
            h.next_in[i] = v
        c.tick()
        m = c.meas
        for x in (m.speed_rpm_x10, m.gen_v_dv, m.p_kw_x10, m.i_max_a_x10, m.phase_cdeg,
                  m.vshift_cdeg, m.rocof_mhz_s, m.slip_f_mhz, m.import_pct_x100):
            assert -1073741824 <= x <= 1073741823
        for x in c.tele:
            assert -1073741824 <= x <= 1073741823
    assert h.safe_calls == 0


def test_an_absurd_speed_reading_trips_overspeed_rather_than_wrapping():
    h, c = loaded_controller(grid=False)
    h.next_in[hal.IN_MPU_PULSES] = 500
    h.next_in[hal.IN_MPU_SPAN_US] = 1
    c.tick()
    c.tick()
    assert c.alarms.latched[pr.index_of("overspeed")]
    assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0
