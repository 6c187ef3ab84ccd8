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

from .params import Param, defaults

# The GX230's alternator pole count: 4 poles turn the engine at 1800 rpm at
# 60 Hz and 1500 rpm at 50 Hz, the two speeds its rating is known at
# (engine.RATING_RPM and constant torque below it).  Not a [plant] parameter:
# another pole count would put this engine at a speed it has no rating for.
POLES = 4


def rated_rpm(f_nom_hz):
    """Synchronous speed of the 4-pole alternator: 120 f / poles."""
    return 120.0 * f_nom_hz / POLES


ALT_PARAMS = {
    # 200 kW at 0.8 pf, the rated power factor of generating-set
    # alternators (ISO 8528-3)
    "s_rated_kva": Param(250.0, 150.0, 500.0, "kVA",
                         "alternator frames matched to a 167-200 kW engine: from "
                         "about its kW to 2x oversized for motor or rectifier loads"),
    # rated line-line voltage of the winding (README: a 480 V set)
    "v_rated_v": Param(480.0, 200.0, 690.0, "V",
                       "low-voltage windings: 208 V (US) to 690 V (IEC LV)"),
    "xd_pu": Param(2.9, 1.0, 5.0, "pu",
                   "data-sheet class 2.5-3.5; 1-5 covers LV alternators"),
    "xdp_pu": Param(0.17, 0.05, 0.5, "pu",
                    "data-sheet class 0.15-0.25; the network divides by it"),
    "tdo_s": Param(1.7, 0.2, 10.0, "s",
                   "data-sheet class 1-2 s; 10 s for large machines"),
    "avr_kp": Param(20.0, 0.0, 200.0, "pu",
                    "0 (integral only) to a very stiff AVR"),
    "avr_ki": Param(40.0, 0.0, 1000.0, "pu/s",
                    "0 (proportional only) to a very stiff AVR"),
    "exciter_tau_s": Param(0.10, 0.005, 2.0, "s",
                           "brushless exciters 0.05-0.5 s; 5 ms (5 plant steps) floor"),
    "efd_max_pu": Param(4.5, 1.0, 10.0, "pu",
                        "1: only the no-load field; 10: a very high forcing ceiling"),
    # V/Hz roll-off below 95 % of rated frequency
    "ufro_knee_pct": Param(95.0, 80.0, 100.0, "%",
                           "commercial AVR UFRO knees sit at 80-100 % of rated "
                           "frequency; the roll-off divides by it"),
    # +-100 % bias = +-10 % voltage
    "bias_range_pct": Param(10.0, 0.0, 30.0, "%",
                            "AVR remote trim ranges are +-5-15 %; 0 = no trim input"),
    # reactive (quadrature) droop while paralleled: 4 % V per pu kvar, the
    # paralleling droop kit's usual setting
    "avr_qdroop_pu": Param(0.04, 0.0, 0.2, "pu",
                           "droop kits are set 2-6 %; 0 = none"),
}
ALT_DEFAULTS = defaults(ALT_PARAMS)
# Cross-parameter rules: (field, test on the whole plant table, why).  None
# needed: the ranges above already keep X'd < Xd, as in every synchronous
# machine.
RULES = ()


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
        self.pack_constants()

    def pack_constants(self):
        """step() reads the constants from one tuple, packed here at
        construction: whoever changes one later (bias_gain, qdroop, knee,
        ki, dt, efd_max, kp, a_exc, xd, xdp, tdo) calls this again."""
        self._k = (self.bias_gain, self.qdroop, self.knee, self.ki, self.dt, self.efd_max,
                   self.kp, self.a_exc, self.xd - self.xdp, self.tdo)

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

    def step(self, p_pu, q_pu, f_pu, bias_pu, v_bus=None):
        """v_bus: the terminal voltage the network solved (a machine on a
        bus with others: fleetnet.py), else the machine's own terminal
        equation gives it."""
        if v_bus is None:
            v = self.terminal(p_pu, q_pu, f_pu)
        else:
            v = self.v = v_bus
        bias_gain, qdroop, knee, ki, dt, efd_max, kp, a_exc, xd_xdp, tdo = self._k
        vref = 1.0 + bias_gain * bias_pu
        if self.paralleled:
            vref -= qdroop * q_pu
        if f_pu < knee:
            vref *= f_pu / knee
        err = vref - v
        if self.excited:
            ai = self.avr_int + ki * err * dt
            if ai > efd_max:
                ai = efd_max
            elif ai < 0.0:
                ai = 0.0
            self.avr_int = ai
            u = kp * err + ai
            if u > efd_max:
                u = efd_max
            elif u < 0.0:
                u = 0.0
        else:
            u = 0.0
        efd = self.efd
        efd += (u - efd) * a_exc
        self.efd = efd
        iq = q_pu / v if v > 0.05 else q_pu / 0.05
        # EMF scales with speed; the field equation is written at rated speed.
        e_p = self.e_p
        self.e_p = e_p + (efd - e_p - xd_xdp * iq) * dt / tdo
        return v
