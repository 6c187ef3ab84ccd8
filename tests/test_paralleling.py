"""Grid paralleling: synchronising, closing inside the IEEE 1547 window,
soft loading, peak shaving under an import cap, loss of mains to island,
auto mains failure with closed-transition retransfer - against the grid
model, in both runtimes."""

import pytest

from conftest import run_scenario

PARALLEL = ["sync-and-peak-shave", "sync-drifting-grid", "grid-phase-jump",
            "grid-loss-island", "grid-loss-island-import", "amf-standby"]
RATED_KW = 200.0


@pytest.mark.parametrize("name", PARALLEL)
def test_paralleling_scenario_ends_as_expected_without_nuisance_alarms(name):
    r, rep = run_scenario(name)
    assert rep["expect"]["met"], (name, rep["final_state"], rep["alarms"])
    allowed = {"rocof", "vector_shift"} if name.startswith("grid-loss") else set()
    assert all(a["name"] in allowed for a in rep["alarms"]), rep["alarms"]


def test_every_close_is_inside_the_ieee_1547_window_with_under_5_deg_error():
    n = 0
    for name in PARALLEL:
        r, rep = run_scenario(name)
        for s in rep["syncs"]:
            n += 1
            assert abs(s["slip_hz"]) <= 0.3, (name, s)
            assert abs(s["dv_pct"]) <= 10.0, (name, s)
            assert abs(s["phase_error_deg"]) <= 5.0, (name, s)
            assert s["slip_hz"] >= 0.0, (name, s)      # positive slip: picks up load
    assert n >= 3


def test_no_reverse_power_at_close():
    """After a close the set exports on average and never motors for long:
    the 32 element never acts, and the one damped half-swing of the
    synchronising power (~8 Hz) stays above -10 % of rating and lasts at
    most 100 ms (README: why a dip is physics, not a fault)."""
    for name in ("sync-and-peak-shave", "sync-drifting-grid", "amf-standby"):
        r, rep = run_scenario(name)
        assert rep["syncs"], name
        for s in rep["syncs"]:
            assert s["reverse_power_kw_min"] > -0.10 * RATED_KW, (name, s)
            assert s["reverse_power_ms"] <= 100, (name, s)     # one half-swing
            i0 = int(round(s["t_s"] / r.tick_s))
            window = r.trace["p_kw"][i0:i0 + 200]
            assert sum(window) / len(window) > 0.0, (name, s)
        assert not any(a["name"] == "reverse_power" for a in rep["alarms"])


def test_soft_load_ramp_holds_its_rate():
    r, rep = run_scenario("sync-and-peak-shave")
    cfg = r.cfg
    rate_kw_s = cfg.ramp_pct_s / 100.0 * cfg.p_fuel_rated_kw_x10 / 10.0
    i0 = int(round(rep["syncs"][0]["t_s"] / r.tick_s))
    p = r.trace["p_kw"]
    # 1 s averages, so the synchronising swing does not count as ramping
    avg = [sum(p[i:i + 100]) / 100.0 for i in range(i0 + 50, i0 + 600, 100)]
    for a, b in zip(avg, avg[1:]):
        assert b - a <= rate_kw_s * 1.25, (a, b, rate_kw_s)


def test_import_limit_is_held_within_its_tolerance():
    """README: between load steps the import sits on the cap (rms well under
    10 % of rating); a site step overshoots it for the ~0.3 s the set takes
    to pick the step up, by at most the step itself (60 kW here), plus the
    active anti-islanding's +-2 % of rating (4 kW) riding on the output."""
    r, rep = run_scenario("sync-and-peak-shave")
    pc = rep["power_control"]
    assert pc["samples"] > 1000
    assert pc["import_limit_err_kw_rms"] < 0.10 * RATED_KW
    aai_kw = r.cfg.aai_pct_x10 / 1000.0 * RATED_KW
    assert pc["import_limit_err_kw_max"] < 60.0 * 1.15 + aai_kw


@pytest.mark.parametrize("name", ["grid-loss-island", "grid-loss-island-import"])
def test_grid_loss_opens_the_mains_breaker_within_200_ms_and_the_site_stays_supplied(name):
    r, rep = run_scenario(name)
    (e,) = rep["loss_of_mains"]
    assert e["open_ms"] is not None and e["open_ms"] <= 200.0, e
    assert e["load_interrupted"] is False
    # Island afterwards: frequency inside the ISO 8528-5 G3 transient limits
    i0 = int(round(e["t_s"] / r.tick_s))
    f = r.trace["freq_hz"][i0:]
    assert min(f) >= 60.0 * 0.93 and max(f) <= 60.0 * 1.10, (min(f), max(f))
    assert abs(f[-1] - 60.0) < 0.3
    assert rep["final_state"] == "loaded"


def test_amf_carries_the_site_through_an_outage_and_retransfers_closed():
    r, rep = run_scenario("amf-standby")
    names = [s["state"] for s in rep["states"]]
    for st in ("crank", "closing", "loaded", "unload", "cooldown", "stopped"):
        assert st in names, names
    (mb_close,) = [s for s in rep["syncs"] if s["breaker"] == "mb"]
    assert abs(mb_close["phase_error_deg"]) <= 5.0
    # After the retransfer the site never lost supply again (closed transition)
    i_close = int(round(mb_close["t_s"] / r.tick_s))
    assert min(r.trace["volt_v"][i_close:i_close + 300]) > 0.9 * 480


def test_reactive_power_control_settles_without_hunting():
    """Paralleled at unity power factor: the AVR bias settles and holds (a
    kvar loop faster than the AVR would hunt, growing), and the kvar sits
    near zero."""
    r, rep = run_scenario("sync-and-peak-shave")
    i0, i1 = int(38 / r.tick_s), int(44 / r.tick_s)      # loaded, steady site load
    bias = r.trace["avr_bias_pct"][i0:i1]
    q = r.trace["q_kvar"][i0:i1]
    assert max(bias) - min(bias) < 2.0, (min(bias), max(bias))
    assert max(abs(x) for x in q) < 0.05 * RATED_KW
