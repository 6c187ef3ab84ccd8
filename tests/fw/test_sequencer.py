"""Start/stop sequence against a scripted engine: crank attempts and rest,
overcrank, crank disconnect by either means, warm-up and cool-down timers,
fail to stop, alarm classes, modes and commands."""

import hal
import protection as pr
import sequencer as sq
from controller import Controller
from helpers import ScriptHal, running_inputs, period_for_mhz


def _idle_inputs(h, cfg):
    """Stopped engine, everything healthy, breaker open."""
    running_inputs(h, cfg, 0, 0)
    v = h.next_in
    v[hal.IN_MPU_PULSES] = 0
    v[hal.IN_MPU_SPAN_US] = 0
    v[hal.IN_GEN_PERIOD_100NS] = 0
    v[hal.IN_GEN_V_DV] = 0
    v[hal.IN_OIL_KPA] = 0
    v[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN


def _ctl(**settings):
    h = ScriptHal()
    c = Controller(h)
    for k in settings:
        assert c.cfg.set(k, settings[k]), k
    c._build()
    _idle_inputs(h, c.cfg)
    return h, c


def _run_until(c, pred, max_ticks):
    for k in range(max_ticks):
        c.tick()
        if pred():
            return k + 1
    return None


def _spin(h, c, rpm_x10):
    """The engine turns at rpm_x10: pickup, frequency and voltage follow."""
    running_inputs(h, c.cfg, rpm_x10, 0)
    di = h.next_in[hal.IN_DI] & ~hal.DI_GCB_CLOSED
    h.next_in[hal.IN_DI] = di


def test_no_start_without_a_run_request():
    h, c = _ctl()
    for _ in range(100):
        c.tick()
    assert c.seq.state == sq.ST_STOPPED
    assert h.last_out[hal.OUT_DO] & hal.DO_CRANK == 0


def test_remote_start_proves_gas_then_cranks_with_fuel_and_ignition():
    h, c = _ctl(prestart_ms=1000)
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    c.tick()
    assert c.seq.state == sq.ST_PRESTART
    n = _run_until(c, lambda: c.seq.state == sq.ST_CRANK, 200)
    assert n is not None and abs(n * 10 - 1000) <= 20
    c.tick()
    do = h.last_out[hal.OUT_DO]
    assert do & hal.DO_CRANK and do & hal.DO_GAS_VALVE and do & hal.DO_IGNITION
    assert h.last_out[hal.OUT_FUEL_PCT_X100] == c.cfg.start_fuel_pct_x100


def test_unproven_gas_train_never_cranks_and_locks_out():
    h, c = _ctl(prestart_ms=500)
    h.next_in[hal.IN_DI] = hal.DI_METER_OK | hal.DI_REMOTE_START
    _run_until(c, lambda: c.seq.state == sq.ST_LOCKOUT, 300)
    assert c.seq.state == sq.ST_LOCKOUT
    assert c.alarms.latched[pr.index_of("gas_valve_proving")]


def test_three_attempts_with_rest_then_overcrank():
    h, c = _ctl(prestart_ms=0, crank_ms=2000, crank_rest_ms=1000, crank_attempts=3)
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    cranking = 0
    resting = 0
    for _ in range(1500):
        c.tick()
        if c.seq.state == sq.ST_CRANK:
            cranking += 1
        if c.seq.state == sq.ST_CRANK_REST:
            resting += 1
        if c.seq.state == sq.ST_LOCKOUT:
            break
    assert c.seq.state == sq.ST_LOCKOUT
    assert c.alarms.latched[pr.index_of("overcrank")]
    assert abs(cranking - 3 * 200) <= 3      # 3 x 2 s of cranking
    assert abs(resting - 2 * 100) <= 3       # 2 rests of 1 s between them


def test_crank_disconnects_on_speed_pickup():
    h, c = _ctl(prestart_ms=0)
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    _run_until(c, lambda: c.seq.state == sq.ST_CRANK, 10)
    _spin(h, c, 4500)
    c.tick()
    c.tick()
    assert c.seq.state == sq.ST_WARMUP
    assert h.last_out[hal.OUT_DO] & hal.DO_CRANK == 0


def test_crank_disconnects_on_frequency_when_the_pickup_is_dead():
    h, c = _ctl(prestart_ms=0)
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    _run_until(c, lambda: c.seq.state == sq.ST_CRANK, 10)
    _spin(h, c, 4500)
    h.next_in[hal.IN_MPU_PULSES] = 0
    h.next_in[hal.IN_MPU_SPAN_US] = 0
    h.next_in[hal.IN_GEN_PERIOD_100NS] = period_for_mhz(15000)
    c.tick()
    c.tick()
    assert c.seq.state == sq.ST_WARMUP


def _start_to(h, c, state, max_ticks=6000):
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    if c.seq.state < sq.ST_CRANK:
        _run_until(c, lambda: c.seq.state == sq.ST_CRANK, 1000)
    # The engine follows the governor's set point as a perfect plant would.
    for k in range(max_ticks):
        _spin(h, c, max(c.seq.sp_rpm_x10, 4500))
        h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
        c.tick()
        if c.seq.state == state:
            return k + 1
    return None


def test_warm_up_at_idle_then_ramp_to_rated_and_available():
    h, c = _ctl(prestart_ms=0, warmup_ms=3000, stabilise_ms=1000, dead_bus_close=0)
    n = _start_to(h, c, sq.ST_RAMP)
    assert n is not None
    assert c.seq.sp_rpm_x10 == c.cfg.idle_rpm_x10
    n2 = _start_to(h, c, sq.ST_AVAILABLE)
    assert n2 is not None
    assert c.seq.sp_rpm_x10 == c.cfg.rated_rpm_x10
    c.tick()
    assert h.last_out[hal.OUT_DO] & hal.DO_READY


def test_warm_up_lasts_its_setting():
    h, c = _ctl(prestart_ms=0, warmup_ms=4000)
    _start_to(h, c, sq.ST_WARMUP)
    n = _start_to(h, c, sq.ST_RAMP)
    assert abs(n * 10 - 4000) <= 20


def test_island_closes_onto_dead_bus_when_available():
    h, c = _ctl(prestart_ms=0, warmup_ms=0, stabilise_ms=500)
    _start_to(h, c, sq.ST_CLOSING)
    assert h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE or c.seq.state == sq.ST_CLOSING


def test_stop_opens_breaker_cools_down_for_its_time_then_stops():
    h, c = _ctl(cooldown_ms=3000)
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 500)
    c.begin(4000, c.cfg.rated_rpm_x10)
    c.tick()
    assert c.seq.state == sq.ST_LOADED
    h.next_in[hal.IN_DI] &= ~hal.DI_REMOTE_START
    c.tick()
    assert c.seq.state == sq.ST_OPENING
    c.tick()
    assert h.last_out[hal.OUT_DO] & hal.DO_GCB_OPEN
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    c.tick()
    assert c.seq.state == sq.ST_COOLDOWN
    n = _run_until(c, lambda: c.seq.state == sq.ST_STOPPING, 1000)
    assert abs(n * 10 - 3000) <= 20
    assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0
    assert h.last_out[hal.OUT_DO] & hal.DO_GAS_VALVE == 0
    _idle_inputs(h, c.cfg)
    assert _run_until(c, lambda: c.seq.state == sq.ST_STOPPED, 20) is not None


def test_fail_to_stop_is_detected_after_its_time():
    h, c = _ctl(cooldown_ms=0, stop_ms=5000)
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 0)
    c.begin(2000, c.cfg.rated_rpm_x10)
    h.next_in[hal.IN_DI] &= ~(hal.DI_REMOTE_START | hal.DI_GCB_CLOSED)
    _run_until(c, lambda: c.seq.state == sq.ST_STOPPING, 100)
    n = _run_until(c, lambda: c.seq.state == sq.ST_FAIL_TO_STOP, 1000)   # still turning
    assert abs(n * 10 - 5000) <= 20
    c.tick()
    assert c.alarms.latched[pr.index_of("fail_to_stop")]


def test_hard_shutdown_cuts_fuel_and_opens_breaker_in_the_same_tick():
    h, c = _ctl()
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 1000)
    c.begin(5000, c.cfg.rated_rpm_x10)
    c.tick()
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP
    c.tick()
    assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0
    do = h.last_out[hal.OUT_DO]
    assert do & hal.DO_GCB_OPEN and not do & hal.DO_GAS_VALVE
    assert c.alarms.worst == pr.CL_ESTOP


def test_reset_cannot_clear_an_alarm_whose_condition_is_present():
    h, c = _ctl()
    h.next_in[hal.IN_DI] |= hal.DI_ESTOP
    c.tick()
    c.tick()
    assert c.seq.state == sq.ST_LOCKOUT
    assert c.command(sq.CMD_RESET)
    c.tick()
    assert c.alarms.latched[pr.index_of("emergency_stop")]
    assert c.seq.state == sq.ST_LOCKOUT
    h.next_in[hal.IN_DI] &= ~hal.DI_ESTOP
    c.tick()
    c.command(sq.CMD_RESET)
    c.tick()
    assert not c.alarms.latched[pr.index_of("emergency_stop")]
    assert c.seq.state == sq.ST_STOPPED


def test_manual_mode_start_and_stop_commands_and_auto_input_ignored():
    h, c = _ctl(prestart_ms=0)
    assert not c.command(sq.CMD_START)       # AUTO: the input runs the set
    assert c.command(sq.CMD_MODE_MANUAL)
    h.next_in[hal.IN_DI] |= hal.DI_REMOTE_START
    for _ in range(10):
        c.tick()
    assert c.seq.state == sq.ST_STOPPED      # MANUAL ignores the remote input
    assert c.command(sq.CMD_START)
    c.tick()
    assert c.seq.state == sq.ST_PRESTART
    assert c.command(sq.CMD_STOP)
    c.tick()
    assert c.seq.state == sq.ST_STOPPED


def test_off_mode_stops_at_once_without_cool_down():
    h, c = _ctl(cooldown_ms=60000)
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 0)
    c.begin(2000, c.cfg.rated_rpm_x10)
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    c.tick()
    c.command(sq.CMD_MODE_OFF)
    c.tick()
    assert c.seq.state == sq.ST_STOPPING


def test_a_breaker_close_command_cannot_bypass_a_trip_alarm():
    h, c = _ctl()
    c.command(sq.CMD_MODE_MANUAL)
    i = pr.index_of("overcurrent_inst")
    c.alarms.latched[i] = 1
    c.alarms.cls_at[i] = c.prot.cls[i]       # as latching it does
    c.alarms._summarise()
    c.seq.state = sq.ST_AVAILABLE
    c.seq.manual_run = True
    # Refused at once (a clear answer: Modbus replies 04), and even a
    # request already standing is never granted.
    assert not c.command(sq.CMD_CLOSE)
    c.seq.manual_close = True
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 0)
    h.next_in[hal.IN_DI] &= ~hal.DI_GCB_CLOSED
    for _ in range(20):
        c.tick()
        assert h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE == 0   # ... never granted
