"""The analog engine senders (boards/common/senders.py), run in the real
MicroPython unix port and the 32-bit webassembly port: each scaling type
within 1 LSB of the value worked out here by hand (floats) across its range,
for every sender both boards wire and a few more; open and short reported
only after the debounce and cleared the same way; the held values; ADC
extremes; and, inside NativeHal with a stand-in `machine`
(tests/boards_models/machine_world.py), the 74HC4051 read round-robin, the
sender inputs and DI_SENDER_FAULT filled per tick, allocation-free under
heap_lock, for each board's real pin map."""

import math
import os
import runpy
import subprocess
import sys

import pytest

from conftest import ROOT
from host_sim import runtime as rt

FW = os.path.join(ROOT, "firmware")
COMMON = os.path.join(ROOT, "boards", "common")
MODELS = os.path.join(ROOT, "tests", "boards_models")
BOARDS = ("rp2040_pico", "esp32_devkitc")
INTERPS = ("micropython", "micropython32")

sys.path[:0] = [p for p in (FW, COMMON) if p not in sys.path]
import senders as S  # noqa: E402  (CPython: only its tables and constants are used here)


def board_globals(board):
    return runpy.run_path(os.path.join(ROOT, "boards", board, "board.py"))


def run_mp(interp, tmp_path, script, mounts=(), heap="1m", timeout=300):
    (tmp_path / "machine.py").write_text("from machine_world import *\n")
    path = tmp_path / "t.py"
    path.write_text(script)
    mounts = (MODELS, COMMON, FW) + tuple(mounts)
    if interp == "micropython":
        cmd = [rt.micropython_binary(), "-X", "heapsize=" + heap, str(path)]
    else:
        cmd = rt.mp32_command(heap, mounts) + [str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def head(tmp_path, extra=()):
    dirs = [str(tmp_path), MODELS, COMMON, FW] + list(extra)
    return "import sys\nsys.path[:0] = %r\n" % (dirs,)


# --- the scaling, worked out by hand -----------------------------------------

def expected(spec, ref, c):
    """The documented scaling in floats (None where the spec has no value)."""
    kind = spec[0]
    v_pin = c * ref / 65535.0
    if kind == "ma":
        sh, lo, hi = spec[1:4]
        i_ma = v_pin / sh
        v = lo + (i_ma - 4.0) * (hi - lo) / 16.0
        return min(max(v, min(lo, hi)), max(lo, hi))
    if kind == "volt":
        rt_, rb, mlo, vlo, mhi, vhi = spec[1:7]
        vs = v_pin * (rt_ + rb) / rb
        v = vlo + (vs - mlo) * (vhi - vlo) / (mhi - mlo)
        return min(max(v, min(vlo, vhi)), max(vlo, vhi))
    if kind == "div":
        rt_, rb = spec[1:3]
        return v_pin * (rt_ + rb) / rb
    if kind == "res":
        rpu, name = spec[1], spec[2]
        tab = list(S.TABLES[name])[2:]
        pts = list(zip(tab[0::2], tab[1::2]))
        r = math.inf if c >= 65535 else rpu * c / (65535.0 - c) * 10.0   # 0.1 ohm
        if r <= pts[0][0]:
            return pts[0][1]
        if r >= pts[-1][0]:
            return pts[-1][1]
        for (r0, v0), (r1, v1) in zip(pts, pts[1:]):
            if r0 <= r <= r1:
                return v0 + (r - r0) * (v1 - v0) / (r1 - r0)
    raise AssertionError(kind)


def all_specs():
    """Every sender both boards wire, and some more (offsets, a falling
    scale, other shunts and dividers)."""
    out = []
    for b in BOARDS:
        g = board_globals(b)
        for row in tuple(g["SENDER_MUX"]) + tuple(g["SENDER_DIRECT"]):
            out.append((row[0], row[2], g["ADC_REF_MV"]))
    out += [
        ("oil", ("ma", 120, 0, 1000), 3300),
        ("gas", ("ma", 150, 20, 180), 3300),
        ("coolant", ("ma", 100, 1500, -400), 3000),
        ("map", ("volt", 15, 20, 500, 200, 4500, 4000, 250, 4750), 3000),
        ("map", ("ma", 100, 0, 4000), 3300),
        ("batt", ("div", 47, 4), 3300),
        ("oil", ("res", 330, "vdo_oil_10bar"), 3300),
        ("coolant", ("res", 470, "ntc_coolant"), 3300),
    ]
    return out


COUNTS = sorted(set(list(range(0, 65536, 731)) + [1, 65534, 65535, 9532, 39718, 43690]))

SCALE_SCRIPT = '''
import senders
specs = %(specs)r
counts = %(counts)r
for name, spec, ref in specs:
    s = senders.Sender(name, spec, ref)
    print("S", [s.scale(c) for c in counts])
'''


@pytest.mark.parametrize("interp", INTERPS)
def test_every_sender_type_scales_within_one_lsb_of_the_hand_computed_value(interp, tmp_path):
    specs = all_specs()
    out = run_mp(interp, tmp_path, head(tmp_path) + SCALE_SCRIPT % {
        "specs": specs, "counts": COUNTS})
    rows = [eval(line[2:]) for line in out.splitlines() if line.startswith("S ")]
    assert len(rows) == len(specs)
    kinds = set()
    for (name, spec, ref), got in zip(specs, rows):
        kinds.add(spec[0])
        for c, g in zip(COUNTS, got):
            e = expected(spec, ref, c)
            assert isinstance(g, int)
            assert abs(g - e) <= 1.0, (name, spec, ref, c, g, e)
    assert kinds == {"ma", "res", "volt", "div"}


def test_the_scaling_points_cover_each_range_and_the_fault_thresholds_sit_where_documented():
    # 4-20 mA on 100 ohm at 3.3 V: 3.6 mA = 360 mV, 21 mA = 2100 mV.
    s = S.Sender("oil", ("ma", 100, 0, 1000), 3300)
    assert abs(s._c_lo - 360 * 65535 / 3300) <= 0.5 and abs(s._c_hi - 2100 * 65535 / 3300) <= 0.5
    # The NTC's open threshold (150 kohm) and short (20 ohm) on its 1 kohm pull-up.
    s = S.Sender("coolant", ("res", 1000, "ntc_coolant"), 3300)
    assert abs(s._c_hi - 65535 * 150000 / 151000) <= 0.5
    assert abs(s._c_lo - 65535 * 20 / 1020) <= 0.5
    # A table sender reads across its whole table: the count for each
    # breakpoint gives the breakpoint's value.
    for name, rpu in (("vdo_oil_10bar", 220), ("ntc_coolant", 1000)):
        s = S.Sender("oil", ("res", rpu, name), 3300)
        tab = list(S.TABLES[name])[2:]
        for r, v in zip(tab[0::2], tab[1::2]):
            c = round(65535 * r / (r + 10 * rpu))
            assert abs(s.scale(c) - v) <= 1 + abs(expected(("res", rpu, name), 3300, c) - v)


# --- faults, debounce, held values ------------------------------------------

FAULT_SCRIPT = '''
import senders
N = senders.FAULT_SAMPLES
cases = %(cases)r
for name, spec, good, good2, bad in cases:
    s = senders.Sender(name, spec, 3300)
    seq = [good] * 3 + [bad] * N + [good2] * N + [bad] * (N - 1) + [good2] + [bad] * (N - 1)
    tr = []
    for c in seq:
        s.update(c)
        tr.append((s.fault, s.value))
    print("F", name, spec[0], tr)
'''


def _count(spec, ref, target):
    """A count whose scaled value is `target` (search)."""
    best = min(range(0, 65536, 7), key=lambda c: abs(expected(spec, ref, c) - target))
    return best


def test_open_and_short_are_reported_after_the_debounce_cleared_the_same_way_and_values_held(
        tmp_path):
    n = S.FAULT_SAMPLES
    assert n == 4
    oil = ("ma", 100, 0, 1000)
    ntc = ("res", 1000, "ntc_coolant")
    gas = ("ma", 100, 0, 200)
    mp = ("volt", 10, 20, 500, 200, 4500, 4000, 250, 4750)
    vdo = ("res", 220, "vdo_oil_10bar")
    cases = [
        # name, spec, a good count, another good count, a bad count
        ("oil", oil, _count(oil, 3300, 420), _count(oil, 3300, 380), 0),        # open loop
        ("oil", vdo, _count(vdo, 3300, 400), _count(vdo, 3300, 350), 65535),     # open sender
        ("coolant", ntc, _count(ntc, 3300, 850), _count(ntc, 3300, 900), 65535),  # open NTC
        ("coolant", ntc, _count(ntc, 3300, 850), _count(ntc, 3300, 900), 100),   # shorted NTC
        ("gas", gas, _count(gas, 3300, 30), _count(gas, 3300, 25), 65535),       # > 21 mA
        ("map", mp, _count(mp, 3300, 1013), _count(mp, 3300, 1500), 0),          # wire open
        ("map", mp, _count(mp, 3300, 1013), _count(mp, 3300, 1500), 65535),      # short to 5 V
    ]
    for interp in INTERPS:
        out = run_mp(interp, tmp_path, head(tmp_path) + FAULT_SCRIPT % {"cases": cases})
        rows = [line.split(" ", 3) for line in out.splitlines() if line.startswith("F ")]
        assert len(rows) == len(cases)
        for (name, spec, good, good2, bad), row in zip(cases, rows):
            tr = eval(row[3])
            g1 = round(expected(spec, 3300, good))
            g2 = round(expected(spec, 3300, good2))
            kind = spec[0]
            hi = bad > 30000
            want = (S.OPEN if (kind == "res") == hi else S.SHORT)
            hold_safe = name in ("oil", "map")
            assert abs(tr[2][1] - g1) <= 1 and tr[2][0] == 0
            # N - 1 bad samples: nothing reported, the last good value held.
            for k in range(3, 3 + n - 1):
                assert tr[k] == (0, tr[2][1]), (name, k, tr)
            # The N-th: the fault, and the value it holds.
            f, v = tr[3 + n - 1]
            assert f == want, (name, tr)
            assert v == (0 if hold_safe else tr[2][1]), (name, tr)
            # Good again: N - 1 samples change nothing ...
            base = 3 + n
            for k in range(base, base + n - 1):
                assert tr[k] == (want, v), (name, k, tr)
            # ... the N-th clears it, with the new reading at once (the
            # filter starts again from it).
            f, v2 = tr[base + n - 1]
            assert f == 0 and abs(v2 - g2) <= 1, (name, tr)
            # A fault shorter than the debounce, broken by one good sample,
            # is never reported.
            for k in range(base + n, len(tr)):
                assert tr[k][0] == 0 and tr[k][1] == v2, (name, k, tr)


EXTREME_SCRIPT = '''
import senders
specs = %(specs)r
for name, spec, ref in specs:
    out = []
    for c in (0, 65535, -5, 70000):
        s = senders.Sender(name, spec, ref)
        for k in range(senders.FAULT_SAMPLES + 1):
            s.update(c)
        out.append((s.fault, s.value, s.scale(c if 0 <= c <= 65535 else 0)))
    print("X", out)
'''


@pytest.mark.parametrize("interp", INTERPS)
def test_adc_extremes_stay_in_range_and_read_as_the_fault_they_are(interp, tmp_path):
    specs = all_specs()
    out = run_mp(interp, tmp_path, head(tmp_path) + EXTREME_SCRIPT % {"specs": specs})
    rows = [eval(line[2:]) for line in out.splitlines() if line.startswith("X ")]
    assert len(rows) == len(specs)
    for (name, spec, ref), row in zip(specs, rows):
        kind = spec[0]
        lo_v = min(expected(spec, ref, 0), expected(spec, ref, 65535))
        hi_v = max(expected(spec, ref, 0), expected(spec, ref, 65535))
        for (fault, value, scaled), c in zip(row, (0, 65535, 0, 65535)):
            assert lo_v - 1 <= scaled <= hi_v + 1
            assert lo_v - 1 <= value <= hi_v + 1 or value == 0
            if kind == "div":
                assert fault == 0 and abs(value - expected(spec, ref, c)) <= 1
            elif kind == "res":
                assert fault == (S.SHORT if c == 0 else S.OPEN), (name, spec, row)
            elif kind == "volt" and not spec[7 if c == 0 else 8]:
                assert fault == 0
            else:
                assert fault == (S.OPEN if c == 0 else S.SHORT), (name, spec, row)


def test_a_spec_the_arithmetic_cannot_carry_is_refused_when_the_board_starts():
    for spec in (("ma", 200, 0, 1000),          # 21 mA * 200 ohm = 4.2 V > 3.3 V
                 ("ma", 100, 0, 20000),         # span beyond 16000
                 ("res", 2000, "ntc_coolant"),  # pull-up beyond 1600 ohm
                 ("res", 220, "no_such_table"),
                 ("volt", 0, 10, 500, 0, 4500, 4000, 0, 4750),   # 4.75 V > the ADC
                 ("div", 100000, 1),
                 ("pwm", 1)):
        with pytest.raises(ValueError):
            S.Sender("oil", spec, 3300)
    with pytest.raises(ValueError):
        S.Sender("fuel_level", ("ma", 100, 0, 100), 3300)


def test_muldiv_keeps_its_intermediates_small_and_rounds():
    import random
    rng = random.Random(3)
    for _ in range(3000):
        d = rng.randrange(1, 1 << 29)
        n = rng.randrange(0, 1 << 30)
        m = rng.randrange(0, max(1, ((1 << 30) - 1) * d // max(n, 1)))
        m = min(m, (1 << 30) - 1)
        assert S._muldiv(n, m, d) == (2 * n * m + d) // (2 * d)
    for c in (0, 1, 32767, 65534, 65535):
        for k in (0, 1, -1, 1023, 1024, 16777215, -16777215, 123457):
            assert S._cmul(c, k) == (c * k + 32767) // 65535 if k >= 0 else \
                S._cmul(c, k) == -((c * -k + 32767) // 65535)


# --- the bank inside NativeHal, on each board's pin map ----------------------

BANK_SCRIPT = '''
import machine_world as W
import board as B0
import hal
import hal_native
import senders
import micropython
from array import array
from config import Config


class Board:
    pass


for k in dir(B0):
    if not k.startswith("__"):
        setattr(Board, k, getattr(B0, k))
Board.RS485_UART_ID = None      # neither port nor metering IC here
Board.METER_SPI_ID = None
mux = W.setup_mux(Board.SENDER_MUX_ADC_PIN, Board.SENDER_MUX_SEL_PINS)
W.setup_bus(Board.XIO_CLK_PIN, Board.XIO_SER_PIN, Board.XIO_LATCH_PIN, Board.XIO_OE_PIN,
            Board.XIO_QH_PIN)
good = %(good)r
for ch in range(8):
    mux.counts[ch] = good.get(ch, 0)
mapc = %(mapc)r
W.adc_counts[Board.MAP_ADC_PIN] = mapc
h = hal_native.NativeHal(Board, Config())
inp = array("i", [0] * hal.N_IN)
order = []
for t in range(2 * len(Board.SENDER_MUX)):
    before = [mux.reads[c] for c in range(8)]
    h.read(inp)
    order.append([c for c in range(8) if mux.reads[c] != before[c]][0])
    order.append(mux.channel())
print("ORDER", order)
names = {}
for name, ch, spec, k in Board.SENDER_MUX:
    s = senders.Sender(name, spec, Board.ADC_REF_MV)
    names[name] = (senders.ROLES[name][0], s.scale(good[ch]))
for name, pin, spec, k in Board.SENDER_DIRECT:
    s = senders.Sender(name, spec, Board.ADC_REF_MV)
    names[name] = (senders.ROLES[name][0], s.scale(mapc))
print("VALUES", sorted([(n, inp[i], v) for n, (i, v) in names.items()]))
print("DI0", inp[hal.IN_DI] & 512)
print("ADCS", sorted(W.ADC.made, key=lambda x: x[0]))
# The oil sender's wire breaks: its channel reads open from now on.
oil_ch = [r[1] for r in Board.SENDER_MUX if r[0] == "oil"][0]
oil_bad = %(oil_bad)r
mux.counts[oil_ch] = oil_bad
n_mux = len(Board.SENDER_MUX)
seen = array("i", [0] * (6 * n_mux))
micropython.heap_lock()
try:
    for t in range(6 * n_mux):
        h.read(inp)
        seen[t] = inp[hal.IN_DI] & 512
finally:
    micropython.heap_unlock()
seen = list(seen)
print("FAULT", seen.index(512) + 1 if 512 in seen else -1, inp[hal.IN_OIL_KPA])
mux.counts[oil_ch] = good[oil_ch]
for t in range(6 * n_mux):
    h.read(inp)
print("MENDED", inp[hal.IN_DI] & 512, inp[hal.IN_OIL_KPA] == names["oil"][1])
# Coolant open: the last good value held with the fault bit.
cool_ch = [r[1] for r in Board.SENDER_MUX if r[0] == "coolant"][0]
mux.counts[cool_ch] = %(cool_bad)r
for t in range(6 * n_mux):
    h.read(inp)
print("COOL", inp[hal.IN_DI] & 512, inp[hal.IN_COOLANT_DC] == names["coolant"][1])
# The MAP shorted to its supply: 0 (no reading) after 4 ticks, no fault bit.
mux.counts[cool_ch] = good[cool_ch]
for t in range(6 * n_mux):
    h.read(inp)
W.adc_counts[Board.MAP_ADC_PIN] = 65535
m = []
for t in range(6):
    h.read(inp)
    m.append(inp[hal.IN_MAP_KPA_X10])
print("MAP", m, inp[hal.IN_DI] & 512)
'''


def _bank_counts(board):
    g = board_globals(board)
    ref = g["ADC_REF_MV"]
    targets = {"oil": 450, "coolant": 880, "gas": 35, "batt": 27200}
    good = {}
    oil_bad = cool_bad = None
    for name, ch, spec, k in g["SENDER_MUX"]:
        good[ch] = _count(spec, ref, targets[name])
        bad = 65535 if spec[0] == "res" else 0          # an open wire
        if name == "oil":
            oil_bad = bad
        if name == "coolant":
            cool_bad = bad
    spec = g["SENDER_DIRECT"][0][2]
    return g, good, _count(spec, ref, 1013), oil_bad, cool_bad


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("board", BOARDS)
def test_native_hal_reads_the_mux_round_robin_and_reports_sender_faults_without_allocating(
        board, interp, tmp_path):
    g, good, mapc, oil_bad, cool_bad = _bank_counts(board)
    bdir = os.path.join(ROOT, "boards", board)
    script = head(tmp_path, [bdir]) + BANK_SCRIPT % {
        "good": good, "mapc": mapc, "oil_bad": oil_bad, "cool_bad": cool_bad}
    out = run_mp(interp, tmp_path, script, mounts=(bdir,))
    res = dict(line.split(" ", 1) for line in out.strip().splitlines())
    chans = [row[1] for row in g["SENDER_MUX"]]
    n = len(chans)
    order = eval(res["ORDER"])
    # Each tick samples the channel selected at the end of the previous one,
    # and then selects the next: the configured channels in turn.
    sampled = order[0::2]
    selected = order[1::2]
    assert sampled == chans * 2
    assert selected == (chans[1:] + chans[:1]) * 2
    for name, got, want in eval(res["VALUES"]):
        assert got == want, (name, got, want)
    assert res["DI0"] == "0"
    # ESP32: 11 dB attenuation (0-3.3 V) on both ADC1 pins; rp2 has no such option.
    atten = 3 if board == "esp32_devkitc" else None
    assert eval(res["ADCS"]) == sorted([(g["SENDER_MUX_ADC_PIN"], atten),
                                        (g["MAP_ADC_PIN"], atten)])
    fault_tick, oil = (int(x) for x in res["FAULT"].split())
    # The oil channel is sampled every n ticks: reported on its 4th bad
    # sample, with oil at 0 kPa (a low-oil-pressure trip when armed).
    first_bad = chans.index([r[1] for r in g["SENDER_MUX"] if r[0] == "oil"][0]) + 1
    assert fault_tick == first_bad + (S.FAULT_SAMPLES - 1) * n
    assert oil == 0
    assert res["MENDED"] == "0 True"
    assert res["COOL"] == "512 True"
    m, bit = res["MAP"].rsplit(" ", 1)
    m = eval(m)
    assert m[:3] == [m[0]] * 3 and m[0] > 0 and m[3:] == [0, 0, 0] and bit == "0"
