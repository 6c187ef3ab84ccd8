"""Gas engine model: actuator, mixture transport, manifold, turbo air limit,
combustion, friction and the rotating inertia of engine plus alternator.

Per-unit on the engine's power base at its governed speed: its natural-gas
rating, 200 kW at 1800 rpm (60 Hz), 166.7 kW at 1500 rpm (50 Hz) at the same
torque (power_base_kw below).  The plant is the GX230 whatever the firmware
was commissioned with: nothing here reads a firmware setting.  Each
equation cites where its form and numbers come from; parameters are typical
of the class, never tuned to flatter the firmware.

  actuator        tau_act * d(a)/dt = cmd - a          electronic throttle body
                  downstream of turbo and venturi mixer (the usual arrangement
                  on a 200 kW rich-burn set), 30-50 ms class (Woodward ProAct /
                  ITB data-sheet class); gas follows air through the mixer
  fuel energy     e_v = a * valve_gain * lhv_factor    valve sized so rated
                  power needs ~80-85 % opening (commissioning practice)
  transport       e_d(t) = e_v(t - T_tr - T_comb)      runner transport plus
                  combustion dead time 60/(2N) + 60/(N z) s (standards.md).
                  The 0.1-0.5 s mixer-to-throttle transport of standards.md is
                  upstream of the throttle: mixture there is already made, so
                  it shows as the slow air (turbo) limit below, not as torque
                  dead time
  manifold        tau_man * d(e_m)/dt = e_d - e_m      intake manifold filling,
                  tau = manifold volume / (displacement * N / 120): 12 L and a
                  14 L engine at 1800 rpm give ~0.06 s
  turbo / air     tau_turbo * d(b)/dt = e_b - b        boost follows the fuel
                  burnt (exhaust energy), 1-5 s turbo lag (standards.md);
                  air_pu = air_na + air_boost * b      fuel that can burn is
                  min(e_m, air_pu): a low-BMEP rich-burn set takes a
                  25-50 % first step (ISO 8528-5 guide, standards.md)
  knock / lean    e_b <= e_cap (fuel derate: propane, hydrogen, biogas)
  ignition cut    a share c of firings skipped (controller output) after the
                  combustion dead time: torque from fuel is e_b * (1 - c)
  torque          T_m = k_turb * (e_b (1-c) - w_fnl w) GGOV1 turbine form
                  (Kturb, Wfnl: standards.md) with friction rising with speed
  air vs speed    the engine is an air pump: burnable fuel scales with w
  starting        starter torque T_st (1 - w / w_st) while cranking (a 24 V
                  starter turns a 14 L engine at ~150-200 rpm); combustion
                  needs ignition, an open gas valve and w > 5 % (firing speed);
                  compression and breakaway losses below 25 % speed
  swing           2H dw/dt = T_m - P_e / w - D (w - 1) standards.md; H from
                  J = 6 kg m^2 (engine flywheel ~3-4 + alternator rotor ~2 for
                  a 250 kVA 4-pole set): H = J w^2 / (2 P) = 0.53 s at 60 Hz
"""

import math

from .params import Param, defaults

# Typical values for a 200 kW spark-ignited gas set; every one may be
# overridden from a scenario's [plant] table (names below), inside the limits
# beside it (the last field says why the range is what it is).
ENGINE_PARAMS = {
    # The GX230's continuous natural-gas rating, electrical kW at the engine's
    # rating speed of 1800 rpm (RATING_RPM; README: a 200 kW set).  The
    # family on this 14 L engine spans about +-25 %: a larger rating is a
    # different engine, a smaller one a derated set.
    "p_rated_kw": Param(200.0, 150.0, 250.0, "kW",
                        "200 kW GX230 +-25 %: the sets one 14 L engine can carry"),
    # engine + alternator inertia, mid of 4-8 kg m^2 (standards.md)
    "j_kgm2": Param(6.0, 1.0, 50.0, "kg m^2",
                    "1: alternator rotor and a bare flywheel; 50: a heavy added flywheel, "
                    "the inertia of a ~1 MW set"),
    # electronic throttle body lag (30-50 ms class)
    "tau_act_s": Param(0.03, 0.005, 1.0, "s",
                       "5 ms: faster than any throttle (and 5 plant steps); 1 s: a slow "
                       "hydraulic actuator (GGOV1's turbine Tact is 0.5 s)"),
    # throttle-to-port transport in the runners
    "t_transport_s": Param(0.01, 0.0, 0.5, "s",
                           "0: throttle at the ports; 0.5 s: the longest mixer-to-port "
                           "transport of standards.md"),
    # the combustion dead time 60/(2N) + 60/(N z) divides by z
    "cylinders": Param(6, 1, 20, "cylinders",
                       "1 to a V20, the largest common gas engines"),
    # manifold filling: V_man / (V_d N / 120) = 12 L / (14 L * 15/s)
    "tau_manifold_s": Param(0.06, 0.005, 1.0, "s",
                            "manifold volume 1-15x the displacement per second "
                            "of intake strokes"),
    # turbo lag (1-5 s)
    "tau_turbo_s": Param(2.0, 0.1, 10.0, "s",
                         "around standards.md's 1-5 s turbo lag, 0.1 s for a "
                         "near-instant (electrically assisted) one"),
    # fuel energy burnable with no boost (NA share)
    "air_na_pu": Param(0.55, 0.1, 1.5, "pu",
                       "0.1: cannot idle without boost; 1.5: a naturally aspirated "
                       "engine with 50 % margin"),
    # extra burnable fuel at full boost (b = 1)
    "air_boost_pu": Param(0.65, 0.0, 2.0, "pu",
                          "0: no turbo; 2: a highly boosted engine"),
    # GGOV1 Kturb for Wfnl 0.2: 1 / (1 - Wfnl)
    "k_turb": Param(1.25, 0.5, 5.0, "pu",
                    "1 / (1 - Wfnl) for Wfnl 0-0.5 is 1-2; GGOV1 typical 1.5; "
                    "the fuel ceiling divides by it"),
    # no-load fuel (GGOV1 Wfnl 0.2)
    "w_fnl_pu": Param(0.2, 0.0, 0.5, "pu",
                      "GGOV1 Wfnl is 0.1-0.3; 0.5 is an engine that burns half its "
                      "rated fuel in losses"),
    # D: no extra damping beyond speed-dependent friction
    "damping_pu": Param(0.0, 0.0, 10.0, "pu",
                        "damping cannot be negative; 10 pu torque per pu speed is "
                        "far above any engine's"),
    # stall torque of the starter, pu of rated torque
    "starter_torque_pu": Param(0.15, 0.0, 1.0, "pu",
                               "0: no starter (the set cannot start); 1: a starter "
                               "as strong as the engine"),
    # starter free-running speed (~215 rpm)
    "starter_speed_pu": Param(0.12, 0.02, 0.3, "pu",
                              "36-540 rpm at 1800 rpm: starters free-run at 100-300 rpm; "
                              "the starter torque divides by it"),
    # compression / breakaway torque at standstill
    "low_speed_loss_pu": Param(0.05, 0.0, 0.5, "pu",
                               "breakaway torque, 0 to half the rated torque"),
}
ENGINE_DEFAULTS = defaults(ENGINE_PARAMS)
RULES = ()   # no cross-parameter rules: every range above is safe alone

# The speed p_rated_kw is rated at.  At another governed speed the engine's
# power base follows constant torque, i.e. constant BMEP: for a four-stroke
# P = bmep V_d N / (2 * 60) (Heywood, "Internal Combustion Engine
# Fundamentals", 1988, sec. 2.7), and the rated bmep is the engine's knock,
# peak-pressure and thermal limit, not a speed.  200 kWe at 1800 rpm is
# ~213 kW at the shaft (a 250 kVA alternator is ~94 % efficient, data-sheet
# class): bmep = 120 * 213 kW / (14 L * 1800 rpm) = 10.1 bar, the low-BMEP
# rich-burn class standards.md sizes the load steps for.  At 1500 rpm (50 Hz,
# 4 poles) the same bmep gives 200 * 1500 / 1800 = 166.7 kW (the 167 kW the
# iso-steps-ng-50hz scenario commissions).  Above 1800 rpm nothing is known
# (turbo matching, mechanical limits): 4 poles at 50 / 60 Hz never go there.
RATING_RPM = 1800.0


def power_base_kw(params, rated_rpm):
    """The engine's power base (its natural-gas rating) at governed speed
    rated_rpm: p_rated_kw at RATING_RPM, at constant torque elsewhere."""
    return params["p_rated_kw"] * rated_rpm / RATING_RPM


# Per-fuel plant data: what differs physically (standards.md, "Fuels").
#   valve_gain   fuel energy (pu) per pu valve opening of that fuel's gas train
#   cap_pu       largest fuel energy that burns without knock / lean limits
#                (derate), 10 % overload above the fuel's rated power
#   t_comb_scale flame speed relative to natural gas (hydrogen faster,
#                biogas slower) scaling the combustion dead time
#   tau_man_scale  biogas moves ~2x the volume per kW: slower filling
FUEL_PLANT = {
    "natural_gas": {"valve_gain": 1.20, "derate": 1.00, "t_comb_scale": 1.0, "tau_man_scale": 1.0},
    "propane": {"valve_gain": 1.18, "derate": 0.85, "t_comb_scale": 1.0, "tau_man_scale": 1.0},
    "hydrogen": {"valve_gain": 1.15, "derate": 0.70, "t_comb_scale": 0.6, "tau_man_scale": 1.0},
    "biogas": {"valve_gain": 1.12, "derate": 0.90, "t_comb_scale": 1.4, "tau_man_scale": 1.5},
}


class Engine:
    def __init__(self, params, fuel, f_nom_hz, p_rated_kw, dt_s, poles=4):
        """p_rated_kw: the power base at this speed (power_base_kw), poles the
        alternator's (alternator.POLES): the plant's own, never the firmware's."""
        self.p = dict(params)
        fp = FUEL_PLANT[fuel]
        self.fuel = fuel
        self.dt = dt_s
        self.rated_rpm = 120.0 * f_nom_hz / poles
        w_rad = self.rated_rpm * 2.0 * math.pi / 60.0
        # H on the power base at this speed (J w^2 / 2P): 0.53 s at 60 Hz on
        # 200 kW, 0.44 s at 50 Hz on 166.7 kW.
        self.h_s = params["j_kgm2"] * w_rad * w_rad / (2.0 * p_rated_kw * 1000.0)
        self.valve_gain = fp["valve_gain"]
        self.lhv_factor = 1.0
        # Burnable fuel ceiling for this fuel: 10 % overload above derated power.
        k = params["k_turb"]
        wfnl = params["w_fnl_pu"]
        self.e_cap = 1.1 * fp["derate"] / k + wfnl
        t_comb = (60.0 / (2.0 * self.rated_rpm) + 60.0 / (self.rated_rpm * params["cylinders"])) * fp["t_comb_scale"]
        self.t_dead_s = params["t_transport_s"] + t_comb
        n = max(1, int(round(self.t_dead_s / dt_s)))
        self._delay = [0.0] * n
        self._di = 0
        nc = max(1, int(round(t_comb / dt_s)))
        self._cut_delay = [0.0] * nc
        self._ci = 0
        self.cut = 0.0
        self.a_act = dt_s / params["tau_act_s"]
        self.a_man = dt_s / (params["tau_manifold_s"] * fp["tau_man_scale"])
        self.a_turbo = dt_s / params["tau_turbo_s"]
        self.k_turb = k
        self.w_fnl = wfnl
        self.air_na = params["air_na_pu"]
        self.air_boost = params["air_boost_pu"]
        self.damping = params["damping_pu"]
        # States
        self.act = 0.0      # valve position pu
        self.e_m = 0.0      # fuel energy in the manifold pu
        self.e_b = 0.0      # fuel energy burnt pu
        self.boost = 0.0    # turbo boost state pu
        self.w = 1.0        # speed pu
        self.t_mech = 0.0
        self.angle_rev = 0.0  # crank angle in revolutions (for the speed pickup)
        self.stuck = False
        self.fail_to_stop = False   # fault: shut-off valve and ignition stuck on
        self.no_fire = False        # fault: ignition dead, the engine cannot start
        self.t_st = params["starter_torque_pu"]
        self.w_st = params["starter_speed_pu"]
        self.t_low = params["low_speed_loss_pu"]

    def settle(self, act, w=1.0):
        """Start in the steady state for valve position `act` at speed w."""
        self.act = act
        e = act * self.valve_gain * self.lhv_factor
        self._delay = [e] * len(self._delay)
        self.e_m = e
        self.e_b = min(e, self.air_na + self.air_boost * e, self.e_cap)
        self.boost = self.e_b
        self.w = w
        self.t_mech = self.k_turb * (self.e_b - self.w_fnl * w)

    def step(self, cmd_pu, p_elec_pu, cut_cmd=0.0, crank=False, gas_on=True, ign_on=True,
             fuel_avail=1.0):
        """Advance dt with valve command cmd_pu (0..1), ignition cut share
        cut_cmd (0..1) and electrical load p_elec_pu (on the NG rating); crank,
        gas_on and ign_on are the starter, shut-off valve and ignition relays;
        fuel_avail the share of gas the supply can deliver.  Returns speed pu."""
        if self.fail_to_stop:
            gas_on = ign_on = True
            if cmd_pu < 0.15:
                cmd_pu = 0.15       # throttle idle stop with the valves stuck open
        if self.no_fire:
            ign_on = False
        if not ign_on:
            cut_cmd = 1.0
        cd = self._cut_delay
        ci = self._ci
        self.cut = cd[ci]
        cd[ci] = cut_cmd
        ci += 1
        self._ci = 0 if ci == len(cd) else ci
        if not self.stuck:
            self.act += (cmd_pu - self.act) * self.a_act
        d = self._delay
        i = self._di
        e_d = d[i]
        d[i] = self.act * self.valve_gain * self.lhv_factor * fuel_avail if gas_on else 0.0
        i += 1
        self._di = 0 if i == len(d) else i
        self.e_m += (e_d - self.e_m) * self.a_man
        w = self.w
        air = (self.air_na + self.air_boost * self.boost) * w
        e_b = self.e_m if w > 0.05 else 0.0
        if e_b > air:
            e_b = air
        if e_b > self.e_cap:
            e_b = self.e_cap
        self.e_b = e_b
        self.boost += (e_b - self.boost) * self.a_turbo
        t_m = self.k_turb * (e_b * (1.0 - self.cut) - self.w_fnl * w)
        if w < 0.25:
            t_m -= self.t_low * (1.0 - w / 0.25)
        if crank and w < self.w_st:
            t_m += self.t_st * (1.0 - w / self.w_st)
        self.t_mech = t_m
        t_e = p_elec_pu / w if w > 0.05 else p_elec_pu / 0.05
        dw = (t_m - t_e - self.damping * (w - 1.0)) * self.dt / (2.0 * self.h_s)
        if w <= 0.0 and dw < 0.0:
            dw = 0.0            # losses hold a stopped engine, they do not reverse it
        w += dw
        if w < 0.0:
            w = 0.0
        self.w = w
        self.angle_rev += w * self.rated_rpm / 60.0 * self.dt
        return w
