"""Speed governor: isochronous PI(D) with optional droop, kW feed-forward,
explicit anti-windup, and actuator position and rate limits per fuel.

Why feed-forward: a spark-ignited gas engine with its mixer upstream of the
turbo answers a fuel change only after 0.1-0.5 s of mixture transport and
manifold filling.  A plain PID waits for the speed to fall before it opens the
valve; the metering front end sees a load step within one cycle, so the
governor moves the valve to the commissioned fuel-map position for the new kW
at once and leaves the PI to trim the map error.  That is where this governor
beats a plain PID (and GGOV1) on load acceptance.

Anti-windup is explicit: the integrator stops while the position or rate
limiter holds the output and the error pushes further into that limit, and
the integrator state is bounded to the fuel range around the feed-forward.

Units: speed rpm_x10, actuator fuel_pct_x100 (0..10000), integrator in
fuel_pct_x100 << 12.
"""

from fixpt import mul_div, mul_shr, sat


class Governor:
    def __init__(self, cfg):
        self.cfg = cfg
        self.integ_q12 = 0
        self.fuel_pct_x100 = 0
        self.ref_rpm_x10 = cfg.rated_rpm_x10
        self.sp_rpm_x10 = cfg.rated_rpm_x10   # speed set point (the sequencer ramps it)
        self.fuel_max_now = cfg.fuel_max      # ceiling now (knock derate lowers it)
        self.err_rpm_x10 = 0
        self.ff_pct_x100 = 0
        self.p_pct_x100 = 0
        self.d_pct_x100 = 0
        self.limited = 0  # 0 free, 1 position limit, 2 rate limit
        self._last_speed = cfg.rated_rpm_x10
        self._last_sp = cfg.rated_rpm_x10
        self._bumpless = False
        self._power_mode = False
        self.sync_gain = False    # synchronising: the no-load gain set (dual dynamics)

    def preset(self, fuel_pct_x100, speed_rpm_x10):
        """Bumpless start: the next update outputs `fuel_pct_x100` (its
        integrator absorbs whatever feed-forward and P the measurements give)."""
        self.fuel_pct_x100 = fuel_pct_x100
        self.integ_q12 = (fuel_pct_x100 - self.cfg.fuel_nl) << 12
        self._last_speed = speed_rpm_x10
        self._last_sp = speed_rpm_x10     # the sequencer starts its ramp here
        self._bumpless = True

    def update_power(self, p_ref_kw_x10, p_kw_x10, speed_rpm_x10):
        """Grid-parallel: the grid holds the speed, so fuel follows the power
        reference: feed-forward from the fuel map at the reference plus a PI
        on the power error, with the same limits and anti-windup as in speed
        mode.  The first call after speed mode is bumpless."""
        cfg = self.cfg
        pr_ = cfg.p_fuel_rated_kw_x10
        ref_pu = mul_div(sat(p_ref_kw_x10, 0, pr_), 10000, pr_)
        ff = cfg.fuel_nl + mul_div(cfg.ff_span, ref_pu, 10000)
        self.ff_pct_x100 = ff
        err = sat(p_ref_kw_x10 - p_kw_x10, -pr_, pr_)
        p_term = mul_div(err, cfg.pc_kp_x1000, 1000)
        # Frequency guard: outside +-0.5 % the speed loop's proportional term
        # joins in, so a set that suddenly carries the site (the grid has
        # gone, not yet detected) is not throttled by the power loop.
        lim = cfg.rated_rpm_x10 // 5
        db = cfg.rated_rpm_x10 // 200
        serr = sat(cfg.rated_rpm_x10 - speed_rpm_x10, -lim, lim)
        if serr > db:
            p_term += mul_shr(serr - db, cfg.kp_q10, 10)
        elif serr < -db:
            p_term += mul_shr(serr + db, cfg.kp_q10, 10)
        self.p_pct_x100 = p_term
        self.d_pct_x100 = 0
        self.err_rpm_x10 = serr
        self.ref_rpm_x10 = speed_rpm_x10
        self._last_speed = speed_rpm_x10
        base = ff + p_term
        if not self._power_mode:
            # Breaker just closed: start from the fuel now, but never below
            # the fuel map for the reference (the minimum load a fresh close
            # takes).  The synchroniser may have been trimming fuel down to
            # slow the slip; keeping that would leave the set motoring for a
            # few hundred ms after its first swing.
            self._power_mode = True
            self._bumpless = False
            d = self.fuel_pct_x100 - base
            self.integ_q12 = (d if d > 0 else 0) << 12
        return self._limit(base, err, cfg.pc_ki_q12, ff)

    def update(self, speed_rpm_x10, p_kw_x10):
        if self._power_mode:
            # Back from power control: the grid was lost and the set now
            # carries the site alone.  Start from the fuel map for the load it
            # has (feed-forward) rather than from the power loop's fuel, which
            # may be badly wrong for the island.
            self._power_mode = False
            self._bumpless = False
            self.integ_q12 = 0
            self._last_sp = self.sp_rpm_x10
        cfg = self.cfg
        # Droop on measured kW (0 in isochronous mode).
        p_pu_x10000 = mul_div(sat(p_kw_x10, -cfg.p_fuel_rated_kw_x10,
                                  2 * cfg.p_fuel_rated_kw_x10),
                              10000, cfg.p_fuel_rated_kw_x10)
        ref = self.sp_rpm_x10 - mul_div(cfg.droop_rpm_x10, p_pu_x10000, 10000)
        self.ref_rpm_x10 = ref
        # Clamp the error so that a stopped engine (speed 0) cannot push the
        # products out of small-int range; +-20 % speed is full authority anyway.
        lim = cfg.rated_rpm_x10 // 5
        err = sat(ref - speed_rpm_x10, -lim, lim)
        self.err_rpm_x10 = err
        # Feed-forward from the commissioned fuel map (motoring kW gives none).
        ff = cfg.fuel_nl + mul_div(cfg.ff_span, sat(p_pu_x10000, 0, 12000), 10000)
        self.ff_pct_x100 = ff
        # Dual dynamics: the unloaded set synchronising has little damping
        # of its own and must follow a moving set point; it may take a
        # higher proportional gain than the loaded island tuning.
        p_term = mul_shr(err, cfg.kp_sync_q10 if self.sync_gain else cfg.kp_q10, 10)
        self.p_pct_x100 = p_term
        # Derivative on measurement (no kick on reference changes).
        dspd = sat(speed_rpm_x10 - self._last_speed, -lim, lim)
        self._last_speed = speed_rpm_x10
        d_term = -mul_shr(dspd, cfg.kd_q8, 8)
        self.d_pct_x100 = d_term
        # Acceleration feed-forward from the set point's own slope (the run-up
        # ramp, the synchroniser's frequency target): the fuel that carries
        # the inertia along, which the integrator would otherwise have to
        # build up - and then unwind as overshoot when the ramp ends.  The
        # slope is bounded by the run-up ramp rate, so a set point that jumps
        # (a preset) gives no kick.
        a_lim = cfg.ramp_tick_rpm_x10
        dsp = sat(self.sp_rpm_x10 - self._last_sp, -a_lim, a_lim)
        self._last_sp = self.sp_rpm_x10
        acc = 0 if self.sync_gain else mul_div(dsp, cfg.acc_k, cfg.tick_ms)
        # Output before limits, with the integrator as it stands.
        base = ff + acc + p_term + d_term
        if self._bumpless:
            self._bumpless = False
            self.integ_q12 = (self.fuel_pct_x100 - base) << 12
        return self._limit(base, err, cfg.ki_q12, ff)

    def _limit(self, base, err, ki_q12, ff):
        """Position and rate limits with conditional integration (both modes)."""
        cfg = self.cfg
        integ = self.integ_q12
        u = base + (integ >> 12)
        # Position limit, then rate limit.
        self.limited = 0
        fmax = self.fuel_max_now
        if u > fmax:
            u = fmax
            self.limited = 1
        elif u < cfg.fuel_min:
            u = cfg.fuel_min
            self.limited = 1
        prev = self.fuel_pct_x100
        if u > prev + cfg.rate_up_tick:
            u = prev + cfg.rate_up_tick
            self.limited = 2
        elif u < prev - cfg.rate_dn_tick:
            u = prev - cfg.rate_dn_tick
            self.limited = 2
        # Conditional integration (anti-windup): integrate only if the output
        # is free or the error would pull it back off the limit it sits on.
        want = base + (integ >> 12)
        if not ((want > u and err > 0) or (want < u and err < 0)):
            integ += mul_shr(err, ki_q12, 0)
        # The integrator alone may never demand more than the fuel range around
        # the feed-forward: a bounded state whatever happens upstream.
        integ = sat(integ, (cfg.fuel_min - ff) << 12, (fmax - ff) << 12)
        self.integ_q12 = integ
        self.fuel_pct_x100 = u
        return u
