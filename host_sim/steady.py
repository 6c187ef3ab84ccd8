"""The operating point a grid-parallel running start begins at (host only,
float).

A scenario with start = "running", a grid and the mains breaker closed
begins with the set paralleled and on duty.  Its initial state is the one
steady operating point every model agrees on at t = 0:

  power       the kW the firmware's own power control settles on for the
              initial site load (firmware/powerctl.py run to rest on the
              host: base load, import cap or export limit, and the zero-
              export minimum import), i.e. a set that has been paralleled in
              its duty for a while.  The engine's mechanical power equals it
              (the fuel the firmware is begun with), and the network angle
              is the one that makes the generator's electrical power equal it.
  reactive    the AVR in steady state with the bias the firmware outputs at
              t = 0 (zero: Controller.begin presets the governor only), so
              |V_bus| = 1 + bias - qdroop Q (the paralleling droop kit).  The
              firmware's kvar / power-factor loop then trims Q towards its
              reference over its own time constant (~0.4 s): the one state
              the firmware cannot be told at t = 0.
  network     the bus voltage V_b solving KCL at the PCC with the grid source
              on the real axis (the grid's angle is 0 at t = 0):
                S_gen = S_L(|V_b|) - V_b conj((V_s - V_b) / Z_s)
                E'    = V_b + j X'd conj(S_gen / V_b)
              two real equations (P_gen = P_target, the AVR's voltage) in
              |V_b| and its angle, solved by Newton's method; the site load
              is taken at |V_b| with its own voltage exponents, and the
              power target is re-read from the site load it gives.
The generator's rotor (EMF) angle is arg E', its terminal (= bus) phase
arg V_b; the sensors' pre-roll, the mains-side phase offset and the metered
V, P, Q start from the same figures (sim.py).
"""

from .errors import NoOperatingPoint
import cmath

from . import firmware_path

firmware_path()
import measure as fw_measure  # noqa: E402
import powerctl as fw_powerctl  # noqa: E402


def power_control_target_kw(cfg, site_kw):
    """The kW the firmware's power control holds for a steady site load of
    site_kw: its PowerCtl run on the host until its reference stops moving
    (the ramp is rate limited, so this takes at most rating / ramp ticks)."""
    pc = fw_powerctl.PowerCtl(cfg)
    m = fw_measure.Measure(cfg)
    # What the site draws is all power control reads: p_filt + grid import.
    m.p_filt_kw_x10 = 0
    m.grid_p_kw_x10 = int(round(site_kw * 10.0))
    pc.p_ref_kw_x10 = 0
    prev = None
    for _ in range(4 * cfg.p_fuel_rated_kw_x10 // pc.ramp_tick + 4):
        ref = pc.update(m, False)
        if ref == prev:
            break
        prev = ref
    return pc.p_ref_kw_x10 / 10.0


def stack_power_control_target_kw(cfgs, site_kw):
    """What a stack's power control holds together for a steady site load:
    every unit's firmware PowerCtl, each told its share of the plant as
    fleet.py would, run until no reference moves."""
    n = len(cfgs)
    ratings = [c.p_fuel_rated_kw_x10 // 10 for c in cfgs]
    r_all = sum(ratings)
    pcs = [fw_powerctl.PowerCtl(c) for c in cfgs]
    ms = [fw_measure.Measure(c) for c in cfgs]
    p = [0] * n
    for pc, r in zip(pcs, ratings):
        pc.p_ref_kw_x10 = 0
        pc.share_x1000 = r * 1000 // r_all
        pc.peers_whole = 1
    site = int(round(site_kw * 10.0))
    for _ in range(4 * max(c.p_fuel_rated_kw_x10 // pc.ramp_tick for c, pc in zip(cfgs, pcs)) + 4):
        tot = sum(p)
        new = []
        for i in range(n):
            ms[i].p_filt_kw_x10 = p[i]
            ms[i].grid_p_kw_x10 = site - tot
            new.append(pcs[i].update(ms[i], False))
        if new == p:
            break
        p = new
    return sum(p) / 10.0


def _newton2(fun, x, tol=1e-12, n=40):
    """Solve fun(x) = (0, 0) for x = [a, b] (finite-difference Jacobian)."""
    for _ in range(n):
        r = fun(x)
        if abs(r[0]) < tol and abs(r[1]) < tol:
            return x
        h = 1e-7
        ra = fun([x[0] + h, x[1]])
        rb = fun([x[0], x[1] + h])
        j11, j21 = (ra[0] - r[0]) / h, (ra[1] - r[1]) / h
        j12, j22 = (rb[0] - r[0]) / h, (rb[1] - r[1]) / h
        det = j11 * j22 - j12 * j21
        if det == 0.0:
            break
        x = [x[0] - (j22 * r[0] - j12 * r[1]) / det,
             x[1] - (-j21 * r[0] + j11 * r[1]) / det]
    r = fun(x)
    if abs(r[0]) > 1e-9 or abs(r[1]) > 1e-9:
        raise NoOperatingPoint("plant: this grid and alternator have no load-flow solution "
                               "for the paralleled running start at the initial load "
                               "(residual %.3g pu); start = \"stopped\" or a stiffer "
                               "grid (grid_sc_mva) or a smaller xdp_pu" % max(abs(r[0]), abs(r[1])))
    return x


def parallel_operating_point(cfg, grid, load, s_kva, xdp_pu, qdroop_pu, v_ref_pu=1.0,
                             target=None):
    """Operating point of a set paralleled with `grid` at t = 0 (module
    docstring).  load: the plant Load (its power_kw at rated frequency);
    v_ref_pu: the AVR's reference with the firmware's initial bias; target:
    site_kw -> the kW power control holds (default: this set's firmware,
    power_control_target_kw; a stack passes its units' together, s_kva
    their sum).  Returns a dict: p_kw, q_kvar (generator), bus (complex V_b,
    grid frame), emf (complex E'), load_p_kw, load_q_kvar, grid_p_kw,
    grid_q_kvar (import)."""
    vs = grid.v_pu
    ys = 1.0 / grid.impedance_pu(s_kva)

    def flows(x):
        vb = cmath.rect(x[0], x[1])
        pl, ql = load.power_kw(0.0, x[0], 1.0)
        sl = complex(pl, ql) / s_kva
        s_grid = vb * ((vs - vb) * ys).conjugate()     # what the grid feeds the bus
        return vb, sl, s_grid, sl - s_grid

    x = [vs, 0.0]
    p_t = None
    for _ in range(10):
        site_kw = flows(x)[1].real * s_kva
        p_new = power_control_target_kw(cfg, site_kw) if target is None else target(site_kw)
        if p_new == p_t:
            break
        p_t = p_new

        def resid(x, p_pu=p_t / s_kva):
            sg = flows(x)[3]
            return (sg.real - p_pu, x[0] - (v_ref_pu - qdroop_pu * sg.imag))

        x = _newton2(resid, x)
    vb, sl, s_grid, sg = flows(x)
    emf = vb + 1j * xdp_pu * (sg / vb).conjugate()
    return {"p_kw": sg.real * s_kva, "q_kvar": sg.imag * s_kva, "bus": vb, "emf": emf,
            "load_p_kw": sl.real * s_kva, "load_q_kvar": sl.imag * s_kva,
            "grid_p_kw": s_grid.real * s_kva, "grid_q_kvar": s_grid.imag * s_kva,
            "target_kw": p_t}


def settle_alternator(alt, op, s_kva):
    """The alternator and its AVR in steady state at the operating point:
    E' = |E'|, field Efd = E' + (Xd - X'd) Iq, the AVR's integrator holding
    it with zero error, terminal voltage |V_b|."""
    v = abs(op["bus"])
    iq = op["q_kvar"] / s_kva / v
    alt.e_p = abs(op["emf"])
    alt.efd = alt.e_p + (alt.xd - alt.xdp) * iq
    alt.avr_int = alt.efd
    alt.v = v
    alt.paralleled = True
