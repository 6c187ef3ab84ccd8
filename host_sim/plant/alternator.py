"""Alternator with its own AVR: transient EMF behind X'd, first-order field,
PI automatic voltage regulator with under-frequency roll-off.

Per-unit on the alternator rating (250 kVA for the 200 kW set at 0.8 pf) and
rated voltage.  Sources: Kundur, "Power System Stability and Control",
ch. 3-5 (one-axis model E' behind X'd, T'do field equation); values typical of
250 kVA 4-pole brushless alternators (Stamford/Leroy-Somer/Marathon data-sheet
class: Xd 2.5-3.5, X'd 0.15-0.25, T'do 1-2 s); AVR form and the V/Hz
roll-off knee at 95 % frequency from commercial digital AVRs (UFRO setting).

  terminal    (w E')^2 = (V + X'd Q/V)^2 + (X'd P/V)^2    solved for V; the
              EMF scales with speed w (E = w psi)
  field       T'do dE'/dt = Efd - E' - (Xd - X'd) Iq      Iq = Q/V (reactive)
  AVR         Efd = Kp e + Ki int(e) through exciter lag Te, 0 <= Efd <= ceiling
              e = Vref * min(1, f / f_knee) - V,  Vref = 1 + 0.10 * bias
"""

ALT_DEFAULTS = {
    "s_rated_kva": 250.0,
    "xd_pu": 2.9,
    "xdp_pu": 0.17,
    "tdo_s": 1.7,
    "avr_kp": 20.0,
    "avr_ki": 40.0,
    "exciter_tau_s": 0.10,
    "efd_max_pu": 4.5,
    "ufro_knee_pct": 95.0,   # V/Hz roll-off below 95 % of rated frequency
    "bias_range_pct": 10.0,  # +-100 % bias = +-10 % voltage
    "avr_qdroop_pu": 0.04,   # reactive (quadrature) droop while paralleled: 4 % V
                             # per pu kvar, the paralleling droop kit's usual setting
}


class Alternator:
    def __init__(self, params, dt_s):
        self.p = dict(params)
        self.dt = dt_s
        self.xd = params["xd_pu"]
        self.xdp = params["xdp_pu"]
        self.tdo = params["tdo_s"]
        self.kp = params["avr_kp"]
        self.ki = params["avr_ki"]
        self.a_exc = dt_s / params["exciter_tau_s"]
        self.efd_max = params["efd_max_pu"]
        self.knee = params["ufro_knee_pct"] / 100.0
        self.bias_gain = params["bias_range_pct"] / 100.0
        self.e_p = 1.0
        self.efd = 1.0
        self.avr_int = 1.0
        self.v = 1.0
        self.excited = True
        self.qdroop = params["avr_qdroop_pu"]
        self.paralleled = False   # droop kit in circuit (set by the simulator)

    def settle(self, p_pu, q_pu):
        """Steady state at rated voltage for load p, q (pu of kVA)."""
        v = 1.0
        iq = q_pu / v
        self.e_p = ((v + self.xdp * iq) ** 2 + (self.xdp * p_pu / v) ** 2) ** 0.5
        self.efd = self.e_p + (self.xd - self.xdp) * iq
        self.avr_int = self.efd
        self.v = v

    def terminal(self, p_pu, q_pu, w_pu=1.0):
        """Terminal voltage for the present E' and load (two fixed-point passes
        from the last value; converges well inside one plant step)."""
        v = self.v
        e = self.e_p * w_pu
        xdp = self.xdp
        for _ in range(2):
            if v < 0.05:
                v = 0.05
            a = xdp * p_pu / v
            b2 = e * e - a * a
            b = b2 ** 0.5 if b2 > 0 else 0.0
            v = b - xdp * q_pu / v
        if v < 0.0:
            v = 0.0
        self.v = v
        return v

    def step(self, p_pu, q_pu, f_pu, bias_pu):
        v = self.terminal(p_pu, q_pu, f_pu)
        vref = 1.0 + self.bias_gain * bias_pu
        if self.paralleled:
            vref -= self.qdroop * q_pu
        if f_pu < self.knee:
            vref *= f_pu / self.knee
        err = vref - v
        if self.excited:
            self.avr_int += self.ki * err * self.dt
            if self.avr_int > self.efd_max:
                self.avr_int = self.efd_max
            elif self.avr_int < 0.0:
                self.avr_int = 0.0
            u = self.kp * err + self.avr_int
            if u > self.efd_max:
                u = self.efd_max
            elif u < 0.0:
                u = 0.0
        else:
            u = 0.0
        self.efd += (u - self.efd) * self.a_exc
        iq = q_pu / v if v > 0.05 else q_pu / 0.05
        # EMF scales with speed; the field equation is written at rated speed.
        self.e_p += (self.efd - self.e_p - (self.xd - self.xdp) * iq) * self.dt / self.tdo
        return v
