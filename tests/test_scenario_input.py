"""Bad scenario input is refused up front: one line naming the field, exit
status 2, nothing run and nothing written.  Names cannot leave the output
folder; every field's type is checked; random documents only ever parse or
raise ScenarioError."""

import copy
import datetime
import math
import os
import random
import subprocess
import sys
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT
from host_sim import cli, scenario, sim

sys.path.insert(0, os.path.join(ROOT, "firmware"))
import config as fw_config  # noqa: E402
import overcurrent as fw_oc  # noqa: E402
import protection as fw_prot  # noqa: E402
import sequencer as fw_seq  # noqa: E402

GOOD = 'duration_s = 5\n[[events]]\nt_s = 1\nkind = "step"\np_pct = 20\n'
GRID = '[grid]\npresent = true\n'


def _one_line_naming(msg, field):
    assert "\n" not in msg and "Traceback" not in msg, msg
    assert field in msg, (field, msg)


def _refused(tmp_path, text, field, name="bad.toml"):
    f = tmp_path / name
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_text(text, encoding="utf-8")
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.load(str(f))
    _one_line_naming(str(e.value), field)
    return str(e.value)


# --- C: names -----------------------------------------------------------------

BAD_NAMES = ["../../x", "..", ".", ".hidden", "a/b", "/etc", "a\\b", "x" * 65, "a\0b", "",
             "a b", "-rf", "a\nb", "caf\u00e9", "x\u202e", 5, True, ["a"], {"a": 1}]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_scenario_name_cannot_pick_a_path_outside_the_output_folder(name):
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.parse({"name": name, "duration_s": 5})
    _one_line_naming(str(e.value), "name:")
    assert str(e.value).startswith("name: ")


@pytest.mark.parametrize("name", ["a", "x" * 64, "my-test_1.2", "A.b", "_x", "iso-steps-ng"])
def test_names_of_the_safe_character_set_are_taken(name):
    assert scenario.parse({"name": name, "duration_s": 5})["name"] == name


def test_a_file_name_that_is_not_a_valid_name_needs_the_scenario_to_name_itself(tmp_path):
    msg = _refused(tmp_path, GOOD, "name", name="my test.toml")
    assert "file name" in msg
    (tmp_path / "ok.toml").write_text('name = "fine"\n' + GOOD)
    (tmp_path / "my test.toml").write_text('name = "fine"\n' + GOOD)
    assert scenario.load(str(tmp_path / "my test.toml"))["name"] == "fine"


def test_a_builtin_is_found_by_its_name_only_never_by_a_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert scenario.resolve("iso-steps-ng").endswith("iso-steps-ng.toml")
    for n in ("../scenarios/iso-steps-ng", "./iso-steps-ng", "iso-steps-ng/../iso-steps-ng"):
        with pytest.raises(scenario.ScenarioError):
            scenario.resolve(n)


# --- D: every field's type and value -----------------------------------------------

BAD = [
    # top level
    ("duration_s = 5\nf_nom_hz = 60.0\n", "f_nom_hz"),
    ("duration_s = 5\nf_nom_hz = true\n", "f_nom_hz"),
    ('duration_s = 5\nf_nom_hz = "60"\n', "f_nom_hz"),
    ("duration_s = true\n", "duration_s"),
    ("duration_s = nan\n", "duration_s"),
    ("duration_s = inf\n", "duration_s"),
    ("duration_s = 1979-05-27\n", "duration_s"),
    ("duration_s = [5]\n", "duration_s"),
    ("duration_s = 5\nseed = 1.5\n", "seed"),
    ("duration_s = 5\nseed = true\n", "seed"),
    ("duration_s = 5\nseed = -1\n", "seed"),
    ("duration_s = 5\nseed = 2147483648\n", "seed"),
    ("duration_s = 5\nfuel = 1\n", "fuel"),
    ('duration_s = 5\nfuel = ["natural_gas"]\n', "fuel"),
    ("duration_s = 5\ngovernor = true\n", "governor"),
    ("duration_s = 5\nstart = 1\n", "start"),
    ('duration_s = 5\nmode = ["auto"]\n', "mode"),
    ('duration_s = 5\nremote_start = "yes"\n', "remote_start"),
    ("duration_s = 5\nremote_start = 1\n", "remote_start"),
    ('duration_s = 5\nname = 5\n', "name"),
    ('duration_s = 5\nname = "%s"\n' % ("x" * 65), "name"),
    ('duration_s = 5\nname = "a\\u0000b"\n', "name"),
    ("duration_s = 5\ndescription = 5\n", "description"),
    ('duration_s = 5\ndescription = "a\\u0000b"\n', "description"),
    ('duration_s = 5\ndescription = "\\u001b[2J"\n', "description"),
    ('duration_s = 5\ndescription = "%s"\n' % ("d" * 1001), "description"),
    ('duration_s = 5\n"evil\\nkey" = 1\n', "unknown field"),
    # [expect]
    ('duration_s = 5\n[expect]\nalarm = "overspeed"\nwithin_s = "soon"\n', "expect.within_s"),
    ('duration_s = 5\n[expect]\nalarm = "overspeed"\nwithin_s = -1\n', "expect.within_s"),
    ('duration_s = 5\n[expect]\nalarm = "overspeed"\nwithin_s = 6\n', "expect.within_s"),
    ('duration_s = 5\n[expect]\nno_alarms = "yes"\n', "expect.no_alarms"),
    ("duration_s = 5\n[expect]\nfinal_state = 1\n", "expect.final_state"),
    ('duration_s = 5\n[expect]\nfinal_state = "done"\n', "expect.final_state"),
    ("duration_s = 5\n[expect]\nalarm = 1\n", "expect.alarm"),
    ('duration_s = 5\n[expect]\nalarm = ["overspeed"]\n', "expect.alarm"),
    ('duration_s = 5\n[expect]\nalarm = "overspeed"\nclass = 3\n', "expect.class"),
    ('duration_s = 5\n[expect]\nclass = "warning"\n', "expect.class"),
    ("duration_s = 5\n[expect]\nwithin_s = 1\n", "expect.within_s"),
    ('duration_s = 5\n[expect]\nalarm = "overspeed"\nno_alarms = true\n', "expect.no_alarms"),
    ("duration_s = 5\nexpect = 1\n", "expect"),
    # [grid] and grid events
    ("duration_s = 5\ngrid = 1\n", "grid"),
    ('duration_s = 5\n[grid]\npresent = "yes"\n', "grid.present"),
    ("duration_s = 5\n[grid]\nmains_closed = true\n", "grid.mains_closed"),
    ("duration_s = 5\n[grid]\npresent = false\nmains_closed = true\n", "grid.mains_closed"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "grid"\naction = "outage"\n', "events[0].kind"),
    ('duration_s = 5\n[grid]\npresent = false\n[[events]]\nt_s = 1\nkind = "grid"\n'
     'action = "outage"\n', "events[0].kind"),
    ('duration_s = 5\n' + GRID + '[[events]]\nt_s = 1\nkind = "grid"\naction = ["outage"]\n',
     "events[0].action"),
    ('duration_s = 5\n' + GRID + '[[events]]\nt_s = 1\nkind = "grid"\naction = "phase_jump"\n'
     'deg = "ten"\n', "events[0].deg"),
    # events
    ("duration_s = 5\nevents = 1\n", "events"),
    ("duration_s = 5\nevents = [1]\n", "events[0]"),
    ('duration_s = 5\n[events]\nt_s = 1\n', "events"),
    ("duration_s = 5\n[[events]]\nt_s = 1\nkind = 1\n", "events[0].kind"),
    ("duration_s = 5\n[[events]]\nt_s = 1\n", "events[0].kind"),
    ('duration_s = 5\n[[events]]\nt_s = "1"\nkind = "step"\np_pct = 5\n', "events[0].t_s"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "fault"\nfault = ["mpu_loss"]\n', "events[0].fault"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "fault"\nfault = {a = 1}\n', "events[0].fault"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "fault"\nfault = "mpu_loss"\nclear = "yes"\n',
     "events[0].clear"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "fault"\nfault = "battery_weak"\nvolts = true\n',
     "events[0].volts"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "input"\ninput = 1\nvalue = true\n',
     "events[0].input"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "input"\ninput = "estop"\nvalue = "true"\n',
     "events[0].value"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "command"\ncommand = 1\n', "events[0].command"),
    ('duration_s = 5\n[[events]]\nt_s = 1\nkind = "pulse"\nlow_pct = 1\nhigh_pct = 2\n'
     'period_s = true\n', "events[0].period_s"),
    # [firmware]
    ("duration_s = 5\nfirmware = 1\n", "firmware"),
    ("duration_s = 5\n[firmware]\nkp_pu_x100 = 400.0\n", "firmware.kp_pu_x100"),
    ('duration_s = 5\n[firmware]\nkp_pu_x100 = "400"\n', "firmware.kp_pu_x100"),
    ("duration_s = 5\n[firmware]\nkp_pu_x100 = true\n", "firmware.kp_pu_x100"),
    ("duration_s = 5\n[firmware]\nkp_pu_x100 = [400]\n", "firmware.kp_pu_x100"),
    ("duration_s = 5\n[firmware]\nf_nom_hz = 50\n", "firmware.f_nom_hz"),
    # [plant], [ggov1], [load]
    ("duration_s = 5\nplant = [1]\n", "plant"),
    ('duration_s = 5\nplant = "x"\n', "plant"),
    ("duration_s = 5\nggov1 = 1\n", "ggov1"),
    ("duration_s = 5\n[plant]\nj_kgm2 = 1e-300\n", "plant.j_kgm2"),
    ("duration_s = 5\n[plant]\ncylinders = 6.0\n", "plant.cylinders"),
    ("duration_s = 5\n[plant]\nj_kgm2 = [[[[[[[[[[1]]]]]]]]]]\n", "plant.j_kgm2"),
    ("duration_s = 5\n[plant.j_kgm2]\nx = 1\n", "plant.j_kgm2"),
    ("duration_s = 5\n[ggov1]\ntact = 0\n", "ggov1.tact"),
    ("duration_s = 5\nload = 1\n", "load"),
    ('duration_s = 5\n[load]\npf = "0.8"\n', "load.pf"),
    # [protection]
    ("duration_s = 5\nprotection = 1\n", "protection"),
    ("duration_s = 5\n[protection]\noverspeed = 1\n", "protection.overspeed"),
    ('duration_s = 5\n[protection.overspeed]\ndelay_ms = "x"\n', "protection.overspeed.delay_ms"),
    ("duration_s = 5\n[protection.overspeed]\ndelay_ms = 1.5\n", "protection.overspeed.delay_ms"),
    ("duration_s = 5\n[protection.overspeed]\nclass = 1.0\n", "protection.overspeed.class"),
    ('duration_s = 5\n[protection.overspeed]\nclass = "nope"\n', "protection.overspeed.class"),
    ('duration_s = 5\n[protection.overspeed]\nenable = "yes"\n', "protection.overspeed.enable"),
    ("duration_s = 5\n[protection.overcurrent_time]\ncurve = [1]\n",
     "protection.overcurrent_time.curve"),
    ("duration_s = 5\n[protection.overspeed]\nspeed = 1\n", "protection.overspeed.speed"),
    ('duration_s = 5\n[protection."no\\nsuch"]\ndelay_ms = 1\n', "protection."),
    # the file itself
    (b'duration_s = 5\nname = "\xff\xfe"\n', "not UTF-8"),
    (b"\xef\xbb\xbfduration_s = 5\n", "not valid TOML"),
    ("x = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", "nested too deeply"),
    ("duration_s = 5\n" + "#" * (1 << 20) + "\n", "larger than"),
]


@pytest.mark.parametrize("text,field", BAD, ids=[f for _, f in BAD])
def test_bad_field_is_refused_before_anything_runs_with_one_line_naming_it(tmp_path, text, field):
    _refused(tmp_path, text, field)


def test_messages_stay_short_however_long_or_deep_the_bad_value(tmp_path):
    msg = _refused(tmp_path, 'duration_s = 5\nfuel = "%s"\n' % ("z" * 100000), "fuel")
    assert len(msg) < 400
    msg = _refused(tmp_path, "duration_s = 5\nseed = " + "[" * 200 + "]" * 200 + "\n", "seed")
    assert len(msg) < 400


# --- fuzz: random TOML-shaped documents ------------------------------------------

_NAMES = sorted(set(scenario.FUELS + scenario.GOVERNORS + scenario.EVENT_KINDS
                    + tuple(scenario.GRID_ACTIONS) + tuple(scenario.FAULTS) + scenario.INPUTS
                    + scenario.COMMANDS + fw_seq.STATE_NAMES + fw_seq.MODE_NAMES
                    + fw_prot.CLASS_NAMES + fw_oc.CURVE_NAMES
                    + tuple(p[0] for p in fw_prot.PROTECTIONS)
                    + ("running", "stopped", "my-test", "../../x", ".x")))
_scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1),
    st.sampled_from([0, 1, -1, 5, 50, 60, 100, 120, 2 ** 31 - 1, 2 ** 31, 0.5, 0.8, 1e-300,
                     1e300, math.nan, math.inf, -math.inf, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(_NAMES),
    st.text(max_size=12),
    st.sampled_from([datetime.date(1979, 5, 27), datetime.time(7, 32),
                     datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.timezone.utc)]),
)
_key = st.one_of(st.text(max_size=8), st.sampled_from(
    sorted(set(scenario.TOP_KEYS + tuple(scenario.PLANT_PARAMS) + tuple(scenario.GGOV1_PARAMS)
               + tuple(scenario.LOAD_KEYS) + tuple(s[0] for s in fw_config.SETTINGS)
               + fw_prot.FIELD_NAMES
               + ("present", "mains_closed", "final_state", "alarm", "class", "within_s",
                  "no_alarms", "t_s", "kind", "p_pct", "duration_s", "lhv_pct", "low_pct",
                  "high_pct", "period_s", "duty", "until_s", "end_pct", "input", "value",
                  "command", "fault", "clear", "action", "df_hz", "dv_pct", "to_pct", "deg",
                  "rate", "factor", "to_mbar", "volts", "share")))))
_value = st.recursive(_scalar, lambda c: st.lists(c, max_size=4)
                      | st.dictionaries(_key, c, max_size=3), max_leaves=5)


def _table_of(keys, values=_value):
    return st.dictionaries(st.one_of(st.sampled_from(sorted(keys)), st.text(max_size=6)),
                           values, max_size=5)


_near_valid_number = st.one_of(st.integers(-5, 200), st.floats(-5, 200), _value)
_event = _table_of(("t_s", "kind", "p_pct", "duration_s", "lhv_pct", "low_pct", "high_pct",
                    "period_s", "duty", "until_s", "end_pct", "input", "value", "command",
                    "fault", "clear", "action", "df_hz", "dv_pct", "to_pct", "deg", "rate",
                    "factor", "to_mbar", "volts", "share"),
                   st.one_of(st.sampled_from(_NAMES), _near_valid_number, st.booleans()))
_doc = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(_NAMES), _value),
    "description": st.one_of(st.text(max_size=30), _value),
    "duration_s": st.one_of(st.sampled_from([5, 10.0, 60]), _value),
    "seed": _near_valid_number,
    "fuel": st.one_of(st.sampled_from(scenario.FUELS), _value),
    "f_nom_hz": st.one_of(st.sampled_from([50, 60, 60.0]), _value),
    "governor": st.one_of(st.sampled_from(scenario.GOVERNORS), _value),
    "start": st.one_of(st.sampled_from(["running", "stopped"]), _value),
    "mode": st.one_of(st.sampled_from(fw_seq.MODE_NAMES), _value),
    "remote_start": st.one_of(st.booleans(), _value),
    "firmware": st.one_of(_table_of([s[0] for s in fw_config.SETTINGS], _near_valid_number),
                          _value),
    "plant": st.one_of(_table_of(scenario.PLANT_PARAMS, _near_valid_number), _value),
    "ggov1": st.one_of(_table_of(scenario.GGOV1_PARAMS, _near_valid_number), _value),
    "load": st.one_of(_table_of(scenario.LOAD_KEYS, _near_valid_number), _value),
    "grid": st.one_of(_table_of(("present", "mains_closed"), st.booleans() | _value), _value),
    "expect": st.one_of(_table_of(("final_state", "alarm", "class", "within_s", "no_alarms"),
                                  st.sampled_from(_NAMES) | _near_valid_number), _value),
    "protection": st.one_of(
        _table_of([p[0] for p in fw_prot.PROTECTIONS],
                  st.one_of(_table_of(fw_prot.FIELD_NAMES,
                                      st.sampled_from(_NAMES) | _near_valid_number), _value)),
        _value),
    "events": st.one_of(st.lists(st.one_of(_event, _value), max_size=5), _value),
})
# now and then a key of the wrong place, or a made-up one, at the top
_doc = st.tuples(_doc, st.dictionaries(_key, _scalar, max_size=1)).map(
    lambda de: {**de[1], **de[0]} if len(de[0]) % 4 == 0 else de[0])


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_doc)
def test_random_documents_either_parse_or_are_refused_with_one_line(doc):
    try:
        sc = scenario.parse(doc)
    except scenario.ScenarioError as e:
        assert "\n" not in str(e) and len(str(e)) < 2000, str(e)
    else:
        scenario.check_name(sc["name"])
        assert isinstance(sc["duration_s"], float)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.binary(max_size=200),
                 st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_random_file_contents_either_load_or_are_refused_with_one_line(data):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "f.toml")
        with open(p, "wb") as f:
            f.write(data)
        try:
            scenario.load(p)
        except scenario.ScenarioError as e:
            assert "\n" not in str(e)


_JUNK = [None, True, False, 0, -1, 60.0, 2 ** 63 - 1, 1e-300, math.nan, math.inf, "", "x",
         "../../x", "a\0b", "\n", [], [1], {}, {"a": 1}, [[[[1]]]], datetime.date(2020, 1, 1)]


def _paths(node, path=()):
    yield path
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield from _paths(v, path + (k,))


def _mutate(doc, rng):
    """One random change to a scenario document: replace, drop or add a
    field, or change a value's type while keeping its look (5 -> 5.0, "a"
    -> ["a"], 1 -> true)."""
    path = rng.choice(list(_paths(doc)))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    node = parent[path[-1]] if path else doc
    what = rng.random()
    if isinstance(node, dict) and what < 0.3:
        keys = sorted(scenario.TOP_KEYS + tuple(scenario.PLANT_PARAMS) + fw_prot.FIELD_NAMES
                      + ("t_s", "kind", "present", "mains_closed", "alarm", "within_s"))
        node[rng.choice(keys + ["zz"])] = copy.deepcopy(rng.choice(_JUNK + [5, 0.5, "natural_gas"]))
    elif isinstance(node, dict) and node and what < 0.45:
        del node[rng.choice(sorted(node))]
    elif path:
        v = parent[path[-1]]
        if isinstance(v, bool):
            new = rng.choice([int(v), str(v).lower(), not v])
        elif isinstance(v, int):
            new = rng.choice([float(v), -v, v * 1000, str(v), v + 1, True])
        elif isinstance(v, float):
            new = rng.choice([int(v) if math.isfinite(v) else v, -v, v * 1e6, str(v),
                              math.nextafter(v, math.inf)])
        elif isinstance(v, str):
            new = rng.choice([[v], v.upper(), v + "x", "../" + v, len(v)])
        else:
            new = rng.choice(_JUNK)
        parent[path[-1]] = copy.deepcopy(rng.choice([new, new, rng.choice(_JUNK)]))


def test_mutated_builtin_scenarios_either_parse_or_are_refused_with_one_line():
    """Near-valid documents reach every check: each built-in scenario and the
    README's example, changed in one to three random places, 4000 times."""
    docs = []
    for n in scenario.builtin_names():
        with open(scenario.resolve(n), "rb") as f:
            docs.append(tomllib.load(f))
    text = open(os.path.join(ROOT, "README.md")).read()
    docs.append(tomllib.loads(text.split("### Scenario format (TOML)", 1)[1]
                              .split("```toml", 1)[1].split("```", 1)[0]))
    rng = random.Random(15)
    refused = 0
    for i in range(4000):
        d = copy.deepcopy(rng.choice(docs))
        for _ in range(rng.randint(1, 3)):
            _mutate(d, rng)
        try:
            scenario.parse(d)
        except scenario.ScenarioError as e:
            refused += 1
            assert "\n" not in str(e), (i, d, str(e))
        except Exception as e:     # pragma: no cover - the failure report
            raise AssertionError("document %d raised %r: %r" % (i, e, d))
    assert 1000 < refused < 4000        # both outcomes were exercised


# --- the CLI: exit 2, one line, nothing run, nothing written ------------------

@pytest.fixture
def no_run(monkeypatch, tmp_path):
    """Run the CLI in-process in an empty directory, with the simulator
    replaced by a tripwire: a refused run must not even start."""
    monkeypatch.chdir(tmp_path)

    def tripwire(*a, **k):
        raise AssertionError("the run started")
    monkeypatch.setattr(sim, "run", tripwire)
    return tmp_path


CLI_BAD_FILES = [
    (b'duration_s = 5\ndescription = "\xff"\n', "not UTF-8"),
    ('name = "../../x"\n' + GOOD, "name"),
    ("f_nom_hz = 60.0\n" + GOOD, "f_nom_hz"),
    (GOOD + '[[events]]\nt_s = 2\nkind = "grid"\naction = "outage"\n', "events[1].kind"),
    ("x = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    (GOOD + '[expect]\nalarm = "overspeed"\nwithin_s = "soon"\n', "expect.within_s"),
    (GOOD + "[plant]\nj_kgm2 = 1e-300\n", "plant.j_kgm2"),
]


@pytest.mark.parametrize("text,field", CLI_BAD_FILES, ids=[f for _, f in CLI_BAD_FILES])
def test_gxsim_run_on_a_bad_file_exits_2_with_one_line_and_writes_nothing(no_run, capsys,
                                                                         text, field):
    src = no_run / "in.toml"
    src.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = cli.main(["run", str(src)])
    err = capsys.readouterr().err
    assert code == 2
    _one_line_naming(err.strip(), field)
    assert err.startswith("gxsim: bad scenario: ")
    assert sorted(os.listdir(no_run)) == ["in.toml"]


def _bad_out(no_run, capsys, out, *extra):
    src = no_run / "in.toml"
    src.write_text(GOOD)
    before = sorted(os.listdir(no_run))
    code = cli.main(["run", str(src), "--out", out] + list(extra))
    err = capsys.readouterr().err
    assert code == 2
    _one_line_naming(err.strip(), "--out")
    assert sorted(os.listdir(no_run)) == before
    return err


def test_an_out_directory_under_a_regular_file_is_refused_before_the_run(no_run, capsys):
    (no_run / "afile").write_text("x")
    assert "not a directory" in _bad_out(no_run, capsys, str(no_run / "afile" / "sub" / "dir"))
    assert "not a directory" in _bad_out(no_run, capsys, str(no_run / "afile"))


def test_an_out_directory_whose_report_name_is_taken_by_a_directory_is_refused(no_run, capsys):
    (no_run / "o" / "report.json").mkdir(parents=True)
    assert "report.json" in _bad_out(no_run, capsys, str(no_run / "o"))


def test_an_empty_out_is_refused(no_run, capsys):
    _bad_out(no_run, capsys, "")


def test_an_out_directory_without_write_permission_is_refused(no_run, capsys, monkeypatch):
    """Root may write anywhere, so the permission answer is simulated: the
    check asks os.access, as a non-root user's run would get it."""
    (no_run / "ro").mkdir()
    monkeypatch.setattr(cli.os, "access", lambda p, mode: False)
    assert "permission" in _bad_out(no_run, capsys, str(no_run / "ro" / "new"))
    assert "permission" in _bad_out(no_run, capsys, str(no_run / "ro"))


@pytest.mark.parametrize("seed", ["-1", "2147483648", "99999999999999999999"])
def test_a_seed_out_of_range_on_the_command_line_is_refused(no_run, capsys, seed):
    (no_run / "in.toml").write_text(GOOD)
    code = cli.main(["run", str(no_run / "in.toml"), "--seed", seed])
    err = capsys.readouterr().err
    assert code == 2
    _one_line_naming(err.strip(), "--seed")
    assert sorted(os.listdir(no_run)) == ["in.toml"]


def test_the_gxsim_process_exits_2_on_an_out_path_whose_parent_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "in.toml").write_text(GOOD)
    p = subprocess.run([sys.executable, "-m", "host_sim.cli", "run", str(tmp_path / "in.toml"),
                        "--out", str(tmp_path / "afile" / "out")],
                       capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.returncode == 2
    _one_line_naming(p.stderr.strip(), "--out")
    assert sorted(os.listdir(tmp_path)) == ["afile", "in.toml"]
