"""Deterministic fixed-step scheduler: the plant integrates at 1 kHz, the
firmware ticks at its own rate (100 Hz by default), in the order

  sensors -> firmware tick (measure, control, outputs) -> plant steps

Same scenario + seed -> the same result, in either runtime: all randomness
comes from the sensors' seeded generator, and the firmware's outputs are
integers that both runtimes compute identically.
"""

import hashlib

from . import firmware_path
from .plant.engine import Engine, FUEL_PLANT, power_base_kw
from .plant.alternator import Alternator, POLES, rated_rpm
from .plant.load import Load, LoadSchedule
from .plant.sensors import Sensors
from .plant.aux import Aux
from .plant.breaker import Breaker
from .plant.grid import Grid
from .plant.network import Network
import cmath
import math
from . import steady
from .ggov1 import Ggov1
from . import runtime as rt_mod
from .scenario import write_as_a_set

firmware_path()
import config as fw_config  # noqa: E402
import fuels as fw_fuels  # noqa: E402
import hal  # noqa: E402
import controller as fw_ctl  # noqa: E402
import protection as fw_prot  # noqa: E402
import sequencer as fw_seq  # noqa: E402
from controller import TELE_NAMES  # noqa: E402

PLANT_DT_S = 0.001
TRACE_COLUMNS = ("t_s", "speed_rpm", "freq_hz", "volt_v", "p_kw", "q_kvar",
                 "demand_kw", "fuel_cmd_pct", "avr_bias_pct", "ign_cut_pct", "valve_pct",
                 "fuel_burnt_pu", "map_pu", "boost_pu", "efd_pu", "gcb_closed",
                 "oil_kpa", "coolant_degc", "gas_mbar",
                 # the site and the grid (plant truth; 0 where there is none)
                 "site_kw", "site_kvar", "site_supplied", "bus_v_v", "mb_closed",
                 "grid_f_hz", "grid_v_v", "grid_p_kw", "grid_q_kvar", "phase_deg", "slip_hz")


def firmware_config(sc):
    """The firmware Config this scenario asks for (host copy, for scales)."""
    cfg = fw_config.Config()
    cfg.set_many([("fuel", fw_fuels.fuel_code(sc["fuel"])), ("f_nom_hz", sc["f_nom_hz"])] +
                 sorted(sc["firmware"].items()))
    return cfg


def plant_ratings(sc):
    """The GX230's own ratings for this scenario, from its [plant] table and
    frequency only, never from the firmware's settings (those are what was
    commissioned; if they are wrong the firmware mis-measures, honestly):
    rated_rpm (4-pole alternator), p_base_kw (the engine's NG rating at that
    speed, constant torque below 1800 rpm), p_fuel_kw (this fuel's rating:
    the 100 % of load percentages), v_rated_v, s_kva, poles, mpu_teeth."""
    plant = sc["plant"]
    rpm = rated_rpm(sc["f_nom_hz"])
    p_base = power_base_kw(plant, rpm)
    return {"rated_rpm": rpm, "p_base_kw": p_base,
            "p_fuel_kw": p_base * FUEL_PLANT[sc["fuel"]]["derate"],
            "v_rated_v": plant["v_rated_v"], "s_kva": plant["s_rated_kva"],
            "poles": POLES, "mpu_teeth": plant["mpu_teeth"]}


class Result:
    pass


def lhv_factor(events, t):
    """Heating value relative to nominal at time t (fuel_quality events)."""
    x = 1.0
    for ev in events:
        if ev["kind"] != "fuel_quality" or ev["t_s"] > t:
            continue
        target = ev["lhv_pct"] / 100.0
        dur = ev["duration_s"]
        frac = 1.0 if dur <= 0 else min(1.0, (t - ev["t_s"]) / dur)
        x = x + (target - x) * frac
    return x


def run(sc, runtime="cpython", seed=None, runtime_kw=None, trace=True, on_tick=None, port=None):
    """Run scenario `sc` (from scenario.load).  `runtime` is "cpython",
    "micropython", "micropython32", or any object with the runtime interface (configure,
    begin, tick, close, name) - e.g. tools.hil.SerialRuntime for a board.
    on_tick(k, inputs, out, tele) sees every tick (benchmarks, checks).
    port: the host's end of the firmware's Modbus UART (modbus_port.py):
    port.before_tick(k, t_s, rt) runs before each tick and may pass bytes
    with rt.uart(data, t_us) (the firmware serves them between ticks, as a
    board does); port.finished() ends the run early (a realtime session's
    --duration or Ctrl-C).  A scenario's scripted Modbus events get a
    ScriptPort when no port is given."""
    seed = sc["seed"] if seed is None else seed
    cfg = firmware_config(sc)
    rt = rt_mod.make(runtime, **(runtime_kw or {})) if isinstance(runtime, str) else runtime
    try:
        if port is None and any(e["kind"] == "modbus" for e in sc["events"]):
            from .modbus_port import ScriptPort
            port = ScriptPort(sc, cfg)
        r = _run(sc, rt, cfg, seed, trace, on_tick, port)
    finally:
        rt.close()
    # The 32-bit runtime's heap, before and after (runtime.MicroPython32Runtime).
    r.heap = getattr(rt, "heap", None)
    return r


def _apply_fault(ev, eng, aux, brk, sens, state):
    """Start (or, with clear = true, end) one injected fault."""
    f = ev["fault"]
    on = not ev.get("clear", False)
    if f == "mpu_loss":
        sens.mpu_ok = not on
    elif f == "metering_loss":
        sens.meter_ok = not on
    elif f == "map_sensor_fail":
        sens.map_ok = not on
    elif f == "oil_sender_drift":
        state["oil_drift"] = (ev["t_s"], ev.get("rate", -20.0)) if on else None
        if not on:
            sens.oil_offset_kpa = 0.0
    elif f == "coolant_sender_drift":
        state["coolant_drift"] = (ev["t_s"], ev.get("rate", 1.0)) if on else None
        if not on:
            sens.coolant_offset_degc = 0.0
    elif f == "actuator_stuck":
        eng.stuck = on
    elif f == "gcb_fail_to_close":
        brk.fail_to_close = on
    elif f == "gcb_fail_to_open":
        brk.fail_to_open = on
    elif f == "oil_pressure_loss":
        aux.oil_factor = ev.get("factor", 0.2) if on else 1.0
    elif f == "cooling_failure":
        aux.cooling_failed = on
    elif f == "gas_pressure_loss":
        state["gas_ramp"] = (ev["t_s"], ev.get("duration_s", 5.0), aux.gas_supply_mbar,
                             ev.get("to_mbar", 0.0)) if on else None
        if not on:
            aux.gas_supply_mbar = aux.p["gas_supply_mbar"]
    elif f == "gas_leak":
        state["di_fault"] = state["di_fault"] | 4 if on else state["di_fault"] & ~4
    elif f == "knock":
        state["di_fault"] = state["di_fault"] | 8 if on else state["di_fault"] & ~8
    elif f == "sender_open":
        # What a board's sender input reports for a broken wire (its own
        # debounce included): the DI bit, the reading held.
        b = hal.DI_SENDER_FAULT
        state["di_fault"] = state["di_fault"] | b if on else state["di_fault"] & ~b
    elif f == "battery_weak":
        aux.batt_offset_v = -ev.get("volts", 4.0) if on else 0.0
    elif f == "current_unbalance":
        state["unbalance"] = ev.get("share", 0.3) if on else 0.0
    elif f == "no_fire":
        eng.no_fire = on
    elif f == "fail_to_stop":
        eng.fail_to_stop = on
    elif f == "gas_not_proven":
        state["not_proven"] = on
    elif f == "fuel_cutoff":
        state["fuel_cutoff"] = on
    elif f == "excitation_loss":
        state["excitation_loss"] = on


def _ramp(start, t, t0, dur, to):
    if dur <= 0:
        return to
    x = min(1.0, max(0.0, (t - t0) / dur))
    return start + (to - start) * x


def fault_ramps(fstate, sens, aux, t):
    """The slow fault ramps (drifting senders, a falling gas supply) at t."""
    if fstate["oil_drift"]:
        sens.oil_offset_kpa = fstate["oil_drift"][1] * (t - fstate["oil_drift"][0])
    if fstate["coolant_drift"]:
        sens.coolant_offset_degc = fstate["coolant_drift"][1] * (t - fstate["coolant_drift"][0])
    if fstate["gas_ramp"]:
        t0, dur, frm, to = fstate["gas_ramp"]
        aux.gas_supply_mbar = _ramp(frm, t, t0, dur, to)


def new_fault_state():
    """The injected-fault state _apply_fault and di_bits work on."""
    return {"di_fault": 0, "oil_drift": None, "coolant_drift": None, "gas_ramp": None,
            "unbalance": 0.0, "not_proven": False, "fuel_cutoff": False,
            "excitation_loss": False}


def phase_currents(p, q, v, v_rated, unbalance):
    """Phase currents (A) from the metered power: kVA / (sqrt 3 V), split by
    an injected unbalance."""
    s_now = (p * p + q * q) ** 0.5
    i_avg = s_now * 1000.0 / (1.7320508 * max(v, 0.05) * v_rated) if s_now > 0 else 0.0
    u = unbalance
    return (i_avg * (1.0 + u), i_avg, i_avg * (1.0 - u))


def di_bits(fstate, aux, estop, config_en, remote_start, gcb_closed, mb_closed):
    """The controller's digital inputs (hal.DI_*) from the plant's switches."""
    di = fstate["di_fault"]
    if estop:
        di |= hal.DI_ESTOP
    if config_en:
        di |= hal.DI_CONFIG_EN
    if remote_start:
        di |= hal.DI_REMOTE_START
    if gcb_closed:
        di |= hal.DI_GCB_CLOSED
    if mb_closed:
        di |= hal.DI_MB_CLOSED
    if aux.gas_mbar >= 10.0 and not (di & hal.DI_GAS_LEAK) and not fstate["not_proven"]:
        di |= hal.DI_GAS_PROVEN
    return di


def grid_event(grid, ev, t):
    """A scenario's grid event on the utility source."""
    a = ev["action"]
    if a == "drift":
        grid.drift(t, ev["duration_s"], ev["df_hz"])
    elif a == "f_step":
        grid.f_step(ev["df_hz"])
    elif a == "v_step":
        grid.v_step(ev["dv_pct"] / 100.0)
    elif a == "v_ramp":
        grid.v_ramp(t, ev["duration_s"], ev["to_pct"] / 100.0)
    elif a == "phase_jump":
        grid.phase_jump(ev["deg"])
    elif a == "outage":
        grid.outage()
    elif a == "restore":
        grid.restore()


def _run(sc, rt, cfg, seed, trace, on_tick, port=None):
    # Configure the firmware through its own setting path (the same one
    # Modbus will use): fuel and frequency first, then scenario overrides.
    # The scenario parser checked the whole set against the firmware's own
    # relations (Config.set_many); written one at a time, a consistent set
    # may still need an order (poles before idle speed, say): write what is
    # accepted, and go round again until everything is in or nothing moves.
    settings = [("fuel", fw_fuels.fuel_code(sc["fuel"])), ("f_nom_hz", sc["f_nom_hz"])]
    settings += sorted(sc["firmware"].items())
    settings += sc.get("protection_settings", [])
    left = write_as_a_set(settings, rt.configure)
    if left:
        k, v = left[0]
        raise rt_mod.RuntimeError_("firmware refused setting %s = %r" % (k, v))
    if sc.get("mode", "auto") != "auto":
        rt.command("mode_" + sc["mode"])

    dt = PLANT_DT_S
    tick_s = cfg.tick_ms / 1000.0
    steps = int(round(tick_s / dt))
    f_nom = float(sc["f_nom_hz"])
    # The plant is the GX230 (plant_ratings), never sized from the firmware.
    pr = plant_ratings(sc)
    p_set_kw = pr["p_base_kw"]                          # NG rating at this speed, engine base
    p_fuel_kw = pr["p_fuel_kw"]                         # this fuel's rating
    plant = sc["plant"]
    s_kva = pr["s_kva"]
    v_rated = pr["v_rated_v"]
    eng = Engine(plant, sc["fuel"], f_nom, p_set_kw, dt, pr["poles"])
    alt = Alternator(plant, dt)
    aux = Aux(plant, dt)
    running_start = sc.get("start", "running") == "running"
    gsc = sc.get("grid", {"present": False, "mains_closed": False})
    grid = Grid(plant, f_nom, dt)
    if not gsc["present"]:
        grid.outage()             # no utility at this site (island scenarios)
    mb = Breaker(plant, closed=gsc["present"] and gsc["mains_closed"])
    net = Network(plant, s_kva, v_rated, f_nom, dt)
    # A running start is on load: in island, or paralleled if the grid is there.
    brk = Breaker(plant, closed=running_start)
    ld = sc["load"]
    sched = LoadSchedule(ld["initial_pct"], sc["events"])
    load = Load(sched, p_fuel_kw, ld["pf"], ld["p_v_exp"], ld["q_v_exp"], ld["p_f_exp"])
    sens = Sensors(seed, pr["mpu_teeth"], f_nom, pr["poles"], v_rated, p_set_kw, dt, tick_s)
    # The plant's manifold pressure is per unit of its rated MAP; ambient
    # (101.3 kPa) is p_amb_pu of it.
    map_kpa_pu = 101.325 / eng.p_amb
    # Discrete inputs and injected-fault state
    remote_start = running_start if sc.get("remote_start") is None else sc["remote_start"]
    fstate = new_fault_state()
    estop = False
    config_en = False         # the configuration key switch (Modbus writes)

    gg = None
    pid = None
    # A running start paralleled with the grid (mains breaker closed) begins
    # at its load-flow solution (steady.py): the kW its power control holds
    # for the initial site load, the rotor angle that carries it, the AVR at
    # the firmware's initial bias.  An island running start carries the
    # initial site load at rated voltage.
    op = steady.parallel_operating_point(cfg, grid, load, s_kva, alt.xdp, alt.qdroop) \
        if running_start and gsc["present"] and mb.closed else None
    if running_start:
        if op is not None:
            p0, q0 = op["p_kw"], op["q_kvar"]
            v0 = abs(op["bus"])
            steady.settle_alternator(alt, op, s_kva)
            c0 = cmath.phase(op["bus"]) / (2.0 * math.pi)   # terminal = bus phase, cycles
        else:
            p0, q0 = load.power_kw(0.0, 1.0, 1.0)
            v0 = 1.0
            alt.settle(p0 / s_kva, q0 / s_kva)
            c0 = 0.25        # any phase: a quarter cycle past a zero crossing
        # Mechanical power = electrical power: the throttle that holds p0.
        act0 = eng.act_for_load(p0 / p_set_kw)
        eng.settle(act0)
        aux.coolant_degc = 82.0
        sens.v_filt, sens.p_filt, sens.q_filt = v0, p0, q0
        rt.begin(int(round(act0 * 10000)), cfg.rated_rpm_x10)
        if sc["governor"] == "ggov1":
            row = fw_fuels.FUELS[cfg.fuel]
            gg = Ggov1(sc["ggov1"], dt, row[fw_fuels.F_FUEL_NL_PCT_X100] / 10000.0,
                       row[fw_fuels.F_FUEL_FL_PCT_X100] / 10000.0, 1.0)
            gg.settle(p0 / p_fuel_kw)
        elif sc["governor"] in ("pid", "wide_open"):
            # The PID peer, tuned by SIMC on this plant's own identified
            # response (host_sim/pid.py), never on the firmware's settings.
            from . import pid as pid_mod
            # (A sweep keeps the PID as commissioned on the nominal plant
            # while the plant varies: sc["pid_tuning_plant"], host only.)
            th, tau, kk = pid_mod.identify(sc.get("pid_tuning_plant", plant), sc["fuel"], f_nom)
            if sc["governor"] == "pid":
                pid = pid_mod.PidPeer(*pid_mod.simc(th, tau, kk), tick_s=tick_s,
                                      fuel_code=cfg.fuel)
            else:
                # Between steps the probe holds speed on a gentle SIMC
                # (tau_c = 3 theta), so each step starts from steady running.
                pid = pid_mod.WideOpenProbe(*pid_mod.simc(th, tau, kk, 3.0 * th),
                                            tick_s=tick_s, fuel_code=cfg.fuel,
                                            steady_act=lambda d: eng.act_for_load(
                                                d * p_fuel_kw / p_set_kw))
            pid.settle(act0)
        # Sensor pre-roll: a running engine's pickup and zero-crossing timers
        # have history at t = 0.  Run them over the last three cycles (whole
        # ticks), ending at the terminal phase c0, so the first sample
        # carries a full cycle's period and the pickup's last tick window.
        n_pre = steps * int(math.ceil(3.0 / f_nom / tick_s - 1e-9))
        sens._cycle = c0 - n_pre * dt * f_nom
        for j in range(n_pre):
            if j == n_pre - steps:
                sens._edges = 0            # the pickup counts per tick window
            ts = (j + 1 - n_pre) * dt
            eng.angle_rev += dt * eng.rated_rpm / 60.0
            sens.sample_step(ts, 1.0, eng.rated_rpm, v0, p0, q0, f_nom)
            sens.map_step(eng.p_man * map_kpa_pu)
        w_init = 1.0
    else:
        # At rest: no speed, residual magnetism only, breaker open.
        p0 = q0 = 0.0
        act0 = 0.0
        eng.w = 0.0
        eng.settle(0.0, 0.0)
        alt.e_p = 0.02
        alt.efd = 0.0
        alt.avr_int = 0.0
        alt.v = 0.0
        sens.v_filt = 0.0
        w_init = v0 = 0.0
    n_ticks = int(round(sc["duration_s"] / tick_s))
    sha = hashlib.sha256()
    cols = {c: [] for c in TRACE_COLUMNS}
    fw_cols = {("fw_" + n): [] for n in TELE_NAMES}
    out_cols = {("out_" + n): [] for n in hal.OUT_NAMES}
    inputs = [0] * hal.N_IN
    rated_rpm = eng.rated_rpm
    p, q, v = p0, q0, v0
    cmd = act0
    cut = 0.0
    do = 0
    t = 0.0
    pack = rt_mod.pack_outputs
    quality = [e for e in sc["events"] if e["kind"] == "fuel_quality"]
    actions = [e for e in sc["events"] if e["kind"] in ("input", "command", "fault", "grid")
               and "after_state" not in e]
    # Worst-moment events wait for their state (scenario.py: after_state).
    pending = [e for e in sc["events"] if "after_state" in e]
    # Generator electrical angle, and its terminal voltage phase in cycles
    # (unwrapped), continuing the sensors' pre-roll so no crossing is skipped.
    term_cycles = sens._cycle
    prev_term = math.remainder(2.0 * math.pi * term_cycles, 2.0 * math.pi)
    # The rotor (EMF) leads the terminals by the load angle: the paralleled
    # operating point's, or E' behind X'd carrying the island load.
    xdp = alt.xdp
    if op is not None:
        gen_angle = cmath.phase(op["emf"])
    else:
        vv = v0 if v0 > 0.05 else 0.05
        gen_angle = math.remainder(prev_term + math.atan2(xdp * p0 / s_kva / vv,
                                                          vv + xdp * q0 / s_kva / vv),
                                   2.0 * math.pi)
    island_res = {"mode": "island", "p_damp_kw": 0.0, "p_grid_kw": 0.0, "q_grid_kvar": 0.0,
                  "bus_v_pu": 1.0, "bus_f_hz": f_nom, "load_supplied": True,
                  "bus_angle_rad": prev_term, "gen_paralleled": False}
    res = None
    pl, ql = (p0, q0) if running_start else (0.0, 0.0)     # what the site draws
    if gsc["present"] and mb.closed:
        # The network at t = 0, solved at the initial state (a paralleled
        # start's operating point, or the grid alone feeding the site of a
        # stopped set): its solver warm, the site load at the bus voltage and
        # the PCC meter reading the t = 0 import from the first tick.
        vb = grid.v_pu
        for _ in range(8):
            pl, ql = load.power_kw(0.0, vb, 1.0)
            res = net.solve(gen_angle, w_init, alt.e_p * w_init, pl, ql, brk.closed, True, grid)
            vb = res["bus_v_pu"]
        supplied = res["load_supplied"]
    else:
        supplied = running_start
    syncs = []
    lom = []
    pc_err = []
    prev_gcb = brk.closed
    prev_mb = mb.closed
    sync_start = None
    par_since = None          # when the set last became paralleled with the grid
    mains_v, mains_rel = grid.v_pu, 0.0
    if res is not None:       # MB closed: its grid terminals are the PCC bus
        mains_v, mains_rel = res["bus_v_pu"], res["bus_angle_rad"] - grid.angle_rad
    # Per-step constants of the plant loop (no grid: its breaker stays open)
    two_pi = 2.0 * math.pi
    dphi_pu = two_pi * f_nom * dt          # generator angle per step at 1 pu speed
    has_grid = gsc["present"]
    mbc = mb.closed
    ai = 0
    commands = []
    # Host copy of the protection settings, for the alarm classes in the report
    prot = fw_prot.Protection(cfg)
    for k, val in sc.get("protection_settings", []):
        _, name, field = k.split(".")
        prot.set_field(fw_prot.index_of(name), fw_prot.FIELD_NAMES.index(field), val)
    alarms = []
    states = []
    prev_bits = 0
    prev_state = -1
    tele = None
    for k in range(n_ticks):
        t = k * tick_s
        if quality:
            eng.lhv_factor = lhv_factor(quality, t)
        while ai < len(actions) and actions[ai]["t_s"] <= t + 1e-9:
            ev = actions[ai]
            ai += 1
            if ev["kind"] == "input":
                if ev["input"] == "remote_start":
                    remote_start = ev["value"]
                elif ev["input"] == "config_enable":
                    config_en = ev["value"]
                else:
                    estop = ev["value"]
            elif ev["kind"] == "grid":
                if ev["action"] == "outage" and mb.closed:
                    lom.append({"t_s": round(t, 4), "detect_ms": None, "open_ms": None,
                                "load_interrupted": False, "_mb_was_closed": True})
                grid_event(grid, ev, t)
            elif ev["kind"] == "command":
                ok = rt.command(ev["command"])
                commands.append({"t_s": round(t, 4), "command": ev["command"], "accepted": ok})
            else:
                _apply_fault(ev, eng, aux, brk, sens, fstate)
        fault_ramps(fstate, sens, aux, t)
        currents = phase_currents(p, q, v, v_rated, fstate["unbalance"])
        di = di_bits(fstate, aux, estop, config_en, remote_start, brk.closed, mb.closed)
        sens.inputs(t, inputs, aux, currents, di)
        sens.map_input(inputs)
        if gsc["present"]:
            sens.mains_inputs(inputs, grid, v_rated, term_cycles,
                              res["p_grid_kw"] if res else 0.0, res["q_grid_kvar"] if res else 0.0,
                              mains_v, grid.angle_rad + mains_rel)
        if port is not None:
            port.before_tick(k, t, rt)
            if port.finished():
                n_ticks = k
                break
        out, tele = rt.tick(inputs)
        sha.update(pack(out, tele))
        bits = tele[fw_ctl.TELE_ALARMS0] | (tele[fw_ctl.TELE_ALARMS1] << 30)
        if bits & ~prev_bits:
            new = bits & ~prev_bits
            for i in range(fw_prot.N_PROT):
                if (new >> i) & 1:
                    pdef = fw_prot.PROTECTIONS[i]
                    alarms.append({
                        "t_s": round(t, 4), "code": pdef[fw_prot.P_CODE],
                        "name": pdef[fw_prot.P_NAME],
                        "class": fw_prot.CLASS_NAMES[prot.cls[i]],
                        "value": tele[fw_ctl.TELE_LAST_VALUE]
                        if tele[fw_ctl.TELE_LAST_ALARM] == i else None,
                        "first_out": tele[fw_ctl.TELE_FIRST_OUT] == i})
        prev_bits = bits
        st = tele[fw_ctl.TELE_STATE]
        if st != prev_state:
            states.append({"t_s": round(t, 4), "state": fw_seq.STATE_NAMES[st]})
            prev_state = st
            if pending:
                name = fw_seq.STATE_NAMES[st]
                due = [e for e in pending if e["after_state"] == name]
                if due:
                    pending = [e for e in pending if e["after_state"] != name]
                    # Scheduled from this tick, in time order with the rest
                    # (a 0 s offset acts at the start of the next tick).
                    done, rest = actions[:ai], actions[ai:]
                    rest += [dict(e, t_s=t + e["t_s"]) for e in due]
                    rest.sort(key=lambda e: e["t_s"])
                    actions = done + rest
        do = out[hal.OUT_DO]
        if pid is not None:
            # The same measured speed the firmware governs on.
            w_meas = tele[fw_ctl.TELE_SPEED_RPM_X10] / cfg.rated_rpm_x10
            if sc["governor"] == "wide_open":
                cmd = pid.step(w_meas, 1.0, load.demand_kw / p_fuel_kw)
            else:
                cmd = pid.step(w_meas)
        elif gg is None:
            cmd = out[hal.OUT_FUEL_PCT_X100] / 10000.0
        bias = out[hal.OUT_AVR_BIAS_PCT_X100] / 10000.0
        cut = out[hal.OUT_IGN_CUT_PCT_X100] / 10000.0
        brk.command(t, do & hal.DO_GCB_CLOSE, do & hal.DO_GCB_OPEN)
        if gsc["present"]:
            mb.command(t, do & hal.DO_MB_CLOSE, do & hal.DO_MB_OPEN)
        # Paralleling figures (report: syncs, loss_of_mains, power_control)
        st_name = fw_seq.STATE_NAMES[tele[fw_ctl.TELE_STATE]]
        if st_name == "sync" and sync_start is None:
            sync_start = t
        for e in lom:
            if e["detect_ms"] is None and do & hal.DO_MB_OPEN:
                e["detect_ms"] = round((t - e["t_s"]) * 1000.0, 1)
            if e["open_ms"] is None and not mb.closed:
                e["open_ms"] = round((t - e["t_s"]) * 1000.0, 1)
            if not supplied:
                e["load_interrupted"] = True
        for s_ in syncs:
            # The 2 s window as a reader of report.json and trace.csv
            # draws it: up to the close's rounded time + 2 s inclusive (the
            # tick time here carries float dust the trace's does not).
            if t <= s_["t_s"] + 2.0 + 1e-6:
                s_["reverse_power_kw_min"] = round(min(s_["reverse_power_kw_min"], p), 2)
                if p < 0.0:
                    s_["reverse_power_ms"] += round(tick_s * 1000.0)
                if p < -0.1 * p_fuel_kw:
                    s_["swing_10pct_ms"] += round(tick_s * 1000.0)
        # Import-limit error: loaded and paralleled for 20 s (since a close, or
        # t = 0 for a paralleled running start), the cap binding, the set
        # not at its limit.  Everything it reads is in the trace.
        paralleled = brk.closed and mb.closed and grid.alive and res is not None
        if not paralleled:
            par_since = None
        elif par_since is None:
            par_since = t
        if cfg.pc_mode == 1 and paralleled and st_name == "loaded" and t - par_since > 20.0:
            site = p + res["p_grid_kw"]
            if site > cfg.import_cap_kw_x10 / 10.0 and p < p_fuel_kw * 0.98:
                pc_err.append(res["p_grid_kw"] - cfg.import_cap_kw_x10 / 10.0)
        crank = bool(do & hal.DO_CRANK)
        gas_on = bool(do & hal.DO_GAS_VALVE) and not fstate["fuel_cutoff"]
        alt.excited = not fstate["excitation_loss"]
        ign_on = bool(do & hal.DO_IGNITION)
        if trace:
            cols["t_s"].append(round(t, 6))
            cols["speed_rpm"].append(eng.w * rated_rpm)
            cols["freq_hz"].append(eng.w * f_nom)
            cols["volt_v"].append(v * v_rated)
            cols["p_kw"].append(p)
            cols["q_kvar"].append(q)
            # The load schedule's demand (at rated V and f), whoever supplies
            # it; site_kw below is what the site actually draws.
            cols["demand_kw"].append(load.demand_kw if k else
                                     sched.demand_pct(0.0) * p_fuel_kw / 100.0)
            cols["fuel_cmd_pct"].append(cmd * 100.0)
            cols["avr_bias_pct"].append(bias * 100.0)
            cols["ign_cut_pct"].append(cut * 100.0)
            cols["valve_pct"].append(eng.act * 100.0)
            cols["fuel_burnt_pu"].append(eng.e_b)
            cols["map_pu"].append(eng.p_man)
            cols["boost_pu"].append(eng.p_up())
            cols["efd_pu"].append(alt.efd)
            cols["gcb_closed"].append(1 if brk.closed else 0)
            cols["oil_kpa"].append(aux.oil_kpa)
            cols["coolant_degc"].append(aux.coolant_degc)
            cols["gas_mbar"].append(aux.gas_mbar)
            # The site and the grid: what the site draws at the bus (0 when it
            # has no supply), the PCC bus voltage, the mains breaker, the
            # utility source, the import at the PCC, and the sync-check
            # angle in plant truth: generator terminals minus the mains
            # breaker's grid terminals (the PCC bus while it is closed, the
            # source while it is open), with the slip against the grid.
            live = grid.alive and v > 0.05 and mains_v > 0.05
            cols["site_kw"].append(pl)
            cols["site_kvar"].append(ql)
            cols["site_supplied"].append(1 if supplied else 0)
            cols["bus_v_v"].append((res["bus_v_pu"] if res is not None else v) * v_rated)
            cols["mb_closed"].append(1 if mb.closed else 0)
            cols["grid_f_hz"].append(grid.f_hz if grid.alive else 0.0)
            cols["grid_v_v"].append(grid.v_pu * v_rated)
            cols["grid_p_kw"].append(res["p_grid_kw"] if res is not None else 0.0)
            cols["grid_q_kvar"].append(res["q_grid_kvar"] if res is not None else 0.0)
            cols["phase_deg"].append(math.degrees(math.remainder(
                prev_term - grid.angle_rad - mains_rel, two_pi)) if live else 0.0)
            cols["slip_hz"].append(eng.w * f_nom - grid.f_hz if live else 0.0)
            for i, n in enumerate(TELE_NAMES):
                fw_cols["fw_" + n].append(tele[i])
            for i, n in enumerate(hal.OUT_NAMES):
                out_cols["out_" + n].append(out[i])
        if on_tick is not None:
            on_tick(k, inputs, out, tele)
        running = eng.w > 0.2
        for j in range(steps):
            ts = t + (j + 1) * dt
            if has_grid:
                grid.step(ts)
                mbc = mb.step(ts)
            closed = brk.step(ts)
            alt.paralleled = closed and mbc and grid.alive
            # Site load at the bus, from last step's bus voltage and frequency
            if res is None or res["mode"] == "island":
                vb, fb = v, eng.w
            else:
                vb, fb = res["bus_v_pu"], (res["bus_f_hz"] / f_nom if res["bus_f_hz"] else 0.0)
            if supplied:
                pl, ql = load.power_kw(ts, vb, fb)
            else:
                load.power_kw(ts, v, eng.w)   # keeps the demand trace
                pl = ql = 0.0
            # The generator side of the contacts before this step's switching:
            # its terminal voltage, and how far its phase lags the rotor's.
            lag_before, vg_before = math.remainder(gen_angle - prev_term, two_pi), v
            gen_angle = math.remainder(gen_angle + dphi_pu * eng.w, two_pi)
            # The mains breaker's grid terminals before this step's switching
            # (kept relative to the source: absolute angles turn 21.6 deg/ms).
            rel_before, v_before = mains_rel, mains_v
            if mbc and grid.alive or not closed:
                res = net.solve(gen_angle, eng.w, alt.e_p * eng.w, pl, ql, closed, mbc, grid)
                supplied = res["load_supplied"]
                p = res["p_gen_kw"]
                q = res["q_gen_kvar"]
            else:
                # Island fast path: the generator alone carries the load; the
                # alternator's own terminal equation gives the voltage (what
                # Network.solve would return, without its cost per step).
                if res is None or res is not island_res:
                    res = island_res
                p, q = pl, ql
                supplied = v >= 0.1
            if gg is not None:
                cmd = gg.step(eng.w, p / p_fuel_kw)
            eng.step(cmd, p / p_set_kw, cut, crank, gas_on, ign_on, aux.fuel_available())
            v = alt.step((p - res["p_damp_kw"]) / s_kva, q / s_kva, eng.w, bias)
            if res is island_res:
                res["bus_v_pu"] = v
                res["load_supplied"] = supplied
                # The terminals lag E' by the load angle (Network's island
                # case): atan2(X'd P/V, V + X'd Q/V).
                vv = v if v > 0.05 else 0.05
                res["bus_angle_rad"] = gen_angle - math.atan2(xdp * p / s_kva / vv,
                                                              vv + xdp * q / s_kva / vv)
            aux.step(eng.w, running, p / p_set_kw, eng.e_b if gas_on else 0.0, crank)
            # Generator terminal phase: the bus when the breaker is closed
            # (paralleled, or the island it carries), the EMF when it is open.
            ta = res["bus_angle_rad"] if closed and res["mode"] in ("parallel", "island") \
                else gen_angle
            term_cycles += math.remainder(ta - prev_term, two_pi) / two_pi
            prev_term = ta
            if closed and not prev_gcb or (mbc and not prev_mb and closed):
                # Contact closure: record the synchronising figures (plant truth)
                if res["mode"] == "parallel" or (gsc["present"] and grid.alive):
                    # Across the contacts that closed, as they touch: the
                    # generator's terminals (its EMF when unloaded, the island
                    # bus it carries) against the PCC bus (GCB) or the grid (MB).
                    ph = math.degrees(math.remainder(gen_angle - lag_before - grid.angle_rad
                                                     - rel_before, two_pi))
                    syncs.append({
                        "t_s": round(ts, 4), "breaker": "gcb" if closed and not prev_gcb else "mb",
                        "time_to_close_s": round(ts - sync_start, 3) if sync_start is not None else None,
                        "slip_hz": round(eng.w * f_nom - grid.f_hz, 4),
                        "dv_pct": round((vg_before - v_before) * 100.0, 3),
                        "phase_error_deg": round(ph, 3),
                        "reverse_power_kw_min": round(p, 2), "reverse_power_ms": 0,
                        # first swing deeper than -10 % of the fuel's rating, ms
                        "swing_10pct_ms": 0})
                    sync_start = None
            prev_gcb, prev_mb = closed, mbc
            # The mains breaker's grid terminals: the PCC bus while it is
            # closed on a live grid, the source itself while it is open.
            if mbc and grid.alive and res is not None and res["mode"] in ("grid", "parallel"):
                mains_v = res["bus_v_pu"]
                mains_rel = math.remainder(res["bus_angle_rad"] - grid.angle_rad, two_pi)
            else:
                mains_v, mains_rel = grid.v_pu, 0.0
            sens.sample_step(ts, eng.w, rated_rpm, v, p, q, eng.w * f_nom, term_cycles)
            sens.map_step(eng.p_man * map_kpa_pu)
    r = Result()
    r.scenario = sc
    r.runtime = rt.name
    r.seed = seed
    r.cfg = cfg
    if port is not None:
        # The Modbus traffic joins the digest: both runtimes must answer
        # every request with the same bytes.
        sha.update(port.digest())
        r.modbus = port.report()
    else:
        r.modbus = []
    r.sha256 = sha.hexdigest()
    r.n_ticks = n_ticks
    r.tick_s = tick_s
    r.f_nom = f_nom
    r.v_nom = v_rated
    r.p_fuel_kw = p_fuel_kw
    # The wide-open probe's hand-backs (s): where its bound ends.
    r.handback_s = [(k - 1) * tick_s for k in pid.handback_k] \
        if sc["governor"] == "wide_open" else []
    r.droop_pct = sc["ggov1"]["r"] * 100.0 if sc["governor"] == "ggov1" else \
        (cfg.droop_pct_x100 / 100.0 if sc["governor"] == "firmware" else 0.0)
    r.trace = cols
    r.fw = fw_cols
    r.out = out_cols
    r.h_s = eng.h_s
    r.t_dead_s = eng.t_dead_s
    r.commands = commands
    r.syncs = syncs
    for e in lom:
        e.pop("_mb_was_closed", None)
    r.loss_of_mains = lom
    r.pc_err = pc_err
    r.grid_present = gsc["present"]
    r.alarms = alarms
    r.states = states
    r.final_state = fw_seq.STATE_NAMES[tele[fw_ctl.TELE_STATE]] if tele else "stopped"
    r.final_tele = tele
    return r
