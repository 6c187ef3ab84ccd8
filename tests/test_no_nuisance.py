"""No nuisance alarms: every built-in scenario that is not a fault scenario
(ISO 8528-5 load steps on each fuel, load pulses, start / stop) runs a
healthy set, so no protection may act at all - not even a warning."""

import pytest

from conftest import run_scenario
from host_sim import scenario

# iso-steps-ng-ggov1 is left out: it runs the host-only reference governor,
# which stalls the engine at the third step (the comparison in the README);
# the protections that then act are doing their job, not nuisance tripping.
# grid-loss-* are left out too: losing the grid must raise the loss-of-mains
# alarm (tests/test_paralleling.py holds them to exactly that).
NAMES = [n for n in scenario.builtin_names()
         if not n.startswith(("fault-", "grid-loss")) and n != "iso-steps-ng-ggov1"]


def test_there_are_scenarios_to_check():
    assert "iso-steps-ng" in NAMES and "start-stop-ng" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_healthy_scenario_raises_no_alarm(name):
    r, rep = run_scenario(name)
    assert rep["alarms"] == [], "%s: %s" % (name, ", ".join(
        "%s %s (%s, value %s)" % (a["t_s"], a["name"], a["class"], a["value"])
        for a in rep["alarms"]))
    if "expect" in rep:
        assert rep["expect"]["met"], (name, rep["expect"], rep["final_state"])
