"""Synchronism check (ANSI 25): may the breaker close now?

Two layers.  The configured window (config sync_*: commercial defaults df
0..+0.3 Hz, dV 5 %, 10 deg) is what the synchroniser aims for; the IEEE 1547
limits for a 0-500 kVA DER (0.3 Hz, 10 %, 20 deg, standards.md) are a hard
interlock on top that no setting can widen.  Every close goes through
`close_permitted`, whoever asks (sequence, Modbus later), so a close command
outside the window is refused.

Units: slip_mhz (generator minus grid), dv_pct_x100 (of rated), phase_cdeg.
"""

from array import array
from fixpt import const, mul_div, sat

IEEE_DF_MHZ = const(300)
IEEE_DV_PCT_X100 = const(1000)
IEEE_PHASE_CDEG = const(2000)
# A dynamic close takes a slip at most this far past sync_slip_mhz (a close
# at the edge of the window swings a low-inertia set hard against the grid).
# 80, not 50: a slower set (biogas) still settling from the approach sat at
# 0.15-0.17 Hz at the crossing, missed it and went round a slip cycle again
# (p95 3.7 s to close); the first swing at 0.18 Hz stays inside -10 % for
# 30 ms at most (tools/bench.py's per-fuel figures).
SLIP_SETTLED_MHZ = const(80)
# A bus below 10 % of rated voltage with no measurable frequency is dead.
DEAD_BUS_PCT_X100 = const(1000)


def advance_cdeg(slip_mhz, close_ms):
    """Angle the generator gains on the grid while the breaker closes:
    slip * 360 deg * t, in 0.01 deg."""
    return mul_div(slip_mhz, 36 * close_ms, 1000)


# Fastest change of the synchroniser's frequency target (mHz per s).
_SLEW_MHZ_S = const(3000)
# Static synchronising: in lock this long before the close.
_LOCK_MS = const(300)
# Dynamic synchronising: the slip in its band this long before a close.
_BAND_MS = const(30)
_RING_N = const(10)
_STEADY_MHZ = const(200)
# The outer slip integrator trims errors up to this (mHz), not the travel.
_TRIM_BAND_MHZ = const(100)
# The approach ends on this long a stretch at the set slip.
_SETTLE_MS = const(150)
# Slowest approach slip the profile uses (a zero slip would never close).
_SLIP_MIN_MHZ = const(20)


def late_cdeg(cfg):
    """How far past the crossing a dynamic close is still taken: a quarter
    of the phase window (2.5 deg by default; the static lock band is the
    same quarter)."""
    return cfg.sync_phase_cdeg >> 2


def wrap_cdeg(a):
    """Angle folded into -180..+180 deg."""
    while a > 18000:
        a -= 36000
    while a <= -18000:
        a += 36000
    return a


def slip_target(cfg, contact_cdeg):
    """Slip the synchroniser aims for now (mHz), given where the contacts
    would meet (contact_cdeg).  With sync_approach_ms = 0: the configured
    sync_slip_mhz, constant (positive by default so the set picks up load at
    the close and never motors); the phase then needs up to a whole slip
    cycle (10 s at 0.1 Hz) to come round.  Otherwise a phase-approach
    profile: the angle still to gain, r, sets the slip,
        slip = sync_slip + r / (360 deg * sync_approach_s),
    capped at sync_travel_mhz (1 Hz), with r less a last stretch of
    _SETTLE_MS at sync_slip, so a far phase comes round fast (the window
    binds the close, not the travel) and the slip is steady in its band
    before the crossing.  The time constant is bounded below by the speed
    loop: 0.5 s with the governor's acceleration feed-forward following the
    target and its integral at a fifth while synchronising; at 0.45 s the
    approach already overshoots the crossing more often (tools/bench.py's
    per-fuel figures; a constant-braking sqrt(2 a r) profile was tried and
    hunted).  The phase always comes round forwards: backing off a
    phase just past the crossing saved nothing in the benchmark (the slip
    must reverse through the crossing, so that close could not be taken)
    and a crossing missed goes round again rather than hunting about zero.
    A negative sync_slip mirrors the whole profile."""
    s0 = cfg.sync_slip_mhz
    tau = cfg.sync_approach_ms
    if tau == 0:
        return s0
    neg = s0 < 0
    a0 = -s0 if neg else s0
    if a0 < _SLIP_MIN_MHZ:
        a0 = _SLIP_MIN_MHZ
    c = -contact_cdeg if neg else contact_cdeg
    lim = cfg.sync_travel_mhz
    if lim < a0:
        lim = a0
    if 0 <= c <= late_cdeg(cfg):
        # Just past the crossing, inside the late quarter of the phase window
        # where dynamic_close still takes it: hold the set slip, do not set
        # off round again.
        return -a0 if neg else a0
    # c > 0: past the crossing.  r: the angle still to gain (0.01 deg),
    # less a last stretch of _SETTLE_MS at sync_slip: the slip must be
    # steady in its band for _BAND_MS before the crossing, and the speed
    # loop lags the profile (without it a slower set - biogas - arrived
    # still braking and went round again).
    r = (-c if c <= 0 else 36000 - c) - advance_cdeg(a0, _SETTLE_MS)
    if r < 0:
        r = 0
    # r (0.01 deg) / (360 deg * tau) in mHz = r * 1000 / (36 * tau_ms)
    a = a0 + mul_div(r, 1000, 36 * tau)
    if a > lim:
        a = lim
    return -a if neg else a


class Synchroniser:
    """Dynamic (slip) or static (phase-lock) synchronising of one breaker:
    the generator breaker from the sequence, or the mains breaker when an
    island is put back on the grid.  Each tick, step() sets f_target_mhz (the
    generator frequency to hold) and says whether to close now.

    The governor alone leaves a slow slip error at no load (and an island's
    load pulls its frequency): an outer integrator on the slip itself (2 /s)
    removes it within a second."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.slip_target_mhz = cfg.sync_slip_mhz
        self.f_target_mhz = cfg.f_nom_mhz
        self.contact_cdeg = 0
        self._ring = array("i", [0] * _RING_N)    # the filtered slip, last _RING_N ticks
        self.reset()

    def reset(self):
        """A fresh synchronising attempt (the ring refills before use)."""
        self._corr_q8 = 0
        self._fresh = True
        self._lock_ms = 0
        self._band_ms = 0
        self._ri = 0
        self._filled = False
        self._sum = 0
        ring = self._ring
        for i in range(_RING_N):
            ring[i] = 0

    def step(self, m, close_ms):
        cfg = self.cfg
        static = cfg.sync_static
        slip = m.slip_f_mhz
        # Lead the close by more than the breaker's own time: the phase read
        # is from the last zero-crossing pair (half a cycle old on average),
        # and taking the tick nearest the crossing rather than the first one
        # past it saves half a tick (together ~13 ms at 60 Hz, 0.3 deg at
        # 0.07 Hz of slip).
        close_ms = close_ms + cfg.tick_ms // 2 + 500 // cfg.f_nom_hz
        contact = wrap_cdeg(m.phase_cdeg + advance_cdeg(slip, close_ms))
        self.contact_cdeg = contact
        if static:
            # Phase lock: the slip target pulls against the phase error
            # (180 deg -> 0.5 % of rated, a 1.7 s time constant).
            target = -mul_div(m.phase_cdeg, cfg.f_nom_mhz // 10, 360000)
        else:
            target = slip_target(cfg, contact)
        self.slip_target_mhz = target
        # Outer slip integrator, 2 /s (5/256 per 10 ms tick), in mHz << 8 so
        # that small errors still integrate.  It trims the small steady
        # error only: while the set travels or brakes (the error over
        # _TRIM_BAND_MHZ) it holds, or it winds up and overshoots the travel.
        lim = (cfg.f_nom_mhz // 50) << 8
        e = target - slip
        corr = self._corr_q8
        if -_TRIM_BAND_MHZ <= e <= _TRIM_BAND_MHZ:
            corr = sat(corr + e * 5 * cfg.tick_ms // 10, -lim, lim)
        self._corr_q8 = corr
        f = m.bus_f_f_mhz + target + (corr >> 8)
        # Slew-limit the target: a step into the speed loop overshoots.
        prev_f = self.f_target_mhz
        if self._fresh:
            # Start from where the generator is.
            self._fresh = False
            prev_f = m.bus_f_f_mhz + slip
        step = _SLEW_MHZ_S * cfg.tick_ms // 1000
        if f > prev_f + step:
            f = prev_f + step
        elif f < prev_f - step:
            f = prev_f - step
        self.f_target_mhz = f
        if static:
            # Locked: a quarter of the phase window and under 20 mHz of
            # slip, held for _LOCK_MS, so the close is not taken on the way
            # through.
            band = late_cdeg(cfg)
            if -band <= contact <= band and -_SLIP_MIN_MHZ <= slip <= _SLIP_MIN_MHZ:
                if self._lock_ms < _LOCK_MS:
                    self._lock_ms += cfg.tick_ms
            else:
                self._lock_ms = 0
            return self._lock_ms >= _LOCK_MS and close_permitted(cfg, m, close_ms)
        # The slip in its band for _BAND_MS: not a crossing caught while the
        # synchroniser is still accelerating the set (the filtered slip lags).
        # Nor while it changes faster than 2 Hz/s (200 mHz over the ring's
        # 10 ticks): the advance angle assumes a steady slip (2 Hz/s over a
        # 70 ms close moves the contact angle under 2 deg).  The band is
        # judged on the ring's mean (one cycle's measurement noise, +-15 mHz,
        # near the 20 mHz floor is not a slip out of band) and on the slip
        # now (a set accelerating through the band has a mean inside it
        # while its slip is already past: closing there swung it hard).
        ring = self._ring
        k = self._ri
        d = slip - ring[k]
        self._sum += d
        ring[k] = slip
        self._ri = k + 1 if k + 1 < _RING_N else 0
        steady = -_STEADY_MHZ <= d <= _STEADY_MHZ
        if (self._filled and slip_in_band(cfg, self._sum // _RING_N) and steady
                and slip_in_band(cfg, slip)):
            self._band_ms = self._band_ms + cfg.tick_ms if self._band_ms < _BAND_MS else _BAND_MS
        else:
            self._band_ms = 0
        if self._ri == 0:
            self._filled = True
        return self._band_ms >= _BAND_MS and dynamic_close(cfg, m, contact, close_ms)


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


def close_permitted(cfg, m, close_ms):
    """May the breaker close now, given Measure m?  The phase is checked both
    now and where it will be when the contacts touch (close_ms later).  The
    slip is the filtered one: one cycle's jitter is not the slip."""
    if m.bus_f_mhz == 0 or m.gen_f_mhz == 0:
        return False
    slip = m.slip_f_mhz
    at_contact = wrap_cdeg(m.phase_cdeg + advance_cdeg(slip, close_ms))
    return (in_window(cfg, slip, m.dv_pct_x100, m.phase_cdeg) and
            in_window(cfg, slip, m.dv_pct_x100, at_contact))


def slip_in_band(cfg, slip_mhz):
    """The slip a dynamic close may be taken at: on the side of sync_slip_mhz
    and not past it by more than 80 mHz - at least 20 mHz (the filtered
    slip's noise is ~10 mHz) so the set never arrives motoring, and not far
    above what the approach aims at, so it does not swing hard against the
    grid."""
    s0 = cfg.sync_slip_mhz
    if s0 >= 0:
        return _SLIP_MIN_MHZ <= slip_mhz <= s0 + SLIP_SETTLED_MHZ
    return s0 - SLIP_SETTLED_MHZ <= slip_mhz <= -_SLIP_MIN_MHZ


def dynamic_close(cfg, m, contact, close_ms):
    """The dynamic-synchronising close decision, for either breaker: inside
    the window (and the IEEE 1547 interlock) now and at contact, and the
    predicted contact angle at zero or just past it: from the crossing to a
    quarter of the phase window later (2.5 deg by default) on the slip's
    side.  The crossing tick itself lands there (a tick moves the contact
    under 1.1 deg at the IEEE 0.3 Hz); the quarter also takes a crossing the
    slip reached a tick or two before it had been in its band for _BAND_MS
    (the ring's mean lags a set still settling), rather than going round a
    whole slip cycle again (biogas' p95 time to close was 3.7 s on that).
    (The Synchroniser wants the slip in its band for _BAND_MS first.)"""
    if not close_permitted(cfg, m, close_ms):
        return False
    late = late_cdeg(cfg)
    if cfg.sync_slip_mhz >= 0:
        return 0 <= contact <= late
    return -late <= contact <= 0


def bus_dead(m):
    """The mains side of the generator breaker is dead: nothing feeds the bus
    from the grid (the generator's own side is measured separately)."""
    return m.bus_v_pct_x100 < DEAD_BUS_PCT_X100 and m.bus_f_mhz == 0


def bus_dead_gen(m):
    """The site bus is dead from the generator side too (no generator voltage)."""
    return m.v_pct_x100 < DEAD_BUS_PCT_X100
