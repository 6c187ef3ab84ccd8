"""The site network with a stack of N sets (issue 12): every generator behind
its own breaker and transient reactance, one bus with the site load, the
grid behind the mains breaker.

    E'_1 --jX'd_1-- [GCB 1] --+
    E'_2 --jX'd_2-- [GCB 2] --+-- bus / PCC --+-- [MB] --(R+jX)-- V_s
     ...                      |               |
    E'_N --jX'd_N-- [GCB N] --+           site load

The same algebraic phasor network as network.py (Kundur ch. 13; see there
for the one-machine derivation and the damper term), extended by KCL at the
bus to every source that is connected:

    sum_i y_i (E_i - V_b) + y_s (V_s - V_b) = conj(S_L / V_b)
    V_b = (sum_i y_i E_i + y_s V_s - conj(S_L / V_b)) / (sum_i y_i + y_s)

solved by fixed point from the last V_b to 1e-12 pu (the contraction
factor is |S_L| / |V_b|^2 / |sum y|, smaller the more sources are on).  y_i =
1 / (j X'd_i) with X'd_i in pu of machine i's own rating, moved to the
system base (the sum of the ratings) - so two machines at one angle and EMF
share a load in proportion to their ratings.  Machine i then delivers
S_i = V_b conj(y_i (E_i - V_b)) plus its damper power at its slip against
the bus (the grid's frequency when the grid is on; in an island, the
admittance-weighted mean of the connected machines' speeds, their centre).
In an island the machines' relative angles set how they share the load:
the swing between sets (the inter-unit mode load sharing must damp) is in
the model, not assumed away.

Per unit here: the system base s_base_kva = sum of the machines' ratings;
results are returned in kW, kvar, A per machine.
"""

import cmath
import math

from .network import LIVE_PU


class FleetNetwork:
    def __init__(self, s_kva, xdp_pu, damper_d_pu, damper_tdo2_s, v_rated_v, f_nom_hz):
        """s_kva, xdp_pu, damper_d_pu, damper_tdo2_s: one entry per machine
        (its rating, X'd and damper on its own rating)."""
        self.n = len(s_kva)
        self.s_kva = [float(s) for s in s_kva]
        self.s_base = sum(self.s_kva)
        self.f_nom = float(f_nom_hz)
        self.v_rated = float(v_rated_v)
        # admittances on the system base: y = 1 / (j X'd (S_base / S_i))
        self.y = [1.0 / complex(0.0, x * self.s_base / s) for x, s in zip(xdp_pu, self.s_kva)]
        self.d = [d * s / self.s_base for d, s in zip(damper_d_pu, self.s_kva)]
        self.s_crit = [1.0 / (2.0 * math.pi * self.f_nom * t) for t in damper_tdo2_s]
        self.i_base_a = self.s_base * 1000.0 / (math.sqrt(3.0) * self.v_rated)
        self._vb = complex(1.0, 0.0)

    def _damper(self, i, slip):
        x = slip / self.s_crit[i]
        return self.d[i] * slip / (1.0 + x * x)

    def solve(self, angles_rad, w_pu, emf_pu, gcb_closed, load_p_kw, load_q_kvar,
              mb_closed, grid):
        """One step's network solution.  Per-machine lists in, a dict out:
        p_kw, q_kvar, i_a (lists), bus_v_pu, bus_f_hz, bus_angle_rad,
        p_grid_kw, q_grid_kvar, load_supplied, mode ("parallel", "grid",
        "island", "dead")."""
        n = self.n
        sb = self.s_base
        on = [i for i in range(n) if gcb_closed[i]]
        grid_live = mb_closed and grid.alive
        zero = [0.0] * n
        if not on and not grid_live:
            self._vb = complex(1.0, 0.0)
            return {"p_kw": zero, "q_kvar": list(zero), "i_a": list(zero),
                    "bus_v_pu": 0.0, "bus_f_hz": 0.0, "bus_angle_rad": grid.angle_rad,
                    "p_grid_kw": 0.0, "q_grid_kvar": 0.0, "load_supplied": False,
                    "mode": "dead"}
        # The frame: the grid's angle when it is on, else the first machine's.
        theta = grid.angle_rad if grid_live else angles_rad[on[0]]
        src = 0j
        ysum = 0j
        for i in on:
            e = cmath.rect(emf_pu[i], angles_rad[i] - theta)
            src += self.y[i] * e
            ysum += self.y[i]
        if grid_live:
            zs = grid.impedance_pu(sb)
            ys = 1.0 / zs
            src += ys * grid.v_pu
            ysum += ys
        sl = complex(load_p_kw / sb, load_q_kvar / sb)
        vb = self._vb
        for _ in range(30):          # warm, two or three passes; cold, ten
            if abs(vb) < 0.05:
                vb = complex(0.05, 0.0)
            nv = (src - (sl / vb).conjugate()) / ysum
            done = abs(nv - vb) < 1e-12
            vb = nv
            if done:
                break
        self._vb = vb
        vm = abs(vb)
        # bus frequency: admittance-weighted mean of the sources' frequencies
        wsum = 0.0
        fsum = 0.0
        for i in on:
            a = abs(self.y[i])
            wsum += a
            fsum += a * w_pu[i] * self.f_nom
        if grid_live:
            a = abs(ys)
            wsum += a
            fsum += a * grid.f_hz
        f_bus = fsum / wsum
        f_ref = grid.f_hz if grid_live else f_bus
        p = list(zero)
        q = list(zero)
        ia = list(zero)
        pg = 0.0
        for i in on:
            e = cmath.rect(emf_pu[i], angles_rad[i] - theta)
            ig = self.y[i] * (e - vb)
            sg = vb * ig.conjugate()
            pd = self._damper(i, w_pu[i] - f_ref / self.f_nom)
            p[i] = (sg.real + pd) * sb
            q[i] = sg.imag * sb
            ia[i] = abs(ig) * self.i_base_a
            pg += p[i]
        qg = sum(q)
        return {"p_kw": p, "q_kvar": q, "i_a": ia, "bus_v_pu": vm,
                "bus_f_hz": f_bus if vm >= LIVE_PU else 0.0,
                "bus_angle_rad": math.remainder(theta + cmath.phase(vb), 2.0 * math.pi),
                "p_grid_kw": load_p_kw - pg if grid_live else 0.0,
                "q_grid_kvar": load_q_kvar - qg if grid_live else 0.0,
                "load_supplied": vm >= LIVE_PU,
                "mode": ("parallel" if on else "grid") if grid_live else "island"}
