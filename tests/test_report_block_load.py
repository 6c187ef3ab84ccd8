"""What users read is scored (issue 10, item 6): every ISO event counts its
band crossings and says when it rings, and a 0 -> 100 % step gets the NFPA
110 Level 1 block-load figures (report.json `block_load`).

Synthetic runs pin the definitions; one real run of block-load-ng (about
1 s, from conftest's run cache) shows the built-in scenario reports them.
(tests/test_report_truth.py's _FakeRun is a fixed 10 s flat trace; these
runs need shaped frequency and voltage and longer windows, so they build
their own.)"""

import pytest

from conftest import run_scenario
from host_sim import iso8528, report

DT = 0.01
F_NOM, V_NOM, RATED_KW = 60.0, 480.0, 200.0


class _Run:
    """An island run at rated speed and voltage: `duration_s` long, load
    steps at `steps` [(t_s, pct)], frequency and voltage shaped by
    f(t) / v(t) (Hz / V), breaker closed until `gcb_opens_at`."""

    def __init__(self, steps, f=None, v=None, duration_s=30.0, initial_pct=0.0,
                 gcb_opens_at=None, alarms=(), mb_closes_at=None):
        n = int(round(duration_s / DT))
        self.tick_s, self.f_nom, self.v_nom = DT, F_NOM, V_NOM
        self.p_fuel_kw, self.droop_pct = RATED_KW, 0.0
        t = [round(k * DT, 6) for k in range(n)]
        pct = []
        for x in t:
            p = initial_pct
            for ts, to in steps:
                if x >= ts - 1e-9:
                    p = to
            pct.append(p)
        self.trace = {
            "t_s": t,
            "freq_hz": [f(x) if f else F_NOM for x in t],
            "volt_v": [v(x) if v else V_NOM for x in t],
            "demand_kw": [p / 100.0 * RATED_KW for p in pct],
            "gcb_closed": [0 if gcb_opens_at is not None and x >= gcb_opens_at else 1 for x in t],
            "mb_closed": [1 if mb_closes_at is not None and x >= mb_closes_at else 0 for x in t],
        }
        self.scenario = {"events": [{"t_s": ts, "kind": "step", "p_pct": to} for ts, to in steps]}
        self.states = [{"t_s": 0.0, "state": "loaded"}]
        self.alarms = list(alarms)


def _dip(t0, depth_pct, length_s, base=F_NOM):
    """A square dip of depth_pct of base from t0 for length_s."""
    return lambda x: base * (1.0 - depth_pct / 100.0) if t0 <= x < t0 + length_s else base


def _ring(t0, depth_pct, half_s, n_swings):
    """n_swings half-periods alternately below and above rated by depth_pct
    from t0 (each half_s long), then rated.  The swings jump straight from
    one side of the band to the other between two rows."""
    def f(x):
        k = int((x - t0) // half_s) if x >= t0 else -1
        if 0 <= k < n_swings:
            return F_NOM * (1.0 + (-1) ** (k + 1) * depth_pct / 100.0)
        return F_NOM
    return f


def _event(run):
    iso, _ = iso8528.evaluate(run)
    (ev,) = iso["events"]
    return ev


def _report(run):
    """report.build on a synthetic run (the fields build reads besides the
    transient scorer's)."""
    run.runtime, run.seed, run.n_ticks, run.sha256 = "cpython", 1, len(run.trace["t_s"]), "0" * 64
    run.h_s, run.t_dead_s = 1.0, 0.02
    run.syncs, run.loss_of_mains, run.commands, run.modbus = [], [], [], []
    run.final_state, run.grid_present = "loaded", False
    n = len(run.trace["t_s"])
    run.trace.update(p_kw=list(run.trace["demand_kw"]), ign_cut_pct=[0.0] * n)
    sc = {"name": "synthetic", "description": "", "governor": "firmware",
          "fuel": "natural_gas", "f_nom_hz": 60, "duration_s": n * DT}
    sc.update(run.scenario)
    run.scenario = sc
    return report.build(run)


# --- ringing: band crossings per scored event ---------------------------------

def test_a_clean_dip_out_of_the_band_and_back_counts_two_crossings_and_does_not_ring():
    ev = _event(_Run([(2.0, 40.0)], f=_dip(2.0, 3.0, 0.5), v=_dip(2.0, 5.0, 0.3, V_NOM),
                     duration_s=10.0))
    assert ev["freq_crossings"] == 2 and ev["volt_crossings"] == 2
    assert ev["ringing"] is False
    assert ev["freq_recovery_s"] == pytest.approx(0.5)


def _through_band(t0):
    """Below, back, above, back, below, back: each swing through the band."""
    def f(x):
        out = 0.0
        for a, pct in ((0.0, -2.0), (0.4, 0.0), (0.6, 2.0), (1.0, 0.0), (1.2, -1.5), (1.6, 0.0)):
            if x >= t0 + a:
                out = pct
        return F_NOM * (1.0 + out / 100.0)
    return f


@pytest.mark.parametrize("f", [_ring(2.0, 2.0, 0.4, 3), _through_band(2.0)],
                         ids=["swings-jump-the-band", "swings-through-the-band"])
def test_a_ringing_response_counts_six_crossings_and_rings(f):
    # below, above, below the +-1 % band: three excursions, six crossings
    ev = _event(_Run([(2.0, 40.0)], f=f, duration_s=10.0))
    assert ev["freq_crossings"] == 6 and ev["volt_crossings"] == 0
    assert ev["ringing"] is True


def test_voltage_ringing_alone_makes_the_event_ring():
    def v(x):   # out, back, out again, back: four crossings
        return V_NOM * 0.95 if 2.0 <= x < 2.2 or 2.4 <= x < 2.6 else V_NOM
    ev = _event(_Run([(2.0, 40.0)], v=v, duration_s=10.0))
    assert ev["freq_crossings"] == 0 and ev["volt_crossings"] == 4 and ev["ringing"] is True


def test_a_response_that_never_leaves_the_band_counts_no_crossing():
    ev = _event(_Run([(2.0, 40.0)], f=_dip(2.0, 0.5, 0.5), duration_s=10.0))
    assert ev["freq_crossings"] == 0 and ev["volt_crossings"] == 0
    assert ev["ringing"] is False and ev["freq_recovery_s"] == 0.0


def test_a_response_that_leaves_the_band_for_good_counts_one_crossing():
    # in the band until the last 0.1 s, then 5 % high: the steady state (the
    # last second's mean) is 0.5 % high, so the pre-event value is inside
    # its band and the end outside it
    ev = _event(_Run([(2.0, 40.0)], f=lambda x: F_NOM * (1.05 if x >= 9.9 else 1.0),
                     duration_s=10.0))
    assert ev["freq_crossings"] == 1 and ev["freq_recovery_s"] is None


def test_the_summary_table_shows_the_crossings_and_notes_ringing_without_moving_its_columns():
    run = _Run([(2.0, 40.0), (6.0, 80.0)], f=lambda x: _ring(2.0, 2.0, 0.4, 3)(x) if x < 6.0
               else _dip(6.0, 3.0, 0.5)(x), duration_s=10.0)
    text = report.summary_text(_report(run))
    lines = text.splitlines()
    head = next(k for k, ln in enumerate(lines) if "f_dev%" in ln)
    assert lines[head].split()[:10] == ["t_s", "kind", "step%", "f_dev%", "f_rec_s", "f_band%",
                                        "V_dev%", "V_rec_s", "class", "x"]
    ring, clean = lines[head + 1].split(), lines[head + 2].split()
    assert ring[9] == "6/0" and ring[-1] == "ringing"
    assert clean[9] == "2/0" and "ringing" not in clean
    assert ring[1] == "load_increase" and ring[8] in ("G3", "G2", "G1", "none")


# --- block load (NFPA 110 Level 1) --------------------------------------------

def _block(f=None, v=None, **kw):
    """A 0 -> 100 % step at 5 s, looked at to the end of a 30 s run."""
    return _Run([(5.0, 100.0)], f=f, v=v, **kw)


def test_block_load_that_recovers_in_time_passes_nfpa_110_level_1():
    rep = _report(_block(f=_dip(5.0, 16.0, 3.0), v=_dip(5.0, 18.0, 3.5, V_NOM)))
    b = rep["block_load"]
    assert b["t_s"] == 5.0 and b["from_pct"] == 0.0 and b["to_pct"] == 100.0
    assert b["dip_pct"] == pytest.approx(-16.0) and b["volt_dip_pct"] == pytest.approx(-18.0)
    assert b["recovery_s"] == pytest.approx(3.0) and b["stable_s"] == pytest.approx(3.5)
    assert b["carried"] is True and b["nfpa110_level1"] is True and "reason" not in b
    assert b["window_s"] == pytest.approx(25.0)
    for word in ("1 %", "2.5 %", "10 s", "NFPA 110 Level 1"):
        assert word in b["criteria"]
    line = next(ln for ln in report.summary_text(rep).splitlines() if ln.startswith("block load"))
    assert line == ("block load 0 -> 100 % at 5.00 s: f -16.00 %, V -18.00 %, "
                    "f recovered 3.00 s, stable 3.50 s, NFPA 110 Level 1: yes")


def test_block_load_recovery_is_to_rated_frequency_not_to_the_new_steady_state():
    # settles 1.5 % low (a droop-like offset): the ISO event recovers around
    # its own steady state, the block load never reaches +-1 % of rated
    run = _block(f=lambda x: F_NOM * (0.85 if 5.0 <= x < 7.0 else 0.985 if x >= 7.0 else 1.0))
    rep = _report(run)
    assert rep["iso8528"]["events"][0]["freq_recovery_s"] == pytest.approx(2.0)
    b = rep["block_load"]
    assert b["recovery_s"] is None and b["stable_s"] is None and b["nfpa110_level1"] is False
    assert b["carried"] is True and "reason" not in b
    assert "f not recovered, never stable, NFPA 110 Level 1: no" in report.summary_text(rep)


def test_block_load_stable_only_after_12_s_fails_nfpa_110_level_1():
    # frequency back in 4 s, voltage only inside +-2.5 % after 12 s
    rep = _report(_block(f=_dip(5.0, 16.0, 4.0), v=_dip(5.0, 3.0, 12.0, V_NOM)))
    b = rep["block_load"]
    assert b["recovery_s"] == pytest.approx(4.0) and b["stable_s"] == pytest.approx(12.0)
    assert b["carried"] is True and b["nfpa110_level1"] is False


def test_block_load_taken_off_load_by_a_protection_is_not_carried_and_says_why():
    alarm = {"t_s": 6.5, "code": 12, "name": "underfrequency", "class": "trip_breaker",
             "value": 51000, "first_out": True}
    # 16 % low until the breaker opens at 6.6 s, back at rated (no load) at
    # 7 s, then shut down (0 Hz) from 20 s
    run = _block(f=lambda x: 0.0 if x >= 20.0 else _dip(5.0, 16.0, 2.0)(x),
                 gcb_opens_at=6.6, alarms=[alarm])
    rep = _report(run)
    b = rep["block_load"]
    assert b["carried"] is False and b["nfpa110_level1"] is False
    assert b["reason"] == "underfrequency (trip_breaker) at 6.50 s took the set off load"
    # figures while the set carried the load: not the coast-down, nor the
    # recovery at no load after the opening
    assert b["dip_pct"] == pytest.approx(-16.0)
    assert b["recovery_s"] is None and b["stable_s"] is None
    assert b["window_s"] == pytest.approx(25.0)
    assert "NFPA 110 Level 1: no (underfrequency (trip_breaker) at 6.50 s" in \
        report.summary_text(rep)
    # the ISO scorer does not score that step either
    assert rep["iso8528"]["events"] == []


def test_block_load_whose_breaker_opens_without_an_alarm_names_the_opening():
    b = iso8528.block_load(_block(f=_dip(5.0, 16.0, 2.0), gcb_opens_at=20.0))
    assert b["carried"] is False and b["nfpa110_level1"] is False
    assert b["reason"] == "generator breaker opened at 20.00 s"


def test_an_alarm_that_does_not_take_the_set_off_load_leaves_the_block_load_carried():
    warn = {"t_s": 5.5, "code": 3, "name": "underfrequency_warn", "class": "warning",
            "value": 55000, "first_out": True}
    b = iso8528.block_load(_block(f=_dip(5.0, 16.0, 2.0), alarms=[warn]))
    assert b["carried"] is True and b["nfpa110_level1"] is True


def test_block_load_with_the_grid_paralleled_is_no_level_1_pass():
    b = iso8528.block_load(_block(mb_closes_at=0.0))
    assert b["carried"] is True and b["stable_s"] == 0.0
    assert b["nfpa110_level1"] is False and "paralleled with the grid" in b["reason"]


def test_block_load_window_ends_at_the_next_load_event_and_only_the_first_block_step_counts():
    run = _Run([(5.0, 100.0), (15.0, 0.0), (20.0, 100.0)], f=_dip(5.0, 16.0, 2.0))
    b = iso8528.block_load(run)
    assert b["t_s"] == 5.0 and b["window_s"] == pytest.approx(10.0)


@pytest.mark.parametrize("steps,initial", [
    ([(5.0, 40.0)], 0.0),                  # not to full load
    ([(5.0, 100.0)], 10.0),                # not from no load
    ([(5.0, 50.0), (10.0, 100.0)], 0.0),   # full load in two steps
])
def test_a_scenario_without_a_block_step_has_no_block_load_key(steps, initial):
    rep = _report(_Run(steps, initial_pct=initial))
    assert "block_load" not in rep
    assert not any(ln.startswith("block load") for ln in report.summary_text(rep).splitlines())


def test_a_ramp_to_full_load_is_not_a_block_load():
    run = _Run([(5.0, 100.0)])
    run.scenario["events"][0].update(kind="ramp", duration_s=10.0)
    assert iso8528.block_load(run) is None


# --- the built-in scenario -----------------------------------------------------

def test_block_load_ng_reports_an_nfpa_110_level_1_block_load():
    """The real simulator (block-load-ng, 30 s simulated in about 1 s; the
    run is cached for any other test that reads it)."""
    r, rep = run_scenario("block-load-ng")
    b = rep["block_load"]
    assert b["t_s"] == 5.0 and b["from_pct"] <= 5.0 and b["to_pct"] >= 95.0
    assert -30.0 <= b["dip_pct"] <= -5.0, b
    assert b["recovery_s"] is not None and b["recovery_s"] <= 10.0, b
    assert b["carried"] is True and b["nfpa110_level1"] is True, b
    ev = rep["iso8528"]["events"][0]
    assert ev["freq_crossings"] >= 2 and ev["ringing"] == (
        ev["freq_crossings"] > 2 or ev["volt_crossings"] > 2)
