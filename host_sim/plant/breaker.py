"""Generator circuit breaker (GCB): close and open coils with operating
times, an auxiliary contact, and the failures supervision must catch.

Operating times: moulded-case / air breakers with motor operators and shunt
trips close in 40-100 ms and open in 20-60 ms (manufacturer data-sheet class;
standards.md gives 40-300 ms close delays for sync settings).

Two kinds of close mechanism (close_latch_ms):
  0     electrically held: a contactor, or an operator that drives the
        contacts only while its close coil is held.  Dropping the coil before
        the contacts touch stops the close (the controller's sync check does
        this when the window is lost during the travel).
  > 0   stored energy: the close coil releases a charged spring; once it has
        been energised close_latch_ms the close completes in close_ms
        whatever the coil does afterwards (most moulded-case and air circuit
        breakers with a spring-charged closing mechanism: the release takes a
        few ms to one tick).
"""

from .params import Param, defaults

BREAKER_PARAMS = {
    "close_ms": Param(60.0, 5.0, 500.0, "ms",
                      "motor-operated breakers close in 40-100 ms; up to 500 ms "
                      "for a slow mechanism (standards.md: 40-300 ms close delays)"),
    "open_ms": Param(40.0, 5.0, 500.0, "ms",
                     "shunt trips open in 20-60 ms; up to 500 ms for a slow one"),
    "close_latch_ms": Param(0.0, 0.0, 500.0, "ms",
                            "0: electrically held close, stopped by dropping the coil; "
                            "> 0: a spring release committed after this much coil time "
                            "(stored-energy mechanisms: a few ms to one tick)"),
}
BREAKER_DEFAULTS = defaults(BREAKER_PARAMS)
RULES = ()


class Breaker:
    def __init__(self, params, closed=False):
        self.close_s = params["close_ms"] / 1000.0
        self.open_s = params["open_ms"] / 1000.0
        self.latch_s = params["close_latch_ms"] / 1000.0
        self._t_coil = None       # when the close coil was first energised
        self.closed = closed
        self.fail_to_close = False
        self.fail_to_open = False
        self._t_close = None
        self._t_open = None

    def command(self, t_s, close_coil, open_coil):
        """Apply the coil outputs at time t_s (called once per tick).  The trip
        coil wins over the close coil, as in a real mechanism."""
        committed = (self.latch_s > 0.0 and self._t_close is not None and
                     t_s - self._t_coil >= self.latch_s - 1e-9)
        if open_coil:
            if not committed:
                self._t_close = None
            if self.closed and self._t_open is None:
                self._t_open = t_s + self.open_s
        elif close_coil:
            if not self.closed and self._t_close is None:
                self._t_close = t_s + self.close_s
                self._t_coil = t_s
        elif not committed:
            self._t_close = None

    def busy(self):
        """An operation under way: step() may change the contacts (while not
        busy it returns closed as it is)."""
        return self._t_open is not None or self._t_close is not None

    def step(self, t_s):
        if self._t_open is not None and t_s >= self._t_open - 1e-9:
            self._t_open = None
            if not self.fail_to_open:
                self.closed = False
        if self._t_close is not None and t_s >= self._t_close - 1e-9:
            self._t_close = None
            if not self.fail_to_close:
                self.closed = True
        return self.closed
