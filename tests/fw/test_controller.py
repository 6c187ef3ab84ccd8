"""The controller tick: order, outputs, fail-safe and no allocation."""

import hal
from config import SETTINGS
from controller import Controller, TELE_STATUS, STATUS_FAILSAFE
from helpers import ScriptHal, running_inputs, is_micropython


def _ctl():
    h = ScriptHal()
    c = Controller(h)
    return h, c


def test_stopped_controller_commands_no_fuel():
    h, c = _ctl()
    running_inputs(h, c.cfg, 18000, 0)
    c.tick()
    assert h.last_out[hal.OUT_FUEL_PCT_X100] == 0


def test_begin_is_bumpless():
    h, c = _ctl()
    c.begin(1700, 18000)
    running_inputs(h, c.cfg, 18000, 0)
    c.tick()
    assert abs(h.last_out[hal.OUT_FUEL_PCT_X100] - 1700) <= 20


def test_settings_are_refused_while_running():
    h, c = _ctl()
    idx = [s[0] for s in SETTINGS].index("kp_pu_x100")
    assert c.set_setting(idx, 300)
    c.begin(1700, 18000)
    assert not c.set_setting(idx, 500)
    assert c.cfg.kp_pu_x100 == 300
    assert not c.set_setting(len(SETTINGS), 1)


def test_fail_safe_cuts_fuel_and_tells_the_hal():
    h, c = _ctl()
    c.begin(4000, 18000)
    c.fail_safe()
    assert c.out[hal.OUT_FUEL_PCT_X100] == 0
    assert c.tele[TELE_STATUS] == STATUS_FAILSAFE
    assert h.safe_calls == 1


def test_tick_does_not_allocate():
    if not is_micropython():
        return   # heap_lock exists only on MicroPython; CPython run is a no-op
    import micropython
    import gc
    h, c = _ctl()
    c.begin(1700, 18000)
    running_inputs(h, c.cfg, 17900, 700)
    c.tick()
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(1000):
            # vary the inputs so every branch of the tick runs
            h.next_in[hal.IN_GEN_P_KW_X10] = 700 if i % 200 < 100 else 0
            h.next_in[hal.IN_MPU_SPAN_US] = 9800 + (i % 50) * 4
            c.tick()
    finally:
        micropython.heap_unlock()


def test_a_hal_that_does_not_use_telemetry_gets_the_same_outputs_and_no_telemetry_fill():
    # A board's own HAL (WANTS_TELE False) skips the telemetry row; what the
    # controller commands must not depend on it, through a load step, a
    # breaker opening and a trip.
    from helpers import ScriptHal
    from controller import Controller

    class QuietHal(ScriptHal):
        WANTS_TELE = False

    runs = []
    for cls in (ScriptHal, QuietHal):
        h = cls()
        c = Controller(h)
        running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 1000)
        h.next_in[hal.IN_DI] |= hal.DI_MB_CLOSED
        c.begin(5000, c.cfg.rated_rpm_x10)
        seen = []
        for k in range(400):
            if k == 100:
                running_inputs(h, c.cfg, c.cfg.rated_rpm_x10 * 95 // 100, 1800, k * 10)
            elif k == 200:
                h.next_in[hal.IN_DI] &= ~hal.DI_MB_CLOSED
            elif k == 300:
                h.next_in[hal.IN_GEN_V_DV] = c.cfg.v_rated_dv * 13 // 10
            h.next_in[hal.IN_T_MS] = k * 10
            c.tick()
            seen.append(tuple(h.last_out))
        runs.append((seen, tuple(c.tele)))
    assert runs[0][0] == runs[1][0]
    assert any(runs[0][1]) and not any(runs[1][1])
