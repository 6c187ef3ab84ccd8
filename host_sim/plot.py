"""plot.png: the run's story against time.

Island scenarios (no grid): speed/frequency, voltage, kW and the actuators,
with the ISO 8528-5 G3 envelope drawn around each scored load event.
Grid scenarios: frequency (generator and grid), voltage (generator, PCC bus,
utility), kW (generator, site load, grid import with its cap or export
limit), both breakers with the alarms, and the slip and phase across the
sync check (plant truth, and what the firmware measured), with a zoom on
each breaker close.  The title names the ISO 8528-5 class only when a load
event was scored; otherwise it says what the scenario is."""

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .iso8528 import LIMITS, L_F_INC, L_F_DEC, L_F_TOL, L_F_REC, L_V_INC, L_V_DEC, L_V_SS, L_V_REC  # noqa: E402

NAN = float("nan")


def _envelope(ax, ev, t_next, nominal, f_pre, dev_inc, dev_dec, band_half_pct, rec_s, steady):
    """Transient limit from the event to the recovery time, then the band."""
    t0 = ev["t_s"]
    t1 = min(t0 + rec_s, t_next)
    if ev["kind"] == "load_increase":
        lo = f_pre - dev_inc / 100.0 * nominal
        hi = steady + band_half_pct / 100.0 * nominal
    else:
        lo = steady - band_half_pct / 100.0 * nominal
        hi = f_pre + dev_dec / 100.0 * nominal
    kw = dict(color="tab:red", lw=0.8, ls="--", alpha=0.8)
    ax.plot([t0, t1], [lo, lo], **kw)
    ax.plot([t0, t1], [hi, hi], **kw)
    if t_next > t1:
        b = band_half_pct / 100.0 * nominal
        ax.plot([t1, t_next], [steady - b, steady - b], **kw)
        ax.plot([t1, t_next], [steady + b, steady + b], **kw)


def title_of(r, rep):
    """First line: scenario, runtime, governor and the ISO class if any
    load event was scored; second line: what the scenario is."""
    iso = rep["iso8528"]
    head = "%s (%s runtime, %s governor)" % (rep["scenario"], rep["runtime"], rep["governor"])
    if iso["events"]:
        head += " - ISO 8528-5 class %s over %d load event%s" % (
            iso["class"], len(iso["events"]), "" if len(iso["events"]) == 1 else "s")
    elif iso.get("unscored"):
        head += " - no ISO 8528-5 load step scored (%d listed as unscored)" % len(iso["unscored"])
    desc = rep.get("description") or ""
    return head + ("\n" + desc if desc else "")


def plot(r, rep, path):
    if getattr(r, "grid_present", False):
        _plot_grid(r, rep, path)
    else:
        _plot_island(r, rep, path)


def _plot_island(r, rep, path):
    tr = r.trace
    t = tr["t_s"]
    fig, axs = plt.subplots(4, 1, figsize=(11, 10), sharex=True)
    fig.suptitle(title_of(r, rep), fontsize=10)
    ax = axs[0]
    ax.plot(t, tr["freq_hz"], lw=1, label="generator frequency (Hz)")
    ax.set_ylabel("Hz")
    axs[1].plot(t, tr["volt_v"], lw=1, color="tab:green", label="voltage L-L (V)")
    axs[1].set_ylabel("V")
    axs[2].plot(t, tr["p_kw"], lw=1, color="tab:orange", label="generator kW")
    axs[2].plot(t, tr["demand_kw"], lw=0.8, ls=":", color="k", label="load demand kW")
    axs[2].set_ylabel("kW")
    axs[3].plot(t, tr["fuel_cmd_pct"], lw=1, color="tab:purple", label="fuel actuator command %")
    axs[3].plot(t, tr["ign_cut_pct"], lw=0.8, color="tab:red", label="ignition cut %")
    axs[3].plot(t, tr["avr_bias_pct"], lw=0.8, color="tab:gray", label="AVR bias %")
    axs[3].set_ylabel("%")
    axs[3].set_xlabel("time (s)")
    g3 = LIMITS["G3"]
    evs = rep["iso8528"]["events"]
    fn, vn = r.f_nom, r.v_nom
    for ev in evs:
        t_next = ev["window_end_s"]
        i0 = int(round(ev["t_s"] / r.tick_s))
        f_pre = tr["freq_hz"][max(0, i0 - 1)]
        v_pre = tr["volt_v"][max(0, i0 - 1)]
        _envelope(axs[0], ev, t_next, fn, f_pre, g3[L_F_INC] + r.droop_pct, g3[L_F_DEC],
                  g3[L_F_TOL] / 2.0, g3[L_F_REC], ev["freq_steady_hz"])
        _envelope(axs[1], ev, t_next, vn, v_pre, g3[L_V_INC], g3[L_V_DEC],
                  g3[L_V_SS], g3[L_V_REC], ev["volt_steady_v"])
        for a in axs:
            a.axvline(ev["t_s"], color="k", lw=0.4, alpha=0.4)
    for e in rep["iso8528"].get("unscored", []):
        for a in axs:
            a.axvline(e["t_s"], color="tab:gray", lw=0.4, ls=":", alpha=0.6)
    _alarm_lines(axs, rep, label_ax=axs[0])
    # Show the envelope, and keep a runaway (a reference governor that cannot
    # hold the set) readable.
    fmin = min(min(tr["freq_hz"]), fn * (1 - (g3[L_F_INC] + r.droop_pct + 1) / 100.0))
    fmax = max(max(tr["freq_hz"]), fn * (1 + (g3[L_F_DEC] + 1) / 100.0))
    axs[0].set_ylim(0.0 if fmin < 0.7 * fn else fmin, min(fmax, 1.3 * fn))
    vmin = min(min(tr["volt_v"]), vn * (1 - (g3[L_V_INC] + 2) / 100.0))
    vmax = max(max(tr["volt_v"]), vn * (1 + (g3[L_V_DEC] + 2) / 100.0))
    axs[1].set_ylim(0.0 if vmin < 0.5 * vn else vmin, min(vmax, 1.5 * vn))
    if evs:
        axs[0].plot([], [], color="tab:red", lw=0.8, ls="--", label="ISO 8528-5 G3 envelope")
    for a in axs:
        a.grid(True, alpha=0.3)
        a.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _alarm_lines(axs, rep, label_ax, y=0.97, rotation=90):
    """A dotted red line through every panel at each alarm, named once in
    label_ax (at axes height y; several alarms close together stagger)."""
    last, k = None, 0
    for a in rep.get("alarms", []):
        for ax in axs:
            ax.axvline(a["t_s"], color="tab:red", lw=0.6, ls=":", alpha=0.8)
        k = k + 1 if last is not None and a["t_s"] - last < 2.0 else 0
        last = a["t_s"]
        label_ax.annotate(a["name"], (a["t_s"], y - 0.12 * (k % 3) * (rotation == 0)),
                          xycoords=("data", "axes fraction"), xytext=(2, -2),
                          textcoords="offset points", fontsize=7, color="tab:red",
                          va="top", rotation=rotation)


def _masked(vals, dead=0.0):
    """The grid's figures read 0 where there is no grid: leave a gap there."""
    return [NAN if x == dead else x for x in vals]


def _plot_grid(r, rep, path):
    tr = r.trace
    t = tr["t_s"]
    syncs = rep.get("syncs", [])[:4]
    fig = plt.figure(figsize=(12, 14 if syncs else 12.5))
    rows = 6 if syncs else 5
    gs = fig.add_gridspec(rows, max(1, len(syncs)),
                          height_ratios=[1, 1, 1.3, 0.55, 0.9] + ([1.0] if syncs else []))
    axs = [fig.add_subplot(gs[0, :])]
    for k in range(1, 5):
        axs.append(fig.add_subplot(gs[k, :], sharex=axs[0]))
    fig.suptitle(title_of(r, rep), fontsize=10)
    ax_f, ax_v, ax_p, ax_b, ax_s = axs
    fn, vn = r.f_nom, r.v_nom

    gen_live = [f if v > 0.05 * vn else NAN for f, v in zip(tr["freq_hz"], tr["volt_v"])]
    ax_f.plot(t, tr["freq_hz"], lw=0.8, color="tab:blue", alpha=0.35,
              label="engine speed (Hz equiv.)")
    ax_f.plot(t, gen_live, lw=1, color="tab:blue", label="generator frequency (Hz)")
    ax_f.plot(t, _masked(tr["grid_f_hz"]), lw=1, color="k", ls="--", label="grid frequency (Hz)")
    ax_f.set_ylabel("Hz")
    lo = min([x for x in gen_live + tr["grid_f_hz"] if x == x and x > 0] or [fn])
    hi = max([x for x in gen_live + tr["grid_f_hz"] if x == x] or [fn])
    lo, hi = max(lo, 0.85 * fn) - 0.005 * fn, min(hi, 1.15 * fn) + 0.005 * fn
    ax_f.set_ylim(lo, hi + 0.35 * (hi - lo))         # headroom for the legend

    ax_v.plot(t, tr["volt_v"], lw=1, color="tab:green", label="generator V L-L")
    ax_v.plot(t, _masked(tr["bus_v_v"]), lw=0.8, color="tab:olive", ls=":", label="PCC bus V")
    ax_v.plot(t, _masked(tr["grid_v_v"]), lw=1, color="k", ls="--", label="utility V")
    ax_v.set_ylabel("V")
    vs = [x for x in tr["volt_v"] + tr["bus_v_v"] + tr["grid_v_v"] if x > 0.5 * vn]
    if vs:
        lo, hi = min(min(vs), 0.95 * vn) - 0.01 * vn, max(max(vs), 1.05 * vn) + 0.01 * vn
        ax_v.set_ylim(lo, hi + 0.35 * (hi - lo))

    ax_p.plot(t, tr["site_kw"], lw=1, color="k", label="site load kW")
    ax_p.plot(t, tr["p_kw"], lw=1, color="tab:orange", label="generator kW")
    ax_p.plot(t, tr["grid_p_kw"], lw=1, color="tab:cyan", label="grid import kW (+ in)")
    cfg = r.cfg
    if cfg.pc_mode == 1:
        ax_p.axhline(cfg.import_cap_kw_x10 / 10.0, color="tab:red", lw=0.8, ls="--",
                     label="import cap %.0f kW" % (cfg.import_cap_kw_x10 / 10.0))
    if cfg.export_limit_kw_x10 > 0:
        ax_p.axhline(-cfg.export_limit_kw_x10 / 10.0, color="tab:purple", lw=0.8, ls="--",
                     label="export limit %.0f kW" % (cfg.export_limit_kw_x10 / 10.0))
    else:
        ax_p.axhline(cfg.import_min_kw_x10 / 10.0, color="tab:purple", lw=0.6, ls=":",
                     label="zero export: minimum import %.0f kW" % (cfg.import_min_kw_x10 / 10.0))
    ax_p.axhline(0.0, color="k", lw=0.4)
    ax_p.set_ylabel("kW")
    pk = tr["site_kw"] + tr["p_kw"] + tr["grid_p_kw"]
    span = max(pk) - min(pk)
    ax_p.set_ylim(max(min(pk), -1.5 * r.p_fuel_kw) - 0.05 * span,
                  min(max(pk), 1.5 * r.p_fuel_kw) + 0.45 * span)

    ax_b.step(t, [2 + x for x in tr["mb_closed"]], where="post", lw=1.2, color="k")
    ax_b.step(t, tr["gcb_closed"], where="post", lw=1.2, color="tab:orange")
    ax_b.set_ylabel("breakers", fontsize=8)
    ax_b.set_yticks([0, 1, 2, 3])
    ax_b.set_yticklabels(["GCB open", "GCB closed", "MB open", "MB closed"], fontsize=7)
    ax_b.set_ylim(-0.3, 4.6)

    ax_s.plot(t, tr["phase_deg"], lw=0.8, color="tab:blue",
              label="phase across the sync check (deg, truth)")
    if "fw_phase_cdeg" in r.fw:
        ax_s.plot(t, [x / 100.0 for x in r.fw["fw_phase_cdeg"]], lw=0.6, color="tab:red", alpha=0.6,
                  ls="--", label="phase measured by the firmware (deg)")
    ax_s.set_ylabel("phase (deg)")
    ax_s.set_ylim(-190, 330)
    ax_s.set_yticks([-180, -90, 0, 90, 180])
    ax2 = ax_s.twinx()
    ax2.plot(t, tr["slip_hz"], lw=0.8, color="tab:green", label="slip, generator - grid (Hz)")
    ax2.set_ylabel("slip (Hz)")
    ax2.set_ylim(-1.0, 1.75)
    ax_s.set_xlabel("time (s)")
    h1, l1 = ax_s.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax_s.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7, ncol=3)

    for s_ in rep.get("syncs", []):
        for ax in axs:
            ax.axvline(s_["t_s"], color="tab:green", lw=0.7, alpha=0.7)
        ax_b.annotate("close %s" % s_["breaker"].upper(), (s_["t_s"], 0.4), fontsize=7,
                      xytext=(3, 0), textcoords="offset points", color="tab:green")
    for e in rep.get("loss_of_mains", []):
        ax_b.annotate("grid lost", (e["t_s"], 1.5), fontsize=7, xytext=(3, 0),
                      textcoords="offset points", color="tab:red")
    _alarm_lines(axs, rep, label_ax=ax_b, y=0.97, rotation=0)
    for a in axs:
        a.grid(True, alpha=0.3)
    for a in (ax_f, ax_v, ax_p):
        a.legend(loc="upper left", fontsize=7, ncol=3)

    # One zoom per close: the phase and slip the contacts met, +-1.5 s.
    for k, s_ in enumerate(syncs):
        az = fig.add_subplot(gs[5, k])
        i0 = max(0, int(round((s_["t_s"] - 1.5) / r.tick_s)))
        i1 = min(len(t), int(round((s_["t_s"] + 1.5) / r.tick_s)))
        tz = t[i0:i1]
        az.plot(tz, tr["phase_deg"][i0:i1], lw=1, color="tab:blue", label="phase (deg)")
        if "fw_phase_cdeg" in r.fw:
            az.plot(tz, [x / 100.0 for x in r.fw["fw_phase_cdeg"][i0:i1]], lw=0.7,
                    color="tab:red", ls="--", label="measured (deg)")
        az.axvline(s_["t_s"], color="tab:green", lw=0.8)
        az.set_ylim(-30, 30)
        az.set_title("close %s at %.2f s: slip %+.3f Hz, phase %+.2f deg, dV %+.2f %%" % (
            s_["breaker"].upper(), s_["t_s"], s_["slip_hz"], s_["phase_error_deg"], s_["dv_pct"]),
            fontsize=8)
        az.set_xlabel("time (s)", fontsize=8)
        az.tick_params(labelsize=7)
        azs = az.twinx()
        azs.plot(tz, tr["slip_hz"][i0:i1], lw=0.8, color="tab:green", label="slip (Hz)")
        azs.set_ylim(-0.5, 0.5)
        azs.tick_params(labelsize=7)
        az.grid(True, alpha=0.3)
        if k == 0:
            h1, l1 = az.get_legend_handles_labels()
            h2, l2 = azs.get_legend_handles_labels()
            az.legend(h1 + h2, l1 + l2, loc="lower left", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
