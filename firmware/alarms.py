"""Alarm handling: latch, acknowledge, reset, first-out, counters, event log.

A protection that trips raises its alarm: the alarm latches, is counted, is
logged (eventlog) with the value that tripped it, and the first alarm since
the last reset is kept as first-out - the one an engineer wants to see when
five alarms follow one cause.  A latched alarm stays until reset, and a reset
cannot clear an alarm whose condition is still present (it stays latched, so
the set cannot be restarted into the same fault).  Acknowledge silences the
horn without clearing anything.

The worst latched class decides what the sequencer does (protection.CL_*).
Latched state is also published as two 30-bit words (small ints on a 32-bit
port) for telemetry and Modbus.
"""

from array import array
from fixpt import const
import protection as pr
import profiles

# -- constants of protection (tools/gen_consts.py; do not edit) --
_CL_NONE = const(0)  # protection.CL_NONE
_CL_SOFT = const(4)  # protection.CL_SOFT
_N_PROT = const(47)  # protection.N_PROT
_P_CODE = const(1)  # protection.P_CODE
# -- end of generated constants --

# Counters stop here, inside a 32-bit port's 31-bit small ints (a counter
# past them would allocate on every count, and raise once stored in an array).
_CNT_MAX = const(1000000000)

# Event codes for non-alarm events (alarm events use the protection's code)
EV_RESET = const(2001)
EV_ACK = const(2002)
EV_STATE = const(2003)      # value = new sequence state
EV_MODE = const(2004)       # value = new mode
EV_COMMAND = const(2005)    # value = command code


class Alarms:
    def __init__(self, prot, log=None):
        self.prot = prot
        self.log = log
        n = _N_PROT
        self.latched = bytearray(n)
        # The class an alarm tripped with acts until it is reset: a later
        # write of a lower class cannot lift a latched trip or shutdown.
        self.cls_at = bytearray(n)
        # The interconnection trips (the IEEE 1547 V/f table) are about the
        # utility: once the mains breaker is open they must not stop the set
        # carrying its own island (worst_local leaves them out).
        self.grid_side = bytearray(n)
        for name, _ in profiles.IEEE1547:
            self.grid_side[pr.index_of(name)] = 1
        self.worst_local = _CL_NONE
        self.acked = bytearray(n)
        self.count = array("i", [0] * n)
        self.first_out = -1
        self.last = -1            # most recent alarm raised (index)
        self.last_value = 0
        self.worst = _CL_NONE   # worst latched class
        self.bits0 = 0            # latched alarms 0..29
        self.bits1 = 0            # latched alarms 30..59
        self.horn = False
        self.force_flush = False  # a shutdown was logged: persist the log now

    def update(self, t_ms):
        """Latch what tripped this tick; recompute the worst class.  Nothing
        tripped (prot.n_new, counted by the tick's protection pass): nothing
        can change, and the rows are not walked."""
        p = self.prot
        if p.n_new == 0:
            return
        for i in range(_N_PROT):
            if p.tripped[i] and not self.latched[i]:
                self.latched[i] = 1
                self.cls_at[i] = p.cls[i]
                self.acked[i] = 0
                if self.count[i] < _CNT_MAX:
                    self.count[i] += 1
                self.last = i
                self.last_value = p.value_at[i]
                if self.first_out < 0:
                    self.first_out = i
                self.horn = True
                if self.log is not None:
                    self.log.log(t_ms, pr.PROTECTIONS[i][_P_CODE], p.value_at[i])
                    if p.cls[i] >= _CL_SOFT:
                        self.force_flush = True
        self._summarise()

    def _summarise(self):
        worst = _CL_NONE
        local = _CL_NONE
        b0 = 0
        b1 = 0
        for i in range(_N_PROT):
            if self.latched[i]:
                c = self.cls_at[i]
                if c > worst:
                    worst = c
                if c > local and not self.grid_side[i]:
                    local = c
                if i < 30:
                    b0 |= 1 << i
                else:
                    b1 |= 1 << (i - 30)
        self.worst = worst
        self.worst_local = local
        self.bits0 = b0
        self.bits1 = b1

    def reset(self, t_ms, turning=False):
        """Clear latched alarms whose condition has gone; returns how many
        stay latched.  An alarm stays while its condition is present, and a
        shutdown-class alarm (soft, hard, e-stop) also while the engine
        still turns: its danger lasts until the engine has stopped, even
        when the protection is no longer armed (low oil pressure is not
        watched once the run-down begins, but the oil is still low)."""
        p = self.prot
        kept = 0
        for i in range(_N_PROT):
            if self.latched[i]:
                if p.active[i] or (turning and self.cls_at[i] >= _CL_SOFT):
                    kept += 1
                else:
                    self.latched[i] = 0
                    self.acked[i] = 0
        if self.first_out >= 0 and not self.latched[self.first_out]:
            self.first_out = -1
            for i in range(_N_PROT):
                if self.latched[i]:
                    self.first_out = i
                    break
        if kept == 0:
            self.horn = False
        if self.log is not None:
            self.log.log(t_ms, EV_RESET, kept)
        self._summarise()
        return kept

    def ack(self, t_ms):
        for i in range(_N_PROT):
            if self.latched[i]:
                self.acked[i] = 1
        self.horn = False
        if self.log is not None:
            self.log.log(t_ms, EV_ACK, 0)

    def latched_at_least(self, cls):
        return self.worst >= cls
