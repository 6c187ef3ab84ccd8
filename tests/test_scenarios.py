"""Scenario files: bad input is refused with one clear message naming the
field and nothing runs; the CLI lists built-ins and writes its outputs."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from host_sim import scenario, sim

GOOD = """
duration_s = 5
fuel = "natural_gas"
[[events]]
t_s = 1
kind = "step"
p_pct = 20
"""


def _gxsim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "host_sim.cli"] + list(args),
                          capture_output=True, text=True, cwd=cwd or ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))


BAD = [
    ("duration_s = 0\n", "duration_s"),
    ('duration_s = "long"\n', "duration_s"),
    ('duration_s = 5\nfuel = "diesel"\n', "fuel"),
    ("duration_s = 5\nf_nom_hz = 55\n", "f_nom_hz"),
    ('duration_s = 5\ngovernor = "pi"\n', "governor"),
    ('duration_s = 5\ngovernor = "pid"\nstart = "stopped"\n', "governor"),
    ("duration_s = 5\nwhatever = 1\n", "whatever"),
    ("duration_s = 5\n[firmware]\nkp_pu_x100 = 99999\n", "firmware.kp_pu_x100"),
    ("duration_s = 5\n[firmware]\nnope = 1\n", "firmware.nope"),
    ("duration_s = 5\n[firmware]\nfuel = 1\n", "firmware.fuel"),
    ("duration_s = 5\n[plant]\nj_kgm2 = -1.0\n", "plant.j_kgm2"),
    ("duration_s = 5\n[plant]\nwarp = 1.0\n", "plant.warp"),
    ("duration_s = 5\n[load]\npf = 0.1\n", "load.pf"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "boom"\n', "events[0].kind"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "step"\np_pct = "x"\n', "events[0].p_pct"),
    ('duration_s = 5\n[[events]]\nt_s = 9\nkind = "step"\np_pct = 5\n', "events[0].t_s"),
    ('duration_s = 5\n[[events]]\nt_s = 2\nkind = "step"\np_pct = 5\n'
     '[[events]]\nt_s = 1\nkind = "step"\np_pct = 5\n', "events[1].t_s"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "ramp"\np_pct = 5\n', "events[0].duration_s"),
    ("duration_s = 5\nthis is not toml\n", "not valid TOML"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "fuel_quality"\nlhv_pct = 10\n', "events[0].lhv_pct"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "step"\np_pct = 5\nafter_state = "sync"\n',
     "events[0].after_state"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "command"\ncommand = "stop"\n'
     'after_state = "nowhere"\n', "events[0].after_state"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "command"\ncommand = "stop"\n'
     'after_state = "sync"\nextra = 1\n', "events[0].extra"),
]


@pytest.mark.parametrize("text,field", BAD)
def test_bad_scenario_is_refused_with_the_field_named(tmp_path, text, field):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.load(str(f))
    assert field in str(e.value)


def test_cli_refuses_bad_file_with_one_line_and_no_traceback(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('duration_s = 5\nfuel = "diesel"\n')
    out = tmp_path / "out"
    p = _gxsim("run", str(f), "--out", str(out))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().count("\n") == 0
    assert "fuel" in p.stderr and "diesel" in p.stderr
    assert not out.exists()        # nothing ran


def test_cli_refuses_unknown_scenario_name_and_bad_arguments(tmp_path):
    p = _gxsim("run", "no-such-scenario")
    assert p.returncode == 2 and "Traceback" not in p.stderr and "no-such-scenario" in p.stderr
    p = _gxsim("run", "iso-steps-ng", "--runtime", "jvm")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = _gxsim("run", "iso-steps-ng", "--seed", "x")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_cli_lists_the_builtin_scenarios():
    p = _gxsim("list")
    assert p.returncode == 0
    names = [ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()]
    for n in ("iso-steps-ng", "iso-steps-propane", "iso-steps-h2", "iso-steps-biogas",
              "iso-steps-ng-ggov1", "ai-pulse-ng"):
        assert n in names


def test_cli_run_writes_report_trace_and_plot(tmp_path):
    f = tmp_path / "short.toml"
    f.write_text(GOOD)
    out = tmp_path / "out"
    p = _gxsim("run", str(f), "--out", str(out), "--seed", "7")
    assert p.returncode == 0, p.stderr
    rep = json.loads((out / "report.json").read_text())
    for k in ("scenario", "runtime", "seed", "governor", "firmware_output_sha256", "iso8528"):
        assert k in rep
    assert rep["seed"] == 7 and rep["runtime"] == "cpython" and rep["scenario"] == "short"
    ev = rep["iso8528"]["events"][0]
    for k in ("t_s", "kind", "step_pct", "freq_dev_pct", "freq_recovery_s", "freq_band_pct",
              "volt_dev_pct", "volt_recovery_s", "class"):
        assert k in ev
    lines = (out / "trace.csv").read_text().splitlines()
    assert len(lines) == 1 + 500      # header + one row per 10 ms tick
    head = lines[0].split(",")
    for k in ("t_s", "speed_rpm", "freq_hz", "volt_v", "p_kw", "fuel_cmd_pct"):
        assert k in head
    assert (out / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_every_builtin_scenario_parses():
    for n in scenario.builtin_names():
        sc = scenario.load(n)
        assert sc["name"] == n


def test_the_readme_scenario_example_is_a_valid_scenario(tmp_path):
    """README.md's scenario format stays true: its example parses."""
    text = open(os.path.join(ROOT, "README.md")).read()
    block = text.split("### Scenario format (TOML)", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    f = tmp_path / "readme.toml"
    f.write_text(block)
    sc = scenario.load(str(f))
    assert sc["grid"]["present"] and sc["expect"]["final_state"] == "loaded"


def test_a_worst_moment_event_follows_its_state_whenever_the_sequence_reaches_it():
    """after_state: t_s counts from the first entry into the state, and such
    an event is exempt from the time order of the others."""
    sc = scenario.parse({"duration_s": 30, "start": "stopped", "events": [
        {"t_s": 1.0, "kind": "input", "input": "remote_start", "value": True},
        {"t_s": 0.25, "kind": "input", "input": "estop", "value": True, "after_state": "ramp"},
    ]}, "after-state")
    r = sim.run(sc, "cpython", trace=True)
    t_ramp = [s["t_s"] for s in r.states if s["state"] == "ramp"][0]
    (a,) = [a for a in r.alarms if a["name"] == "emergency_stop"]
    assert t_ramp + 0.25 <= a["t_s"] <= t_ramp + 0.25 + 2 * r.tick_s, (t_ramp, a)
