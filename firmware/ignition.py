"""Overspeed limiter by ignition cut (skip-fire).

Why: on a full load rejection the fuel already in the manifold keeps driving
the engine for ~0.1 s after the throttle shuts - enough, on a 0.5 s inertia,
for a >10 % overspeed, beyond ISO 8528-5 G3 and close to the 12 overspeed
trip.  Skipping firings removes torque at the next combustion event (~20 ms).
Gas-engine management systems do this; plain genset controllers do not.

Two triggers:
  - anticipation: the metered kW falls by more than ign_cut_dp_pct of rating
    in one tick (a breaker opened, a big load tripped): cut at the fuel's
    maximum at once, before the speed has even moved;
  - proportional: speed above rated + ign_cut_on: cut rises to the maximum
    over a further 3 % of speed.
Limits: the cut lasts at most _MAX_TICKS in a row (unburnt mixture heats the
exhaust and catalyst), then locks out until speed is back below rated + 1 %.
Hydrogen gets no cut at all (fuels.py).  Units: rpm_x10, pct_x100.
"""

from fixpt import const, viper

_ARM_TICKS = const(40)     # anticipation holds the cut up to 0.4 s at 100 Hz ...
_MAX_TICKS = const(100)    # ... and no cut lasts more than 1 s in a row


class IgnitionCut:
    def __init__(self, cfg):
        self.cfg = cfg
        self.cut_pct_x100 = 0
        self._armed = 0
        self._run = 0
        self._locked = False

    @viper
    def update(self, speed_rpm_x10: int, p_jump_kw_x10: int) -> int:
        # Machine code on a board (host_sim/native.py): attributes read once
        # and cast with int(), the proportional cut's mul_div and sat written
        # out (a call costs ~1000 Cortex-M0 instructions).
        cfg = self.cfg
        mx = int(cfg.ign_cut_max)
        if mx == 0:
            self.cut_pct_x100 = 0
            return 0
        rated = int(cfg.rated_rpm_x10)
        over = speed_rpm_x10 - rated
        armed0 = int(self._armed)
        armed = armed0
        if -p_jump_kw_x10 > int(cfg.ign_cut_dp_kw_x10):
            armed = _ARM_TICKS
        cut = 0
        if armed > 0:
            armed -= 1
            # The anticipation ends once the speed has turned back down to rated.
            if over > 0 or armed > _ARM_TICKS - 10:
                cut = mx
            else:
                armed = 0
        if armed != armed0:
            self._armed = armed
        on = int(cfg.ign_cut_on_rpm_x10)
        if over > on:
            span = rated * 3 // 100
            x = over - on                     # > 0: sat(x, 0, span) needs no floor
            prop = mx * (x if x < span else span) // span
            if prop > cut:
                cut = prop
        if self._locked:
            cut = 0
            if over < rated // 100:
                self._locked = False
        if cut > 0:
            if not self._count():
                cut = 0
        else:
            self._run = 0
        self.cut_pct_x100 = cut
        return cut

    def _count(self):
        """One more tick of cut, False once past _MAX_TICKS in a row (the
        cut then locks out).  Bytecode: called only while a cut is on."""
        self._run += 1
        if self._run > _MAX_TICKS:
            self._locked = True
            self._armed = 0
            return False
        return True
