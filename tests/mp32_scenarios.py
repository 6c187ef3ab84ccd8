"""The 32-bit port's run of one built-in scenario, shared by the three
test_mp32_scenarios_*.py files (three files so the test runner can spread
the 54 runs, ~0.2 s of CPU per simulated second each, over its workers)."""

from host_sim import runtime as rt
from host_sim import scenario, sim


def names(part, parts=3):
    """Every parts-th built-in scenario, from the part-th."""
    return scenario.builtin_names()[part::parts]


def check(name):
    """Every built-in scenario under the 32-bit port, the heap locked from the
    first tick to the end: any allocation in the tick, the link, the Modbus
    slave, a start, a trip or the event log fails the run, and so does any
    intermediate that leaves the 31-bit range (it would be a bigint); the
    output must equal CPython's bit for bit, and the heap the .mpy firmware
    was given must have been enough."""
    sc = scenario.load(name)
    r = sim.run(sc, rt.MicroPython32Runtime(heap_lock_after=1, heapsize=rt.MPY_HEAP_32),
                trace=False)
    ref = sim.run(sc, "cpython", trace=False)
    assert r.sha256 == ref.sha256
    assert r.alarms == ref.alarms and r.final_state == ref.final_state
    assert r.heap["end"] == r.heap["start"], r.heap
