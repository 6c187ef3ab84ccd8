"""The mains (grid) side: health monitor, the mains breaker, auto mains
failure (AMF) and loss-of-mains decoupling.

Mains healthy = mains-side voltage within 90-110 % and frequency within
+-2 % of nominal (commercial AMF defaults); it must stay bad for
mains_fail_ms to count as failed and good for mains_ok_ms to count as back.

AMF (standby duty, AUTO mode, setting amf = 1, off by default): on a mains failure the set is asked
to run; the mains breaker (MB) is opened, the generator breaker closes onto
the dead bus (the sequencer's dead-bus path) and the set carries the site.
When the mains has been healthy for mains_ok_ms the site is retransferred:
closed transition (default) synchronises the island to the grid across the
MB, closes it, and the sequencer soft-unloads and opens the generator breaker;
open transition (retransfer_open = 1) opens the generator breaker first and
closes the MB onto the dead bus - a short, planned interruption.

Loss of mains while paralleled (ROCOF 81R / vector shift 78 / minimum
import, class trip mains): the MB is opened at once and the set carries on
isochronous in island; the mains then counts as failed.  Once it has been
healthy for mains_ok_ms the island is synchronised back across the MB
(lom_reconnect, AUTO, closed transition) and the set resumes its
grid-parallel duty - or, after AMF, unloads and stops.  With open-transition
retransfer set, a loss-of-mains island waits for the operator instead.
"""

from fixpt import const, viper
import synccheck

# -- constants of hal (tools/gen_consts.py; do not edit) --
_DI_MB_CLOSED = const(128)  # hal.DI_MB_CLOSED
_DO_MB_CLOSE = const(1024)  # hal.DO_MB_CLOSE
_DO_MB_OPEN = const(2048)  # hal.DO_MB_OPEN
# -- end of generated constants --

_V_LO = const(9000)
_V_HI = const(11000)
_F_BAND_PCT_X100 = const(200)
_BAD_MS_MAX = const(1000000)   # the bad-time count stops here


class Mains:
    def __init__(self, cfg):
        self.cfg = cfg
        self.bad_ms = 0
        self.good_ms = 0
        self.failed = False
        self.ok = False            # healthy for mains_ok_ms
        self.amf_run = False       # AMF asks the set to run
        self.decoupled = False     # opened by loss of mains; stays until healthy again
        self.retransfer = False    # synchronising the island back to the grid
        self.lom_island = False    # islanded by loss of mains, to be reconnected
        self.do = 0
        self._closing_ms = -1      # holding the MB close coil (-1: not closing)
        self.syncer = synccheck.Synchroniser(cfg)    # the island back onto the grid
        # In a stack (the controller sets it) the bus this unit reads, with
        # the mains breaker open, is the units' own bus, not the grid: it is
        # no evidence that the grid is healthy (measured: a standby unit
        # starting onto the others' live bus asked the mains breaker to
        # close with its own, and the output stage refused both).
        self.stack = False

    def rebuild(self):
        """After a settings change: a fresh synchroniser (its limits come
        from the settings); the mains health and AMF state stay."""
        self.syncer = synccheck.Synchroniser(self.cfg)
        self._closing_ms = -1

    @viper
    def update(self, m, auto, gcb_closed, lom_trip, tick_ms: int):
        """One tick.  lom_trip: a trip-mains protection acted this tick.
        Sets self.do (DO_MB_*), self.amf_run and self.retransfer."""
        # Machine code on a board (host_sim/native.py): the numbers are read
        # once each and cast with int(); the flags stay objects (stored as
        # the source computes them).
        cfg = self.cfg
        mb_closed = (int(m.di) & _DI_MB_CLOSED) != 0
        ok_ms = int(cfg.mains_ok_ms)
        good = int(self.good_ms)
        bad = int(self.bad_ms)
        # Healthy now: voltage within 90-110 % and frequency within +-2 % of
        # nominal (written out here: a call costs ~1000 instructions).
        f_nom = int(cfg.f_nom_mhz)
        band = f_nom * _F_BAND_PCT_X100 // 10000
        bus_f = int(m.bus_f_mhz)
        df = bus_f - f_nom
        v = int(m.bus_v_pct_x100)
        if self.stack and not mb_closed:
            good = 0
        elif _V_LO <= v <= _V_HI and bus_f > 0 and -band < df < band and not self.decoupled:
            good = good + tick_ms if good < ok_ms else good
            bad = 0
        else:
            bad = bad + tick_ms if bad < _BAD_MS_MAX else bad
            good = 0
        self.good_ms = good
        self.bad_ms = bad
        if bad > int(cfg.mains_fail_ms):
            self.failed = True
        ok = good >= ok_ms
        self.ok = ok
        if ok:
            self.failed = False
        do = 0
        if lom_trip and mb_closed:
            self.decoupled = True
            self.failed = True
            # The set carries the site as an island: put it back on the grid
            # (closed transition) once the grid is healthy again.
            self.lom_island = gcb_closed and cfg.lom_reconnect and not cfg.retransfer_open
        if self.decoupled:
            if mb_closed:
                do |= _DO_MB_OPEN
            else:
                # Open: the mains now counts as failed until it has been
                # healthy for mains_ok_ms, like any other mains failure.
                self.decoupled = False
        amf = cfg.amf and auto
        if amf and self.failed:
            self.amf_run = True
            if mb_closed:
                do |= _DO_MB_OPEN
        was = self.retransfer
        self.retransfer = False
        if not gcb_closed or not auto:
            self.lom_island = False
        if (self.amf_run or self.lom_island) and ok:
            if not mb_closed and gcb_closed:
                if cfg.retransfer_open and self.amf_run:
                    # Open transition: drop the generator breaker first.
                    self.amf_run = False
                else:
                    if not was:
                        self.syncer.reset()
                    self.retransfer = True
                    if int(self._closing_ms) < 0 and self.syncer.step(m, cfg.mb_close_time_ms):
                        self._closing_ms = 0
            elif mb_closed:
                # Back on the grid: after AMF the set unloads and stops; after
                # a loss-of-mains island it resumes its grid-parallel duty.
                self.amf_run = False
                self.lom_island = False
            elif not gcb_closed:
                self.amf_run = False
        # Hold the close coil until the breaker answers (or give up: the
        # angle walks out of the window after the close time).
        closing = int(self._closing_ms)
        if closing >= 0:
            # The sync check holds until the contacts touch: the window lost
            # (a grid phase jump, the grid gone) drops the coil at once.
            ct = int(cfg.mb_close_time_ms)
            left = ct - closing
            if mb_closed or closing > ct + 100 or not gcb_closed or \
                    not synccheck.close_permitted(cfg, m, left if left > 0 else 0):
                self._closing_ms = -1
            else:
                do |= _DO_MB_CLOSE
                self._closing_ms = closing + tick_ms
        # Mains breaker open, the grid healthy again and the generator
        # breaker open (the set is not carrying the site: it tripped, stopped,
        # or an open-transition retransfer dropped it): give the site back to
        # the grid, whatever AMF was doing - a trip latched meanwhile must not
        # leave the site dark once the grid is back.  (The output stage never
        # lets this and a dead-bus close of the generator breaker happen at
        # once.)
        if not mb_closed and not gcb_closed and ok and not self.decoupled:
            do |= _DO_MB_CLOSE
        self.do = do
