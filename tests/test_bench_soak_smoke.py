"""The soak (make soak) compares every runtime it is given, the 32-bit port
among them, and counts a runtime that disagrees as a mismatch: a short
scenario, one seed, all three runtimes; then a tampered digest."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from host_sim import scenario as sc_mod  # noqa: E402
from tools import bench  # noqa: E402


def test_a_soak_run_compares_cpython_the_unix_port_and_the_32_bit_port():
    sc = sc_mod.load("fault-estop")
    sc["duration_s"] = 6
    r = bench._soak_one(("fault-estop", sc, sc["seed"],
                         ("cpython", "micropython", "micropython32")))
    assert r["match"], r
    assert r["cpython"] == r["micropython"] == r["micropython32"]
    rows = bench.soak_table([r])
    assert rows[0]["runs"] == 1 and rows[0]["runs_32"] == 1 and rows[0]["match"] == 1
    # A 32-bit digest that differs is a mismatch, not a pass.
    bad = dict(r, micropython32="0" * 64, match=False)
    rows = bench.soak_table([bad])
    assert rows[0]["match"] == 0 and rows[0]["mismatch"] == [r["seed"]]
    # A 32-bit run that failed is a failure naming its error.
    failed = dict(r, micropython32=None, micropython32_error="boom", match=False)
    rows = bench.soak_table([failed])
    assert rows[0]["error"] == [{"seed": r["seed"], "message": "boom"}]


def test_soak_gives_the_32_bit_port_only_its_first_seeds(monkeypatch):
    seen = []
    monkeypatch.setattr(bench, "_soak_one", lambda job: seen.append(job) or
                        {"scenario": job[0], "seed": job[2], "cpython": "a", "micropython": "a",
                         "match": True, "cpython_wall_s": 0.0, "micropython_wall_s": 0.0})
    bench.soak(n_seeds=4, jobs=1, names=["fault-estop"], n_seeds_32=2)
    assert [len(j[3]) for j in seen] == [3, 3, 2, 2]
