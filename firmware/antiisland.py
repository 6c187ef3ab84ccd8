"""Active anti-islanding for a grid-parallel synchronous set.

Why: a balanced island (the IEEE 1547.1 test: the site's load matches the
set's output, |P| and |Q| at the utility switch within 2 %) moves neither
ROCOF nor vector shift, and the minimum-import relay only works where export
is forbidden.  Passive relays have that blind zone on every synchronous set.

How: while paralleled (after lom_inhibit_ms), the power reference carries a
small pseudo-random perturbation, +-aai_pct_x10 of rating, in windows of
about aai_window_ms; windows come in pairs of opposite sign (+s, -s, with s
drawn from a 16-bit LFSR) and of one length, drawn per pair from 0.75..1.25
of aai_window_ms, so the perturbation averages to zero over every pair and
neither its signs nor its timing keep step with any periodic disturbance.
  - On the grid, the utility holds the frequency: the set's rotor angle
    moves a fraction of a degree and the measured frequency does not follow
    the perturbation (~1 mHz; the cost is a +-aai_pct_x10 ripple of active
    power into a stiff grid).
  - In an island nothing holds it: each window's torque step accelerates
    or decelerates the whole island (2H df/dt = dP), so the frequency slope
    in each window follows the window's sign (~0.1-0.4 Hz per window at 2 %).
The detector correlates: for each window (delayed by the engine's response,
_DELAY_MS), the mean frequency over its last third minus that over its
first third is the slope; its echo is half the difference from the slope of
the window before when that one had the opposite sign (a drift of the
island or the grid adds to both and cancels); an echo of the window's sign
above the threshold counts, anything else starts the count again.  _WINDOWS (3) in a
row is an island.  A grid event is not correlated with the pattern: a phase
jump's swing or a frequency step may match one window by chance, and a
monotonic change (a drift, a ramp, a step's recovery) can never match three
in a row, because any three consecutive windows hold a whole pair of
opposite signs.  Each sample is clipped to
+-_CLIP_MHZ around the window's first reading, so a vector-shift spike (one
stretched cycle) cannot dominate a window.

Units: f_mhz, kW_x10, ms.  Integer only, no allocation in update().
"""

from fixpt import const, mul_div, viper

_DELAY_MS = const(100)    # fuel to torque: actuator, dead time, manifold
_THR_MHZ_PER_PCT = const(40)   # slope per window that counts, per 1 % of amplitude
_WINDOWS = const(3)       # windows in a row that make an island
_CLIP_MHZ = const(500)


class ActiveIslanding:
    def __init__(self, cfg):
        self.cfg = cfg
        self.amp_kw_x10 = mul_div(cfg.p_fuel_rated_kw_x10, cfg.aai_pct_x10, 1000)
        h = cfg.aai_window_ms // cfg.tick_ms
        # Window lengths vary per pair over base * (0.75 .. 1.25): no
        # disturbance of a fixed frequency can keep step with the pattern.
        base = h if h >= 8 else 8
        self.len_lo = base - (base >> 2)
        self.len_span = (base >> 1) + 1
        d = _DELAY_MS // cfg.tick_ms
        self.delay = d if d < self.len_lo else self.len_lo - 1
        # The island's slope grows with the amplitude; so does the threshold
        # (2 %: 80 mHz, against ~8 mHz of noise on a healthy grid and
        # ~150-300 mHz in a balanced island).
        self.thr_mhz = _THR_MHZ_PER_PCT * cfg.aai_pct_x10 // 10
        self.reset()

    def reset(self):
        self._left = 0           # ticks left in the perturbation window
        self._len = 0            # its length
        self._odd = False        # the next window is the second of a pair
        self._lfsr = 0xACE1
        self._s = 0              # sign of the window now (+1 / -1)
        self._wait = -1          # ticks until the next analysis window (-1: none due)
        self._plen = 0           # ... its length and sign
        self._psign = 0
        self._apos = -1          # tick within the analysis window (-1: none)
        self._alen = 0
        self._as = 0             # sign of the window being analysed
        self._f0 = 0
        self._a = 0              # sum of (f - f0) over the first third
        self._b = 0              # ... over the last third
        self.count = 0           # echoes in a row above the threshold
        self.slope_mhz = 0       # last window's slope
        self._ps = 0             # its sign
        self.echo_mhz = 0        # the last drift-free echo of the pattern
        self.detected = False

    def _next_window(self):
        lf = self._lfsr
        lf = (lf >> 1) ^ (0xB400 if lf & 1 else 0)
        self._lfsr = lf
        if self._odd:
            self._s = -self._s
        else:
            self._s = 1 if lf & 1 else -1
            self._len = self.len_lo + (lf >> 1) % self.len_span
        self._odd = not self._odd
        self._left = self._len
        # Its echo is looked for _DELAY_MS later, over the same length.
        self._wait = self.delay
        self._plen = self._len
        self._psign = self._s

    @viper
    def update(self, f_mhz: int, armed) -> int:
        """One tick.  armed: paralleled with the grid and settled.  Returns
        the power-reference bias (kW_x10); sets self.detected."""
        # Machine code on a board (host_sim/native.py): attributes cast with
        # int() and each read once; the counts are written back as plain
        # assignments (viper has no += on an attribute).
        amp = int(self.amp_kw_x10) if armed and f_mhz != 0 else 0
        if amp == 0:
            if int(self._len) != 0 or self.detected:
                self.reset()
            return 0
        if int(self._left) == 0:
            self._next_window()
        self._left = int(self._left) - 1      # > 0 here: a window is under way
        wait = int(self._wait)
        if wait == 0:
            self._apos = 0
            self._alen = self._plen
            self._as = self._psign
            self._f0 = f_mhz
            self._a = 0
            self._b = 0
        if wait >= 0:
            self._wait = wait - 1
        apos = int(self._apos)
        if apos >= 0:
            d = f_mhz - int(self._f0)
            if d > _CLIP_MHZ:
                d = _CLIP_MHZ
            elif d < -_CLIP_MHZ:
                d = -_CLIP_MHZ
            n = int(self._alen)
            third = n // 3                    # n >= len_lo >= 6
            if apos < third:
                self._a = int(self._a) + d
            elif apos >= n - third:
                self._b = int(self._b) + d
            if apos == n - 1:
                self._window_done((int(self._b) - int(self._a)) // third)
                self._apos = -1
            else:
                self._apos = apos + 1
        return amp if int(self._s) > 0 else -amp

    def _window_done(self, slope):
        if self._ps == -self._as:
            # Against the window before (opposite sign): a drift of the
            # island or the grid adds to both and cancels.
            e = (slope - self.slope_mhz) * self._as // 2
            self.echo_mhz = e
            if e > self.thr_mhz:
                self.count = self.count + 1 if self.count < _WINDOWS else _WINDOWS
            else:
                self.count = 0
            if self.count >= _WINDOWS:
                self.detected = True
        self.slope_mhz = slope
        self._ps = self._as
