"""Run outputs: report.json, trace.csv and plot.png in one directory.

report.json keys other tools rely on: scenario, runtime, seed, governor,
firmware_output_sha256, iso8528 {class, events[...], unscored[...]}.
Everything else is extra and may grow.  The paralleling figures (syncs,
loss_of_mains, power_control) are bookkept by sim.py from quantities the
trace carries, so trace.csv alone recomputes them (tests/test_report_truth.py).
"""

import csv
import json
import os

from . import iso8528


def build(r, wall_s=None):
    sc = r.scenario
    tr = r.trace
    if tr["t_s"]:
        iso, pulse = iso8528.evaluate(r)
    else:   # run without a trace: no transient figures to score
        iso, pulse = {"class": "none", "events": [], "unscored": [],
                      "note": "run without trace"}, None
    rep = {
        "scenario": sc["name"],
        "description": sc["description"],
        "runtime": r.runtime,
        "seed": r.seed,
        "governor": sc["governor"],
        "fuel": sc["fuel"],
        "f_nom_hz": sc["f_nom_hz"],
        "duration_s": sc["duration_s"],
        "ticks": r.n_ticks,
        "firmware_output_sha256": r.sha256,
        # The 32-bit runtime's GC heap in bytes: the size it was given
        # ("start") and what it had at the end ("end" > "start": the firmware
        # needed more than that heap); None for the other runtimes.
        "heap_32bit": getattr(r, "heap", None),
        "iso8528": iso,
        "summary": {
            "freq_min_hz": round(min(tr["freq_hz"]), 4),
            "freq_max_hz": round(max(tr["freq_hz"]), 4),
            "volt_min_v": round(min(tr["volt_v"]), 2),
            "volt_max_v": round(max(tr["volt_v"]), 2),
            "p_max_kw": round(max(tr["p_kw"]), 2),
            "fuel_rated_kw": round(r.p_fuel_kw, 1),
            "ign_cut_max_pct": round(max(tr["ign_cut_pct"]), 2),
        } if tr["t_s"] else {"fuel_rated_kw": round(r.p_fuel_kw, 1)},
        "plant": {"h_s": round(r.h_s, 4), "torque_dead_time_s": round(r.t_dead_s, 4)},
        "alarms": r.alarms,
        "syncs": r.syncs,
        "loss_of_mains": r.loss_of_mains,
        "final_state": r.final_state,
        "states": r.states,
        "commands": r.commands,
        "modbus": getattr(r, "modbus", []),
    }
    if r.grid_present and r.cfg.pc_mode == 1 and r.pc_err:
        e = r.pc_err
        rep["power_control"] = {
            "import_cap_kw": r.cfg.import_cap_kw_x10 / 10.0,
            "import_limit_err_kw_rms": round((sum(x * x for x in e) / len(e)) ** 0.5, 3) if e else None,
            "import_limit_err_kw_max": round(max(e), 3) if e else None,
            "samples": len(e),
        }
    exp = sc.get("expect") or {}
    if exp:
        rep["expect"] = dict(exp, met=expect_met(rep, exp, fault_time(sc)))
    if pulse is not None:
        rep["load_pulse"] = pulse
    bl = iso8528.block_load(r) if tr["t_s"] else None
    if bl is not None:
        rep["block_load"] = bl
    if wall_s is not None:
        rep["wall_s"] = round(wall_s, 3)
        rep["sim_speed_x"] = round(sc["duration_s"] / wall_s, 1) if wall_s > 0 else None
    return rep


def fault_time(sc):
    """What an expected alarm is timed from: the first injected fault (or
    e-stop press); plain operating inputs do not count.  0 if none."""
    ts = [e["t_s"] for e in sc["events"]
          if (e["kind"] == "fault" and not e.get("clear", False)) or
          (e["kind"] == "grid" and e["action"] != "restore") or
          (e["kind"] == "input" and e.get("input") == "estop" and e.get("value"))]
    return ts[0] if ts else 0.0


def expect_met(rep, exp, t0=0.0):
    """Did the run end as the scenario's [expect] table says?  (fault
    scenarios: the right alarm, of the right class, within its time, and the
    right final state)."""
    if "final_state" in exp and rep["final_state"] != exp["final_state"]:
        return False
    if exp.get("no_alarms") and rep["alarms"]:
        return False
    if "alarm" in exp:
        hits = [a for a in rep["alarms"] if a["name"] == exp["alarm"]]
        if not hits:
            return False
        a = hits[0]
        if "class" in exp and a["class"] != exp["class"]:
            return False
        if "within_s" in exp:
            if a["t_s"] - t0 > exp["within_s"]:
                return False
    return True


def write_trace(r, path):
    cols = list(r.trace) + list(r.out) + list(r.fw)
    data = [r.trace[c] for c in r.trace] + [r.out[c] for c in r.out] + [r.fw[c] for c in r.fw]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for row in zip(*data):
            w.writerow([("%.6g" % x) if isinstance(x, float) else x for x in row])


def write_all(r, rep, out_dir, plot=True):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(rep, f, indent=2)
        f.write("\n")
    write_trace(r, os.path.join(out_dir, "trace.csv"))
    if plot:
        from . import plot as plot_mod
        plot_mod.plot(r, rep, os.path.join(out_dir, "plot.png"))


def summary_text(rep):
    iso = rep["iso8528"]
    lines = ["%s  runtime=%s  governor=%s  fuel=%s  %d Hz  seed=%d" % (
        rep["scenario"], rep["runtime"], rep["governor"], rep["fuel"], rep["f_nom_hz"], rep["seed"])]
    h = rep.get("heap_32bit")
    if h:
        lines.append("32-bit heap: %d bytes given, %d at the end%s" % (
            h["start"], h["end"], "" if h["end"] <= h["start"] else
            " (the firmware outgrew it: see README, Boards and memory)"))
    lines.append("ISO 8528-5 class met (worst event): %s" % iso["class"])
    if iso["events"]:
        # x: band crossings, frequency/voltage (2 = one clean dip and back).
        lines.append("  t_s   kind            step%  f_dev%  f_rec_s  f_band%  V_dev%  V_rec_s  class"
                     "  x f/V")
        for e in iso["events"]:
            fr = "-" if e["freq_recovery_s"] is None else "%.2f" % e["freq_recovery_s"]
            vr = "-" if e["volt_recovery_s"] is None else "%.2f" % e["volt_recovery_s"]
            x = "%s/%s" % (e.get("freq_crossings", "-"), e.get("volt_crossings", "-"))
            lines.append("  %5.1f %-15s %5.1f  %+6.2f  %7s  %6.3f  %+6.2f  %7s  %-5s  %s%s" % (
                e["t_s"], e["kind"], e["step_pct"], e["freq_dev_pct"], fr, e["freq_band_pct"],
                e["volt_dev_pct"], vr, e["class"], x, "  ringing" if e.get("ringing") else ""))
    for e in iso.get("unscored", []):
        lines.append("  not scored: %s at %.2f s (%s)" % (e["kind"], e["t_s"], e["reason"]))
    if "load_pulse" in rep:
        p = rep["load_pulse"]
        lines.append("load pulses: %d edges, f %+.2f..%+.2f %%, V %+.2f..%+.2f %%, inside G3 limits: %s" % (
            p["edges"], p["freq_dev_min_pct"], p["freq_dev_max_pct"], p["volt_dev_min_pct"],
            p["volt_dev_max_pct"], "yes" if p["within_g3_transient_limits"] else "no"))
    if "block_load" in rep:
        b = rep["block_load"]
        if b.get("reason"):
            verdict = "no (%s)" % b["reason"]
        else:
            verdict = "yes" if b["nfpa110_level1"] else "no"
        lines.append("block load %g -> %g %% at %.2f s: f %+.2f %%, V %+.2f %%, %s, %s, "
                     "NFPA 110 Level 1: %s" % (
                         round(b["from_pct"], 1), round(b["to_pct"], 1), b["t_s"], b["dip_pct"],
                         b["volt_dip_pct"],
                         "f not recovered" if b["recovery_s"] is None
                         else "f recovered %.2f s" % b["recovery_s"],
                         "never stable" if b["stable_s"] is None
                         else "stable %.2f s" % b["stable_s"], verdict))
    for a in rep.get("alarms", []):
        lines.append("alarm at %7.2f s: %-24s %-15s value %s%s" % (
            a["t_s"], a["name"], a["class"], a["value"], "  (first out)" if a["first_out"] else ""))
    for s_ in rep.get("syncs", []):
        lines.append("close %-3s at %7.2f s: %s s from sync start, slip %+.3f Hz, dV %+.2f %%, "
                     "phase %+.2f deg, min kW in 2 s %.1f (below 0 for %d ms)" % (
                         s_["breaker"], s_["t_s"], s_["time_to_close_s"], s_["slip_hz"],
                         s_["dv_pct"], s_["phase_error_deg"], s_["reverse_power_kw_min"],
                         s_.get("reverse_power_ms", 0)))
    for e in rep.get("loss_of_mains", []):
        lines.append("grid loss at %.2f s: open command after %s ms, mains breaker open after %s ms, "
                     "load interrupted: %s" % (e["t_s"], e["detect_ms"], e["open_ms"],
                                               e["load_interrupted"]))
    if rep.get("power_control"):
        pc = rep["power_control"]
        lines.append("import limit %.0f kW: error rms %s kW, max %s kW" % (
            pc["import_cap_kw"], pc["import_limit_err_kw_rms"], pc["import_limit_err_kw_max"]))
    lines.append("final state: %s" % rep.get("final_state"))
    if "expect" in rep:
        lines.append("expected outcome met: %s" % ("yes" if rep["expect"]["met"] else "NO"))
    lines.append("firmware_output_sha256 %s" % rep["firmware_output_sha256"])
    if "sim_speed_x" in rep:
        lines.append("simulated %.0f s in %.2f s wall (%.0fx real time)" % (
            rep["duration_s"], rep["wall_s"], rep["sim_speed_x"]))
    return "\n".join(lines)
