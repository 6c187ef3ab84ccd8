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

from fixpt import const, viper

_BIAS_MAX = const(10000)
_BIAS_MAX_Q12 = const(40960000)   # _BIAS_MAX << 12
# Trim only when the set is near rated voltage: during a dip the AVR is doing
# its job and a trim integrating the dip would overshoot afterwards.
_TRIM_WINDOW_PCT = const(5)


class Avr:
    def __init__(self, cfg):
        self.cfg = cfg
        self.integ_q12 = 0
        self.bias_pct_x100 = 0
        # Trim authority: +-30 % of the bias range (+-3 % voltage).
        self.trim_lim_q12 = 3000 << 12

    # The three updates are machine code on a board (host_sim/native.py):
    # attributes read once and cast with int(), and the bias (integrator >> 12,
    # saturated at +-_BIAS_MAX, stored in bias_pct_x100) written out in each
    # (a call costs ~1000 Cortex-M0 instructions).

    @viper
    def match(self, target_dv: int, v_dv: int) -> int:
        """Synchronising: bring the generator voltage to the grid's (5x the
        island trim rate; the window is a few percent)."""
        cfg = self.cfg
        # Beyond +-20 % the window is far off anyway; the bound keeps the
        # product a small int whatever the readings.
        lim = int(cfg.v_rated_dv) // 5
        x = target_dv - v_dv
        err = -lim if x < -lim else (x if x < lim else lim)
        tl = int(self.trim_lim_q12)
        x = int(self.integ_q12) + 5 * (err * int(cfg.avr_ki_q12))
        x = -tl if x < -tl else (x if x < tl else tl)
        self.integ_q12 = x
        x = x >> 12
        x = -_BIAS_MAX if x < -_BIAS_MAX else (x if x < _BIAS_MAX else _BIAS_MAX)
        self.bias_pct_x100 = x
        return x

    @viper
    def update_q(self, q_ref_kvar_x10: int, q_kvar_x10: int) -> int:
        """Grid-parallel: the grid holds the voltage; the bias sets the
        reactive power (power factor or kvar control), integral only."""
        cfg = self.cfg
        # Bounded at twice the rating: full authority long before that.
        lim = 2 * int(cfg.p_rated_kw_x10)
        x = q_ref_kvar_x10 - q_kvar_x10
        err = -lim if x < -lim else (x if x < lim else lim)
        x = int(self.integ_q12) + err * int(cfg.avr_kq_q12)
        bq = _BIAS_MAX_Q12
        x = -bq if x < -bq else (x if x < bq else bq)
        self.integ_q12 = x
        x = x >> 12
        x = -_BIAS_MAX if x < -_BIAS_MAX else (x if x < _BIAS_MAX else _BIAS_MAX)
        self.bias_pct_x100 = x
        return x

    @viper
    def update(self, v_dv: int, running) -> int:
        cfg = self.cfg
        v_rated = int(cfg.v_rated_dv)
        err = v_rated - v_dv
        win = v_rated * _TRIM_WINDOW_PCT // 100
        x = int(self.integ_q12)
        if running and -win < err < win:
            tl = int(self.trim_lim_q12)
            x = x + err * int(cfg.avr_ki_q12)
            x = -tl if x < -tl else (x if x < tl else tl)
            self.integ_q12 = x
        x = x >> 12
        x = -_BIAS_MAX if x < -_BIAS_MAX else (x if x < _BIAS_MAX else _BIAS_MAX)
        self.bias_pct_x100 = x
        return x
