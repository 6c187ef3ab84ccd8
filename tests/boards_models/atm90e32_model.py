"""Register-level model of the ATM90E32AS metering IC on its SPI bus, for the
driver tests (boards/common/atm90e32.py).  Plain Python: runs under CPython
and under the MicroPython unix port (no f-strings, dataclasses or typing).

What it models (sources as in the driver's docstring):
  - the SPI frame, byte by byte while CS is low: byte 0 bit 7 = read,
    bits 1:0 + byte 1 = the 10-bit address, bytes 2-3 = data MSB first.  A
    frame may arrive as one 4-byte transfer or in pieces; bytes clocked while
    CS is high are ignored (MISO floats high: reads 0xFF) and counted in
    .ignored; a frame cut short by CS rising is dropped (.partial)
  - the register file with reset values; SoftReset (70H) = 789AH restores
    them; CfgRegAccEn (7FH) = 55AAH opens the configuration registers
    (00H-6FH) to writes, anything else locks them (refused writes counted in
    .rejected); LastSPIData (78H) holds the last value read or written
    (reading 78H itself leaves it)
  - metering: with MeterEn = 0001 the measurement registers follow the
    physical values set by the test, through the calibration: a register
    reads (primary value / scale) * (gain written / gain_ref), so a chip that
    lost its calibration reads wrong, and one with MeterEn = 0 reads 0.
    Scales: UrmsX 0.01 V, IrmsX 0.001 A, PmeanX/QmeanX 1 W / 1 var per phase
    and 4 W / 4 var total, with the *LSB registers holding the next 8 bits in
    their high byte (so the 16-bit register is the floor of the 24-bit
    value), Freq 0.01 Hz
  - faults: stuck(0xFF / 0x00) = MISO stuck, nothing decoded (a dead chip);
    glitch(addr, n, value) = the next n reads of addr return value; corrupt(addr,
    value) = a register changes behind the driver's back; flip_write(addr,
    mask) = writes to addr arrive with those bits flipped (what the chip
    received is what LastSPIData and a read-back show); power_cycle() = all
    registers back to their reset values (a brown-out)
The SPI path (write_readinto / the pin) does no float work and does not
grow any container, so the driver's tick can run under heap_lock with it.

Reset values are the chip's where a source gives them (PLconst 0861C468H,
MMode0 0087H [ESPHome]); the rest are the model's assumption (0000H; MeterEn
0000H: metering off until written, which ESPHome's MeterEn == 1 check implies).

Not modelled (the E32AS has none of it, see the driver): ConfigStart /
CalStart / HarmStart / AdjStart, CS0-CS3, SysStatus CSxErr.
"""

METEREN = 0x00
MMODE0 = 0x33
MMODE1 = 0x34
PLCONSTH = 0x31
PLCONSTL = 0x32
UGAINA = 0x61
IGAINA = 0x62
SOFTRESET = 0x70
EMMSTATE0 = 0x71
EMMSTATE1 = 0x72
EMMINTSTATE0 = 0x73
EMMINTSTATE1 = 0x74
LASTSPIDATA = 0x78
CRCERRSTATUS = 0x79
CFGREGACCEN = 0x7F
PMEANT = 0xB0
QMEANT = 0xB4
PMEANTLSB = 0xC0
QMEANTLSB = 0xC4
URMSA = 0xD9
IRMSA = 0xDD
URMSALSB = 0xE9
IRMSALSB = 0xED
FREQ = 0xF8
TEMP = 0xFC

RESET_KEY = 0x789A
CFG_OPEN = 0x55AA

RESET_VALUES = {MMODE0: 0x0087, PLCONSTH: 0x0861, PLCONSTL: 0xC468}


class CsPin:
    """The chip-select line (machine.Pin-like: value(v) / value())."""

    def __init__(self, chip):
        self._chip = chip
        self.level = 1
        self.edges = 0

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            self.edges += 1
            if v:
                self._chip._deselect()
            else:
                self._chip._select()
        return None


def _floor_div(n, d):
    return n // d       # floor on both interpreters (d > 0)


class Atm90e32Model:
    """The chip.  u_scale / i_scale: the front end (primary per chip-side V
    and A, as the driver's cal); ugain_ref / igain_ref: the Ugain / Igain
    that make this front end read true (the same on every phase)."""

    def __init__(self, u_scale=1, i_scale=20, ugain_ref=0x8000, igain_ref=0x8000):
        self.u_scale = u_scale
        self.i_scale = i_scale
        self.ugain_ref = ugain_ref
        self.igain_ref = igain_ref
        self.cs = CsPin(self)
        # Every address 000H-0FFH exists up front: the SPI path never grows it.
        self.regs = {}
        for a in range(0x100):
            self.regs[a] = 0
        self.raw = {}           # measurement register overrides (full-scale tests)
        self.flip = {}          # address -> XOR mask applied to writes
        # Physical values (primary side, integers): mV and mA RMS per phase,
        # total W and var (+ = generating / supplying lagging vars), 0.01 Hz.
        self.v_mv = [0, 0, 0]
        self.i_ma = [0, 0, 0]
        self.p_w = 0
        self.q_var = 0
        self.f_chz = 0
        self.stuck_byte = -1    # -1: healthy; 0x00 / 0xFF: MISO stuck
        self.glitch_addr = -1
        self.glitch_n = 0
        self.glitch_value = 0
        # Bus statistics.
        self.frames = 0
        self.reads = 0
        self.writes = 0
        self.ignored = 0
        self.partial = 0
        self.rejected = 0
        self.resets = 0
        # Frame decoder.
        self._pos = 0
        self._ahi = 0
        self._isread = 0
        self._addr = 0
        self._val = 0
        self._dhi = 0
        self._reset()

    # -- test controls ------------------------------------------------------

    def set_phase(self, ph, v_mv, i_ma):
        self.v_mv[ph] = int(v_mv)
        self.i_ma[ph] = int(i_ma)

    def set_balanced(self, v_ll_dv, i_a_x10, p_kw_x10, q_kvar_x10, f_chz=6000):
        """A balanced set in HAL units: line-line voltage, phase current,
        total P and Q (the model works in mV, mA, W, var)."""
        v_ph_mv = int(v_ll_dv * 100 / 1.7320508075688772 + 0.5)
        for ph in range(3):
            self.set_phase(ph, v_ph_mv, i_a_x10 * 100)
        self.p_w = int(p_kw_x10) * 100
        self.q_var = int(q_kvar_x10) * 100
        self.f_chz = int(f_chz)

    def set_raw(self, addr, value):
        self.raw[addr] = value & 0xFFFF

    def clear_raw(self):
        for a in list(self.raw):
            del self.raw[a]

    def stuck(self, byte):
        """MISO stuck at byte (0x00 / 0xFF); None: the chip answers again."""
        self.stuck_byte = -1 if byte is None else byte

    def glitch(self, addr, n, value):
        """The next n reads of addr return value (a garbled frame)."""
        self.glitch_addr = addr
        self.glitch_n = n
        self.glitch_value = value & 0xFFFF

    def corrupt(self, addr, value):
        self.regs[addr] = value & 0xFFFF

    def flip_write(self, addr, mask):
        if mask:
            self.flip[addr] = mask
        elif addr in self.flip:
            del self.flip[addr]

    def power_cycle(self):
        self._reset()

    def set_status(self, emm0, emm1):
        self.regs[EMMSTATE0] = emm0 & 0xFFFF
        self.regs[EMMSTATE1] = emm1 & 0xFFFF

    # -- register file --------------------------------------------------------

    def _reset(self):
        r = self.regs
        for a in range(0x100):
            r[a] = 0
        for a in RESET_VALUES:
            r[a] = RESET_VALUES[a]
        r[TEMP] = 25
        self.resets += 1

    def _metering(self):
        return self.regs[METEREN] == 1

    def _urms24(self, ph):
        # 0.01 V chip-side, x256 (the LSB register's 8 bits)
        n = self.v_mv[ph] * self.regs[UGAINA + 4 * ph] * 256
        return _floor_div(n, self.u_scale * 10 * self.ugain_ref)

    def _irms24(self, ph):
        # 0.001 A chip-side, x256
        n = self.i_ma[ph] * self.regs[IGAINA + 4 * ph] * 256
        return _floor_div(n, self.i_scale * self.igain_ref)

    def _pq24(self, total, ph, tot):
        """24-bit power value: phase (ph 0-2) in 1/256 W, total in 4/256 W."""
        r = self.regs
        # Each phase carries a third of the total, through its own gains.
        den = 3 * self.u_scale * self.i_scale * self.ugain_ref * self.igain_ref
        if tot:
            n = 0
            for k in range(3):
                n += total * r[UGAINA + 4 * k] * r[IGAINA + 4 * k] * 64
        else:
            n = total * r[UGAINA + 4 * ph] * r[IGAINA + 4 * ph] * 256
        v = _floor_div(n, den)
        if v > 0x7FFFFF:
            v = 0x7FFFFF
        elif v < -0x800000:
            v = -0x800000
        return v

    def _measure(self, a):
        """A measurement register's value, or -1 if a is not one."""
        if 0xB0 <= a <= 0xB7 or 0xC0 <= a <= 0xC7:
            if not self._metering():
                return 0
            lsb = a >= 0xC0
            k = a & 0x07
            total = self.p_w if k < 4 else self.q_var
            ph = (k & 3) - 1
            v = self._pq24(total, ph, ph < 0)
            if lsb:
                return (v & 0xFF) << 8
            return (v >> 8) & 0xFFFF
        if URMSA <= a <= URMSA + 2 or URMSALSB <= a <= URMSALSB + 2:
            if not self._metering():
                return 0
            v = self._urms24(a - (URMSALSB if a >= URMSALSB else URMSA))
            if a >= URMSALSB:
                return (v & 0xFF) << 8
            return 0xFFFF if v >> 8 > 0xFFFF else v >> 8
        if IRMSA <= a <= IRMSA + 2 or IRMSALSB <= a <= IRMSALSB + 2:
            if not self._metering():
                return 0
            v = self._irms24(a - (IRMSALSB if a >= IRMSALSB else IRMSA))
            if a >= IRMSALSB:
                return (v & 0xFF) << 8
            return 0xFFFF if v >> 8 > 0xFFFF else v >> 8
        if a == FREQ:
            if not self._metering() or (self.v_mv[0] | self.v_mv[1] | self.v_mv[2]) == 0:
                return 0    # all phases lost: Freq reads 0 [datasheet 3.6.6]
            return self.f_chz & 0xFFFF
        return -1

    def _fetch(self, a):
        self.reads += 1
        if a in self.raw:
            v = self.raw[a]
        else:
            v = self._measure(a)
            if v < 0:
                v = self.regs[a]
        if self.glitch_n > 0 and a == self.glitch_addr:
            self.glitch_n -= 1
            v = self.glitch_value
        if a != LASTSPIDATA:
            self.regs[LASTSPIDATA] = v
        return v

    def _commit(self, a, v):
        self.writes += 1
        if a in self.flip:
            v ^= self.flip[a]
        r = self.regs
        r[LASTSPIDATA] = v
        if a == SOFTRESET:
            if v == RESET_KEY:
                self._reset()
                r[LASTSPIDATA] = v
            return
        if a == CFGREGACCEN:
            r[a] = v
            return
        if a <= 0x6F:
            if r[CFGREGACCEN] != CFG_OPEN:
                self.rejected += 1
                return
            r[a] = v
            return
        if a == EMMINTSTATE0 or a == EMMINTSTATE1:
            r[a] = 0
            return
        self.rejected += 1          # measurement / read-only register

    # -- the SPI side -------------------------------------------------------

    def _select(self):
        self._pos = 0

    def _deselect(self):
        if self._pos != 0 and self._pos < 4:
            self.partial += 1
        self._pos = 0

    def _clock(self, b):
        pos = self._pos
        self._pos = pos + 1
        if self.stuck_byte >= 0:
            return self.stuck_byte
        if pos == 0:
            self._ahi = b
            return 0
        if pos == 1:
            self._isread = self._ahi & 0x80
            self._addr = ((self._ahi & 0x03) << 8) | b
            if self._isread:
                self._val = self._fetch(self._addr)
            return 0
        if pos == 2:
            if self._isread:
                return (self._val >> 8) & 0xFF
            self._dhi = b
            return 0
        if pos == 3:
            self.frames += 1
            if self._isread:
                return self._val & 0xFF
            self._commit(self._addr, (self._dhi << 8) | b)
            return 0
        return 0xFF

    def write_readinto(self, wbuf, rbuf):
        n = len(wbuf)
        if len(rbuf) != n:
            raise ValueError("write_readinto: buffers differ in length")
        if self.cs.level:
            for k in range(n):
                rbuf[k] = 0xFF
            self.ignored += n
            return None
        for k in range(n):
            rbuf[k] = self._clock(wbuf[k])
        return None
