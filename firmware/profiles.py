"""IEEE 1547-2018 abnormal-condition trip profiles for the grid-parallel
V/f protections (standards.md).  Category I is the default and is what a
synchronous generator can usually meet; II and III are here for sites whose
utility asks for them.  Pickups are pct_x100 of rated voltage and mHz
deviation from 60 Hz; delays are the clearing times in ms.
"""

import protection as pr


def _row(*fields):
    """A table row, built at import, not a constant tuple (see config._row)."""
    return fields


# (protection name, (pickup, delay) for Cat I, Cat II, Cat III)
IEEE1547 = (
    _row("over_voltage_2", (_row(12000, 160), _row(12000, 160), _row(12000, 160))),
    _row("over_voltage_1", (_row(11000, 2000), _row(11000, 2000), _row(11000, 13000))),
    _row("under_voltage_1", (_row(7000, 2000), _row(7000, 10000), _row(8800, 21000))),
    _row("under_voltage_2", (_row(4500, 160), _row(4500, 160), _row(5000, 2000))),
    _row("over_frequency_2", (_row(2000, 160), _row(2000, 160), _row(2000, 160))),
    _row("over_frequency_1", (_row(1200, 300000), _row(1200, 300000), _row(1200, 300000))),
    _row("under_frequency_1", (_row(-1500, 300000), _row(-1500, 300000), _row(-1500, 300000))),
    _row("under_frequency_2", (_row(-3500, 160), _row(-3500, 160), _row(-3500, 160))),
)


def apply_ieee1547(prot, category):
    """Load Category 1, 2 or 3 into the grid V/f protections, as one change
    (all or nothing).  Returns False (nothing changed) for another category
    or if the profile does not fit the protections' limits."""
    if not isinstance(category, int) or category < 1 or category > 3:
        return False
    items = []
    for name, cats in IEEE1547:
        pick, delay = cats[category - 1]
        items.append((pr.index_of(name), pick, delay))
    return prot.set_pickups(items)
