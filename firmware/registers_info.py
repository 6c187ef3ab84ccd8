"""Host-side half of the register map: the expansion of registers.py's table
and generated blocks into one dict per point (docs/registers.md,
registers.json / .csv, gxtool, scripted scenario requests), the unit and
scale of the generated points, and each explicit point's description.

Kept out of registers.py so a board does not carry ~30 KB of prose and
expansion code it never runs; the table itself - addresses, types, scales,
units, access, sources and interlocks - stays in registers.py, and
tests/test_registers.py checks this file describes every point it has.
"""

import hal
import config as cf
import protection as pr
import sequencer as sq
from registers import (POINTS, TABLE_NAMES, TYPE_NAMES, ACCESS_NAMES, LOCK_NAMES, T_U32,
                       T_S32, L_SETPOINT, L_UNLOCK, L_STOPPED, ALARM_BASE, SET_BASE,
                       PROT_BASE, PROT_STRIDE, DI_IN, DI_OUT, DI_STATUS, DI_LATCHED,
                       DI_ACTIVE, STATUS_NAMES)


def _raw32(hi, lo):
    """A 32-bit raw value from its two registers.  Above 2**30 it is a
    bigint on a 32-bit port, so it is made here at import (host decoding
    only, never the tick) rather than written as a literal, which would be
    a bigint constant in the image (tests/test_frozen_constants.py)."""
    return hi << 16 | lo


# Raw values that are not measurements, by type (what Registers._put writes
# for the NA and FAULT markers): "not available" and "sensor fault".
SENTINELS = {
    "u16": {0xFFFF: "not available", 0xFFFE: "sensor fault"},
    "s16": {0x7FFF: "not available", 0x7FFE: "sensor fault"},
    "u32": {_raw32(0xFFFF, 0xFFFF): "not available", _raw32(0xFFFF, 0xFFFE): "sensor fault"},
    "s32": {_raw32(0x7FFF, 0xFFFF): "not available", _raw32(0x7FFF, 0xFFFE): "sensor fault"},
}

DESCRIPTIONS = {
    'speed_rpm': 'engine speed (pickup); sensor fault when the pickup is lost',
    'gen_f_hz': 'generator frequency; not available without generator voltage',
    'gen_v_v': 'generator line-line voltage',
    'gen_ia_a': 'phase A current',
    'gen_ib_a': 'phase B current',
    'gen_ic_a': 'phase C current',
    'p_kw': 'generator active power',
    'q_kvar': 'generator reactive power (+ exporting vars)',
    'pf': 'power factor, + lagging; not available below 2 % of rating',
    'p_pct': "active power, % of this fuel's rating",
    'bus_f_hz': 'mains-side frequency; not available without mains voltage',
    'bus_v_v': 'mains-side line-line voltage',
    'grid_p_kw': 'grid import at the PCC (+ import, - export)',
    'grid_q_kvar': 'reactive import at the PCC',
    'phase_deg': 'generator minus mains phase; not available unless both are live',
    'slip_hz': 'generator minus mains frequency (filtered); not available unless both are live',
    'oil_kpa': 'lube oil pressure',
    'coolant_degc': 'coolant temperature',
    'gas_mbar': 'gas supply pressure',
    'map_kpa': 'intake manifold absolute pressure (not available: no valid MAP sensor reading)',
    'batt_v': 'starter battery voltage',
    'rocof_hz_s': 'rate of change of frequency',
    'vshift_deg': 'vector shift of the last cycle',
    'f_dev_hz': 'generator frequency minus nominal',
    'fuel_pct': 'fuel actuator command',
    'avr_bias_pct': 'AVR bias command, % of its range',
    'speed_ref_rpm': 'governor speed reference',
    'p_ref_kw': 'power-control reference; not available unless paralleled',
    'site_kw': 'site load: generator plus grid import',
    'state': 'sequence state (sequencer.STATE_NAMES)',
    'mode': '0 off, 1 manual, 2 auto',
    'status': 'status bits (STATUS_NAMES, bit 0 first)',
    'sync_status': '0 idle, 1 synchronising, 2 in window, 3 closing',
    'digital_inputs': 'digital inputs (hal.DI_NAMES, bit 0 first)',
    'relay_outputs': 'relay outputs (hal.DO_NAMES, bit 0 first)',
    'first_out': 'first alarm since the last reset: protection index, -1 none',
    'first_out_code': 'its alarm code, 0 none',
    'worst_class': 'worst latched class (protection.CLASS_NAMES)',
    'alarm_count': 'alarms latched',
    'last_alarm': 'most recent alarm: protection index, -1 none',
    'last_alarm_code': 'its alarm code, 0 none',
    'alarms_latched_0': 'latched: protections 0..15 (bit i)',
    'alarms_latched_1': 'latched: protections 16..31',
    'alarms_latched_2': 'latched: protections 32..47',
    'alarms_active_0': 'condition present: protections 0..15',
    'alarms_active_1': 'condition present: protections 16..31',
    'alarms_active_2': 'condition present: protections 32..47',
    'run_s': 'engine running time since power-up',
    'starts': 'successful starts since power-up',
    'kwh': 'energy produced since power-up',
    'uptime_s': 'controller time since power-up (wraps at 2**30 ms)',
    'fleet_step_kw': 'the load step the stack can accept now: the running units\' fuel step envelopes, each capped by its spare capacity (not available on a single set)',
    'fleet_capacity_kw': 'the rating of the units on the bus (not available on a single set)',
    'fleet_load_kw': 'the load the units on the bus carry (not available on a single set)',
    'fleet_units_running': 'units on the bus or starting (not available on a single set)',
    'fleet_shed_stage': 'load shedding stage 0..3 (not available on a single set)',
    'fleet_sharing': '1: island load sharing isochronous, 0: droop fallback (link lost) (not available on a single set)',
    'fleet_deadbus_wait': 'why a dead-bus close waits: 0 none, 1 claiming, 2 a unit unheard, 3 yielding, 4 master mismatch, 5 duplicate id (not available on a single set)',
    'share_frames_good': 'share-link frames taken (not available on a single set)',
    'share_frames_refused': 'share-link frames refused: length, sync, CRC, unit id, duplicate id, impossible figures, repeats (not available on a single set)',
    'fleet_plant_rev': 'revision of the plant set points (pc_mode, base_kw_x10, import_cap_kw_x10, export_limit_kw_x10, import_min_kw_x10) this unit holds: +1 at a write on any unit of the stack, the same on every unit once they agree (not available on a single set)',
    'fleet_plant_set': '1: the plant set points held are the stack\'s (written or taken since boot), 0: still its boot configuration (not available on a single set)',
    'fleet_plant_refused': 'plant set points heard from the stack that this unit\'s settings refused (out of their ranges): nothing taken (not available on a single set)',
    'mb_bus_msgs': 'frames with a good CRC on the line',
    'mb_crc_errors': 'frames with a bad CRC',
    'mb_exceptions': 'exception replies sent',
    'mb_server_msgs': 'frames for this address or broadcast',
    'mb_no_response': 'frames for us not answered (broadcast, listen-only)',
    'mb_overruns': 'receive buffer overruns',
    'mb_gap_drops': 'partial frames dropped by the t3.5 gap',
    'mb_foreign': 'good frames for other addresses',
    'mb_hunted_bytes': 'bytes skipped resynchronising after garbage',
    'mb_writes_refused': 'Modbus writes refused (exception 02/03/04)',
    'mb_writes': 'Modbus writes accepted',
    'refused_total': 'setting writes and commands refused on every path',
    'mb_code_fails': 'wrong access codes since the last right one',
    'fw_major': 'firmware version: major',
    'fw_minor': 'firmware version: minor',
    'fw_patch': 'firmware version: patch',
    'map_crc': 'CRC-16 of this register map (docs/registers.md names it)',
    'settings_crc': 'CRC-16 of the setting table',
    'link_version': 'tick-link protocol version',
    'n_protections': 'protections in this firmware',
    'unlocked_s': 'configuration writes open this long yet (0 locked)',
    'event_count': 'entries held in the event log',
    'event_newest_seq': 'seq of the newest entry; not available when empty',
    'event_seq': 'entry at event_index: seq',
    'event_boot': 'entry at event_index: boot count',
    'event_t_ms': 'entry at event_index: controller time',
    'event_code': 'entry at event_index: code (alarm code or EV_*)',
    'event_value': 'entry at event_index: value',
    'event_valid': '1 if event_index selects an entry',
    'command': '[code, code ^ 0xFFFF]: 1 start 2 stop 3 reset 4 ack 5 mode_off 6 mode_manual 7 mode_auto 8 close_gcb 9 open_gcb',
    'access_code': 'write mb_access_code to open configuration writes',
    'event_index': 'selects the event log entry read at 403..411: 0 newest',
    'ack': 'write 1: acknowledge (silence the horn)',
    'reset': 'write 1: reset alarms whose condition has gone',
    'config_lock': 'write 1: close configuration writes now',
}


# Unit and scale of a setting from its name's suffix (units are in every
# name): the point name drops the scale suffix.
SUFFIXES = (
    ("_kw_x10", "_kw", "kW", 10), ("_kvar_x10", "_kvar", "kvar", 10),
    ("kvar_x10", "kvar_set", "kvar", 10),
    ("_a_x10", "_a", "A", 10), ("_pct_x100", "_pct", "%", 100), ("_pct_x10", "_pct", "%", 10),
    ("_rpm_x10_s", "_rpm_s", "rpm/s", 10), ("_rpm_x10", "_rpm", "rpm", 10),
    ("_pu_x100", "_pu", "pu", 100), ("_x1000", "_set", "", 1000), ("_dv", "_v", "V", 10),
    ("_mhz", "_hz", "Hz", 1000), ("_cdeg", "_deg", "deg", 100), ("_pct_s", "_pct_s", "%/s", 1),
    ("_pct", "_pct", "%", 1), ("_pu_ms", "_pu_ms", "pu ms", 1), ("_ms", "_ms", "ms", 1),
    ("_hz", "_hz", "Hz", 1), ("_s", "_s", "s", 1),
)

# Unit and scale of each protection source's pickup (index SRC_*).
# One row per protection source (protection.SRC_*): the unit and scale of
# its pickups (register map, gxtool) and what they are measured against
# (docs/protections.md).
SRC_UNITS = (
    ("%", 100, "of rated speed"), ("Hz", 1000, "from nominal"), ("%", 100, "of rated V"),
    ("%", 100, "of rated kW"), ("%", 100, "of rated kW (kvar)"), ("%", 100, "of rated A"),
    ("%", 100, "of rated A (unbalance)"), ("%", 100, "of rated A (inverse time)"),
    ("kPa", 1, ""), ("degC", 10, ""), ("mbar", 1, ""), ("V", 1000, ""),
    ("bits", 1, "DI bit mask"), ("bits", 1, "flag bit mask"), ("Hz/s", 1000, ""),
    ("deg", 100, "vector shift"), ("%", 100, "of rated kW (grid import)"),
    ("%", 100, "of rated speed, while not recovering"),
)


def src_unit_text(src):
    """A source's pickup unit as the docs print it, e.g. "% x100 of rated speed"."""
    unit, scale, what = SRC_UNITS[src]
    return " ".join(x for x in (unit, "x%d" % scale if scale > 1 else "", what) if x)


def setting_point(name):
    """(point name, unit, scale) of a config setting."""
    for suf, rep, unit, scale in SUFFIXES:
        if name.endswith(suf):
            return name[:len(name) - len(suf)] + rep, unit, scale
    return name, "", 1


def points():
    """Every point as a dict: the explicit rows and the generated blocks
    (host side: docs, exports, gxtool; also the map CRC)."""
    out = []
    for p in POINTS:
        w = 2 if p[3] == T_U32 or p[3] == T_S32 else 1
        out.append({"name": p[2], "table": TABLE_NAMES[p[0]], "address": p[1],
                    "words": w, "type": TYPE_NAMES[p[3]], "scale": p[4], "unit": p[5],
                    "access": ACCESS_NAMES[p[6]], "min": None, "max": None,
                    "interlock": LOCK_NAMES[p[9]], "description": DESCRIPTIONS[p[2]]})
        if p[2] == "command":
            out[-1]["min"] = 1
            out[-1]["max"] = sq.CMD_OPEN
        elif p[2] == "access_code":
            out[-1]["min"] = 0
            out[-1]["max"] = 9999
        elif p[2] == "event_index":
            out[-1]["min"] = 0
            out[-1]["max"] = 32767
    for i in range(pr.N_PROT):
        q = pr.PROTECTIONS[i]
        out.append({"name": "alarm." + q[pr.P_NAME], "table": "input_register",
                    "address": ALARM_BASE + i, "words": 1, "type": "u16", "scale": 1,
                    "unit": "", "access": "r", "min": None, "max": None, "interlock": "none",
                    "description": "alarm %d (code %d): bits 0-3 latched class, bit 4 active, "
                    "bit 5 acknowledged, bits 8-11 configured class" % (i, q[pr.P_CODE])})
    for i, s in enumerate(cf.SETTINGS):
        name, unit, scale = setting_point(s[0])
        lock = L_SETPOINT if s[0] in cf.SETPOINTS else (L_UNLOCK if s[0] in cf.LIVE else L_STOPPED)
        out.append({"name": name, "table": "holding_register", "address": SET_BASE + 2 * i,
                    "words": 2, "type": "s32", "scale": scale, "unit": unit,
                    "access": "w" if s[0] == "mb_access_code" else "rw",
                    "min": s[2], "max": s[3], "interlock": LOCK_NAMES[lock],
                    "description": "setting %s (default %d)" % (s[0], s[1])})
    for i in range(pr.N_PROT):
        q = pr.PROTECTIONS[i]
        lo, hi, dlo, dhi = pr.limits(i)
        unit, scale, _ = SRC_UNITS[q[pr.P_SRC]]
        for f in range(len(pr.FIELD_NAMES)):
            fixed = f == pr.F_CURVE and q[pr.P_KIND] != pr.K_INVERSE
            fname = pr.FIELD_NAMES[f]
            if f == pr.F_ENABLE:
                lim = (1, 1) if q[pr.P_FIXED] else (0, 1)
                u, sc = "", 1
            elif f == pr.F_PICKUP:
                lim = (lo, hi)
                u, sc = unit, scale
                if q[pr.P_KIND] == pr.K_BIT:
                    u, sc = "bits", 1
            elif f == pr.F_DELAY_MS:
                lim = (dlo, dhi)
                u, sc = ("ms", 1) if q[pr.P_KIND] != pr.K_INVERSE else ("TMS", 1000)
            elif f == pr.F_CLASS:
                lim = (q[pr.P_FLOOR], pr.CL_ESTOP)
                u, sc = "", 1
            else:
                lim = (0, 3)
                u, sc = "", 1
            out.append({"name": "prot.%s.%s" % (q[pr.P_NAME], fname),
                        "table": "holding_register",
                        "address": PROT_BASE + PROT_STRIDE * i + 2 * f, "words": 2,
                        "type": "s32", "scale": sc, "unit": u,
                        "access": "r" if fixed else "rw",
                        "min": None if fixed else lim[0], "max": None if fixed else lim[1],
                        "interlock": "none" if fixed else LOCK_NAMES[L_UNLOCK],
                        "description": ("protection %s (code %d): not inverse time, no curve; "
                                        "reads not available" if fixed else
                                        "protection %s (code %d) " + fname)
                        % (q[pr.P_NAME], q[pr.P_CODE])})
    for k, n in enumerate(hal.DI_NAMES):
        out.append(_bit(n, DI_IN + k, "digital input %s" % n))
    for k, n in enumerate(hal.DO_NAMES):
        out.append(_bit("do_" + n, DI_OUT + k, "relay output %s" % n))
    for k, n in enumerate(STATUS_NAMES):
        out.append(_bit(n, DI_STATUS + k, "status: %s" % n))
    for i in range(pr.N_PROT):
        q = pr.PROTECTIONS[i]
        out.append(_bit("latched." + q[pr.P_NAME], DI_LATCHED + i, "alarm latched"))
        out.append(_bit("active." + q[pr.P_NAME], DI_ACTIVE + i, "alarm condition present"))
    return out


def _bit(name, addr, desc):
    return {"name": name, "table": "discrete_input", "address": addr, "words": 1,
            "type": "bit", "scale": 1, "unit": "", "access": "r", "min": None, "max": None,
            "interlock": "none", "description": desc}
