"""Site load: a kW demand schedule with voltage and frequency dependence.

  P = P_demand * (V)^p_v_exp * (f)^p_f_exp        (per-unit V and f)
  Q = P_demand * tan(acos(pf)) * (V)^q_v_exp
Exponents: a resistive/reactive ISO test load bank is constant impedance
(p_v_exp = q_v_exp = 2); a data-centre's server power supplies draw constant
power (exponents 0); IEEE Std 399 / CIGRE load-model practice.
The demand schedule comes from the scenario's events (steps, ramps, pulses).
"""

import bisect
import math


class LoadSchedule:
    """Piecewise demand from scenario events, in % of the fuel's rated kW."""

    def __init__(self, initial_pct, events):
        self.initial_pct = initial_pct
        self.events = [e for e in sorted(events, key=lambda e: e["t_s"])
                       if e["kind"] in ("step", "ramp", "pulse")]
        # Steps only (no ramp or pulse): the demand is the last step's at or
        # before t, found by bisection (the loop below, without the loop).
        self._step_times = None
        if all(e["kind"] == "step" for e in self.events):
            self._step_times = [e["t_s"] for e in self.events]
            self._step_pcts = [e["p_pct"] for e in self.events]

    def demand_pct(self, t):
        st = self._step_times
        if st is not None and t == t:
            i = bisect.bisect_right(st, t)
            return self._step_pcts[i - 1] if i else self.initial_pct
        p = self.initial_pct
        for ev in self.events:
            if ev["t_s"] > t:
                break
            k = ev["kind"]
            if k == "step":
                p = ev["p_pct"]
            elif k == "ramp":
                dur = ev["duration_s"]
                x = (t - ev["t_s"]) / dur if dur > 0 else 1.0
                if x >= 1.0:
                    p = ev["p_pct"]
                else:
                    p = p + (ev["p_pct"] - p) * x
            elif k == "pulse":
                if t < ev["until_s"]:
                    ph = ((t - ev["t_s"]) % ev["period_s"]) / ev["period_s"]
                    p = ev["high_pct"] if ph < ev["duty"] else ev["low_pct"]
                else:
                    p = ev.get("end_pct", ev["low_pct"])
        return p


class Load:
    def __init__(self, schedule, p_rated_kw, pf, p_v_exp, q_v_exp, p_f_exp):
        self.schedule = schedule
        self.p_rated_kw = p_rated_kw
        self.tan_phi = math.tan(math.acos(pf))
        self.p_v_exp = p_v_exp
        self.q_v_exp = q_v_exp
        self.p_f_exp = p_f_exp
        self.demand_kw = 0.0
        # The share of the demand connected: a stack's load shedding opens
        # contactors (fleetsim.py); 1.0 for a single set.
        self.keep = 1.0

    def power_kw(self, t, v_pu, f_pu):
        d = self.schedule.demand_pct(t) * self.p_rated_kw / 100.0
        self.demand_kw = d
        d *= self.keep
        vp = v_pu if v_pu > 0.0 else 0.0
        p = d * vp ** self.p_v_exp * f_pu ** self.p_f_exp if f_pu > 0 else 0.0
        q = d * self.tan_phi * vp ** self.q_v_exp
        return p, q
