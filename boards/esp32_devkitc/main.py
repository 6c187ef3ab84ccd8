# Boot entry for the ESP32-DevKitC (ESP32).  MicroPython runs main.py
# from source, compiling it on the board at every boot, so it stays this
# small: board.py (precompiled, like everything else) says what to run and
# app.py runs it.
import board
import app

app.run(board)
