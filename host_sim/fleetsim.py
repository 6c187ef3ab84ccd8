"""A stack of GX230s on one bus (issue 12): 2 to 16 units, each its own
engine, alternator, auxiliaries, sensors, generator breaker and controller
running the unchanged firmware in its own runtime (in-process CPython, or
each in its own MicroPython process), on the N-machine network
(plant/fleetnet.py) with the site load and, where there is one, the grid
behind the site's mains breaker; the controllers talk over a modelled share
link (ShareBus: latency, loss, cuts).

The order per control tick (10 ms) is the single set's (sim.py):

  link frames due -> every unit: sensors, firmware tick, outputs -> plant steps

with the frames a unit sends during its tick queued on the link, so no unit
hears another's frame from the same tick (as on a real bus, where a frame
takes its transmission and the receivers' next tick).  The plant steps at
1 kHz: every engine, alternator and sensor front end, one network solution
per step over every machine whose breaker is closed.

What is the single set's here, reused (never re-implemented): the plant
modules, the GX230's ratings from its [plant] table (sim.plant_ratings),
the fault injection (sim._apply_fault, fault_ramps), the digital inputs
(sim.di_bits), the phase currents, the grid events.  What differs: the
bus is the network's (every machine's terminals are the bus while its
breaker is closed), and each unit's bus sensing (IN_BUS_*) is that common
bus on the far side of its own breaker, as fleet.py expects.
"""

import cmath
import hashlib
import math
import random

from .plant.engine import Engine
from .plant.alternator import Alternator
from .plant.aux import Aux
from .plant.breaker import Breaker
from .plant.grid import Grid
from .plant.load import Load, LoadSchedule
from .plant.sensors import Sensors
from .plant.fleetnet import FleetNetwork
from .plant.network import LIVE_PU
from . import runtime as rt_mod
from . import steady
from .scenario import write_as_a_set
from .sim import (PLANT_DT_S, plant_ratings, _apply_fault, fault_ramps, new_fault_state,
                  phase_currents, di_bits, grid_event)
from . import firmware_path

firmware_path()
import config as fw_config  # noqa: E402
import fuels as fw_fuels  # noqa: E402
import hal  # noqa: E402
import controller as fw_ctl  # noqa: E402
import protection as fw_prot  # noqa: E402
import sequencer as fw_seq  # noqa: E402

TWO_PI = 2.0 * math.pi
pack_outputs = rt_mod.pack_outputs
# The HAL and telemetry indices a unit's tick reads, as globals.
_IN_GRID_P, _IN_GRID_Q = hal.IN_GRID_P_KW_X10, hal.IN_GRID_Q_KVAR_X10
_TELE_ALARMS0, _TELE_ALARMS1, _TELE_STATE = (fw_ctl.TELE_ALARMS0, fw_ctl.TELE_ALARMS1,
                                             fw_ctl.TELE_STATE)
_OUT_DO, _OUT_FUEL, _OUT_BIAS, _OUT_CUT = (hal.OUT_DO, hal.OUT_FUEL_PCT_X100,
                                           hal.OUT_AVR_BIAS_PCT_X100, hal.OUT_IGN_CUT_PCT_X100)
_DO_GCB_CLOSE, _DO_GCB_OPEN, _DO_CRANK, _DO_GAS_VALVE, _DO_IGNITION = (
    hal.DO_GCB_CLOSE, hal.DO_GCB_OPEN, hal.DO_CRANK, hal.DO_GAS_VALVE, hal.DO_IGNITION)
SHED_BITS = (hal.DO_SHED_1, hal.DO_SHED_2, hal.DO_SHED_3)
# Sharing figures: a tick is "transient" within this long after a load
# change or a breaker of the bus operating (a unit joining is soft-loaded,
# one leaving hands its load to the rest), "steady" otherwise.
TRANSIENT_S = 10.0
# The goals, % of rating: steady kW, steady kvar, transient kW.
GOAL_STEADY_KW_PCT = 2.0
GOAL_STEADY_KVAR_PCT = 5.0
GOAL_TRANSIENT_KW_PCT = 10.0
_RUNNING_STATES = ("warmup", "ramp", "stabilise", "available", "sync", "closing", "loaded",
                   "unload", "opening", "cooldown")


class BusView:
    """The common bus as one unit's bus sensing sees it (what
    Sensors.mains_inputs reads off a grid object)."""
    __slots__ = ("alive", "v_pu", "f_hz")

    def __init__(self):
        self.alive = False
        self.v_pu = 0.0
        self.f_hz = 0.0


class ShareBus:
    """The share link between the controllers, as CAN behaves: a frame one
    unit sends reaches every other unit latency_ms later, unless that pair
    is cut or the frame is lost for that receiver (a seeded draw per
    frame and receiver, so runs repeat).  A cut puts units in groups: each
    "cut" event moves the units it names into a new group (they hear each
    other, not the rest); a cut naming none silences every pair;
    "restore" joins everything again."""

    def __init__(self, latency_ms, loss_pct, seed):
        self.latency_s = latency_ms / 1000.0
        self.loss = loss_pct / 100.0
        self.rng = random.Random(seed)
        self.queue = []            # [t_due, n, src, frame], in send order
        self.n = 0
        self.group = {}            # unit id -> group (absent: 0)
        self.silent = False
        self.sent = self.delivered = self.lost = self.blocked = 0

    def apply(self, ev):
        a = ev["action"]
        if a == "cut":
            if ev["units"] is None:
                self.silent = True
            else:
                g = 1 + max(self.group.values(), default=0)
                for u in ev["units"]:
                    self.group[u] = g
        elif a == "restore":
            self.silent = False
            self.group = {}
        elif a == "loss":
            self.loss = ev["loss_pct"] / 100.0
        elif a == "latency":
            self.latency_s = ev["latency_ms"] / 1000.0

    def joined(self, a, b):
        return not self.silent and self.group.get(a, 0) == self.group.get(b, 0)

    def send(self, t_s, src, frame):
        self.queue.append((t_s + self.latency_s, self.n, src, frame))
        self.n += 1
        self.sent += 1

    def deliver(self, t_s, units):
        """Hand every frame due by t_s to each other unit it reaches."""
        q = self.queue
        if not q:
            return
        due = [f for f in q if f[0] <= t_s + 1e-9]
        if not due:
            return
        self.queue = [f for f in q if f[0] > t_s + 1e-9]
        silent = self.silent
        group = self.group
        for _, _, src, frame in due:
            g_src = group.get(src, 0)
            for u in units:
                uid = u.id
                if uid == src:
                    continue
                if silent or group.get(uid, 0) != g_src:      # not self.joined(src, uid)
                    self.blocked += 1
                elif self.loss > 0.0 and self.rng.random() < self.loss:
                    self.lost += 1
                else:
                    self.delivered += 1
                    u.rt.share_rx(frame)

    def report(self):
        return {"frames_sent": self.sent, "deliveries": self.delivered,
                "lost": self.lost, "blocked_by_cut": self.blocked}


class Unit:
    """One set of the stack: its plant and its controller's runtime."""

    def __init__(self, usc, sc, rt, dt, tick_s):
        self.id = usc["id"]
        self.usc = usc
        self.rt = rt
        f_nom = float(sc["f_nom_hz"])
        self.f_nom = f_nom
        plant = usc["plant"]
        pr = plant_ratings({"plant": plant, "f_nom_hz": sc["f_nom_hz"], "fuel": usc["fuel"]})
        self.p_set_kw = pr["p_base_kw"]
        self.p_fuel_kw = pr["p_fuel_kw"]
        self.s_kva = pr["s_kva"]
        self.v_rated = pr["v_rated_v"]
        self.rated_rpm = pr["rated_rpm"]
        self.eng = Engine(plant, usc["fuel"], f_nom, self.p_set_kw, dt, pr["poles"])
        self.alt = Alternator(plant, dt)
        self.aux = Aux(plant, dt)
        self.running_start = usc["start"] == "running"
        self.brk = Breaker(plant, closed=self.running_start)
        # Each unit's sensors their own seeded generators.
        self.sens = Sensors(sc["seed"] * 31 + self.id, pr["mpu_teeth"], f_nom, pr["poles"],
                            self.v_rated, self.p_set_kw, dt, tick_s)
        self.map_kpa_pu = 101.325 / self.eng.p_amb
        cfg = fw_config.Config()
        cfg.set_many([("fuel", fw_fuels.fuel_code(usc["fuel"])), ("f_nom_hz", sc["f_nom_hz"])] +
                     sorted(usc["firmware"].items()))
        self.cfg = cfg
        self.prot = fw_prot.Protection(cfg)
        self.fstate = new_fault_state()
        self.estop = False
        self.config_en = False
        self.remote_start = usc["remote_start"]
        self.inputs = [0] * hal.N_IN
        self.cmd = 0.0
        self.bias = 0.0
        self.cut = 0.0
        self.do = 0
        self.p = self.q = self.v = 0.0
        self.gen_angle = 0.0
        self.term_cycles = 0.0
        self.prev_term = 0.0
        self.prev_closed = self.brk.closed
        self.sha = hashlib.sha256()
        self.states = []
        self.alarms = []
        self.closes = []
        self.opens = []
        self.prev_bits = 0
        self.prev_state = -1
        self.tele = None
        self.state_name = "stopped"

    def configure(self):
        settings = [("fuel", fw_fuels.fuel_code(self.usc["fuel"])),
                    ("f_nom_hz", self.cfg.f_nom_hz)] + sorted(self.usc["firmware"].items())
        left = write_as_a_set(settings, self.rt.configure)
        if left:
            k, v = left[0]
            raise rt_mod.RuntimeError_("unit %d: firmware refused setting %s = %r"
                                       % (self.id, k, v))
        if self.usc["mode"] != "auto":
            self.rt.command("mode_" + self.usc["mode"])

    def settle_running(self, p_kw, q_kvar, bus_angle_rad, steps, dt, tick_s, v_pu=1.0):
        """On the bus at t = 0 carrying p, q at rated voltage: E' behind X'd
        (its angle ahead of the bus by the load angle), the throttle that
        holds p, the sensors' pre-roll (sim.py's, for a running start)."""
        alt, eng, sens = self.alt, self.eng, self.sens
        s = self.s_kva
        alt.settle(p_kw / s, q_kvar / s)
        e = complex(v_pu, 0.0) + 1j * alt.xdp * complex(p_kw / s, -q_kvar / s) / v_pu
        self.gen_angle = math.remainder(bus_angle_rad + cmath.phase(e), TWO_PI)
        act0 = eng.act_for_load(p_kw / self.p_set_kw)
        eng.settle(act0)
        self.aux.coolant_degc = 82.0
        sens.v_filt, sens.p_filt, sens.q_filt = v_pu, p_kw, q_kvar
        self.rt.begin(int(round(act0 * 10000)), self.cfg.rated_rpm_x10)
        self.cmd = act0
        c0 = bus_angle_rad / TWO_PI
        n_pre = steps * int(math.ceil(3.0 / self.f_nom / tick_s - 1e-9))
        sens._cycle = c0 - n_pre * dt * self.f_nom
        for j in range(n_pre):
            if j == n_pre - steps:
                sens._edges = 0
            ts = (j + 1 - n_pre) * dt
            eng.angle_rev += dt * eng.rated_rpm / 60.0
            sens.sample_step(ts, 1.0, eng.rated_rpm, v_pu, p_kw, q_kvar, self.f_nom)
            sens.map_step(eng.p_man * self.map_kpa_pu)
        self.term_cycles = sens._cycle
        self.prev_term = math.remainder(TWO_PI * self.term_cycles, TWO_PI)
        self.p, self.q, self.v = p_kw, q_kvar, v_pu

    def settle_stopped(self):
        eng, alt = self.eng, self.alt
        eng.w = 0.0
        eng.settle(0.0, 0.0)
        alt.e_p = 0.02
        alt.efd = 0.0
        alt.avr_int = 0.0
        alt.v = 0.0
        self.sens.v_filt = 0.0

    def tick(self, t, bus, bus_v, bus_angle, p_grid, q_grid, mb_closed, grid_present):
        """Sensors -> firmware tick -> the outputs latched for the plant."""
        fs = self.fstate
        sens = self.sens
        aux = self.aux
        fault_ramps(fs, sens, aux, t)
        currents = phase_currents(self.p, self.q, self.v, self.v_rated, fs["unbalance"])
        di = di_bits(fs, aux, self.estop, self.config_en, self.remote_start,
                     self.brk.closed, mb_closed)
        inp = self.inputs
        sens.inputs(t, inp, aux, currents, di)
        sens.map_input(inp)
        sens.mains_inputs(inp, bus, self.v_rated, self.term_cycles, p_grid, q_grid,
                          bus_v, bus_angle)
        if not grid_present:
            inp[_IN_GRID_P] = inp[_IN_GRID_Q] = 0
        out, tele = self.rt.tick(inp)
        self.sha.update(pack_outputs(out, tele))
        self.tele = tele
        bits = tele[_TELE_ALARMS0] | (tele[_TELE_ALARMS1] << 30)
        new = bits & ~self.prev_bits
        if new:
            for i in range(fw_prot.N_PROT):
                if (new >> i) & 1:
                    pdef = fw_prot.PROTECTIONS[i]
                    self.alarms.append({"t_s": round(t, 4), "name": pdef[fw_prot.P_NAME],
                                        "class": fw_prot.CLASS_NAMES[self.prot.cls[i]]})
        self.prev_bits = bits
        st = tele[_TELE_STATE]
        if st != self.prev_state:
            self.state_name = fw_seq.STATE_NAMES[st]
            self.states.append({"t_s": round(t, 4), "state": self.state_name})
            self.prev_state = st
        do = out[_OUT_DO]
        self.do = do
        self.cmd = out[_OUT_FUEL] / 10000.0
        self.bias = out[_OUT_BIAS] / 10000.0
        self.cut = out[_OUT_CUT] / 10000.0
        self.brk.command(t, do & _DO_GCB_CLOSE, do & _DO_GCB_OPEN)
        self.crank = bool(do & _DO_CRANK)
        self.gas_on = bool(do & _DO_GAS_VALVE) and not fs["fuel_cutoff"]
        self.ign_on = bool(do & _DO_IGNITION)
        self.alt.excited = not fs["excitation_loss"]
        return self.rt.share_sent()


def _units_order(sc):
    return sorted(sc["units"], key=lambda u: u["id"])


def run(sc, runtime="cpython", seed=None, runtime_kw=None, trace=True, on_tick=None):
    """Run stack scenario sc (fleetscenario.parse).  runtime: one of
    runtime.RUNTIMES: every unit's firmware in it (each MicroPython unit
    its own process).  Returns a FleetResult."""
    if seed is not None:
        sc = dict(sc, seed=seed)
    kw = dict(runtime_kw or {})
    if runtime == "micropython32":
        kw.setdefault("heapsize", rt_mod.FLEET_HEAP_32)
    rts = []
    try:
        for _ in sc["units"]:
            rts.append(rt_mod.make(runtime, **kw))
        r = _run(sc, rts, trace, on_tick)
    finally:
        for rt in rts:
            rt.close()
    r.heap = [getattr(rt, "heap", None) for rt in rts]
    r.runtime = runtime
    return r


class FleetResult:
    pass


def _run(sc, rts, trace, on_tick):
    dt = PLANT_DT_S
    tick_ms = None
    usc = _units_order(sc)
    units = []
    for u, rt in zip(usc, rts):
        units.append(Unit(u, sc, rt, dt, 0.0))
    tick_ms = units[0].cfg.tick_ms
    if any(u.cfg.tick_ms != tick_ms for u in units):
        raise rt_mod.RuntimeError_("every unit of a stack ticks at one rate (tick_ms)")
    tick_s = tick_ms / 1000.0
    steps = int(round(tick_s / dt))
    for u in units:
        u.sens.tick_s = tick_s
        u.configure()
    f_nom = float(sc["f_nom_hz"])
    common = usc[0]["plant"]
    gsc = sc["grid"]
    grid = Grid(common, f_nom, dt)
    if not gsc["present"]:
        grid.outage()
    mb = Breaker(common, closed=gsc["present"] and gsc["mains_closed"])
    net = FleetNetwork([u.s_kva for u in units], [u.alt.xdp for u in units],
                       [u.usc["plant"]["damper_d_pu"] for u in units],
                       [u.usc["plant"]["damper_tdo2_s"] for u in units],
                       units[0].v_rated, f_nom)
    rating_kw = sum(u.p_fuel_kw for u in units)
    ld = sc["load"]
    sched = LoadSchedule(ld["initial_pct"], sc["events"])
    load = Load(sched, rating_kw, ld["pf"], ld["p_v_exp"], ld["q_v_exp"], ld["p_f_exp"])
    link = ShareBus(sc["link"]["latency_ms"], sc["link"]["loss_pct"], sc["link"]["seed"])
    # t = 0: the running units on the bus share the site load by their
    # ratings (what the firmware's sharing aims at) at rated voltage, at
    # one bus angle (a quarter cycle past a zero crossing, as sim.py).
    on0 = [u for u in units if u.running_start]
    theta0 = 0.25 * TWO_PI
    pl0, ql0 = load.power_kw(0.0, 1.0, 1.0) if on0 else (0.0, 0.0)
    r_on = sum(u.p_fuel_kw for u in on0)
    op = None
    if on0 and gsc["present"] and mb.closed:
        # Paralleled with the grid: the stack's load flow (steady.py, as
        # sim.py's for one set): the kW its units' power control holds
        # together for the initial site load, shared by rating, at the bus
        # voltage and angle (grid frame) that carry it; every unit on the
        # bus alike in per unit of its own rating.
        s_on = sum(u.s_kva for u in on0)
        a0 = on0[0].alt
        op = steady.parallel_operating_point(
            on0[0].cfg, grid, load, s_on, a0.xdp, a0.qdroop,
            target=lambda site: steady.stack_power_control_target_kw(
                [u.cfg for u in on0], site))
        theta0 = cmath.phase(op["bus"])
    for u in units:
        if u.running_start:
            share = u.p_fuel_kw / r_on
            if op is not None:
                k = u.s_kva / s_on
                u.settle_running(op["p_kw"] * k, op["q_kvar"] * k, theta0, steps, dt, tick_s,
                                 v_pu=abs(op["bus"]))
                steady.settle_alternator(u.alt, dict(op, p_kw=op["p_kw"] * k,
                                                     q_kvar=op["q_kvar"] * k), u.s_kva)
            else:
                u.settle_running(pl0 * share, ql0 * share, theta0, steps, dt, tick_s)
        else:
            u.settle_stopped()
    supplied = bool(on0) or (gsc["present"] and mb.closed)
    res = None
    if on0 or mb.closed:
        res = net.solve([u.gen_angle for u in units], [u.eng.w for u in units],
                        [u.alt.e_p * u.eng.w for u in units], [u.brk.closed for u in units],
                        pl0, ql0, mb.closed, grid)
        supplied = res["load_supplied"]
    pl, ql = (pl0, ql0) if supplied else (0.0, 0.0)
    bus = BusView()
    bus_v = res["bus_v_pu"] if res else 0.0
    bus_f = res["bus_f_hz"] if res else 0.0
    bus_angle = res["bus_angle_rad"] if res else 0.0
    p_grid = res["p_grid_kw"] if res else 0.0
    q_grid = res["q_grid_kvar"] if res else 0.0
    n_ticks = int(round(sc["duration_s"] / tick_s))
    by_id = {u.id: u for u in units}
    timed = [e for e in sc["events"] if e["kind"] in ("input", "command", "fault", "grid", "link",
                                                      "setting")
             and "after_state" not in e]
    pending = [e for e in sc["events"] if "after_state" in e]
    ai = 0
    dphi_pu = TWO_PI * f_nom * dt
    cols = {"t_s": [], "demand_kw": [], "site_kw": [], "bus_v_v": [], "bus_f_hz": [],
            "grid_p_kw": [], "mb_closed": [], "site_supplied": [], "shed_stage": []}
    ucols = {u.id: {"p_kw": [], "q_kvar": [], "freq_hz": [], "volt_v": [], "gcb_closed": [],
                    "state": []} for u in units}
    shed_frac = [ld["shed_%d_pct" % (i + 1)] / 100.0 for i in range(len(SHED_BITS))]
    shed_stage = 0
    shed_events = []
    share_rows = []        # per tick: [(unit, p_pct, q_pct)] of units on an island bus
    demand_changes = []    # [(tick, site demand kW)]: tick 0 and every tick it changed at
    last_demand = None
    commands = []
    n = len(units)
    was_supplied = supplied
    blackouts = []
    dead_since = None if supplied else 0.0
    prev_mb = mb.closed
    present = gsc["present"]
    brks = [u.brk for u in units]
    prev_closed = [u.prev_closed for u in units]
    on = [i for i in range(n) if prev_closed[i]]
    uea = [(u, u.eng, u.alt) for u in units]
    remainder = math.remainder
    net_solve = net.solve_fast
    load_power = load.power_kw
    for k in range(n_ticks):
        t = k * tick_s
        while ai < len(timed) and timed[ai]["t_s"] <= t + 1e-9:
            ev = timed[ai]
            ai += 1
            _apply(ev, by_id, units, grid, link, t, commands)
        link.deliver(t, units)
        live = bus_v >= LIVE_PU
        bus.alive = live
        bus.v_pu = bus_v if live else 0.0
        bus.f_hz = bus_f if live else 0.0
        mb_close = mb_open = False
        shed_do = 0
        for u in units:
            frames = u.tick(t, bus, bus_v, bus_angle, p_grid, q_grid, mb.closed, gsc["present"])
            for fr in frames:
                link.send(t, u.id, fr)
            mb_close = mb_close or bool(u.do & hal.DO_MB_CLOSE)
            mb_open = mb_open or bool(u.do & hal.DO_MB_OPEN)
            shed_do |= u.do
            if pending and u.states and u.states[-1]["t_s"] == round(t, 4):
                name = u.state_name
                due = [e for e in pending if e["after_state"] == name and e.get("unit") == u.id]
                if due:
                    pending = [e for e in pending if e not in due]
                    rest = timed[ai:] + [dict(e, t_s=t + e["t_s"]) for e in due]
                    rest.sort(key=lambda e: e["t_s"])
                    timed = timed[:ai] + rest
        if gsc["present"]:
            # The site's mains breaker: any unit's trip coil opens it (the
            # stack's loss-of-mains protection), a close needs its sync check.
            mb.command(t, mb_close, mb_open)
        # Load shedding: stage k's contactor opens while any unit's DO_SHED_k
        # is energised (the relays wired in parallel), at the tick.
        stage = 0
        keep = 1.0
        for i, bit in enumerate(SHED_BITS):
            if shed_do & bit:
                stage = i + 1
                keep -= shed_frac[i]
        if stage != shed_stage:
            shed_events.append({"t_s": round(t, 4), "stage": stage,
                                "shed_pct": round((1.0 - keep) * 100.0, 2)})
            shed_stage = stage
        load.keep = keep if keep > 0.0 else 0.0
        if on_tick is not None:
            on_tick(k, units)
        # Sharing: units on the bus while it is an island (plant truth).
        isl = not (mb.closed and grid.alive)
        if isl:
            row = [(u.id, u.p / u.p_fuel_kw * 100.0, u.q / u.p_fuel_kw * 100.0, u.p_fuel_kw)
                   for u in units if u.brk.closed]
            share_rows.append(row if len(row) >= 2 else None)
        else:
            share_rows.append(None)
        # The site's demand at the tick (what the trace's demand_kw column
        # holds), kept traced or not where it changed: the report's
        # transient ticks are found from it.
        demand = load.demand_kw if k else sched.demand_pct(0.0) * rating_kw / 100.0
        if demand != last_demand:
            demand_changes.append((k, demand))
            last_demand = demand
        if trace:
            cols["t_s"].append(round(t, 6))
            cols["demand_kw"].append(demand)
            cols["site_kw"].append(pl)
            cols["bus_v_v"].append(bus_v * units[0].v_rated)
            cols["bus_f_hz"].append(bus_f)
            cols["grid_p_kw"].append(p_grid)
            cols["mb_closed"].append(1 if mb.closed else 0)
            cols["site_supplied"].append(1 if supplied else 0)
            cols["shed_stage"].append(shed_stage)
            for u in units:
                c = ucols[u.id]
                c["p_kw"].append(u.p)
                c["q_kvar"].append(u.q)
                c["freq_hz"].append(u.eng.w * f_nom)
                c["volt_v"].append(u.v * u.v_rated)
                c["gcb_closed"].append(1 if u.brk.closed else 0)
                c["state"].append(u.prev_state)
        # The plant steps.  Per unit, what its outputs hold for the tick and
        # what never changes (the steps read them a thousand times a second).
        parts = [(u, u.eng, u.alt, u.cmd, u.cut, u.crank, u.gas_on, u.ign_on, u.bias,
                  u.p_set_kw, u.s_kva, u.rated_rpm, u.map_kpa_pu, u.eng.step, u.alt.step,
                  u.aux.step, u.aux.fuel_available, u.sens.sample_step) for u in units]
        # No generator breaker operating: the contacts stay as they are the
        # whole tick (Breaker.step would return each one's closed).
        brk_busy = any(b.busy() for b in brks)
        if not brk_busy:
            closed = [b.closed for b in brks]
        for j in range(steps):
            ts = t + (j + 1) * dt
            if present:
                grid.step(ts)
            mbc = mb.step(ts)
            if brk_busy:
                closed = [b.step(ts) for b in brks]
            if supplied:
                pl, ql = load_power(ts, bus_v, bus_f / f_nom if bus_f else 0.0)
            else:
                load_power(ts, bus_v, 1.0)
                pl = ql = 0.0
            if closed != prev_closed:
                # A breaker operated.  Before this step's switching: the bus
                # as the contacts see it (the last solution), each
                # generator's open-circuit EMF angle.
                bus_live_before = bus_v >= LIVE_PU
                angle_before = bus_angle
                bus_f_before = bus_f
                for i, u in enumerate(units):
                    if closed[i] and not u.prev_closed:
                        # Contact touch: onto a dead bus, or across the phase error.
                        if bus_live_before:
                            ph = math.degrees(math.remainder(u.gen_angle - angle_before, TWO_PI))
                            u.closes.append({"t_s": round(ts, 4), "onto": "live",
                                             "phase_error_deg": round(ph, 2),
                                             "slip_hz": round(u.eng.w * f_nom - bus_f_before, 4),
                                             "dv_pct": round((u.v - bus_v) * 100.0, 2)})
                        else:
                            u.closes.append({"t_s": round(ts, 4), "onto": "dead"})
                    elif u.prev_closed and not closed[i]:
                        u.opens.append(round(ts, 4))
                    u.prev_closed = closed[i]
                prev_closed = closed
                on = [i for i in range(n) if closed[i]]
            angles = []
            ws = []
            emfs = []
            for u, eng, alt in uea:
                w = eng.w
                a = remainder(u.gen_angle + dphi_pu * w, TWO_PI)
                u.gen_angle = a
                angles.append(a)
                ws.append(w)
                emfs.append(alt.e_p * w)
            par = sum(closed) > 1 or (mbc and grid.alive)
            (P, Q, _, bus_v, bus_f, bus_angle, p_grid, q_grid, supplied,
             _) = net_solve(angles, ws, emfs, closed, pl, ql, mbc, grid, False, on)
            if not supplied:
                pl = ql = 0.0
            on_live = bus_v >= LIVE_PU
            # (An open unit's P and Q are the solution's 0.0.)
            for (u, eng, alt, cmd, cut, crank, gas_on, ign_on, bias, p_set, s_kva, rated_rpm,
                 map_pu, eng_step, alt_step, aux_step, fuel_avail,
                 sample_step), c, p, q in zip(parts, closed, P, Q):
                if c:
                    alt.paralleled = par
                    if on_live:
                        v_bus = bus_v
                        ta = bus_angle
                    else:
                        v_bus = 0.0
                        ta = u.gen_angle
                else:
                    alt.paralleled = False
                    v_bus = None
                    ta = u.gen_angle
                p_pu = p / p_set
                w = eng_step(cmd, p_pu, cut, crank, gas_on, ign_on, fuel_avail())
                v = alt_step(p / s_kva, q / s_kva, w, bias, v_bus)
                u.p = p
                u.q = q
                u.v = v
                aux_step(w, w > 0.2, p_pu, eng.e_b if gas_on else 0.0, crank)
                tc = u.term_cycles + remainder(ta - u.prev_term, TWO_PI) / TWO_PI
                u.term_cycles = tc
                u.prev_term = ta
                sample_step(ts, w, rated_rpm, v, p, q, w * f_nom, tc, eng.p_man * map_pu)
            if supplied and not was_supplied and dead_since is not None:
                blackouts.append({"from_s": round(dead_since, 4), "to_s": round(ts, 4)})
                dead_since = None
            elif was_supplied and not supplied:
                dead_since = ts
            was_supplied = supplied
        prev_mb = mb.closed
    if dead_since is not None and dead_since > 0.0:
        blackouts.append({"from_s": round(dead_since, 4), "to_s": None})
    del prev_mb
    r = FleetResult()
    r.scenario = sc
    r.units = units
    r.tick_s = tick_s
    r.f_nom = f_nom
    r.n_ticks = n_ticks
    r.rating_kw = rating_kw
    r.trace = cols
    r.unit_trace = ucols
    r.share_rows = share_rows
    r.demand_changes = demand_changes
    r.commands = commands
    r.link = link.report()
    r.blackouts = blackouts
    r.shed_events = shed_events
    r.unit_sha256 = {u.id: u.sha.hexdigest() for u in units}
    h = hashlib.sha256()
    for u in units:
        h.update(u.sha.digest())
    r.sha256 = h.hexdigest()
    r.final_states = {u.id: u.state_name for u in units}
    r.n_units = n
    return r


def _apply(ev, by_id, units, grid, link, t, commands):
    kind = ev["kind"]
    if kind == "link":
        link.apply(ev)
    elif kind == "grid":
        grid_event(grid, ev, t)
    elif kind == "input":
        targets = [by_id[ev["unit"]]] if "unit" in ev else units
        for u in targets:
            if ev["input"] == "remote_start":
                u.remote_start = ev["value"]
            elif ev["input"] == "config_enable":
                u.config_en = ev["value"]
            else:
                u.estop = ev["value"]
    elif kind == "command":
        u = by_id[ev["unit"]]
        ok = u.rt.command(ev["command"])
        commands.append({"t_s": round(t, 4), "unit": u.id, "command": ev["command"],
                         "accepted": ok})
    elif kind == "setting":
        u = by_id[ev["unit"]]
        ok = u.rt.configure(ev["name"], ev["value"])
        commands.append({"t_s": round(t, 4), "unit": u.id, "setting": ev["name"],
                         "value": ev["value"], "accepted": ok})
    else:
        u = by_id[ev["unit"]]
        _apply_fault(ev, u.eng, u.aux, u.brk, u.sens, u.fstate)
