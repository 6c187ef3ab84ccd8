"""Microchip (ex Atmel) ATM90E32AS three-phase metering IC on SPI: the
generator metering front end of the native HAL (IN_GEN_V_DV, IN_GEN_P_KW_X10,
IN_GEN_Q_KVAR_X10, IN_GEN_IA/IB/IC_A_X10 of firmware/hal.py).

Sources (all read for this driver; facts below are cited to them):
  [DS]   Atmel-46003 M90E32AS datasheet (Atmel-Meter-ATM90E32AS-Datasheet-
         Eng_042013), pages 16 and 20 as stored at 38.142.81.21:8001/manual/
         microchip-technology/atm90e32as-au-r/datasheet-english/page-N.html:
         energy registers; Freq "not averaged (updated cycle by cycle)",
         0 when all phases are lost
  [IDT]  IDT 90E32 datasheet (the same die before Atmel) p.58, Table-11
         (datasheetandpdf.com/EN/IDT/58/90E32.htm): phase P/Q LSB 1 W / 1 var,
         total 4 W / 4 var, *LSB registers = 8 more bits (LLSB = 1/256 LSB)
  [E36]  ATM90E36A datasheet p.58, 6.4.3 CS0 (same site, atm90e36a-au-r) and
         IDT 90E21 p.36 (datasheetandpdf.com/EN/IDT/36/90E21.htm): the
         ConfigStart/CalStart/HarmStart/AdjStart + CSx scheme
  [ESPH] github.com/esphome/esphome esphome/components/atm90e32/
         {atm90e32.cpp, atm90e32.h, atm90e32_reg.h}: SPI mode 3
         (CLOCK_POLARITY_HIGH, CLOCK_PHASE_TRAILING), 200 kHz, MSB first;
         SoftReset then >= 5 ms; CfgRegAccEn 0x55AA / 0x0000; LastSPIData
         read-back after each write; MeterEn == 1 as the "chip is metering"
         check; MMode0 0x0087 = 3P4W 50 Hz, bit 12 = 60 Hz, bit 8 = 3P3W;
         register map, EMMState bits
  [CS]   github.com/CircuitSetup/ATM90E32 ATM90E32.cpp/.h: address word with
         bit 15 = read, then 16 data bits, CS low for both; Urms / 100 = V,
         Irms / 1000 = A, Freq / 100 = Hz, PAngle / 10 = deg
  [JET]  github.com/jethub-iot/atm90e32-async-rs src/{registers,proto,
         status}.rs: frame [0x80 | a9:8, a7:0, d15:8, d7:0], same map

Register map used (10-bit addresses [ESPH][CS][JET]):
  00 MeterEn (write 0001 = metering on; read every tick: 0001 expected)
  0C FreqLoTh, 0D FreqHiTh (0.01 Hz; status flags only)
  31 PLconstH, 32 PLconstL, 33 MMode0, 34 MMode1 (PGA gains), 35-3A start-up
     thresholds; 41-4C power offsets / PQ gains / phase angles; 61-6C
     Ugain, Igain, Uoffset, Ioffset per phase
  70 SoftReset (789A = reset), 71/72 EMMState0/1, 78 LastSPIData,
  7F CfgRegAccEn (55AA = configuration registers writable, 0000 = locked)
  B0 PmeanT, B4 QmeanT: total P / Q, signed 16 bit, 4 W / 4 var per LSB [IDT]
  D9-DB UrmsA-C: 0.01 V per LSB;  DD-DF IrmsA-C: 0.001 A per LSB [CS][ESPH]
  F8 Freq: 0.01 Hz per LSB [CS][DS]

NOT the scheme in the brief: the ATM90E32AS has no ConfigStart (30),
CalStart (40), HarmStart (50), AdjStart (60), no CS0-CS3 checksum registers
(3B, 4D, 57, 6F) and no SysStatus0/1 with CSxErr bits: those are the
ATM90E36A's (and the single-phase 90E2x's) [E36]; on the E32AS 01/02 are
ChannelMapI/U, 0x80 is APenergyT (PmeanT is B0) and Freq is F8 (not 1F8)
[ESPH].  The E36A checksum the brief describes is confirmed for that chip
([E36]: L = sum of the block's bytes mod 256, H = XOR of those bytes; CSxErr
when the block was ended with 8765H; it reproduces the CS0 C850 / CS1 00FE /
CS3 E296 of github.com/yasir-shahzad/ATM90E36 and the 40C8 of its issue 3)
but writing 5678H/8765H/CSx into an E32AS would write reserved
addresses, so this driver does not.  What the E32AS offers instead, and what
is used here:
  - write protection: CfgRegAccEn = 55AA opens, 0000 closes [ESPH][JET];
  - LastSPIData (78): the last value read or written, so the chip reports
    what it received [ESPH];
  - every configuration register reads back [ESPH verify_gain_writes_].
  The E32AS also has CRCErrStatus (79) / CRCDigest (7A), a CRC over the
  configuration; no source found gives its algorithm or bit meanings, so it
  is not used (worth adding once measured on a bench board).

SPI frame [CS][JET][ESPH]: CS low, 4 bytes, CS high.  Byte 0 = 0x80 (read) or
0x00 (write) | address bits 9:8, byte 1 = address bits 7:0, bytes 2-3 = data
MSB first (written, or clocked out by the chip on a read).  Mode 3, MSB
first.  ESPHome runs it at 200 kHz; <= 1 MHz is the usual safe limit.  Old
Arduino code waited 4 us between the address and the data of a read; if a
board reads garbage at 1 MHz, pass split=True (address and data as two
transfers with CS held low: ~15 us of MicroPython call in between) or drop
to 200 kHz.

Scaling (cal, integers only):
  u_scale  primary volts per chip volt (1 without a PT: 277 V phase fits the
           655.35 V register range)
  i_scale  primary amps per chip amp: Igain is calibrated so that IrmsX reads
           primary / i_scale (default 20: 300 A rated reads 15.000 A and the
           65.535 A register range is 1310 A = 4.4 x rated, above a genset's
           ~3 x sustained fault current)
  Power then reads primary / (u_scale * i_scale) on the chip, so PmeanT's
  LSB is 4 * u_scale * i_scale W (80 W by default, 2.6 MW full scale).
  HAL values:
    IN_GEN_V_DV   = mean(UrmsA..C) * sqrt(3) [0.01 V -> 0.1 V], with
                    sqrt(3) / 30 = 5432 / 94085 (relative error 1.4e-9) * u_scale
    IN_GEN_IX_A_X10 = IrmsX * i_scale / 100, rounded
    IN_GEN_P_KW_X10 = (PmeanT + 1/2) * 4 * u_scale * i_scale / 100, rounded:
                    the 16-bit register is the top of a 24-bit value whose low
                    8 bits are in PmeanTLSB [IDT], i.e. it is floored, and the
                    half LSB puts the estimate in the middle of its 80 W
                    bucket (error <= 40 W + 50 W rounding < 0.1 kW); the LSB
                    register is not read (one transaction less per tick)
    IN_GEN_Q_KVAR_X10 likewise from QmeanT.  Sign: with the CTs oriented so
                    that generated power reads positive, a lagging load (the
                    set supplying vars) reads positive Q = hal's "+ exporting
                    vars"; ct_dir = -1 flips both P and Q for reversed CTs.
  Ranges (every product below is a named local, so the host test that traces
  the locals sees it; |x| <= 2**30 - 1 = 1,073,741,823):
    (2 * P + 1) * 2 * u_scale * i_scale <= 65535 * 16382 = 1,073,594,370
      (u_scale * i_scale <= 8191 is enforced), + 50 before // 100
    IrmsX * i_scale <= 65535 * 8191;  (UrmsA + UrmsB + UrmsC) * 5432 <=
    3 * 65534 * 5432 = 1,067,942,064, + 47042 before // 94085

Reading schedule (every read(), i.e. every 10 ms tick), 4 SPI transactions:
  PmeanT, QmeanT   every tick (governor feed-forward, reverse power, vars)
  MeterEn          every tick: the liveness / reset check (expects 0001)
  one slot         round robin UrmsA, IrmsA, UrmsB, IrmsB, UrmsC, IrmsC, AUX,
                   so each voltage and current is refreshed every 70 ms; AUX
                   cycles Freq, EMMState0, EMMState1 (diagnostics: .freq_chz,
                   .emm0, .emm1) and then one configuration register per visit
                   (read back and compared with what begin() wrote)
  +1 only when that configuration read-back mismatches (it is re-read once).
Cost: 4 x (2 CS edges + one 4-byte write_readinto): ~0.3 ms per tick at
1 MHz on an RP2040 (estimate: measure on the board); 4 x 160 us of clocks
alone at 200 kHz.

Failure rule:
  - a bad tick: MeterEn != 0001 (chip silent: MISO stuck 0xFF or 0x00 reads
    FFFF / 0000; chip reset: MeterEn is 0000 after a reset), or an impossible
    slot value (UrmsX > cal u_max, Freq > 100.00 Hz), or a configuration
    read-back that mismatches and then reads back right (a glitch).  A bad
    tick counts in .errors and .consecutive, holds the last good values in
    inp and read() still returns True;
  - metering is LOST after loss_count (3) bad ticks in a row, or at once when
    a configuration register reads back the same wrong value twice while
    MeterEn answers (the chip is alive but its calibration changed: every
    value it gives is wrong).  Then read() returns False and writes 0 to V,
    P, Q and the currents; the caller clears DI_METER_OK; .why says why;
  - recovery re-runs begin()'s sequence, but spread over ticks so no tick
    runs long: retry_ticks (50) after the loss, a soft reset, one tick for
    the chip to come up, then at most 8 transactions per tick (unlock, check
    LastSPIData, 37 writes, 37 read-backs, lock: ~10 ticks), then warm-up:
    read() returns False until every slot has been read once more.  A failed
    attempt waits retry_ticks again.  A chip reset is back in ~0.7 s (3 + 69
    ticks), inside protection's 1 s metering_loss delay.  reconfigure(f)
    (a new line frequency) runs the same staged sequence.
  Single bit errors on a healthy bus are not detectable per value (the chip
  has no frame CRC); impossible values are.

Integer only; nothing allocates after __init__ in read() (preallocated
buffers, stored bound methods; the recovery steps too): the tests check it
under MicroPython with heap_lock.
"""

from array import array

try:
    from micropython import const
except ImportError:  # CPython: const() is only a hint to the MicroPython parser
    def const(x):
        return x

import hal

# -- constants of hal (tools/gen_consts.py; do not edit) --
_IN_GEN_IA_A_X10 = const(7)  # hal.IN_GEN_IA_A_X10
_IN_GEN_IB_A_X10 = const(8)  # hal.IN_GEN_IB_A_X10
_IN_GEN_IC_A_X10 = const(9)  # hal.IN_GEN_IC_A_X10
_IN_GEN_P_KW_X10 = const(5)  # hal.IN_GEN_P_KW_X10
_IN_GEN_Q_KVAR_X10 = const(6)  # hal.IN_GEN_Q_KVAR_X10
_IN_GEN_V_DV = const(4)  # hal.IN_GEN_V_DV
# -- end of generated constants --

# Counters stop here, inside a 32-bit port's 31-bit small ints.
_CNT_MAX = const(1000000000)

# -- registers -------------------------------------------------------------
_RD = const(0x80)             # byte 0 bit 7 = address-word bit 15: read
_METEREN = const(0x00)
_FREQLOTH = const(0x0C)
_FREQHITH = const(0x0D)
_PLCONSTH = const(0x31)
_PLCONSTL = const(0x32)
_MMODE0 = const(0x33)
_MMODE1 = const(0x34)
_PSTARTTH = const(0x35)
_QSTARTTH = const(0x36)
_SSTARTTH = const(0x37)
_PPHASETH = const(0x38)
_QPHASETH = const(0x39)
_SPHASETH = const(0x3A)
_SOFTRESET = const(0x70)
_EMMSTATE0 = const(0x71)
_EMMSTATE1 = const(0x72)
_LASTSPIDATA = const(0x78)
_CFGREGACCEN = const(0x7F)
_PMEANT = const(0xB0)
_QMEANT = const(0xB4)
_URMSA = const(0xD9)
_IRMSA = const(0xDD)
_FREQ = const(0xF8)

_RESET_KEY = const(0x789A)
_CFG_OPEN = const(0x55AA)
_CFG_SHUT = const(0x0000)
_MMODE0_60HZ = const(0x1000)  # MMode0 bit 12: 60 Hz line [ESPH][JET]
_FREQ_MAX = const(10000)      # 100.00 Hz: any higher Freq reading is impossible
_RESET_WAIT_MS = const(6)     # soft reset needs >= 5 ms [ESPH]
_OPS_PER_TICK = const(8)      # SPI transactions per tick while re-initialising

# Configuration written by begin(), in this order (values from cal).
_CFG_ADDRS = (_METEREN, _FREQHITH, _FREQLOTH, _PLCONSTH, _PLCONSTL, _MMODE0, _MMODE1,
              _PSTARTTH, _QSTARTTH, _SSTARTTH, _PPHASETH, _QPHASETH, _SPHASETH,
              0x41, 0x42, 0x43, 0x44, 0x45, 0x46,      # POffsetA QOffsetA .. QOffsetC
              0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C,      # PQGainA PhiA .. PhiC
              0x61, 0x62, 0x63, 0x64, 0x65, 0x66,      # UgainA IgainA UoffsetA IoffsetA ..
              0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C)      # .. IoffsetC
_N_CFG = const(37)
# Slots: 0-2 = Urms phase, 3-5 = Irms phase, 6 = AUX.
_SLOT_CODE = (0, 3, 1, 4, 2, 5, 6)
_N_SLOTS = const(7)
_N_AUX_STATUS = const(3)      # AUX 0 = Freq, 1 = EMMState0, 2 = EMMState1, then config

# .state
ST_LOST = const(0)            # not metering; a recovery attempt is scheduled
ST_INIT = const(1)            # re-initialising (soft reset .. lock)
ST_WARM = const(2)            # initialised; refreshing every value once
ST_RUN = const(3)             # metering
# .why (the last loss or failed initialisation)
WHY_NONE = const(0)
WHY_NO_ANSWER = const(1)      # loss_count bad ticks in a row
WHY_CONFIG = const(2)         # a configuration register changed under us
WHY_NO_CHIP = const(3)        # begin: LastSPIData did not echo the unlock
WHY_REJECTED = const(4)       # begin: a register did not read back as written

# Step results of _run_ops.
_R_MORE = const(0)
_R_WAIT = const(1)
_R_DONE = const(2)
_R_FAIL = const(3)

# Defaults for a 480 V / 300 A GX230 with 300 A CTs and no PTs.  The gains
# are per-board commissioning values: calibrate each phase against a
# reference meter (new = old * reference // reading, as ESPHome's
# run_gain_calibrations does), Igain so that IrmsX reads primary amps /
# i_scale.  0x8000 below is a mid-range placeholder, NOT a calibration.
DEFAULT_CAL = {
    "u_scale": 1,          # no PT: the chip sees 277 V phase (through its divider)
    "i_scale": 20,         # IrmsX = primary / 20 (300 A -> 15.000 A)
    "ct_dir": 1,           # -1: CTs fitted the other way round (flips P and Q)
    "u_max": 60000,        # 600.00 V chip-side phase voltage: more is impossible
    "mmode0": 0x0087,      # 3P4W, phases A, B, C in the sum, algebraic sum [ESPH]
    "mmode1": 0x0000,      # PGA x1 on every current (fault-current headroom)
    "plconst": 0x0861C468,  # PL constant (energy pulses, unused): chip default [ESPH]
    # Start-up (no-load) thresholds 0: a meter's creep suppression would hide
    # the small reverse powers a genset must see.
    "pstartth": 0, "qstartth": 0, "sstartth": 0,
    "pphaseth": 0, "qphaseth": 0, "sphaseth": 0,
    "poffset": (0, 0, 0), "qoffset": (0, 0, 0),
    "pqgain": (0, 0, 0), "phi": (0, 0, 0),
    # Built from lists: a constant tuple holding 32768 would be frozen as
    # bigints (tests/test_frozen_constants.py).
    "ugain": tuple([0x8000, 0x8000, 0x8000]),     # placeholder: calibrate
    "igain": tuple([0x8000, 0x8000, 0x8000]),     # placeholder: calibrate
    "uoffset": (0, 0, 0), "ioffset": (0, 0, 0),
}


def _cal(cal, key):
    if cal is None:
        return DEFAULT_CAL[key]
    try:
        return cal[key]
    except (KeyError, TypeError, IndexError):
        pass
    v = getattr(cal, key, None)
    return DEFAULT_CAL[key] if v is None else v


def _noop_sleep(ms):
    pass


try:
    from time import sleep_ms as _sleep_ms
except ImportError:  # CPython host tests: the register model needs no settling time
    _sleep_ms = _noop_sleep


class Atm90e32:
    """ATM90E32AS on `spi` (write_readinto, mode 3) with chip select `cs_pin`
    (value(v); held high here between frames).  `cal`: dict or object with
    DEFAULT_CAL's keys (missing keys take the defaults)."""

    def __init__(self, spi, cs_pin, cal=None, split=False, sleep_ms=None,
                 retry_ticks=50, loss_count=3, reset_wait_ticks=1):
        us = int(_cal(cal, "u_scale"))
        is_ = int(_cal(cal, "i_scale"))
        if us < 1 or is_ < 1 or us * is_ > 8191:
            raise ValueError("u_scale, i_scale >= 1 and u_scale * i_scale <= 8191")
        umax = int(_cal(cal, "u_max"))
        if not 0 < umax <= 65534:
            raise ValueError("u_max: 1..65534")
        d = int(_cal(cal, "ct_dir"))
        if d != 1 and d != -1:
            raise ValueError("ct_dir: 1 or -1")
        self._us = us
        self._is = is_
        self._pk = 2 * us * is_        # half an LSB of PmeanT in W: 2 * u * i
        self._neg = d < 0
        self._umax = umax
        self._cal = cal
        self._loss_count = loss_count
        self._retry_ticks = retry_ticks
        self._reset_wait = reset_wait_ticks
        self._sleep = sleep_ms if sleep_ms is not None else _sleep_ms
        # SPI: one 4-byte frame, buffers made once.
        self._tx = bytearray(4)
        self._rx = bytearray(4)
        self._split = 1 if split else 0
        mt = memoryview(self._tx)
        mr = memoryview(self._rx)
        self._txa = mt[0:2]
        self._txd = mt[2:4]
        self._rxa = mr[0:2]
        self._rxd = mr[2:4]
        self._wri = spi.write_readinto   # bound methods made once
        self._csv = cs_pin.value
        self._csv(1)
        # Configuration image (values set by begin) and the AUX addresses.
        self._cfg_addr = array("H", _CFG_ADDRS)
        self._cfg_val = array("H", [0] * _N_CFG)
        self._aux_addr = array("H", [_FREQ, _EMMSTATE0, _EMMSTATE1] + list(_CFG_ADDRS))
        self._n_aux = _N_AUX_STATUS + _N_CFG
        # Latest good readings.
        self._u = array("i", [0, 0, 0])   # UrmsA..C, 0.01 V chip-side
        self._i = array("i", [0, 0, 0])   # HAL currents, 0.1 A
        self._v = 0                       # HAL line-line voltage, 0.1 V
        self._p = 0                       # HAL 0.1 kW
        self._q = 0                       # HAL 0.1 kvar
        self._slot = 0
        self._aux = 0
        self._warm = 0
        self._op = 0
        self._hold = 0
        self._retry = 0
        # Public state and diagnostics.
        self.f_nom_hz = 0        # the line frequency the chip is configured for
        self.state = ST_LOST
        self.why = WHY_NONE
        self.errors = 0          # bad ticks, ever
        self.consecutive = 0     # bad ticks in a row now
        self.losses = 0          # times metering was lost
        self.init_failures = 0   # initialisations that failed
        self.bad_reg = -1        # register of the last failed check ...
        self.bad_val = -1        # ... and the value it read
        self.freq_chz = 0        # Freq, 0.01 Hz
        self.emm0 = 0            # EMMState0 (over-current/voltage, sequence)
        self.emm1 = 0            # EMMState1 (sag, phase loss, frequency)

    # -- SPI ------------------------------------------------------------------

    def _xfer(self):
        c = self._csv
        c(0)
        try:
            if self._split:
                self._wri(self._txa, self._rxa)
                self._wri(self._txd, self._rxd)
            else:
                self._wri(self._tx, self._rx)
        finally:
            c(1)

    def _rd(self, addr):
        tx = self._tx
        tx[0] = _RD | (addr >> 8)
        tx[1] = addr & 0xFF
        tx[2] = 0
        tx[3] = 0
        self._xfer()
        rx = self._rx
        return (rx[2] << 8) | rx[3]

    def _wr(self, addr, val):
        tx = self._tx
        tx[0] = addr >> 8
        tx[1] = addr & 0xFF
        tx[2] = (val >> 8) & 0xFF
        tx[3] = val & 0xFF
        self._xfer()

    # -- initialisation ---------------------------------------------------------

    def _image(self, f_nom_hz):
        """Fill the configuration image from cal for a 50 or 60 Hz set."""
        if f_nom_hz != 50 and f_nom_hz != 60:
            raise ValueError("f_nom_hz: 50 or 60")
        cal = self._cal
        plc = int(_cal(cal, "plconst"))
        m0 = int(_cal(cal, "mmode0")) & ~_MMODE0_60HZ
        if f_nom_hz == 60:
            m0 |= _MMODE0_60HZ
        vals = [1, f_nom_hz * 105, f_nom_hz * 95, (plc >> 16) & 0xFFFF, plc & 0xFFFF, m0,
                int(_cal(cal, "mmode1")),
                int(_cal(cal, "pstartth")), int(_cal(cal, "qstartth")),
                int(_cal(cal, "sstartth")), int(_cal(cal, "pphaseth")),
                int(_cal(cal, "qphaseth")), int(_cal(cal, "sphaseth"))]
        po = _cal(cal, "poffset")
        qo = _cal(cal, "qoffset")
        for ph in range(3):
            vals.append(int(po[ph]))
            vals.append(int(qo[ph]))
        g = _cal(cal, "pqgain")
        phi = _cal(cal, "phi")
        for ph in range(3):
            vals.append(int(g[ph]))
            vals.append(int(phi[ph]))
        ug = _cal(cal, "ugain")
        ig = _cal(cal, "igain")
        uo = _cal(cal, "uoffset")
        io = _cal(cal, "ioffset")
        for ph in range(3):
            vals.append(int(ug[ph]))
            vals.append(int(ig[ph]))
            vals.append(int(uo[ph]))
            vals.append(int(io[ph]))
        for k in range(_N_CFG):
            v = vals[k]
            if not -32768 <= v <= 0xFFFF:
                raise ValueError("cal: register %02x value %d is not 16-bit" % (_CFG_ADDRS[k], v))
            self._cfg_val[k] = v & 0xFFFF           # offsets may be negative
        self.f_nom_hz = f_nom_hz

    def _run_ops(self, budget):
        """Run up to `budget` SPI transactions of the initialisation sequence
        (soft reset; unlock; LastSPIData check; writes; read-backs; lock)."""
        n = _N_CFG
        while budget > 0:
            op = self._op
            budget -= 1
            if op == 0:
                self._wr(_SOFTRESET, _RESET_KEY)
                self._op = 1
                return _R_WAIT
            if op == 1:
                self._wr(_CFGREGACCEN, _CFG_OPEN)
            elif op == 2:
                v = self._rd(_LASTSPIDATA)
                if v != _CFG_OPEN:
                    return self._init_failed(WHY_NO_CHIP, _LASTSPIDATA, v)
            elif op < 3 + n:
                k = op - 3
                self._wr(self._cfg_addr[k], self._cfg_val[k])
            elif op < 3 + 2 * n:
                k = op - 3 - n
                v = self._rd(self._cfg_addr[k])
                if v != self._cfg_val[k]:
                    return self._init_failed(WHY_REJECTED, self._cfg_addr[k], v)
            else:
                self._wr(_CFGREGACCEN, _CFG_SHUT)
                self._op = 0
                self.state = ST_WARM
                self._warm = _N_SLOTS
                self._slot = 0
                self._aux = 0
                self.consecutive = 0
                return _R_DONE
            self._op = op + 1
        return _R_MORE

    def _init_failed(self, why, reg, val):
        self.why = why
        self.bad_reg = reg
        self.bad_val = val
        if self.init_failures < _CNT_MAX:
            self.init_failures += 1
        self._op = 0
        self.state = ST_LOST
        self._retry = self._retry_ticks
        return _R_FAIL

    def begin(self, f_nom_hz):
        """Soft reset, write and verify the configuration for a 50 or 60 Hz
        set; True when the chip took all of it.  Blocks ~6 ms plus ~80
        transactions (at boot).  On False, read() keeps retrying."""
        self._image(f_nom_hz)
        self._zero_values()
        self.state = ST_INIT
        self._op = 0
        while True:
            r = self._run_ops(1000)
            if r == _R_WAIT:
                self._sleep(_RESET_WAIT_MS)
                continue
            if r != _R_MORE:
                break
        if r != _R_DONE:
            return False
        self.emm0 = self._rd(_EMMSTATE0)
        self.emm1 = self._rd(_EMMSTATE1)
        return True

    def reconfigure(self, f_nom_hz):
        """Switch the chip to a new line frequency without blocking: metering
        drops (read() False) and the staged re-initialisation starts on the
        next read()."""
        self._image(f_nom_hz)
        self.state = ST_LOST
        self._retry = 0
        self._op = 0
        self._hold = 0
        self._zero_values()

    def _recover(self):
        """One tick of recovery while not metering (bounded SPI work)."""
        if self.state == ST_LOST:
            if self._retry > 0:
                self._retry -= 1
                return
            if self.f_nom_hz == 0:          # begin() never ran: nothing to write
                return
            self.state = ST_INIT
            self._op = 0
        if self._hold > 0:
            self._hold -= 1
            return
        if self._run_ops(_OPS_PER_TICK) == _R_WAIT:
            self._hold = self._reset_wait

    # -- per tick ---------------------------------------------------------------

    def _zero_values(self):
        self._v = 0
        self._p = 0
        self._q = 0
        u = self._u
        i = self._i
        for k in range(3):
            u[k] = 0
            i[k] = 0

    def _put(self, inp):
        inp[_IN_GEN_V_DV] = self._v
        inp[_IN_GEN_P_KW_X10] = self._p
        inp[_IN_GEN_Q_KVAR_X10] = self._q
        i = self._i
        inp[_IN_GEN_IA_A_X10] = i[0]
        inp[_IN_GEN_IB_A_X10] = i[1]
        inp[_IN_GEN_IC_A_X10] = i[2]

    def _zero(self, inp):
        inp[_IN_GEN_V_DV] = 0
        inp[_IN_GEN_P_KW_X10] = 0
        inp[_IN_GEN_Q_KVAR_X10] = 0
        inp[_IN_GEN_IA_A_X10] = 0
        inp[_IN_GEN_IB_A_X10] = 0
        inp[_IN_GEN_IC_A_X10] = 0

    def _count_error(self):
        if self.errors < _CNT_MAX:
            self.errors += 1

    def _lose(self, inp, why):
        self.state = ST_LOST
        self.why = why
        if self.losses < _CNT_MAX:
            self.losses += 1
        self._retry = self._retry_ticks
        self._op = 0
        self._hold = 0
        self._zero_values()
        self._zero(inp)
        return False

    def _pq(self, raw):
        """Signed PmeanT / QmeanT register -> HAL 0.1 kW (or kvar), rounded."""
        if raw > 32767:
            raw -= 65536
        n = (2 * raw + 1) * self._pk       # W at the middle of the LSB bucket
        if n >= 0:
            h = (n + 50) // 100
        else:
            h = -((50 - n) // 100)
        return -h if self._neg else h

    def read(self, inp):
        """Fill inp's generator metering inputs; True while metering.  On
        False, V, P, Q and the currents are 0 (the caller clears DI_METER_OK)."""
        st = self.state
        if st < ST_WARM:
            self._recover()
            self._zero(inp)
            return False
        # self._rd(...) each time: `rd = self._rd` would make a bound method.
        p = self._rd(_PMEANT)
        q = self._rd(_QMEANT)
        me = self._rd(_METEREN)
        bad = me != 1
        code = _SLOT_CODE[self._slot]
        a = self._aux
        if code < 3:
            addr = _URMSA + code
        elif code < 6:
            addr = _IRMSA + code - 3
        else:
            addr = self._aux_addr[a]
        w = self._rd(addr)
        if not bad:
            if code < 3:
                bad = w > self._umax
            elif code == 6:
                if a == 0:
                    bad = w > _FREQ_MAX
                elif a >= _N_AUX_STATUS:
                    exp = self._cfg_val[a - _N_AUX_STATUS]
                    if w != exp:
                        w2 = self._rd(addr)
                        if w2 == w:
                            # Read the same wrong value twice with MeterEn
                            # answering: the configuration really changed.
                            self._count_error()
                            self.bad_reg = addr
                            self.bad_val = w
                            return self._lose(inp, WHY_CONFIG)
                        bad = True
        if bad:
            self._count_error()
            if self.consecutive < _CNT_MAX:
                self.consecutive += 1
            if me != 1:
                self.bad_reg = _METEREN
                self.bad_val = me
            else:
                self.bad_reg = addr
                self.bad_val = w
            if self.consecutive >= self._loss_count:
                return self._lose(inp, WHY_NO_ANSWER)
            # Hold the last good values; re-read this slot next tick.
            if st == ST_RUN:
                self._put(inp)
                return True
            self._zero(inp)
            return False
        self.consecutive = 0
        self._p = self._pq(p)
        self._q = self._pq(q)
        if code < 3:
            u = self._u
            u[code] = w
            s = u[0] + u[1] + u[2]
            n = s * 5432                          # <= 1,067,942,064
            self._v = ((n + 47042) // 94085) * self._us
        elif code < 6:
            n = w * self._is                      # <= 65535 * 8191
            self._i[code - 3] = (n + 50) // 100
        else:
            if a == 0:
                self.freq_chz = w
            elif a == 1:
                self.emm0 = w
            elif a == 2:
                self.emm1 = w
            a += 1
            self._aux = a if a < self._n_aux else 0
        s = self._slot + 1
        self._slot = s if s < _N_SLOTS else 0
        if st == ST_WARM:
            self._warm -= 1
            if self._warm > 0:
                self._zero(inp)
                return False
            self.state = ST_RUN
        self._put(inp)
        return True
