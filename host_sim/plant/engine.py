"""Gas engine model: actuator, mixture transport, manifold, turbo air limit,
combustion, friction and the rotating inertia of engine plus alternator.

Per-unit on the set's natural-gas rating (200 kW) and rated speed.  Each
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

# Typical values for a 200 kW spark-ignited gas set; every one may be
# overridden from a scenario's [plant] table (names below).
ENGINE_DEFAULTS = {
    "j_kgm2": 6.0,          # engine + alternator inertia, mid of 4-8 kg m^2 (standards.md)
    "tau_act_s": 0.03,      # electronic throttle body lag (30-50 ms class)
    "t_transport_s": 0.01,  # throttle-to-port transport in the runners
    "cylinders": 6,
    "tau_manifold_s": 0.06, # manifold filling: V_man / (V_d N / 120) = 12 L / (14 L * 15/s)
    "tau_turbo_s": 2.0,     # turbo lag (1-5 s)
    "air_na_pu": 0.55,      # fuel energy burnable with no boost (NA share)
    "air_boost_pu": 0.65,   # extra burnable fuel at full boost (b = 1)
    "k_turb": 1.25,         # GGOV1 Kturb for Wfnl 0.2: 1 / (1 - Wfnl)
    "w_fnl_pu": 0.2,        # no-load fuel (GGOV1 Wfnl 0.2)
    "damping_pu": 0.0,      # D: no extra damping beyond speed-dependent friction
    "starter_torque_pu": 0.15,  # stall torque of the starter, pu of rated torque
    "starter_speed_pu": 0.12,   # starter free-running speed (~215 rpm)
    "low_speed_loss_pu": 0.05,  # compression / breakaway torque at standstill
}

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
        self.p = dict(params)
        fp = FUEL_PLANT[fuel]
        self.fuel = fuel
        self.dt = dt_s
        self.rated_rpm = 120.0 * f_nom_hz / poles
        w_rad = self.rated_rpm * 2.0 * math.pi / 60.0
        # H on the set's NG rating (J w^2 / 2P): 0.44 s at 60 Hz, 0.31 s at 50 Hz.
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
