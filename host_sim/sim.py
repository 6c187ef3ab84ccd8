"""Deterministic fixed-step scheduler: the plant integrates at 1 kHz, the
firmware ticks at its own rate (100 Hz by default), in the order

  sensors -> firmware tick (measure, control, outputs) -> plant steps

Same scenario + seed -> the same result, in either runtime: all randomness
comes from the sensors' seeded generator, and the firmware's outputs are
integers that both runtimes compute identically.
"""

import hashlib

from . import firmware_path
from .plant.engine import Engine, FUEL_PLANT
from .plant.alternator import Alternator
from .plant.load import Load, LoadSchedule
from .plant.sensors import Sensors
from .plant.aux import Aux
from .plant.breaker import Breaker
from .ggov1 import Ggov1
from . import runtime as rt_mod

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
                 "fuel_burnt_pu", "air_pu", "boost_pu", "efd_pu", "gcb_closed",
                 "oil_kpa", "coolant_degc", "gas_mbar")


def firmware_config(sc):
    """The firmware Config this scenario asks for (host copy, for scales)."""
    cfg = fw_config.Config()
    cfg.set("fuel", fw_fuels.fuel_code(sc["fuel"]))
    cfg.set("f_nom_hz", sc["f_nom_hz"])
    for k, v in sc["firmware"].items():
        cfg.set(k, v)
    return cfg


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


def run(sc, runtime="cpython", seed=None, runtime_kw=None, trace=True, on_tick=None):
    """Run scenario `sc` (from scenario.load).  `runtime` is "cpython",
    "micropython", or any object with the runtime interface (configure,
    begin, tick, close, name) - e.g. tools.hil.SerialRuntime for a board.
    on_tick(k, inputs, out, tele) sees every tick (benchmarks, checks)."""
    seed = sc["seed"] if seed is None else seed
    cfg = firmware_config(sc)
    rt = rt_mod.make(runtime, **(runtime_kw or {})) if isinstance(runtime, str) else runtime
    try:
        return _run(sc, rt, cfg, seed, trace, on_tick)
    finally:
        rt.close()


def _apply_fault(ev, eng, aux, brk, sens, state):
    """Start (or, with clear = true, end) one injected fault."""
    f = ev["fault"]
    on = not ev.get("clear", False)
    if f == "mpu_loss":
        sens.mpu_ok = not on
    elif f == "metering_loss":
        sens.meter_ok = not on
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
    elif f == "battery_weak":
        aux.batt_offset_v = -ev.get("volts", 4.0) if on else 0.0
    elif f == "current_unbalance":
        state["unbalance"] = ev.get("share", 0.3) if on else 0.0
    elif f == "no_fire":
        eng.no_fire = on
    elif f == "fail_to_stop":
        eng.fail_to_stop = on
    elif f == "bus_excursion":
        state["excursion"] = (ev["t_s"], ev.get("duration_s", 0.0), ev.get("v_pct", 0.0),
                              ev.get("f_hz", 0.0)) if on else None
    elif f == "gas_not_proven":
        state["not_proven"] = on


def _ramp(start, t, t0, dur, to):
    if dur <= 0:
        return to
    x = min(1.0, max(0.0, (t - t0) / dur))
    return start + (to - start) * x


def _run(sc, rt, cfg, seed, trace, on_tick):
    # Configure the firmware through its own setting path (the same one
    # Modbus will use): fuel and frequency first, then scenario overrides.
    settings = [("fuel", fw_fuels.fuel_code(sc["fuel"])), ("f_nom_hz", sc["f_nom_hz"])]
    settings += sorted(sc["firmware"].items())
    settings += sc.get("protection_settings", [])
    for k, v in settings:
        if not rt.configure(k, v):
            raise rt_mod.RuntimeError_("firmware refused setting %s = %r" % (k, v))
    if sc.get("mode", "auto") != "auto":
        rt.command("mode_" + sc["mode"])

    dt = PLANT_DT_S
    tick_s = cfg.tick_ms / 1000.0
    steps = int(round(tick_s / dt))
    f_nom = float(sc["f_nom_hz"])
    p_set_kw = cfg.p_rated_kw_x10 / 10.0                # NG rating, engine base
    p_fuel_kw = p_set_kw * FUEL_PLANT[sc["fuel"]]["derate"]  # this fuel's rating
    plant = sc["plant"]
    s_kva = plant["s_rated_kva"]
    v_rated = cfg.v_rated_dv / 10.0
    eng = Engine(plant, sc["fuel"], f_nom, p_set_kw, dt, cfg.poles)
    alt = Alternator(plant, dt)
    aux = Aux(plant, dt)
    running_start = sc.get("start", "running") == "running"
    brk = Breaker(plant, closed=running_start)
    ld = sc["load"]
    sched = LoadSchedule(ld["initial_pct"], sc["events"])
    load = Load(sched, p_fuel_kw, ld["pf"], ld["p_v_exp"], ld["q_v_exp"], ld["p_f_exp"])
    sens = Sensors(seed, cfg.mpu_teeth, f_nom, cfg.poles, v_rated, p_set_kw, dt, tick_s)
    # Discrete inputs and injected-fault state
    remote_start = running_start if sc.get("remote_start") is None else sc["remote_start"]
    fstate = {"di_fault": 0, "oil_drift": None, "coolant_drift": None, "gas_ramp": None,
              "unbalance": 0.0, "excursion": None, "not_proven": False}
    estop = False
    mains_closed = False

    gg = None
    if running_start:
        # Start in the steady state at the initial load, rated speed and voltage.
        p0, q0 = load.power_kw(0.0, 1.0, 1.0)
        e0 = eng.w_fnl + (p0 / p_set_kw) / eng.k_turb
        act0 = e0 / (eng.valve_gain * eng.lhv_factor)
        eng.settle(act0)
        alt.settle(p0 / s_kva, q0 / s_kva)
        aux.coolant_degc = 82.0
        sens.v_filt, sens.p_filt, sens.q_filt = 1.0, p0, q0
        rt.begin(int(round(act0 * 10000)), cfg.rated_rpm_x10)
        if sc["governor"] == "ggov1":
            row = fw_fuels.FUELS[cfg.fuel]
            gg = Ggov1(sc["ggov1"], dt, row[fw_fuels.F_FUEL_NL_PCT_X100] / 10000.0,
                       row[fw_fuels.F_FUEL_FL_PCT_X100] / 10000.0, 1.0)
            gg.settle(p0 / p_fuel_kw)
        # Let the sensors see one full tick before the first sample, as a
        # running engine's pickup and zero-crossing timers would have.
        for j in range(2 * steps):
            ts = (j + 1 - 2 * steps) * dt
            eng.angle_rev += dt * eng.rated_rpm / 60.0
            sens.sample_step(ts, 1.0, eng.rated_rpm, 1.0, p0, q0, f_nom)
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
        w_init = 0.0
    n_ticks = int(round(sc["duration_s"] / tick_s))
    sha = hashlib.sha256()
    cols = {c: [] for c in TRACE_COLUMNS}
    fw_cols = {("fw_" + n): [] for n in TELE_NAMES}
    out_cols = {("out_" + n): [] for n in hal.OUT_NAMES}
    inputs = [0] * hal.N_IN
    rated_rpm = eng.rated_rpm
    p, q, v = p0, q0, w_init
    cmd = act0
    cut = 0.0
    do = 0
    t = 0.0
    pack = rt_mod.pack_outputs
    quality = [e for e in sc["events"] if e["kind"] == "fuel_quality"]
    actions = [e for e in sc["events"] if e["kind"] in ("input", "command", "fault")]
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
                elif ev["input"] == "mains_closed":
                    mains_closed = ev["value"]
                else:
                    estop = ev["value"]
            elif ev["kind"] == "command":
                ok = rt.command(ev["command"])
                commands.append({"t_s": round(t, 4), "command": ev["command"], "accepted": ok})
            else:
                _apply_fault(ev, eng, aux, brk, sens, fstate)
        # Slow fault ramps
        if fstate["oil_drift"]:
            sens.oil_offset_kpa = fstate["oil_drift"][1] * (t - fstate["oil_drift"][0])
        if fstate["coolant_drift"]:
            sens.coolant_offset_degc = fstate["coolant_drift"][1] * (t - fstate["coolant_drift"][0])
        if fstate["gas_ramp"]:
            t0, dur, frm, to = fstate["gas_ramp"]
            aux.gas_supply_mbar = _ramp(frm, t, t0, dur, to)
        v_exc = f_exc = 0.0
        if fstate["excursion"]:
            t0, dur, vp, fh = fstate["excursion"]
            x = 1.0 if dur <= 0 else min(1.0, (t - t0) / dur)
            v_exc, f_exc = vp / 100.0 * x, fh * x
        # Phase currents from the metered power (kVA / (sqrt 3 V))
        s_now = (p * p + q * q) ** 0.5
        i_avg = s_now * 1000.0 / (1.7320508 * max(v, 0.05) * v_rated) if s_now > 0 else 0.0
        u = fstate["unbalance"]
        currents = (i_avg * (1.0 + u), i_avg, i_avg * (1.0 - u))
        di = fstate["di_fault"]
        if estop:
            di |= hal.DI_ESTOP
        if remote_start:
            di |= hal.DI_REMOTE_START
        if brk.closed:
            di |= hal.DI_GCB_CLOSED
        if mains_closed:
            di |= hal.DI_MB_CLOSED
        if aux.gas_mbar >= 10.0 and not (di & hal.DI_GAS_LEAK) and not fstate["not_proven"]:
            di |= hal.DI_GAS_PROVEN
        sens.inputs(t, inputs, aux, currents, di)
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
        do = out[hal.OUT_DO]
        if gg is None:
            cmd = out[hal.OUT_FUEL_PCT_X100] / 10000.0
        bias = out[hal.OUT_AVR_BIAS_PCT_X100] / 10000.0
        cut = out[hal.OUT_IGN_CUT_PCT_X100] / 10000.0
        brk.command(t, do & hal.DO_GCB_CLOSE, do & hal.DO_GCB_OPEN)
        crank = bool(do & hal.DO_CRANK)
        gas_on = bool(do & hal.DO_GAS_VALVE)
        ign_on = bool(do & hal.DO_IGNITION)
        if trace:
            cols["t_s"].append(round(t, 6))
            cols["speed_rpm"].append(eng.w * rated_rpm)
            cols["freq_hz"].append(eng.w * f_nom)
            cols["volt_v"].append(v * v_rated)
            cols["p_kw"].append(p)
            cols["q_kvar"].append(q)
            # The demand the generator sees: the site load behind a closed breaker.
            cols["demand_kw"].append((load.demand_kw if k else p0) if brk.closed else 0.0)
            cols["fuel_cmd_pct"].append(cmd * 100.0)
            cols["avr_bias_pct"].append(bias * 100.0)
            cols["ign_cut_pct"].append(cut * 100.0)
            cols["valve_pct"].append(eng.act * 100.0)
            cols["fuel_burnt_pu"].append(eng.e_b)
            cols["air_pu"].append(eng.air_na + eng.air_boost * eng.boost)
            cols["boost_pu"].append(eng.boost)
            cols["efd_pu"].append(alt.efd)
            cols["gcb_closed"].append(1 if brk.closed else 0)
            cols["oil_kpa"].append(aux.oil_kpa)
            cols["coolant_degc"].append(aux.coolant_degc)
            cols["gas_mbar"].append(aux.gas_mbar)
            for i, n in enumerate(TELE_NAMES):
                fw_cols["fw_" + n].append(tele[i])
            for i, n in enumerate(hal.OUT_NAMES):
                out_cols["out_" + n].append(out[i])
        if on_tick is not None:
            on_tick(k, inputs, out, tele)
        running = eng.w > 0.2
        for j in range(steps):
            ts = t + (j + 1) * dt
            closed = brk.step(ts)
            w = eng.w
            f_pu = w
            if closed:
                p, q = load.power_kw(ts, v, f_pu)
            else:
                load.power_kw(ts, v, f_pu)   # keeps the demand trace
                p = q = 0.0
            if gg is not None:
                cmd = gg.step(w, p / p_fuel_kw)
            eng.step(cmd, p / p_set_kw, cut, crank, gas_on, ign_on, aux.fuel_available())
            v = alt.step(p / s_kva, q / s_kva, f_pu, bias)
            aux.step(eng.w, running, p / p_set_kw, eng.e_b if gas_on else 0.0, crank)
            sens.sample_step(ts, eng.w, rated_rpm, v * (1.0 + v_exc), p, q,
                             eng.w * f_nom + (f_exc if v > 0.05 else 0.0))
    r = Result()
    r.scenario = sc
    r.runtime = rt.name
    r.seed = seed
    r.cfg = cfg
    r.sha256 = sha.hexdigest()
    r.n_ticks = n_ticks
    r.tick_s = tick_s
    r.f_nom = f_nom
    r.v_nom = cfg.v_rated_dv / 10.0
    r.p_fuel_kw = p_fuel_kw
    r.droop_pct = cfg.droop_pct_x100 / 100.0 if sc["governor"] == "firmware" else sc["ggov1"]["r"] * 100.0
    r.trace = cols
    r.fw = fw_cols
    r.out = out_cols
    r.h_s = eng.h_s
    r.t_dead_s = eng.t_dead_s
    r.commands = commands
    r.alarms = alarms
    r.states = states
    r.final_state = fw_seq.STATE_NAMES[tele[fw_ctl.TELE_STATE]] if tele else "stopped"
    r.final_tele = tele
    return r
