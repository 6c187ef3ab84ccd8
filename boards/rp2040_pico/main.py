# Boot entry for the Raspberry Pi Pico (RP2040).  MicroPython runs main.py
# from source, compiling it on the board at every boot, so it stays this
# small: board.py (precompiled, like everything else) says what to run and
# app.py runs it, unless the safe-mode jumper (board.SAFE_MODE_PIN to
# ground) is fitted: then it says so and stays at the REPL.  No boot.py:
# MicroPython runs main.py after boot.py whatever boot.py does, so the
# safe-mode check has to live here anyway.
import board
import app

if not app.safe_mode(board):
    app.run(board)
