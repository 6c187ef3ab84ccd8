"""Raspberry Pi Pico (RP2040): pin map and board choices for the GX230.

Only what differs between boards lives here (as in pybricks' platform/<board>):
pins, peripheral ids, PWM frequencies and what the boot script runs.  Engine
facts (MPU tooth count, tick period, ratings) are firmware settings in
firmware/config.py, so one board serves any set.

Read on the board by boards/common/app.py and hal_native.py, and on the host
by tools/build_firmware.py, which takes MPY_ARCH from here (parsed, never
imported): this file is the one place the board's CPU is written down.

All GPIO is 3.3 V.  The speed pickup, the voltage zero-cross detector and the
actuator drivers sit on the interface board; the pins below see only clean
logic levels.
"""

from fixpt import const  # the firmware's one const() fallback
import hal

# What main.py runs at boot.  "hil": serve the tick link on the USB REPL port
# so a bench PC runs the simulated plant against this board
# (python -m tools.hil run SCENARIO --port /dev/ttyACM0).  "native": run the
# controller on the pins below.
MODE = "hil"

# mpy-cross -march for the Cortex-M0+ (only matters for @native/@viper code;
# plain bytecode .mpy files carry no architecture).
MPY_ARCH = "armv6m"

# rp2 supports hard=True Pin IRQs: the handler runs in the interrupt itself, so
# an edge is timestamped within a few microseconds of happening.
IRQ_HARD = const(1)

# GC heap MicroPython leaves the firmware on this board, bytes (32-bit):
# the RP2040's 264 KB SRAM less the port's static data and stacks; ~190 KB
# is what gc.mem_free() reports on a fresh Pico under MicroPython 1.2x (a
# Pico W leaves less: its Wi-Fi driver takes a share).  A planning figure:
# `make firmware` checks the image against it on the 32-bit runtime;
# measure it on the board with gc.mem_free() after boot.
GC_HEAP_BYTES = const(194560)

# -- Inputs ---------------------------------------------------------------
MPU_PIN = const(14)     # speed pickup, squared up: one rising edge per ring-gear tooth
ZC_PIN = const(15)      # generator voltage zero-cross detector: one rising edge per cycle

# -- Actuator outputs (PWM) -----------------------------------------------
# Each output on its own PWM slice (slice = (gpio >> 1) & 7): the two
# channels of a slice share one frequency.
FUEL_PWM_PIN = const(6)     # slice 3A: fuel / gas valve actuator command
AVR_PWM_PIN = const(8)      # slice 4A: AVR set-point bias, 50 % duty = no bias
IGN_PWM_PIN = const(10)     # slice 5A: ignition module skip-fire (cut) command
# Fuel and AVR bias are RC-filtered to analog signals on the interface board:
# 10 kHz keeps the ripple small with a small filter and still gives ~13 bits
# of duty resolution at 125 MHz.  The ignition cut is read as a duty cycle by
# the ignition module (100 Hz: check the module's input specification).
FUEL_PWM_HZ = const(10000)
AVR_PWM_HZ = const(10000)
IGN_PWM_HZ = const(100)

# -- RS-485 (Modbus RTU slave: boards/common/rs485.py) -----------------
RS485_UART_ID = const(0)
RS485_TX_PIN = const(0)     # UART0 TX -> transceiver DI
RS485_RX_PIN = const(1)     # UART0 RX <- transceiver RO
RS485_DE_PIN = const(2)     # driver enable (DE and /RE tied), high while sending

# -- Metering IC (SPI; the driver is later work) --------------------------
METER_SPI_ID = const(0)
METER_SCK_PIN = const(18)
METER_MOSI_PIN = const(19)
METER_MISO_PIN = const(16)
METER_CS_PIN = const(17)

# -- Share link between the units of a stack (issue 12) ---------------------
# Used only when the unit has a fleet id (fleet_unit_id 1..16); a single set
# builds none of it.  "can": an MCP2515 module (boards/common/mcp2515.py)
# with a 3.3 V-compatible transceiver (e.g. an SN65HVD230; a TJA1050 module
# needs 5 V and a level shift on MISO), on the metering IC's SPI bus: the
# MCP2515 takes SPI mode 1,1 like the ATM90E32AS, so the two share SCK, MOSI
# and MISO (GPIO 18, 19, 16) and differ by CS.  The RP2040 has no pins for a
# second bus: 20, 21 and 28 were the spare ones.
SHARE_LINK = "can"
SHARE_CAN_SPI_ID = const(0)        # = METER_SPI_ID: the shared bus
SHARE_CAN_CS_PIN = const(20)       # MCP2515 /CS, idle high
SHARE_CAN_INT_PIN = const(21)      # MCP2515 /INT (open drain low; internal pull-up): drains mid-tick
SHARE_CAN_OSC_HZ = 8000000         # the module's crystal: 8 or 16 MHz (mcp2515.bit_timing)
SHARE_CAN_BITRATE = 250000         # 250 or 500 kbit/s, the same on every unit
# "rs485" instead (boards/common/sharebus485.py): a second transceiver on
# UART1, the same three pins: SHARE_LINK = "rs485", SHARE_UART_ID = 1,
# SHARE_TX_PIN = 20 (UART1 TX), SHARE_RX_PIN = 21 (UART1 RX), SHARE_DE_PIN =
# 28, SHARE_BAUD = 500000, SHARE_TIMER_ID = -1 (a software timer keeps the
# slots), in place of the SHARE_CAN_* lines (one set at a time: the pin
# check counts both).
SHARE_TIMER_ID = const(-1)         # rs485 only (CAN drains on its INT pin)

# -- Status ----------------------------------------------------------------
LED_PIN = const(25)         # on-board LED (the Pico W has it on the radio chip instead)

# -- Pin budget -------------------------------------------------------------
# A Pico brings GPIO 0-22 and 26-28 out (23, 24, 29 drive its own supply
# and VBUS/VSYS sensing; 25 is the LED).  The pins above leave 14: 3, 4, 5,
# 7, 9, 11, 12, 13, 20, 21, 22, 26, 27, 28.  Eight inputs, twelve relays,
# five senders and a safe-mode jumper need 26 on direct pins, so the
# interface board puts the relays AND the inputs on one shift-register bus
# (dio.ShiftIo: 74HC595 x2 into ULN2803A drivers, 74HC165; 5 pins) and the
# four slow senders on a 74HC4051 mux (ADC0 + 3 selects).  The share link
# takes 20 and 21 (CAN CS and INT; or the RS-485 option's UART1 and 28);
# left spare: 28 (ADC2).

# -- I/O bus: relays and digital inputs (boards/common/dio.py) --------------
XIO_CLK_PIN = const(11)     # 595 SRCLK + 165 CLK
XIO_SER_PIN = const(12)     # 595 SER
XIO_LATCH_PIN = const(13)   # 595 RCLK + 165 SH/LD, idle high
XIO_OE_PIN = const(7)       # 595 /OE, 10k pull-up on the interface board: relays off through any reset
XIO_QH_PIN = const(9)       # 165 QH (internal pull-down: an open line reads "every wire broken")
# Inputs: (DI bit, 165 input A..H = 0..7, active_low).  A broken wire reads
# 0, the unsafe state of every safety input (dio.py says how each is wired).
DI_SR_BITS = (
    (hal.DI_ESTOP, 0, 1),           # NC e-stop loop: open or broken = e-stop
    (hal.DI_REMOTE_START, 1, 0),
    (hal.DI_GAS_LEAK, 2, 1),        # detector healthy contact: lost = leak
    (hal.DI_KNOCK, 3, 1),           # knock controller "no knock": lost = knock
    (hal.DI_GCB_CLOSED, 4, 1),      # breaker b-contact: lost = closed
    (hal.DI_GAS_PROVEN, 5, 0),      # lost = not proven
    (hal.DI_MB_CLOSED, 6, 1),       # breaker b-contact: lost = closed
    (hal.DI_CONFIG_EN, 7, 0),       # key switch: lost = locked
)
DI_DEBOUNCE_TICKS = const(3)        # 30 ms at 10 ms ticks
# Relays: (DO bit, 595 output Q0..Q15, active_low); Q15 spare.  All
# energise-to-act through the ULN2803A: the de-energised state is the safe one.
DO_SR_BITS = (
    (hal.DO_CRANK, 0, 0),
    (hal.DO_GAS_VALVE, 1, 0),
    (hal.DO_IGNITION, 2, 0),
    (hal.DO_PRELUBE, 3, 0),
    (hal.DO_GCB_CLOSE, 4, 0),
    (hal.DO_GCB_OPEN, 5, 0),
    (hal.DO_HORN, 6, 0),
    (hal.DO_COMMON_ALARM, 7, 0),
    (hal.DO_COMMON_SHUTDOWN, 8, 0),
    (hal.DO_READY, 9, 0),
    (hal.DO_MB_CLOSE, 10, 0),
    (hal.DO_MB_OPEN, 11, 0),
    (hal.DO_SHED_1, 12, 0),
    (hal.DO_SHED_2, 13, 0),
    (hal.DO_SHED_3, 14, 0),
)

# -- Analog senders (boards/common/senders.py) ------------------------------
# ADC_VREF is the Pico's filtered 3.3 V; the resistive senders' pull-ups
# hang on it too, so they read ratiometrically (its error cancels).
ADC_REF_MV = const(3300)
SENDER_MUX_ADC_PIN = const(26)      # ADC0 <- 74HC4051 common output
SENDER_MUX_SEL_PINS = (3, 4, 5)     # S0, S1, S2 (channels 4-7 spare)
MAP_ADC_PIN = const(27)             # ADC1: the MAP on its own, read every tick
# (name, mux channel, spec, filter shift): one channel a tick, each sampled
# every 40 ms.  Oil: VDO-style 10-184 ohm sender, 220 ohm pull-up;
# coolant: NTC, 1 kohm pull-up; gas: 4-20 mA 0-200 mbar
# transmitter on a 100 ohm shunt (2.0 V at 20 mA); battery: 100k / 10k
# divider (36.3 V full scale: a 24 V system with its charging peaks).
SENDER_MUX = (
    ("oil", 0, ("res", 220, "vdo_oil_10bar"), 2),
    ("coolant", 1, ("res", 1000, "ntc_coolant"), 3),
    ("gas", 2, ("ma", 100, 0, 200), 2),
    ("batt", 3, ("div", 100, 10), 2),
)
# (name, ADC pin, spec, filter shift).  MAP: 0.5-4.5 V TMAP, 20-400 kPa
# (0.1 kPa units), on its 5 V supply through a 10k / 20k divider (4.75 V
# -> 3.17 V); below 0.25 V is an open signal wire, above 4.75 V a short to
# the supply.  Not multiplexed and not filtered: the governor's MAP lead
# needs every tick's value.
SENDER_DIRECT = (
    ("map", MAP_ADC_PIN, ("volt", 10, 20, 500, 200, 4500, 4000, 250, 4750), 0),
)

# -- Boot and watchdog (boards/common/app.py) -------------------------------
SAFE_MODE_PIN = const(22)   # jumper to GND at boot: no autostart, stay at the REPL
WDT_TIMEOUT_MS = const(2000)    # the RP2040's WDT tops out at 8388 ms
REPL_WDT_TIMER_ID = const(-1)   # a software timer feeds the WDT after Ctrl-C
