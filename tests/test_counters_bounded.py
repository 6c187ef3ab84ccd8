"""Every count the firmware and the board code keep stays inside a 32-bit
port's 31-bit small ints, however long the set runs: a counter past 2**30
becomes a heap object (an allocation on every count from then on, in the
tick) and raises once stored in an array('i') (a Modbus read, the link).
At 100 Hz a tick counter gets there in 124 days, a ms timer in 12.4 days.

Statically: every `self.x += ...` / `self.x -= ...` in firmware/ and
boards/common/, and every `self.x = <a sum of self.x>` (the form @viper code
writes, directly or through a local read from self.x), sits under a test of
that same attribute or local (a saturation), is clamped, masked or wrapped
on its way, or is listed here with why it is bounded.  Dynamically: the counts that grow
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
    ("firmware/governor.py", "integ_q12"): "clamped to the fuel range around the feed-forward in _limit on every update",
    ("firmware/ignition.py", "_run"): "the cut locks out and resets once it passes _MAX_TICKS",
    ("firmware/measure.py", "_mpu_stale"): "clamped to _MPU_STALE_TICKS on the next line",
    ("firmware/sequencer.py", "attempt"): "at most crank_attempts (then the sequence stops)",
    ("firmware/synccheck.py", "_sum"): "the running sum of a ring of clamped slips (adds new - old)",
    ("firmware/governor.py", "_p_slow"): "a first-order low-pass of the clamped kW (pct_x100)",
    ("firmware/governor.py", "_err_lp"): "a first-order low-pass of the clamped speed error",
    ("firmware/governor.py", "_u_fast_q4"): "a first-order low-pass of the clamped fuel output",
    ("firmware/governor.py", "_u_slow_q4"): "a first-order low-pass of _u_fast_q4",
    ("firmware/measure.py", "_per_sum"): "the running sum of a ring of clamped periods (adds new - old)",
    ("firmware/modbus.py", "n"): "bytes held in the receive buffer: an overrun past _RX starts it again",
    ("firmware/modbus.py", "h"): "a parse position inside the receive buffer (<= n), reset by compaction",
    ("boards/common/atm90e32.py", "_op"): "the init sequence's step: reset to 0 once its last step ran",
    ("boards/common/mcp2515.py", "_retry"): "counts down to a begin(); a failed begin reloads RETRY_SENDS",
    ("firmware/loadshare.py", "_peer_p"): "the sharing peers' kW, summed afresh at every update (each period); a frame between moves one peer's term",
    ("firmware/loadshare.py", "_peer_r"): "as _peer_p, their ratings",
    ("firmware/loadshare.py", "_age_sum"): "as _peer_p, their ages x rating: one period's growth past stale_ms at most",
}


def _sources():
    for pat in ("firmware/*.py", "boards/common/*.py"):
        for p in sorted(glob.glob(os.path.join(ROOT, pat))):
            yield os.path.relpath(p, ROOT)


def _self_attrs(node):
    """Names A of the self.A read anywhere in node."""
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "self"}


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _has_addsub(node):
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub))
               for n in ast.walk(node))


def _unguarded(rel):
    """(attribute, line) of each count on self not under a test of it.  A
    count is `self.x += / -= ...`, and also the form @viper code needs (no
    augmented assignment on an attribute there): `self.x = <a sum of
    self.x>`, directly or through locals read from self.x
    (`n = int(self.x) + 1 ... self.x = n`).  A test guards it when it reads
    self.x or such a local (an if/while above it, or the conditional
    expression it stores)."""
    tree = ast.parse(open(os.path.join(ROOT, rel)).read())
    parents = {}
    for node in ast.walk(tree):
        for ch in ast.iter_child_nodes(node):
            parents[ch] = node
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        # Locals read from self.A (the A they stand for), and those that
        # grew by a sum along the way.
        derived = {}
        grown = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                attrs = _self_attrs(node.value) | {derived[n] for n in _names(node.value)
                                                   if n in derived}
                if attrs:
                    derived.setdefault(name, sorted(attrs)[0])
                    if _has_addsub(node.value):
                        grown.add(name)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                    and isinstance(node.op, (ast.Add, ast.Sub)) and node.target.id in derived:
                grown.add(node.target.id)
        # Locals clamped or wrapped on their way: assigned a conditional
        # expression that tests them, reset under an if/while that tests
        # them, or masked / reduced (& or % at the top).
        clamped = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                n = node.targets[0].id
                v = node.value
                src = {n} | {"self." + a for a in _self_attrs(v)}
                if any(isinstance(x, ast.IfExp) and (src & (_names(x.test) | {
                        "self." + a for a in _self_attrs(x.test)})) for x in ast.walk(v)) or any(
                        isinstance(x, ast.BinOp) and isinstance(x.op, (ast.BitAnd, ast.Mod))
                        for x in ast.walk(v)) or any(
                        isinstance(x, ast.Call) and isinstance(x.func, ast.Name)
                        and x.func.id == "sat" for x in ast.walk(v)):
                    clamped.add(n)
            elif isinstance(node, (ast.If, ast.While)):
                for st in node.body:
                    t = st.targets[0] if isinstance(st, ast.Assign) and len(st.targets) == 1 \
                        else (st.target if isinstance(st, ast.AugAssign) else None)
                    if isinstance(t, ast.Name) and t.id in _names(node.test):
                        clamped.add(t.id)
        for node in ast.walk(fn):
            name = None
            if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
                t = node.target
                base = t.value if isinstance(t, ast.Subscript) else t
                if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) \
                        and base.value.id == "self":
                    name = base.attr
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                t = node.targets[0]
                base = t.value if isinstance(t, ast.Subscript) else t
                if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) \
                        and base.value.id == "self":
                    a = base.attr
                    v = node.value
                    mine = {n for n, x in derived.items() if x == a}
                    direct = _has_addsub(v) and (a in _self_attrs(v) or _names(v) & mine)
                    via = _names(v) & mine & grown
                    if direct or via:
                        name = a
            if name is None:
                continue
            watch = {"self." + name} | {n for n, x in derived.items() if x == name}

            def reads(expr):
                txt = ast.unparse(expr)
                return ("self." + name) in txt or bool(_names(expr) & watch)
            guarded = isinstance(node, ast.Assign) and (
                any(isinstance(n, ast.IfExp) and reads(n.test) for n in ast.walk(node.value))
                or (isinstance(node.value, ast.BinOp)
                    and isinstance(node.value.op, (ast.BitAnd, ast.Mod)))
                or (isinstance(node.value, ast.Name) and node.value.id in clamped))
            p = parents.get(node)
            while not guarded and p is not None and not isinstance(p, (ast.FunctionDef,
                                                                         ast.ClassDef)):
                if isinstance(p, (ast.If, ast.While)) and reads(p.test):
                    guarded = True
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
                            "    def g(self):\n        if self.m < 9:\n            self.m += 1\n"
                            # the forms @viper code writes: found unguarded ...
                            "    def h(self):\n        k = int(self.k) + 1\n        self.k = k\n"
                            "        self.j = int(self.j) - 2\n"
                            # ... and guarded
                            "    def i(self):\n        q = int(self.q)\n"
                            "        self.q = q + 1 if q < 9 else q\n"
                            "        r = int(self.r) + 5\n        if r >= 10:\n            r -= 10\n"
                            "        self.r = r\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(tmp_path))
    assert sorted(_unguarded("firmware/x.py")) == [("j", 10), ("k", 9), ("n", 3)]


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
