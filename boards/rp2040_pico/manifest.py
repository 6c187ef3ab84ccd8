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
freeze_mpy("../../build/rp2040_pico")  # every module of the image: firmware, boards/common, board.py
