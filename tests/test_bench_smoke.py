"""Smoke test of the MicroPython tick-replay benchmark (tools/mp_tick_bench.py).

Behaviour only, no timing: a short CPython recording replayed inside the
MicroPython unix port must allocate nothing per tick and reproduce the CPython
run's outputs exactly; a tampered recording must be reported as a mismatch.
"""

import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pytest  # noqa: E402

from tools import bench  # noqa: E402

N_TICKS = 300


@pytest.fixture(scope="module")
def recording():
    rec = bench.record("iso-steps-ng", max_ticks=N_TICKS)
    assert len(rec.inputs) == N_TICKS
    return rec


def test_replay_allocates_nothing_and_matches(recording, tmp_path):
    path = str(tmp_path / "rec.bin")
    bench.write_recording(recording, path)
    d, text = bench.run_mp_replay(path)
    assert "replay matches: yes" in text.splitlines(), text
    assert int(d["ticks"]) == N_TICKS
    assert int(d["settings_refused"]) == 0
    assert int(d["heap_gc_ran"]) == 0, text
    assert int(d["heap_span_bytes"]) == 0, text
    assert float(d["heap_bytes_per_tick"]) == 0.0
    assert d["replay_sha256"] == recording.sha256


def test_tampered_recording_is_a_mismatch(recording, tmp_path):
    # One input changed on one tick must change the replayed outputs.
    inputs = [list(v) for v in recording.inputs]
    inputs[N_TICKS // 2][bench.rt_mod.hal.IN_GEN_P_KW_X10] += 500
    bad = bench.Recording(recording.settings, recording.begin_args, inputs,
                          recording.sha256, recording.n_out, recording.n_tele)
    path = str(tmp_path / "bad.bin")
    bench.write_recording(bad, path)
    d, text = bench.run_mp_replay(path)
    assert "replay matches: no" in text.splitlines(), text
    assert d["replay_sha256"] != recording.sha256


def test_recording_layout(recording, tmp_path):
    # The header tools/mp_tick_bench.py reads: magic, version, sizes, begin args.
    path = str(tmp_path / "rec.bin")
    bench.write_recording(recording, path)
    with open(path, "rb") as f:
        hdr = struct.unpack("<9i", f.read(36))
    assert hdr[0] == bench.REC_MAGIC and hdr[1] == bench.REC_VERSION
    assert hdr[5] == N_TICKS and hdr[6] == len(recording.settings)
    assert (hdr[7], hdr[8]) == recording.begin_args
    assert os.path.getsize(path) == 36 + 8 * hdr[6] + 32 + 4 * hdr[2] * N_TICKS


def test_the_sync_benchmark_reports_every_fuel_it_ran():
    out = bench.sync_bench(n=2, fuels=("natural_gas", "hydrogen"), jobs=2)
    assert set(out) == {"natural_gas", "hydrogen"}
    for f in out.values():
        assert f["runs"] == 2 and f["closed"] + f["failed"] == 2
        for k in ("time_to_close_median_s", "time_to_close_p95_s", "phase_error_worst_deg",
                  "slip_in_window_pct", "first_swing_worst_pct", "first_swing_10pct_ms_max"):
            assert k in f, k
