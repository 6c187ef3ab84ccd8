"""Synchronism check: the IEEE 1547 limits are a hard interlock, and a close
command outside the window is refused whoever sends it."""

import hal
import synccheck
import sequencer as sq
from config import Config
from controller import Controller
from helpers import ScriptHal, running_inputs, period_for_mhz


class _M:
    def __init__(self, slip, dv, phase):
        self.slip_mhz = slip
        self.slip_f_mhz = slip
        self.dv_pct_x100 = dv
        self.phase_cdeg = phase
        self.bus_f_mhz = 60000
        self.gen_f_mhz = 60000 + slip


def test_window_accepts_inside_and_refuses_outside():
    c = Config()
    assert synccheck.close_permitted(c, _M(100, 0, 0), 50)
    assert not synccheck.close_permitted(c, _M(400, 0, 0), 50)      # slip
    assert not synccheck.close_permitted(c, _M(-50, 0, 0), 50)      # negative slip (default)
    assert not synccheck.close_permitted(c, _M(100, 600, 0), 50)    # voltage
    assert not synccheck.close_permitted(c, _M(100, 0, 1500), 50)   # phase


def test_ieee_limits_hold_whatever_the_settings():
    c = Config()
    assert c.set("sync_phase_cdeg", 2000) and c.set("sync_dv_pct_x100", 1000)
    assert not c.set("sync_df_max_mhz", 301)                    # refused outright
    assert not synccheck.in_window(c, 100, 0, 2100)             # 21 deg
    assert not synccheck.in_window(c, 100, 1100, 0)             # 11 %
    assert synccheck.in_window(c, 100, 900, 1900)


def test_advance_angle_is_slip_times_close_time():
    assert synccheck.advance_cdeg(100, 50) == 180               # 0.1 Hz x 50 ms = 1.8 deg


def test_manual_close_command_out_of_sync_is_never_granted():
    h = ScriptHal()
    c = Controller(h)
    assert c.command(sq.CMD_MODE_MANUAL)
    running_inputs(h, c.cfg, c.cfg.rated_rpm_x10, 0)
    v = h.next_in
    v[hal.IN_DI] = (hal.DI_METER_OK | hal.DI_GAS_PROVEN | hal.DI_MB_CLOSED)
    v[hal.IN_BUS_PERIOD_100NS] = period_for_mhz(60000)
    v[hal.IN_BUS_V_DV] = 4800
    v[hal.IN_ZC_DT_100NS] = 166667 // 4          # 90 deg apart
    c.seq.state = sq.ST_AVAILABLE
    c.seq.manual_run = True
    assert c.command(sq.CMD_CLOSE)               # accepted as a request ...
    for _ in range(300):
        c.tick()
        assert not h.last_out[hal.OUT_DO] & hal.DO_GCB_CLOSE   # ... never granted
    assert c.seq.state in (sq.ST_SYNC, sq.ST_AVAILABLE)


def test_a_dynamic_close_takes_the_crossing_and_the_late_quarter_of_the_window_only():
    c = Config()                        # 10 deg window: the late quarter is 2.5 deg
    close_ms = 50
    adv = synccheck.advance_cdeg(100, close_ms)
    for contact, ok in ((-100, False), (0, True), (120, True), (250, True), (260, False),
                        (1000, False)):
        m = _M(100, 0, contact - adv)   # the phase now that puts the contacts there
        assert synccheck.dynamic_close(c, m, contact, close_ms) == ok, contact
    # A negative set slip mirrors it.
    assert c.set_many([("sync_df_min_mhz", -300), ("sync_df_max_mhz", 0),
                       ("sync_slip_mhz", -100)]) is None
    adv = synccheck.advance_cdeg(-100, close_ms)
    for contact, ok in ((100, False), (0, True), (-250, True), (-260, False)):
        m = _M(-100, 0, contact - adv)
        assert synccheck.dynamic_close(c, m, contact, close_ms) == ok, contact


def test_just_past_the_crossing_the_profile_holds_the_set_slip_rather_than_going_round():
    c = Config()
    c.set_many([("sync_approach_ms", 500)])
    assert synccheck.slip_target(c, 100) == c.sync_slip_mhz       # 1 deg past: hold
    assert synccheck.slip_target(c, 250) == c.sync_slip_mhz
    assert synccheck.slip_target(c, 400) == c.sync_travel_mhz     # 4 deg past: round again


def _sync_ticks(s, slips, phase_of):
    """Step a Synchroniser through filtered slips (mHz); True once it closes."""
    for i, sl in enumerate(slips):
        m = _M(sl, 0, phase_of(i))
        m.bus_f_f_mhz = 60000
        if s.step(m, 50):
            return i
    return None


def test_no_close_while_the_slip_now_is_past_its_band_even_with_the_mean_inside():
    c = Config()
    top = c.sync_slip_mhz + synccheck.SLIP_SETTLED_MHZ
    # Ten ticks at the set slip fill the ring; then the slip jumps past the
    # band's top (a set accelerating through it) with the contacts meeting.
    slips = [c.sync_slip_mhz] * 10 + [top + 40] * 3
    adv = synccheck.advance_cdeg(top + 40, 50 + c.tick_ms // 2 + 500 // c.f_nom_hz)
    phase = lambda i: -2000 if i < 10 else -adv + 50
    assert _sync_ticks(synccheck.Synchroniser(c), slips, phase) is None
    # The same crossing at a slip inside the band is taken.
    slips = [c.sync_slip_mhz] * 13
    adv = synccheck.advance_cdeg(c.sync_slip_mhz, 50 + c.tick_ms // 2 + 500 // c.f_nom_hz)
    phase = lambda i: -2000 if i < 10 else -adv + 50
    assert _sync_ticks(synccheck.Synchroniser(c), slips, phase) is not None


def test_at_the_edges_of_their_ranges_the_late_close_and_wider_band_stay_inside_ieee_1547():
    """sync_slip_mhz at its 250 mHz maximum puts the band's top at 330 mHz
    and sync_phase_cdeg at its 20 deg maximum the late quarter at 5 deg:
    neither lets a close through past the IEEE 0.3 Hz / 20 deg interlock."""
    c = Config()
    assert c.set_many([("sync_df_max_mhz", 300), ("sync_slip_mhz", 250),
                       ("sync_phase_cdeg", 2000)]) is None
    assert synccheck.slip_in_band(c, 320)             # the band alone would take it ...
    close_ms = 50
    for slip in (310, 320, 330):
        adv = synccheck.advance_cdeg(slip, close_ms)
        m = _M(slip, 0, -adv)                         # the contacts meeting at 0 deg
        assert not synccheck.dynamic_close(c, m, 0, close_ms), slip   # ... the interlock not
    # The late quarter is 5 deg; a contact past it, or past the window, is refused.
    adv = synccheck.advance_cdeg(250, close_ms)
    assert synccheck.dynamic_close(c, _M(250, 0, 500 - adv), 500, close_ms)
    assert not synccheck.dynamic_close(c, _M(250, 0, 510 - adv), 510, close_ms)
    # And a whole Synchroniser run at 320 mHz with the phase sweeping through
    # zero never closes.
    s = synccheck.Synchroniser(c)
    step_cdeg = synccheck.advance_cdeg(320, c.tick_ms)
    phase = lambda i: -3000 + i * step_cdeg
    assert _sync_ticks(s, [320] * 60, phase) is None
