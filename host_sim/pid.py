"""The PID peer (float, host only): the strongest plain governor a controls
engineer would commission on this engine, to compare the firmware with.

What it is.  A speed PID with derivative on the measured speed (no set-point
kick), integrator clamping (conditional integration: the integrator stops
while the output sits on a limit it is pushing into), the firmware's own
actuator limits and rate limits (firmware/fuels.py for this fuel), the same
measured speed the firmware uses (its telemetry speed, sampled at its tick),
and no load feed-forward.  It replaces only the firmware's fuel output; the
firmware's sequence, protections and relays still run.

Identification (identify()).  The engine model is stepped open loop at rated
speed carrying a constant 50 % electrical load: the actuator command steps by
+5 % and the shaft acceleration is recorded.  Acceleration per fuel step
rises like an integrating process with dead time and one lag,

    G(s) = k e^(-theta s) / (s (tau s + 1))      speed pu per actuator pu,

with theta the time to 5 % of the final acceleration (the transport and
combustion delay), tau the time from there to 63 % (actuator, manifold), and
k the final acceleration per unit of actuator step (pu/s).  On the nominal
GX230 on natural gas, 60 Hz (the mean-value engine of plant/engine.py):
theta 44.5 ms, tau 58 ms, k 2.14 /s (on the earlier fuel-flow plant it was
48 ms, 101 ms, 1.67 /s; an independent review fitted 52 ms, 74 ms and
1.41 /s there by another method).

Tuning (simc()).  SIMC for an integrating process with a lag (Skogestad,
"Simple analytic rules for model reduction and PID controller tuning", J.
Process Control 13 (2003), rule for k'' e^(-theta s) / (s (tau2 s + 1))):
series PID Kc = 1 / (k (tau_c + theta)), tau_I = 4 (tau_c + theta),
tau_D = tau, with SIMC's "tight control" closed-loop time constant
tau_c = theta.  Converted to parallel form: Kp = Kc (1 + tau_D / tau_I),
Ki = Kc / tau_I, Kd = Kc tau_D.  On the nominal plant: Kp 6.1, Ki 14.7 /s,
Kd 0.30 s.  margins() gives that loop's margins on the identified model
with the 10 ms sample hold (half a tick more delay) and the derivative
filter: phase margin 41 deg, gain margin 2.1 - the strongest setting a
controls engineer would still commission (PM >= 35 deg, GM >= 2).  On the
earlier plant, slower choices cost the peer (tau_c = tau: PM 54 deg, GM 3.4,
a deeper dip and twice the recovery) and tighter ones (PM 33 deg, GM 1.8)
gained nothing on the dip.

Figures on iso-steps-ng-pid (0 -> 35 -> 70 -> 100 % steps, 100 -> 0 %):
frequency -3.48 / -2.69 / -2.16 %, recovered in 0.44 / 0.51 / 0.82 s,
rejection +4.85 % in 0.96 s (the PID has no ignition cut); G3.
tests/test_pid_peer.py holds these figures.
"""

import cmath
import math

from . import firmware_path
from .plant.engine import Engine, power_base_kw
from .plant.alternator import POLES

firmware_path()
import fuels as fw_fuels  # noqa: E402


def identify(plant, fuel, f_nom_hz, dt_s=0.0005):
    """(theta_s, tau_s, k_per_s) of the engine's speed response to the
    actuator, measured on the model itself (see the module docstring)."""
    rpm = 120.0 * f_nom_hz / POLES
    eng = Engine(plant, fuel, f_nom_hz, power_base_kw(plant, rpm), dt_s, POLES)
    load = 0.5
    act0 = eng.act_for_load(load)
    eng.settle(act0)
    step = 0.05
    acc = []
    w_prev = eng.w
    n = int(1.0 / dt_s)
    for _ in range(n):
        # Constant electrical power at the speed it has: the load the set
        # carries; damping and speed effects are part of the model.
        eng.step(act0 + step, load)
        acc.append((eng.w - w_prev) / dt_s)
        w_prev = eng.w
    final = sum(acc[-int(0.1 / dt_s):]) / int(0.1 / dt_s)
    t5 = next(i for i, a in enumerate(acc) if a >= 0.05 * final) * dt_s
    t63 = next(i for i, a in enumerate(acc) if a >= 0.632 * final) * dt_s
    return t5, t63 - t5, final / step


def simc(theta_s, tau_s, k_per_s, tau_c_s=None):
    """Parallel-form (Kp, Ki /s, Kd s) by SIMC (module docstring)."""
    tc = theta_s if tau_c_s is None else tau_c_s
    kc = 1.0 / (k_per_s * (tc + theta_s))
    ti = 4.0 * (tc + theta_s)
    td = tau_s
    return kc * (1.0 + td / ti), kc / ti, kc * td


def margins(theta_s, tau_s, k_per_s, kp, ki, kd, tick_s=0.01):
    """(phase margin deg, gain margin, crossover rad/s) of the PID on the
    identified model, with half a tick of delay for the sample hold and the
    derivative filtered over one tick, as PidPeer runs it."""
    th = theta_s + tick_s / 2.0

    def loop(w):
        s = 1j * w
        g = k_per_s * cmath.exp(-th * s) / (s * (tau_s * s + 1.0))
        c = kp + ki / s + kd * s / (tick_s * s + 1.0)
        return g * c
    ws = [10 ** (x / 400.0) for x in range(-400, 1400)]
    wc = next(w for w in ws if abs(loop(w)) < 1.0)
    pm = 180.0 + math.degrees(cmath.phase(loop(wc)))
    gm = None
    prev = cmath.phase(loop(ws[0]))
    for w in ws[1:]:
        # Phase crossing -180 deg (unwrap by continuity)
        ph = cmath.phase(loop(w))
        if prev < 0 < ph and abs(ph - prev) > math.pi:
            gm = 1.0 / abs(loop(w))
            break
        prev = ph
    return pm, gm, wc


class PidPeer:
    """Discrete PID run at the firmware's tick on its measured speed."""

    def __init__(self, kp, ki, kd, tick_s, fuel_code):
        row = fw_fuels.FUELS[fuel_code]
        self.kp, self.ki, self.kd = kp, ki, kd
        self.dt = tick_s
        self.lo = row[fw_fuels.F_FUEL_MIN_PCT_X100] / 10000.0
        self.hi = row[fw_fuels.F_FUEL_MAX_PCT_X100] / 10000.0
        self.rate_up = row[fw_fuels.F_RATE_UP_PCT_X100_S] / 10000.0 * tick_s
        self.rate_dn = row[fw_fuels.F_RATE_DN_PCT_X100_S] / 10000.0 * tick_s
        self.integ = 0.0
        self.u = 0.0
        self.w_prev = 1.0
        self.d = 0.0

    def settle(self, act):
        """Bumpless start at actuator position act, rated speed."""
        self.integ = act
        self.u = act
        self.w_prev = 1.0
        self.d = 0.0

    def step(self, w_pu, sp_pu=1.0):
        """One tick: measured speed w_pu -> actuator command (0..1)."""
        e = sp_pu - w_pu
        # Derivative on the measurement, filtered over one tick.
        d_raw = -self.kd * (w_pu - self.w_prev) / self.dt
        self.d += (d_raw - self.d) * 0.5
        self.w_prev = w_pu
        u = self.integ + self.kp * e + self.d
        # Clamping: integrate only while the output is not held by a limit
        # it is pushing into.
        if not ((u >= self.hi and e > 0) or (u <= self.lo and e < 0)):
            self.integ += self.ki * e * self.dt
            self.integ = min(max(self.integ, self.lo), self.hi)
            u = self.integ + self.kp * e + self.d
        u = min(max(u, self.lo), self.hi)
        # The actuator's rate limits, the firmware's own.
        if u > self.u + self.rate_up:
            u = self.u + self.rate_up
        elif u < self.u - self.rate_dn:
            u = self.u - self.rate_dn
        self.u = u
        return u


class WideOpenProbe(PidPeer):
    """The physical limit of load acceptance (a bound, not a governor).

    The instant the site's demand rises by more than 1 % of rating it
    commands the actuator wide open (the fuel's maximum, at the firmware's
    own actuator rate limit) and holds it there until the speed, having
    fallen, is first back inside the -1 % recovery band (or back at rated,
    if it never left the band); then a gentle SIMC PID (sim.py: tau_c = 3
    theta), starting from the plant's steady actuator for the new load,
    holds the speed, so each step starts from steady running.  A governor that knew the step
    before it happened could do no better: more throttle sooner only fills
    the manifold and spools the turbo sooner, so on this plant, whose torque
    rises with the throttle at every instant, no governor's speed after a
    step can lie above this one's.  Its first trough is the least dip any
    governor can have on that plant, and the time its speed first comes
    back into the recovery band the earliest recovery (tools/sweep.py scores
    both governors against it; tests/test_pid_peer.py checks they never beat
    it on the nominal plant)."""

    def __init__(self, *a, steady_act=None, **k):
        PidPeer.__init__(self, *a, **k)
        # steady_act(demand_pu): the actuator that carries a demand in
        # steady state (the plant's own, host side): where the hand-back
        # starts, so the manifold the hold filled does not also get the
        # wide-open integrator (on a light, slow plant that overspeeds).
        self.steady_act = steady_act
        self.open = False
        self.fell = False
        self.fell_band = False
        self.demand_prev = None
        self.k = 0                # ticks stepped
        self.handback_k = []      # the ticks the hold ended on (the bound's end)

    def step(self, w_pu, sp_pu=1.0, demand_pu=0.0):
        self.k += 1
        if self.demand_prev is not None and demand_pu > self.demand_prev + 0.01:
            self.open = True
            self.fell = self.fell_band = False
        self.demand_prev = demand_pu
        if self.open:
            # (The speed falls only after the air path's delay.)
            self.fell = self.fell or w_pu < sp_pu - 0.001
            self.fell_band = self.fell_band or w_pu < 0.99 * sp_pu
            # Held until the speed is back inside the -1 % recovery band
            # (its first return: the bound), or back at rated if it never
            # left it (its trough: the bound).
            if (self.fell_band and w_pu >= 0.99 * sp_pu) or (
                    not self.fell_band and self.fell and w_pu >= sp_pu):
                self.open = False
                self.handback_k.append(self.k)
                self.integ = self.steady_act(demand_pu) if self.steady_act else self.u
        if not self.open:
            return PidPeer.step(self, w_pu, sp_pu)
        self.w_prev = w_pu
        self.d = 0.0
        u = min(self.hi, self.u + self.rate_up)
        self.u = u
        return u
