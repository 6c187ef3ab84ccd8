# MicroPython freeze manifest: the GX230 firmware built into the MicroPython
# image for this board, so its bytecode and constant tables live in flash and
# the GC heap keeps only the live state (README, Boards: freezing).  Build
# from a MicroPython checkout of the pinned version (v1.28.0):
#   make -C mpy-cross
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=<this file's absolute path>
# then flash it: copy build-RPI_PICO/firmware.uf2 to the RPI-RP2 drive (BOOTSEL held at power-up).
# Relative paths are relative to this file.  Not part of the board image
# (tools/build_firmware.py leaves it out); tests/test_deploy.py checks that
# it freezes exactly the image's modules.
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules
freeze("../../firmware")
freeze("../common")
module("board.py")
