"""Utility grid at the point of common coupling (PCC): a stiff voltage source
behind its Thevenin impedance, with the disturbances scenario events apply.

Float, per-unit on the grid's own nominal voltage and frequency; the
impedance is converted to the generator's base by `impedance_pu`.  The grid
is stiff: a 250 kVA set cannot move the utility's frequency or phase, so f,
V and the angle are set only by this model and its events (the set's effect
on the PCC voltage comes through the impedance, in network.py).

  source      V_s = v_pu * exp(j angle)                ideal EMF
  angle       d(angle)/dt = 2 pi f_hz                   integrated each step,
              wrapped to (-pi, pi]; a phase jump adds to it at once
  impedance   |Z| = S_base / S_sc    (pu on S_base)     Thevenin impedance from
              the short-circuit level at the PCC (IEEE Std 399 "Brown Book"
              short-circuit method); X = |Z| XR / sqrt(1 + XR^2), R = X / XR
  SCR         S_sc / S_gen = 10 MVA / 250 kVA = 40      a stiff grid (IEEE Std
              1204 calls SCR < 3 weak); the set barely moves the PCC voltage
  drift       f = f_base + df * clip((t - t0) / T, 0, 1)  linear frequency
              wander; several may overlap and add
  f / V step  immediate change of f_base / the voltage set-point
  V ramp      v = v0 + (to - v0) * clip((t - t0) / T, 0, 1), v0 the voltage
              when the ramp starts
  outage      alive False, v_pu 0: the upstream recloser or breaker opened.
              The angle keeps turning (the rest of the utility still runs),
              so a restore comes back at whatever phase the grid then has,
              not in step with an island that ran on meanwhile
"""

import math

from .params import Param, defaults

# The utility behind a 200 kW site.  Names are prefixed grid_ because the
# scenario's [plant] table is one flat namespace shared with the engine,
# alternator, aux and breaker tables.
GRID_PARAMS = {
    # Fault level at the 480 V PCC.  A 200 kW site is fed by a 500-750 kVA
    # pad-mount service transformer of 5.75 % impedance (common nameplate
    # value): S_T / Z_T = 8.7-13 MVA before the (smaller) upstream feeder
    # impedance; 5-20 MVA covers typical LV services.  10 MVA = 12 kA at
    # 480 V.
    "grid_sc_mva": Param(10.0, 0.5, 100.0, "MVA",
                         "0.5 MVA is SCR 2 on 250 kVA, a weak grid (IEEE Std 1204: "
                         "SCR < 3); 100 MVA a transmission-stiff bus; |Z| divides by it"),
    # X/R at the PCC, dominated by the service transformer: 4-6 for
    # 500-1000 kVA units (IEEE Std 399 transformer X/R curves).  UL 489
    # moulded-case breakers are tested at 20 % pf (X/R 4.9) for 10-20 kA,
    # the fault current here.
    "grid_x_r": Param(5.0, 0.5, 30.0, "X/R",
                      "0.5: a resistive rural feeder; 30: next to a large "
                      "transformer; R = X / (X/R)"),
    # Initial utility voltage at the PCC, pu of rated; ANSI C84.1 Range A
    # service voltage is 0.95-1.05.
    "grid_v_pu": Param(1.0, 0.85, 1.15, "pu",
                       "ANSI C84.1 Range B (0.917-1.058) with margin for "
                       "abnormal-voltage tests"),
}
GRID_DEFAULTS = defaults(GRID_PARAMS)
RULES = ()


class Grid:
    """Stiff utility source.  State: f_hz, v_pu (magnitude, 0 when dead),
    angle_rad (voltage phase, absolute: integrates 2 pi f_hz, wrapped to
    (-pi, pi]) and alive."""

    def __init__(self, params, f_nom_hz, dt_s):
        self.f_nom = float(f_nom_hz)
        self.dt = dt_s
        self.sc_mva = params["grid_sc_mva"]
        self.x_r = params["grid_x_r"]
        self.f_base = self.f_nom      # frequency without the active drifts
        self.f_hz = self.f_nom
        self.v_set = params["grid_v_pu"]   # voltage the utility holds while alive
        self.v_pu = self.v_set
        self.angle_rad = 0.0
        self.alive = True
        self._drifts = []             # [t0, duration, df]
        self._v_ramp = None           # [t0, duration, to, v0 or None]

    # --- impedance -----------------------------------------------------------

    def set_impedance(self, sc_mva, x_r=None):
        """Change the fault level (a weak-grid or feeder-switching event)."""
        self.sc_mva = sc_mva
        if x_r is not None:
            self.x_r = x_r

    def impedance_pu(self, s_base_kva):
        """Thevenin impedance R + jX in pu on s_base_kva (and the grid's
        nominal voltage, which is the site's rated voltage)."""
        z = s_base_kva / (self.sc_mva * 1000.0)
        x = z * self.x_r / math.sqrt(1.0 + self.x_r * self.x_r)
        return complex(x / self.x_r, x)

    # --- disturbances (scenario events) --------------------------------------

    def drift(self, t0, duration_s, df_hz):
        """Frequency wander: a linear ramp of df_hz over duration_s from t0.
        Ramps add to each other and to steps."""
        self._drifts.append([t0, duration_s, df_hz])

    def f_step(self, df_hz):
        """Frequency step now (loss of a large unit elsewhere, islanding of
        the feeder onto another source)."""
        self.f_base += df_hz

    def v_step(self, dv_pu):
        """Voltage step now (tap change, capacitor switching, a fault
        elsewhere on the feeder)."""
        self.v_set += dv_pu
        if self._v_ramp is not None and self._v_ramp[3] is not None:
            self._v_ramp[3] += dv_pu
        if self.alive:
            self.v_pu = self.v_set

    def v_ramp(self, t0, duration_s, to_pu):
        """Voltage ramps linearly from its value at t0 to to_pu over
        duration_s.  A later v_ramp replaces one still running."""
        self._v_ramp = [t0, duration_s, to_pu, None]

    def phase_jump(self, deg):
        """The utility voltage phase jumps by deg now (positive = the grid
        advances); what a vector-shift relay looks for."""
        self.angle_rad = math.remainder(self.angle_rad + math.radians(deg), 2.0 * math.pi)

    def outage(self):
        """The utility is lost upstream of the PCC: no voltage."""
        self.alive = False
        self.v_pu = 0.0

    def restore(self):
        """The utility comes back at its set voltage (and its own phase)."""
        self.alive = True
        self.v_pu = self.v_set

    # --- time ----------------------------------------------------------------

    def step(self, t_s):
        """Advance one dt ending at t_s: apply scheduled drifts and ramps for
        time t_s, then integrate the angle over the step at the new f."""
        f = self.f_base
        if self._drifts:
            keep = []
            for d in self._drifts:
                t0, dur, df = d
                if t_s < t0:
                    keep.append(d)
                    continue
                x = (t_s - t0) / dur if dur > 0 else 1.0
                if x >= 1.0:
                    self.f_base += df     # finished: fold into the base
                    f += df
                else:
                    f += df * x
                    keep.append(d)
            self._drifts = keep
        self.f_hz = f
        r = self._v_ramp
        if r is not None and t_s >= r[0]:
            if r[3] is None:
                r[3] = self.v_set
            x = (t_s - r[0]) / r[1] if r[1] > 0 else 1.0
            if x >= 1.0:
                self.v_set = r[2]
                self._v_ramp = None
            else:
                self.v_set = r[3] + (r[2] - r[3]) * x
        self.v_pu = self.v_set if self.alive else 0.0
        self.angle_rad = math.remainder(self.angle_rad + 2.0 * math.pi * f * self.dt,
                                        2.0 * math.pi)
