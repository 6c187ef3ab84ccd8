"""IEEE 1547-2018 abnormal-condition trip profiles for the grid-parallel
V/f protections (standards.md).  Category I is the default and is what a
synchronous generator can usually meet; II and III are here for sites whose
utility asks for them.  Pickups are pct_x100 of rated voltage and mHz
deviation from 60 Hz; delays are the clearing times in ms.
"""

import protection as pr

# (protection name, (pickup, delay) for Cat I, Cat II, Cat III)
IEEE1547 = (
    ("over_voltage_2", ((12000, 160), (12000, 160), (12000, 160))),
    ("over_voltage_1", ((11000, 2000), (11000, 2000), (11000, 13000))),
    ("under_voltage_1", ((7000, 2000), (7000, 10000), (8800, 21000))),
    ("under_voltage_2", ((4500, 160), (4500, 160), (5000, 2000))),
    ("over_frequency_2", ((2000, 160), (2000, 160), (2000, 160))),
    ("over_frequency_1", ((1200, 300000), (1200, 300000), (1200, 300000))),
    ("under_frequency_1", ((-1500, 300000), (-1500, 300000), (-1500, 300000))),
    ("under_frequency_2", ((-3500, 160), (-3500, 160), (-3500, 160))),
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
