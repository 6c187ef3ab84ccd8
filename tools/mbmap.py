"""The GX230 Modbus register map for host tools (gxtool, tests, scripts).

One source of truth: every name, table, address, type, scale, unit and limit
comes from the firmware's own map, registers.points(); nothing is declared
here.  This module adds what a master needs on top of it:

  lookup(name)            the point dict; an unknown name raises UnknownName
                          (one line, with close matches)
  encode(point, value)    engineering value (text, int or float) -> raw words,
                          refusing a value the point cannot hold exactly or
                          that is outside its limits (ValueRefused, one line)
  decode(point, words)    raw words -> (value, reason): value None and reason
                          "not available" / "sensor fault" for a sentinel
  fmt(point, value)       a value as text at the point's resolution
  plan_reads(points)      as few read requests as possible (Read tuples)

32-bit values are high word first.  engineering = raw / scale.
"""

import difflib
from collections import namedtuple
from decimal import Decimal, InvalidOperation

TABLES = ("coil", "discrete_input", "holding_register", "input_register")
# Function code that reads each table (input registers with FC04).
READ_FC = {"coil": 1, "discrete_input": 2, "holding_register": 3, "input_register": 4}
# Most items one read may ask for (Modbus application protocol 6.1-6.4).
MAX_REGS = 125
MAX_BITS = 2000

NOT_AVAILABLE = "not available"
SENSOR_FAULT = "sensor fault"

# (bits, signed) and the sentinels of each type: raw value -> reason
_TYPES = {"bit": (1, False), "u16": (16, False), "s16": (16, True),
          "u32": (32, False), "s32": (32, True)}
def _sentinels():
    from host_sim import firmware_path
    firmware_path()
    import registers_info
    return registers_info.SENTINELS


_SENTINELS = _sentinels()   # the firmware's own (registers_info.SENTINELS)


class MapError(ValueError):
    """A one-line reason a name or a value cannot be used."""


class UnknownName(MapError):
    pass


class ValueRefused(MapError):
    pass


# One read request: table, first address, quantity, FC, the points it covers.
Read = namedtuple("Read", "table address count fc points")

_points = None
_by_name = None
DUPLICATES = []      # points whose name an earlier point already has


def _load():
    global _points, _by_name
    if _points is None:
        from host_sim import firmware_path
        firmware_path()
        import registers
        pts = list(registers.points())
        by = {}
        for p in pts:
            if p["name"] in by:
                # Two points, one name: the first keeps it (the map test
                # flags the clash; a lookup cannot guess which was meant).
                DUPLICATES.append(p)
            else:
                by[p["name"]] = p
        _by_name = by
        _points = pts
    return _points


def points():
    """Every point of the map (the firmware's dicts, in the firmware's order)."""
    return _load()


def names():
    return [p["name"] for p in _load()]


def lookup(name):
    """The point called name; UnknownName (with close matches) otherwise."""
    _load()
    p = _by_name.get(name)
    if p is None:
        close = difflib.get_close_matches(name, _by_name.keys(), n=4, cutoff=0.6)
        if not close:
            # A fragment ("oil", "base") is worth suggesting from too.
            close = [n for n in _by_name if name and name.lower() in n.lower()][:4]
        hint = ("; did you mean %s?" % ", ".join(close)) if close else \
            " (docs/registers.md lists every point)"
        raise UnknownName("unknown point %r%s" % (name, hint))
    return p


def is_bit(p):
    return p["table"] in ("coil", "discrete_input")


def readable(p):
    return "r" in p["access"]


def writable(p):
    return "w" in p["access"] and p["table"] in ("coil", "holding_register")


def n_items(p):
    """Registers (or bits) the point occupies."""
    return 1 if is_bit(p) else int(p["words"])


def _scale(p):
    s = p.get("scale") or 1
    return int(s)


def _type(p):
    t = p.get("type") or ("bit" if is_bit(p) else "u16")
    if t not in _TYPES:
        raise MapError("%s: unknown register type %r in the map" % (p["name"], t))
    return t


def _unit(p):
    u = p.get("unit") or ""
    return (" " + u) if u else ""


def _eng_text(p, raw):
    """raw as exact engineering text, e.g. 1234 at scale 10 -> '123.4'."""
    s = _scale(p)
    d = Decimal(raw) / Decimal(s)
    places = _places(s)
    if places is not None:
        return "%.*f" % (places, d) if places else str(int(d))
    return format(d.normalize(), "f")


def _places(scale):
    """Decimal places of a power-of-ten scale, None for any other scale."""
    n = 0
    while scale > 1 and scale % 10 == 0:
        scale //= 10
        n += 1
    return n if scale == 1 else None


def resolution(p):
    """The smallest step of a point as text ('0.1 kW')."""
    s = _scale(p)
    step = "1" if s == 1 else ("%.*f" % (_places(s), 1 / s) if _places(s) is not None
                               else "1/%d" % s)
    return step + _unit(p)


def raw_range(p):
    """(lo, hi) raw limits: the map's min/max inside the type's range, less
    the sentinels (a value that reads back as "not available" is no value)."""
    t = _type(p)
    bits, signed = _TYPES[t]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if t != "bit":
        hi -= 2
    if p.get("min") is not None:
        lo = max(lo, int(p["min"]))
    if p.get("max") is not None:
        hi = min(hi, int(p["max"]))
    return lo, hi


_TRUE = ("1", "true", "on", "yes", "closed")
_FALSE = ("0", "false", "off", "no", "open")


def to_raw(p, value):
    """Engineering value -> raw int, exactly; ValueRefused with the reason."""
    name = p["name"]
    if is_bit(p):
        t = str(value).strip().lower()
        if isinstance(value, bool):
            return int(value)
        if t in _TRUE:
            return 1
        if t in _FALSE:
            return 0
        raise ValueRefused("%s: %r is not a bit value (use 0 or 1)" % (name, value))
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 0.1 -> "0.1"
        text = repr(value)
    else:
        text = str(value).strip()
    try:
        d = Decimal(text)
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        raise ValueRefused("%s: %r is not a number" % (name, value))
    try:
        raw = d * _scale(p)
        whole = raw == raw.to_integral_value()
    except ArithmeticError:          # decimal overflow: 1e999999999
        raise ValueRefused("%s: %s is far outside %s .. %s%s" % (
            name, text, _eng_text(p, raw_range(p)[0]), _eng_text(p, raw_range(p)[1]),
            _unit(p)))
    if not whole:
        raise ValueRefused("%s: %s%s is not a multiple of the point's resolution %s"
                           % (name, text, _unit(p), resolution(p)))
    raw = int(raw)
    lo, hi = raw_range(p)
    if not lo <= raw <= hi:
        raise ValueRefused("%s: %s%s is outside %s .. %s%s"
                           % (name, text, _unit(p), _eng_text(p, lo), _eng_text(p, hi),
                              _unit(p)))
    return raw


def encode(p, value):
    """Engineering value -> list of raw words (one bit value for a coil)."""
    raw = to_raw(p, value)
    t = _type(p)
    if t == "bit":
        return [raw]
    if _TYPES[t][0] == 16:
        return [raw & 0xFFFF]
    raw &= 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def decode_raw(p, words):
    """Words (or one bit) -> (raw int, None) or (None, sentinel reason)."""
    t = _type(p)
    if t == "bit":
        return int(bool(words[0])), None
    bits, signed = _TYPES[t]
    if bits == 16:
        u = words[0] & 0xFFFF
    else:
        u = ((words[0] & 0xFFFF) << 16) | (words[1] & 0xFFFF)
    why = _SENTINELS[t].get(u)
    if why is not None:
        return None, why
    if signed and u >= 1 << (bits - 1):
        u -= 1 << bits
    return u, None


def decode(p, words):
    """Words -> (engineering value, reason).  The value is an int at scale 1,
    a float otherwise; None (with the reason) for a sentinel."""
    raw, why = decode_raw(p, words)
    if raw is None:
        return None, why
    s = _scale(p)
    return (raw if s == 1 else raw / s), None


def fmt(p, value, reason=None, unit=True):
    """A decoded value as text at the point's resolution ('123.4 kW')."""
    if value is None:
        return "(%s)" % (reason or NOT_AVAILABLE)
    s = _scale(p)
    if s == 1 or is_bit(p):
        text = str(int(value))
    else:
        text = _eng_text(p, round(value * s))
    return text + (_unit(p) if unit else "")


def plan_reads(pts, max_regs=MAX_REGS, max_bits=MAX_BITS):
    """Group points (dicts or names) into as few reads as possible: one table
    per read, contiguous addresses (a gap may be unmapped, and reading it
    would be refused), at most max_regs registers / max_bits bits.  Points
    that are not readable raise MapError."""
    uniq = {}
    for q in pts:
        p = lookup(q) if isinstance(q, str) else q
        if not readable(p):
            raise MapError("%s is write-only" % p["name"])
        uniq[(p["table"], p["address"], p["name"])] = p
    order = sorted(uniq.values(), key=lambda p: (TABLES.index(p["table"]), p["address"]))
    reads = []
    cur = None       # [table, start, end, points]
    for p in order:
        a, n = p["address"], n_items(p)
        limit = max_bits if is_bit(p) else max_regs
        if cur is not None and cur[0] == p["table"] and cur[2] == a and a + n - cur[1] <= limit:
            cur[2] = a + n
            cur[3].append(p)
            continue
        if cur is not None and cur[0] == p["table"] and a < cur[2]:
            # Overlapping points (one register under two names): share the read.
            if a + n <= cur[2] or a + n - cur[1] <= limit:
                cur[2] = max(cur[2], a + n)
                cur[3].append(p)
                continue
        if cur is not None:
            reads.append(cur)
        cur = [p["table"], a, a + n, [p]]
    if cur is not None:
        reads.append(cur)
    return [Read(t, s, e - s, READ_FC[t], tuple(ps)) for t, s, e, ps in reads]


def split_read(r, data):
    """The items of one read (list of words or bits) -> {name: items}."""
    out = {}
    for p in r.points:
        o = p["address"] - r.address
        out[p["name"]] = list(data[o:o + n_items(p)])
    return out


# --- names of coded values (state, mode, bits, alarms, events) ---------------
# The names themselves are the firmware's tuples; what is declared here is
# only which point holds which kind of code.

_fw = {}


def _mods():
    if not _fw:
        from host_sim import firmware_path
        firmware_path()
        import alarms
        import eventlog
        import fuels
        import hal
        import protection
        import registers
        import sequencer
        _fw.update(alarms=alarms, eventlog=eventlog, fuels=fuels, hal=hal,
                   protection=protection, registers=registers, sequencer=sequencer)
    return _fw


def _enum_tables():
    m = _mods()
    pr, sq, rg, hal = m["protection"], m["sequencer"], m["registers"], m["hal"]
    prot_names = tuple(q[pr.P_NAME] for q in pr.PROTECTIONS)
    enums = {"state": sq.STATE_NAMES, "mode": sq.MODE_NAMES,
             "sync_status": rg.SYNC_NAMES, "worst_class": pr.CLASS_NAMES,
             "first_out": prot_names, "last_alarm": prot_names,
             "fuel": tuple(f[m["fuels"].F_NAME] for f in m["fuels"].FUELS)}
    for q in pr.PROTECTIONS:
        enums["prot.%s.class" % q[pr.P_NAME]] = pr.CLASS_NAMES
    bits = {"status": (rg.STATUS_NAMES, 0), "digital_inputs": (hal.DI_NAMES, 0),
            "relay_outputs": (hal.DO_NAMES, 0)}
    for p in points():
        n = p["name"]
        for pre in ("alarms_latched_", "alarms_active_"):
            if n.startswith(pre) and n[len(pre):].isdigit():
                bits[n] = (prot_names, 16 * int(n[len(pre):]))
    return enums, bits


_enums = None


def _tables():
    global _enums
    if _enums is None:
        _enums = _enum_tables()
    return _enums


def state_name(raw):
    return _name_in(_mods()["sequencer"].STATE_NAMES, raw)


def mode_name(raw):
    return _name_in(_mods()["sequencer"].MODE_NAMES, raw)


def _name_in(names, i):
    if i is None:
        return None
    return names[i] if 0 <= i < len(names) else "#%d" % i


def bit_names(names, word, offset=0):
    """Names of the bits set in word (bit 0 = names[offset])."""
    out = []
    b = 0
    while word >> b:
        if (word >> b) & 1:
            out.append(_name_in(names, offset + b))
        b += 1
    return out


def alarm_names(words):
    """Protection names of latched/active bit words 0, 1, 2 ... (16 each)."""
    pr = _mods()["protection"]
    names = tuple(q[pr.P_NAME] for q in pr.PROTECTIONS)
    out = []
    for k, w in enumerate(words):
        if w is not None:
            out += bit_names(names, int(w), 16 * k)
    return out


def describe(p, value):
    """The name(s) a coded value stands for ('loaded', 'running, paralleled'),
    or None for a plain number."""
    if value is None:
        return None
    enums, bits = _tables()
    n = p["name"]
    if n in enums:
        v = int(value)
        if v < 0 and n in ("first_out", "last_alarm"):
            return "none"
        return _name_in(enums[n], v)
    if n in bits:
        names, off = bits[n]
        return ", ".join(bit_names(names, int(value), off)) or "-"
    if n in ("first_out_code", "last_alarm_code", "event_code"):
        return event_name(int(value)) if value else "none"
    if n.startswith("alarm."):
        pr = _mods()["protection"]
        v = int(value)
        parts = [pr.CLASS_NAMES[v & 15] if (v & 15) < len(pr.CLASS_NAMES) else "#%d" % (v & 15)]
        if v & 16:
            parts.append("active")
        if v & 32:
            parts.append("acknowledged")
        parts.append("configured %s" % _name_in(pr.CLASS_NAMES, (v >> 8) & 15))
        return ", ".join(parts)
    return None


def show(p, value, reason=None):
    """'name = value unit (meaning)' for one point."""
    text = fmt(p, value, reason)
    d = describe(p, value)
    return "%s = %s%s" % (p["name"], text, " (%s)" % d if d else "")


def event_codes():
    """{code: name} of every event the firmware logs: protection codes, and
    the EV_* constants of alarms, eventlog and registers."""
    m = _mods()
    pr = m["protection"]
    out = {}
    for mod in (m["eventlog"], m["alarms"], m["registers"]):
        for k in dir(mod):
            v = getattr(mod, k)
            if k.startswith("EV_") and isinstance(v, int) and not isinstance(v, bool):
                out[v] = k[3:].lower()
    for q in pr.PROTECTIONS:
        out[q[pr.P_CODE]] = q[pr.P_NAME]
    return out


_ev = None


def event_name(code):
    global _ev
    if _ev is None:
        _ev = event_codes()
    return _ev.get(code, "code %d" % code)


def event_value_text(code, value):
    """What an event's value means, where the code says (state, mode,
    command, a register address); else the number."""
    if value is None:
        return ""
    m = _mods()
    al, rg, sq = m["alarms"], m["registers"], m["sequencer"]
    if code == al.EV_STATE:
        return _name_in(sq.STATE_NAMES, value)
    if code == al.EV_MODE:
        return _name_in(sq.MODE_NAMES, value)
    if code == al.EV_COMMAND:
        return _name_in(sq.COMMAND_NAMES, value)
    if code in (getattr(rg, "EV_MB_WRITE", None), getattr(rg, "EV_MB_REFUSED", None)):
        p = at_address("holding_register", value)
        return "%d (%s)" % (value, p["name"]) if p else str(value)
    return str(value)


def event_value_of_write(write_code, register, value):
    """The value of an EV_MB_VALUE entry in the units of the register the
    EV_MB_WRITE / EV_MB_REFUSED entry before it names ('1300 = 130.0 kW')."""
    rg = _mods()["registers"]
    if write_code not in (getattr(rg, "EV_MB_WRITE", None), getattr(rg, "EV_MB_REFUSED", None)):
        return None
    p = at_address("holding_register", register)
    if p is None or p["address"] != register or is_bit(p):
        return None
    s = _scale(p)
    return "%d = %s" % (value, fmt(p, value if s == 1 else value / s))


def at_address(table, address):
    """The point of table that starts at (or covers) address, None if none."""
    for p in points():
        if p["table"] == table and p["address"] <= address < p["address"] + n_items(p):
            return p
    return None
