"""Synchronism check (ANSI 25): may the breaker close now?

Two layers.  The configured window (config sync_*: commercial defaults df
0..+0.3 Hz, dV 5 %, 10 deg) is what the synchroniser aims for; the IEEE 1547
limits for a 0-500 kVA DER (0.3 Hz, 10 %, 20 deg, standards.md) are a hard
interlock on top that no setting can widen.  Every close goes through
`close_permitted`, whoever asks (sequence, Modbus later), so a close command
outside the window is refused.

Units: slip_mhz (generator minus grid), dv_pct_x100 (of rated), phase_cdeg.
"""

from fixpt import const, mul_div

IEEE_DF_MHZ = const(300)
IEEE_DV_PCT_X100 = const(1000)
IEEE_PHASE_CDEG = const(2000)
# A bus below 10 % of rated voltage with no measurable frequency is dead.
DEAD_BUS_PCT_X100 = const(1000)


def advance_cdeg(slip_mhz, close_ms):
    """Angle the generator gains on the grid while the breaker closes:
    slip * 360 deg * t, in 0.01 deg."""
    return mul_div(slip_mhz, 36 * close_ms, 1000)


def slip_target(cfg, contact_cdeg):
    """Slip the synchroniser holds: the configured sync_slip_mhz (positive by
    default, so the set picks up load at the close and never motors).
    contact_cdeg is where a phase-approach profile would plug in; a constant
    slip closed every randomised case in the benchmark, a profile that chased
    the phase did not (the governor lags it at no load)."""
    return cfg.sync_slip_mhz


def in_window(cfg, slip_mhz, dv_pct_x100, phase_cdeg):
    """Inside both the configured window and the IEEE 1547 limits."""
    df_hi = cfg.sync_df_max_mhz if cfg.sync_df_max_mhz < IEEE_DF_MHZ else IEEE_DF_MHZ
    df_lo = cfg.sync_df_min_mhz if cfg.sync_df_min_mhz > -IEEE_DF_MHZ else -IEEE_DF_MHZ
    if slip_mhz > df_hi or slip_mhz < df_lo:
        return False
    if slip_mhz > IEEE_DF_MHZ or slip_mhz < -IEEE_DF_MHZ:
        return False
    dv = dv_pct_x100 if dv_pct_x100 >= 0 else -dv_pct_x100
    if dv > cfg.sync_dv_pct_x100 or dv > IEEE_DV_PCT_X100:
        return False
    ph = phase_cdeg if phase_cdeg >= 0 else -phase_cdeg
    if ph > cfg.sync_phase_cdeg or ph > IEEE_PHASE_CDEG:
        return False
    return True


def close_permitted(cfg, m):
    """May the breaker close now, given Measure m?  The phase is checked both
    now and where it will be when the contacts touch (close time later)."""
    if m.bus_f_mhz == 0 or m.gen_f_mhz == 0:
        return False
    adv = advance_cdeg(m.slip_mhz, cfg.gcb_close_time_ms)
    at_contact = m.phase_cdeg + adv
    return (in_window(cfg, m.slip_mhz, m.dv_pct_x100, m.phase_cdeg) and
            in_window(cfg, m.slip_mhz, m.dv_pct_x100, at_contact))


SLIP_SETTLED_MHZ = const(50)   # slip within this of its target before a dynamic close


def dynamic_close(cfg, m, prev_contact, contact, slip):
    """The dynamic-synchronising close decision, for either breaker: inside
    the window (and the IEEE 1547 interlock) now and at contact, the slip
    settled near its target (a close at the edge of the window swings a
    low-inertia set hard against the grid), and the predicted contact angle
    crossing zero this tick."""
    if not close_permitted(cfg, m):
        return False
    e = m.slip_mhz - slip
    if e > SLIP_SETTLED_MHZ or e < -SLIP_SETTLED_MHZ:
        return False
    if m.slip_mhz >= 0:
        return prev_contact < 0 <= contact
    return prev_contact > 0 >= contact


def bus_dead(m):
    """The mains side of the generator breaker is dead: nothing feeds the bus
    from the grid (the generator's own side is measured separately)."""
    return m.bus_v_pct_x100 < DEAD_BUS_PCT_X100 and m.bus_f_mhz == 0


def bus_dead_gen(m):
    """The site bus is dead from the generator side too (no generator voltage)."""
    return m.v_pct_x100 < DEAD_BUS_PCT_X100
