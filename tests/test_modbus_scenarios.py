"""Scripted Modbus requests in scenarios: a SCADA writes a set point at a
given time and the plant follows; refused requests answer the right
exception; both runtimes answer every request with the same bytes."""

import pytest

from host_sim import firmware_path, scenario, sim

firmware_path()
import config as fw_config  # noqa: E402

KP_DEFAULT = [row[1] for row in fw_config.SETTINGS if row[0] == "kp_pu_x100"][0]


def _mb(text):
    return 'duration_s = 5\n[[events]]\nt_s = 1\nkind = "modbus"\n' + text


BAD = [
    (_mb(''), "events[0].kind"),                                   # nothing to do
    (_mb('read = "p_kw"\nwrite = "base_kw"\nvalue = 1\n'), "events[0].kind"),
    (_mb('read = "warp_factor"\n'), "events[0].read"),
    (_mb('write = "speed_rpm"\nvalue = 1\n'), "events[0].write"),  # read-only
    (_mb('write = "base_kw"\n'), "events[0].value"),
    (_mb('read = "p_kw"\nvalue = 3\n'), "events[0].value"),
    (_mb('command = "fly"\n'), "events[0].command"),
    (_mb('frame = "zz"\n'), "events[0].frame"),
    (_mb('raw = ""\n'), "events[0].raw"),
    (_mb('read = "p_kw"\naddress = 300\n'), "events[0].address"),
    (_mb('read = "p_kw"\nbogus = 1\n'), "events[0].bogus"),
]


@pytest.mark.parametrize("text,field", BAD)
def test_a_bad_modbus_event_is_refused_naming_the_field(tmp_path, text, field):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.load(str(f))
    assert field in str(e.value)


@pytest.fixture(scope="module")
def runs():
    sc = scenario.load("modbus-setpoint")
    return {rt: sim.run(sc, rt) for rt in ("cpython", "micropython")}


def test_a_set_point_written_over_modbus_is_followed_by_the_plant(runs):
    r = runs["cpython"]
    log = r.modbus
    first, last = log[0], log[-1]
    assert first["read"] == "p_kw" and abs(first["value"] - 100.0) < 5.0
    w = [m for m in log if m.get("write") == "base_kw"][0]
    assert "exception" not in w
    assert abs(last["value"] - 150.0) < 10.0
    tr = r.trace
    k0 = tr["t_s"].index(15.0)
    avg = sum(tr["p_kw"][k0:]) / len(tr["p_kw"][k0:])
    assert abs(avg - 150.0) < 3.0, avg          # the base load, AAI perturbation averaged
    assert r.final_state == "loaded" and not r.alarms


def test_refused_requests_answer_the_specified_exception(runs):
    log = runs["cpython"].modbus
    cfg_write = [m for m in log if m.get("write") == "kp_pu"]
    assert "exception" not in cfg_write[0]          # the access code: accepted
    assert cfg_write[1]["exception"] == 4           # running: configuration refused
    start = [m for m in log if m["request"].startswith("01 10 03 e8")][0]
    assert start["exception"] == 3                  # a command without its complement
    assert runs["cpython"].cfg.kp_pu_x100 == KP_DEFAULT     # the refused write changed nothing


def test_both_runtimes_answer_modbus_bit_for_bit(runs):
    a, b = runs["cpython"], runs["micropython"]
    assert [m["reply"] for m in a.modbus] == [m["reply"] for m in b.modbus]
    assert a.sha256 == b.sha256
