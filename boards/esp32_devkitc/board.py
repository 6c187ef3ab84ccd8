"""Espressif ESP32-DevKitC (ESP32-WROOM-32): pin map and board choices for
the GX230.

Only what differs between boards lives here (as in pybricks' platform/<board>):
pins, peripheral ids, PWM frequencies and what the boot script runs.  Engine
facts (MPU tooth count, tick period, ratings) are firmware settings in
firmware/config.py, so one board serves any set.

Read on the board by boards/common/app.py and hal_native.py, and on the host
by tools/build_firmware.py, which takes MPY_ARCH from here (parsed, never
imported): this file is the one place the board's CPU is written down.

All GPIO is 3.3 V.  Pins avoid the flash pins (6-11); of the strapping pins
(0, 2, 5, 12, 15) only lines that are harmless at reset use them (the LED,
the metering CS, the sender mux selects), never a relay line.
"""

from fixpt import const  # the firmware's one const() fallback
import hal

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
# VSPI's own CS, GPIO5: its strap only sets the SDIO-slave timing, and CS
# idles high, GPIO5's own state at reset.  (It was GPIO32, now an ADC1 input.)
METER_CS_PIN = const(5)

# -- Share link between the units of a stack (issue 12) ---------------------
# Used only when the unit has a fleet id (fleet_unit_id 1..16).  The ESP32
# has a CAN controller (TWAI), but the MicroPython esp32 port has no class
# for it: the shared machine.CAN API was merged for stm32 (micropython PR
# #18572) and the esp32 one (PR #19461, opt-in per board) was still open
# when this was written, so v1.28's ESP32_GENERIC has none.  So the ESP32
# uses the same MCP2515 as the Pico (boards/common/mcp2515.py), on the
# metering IC's VSPI bus (SPI mode 1,1 for both; SCK 18, MOSI 23, MISO 19)
# with its own CS.  One pin is left for it: GPIO0.  Its strap wants it high
# at reset (run from flash), which is a CS line's idle level with the
# DevKitC's pull-up; the BOOT button (or esptool's DTR/RTS reset sequence)
# pulling it low during a reset only selects an MCP2515 that nothing clocks.
# No pin is left for INT, so a hardware timer drains the chip at 1 kHz (its
# two receive buffers hold ~1 ms of a busy bus at 250 kbit/s).  The RS-485
# option (sharebus485.py) needs three free pins (UART1 TX, RX, DE): this
# board has none; free them (e.g. by moving the LED) to use it.
SHARE_LINK = "can"
SHARE_CAN_SPI_ID = const(2)        # = METER_SPI_ID: the shared bus
SHARE_CAN_CS_PIN = const(0)        # MCP2515 /CS, idle high (= GPIO0's boot strap level)
SHARE_CAN_OSC_HZ = 8000000         # the module's crystal: 8 or 16 MHz (mcp2515.bit_timing)
SHARE_CAN_BITRATE = 250000         # 250 or 500 kbit/s, the same on every unit
SHARE_TIMER_ID = const(1)          # hardware timer 1 (0 feeds the WDT after Ctrl-C)

# -- Status ----------------------------------------------------------------
LED_PIN = const(2)          # the DevKitC has no user LED: fit one (to GND) on GPIO2

# -- Pin budget -------------------------------------------------------------
# Usable on a WROOM-32 DevKitC: 0-5, 12-19, 21-23, 25-27, 32-39 less 1 and 3
# (UART0: the REPL and HIL port); 6-11 are the module's flash; 34-39 are
# inputs only, without pulls.  The pins above leave 0, 12, 13, 14, 15, 21,
# 22, 32, 33, 36, 39.  The same interface board as the Pico's carries the
# relays and inputs on one shift-register bus (dio.ShiftIo, 5 pins) and the
# slow senders on a 74HC4051, here with S2 tied low (4 channels: the two
# select lines are all the pins allow).  ADC1 only (ADC2 stops working
# while Wi-Fi is on): 32 and 36 analog, 33 the bus data (it has the
# internal pull-down), 39 (input-only) the safe-mode jumper, read once at
# boot (36 and 39 see a short low glitch whenever ADC1 powers up, so
# neither carries a digital input read while the senders run).  GPIO0
# carries no input and no relay line: the BOOT button shorts it to ground,
# and low at reset it selects the ROM bootloader; the share link's MCP2515
# CS, an output that idles high, is the one line that suits it.
# Strapping pins carry no relay line: 12 (must be low at reset or the
# flash runs at 1.8 V: a mux select input loads nothing, never fit a
# pull-up there) and 15 are the mux selects.

# -- I/O bus: relays and digital inputs (boards/common/dio.py) --------------
XIO_CLK_PIN = const(13)     # 595 SRCLK + 165 CLK
XIO_SER_PIN = const(14)     # 595 SER (toggles during the ROM boot: harmless, nothing latches)
XIO_LATCH_PIN = const(21)   # 595 RCLK + 165 SH/LD; 10k pull-up on the interface board (idle high)
XIO_OE_PIN = const(22)      # 595 /OE, 10k pull-up on the interface board: relays off through any reset
XIO_QH_PIN = const(33)      # 165 QH (internal pull-down: an open line reads "every wire broken")
# Inputs: (DI bit, 165 input A..H = 0..7, active_low), as on the Pico.
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
# Relays: (DO bit, 595 output Q0..Q15, active_low); Q15 spare.
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
# read_u16 with 11 dB attenuation: nominally 0-3.3 V, but the ESP32's ADC
# reads nothing below ~0.15 V and bends above ~2.5 V, and read_u16 is not
# calibrated: calibrate ADC_REF_MV per board against a meter.  So every
# signal here is kept inside ~0.2-2.2 V: 4-20 mA on 100 ohm shunts (0.36 V
# open threshold, 2.1 V short threshold) instead of resistive senders,
# whose ratiometric trick needs a pull-up on the ADC's own reference, which
# the ESP32 does not bring out, and whose hot / open ends sit at the rails.
ADC_REF_MV = const(3300)
ADC_ATTN = "ATTN_11DB"
SENDER_MUX_ADC_PIN = const(32)      # ADC1_CH4 <- 74HC4051 common output
SENDER_MUX_SEL_PINS = (12, 15)      # S0, S1 (S2 tied low: channels 0-3)
MAP_ADC_PIN = const(36)             # ADC1_CH0 (input-only): the MAP on its own, read every tick
# (name, mux channel, spec, filter shift), each sampled every 40 ms.
# Oil 0-1000 kPa, coolant 0-150.0 degC (a PT100 head transmitter), gas
# 0-200 mbar: 4-20 mA; battery: 100k / 6.8k divider (32 V -> 2.04 V).
SENDER_MUX = (
    ("oil", 0, ("ma", 100, 0, 1000), 2),
    ("coolant", 1, ("ma", 100, 0, 1500), 3),
    ("gas", 2, ("ma", 100, 0, 200), 2),
    ("batt", 3, ("div", 1000, 68), 2),
)
# MAP: 0.5-4.5 V TMAP, 20-400 kPa (0.1 kPa units), through a 15k / 10k
# divider (4.75 V -> 1.9 V); below 0.25 V open, above 4.75 V a short.
SENDER_DIRECT = (
    ("map", MAP_ADC_PIN, ("volt", 15, 10, 500, 200, 4500, 4000, 250, 4750), 0),
)

# -- Boot and watchdog (boards/common/app.py) -------------------------------
# Input-only GPIO39, 10k pull-up on the interface board (it has no internal
# one; a bare DevKitC's floating pin may read low: then it stays at the REPL).
SAFE_MODE_PIN = const(39)
SAFE_MODE_PULL_UP = const(0)    # input-only: no internal pull to switch on
WDT_TIMEOUT_MS = const(2000)
REPL_WDT_TIMER_ID = const(0)    # hardware timer 0 (the esp32 port has no virtual timers)
