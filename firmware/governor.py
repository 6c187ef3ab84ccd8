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

Adaptive fuel map: the feed-forward reads a 7-point map of kW (0, 20 ...
120 % of the fuel's rating) to actuator, commissioned as the straight line
from the fuel table's no-load to full-load positions.  A real throttle is
not linear in kW (choked at light load, running out of pressure ratio near
full), and a gas's heating value drifts, so the map learns: in steady running
(speed inside 0.25 %, kW steady, the fuel no longer drifting, no limit
active, for 1 s) the fuel the loop actually needs is moved from the
integrator into the two map points
around the operating kW, at ~1.3 s time constant, with the output unchanged
(bumpless); points not yet learned follow the nearest one that is (a map
off at 35 % is likely off the same way at 70 %).  Every point stays inside its bounds (the commissioned value
+- map_learn_pct of the no-load-to-full-load span, and the actuator range)
and the map stays monotonic, pushing neighbours along rather than crossing
them.  The learned map is the controller's (settings do not hold it):
`map_pct_x100()` reads it, `map_load()` writes it back after a restart (the
config store of issue 11 will keep it across power cycles).

Lead on the feed-forward: the throttle, then the manifold, lag the fuel map
by ~0.1 s; the feed-forward adds ff_lead_pct of its own change over that
lag (ff + k (ff - lowpass(ff))), so a load step briefly opens the throttle
past the map and fills the manifold sooner, then settles on the map.  With a
valid MAP reading the lead below replaces it.

Lead on the manifold's charge deficit (map_lead_pct): with the engine's MAP
sensor the governor need not model the manifold's lag, it can measure it.
The measured MAP read on the commissioned MAP line (the charge per cycle is
linear in load at rated speed: speed-density) is the kW the cylinders'
charge now corresponds to.  How far the manifold is short is the load
minus that, in fuel on the commissioned map's slope, plus half the loop's
P + I (the surplus the speed loop asks for to win the speed back); the
throttle opens by map_lead_pct of it until the charge has arrived, however
slow this manifold is, and closes by it while the manifold is fuller than
asked (a load just dropped, an overshoot coming).  While it leads more than
2 % the integral runs at a quarter: the speed error then is the manifold's
lag, not a map error, and an integral wound up now is an overshoot later.
The timed lead stands aside while the MAP is valid and comes back when it
is not (measure.py reads a failed sensor as 0).  Only on load (the
generator breaker closed) and at the governed speed, switched on and off
bumplessly through the integrator: the MAP line is the rated-speed one,
and the synchroniser is tuned on the unloaded set without the lead.  The commissioned line and
slope, not the learned map's: a learned slope changed this loop's gain and
rang on J 4 plants of the sweep's family.  Tried there and not kept: a
one-sided lead (it left the excess charge after a step: overshoot), the
whole P + I (rang on J 4), and scaling the gains by the set's inertia
measured from each load step's first deceleration (H read within ~5 %,
but J 4's recovery got slower, 1.46 s against 1.20 s).

No gain scheduling by load.  One was tried (P, I and D scaled by the
learned map's slope over the commissioned line's, up to 3x): on the plant
family of tools/sweep.py it rang without end on a learned lean-burn map
with 50 ms more dead time (the steady map's slope there includes the
turbo's slow boost, not the throttle's fast gain), and gained 0.1 s of
recovery at most elsewhere.  The gains are the same at every load.

Units: speed rpm_x10, actuator fuel_pct_x100 (0..10000), integrator in
fuel_pct_x100 << 12, map points in fuel_pct_x100 << 8.
"""

from array import array
from fixpt import const, mul_div, sat, viper

N_MAP = const(7)          # map points: 0, 20, ... 120 % of the fuel's rated kW
MAP_STEP = const(2000)    # pct_x100 of rated kW between points
_LEARN_N = const(100)     # ticks of steady running before the map learns
_LEARN_SHIFT = const(7)   # learning rate per tick: 1/128 of the error
_MAP_LOOP_PCT = const(50)  # share of the loop's P + I the MAP lead fills for
_MAP_I_THR = const(200)    # MAP lead (pct_x100) above which the manifold is filling ...
_MAP_I_PCT = const(25)     # ... and the integral runs at this share


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
        self.map_lead_pct_x100 = 0   # the MAP lead's share of the output
        self._map_on = False         # the MAP lead acted on the last tick
        self.map_enable = True       # the controller clears it while the GCB is open
        self.limited = 0  # 0 free, 1 position limit, 2 rate limit
        self._last_speed = cfg.rated_rpm_x10
        self._last_sp = cfg.rated_rpm_x10
        self._bumpless = False
        self._power_mode = False
        self.sync_gain = False    # synchronising: the no-load gain set (dual dynamics)
        # A stack's island load-sharing bias (fleet.py), added to the
        # reference after the set point: it moves every 50 ms, and is not a
        # set-point ramp (no acceleration feed-forward, the MAP lead stays).
        self.bias_rpm_x10 = 0
        self.learn_ok = True      # the controller clears it (ignition cut, knock, metering)
        self.map_q8 = array("i", [0] * N_MAP)
        self.map_lo = array("i", [0] * N_MAP)
        self.map_hi = array("i", [0] * N_MAP)
        self._steady_n = 0
        self._p_slow = 0          # kW pct_x100, slow copy: is the load steady?
        self._u_fast_q4 = 0       # fuel output low-passed (Q4) ...
        self._u_slow_q4 = 0       # ... and its slow copy: has the loop settled?
        self._err_lp = 0          # speed error low-passed: is the speed steady?
        self._ff_lp_q8 = 0        # feed-forward low-passed (the lead's lag)
        self.map_init()

    # -- the adaptive fuel map ------------------------------------------------
    def map_init(self):
        """The commissioned map (fuel table no-load to full-load, a line) and
        each point's learning bounds."""
        cfg = self.cfg
        span = cfg.map_span
        lim = mul_div(span if span > 0 else -span, cfg.map_learn_pct, 100)
        for i in range(N_MAP):
            v = sat(cfg.fuel_nl + mul_div(span, i * MAP_STEP, 10000), cfg.fuel_min, cfg.fuel_max)
            self.map_q8[i] = v << 8
            self.map_lo[i] = sat(v - lim, cfg.fuel_min, cfg.fuel_max) << 8
            self.map_hi[i] = sat(v + lim, cfg.fuel_min, cfg.fuel_max) << 8
        self._steady_n = 0
        self.map_seen = 0         # bit i: point i has learned

    def map_pct_x100(self, i):
        return self.map_q8[i] >> 8

    def map_load(self, i, v):
        """Restore point i (fuel_pct_x100) of a learned map: refused (False)
        outside its bounds or out of order with its neighbours."""
        if not (0 <= i < N_MAP):
            return False
        q = v << 8 if 0 <= v <= 10000 else -1
        m = self.map_q8
        if q < self.map_lo[i] or q > self.map_hi[i]:
            return False
        if (i > 0 and q < m[i - 1]) or (i < N_MAP - 1 and q > m[i + 1]):
            return False
        m[i] = q
        self.map_seen |= 1 << i
        return True

    # The per-tick functions below are @viper: machine code on a board
    # (host_sim/native.py).  So every object read into arithmetic is cast
    # with int() or bool(), the flags are read once into locals, and the
    # divisors are ratings or table steps (> 0 by the settings' ranges).
    @viper
    def _lookup_q8(self, p: int) -> int:
        """Map at kW p (pct_x100 of rated, clamped 0..120 %), Q8."""
        top = (N_MAP - 1) * MAP_STEP
        p = 0 if p < 0 else (p if p < top else top)
        i = p // MAP_STEP
        if i >= N_MAP - 1:
            i = N_MAP - 2
        m = self.map_q8
        # dm * f // MAP_STEP, split so the product stays a small int on a
        # 32-bit port (dm is up to ~3e6 in Q8, f up to 2000) with the same
        # floor: dm = q MAP_STEP + r, 0 <= r < MAP_STEP.
        a = int(m[i])
        dm = int(m[i + 1]) - a
        f = p - i * MAP_STEP
        return a + (dm // MAP_STEP) * f + (dm % MAP_STEP) * f // MAP_STEP

    @viper
    def _ff(self, p: int) -> int:
        """Feed-forward at kW p (pct_x100): the map, ff_pct of it above no load.
        (_lookup_q8 written out: this runs every tick in both modes.)"""
        top = (N_MAP - 1) * MAP_STEP
        p = 0 if p < 0 else (p if p < top else top)
        i = p // MAP_STEP
        if i >= N_MAP - 1:
            i = N_MAP - 2
        m = self.map_q8
        a = int(m[i])
        dm = int(m[i + 1]) - a
        f = p - i * MAP_STEP
        cfg = self.cfg
        nl = int(cfg.fuel_nl)
        v = (a + (dm // MAP_STEP) * f + (dm % MAP_STEP) * f // MAP_STEP) >> 8
        return nl + (v - nl) * int(cfg.ff_pct) // 100

    @viper
    def _learn(self, p: int, steady: bool):
        """Move the steady integrator share into the map (bumpless)."""
        cfg = self.cfg
        ps = int(self._p_slow)
        ps += (p - ps) >> 4
        self._p_slow = ps
        d = p - ps
        if steady and bool(self.learn_ok) and int(cfg.map_learn_pct) > 0 \
                and int(self.limited) == 0 \
                and -100 <= d <= 100 and 0 <= p <= (N_MAP - 1) * MAP_STEP:
            n = int(self._steady_n)
            if n < _LEARN_N:
                self._steady_n = n + 1
                return
        else:
            self._steady_n = 0
            return
        m = self.map_q8
        old = int(self._lookup_q8(p))
        x = int(self.fuel_pct_x100) - (old >> 8)
        e = -10000 if x < -10000 else (x if x < 10000 else 10000)
        i = p // MAP_STEP
        if i >= N_MAP - 1:
            i = N_MAP - 2
        f = p - i * MAP_STEP
        # e << 8 >> _LEARN_SHIFT, split by the interpolation weights.
        g = e << (8 - _LEARN_SHIFT)
        lo = self.map_lo
        hi = self.map_hi
        j = i + 1
        gi = g * (MAP_STEP - f) // MAP_STEP
        gj = g * f // MAP_STEP
        # (sat() written out: a call from machine code costs as much as
        # from bytecode.)
        x = int(m[i]) + gi
        y = int(lo[i])
        z = int(hi[i])
        m[i] = y if x < y else (z if x > z else x)
        x = int(m[j]) + gj
        y = int(lo[j])
        z = int(hi[j])
        m[j] = y if x < y else (z if x > z else x)
        # Points never learned yet follow the nearest one learning (a map
        # that is off here is likely off the same way there), then the
        # nearer of the two counts as learned.
        seen = int(self.map_seen)
        k = j + 1
        while k < N_MAP:
            if (seen >> k) & 1 == 0:
                x = int(m[k]) + gj
                y = int(lo[k])
                z = int(hi[k])
                m[k] = y if x < y else (z if x > z else x)
            k += 1
        k = 0
        while k < i:
            if (seen >> k) & 1 == 0:
                x = int(m[k]) + gi
                y = int(lo[k])
                z = int(hi[k])
                m[k] = y if x < y else (z if x > z else x)
            k += 1
        self.map_seen = seen | (1 << (i if f < MAP_STEP // 2 else j))
        # Monotonic: push the neighbours along (their bounds are monotonic
        # too, so a pushed point stays inside its own).
        k = j + 1
        while k < N_MAP:
            if int(m[k]) >= int(m[k - 1]):
                break
            m[k] = m[k - 1]
            k += 1
        if int(m[i]) > int(m[j]):
            m[i] = m[j]
        k = i - 1
        while k >= 0 and int(m[k]) > int(m[k + 1]):
            m[k] = m[k + 1]
            k -= 1
        dq = int(self._lookup_q8(p)) - old
        # The feed-forward rises by ff_pct of what the map did: the
        # integrator gives that much up, so the output does not move.
        self.integ_q12 = int(self.integ_q12) - (dq << 4) * int(cfg.ff_pct) // 100

    def preset(self, fuel_pct_x100, speed_rpm_x10):
        """Bumpless start: the next update outputs `fuel_pct_x100` (its
        integrator absorbs whatever feed-forward and P the measurements give)."""
        self.fuel_pct_x100 = fuel_pct_x100
        self.integ_q12 = (fuel_pct_x100 - self.cfg.fuel_nl) << 12
        self._u_fast_q4 = self._u_slow_q4 = fuel_pct_x100 << 4
        self._last_speed = speed_rpm_x10
        self._last_sp = speed_rpm_x10     # the sequencer starts its ramp here
        self.map_lead_pct_x100 = 0
        self._map_on = False
        self._bumpless = True

    @viper
    def update_power(self, p_ref_kw_x10: int, p_kw_x10: int, speed_rpm_x10: int) -> int:
        """Grid-parallel: the grid holds the speed, so fuel follows the power
        reference: feed-forward from the fuel map at the reference plus a PI
        on the power error, with the same limits and anti-windup as in speed
        mode.  The first call after speed mode is bumpless."""
        cfg = self.cfg
        pr_ = int(cfg.p_fuel_rated_kw_x10)
        x = p_ref_kw_x10
        ref_pu = (0 if x < 0 else (x if x < pr_ else pr_)) * 10000 // pr_
        ff = int(self._ff(ref_pu))
        self.ff_pct_x100 = ff
        self._ff_lp_q8 = ff << 8
        x = p_ref_kw_x10 - p_kw_x10
        err = -pr_ if x < -pr_ else (x if x < pr_ else pr_)
        p_term = err * int(cfg.pc_kp_x1000) // 1000
        # Frequency guard: outside +-0.5 % the speed loop's proportional term
        # joins in, so a set that suddenly carries the site (the grid has
        # gone, not yet detected) is not throttled by the power loop.
        rated = int(cfg.rated_rpm_x10)
        lim = rated // 5
        db = rated // 200
        x = rated - speed_rpm_x10
        serr = -lim if x < -lim else (x if x < lim else lim)
        if serr > db:
            p_term += (serr - db) * int(cfg.kp_q10) >> 10
        elif serr < -db:
            p_term += (serr + db) * int(cfg.kp_q10) >> 10
        self.p_pct_x100 = p_term
        self.d_pct_x100 = 0
        self.map_lead_pct_x100 = 0       # no MAP lead: the grid holds the speed
        self._map_on = False
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
            d = int(self.fuel_pct_x100) - base
            if not self._bumpless:
                d = d if d > 0 else 0
            # (A preset - a running start - stays exactly where it is.)
            self._bumpless = False
            self.integ_q12 = d << 12
        u = int(self._limit(base, err, int(cfg.pc_ki_q12), ff))
        # Learn from steady power control: the reference met, the grid's
        # frequency near rated.
        x = p_kw_x10
        p_pu = (-pr_ if x < -pr_ else (x if x < 2 * pr_ else 2 * pr_)) * 10000 // pr_
        x = err * 10000 // pr_
        self._learn(p_pu, -100 <= x <= 100 and -db <= serr <= db)
        return u

    @viper
    def update(self, speed_rpm_x10: int, p_kw_x10: int, map_kpa_x10: int) -> int:
        """Speed mode: one tick of the governor (map_kpa_x10: 0 without a
        valid MAP reading).  Returns the fuel command."""
        # (Flags as 0/1 words: viper has no `not` on a machine value.)
        from_power = 1 if self._power_mode else 0
        if from_power:
            # Back from power control: the grid was lost and the set now
            # carries the site alone.  Start from the fuel map for the load it
            # has (feed-forward) rather than from the power loop's fuel, which
            # may be badly wrong for the island.
            self._power_mode = False
            self._bumpless = False
            self.integ_q12 = 0
            self._last_sp = self.sp_rpm_x10
        cfg = self.cfg
        bumpless = 1 if self._bumpless else 0
        sync = 1 if self.sync_gain else 0
        sp = int(self.sp_rpm_x10)
        last_sp = int(self._last_sp)
        rated = int(cfg.rated_rpm_x10)
        # Droop on measured kW (0 in isochronous mode).
        pr_ = int(cfg.p_fuel_rated_kw_x10)
        x = p_kw_x10
        p_pu_x10000 = (-pr_ if x < -pr_ else (x if x < 2 * pr_ else 2 * pr_)) * 10000 // pr_
        ref = sp + int(self.bias_rpm_x10) - int(cfg.droop_rpm_x10) * p_pu_x10000 // 10000
        self.ref_rpm_x10 = ref
        # Clamp the error so that a stopped engine (speed 0) cannot push the
        # products out of small-int range; +-20 % speed is full authority anyway.
        lim = rated // 5
        x = ref - speed_rpm_x10
        err = -lim if x < -lim else (x if x < lim else lim)
        self.err_rpm_x10 = err
        # Feed-forward from the (learned) fuel map (motoring kW gives none),
        # with its lead.
        ff_map = int(self._ff(p_pu_x10000))
        # The lead: ff_map plus ff_lead_pct of its change over the lag (no
        # lead kick at a bumpless start).
        lp = (ff_map << 8) if bumpless else int(self._ff_lp_q8)
        lp += ((ff_map << 8) - lp) * int(cfg.ff_lead_alpha_q12) >> 12
        self._ff_lp_q8 = lp
        ff = ff_map + (ff_map - (lp >> 8)) * int(cfg.ff_lead_pct) // 100
        # With a valid MAP the manifold's own deficit leads (below) and the
        # timed lead, a model of the same lag, stands aside.  Only at the
        # governed speed: the MAP line is the rated-speed one (running up, the
        # charge that accelerates the set reads as load, and the lead held
        # the throttle back for the whole ramp, then overshot at its end).
        # And only on load (the controller clears map_enable while the
        # generator breaker is open, and while the island is synchronised
        # back to the grid): an unloaded set needs no lead, and the
        # synchronisers are tuned on the set without it.
        map_lead_pct = int(cfg.map_lead_pct)
        map_lead = map_lead_pct != 0 and map_kpa_x10 > 0 and bool(self.map_enable) \
            and sync == 0 and sp == last_sp and sp >= rated - rated // 50
        if map_lead:
            ff = ff_map
        self.ff_pct_x100 = ff
        # Dual dynamics: the unloaded set synchronising has little damping
        # of its own and must follow a moving set point; it may take a
        # higher proportional gain than the loaded island tuning.
        p_term = err * int(cfg.kp_sync_q10 if sync else cfg.kp_q10) >> 10
        self.p_pct_x100 = p_term
        # Derivative on measurement (no kick on reference changes).
        x = speed_rpm_x10 - int(self._last_speed)
        dspd = -lim if x < -lim else (x if x < lim else lim)
        self._last_speed = speed_rpm_x10
        d_term = -(dspd * int(cfg.kd_q8) >> 8)
        self.d_pct_x100 = d_term
        # Acceleration feed-forward from the set point's own slope (the run-up
        # ramp, the synchroniser's frequency target): the fuel that carries
        # the inertia along, which the integrator would otherwise have to
        # build up - and then unwind as overshoot when the ramp ends.  The
        # slope is bounded by the run-up ramp rate, so a set point that jumps
        # (a preset) gives no kick.
        a_lim = int(cfg.ramp_tick_rpm_x10)
        x = sp - last_sp
        dsp = -a_lim if x < -a_lim else (x if x < a_lim else a_lim)
        self._last_sp = sp
        acc = dsp * int(cfg.acc_k) // int(cfg.tick_ms)
        # Output before limits, with the integrator as it stands.
        base = ff + acc + p_term + d_term
        # Lead on the manifold's charge deficit (map_lead_pct, see the top):
        # in steady running the load and the charge agree and it adds
        # nothing.  Not while synchronising (the unloaded set's own tuning),
        # not on a bumpless start, not without a valid MAP (measure.py
        # reports a failed sensor as 0): the timed lead is then the fallback.
        was = int(self.map_lead_pct_x100)
        map_on = 1 if self._map_on else 0
        integ = int(self.integ_q12)
        lead = 0
        if map_lead and bumpless == 0:
            # In fuel on the commissioned line's slope (not the learned
            # map's: a learned slope would change this loop's gain).
            # The kW (pct_x100) the manifold's charge now corresponds to:
            # the measured MAP on the commissioned MAP line (speed-density:
            # the charge per cycle is linear in load), extended below no
            # load and above full load.
            span = int(cfg.map_line_span)            # >= 100: config relation
            x = map_kpa_x10 - int(cfg.map_line_nl)
            x = (-span if x < -span else (x if x < 2 * span else 2 * span)) * 10000 // span
            dp = (0 if p_pu_x10000 < 0 else (p_pu_x10000 if p_pu_x10000 < 12000 else 12000)) - x
            short = int(cfg.map_span) * dp // 10000 \
                + (p_term + (integ >> 12)) * _MAP_LOOP_PCT // 100
            short = -10000 if short < -10000 else (short if short < 10000 else 10000)
            lead = short * map_lead_pct // 100
            if map_on == 0 and from_power == 0:
                # Switched on (the ramp has ended, the synchroniser let go,
                # the MAP came back): bumpless, the integrator takes what
                # it adds now and lets it in at its own pace.  Not after
                # islanding: the load the grid carried lands on the set then,
                # and filling for it is the lead's job.
                integ -= lead << 12
            base += lead
        elif map_on:
            # Switched off: the integrator keeps what it was adding.
            integ += was << 12
        self.map_lead_pct_x100 = lead
        self._map_on = map_lead and bumpless == 0
        if bumpless:
            self._bumpless = False
            integ = (int(self.fuel_pct_x100) - base) << 12
        self.integ_q12 = integ
        ki = int(cfg.ki_sync_q12 if sync else cfg.ki_q12)
        if lead > _MAP_I_THR:
            # The manifold is still filling: the speed error is its lag,
            # not a map error, and an integral wound up now is an overshoot
            # later.
            ki = ki * _MAP_I_PCT // 100
        u = int(self._limit(base, err, ki, ff_map))
        band = rated // 400                 # 0.25 %: inside it is steady
        e_lp = int(self._err_lp)
        e_lp += (err - e_lp) >> 3           # ~80 ms: speed noise is not unsteadiness
        self._err_lp = e_lp
        # The fuel the loop holds must have stopped moving too (drifting
        # under ~0.6 %/s: two low-passed copies within 0.3 %): on a
        # lean-burn engine the speed is back in band long before the turbo
        # has spooled, and the throttle keeps closing for seconds; learning
        # then would store the spool-up's opening.
        uf = int(self._u_fast_q4)
        uf += ((u << 4) - uf) >> 4          # ~160 ms: the output's noise is not a drift
        self._u_fast_q4 = uf
        us = int(self._u_slow_q4)
        us += (uf - us) >> 6                # ~640 ms behind: uf - us ~ 0.5 s x its drift
        self._u_slow_q4 = us
        du = (uf - us) >> 4
        x = ff - ff_map
        self._learn(p_pu_x10000, -band <= e_lp <= band and dsp == 0
                    and -50 <= x <= 50 and -30 <= du <= 30 and sync == 0)
        return u

    @viper
    def _limit(self, base: int, err: int, ki_q12: int, ff: int) -> int:
        """Position and rate limits with conditional integration (both modes)."""
        cfg = self.cfg
        integ = int(self.integ_q12)
        u = base + (integ >> 12)
        # Position limit, then rate limit.
        limited = 0
        fmax = int(self.fuel_max_now)
        fmin = int(cfg.fuel_min)
        if u > fmax:
            u = fmax
            limited = 1
        elif u < fmin:
            u = fmin
            limited = 1
        prev = int(self.fuel_pct_x100)
        x = int(cfg.rate_up_tick)
        if u > prev + x:
            u = prev + x
            limited = 2
        else:
            x = int(cfg.rate_dn_tick)
            if u < prev - x:
                u = prev - x
                limited = 2
        self.limited = limited
        # Conditional integration (anti-windup): integrate only if the output
        # is free or the error would pull it back off the limit it sits on.
        want = base + (integ >> 12)
        if not ((want > u and err > 0) or (want < u and err < 0)):
            integ += err * ki_q12
        # The integrator alone may never demand more than the fuel range around
        # the feed-forward: a bounded state whatever happens upstream.
        lo = (fmin - ff) << 12
        hi = (fmax - ff) << 12
        integ = lo if integ < lo else (integ if integ < hi else hi)
        self.integ_q12 = integ
        self.fuel_pct_x100 = u
        return u
