"""plot.png: speed/frequency, voltage, kW and actuator against time, with the
ISO 8528-5 G3 envelope drawn around each load event."""

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .iso8528 import LIMITS, L_F_INC, L_F_DEC, L_F_TOL, L_F_REC, L_V_INC, L_V_DEC, L_V_SS, L_V_REC  # noqa: E402


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


def plot(r, rep, path):
    tr = r.trace
    t = tr["t_s"]
    fig, axs = plt.subplots(4, 1, figsize=(11, 10), sharex=True)
    title = "%s (%s runtime, %s governor) - ISO 8528-5 class %s" % (
        rep["scenario"], rep["runtime"], rep["governor"], rep["iso8528"]["class"])
    fig.suptitle(title)
    ax = axs[0]
    ax.plot(t, tr["freq_hz"], lw=1, label="generator frequency (Hz)")
    ax.set_ylabel("Hz")
    axs[1].plot(t, tr["volt_v"], lw=1, color="tab:green", label="voltage L-L (V)")
    axs[1].set_ylabel("V")
    axs[2].plot(t, tr["p_kw"], lw=1, color="tab:orange", label="kW")
    axs[2].plot(t, tr["demand_kw"], lw=0.8, ls=":", color="k", label="demand kW")
    axs[2].set_ylabel("kW")
    axs[3].plot(t, tr["fuel_cmd_pct"], lw=1, color="tab:purple", label="fuel actuator command %")
    axs[3].plot(t, tr["ign_cut_pct"], lw=0.8, color="tab:red", label="ignition cut %")
    axs[3].plot(t, tr["avr_bias_pct"], lw=0.8, color="tab:gray", label="AVR bias %")
    axs[3].set_ylabel("%")
    axs[3].set_xlabel("time (s)")
    g3 = LIMITS["G3"]
    evs = rep["iso8528"]["events"]
    fn, vn = r.f_nom, r.v_nom
    for k, ev in enumerate(evs):
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
    # Keep a runaway (e.g. a reference governor that cannot hold) readable.
    # Show the envelope, and keep a runaway (a reference governor that cannot
    # hold the set) readable.
    fmin = min(min(tr["freq_hz"]), fn * (1 - (g3[L_F_INC] + r.droop_pct + 1) / 100.0))
    fmax = max(max(tr["freq_hz"]), fn * (1 + (g3[L_F_DEC] + 1) / 100.0))
    axs[0].set_ylim(0.0 if fmin < 0.7 * fn else fmin, min(fmax, 1.3 * fn))
    vmin = min(min(tr["volt_v"]), vn * (1 - (g3[L_V_INC] + 2) / 100.0))
    vmax = max(max(tr["volt_v"]), vn * (1 + (g3[L_V_DEC] + 2) / 100.0))
    axs[1].set_ylim(0.0 if vmin < 0.5 * vn else vmin, min(vmax, 1.5 * vn))
    axs[0].plot([], [], color="tab:red", lw=0.8, ls="--", label="ISO 8528-5 G3 envelope")
    for a in axs:
        a.grid(True, alpha=0.3)
        a.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
