"""Power management for a stack (issue 12): which units run.  No master: every
unit works out the same answer from the same frames (sharelink.Peers) and
acts only on its own part of it, so the loss of any one unit, whichever,
takes nothing with it.

The stack, as this unit sees it: itself and every fresh peer in AUTO
without a shutdown (the candidates).  Ranking, the order to start in (the
reverse to stop): by priority setting then unit id (RANK_PRIORITY), or by
running hours in bands of eq_band_h then unit id (RANK_HOURS: running-hours
equalisation; the band stops two units with near-equal hours swapping
places every hour).

- Running: a candidate on the bus (sharelink.F_GCB_CLOSED), or starting
  (its sequence between PRESTART and CLOSING: capacity on its way, so no
  second start is called for the same demand).
- Start: with fewer than min_units running (after a blackout, or a unit
  tripped), as many of the best-ranked stopped candidates as are missing
  start together after start_delay_ms (a blackstart starts the whole
  minimum at once: one then closes onto the dead bus, deadbus.py, and the
  rest synchronise to it).  Otherwise the best-ranked stopped candidate
  starts when, for start_delay_ms, the load is above start_pct of the
  running capacity, or the spinning reserve (capacity - load) is below
  reserve_kw, or the stack's acceptable step (sum of the running units'
  step figures, each no more than its spare capacity) is below step_kw;
  with the load above the capacity (a unit just tripped) the delay is
  trip_delay_ms; and nothing starts for a load figure while a start is in
  progress.
- Stop: the worst-ranked running unit on the bus stops when, for
  stop_delay_ms, the rest (without it) would carry the load below stop_pct
  of their capacity with reserve_kw and step_kw still met, and more than
  min_units run.  Only one stops at a time: the figures are taken afresh
  after it has left the bus.
- Load shedding: the stage (0..SHED_STAGES) rises by one each shed_delay_ms
  the load stays above shed_pct of the running capacity (only once nothing
  more can start: no stopped candidate left, or a start in progress), and
  falls by one each shed_delay_ms it stays below restore_pct - and, once
  the stage's size is known, only if the load with it back would stay
  under shed_pct (each stage's kW is learnt from the load's change
  _LEARN_MS after it was shed or restored alone: a stage bigger than the
  gap between the two thresholds was restored and shed again every few
  seconds, measured on one unit left carrying 104 %).  With the
  load over the running capacity, or the bus frequency saying the units are
  overloaded (fleet.py: under 95 % for 300 ms; a set at its fuel limit
  reads no more than its rating as it slows), it rises by one every
  _SHED_FAST_MS (100 ms), a start or not.
- fleet_step_kw: the load step the stack can accept now, for the data
  centre to pace its jobs by (Modbus).
- Listening: for listen_ms after it is built a unit neither starts nor
  stops one (a running unit runs on): it has not heard the stack yet.

Thresholds in whole percent and kW: every product stays below 2**30 on a
32-bit port (160 MW of stack x 100 %).  Allocation free.
"""

from array import array

from fixpt import const
import sharelink as sl

RANK_PRIORITY = const(0)
RANK_HOURS = const(1)
SHED_STAGES = const(3)
_ST_PRESTART = const(1)   # sequencer.ST_PRESTART
_ST_CLOSING = const(9)    # sequencer.ST_CLOSING
_SAT_MS = const(1000000000)
_LEARN_MS = const(1500)   # a stage's size: the load's change this long after it alone moved
_SHED_FAST_MS = const(100)    # overloaded: a stage this often


class PowerMgmt:
    def __init__(self, own):
        self.own = own
        self.rank_mode = RANK_PRIORITY
        self.eq_band_h = 50
        self.start_pct = 80
        self.stop_pct = 60
        self.reserve_kw = 0
        self.step_kw = 0
        self.min_units = 1
        self.start_delay_ms = 10000
        self.trip_delay_ms = 1000
        self.stop_delay_ms = 60000
        self.shed_pct = 100
        self.restore_pct = 85
        self.shed_delay_ms = 2000
        # Listen first: no start or stop until the link has had this long to
        # bring every peer's frame in (a unit that decided at once would
        # think itself alone, and every unit would start).
        self.listen_ms = 0
        self._up_ms = 0
        # outputs
        self.run = False           # this unit should run (its AUTO run request)
        self.shed_stage = 0
        self.fleet_step_kw = 0
        self.cap_kw = 0            # running capacity on the bus
        self.load_kw = 0
        self.n_running = 0
        # timers
        self._start_ms = 0
        self._stop_ms = 0
        self._shed_ms = 0
        self._restore_ms = 0
        self._keys = array("i", [0] * (sl.MAX_UNITS + 1))
        # each stage's kW (index 1..SHED_STAGES; 0: not known yet)
        self.stage_kw = array("i", [0] * (SHED_STAGES + 1))
        self._learn_k = 0          # the stage being measured (0 none)
        self._learn_ms = 0
        self._learn_kw = 0         # the load when it moved

    def _key(self, prio, run_h, u):
        """Rank key: lower starts first."""
        if self.rank_mode == RANK_HOURS:
            b = self.eq_band_h if self.eq_band_h > 0 else 1
            return (run_h // b) * 32 + u
        return prio * 32 + u

    def update(self, peers, own_avail, own_state, own_on_bus, own_prio, own_run_h,
               own_rating_kw, own_p_kw, own_step_kw, dt_ms, overload=False):
        """own_avail: this unit is in AUTO without a shutdown (a candidate).
        own_state: its sequencer state.  overload: the bus frequency says the
        units on it are overloaded (fleet.py).  Returns self.run."""
        own = self.own
        cap = 0
        load = 0
        step = 0
        n_run = 0
        starting = False
        stopped = 0                 # bit u: unit u is a stopped candidate
        keys = self._keys
        best_stopped = -1           # rank key of the best-ranked stopped candidate
        best_stopped_u = 0
        own_key = -1                # this unit's key, if it is a stopped candidate
        better = 0                  # stopped candidates ranked before it
        worst_run = -1              # rank key of the worst-ranked unit on the bus
        worst_run_u = 0
        worst_run_kw = 0
        worst_run_step = 0
        for u in range(1, sl.MAX_UNITS + 1):
            if u == own:
                if not own_avail:
                    continue
                st = own_state
                on = own_on_bus
                r = own_rating_kw
                p = own_p_kw
                s = own_step_kw
                key = self._key(own_prio, own_run_h, u)
            else:
                if not peers.fresh(u):
                    continue
                f = peers.flags[u]
                if not f & sl.F_AUTO or f & sl.F_SHUTDOWN:
                    continue
                st = peers.state[u]
                on = f & sl.F_GCB_CLOSED
                r = peers.rating_kw[u]
                p = peers.p_pct_x100[u] * r // 10000
                s = peers.step_kw[u]
                key = self._key(peers.prio[u], peers.run_h[u], u)
            if on:
                cap += r
                load += p
                spare = r - p
                if spare < 0:
                    spare = 0
                step += s if s < spare else spare
                n_run += 1
                if key > worst_run:
                    worst_run = key
                    worst_run_u = u
                    worst_run_kw = r
                    worst_run_step = s if s < spare else spare
            elif _ST_PRESTART <= st <= _ST_CLOSING:
                starting = True
                n_run += 1
            else:
                if u == own:
                    own_key = key
                if best_stopped < 0 or key < best_stopped:
                    best_stopped = key
                    best_stopped_u = u
                stopped |= 1 << u
                keys[u] = key
        if own_key >= 0:
            for u in range(1, sl.MAX_UNITS + 1):
                if (stopped >> u) & 1 and u != own and keys[u] < own_key:
                    better += 1
        if load < 0:
            load = 0
        listening = self._up_ms < self.listen_ms
        if listening:
            self._up_ms += dt_ms
        self.cap_kw = cap
        self.load_kw = load
        self.fleet_step_kw = step
        self.n_running = n_run

        # start the next one?  Fewer than min_units running or on their way
        # (a blackout, a unit tripped): as many start at once as are
        # missing, the best-ranked first.  A load figure asks for one at a
        # time, and not while a start is in progress.
        short = self.min_units - n_run
        need_load = load * 100 > self.start_pct * cap or cap - load < self.reserve_kw or \
            step < self.step_kw
        need = short > 0 or need_load
        tripped = load > cap or overload
        counting = (short > 0 or (need_load and not starting)) and best_stopped_u != 0
        if counting:
            t = self._start_ms + dt_ms
            self._start_ms = t if t < _SAT_MS else _SAT_MS
        else:
            self._start_ms = 0
        lim = self.trip_delay_ms if tripped else self.start_delay_ms
        start_now = counting and self._start_ms >= lim and not listening

        # What this unit reads itself, beside what the frames say: the
        # stack shares by % of rating, so a unit on the bus carries about
        # the stack's mean.  Shedding, restoring and a stop of its own act
        # only when its own reading agrees: a frame that lies (a node on the
        # link claiming load it does not carry, or a phantom unit) cannot
        # shed loads or stop a set (every unit's relay sheds its stage).
        r_own = own_rating_kw if own_rating_kw > 0 else 1
        own_pct = own_p_kw * 100 // r_own if own_on_bus else 0
        own_pct = 0 if own_pct < 0 else (1000 if own_pct > 1000 else own_pct)
        heavy = own_on_bus and own_pct >= self.restore_pct
        # stop one?
        rest = cap - worst_run_kw
        can_stop = worst_run_u != 0 and not starting and not need and \
            n_run > self.min_units and rest > 0 and \
            load * 100 < self.stop_pct * rest and rest - load >= self.reserve_kw and \
            step - worst_run_step >= self.step_kw and \
            (worst_run_u != own or own_pct * cap < self.stop_pct * rest)
        if can_stop:
            t = self._stop_ms + dt_ms
            self._stop_ms = t if t < _SAT_MS else _SAT_MS
        else:
            self._stop_ms = 0
        stop_now = can_stop and self._stop_ms >= self.stop_delay_ms and not listening

        # this unit's own part
        if not own_avail:
            self.run = False
        elif own_on_bus or _ST_PRESTART <= own_state <= _ST_CLOSING:
            self.run = not (stop_now and worst_run_u == own)
        elif short > 0:
            self.run = start_now and own_key >= 0 and better < short
        else:
            self.run = start_now and best_stopped_u == own

        # Load shedding, once nothing more can start.  Overloaded (the load
        # over the running capacity: a unit tripped) a stage every
        # _SHED_FAST_MS whatever the delay: measured, a set left with 140 %
        # stalled 0.6 s after the other's breaker opened, before a 2 s delay
        # ran out (the next unit takes ~20 s to start, so a start in
        # progress does not help).
        # (The bus frequency's overload is this unit's own reading.)
        tripped = (tripped and heavy) or overload
        k0 = self.shed_stage
        if ((load * 100 > self.shed_pct * cap and heavy) or overload) and \
                (starting or not best_stopped_u or tripped):
            t = self._shed_ms + dt_ms
            self._shed_ms = t if t < _SAT_MS else _SAT_MS
            lim = _SHED_FAST_MS if tripped and self.shed_delay_ms > _SHED_FAST_MS else \
                self.shed_delay_ms
            if self._shed_ms >= lim and self.shed_stage < SHED_STAGES:
                self.shed_stage += 1
                self._shed_ms = 0
        else:
            self._shed_ms = 0
        k = self.shed_stage
        back = self.stage_kw[k] if k > 0 else 0
        if k > 0 and load * 100 < self.restore_pct * cap and not heavy and not overload and \
                (back == 0 or (load + back) * 100 < self.shed_pct * cap):
            t = self._restore_ms + dt_ms
            self._restore_ms = t if t < _SAT_MS else _SAT_MS
            if self._restore_ms >= self.shed_delay_ms:
                self.shed_stage -= 1
                self._restore_ms = 0
        else:
            self._restore_ms = 0
        # Learn a stage's size from one move alone (several stages in a
        # row, the fast path, would be one change of the load for them all).
        k = self.shed_stage
        if k != k0:
            moved = k if k > k0 else k0
            if self._learn_k == moved:
                # The same stage back within the window (restored, and shed
                # again at once): its size is the change seen so far.
                d = load - self._learn_kw
                self.stage_kw[moved] = d if d > 0 else -d
                self._learn_k = 0
            elif self._learn_k != 0:
                self._learn_k = 0          # another moved before it was measured
            else:
                self._learn_k = moved
                self._learn_ms = 0
                self._learn_kw = load
        elif self._learn_k != 0:
            t = self._learn_ms + dt_ms
            self._learn_ms = t
            if t >= _LEARN_MS:
                d = load - self._learn_kw
                self.stage_kw[self._learn_k] = d if d > 0 else -d
                self._learn_k = 0
        return self.run
