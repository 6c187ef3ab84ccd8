"""Espressif ESP32-DevKitC (ESP32-WROOM-32): pin map and board choices for
the GX230.

Only what differs between boards lives here (as in pybricks' platform/<board>):
pins, peripheral ids, PWM frequencies and what the boot script runs.  Engine
facts (MPU tooth count, tick period, ratings) are firmware settings in
firmware/config.py, so one board serves any set.

Read on the board by boards/common/app.py and hal_native.py, and on the host
by tools/build_firmware.py, which takes MPY_ARCH from here (parsed, never
imported): this file is the one place the board's CPU is written down.

All GPIO is 3.3 V.  Pins avoid the flash pins (6-11) and the strapping pins
(0, 2, 5, 12, 15) except the LED on GPIO2, which is harmless there.
"""

from fixpt import const  # the firmware's one const() fallback

# What main.py runs at boot.  "hil": serve the tick link on the REPL port
# (UART0 through the USB-UART bridge, 115200 baud) so a bench PC runs the
# simulated plant against this board (python -m tools.hil run SCENARIO
# --port /dev/ttyUSB0).  "native": run the controller on the pins below.
# At 115200 baud one tick's frames take ~9 ms on the wire, so HIL runs here
# are lock-step and slower than real time; that does not change the outputs.
MODE = "hil"

# mpy-cross -march for the Xtensa LX6 with windowed registers (only matters
# for @native/@viper code; plain bytecode .mpy files carry no architecture).
MPY_ARCH = "xtensawin"

# The esp32 port runs Pin IRQ handlers as scheduled (soft) callbacks: an edge
# is timestamped when the VM gets to it, tens of us late, and edges can be
# lost when the schedule queue fills.  Good enough for bench bring-up; a
# production speed input belongs on a capture peripheral (RMT / MCPWM
# capture) feeding the same two HAL inputs.
IRQ_HARD = const(0)

# GC heap MicroPython leaves the firmware on this board, bytes (32-bit): an
# ESP32-WROOM-32 without PSRAM has ~320 KB of data RAM shared with ESP-IDF,
# Wi-Fi and Bluetooth; MicroPython 1.2x grows its heap from ESP-IDF's on
# demand and ends up with ~110 KB (reported after boot, Wi-Fi off).  A
# planning figure, less certain than the RP2040's: `make firmware` checks
# the image against it on the 32-bit runtime; measure it on the board with
# gc.mem_free() after boot.  A WROVER module (4-8 MB PSRAM) has MBs.
GC_HEAP_BYTES = const(112640)

# -- Inputs ---------------------------------------------------------------
# GPIO34/35 are input-only without internal pulls: the interface board drives them.
MPU_PIN = const(34)     # speed pickup, squared up: one rising edge per ring-gear tooth
ZC_PIN = const(35)      # generator voltage zero-cross detector: one rising edge per cycle

# -- Actuator outputs (PWM, LEDC) -----------------------------------------
FUEL_PWM_PIN = const(25)    # fuel / gas valve actuator command
AVR_PWM_PIN = const(26)     # AVR set-point bias, 50 % duty = no bias
IGN_PWM_PIN = const(27)     # ignition module skip-fire (cut) command
# Fuel and AVR bias are RC-filtered to analog signals on the interface board:
# 10 kHz keeps the ripple small with a small filter (~12 bits of duty at the
# 80 MHz LEDC clock).  The ignition cut is read as a duty cycle by the
# ignition module (100 Hz: check the module's input specification).
FUEL_PWM_HZ = const(10000)
AVR_PWM_HZ = const(10000)
IGN_PWM_HZ = const(100)

# -- RS-485 (Modbus RTU slave: boards/common/rs485.py) -----------------
# UART0 is the REPL / HIL port, so Modbus gets UART2.  On a WROVER module
# GPIO16/17 belong to the PSRAM: move TX/RX to free pins such as GPIO13/33.
RS485_UART_ID = const(2)
RS485_TX_PIN = const(17)    # -> transceiver DI
RS485_RX_PIN = const(16)    # <- transceiver RO
RS485_DE_PIN = const(4)     # driver enable (DE and /RE tied), high while sending

# -- Metering IC (SPI; the driver is later work) --------------------------
METER_SPI_ID = const(2)     # VSPI
METER_SCK_PIN = const(18)
METER_MOSI_PIN = const(23)
METER_MISO_PIN = const(19)
METER_CS_PIN = const(32)    # not VSPI's default GPIO5, a strapping pin

# -- Status ----------------------------------------------------------------
LED_PIN = const(2)          # the DevKitC has no user LED: fit one (to GND) on GPIO2
