"""One controller's part in a stack of GX230s (issue 12): the share link's
frames in and out, and what the stack asks of this unit.

Built by the controller when fleet_unit_id is set (config.py).  Every
PERIOD_MS it runs power management (powermgmt.py: should this unit run),
island load sharing (loadshare.py: its speed and voltage biases), the
dead-bus arbiter (deadbus.py: may it close onto a dead bus), and broadcasts
its frame (sharelink.py) through the HAL (Hal.share_send); frames from the
others arrive through Controller.share_rx between ticks.  The sequencer
reads the answers (Sequencer.fleet_run, fleet_db_ok); the controller adds
the biases to the governor's and the AVR's references while the unit is on
an island bus (its GCB closed, the mains breaker open).

In a stack the bus sensing (IN_BUS_*) is the common bus on the far side of
this unit's breaker: a live bus with the mains breaker open is another
unit's, and this one synchronises to it.

The link's figures here are the ones the dead-bus claim floor is worked
out from (config._CLAIM_FLOOR_MS): frames every 50 ms, a peer stale after
300 ms, a link latency of at most 50 ms (CAN at 250 kbit/s carries 16
units' frames, three CAN frames each, in about 25 ms; 12 ms at 500 kbit/s:
boards/common/mcp2515.py).  Allocation free in tick() and rx().
"""

from array import array

from fixpt import const
import config
import deadbus
import fuels
import loadshare
import powermgmt
import protection as pr
import sharelink as sl
import synccheck

PERIOD_MS = const(50)
STALE_MS = const(300)
LATENCY_MS = const(50)

_DI_GCB_CLOSED = const(16)     # hal.DI_GCB_CLOSED
_DI_MB_CLOSED = const(128)     # hal.DI_MB_CLOSED
_ST_AVAILABLE = const(7)       # sequencer.ST_*
_ST_CLOSING = const(9)
_MODE_AUTO = const(2)
_CL_TRIP = const(3)            # protection.CL_TRIP
_PCT_MAX = const(20000)
_TRANSIT_S = const(5)          # a step is in transit this long (ISO 8528-5 G2 recovery: 5 s)
_RING_N = const(16)            # ticks of its own kW kept (peers heard up to this old)
_UF_PCT = const(95)            # overload: the island bus under 95 % of nominal ...
_UF_MS = const(300)            # ... this long (load shedding, powermgmt.py)
_PLANT_PERIODS = const(20)     # a plant frame every 20 share periods (1 s), at its own phase
# The plant's grid-parallel set points: one reference for the whole stack,
# carried by the plant frame (sharelink.py), in this order.
PLANT_SETTINGS = ("pc_mode", "base_kw_x10", "import_cap_kw_x10", "export_limit_kw_x10",
                  "import_min_kw_x10")
_N_PLANT = const(5)


class Fleet:
    PLANT = PLANT_SETTINGS

    def __init__(self, cfg):
        u = cfg.fleet_unit_id
        self.unit = u
        self.peers = sl.Peers(u, STALE_MS)
        self.ls = loadshare.LoadShare(u)
        self.ls.fallback_droop_pct_x100 = cfg.ls_droop_pct_x100
        pm = powermgmt.PowerMgmt(u)
        pm.rank_mode = cfg.pm_rank
        pm.eq_band_h = cfg.pm_eq_band_h
        pm.start_pct = cfg.pm_start_pct
        pm.stop_pct = cfg.pm_stop_pct
        pm.reserve_kw = cfg.pm_reserve_kw
        pm.step_kw = cfg.pm_step_kw
        pm.min_units = cfg.pm_min_units
        pm.start_delay_ms = cfg.pm_start_delay_s * 1000
        pm.stop_delay_ms = cfg.pm_stop_delay_s * 1000
        pm.shed_pct = cfg.pm_shed_pct
        pm.restore_pct = cfg.pm_restore_pct
        pm.shed_delay_ms = cfg.pm_shed_delay_s * 1000
        pm.listen_ms = 2 * STALE_MS
        self.pm = pm
        self.db = deadbus.DeadBus(u, cfg.fleet_master_id, cfg.fleet_mask, cfg.fleet_claim_ms)
        self.prio = cfg.fleet_prio
        self.master = cfg.fleet_master_id
        r = cfg.p_fuel_rated_kw_x10 // 10
        self.rating_kw = r if r > 0 else 1
        self.step_kw = self.rating_kw * cfg.fuel_row[fuels.F_MAX_STEP_PCT] // 100
        # The step it offers: its fuel's, less what is in transit - the load
        # it picked up within the last _TRANSIT_S (the minimum of its kW
        # per second, kept _TRANSIT_S seconds): a set still recovering from
        # one step has not got its whole envelope back for the next.
        self.offer_kw = self.step_kw
        self._p_min = array("i", [1 << 29] * _TRANSIT_S)
        self._p_min_k = 0
        self._p_min_ms = 0
        self.rated_rpm_x10 = cfg.rated_rpm_x10
        self.f_nom_mhz = cfg.f_nom_mhz
        self._uf_ms = 0                 # on an island bus under _UF_PCT of nominal this long
        # Grid-parallel as a plant (powerctl.py): this unit's share of the
        # plant, the heard units' mean % of rating less its own, whether every
        # peer last there is heard, and bit u: unit u last heard there.
        self.par_share_x1000 = 1000
        self.par_err_pct_x100 = 0
        self.par_whole = 1
        self._par_bus = 0
        self._p_ring = array("i", [0] * _RING_N)   # its own kW_x10, the last _RING_N ticks
        self._p_k = 0
        self._jump_kw_x10 = 0          # a load step its own kW showed, not yet in the peers' frames
        self._jump_ticks = 0
        self.tick_ms = cfg.tick_ms if cfg.tick_ms > 0 else 10
        self.v_rated_dv = cfg.v_rated_dv
        self.buf = bytearray(sl.FRAME_BYTES)
        self.seq = 0
        self.sent = 0
        self._acc_ms = PERIOD_MS      # the first tick already decides and sends
        self.spd_bias_rpm_x10 = 0
        self.v_bias_dv = 0
        self.shared_bus = False
        self.ff_hold_q8 = -1            # the kW fed forward on droop (controller), 0.1 kW x 256; -1 none
        # The plant's set points (PLANT_SETTINGS), one for the stack: every
        # unit broadcasts its own with a revision, and takes a newer one
        # heard (a write on any unit is the stack's), the lowest id's at an
        # equal revision.  After a boot a unit's own are not yet the
        # stack's (plant_set False): it takes the first revision heard.
        self.cfg = cfg
        self._plant_i = array("i", [config._INDEX[n] for n in PLANT_SETTINGS])
        self._plant_old = array("i", [0] * _N_PLANT)
        self._plant_new = array("i", [0] * _N_PLANT)
        self.plant_rev = 0
        self.plant_set = False
        self.plant_adopted = 0          # times it took the stack's set points
        self.plant_refused = 0          # plant frames whose set points its settings refused
        self.plant_changed = False      # taken since the last tick (the sequencer is told)
        self._plant_k = (u * 7) % _PLANT_PERIODS   # 7 is prime to 20: sixteen phases apart
        self._plant_now = False
        self._plant_due = False
        self._plant_seq = 0
        self._ticked = False            # settings before the first tick are its boot configuration
        self.pbuf = bytearray(sl.FRAME_BYTES)
        self.f_prev_rpm_x10 = 0         # the bus frequency governed on, last tick (0: none)

    def _parallel(self, on, p_pct_x100, rating_kw):
        """On the grid with other units (both breakers closed): the rating
        in power control on the bus (this unit, the peers heard there, and
        those last heard there and unheard since: with the link down each
        unit keeps the share it knew, so the shares still sum to the whole
        correction), this unit's share of it, and the heard units' mean %
        of rating less its own (powerctl.py draws it to the mean).  A peer
        whose frame says its breaker opened leaves."""
        if not on:
            self.par_share_x1000 = 1000
            self.par_err_pct_x100 = 0
            self.par_whole = 1
            self._par_bus = 0
            return
        peers = self.peers
        own = self.unit
        r_all = rating_kw
        r_heard = rating_kw
        diff = 0                                       # (peer % - own % then) x rating, 0.01 kW
        r_own = rating_kw if rating_kw > 0 else 1
        bus = 0
        for u in range(1, sl.MAX_UNITS + 1):
            if u == own:
                continue
            r = peers.rating_kw[u]
            if not peers.fresh(u):
                if (self._par_bus >> u) & 1:
                    bus |= 1 << u
                    r_all += r
                continue
            f = peers.flags[u]
            if not f & sl.F_GCB_CLOSED or not f & sl.F_MB_CLOSED:
                continue
            bus |= 1 << u
            r_all += r
            r_heard += r
            # the peer's % less its own % at the same moment
            x = self._p_at(peers.age_ms[u]) * 1000 // r_own
            x = -_PCT_MAX if x < -_PCT_MAX else (_PCT_MAX if x > _PCT_MAX else x)
            diff += (peers.p_pct_x100[u] - x) * r // 100
        self._par_bus = bus
        self.par_share_x1000 = rating_kw * 1000 // r_all if r_all > 0 else 1000
        self.par_whole = 1 if r_heard == r_all else 0
        # The heard units' mean % of rating less its own, each peer against
        # its own kW at that peer's frame (its own now against figures up to
        # a period old read every change of the plant's output as a sharing
        # error, the same on every unit at once: the plant hunted at ~4 Hz).
        self.par_err_pct_x100 = loadshare._mean(diff, r_heard) if r_heard > rating_kw else 0

    def share_ff_kw_x10(self, p_kw_x10, jumped):
        """The kW (0.1 kW) it feeds forward on a shared bus: its share of
        the stack's load as the peers' latest frames and its own kW at the
        moment of them give it, plus a load step its own reading has shown
        since (jumped: the meter's filter followed a step this tick), held
        until the peers' figures postdate it.  (Every unit took its share of
        a step at once; the peers' frames show theirs within a period.)"""
        then = self.own_p_then_kw_x10()
        ls = self.ls
        if jumped:
            self._jump_kw_x10 = p_kw_x10 - then
            self._jump_ticks = 0
        elif self._jump_kw_x10 != 0:
            t = self._jump_ticks + 1
            # (past the ring's length the peers' figures are as old as it
            # can look back: let the step go)
            if ls.peer_age_ms() // self.tick_ms < t or t >= _RING_N:
                self._jump_kw_x10 = 0
                t = 0
            self._jump_ticks = t
        return ls.share_kw_x10(then, self.rating_kw) + self._jump_kw_x10

    def own_p_then_kw_x10(self):
        """Its own kW (0.1 kW) when the sharing peers' figures in the mean
        were read: the ring at their frames' mean age (rating-weighted)."""
        return self._p_at(self.ls.peer_age_ms())

    def _p_at(self, age_ms):
        """Its own kW (0.1 kW) age_ms ago, from the ring (at most its length)."""
        n = age_ms // self.tick_ms
        n = _RING_N - 1 if n >= _RING_N else n
        i = self._p_k - n
        return self._p_ring[i + _RING_N if i < 0 else i]

    def _transit(self, p_kw, on, dt_ms):
        """offer_kw: the fuel's step less the load picked up in the last
        _TRANSIT_S seconds (off the bus: the whole step; a breaker just
        closed starts from its kW then)."""
        mins = self._p_min
        if not on:
            for i in range(_TRANSIT_S):
                mins[i] = 1 << 29
            self.offer_kw = self.step_kw
            return
        k = self._p_min_k
        if p_kw < mins[k]:
            mins[k] = p_kw
        t = self._p_min_ms + dt_ms
        if t >= 1000:
            t = 0
            k = k + 1 if k + 1 < _TRANSIT_S else 0
            mins[k] = p_kw
            self._p_min_k = k
        self._p_min_ms = t
        lo = mins[0]
        for i in range(1, _TRANSIT_S):
            if mins[i] < lo:
                lo = mins[i]
        if lo > p_kw:
            lo = p_kw
        x = self.step_kw - (p_kw - lo)
        self.offer_kw = x if x > 0 else 0

    def keep_plant(self, old):
        """A rebuild (settings written with the engine stopped): the plant's
        revision and the frame counts go on from the Fleet before."""
        self.plant_rev = old.plant_rev
        self.plant_set = old.plant_set
        self.plant_adopted = old.plant_adopted
        self.plant_refused = old.plant_refused
        self._plant_now = old._plant_now or old._plant_due
        self._ticked = old._ticked
        # its frames' counts go on too (restarted, a receiver would drop
        # the next as a repeat of the last it heard)
        self._plant_seq = old._plant_seq
        self.seq = old.seq

    def plant_written(self):
        """One of PLANT_SETTINGS was written here (Modbus, the link, a
        tool): the stack's new revision, sent at the next period.  (Not
        the configuration it boots with: that is its own until it has
        heard the stack's.)"""
        if not self._ticked:
            return
        self.plant_rev = (self.plant_rev + 1) & 0xFFFF
        self.plant_set = True
        self._plant_now = True

    def _plant_rx(self):
        """A plant frame was taken: adopt its set points if they are the
        stack's newer (or, equal, the lower id's)."""
        pe = self.peers
        u = pe.plant_u
        pe.plant_u = 0
        cfg = self.cfg
        new = self._plant_new
        new[0] = pe.plant_mode
        new[1] = pe.plant_base
        new[2] = pe.plant_cap
        new[3] = pe.plant_export
        new[4] = pe.plant_imin
        same = new[0] == cfg.pc_mode and new[1] == cfg.base_kw_x10 and \
            new[2] == cfg.import_cap_kw_x10 and new[3] == cfg.export_limit_kw_x10 and \
            new[4] == cfg.import_min_kw_x10
        theirs = pe.plant_flags & sl.PF_SET
        d = (pe.plant_rev - self.plant_rev) & 0xFFFF
        if self.plant_set:
            if not theirs or d >= 32768 or (d == 0 and (same or u > self.unit)):
                return
        elif not theirs and (same or u > self.unit):
            return
        if not same:
            # Through the settings' own checks, all or nothing.
            idx = self._plant_i
            old = self._plant_old
            for k in range(_N_PLANT):
                old[k] = getattr(cfg, PLANT_SETTINGS[k])
            for k in range(_N_PLANT):
                if new[k] != old[k] and not cfg.set_live(idx[k], new[k]):
                    for j in range(k):
                        if new[j] != old[j]:
                            cfg.set_live(idx[j], old[j])
                    if self.plant_refused < 1000000:
                        self.plant_refused += 1
                    return
            self.plant_changed = True
            if self.plant_adopted < 1000000:
                self.plant_adopted += 1
        if theirs:
            self.plant_rev = pe.plant_rev
            self.plant_set = True

    def rx(self, buf, n):
        """A frame from the link: taken, or refused and counted (sharelink)."""
        peers = self.peers
        u = buf[2] if n == sl.FRAME_BYTES else 0
        if u < 1 or u > sl.MAX_UNITS or buf[0] == sl.PLANT_SYNC:
            res = peers.decode(buf, n)
            if peers.plant_u != 0:
                self._plant_rx()
            return res
        p0 = peers.p_pct_x100[u]
        r0 = peers.rating_kw[u]
        a0 = peers.age_ms[u]
        res = peers.decode(buf, n)
        if res < 0:
            self.ls.peer_frame(u, p0, r0, a0, peers.p_pct_x100[u], peers.rating_kw[u])
        return res

    def clock(self, p_kw_x10, dt_ms):
        """Every tick, first: the peers' figures grow dt_ms older, and its
        own kW goes into the ring (to set beside a peer's at its frame)."""
        self.peers.tick(dt_ms)
        self.ls.tick_age(dt_ms)
        k = self._p_k + 1
        k = 0 if k >= _RING_N else k
        x = p_kw_x10
        self._p_ring[k] = -65536 if x < -65536 else (65536 if x > 65536 else x)
        self._p_k = k

    def tick(self, hal, m, seq, worst, run_s, last_alarm, dt_ms):
        """Every control tick, before the sequencer's update.  last_alarm:
        the protection index of the alarm raised last (-1 none)."""
        self.clock(m.p_kw_x10, dt_ms)
        self._ticked = True
        if self.plant_changed:
            self.plant_changed = False
            seq.settings_changed()      # set points taken from the stack
        a = self._acc_ms + dt_ms
        if a < PERIOD_MS:
            self._acc_ms = a
            if self._plant_due and a >= PERIOD_MS // 2:
                self._send_plant(hal)
            return
        self._acc_ms = 0
        di = m.di
        gcb = (di & _DI_GCB_CLOSED) != 0
        mb = (di & _DI_MB_CLOSED) != 0
        st = seq.state
        r = self.rating_kw
        p = m.p_kw_x10 * 1000 // r
        q = m.q_kvar_x10 * 1000 // r
        p = -_PCT_MAX if p < -_PCT_MAX else (_PCT_MAX if p > _PCT_MAX else p)
        q = -_PCT_MAX if q < -_PCT_MAX else (_PCT_MAX if q > _PCT_MAX else q)
        p_kw = m.p_kw_x10 // 10
        auto = seq.mode == _MODE_AUTO
        # A candidate: in AUTO with no breaker trip or shutdown latched (a
        # latched trip keeps its breaker open until reset: the next one
        # replaces it).
        avail = auto and worst < _CL_TRIP
        run_h = run_s // 3600
        pm = self.pm
        island = gcb and not mb
        # Overloaded: an island bus held under _UF_PCT of nominal for
        # _UF_MS.  A set at its fuel limit reads no more than its rating as
        # its speed falls, so the kW alone never show the overload
        # (measured: one left with 140 % read 97 % at 51 Hz, and stalled).
        # An ISO load step dips for less (fleet4-island-ai: 57.8 Hz at worst).
        if island and m.bus_f_mhz * 100 < self.f_nom_mhz * _UF_PCT:
            u = self._uf_ms + a
            self._uf_ms = u if u < _UF_MS else _UF_MS
        else:
            self._uf_ms = 0
        self._transit(p_kw, gcb, a)
        run = pm.update(self.peers, avail, st, gcb, self.prio, run_h, r, p_kw, self.offer_kw, a,
                        self._uf_ms >= _UF_MS)
        ls = self.ls
        ls.update(self.peers, island, p, q, r, a)
        self._parallel(gcb and mb, p, r)
        # On an island bus with other sets (or unsure of it: the link has
        # failed): the governor's own-load leads stand aside (controller).
        self.shared_bus = island and (ls.n_bus_units > 1 or not ls.sharing)
        if island:
            self.spd_bias_rpm_x10 = self.rated_rpm_x10 * ls.spd_bias_pct_x100 // 10000
            self.v_bias_dv = self.v_rated_dv * ls.v_bias_pct_x100 // 10000
        else:
            self.spd_bias_rpm_x10 = 0
            self.v_bias_dv = 0
        want = (st == _ST_AVAILABLE or st == _ST_CLOSING) and not gcb and not mb and \
            seq.close_request(di)
        ok = self.db.update(self.peers, want, synccheck.bus_dead(m), a)
        if run != seq.fleet_run or ok != seq.fleet_db_ok:
            seq.fleet_run = run
            seq.fleet_db_ok = ok
            seq.settings_changed()      # the sequencer's quiet path starts afresh
        f = 0
        if gcb:
            f |= sl.F_GCB_CLOSED
        if mb:
            f |= sl.F_MB_CLOSED
        if ls.sharing:
            f |= sl.F_SHARING
        if self.db.claiming:
            f |= sl.F_DEADBUS_CLAIM
        if st == _ST_AVAILABLE:
            f |= sl.F_AVAILABLE
        if worst >= _CL_TRIP:
            f |= sl.F_SHUTDOWN
        if auto:
            f |= sl.F_AUTO
        code = pr.PROTECTIONS[last_alarm][pr.P_CODE] if last_alarm >= 0 else 0
        s = (self.seq + 1) & 0xFF
        self.seq = s
        sl.encode(self.buf, self.unit, s, st, f, self.prio, self.master, p, q, r,
                  sl.avail_kw(gcb, p, r), self.offer_kw if gcb else 0, run_h, code)
        hal.share_send(self.buf, sl.FRAME_BYTES)
        if self.sent < 1000000:
            self.sent += 1
        k = self._plant_k + 1
        if k >= _PLANT_PERIODS or self._plant_now:
            k = 0
            self._plant_now = False
            self._plant_due = True      # sent half a period after this one
        self._plant_k = k

    def _send_plant(self, hal):
        """The plant frame, half a period after a share frame: the CAN
        driver sends one frame (three CAN frames) at a time, and one sent
        straight after the share frame would displace it."""
        self._plant_due = False
        self._plant_seq = (self._plant_seq + 1) & 0xFF
        cfg = self.cfg
        sl.encode_plant(self.pbuf, self.unit, self._plant_seq,
                        sl.PF_SET if self.plant_set else 0, self.plant_rev, cfg.pc_mode,
                        cfg.base_kw_x10, cfg.import_cap_kw_x10, cfg.export_limit_kw_x10,
                        cfg.import_min_kw_x10)
        hal.share_send(self.pbuf, sl.FRAME_BYTES)
