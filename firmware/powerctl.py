"""Grid-parallel power control: what the set produces once its breaker is
closed to the grid, and the reactive power it trims through the AVR.

Modes (config pc_mode):
  0 base load      a fixed kW (base_kw_x10)
  1 import limit   peak shaving, the edge data-centre case: the set covers
                   whatever the site draws above the grid import cap
                   (import_cap_kw_x10), so the grid link is never overloaded
  2 export limit   base load, but never exporting more than export_limit
The export limit bounds every mode; zero export (the default) keeps at least
import_min_kw_x10 flowing in, so the min-import relay can see a lost grid.

In a stack the set points are the plant's (set alike on every unit), met by
the units on the grid together with no master: each reads the site meter and
moves its own kW by its share of the meter's error (share_x1000: its rating
over the rating in power control on the bus, fleet.py), so the plant's total
moves by the whole error and the loss of any one unit leaves the rest making
the same sum; with the link whole a term draws each unit to the units' mean
% of rating (share_err_pct_x100, half of it a tick: the shares' own
correction leaves a difference between units where it was, measured
drifting to 90 % apart in 20 s without it).  With a peer unheard the share
stays as last known (the shares still sum to the whole correction) and the
term stops.  Base load is shared by rating.  One unit: share_x1000 = 1000
and the formulas are the single set's exactly.

The power reference ramps: at ramp_pct_s after closing (soft load) and when
unloading (soft unload), ten times faster while tracking a moving target
(an AI load that steps every 2 s must not push the import over its cap).
Reactive power: a power factor (pf_x1000, + lagging, - leading) or a fixed
kvar through the AVR bias.  Units: kW_x10, kvar_x10, pct_x100.
"""

from fixpt import const, isqrt, mul_div, viper

_SHARE_K_DIV = const(200)      # the sharing term: half the error (% x rating / 200) a tick


class PowerCtl:
    def __init__(self, cfg):
        self.cfg = cfg
        self.p_ref_kw_x10 = 0
        self.q_ref_kvar_x10 = 0
        self.loading = True        # soft load still under way
        self.is_unloaded = False   # unloaded(), as the last update left it
        # A stack (fleet.py sets them each tick): this unit's share of the
        # plant, whether every peer last on the grid with it is heard (1) or
        # not (0), and the heard units' mean % of rating less its own.
        self.share_x1000 = 1000
        self.peers_whole = 1
        self.share_err_pct_x100 = 0
        self.retune()

    def retune(self):
        """(Re)derive the ramp and the power-factor slope from the settings:
        a set point written while running (Modbus) takes effect without a
        bump, through the ramp."""
        cfg = self.cfg
        self.p_rated = cfg.p_fuel_rated_kw_x10
        r = mul_div(self.p_rated, cfg.ramp_pct_s, 100) * cfg.tick_ms // 1000
        self.ramp_tick = r if r > 0 else 1
        t = self.ramp_tick * 10
        self.track_tick = t
        # tan(phi) x1000 for the power-factor set point: sqrt(1 - pf^2) / pf,
        # negative for a leading set point (the set absorbs vars: a site
        # whose export lifts the PCC voltage).
        pf = cfg.pf_x1000 if cfg.pf_x1000 >= 0 else -cfg.pf_x1000
        t = mul_div(isqrt(1000000 - pf * pf), 1000, pf)
        self.tan_x1000 = t if cfg.pf_x1000 >= 0 else -t

    def start(self, p_kw_x10):
        """Bumpless, but never below the minimum load a freshly closed set
        takes at once (5 % of rating): holding exactly zero after a close
        would let the set swing into reverse power."""
        lo = self.p_rated // 20
        self.p_ref_kw_x10 = p_kw_x10 if p_kw_x10 > lo else lo
        self.loading = True

    # update and unloaded are machine code on a board (host_sim/native.py):
    # attributes read once and cast with int().

    @viper
    def update(self, m, unloading) -> int:
        """One tick; returns the power reference (kW_x10).  m: Measure."""
        cfg = self.cfg
        p_filt = int(m.p_filt_kw_x10)
        share = int(self.share_x1000)
        pr_ = int(self.p_rated)
        ex = int(cfg.export_limit_kw_x10)
        if share == 1000:
            site = p_filt + int(m.grid_p_kw_x10)          # what the site draws
            if unloading:
                goal = 0
            elif int(cfg.pc_mode) == 1:
                goal = site - int(cfg.import_cap_kw_x10)
            else:
                goal = int(cfg.base_kw_x10)
            # Never export more than allowed: production <= site + export
            # limit.  Zero export means a minimum import: the min-import
            # relay (32 at the PCC) then tells a dead grid from a quiet one.
            lim = site + ex if ex > 0 else site - int(cfg.import_min_kw_x10)
        else:
            # One of a stack: its own kW and its share of the meter's
            # error, held to +-2**20 (a 104 MW plant) so that times the
            # share it stays a small int; with the link whole, toward the
            # units' mean % of rating.
            grid = int(m.grid_p_kw_x10)
            if unloading:
                goal = 0
            else:
                whole = int(self.peers_whole)
                if int(cfg.pc_mode) == 1:
                    e = grid - int(cfg.import_cap_kw_x10)
                    e = -1048576 if e < -1048576 else (1048576 if e > 1048576 else e)
                    goal = p_filt + e * share // 1000
                    if whole != 0:
                        d = int(self.share_err_pct_x100)
                        d = -10000 if d < -10000 else (10000 if d > 10000 else d)
                        goal += d * (pr_ // 100) // _SHARE_K_DIV
                else:
                    b = int(cfg.base_kw_x10)
                    b = 1048576 if b > 1048576 else b
                    goal = b * share // 1000
            e = grid + ex if ex > 0 else grid - int(cfg.import_min_kw_x10)
            e = -1048576 if e < -1048576 else (1048576 if e > 1048576 else e)
            lim = p_filt + e * share // 1000
        if goal > lim:
            goal = lim
        goal = 0 if goal < 0 else (goal if goal < pr_ else pr_)
        step = int(self.ramp_tick) if (self.loading or unloading) else int(self.track_tick)
        ref = int(self.p_ref_kw_x10)
        if ref < goal:
            ref = ref + step if ref + step < goal else goal
        elif ref > goal:
            ref = ref - step if ref - step > goal else goal
        if ref == goal:
            self.loading = False
        self.p_ref_kw_x10 = ref
        if int(cfg.q_mode) == 1:
            self.q_ref_kvar_x10 = cfg.kvar_x10
        else:
            self.q_ref_kvar_x10 = p_filt * int(self.tan_x1000) // 1000
        # unloaded(m) as it stands after this update, kept for the tick
        # (one call fewer).
        u = pr_ * int(cfg.unload_pct) // 100
        self.is_unloaded = p_filt <= u and ref <= u
        return ref

    @viper
    def unloaded(self, m) -> bool:
        """Low enough to open the breaker without a bump."""
        u = int(self.p_rated) * int(self.cfg.unload_pct) // 100
        return int(m.p_filt_kw_x10) <= u and int(self.p_ref_kw_x10) <= u
