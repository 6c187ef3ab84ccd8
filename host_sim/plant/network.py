"""Site electrical network: the generator behind its breaker (GCB), the grid
behind the mains breaker (MB) and the site load on the bus between them,
i.e. at the point of common coupling (PCC).

    E' /_delta --jX'd-- [GCB] --+-- bus / PCC --+-- [MB] --(R+jX)-- V_s /_theta
                                |               |
                             site load      (dead feeder, MB closed,
                                             grid dead)

Per-unit on the alternator rating (s_rated_kva, 250 kVA) and rated voltage;
powers in and out are kW / kvar.  Algebraic phasor network at nominal
frequency, as in electromechanical stability programs (Kundur ch. 13: the
network's own transients, tens of ms, are ignored; reactances are taken at
nominal frequency, an error of |df| / f, under 2 %).

The generator is the one-axis model the alternator already uses (Kundur
ch. 4-5): EMF E' behind X'd, E' = alt.e_p * w.  The caller integrates its
electrical angle, gen_angle += 2 pi f_nom w dt (absolute, like the grid's
angle; wrap it with math.remainder if you like), and passes it in.

  parallel    both breakers closed, grid alive.  KCL at the bus
  (GCB+MB)      (E - V_b) / jX'd + (V_s - V_b) / Z_s = conj(S_L / V_b)
              solved by fixed point from the last V_b (contraction
              |S_L| / |V_b|^2 / |1/jX'd + 1/Z_s| ~ 0.02: three passes leave
              a few 1e-6 pu from a cold start, far less warm).  With no load this is P = E V_s / X sin(delta),
              X = X'd + X_s, delta = gen angle - grid angle (the power-angle
              relation, Kundur ch. 2.1), Q from the same phasors.
              S_gen = V_b conj((E - V_b) / jX'd)     at the terminals = bus
              damper  P_D = D s / (1 + (s / s_c)^2),  s = w - f_grid / f_nom
              asynchronous (induction) power of the damper windings,
              Kundur ch. 3.9 / 5 (the D (w - w_s) term of the swing
              equation) with the slip curve of an induction machine (Kloss
              form, peak at s_c = 1 / (w_s T''do)) so a far-out-of-sync close
              cannot draw unbounded power.  P_D is added to the phasor P
              (it is power sent to the grid); its effect on V_b is ignored.
              p_grid = P_L - p_gen, q_grid = Q_L - q_gen   at the PCC
  grid only   MB closed, GCB open: V_b = V_s - Z_s conj(S_L / V_b); the
  (MB)        generator runs at no load (p_gen = q_gen = 0).
  island      GCB closed, MB open: the generator alone carries the load.
  (GCB)       bus = generator terminals, p_gen = load.  bus_v_pu is the
              alternator's own terminal equation
                (E')^2 = (V + X'd Q/V)^2 + (X'd P/V)^2
              solved for the same E', so it agrees with what
              Alternator.step() returns to the fixed-point tolerance (the
              alternator keeps owning the AVR loop; sim.py keeps feeding its
              value to the sensors in an island, as before).  The terminal angle lags the EMF
              by atan2(X'd P/V, V + X'd Q/V).
  island on   GCB closed, MB closed, grid dead: as island, plus the rest of
  dead grid   the dead feeder seen through the closed MB, a constant
              impedance load dead_feeder_p/q_pu * V^2 (other customers
              still connected downstream of the opened recloser).  Default
              0: the IEEE 1547.1 unintentional-islanding test condition
              (island load matched to the DER output), the hardest case for
              loss-of-mains detection.  p_grid is then -(feeder P), export.
  dead        GCB open and (MB open or grid dead): load not supplied, bus
              0 V and 0 Hz (the firmware's dead-bus convention).

Bus frequency: in parallel the impedance-weighted mean of the source
frequencies, (X'd f_grid + |Z_s| f_gen) / (X'd + |Z_s|), i.e. the rate of the
bus angle without its step changes (a grid phase jump shows only in
bus_angle_rad, as the vector shift a relay would see); the grid's f when
only the grid feeds the bus, the generator's in an island.
"""

import cmath
import math

from .params import Param, defaults

# Names are prefixed because the scenario's [plant] table is one flat
# namespace; X'd comes from the alternator's table (xdp_pu).
NETWORK_PARAMS = {
    # Damper-winding damping, pu power per pu slip on the alternator rating.
    # Order of magnitude from the damper (induction-machine) analogy for a
    # machine on a stiff bus (Kundur ch. 3.9 / 5; the d-axis form in
    # Machowski, Bialek & Bumby, "Power System Dynamics", ch. 5):
    #   D ~ w_s V^2 (X'd - X''d) / (X'd + X_s)^2 * (X'd / X''d) * T''do
    #     = 377 * 0.05 / 0.195^2 * (0.17 / 0.12) * 0.021 = 15
    # with X''d 0.12 and T''d 0.015 s (T''do = T''d X'd / X''d = 0.021 s),
    # 250 kVA brushless alternator data-sheet class, X_s 0.025 from the grid
    # defaults.  The q-axis term and the fall of damper torque at the swing
    # frequency (w T''q0 ~ 1-2) are left out; take it as +-50 %.  With the
    # set's H (0.44 s on 200 kW = 0.35 s on 250 kVA) it gives a swing mode
    # near 8 Hz with damping ratio ~0.2.
    "damper_d_pu": Param(15.0, 0.0, 100.0, "pu",
                         "0: no damper winding; 100: ~7x the estimate above"),
    # T''do, sets the slip at which the damper's asynchronous power peaks:
    # s_c = 1 / (2 pi f_nom T''do) = 0.125 at 60 Hz (peak D s_c / 2 ~ 0.9 pu).
    "damper_tdo2_s": Param(0.021, 0.005, 0.2, "s",
                           "T''do of LV alternators is 0.01-0.05 s; s_c divides by it"),
    # Rest of the dead feeder seen through a closed MB when the grid is out,
    # constant impedance, pu of the alternator rating at 1 pu voltage.
    # 0 = IEEE 1547.1 balanced-island test condition (see above).
    "dead_feeder_p_pu": Param(0.0, 0.0, 2.0, "pu",
                              "0 to twice the set's rating left on the feeder"),
    "dead_feeder_q_pu": Param(0.0, -2.0, 2.0, "pu",
                              "inductive (+) or capacitive (-, cable and capacitor "
                              "banks) feeder, up to twice the rating"),
}
NETWORK_DEFAULTS = defaults(NETWORK_PARAMS)
RULES = ()

# Below this the bus counts as dead (the firmware's synccheck.bus_dead uses
# the same 10 % of rated).
LIVE_PU = 0.1


class Network:
    def __init__(self, params, s_rated_kva, v_rated_v, f_nom_hz, dt_s):
        """params: the plant table (xdp_pu from the alternator's defaults plus
        NETWORK_DEFAULTS).  dt_s is kept for a uniform plant constructor: the
        network is algebraic and holds only its solvers' starting points."""
        self.s_kva = float(s_rated_kva)
        self.v_rated = float(v_rated_v)
        self.f_nom = float(f_nom_hz)
        self.dt = dt_s
        self.xdp = params["xdp_pu"]
        self.d = params["damper_d_pu"]
        self.s_crit = 1.0 / (2.0 * math.pi * self.f_nom * params["damper_tdo2_s"])
        self.feeder_p = params["dead_feeder_p_pu"]
        self.feeder_q = params["dead_feeder_q_pu"]
        self.i_base_a = self.s_kva * 1000.0 / (math.sqrt(3.0) * self.v_rated)
        self._vb = complex(1.0, 0.0)   # last bus voltage, grid frame (parallel / grid)
        self._vi = 1.0                 # last island terminal voltage

    @staticmethod
    def phase_difference_deg(gen_angle_rad, bus_angle_rad):
        """Generator minus bus phase in degrees, wrapped to (-180, 180]: what
        the sync-check sensor measures across the open breaker."""
        d = math.degrees(math.remainder(gen_angle_rad - bus_angle_rad, 2.0 * math.pi))
        return 180.0 if d <= -180.0 else d

    def damper_pu(self, slip_pu):
        """Asynchronous damper power (pu) at slip w - w_grid."""
        x = slip_pu / self.s_crit
        return self.d * slip_pu / (1.0 + x * x)

    def _island_v(self, e, p, q, gp, gq):
        """Terminal voltage of E' behind X'd carrying constant power p + jq
        plus constant impedance gp + jgq (pu at 1 pu V): the alternator's
        terminal equation, iterated from the last value."""
        v = self._vi
        xdp = self.xdp
        for _ in range(4):
            if v < 0.05:
                v = 0.05
            pt = p + gp * v * v
            qt = q + gq * v * v
            a = xdp * pt / v
            b2 = e * e - a * a
            b = math.sqrt(b2) if b2 > 0.0 else 0.0
            v = b - xdp * qt / v
        if v < 0.0:
            v = 0.0
        self._vi = v
        return v

    def solve(self, gen_angle_rad, gen_w_pu, gen_emf_pu, load_p_kw, load_q_kvar,
              gcb_closed, mb_closed, grid):
        """One plant step's network solution.  Returns a dict:
        p_gen_kw, q_gen_kvar   generator output (incl. damper power)
        p_damp_kw              the damper share of p_gen_kw
        i_gen_a                generator line current
        bus_v_pu, bus_f_hz, bus_angle_rad   PCC voltage, frequency, phase
        p_grid_kw, q_grid_kvar import from the grid at the PCC (+ = import)
        load_supplied          the site load has a live source
        gen_paralleled         GCB and MB closed onto a live grid
        mode                   "parallel", "grid", "island" or "dead"
        """
        s = self.s_kva
        pl = load_p_kw / s
        ql = load_q_kvar / s
        grid_live = mb_closed and grid.alive
        xdp = self.xdp

        if gcb_closed and grid_live:
            zs = grid.impedance_pu(s)
            ys = 1.0 / zs
            yg = 1.0 / complex(0.0, xdp)
            theta = grid.angle_rad
            # Work in the grid's frame (grid source on the real axis).
            e = cmath.rect(gen_emf_pu, gen_angle_rad - theta)
            vs = grid.v_pu
            ysum = yg + ys
            src = yg * e + ys * vs
            vb = self._vb
            sl = complex(pl, ql)
            for _ in range(3):
                if abs(vb) < 0.05:
                    vb = complex(0.05, 0.0)
                vb = (src - (sl / vb).conjugate()) / ysum
            self._vb = vb
            ig = (e - vb) * yg
            sg = vb * ig.conjugate()
            f_grid = grid.f_hz
            pd = self.damper_pu(gen_w_pu - f_grid / self.f_nom)
            p_gen = sg.real + pd
            q_gen = sg.imag
            zm = abs(zs)
            f_gen = gen_w_pu * self.f_nom
            return {
                "p_gen_kw": p_gen * s, "q_gen_kvar": q_gen * s, "p_damp_kw": pd * s,
                "i_gen_a": abs(ig) * self.i_base_a,
                "bus_v_pu": abs(vb),
                "bus_f_hz": (xdp * f_grid + zm * f_gen) / (xdp + zm),
                "bus_angle_rad": math.remainder(theta + cmath.phase(vb), 2.0 * math.pi),
                "p_grid_kw": (pl - p_gen) * s, "q_grid_kvar": (ql - q_gen) * s,
                "load_supplied": abs(vb) >= LIVE_PU, "gen_paralleled": True,
                "mode": "parallel",
            }

        if grid_live:
            zs = grid.impedance_pu(s)
            theta = grid.angle_rad
            vs = grid.v_pu
            vb = self._vb
            sl = complex(pl, ql)
            for _ in range(3):
                if abs(vb) < 0.05:
                    vb = complex(0.05, 0.0)
                vb = vs - zs * (sl / vb).conjugate()
            self._vb = vb
            vm = abs(vb)
            return {
                "p_gen_kw": 0.0, "q_gen_kvar": 0.0, "p_damp_kw": 0.0, "i_gen_a": 0.0,
                "bus_v_pu": vm, "bus_f_hz": grid.f_hz,
                "bus_angle_rad": math.remainder(theta + cmath.phase(vb), 2.0 * math.pi),
                "p_grid_kw": load_p_kw, "q_grid_kvar": load_q_kvar,
                "load_supplied": vm >= LIVE_PU, "gen_paralleled": False, "mode": "grid",
            }

        if gcb_closed:
            gp = self.feeder_p if mb_closed else 0.0
            gq = self.feeder_q if mb_closed else 0.0
            v = self._island_v(gen_emf_pu, pl, ql, gp, gq)
            pf = gp * v * v
            qf = gq * v * v
            pt = pl + pf
            qt = ql + qf
            vv = v if v > 0.05 else 0.05
            lag = math.atan2(xdp * pt / vv, vv + xdp * qt / vv)
            # A fresh start for the parallel solver when the grid returns.
            self._vb = complex(1.0, 0.0)
            return {
                # The load's own kW / kvar, not pt * s: bit for bit what the
                # island plant used before the network existed.
                "p_gen_kw": load_p_kw + pf * s, "q_gen_kvar": load_q_kvar + qf * s,
                "p_damp_kw": 0.0,
                "i_gen_a": math.hypot(pt, qt) / vv * self.i_base_a if v > 0.0 else 0.0,
                "bus_v_pu": v, "bus_f_hz": gen_w_pu * self.f_nom if v >= LIVE_PU else 0.0,
                "bus_angle_rad": math.remainder(gen_angle_rad - lag, 2.0 * math.pi),
                "p_grid_kw": -pf * s, "q_grid_kvar": -qf * s,
                "load_supplied": v >= LIVE_PU, "gen_paralleled": False, "mode": "island",
            }

        self._vb = complex(1.0, 0.0)
        return {
            "p_gen_kw": 0.0, "q_gen_kvar": 0.0, "p_damp_kw": 0.0, "i_gen_a": 0.0,
            "bus_v_pu": 0.0, "bus_f_hz": 0.0, "bus_angle_rad": grid.angle_rad,
            "p_grid_kw": 0.0, "q_grid_kvar": 0.0,
            "load_supplied": False, "gen_paralleled": False, "mode": "dead",
        }
