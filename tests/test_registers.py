"""The register map is one table: every point described, no two points on
one address, every setting and protection setting mapped with its range,
and the generated exports say the same as the firmware."""

import csv
import json
import os

from conftest import ROOT
from host_sim import firmware_path

firmware_path()
import config as cf  # noqa: E402
import protection as pr  # noqa: E402
import registers as rg  # noqa: E402
import registers_info as ri  # noqa: E402


def test_every_explicit_point_is_described_and_no_description_is_stale():
    names = [p[2] for p in rg.POINTS]
    assert sorted(ri.DESCRIPTIONS) == sorted(names)
    assert all(ri.DESCRIPTIONS[n] for n in names)


def test_point_names_are_unique_and_no_two_points_share_an_address():
    pts = rg.points()
    names = [p["name"] for p in pts]
    assert len(names) == len(set(names))
    used = {}
    for p in pts:
        for w in range(p["words"]):
            key = (p["table"] if p["table"] != "input_register" else "holding_register",
                   p["address"] + w)
            assert key not in used, (p["name"], used.get(key))
            used[key] = p["name"]


def test_every_setting_and_protection_field_is_in_the_map_with_its_limits():
    by_addr = {(p["table"], p["address"]): p for p in rg.points()}
    for i, (name, d, lo, hi) in enumerate(cf.SETTINGS):
        p = by_addr[("holding_register", rg.SET_BASE + 2 * i)]
        assert (p["min"], p["max"], p["type"]) == (lo, hi, "s32"), name
        assert p["name"] == ri.setting_point(name)[0]
    for i in range(pr.N_PROT):
        lo, hi, dlo, dhi = pr.limits(i)
        a = rg.PROT_BASE + rg.PROT_STRIDE * i
        assert (by_addr[("holding_register", a + 2 * pr.F_PICKUP)]["min"],
                by_addr[("holding_register", a + 2 * pr.F_PICKUP)]["max"]) == (lo, hi)
        cls = by_addr[("holding_register", a + 2 * pr.F_CLASS)]
        assert cls["min"] == pr.PROTECTIONS[i][pr.P_FLOOR]


def test_set_points_need_no_unlock_and_other_settings_do():
    pts = {p["name"]: p for p in rg.points()}
    for name in cf.SETPOINTS:
        assert pts[ri.setting_point(name)[0]]["interlock"].startswith("set point")
    assert pts["kp_pu"]["interlock"] == "unlock, engine stopped"
    assert pts["export_limit_kw"]["interlock"] == "unlock"
    assert pts["mb_access_code"]["access"] == "w"
    assert pts["command"]["interlock"].startswith("command pair")


def test_the_exports_match_the_firmware_table():
    with open(os.path.join(ROOT, "docs", "registers.json")) as f:
        j = json.load(f)
    assert j["points"] == rg.points() and j["map_crc"] == rg.map_crc()
    with open(os.path.join(ROOT, "docs", "registers.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == [p["name"] for p in rg.points()]
    with open(os.path.join(ROOT, "docs", "registers.md")) as f:
        assert "0x%04X" % rg.map_crc() in f.read()


def test_the_map_crc_changes_when_the_layout_does():
    c0 = rg.map_crc()
    saved = rg.POINTS
    try:
        rows = list(saved)
        rows[0] = (rows[0][0], rows[0][1] + 1) + tuple(rows[0][2:])
        rg.POINTS = tuple(rows)
        assert rg.map_crc() != c0
    finally:
        rg.POINTS = saved


def test_the_sentinels_the_tools_decode_are_the_ones_the_firmware_writes():
    out = bytearray(4)
    r = rg.Registers.__new__(rg.Registers)
    for typ, name in ((rg.T_U16, "u16"), (rg.T_S16, "s16"), (rg.T_U32, "u32"), (rg.T_S32, "s32")):
        got = {}
        for marker, why in ((rg.NA, "not available"), (rg.FAULT, "sensor fault")):
            words = 2 if typ in (rg.T_U32, rg.T_S32) else 1
            for w in range(words):
                r._put(out, 2 * w, typ, marker, w)
            raw = int.from_bytes(out[:2 * words], "big")
            got[raw] = why
        assert got == ri.SENTINELS[name], name
