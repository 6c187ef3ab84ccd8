"""AVR bias: the controller's handle on the alternator's own regulator.

The AVR on the alternator holds terminal voltage on its own, fast.  The
controller only trims its set point through the bias input.  Islanded, the
trim is a slow integral that removes the AVR's steady-state error so the bus
sits at rated voltage; it is deliberately slow (seconds) so it never fights
the AVR through a load step.  Grid-parallel kvar / power-factor control will
drive the same output later.

Units: voltage v_dv (0.1 V), bias pct_x100 (+-10000 = full bias range),
integrator bias_pct_x100 << 12.
"""

from fixpt import const

_BIAS_MAX = const(10000)
_BIAS_MAX_Q12 = const(40960000)   # _BIAS_MAX << 12
# Trim only when the set is near rated voltage: during a dip the AVR is doing
# its job and a trim integrating the dip would overshoot afterwards.
_TRIM_WINDOW_PCT = 5


class Avr:
    def __init__(self, cfg):
        self.cfg = cfg
        self.integ_q12 = 0
        self.bias_pct_x100 = 0
        # Trim authority: +-30 % of the bias range (+-3 % voltage).
        self.trim_lim_q12 = 3000 << 12

    def match(self, target_dv, v_dv):
        """Synchronising: bring the generator voltage to the grid's (5x the
        island trim rate; the window is a few percent)."""
        # Beyond +-20 % the window is far off anyway; the bound keeps the
        # product a small int whatever the readings.
        lim = self.cfg.v_rated_dv // 5
        x = target_dv - v_dv
        err = -lim if x < -lim else (x if x < lim else lim)
        tl = self.trim_lim_q12
        x = self.integ_q12 + 5 * (err * self.cfg.avr_ki_q12)
        x = -tl if x < -tl else (x if x < tl else tl)
        self.integ_q12 = x
        return self._bias(x)

    def _bias(self, integ_q12):
        # (Saturations written out: a call costs ~1000 Cortex-M0 instructions.)
        x = integ_q12 >> 12
        x = -_BIAS_MAX if x < -_BIAS_MAX else (x if x < _BIAS_MAX else _BIAS_MAX)
        self.bias_pct_x100 = x
        return x

    def update_q(self, q_ref_kvar_x10, q_kvar_x10):
        """Grid-parallel: the grid holds the voltage; the bias sets the
        reactive power (power factor or kvar control), integral only."""
        # Bounded at twice the rating: full authority long before that.
        lim = 2 * self.cfg.p_rated_kw_x10
        x = q_ref_kvar_x10 - q_kvar_x10
        err = -lim if x < -lim else (x if x < lim else lim)
        x = self.integ_q12 + err * self.cfg.avr_kq_q12
        x = -_BIAS_MAX_Q12 if x < -_BIAS_MAX_Q12 else (x if x < _BIAS_MAX_Q12 else _BIAS_MAX_Q12)
        self.integ_q12 = x
        return self._bias(x)

    def update(self, v_dv, running):
        cfg = self.cfg
        err = cfg.v_rated_dv - v_dv
        win = cfg.v_rated_dv * _TRIM_WINDOW_PCT // 100
        x = self.integ_q12
        if running and -win < err < win:
            tl = self.trim_lim_q12
            x = x + err * cfg.avr_ki_q12
            x = -tl if x < -tl else (x if x < tl else tl)
            self.integ_q12 = x
        return self._bias(x)
