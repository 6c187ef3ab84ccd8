"""gxtool and tools/mbmap.py.

Unit tests of the map logic (encode/decode, sentinels, scale exactness, read
grouping) against the firmware's real registers.points(), and end-to-end
tests of the gxtool command line against one live simulator session:
gxsim run grid-phase-jump --realtime --modbus-pty PATH (paralleled with the
grid at a 100 kW base load, CPython runtime), shared by the tests of this
file and killed when they are done.  A pty carries no parity: --parity N.
"""

import csv
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import LiveSim
from host_sim import ROOT, firmware_path, venv_tool
from tools import mbmap

firmware_path()
import alarms  # noqa: E402  (firmware)
import protection  # noqa: E402
import sequencer  # noqa: E402

SCENARIO = "grid-phase-jump"     # loaded, paralleled, pc_mode 0 (base load 100 kW)
DURATION_S = 45
READY_TIMEOUT_S = 30


# --- the map ----------------------------------------------------------------------

def P(name):
    return mbmap.lookup(name)


def test_point_names_are_unique():
    # gxtool, dumps and scripts address points by name: two points with one
    # name leave the second unreachable.
    mbmap.points()
    assert not mbmap.DUPLICATES, (
        "register map names used twice: %s" % ", ".join(
            "%s (%s %d)" % (p["name"], p["table"], p["address"]) for p in mbmap.DUPLICATES))


def test_points_are_well_formed():
    for p in mbmap.points():
        assert p["table"] in mbmap.TABLES, p
        assert p["type"] in ("bit", "u16", "s16", "u32", "s32"), p
        assert p["words"] == (2 if p["type"] in ("u32", "s32") else 1), p
        assert isinstance(p["scale"], int) and p["scale"] >= 1, p
        if mbmap.writable(p) and p["table"] == "holding_register":
            lo, hi = mbmap.raw_range(p)
            assert lo <= hi, p


def test_lookup_unknown_name_suggests_close_matches():
    with pytest.raises(mbmap.UnknownName) as e:
        mbmap.lookup("p_kv")
    msg = str(e.value)
    assert "\n" not in msg and "p_kv" in msg and "p_kw" in msg, msg
    with pytest.raises(mbmap.UnknownName) as e:
        mbmap.lookup("oil")
    assert "oil_kpa" in str(e.value)
    with pytest.raises(mbmap.UnknownName):
        mbmap.lookup("zzzzzzzz")


def test_encode_scales_exactly():
    p = P("base_kw")                       # s32, 0.1 kW, 0..2000 kW
    assert (p["type"], p["scale"], p["unit"]) == ("s32", 10, "kW")
    assert mbmap.encode(p, "150") == [0, 1500]
    assert mbmap.encode(p, "150.5") == [0, 1505]
    assert mbmap.encode(p, 150.1) == [0, 1501]      # a float, by its shortest repr
    assert mbmap.encode(p, 7) == [0, 70]
    assert mbmap.encode(p, "2000") == [0, 20000]
    big = mbmap.encode(P("mains_ok_ms"), "1800000")  # s32 beyond 16 bits, high word first
    assert big == [1800000 >> 16, 1800000 & 0xFFFF]


def test_encode_negative_is_twos_complement_high_word_first():
    p = P("sync_df_min_hz")                # s32, 1 mHz, -0.3..0.3 Hz
    assert p["scale"] == 1000
    w = mbmap.encode(p, "-0.3")
    assert w == [0xFFFF, (-300) & 0xFFFF]
    assert mbmap.decode(p, w) == (-0.3, None)


@pytest.mark.parametrize("value, why", [
    ("150.55", "resolution 0.1 kW"),       # not a multiple of 0.1
    ("1e-3", "resolution"),
    ("-1", "outside 0.0 .. 2000.0 kW"),
    ("2000.1", "outside"),
    ("abc", "not a number"),
    ("nan", "not a number"),
    ("inf", "not a number"),
    ("", "not a number"),
])
def test_encode_refuses_with_one_line_reason(value, why):
    with pytest.raises(mbmap.ValueRefused) as e:
        mbmap.encode(P("base_kw"), value)
    msg = str(e.value)
    assert why in msg and msg.startswith("base_kw: ") and "\n" not in msg, msg


def test_encode_bits():
    p = P("config_lock")
    assert mbmap.encode(p, "1") == [1] and mbmap.encode(p, "on") == [1]
    assert mbmap.encode(p, "0") == [0]
    with pytest.raises(mbmap.ValueRefused):
        mbmap.encode(p, "2")


def test_every_writable_register_round_trips_its_limits():
    for p in mbmap.points():
        if not mbmap.writable(p) or p["table"] != "holding_register" or p["name"] == "command":
            continue
        lo, hi = mbmap.raw_range(p)
        for raw in (lo, hi, (lo + hi) // 2):
            text = mbmap.fmt(p, raw / p["scale"] if p["scale"] > 1 else raw, unit=False)
            words = mbmap.encode(p, text)
            assert len(words) == p["words"], p
            got, why = mbmap.decode_raw(p, words)
            assert (got, why) == (raw, None), (p["name"], raw, text, words)


def test_decode_values():
    assert mbmap.decode(P("p_kw"), [0, 1234]) == (123.4, None)
    assert mbmap.decode(P("p_kw"), [0xFFFF, 0xFFFF]) == (-0.1, None)    # s32 -1
    assert mbmap.decode(P("speed_rpm"), [18000]) == (1800.0, None)
    assert mbmap.decode(P("speed_rpm"), [0xFFFD]) == (6553.3, None)     # one below the sentinels
    assert mbmap.decode(P("state"), [10]) == (10, None)                  # scale 1: an int
    assert mbmap.decode(P("coolant_degc"), [(-55) & 0xFFFF]) == (-5.5, None)
    assert mbmap.fmt(P("gen_f_hz"), *mbmap.decode(P("gen_f_hz"), [6000])) == "60.00 Hz"
    assert mbmap.fmt(P("batt_v"), 27.5) == "27.500 V"
    assert mbmap.fmt(P("p_kw"), -0.1) == "-0.1 kW"


@pytest.mark.parametrize("name, words, why", [
    ("speed_rpm", [0xFFFF], mbmap.NOT_AVAILABLE),          # u16
    ("speed_rpm", [0xFFFE], mbmap.SENSOR_FAULT),
    ("phase_deg", [0x7FFF], mbmap.NOT_AVAILABLE),          # s16
    ("phase_deg", [0x7FFE], mbmap.SENSOR_FAULT),
    ("run_s", [0xFFFF, 0xFFFF], mbmap.NOT_AVAILABLE),      # u32
    ("run_s", [0xFFFF, 0xFFFE], mbmap.SENSOR_FAULT),
    ("p_kw", [0x7FFF, 0xFFFF], mbmap.NOT_AVAILABLE),       # s32
    ("p_kw", [0x7FFF, 0xFFFE], mbmap.SENSOR_FAULT),
])
def test_decode_sentinels(name, words, why):
    p = P(name)
    assert mbmap.decode(p, words) == (None, why)
    assert mbmap.fmt(p, None, why) == "(%s)" % why
    assert mbmap.show(p, None, why) == "%s = (%s)" % (name, why)


def test_decode_near_sentinels_are_values():
    assert mbmap.decode(P("p_kw"), [0x7FFF, 0xFFFD])[0] == 0x7FFFFFFD / 10
    assert mbmap.decode(P("p_kw"), [0xFFFF, 0xFFFE]) == (-0.2, None)     # -2, not a sentinel
    assert mbmap.decode(P("run_s"), [0xFFFE, 0xFFFF]) == (0xFFFEFFFF, None)


def test_plan_reads_groups_contiguous_points():
    r = mbmap.plan_reads(["p_kw", "q_kvar"])
    assert [(x.table, x.address, x.count, x.fc) for x in r] == [("input_register", 6, 4, 4)]
    r = mbmap.plan_reads(["q_kvar", "p_kw", "p_kw"])           # order and repeats do not matter
    assert [(x.address, x.count) for x in r] == [(6, 4)]
    r = mbmap.plan_reads(["p_kw", "base_kw", "gcb_closed"])    # three tables, three reads
    assert sorted((x.table, x.fc) for x in r) == [
        ("discrete_input", 2), ("holding_register", 3), ("input_register", 4)]
    r = mbmap.plan_reads(["speed_rpm", "p_kw"])                # a gap (1..5 not asked): two
    assert [(x.address, x.count) for x in r] == [(0, 1), (6, 2)]
    rd = mbmap.plan_reads(["run_s", "starts"])[0]
    assert (rd.address, rd.count) == (70, 4)
    assert mbmap.split_read(rd, [0, 5, 0, 2]) == {"run_s": [0, 5], "starts": [0, 2]}


def test_plan_reads_of_the_whole_map():
    pts = [p for p in mbmap.points() if mbmap.readable(p)]
    reads = mbmap.plan_reads(pts)
    seen = []
    for r in reads:
        assert r.fc == mbmap.READ_FC[r.table]
        assert r.count <= (mbmap.MAX_BITS if r.table in ("coil", "discrete_input")
                           else mbmap.MAX_REGS), r[:3]
        at = r.address
        for p in r.points:                     # contiguous: no gap read
            assert p["table"] == r.table and p["address"] == at, (r[:3], p["name"])
            at += mbmap.n_items(p)
            seen.append((p["table"], p["address"], p["name"]))
        assert at == r.address + r.count
    assert sorted(seen) == sorted((p["table"], p["address"], p["name"]) for p in pts)
    # The settings block (2 registers each) is longer than one read allows.
    sets = [r for r in reads if r.table == "holding_register" and 2000 <= r.address < 3000]
    assert len(sets) >= 2 and sets[0].count <= 125 and sets[0].count % 2 == 0
    with pytest.raises(mbmap.MapError):
        mbmap.plan_reads(["access_code"])      # write-only


def test_plan_reads_limits():
    pts = [p for p in mbmap.points() if p["table"] == "discrete_input"]
    assert all(r.count <= 5 for r in mbmap.plan_reads(pts, max_bits=5))
    hr = [p for p in mbmap.points() if p["table"] == "holding_register" and mbmap.readable(p)]
    assert all(r.count <= 10 for r in mbmap.plan_reads(hr, max_regs=10))


def test_names_of_codes_come_from_the_firmware():
    loaded = sequencer.STATE_NAMES.index("loaded")
    assert mbmap.describe(P("state"), loaded) == "loaded"
    assert mbmap.describe(P("mode"), sequencer.MODE_NAMES.index("auto")) == "auto"
    assert mbmap.describe(P("first_out"), -1) == "none"
    p0 = protection.PROTECTIONS[0]
    assert mbmap.describe(P("first_out"), 0) == p0[protection.P_NAME]
    assert mbmap.alarm_names([1, 0, 0]) == [p0[protection.P_NAME]]
    p17 = protection.PROTECTIONS[17][protection.P_NAME]
    assert mbmap.alarm_names([0, 2, 0]) == [p17]
    assert mbmap.describe(P("alarms_latched_1"), 2) == p17
    assert mbmap.event_name(p0[protection.P_CODE]) == p0[protection.P_NAME]
    assert mbmap.event_name(alarms.EV_RESET) == "reset"
    assert mbmap.event_value_text(alarms.EV_STATE, loaded) == "loaded"
    a = P("base_kw")["address"]
    import registers
    assert mbmap.event_value_text(registers.EV_MB_WRITE, a) == "%d (base_kw)" % a


# --- the command line without a device ----------------------------------------------

def test_monitor_and_event_points_exist():
    from tools import gxtool
    assert gxtool.monitor_points()          # UnknownName if the map drops one
    assert gxtool._event_points()
    mbmap.lookup("event_index")
    mbmap.lookup("command")
    mbmap.lookup("access_code")
    for c in ("start", "stop", "reset", "ack", "mode_auto", "mode_manual", "mode_off"):
        assert c in sequencer.COMMAND_NAMES


def test_readme_commands_exist():
    """README.md's gxtool section stays true: every command it shows exists."""
    from tools import gxtool
    text = open(os.path.join(ROOT, "README.md")).read()
    block = text.split("### gxtool", 1)[1].split("```", 2)[1]
    shown = set()
    for line in block.splitlines():
        words = line.split("#")[0].split()
        if words[:1] == ["gxtool"]:
            cmds = [w for w in words[1:] if w in gxtool.COMMANDS]
            assert cmds or "COMMAND" in words, line
            shown.update(cmds)
    assert shown == set(gxtool.COMMANDS), set(gxtool.COMMANDS) - shown


def gxtool_cmd():
    exe = venv_tool("gxtool")
    return [exe] if exe else [sys.executable, "-m", "tools.gxtool"]


def gx(*args, port=None, timeout=30, env=None):
    cmd = gxtool_cmd() + (["--port", port, "--parity", "N"] if port else []) + list(args)
    e = dict(os.environ)
    e.pop("GXTOOL_PORT", None)
    e.pop("GXTOOL_CODE", None)
    e.update(env or {})
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=e)


def one_line(text):
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def test_unknown_name_exit_2_nothing_sent(tmp_path):
    # The port does not exist: a usage error is found before it is opened.
    r = gx("read", "p_kv", port=str(tmp_path / "nothing"))
    assert r.returncode == 2, r
    assert one_line(r.stderr) == "gxtool: unknown point 'p_kv'; did you mean p_kw, q_kvar?"
    r = gx("write", "base_kw", "150.55", port=str(tmp_path / "nothing"))
    assert r.returncode == 2
    assert "not a multiple" in one_line(r.stderr)
    r = gx("write", "p_kw", "1", port=str(tmp_path / "nothing"))
    assert r.returncode == 2 and "read-only" in one_line(r.stderr)


def test_usage_errors_exit_2(tmp_path):
    r = gx("read", "p_kw")
    assert r.returncode == 2 and "--port is required" in r.stderr
    r = gx("frobnicate", port=str(tmp_path / "x"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = gx("mode", "sideways", port=str(tmp_path / "x"))
    assert r.returncode == 2


def test_missing_port_exit_3(tmp_path):
    r = gx("read", "p_kw", port=str(tmp_path / "nothing"))
    assert r.returncode == 3, r
    assert one_line(r.stderr) == "gxtool: cannot open %s: No such file or directory" % (
        tmp_path / "nothing")


def test_silent_port_exit_3():
    # A pty nobody answers on: the request goes out, nothing comes back.
    m, s = os.openpty()
    try:
        name = os.ttyname(s)
        r = gx("--timeout", "0.3", "read", "p_kw", port=name)
        assert r.returncode == 3, r
        assert one_line(r.stderr) == "gxtool: no answer from address 1 on %s within 0.3 s" % name
        os.set_blocking(m, False)
        sent = os.read(m, 256)
        assert sent[:2] == bytes([1, 4]), sent     # FC04 to address 1 did go out
    finally:
        os.close(m)
        os.close(s)


# --- end to end, against a live simulator --------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = LiveSim(tmp_path_factory.mktemp("gxtool"), SCENARIO, duration_s=DURATION_S)
    try:
        if not s.serving(READY_TIMEOUT_S):
            pytest.fail("gxsim did not serve %s within %d s; exit %s: %s" % (
                s.path, READY_TIMEOUT_S, s.proc.poll(), "".join(s.stderr)))
        yield s
    finally:
        s.kill()         # never leave a live simulator behind


def values(stdout):
    """{name: text} of 'name = value unit' lines."""
    out = {}
    for line in stdout.splitlines():
        k, _, v = line.partition(" = ")
        out[k] = v
    return out


def number(text):
    return float(text.split()[0])


def test_read(sim):
    r = gx("read", "p_kw", "state", "gcb_closed", port=sim.path)
    assert r.returncode == 0, r.stderr
    v = values(r.stdout)
    assert v["state"] == "%d (loaded)" % sequencer.STATE_NAMES.index("loaded"), r.stdout
    assert v["p_kw"].endswith(" kW") and 80 <= number(v["p_kw"]) <= 120, r.stdout
    assert v["gcb_closed"] == "1"


def test_write_set_point_and_the_plant_follows(sim):
    r = gx("write", "base_kw", "140", port=sim.path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "base_kw = 140.0 kW"
    # The soft-load ramp (5 %/s of 200 kW) takes the set from 100 to 140 kW in ~4 s.
    deadline = time.monotonic() + 10
    seen = []
    while time.monotonic() < deadline:
        r = gx("read", "p_kw", "p_ref_kw", port=sim.path)
        assert r.returncode == 0, r.stderr
        v = values(r.stdout)
        seen.append(number(v["p_kw"]))
        if seen[-1] >= 132:
            break
        time.sleep(0.3)
    assert seen[-1] >= 132, "p_kw did not follow base_kw 140: %s" % seen
    assert number(v["p_ref_kw"]) > 100


def test_wrong_access_code_refused(sim):
    r = gx("write", "kp_pu", "5", "--code", "1111", port=sim.path)
    assert r.returncode == 1, r
    assert "unlock refused: wrong access code" in one_line(r.stderr)


def test_config_write_while_running_refused_04(sim):
    r = gx("write", "kp_pu", "5.0", port=sim.path)
    assert r.returncode == 1, r
    msg = one_line(r.stderr)
    assert "exception 04, refused by an interlock (locked, engine running, ...)" in msg, msg
    assert msg.startswith("gxtool: write kp_pu = 5.0 pu refused")


def test_live_configuration_write_unlocks_first(sim):
    # import_min_kw is configuration that may change while running: it needs
    # the unlock, which gxtool writes first (default code 1954).
    assert "unlock" in mbmap.lookup("import_min_kw")["interlock"]
    r = gx("write", "import_min_kw", "25", port=sim.path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "import_min_kw = 25.0 kW"
    r = gx("read", "unlocked_s", port=sim.path)
    assert r.returncode == 0 and number(values(r.stdout)["unlocked_s"]) > 250, r.stdout
    r = gx("write", "config_lock", "1", port=sim.path)
    assert r.returncode == 0 and r.stdout.strip() == "config_lock: written", r
    r = gx("read", "unlocked_s", "import_min_kw", port=sim.path)
    v = values(r.stdout)
    assert v["unlocked_s"] == "0 s" and v["import_min_kw"] == "25.0 kW", r.stdout


def test_out_of_range_refused_before_sending(sim):
    r = gx("write", "base_kw", "5000", port=sim.path)
    assert r.returncode == 2
    assert one_line(r.stderr) == "gxtool: base_kw: 5000 kW is outside 0.0 .. 2000.0 kW"


def test_commands(sim):
    r = gx("ack", port=sim.path)
    assert r.returncode == 0 and r.stdout.strip() == "ack: accepted", r
    r = gx("start", port=sim.path)         # already running: the interlock says no
    assert r.returncode == 1
    assert one_line(r.stderr) == ("gxtool: command start refused: exception 04, refused by "
                                  "an interlock (locked, engine running, ...)")
    r = gx("mode", "auto", port=sim.path)
    assert r.returncode == 0 and r.stdout.strip() == "mode_auto: accepted", r


def test_dump_json(sim):
    r = gx("dump", "--json", port=sim.path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["state"] == sequencer.STATE_NAMES.index("loaded")
    assert isinstance(d["p_kw"], float) and d["p_kw"] > 50
    assert d["base_kw"] == 140.0
    assert "access_code" not in d and "command" not in d      # write-only
    want = {p["name"] for p in mbmap.points() if mbmap.readable(p)}
    assert set(d) == want


def test_monitor_once(sim):
    r = gx("monitor", "--once", port=sim.path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for s in ("GX230 at address 1", "loaded", "auto", "p_kw", "kW", "gcb_closed", "closed",
              "sync_status", "latched: none", "mb_bus_msgs"):
        assert s in out, (s, out)


def test_events(sim):
    r = gx("events", port=sim.path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines and all(x.startswith("#") for x in lines), r.stdout
    seqs = [int(x.split()[0][1:]) for x in lines]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
    text = r.stdout
    assert "mb_write" in text and "(base_kw)" in text, text      # the set point write
    assert "mb_refused" in text and "(kp_pu)" in text, text      # the refused configuration
    r = gx("events", "--count", "2", port=sim.path)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 2


def test_log_csv(sim, tmp_path):
    f = tmp_path / "log.csv"
    r = gx("log", "--csv", str(f), "--interval", "0.2", "--count", "3", "p_kw", "state",
           port=sim.path)
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(open(f)))
    assert rows[0] == ["time", "t_s", "p_kw [kW]", "state"]
    assert len(rows) == 4
    assert all(float(x[2]) > 50 and x[3] == str(sequencer.STATE_NAMES.index("loaded"))
               for x in rows[1:]), rows


def test_wrong_address_no_answer(sim):
    r = gx("--address", "7", "--timeout", "0.3", "read", "p_kw", port=sim.path)
    assert r.returncode == 3
    assert one_line(r.stderr) == "gxtool: no answer from address 7 on %s within 0.3 s" % sim.path
