"""The governor comparison over a family of plants, not one (issue 10).

  python -m tools.sweep [--jobs N] [--json FILE] [--quick] [--air ng|lean]
                        [--set SETTING=VALUE ...]

Runs the firmware governor and the PID peer (iso-steps-ng and its PID
twin; the lean-burn air path on iso-steps-leanburn) on every plant variant:
inertia J 4 / 6 / 8 kg m2, throttle (actuator) lag 30 / 50 ms, intake
manifold 60 / 120 ms, dead time +0 / +50 ms, throttle flow gain -10 % / 0 /
+10 % against the firmware's fuel map (plant throttle_gain_pu: the map the
firmware feeds forward with is then wrong by that much), and the
natural-gas (rich-burn) and lean-burn air paths (engine.LEAN_BURN).  Both
governors stay as commissioned on the nominal plant of their air path - the
firmware's settings, and the PID's SIMC tuning on that nominal plant's
identified response - while the plant varies: a robustness test.

Each variant also runs the physical limit (host_sim/pid.py WideOpenProbe:
wide open at the instant of each step, held until the speed is first back
inside -1 %): its first trough is the least dip, its first return into the
recovery band the earliest recovery, any governor can have on that plant,
so the table says where a goal (0.8x the PID's dip, 0.5x its recovery) is
out of physical reach.  --set tries a firmware setting on the whole family.

Per variant it prints each governor's worst load-acceptance dip and worst
recovery over the ISO steps, the limit's, and firmware / PID ratios; a step
a governor did not recover (a stall, a trip) counts as recovery None and a
ratio of None, named in the table.  Then the worst ratios over the family, and
whether each governor kept G3 on every step.  Printed, never asserted (a
benchmark).
"""

import argparse
import itertools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

J = (4.0, 6.0, 8.0)
ACT = (0.03, 0.05)
MAN = (0.06, 0.12)
DEAD = (0.0, 0.05)
GAIN = (0.90, 1.00, 1.10)
AIR = ("ng", "lean")
SCENARIO = {"ng": "iso-steps-ng", "lean": "iso-steps-leanburn"}


def variants(quick=False):
    """Plant variants: [plant] overrides, "dead_s" (added dead time), "air"."""
    if quick:
        return [{"j_kgm2": 6.0, "tau_act_s": 0.03, "tau_manifold_s": 0.06,
                 "dead_s": 0.0, "gain": g, "air": "ng"} for g in (0.9, 1.1)]
    return [{"j_kgm2": j, "tau_act_s": a, "tau_manifold_s": m, "dead_s": d, "gain": g,
             "air": air}
            for air, j, a, m, d, g in itertools.product(AIR, J, ACT, MAN, DEAD, GAIN)]


def _scenario(air, fw=None):
    """The air path's ISO scenario, with firmware settings fw over its own
    (validated as the scenario file's would be: ScenarioError names one)."""
    from host_sim import scenario
    if not fw:
        return scenario.load(SCENARIO[air])
    import tomllib
    with open(scenario.resolve(SCENARIO[air]), "rb") as f:
        raw = tomllib.load(f)
    raw["firmware"] = dict(raw.get("firmware", {}), **fw)
    return scenario.parse(raw, SCENARIO[air])


def _run(args):
    gov, v, fw = args
    from host_sim import sim, report
    sc = _scenario(v["air"], fw)
    sc["governor"] = gov
    nominal = dict(sc["plant"])
    sc["plant"]["j_kgm2"] = v["j_kgm2"]
    sc["plant"]["tau_act_s"] = v["tau_act_s"]
    # The lean-burn set's manifold and charge cooler are larger: its variants
    # scale from its own nominal (0.10 s) by the same factors.
    sc["plant"]["tau_manifold_s"] = nominal["tau_manifold_s"] * v["tau_manifold_s"] / MAN[0]
    sc["plant"]["t_transport_s"] = nominal["t_transport_s"] + v["dead_s"]
    sc["plant"]["throttle_gain_pu"] = v["gain"]
    # The PID keeps its commissioning: tuned on the nominal plant.
    sc["pid_tuning_plant"] = nominal
    n_up = len([e for e in sc["events"] if e["kind"] == "step"]) - 1   # the last is the rejection
    T = sc["duration_s"]
    if gov == "firmware":
        # Twice over: the second pass runs on the map the first one taught
        # (a set on site learns in its first hours; the PID has nothing to
        # learn, so one pass is its figure).
        sc["events"] = sc["events"] + [dict(e, t_s=e["t_s"] + T) for e in sc["events"]]
        sc["duration_s"] = 2 * T
    r = sim.run(sc, "cpython", trace=True)
    rep = report.build(r, 1.0)
    ups = [e for e in rep["iso8528"]["events"] if e["t_s"] < T]
    out = _score(ups, n_up)
    if gov == "wide_open":
        # The physical limit: the least dip (the first trough, up to the
        # probe's hand-back: what follows is not the bound), and the earliest
        # first return into the recovery band, any governor can have on this
        # plant.  (A probe that tripped bounds nothing after the trip: no
        # figures.)
        out["dip"], out["first_return"] = (None, None) if out["lost"] else \
            _limit_figures(r.trace, ups, sc["f_nom_hz"], r.handback_s)
    out["alarms"] = [a["name"] for a in rep["alarms"]]
    if gov == "firmware":
        out["learned"] = _score([e for e in rep["iso8528"]["events"] if e["t_s"] >= T], n_up)
    return out


def _limit_figures(tr, events, f_nom, handback_s=()):
    """(dip %, first return s), worst over the load increases: the deepest
    first trough (from the step until the probe's hold ends: the frequency
    first back inside -1 % of rated, or back at rated if it never left), and
    the seconds from the step until it is first back inside -1 % of rated
    after leaving it (0 if it never left).  The probe hands back there, so
    what follows (its own recovery, a second trough as the hand-back meets a
    turbo not yet spooled) is not the bound; these are the bounds any
    governor's dip and recovery have."""
    t, f = tr["t_s"], tr["freq_hz"]
    dip, ret = 0.0, 0.0
    lo = 0.99 * f_nom
    for e in events:
        if e["kind"] != "load_increase":
            continue
        i = next(i for i, x in enumerate(t) if x >= e["t_s"])
        end = e["t_s"] + 3.0
        # The probe ends its hold on the speed it measures, which may differ
        # from the true frequency by a tick's noise: read to its own
        # hand-back (and 50 ms, the air path's delay, after it) at most.
        hb = [h for h in handback_s if h >= e["t_s"]]
        if hb and hb[0] + 0.05 < end:
            end = hb[0] + 0.05
        low, out, back = f[i], False, False
        while i < len(t) and t[i] < end:
            if not out and f[i] < lo:
                out = True
            elif out and f[i] >= lo:
                back = True
                if ret is not None:
                    ret = max(ret, t[i] - e["t_s"])
                break           # first back inside -1 %: the hold is over
            if low < f_nom * 0.999 and f[i] >= f_nom:
                break           # a dip inside the band, back at rated: the same
            low = min(low, f[i])
            i += 1
        if out and not back:
            ret = None          # not back inside -1 % of rated within 3 s
        dip = max(dip, (f_nom - low) / f_nom * 100.0)
    return round(dip, 3), (round(ret, 3) if ret is not None else None)


def _score(events, n_up):
    ups = [e for e in events if e["kind"] == "load_increase"]
    lost = n_up - len(ups)
    dip = max((abs(e["freq_dev_pct"]) for e in ups), default=None)
    recs = [e["freq_recovery_s"] for e in ups]
    rec = None if lost or any(x is None for x in recs) else max(recs)
    g3 = not lost and all(e["class"] == "G3" for e in ups)
    return {"dip": dip, "rec": rec, "lost": lost, "g3": g3}


def _ratios(fw, pid):
    """(dip, recovery) ratios, only where both recovered every step (where
    the plant physically can: where neither did, there is nothing to compare)."""
    if fw["rec"] is None or pid["rec"] is None or not fw["dip"] or not pid["dip"]:
        return None, None
    return fw["dip"] / pid["dip"], fw["rec"] / pid["rec"]


GOVS = ("firmware", "pid", "wide_open")


def sweep(jobs=None, quick=False, air=None, fw=None):
    """Rows per variant; fw: firmware settings over the scenarios' own (a
    firmware developer's change, tried on the whole family)."""
    vs = [v for v in variants(quick) if air is None or v["air"] == air]
    for a in {v["air"] for v in vs}:
        _scenario(a, fw)       # a bad setting stops here, named, before the pool
    work = [(g, v, fw if g == "firmware" else None) for v in vs for g in GOVS]
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as ex:
        res = list(ex.map(_run, work))
    rows = []
    n = len(GOVS)
    for i, v in enumerate(vs):
        fw, pid, lim = res[n * i], res[n * i + 1], res[n * i + 2]
        row = {"variant": v, "firmware": fw, "pid": pid, "limit": lim}
        # Where the goals are physically reachable at all: the limit's dip
        # within 0.8x the PID's, its first return within 0.5x the PID's
        # recovery.  None where there is no bound (the probe tripped) or
        # nothing to compare (the PID did not recover).
        row["dip_goal_reachable"] = None if lim["dip"] is None or not pid["dip"] else \
            lim["dip"] <= 0.8 * pid["dip"]
        row["rec_goal_reachable"] = None if pid["rec"] is None or lim["first_return"] is None \
            else lim["first_return"] <= 0.5 * pid["rec"]
        row["dip_ratio"], row["rec_ratio"] = _ratios(fw, pid)
        row["learned_dip_ratio"], row["learned_rec_ratio"] = _ratios(fw["learned"], pid)
        rows.append(row)
    return rows


def _f(x, fmt):
    return fmt % x if x is not None else "-"


def _worst(rows, key):
    v = [r[key] for r in rows if r[key] is not None]
    return max(v) if v else None


def print_sweep(rows, wall_s):
    print("Governor over a family of plants: firmware vs PID peer, ISO load acceptance "
          "(iso-steps-ng 3 steps; lean: iso-steps-leanburn 5 steps).  Firmware as commissioned "
          "(straight-line map), then on its learned map (a second pass); limit: wide open at "
          "the instant of each step (host_sim/pid.py WideOpenProbe), the least dip and the "
          "earliest first return any governor can have")
    print("-" * 140)
    print("%-4s %-4s %-5s %-5s %-5s %-5s | %-16s | %-16s | %-16s | %-15s | %-11s | %s" % (
        "air", "J", "act", "man", "+dead", "gain", "firmware dip/rec", "learned dip/rec",
        "PID dip/rec", "limit dip/first", "ratio d / r", "learned d / r"))
    for r in rows:
        v, fw, pd, lm = r["variant"], r["firmware"], r["pid"], r["limit"]
        ln = fw["learned"]
        note = ""
        for who, x in (("fw", fw), ("pid", pd)):
            if x["lost"]:
                note += " %s lost %d step(s)%s" % (who, x["lost"],
                                                   (": " + ", ".join(x["alarms"][:2])) if x["alarms"] else "")
            elif x["rec"] is None:
                note += " %s: a step not recovered" % who
            elif not x["g3"]:
                note += " %s: not G3" % who
        if r["dip_goal_reachable"] is False:
            note += " dip goal out of physical reach"
        if lm["dip"] is None:
            note += " limit: probe tripped"
        if r["rec_goal_reachable"] is False:
            note += " recovery goal out of physical reach"
        print("%-4s %-4.0f %-5.0f %-5.0f %-5.0f %-5.2f | %5s %% %5s s | %5s %% %5s s | "
              "%5s %% %5s s | %5s %% %4s s | %4s / %4s | %4s / %4s%s" % (
                  v["air"], v["j_kgm2"], v["tau_act_s"] * 1000, v["tau_manifold_s"] * 1000,
                  v["dead_s"] * 1000, v["gain"], _f(fw["dip"], "%.2f"), _f(fw["rec"], "%.2f"),
                  _f(ln["dip"], "%.2f"), _f(ln["rec"], "%.2f"),
                  _f(pd["dip"], "%.2f"), _f(pd["rec"], "%.2f"),
                  _f(lm["dip"], "%.2f"), _f(lm["first_return"], "%.2f"),
                  _f(r["dip_ratio"], "%.2f"), _f(r["rec_ratio"], "%.2f"),
                  _f(r["learned_dip_ratio"], "%.2f"), _f(r["learned_rec_ratio"], "%.2f"), note))
    print("worst ratios where both governors recovered every step (goals: dip <= 0.8, "
          "recovery <= 0.5); in brackets, over the variants where the goal is within "
          "physical reach; %.0f s wall:" % wall_s)
    for air in AIR + ("all",):
        sub = [r for r in rows if air == "all" or r["variant"]["air"] == air]
        if not sub:
            continue
        both = [r for r in sub if r["rec_ratio"] is not None]
        rd = [r for r in sub if r["dip_goal_reachable"]]
        n_rd = len([r for r in sub if r["dip_goal_reachable"] is False])
        rr = [r for r in sub if r["rec_goal_reachable"]]
        n_rr = len([r for r in sub if r["rec_goal_reachable"] is False])
        print("  %-4s %3d variants, %3d compared: as commissioned dip %s [%s] / recovery %s [%s]; "
              "learned dip %s [%s] / recovery %s [%s]; goal out of reach on %d (dip) and %d "
              "(recovery)" % (
                  air, len(sub), len(both),
                  _f(_worst(sub, "dip_ratio"), "%.2f"), _f(_worst(rd, "dip_ratio"), "%.2f"),
                  _f(_worst(sub, "rec_ratio"), "%.2f"), _f(_worst(rr, "rec_ratio"), "%.2f"),
                  _f(_worst(sub, "learned_dip_ratio"), "%.2f"),
                  _f(_worst(rd, "learned_dip_ratio"), "%.2f"),
                  _f(_worst(sub, "learned_rec_ratio"), "%.2f"),
                  _f(_worst(rr, "learned_rec_ratio"), "%.2f"),
                  n_rd, n_rr))
    lost_fw = [r for r in rows if r["firmware"]["rec"] is None]
    lost_pid = [r for r in rows if r["pid"]["rec"] is None]
    print("variants where a step was not recovered (ringing or a stall): firmware %d, PID %d, "
          "firmware only %d" % (len(lost_fw), len(lost_pid),
                                len([r for r in lost_fw if r["pid"]["rec"] is not None])))
    g3_lost = [r for r in rows if r["pid"]["g3"] and not r["firmware"]["g3"]]
    print("variants where the PID keeps G3 and the firmware does not: %d" % len(g3_lost))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.sweep", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--quick", action="store_true", help="two variants (a smoke run)")
    p.add_argument("--air", choices=AIR, help="one air path only")
    p.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                   help="a firmware setting over the scenarios' own (repeatable)")
    a = p.parse_args(argv)
    fw = {}
    for kv in a.set:
        k, _, v = kv.partition("=")
        try:
            fw[k.strip()] = int(v)
        except ValueError:
            p.error("--set %s: the value must be an integer" % kv)
    from host_sim.scenario import ScenarioError
    t0 = time.perf_counter()
    try:
        rows = sweep(a.jobs, a.quick, a.air, fw)
    except ScenarioError as e:
        print("sweep: %s" % e, file=sys.stderr)
        return 2
    print_sweep(rows, time.perf_counter() - t0)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
