# MicroPython freeze manifest: the GX230 firmware built into the MicroPython
# image for this board, so its code and constant tables live in flash and
# the GC heap keeps only the live state (README, Boards: freezing).  It
# freezes the board's .mpy image as `make firmware` builds it (the firmware's
# @viper functions already machine code for this CPU: host_sim/native.py),
# so build that first, then MicroPython from a checkout of the pinned
# version (v1.28.0):
#   make firmware BOARD=rp2040_pico            (in this project: build/rp2040_pico/)
#   make -C mpy-cross
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=<this file's absolute path>
# then flash it: copy build-RPI_PICO/firmware.uf2 to the RPI-RP2 drive (BOOTSEL held at power-up).
# Relative paths are relative to this file.  Not part of the board image
# (tools/build_firmware.py leaves it out); tests/test_deploy.py checks that
# it freezes exactly the image's modules.
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules
# Frozen ARMv6-M machine code is not safe with MicroPython v1.28 (its
# mpy-tool aligns it to 2 bytes; the code's literal words assume 4:
# host_sim/native.py), so the image's modules with machine code stay .mpy
# files on the board's filesystem, where the loader aligns them (tools/
# deploy.py --frozen copies them); every other module is frozen.
import os

_IMAGE = "../../build/rp2040_pico"      # the manifest runs in its own directory


def _machine_code(name):
    with open(os.path.join(_IMAGE, name), "rb") as f:
        return (f.read(4)[2] >> 2) & 0x2F != 0


freeze_mpy(_IMAGE, [f for f in sorted(os.listdir(_IMAGE))
                    if f.endswith(".mpy") and not _machine_code(f)])
