"""Sensor front end: turns plant truth into the firmware's HAL input vector
with the quantisation, noise and latency of the real inputs.

  speed pickup   ring-gear edges (118 teeth, SENSOR_PARAMS) timestamped to 1 us by a capture
                 timer, +-1 us (1 sigma) jitter from the MPU signal conditioner
  gen frequency  zero-crossing detector on the voltage: period of the last
                 full cycle, 100 ns timer resolution, 5 us (1 sigma) jitter
                 from harmonics and the comparator
  voltage        true-RMS over the last cycle (modelled as a one-cycle lag),
                 0.1 V resolution, 0.1 % noise
  kW / kvar / A  metering IC (ATM90E32 / ADE7880 class): one-cycle update,
                 0.1 kW resolution, 0.2 % of rating noise
  engine senders 4-20 mA oil pressure (1 kPa), NTC coolant (0.1 degC), gas
                 pressure transmitter (1 mbar), battery divider (10 mV)
  MAP            the engine's TMAP sensor after the throttle (piezoresistive,
                 Bosch 0 261 230 class, 20-400 kPa): a 2 ms first-order
                 response (the sensor's port and its filter), 0.1 kPa
                 resolution, 0.3 kPa (1 sigma) noise; the plant's manifold
                 pressure is per unit of its rated MAP, the ambient 101.3 kPa
                 over p_amb_pu
Sensor faults (scenario "fault" events) act here: speed-pickup loss,
metering loss (the metering IC stops answering: zeros and DI_METER_OK
clear), drifting senders (an offset that ramps), and bus excursions (the
sensed voltage and frequency moved, as a stiff bus would move them, until the
grid model of the paralleling work drives them for real).
All randomness comes from seeded generators, so runs repeat exactly: one
for every input that existed before the MAP sensor, and one of its own for
the MAP (adding it left every other input's noise as it was).
"""

import math
import random

from .params import Param, defaults

SENSOR_PARAMS = {
    # Teeth of the flywheel's starter ring gear, which the magnetic pickup
    # reads: 118 on the GX230's engine (README, "Host simulator"; the firmware's mpu_teeth default is
    # the value it should be commissioned with; if it is not, the firmware
    # mis-measures the speed, as a real controller would).
    "mpu_teeth": Param(118, 60, 250, "teeth",
                       "starter ring gears of 5-20 L engines carry roughly "
                       "100-200 teeth"),
}
SENSOR_DEFAULTS = defaults(SENSOR_PARAMS)
RULES = ()

_TWOPI = 2.0 * math.pi      # random.py's TWOPI
_sqrt, _log, _cos, _sin = math.sqrt, math.log, math.cos, math.sin


def gauss_draws(rng, sigmas):
    """[rng.gauss(0.0, s) for s in sigmas] in one call: the same numbers,
    drawn as random.Random.gauss draws them (Box-Muller pairs, the second
    of a pair kept in rng.gauss_next for the next draw, whoever makes it),
    and rng left as those calls leave it.  A set's sensors draw a dozen at
    every tick.  tests/test_fleet_untraced.py holds this to Random.gauss,
    draw for draw."""
    rnd = rng.random
    nxt = rng.gauss_next
    out = []
    for s in sigmas:
        if nxt is None:
            x2pi = rnd() * _TWOPI
            g2rad = _sqrt(-2.0 * _log(1.0 - rnd()))
            z = _cos(x2pi) * g2rad
            nxt = _sin(x2pi) * g2rad
        else:
            z = nxt
            nxt = None
        out.append(0.0 + z * s)
    rng.gauss_next = nxt
    return out


class Sensors:
    def __init__(self, seed, mpu_teeth, f_nom_hz, poles, v_rated, p_rated_kw,
                 dt_s, tick_s):
        """mpu_teeth, poles, v_rated (V) and p_rated_kw (the metering noise's
        full scale) are the plant's (SENSOR_PARAMS, alternator, engine power
        base), never the firmware's settings."""
        self.rng = random.Random(seed)
        self.teeth = mpu_teeth
        self.poles = poles
        self.v_rated = v_rated
        self.p_rated_kw = p_rated_kw
        self.dt = dt_s
        self.tick_s = tick_s
        self.mpu_jitter_us = 1.0
        self.zc_jitter_us = 5.0
        self.v_noise = 0.001
        self.p_noise = 0.002
        cyc = 1.0 / f_nom_hz
        self.a_v = dt_s / (cyc / 2.0)
        self.a_p = dt_s / (cyc / 2.0)
        # Tooth edges within the current tick window
        self._edges = 0
        self._first_us = 0.0
        self._last_us = 0.0
        self._tooth = 0.0
        # Zero crossings of the generator voltage
        self._cycle = 0.0
        self._last_zc_s = None
        self.period_100ns = 0
        self.v_filt = 0.0
        self.p_filt = 0.0
        self.q_filt = 0.0
        # Fault injection (scenario fault events)
        self.mpu_ok = True
        self.meter_ok = True
        self.oil_offset_kpa = 0.0
        self.coolant_offset_degc = 0.0
        # MAP sensor
        self.rng_map = random.Random(seed * 7919 + 17)
        self.a_map = dt_s / 0.002
        self.map_filt_kpa = 101.3
        self.map_noise_kpa = 0.3
        self.map_ok = True        # fault "map_sensor_fail": the signal wire open

    def sample_step(self, t_s, w_pu, rated_rpm, v_pu, p_kw, q_kvar, f_hz, cycles=None,
                    map_kpa=None):
        """Called every plant step after the plant moved to time t_s.
        cycles: the generator terminal voltage's phase in cycles (unwrapped),
        when the network gives it (a grid phase jump then shows as a vector
        shift); otherwise the phase integrates f_hz.  map_kpa: the manifold
        pressure, map_step's in the same call (None: map_step is called
        apart)."""
        dt = self.dt
        floor = math.floor
        # Speed pickup: count the teeth that passed during this step and
        # interpolate each edge's time inside the step.
        rate = w_pu * rated_rpm / 60.0 * self.teeth  # teeth per second
        t0 = t_s - dt
        tooth = self._tooth
        new_tooth = tooth + rate * dt
        k0 = floor(tooth)
        k1 = floor(new_tooth)
        if k1 > k0 and rate > 0 and self.mpu_ok:
            first_k = k0 + 1
            t_first = t0 + (first_k - tooth) / rate
            t_last = t0 + (k1 - tooth) / rate
            if self._edges == 0:
                self._first_us = t_first * 1e6
            self._last_us = t_last * 1e6
            self._edges += k1 - k0
        self._tooth = new_tooth
        # Generator voltage zero crossings (positive-going), only if excited.
        cyc = self._cycle
        new_cycle = cyc + f_hz * dt if cycles is None else cycles
        step = new_cycle - cyc
        if v_pu > 0.05:
            fn = floor(new_cycle)
            if fn > floor(cyc) and step > 0:
                t_zc = t0 + (fn - cyc) / step * dt
                t_zc += self.rng.gauss(0.0, self.zc_jitter_us) * 1e-6
                if self._last_zc_s is not None:
                    self.period_100ns = int(round((t_zc - self._last_zc_s) * 1e7))
                self._last_zc_s = t_zc
        elif v_pu <= 0.05:
            self.period_100ns = 0
            self._last_zc_s = None
        self._cycle = new_cycle
        a_v = self.a_v
        a_p = self.a_p
        x = self.v_filt
        self.v_filt = x + (v_pu - x) * a_v
        x = self.p_filt
        self.p_filt = x + (p_kw - x) * a_p
        x = self.q_filt
        self.q_filt = x + (q_kvar - x) * a_p
        if map_kpa is not None:
            self.map_filt_kpa += (map_kpa - self.map_filt_kpa) * self.a_map

    def map_step(self, map_kpa):
        """Every plant step: the manifold's absolute pressure, kPa."""
        self.map_filt_kpa += (map_kpa - self.map_filt_kpa) * self.a_map

    def map_input(self, vec):
        """The MAP input at a tick (a failed sensor's open signal wire reads 0)."""
        if not self.map_ok:
            vec[20] = 0
            return
        v = self.map_filt_kpa + self.rng_map.gauss(0.0, self.map_noise_kpa)
        x = round(v * 10.0)
        vec[20] = x if x > 0 else 0

    def inputs(self, t_s, vec, eng_aux, currents, di):
        """Fill the HAL input vector (a list of N_IN ints) at a tick.
        eng_aux: the Aux model; currents: (ia, ib, ic) A; di: DI bits."""
        # (round() of a float is an int already; max(0, x) is x only if
        # x > 0: the builtins' results, without the calls.  The noise: one
        # gauss_draws for the tick's draws, in the order they were drawn
        # one by one.)
        vec[0] = round(t_s * 1000.0)
        edges = self._edges
        pn = self.p_noise * self.p_rated_kw
        ni = self.p_noise * 300.0
        if edges >= 2:
            j = self.mpu_jitter_us
            (g_last, g_first, g_v, g_p, g_q, g_i0, g_i1, g_i2, g_oil, g_cool, g_gas,
             g_batt) = gauss_draws(self.rng, (j, j, self.v_noise, pn, pn, ni, ni, ni,
                                              1.0, 1.0, 0.2, 2.0))
            span = round(self._last_us + g_last) - round(self._first_us + g_first)
            vec[1] = edges
            vec[2] = 1 if 1 > span else span
        else:
            (g_v, g_p, g_q, g_i0, g_i1, g_i2, g_oil, g_cool, g_gas,
             g_batt) = gauss_draws(self.rng, (self.v_noise, pn, pn, ni, ni, ni,
                                              1.0, 1.0, 0.2, 2.0))
            vec[1] = edges
            vec[2] = 0
        self._edges = 0
        vec[3] = self.period_100ns
        v = self.v_filt * (1.0 + g_v)
        vec[4] = round(v * self.v_rated * 10.0)
        vec[5] = round((self.p_filt + g_p) * 10.0)
        vec[6] = round((self.q_filt + g_q) * 10.0)
        x = round((currents[0] + g_i0) * 10.0)
        vec[7] = x if x > 0 else 0
        x = round((currents[1] + g_i1) * 10.0)
        vec[8] = x if x > 0 else 0
        x = round((currents[2] + g_i2) * 10.0)
        vec[9] = x if x > 0 else 0
        if not self.meter_ok:
            for k in (4, 5, 6, 7, 8, 9):
                vec[k] = 0
        else:
            di |= 64    # hal.DI_METER_OK
        x = round(eng_aux.oil_kpa + self.oil_offset_kpa + g_oil)
        vec[10] = x if x > 0 else 0
        vec[11] = round((eng_aux.coolant_degc + self.coolant_offset_degc) * 10.0 + g_cool)
        x = round(eng_aux.gas_mbar + g_gas)
        vec[12] = x if x > 0 else 0
        vec[13] = round(eng_aux.batt_v * 100.0 + g_batt) * 10
        vec[14] = di

    def mains_inputs(self, vec, grid, v_rated, gen_cycles, p_grid_kw, q_grid_kvar,
                     mains_v_pu, mains_angle_rad):
        """Mains-side sensing (grid side of the mains breaker) and the PCC
        meter: period, voltage, the generator-minus-mains zero-crossing
        offset (from the two phases, jittered like the crossings), import.
        mains_v_pu / mains_angle_rad: the voltage at the mains breaker's grid
        terminals - the source itself while it is open, the PCC bus (behind
        the grid impedance, which the site current drops across) while it
        is closed."""
        f_hz = grid.f_hz
        pn = self.p_noise * self.p_rated_kw
        if grid.alive and grid.v_pu > 0.05 and f_hz > 0:
            zj = self.zc_jitter_us
            offset = self.v_filt > 0.05
            if offset:
                g_per, g_v, g_off, g_p, g_q = gauss_draws(self.rng, (zj, self.v_noise, zj, pn, pn))
            else:
                g_per, g_v, g_p, g_q = gauss_draws(self.rng, (zj, self.v_noise, pn, pn))
            per = 1.0 / f_hz
            vec[15] = round((per + g_per * 1e-6) * 1e7)
            vec[16] = round(mains_v_pu * (1.0 + g_v) * v_rated * 10.0)
            if offset:
                # The offset is timed at the last generator zero crossing,
                # so it is up to a cycle old: the mains phase then, not now.
                frac = gen_cycles - math.floor(gen_cycles)
                gper = self.period_100ns * 1e-7 if self.period_100ns > 0 else per
                age_s = frac * gper
                d = math.remainder(gen_cycles - frac - mains_angle_rad / (2.0 * math.pi)
                                   + f_hz * age_s, 1.0)
                dt_s = d * per + g_off * 1e-6
                vec[17] = round(dt_s * 1e7)
            else:
                vec[17] = 0
        else:
            vec[15] = vec[16] = vec[17] = 0
            g_p, g_q = gauss_draws(self.rng, (pn, pn))
        vec[18] = round((p_grid_kw + g_p) * 10.0)
        vec[19] = round((q_grid_kvar + g_q) * 10.0)
