"""Native HAL: the controller on a real board, reading its own inputs and
driving its own actuators through `machine` (the board side of firmware/hal.py).

Inputs, filled by read() once per tick:
  IN_T_MS              ms since this HAL started, wrapping at 2**30 ms
                       (12.4 days) so it stays a small int; use differences
  IN_MPU_PULSES        speed-pickup rising edges since the last tick, and
  IN_MPU_SPAN_US       the time from the first to the last of them.  A Pin IRQ
                       timestamps every edge with ticks_us() into a
                       preallocated array; read() snapshots and clears it with
                       IRQs off.  That is exactly the (edges, span) pair
                       firmware/measure.py turns into speed.
  IN_GEN_PERIOD_100NS  the last full generator voltage cycle, from a rising-edge
                       IRQ on the zero-cross detector (1 us resolution, sent
                       in 100 ns units); 0 when no crossing came for
                       _ZC_STALE_US (dead bus or stopped set).
  IN_GEN_V_DV, IN_GEN_P_KW_X10, IN_GEN_Q_KVAR_X10, IN_GEN_IA..IC_A_X10
                       from the ATM90E32AS metering IC on SPI (atm90e32.py;
                       pins in board.py), with DI_METER_OK in IN_DI; see
                       _read_metering.
  IN_OIL_KPA, IN_COOLANT_DC, IN_GAS_MBAR, IN_BATT_MV, IN_MAP_KPA_X10
                       from the analog senders (senders.py: scaling, open /
                       short detection, held values; DI_SENDER_FAULT when
                       an oil, coolant or gas sender has failed).  A board
                       without senders leaves them 0 (measure.py reads a 0
                       MAP as no reading).
  IN_DI                made afresh every tick: the debounced input bits
                       (dio.py), DI_SENDER_FAULT, and DI_METER_OK, which
                       _read_metering sets or clears last.
Outputs, applied by write(): fuel, AVR bias and ignition cut as PWM duty
(board.py has pins and frequencies), and OUT_DO on the relays (dio.py).
safe() drives fuel to 0, bias to neutral, cut to 0 and every relay to its
de-energised state (gas valve closed, crank, ignition and breaker coils
off): the same state as Controller.fail_safe, and what the board's error
path (app.py) drives before it logs anything.
Watchdog: watchdog(wdt) hands over a started machine.WDT, which wait_tick
feeds once per completed tick (Controller.run calls wait_tick only after a
tick and its quiet point returned), never from a timer: a tick that raises
or hangs is never fed, and the board resets.
Pacing: wait_tick() waits until the next tick is due on ticks_us, every
cfg.tick_ms, serving the Modbus RTU port (rs485.py) meanwhile: the bytes
read go to on_uart (Controller.serve_uart) at once, so a reply leaves within
the slave's processing time of the request's end.  A request is taken only
while at least _GUARD_US remain before the tick, so serving never delays a
tick if the guard exceeds the slowest request; one that ends inside the
guard is served right after the next tick (worst case: guard + the tick's
own compute time + the request's processing).
Share link (a unit of a stack, cfg.fleet_unit_id set, and board.SHARE_LINK
"can" or "rs485"; anything else, or a single set, builds nothing and
share_send sends nothing): share_send(buf, n) hands the firmware's frame to
the transport (mcp2515.py: three CAN frames at once; sharebus485.py: kept
for this unit's time slot), and wait_tick polls the transport once between
ticks, handing each complete frame to on_share (Controller.share_rx).  The
transport's own timing runs mid-tick, as a scheduled callback: the
MCP2515's INT pin (board.SHARE_CAN_INT_PIN) or a periodic timer
(board.SHARE_TIMER_ID) drains the chip's two receive buffers into the
driver's ring; the RS-485 slots are kept by that timer at 2 kHz.  An
MCP2515 on the metering IC's SPI bus: the meter's read holds the bus
(Mcp2515.hold) and a drain that came meanwhile runs right after it.
No machine.Timer for the tick: the tick stays in the main loop, where
Controller.run already puts gc.collect() between ticks, and a timer
callback that only set a flag would add nothing but latency.

MicroPython-only (needs `machine`).  Nothing allocates after __init__: the
IRQ handlers and the per-tick methods touch only preallocated arrays and
small ints (every product below is checked against 2**30).
"""

from array import array
from machine import Pin, PWM, disable_irq, enable_irq
from micropython import const
from time import sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_us

import hal

# -- constants of hal (tools/gen_consts.py; do not edit) --
_DI_METER_OK = const(64)  # hal.DI_METER_OK
_DI_SENDER_FAULT = const(512)  # hal.DI_SENDER_FAULT
_DO_GCB_OPEN = const(32)  # hal.DO_GCB_OPEN
_IN_DI = const(14)  # hal.IN_DI
_IN_GEN_PERIOD_100NS = const(3)  # hal.IN_GEN_PERIOD_100NS
_IN_GEN_P_KW_X10 = const(5)  # hal.IN_GEN_P_KW_X10
_IN_GEN_Q_KVAR_X10 = const(6)  # hal.IN_GEN_Q_KVAR_X10
_IN_GEN_V_DV = const(4)  # hal.IN_GEN_V_DV
_IN_MPU_PULSES = const(1)  # hal.IN_MPU_PULSES
_IN_MPU_SPAN_US = const(2)  # hal.IN_MPU_SPAN_US
_IN_T_MS = const(0)  # hal.IN_T_MS
_OUT_AVR_BIAS_PCT_X100 = const(1)  # hal.OUT_AVR_BIAS_PCT_X100
_OUT_DO = const(3)  # hal.OUT_DO
_OUT_FUEL_PCT_X100 = const(0)  # hal.OUT_FUEL_PCT_X100
_OUT_IGN_CUT_PCT_X100 = const(2)  # hal.OUT_IGN_CUT_PCT_X100
# -- end of generated constants --

# Counters stop here, inside a 32-bit port's 31-bit small ints.
_CNT_MAX = const(1000000000)

# Zero-cross edges closer than this are comparator chatter around one
# crossing, not a new cycle (5 ms = 200 Hz, far above any genset).
_ZC_MIN_US = const(5000)
# No crossing for this long: report no cycle (6 cycles at 60 Hz, 5 at 50 Hz).
_ZC_STALE_US = const(100000)
_T_MS_MASK = const(0x3FFFFFFF)
_PCT_X100_FULL = const(10000)
# Serve the Modbus port only while this much time is left before the tick
# (board.MODBUS_GUARD_US overrides it): it must be longer than the slowest
# request on this board, or a request can make a tick late (README, Modbus
# RTU: measure it on the board).
_GUARD_US = const(3000)
_T_US_MASK = const(0x3FFFFFFF)
# Heartbeat: toggle the status LED every this many ticks (1 Hz at 10 ms ticks).
_LED_TICKS = const(50)


def _pwm(pin, freq_hz, duty_u16):
    # Drive the pin low first and create the PWM with its duty in the
    # constructor: a PWM made without one may start at a port default
    # (50 % on some esp32 releases), which would open the fuel valve.
    return PWM(Pin(pin, Pin.OUT, value=0), freq=freq_hz, duty_u16=duty_u16)


def _duty_pct(pct_x100):
    """0..10000 (0.01 %) -> PWM duty_u16 0..65535; out-of-range is clamped."""
    if pct_x100 <= 0:
        return 0
    if pct_x100 >= _PCT_X100_FULL:
        return 65535
    return pct_x100 * 65535 // _PCT_X100_FULL      # <= 655,350,000 < 2**30


def _duty_bias(bias_pct_x100):
    """-10000..10000 -> duty_u16 0..65534 with 0 bias at 50 % (32767).
    32767, not 65535, keeps (bias + 10000) * k below 2**30."""
    if bias_pct_x100 <= -_PCT_X100_FULL:
        return 0
    if bias_pct_x100 >= _PCT_X100_FULL:
        return 65534
    return (bias_pct_x100 + _PCT_X100_FULL) * 32767 // _PCT_X100_FULL


class Outputs:
    """The three actuator PWMs, created in their safe state.  Used alone in
    HIL mode too, to hold the real outputs safe while the plant is simulated."""

    def __init__(self, board):
        self._fuel = _pwm(board.FUEL_PWM_PIN, board.FUEL_PWM_HZ, 0)
        self._avr = _pwm(board.AVR_PWM_PIN, board.AVR_PWM_HZ, _duty_bias(0))
        self._ign = _pwm(board.IGN_PWM_PIN, board.IGN_PWM_HZ, 0)

    def apply(self, fuel_pct_x100, bias_pct_x100, cut_pct_x100):
        self._fuel.duty_u16(_duty_pct(fuel_pct_x100))
        self._avr.duty_u16(_duty_bias(bias_pct_x100))
        self._ign.duty_u16(_duty_pct(cut_pct_x100))

    def safe(self):
        # Fuel first: it is the output that matters.
        self._fuel.duty_u16(0)
        self._avr.duty_u16(_duty_bias(0))
        self._ign.duty_u16(0)


def _io(board):
    """The board's I/O bus and relays (dio.py), built in their safe state;
    (None, None) for a board without them."""
    xio = None
    relays = None
    if getattr(board, "XIO_CLK_PIN", None) is not None:
        import dio
        xio = dio.ShiftIo(board)
    if getattr(board, "DO_PINS", None) or getattr(board, "DO_SR_BITS", None):
        import dio
        relays = dio.Relays(board, xio)
    return xio, relays


def park(board):
    """HIL mode: the actuator PWMs and the relays held in their safe state
    (nothing else of the HAL is built).  Keep the result referenced."""
    out = Outputs(board)
    xio, relays = _io(board)
    if relays is not None:
        relays.safe()
    return out, xio, relays


class NativeHal(hal.Hal):
    """hal.Hal on the board's own pins.  `cfg` is the Controller's Config:
    the tick period is read from it every tick, so a changed tick_ms setting
    takes effect at once."""

    WANTS_TELE = False      # write() drives pins only
    on_share = None         # callable(buf, n): a share-link frame (Controller.share_rx)

    def __init__(self, board, cfg):
        self._cfg = cfg
        self._out = Outputs(board)
        # Relays next: safe from the first moment, before the slower parts.
        self._xio, self._relays = _io(board)
        self._di = None
        if getattr(board, "DI_PINS", None) or getattr(board, "DI_SR_BITS", None):
            import dio
            self._di = dio.Inputs(board, self._xio)
        self._senders = None
        if getattr(board, "SENDER_MUX", None) or getattr(board, "SENDER_DIRECT", None):
            import senders
            self._senders = senders.Senders(board)
        self._feed = None
        # Written by the IRQ handlers, read and cleared by read().
        self._mpu = array("i", [0, 0, 0])   # edges, first edge us, last edge us
        self._zc = array("i", [0, 0, 0])    # have a last edge, last edge us, period us
        self._led = Pin(board.LED_PIN, Pin.OUT, value=0)
        self._led_n = 0
        self._led_on = 0
        self.overruns = 0                   # ticks that started late (diagnostics)
        self._t_ms = 0
        self._rem_us = 0
        self._next_us = 0
        self._started = 0     # the schedule starts at the first wait_tick
        self._port = None
        self._guard_us = getattr(board, "MODBUS_GUARD_US", _GUARD_US)
        if getattr(board, "RS485_UART_ID", None) is not None:
            import rs485
            self._port = rs485.Rs485(board, cfg)
        # Bound methods made once: making one allocates, and a hard IRQ must not.
        self._mpu_cb = self._mpu_edge
        self._zc_cb = self._zc_edge
        self._mpu_pin = Pin(board.MPU_PIN, Pin.IN)
        self._zc_pin = Pin(board.ZC_PIN, Pin.IN)
        if board.IRQ_HARD:
            self._mpu_pin.irq(handler=self._mpu_cb, trigger=Pin.IRQ_RISING, hard=True)
            self._zc_pin.irq(handler=self._zc_cb, trigger=Pin.IRQ_RISING, hard=True)
        else:
            # Ports without hard Pin IRQs (esp32) schedule the handler instead.
            self._mpu_pin.irq(handler=self._mpu_cb, trigger=Pin.IRQ_RISING)
            self._zc_pin.irq(handler=self._zc_cb, trigger=Pin.IRQ_RISING)
        # The metering IC (ATM90E32AS on SPI, boards/common/atm90e32.py).
        # A chip that does not answer at boot is not an error here: read()
        # keeps retrying its start sequence and measure.py sees metering loss
        # (DI_METER_OK clear) until it answers.
        self._meter = None
        self._spi = None
        if getattr(board, "METER_SPI_ID", None) is not None:
            from machine import SPI
            import atm90e32
            spi = SPI(board.METER_SPI_ID, baudrate=1000000, polarity=1, phase=1,
                      bits=8, firstbit=SPI.MSB, sck=Pin(board.METER_SCK_PIN),
                      mosi=Pin(board.METER_MOSI_PIN), miso=Pin(board.METER_MISO_PIN))
            cs = Pin(board.METER_CS_PIN, Pin.OUT, value=1)
            self._meter = atm90e32.Atm90e32(spi, cs, getattr(board, "METER_CAL", None))
            self._meter.begin(cfg.f_nom_hz)
            self._spi = spi
        self._share = None          # the share-link transport
        self._share_svc = None      # RS-485: its service(t) (bound once)
        self._share_guard = None    # the MCP2515 when it shares the meter's SPI bus
        self._share_timer = None
        self._share_cb = None
        kind = getattr(board, "SHARE_LINK", None)
        if cfg.fleet_unit_id and kind == "can":
            self._share_can(board, cfg.fleet_unit_id)
        elif cfg.fleet_unit_id and kind == "rs485":
            self._share_rs485(board, cfg.fleet_unit_id)

    def _share_can(self, board, unit):
        from machine import SPI
        import mcp2515
        sid = board.SHARE_CAN_SPI_ID
        if self._meter is not None and sid == board.METER_SPI_ID:
            spi = self._spi             # one bus, two chips (the MCP2515 takes mode 1,1 too)
        else:
            spi = SPI(sid, baudrate=1000000, polarity=1, phase=1, bits=8, firstbit=SPI.MSB,
                      sck=Pin(board.SHARE_CAN_SCK_PIN), mosi=Pin(board.SHARE_CAN_MOSI_PIN),
                      miso=Pin(board.SHARE_CAN_MISO_PIN))
        cs = Pin(board.SHARE_CAN_CS_PIN, Pin.OUT, value=1)
        d = mcp2515.Mcp2515(spi, cs, unit, board.SHARE_CAN_OSC_HZ, board.SHARE_CAN_BITRATE)
        d.begin()       # a chip that does not answer is retried from send (mcp2515.py)
        if spi is self._spi:
            self._share_guard = d
        self._share = d
        pin = getattr(board, "SHARE_CAN_INT_PIN", None)
        if pin is not None:
            # Scheduled (soft) IRQ: SPI inside a hard IRQ could cut into the
            # main loop's own transfer; the hold flag turns it away instead.
            self._share_int = Pin(pin, Pin.IN, Pin.PULL_UP)
            self._share_int.irq(handler=d.irq_cb, trigger=Pin.IRQ_FALLING)
        elif getattr(board, "SHARE_TIMER_ID", None) is not None:
            from machine import Timer
            self._share_timer = Timer(board.SHARE_TIMER_ID)
            self._share_timer.init(period=1, mode=Timer.PERIODIC, callback=d.irq_cb)

    def _share_rs485(self, board, unit):
        from machine import Timer, UART
        import sharebus485
        baud = board.SHARE_BAUD
        uart = UART(board.SHARE_UART_ID, baudrate=baud, bits=8, parity=None, stop=1,
                    tx=Pin(board.SHARE_TX_PIN), rx=Pin(board.SHARE_RX_PIN),
                    timeout=0, timeout_char=0, rxbuf=256)
        de = Pin(board.SHARE_DE_PIN, Pin.OUT, value=0)
        b = sharebus485.ShareBus485(uart, de, unit, baud, sleep_us=sleep_us, now=ticks_us)
        self._share = b
        self._share_svc = b.service
        self._share_timer = Timer(board.SHARE_TIMER_ID)
        self._share_timer.init(freq=2000, mode=Timer.PERIODIC, callback=b.service_cb)

    # -- interrupt handlers: no allocation, no floats -----------------------

    def _mpu_edge(self, pin):
        t = ticks_us()
        m = self._mpu
        if m[0] == 0:
            m[1] = t
        m[2] = t
        m[0] += 1

    def _zc_edge(self, pin):
        t = ticks_us()
        z = self._zc
        if z[0]:
            d = ticks_diff(t, z[1])
            if d < _ZC_MIN_US:
                return
            z[2] = d
        z[1] = t
        z[0] = 1

    # -- hal.Hal -------------------------------------------------------------

    def wait_tick(self):
        if not self._started:
            # Start the schedule here, not in __init__: building the
            # Controller in between must not count as an overrun.
            self._started = 1
            self._next_us = ticks_us()
        elif self._feed is not None:
            # Every call after the first follows a completed tick.
            self._feed()
        period_us = self._cfg.tick_ms * 1000
        due = ticks_add(self._next_us, period_us)
        late = ticks_diff(ticks_us(), due)
        if late > 0:
            # Overran: start this tick now instead of running the missed ones
            # back to back (that would hand measure.py a burst of near-empty
            # pickup windows).
            if self.overruns < _CNT_MAX:
                self.overruns += 1
            due = ticks_add(due, late)
        else:
            self._serve_until(due)
        # Time since start in ms, carried exactly across ticks of any length.
        rem = self._rem_us + ticks_diff(due, self._next_us)
        ms = rem // 1000
        self._rem_us = rem - ms * 1000
        self._t_ms = (self._t_ms + ms) & _T_MS_MASK
        self._next_us = due
        self._led_n += 1
        if self._led_n >= _LED_TICKS:
            self._led_n = 0
            self._led_on ^= 1
            self._led.value(self._led_on)
        return True

    def _share_poll(self):
        """Frames the share link has gathered, to on_share (between ticks)."""
        s = self._share
        cb = self.on_share
        if s is None or cb is None:
            return
        if self._share_svc is not None:
            self._share_svc(ticks_us())
        s.poll(cb)

    def _serve_until(self, due):
        """Wait for the tick at `due`, serving the Modbus port meanwhile."""
        self._share_poll()
        p = self._port
        cb = self.on_uart
        while True:
            left = ticks_diff(due, ticks_us())
            if left <= 0:
                return
            if p is not None and cb is not None:
                if left > self._guard_us:
                    n = p.read()
                    # n = 0: the line was silent (the slave's t3.5 gap).
                    cb(p.buf, n, ticks_us() & _T_US_MASK)
                    if n:
                        continue
                sleep_us(left if left < 250 else 250)
            elif left > 2000:
                # Sleep the bulk so the port can service USB / Wi-Fi ...
                sleep_ms(left // 1000 - 1)
            else:
                # ... and the last ~1-2 ms exactly.
                sleep_us(left)

    def watchdog(self, wdt):
        """Feed `wdt` after every completed tick from now on."""
        self._feed = wdt.feed

    def uart_send(self, buf, n):
        if self._port is not None:
            self._port.send(buf, n)

    def uart_config(self, baud, parity, stop_bits):
        if self._port is not None:
            self._port.config(baud, parity, stop_bits)

    def share_send(self, buf, n):
        if self._share is not None:
            self._share.send(buf, n)

    def read(self, inp):
        m = self._mpu
        z = self._zc
        now = ticks_us()
        # Snapshot and clear with IRQs off (hard IRQs).  The lines up to
        # enable_irq are straight-line on purpose: scheduled (soft) handlers
        # only run at a branch or a call into Python, so none cuts in here.
        st = disable_irq()
        n = m[0]
        first = m[1]
        last = m[2]
        m[0] = 0
        zc_seen = z[0]
        zc_last = z[1]
        per_us = z[2]
        enable_irq(st)
        inp[_IN_T_MS] = self._t_ms
        inp[_IN_MPU_PULSES] = n
        inp[_IN_MPU_SPAN_US] = ticks_diff(last, first) if n >= 2 else 0
        if zc_seen and ticks_diff(now, zc_last) < _ZC_STALE_US:
            inp[_IN_GEN_PERIOD_100NS] = per_us * 10
        else:
            inp[_IN_GEN_PERIOD_100NS] = 0
            if zc_seen:
                # Forget the old edge, so the first crossing after a dead
                # spell does not report the whole gap as one cycle.  An edge
                # arriving between the snapshot and here costs one period.
                st = disable_irq()
                z[0] = 0
                z[2] = 0
                enable_irq(st)
        di = 0
        if self._di is not None:
            di = self._di.read()
        if self._senders is not None and self._senders.read(inp):
            di |= _DI_SENDER_FAULT
        inp[_IN_DI] = di
        self._read_metering(inp)

    def _read_metering(self, inp):
        # V, P, Q and the phase currents from the metering IC; DI_METER_OK
        # says they are real.  A chip that stopped answering (3 bad reads in
        # a row, or a calibration register that changed) gives 0s and the bit
        # clear: the metering-loss protection and measure.py take it from
        # there, and the driver re-runs its start sequence meanwhile.
        m = self._meter
        g = self._share_guard
        if g is not None:
            g.hold = 1          # the MCP2515's drain waits for the meter's frames
        try:
            ok = m is not None and m.read(inp)
        finally:
            if g is not None:
                g.release()
        if ok:
            inp[_IN_DI] |= _DI_METER_OK
        else:
            if m is None:
                inp[_IN_GEN_V_DV] = 0
                inp[_IN_GEN_P_KW_X10] = 0
                inp[_IN_GEN_Q_KVAR_X10] = 0
            inp[_IN_DI] &= ~_DI_METER_OK

    def write(self, out, tele):
        self._out.apply(out[_OUT_FUEL_PCT_X100], out[_OUT_AVR_BIAS_PCT_X100],
                        out[_OUT_IGN_CUT_PCT_X100])
        if self._relays is not None:
            self._relays.write(out[_OUT_DO])

    def safe(self):
        self._out.safe()
        if self._relays is not None:
            # Every relay off but the generator breaker's trip coil, as
            # Controller.fail_safe asks (DO_GCB_OPEN): fuel off and breaker
            # open (rule 6).  The coil drops at the reset that follows.
            self._relays.safe(_DO_GCB_OPEN)
        if self._port is not None:
            self._port.safe()
        if self._share_timer is not None:
            self._share_timer.deinit()
        if self._share is not None:
            self._share.safe()
