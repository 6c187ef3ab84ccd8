"""Scenario files: TOML with a documented schema, validated field by field.

A bad file raises ScenarioError with one message naming the field (e.g.
"events[2].p_pct: must be a number between 0 and 120, got 'x'"); the CLI
prints it and exits 2 without running anything.  The schema is documented in
README.md ("Scenario format").  parse() takes what tomllib returns (tables
with string keys; strings, numbers, booleans, dates, arrays) and either
returns a checked scenario or raises ScenarioError, never anything else: every
field's type is checked before its value is used, and values are echoed in
messages through a bounded repr (one line, however long or deep the value).

The [plant] and [ggov1] limits are not here: each parameter's default and
limits live in the *_PARAMS table of the module that uses it
(host_sim/plant/*.py, host_sim/ggov1.py), with that module's cross-parameter
RULES.
"""

import os
import reprlib
import string
try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

from . import SCENARIO_DIR, firmware_path
from .plant import engine as _engine, alternator as _alt, aux as _aux
from .plant import breaker as _breaker, grid as _grid, network as _network
from .plant import sensors as _sensors
from .plant import params as _params
from .plant.engine import FUEL_PLANT
from . import ggov1 as _ggov1

firmware_path()
import config as fw_config  # noqa: E402  (firmware module)
import protection as fw_prot  # noqa: E402
import overcurrent as fw_oc  # noqa: E402
import sequencer as fw_seq  # noqa: E402
import fuels as fw_fuels  # noqa: E402

FUELS = tuple(FUEL_PLANT)
GOVERNORS = ("firmware", "ggov1", "pid", "wide_open")
EVENT_KINDS = ("step", "ramp", "pulse", "fuel_quality", "input", "command", "fault", "grid",
               "modbus")
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
RELATIVE_KINDS = ("input", "command", "fault", "grid")   # may take after_state
INPUTS = ("remote_start", "estop", "config_enable")
COMMANDS = tuple(fw_seq.COMMAND_NAMES[1:])
# fault name -> optional numeric parameters (name: (lo, hi))
FAULTS = {
    "mpu_loss": {}, "metering_loss": {}, "map_sensor_fail": {}, "actuator_stuck": {},
    "oil_sender_drift": {"rate": (-200.0, 200.0)},          # kPa/s
    "coolant_sender_drift": {"rate": (-20.0, 20.0)},        # degC/s
    "gcb_fail_to_close": {}, "gcb_fail_to_open": {},
    "oil_pressure_loss": {"factor": (0.0, 1.0)},
    "cooling_failure": {},
    "gas_pressure_loss": {"duration_s": (0.0, 600.0), "to_mbar": (0.0, 100.0)},
    "gas_leak": {}, "knock": {}, "no_fire": {}, "fail_to_stop": {},
    "sender_open": {},          # an engine sender's wire breaks: DI_SENDER_FAULT
    "battery_weak": {"volts": (0.0, 20.0)},
    "current_unbalance": {"share": (0.0, 1.0)},
    "gas_not_proven": {},
    "fuel_cutoff": {},          # the gas shut-off valve drops shut on its own
    "excitation_loss": {},      # the AVR / exciter fails: no field
}
# [plant]: one flat namespace over the plant modules' tables (names are
# unique across them; a test checks it).
PLANT_TABLES = (_engine.ENGINE_PARAMS, _alt.ALT_PARAMS, _aux.AUX_PARAMS,
                _breaker.BREAKER_PARAMS, _grid.GRID_PARAMS, _network.NETWORK_PARAMS,
                _sensors.SENSOR_PARAMS)
PLANT_PARAMS = {k: p for t in PLANT_TABLES for k, p in t.items()}
PLANT_RULES = (_engine.RULES + _alt.RULES + _aux.RULES + _breaker.RULES + _grid.RULES
               + _network.RULES + _sensors.RULES)
GGOV1_PARAMS = _ggov1.GGOV1_PARAMS
GGOV1_RULES = _ggov1.RULES
SEED_MAX = 2 ** 31 - 1           # any int seeds the sensors; kept to a signed 32-bit value
NAME_MAX = 64                    # characters: a name becomes a directory (out/<name>)
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")
NAME_RULE = ("1-%d characters of letters, digits, '-', '_' and '.', not starting "
             "with '.' or '-'" % NAME_MAX)
DESCRIPTION_MAX = 1000           # characters
MAX_FILE_BYTES = 1 << 20         # a scenario is a few kB; refuse /dev/zero and the like
LOAD_KEYS = {"initial_pct": (0.0, 120.0, 0.0), "pf": (0.5, 1.0, 0.8),
             "p_v_exp": (0.0, 2.0, 2.0), "q_v_exp": (0.0, 2.0, 2.0),
             "p_f_exp": (0.0, 2.0, 0.0)}
# Firmware settings a scenario may not set directly (they come from the
# scenario's own top-level fuel / f_nom_hz fields).
_FW_RESERVED = ("fuel", "f_nom_hz")


class ScenarioError(Exception):
    pass


# Values in messages: one line, bounded in length and depth.
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlong = 40
_repr.maxlevel = 2
_repr.maxlist = _repr.maxtuple = _repr.maxdict = 4


def _show(v):
    return _repr.repr(v)


_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def _key(k):
    """A field name as it goes into a message: plain if it is a plain name,
    else quoted and bounded (TOML allows any string as a key)."""
    if isinstance(k, str) and 0 < len(k) <= 64 and all(c in _KEY_CHARS for c in k):
        return k
    return _show(k)


def _path(p):
    return p if p.isprintable() else _show(p)


def builtin_names():
    """The single-set built-ins (host_sim/scenarios/*.toml)."""
    return sorted(f[:-5] for f in os.listdir(SCENARIO_DIR) if f.endswith(".toml"))


FLEET_DIR = os.path.join(SCENARIO_DIR, "fleet")


def fleet_builtin_names():
    """The stack built-ins (host_sim/scenarios/fleet/*.toml, fleetsim.py)."""
    return sorted(f[:-5] for f in os.listdir(FLEET_DIR) if f.endswith(".toml"))


def resolve(name_or_path):
    """A path to a .toml file, or the name of a built-in scenario."""
    if os.path.exists(name_or_path):
        return name_or_path
    if name_or_path in builtin_names():
        return os.path.join(SCENARIO_DIR, name_or_path + ".toml")
    if name_or_path in fleet_builtin_names():
        return os.path.join(FLEET_DIR, name_or_path + ".toml")
    raise ScenarioError("scenario %s: no such file and no built-in of that name "
                        "(gxsim list shows the built-ins)" % _show(name_or_path))


def _num(d, key, lo, hi, where, default=None, integer=False):
    if key not in d:
        if default is None:
            raise ScenarioError("%s%s: required field is missing" % (where, key))
        return default
    v = d[key]
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok or not (lo <= v <= hi):
        kind = "an integer" if integer else "a number"
        raise ScenarioError("%s%s: must be %s between %s and %s, got %s"
                            % (where, key, kind, _params.fmt(lo), _params.fmt(hi), _show(v)))
    return v


def _choice(d, key, choices, where, default=None):
    """A string field that must be one of `choices` (a missing one gives
    `default`; default None means the field is required)."""
    if key not in d and default is not None:
        return default
    v = d.get(key)
    if not isinstance(v, str) or v not in choices:
        raise ScenarioError("%s%s: must be one of %s, got %s"
                            % (where, key, ", ".join(choices), _show(v)))
    return v


def _bool(d, key, where, default=None):
    if key not in d and default is not None:
        return default
    v = d.get(key)
    if not isinstance(v, bool):
        raise ScenarioError("%s%s: must be true or false, got %s" % (where, key, _show(v)))
    return v


def _table(v, where, what="a table"):
    if not isinstance(v, dict):
        raise ScenarioError("%s: must be %s, got %s" % (where, what, _show(v)))
    return v


def _unknown(d, allowed, where):
    for k in d:
        if k not in allowed:
            raise ScenarioError("%s%s: unknown field (allowed: %s)"
                                % (where, _key(k), ", ".join(sorted(allowed))))


def check_name(name, from_file=False):
    """Scenario names become output directories (out/<name>): a safe
    character set, no leading '.', bounded length, so no name can reach
    outside the output folder."""
    if (isinstance(name, str) and 0 < len(name) <= NAME_MAX and name[0] not in ".-"
            and all(c in _NAME_CHARS for c in name)):
        return name
    if from_file:
        raise ScenarioError("name: not given, and the file name %s is not a valid name (%s); "
                            "set name = \"...\"" % (_show(name), NAME_RULE))
    raise ScenarioError("name: must be %s, got %s" % (NAME_RULE, _show(name)))


def _text(raw, key, limit):
    v = raw.get(key, "")
    if not isinstance(v, str):
        raise ScenarioError("%s: must be a string, got %s" % (key, _show(v)))
    if len(v) > limit:
        raise ScenarioError("%s: must be at most %d characters, got %d" % (key, limit, len(v)))
    bad = [c for c in v if not c.isprintable() and c not in "\t\n"]
    if bad:
        raise ScenarioError("%s: must not contain control characters, got %s"
                            % (key, _show(bad[0])))
    return v


def _params_table(raw, table, spec, rules):
    """[plant] / [ggov1]: each value inside its parameter's limits (the
    module's *_PARAMS table), then the module's cross-parameter rules."""
    t = _table(raw.get(table, {}), table)
    _unknown(t, spec, table + ".")
    vals = {k: p.default for k, p in spec.items()}
    for k, v in t.items():
        why = _params.refusal(spec[k], v)
        if why:
            raise ScenarioError("%s.%s: %s, got %s" % (table, k, why, _show(v)))
        vals[k] = _params.value(spec[k], v)
    for field, ok, why in rules:
        if not ok(vals):
            raise ScenarioError("%s.%s: %s, got %s" % (table, field, why, _show(vals[field])))
    return vals


def _protection(t, probe_cfg):
    """[protection.<name>] tables -> (setting name, value) pairs, each checked
    by the firmware's own Protection.set_field so the limits agree."""
    t = _table(t, "protection", "a table of [protection.<name>] tables")
    probe = fw_prot.Protection(probe_cfg)
    out = []
    for name in sorted(t):
        i = fw_prot.index_of(name)
        w = "protection.%s" % _key(name)
        if i < 0:
            raise ScenarioError("%s: unknown protection (known: %s)" % (
                w, ", ".join(p[0] for p in fw_prot.PROTECTIONS)))
        body = _table(t[name], w)
        for field in sorted(body):
            v = body[field]
            if field not in fw_prot.FIELD_NAMES:
                raise ScenarioError("%s.%s: unknown field (allowed: %s)" % (
                    w, _key(field), ", ".join(fw_prot.FIELD_NAMES)))
            names = {"class": fw_prot.CLASS_NAMES[1:], "curve": fw_oc.CURVE_NAMES}.get(field)
            if names is not None and isinstance(v, str):
                if v not in names:
                    raise ScenarioError("%s.%s: must be one of %s, got %s" % (
                        w, field, ", ".join(names), _show(v)))
                v = (fw_prot.CLASS_NAMES if field == "class" else fw_oc.CURVE_NAMES).index(v)
            if field == "enable" and isinstance(v, bool):
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool):
                kind = {"enable": "true or false", "class": "a class name",
                        "curve": "a curve name"}.get(field, "an integer")
                raise ScenarioError("%s.%s: must be %s, got %s" % (w, field, kind, _show(v)))
            fi = fw_prot.FIELD_NAMES.index(field)
            if not probe.allowed(i, fi, v):
                raise ScenarioError("%s.%s: %s refused by the firmware: %s"
                                    % (w, field, _show(body[field]), _prot_limit(i, fi)))
            out.append(("prot.%s.%s" % (name, field), v))
    # As a set: the pickups' order is checked with all of them in place,
    # whatever order single writes would need.
    def write(key, v):
        _, pname, field = key.split(".")
        return probe.set_field(fw_prot.index_of(pname), fw_prot.FIELD_NAMES.index(field), v)
    left = write_as_a_set(out, write)
    if left:
        (key, v) = left[0]
        _, pname, field = key.split(".")
        order = ", ".join("%s < %s" % o for o in fw_prot.ORDER if pname in o)
        raise ScenarioError("protection.%s.%s: %s refused by the firmware: the pickups "
                            "must stay in order (%s)" % (pname, field, _show(v), order))
    return out


def write_as_a_set(pairs, write):
    """Write (name, value) pairs one at a time with write(name, value) ->
    accepted, in passes, until all are in or a pass takes none: a set that
    is consistent as a whole goes in whatever order single writes need
    (each write is checked against the values already in place).  Returns
    what is left, [] when everything was taken.  The scenario parser and
    sim.run write the firmware's settings this way."""
    pending = list(pairs)
    while pending:
        left = [(k, v) for k, v in pending if not write(k, v)]
        if len(left) == len(pending):
            return left
        pending = left
    return []


def _prot_limit(i, field):
    """Why a protection write is out of bounds, for the message."""
    lo, hi, dlo, dhi = fw_prot.limits(i)
    p = fw_prot.PROTECTIONS[i]
    if field == fw_prot.F_ENABLE:
        return ("always enabled (a last-resort protection)" if p[fw_prot.P_FIXED]
                else "must be 0 or 1")
    if field == fw_prot.F_PICKUP:
        return ("which bit it watches is fixed (%d)" % lo if lo == hi
                else "pickup must be %d..%d" % (lo, hi))
    if field == fw_prot.F_DELAY_MS:
        return "fixed at %d" % dlo if dlo == dhi else "must be %d..%d" % (dlo, dhi)
    if field == fw_prot.F_CLASS:
        return "class must be at least %s (its class floor)" % fw_prot.CLASS_NAMES[p[fw_prot.P_FLOOR]]
    return "curve only on inverse-time elements"


def _expect(t, duration_s):
    """[expect]: what a fault scenario must end in (checked by the tests and
    reported): final_state, alarm (name), class and within_s (of that
    alarm), no_alarms."""
    t = _table(t, "expect")
    _unknown(t, ("final_state", "alarm", "class", "within_s", "no_alarms"), "expect.")
    out = {}
    if "final_state" in t:
        out["final_state"] = _choice(t, "final_state", fw_seq.STATE_NAMES, "expect.")
    if "alarm" in t:
        a = t["alarm"]
        if not isinstance(a, str) or fw_prot.index_of(a) < 0:
            raise ScenarioError("expect.alarm: must be the name of a protection "
                                "(docs/protections.md), got %s" % _show(a))
        out["alarm"] = a
    if "class" in t:
        out["class"] = _choice(t, "class", fw_prot.CLASS_NAMES[1:], "expect.")
    if "within_s" in t:
        out["within_s"] = float(_num(t, "within_s", 0.0, duration_s, "expect."))
    if "no_alarms" in t:
        out["no_alarms"] = _bool(t, "no_alarms", "expect.")
    for k in ("class", "within_s"):
        if k in out and "alarm" not in out:
            raise ScenarioError("expect.%s: describes the expected alarm, so it needs "
                                "expect.alarm" % k)
    if out.get("no_alarms") and "alarm" in out:
        raise ScenarioError("expect.no_alarms: true contradicts expect.alarm = %s"
                            % _show(out["alarm"]))
    return out


_MB_WHAT = ("write", "read", "command", "frame", "raw")


def _modbus_event(ev, w):
    """A scripted Modbus request: exactly one of write (a point name, with
    value in its engineering unit, optionally unlock = true first), read (a
    point name), command (a command name), frame (hex bytes, CRC appended)
    or raw (hex bytes sent as they are); address 0..255 (default 1)."""
    import registers as fw_regs
    _unknown(ev, ("kind", "t_s", "address", "value", "unlock") + _MB_WHAT, w)
    what = [k for k in _MB_WHAT if k in ev]
    if len(what) != 1:
        raise ScenarioError("%skind: a modbus event needs exactly one of %s" % (w, ", ".join(_MB_WHAT)))
    k = what[0]
    e = {k: ev[k]}
    e["address"] = _num(ev, "address", 0, 255, w, default=1, integer=True)
    if "unlock" in ev:
        e["unlock"] = _bool(ev, "unlock", w)
        if k != "write":
            raise ScenarioError("%sunlock: only a write takes unlock" % w)
    pts = {p["name"]: p for p in fw_regs.points()}
    if k in ("write", "read"):
        name = ev[k]
        if not isinstance(name, str) or name not in pts:
            raise ScenarioError("%s%s: unknown register point %s" % (w, k, _show(name)))
        p = pts[name]
        if k == "write":
            if p["access"] == "r" or p["table"] != "holding_register" or p["name"] == "command":
                raise ScenarioError("%swrite: %s is not a writable register" % (w, name))
            e["value"] = float(_num(ev, "value", -1e9, 1e9, w))
        elif p["table"] not in ("holding_register", "input_register"):
            raise ScenarioError("%sread: %s is not a register" % (w, name))
    if k != "write" and "value" in ev:
        raise ScenarioError("%svalue: only a write takes a value" % w)
    if k == "command":
        e["command"] = _choice(ev, "command", COMMANDS, w)
    if k in ("frame", "raw"):
        x = ev[k]
        try:
            b = bytes.fromhex(x) if isinstance(x, str) else None
        except ValueError:
            b = None
        if b is None or not 1 <= len(b) <= 256:
            raise ScenarioError("%s%s: must be 1 to 256 bytes in hex, e.g. \"01 03 00 00 00 0A\", "
                                "got %s" % (w, k, _show(x)))
    return e


def parse_event(ev, i, duration_s, grid_present):
    """events[i] of a scenario file -> the checked event (a dict), or
    ScenarioError naming the field."""
    w = "events[%d]." % i
    if not isinstance(ev, dict):
        raise ScenarioError("events[%d]: must be a table, got %s" % (i, _show(ev)))
    kind = _choice(ev, "kind", EVENT_KINDS, w)
    e = {"kind": kind, "t_s": float(_num(ev, "t_s", 0.0, duration_s, w))}
    if "after_state" in ev:
        # A worst-moment event: t_s counts from the first time the
        # controller enters this state (sim.py schedules it then), so
        # "10 ms after the close decision" stays true when the sequence's
        # timing changes.  Relays, faults and grid events only: the load
        # schedule is fixed in time.
        if kind not in RELATIVE_KINDS:
            raise ScenarioError("%safter_state: only %s events may follow a state, "
                                "not %s" % (w, ", ".join(RELATIVE_KINDS), _show(kind)))
        e["after_state"] = _choice(ev, "after_state", fw_seq.STATE_NAMES, w)
        ev = {k: v for k, v in ev.items() if k != "after_state"}
    if kind == "step":
        _unknown(ev, ("kind", "t_s", "p_pct"), w)
        e["p_pct"] = float(_num(ev, "p_pct", 0.0, 120.0, w))
    elif kind == "fuel_quality":
        # Heating value of the gas drifts (biogas CH4 content): ramps the
        # gas's heating value to lhv_pct of the commissioned gas's; the
        # plant's mixer leans, then its lambda trim restores it (engine.py).
        _unknown(ev, ("kind", "t_s", "lhv_pct", "duration_s"), w)
        e["lhv_pct"] = float(_num(ev, "lhv_pct", 50.0, 150.0, w))
        e["duration_s"] = float(_num(ev, "duration_s", 0.0, 3600.0, w, default=0.0))
    elif kind == "ramp":
        _unknown(ev, ("kind", "t_s", "p_pct", "duration_s"), w)
        e["p_pct"] = float(_num(ev, "p_pct", 0.0, 120.0, w))
        e["duration_s"] = float(_num(ev, "duration_s", 0.0, 3600.0, w))
    elif kind == "input":
        _unknown(ev, ("kind", "t_s", "input", "value"), w)
        e["input"] = _choice(ev, "input", INPUTS, w)
        e["value"] = _bool(ev, "value", w)
    elif kind == "command":
        _unknown(ev, ("kind", "t_s", "command"), w)
        e["command"] = _choice(ev, "command", COMMANDS, w)
    elif kind == "grid":
        if not grid_present:
            raise ScenarioError("%skind: a grid event needs a grid at the site "
                                "(grid.present = true)" % w)
        a = _choice(ev, "action", tuple(GRID_ACTIONS), w)
        _unknown(ev, ("kind", "t_s", "action") + tuple(GRID_ACTIONS[a]), w)
        e["action"] = a
        for k, (lo, hi) in GRID_ACTIONS[a].items():
            e[k] = float(_num(ev, k, lo, hi, w))
    elif kind == "modbus":
        e.update(_modbus_event(ev, w))
    elif kind == "fault":
        f = _choice(ev, "fault", tuple(sorted(FAULTS)), w)
        _unknown(ev, ("kind", "t_s", "fault", "clear") + tuple(FAULTS[f]), w)
        e["fault"] = f
        e["clear"] = _bool(ev, "clear", w, default=False)
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
        e["until_s"] = float(_num(ev, "until_s", e["t_s"], duration_s, w,
                                  default=duration_s))
        e["end_pct"] = float(_num(ev, "end_pct", 0.0, 120.0, w, default=e["low_pct"]))
    return e


def load(name_or_path):
    path = resolve(name_or_path)
    where = _path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ScenarioError("%s: cannot read: %s" % (where, e.strerror or e))
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError("%s: larger than %d bytes: not a scenario file"
                            % (where, MAX_FILE_BYTES))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError("%s: not UTF-8 text (byte 0x%02x at offset %d)"
                            % (where, data[e.start], e.start))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError("%s: not valid TOML: %s" % (where, e))
    except RecursionError:
        raise ScenarioError("%s: not valid TOML here: arrays or tables nested too deeply"
                            % where)
    sc = parse(raw, os.path.splitext(os.path.basename(path))[0])
    sc["path"] = path
    return sc


def parse(raw, default_name="scenario"):
    if not isinstance(raw, dict):
        raise ScenarioError("scenario: must be a TOML table")
    if "units" in raw:
        # A stack of sets on one bus (fleetscenario.py, fleetsim.py).
        from . import fleetscenario
        return fleetscenario.parse(raw, default_name)
    _unknown(raw, TOP_KEYS, "")
    sc = {}
    sc["name"] = check_name(raw.get("name", default_name), from_file="name" not in raw)
    sc["description"] = _text(raw, "description", DESCRIPTION_MAX)
    sc["duration_s"] = float(_num(raw, "duration_s", 1.0, 3600.0, ""))
    sc["seed"] = _num(raw, "seed", 0, SEED_MAX, "", default=1, integer=True)
    sc["fuel"] = _choice(raw, "fuel", FUELS, "", default="natural_gas")
    f = raw.get("f_nom_hz", 60)
    if type(f) is not int or f not in (50, 60):
        raise ScenarioError("f_nom_hz: must be the integer 50 or 60, got %s" % _show(f))
    sc["f_nom_hz"] = f
    sc["governor"] = _choice(raw, "governor", GOVERNORS, "", default="firmware")
    # Firmware settings: validated by the firmware's own Config, as one set
    # (Config.set_many: each range, then every relation between settings on
    # the whole new set), so the scenario and the controller agree on every
    # limit and every rule, whatever order a writer would need.
    fw = _table(raw.get("firmware", {}), "firmware", "a table of settings")
    probe = fw_config.Config()
    for k in sorted(fw):
        v = fw[k]
        if k in _FW_RESERVED:
            raise ScenarioError("firmware.%s: set it with the top-level %s field" % (k, k))
        spec = [s for s in fw_config.SETTINGS if s[0] == k]
        if not spec:
            raise ScenarioError("firmware.%s: unknown setting (known: %s)" % (
                _key(k), ", ".join(s[0] for s in fw_config.SETTINGS if s[0] not in _FW_RESERVED)))
        s = spec[0]
        if not isinstance(v, int) or isinstance(v, bool) or not s[2] <= v <= s[3]:
            raise ScenarioError("firmware.%s: must be an integer between %d and %d, got %s"
                                % (k, s[2], s[3], _show(v)))
    why = probe.set_many([("fuel", fw_fuels.fuel_code(sc["fuel"])), ("f_nom_hz", f)] +
                         sorted(fw.items()))
    if why is not None:
        raise ScenarioError("firmware.%s (as a set with the other [firmware] settings, "
                            "fuel and f_nom_hz)" % why)
    sc["firmware"] = dict(fw)
    start = _choice(raw, "start", ("running", "stopped"), "", default="running")
    sc["start"] = start
    sc["mode"] = _choice(raw, "mode", fw_seq.MODE_NAMES, "", default="auto")
    sc["remote_start"] = _bool(raw, "remote_start", "") if "remote_start" in raw else None
    if sc["governor"] != "firmware" and start != "running":
        raise ScenarioError("governor: %s only runs scenarios with start = \"running\""
                            % sc["governor"])
    g = _table(raw.get("grid", {}), "grid")
    _unknown(g, ("present", "mains_closed"), "grid.")
    present = _bool(g, "present", "grid.", default=False)
    mains_closed = _bool(g, "mains_closed", "grid.", default=present)
    if mains_closed and not present:
        raise ScenarioError("grid.mains_closed: true needs a grid at the site "
                            "(grid.present = true)")
    sc["grid"] = {"present": present, "mains_closed": mains_closed}
    sc["protection_settings"] = _protection(raw.get("protection", {}), probe)
    sc["expect"] = _expect(raw.get("expect", {}), sc["duration_s"])
    sc["plant"] = _params_table(raw, "plant", PLANT_PARAMS, PLANT_RULES)
    sc["ggov1"] = _params_table(raw, "ggov1", GGOV1_PARAMS, GGOV1_RULES)
    ld = _table(raw.get("load", {}), "load")
    _unknown(ld, LOAD_KEYS, "load.")
    sc["load"] = {k: float(_num(ld, k, lo, hi, "load.", default=d))
                  for k, (lo, hi, d) in LOAD_KEYS.items()}
    evs = raw.get("events", [])
    if not isinstance(evs, list):
        raise ScenarioError("events: must be an array of tables ([[events]]), got %s"
                            % _show(evs))
    out = []
    for i, ev in enumerate(evs):
        out.append(parse_event(ev, i, sc["duration_s"], present))
    timed = [(i, e) for i, e in enumerate(out) if "after_state" not in e]
    for (_, a), (i, b) in zip(timed, timed[1:]):
        if b["t_s"] < a["t_s"]:
            raise ScenarioError("events[%d].t_s: events must be in time order (%.3f < %.3f)"
                                % (i, b["t_s"], a["t_s"]))
    sc["events"] = out
    return sc
