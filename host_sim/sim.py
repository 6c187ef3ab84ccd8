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
from .ggov1 import Ggov1
from . import runtime as rt_mod

firmware_path()
import config as fw_config  # noqa: E402
import fuels as fw_fuels  # noqa: E402
import hal  # noqa: E402
from controller import TELE_NAMES  # noqa: E402

PLANT_DT_S = 0.001
TRACE_COLUMNS = ("t_s", "speed_rpm", "freq_hz", "volt_v", "p_kw", "q_kvar",
                 "demand_kw", "fuel_cmd_pct", "avr_bias_pct", "ign_cut_pct", "valve_pct",
                 "fuel_burnt_pu", "air_pu", "boost_pu", "efd_pu")


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


def _run(sc, rt, cfg, seed, trace, on_tick):
    # Configure the firmware through its own setting path (the same one
    # Modbus will use): fuel and frequency first, then scenario overrides.
    settings = [("fuel", fw_fuels.fuel_code(sc["fuel"])), ("f_nom_hz", sc["f_nom_hz"])]
    settings += sorted(sc["firmware"].items())
    for k, v in settings:
        if not rt.configure(k, v):
            raise rt_mod.RuntimeError_("firmware refused setting %s = %r" % (k, v))

    dt = PLANT_DT_S
    tick_s = cfg.tick_ms / 1000.0
    steps = int(round(tick_s / dt))
    f_nom = float(sc["f_nom_hz"])
    p_set_kw = cfg.p_rated_kw_x10 / 10.0                # NG rating, engine base
    p_fuel_kw = p_set_kw * FUEL_PLANT[sc["fuel"]]["derate"]  # this fuel's rating
    plant = sc["plant"]
    s_kva = plant["s_rated_kva"]
    eng = Engine(plant, sc["fuel"], f_nom, p_set_kw, dt, cfg.poles)
    alt = Alternator(plant, dt)
    ld = sc["load"]
    sched = LoadSchedule(ld["initial_pct"], sc["events"])
    load = Load(sched, p_fuel_kw, ld["pf"], ld["p_v_exp"], ld["q_v_exp"], ld["p_f_exp"])
    sens = Sensors(seed, cfg.mpu_teeth, f_nom, cfg.poles, cfg.v_rated_dv / 10.0,
                   p_set_kw, dt, tick_s)

    # Start in the steady state at the initial load, rated speed and voltage.
    p0, q0 = load.power_kw(0.0, 1.0, 1.0)
    e0 = eng.w_fnl + (p0 / p_set_kw) / eng.k_turb
    act0 = e0 / (eng.valve_gain * eng.lhv_factor)
    eng.settle(act0)
    alt.settle(p0 / s_kva, q0 / s_kva)
    sens.v_filt, sens.p_filt, sens.q_filt = 1.0, p0, q0
    rt.begin(int(round(act0 * 10000)), cfg.rated_rpm_x10)
    gg = None
    if sc["governor"] == "ggov1":
        row = fw_fuels.FUELS[cfg.fuel]
        gg = Ggov1(sc["ggov1"], dt, row[fw_fuels.F_FUEL_NL_PCT_X100] / 10000.0,
                   row[fw_fuels.F_FUEL_FL_PCT_X100] / 10000.0, 1.0)
        gg.settle(p0 / p_fuel_kw)
    # Let the sensors see one full tick before the first sample, as a running
    # engine's pickup and zero-crossing timers would have.
    for j in range(2 * steps):
        ts = (j + 1 - 2 * steps) * dt
        eng.angle_rev += dt * eng.rated_rpm / 60.0
        sens.sample_step(ts, 1.0, eng.rated_rpm, 1.0, p0, q0, f_nom)
    n_ticks = int(round(sc["duration_s"] / tick_s))
    sha = hashlib.sha256()
    cols = {c: [] for c in TRACE_COLUMNS}
    fw_cols = {("fw_" + n): [] for n in TELE_NAMES}
    out_cols = {("out_" + n): [] for n in hal.OUT_NAMES}
    inputs = [0] * hal.N_IN
    rated_rpm = eng.rated_rpm
    p, q, v = p0, q0, 1.0
    cmd = act0
    cut = 0.0
    t = 0.0
    pack = rt_mod.pack_outputs
    quality = [e for e in sc["events"] if e["kind"] == "fuel_quality"]
    for k in range(n_ticks):
        t = k * tick_s
        if quality:
            eng.lhv_factor = lhv_factor(quality, t)
        sens.inputs(t, inputs)
        out, tele = rt.tick(inputs)
        sha.update(pack(out, tele))
        if gg is None:
            cmd = out[hal.OUT_FUEL_PCT_X100] / 10000.0
        bias = out[hal.OUT_AVR_BIAS_PCT_X100] / 10000.0
        cut = out[hal.OUT_IGN_CUT_PCT_X100] / 10000.0
        if trace:
            cols["t_s"].append(round(t, 6))
            cols["speed_rpm"].append(eng.w * rated_rpm)
            cols["freq_hz"].append(eng.w * f_nom)
            cols["volt_v"].append(v * cfg.v_rated_dv / 10.0)
            cols["p_kw"].append(p)
            cols["q_kvar"].append(q)
            cols["demand_kw"].append(load.demand_kw if k else p0)
            cols["fuel_cmd_pct"].append(cmd * 100.0)
            cols["avr_bias_pct"].append(bias * 100.0)
            cols["ign_cut_pct"].append(cut * 100.0)
            cols["valve_pct"].append(eng.act * 100.0)
            cols["fuel_burnt_pu"].append(eng.e_b)
            cols["air_pu"].append(eng.air_na + eng.air_boost * eng.boost)
            cols["boost_pu"].append(eng.boost)
            cols["efd_pu"].append(alt.efd)
            for i, n in enumerate(TELE_NAMES):
                fw_cols["fw_" + n].append(tele[i])
            for i, n in enumerate(hal.OUT_NAMES):
                out_cols["out_" + n].append(out[i])
        if on_tick is not None:
            on_tick(k, inputs, out, tele)
        for j in range(steps):
            ts = t + (j + 1) * dt
            w = eng.w
            f_pu = w
            p, q = load.power_kw(ts, v, f_pu)
            if gg is not None:
                cmd = gg.step(w, p / p_fuel_kw)
            eng.step(cmd, p / p_set_kw, cut)
            v = alt.step(p / s_kva, q / s_kva, f_pu, bias)
            sens.sample_step(ts, eng.w, rated_rpm, v, p, q, eng.w * f_nom)
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
    return r
