"""Every count the firmware and the board code keep stays inside a 32-bit
port's 31-bit small ints, however long the set runs: a counter past 2**30
becomes a heap object (an allocation on every count from then on, in the
tick) and raises once stored in an array('i') (a Modbus read, the link).
At 100 Hz a tick counter gets there in 124 days, a ms timer in 12.4 days.

Statically: every `self.x += ...` / `self.x -= ...` in firmware/ and
boards/common/ sits under a test of that same attribute (a saturation), or
is listed here with why it is bounded.  Dynamically: the counts that grow
with time stop or wrap where they should."""

import ast
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (file, attribute): why it is bounded without a test of its own.
BOUNDED = {
    ("boards/common/atm90e32.py", "_warm"): "counts down from _N_SLOTS; the state leaves ST_WARM at 0",
    ("boards/common/hal_native.py", "_led_n"): "reset to 0 at _LED_TICKS",
    ("boards/common/senders.py", "_n"): "reset at _nf (the fault debounce)",
    ("boards/common/senders.py", "_acc"): "a first-order filter of a bounded ADC count",
    ("firmware/antiisland.py", "_left"): "counts down; a new window reloads it at 0",
    ("firmware/antiisland.py", "_a"): "a window's sum of clipped deviations (<= window x _CLIP_MHZ), reset per window",
    ("firmware/antiisland.py", "_b"): "as _a",
    ("firmware/controller.py", "_run_ms"): "reduced by 1000 each time it reaches 1000",
    ("firmware/governor.py", "integ_q12"): "clamped to the fuel range around the feed-forward in _limit on every update",
    ("firmware/ignition.py", "_run"): "the cut locks out and resets once it passes _MAX_TICKS",
    ("firmware/measure.py", "_mpu_stale"): "clamped to _MPU_STALE_TICKS on the next line",
    ("firmware/sequencer.py", "attempt"): "at most crank_attempts (then the sequence stops)",
    ("firmware/synccheck.py", "_sum"): "the running sum of a ring of clamped slips (adds new - old)",
}


def _sources():
    for pat in ("firmware/*.py", "boards/common/*.py"):
        for p in sorted(glob.glob(os.path.join(ROOT, pat))):
            yield os.path.relpath(p, ROOT)


def _unguarded(rel):
    tree = ast.parse(open(os.path.join(ROOT, rel)).read())
    parents = {}
    for node in ast.walk(tree):
        for ch in ast.iter_child_nodes(node):
            parents[ch] = node
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub))):
            continue
        t = node.target
        base = t.value if isinstance(t, ast.Subscript) else t
        if not (isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
                and base.value.id == "self"):
            continue
        name = base.attr
        p = parents.get(node)
        guarded = False
        while p is not None and not isinstance(p, (ast.FunctionDef, ast.ClassDef)):
            if isinstance(p, (ast.If, ast.While)) and ("self." + name) in ast.unparse(p.test):
                guarded = True
                break
            p = parents.get(p)
        if not guarded:
            out.append((name, node.lineno))
    return out


def test_every_count_kept_on_self_is_saturated_or_known_bounded():
    bad = []
    for rel in _sources():
        for name, line in _unguarded(rel):
            if (rel, name) not in BOUNDED:
                bad.append("%s:%d self.%s" % (rel, line, name))
    assert bad == [], "unbounded counts (saturate them, or say why they are bounded): %s" % bad


def test_every_listed_exception_still_exists():
    # An entry whose code has gone would excuse the next count of that name.
    found = set()
    for rel in _sources():
        for name, _ in _unguarded(rel):
            found.add((rel, name))
    assert set(BOUNDED) <= found, set(BOUNDED) - found


def test_the_checker_finds_a_bare_count(tmp_path, monkeypatch):
    d = tmp_path / "firmware"
    d.mkdir()
    (d / "x.py").write_text("class X:\n    def f(self):\n        self.n += 1\n"
                            "    def g(self):\n        if self.m < 9:\n            self.m += 1\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    assert _unguarded("firmware/x.py") == [("n", 3)]


def test_the_tick_counter_wraps_to_one_and_the_run_counters_stop():
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "fw"))
    from helpers import loaded_controller
    h, c = loaded_controller()
    c.ticks = 1000000000 - 1
    c.run_s = 1000000000
    c.tick()
    assert c.ticks == 1000000000
    c.tick()
    assert c.ticks == 1                  # never 0: 0 means "not ticked yet"
    for _ in range(120):
        c.tick()
    assert c.run_s == 1000000000
    assert c.begin(5000, c.cfg.rated_rpm_x10) is False
