"""Scenario files: TOML with a documented schema, validated field by field.

A bad file raises ScenarioError with one message naming the field (e.g.
"events[2].p_pct: must be a number between 0 and 120, got 'x'"); the CLI
prints it and exits 2 without running anything.  The schema is documented in
README.md ("Scenario format") and mirrored by SCHEMA_DOC below.
"""

import os
try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

from . import SCENARIO_DIR, firmware_path
from .plant.engine import ENGINE_DEFAULTS, FUEL_PLANT
from .plant.alternator import ALT_DEFAULTS
from .ggov1 import GGOV1_DEFAULTS

firmware_path()
import config as fw_config  # noqa: E402  (firmware module)

FUELS = tuple(FUEL_PLANT)
GOVERNORS = ("firmware", "ggov1")
EVENT_KINDS = ("step", "ramp", "pulse", "fuel_quality")
TOP_KEYS = ("name", "description", "duration_s", "seed", "fuel", "f_nom_hz",
            "governor", "firmware", "plant", "ggov1", "load", "events")
LOAD_KEYS = {"initial_pct": (0.0, 120.0, 0.0), "pf": (0.5, 1.0, 0.8),
             "p_v_exp": (0.0, 2.0, 2.0), "q_v_exp": (0.0, 2.0, 2.0),
             "p_f_exp": (0.0, 2.0, 0.0)}
# Firmware settings a scenario may not set directly (they come from the
# scenario's own top-level fuel / f_nom_hz fields).
_FW_RESERVED = ("fuel", "f_nom_hz")


class ScenarioError(Exception):
    pass


def builtin_names():
    return sorted(f[:-5] for f in os.listdir(SCENARIO_DIR) if f.endswith(".toml"))


def resolve(name_or_path):
    """A path to a .toml file, or the name of a built-in scenario."""
    if os.path.exists(name_or_path):
        return name_or_path
    p = os.path.join(SCENARIO_DIR, name_or_path + ".toml")
    if os.path.exists(p):
        return p
    raise ScenarioError("scenario %r: no such file and no built-in of that name "
                        "(gxsim list shows the built-ins)" % name_or_path)


def _num(d, key, lo, hi, where, default=None, integer=False):
    if key not in d:
        if default is None:
            raise ScenarioError("%s%s: required field is missing" % (where, key))
        return default
    v = d[key]
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or not (lo <= v <= hi):
        kind = "an integer" if integer else "a number"
        raise ScenarioError("%s%s: must be %s between %s and %s, got %r"
                            % (where, key, kind, lo, hi, v))
    return v


def _unknown(d, allowed, where):
    for k in d:
        if k not in allowed:
            raise ScenarioError("%s%s: unknown field (allowed: %s)"
                                % (where, k, ", ".join(sorted(allowed))))


def load(name_or_path):
    path = resolve(name_or_path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError("%s: not valid TOML: %s" % (path, e))
    except OSError as e:
        raise ScenarioError("%s: cannot read: %s" % (path, e.strerror))
    sc = parse(raw, os.path.splitext(os.path.basename(path))[0])
    sc["path"] = path
    return sc


def parse(raw, default_name="scenario"):
    if not isinstance(raw, dict):
        raise ScenarioError("scenario: must be a TOML table")
    _unknown(raw, TOP_KEYS, "")
    sc = {}
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ScenarioError("name: must be a non-empty string")
    sc["name"] = name
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise ScenarioError("description: must be a string")
    sc["description"] = desc
    sc["duration_s"] = float(_num(raw, "duration_s", 1.0, 3600.0, ""))
    sc["seed"] = _num(raw, "seed", 0, 2**31 - 1, "", default=1, integer=True)
    fuel = raw.get("fuel", "natural_gas")
    if fuel not in FUELS:
        raise ScenarioError("fuel: must be one of %s, got %r" % (", ".join(FUELS), fuel))
    sc["fuel"] = fuel
    f = raw.get("f_nom_hz", 60)
    if f not in (50, 60) or isinstance(f, bool):
        raise ScenarioError("f_nom_hz: must be 50 or 60, got %r" % (f,))
    sc["f_nom_hz"] = f
    gov = raw.get("governor", "firmware")
    if gov not in GOVERNORS:
        raise ScenarioError("governor: must be one of %s, got %r" % (", ".join(GOVERNORS), gov))
    sc["governor"] = gov
    # Firmware settings: validated by the firmware's own Config.set, so the
    # scenario and the controller agree on every limit.
    fw = raw.get("firmware", {})
    if not isinstance(fw, dict):
        raise ScenarioError("firmware: must be a table of settings")
    probe = fw_config.Config()
    for k, v in fw.items():
        if k in _FW_RESERVED:
            raise ScenarioError("firmware.%s: set it with the top-level %s field" % (k, k))
        spec = [s for s in fw_config.SETTINGS if s[0] == k]
        if not spec:
            raise ScenarioError("firmware.%s: unknown setting (known: %s)" % (
                k, ", ".join(s[0] for s in fw_config.SETTINGS if s[0] not in _FW_RESERVED)))
        if not probe.set(k, v):
            s = spec[0]
            raise ScenarioError("firmware.%s: must be an integer between %d and %d, got %r"
                                % (k, s[2], s[3], v))
    sc["firmware"] = dict(fw)
    for table, defaults in (("plant", dict(ENGINE_DEFAULTS, **ALT_DEFAULTS)),
                            ("ggov1", GGOV1_DEFAULTS)):
        t = raw.get(table, {})
        if not isinstance(t, dict):
            raise ScenarioError("%s: must be a table" % table)
        _unknown(t, defaults, table + ".")
        vals = dict(defaults)
        for k, v in t.items():
            dv = defaults[k]
            lo, hi = (-10.0 * abs(dv) - 10.0, 10.0 * abs(dv) + 10.0)
            if k in ("vmin", "rclose"):
                lo = -10.0
            vals[k] = _num(t, k, lo, hi, table + ".")
            if vals[k] <= 0 and k.startswith(("tau", "t", "j_", "h_")) and k not in ("t_transport_s",):
                raise ScenarioError("%s.%s: must be greater than 0, got %r" % (table, k, v))
        sc[table] = vals
    ld = raw.get("load", {})
    if not isinstance(ld, dict):
        raise ScenarioError("load: must be a table")
    _unknown(ld, LOAD_KEYS, "load.")
    sc["load"] = {k: float(_num(ld, k, lo, hi, "load.", default=d))
                  for k, (lo, hi, d) in LOAD_KEYS.items()}
    evs = raw.get("events", [])
    if not isinstance(evs, list):
        raise ScenarioError("events: must be an array of tables ([[events]])")
    out = []
    for i, ev in enumerate(evs):
        w = "events[%d]." % i
        if not isinstance(ev, dict):
            raise ScenarioError("events[%d]: must be a table" % i)
        kind = ev.get("kind")
        if kind not in EVENT_KINDS:
            raise ScenarioError("%skind: must be one of %s, got %r" % (w, ", ".join(EVENT_KINDS), kind))
        e = {"kind": kind, "t_s": float(_num(ev, "t_s", 0.0, sc["duration_s"], w))}
        if kind == "step":
            _unknown(ev, ("kind", "t_s", "p_pct"), w)
            e["p_pct"] = float(_num(ev, "p_pct", 0.0, 120.0, w))
        elif kind == "fuel_quality":
            # Heating value of the gas drifts (biogas CH4 content): ramps the
            # plant's energy per valve opening to lhv_pct of nominal.
            _unknown(ev, ("kind", "t_s", "lhv_pct", "duration_s"), w)
            e["lhv_pct"] = float(_num(ev, "lhv_pct", 50.0, 150.0, w))
            e["duration_s"] = float(_num(ev, "duration_s", 0.0, 3600.0, w, default=0.0))
        elif kind == "ramp":
            _unknown(ev, ("kind", "t_s", "p_pct", "duration_s"), w)
            e["p_pct"] = float(_num(ev, "p_pct", 0.0, 120.0, w))
            e["duration_s"] = float(_num(ev, "duration_s", 0.0, 3600.0, w))
        else:
            _unknown(ev, ("kind", "t_s", "low_pct", "high_pct", "period_s", "duty",
                          "until_s", "end_pct"), w)
            e["low_pct"] = float(_num(ev, "low_pct", 0.0, 120.0, w))
            e["high_pct"] = float(_num(ev, "high_pct", 0.0, 120.0, w))
            e["period_s"] = float(_num(ev, "period_s", 0.1, 600.0, w))
            e["duty"] = float(_num(ev, "duty", 0.05, 0.95, w, default=0.5))
            e["until_s"] = float(_num(ev, "until_s", e["t_s"], sc["duration_s"], w,
                                      default=sc["duration_s"]))
            e["end_pct"] = float(_num(ev, "end_pct", 0.0, 120.0, w, default=e["low_pct"]))
        out.append(e)
    for i in range(1, len(out)):
        if out[i]["t_s"] < out[i - 1]["t_s"]:
            raise ScenarioError("events[%d].t_s: events must be in time order (%.3f < %.3f)"
                                % (i, out[i]["t_s"], out[i - 1]["t_s"]))
    sc["events"] = out
    return sc
