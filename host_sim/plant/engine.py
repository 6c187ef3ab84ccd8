"""Gas engine model: a mean-value engine with torque from the charge trapped
per cycle.  Actuator, throttle flow, manifold pressure, volumetric
efficiency, turbo boost, mixture, combustion dead time, friction and the
rotating inertia of engine plus alternator.

Per-unit on the engine's power base at its governed speed: its natural-gas
rating, 200 kW at 1800 rpm (60 Hz), 166.7 kW at 1500 rpm (50 Hz) at the same
torque (power_base_kw below).  Pressures are per unit of the manifold
absolute pressure (MAP) at rated load and speed; flows per unit of the rated
cylinder flow.  The plant is the GX230 whatever the firmware was
commissioned with: nothing here reads a firmware setting.  Each equation
cites where its form comes from; the figures are typical of the class,
never tuned to flatter the firmware.

The mean-value form is Hendricks' (E. Hendricks, S. C. Sorenson, "Mean value
modelling of spark ignition engines", SAE 900616, 1990) as laid out in
L. Guzzella, C. H. Onder, "Introduction to Modeling and Control of Internal
Combustion Engine Systems", 2nd ed., Springer 2010, ch. 2 (G&O below).
What matters at large signal: torque comes from the charge per cycle (its
mass, so its pressure), not from a flow per second.  A wide-open throttle
makes about the same torque at 80 % speed as at rated (it breathes easier
there), so a deep dip can recover once boost builds; what it cannot make is
more torque than its boost allows.

  actuator     tau_act da/dt = cmd - a        electronic throttle body, 30-50 ms
               class (Woodward ProAct / ITB data-sheet class); the throttle is
               downstream of the venturi mixer and turbo, so it meters mixture
  throttle     m_thr = g a p_up Psi(p_m / p_up)   isentropic orifice, G&O eq.
               2.10 simplified: Psi = 1/sqrt(2) choked (p_m/p_up < 1/2),
               sqrt(2 r (1 - r)) above, the same law backwards if p_m > p_up.
               A butterfly's open area is 1 - cos(a 90 deg) of the bore (G&O eq.
               2.11 with no closed-plate leak); g sets that a wide-open
               throttle passes the rated flow at a 5 % pressure drop
               (wot_ratio, sizing practice), times throttle_gain (1 nominal:
               the spread from one throttle body or mixer to the next)
  manifold     tau_man dp_m/dt = m_thr - m_cyl     filling and emptying
               (G&O eq. 2.5, isothermal receiver), tau_man = V_man / (V_d N /
               120): 12 L on a 14 L engine at 1800 rpm gives ~0.06 s.  At
               lower speed the cylinders draw less and the manifold fills
               slower: the same law, no extra term
  cylinders    m_cyl = eta_v(w) p_m w              speed-density (G&O eq. 2.15),
               eta_v(w) = 1 - ev_droop (1 - w)^2: volumetric efficiency peaks
               at the speed the intake is tuned for and falls a few % off it
               (Heywood, "Internal Combustion Engine Fundamentals", 1988,
               fig. 6-9)
  mixture      tau_mix dx/dt = x_in - x, tau_mix = tau_man / max(w, .05): the
               share of the stoichiometric fuel in the manifold charge; x_in
               is the gas the mixer adds (0 with the shut-off valve closed,
               the supply's available share as its pressure sags)
  gas quality  the venturi mixer meters gas volume per air volume, so a gas
               whose heating value falls to lhv of the commissioned gas's
               leans the mixture at once: the charge's energy is
               min(lhv trim, 1) (a rich mixture burns no more: the air
               limits) times (1 + g) / (1 + g trim), the air the extra gas
               volume displaces.  The mixer's lambda
               trim (an AFR controller on the exhaust oxygen sensor, e.g.
               Woodward / MOTORTECH class) brings it back: tau_afr dtrim/dt =
               1 - lhv trim, inside +-afr_authority.  Back at stoichiometric
               the charge still carries a little less energy, because the
               poorer gas takes more of the cylinder's volume: a stoichiometric
               mixture holds (1 + g) / (1 + g / lhv) of the commissioned gas's
               energy per volume, g the commissioned gas's stoichiometric
               gas-to-air volume ratio (methane 1 : 9.52; Heywood table D.4).
               Biogas at 60 % CH4 has g = 0.175, and its 15 % heating-value
               drop to 51 % CH4 costs 2.6 % of the charge energy once trimmed.
  charge       q = eta_v(w) p_m x e_f  per cycle, delayed by the runner
               transport and the combustion dead time 60/(2N) + 60/(N z) s
               (standards.md); e_f the fuel's energy per pu charge (valve_gain
               relative to natural gas) times the gas quality (lhv_factor)
  knock/lean   q <= q_cap: the fuel's derate (propane, hydrogen, biogas knock
               and lean limits) with 10 % overload above its rated power
  turbo        tau_turbo db/dt = min(q w / wg, 1) - b   turbo speed follows
               the exhaust energy, i.e. the fuel burnt per second (1-5 s turbo
               lag, standards.md), until the wastegate holds the boost at its
               set point from wg = 70 % of the rated exhaust energy upwards
               (a genset turbo is matched to reach its boost below rated so
               the torque holds as the speed sags); p_up = p_amb + boost_pu b.
               p_amb is ambient over the rated MAP: a natural-gas engine
               breathing ambient air makes ~6.5 bar BMEP (gas displaces ~10 %
               of the air, Heywood sec. 7.2), this one is rated at 10.1 bar,
               so its rated MAP is ~1.55 bar and p_amb = 0.65; boost_pu 0.51
               sets the wastegate at 1.16, the throttle's control reserve
  ignition cut a share c of firings skipped (controller output) after the
               combustion dead time: torque from the charge is q (1 - c)
  torque       T_m = k_torque q (1 - c) - friction w     indicated torque per
               cycle less friction and pumping rising with speed (Willans
               line: no-load fuel ~20 % of full-load, GGOV1 Wfnl 0.2, so
               friction 0.25 at rated for k_torque 1.25)
  starting     starter torque T_st (1 - w / w_st) while cranking (a 24 V
               starter turns a 14 L engine at ~150-200 rpm); combustion needs
               ignition, gas and w > 5 % (firing speed); compression and
               breakaway losses below 25 % speed
  swing        2H dw/dt = T_m - P_e / w - D (w - 1) standards.md; H from
               J = 6 kg m^2 (engine flywheel ~3-4 + alternator rotor ~2 for a
               250 kVA 4-pole set): H = J w^2 / (2 P) = 0.53 s at 60 Hz

What it gives (tests/test_engine_large_signal.py holds these): at rated
speed with the throttle wide open it carries 110 % (the wastegate-free
boost limit and natural gas's knock cap meet there), so a 120 % step stalls
whatever the governor does; with no boost yet (a 0 -> 100 % block load)
it makes ~63 % at once, and the rest comes as the turbo spools.

LEAN_BURN below is the other kind of gas set: high BMEP (~17 bar), so most of
its charge is boost (p_amb 0.35) from a larger, slower turbo; it takes far
smaller load steps (standards.md: 10-30 % per step).
"""

import math

from .params import Param, defaults

_cos = math.cos
_sqrt = math.sqrt

# Typical values for a 200 kW spark-ignited rich-burn gas set; every one may
# be overridden from a scenario's [plant] table (names below), inside the
# limits beside it (the last field says why the range is what it is).
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
    # runner transport and sensing delay ahead of the combustion dead time
    "t_transport_s": Param(0.01, 0.0, 0.5, "s",
                           "0: throttle at the ports; 0.5 s: the longest mixer-to-port "
                           "transport of standards.md"),
    # the combustion dead time 60/(2N) + 60/(N z) divides by z
    "cylinders": Param(6, 1, 20, "cylinders",
                       "1 to a V20, the largest common gas engines"),
    # manifold filling at rated speed: V_man / (V_d N / 120) = 12 L / (14 L * 15/s)
    "tau_manifold_s": Param(0.06, 0.005, 1.0, "s",
                            "manifold volume 1-15x the displacement per second "
                            "of intake strokes"),
    # turbo lag (1-5 s)
    "tau_turbo_s": Param(1.5, 0.1, 10.0, "s",
                         "standards.md's 1-5 s turbo lag (a 14 L engine's turbo sits "
                         "low in it), down to 0.1 s for an electrically assisted one"),
    # ambient over the rated manifold pressure (6.5 of 10.1 bar BMEP)
    "p_amb_pu": Param(0.65, 0.2, 1.2, "pu",
                      "0.2: a very highly boosted engine; 1.2: naturally aspirated "
                      "with a 20 % reserve"),
    # boost at the wastegate set point (b = 1): p_up = 1.16
    "boost_pu": Param(0.51, 0.0, 2.0, "pu",
                      "0: no turbo; 2: a highly boosted engine"),
    # exhaust energy (pu of rated) at which the boost reaches the wastegate
    "wastegate_pu": Param(0.7, 0.3, 1.5, "pu",
                          "0.3: a turbo matched far below rated; 1.5: one that never "
                          "reaches its set point at rated"),
    # the throttle wide open passes the rated flow at this pressure ratio
    "wot_ratio": Param(0.95, 0.7, 0.99, "pu",
                       "a throttle sized for a 1-30 % drop at full flow"),
    # the throttle body's flow coefficient against the nominal one: what a
    # commissioned fuel map (actuator % per kW) is wrong by when the throttle,
    # its linkage or the mixer's pressure drop differ from the reference set
    "throttle_gain_pu": Param(1.0, 0.7, 1.3, "pu",
                              "+-30 %: a throttle bore one size off, or a map from "
                              "another engine of the family"),
    # volumetric efficiency droop away from the tuned speed
    "ev_droop_pu": Param(0.1, 0.0, 0.5, "pu",
                         "0: flat; 0.5: an intake tuned sharply for one speed"),
    # indicated torque per pu charge (1.25: rated charge makes 1 pu net)
    "k_torque_pu": Param(1.25, 0.5, 5.0, "pu",
                         "1 / (1 - no-load share) for no-load fuel 0-50 % is 1-2; "
                         "the knock cap divides by it"),
    # friction and pumping torque at rated speed (Willans line: no-load fuel 20 %)
    "friction_pu": Param(0.25, 0.0, 1.0, "pu",
                         "0: frictionless; 1: an engine that burns half its rated fuel "
                         "in losses at k_torque 2"),
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
    # the mixer's lambda trim: time constant and authority
    "afr_tau_s": Param(3.0, 0.2, 60.0, "s",
                       "0.2 s: about the oxygen sensor's own response; 60 s: a "
                       "slow trim (AFR controllers settle in seconds)"),
    "afr_authority_pu": Param(0.3, 0.0, 0.6, "pu",
                              "0: a fixed venturi; 0.6: a gas valve that can deliver "
                              "1.6x the commissioned gas volume"),
}
ENGINE_DEFAULTS = defaults(ENGINE_PARAMS)
RULES = ()   # no cross-parameter rules: every range above is safe alone

# A lean-burn, high-BMEP gas set of the same rating (a [plant] parameter
# set; the iso-steps-leanburn scenario carries the same values, a test
# checks it): ~17 bar BMEP, so ambient is ~0.35 of its rated MAP (the turbo
# makes the rest, up to the same 1.16 wastegate set point), a larger turbo
# for the higher pressure ratio, slower (3 s, inside standards.md's 1-5 s)
# and matched closer to rated (wastegate from 90 %), and a larger manifold
# and charge-air cooler volume (0.1 s).  Everything else is the rich-burn engine's.
LEAN_BURN = {"p_amb_pu": 0.35, "boost_pu": 0.81, "tau_turbo_s": 3.0,
             "tau_manifold_s": 0.10, "wastegate_pu": 0.9}


def _area(a):
    """Butterfly throttle: open area (pu of the bore) at position a (pu of 90 deg)."""
    if a <= 0.0:
        return 0.0
    if a >= 1.0:
        return 1.0
    return 1.0 - math.cos(a * 1.5707963267948966)


def _psi(r):
    """G&O eq. 2.10's flow function, simplified: choked below 1/2."""
    if r <= 0.5:
        return 0.7071067811865476
    if r >= 1.0:
        return 0.0
    return math.sqrt(2.0 * r * (1.0 - r))


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
#   valve_gain   the fuel's energy per pu charge through its gas train and
#                mixer (relative to natural gas's 1.20: the charge carries
#                less energy on the others)
#   cap_pu       largest fuel energy that burns without knock / lean limits
#                (derate), 10 % overload above the fuel's rated power
#   t_comb_scale flame speed relative to natural gas (hydrogen faster,
#                biogas slower) scaling the combustion dead time
#   tau_man_scale  biogas moves ~2x the volume per kW: slower filling
#   gas_air      stoichiometric gas-to-air volume ratio of the commissioned gas
#                (Heywood table D.4: methane 1 : 9.52, propane 1 : 23.8,
#                hydrogen 1 : 2.38; biogas at 60 % CH4: (1 / 0.6) / 9.52)
FUEL_PLANT = {
    "natural_gas": {"valve_gain": 1.20, "derate": 1.00, "t_comb_scale": 1.0, "tau_man_scale": 1.0,
                    "gas_air": 0.105},
    "propane": {"valve_gain": 1.18, "derate": 0.85, "t_comb_scale": 1.0, "tau_man_scale": 1.0,
                "gas_air": 0.042},
    "hydrogen": {"valve_gain": 1.15, "derate": 0.70, "t_comb_scale": 0.6, "tau_man_scale": 1.0,
                 "gas_air": 0.42},
    "biogas": {"valve_gain": 1.12, "derate": 0.90, "t_comb_scale": 1.4, "tau_man_scale": 1.5,
               "gas_air": 0.175},
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
        # The fuel's energy per pu charge, relative to natural gas.
        self.valve_gain = fp["valve_gain"] / FUEL_PLANT["natural_gas"]["valve_gain"]
        self.lhv_factor = 1.0   # gas heating value / the commissioned gas's (sim sets it)
        self.trim = 1.0         # the mixer's lambda trim (gas volume / commissioned)
        self.gas_air = fp["gas_air"]
        self.a_afr = dt_s / params["afr_tau_s"]
        self.afr_auth = params["afr_authority_pu"]
        k = params["k_torque_pu"]
        self.k_torque = k
        self.friction = params["friction_pu"]
        # Knock / lean cap on the charge: 10 % overload above derated power.
        self.q_cap = (1.1 * fp["derate"] + self.friction) / k
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
        self.p_amb = params["p_amb_pu"]
        self.boost_pu = params["boost_pu"]
        self.wg = params["wastegate_pu"]
        self.ev_droop = params["ev_droop_pu"]
        # Throttle gain: wide open, it passes the rated flow (p_m = 1, w = 1)
        # with p_m / p_up = wot_ratio: g * 1 * (1 / r) * Psi(r) = 1.
        r = params["wot_ratio"]
        self.g_thr = r / _psi(r) * params["throttle_gain_pu"]
        self.damping = params["damping_pu"]
        # States
        self.act = 0.0      # throttle position pu
        self.p_man = self.p_amb   # manifold pressure pu of rated MAP
        self.x_mix = 0.0    # fuel share of the manifold charge (1: stoichiometric)
        self.q = 0.0        # charge per cycle burnt (after cap), pu energy
        self.e_b = 0.0      # fuel energy burnt per second pu (q w)
        self.boost = 0.0    # turbo state pu (1 at the wastegate set point)
        self.w = 1.0        # speed pu
        self.t_mech = 0.0
        self.angle_rev = 0.0  # crank angle in revolutions (for the speed pickup)
        self.stuck = False
        self.fail_to_stop = False   # fault: shut-off valve and ignition stuck on
        self.no_fire = False        # fault: ignition dead, the engine cannot start
        self.t_st = params["starter_torque_pu"]
        self.w_st = params["starter_speed_pu"]
        self.t_low = params["low_speed_loss_pu"]
        # step()'s _e_f, kept while lhv_factor and trim are what it was
        # computed at (NaN: never computed)
        self._ef_lhv = self._ef_trim = float("nan")
        self._ef_val = 0.0
        self.pack_constants()

    def pack_constants(self):
        """step() reads the engine's constants from one tuple, packed here
        at construction: whoever changes one of them later (a_act, p_amb,
        boost_pu, g_thr, ev_droop, a_man, a_afr, afr_auth, q_cap, wg,
        a_turbo, k_torque, friction, t_low, w_st, t_st, damping, dt, h_s,
        rated_rpm) calls this again."""
        self._k = (self.a_act, self.p_amb, self.boost_pu, self.g_thr, self.ev_droop, self.a_man,
                   self.a_afr, 1.0 - self.afr_auth, 1.0 + self.afr_auth, self.q_cap, self.wg,
                   self.a_turbo, self.k_torque, self.friction, self.t_low, self.w_st, self.t_st,
                   self.damping, self.dt, 2.0 * self.h_s, self.rated_rpm)

    # -- steady states ------------------------------------------------------
    def eta_v(self, w):
        d = 1.0 - w
        return 1.0 - self.ev_droop * d * d

    def _dilution(self, trim):
        """Share of the charge that is air, against the commissioned mixture's,
        with trim x the commissioned gas volume: (1 + g) / (1 + g trim).
        Stoichiometric (trim = 1 / lhv) it is (1 + g) / (1 + g / lhv)."""
        g = self.gas_air
        return (1.0 + g) / (1.0 + g * trim)

    def _trim_steady(self):
        """The lambda trim this gas settles to (stoichiometric, or its authority)."""
        t = 1.0 / self.lhv_factor
        lo, hi = 1.0 - self.afr_auth, 1.0 + self.afr_auth
        return lo if t < lo else hi if t > hi else t

    def _e_f(self, trim):
        """Energy per pu charge at lambda trim `trim`, relative to natural gas."""
        x = self.lhv_factor * trim
        return self.valve_gain * (x if x < 1.0 else 1.0) * self._dilution(trim)

    def p_up(self):
        """Pressure ahead of the throttle (boost), pu of rated MAP."""
        return self.p_amb + self.boost_pu * self.boost

    def act_for_load(self, p_elec_pu, w=1.0):
        """The throttle that holds electrical load p_elec_pu steady at speed
        w with the gas on (inverts the steady state of the equations)."""
        e_f = self.valve_gain * self.lhv_factor
        q = (p_elec_pu / w + self.friction * w + self.damping * (w - 1.0)) / self.k_torque
        ev = self.eta_v(w)
        p_m = q / (ev * e_f)
        b = min(q * w / self.wg, 1.0)
        p_up = self.p_amb + self.boost_pu * b
        flow = ev * p_m * w
        if p_m >= p_up * 0.999:
            return 1.0                  # more than its boost can hold: wide open
        area = flow / (self.g_thr * p_up * _psi(p_m / p_up))
        if area <= 0.0:
            return 0.0
        return math.acos(1.0 - area) / 1.5707963267948966 if area < 1.0 else 1.0

    def _steady(self, act, w):
        """(p_m, b, q) the throttle act settles to at speed w (fixed point)."""
        e_f = self._e_f(self._trim_steady())
        ev = self.eta_v(w)
        b = 0.0
        p_m = self.p_amb
        for _ in range(200):
            p_up = self.p_amb + self.boost_pu * b
            # throttle flow = cylinder flow: bisect on the pressure ratio
            lo, hi = 0.0, 1.0
            for _ in range(60):
                r = 0.5 * (lo + hi)
                if self.g_thr * _area(act) * p_up * _psi(r) > ev * r * p_up * w:
                    lo = r
                else:
                    hi = r
            p_m = lo * p_up
            q = min(ev * p_m * e_f, self.q_cap)
            b = min(q * w / self.wg, 1.0)
        return p_m, b, q

    def settle(self, act, w=1.0):
        """Start in the steady state for throttle position `act` at speed w,
        gas on (w > 0) or an engine at rest with air at ambient (w = 0)."""
        self.act = act
        self.w = w
        if w <= 0.0:
            self.p_man, self.boost, self.q, self.x_mix = self.p_amb, 0.0, 0.0, 0.0
            self._delay = [0.0] * len(self._delay)
            self.e_b = 0.0
            self.t_mech = 0.0
            return
        self.trim = self._trim_steady()
        p_m, b, q = self._steady(act, w)
        self.p_man, self.boost, self.q, self.x_mix = p_m, b, q, 1.0
        self._delay = [q] * len(self._delay)
        self.e_b = q * w
        self.t_mech = self.k_torque * q - self.friction * w

    # -- one plant step -------------------------------------------------------
    def step(self, cmd_pu, p_elec_pu, cut_cmd=0.0, crank=False, gas_on=True, ign_on=True,
             fuel_avail=1.0):
        """Advance dt with throttle command cmd_pu (0..1), ignition cut share
        cut_cmd (0..1) and electrical load p_elec_pu (on the NG rating); crank,
        gas_on and ign_on are the starter, shut-off valve and ignition relays;
        fuel_avail the share of gas the supply can deliver.  Returns speed pu."""
        # (The helpers _area, _psi, eta_v and _e_f are written out here,
        # the same arithmetic in the same order, and the constants come
        # from one tuple: this runs 1000 times a simulated second per set.)
        (a_act, p_amb, boost_pu, g_thr, ev_droop, a_man, a_afr, trim_lo, trim_hi, q_cap, wg,
         a_turbo, k_torque, friction, t_low, w_st, t_st, damping, dt, h2, rated_rpm) = self._k
        if self.fail_to_stop:
            gas_on = ign_on = True
            if cmd_pu < 0.30:
                cmd_pu = 0.30       # throttle idle stop (about the no-load opening) with the valves stuck open
        if self.no_fire:
            ign_on = False
        if not ign_on:
            cut_cmd = 1.0
        cd = self._cut_delay
        ci = self._ci
        cut = cd[ci]
        self.cut = cut
        cd[ci] = cut_cmd
        ci += 1
        self._ci = 0 if ci == len(cd) else ci
        act = self.act
        if not self.stuck:
            act += (cmd_pu - act) * a_act
            self.act = act
        w = self.w
        ws = w if w > 0.0 else 0.0
        # Throttle and manifold (flows pu of the rated cylinder flow).
        boost = self.boost
        p_up = p_amb + boost_pu * boost
        p_m = self.p_man
        # _area(act)
        if act <= 0.0:
            a = 0.0
        elif act >= 1.0:
            a = 1.0
        else:
            a = 1.0 - _cos(act * 1.5707963267948966)
        # _psi of the pressure ratio
        fwd = p_m <= p_up
        r = p_m / p_up if fwd else p_up / p_m
        if r <= 0.5:
            psi = 0.7071067811865476
        elif r >= 1.0:
            psi = 0.0
        else:
            psi = _sqrt(2.0 * r * (1.0 - r))
        m_thr = g_thr * a * p_up * psi if fwd else -g_thr * a * p_m * psi
        # eta_v(ws)
        dv = 1.0 - ws
        ev = 1.0 - ev_droop * dv * dv
        m_cyl = ev * p_m * ws
        p_new = p_m + (m_thr - m_cyl) * a_man
        if p_new < 0.0:
            p_new = 0.0
        self.p_man = p_new
        # Mixture: what the mixer adds, carried through the manifold.
        x_in = fuel_avail if gas_on else 0.0
        x_mix = self.x_mix
        x_mix += (x_in - x_mix) * a_man * (ws if ws > 0.05 else 0.05)
        self.x_mix = x_mix
        if ws > 0.05:
            # Lambda trim: integrates the exhaust oxygen error while the set burns gas.
            lhv = self.lhv_factor
            trim = self.trim
            if gas_on:
                trim = trim + (1.0 - lhv * trim) * a_afr
                trim = trim_lo if trim < trim_lo else trim_hi if trim > trim_hi else trim
                self.trim = trim
            # Charge per cycle, through the runners and the combustion dead time.
            if lhv == self._ef_lhv and trim == self._ef_trim:
                e_f = self._ef_val
            else:
                e_f = self._e_f(trim)
                self._ef_lhv = lhv
                self._ef_trim = trim
                self._ef_val = e_f
            q = ev * p_m * x_mix * e_f
            if q > q_cap:
                q = q_cap
        else:
            q = 0.0
        d = self._delay
        i = self._di
        q_b = d[i]
        d[i] = q
        i += 1
        self._di = 0 if i == len(d) else i
        self.q = q_b
        e_b = q_b * ws
        self.e_b = e_b
        drive = e_b / wg
        self.boost = boost + ((drive if drive < 1.0 else 1.0) - boost) * a_turbo
        t_m = k_torque * q_b * (1.0 - cut) - friction * ws
        if w < 0.25:
            t_m -= t_low * (1.0 - w / 0.25)
        if crank and w < w_st:
            t_m += t_st * (1.0 - w / w_st)
        self.t_mech = t_m
        t_e = p_elec_pu / w if w > 0.05 else p_elec_pu / 0.05
        dw = (t_m - t_e - damping * (w - 1.0)) * dt / h2
        if w <= 0.0 and dw < 0.0:
            dw = 0.0            # losses hold a stopped engine, they do not reverse it
        w += dw
        if w < 0.0:
            w = 0.0
        self.w = w
        self.angle_rev += w * rated_rpm / 60.0 * dt
        return w
