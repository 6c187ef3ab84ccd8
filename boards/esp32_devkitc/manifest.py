# MicroPython freeze manifest: the GX230 firmware built into the MicroPython
# image for this board, so its code and constant tables live in flash and
# the GC heap keeps only the live state (README, Boards: freezing).  It
# freezes the board's .mpy image as `make firmware` builds it (the firmware's
# @viper functions already machine code for this CPU: host_sim/native.py),
# so build that first, then MicroPython from a checkout of the pinned
# version (v1.28.0):
#   make firmware BOARD=esp32_devkitc            (in this project: build/esp32_devkitc/)
#   make -C mpy-cross
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=<this file's absolute path>
# then flash it: esptool.py --chip esp32 write_flash -z 0x1000 build-ESP32_GENERIC/firmware.bin.
# Relative paths are relative to this file.  Not part of the board image
# (tools/build_firmware.py leaves it out); tests/test_deploy.py checks that
# it freezes exactly the image's modules.
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules
freeze_mpy("../../build/esp32_devkitc")  # every module of the image: firmware, boards/common, board.py
