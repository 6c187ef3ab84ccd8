"""A stack run's outputs (fleetsim.py): report.json, trace.csv, plot.png.

report.json for a stack: scenario, runtime, seed, units (per unit: fuel,
rating, final state, states, alarms, starts, stops, breaker closes with
the phase error across the contacts, its firmware output digest and its
ISO 8528-5 figures on its own speed and voltage), sharing (kW and kvar
errors against the stack's mean, % of rating: rms and worst, steady and
transient, with the issue's goals), dead_bus (for each close onto a dead
bus: which unit, when, and when each other unit synchronised to it), link
(frames sent, delivered, lost, blocked by a cut), blackouts, and
firmware_output_sha256 (over every unit's digest, in id order).
Everything is plant truth from the run's own bookkeeping; trace.csv
carries the site columns and per unit u<id>_p_kw, _q_kvar, _freq_hz,
_volt_v, _gcb_closed, _state.
"""

import csv
import json
import os

from . import iso8528
from .fleetsim import (TRANSIENT_S, GOAL_STEADY_KW_PCT, GOAL_STEADY_KVAR_PCT,
                       GOAL_TRANSIENT_KW_PCT, _RUNNING_STATES)

# A close onto a live bus with more than this across the contacts is out of
# synchronism (the firmware's sync-check window is 10 degrees by default).
OUT_OF_SYNC_DEG = 15.0


def _tick_classes(r):
    """Per tick: "fault" from a fault injected into a unit until its breaker
    operates (or TRANSIENT_S after the fault's own duration: a unit losing
    its fuel sheds its load before it trips, that is not a sharing error),
    else "joining" within TRANSIENT_S of the run's start (a running start
    settles) or of any unit's breaker operation (a unit joining is
    soft-loaded, one leaving hands its load on), else "transient" within
    TRANSIENT_S of a change of the site's demand over 1 % of the stack's
    rating or of a set point written, else "steady"."""
    n = r.n_ticks
    thr = r.rating_kw * 0.01
    w = int(round(TRANSIENT_S / r.tick_s))
    cls = ["steady"] * n
    loads = _load_changes(r, thr)
    # a set point written (a "setting" event taken) moves the plant like a
    # change of demand: the unit written first, the others a frame later
    loads += [int(round(c["t_s"] / r.tick_s)) for c in r.commands
              if "setting" in c and c.get("accepted")]
    ops = [0]
    by_id = {}
    for u in r.units:
        mine = [int(round(c["t_s"] / r.tick_s)) for c in u.closes]
        mine += [int(round(t / r.tick_s)) for t in u.opens]
        by_id[u.id] = sorted(mine)
        ops += mine
    for name, starts in (("transient", loads), ("joining", ops)):
        for s in starts:
            for k in range(max(0, s), min(n, s + w)):
                cls[k] = name
    for e in r.scenario["events"]:
        if e.get("kind") != "fault" or e.get("unit") is None:
            continue
        s = int(round(e["t_s"] / r.tick_s))
        after = [k for k in by_id.get(e["unit"], ()) if k >= s]
        end = after[0] if after else s + int(round(float(e.get("duration_s", 0.0)) / r.tick_s)) + w
        for k in range(max(0, s), min(n, end)):
            cls[k] = "fault"
    return cls


def _load_changes(r, thr):
    """The ticks where the site's demand moved by thr kW or more from the
    tick before: from the run's record of the ticks its demand changed at
    (fleetsim keeps it traced or not), else from a traced demand_kw."""
    ch = getattr(r, "demand_changes", None)
    if ch is None:
        d = r.trace["demand_kw"]
        return [k for k in range(1, len(d)) if abs(d[k] - d[k - 1]) >= thr] if d else []
    # Between two changes the demand holds: a tick's step is its value less
    # the last one recorded before it.
    return [k for (k, x), (_, x0) in zip(ch[1:], ch) if abs(x - x0) >= thr]


def sharing(r):
    """The share errors: each unit on an island bus with another, its % of
    rating less the stack's rating-weighted mean (plant truth), per tick."""
    cls = _tick_classes(r)
    parts = ("steady", "transient", "joining", "fault")
    acc = {(w, c): [] for w in ("kw", "kvar") for c in parts}
    worst_t = {}
    for k, row in enumerate(r.share_rows):
        if row is None:
            continue
        rs = sum(x[3] for x in row)
        mp = sum(x[1] * x[3] for x in row) / rs
        mq = sum(x[2] * x[3] for x in row) / rs
        tr = cls[k]
        for _, p, q, _ in row:
            acc[("kw", tr)].append(p - mp)
            acc[("kvar", tr)].append(q - mq)
        for what, m, i in (("kw", mp, 1), ("kvar", mq, 2)):
            e = max(abs(x[i] - m) for x in row)
            key = (what, tr)
            if e > worst_t.get(key, (-1.0, 0))[0]:
                worst_t[key] = (e, k)

    def fig(what, tr):
        v = acc[(what, tr)]
        if not v:
            return None
        w = worst_t[(what, tr)]
        return {"rms_pct": round((sum(x * x for x in v) / len(v)) ** 0.5, 3),
                "worst_pct": round(w[0], 3), "worst_at_s": round(w[1] * r.tick_s, 3),
                "samples": len(v)}
    out = {"method": "each unit on an island bus with at least one other: its kW (kvar) as "
                     "%% of its rating less the stack's rating-weighted mean, plant truth, "
                     "every tick; fault from a fault injected into a unit until its breaker operates "
                     "(no goal: its load is leaving it), else joining within %g s of the start or "
                     "of any breaker operation (no goal: a unit joining is soft-loaded), else "
                     "transient within as long of a load change over 1 %% of the stack's rating, "
                     "else steady"
                     % TRANSIENT_S}
    for what in ("kw", "kvar"):
        out[what] = {c: fig(what, c) for c in parts}
    s_kw = out["kw"]["steady"]
    s_kvar = out["kvar"]["steady"]
    t_kw = out["kw"]["transient"]
    out["goals"] = {
        "steady_kw_pct": GOAL_STEADY_KW_PCT, "steady_kvar_pct": GOAL_STEADY_KVAR_PCT,
        "transient_kw_pct": GOAL_TRANSIENT_KW_PCT,
        "steady_kw_met": None if s_kw is None else s_kw["worst_pct"] <= GOAL_STEADY_KW_PCT,
        "steady_kvar_met": None if s_kvar is None else
        s_kvar["worst_pct"] <= GOAL_STEADY_KVAR_PCT,
        "transient_kw_met": None if t_kw is None else t_kw["worst_pct"] <= GOAL_TRANSIENT_KW_PCT,
    }
    return out


def dead_bus(r):
    """Every close onto a dead bus, the unit and time, and each other
    unit's close onto the live bus after it (until the next dead close)."""
    closes = sorted((c["t_s"], u.id, c) for u in r.units for c in u.closes)
    events = []
    for t, uid, c in closes:
        if c["onto"] == "dead":
            same = [e for e in events if e["t_s"] == t]
            if same:
                same[0]["simultaneous"].append(uid)
                continue
            events.append({"t_s": t, "unit": uid, "simultaneous": [], "synced": []})
        elif events:
            events[-1]["synced"].append({"unit": uid, "t_s": t,
                                         "after_s": round(t - events[-1]["t_s"], 3),
                                         "phase_error_deg": c["phase_error_deg"]})
    out_of_sync = [{"unit": uid, "t_s": t, "phase_error_deg": c["phase_error_deg"]}
                   for t, uid, c in closes
                   if c["onto"] == "live" and abs(c["phase_error_deg"]) > OUT_OF_SYNC_DEG]
    return {"events": events,
            "simultaneous_dead_closes": sum(len(e["simultaneous"]) for e in events),
            "out_of_sync_closes": out_of_sync}


class _UnitView:
    """One unit's run as iso8528.evaluate reads a single set's."""

    def __init__(self, r, u, rating_kw):
        c = r.unit_trace[u.id]
        self.trace = {"t_s": r.trace["t_s"], "freq_hz": c["freq_hz"], "volt_v": c["volt_v"],
                      "demand_kw": r.trace["demand_kw"], "gcb_closed": c["gcb_closed"],
                      "mb_closed": r.trace["mb_closed"]}
        self.tick_s = r.tick_s
        self.f_nom = r.f_nom
        self.v_nom = u.v_rated
        self.p_fuel_kw = rating_kw
        self.scenario = r.scenario
        self.droop_pct = 0.0
        self.states = u.states
        self.alarms = u.alarms


def _on_bus_rating(r):
    """The rating on the bus at the first load change (the % a load step
    is of: what the running units can carry)."""
    loads = [e for e in r.scenario["events"] if e["kind"] in ("step", "ramp", "pulse")]
    k = int(round(loads[0]["t_s"] / r.tick_s)) if loads else 0
    k = min(max(k - 1, 0), r.n_ticks - 1)
    on = [u for u in r.units if r.unit_trace[u.id]["gcb_closed"][k]]
    return sum(u.p_fuel_kw for u in on) or r.rating_kw


def _starts_stops(u):
    starts = stops = 0
    prev = None
    for s in u.states:
        run = s["state"] in _RUNNING_STATES
        if s["state"] == "prestart" or (prev is None and run and s["t_s"] > 0):
            starts += 1
        if prev in _RUNNING_STATES and s["state"] in ("stopping", "stopped"):
            stops += 1
        prev = s["state"]
    return starts, stops


def grid_parallel(r):
    """Paralleled with the grid (traced runs): the import at the site meter
    against the plant's cap (pc_mode 1), steady (no load change or breaker
    operation within TRANSIENT_S) and in all, and the spread of the units'
    kW as % of rating (the largest less the smallest on the bus)."""
    if not r.scenario["grid"]["present"] or not r.trace["t_s"]:
        return None
    # The plant's set points: the lowest id's at boot (the units take its
    # when none has been written: fleet.py), then each one written.
    fw = min(r.scenario["units"], key=lambda u: u["id"])["firmware"]
    plan = [(0.0, fw.get("pc_mode", 0), fw.get("import_cap_kw_x10", 0))]
    for c in r.commands:
        if c.get("accepted") and c.get("setting") in ("pc_mode", "import_cap_kw_x10"):
            t, m, k = plan[-1]
            if c["setting"] == "pc_mode":
                m = c["value"]
            else:
                k = c["value"]
            plan.append((c["t_s"], m, k))
    mode = plan[-1][1]
    cap = plan[-1][2] / 10.0 if mode == 1 else None
    ts = r.trace["t_s"]
    caps = []
    j = 0
    for t in ts:
        while j + 1 < len(plan) and plan[j + 1][0] <= t:
            j += 1
        caps.append(plan[j][2] / 10.0 if plan[j][1] == 1 else None)
    cls = _tick_classes(r)
    g = r.trace["grid_p_kw"]
    mbc = r.trace["mb_closed"]
    out = {"pc_mode": mode, "import_cap_kw": cap,
           "set_points": [{"t_s": t, "pc_mode": m, "import_cap_kw": k / 10.0}
                          for t, m, k in plan]}
    for part in ("steady", "all"):
        ks = [k for k in range(len(g)) if mbc[k] and (part == "all" or cls[k] == "steady")]
        if not ks:
            out[part] = None
            continue
        imp = sorted(g[k] for k in ks)
        e = {"samples": len(ks), "import_mean_kw": round(sum(imp) / len(imp), 2),
             "import_min_kw": round(imp[0], 2), "import_max_kw": round(imp[-1], 2),
             "import_p95_kw": round(imp[int(0.95 * (len(imp) - 1))], 2)}
        kc = [k for k in ks if caps[k] is not None]
        if kc:
            err = [g[k] - caps[k] for k in kc]
            e["cap_error_rms_kw"] = round((sum(x * x for x in err) / len(err)) ** 0.5, 2)
            band = 0.02 * r.rating_kw
            e["over_cap_pct_of_time"] = round(
                100.0 * sum(1 for x in err if x > band) / len(err), 2)
            e["import_mean_vs_cap_kw"] = round(sum(err) / len(err), 2)
            e["over_cap_band_kw"] = round(band, 1)
        sp = []
        for k in ks:
            on = [r.unit_trace[u.id]["p_kw"][k] / u.p_fuel_kw * 100.0 for u in r.units
                  if r.unit_trace[u.id]["gcb_closed"][k]]
            if len(on) >= 2:
                sp.append(max(on) - min(on))
        if sp:
            e["spread_rms_pct"] = round((sum(x * x for x in sp) / len(sp)) ** 0.5, 3)
            e["spread_worst_pct"] = round(max(sp), 3)
        out[part] = e
    return out


def build(r, wall_s=None):
    sc = r.scenario
    traced = bool(r.trace["t_s"])
    rating_on = _on_bus_rating(r) if traced else r.rating_kw
    units = []
    for u in r.units:
        starts, stops = _starts_stops(u)
        e = {"id": u.id, "fuel": u.usc["fuel"], "priority": u.usc["priority"],
             "rating_kw": round(u.p_fuel_kw, 1), "final_state": u.state_name,
             "starts": starts, "stops": stops, "states": u.states, "alarms": u.alarms,
             "gcb_closes": u.closes, "gcb_opens": u.opens,
             "firmware_output_sha256": r.unit_sha256[u.id]}
        if traced:
            c = r.unit_trace[u.id]
            on = [i for i, g in enumerate(c["gcb_closed"]) if g]
            e["p_max_kw"] = round(max(c["p_kw"]), 2)
            if on:
                e["freq_min_hz"] = round(min(c["freq_hz"][i] for i in on), 4)
                e["freq_max_hz"] = round(max(c["freq_hz"][i] for i in on), 4)
            iso, _ = iso8528.evaluate(_UnitView(r, u, rating_on))
            e["iso8528"] = {"class": iso["class"], "events": iso["events"],
                            "unscored": iso["unscored"]}
        units.append(e)
    rep = {
        "scenario": sc["name"],
        "description": sc["description"],
        "stack": True,
        "runtime": r.runtime,
        "seed": sc["seed"],
        "f_nom_hz": sc["f_nom_hz"],
        "duration_s": sc["duration_s"],
        "ticks": r.n_ticks,
        "n_units": r.n_units,
        "stack_rating_kw": round(r.rating_kw, 1),
        "firmware_output_sha256": r.sha256,
        "heap_32bit": r.heap if any(h is not None for h in r.heap) else None,
        "final_states": {str(k): v for k, v in r.final_states.items()},
        "units": units,
        "sharing": sharing(r),
        "dead_bus": dead_bus(r),
        "grid_parallel": grid_parallel(r),
        "link": r.link,
        "blackouts": r.blackouts,
        "load_shedding": {"events": r.shed_events,
                          "max_stage": max([e["stage"] for e in r.shed_events] or [0])},
        "commands": r.commands,
    }
    if traced:
        f = r.trace["bus_f_hz"]
        live = [x for x in f if x > 0]
        rep["bus"] = {"freq_min_hz": round(min(live), 4) if live else None,
                      "freq_max_hz": round(max(live), 4) if live else None,
                      "volt_min_v": round(min(r.trace["bus_v_v"]), 2),
                      "volt_max_v": round(max(r.trace["bus_v_v"]), 2)}
    if wall_s is not None:
        rep["wall_s"] = round(wall_s, 3)
        rep["sim_speed_x"] = round(sc["duration_s"] / wall_s, 2) if wall_s > 0 else None
    return rep


def columns(r):
    """(names, columns) of trace.csv: the site's, then each unit's."""
    names = list(r.trace)
    cols = [r.trace[n] for n in names]
    for u in r.units:
        for k, v in r.unit_trace[u.id].items():
            names.append("u%d_%s" % (u.id, k))
            cols.append(v)
    return names, cols


def write_all(r, rep, out_dir, plot=True):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(rep, f, indent=1)
    names, cols = columns(r)
    with open(os.path.join(out_dir, "trace.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for row in zip(*cols):
            w.writerow(["%.6g" % x if isinstance(x, float) else x for x in row])
    if plot:
        _plot(r, os.path.join(out_dir, "plot.png"))


def _plot(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = r.trace["t_s"]
    fig, ax = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    ax[0].plot(t, r.trace["bus_f_hz"], lw=0.8)
    ax[0].set_ylabel("bus Hz")
    for u in r.units:
        c = r.unit_trace[u.id]
        ax[1].plot(t, c["p_kw"], lw=0.7, label="unit %d" % u.id)
        ax[2].plot(t, c["q_kvar"], lw=0.7)
    ax[1].plot(t, r.trace["demand_kw"], "k--", lw=0.6, label="site demand")
    ax[1].set_ylabel("kW")
    ax[2].set_ylabel("kvar")
    ax[2].set_xlabel("s")
    if len(r.units) <= 8:
        ax[1].legend(fontsize=7, ncol=3)
    ax[0].set_title(r.scenario["name"])
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def summary_text(rep):
    s = rep["sharing"]
    lines = ["%s: %d units, %s, %.0f s; final %s" % (
        rep["scenario"], rep["n_units"], rep["runtime"], rep["duration_s"],
        ", ".join("%s %s" % kv for kv in rep["final_states"].items()))]
    for what in ("kw", "kvar"):
        for part in ("steady", "transient", "joining", "fault"):
            x = s[what][part]
            if x:
                lines.append("  sharing %-4s %-9s rms %.2f %%, worst %.2f %% (at %.1f s)"
                             % (what, part, x["rms_pct"], x["worst_pct"], x["worst_at_s"]))
    g = s["goals"]
    lines.append("  goals: steady kW %s, steady kvar %s, transient kW %s" % tuple(
        {True: "met", False: "MISSED", None: "-"}[g[k]]
        for k in ("steady_kw_met", "steady_kvar_met", "transient_kw_met")))
    for e in rep["dead_bus"]["events"]:
        lines.append("  dead bus: unit %d closed first at %.2f s; then %s" % (
            e["unit"], e["t_s"], ", ".join("%d at +%.2f s" % (x["unit"], x["after_s"])
                                           for x in e["synced"]) or "none"))
    for u in rep["units"]:
        if u["alarms"]:
            lines.append("  unit %d alarms: %s" % (u["id"], ", ".join(
                "%s (%s) %.2f s" % (a["name"], a["class"], a["t_s"]) for a in u["alarms"][:4])))
    gp = rep.get("grid_parallel")
    if gp:
        for part in ("steady", "all"):
            x = gp[part]
            if not x:
                continue
            line = "  grid %-6s import mean %.1f kW, p95 %.1f, max %.1f" % (
                part, x["import_mean_kw"], x["import_p95_kw"], x["import_max_kw"])
            if gp["import_cap_kw"] is not None:
                line += " (cap %.0f: error rms %.1f kW, over cap+%.0f kW %.1f %% of the time)" % (
                    gp["import_cap_kw"], x["cap_error_rms_kw"], x["over_cap_band_kw"],
                    x["over_cap_pct_of_time"])
            if "spread_rms_pct" in x:
                line += "; units' spread rms %.2f %%, worst %.2f %%" % (
                    x["spread_rms_pct"], x["spread_worst_pct"])
            lines.append(line)
    ls = rep["load_shedding"]
    if ls["events"]:
        lines.append("  load shedding: " + ", ".join(
            "stage %d (%.0f %% shed) %.2f s" % (e["stage"], e["shed_pct"], e["t_s"])
            for e in ls["events"][:6]))
    lk = rep["link"]
    lines.append("  link: %d frames, %d delivered, %d lost, %d blocked by a cut; blackouts %d"
                 % (lk["frames_sent"], lk["deliveries"], lk["lost"], lk["blocked_by_cut"],
                    len(rep["blackouts"])))
    if rep.get("sim_speed_x"):
        lines.append("  %.1f s wall, %.1fx real time" % (rep["wall_s"], rep["sim_speed_x"]))
    return "\n".join(lines)
