"""Dead-bus arbitration for a stack: after a blackout exactly one unit closes
onto the dead bus, and every other one then synchronises to it (issue 12).

Two generators closed onto one dead bus at once, out of phase, is a fault
current no setting may risk; so the rule holds with the load-share link
cut, half cut (one unit hears, the other does not) or lying stale, at any
moment of the sequence.  It rests on three things:

1. Claim first.  A unit that wants to close onto a dead bus broadcasts its
   claim (sharelink.F_DEADBUS_CLAIM) and may close only once it has claimed
   without a break for claim_ms, with the bus still dead at that moment (its
   own bus-voltage sensing, the last word).
2. Precedence.  The dead-bus master (a setting every unit of the stack
   shares, default 1) goes first; then lower unit ids.  A unit other than
   the master closes only if, at that moment, it hears every unit of the
   stack (fleet_mask) fresh, none of them claiming ahead of it, and all of
   them set to the same master.  So with the link down (or any unit of the
   stack unheard) only the master closes a dead bus: deterministic, by unit
   id; the others wait for a live bus and synchronise.
3. Timing.  claim_ms exceeds the time a claim can go unseen (stale_ms + one
   frame period + twice the link's latency: the claim's own frame, and the
   last frame before a cut still arriving) plus the breaker's close time
   and the bus-voltage detection time (min_claim_ms).  Take two units that both
   close, A first at tA, B at tB: B began claiming at least claim_ms before
   tB.  Either A heard that claim before tA and, ranking below B, yielded;
   or A ranked above B, and B either heard A's claim and yielded, or did not
   hear A for longer than stale_ms, and was barred; or B's claim began too
   late for A to hear it, which makes tB - tA longer than the close and the
   detection, so B sees A's live bus and does not close.
   tests/test_deadbus_cuts.py cuts the link at every tick of the sequence,
   in each direction, and checks that no two units ever close onto a dead bus.

A unit that hears another controller on its own unit id (sharelink
duplicate) closes onto no dead bus at all, master or not.
Integer only; allocation free.
"""

from fixpt import const
import sharelink as sl

_SAT_MS = const(1000000000)
_CNT_SAT = const(1000000)

# why the last update did not permit a close (refused, for telemetry)
W_NONE = const(0)        # permitted, or nothing asked
W_CLAIMING = const(1)    # still inside claim_ms
W_UNHEARD = const(2)     # a unit of the stack is stale: only the master may close
W_YIELD = const(3)       # a unit ahead of this one claims
W_MASTER = const(4)      # the stack disagrees about its master
W_DUPLICATE = const(5)   # another controller on this unit's id
WHY_NAMES = ("-", "claiming", "unit unheard", "yield", "master mismatch", "duplicate id")


def min_claim_ms(stale_ms, period_ms, latency_ms, close_ms, detect_ms):
    """The shortest claim_ms the argument above holds for."""
    return stale_ms + period_ms + 2 * latency_ms + close_ms + detect_ms + 1


class DeadBus:
    def __init__(self, own, master, fleet_mask, claim_ms):
        self.own = own
        self.master = master
        self.fleet_mask = fleet_mask     # bit u set: unit u is in the stack
        self.claim_ms = claim_ms
        self.claiming = False            # broadcast as F_DEADBUS_CLAIM
        self.claim_for_ms = 0
        self.why = W_NONE
        self.grants = 0                  # updates that permitted a close

    def update(self, peers, want, bus_dead, dt_ms):
        """want: this unit wants to close onto the bus; bus_dead: its bus
        reads dead now.  Returns True if it may energise its close coil onto
        the dead bus this tick."""
        if not want or not bus_dead or peers.duplicate():
            self.claiming = False
            self.claim_for_ms = 0
            self.why = W_DUPLICATE if want and bus_dead else W_NONE
            return False
        if self.claiming:
            t = self.claim_for_ms + dt_ms
            self.claim_for_ms = t if t < _SAT_MS else _SAT_MS
        else:
            self.claiming = True
            self.claim_for_ms = 0
        if self.claim_for_ms < self.claim_ms:
            self.why = W_CLAIMING
            return False
        own = self.own
        m = self.master
        mask = self.fleet_mask
        for u in range(1, sl.MAX_UNITS + 1):
            if u == own or not (mask >> u) & 1:
                continue
            fresh = peers.fresh(u)
            if fresh and peers.master[u] != m:
                self.why = W_MASTER
                return False
            if own == m:
                continue
            if not fresh:
                self.why = W_UNHEARD
                return False
            if peers.flags[u] & sl.F_DEADBUS_CLAIM and (u == m or u < own):
                self.why = W_YIELD
                return False
        self.why = W_NONE
        if self.grants < _CNT_SAT:
            self.grants += 1
        return True
