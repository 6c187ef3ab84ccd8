"""ISO 8528-5 transient figures from a simulated run (host only, float).

Limits from ../shared/reference/standards.md.  How the figures are measured
(the conservative reading where the standard leaves room):
  - events are the instants the load demand jumps by >= 1 % of the fuel's
    rated kW (scenario steps); pulse-profile edges are scored separately
    (`load_pulse`), because a load that changes every second never reaches
    the steady state the ISO classes are defined from;
  - deviations are taken from the plant's true frequency and voltage, relative
    to the value just before the event, as % of rated;
  - every band (steady-state band, recovery tolerance band) is treated as a
    total width centred on the new steady-state value (mean of the last
    second before the next event);
  - recovery time runs from the load change to permanent re-entry into the
    band; a signal that never leaves the band recovers in 0 s, one that never
    re-enters before the next event has no recovery (None) and fails.
"""

CLASSES = ("G3", "G2", "G1")
LIMITS = {
    #      f_inc f_dec f_band f_tol f_rec  v_inc v_dec v_ss v_rec
    "G1": (15.0, 18.0, 2.5, 3.5, 10.0, 25.0, 35.0, 5.0, 10.0),
    "G2": (10.0, 12.0, 1.5, 2.0, 5.0, 20.0, 25.0, 2.5, 6.0),
    "G3": (7.0, 10.0, 0.5, 2.0, 3.0, 15.0, 20.0, 1.0, 4.0),
}
L_F_INC, L_F_DEC, L_F_BAND, L_F_TOL, L_F_REC, L_V_INC, L_V_DEC, L_V_SS, L_V_REC = range(9)


def find_edges(t, demand_kw, p_rated_kw, min_pct=1.0):
    out = []
    thr = p_rated_kw * min_pct / 100.0
    for i in range(1, len(demand_kw)):
        if abs(demand_kw[i] - demand_kw[i - 1]) >= thr:
            out.append(i)
    return out


def _recovery(vals, i0, i1, centre, half_band, dt):
    """Seconds from i0 to permanent re-entry into centre +- half_band."""
    last_out = None
    for i in range(i0, i1):
        if abs(vals[i] - centre) > half_band:
            last_out = i
    if last_out is None:
        return 0.0
    if last_out >= i1 - 1:
        return None
    return round((last_out + 1 - i0) * dt, 4)


def evaluate_event(r, i0, i1, droop_pct):
    tr = r.trace
    dt = r.tick_s
    f = tr["freq_hz"]
    v = tr["volt_v"]
    fn, vn = r.f_nom, r.v_nom
    d = tr["demand_kw"]
    pre0 = max(0, i0 - int(0.5 / dt))
    f_pre = sum(f[pre0:i0]) / max(1, i0 - pre0)
    v_pre = sum(v[pre0:i0]) / max(1, i0 - pre0)
    inc = d[i0] > d[i0 - 1]
    n_ss = min(int(1.0 / dt), max(1, (i1 - i0) // 4))
    f_ss = sum(f[i1 - n_ss:i1]) / n_ss
    v_ss = sum(v[i1 - n_ss:i1]) / n_ss
    if inc:
        f_ext, v_ext = min(f[i0:i1]), min(v[i0:i1])
    else:
        f_ext, v_ext = max(f[i0:i1]), max(v[i0:i1])
    n_band = min(int(2.0 / dt), max(1, (i1 - i0) * 3 // 10))
    seg = f[i1 - n_band:i1]
    ev = {
        "t_s": round(tr["t_s"][i0], 4),
        "window_end_s": round(tr["t_s"][i1 - 1] + dt, 4),
        "kind": "load_increase" if inc else "load_decrease",
        "step_pct": round(abs(d[i0] - d[i0 - 1]) / r.p_fuel_kw * 100.0, 2),
        "from_pct": round(d[i0 - 1] / r.p_fuel_kw * 100.0, 2),
        "to_pct": round(d[i0] / r.p_fuel_kw * 100.0, 2),
        "freq_dev_pct": round((f_ext - f_pre) / fn * 100.0, 3),
        "freq_recovery_s": _recovery(f, i0, i1, f_ss, L_TOL_HALF * fn, dt),
        "freq_settle_s": _recovery(f, i0, i1, f_ss, 0.25 / 100.0 * fn, dt),
        "freq_band_pct": round((max(seg) - min(seg)) / fn * 100.0, 3),
        "freq_steady_hz": round(f_ss, 4),
        "volt_dev_pct": round((v_ext - v_pre) / vn * 100.0, 3),
        "volt_recovery_s": _recovery(v, i0, i1, v_ss, LIMITS["G3"][L_V_SS] / 100.0 * vn, dt),
        "volt_steady_v": round(v_ss, 2),
    }
    # Per class: recovery within that class's own bands and time.
    met = "none"
    for c in CLASSES:
        lim = LIMITS[c]
        if inc:
            ok = ev["freq_dev_pct"] >= -(lim[L_F_INC] + droop_pct) and ev["volt_dev_pct"] >= -lim[L_V_INC]
        else:
            ok = ev["freq_dev_pct"] <= lim[L_F_DEC] and ev["volt_dev_pct"] <= lim[L_V_DEC]
        fr = _recovery(f, i0, i1, f_ss, lim[L_F_TOL] / 200.0 * fn, dt)
        vr = _recovery(v, i0, i1, v_ss, lim[L_V_SS] / 100.0 * vn, dt)
        ok = ok and fr is not None and fr <= lim[L_F_REC]
        ok = ok and vr is not None and vr <= lim[L_V_REC]
        ok = ok and ev["freq_band_pct"] <= lim[L_F_BAND]
        if ok:
            met = c
            break
    ev["class"] = met
    return ev


# Recovery band reported in `freq_recovery_s`: the G2/G3 tolerance band
# (2 % total width -> +-1 % of rated).
L_TOL_HALF = LIMITS["G3"][L_F_TOL] / 200.0


def worst_class(classes):
    order = {"G3": 3, "G2": 2, "G1": 1, "none": 0}
    if not classes:
        return "none"
    return min(classes, key=lambda c: order[c])


def evaluate(r, pulse_windows=()):
    """Returns (iso8528 dict, load_pulse dict or None)."""
    tr = r.trace
    t = tr["t_s"]
    edges = find_edges(t, tr["demand_kw"], r.p_fuel_kw)
    def in_pulse(i):
        return any(a <= t[i] <= b + 1e-9 for a, b in pulse_windows)
    step_edges = [i for i in edges if not in_pulse(i)]
    pulse_edges = [i for i in edges if in_pulse(i)]
    events = []
    n = len(t)
    # The set leaves service (stopping, shutdown): a window ends there, since
    # ISO figures describe a running set.
    out_of_service = [int(round(s["t_s"] / r.tick_s)) for s in getattr(r, "states", [])
                      if s["state"] in ("stopping", "fail_to_stop", "lockout", "stopped")]
    for k, i0 in enumerate(step_edges):
        nxt = [e for e in edges if e > i0] + [e for e in out_of_service if e > i0]
        i1 = min(nxt) if nxt else n
        events.append(evaluate_event(r, i0, i1, r.droop_pct))
    iso = {"class": worst_class([e["class"] for e in events]), "events": events,
           "droop_pct": r.droop_pct,
           "method": "bands as total width centred on the new steady state; "
                     "deviation from the pre-event value; plant truth"}
    pulse = None
    if pulse_edges:
        f = tr["freq_hz"]
        v = tr["volt_v"]
        a = pulse_edges[0]
        b = pulse_edges[-1] + int(1.0 / r.tick_s)
        b = min(b, n)
        fmin, fmax = min(f[a:b]), max(f[a:b])
        vmin, vmax = min(v[a:b]), max(v[a:b])
        fn, vn = r.f_nom, r.v_nom
        lim = LIMITS["G3"]
        pulse = {
            "edges": len(pulse_edges),
            "freq_min_hz": round(fmin, 4), "freq_max_hz": round(fmax, 4),
            "freq_dev_min_pct": round((fmin - fn) / fn * 100, 3),
            "freq_dev_max_pct": round((fmax - fn) / fn * 100, 3),
            "volt_dev_min_pct": round((vmin - vn) / vn * 100, 3),
            "volt_dev_max_pct": round((vmax - vn) / vn * 100, 3),
            "within_g3_transient_limits": bool(
                (fmin - fn) / fn * 100 >= -(lim[L_F_INC] + r.droop_pct) and
                (fmax - fn) / fn * 100 <= lim[L_F_DEC] and
                (vmin - vn) / vn * 100 >= -lim[L_V_INC] and
                (vmax - vn) / vn * 100 <= lim[L_V_DEC]),
            "within_g3_tolerance_band": bool(fmin >= fn * 0.99 and fmax <= fn * 1.01),
        }
    return iso, pulse
