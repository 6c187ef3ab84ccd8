"""The protection rows' settings as configstore keeps them: hand-set pickups,
delays, classes and enables survive a power cut like every other setting.

A table for configstore.ConfigStore (the members SettingsTable documents),
over a protection.Protection.  Value i is row i // 4's field i % 4 (F_ENABLE,
F_PICKUP, F_DELAY_MS, F_CLASS, in protection.py's order: the four fields a
protection has), then one value: the inverse-time curve of
overcurrent_time.  Names are "<protection>.<field>", so the table id
(configstore.table_id) changes when a protection is renamed or moved, and a
slot written by another table is foreign, never misapplied; rows appended
at the end of protection.PROTECTIONS load as a migration (their defaults).

Loading is one change, all or nothing, checked the way a write is: every
value on its own limits and class floor (Protection.allowed), and the
pickup order across rows (Protection.ordered) on the whole set, so a stored
row can never lower an e-stop's class or disable an always-enabled
protection.  Nothing usable stored: the rows are left as the controller
built them (its IEEE 1547 category profile applied), not reset.
Integer only; allocation free in get().
"""

from array import array

import overcurrent
import protection as pr
from fixpt import const

_FIELDS = ("enable", "pickup", "delay_ms", "class")
_NF = const(4)


class ProtectionTable:
    magic = b"GXPR"

    def __init__(self):
        self.n = pr.N_PROT * _NF + 1
        d = []
        for p in pr.PROTECTIONS:
            d += [p[pr.P_ENABLE], p[pr.P_PICKUP], p[pr.P_DELAY], p[pr.P_CLASS]]
        d.append(overcurrent.CURVE_IEC_VI)
        self.defaults = array("i", d)

    def name(self, i):
        if i == self.n - 1:
            return "overcurrent_time.curve"
        return pr.PROTECTIONS[i // _NF][pr.P_NAME] + "." + _FIELDS[i % _NF]

    def get(self, prot, i):
        if i == self.n - 1:
            return prot.curve
        r = i >> 2
        f = i & 3
        if f == 0:
            return prot.enable[r]
        if f == 1:
            return prot.pickup[r]
        if f == 2:
            return prot.delay_ms[r]
        return prot.cls[r]

    def apply(self, prot, values):
        """All of `values` into prot, or none (None, or why not)."""
        n = self.n
        i51 = prot.i51
        for i in range(n - 1):
            r = i // _NF
            if not prot.allowed(r, i % _NF, values[i]):
                return "%s: %d refused" % (self.name(i), values[i])
        if not prot.allowed(i51, pr.F_CURVE, values[n - 1]):
            return "%s: %d refused" % (self.name(n - 1), values[n - 1])
        old = array("i", prot.pickup)
        for r in range(pr.N_PROT):
            prot.pickup[r] = values[_NF * r + 1]
        if not prot.ordered():
            for r in range(pr.N_PROT):
                prot.pickup[r] = old[r]
            return "protection pickups out of order"
        for r in range(pr.N_PROT):
            prot.enable[r] = values[_NF * r]
            prot.delay_ms[r] = values[_NF * r + 2]
            prot.cls[r] = values[_NF * r + 3]
        prot.curve = values[n - 1]
        prot._build_inverse()        # the inverse-time element and the quiet bands
        return None

    def fallback(self, prot):
        pass

    def reset(self, prot):
        self.apply(prot, self.defaults)
