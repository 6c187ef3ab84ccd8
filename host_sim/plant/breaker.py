"""Generator circuit breaker (GCB): close and open coils with operating
times, an auxiliary contact, and the failures supervision must catch.

Operating times: moulded-case / air breakers with motor operators and shunt
trips close in 40-100 ms and open in 20-60 ms (manufacturer data-sheet class;
standards.md gives 40-300 ms close delays for sync settings).
"""

BREAKER_DEFAULTS = {"close_ms": 60.0, "open_ms": 40.0}


class Breaker:
    def __init__(self, params, closed=False):
        self.close_s = params["close_ms"] / 1000.0
        self.open_s = params["open_ms"] / 1000.0
        self.closed = closed
        self.fail_to_close = False
        self.fail_to_open = False
        self._t_close = None
        self._t_open = None

    def command(self, t_s, close_coil, open_coil):
        """Apply the coil outputs at time t_s (called once per tick).  The trip
        coil wins over the close coil, as in a real mechanism."""
        if open_coil:
            self._t_close = None
            if self.closed and self._t_open is None:
                self._t_open = t_s + self.open_s
        elif close_coil:
            if not self.closed and self._t_close is None:
                self._t_close = t_s + self.close_s
        else:
            self._t_close = None

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
