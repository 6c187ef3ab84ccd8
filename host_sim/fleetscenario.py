"""Stack scenarios (issue 12): a scenario file with a [[units]] array is a
stack of GX230s on one bus, each its own engine, alternator, breaker and
controller running the unchanged firmware (fleetsim.py runs it).

Fields (README "Stacked units" documents them; every one is checked here,
and a bad one is one line naming it, before anything runs):
  name, description, duration_s, seed, f_nom_hz  as in a single set's file
  fuel                  every unit's fuel unless the unit says otherwise
  [firmware]            settings for every unit (the firmware's own Config
                        checks each unit's whole set)
  [plant]               the GX230's parameters for every unit
  [load]                the site load: initial_pct of the stack's rating
                        (the sum of every unit's fuel rating), pf, exponents;
                        shed_1_pct..shed_3_pct: the share of the demand on
                        each load-shedding stage's contactor (DO_SHED_k of
                        any unit opens it; default 0: nothing sheddable)
  [grid]                present, mains_closed (the site's mains breaker)
  [link]                the share link: latency_ms (0-1000, default 5),
                        loss_pct (0-100, default 0), seed
  [[units]]             2 to 16 of: id (1-16, unique), fuel, priority (1-255,
                        default the id), start ("running" on the bus, or
                        "stopped"), mode, remote_start (default true),
                        [units.firmware], [units.plant]
  [[events]]            a single set's events, plus: unit = id on input,
                        command and fault events (an input without unit
                        reaches every unit); after_state needs a unit (its
                        state); kind = "link" with action = "cut" (units =
                        [ids]: those are cut off from the rest; none: every
                        unit from every other), "restore", "loss" (loss_pct),
                        "latency" (latency_ms); kind = "setting" with unit,
                        name (a firmware setting that may be written while
                        running, config.LIVE) and value (an integer in its
                        range): written on that unit as SCADA would
The simulator gives each unit fleet_unit_id = its id, fleet_mask = every
id and fleet_prio = its priority; a file may not set those three.
fleet_master_id defaults to the lowest id and may be set per unit (units
that disagree about it never close onto a dead bus: a test of that).
"""

from .scenario import (ScenarioError, FUELS, LOAD_KEYS, PLANT_PARAMS, PLANT_RULES,
                       SEED_MAX, DESCRIPTION_MAX, check_name, parse_event,
                       _num, _choice, _bool, _table, _unknown, _text, _show, _key,
                       _params_table)
from . import firmware_path

firmware_path()
import config as fw_config  # noqa: E402
import fuels as fw_fuels  # noqa: E402
import sequencer as fw_seq  # noqa: E402
import sharelink as fw_sl  # noqa: E402

TOP_KEYS = ("name", "description", "duration_s", "seed", "f_nom_hz", "fuel", "firmware",
            "plant", "load", "grid", "link", "units", "events")
UNIT_KEYS = ("id", "fuel", "priority", "start", "mode", "remote_start", "firmware", "plant")
MIN_UNITS = 2
MAX_UNITS = fw_sl.MAX_UNITS
# Set by the simulator from the unit's place in the file.
_FW_BY_SIM = ("fleet_unit_id", "fleet_mask", "fleet_prio", "fuel", "f_nom_hz")
LINK_KEYS = {"latency_ms": (0.0, 1000.0, 5.0), "loss_pct": (0.0, 100.0, 0.0)}
LINK_ACTIONS = {"cut": (), "restore": (), "loss": ("loss_pct",), "latency": ("latency_ms",)}
UNIT_KINDS = ("input", "command", "fault", "setting")
# The site's sheddable loads, % of its demand on each stage's contactor.
SHED_KEYS = {"shed_1_pct": (0.0, 100.0, 0.0), "shed_2_pct": (0.0, 100.0, 0.0),
             "shed_3_pct": (0.0, 100.0, 0.0)}


def _settings(t, where):
    """A [firmware] table: known settings, integers in range (the relations
    are checked per unit, on the whole set)."""
    t = _table(t, where, "a table of settings")
    for k in sorted(t):
        v = t[k]
        if k in _FW_BY_SIM:
            raise ScenarioError("%s.%s: set by the simulator for a stack (from the unit's id, "
                                "priority, fuel and the file's f_nom_hz)" % (where, k))
        spec = [s for s in fw_config.SETTINGS if s[0] == k]
        if not spec:
            raise ScenarioError("%s.%s: unknown setting" % (where, _key(k)))
        s = spec[0]
        if not isinstance(v, int) or isinstance(v, bool) or not s[2] <= v <= s[3]:
            raise ScenarioError("%s.%s: must be an integer between %d and %d, got %s"
                                % (where, k, s[2], s[3], _show(v)))
    return dict(t)


def _plant(common_raw, unit_raw, where):
    """The unit's [plant]: the file's, then the unit's own on top; each value
    in its limits and the modules' rules on the result."""
    merged = dict(_table(common_raw, "plant"))
    merged.update(_table(unit_raw, where + ".plant"))
    try:
        return _params_table({"plant": merged}, "plant", PLANT_PARAMS, PLANT_RULES)
    except ScenarioError as e:
        msg = str(e)
        if unit_raw:
            msg = where + "." + msg
        raise ScenarioError(msg)


def parse(raw, default_name="scenario"):
    if not isinstance(raw, dict):
        raise ScenarioError("scenario: must be a TOML table")
    _unknown(raw, TOP_KEYS, "")
    sc = {"fleet": True}
    sc["name"] = check_name(raw.get("name", default_name), from_file="name" not in raw)
    sc["description"] = _text(raw, "description", DESCRIPTION_MAX)
    sc["duration_s"] = float(_num(raw, "duration_s", 1.0, 3600.0, ""))
    sc["seed"] = _num(raw, "seed", 0, SEED_MAX, "", default=1, integer=True)
    fuel = _choice(raw, "fuel", FUELS, "", default="natural_gas")
    sc["fuel"] = fuel
    f = raw.get("f_nom_hz", 60)
    if type(f) is not int or f not in (50, 60):
        raise ScenarioError("f_nom_hz: must be the integer 50 or 60, got %s" % _show(f))
    sc["f_nom_hz"] = f
    common = _settings(raw.get("firmware", {}), "firmware")
    g = _table(raw.get("grid", {}), "grid")
    _unknown(g, ("present", "mains_closed"), "grid.")
    present = _bool(g, "present", "grid.", default=False)
    mains_closed = _bool(g, "mains_closed", "grid.", default=present)
    if mains_closed and not present:
        raise ScenarioError("grid.mains_closed: true needs a grid at the site "
                            "(grid.present = true)")
    sc["grid"] = {"present": present, "mains_closed": mains_closed}
    lk = _table(raw.get("link", {}), "link")
    _unknown(lk, tuple(LINK_KEYS) + ("seed",), "link.")
    sc["link"] = {k: float(_num(lk, k, lo, hi, "link.", default=d))
                  for k, (lo, hi, d) in LINK_KEYS.items()}
    sc["link"]["seed"] = _num(lk, "seed", 0, SEED_MAX, "link.", default=sc["seed"],
                              integer=True)
    ld = _table(raw.get("load", {}), "load")
    keys = dict(LOAD_KEYS, **SHED_KEYS)
    _unknown(ld, tuple(keys), "load.")
    sc["load"] = {k: float(_num(ld, k, lo, hi, "load.", default=d))
                  for k, (lo, hi, d) in keys.items()}
    if sum(sc["load"][k] for k in SHED_KEYS) > 100.0:
        raise ScenarioError("load.shed_3_pct: the three stages together may shed at most "
                            "100 %% of the demand, got %g %%"
                            % sum(sc["load"][k] for k in SHED_KEYS))
    units_raw = raw.get("units")
    if not isinstance(units_raw, list) or not MIN_UNITS <= len(units_raw) <= MAX_UNITS:
        raise ScenarioError("units: must be an array of %d to %d tables ([[units]]), got %s"
                            % (MIN_UNITS, MAX_UNITS, _show(units_raw)))
    units = []
    seen = set()
    for i, u in enumerate(units_raw):
        w = "units[%d]" % i
        if not isinstance(u, dict):
            raise ScenarioError("%s: must be a table, got %s" % (w, _show(u)))
        _unknown(u, UNIT_KEYS, w + ".")
        uid = _num(u, "id", 1, MAX_UNITS, w + ".", integer=True)
        if uid in seen:
            raise ScenarioError("%s.id: %d is already another unit's id" % (w, uid))
        seen.add(uid)
        unit = {"id": uid}
        unit["fuel"] = _choice(u, "fuel", FUELS, w + ".", default=fuel)
        unit["priority"] = _num(u, "priority", 1, 255, w + ".", default=uid, integer=True)
        unit["start"] = _choice(u, "start", ("running", "stopped"), w + ".", default="running")
        unit["mode"] = _choice(u, "mode", fw_seq.MODE_NAMES, w + ".", default="auto")
        unit["remote_start"] = _bool(u, "remote_start", w + ".", default=True)
        unit["own_firmware"] = _settings(u.get("firmware", {}), w + ".firmware")
        unit["plant"] = _plant(raw.get("plant", {}), u.get("plant", {}), w)
        units.append(unit)
    mask = 0
    for uid in seen:
        mask |= 1 << uid
    master = min(seen)
    for i, unit in enumerate(units):
        fw = dict(common)
        fw.setdefault("fleet_master_id", master)
        fw.update(unit["own_firmware"])
        fw["fleet_unit_id"] = unit["id"]
        fw["fleet_mask"] = mask
        fw["fleet_prio"] = unit["priority"]
        probe = fw_config.Config()
        why = probe.set_many([("fuel", fw_fuels.fuel_code(unit["fuel"])), ("f_nom_hz", f)] +
                             sorted(fw.items()))
        if why is not None:
            raise ScenarioError("units[%d].firmware.%s (as a set with the file's [firmware], "
                                "the unit's fuel and f_nom_hz)" % (i, why))
        unit["firmware"] = fw
        del unit["own_firmware"]
    sc["units"] = units
    ids = sorted(seen)
    evs = raw.get("events", [])
    if not isinstance(evs, list):
        raise ScenarioError("events: must be an array of tables ([[events]]), got %s"
                            % _show(evs))
    out = []
    for i, ev in enumerate(evs):
        w = "events[%d]." % i
        if not isinstance(ev, dict):
            raise ScenarioError("events[%d]: must be a table, got %s" % (i, _show(ev)))
        ev = dict(ev)
        uid = None
        if "unit" in ev:
            uid = ev.pop("unit")
            if isinstance(uid, bool) or not isinstance(uid, int) or uid not in seen:
                raise ScenarioError("%sunit: must be one of the units' ids (%s), got %s"
                                    % (w, ", ".join(map(str, ids)), _show(uid)))
        kind = ev.get("kind")
        if kind == "link":
            e = _link_event(ev, w, sc["duration_s"], seen, ids)
        elif kind == "setting":
            e = _setting_event(ev, w, sc["duration_s"])
        elif kind == "modbus":
            raise ScenarioError("%skind: modbus events are for a single set's file" % w)
        elif kind == "fuel_quality":
            raise ScenarioError("%skind: fuel_quality is for a single set's file" % w)
        else:
            e = parse_event(ev, i, sc["duration_s"], present)
        if e["kind"] in ("command", "fault", "setting") and uid is None:
            raise ScenarioError("%sunit: a %s event needs the unit it acts on" % (w, e["kind"]))
        if uid is not None and e["kind"] not in UNIT_KINDS + ("link",):
            raise ScenarioError("%sunit: a %s event acts on the site, not on a unit"
                                % (w, e["kind"]))
        if "after_state" in e and uid is None:
            raise ScenarioError("%safter_state: in a stack it needs unit = id (whose state)" % w)
        if uid is not None:
            e["unit"] = uid
        out.append(e)
    timed = [(i, e) for i, e in enumerate(out) if "after_state" not in e]
    for (_, a), (i, b) in zip(timed, timed[1:]):
        if b["t_s"] < a["t_s"]:
            raise ScenarioError("events[%d].t_s: events must be in time order (%.3f < %.3f)"
                                % (i, b["t_s"], a["t_s"]))
    sc["events"] = out
    return sc


def _setting_event(ev, w, duration_s):
    """A setting written on a unit while it runs (its Modbus write)."""
    _unknown(ev, ("kind", "t_s", "name", "value"), w)
    name = ev.get("name")
    if not isinstance(name, str) or name not in fw_config.LIVE:
        raise ScenarioError("%sname: must be a setting written while running (%s), got %s"
                            % (w, ", ".join(fw_config.LIVE), _show(name)))
    row = fw_config.SETTINGS[fw_config._INDEX[name]]
    v = ev.get("value")
    if isinstance(v, bool) or not isinstance(v, int) or not row[2] <= v <= row[3]:
        raise ScenarioError("%svalue: %s must be an integer between %d and %d, got %s"
                            % (w, name, row[2], row[3], _show(v)))
    return {"kind": "setting", "name": name, "value": v,
            "t_s": float(_num(ev, "t_s", 0.0, duration_s, w))}


def _link_event(ev, w, duration_s, seen, ids):
    a = _choice(ev, "action", tuple(LINK_ACTIONS), w)
    allowed = ("kind", "t_s", "action", "after_state") + LINK_ACTIONS[a]
    if a == "cut":
        allowed += ("units",)
    _unknown(ev, allowed, w)
    e = {"kind": "link", "action": a, "t_s": float(_num(ev, "t_s", 0.0, duration_s, w))}
    if "after_state" in ev:
        e["after_state"] = _choice(ev, "after_state", fw_seq.STATE_NAMES, w)
    for k in LINK_ACTIONS[a]:
        lo, hi, _ = LINK_KEYS[k]
        e[k] = float(_num(ev, k, lo, hi, w))
    if a == "cut":
        us = ev.get("units")
        if us is None:
            e["units"] = None          # every unit from every other
        else:
            if not isinstance(us, list) or not us or any(
                    isinstance(x, bool) or not isinstance(x, int) or x not in seen for x in us):
                raise ScenarioError("%sunits: must be a non-empty array of the units' ids (%s), "
                                    "got %s" % (w, ", ".join(map(str, ids)), _show(us)))
            e["units"] = sorted(set(us))
    return e

