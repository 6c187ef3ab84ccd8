"""One breaker as the output stage sees it: is it failing to open, and how
long has its close coil been held.  Shared by the generator breaker and the
mains breaker (controller._outputs), which are supervised the same way.

Breaker failure (50BF style): told to open, still closed after limit_ms -
whichever path told it (e-stop, shutdown, trip, unload, loss of mains) - is
a failure; it lasts until the breaker reads open.  The close coil's time is
what the sync check subtracts from the breaker's close time to predict where
the contacts will meet.  Units: ms.
"""

_SAT_MS = 1000000


class BreakerWatch:
    def __init__(self):
        self.open_ms = 0       # told to open while still closed, this long
        self.failed = False    # did not open within the limit
        self.coil_ms = 0       # close coil held this long

    def watch_open(self, closed, told_open, tick_ms, limit_ms):
        if not closed:
            self.open_ms = 0
            self.failed = False
        elif told_open:
            if self.open_ms <= limit_ms:
                self.open_ms += tick_ms
            if self.open_ms > limit_ms:
                self.failed = True
        return self.failed

    def coil(self, held, tick_ms):
        """The close coil is held (True) or not this tick."""
        if held:
            if self.coil_ms < _SAT_MS:
                self.coil_ms += tick_ms
        else:
            self.coil_ms = 0
