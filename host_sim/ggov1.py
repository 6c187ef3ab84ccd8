"""GGOV1 reference governor (float, host only): the peer the firmware governor
is compared against on the same plant.

GGOV1 is the WECC general governor model (Pourbeik et al., "Modeling of
Combined-Cycle Power Plants...", and the PSS/E / PowerWorld GGOV1 block
diagram).  Only its governor part runs here - droop on electrical power, PID,
valve actuator with rate limits - driving the same gas valve as the firmware;
the turbine part of GGOV1 (Kturb, Wfnl, Teng, Tb/Tc) is replaced by the
engine model, so both governors face the same engine.

Typical parameters from ../shared/reference/standards.md: R 0.04 on
electrical power (Rselect = 1), Kpgov 10, Kigov 2, Kdgov 0, Tact 0.5 s, valve
rate limits 0.1 pu/s, Tpelec 1 s (PSS/E default), load limiter and
acceleration limiter disabled, no supplementary load controller (Kimw = 0).

Its valve output (pu fuel, Wfnl at no load .. 1.0 at rated) is turned into
the actuator position with the same commissioned fuel map the firmware uses
(firmware/fuels.py), so neither governor gets a better map.
"""

from .plant.params import Param, defaults

# Typical values above; limits say how far a scenario may take each one.
GGOV1_PARAMS = {
    "r": Param(0.04, 0.0, 0.1, "pu",
               "0 = isochronous; 10 % is above every ISO 8528-5 class's droop"),
    "kpgov": Param(10.0, 0.0, 100.0, "pu", "turbine 10, recip 7-10 (standards.md), x10 margin"),
    "kigov": Param(2.0, 0.0, 100.0, "pu/s", "turbine 2, recip ~20 (standards.md), x5 margin"),
    "kdgov": Param(0.0, 0.0, 50.0, "pu s", "usually 0; a large derivative for experiments"),
    "tdgov": Param(1.0, 0.001, 10.0, "s", "derivative filter; positive"),
    "tact": Param(0.5, 0.005, 5.0, "s",
                  "recip ~0.02 s, turbine 0.5 s (standards.md); the valve divides by it"),
    "ropen": Param(0.10, 0.01, 100.0, "pu/s",
                   "opening rate, positive: turbine 0.1, recip ~10 pu/s (standards.md)"),
    "rclose": Param(-0.10, -100.0, -0.01, "pu/s",
                    "closing rate, negative: turbine -0.1, recip ~-10 pu/s"),
    "tpelec": Param(1.0, 0.001, 10.0, "s", "power transducer lag (PSS/E default 1 s); positive"),
    "vmax": Param(1.0, 0.5, 1.5, "pu", "valve ceiling, about full fuel"),
    "vmin": Param(0.15, 0.0, 0.5, "pu", "valve floor, about the no-load fuel"),
    "wfnl": Param(0.2, 0.0, 0.5, "pu",
                  "no-load fuel, GGOV1 typical 0.2; the valve map divides by 1 - wfnl"),
}
GGOV1_DEFAULTS = defaults(GGOV1_PARAMS)
RULES = (
    ("vmin", lambda p: p["vmin"] < p["vmax"], "must be less than vmax"),
)


class Ggov1:
    def __init__(self, params, dt_s, fuel_nl_pu, fuel_fl_pu, p_rated_pu):
        self.p = dict(params)
        self.dt = dt_s
        self.nl = fuel_nl_pu
        self.fl = fuel_fl_pu
        self.p_rated_pu = p_rated_pu   # fuel's rating on the set's base
        self.pelec_f = 0.0
        self.integ = 0.0
        self.valve = params["wfnl"]
        self.pref = 0.0
        self.d_state = 0.0
        self.last_err = 0.0

    def settle(self, p_pu, w_pu=1.0):
        """Steady state at load p_pu (on the fuel's rating) and speed w."""
        pr = self.p
        self.pelec_f = p_pu
        v = pr["wfnl"] + (1.0 - pr["wfnl"]) * p_pu
        self.valve = v
        self.integ = v
        self.pref = pr["r"] * p_pu   # rated speed at this initial load

    def step(self, w_pu, p_pu):
        """One plant step; returns the actuator command pu (0..1)."""
        pr = self.p
        dt = self.dt
        self.pelec_f += (p_pu - self.pelec_f) * dt / pr["tpelec"]
        err = self.pref - pr["r"] * self.pelec_f - (w_pu - 1.0)
        self.integ += pr["kigov"] * err * dt
        d = 0.0
        if pr["kdgov"] > 0:
            d = pr["kdgov"] * (err - self.last_err) / dt
        self.last_err = err
        fsr = pr["kpgov"] * err + self.integ + d
        # Anti-windup on the integrator at the valve limits (GGOV1 limits fsr).
        if fsr > pr["vmax"]:
            self.integ -= fsr - pr["vmax"]
            fsr = pr["vmax"]
        elif fsr < pr["vmin"]:
            self.integ += pr["vmin"] - fsr
            fsr = pr["vmin"]
        rate = (fsr - self.valve) / pr["tact"]
        if rate > pr["ropen"]:
            rate = pr["ropen"]
        elif rate < pr["rclose"]:
            rate = pr["rclose"]
        self.valve += rate * dt
        # Valve (pu fuel: wfnl .. 1) -> actuator position via the commissioned map.
        x = (self.valve - pr["wfnl"]) / (1.0 - pr["wfnl"])
        return self.nl + (self.fl - self.nl) * x
