"""Engine auxiliaries the protections watch: lube oil pressure, coolant
temperature, gas supply pressure, starter battery.  Simple first-order and
algebraic models with class-typical numbers (data-sheet class of 200 kW gas
sets; NFPA 110 block heaters keep a standby engine warm), each with the fault
that makes its protection act.

  oil pressure   p = p_rated * w^0.8, relief-capped; pump fault scales it down
  coolant        tau dT/dt = T_target - T;  running: thermostat at 82 degC + 6
                 per pu load; stopped: block heater at 45 degC; cooling
                 failure: 130 degC target with a 90 s time constant
  gas supply     p = p_supply - k_droop * flow^2 (regulator droop); a supply
                 loss ramps p_supply down; below the regulator's minimum inlet
                 the delivered energy falls with sqrt(p / p_min)
  battery        24 V lead-acid: 25.4 V resting, 27.6 V charging while
                 running, ~20.5 V while cranking; a weak battery sags further
"""

from .params import Param, defaults

AUX_PARAMS = {
    "oil_rated_kpa": Param(420.0, 100.0, 1000.0, "kPa",
                           "lube oil at rated speed: 200-600 kPa on gas engines"),
    "oil_relief_kpa": Param(480.0, 100.0, 1000.0, "kPa",
                            "relief valve setting, same class as the rated pressure"),
    "coolant_start_degc": Param(60.0, -40.0, 100.0, "degC",
                                "a cold start at -40 degC to a hot restart"),
    "coolant_tau_s": Param(120.0, 10.0, 3600.0, "s",
                           "warm-up time constant of a 14 L block and its coolant"),
    "gas_supply_mbar": Param(35.0, 5.0, 500.0, "mbar",
                             "low-pressure gas services 17-50 mbar up to "
                             "500 mbar medium pressure"),
    "gas_droop_mbar": Param(4.0, 0.0, 50.0, "mbar",
                            "regulator droop at full flow"),
    "gas_min_inlet_mbar": Param(15.0, 1.0, 200.0, "mbar",
                                "regulator minimum inlet; the supply model divides by it"),
    "batt_rest_v": Param(25.4, 10.0, 30.0, "V", "12 V and 24 V lead-acid systems"),
    "batt_charge_v": Param(27.6, 10.0, 32.0, "V", "12 V and 24 V lead-acid systems"),
    "batt_crank_v": Param(20.5, 5.0, 30.0, "V", "12 V and 24 V systems while cranking"),
}
AUX_DEFAULTS = defaults(AUX_PARAMS)
RULES = ()


class Aux:
    def __init__(self, params, dt_s):
        self.p = dict(params)
        self.dt = dt_s
        self.oil_factor = 1.0          # pump health (fault: < 1)
        self.cooling_failed = False
        self.coolant_degc = params["coolant_start_degc"]
        self.gas_supply_mbar = params["gas_supply_mbar"]
        self.gas_mbar = self.gas_supply_mbar
        self.batt_offset_v = 0.0
        self.oil_kpa = 0.0
        self.batt_v = params["batt_rest_v"]
        # step()'s constants, from the table as it stands at construction
        self._k = tuple(self.p[k] for k in ("oil_rated_kpa", "oil_relief_kpa", "coolant_tau_s",
                                            "gas_droop_mbar", "batt_crank_v", "batt_charge_v",
                                            "batt_rest_v"))

    def step(self, w, running, load_pu, fuel_flow_pu, cranking):
        # (min / max written out as the builtins decide: min(a, b) is b only
        # if b < a, max(a, b) b only if b > a.)
        oil_rated, relief, coolant_tau, droop, crank_v, charge_v, rest_v = self._k
        dt = self.dt
        oil = oil_rated * (w ** 0.8 if w > 0 else 0.0) * self.oil_factor
        self.oil_kpa = relief if relief < oil else oil
        if self.cooling_failed and running:
            target, tau = 130.0, 90.0
        elif running:
            target, tau = 82.0 + 6.0 * (load_pu if load_pu > 0.0 else 0.0), coolant_tau
        else:
            target, tau = 45.0, 600.0
        c = self.coolant_degc
        self.coolant_degc = c + (target - c) * dt / tau
        f = fuel_flow_pu if fuel_flow_pu > 0.0 else 0.0
        g = self.gas_supply_mbar - droop * f * f
        self.gas_mbar = g if g > 0.0 else 0.0
        if cranking:
            v = crank_v
        elif running:
            v = charge_v
        else:
            v = rest_v
        self.batt_v = v + self.batt_offset_v

    def fuel_available(self):
        """Share of the demanded gas energy the supply can deliver."""
        pmin = self.p["gas_min_inlet_mbar"]
        if self.gas_mbar >= pmin:
            return 1.0
        return (self.gas_mbar / pmin) ** 0.5 if self.gas_mbar > 0 else 0.0
