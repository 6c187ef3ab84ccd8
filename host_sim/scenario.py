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
from .plant.aux import AUX_DEFAULTS
from .plant.breaker import BREAKER_DEFAULTS
from .plant.grid import GRID_DEFAULTS
from .plant.network import NETWORK_DEFAULTS
from .ggov1 import GGOV1_DEFAULTS

firmware_path()
import config as fw_config  # noqa: E402  (firmware module)
import protection as fw_prot  # noqa: E402
import overcurrent as fw_oc  # noqa: E402
import sequencer as fw_seq  # noqa: E402

FUELS = tuple(FUEL_PLANT)
GOVERNORS = ("firmware", "ggov1")
EVENT_KINDS = ("step", "ramp", "pulse", "fuel_quality", "input", "command", "fault", "grid")
# grid event action -> parameters (name: (lo, hi))
GRID_ACTIONS = {
    "drift": {"df_hz": (-5.0, 5.0), "duration_s": (0.0, 3600.0)},
    "f_step": {"df_hz": (-5.0, 5.0)},
    "v_step": {"dv_pct": (-100.0, 50.0)},
    "v_ramp": {"to_pct": (0.0, 150.0), "duration_s": (0.0, 3600.0)},
    "phase_jump": {"deg": (-180.0, 180.0)},
    "outage": {}, "restore": {},
}
TOP_KEYS = ("name", "description", "duration_s", "seed", "fuel", "f_nom_hz",
            "governor", "firmware", "plant", "ggov1", "load", "events", "start", "mode",
            "remote_start", "protection", "expect", "grid")
INPUTS = ("remote_start", "estop")
COMMANDS = tuple(fw_seq.COMMAND_NAMES[1:])
# fault name -> optional numeric parameters (name: (lo, hi))
FAULTS = {
    "mpu_loss": {}, "metering_loss": {}, "actuator_stuck": {},
    "oil_sender_drift": {"rate": (-200.0, 200.0)},          # kPa/s
    "coolant_sender_drift": {"rate": (-20.0, 20.0)},        # degC/s
    "gcb_fail_to_close": {}, "gcb_fail_to_open": {},
    "oil_pressure_loss": {"factor": (0.0, 1.0)},
    "cooling_failure": {},
    "gas_pressure_loss": {"duration_s": (0.0, 600.0), "to_mbar": (0.0, 100.0)},
    "gas_leak": {}, "knock": {}, "no_fire": {}, "fail_to_stop": {},
    "battery_weak": {"volts": (0.0, 20.0)},
    "current_unbalance": {"share": (0.0, 1.0)},
    "gas_not_proven": {},
    "fuel_cutoff": {},          # the gas shut-off valve drops shut on its own
    "excitation_loss": {},      # the AVR / exciter fails: no field
}
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


def _protection(t, probe_cfg):
    """[protection.<name>] tables -> (setting name, value) pairs, each checked
    by the firmware's own Protection.set_field so the limits agree."""
    if not isinstance(t, dict):
        raise ScenarioError("protection: must be a table of [protection.<name>] tables")
    probe = fw_prot.Protection(probe_cfg)
    out = []
    for name in sorted(t):
        i = fw_prot.index_of(name)
        w = "protection.%s" % name
        if i < 0:
            raise ScenarioError("%s: unknown protection (known: %s)" % (
                w, ", ".join(p[0] for p in fw_prot.PROTECTIONS)))
        body = t[name]
        if not isinstance(body, dict):
            raise ScenarioError("%s: must be a table" % w)
        for field in sorted(body):
            v = body[field]
            if field not in fw_prot.FIELD_NAMES:
                raise ScenarioError("%s.%s: unknown field (allowed: %s)" % (
                    w, field, ", ".join(fw_prot.FIELD_NAMES)))
            if field == "class" and isinstance(v, str):
                if v not in fw_prot.CLASS_NAMES[1:]:
                    raise ScenarioError("%s.class: must be one of %s, got %r" % (
                        w, ", ".join(fw_prot.CLASS_NAMES[1:]), v))
                v = fw_prot.CLASS_NAMES.index(v)
            if field == "curve" and isinstance(v, str):
                if v not in fw_oc.CURVE_NAMES:
                    raise ScenarioError("%s.curve: must be one of %s, got %r" % (
                        w, ", ".join(fw_oc.CURVE_NAMES), v))
                v = fw_oc.CURVE_NAMES.index(v)
            if field == "enable" and isinstance(v, bool):
                v = int(v)
            if not probe.set_field(i, fw_prot.FIELD_NAMES.index(field), v):
                raise ScenarioError("%s.%s: value %r refused by the firmware (out of range)"
                                    % (w, field, body[field]))
            out.append(("prot.%s.%s" % (name, field), v))
    return out


def _expect(t):
    """[expect]: what a fault scenario must end in (checked by the tests and
    reported): final_state, alarm (name), class, within_s."""
    if not isinstance(t, dict):
        raise ScenarioError("expect: must be a table")
    _unknown(t, ("final_state", "alarm", "class", "within_s", "no_alarms"), "expect.")
    out = dict(t)
    if "final_state" in t and t["final_state"] not in fw_seq.STATE_NAMES:
        raise ScenarioError("expect.final_state: must be one of %s" % ", ".join(fw_seq.STATE_NAMES))
    if "alarm" in t and fw_prot.index_of(t["alarm"]) < 0:
        raise ScenarioError("expect.alarm: unknown protection %r" % (t["alarm"],))
    if "class" in t and t["class"] not in fw_prot.CLASS_NAMES[1:]:
        raise ScenarioError("expect.class: must be one of %s" % ", ".join(fw_prot.CLASS_NAMES[1:]))
    return out


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
            if isinstance(v, int) and not isinstance(v, bool) and s[2] <= v <= s[3]:
                raise ScenarioError("firmware.%s: %r refused (%s)"
                                    % (k, v, fw_config.Config.RULES))
            raise ScenarioError("firmware.%s: must be an integer between %d and %d, got %r"
                                % (k, s[2], s[3], v))
    sc["firmware"] = dict(fw)
    start = raw.get("start", "running")
    if start not in ("running", "stopped"):
        raise ScenarioError("start: must be \"running\" or \"stopped\", got %r" % (start,))
    sc["start"] = start
    mode = raw.get("mode", "auto")
    if mode not in fw_seq.MODE_NAMES:
        raise ScenarioError("mode: must be one of %s, got %r" % (", ".join(fw_seq.MODE_NAMES), mode))
    sc["mode"] = mode
    rs = raw.get("remote_start", None)
    if rs is not None and not isinstance(rs, bool):
        raise ScenarioError("remote_start: must be true or false, got %r" % (rs,))
    sc["remote_start"] = rs
    if sc["governor"] == "ggov1" and start != "running":
        raise ScenarioError("governor: ggov1 only runs scenarios with start = \"running\"")
    g = raw.get("grid", {})
    if not isinstance(g, dict):
        raise ScenarioError("grid: must be a table")
    _unknown(g, ("present", "mains_closed"), "grid.")
    for k in ("present", "mains_closed"):
        if k in g and not isinstance(g[k], bool):
            raise ScenarioError("grid.%s: must be true or false, got %r" % (k, g[k]))
    sc["grid"] = {"present": g.get("present", False),
                  "mains_closed": g.get("mains_closed", g.get("present", False))}
    sc["protection_settings"] = _protection(raw.get("protection", {}), probe)
    sc["expect"] = _expect(raw.get("expect", {}))
    for table, defaults in (("plant", dict(ENGINE_DEFAULTS, **ALT_DEFAULTS, **AUX_DEFAULTS,
                                           **BREAKER_DEFAULTS, **GRID_DEFAULTS,
                                           **NETWORK_DEFAULTS)),
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
        elif kind == "input":
            _unknown(ev, ("kind", "t_s", "input", "value"), w)
            if ev.get("input") not in INPUTS:
                raise ScenarioError("%sinput: must be one of %s, got %r" % (w, ", ".join(INPUTS), ev.get("input")))
            if not isinstance(ev.get("value"), bool):
                raise ScenarioError("%svalue: must be true or false, got %r" % (w, ev.get("value")))
            e["input"] = ev["input"]
            e["value"] = ev["value"]
        elif kind == "command":
            _unknown(ev, ("kind", "t_s", "command"), w)
            if ev.get("command") not in COMMANDS:
                raise ScenarioError("%scommand: must be one of %s, got %r" % (w, ", ".join(COMMANDS), ev.get("command")))
            e["command"] = ev["command"]
        elif kind == "grid":
            a = ev.get("action")
            if a not in GRID_ACTIONS:
                raise ScenarioError("%saction: must be one of %s, got %r" % (w, ", ".join(GRID_ACTIONS), a))
            _unknown(ev, ("kind", "t_s", "action") + tuple(GRID_ACTIONS[a]), w)
            e["action"] = a
            for k, (lo, hi) in GRID_ACTIONS[a].items():
                e[k] = float(_num(ev, k, lo, hi, w))
        elif kind == "fault":
            f = ev.get("fault")
            if f not in FAULTS:
                raise ScenarioError("%sfault: must be one of %s, got %r" % (w, ", ".join(sorted(FAULTS)), f))
            _unknown(ev, ("kind", "t_s", "fault", "clear") + tuple(FAULTS[f]), w)
            e["fault"] = f
            clear = ev.get("clear", False)
            if not isinstance(clear, bool):
                raise ScenarioError("%sclear: must be true or false, got %r" % (w, clear))
            e["clear"] = clear
            for k, (lo, hi) in FAULTS[f].items():
                if k in ev:
                    e[k] = float(_num(ev, k, lo, hi, w))
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
