"""ISO 8528-5 transient figures from a simulated run (host only, float).

Limits from ../shared/reference/standards.md.  How the figures are measured
(the conservative reading where the standard leaves room):
  - events are the load changes the scenario itself makes (its step events,
    >= 1 % of the fuel's rated kW), and only while the set carries the load
    alone: generator breaker closed, mains breaker open, and no breaker
    operation from 0.5 s before the event to the end of its window.  A
    breaker trip, a mains-breaker opening (the set suddenly carrying the
    site) or a dead-bus close onto a load is never scored as a load step;
    every load event that is not scored is listed in `unscored` with the
    reason.  Ramps are not sudden load changes and are listed there too;
    pulse-profile edges are scored separately (`load_pulse`), because a
    load that changes every second never reaches the steady state the ISO
    classes are defined from;
  - an event's window runs to the next load event of the scenario, or to
    the set leaving its loaded duty (a stop, opening, shutdown), or to the
    end of the run; when a protection took it off load inside the window
    the event is not scored either;
  - deviations are taken from the plant's true frequency and voltage, relative
    to the value just before the event, as % of rated;
  - every band (steady-state band, recovery tolerance band) is treated as a
    total width centred on the new steady-state value (mean of the last
    second before the next event);
  - recovery time runs from the load change to permanent re-entry into the
    band; a signal that never leaves the band recovers in 0 s, one that never
    re-enters before the next event has no recovery (None) and fails;
  - ringing: `freq_crossings` / `volt_crossings` count how often the signal
    crosses an edge of its recovery band (the one `freq_recovery_s` /
    `volt_recovery_s` use) from the row before the load change to the end of
    the window: a clean dip out and back is 2, each further excursion adds
    2 (a swing straight from below the band to above it crosses both
    edges), never leaving is 0, leaving for good is 1; `ringing` when
    either is over 2.

Block load (`block_load`, NFPA 110 Level 1): the first scenario step from
<= 5 % to >= 95 % of the fuel's rated kW, looked at to the next load event
or the end of the run.  Dips from the mean of the 0.5 s before, % of
rated; `recovery_s` to permanent re-entry of frequency into +-1 % of
*rated* (NFPA cares about rated, not the new steady state); `stable_s` to
frequency within +-1 % and voltage within +-2.5 % of rated for the rest of
the window; `carried` when the generator breaker stayed closed and no
off-load alarm fired; `nfpa110_level1` when carried, alone (mains breaker
open) and stable within 10 s of the step.  When the breaker opens inside
the window, dips, recovery and stability stop at the opening (a coast-down
is no dip, a recovery at no load no recovery).
"""

CLASSES = ("G3", "G2", "G1")
LIMITS = {
    #      f_inc f_dec f_band f_tol f_rec  v_inc v_dec v_ss v_rec
    "G1": (15.0, 18.0, 2.5, 3.5, 10.0, 25.0, 35.0, 5.0, 10.0),
    "G2": (10.0, 12.0, 1.5, 2.0, 5.0, 20.0, 25.0, 2.5, 6.0),
    "G3": (7.0, 10.0, 0.5, 2.0, 3.0, 15.0, 20.0, 1.0, 4.0),
}
L_F_INC, L_F_DEC, L_F_BAND, L_F_TOL, L_F_REC, L_V_INC, L_V_DEC, L_V_SS, L_V_REC = range(9)


# Load changes under this size (% of the fuel's rated kW) are not ISO events.
MIN_STEP_PCT = 1.0
# Pre-event window: the deviation is measured from the mean of the last 0.5 s.
PRE_S = 0.5
# Alarm classes that take the set off load (firmware protection.CLASS_NAMES).
OFF_LOAD_CLASSES = ("trip_breaker", "soft_shutdown", "hard_shutdown", "emergency_stop")

# Block load (NFPA 110 Level 1): a step from at most BLOCK_FROM_MAX_PCT to at
# least BLOCK_TO_MIN_PCT of the fuel's rated kW; stable when frequency is
# within +-BLOCK_F_BAND_PCT and voltage within +-BLOCK_V_BAND_PCT of rated
# for the rest of the window, which Level 1 asks for within NFPA110_L1_STABLE_S.
BLOCK_FROM_MAX_PCT = 5.0
BLOCK_TO_MIN_PCT = 95.0
BLOCK_F_BAND_PCT = 1.0
BLOCK_V_BAND_PCT = 2.5
NFPA110_L1_STABLE_S = 10.0


def _edges(demand_kw, i_from, i_to, thr_kw):
    """Trace indices in [i_from, i_to) where the scheduled demand jumps."""
    return [i for i in range(max(1, i_from), i_to)
            if abs(demand_kw[i] - demand_kw[i - 1]) >= thr_kw]


def breaker_operations(tr):
    """[(index, t_s, breaker, "closed" | "opened")] from the trace's breaker
    columns, in time order."""
    ops = []
    for col, name in (("gcb_closed", "generator breaker"), ("mb_closed", "mains breaker")):
        c = tr.get(col)
        if not c:
            continue
        for i in range(1, len(c)):
            if c[i] != c[i - 1]:
                ops.append((i, tr["t_s"][i], name, "closed" if c[i] else "opened"))
    ops.sort()
    return ops


def _why_not_alone(tr, ops, a, b):
    """None if the set carries the load alone over trace rows [a, b): its
    breaker closed, the mains breaker open, no breaker operation; else why."""
    for i, t_op, name, what in ops:
        if a < i < b:
            return "%s %s at %.2f s, inside the event's window" % (name, what, t_op)
    if not tr["gcb_closed"][a]:
        return "generator breaker open: the set does not carry the load"
    mb = tr.get("mb_closed")
    if mb and mb[a]:
        return "paralleled with the grid: the grid holds frequency and voltage"
    return None


def _recovery(vals, i0, i1, centre, half_band, dt):
    """Seconds from i0 to permanent re-entry into centre +- half_band."""
    return _stable_from(lambda i: abs(vals[i] - centre) > half_band, i0, i1, dt)


def _crossings(vals, i0, i1, centre, half_band):
    """How often vals crosses an edge of centre +- half_band from row i0 - 1
    (the row before the load change) to row i1 - 1.  A swing from below the
    band to above it between two rows has crossed both edges: 2."""
    def side(x):
        return -1 if x < centre - half_band else (1 if x > centre + half_band else 0)
    n = 0
    s = side(vals[max(0, i0 - 1)])
    for i in range(i0, i1):
        s_i = side(vals[i])
        n += abs(s_i - s)
        s = s_i
    return n


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
        "freq_crossings": _crossings(f, i0, i1, f_ss, L_TOL_HALF * fn),
        "volt_crossings": _crossings(v, i0, i1, v_ss, LIMITS["G3"][L_V_SS] / 100.0 * vn),
    }
    ev["ringing"] = ev["freq_crossings"] > 2 or ev["volt_crossings"] > 2
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


def load_event_rows(r):
    """(load events of the scenario, the trace row each first shows in)."""
    d = r.trace["demand_kw"]
    n = len(d)
    loads = [e for e in r.scenario["events"] if e["kind"] in ("step", "ramp", "pulse")]
    starts = []
    for e in loads:
        k0 = int(round(e["t_s"] / r.tick_s))
        # The row the schedule's change first shows in (float time may put
        # it one tick either side of t_s / tick).
        hit = _edges(d, k0 - 1, min(n, k0 + 2), 1e-9)
        starts.append(hit[0] if hit else k0)
    return loads, starts


def evaluate(r):
    """Returns (iso8528 dict, load_pulse dict or None) for run r (its
    scenario's load events scored against its trace)."""
    tr = r.trace
    t = tr["t_s"]
    n = len(t)
    dt = r.tick_s
    d = tr["demand_kw"]
    thr = r.p_fuel_kw * MIN_STEP_PCT / 100.0
    n_pre = int(round(PRE_S / dt))
    ops = breaker_operations(tr)
    # The set leaves its loaded duty (a stop, opening, shutdown): a window
    # ends there, since ISO figures describe a set on load.  When it is a
    # protection that took it off load inside the window, the event is not
    # scored (a trip is not a recovery).
    leaves = [int(round(s["t_s"] / dt)) for s in getattr(r, "states", []) if s["t_s"] > 0.0]
    trips = [(int(round(a["t_s"] / dt)), a) for a in getattr(r, "alarms", [])
             if a["class"] in OFF_LOAD_CLASSES]
    loads, starts = load_event_rows(r)
    events, unscored, pulse_edges = [], [], []
    for k, (e, i0) in enumerate(zip(loads, starts)):
        if i0 >= n:
            continue
        nxt = [s for s in starts[k + 1:] if s > i0] + [s for s in leaves if s > i0]
        i1 = min(nxt + [n])
        tripped = [a for i, a in trips if i0 < i <= i1]
        kind = e["kind"]
        if kind == "ramp" and e["duration_s"] > dt:
            why = "a ramp (%.1f s), not a sudden load change" % e["duration_s"]
        elif kind == "pulse":
            b = min(n, int(round(e["until_s"] / dt)) + 1)
            why = _why_not_alone(tr, ops, max(0, i0 - n_pre), min(n, b + int(round(1.0 / dt))))
            if why is None:
                pulse_edges += _edges(d, i0, b + 1, thr)
                continue
        elif i0 == 0:
            why = "at t = 0: no state before the event to measure from"
        elif abs(d[i0] - d[i0 - 1]) < thr:
            why = "load change under %g %% of rating" % MIN_STEP_PCT
        else:
            why = _why_not_alone(tr, ops, max(0, i0 - n_pre), i1)
            if why is None and tripped:
                why = "%s (%s) at %.2f s took the set off load inside the event's window" % (
                    tripped[0]["name"], tripped[0]["class"], tripped[0]["t_s"])
            if why is None:
                events.append(evaluate_event(r, i0, i1, r.droop_pct))
                continue
        unscored.append({"t_s": round(e["t_s"], 4), "kind": kind, "reason": why})
    iso = {"class": worst_class([e["class"] for e in events]), "events": events,
           "unscored": unscored, "droop_pct": r.droop_pct,
           "method": "the scenario's load steps while the set alone carries the load "
                     "(breaker closed, mains breaker open, no breaker operation in the "
                     "window); bands as total width centred on the new steady state; "
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


def _stable_from(outside, i0, i1, dt):
    """Seconds from row i0 until outside(i) is false for every row to i1;
    0.0 if it never is true, None if it still is on the last row."""
    last_out = None
    for i in range(i0, i1):
        if outside(i):
            last_out = i
    if last_out is None:
        return 0.0
    if last_out >= i1 - 1:
        return None
    return round((last_out + 1 - i0) * dt, 4)


def block_load(r):
    """The block_load dict (module docstring) for run r's first step from
    <= BLOCK_FROM_MAX_PCT to >= BLOCK_TO_MIN_PCT of rated kW, or None."""
    tr = r.trace
    d = tr["demand_kw"]
    n = len(d)
    dt = r.tick_s
    loads, starts = load_event_rows(r)
    k = next((k for k, (e, i0) in enumerate(zip(loads, starts))
              if e["kind"] == "step" and 1 <= i0 < n
              and d[i0 - 1] <= BLOCK_FROM_MAX_PCT / 100.0 * r.p_fuel_kw
              and d[i0] >= BLOCK_TO_MIN_PCT / 100.0 * r.p_fuel_kw), None)
    if k is None:
        return None
    i0 = starts[k]
    i1 = min([s for s in starts[k + 1:] if s > i0] + [n])
    # What took the set off load inside the window (the earliest of an
    # off-load alarm and the generator breaker opening), if anything.
    why = []
    for a in getattr(r, "alarms", []):
        ka = int(round(a["t_s"] / dt))
        if a["class"] in OFF_LOAD_CLASSES and i0 <= ka < i1:
            why.append((ka, 0, "%s (%s) at %.2f s took the set off load" % (
                a["name"], a["class"], a["t_s"])))
    gcb = tr["gcb_closed"]
    ko = next((i for i in range(i0, i1) if not gcb[i]), None)
    if ko is not None:
        why.append((ko, 1, "generator breaker opened at %.2f s" % tr["t_s"][ko]
                    if ko > i0 else "generator breaker open at the step"))
    carried = not why
    # The figures describe the set carrying the load: once its breaker has
    # opened, a coast-down or a recovery at no load is no block-load figure.
    ie = ko if ko is not None and ko > i0 else i1
    f, v = tr["freq_hz"], tr["volt_v"]
    fn, vn = r.f_nom, r.v_nom
    pre0 = max(0, i0 - int(round(PRE_S / dt)))
    f_pre = sum(f[pre0:i0]) / (i0 - pre0)
    v_pre = sum(v[pre0:i0]) / (i0 - pre0)
    f_half = BLOCK_F_BAND_PCT / 100.0 * fn
    v_half = BLOCK_V_BAND_PCT / 100.0 * vn
    stable_s = _stable_from(lambda i: abs(f[i] - fn) > f_half or abs(v[i] - vn) > v_half,
                            i0, ie, dt)
    mb = tr.get("mb_closed")
    kp = next((i for i in range(i0, i1) if mb[i]), None) if mb else None
    bl = {
        "t_s": round(tr["t_s"][i0], 4),
        "from_pct": round(d[i0 - 1] / r.p_fuel_kw * 100.0, 2),
        "to_pct": round(d[i0] / r.p_fuel_kw * 100.0, 2),
        "dip_pct": round((min(f[i0:ie]) - f_pre) / fn * 100.0, 3),
        "volt_dip_pct": round((min(v[i0:ie]) - v_pre) / vn * 100.0, 3),
        "recovery_s": _recovery(f, i0, ie, fn, f_half, dt),
        "stable_s": stable_s,
        "carried": carried,
        "nfpa110_level1": bool(carried and kp is None and stable_s is not None
                               and stable_s <= NFPA110_L1_STABLE_S),
        "window_s": round((i1 - i0) * dt, 4),
        "criteria": "f within +-%g %% and V within +-%g %% of rated for the rest of the "
                    "window, stable within %g s of the step, the set carrying it alone "
                    "(NFPA 110 Level 1)" % (BLOCK_F_BAND_PCT, BLOCK_V_BAND_PCT,
                                            NFPA110_L1_STABLE_S),
    }
    if why:
        bl["reason"] = min(why)[2]
    elif kp is not None:
        bl["reason"] = "paralleled with the grid at %.2f s: the grid holds frequency " \
                       "and voltage" % tr["t_s"][kp]
    return bl
