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

# -- Status ----------------------------------------------------------------
LED_PIN = const(25)         # on-board LED (the Pico W has it on the radio chip instead)
