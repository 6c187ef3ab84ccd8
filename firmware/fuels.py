"""Per-fuel limit table for the multi-fuel GX230.

Why per fuel: the same engine burns natural gas, propane, hydrogen and biogas,
and each changes what the governor may do (../shared/reference/standards.md,
"Fuels"):
  - propane is knock-limited: derated, smaller load steps, gentler fuel rate;
  - hydrogen has a very fast flame and backfire risk: derated, run lean, so the
    actuator is capped well short of rich mixtures and steps are small;
  - biogas has about half the heating value of natural gas and drifting
    methane content: it gets a larger gas train, still sits near the top of
    the valve range, burns slower, and needs wider authority and more gain.
The overspeed ignition cut (skip-fire) is allowed on every fuel but hydrogen:
unburnt hydrogen sent to a hot exhaust is a backfire / explosion risk.
Rates: the actuator is an electronic throttle body (Woodward ITB / ProAct
class: 30-50 ms lag, full travel in ~60 ms), so opening is limited to
1600 %/s, and to 1200 %/s on propane and hydrogen, where a throttle that
snaps open on a load step sends a knock-prone (propane) or backfire-prone
(hydrogen) charge in before the spark timing follows; closing is 2000 %/s
on every fuel (a rejection must shut the throttle at once).
Valve positions are the commissioned fuel map (actuator % at no load and at the
fuel's rated power).  They are set at commissioning from a load bank run and
are deliberately not copied from the simulator's plant: the feed-forward must
work with a map that is a few percent wrong, as it will be on site.

The MAP line (manifold absolute pressure at no load and at the fuel's rated
kW, 0.1 kPa) is the same kind of commissioning reading, for the rich-burn
air path: the charge per cycle is linear in load (speed-density), so two
points make the line the governor's MAP lead reads the manifold on.  A set
on another air path (lean-burn, more boost) sets map_nl_kpa_x10 and
map_fl_kpa_x10 from its own readings.

Each entry is a tuple indexed by the F_* constants, built at import by
_row() rather than written as a tuple literal: rates such as 160000 must not
sit in a constant tuple, which frozen into a board image keeps them as
read-only bigints (issue 11).  Built, the rows cost ~300 bytes of RAM and
no allocation per access.
"""

from fixpt import const


def _row(*fields):
    """A table row, built at import, not a constant tuple (see config._row)."""
    return fields


FUEL_NG = const(0)
FUEL_PROPANE = const(1)
FUEL_H2 = const(2)
FUEL_BIOGAS = const(3)
N_FUELS = const(4)

F_NAME = const(0)
F_DERATE_PCT_X100 = const(1)    # available power as % of the 200 kW NG rating
F_FUEL_MIN_PCT_X100 = const(2)  # lean/flame-out floor of the actuator while running
F_FUEL_MAX_PCT_X100 = const(3)  # knock/backfire ceiling of the actuator
F_RATE_UP_PCT_X100_S = const(4)   # fastest actuator opening, 0.01 %/s
F_RATE_DN_PCT_X100_S = const(5)   # fastest actuator closing, 0.01 %/s
F_FUEL_NL_PCT_X100 = const(6)   # commissioned map: actuator at no load, rated speed
F_FUEL_FL_PCT_X100 = const(7)   # commissioned map: actuator at the fuel's rated kW
F_GAIN_PCT = const(8)           # scale on the PI gains (flame speed, valve gain)
F_MAX_STEP_PCT = const(9)       # largest load step the set accepts (ISO 8528-5 guide)
F_IGN_CUT_MAX_PCT = const(10)   # most firings the overspeed ignition cut may skip
F_MAP_NL_KPA_X10 = const(11)    # commissioned MAP line: manifold pressure at no load ...
F_MAP_FL_KPA_X10 = const(12)    # ... and at the fuel's rated kW (rich-burn air path)

FUELS = (
    #     name        derate  min   max   up/s    dn/s    nl    fl   gain step cut map_nl map_fl
    _row("natural_gas", 10000, 500, 9500, 160000, 200000, 3100, 7200, 100, 35, 70, 300, 1550),
    _row("propane", 8500, 500, 7000, 120000, 200000, 3100, 6100, 90, 30, 70, 320, 1400),
    _row("hydrogen", 7000, 500, 6000, 120000, 200000, 3200, 5400, 80, 25, 0, 320, 1250),
    _row("biogas", 9000, 600, 9000, 160000, 200000, 3200, 7000, 120, 30, 70, 340, 1520),
)


def fuel_code(name):
    """Fuel code for a fuel name, or -1 if unknown."""
    for i in range(N_FUELS):
        if FUELS[i][F_NAME] == name:
            return i
    return -1
