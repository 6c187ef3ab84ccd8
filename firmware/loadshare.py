"""Island load sharing for a stack (issue 12): every unit on the bus carries
the same share of its own rating, in kW and in kvar, at rated frequency.

Isochronous sharing as analogue load-share lines do it: the share error
(the stack's mean load in % of rating, less this unit's) is added at the
governor's summing point as a speed-reference bias, and at the AVR's as a
voltage-reference bias.  Each governor keeps its own integral action, so
at rest every unit's speed error plus its share error is zero; the share
errors, weighted by rating, sum to zero across the stack, so with one
speed reference they are all zero and the frequency is the reference: no
master, and the units that are left go on sharing when one leaves.

The stack's mean counts this unit and every fresh peer on the bus that
shares (sharelink.F_GCB_CLOSED and F_SHARING), weighted by rating (kW over
kW).  Fallback: when a unit last heard on the bus has gone unheard (stale),
its load is unknown, and so is the mean: every unit then runs on droop
(fallback_droop_pct_x100 of speed, and of voltage on kvar, at 100 % of
rating), and says so (not F_SHARING), until the link is whole again or
the unit has been unheard for forget_ms (by default never: droop holds
until the link is whole again, or this unit's breaker opens).  A
change of mode carries the difference between the old bias and the new one
as a transfer term that falls to zero at xfer_pct_x100_s, so neither
switch moves the set points in a step.

Biases are in 0.01 % of rated speed and of rated voltage, saturated at
+-bias_lim_pct_x100.  Integer only, every product below 2**30 on a 32-bit
port (16 units x 10 MW x 200 %).  Allocation free.
"""

from fixpt import const
import sharelink as sl

_SAT = const(1000000000)


def _mean(sum_kw_x100, sum_r_kw):
    """sum_kw_x100 * 100 // sum_r_kw (the mean in 0.01 % of rating) without
    the product: quotient and remainder apart (sum_r_kw <= 170 MW)."""
    q = sum_kw_x100 // sum_r_kw
    return q * 100 + (sum_kw_x100 - q * sum_r_kw) * 100 // sum_r_kw


def _sat(v, lim):
    return -lim if v < -lim else (lim if v > lim else v)


class LoadShare:
    def __init__(self, own):
        self.own = own
        self.kp_gain_x100 = 10         # speed bias per kW share error (low-passed): 10 % -> 1 % speed
        self.kq_gain_x100 = 10         # voltage bias per kvar share error: 10 % -> 1 %
        self.fallback_droop_pct_x100 = 300   # 3 % speed (and voltage) at 100 % of rating
        self.bias_lim_pct_x100 = 300
        self.xfer_pct_x100_s = 20      # transfer term falls 0.2 %/s
        # A unit unheard this long is taken as gone.  Not by default: with
        # the whole link cut every unit forgot every other after 10 s, each
        # then took itself for alone on the bus (isochronous on its own kW)
        # and the four hunted (fleet4-link-cut, measured).  Droop is safe
        # whoever is on the bus; it holds until the link is whole again.
        self.forget_ms = _SAT
        # outputs
        self.sharing = True
        self.spd_bias_pct_x100 = 0
        self.v_bias_pct_x100 = 0
        self.avg_p_pct_x100 = 0
        self.avg_q_pct_x100 = 0
        self.n_on_bus = 0              # units in the mean (sharing), this one included
        self.n_bus_units = 0           # units on the bus, sharing or not, this one included
        self.fallbacks = 0             # times it fell back to droop
        self._on_bus = 0               # bit u: unit u last heard on the bus
        self._xp = 0                   # transfer terms, 0.01 % x 1000 (ms resolution)
        self._xq = 0
        self._raw_p = 0
        self._raw_q = 0
        self.lp_shift = 3
        self._e_lp = 0                 # share error (droop: the droop bias), low-passed, 0.01 % x 256
        self._peer_p = 0               # the sharing peers on the bus: kW (0.01 kW) and rating
        self._peer_r = 0
        # The sharing peers in that sum (bit u), and the sum of their
        # frames' ages x rating (ms x kW, <= 16 x 400 x 10 MW): kept up to
        # date between updates, a frame at a time (peer_frame, tick_age), so
        # a unit's share is its peers' latest figures and the moment of them.
        self._mask = 0
        self._age_sum = 0

    def update(self, peers, on_bus, p_pct_x100, q_pct_x100, rating_kw, dt_ms):
        """This unit's own figures, as it broadcasts them; returns whether it
        shares isochronously (else droop)."""
        own = self.own
        sum_p = 0
        sum_q = 0
        sum_r = 0
        lost = False
        n = 0
        k = 0                          # peers on the bus (heard, or owed)
        seen = 0
        age = 0
        mask = 0
        for u in range(1, sl.MAX_UNITS + 1):
            if u == own:
                continue
            if not peers.fresh(u):
                if (self._on_bus >> u) & 1 and peers.age_ms[u] < self.forget_ms:
                    lost = True
                    seen |= 1 << u     # still owed: fallback until heard again
                    k += 1
                continue
            f = peers.flags[u]
            if not f & sl.F_GCB_CLOSED:
                continue
            seen |= 1 << u
            k += 1
            if not f & sl.F_SHARING:
                continue
            r = peers.rating_kw[u]
            sum_p += peers.p_pct_x100[u] * r // 100     # 0.01 kW
            sum_q += peers.q_pct_x100[u] * r // 100
            sum_r += r
            age += peers.age_ms[u] * r
            mask |= 1 << u
            n += 1
        self._on_bus = seen
        self._mask = mask
        self._age_sum = age
        self._peer_p = sum_p
        self._peer_r = sum_r
        if not on_bus:
            lost = False
        r = rating_kw if rating_kw > 0 else 1
        sum_p += p_pct_x100 * r // 100
        sum_q += q_pct_x100 * r // 100
        sum_r += r
        n += 1
        self.n_on_bus = n
        # (A unit back on the link before its peers are sharing again has
        # only itself in the mean, but is not alone on the bus: measured,
        # one that took itself for alone governed its own rotor and fed
        # forward its own kW for a tick or two, a 2 % bump at the link's
        # return.)
        self.n_bus_units = k + 1 if on_bus else 0
        self.avg_p_pct_x100 = _mean(sum_p, sum_r)
        self.avg_q_pct_x100 = _mean(sum_q, sum_r)
        lim = self.bias_lim_pct_x100
        share = not lost       # (off the bus its biases are not used: fleet.py)
        if share:
            # The kW share error through a low-pass (lp_shift: 2**-3 a
            # period, ~0.4 s): its frequencies near the swing between sets
            # (~3 Hz for two units) are left alone, where the governor's
            # gain and the sets' swing would make the loop hunt.
            e = self.avg_p_pct_x100 - p_pct_x100
            # (From droop, it starts from the error as it is: the transfer
            # term below carries the change.)
            lp = self._e_lp if self.sharing else e << 8
            lp += ((e << 8) - lp) >> self.lp_shift
            self._e_lp = lp
            bp = _sat((lp >> 8) * self.kp_gain_x100 // 100, lim)
            bq = _sat((self.avg_q_pct_x100 - q_pct_x100) * self.kq_gain_x100 // 100, lim)
        else:
            d = self.fallback_droop_pct_x100
            # Droop on its own kW, through the same low-pass (unfiltered,
            # four units on droop hunted within 10 s).
            e = -p_pct_x100 * d // 10000
            lp = self._e_lp if not self.sharing else e << 8
            lp += ((e << 8) - lp) >> self.lp_shift
            self._e_lp = lp
            bp = _sat(lp >> 8, lim)
            bq = _sat(-q_pct_x100 * d // 10000, lim)
        if share != self.sharing:
            # the old output, less the new raw bias: carried, then let go
            self._xp = (self.spd_bias_pct_x100 - bp) * 1000
            self._xq = (self.v_bias_pct_x100 - bq) * 1000
            self.sharing = share
            if not share and self.fallbacks < _SAT:
                self.fallbacks += 1
        step = self.xfer_pct_x100_s * dt_ms
        self._xp = self._xp - step if self._xp > step else \
            (self._xp + step if self._xp < -step else 0)
        self._xq = self._xq - step if self._xq > step else \
            (self._xq + step if self._xq < -step else 0)
        self.spd_bias_pct_x100 = _sat(bp + self._xp // 1000, lim)
        self.v_bias_pct_x100 = _sat(bq + self._xq // 1000, lim)
        return share

    def peer_frame(self, u, p0_pct_x100, r0_kw, age0_ms, p_pct_x100, r_kw):
        """A new frame from peer u (its figures before and now): if it is in
        the sharing sum, the sum takes its new kW and its age restarts."""
        if (self._mask >> u) & 1:
            self._peer_p += (p_pct_x100 * r_kw - p0_pct_x100 * r0_kw) // 100
            self._peer_r += r_kw - r0_kw
            self._age_sum -= age0_ms * r0_kw

    def tick_age(self, dt_ms):
        """Every tick: the sharing peers' figures are dt_ms older."""
        if self._age_sum < _SAT:
            self._age_sum += dt_ms * self._peer_r

    def peer_age_ms(self):
        """The sharing peers' figures' mean age (rating-weighted), ms."""
        r = self._peer_r
        return self._age_sum // r if r > 0 else 0

    def share_kw_x10(self, p_kw_x10, rating_kw):
        """This unit's share of the stack's load, 0.1 kW: the mean % of
        rating of the sharing units on the bus (the peers as last heard,
        this unit as it reads now), times its own rating."""
        r = rating_kw if rating_kw > 0 else 1
        x = p_kw_x10
        lim = 2 * r * 10
        x = -lim if x < -lim else (lim if x > lim else x)
        m = _mean(self._peer_p + x * 10, self._peer_r + r)
        return m * r // 1000

