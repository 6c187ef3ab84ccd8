"""Analog engine senders on the board's ADC: each one scaled to its HAL input
(firmware/hal.py: IN_OIL_KPA kPa, IN_COOLANT_DC 0.1 degC, IN_GAS_MBAR mbar,
IN_BATT_MV mV, IN_MAP_KPA_X10 0.1 kPa), with open- and short-circuit
detection, a debounce on both, an optional noise filter, and the value a
failed sender holds.

Where they are wired and what each one is comes from board.py:
  ADC_REF_MV           the ADC's full scale (read_u16() 65535), mV
  ADC_ATTN             esp32: the ADC attribute name of the attenuation
                       ("ATTN_11DB" for 0-3.3 V); absent on rp2 (no such option)
  SENDER_MUX           ((name, mux channel, spec, filter shift), ...): senders
                       behind an 8:1 analog multiplexer (74HC4051) on
                       SENDER_MUX_ADC_PIN, its select inputs S0, S1[, S2] on
                       SENDER_MUX_SEL_PINS (an unused select input is tied low
                       on the interface board)
  SENDER_DIRECT        ((name, ADC pin, spec, filter shift), ...): senders on
                       an ADC pin of their own, read every tick
  SENDER_FAULT_SAMPLES optional: the debounce below, in samples

Names and what a failed sender reports (ROLES):
  "oil"      IN_OIL_KPA: 0 kPa, so an armed low-oil-pressure protection
             trips on a sender that can no longer see the pressure; sets
             DI_SENDER_FAULT.
  "coolant"  IN_COOLANT_DC: the last good value.  An open NTC reads as a
             very cold engine and would silence the over-temperature
             protection, and a made-up "hot" value would trip a hard
             shutdown without the cool-down run; so the value is held and
             DI_SENDER_FAULT set, whose protection stops the set with its
             cool-down and blocks a start until the sender is mended.
  "gas"      IN_GAS_MBAR: the last good value and DI_SENDER_FAULT.  The gas
             train has both a low and a high pressure protection: 0 would
             trip the low one and blind the high one, any fixed value one or
             the other; the sender-fault protection stops the set instead.
  "batt"     IN_BATT_MV: a divider has no fault to detect (0 mV is a real,
             alarming reading: the controller runs off that battery, so an
             open divider reads 0 and raises battery under-voltage).
  "map"      IN_MAP_KPA_X10: 0, "no valid reading": measure.py and the
             governor then use the timed lead instead of the MAP.  No
             DI_SENDER_FAULT: the set runs on without its MAP, as designed.
Before the first good sample every value is 0 (as the HAL vector starts); a
sender that is faulty from power-up is reported after the debounce.

Specs (small ints only: board.py keeps them in tuples that may be frozen):
  ("ma", shunt_ohm, lo, hi)       4-20 mA transmitter across a shunt to
        ground: value = lo + (I - 4 mA) * (hi - lo) / 16 mA, clamped to
        lo..hi (NAMUR NE 43 saturates a healthy transmitter at 3.8 and
        20.5 mA); I < 3.6 mA is an open loop, I > 21 mA a short (NE 43).
  ("res", pullup_ohm, table)      resistive sender to ground with a pull-up
        from the ADC reference (ratiometric: R = Rpu * c / (65535 - c), so
        the reference's own error cancels); pull-up 1..1600 ohm,
        `table` a name in TABLES: R (0.1 ohm) -> value breakpoints,
        linearly interpolated, clamped to the end points; R below the
        table's short threshold is a short, above its open one an open.
  ("volt", r_top, r_bot, mv_lo, val_lo, mv_hi, val_hi, mv_open, mv_short)
        a voltage-output sensor (a 0.5-4.5 V TMAP) through a divider r_top /
        r_bot (any one unit, e.g. 100 ohm): value linear between (mv_lo,
        val_lo) and (mv_hi, val_hi) of sensor volts, clamped to that range;
        below mv_open (the signal wire open: the interface board's pull-down
        takes it to 0 V, or shorted to ground) is an open, above mv_short
        (shorted to the sensor supply) a short; 0 = no such check.
  ("div", r_top, r_bot)           a plain divider: value = sensor mV (the
        battery); no fault checks.

Fault debounce: an open or short is reported only after FAULT_SAMPLES (4)
consecutive bad samples, and cleared only after as many good ones.  Four,
because the things that make one bad sample are short: an ignition spark or
a starter engagement disturbing the ADC, a vibrating connector; while
4 samples are still short next to the protections that act on them (a mux
channel is sampled every 4 ticks, so 4 samples = 160 ms at 10 ms ticks,
against 1 s for low oil pressure and 2 s for the sender-fault protection;
the MAP, read every tick, goes to 0 after 40 ms).  While a fault is pending
the value holds the last good one; bad samples never reach the value or the
filter.

Filter: first order on the raw counts, acc += c - acc >> k, value from
acc >> k: a time constant of about 2**k samples (k = 2 on a mux channel
sampled every 40 ms: ~160 ms), enough to take out ADC noise (the RP2040's
ADC has ~9 effective bits and code spikes) on quantities that change over
seconds; k = 0 for the MAP, which the governor reads as a fast signal.  The
state is seeded from the first good sample (no ramp from 0 at boot) and
again when a fault clears.  acc <= 65535 << k, k <= 8: < 2**24.

Arithmetic: integer only.  Per sample every product is bounded by 2**30
(the bounds sit next to each one); the constants are worked out once, in
__init__, by _muldiv, which keeps its own intermediates below 2**30 too.
No allocation per sample: Senders.read touches preallocated state and
small ints only, and the ADC read_u16 methods are bound once.
"""

from array import array

from fixpt import const
import hal

# -- constants of hal (tools/gen_consts.py; do not edit) --
_IN_BATT_MV = const(13)  # hal.IN_BATT_MV
_IN_COOLANT_DC = const(11)  # hal.IN_COOLANT_DC
_IN_GAS_MBAR = const(12)  # hal.IN_GAS_MBAR
_IN_MAP_KPA_X10 = const(20)  # hal.IN_MAP_KPA_X10
_IN_OIL_KPA = const(10)  # hal.IN_OIL_KPA
# -- end of generated constants --

OPEN = const(1)
SHORT = const(2)
FAULT_SAMPLES = const(4)
_FULL = const(65535)            # read_u16() full scale
_HOLD_SAFE = const(0)
_HOLD_LAST = const(1)
_BIG = const(1073741823)

# name -> (HAL input, what a failed sender holds, sets DI_SENDER_FAULT)
ROLES = {
    "oil": (_IN_OIL_KPA, _HOLD_SAFE, 1),
    "coolant": (_IN_COOLANT_DC, _HOLD_LAST, 1),
    "gas": (_IN_GAS_MBAR, _HOLD_LAST, 1),
    "batt": (_IN_BATT_MV, _HOLD_LAST, 0),
    "map": (_IN_MAP_KPA_X10, _HOLD_SAFE, 0),
}

# Resistive sender tables: [R short, R open, R0, v0, R1, v1, ...], R in
# 0.1 ohm ascending, values in the HAL unit of the input they feed.  Arrays,
# not tuples: the NTC's resistances are beyond what a frozen constant tuple
# keeps as a small int (tests/test_frozen_constants.py).
TABLES = {
    # VDO-style 0-10 bar oil pressure sender (10 ohm at 0 bar, 184 ohm at
    # 10 bar; typical curve of the 10-bar VDO type: check the sender's own
    # data sheet), values in kPa.  Below 3 ohm is a short (the sender
    # reads 10 ohm at rest), above 300 ohm an open.
    "vdo_oil_10bar": array("i", [
        30, 3000,
        100, 0, 520, 200, 880, 400, 1240, 600, 1550, 800, 1840, 1000]),
    # NTC coolant sender, 2252 ohm at 25 degC, beta 3930 K (a common
    # automotive NTC; the points are the beta equation's, 5 degC apart in
    # the 80-120 degC protection band where the chord is within 0.12 degC
    # of the curve, 10 degC elsewhere, within 1 degC), values in 0.1 degC.
    # Below 20 ohm (hotter than any engine runs) is a short, above 150 kohm
    # (colder than -45 degC) an open.
    "ntc_coolant": array("i", [
        200, 1500000,
        459, 1500, 574, 1400, 727, 1300, 932, 1200, 1060, 1150, 1209, 1100,
        1385, 1050, 1592, 1000, 1837, 950, 2128, 900, 2475, 850, 2891, 800,
        3998, 700, 5638, 600, 8123, 500, 11977, 400, 18120, 300, 28197, 200,
        45272, 100, 75250, 0, 130004, -100, 234513, -200, 444070, -300,
        888221, -400]),
}


def _muldiv(n, m, d):
    """round(n * m / d) for 0 <= n, m < 2**30 and 0 < d < 2**29, with every
    intermediate below 2**30 (shift-and-add over the bits of m, carrying the
    remainder); the result must itself fit.  Construction time only."""
    if n < 0 or m < 0 or d <= 0 or n > _BIG or m > _BIG or d >= 536870912:
        raise ValueError("senders: scale out of range")
    qn = n // d
    rn = n - qn * d
    q = 0
    r = 0
    bit = 536870912
    while bit:
        q += q
        r += r                     # r < d < 2**29: 2r < 2**30
        if r >= d:
            r -= d
            q += 1
        if m & bit:
            q += qn
            r += rn
            if r >= d:
                r -= d
                q += 1
        if q > _BIG:
            raise ValueError("senders: scale out of range")
        bit >>= 1
    if r + r >= d:
        q += 1
    return q


def _smuldiv(n, m, d):
    """_muldiv with the sign of n * m (d > 0)."""
    neg = (n < 0) != (m < 0)
    v = _muldiv(-n if n < 0 else n, -m if m < 0 else m, d)
    return -v if neg else v


def _cmul(c, k):
    """round(c * k / 65535) for 0 <= c <= 65535, |k| < 2**24: the per-sample
    scaling.  k = kh * 1024 + kl: c * kh <= 65535 * 16383 < 2**30, and the
    remainder terms are below 2**27."""
    neg = k < 0
    if neg:
        k = -k
    kh = k >> 10
    kl = k & 1023
    p = c * kh
    q = p // 65535
    r = p - q * 65535
    t = q * 1024 + (r * 1024 + c * kl + 32767) // 65535
    return -t if neg else t


def _counts(mv_pin, ref_mv):
    """ADC counts at mv_pin on the pin (the nearest count)."""
    return _muldiv(mv_pin, _FULL, ref_mv)


class Sender:
    """One sender: update(counts) per sample; .value (HAL units) and .fault
    (0, OPEN or SHORT, confirmed) after it.  `index` and `flag` say where the
    value goes and whether a fault sets DI_SENDER_FAULT."""

    def __init__(self, name, spec, ref_mv, filter_shift=0, fault_samples=FAULT_SAMPLES):
        if name not in ROLES:
            raise ValueError("senders: unknown sender %r" % (name,))
        role = ROLES[name]
        self.name = name
        self.index = role[0]
        self._hold = role[1]
        self.flag = role[2]
        if not 0 <= filter_shift <= 8 or not 1 <= fault_samples <= 1000 \
                or not 1000 <= ref_mv <= 5000:
            raise ValueError("senders: %s: bad filter, debounce or reference" % name)
        self._k = filter_shift
        self._nf = fault_samples
        self._safe = 0
        self.value = 0
        self.fault = 0
        self._n = 0            # consecutive samples against the confirmed state
        self._acc = 0
        self._primed = 0
        self._tab = None
        # Counts below _c_lo are fault _f_lo, above _c_hi fault _f_hi.
        self._c_lo = -1
        self._c_hi = _FULL + 1
        self._f_lo = OPEN
        self._f_hi = SHORT
        kind = spec[0]
        if kind == "ma":
            self._init_ma(spec, ref_mv)
        elif kind == "res":
            self._init_res(spec, ref_mv)
        elif kind == "volt":
            self._init_volt(spec, ref_mv)
        elif kind == "div":
            self._init_div(spec, ref_mv)
        else:
            raise ValueError("senders: %s: unknown sender kind %r" % (name, kind))
        self.kind = kind

    # -- construction: the spec turned into counts --------------------------

    def _init_ma(self, spec, ref):
        sh, lo, hi = spec[1], spec[2], spec[3]
        if not 10 <= sh <= 1000 or not -16000 <= hi - lo <= 16000 or abs(lo) > 1000000:
            raise ValueError("senders: %s: bad 4-20 mA spec" % self.name)
        span = hi - lo
        # value(c) = lo + (c*ref/65535 - 4*sh) * span / (16*sh), in 1/16 LSB:
        # value(0) = lo - span/4 exactly; the full-scale slope ref*span/sh.
        self._z16 = 16 * lo - 4 * span
        self._k16 = _smuldiv(span, ref, sh)
        self._vmin = lo if lo < hi else hi
        self._vmax = hi if lo < hi else lo
        self._c_lo = _counts(36 * sh, 10 * ref)       # 3.6 mA * sh ohm, in mV * 10
        self._c_hi = _counts(21 * sh, ref)            # 21 mA
        if self._c_hi >= _FULL:
            raise ValueError("senders: %s: 21 mA across %d ohm is beyond the ADC" %
                             (self.name, sh))

    def _init_res(self, spec, ref):
        rpu = 10 * spec[1]                  # the tables' 0.1 ohm
        if spec[2] not in TABLES or not 10 <= rpu <= 16000:
            raise ValueError("senders: %s: bad resistive spec" % self.name)
        tab = TABLES[spec[2]]
        self._tab = tab
        self._rpu = rpu
        # Ratiometric: the pull-up hangs on the ADC reference, so R over
        # R + Rpu is c over 65535.  c at R: 65535 - 65535*Rpu/(R + Rpu).
        self._c_lo = _FULL - _muldiv(_FULL, rpu, tab[0] + rpu)
        self._c_hi = _FULL - _muldiv(_FULL, rpu, tab[1] + rpu)
        self._f_lo = SHORT
        self._f_hi = OPEN
        n = len(tab)
        if n < 6 or n % 2:
            raise ValueError("senders: table %s: bad length" % spec[2])
        i = 4
        while i < n:
            dr = tab[i] - tab[i - 2]
            dv = tab[i + 1] - tab[i - 1]
            # The per-sample interpolation multiplies (R - R0) <= dr by dv.
            if dr <= 0 or abs(dv) > (_BIG - dr) // dr:
                raise ValueError("senders: table %s: not ascending or too steep" % spec[2])
            i += 2
        if self._c_hi >= _FULL or tab[1] < tab[n - 2]:
            raise ValueError("senders: table %s: open threshold inside the table" % spec[2])

    def _init_volt(self, spec, ref):
        rt, rb, mlo, vlo, mhi, vhi, mopen, mshort = spec[1:9]
        if rt < 0 or not 0 < rb <= 100000 or rt + rb > 200000 or not 0 <= mlo < mhi <= 100000:
            raise ValueError("senders: %s: bad voltage spec" % self.name)
        dm = mhi - mlo
        dv = vhi - vlo
        # Sensor mV per count, x16: 16*ref*(rt + rb)/(rb*65535).
        fs16 = _muldiv(16 * ref, rt + rb, rb)       # sensor mV x16 at full scale
        self._z16 = 16 * vlo - _smuldiv(16 * mlo, dv, dm)
        self._k16 = _smuldiv(fs16, dv, dm)
        self._vmin = vlo if vlo < vhi else vhi
        self._vmax = vhi if vlo < vhi else vlo
        # Thresholds: sensor mV -> pin mV (to the mV) -> counts.
        if mopen:
            self._c_lo = _muldiv(_muldiv(mopen, rb, rt + rb), _FULL, ref)
        if mshort:
            self._c_hi = _muldiv(_muldiv(mshort, rb, rt + rb), _FULL, ref)
            if self._c_hi >= _FULL:
                raise ValueError("senders: %s: the short threshold is beyond the ADC" %
                                 self.name)
        self._check_k()

    def _init_div(self, spec, ref):
        rt, rb = spec[1], spec[2]
        if rt < 0 or not 0 < rb <= 100000 or rt + rb > 200000:
            raise ValueError("senders: %s: bad divider spec" % self.name)
        self._z16 = 0
        self._k16 = _muldiv(16 * ref, rt + rb, rb)
        self._vmin = 0
        self._vmax = _BIG
        self._check_k()

    def _check_k(self):
        if self._k16 >= 16777216 or self._k16 <= -16777216 or abs(self._z16) > 268435455:
            raise ValueError("senders: %s: scale out of range" % self.name)

    # -- per sample -----------------------------------------------------------

    def scale(self, c):
        """Counts (0..65535) -> value, without fault checks or filter."""
        tab = self._tab
        if tab is None:
            v = (self._z16 + _cmul(c, self._k16) + 8) >> 4
        else:
            d = _FULL - c
            if d <= 0:
                r = _BIG
            else:
                r = (self._rpu * c + (d >> 1)) // d   # rpu * c <= 16000 * 65535 < 2**30
            n = len(tab)
            if r <= tab[2]:
                return tab[3]
            if r >= tab[n - 2]:
                return tab[n - 1]
            i = 4
            while tab[i] < r:
                i += 2
            r0 = tab[i - 2]
            v0 = tab[i - 1]
            den = tab[i] - r0
            num = (r - r0) * (tab[i + 1] - v0)        # checked in __init__
            if num >= 0:
                return v0 + (num + (den >> 1)) // den
            return v0 - (((den >> 1) - num) // den)
        if v < self._vmin:
            return self._vmin
        if v > self._vmax:
            return self._vmax
        return v

    def update(self, c):
        if c < 0:
            c = 0
        elif c > _FULL:
            c = _FULL
        if c < self._c_lo:
            bad = self._f_lo
        elif c > self._c_hi:
            bad = self._f_hi
        else:
            bad = 0
        if self.fault:
            if bad:
                self.fault = bad          # the latest kind (an open can become a short)
                self._n = 0
                return
            self._n += 1
            if self._n < self._nf:
                return                    # mending: hold until it has stayed good
            self.fault = 0
            self._n = 0
            self._primed = 0
        elif bad:
            self._n += 1
            if self._n >= self._nf:
                self.fault = bad
                self._n = 0
                if self._hold == _HOLD_SAFE:
                    self.value = self._safe
            return                        # pending: the value holds the last good one
        else:
            self._n = 0
        k = self._k
        if not self._primed:
            self._acc = c << k
            self._primed = 1
        else:
            self._acc += c - (self._acc >> k)
        self.value = self.scale(self._acc >> k)


class Senders:
    """Every sender of the board: read(inp) once per tick fills their HAL
    inputs and returns 1 when a sender that sets DI_SENDER_FAULT has failed.

    The multiplexed senders are read round-robin, one channel per tick: the
    select lines are set for the next channel at the end of each read, so
    the mux output and the input filter settle for a whole tick before the
    ADC samples it (no settling wait inside the tick).  Each mux sender is
    therefore sampled every len(SENDER_MUX) ticks.  Direct senders (the
    MAP) are read every tick."""

    def __init__(self, board):
        from machine import ADC, Pin
        ref = board.ADC_REF_MV
        atten = getattr(board, "ADC_ATTN", None)
        nf = getattr(board, "SENDER_FAULT_SAMPLES", FAULT_SAMPLES)

        def adc(pin):
            if atten is None:
                return ADC(Pin(pin))
            return ADC(Pin(pin), atten=getattr(ADC, atten))

        self._all = []
        self._direct = []
        self._direct_read = []
        for name, pin, spec, k in getattr(board, "SENDER_DIRECT", ()):
            s = Sender(name, spec, ref, k, nf)
            self._direct.append(s)
            self._direct_read.append(adc(pin).read_u16)
            self._all.append(s)
        self._mux = []
        mux = getattr(board, "SENDER_MUX", ())
        self._nmux = len(mux)
        self._sel = []
        self._mux_read = None
        if mux:
            self._mux_read = adc(board.SENDER_MUX_ADC_PIN).read_u16
            for p in board.SENDER_MUX_SEL_PINS:
                self._sel.append(Pin(p, Pin.OUT, value=0).value)
            chans = []
            for name, ch, spec, k in mux:
                if not 0 <= ch < (1 << len(self._sel)) or ch in chans:
                    raise ValueError("senders: %s: mux channel %r" % (name, ch))
                chans.append(ch)
                s = Sender(name, spec, ref, k, nf)
                self._mux.append(s)
                self._all.append(s)
            self._chan = array("i", chans)
        seen = []
        for s in self._all:
            if s.index in seen:
                raise ValueError("senders: %s wired twice" % s.name)
            seen.append(s.index)
        self._i = 0
        if mux:
            self._select(self._chan[0])

    def _select(self, ch):
        j = 0
        for f in self._sel:
            f((ch >> j) & 1)
            j += 1

    def channel(self):
        """The mux channel the next read samples (diagnostics, tests)."""
        return self._chan[self._i] if self._nmux else -1

    def read(self, inp):
        n = len(self._direct)
        i = 0
        while i < n:
            self._direct[i].update(self._direct_read[i]())
            i += 1
        if self._nmux:
            k = self._i
            self._mux[k].update(self._mux_read())
            k += 1
            if k >= self._nmux:
                k = 0
            self._i = k
            self._select(self._chan[k])
        fault = 0
        for s in self._all:
            inp[s.index] = s.value
            if s.fault and s.flag:
                fault = 1
        return fault
