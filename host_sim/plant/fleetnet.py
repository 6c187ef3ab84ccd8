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

TWO_PI = 2.0 * math.pi


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
        # invariant per run: |y_i| (the bus frequency's weights), the grid's
        # admittance while its fault level stands (_grid_y)
        self.y_abs = [abs(y) for y in self.y]
        self._ykey = None
        self._ycache = None

    def _damper(self, i, slip):
        x = slip / self.s_crit[i]
        return self.d[i] * slip / (1.0 + x * x)

    def _grid_y(self, grid):
        """The grid's impedance on the system base, its admittance and that
        admittance's magnitude, kept while the grid's fault level stands."""
        key = (grid.sc_mva, grid.x_r)
        if self._ykey != key:
            zs = grid.impedance_pu(self.s_base)
            ys = 1.0 / zs
            self._ycache = (zs, ys, abs(ys))
            self._ykey = key
        return self._ycache

    def solve(self, angles_rad, w_pu, emf_pu, gcb_closed, load_p_kw, load_q_kvar,
              mb_closed, grid):
        """One step's network solution.  Per-machine lists in, a dict out:
        p_kw, q_kvar, i_a (lists), bus_v_pu, bus_f_hz, bus_angle_rad,
        p_grid_kw, q_grid_kvar, load_supplied, mode ("parallel", "grid",
        "island", "dead")."""
        (p, q, ia, vm, f_bus, ang, pg, qg, supplied, mode) = self.solve_fast(
            angles_rad, w_pu, emf_pu, gcb_closed, load_p_kw, load_q_kvar, mb_closed, grid,
            True)
        return {"p_kw": p, "q_kvar": q, "i_a": ia, "bus_v_pu": vm, "bus_f_hz": f_bus,
                "bus_angle_rad": ang, "p_grid_kw": pg, "q_grid_kvar": qg,
                "load_supplied": supplied, "mode": mode}

    def solve_fast(self, angles_rad, w_pu, emf_pu, gcb_closed, load_p_kw, load_q_kvar,
                   mb_closed, grid, currents=False, on=None):
        """solve() as a tuple (p_kw, q_kvar, i_a, bus_v_pu, bus_f_hz,
        bus_angle_rad, p_grid_kw, q_grid_kvar, load_supplied, mode), for
        the simulator's every step; i_a is None unless currents.  on: the
        indices of the machines whose breaker is closed, in order, if the
        caller keeps them (else from gcb_closed)."""
        n = self.n
        sb = self.s_base
        if on is None:
            on = [i for i in range(n) if gcb_closed[i]]
        grid_live = mb_closed and grid.alive
        if not on and not grid_live:
            self._vb = complex(1.0, 0.0)
            return ([0.0] * n, [0.0] * n, [0.0] * n if currents else None, 0.0, 0.0,
                    grid.angle_rad, 0.0, 0.0, False, "dead")
        y = self.y
        rect = cmath.rect
        # The frame: the grid's angle when it is on, else the first machine's.
        theta = grid.angle_rad if grid_live else angles_rad[on[0]]
        src = 0j
        ysum = 0j
        # bus frequency: admittance-weighted mean of the sources' frequencies
        wsum = 0.0
        fsum = 0.0
        f_nom = self.f_nom
        y_abs = self.y_abs
        es = []
        for i in on:
            e = rect(emf_pu[i], angles_rad[i] - theta)
            es.append(e)
            yi = y[i]
            src += yi * e
            ysum += yi
            a = y_abs[i]
            wsum += a
            fsum += a * w_pu[i] * f_nom
        if grid_live:
            _, ys, ys_abs = self._grid_y(grid)
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
        if grid_live:
            wsum += ys_abs
            fsum += ys_abs * grid.f_hz
        f_bus = fsum / wsum
        f_ref = grid.f_hz if grid_live else f_bus
        w_ref = f_ref / f_nom
        p = [0.0] * n
        q = [0.0] * n
        ia = [0.0] * n if currents else None
        pg = 0.0
        d = self.d
        s_crit = self.s_crit
        for i, e in zip(on, es):
            ig = y[i] * (e - vb)
            sg = vb * ig.conjugate()
            slip = w_pu[i] - w_ref
            x = slip / s_crit[i]
            pd = d[i] * slip / (1.0 + x * x)
            pi = (sg.real + pd) * sb
            p[i] = pi
            q[i] = sg.imag * sb
            if currents:
                ia[i] = abs(ig) * self.i_base_a
            pg += pi
        qg = sum(q)
        return (p, q, ia, vm, f_bus if vm >= LIVE_PU else 0.0,
                math.remainder(theta + cmath.phase(vb), TWO_PI),
                load_p_kw - pg if grid_live else 0.0,
                load_q_kvar - qg if grid_live else 0.0,
                vm >= LIVE_PU,
                ("parallel" if on else "grid") if grid_live else "island")
