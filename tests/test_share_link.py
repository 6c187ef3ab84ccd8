"""The stack's share link over the tick link ('F' frames, firmware/link.py):
two controllers of a stack, each in its own real MicroPython process (the
unix port and the 32-bit webassembly port), ticked in step with each tick's
share frames cross-delivered, give the same frames, outputs and telemetry
bit for bit as the same two controllers in-process under CPython; a frame
that is not a share frame is refused and counted, and the run goes on; and
frames in and out allocate nothing once the heap is locked."""

import pytest

from host_sim import runtime as rt
from host_sim.modbus_port import rtu_frame
from host_sim import firmware_path

firmware_path()
import hal  # noqa: E402
import sharelink as sl  # noqa: E402

TICK_MS = 10
# Bits 1 and 2 of fleet_mask: units 1 and 2 (bit u is unit u; bit 0 unused).
MASK = (1 << 1) | (1 << 2)
# Not share frames: line noise, a frame cut short, two frames run together
# (longer than an 'F' carries), a frame whose CRC fails.
_bad_crc = bytearray(sl.FRAME_BYTES)
sl.encode(_bad_crc, 1, 9, 0, 0, 1, 1, 0, 0, 200, 0, 0, 0, 0)
_bad_crc[12] ^= 1
GARBAGE = (bytes(range(7, 7 + sl.FRAME_BYTES)), b"\xa6\x01\x01", bytes(48), bytes(_bad_crc))
# 4 s: power management listens 600 ms, then unit 1 is asked to run and
# goes through its start delay to cranking (relays on) at 2.6 s.
TICKS = 400
GARBAGE_AT = 120
FRAMES = TICKS * TICK_MS // 50      # each unit's, in a run


def _inputs(t_ms):
    """A stopped set with healthy inputs: no speed, battery and coolant
    sane, metering healthy, remote start on in AUTO: the stack decides
    whether it runs (power management starts unit 1 once it has listened)."""
    v = [0] * hal.N_IN
    v[hal.IN_T_MS] = t_ms
    v[hal.IN_COOLANT_DC] = 400
    v[hal.IN_GAS_MBAR] = 35
    v[hal.IN_BATT_MV] = 27000
    v[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN | hal.DI_REMOTE_START
    return v


def _make(name, u, **kw):
    r = rt.make(name, **kw)
    for k, val in (("fleet_mask", MASK), ("fleet_unit_id", u), ("fleet_master_id", 1),
                   ("pm_start_delay_s", 0)):
        assert r.configure(k, val), k
    return r


def _counts(r, t_us):
    """share_frames_good and share_frames_refused (input registers 90-93,
    two words each, high word first) over the firmware's Modbus port."""
    req = rtu_frame(bytes((1, 4, 0, 90, 0, 4)))
    reply = r.uart(req, t_us)
    assert len(reply) == 5 + 8 and reply[:3] == bytes((1, 4, 8)), reply.hex()
    w = [reply[3 + 2 * i] << 8 | reply[4 + 2 * i] for i in range(4)]
    return (w[0] << 16 | w[1], w[2] << 16 | w[3])


def _run_stack(units, ticks, garbage=True):
    """Tick both units in step, hand each one's frames of the tick to the
    other before the next; returns the per-tick record [(out, tele, frames)
    per unit] and the share counters read over Modbus at the end."""
    rec = []
    for k in range(ticks):
        t_ms = k * TICK_MS
        if garbage and k == GARBAGE_AT:
            for g in GARBAGE:
                units[1].share_rx(g)
        row = []
        for r in units:
            out, tele = r.tick(_inputs(t_ms))
            row.append((tuple(out), tuple(tele), list(r.share_sent())))
        rec.append(row)
        for i, r in enumerate(units):
            for fr in row[i][2]:
                units[1 - i].share_rx(fr)
    t_us = ticks * TICK_MS * 1000 - 500
    counts = [_counts(r, t_us) for r in units]
    return rec, counts


def _close(units):
    for r in units:
        code, err = r.close() or (0, "")
        assert code == 0, err




@pytest.fixture(scope="module")
def cpython_stack():
    units = [_make("cpython", 1), _make("cpython", 2)]
    rec, counts = _run_stack(units, TICKS)
    peers = [u.ctl.fleet.peers for u in units]
    direct = [(p.good, sum(p.refused)) for p in peers]
    _close(units)
    return rec, counts, direct


def _plant_frames(rec, i):
    """Unit i's plant frames (fleet.py: once a second each) in a record."""
    return sum(1 for row in rec for f in row[i][2] if f[0] == sl.PLANT_SYNC)


def test_each_unit_of_the_stack_sends_a_share_frame_every_50_ms(cpython_stack):
    rec, _, _ = cpython_stack
    for i in range(2):
        share_at = [k for k, row in enumerate(rec) for f in row[i][2] if f[0] == sl.SYNC]
        plant_at = [k for k, row in enumerate(rec) for f in row[i][2] if f[0] == sl.PLANT_SYNC]
        assert share_at == list(range(0, TICKS, 50 // TICK_MS)), share_at[:10]
        # once a second the plant frame, alone in its tick, half a period on
        assert len(plant_at) == TICKS * TICK_MS // 1000, plant_at
        assert all(k % (50 // TICK_MS) == 3 for k in plant_at), plant_at
        for k, row in enumerate(rec):
            frames = row[i][2]
            assert len(frames) <= 1 and all(len(f) == sl.FRAME_BYTES for f in frames)
            p = sl.Peers(2 - i, 300)
            for f in frames:
                assert p.decode(bytearray(f), sl.FRAME_BYTES) == -1


def test_share_counters_over_modbus_count_good_frames_and_the_garbage_refused(cpython_stack):
    rec, counts, direct = cpython_stack
    assert counts == direct
    assert counts[0] == (FRAMES + _plant_frames(rec, 1), 0)
    assert counts[1] == (FRAMES + _plant_frames(rec, 0), len(GARBAGE))


def test_the_stack_run_takes_unit_1_from_stopped_to_cranking(cpython_stack):
    """What the comparisons below cover: power management's decision
    reaching the sequencer and the relays, driven by the frames."""
    import sequencer as sq
    rec, _, _ = cpython_stack
    st1 = [row[0][1][12] for row in rec]
    assert st1[0] == sq.ST_STOPPED and st1[-1] != sq.ST_STOPPED
    assert rec[-1][0][0][hal.OUT_DO] & hal.DO_CRANK
    assert all(row[1][1][12] == sq.ST_STOPPED for row in rec)      # unit 2 told to wait


@pytest.mark.parametrize("names", [("micropython", "micropython32"),
                                   ("micropython32", "micropython")],
                         ids=["unix-and-32bit", "32bit-and-unix"])
def test_a_stack_over_the_tick_link_matches_cpython_bit_for_bit(cpython_stack, names):
    """Unit 1 in one MicroPython port, unit 2 in the other: every tick's
    outputs, telemetry and share frames as in-process, the garbage frames
    refused and counted as there, and the run going on after them."""
    want, want_counts, _ = cpython_stack
    units = [_make(names[0], 1), _make(names[1], 2)]
    try:
        rec, counts = _run_stack(units, TICKS)
    finally:
        _close(units)
    for k in range(TICKS):
        assert rec[k] == want[k], "tick %d differs" % k
    assert counts == want_counts
    assert counts[1][1] == len(GARBAGE)


def test_a_frame_the_tick_link_cannot_carry_is_refused_as_in_process():
    """Longer than an 'F' frame carries: cut to SHARE_MAX bytes on the way,
    which is still not a share frame's length, so the firmware refuses it
    for its length exactly as the in-process firmware refuses the whole."""
    import link
    assert link.SHARE_MAX != sl.FRAME_BYTES
    got = []
    for name in ("cpython", "micropython"):
        r = _make(name, 2)
        r.tick(_inputs(0))
        r.share_rx(bytes(100))
        r.tick(_inputs(TICK_MS))
        got.append(_counts(r, 2 * TICK_MS * 1000 - 500))
        _close([r])
    assert got == [(0, 1), (0, 1)]


@pytest.mark.parametrize("name", ["micropython", "micropython32"])
def test_share_frames_in_and_out_allocate_nothing_with_the_heap_locked(name):
    """Unit 2 in MicroPython with the heap locked from tick 20, against
    unit 1 in-process: 400 ticks of frames out and in, the garbage among
    them, and the counters read over Modbus; an allocation would fail the
    unit safe ('E' E_FAILSAFE) and end the run with an error."""
    units = [_make("cpython", 1), _make(name, 2, heap_lock_after=20)]
    try:
        rec, counts = _run_stack(units, TICKS)
    finally:
        _close(units)
    assert sum(1 for row in rec if row[1][2]) == FRAMES + _plant_frames(rec, 1)
    assert counts[1] == (FRAMES + _plant_frames(rec, 0), len(GARBAGE))
    # (The 32-bit heap's size is not held to runtime.MPY_HEAP_32 here: a
    # unit of a stack needed 268k when this was written, past its 264k,
    # with or without the share channel.)


def test_the_heap_lock_catches_an_allocation_on_the_share_path(tmp_path):
    """The negative control: a build whose link HAL copies each share frame
    in (an allocation) fails safe under the heap lock, and runs clean
    without it."""
    import os
    import shutil
    from host_sim import FIRMWARE_DIR
    from host_sim.errors import RuntimeError_
    fw = str(tmp_path / "fw")
    shutil.copytree(FIRMWARE_DIR, fw, ignore=shutil.ignore_patterns("__pycache__"))
    p = os.path.join(fw, "hal_link.py")
    with open(p) as f:
        src = f.read()
    good = "self.on_share(self._ubuf, k)"
    assert src.count(good) == 1
    with open(p, "w") as f:
        f.write(src.replace(good, "self.on_share(bytearray(self._ubuf), k)"))
    units = [_make("cpython", 1), _make("micropython", 2, heap_lock_after=20, firmware_dir=fw)]
    with pytest.raises(RuntimeError_) as e:
        _run_stack(units, 60, garbage=False)
    assert "outputs driven safe" in str(e.value) and "MemoryError" in str(e.value)
    units[1].close()
    units = [_make("cpython", 1), _make("micropython", 2, firmware_dir=fw)]
    _run_stack(units, 60, garbage=False)
    _close(units)


def test_a_malformed_share_frame_is_answered_with_an_error_the_host_reports():
    """'F' is not answered, except a malformed one: its 'E' comes before
    the next tick's 'O', and the host reports it there."""
    import link
    from host_sim.errors import RuntimeError_
    r = _make("micropython", 2)
    try:
        r.tick(_inputs(0))
        r.link.send(link.T_SHARE, [24, 1])          # 24 bytes announced, 3 carried
        with pytest.raises(RuntimeError_) as e:
            r.tick(_inputs(TICK_MS))
        assert "wrong frame length" in str(e.value)
    finally:
        r.close()
