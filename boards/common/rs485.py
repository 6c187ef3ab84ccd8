"""The board's RS-485 port for the Modbus RTU slave (the hardware side of the
HAL's UART: firmware/hal.py on_uart / uart_send / uart_config).

Driver enable.  Neither the rp2 nor the esp32 port drives an RS-485 DE line
(rp2 `rts=` is flow control; esp32 never sets the IDF RS-485 mode), so DE
is a GPIO: raised, the whole reply in ONE write (piecewise writes leave DE
gaps), flush() until the last stop bit has left, then released.  rp2 before
v1.24 returns from flush() while the last byte is still shifting out, so
one character time more is waited before DE drops.

Receiving.  The UART is opened with timeout 0 and a 512-byte ring: the main
loop reads whatever arrived (`readinto`, never a blocking read) between
control ticks and hands it to the slave with the time it read it; a read
that finds nothing tells the slave the line is silent (its t3.5 gap).  Bytes
that arrive during a tick wait in the ring and are read after it: that is
not a gap, and the slave's length-from-function-code framing needs none.

No allocation per request: the receive buffer is preallocated, and the
memoryviews that let one write() send exactly n bytes of the slave's reply
buffer are made once, on the first reply.
"""

from micropython import const
from machine import Pin, UART
from time import sleep_us

_RXBUF = const(512)
_CHUNK = const(256)
_PARITY = (None, 1, 0)        # mb_parity 0 none, 1 odd, 2 even -> UART parity


class Rs485:
    def __init__(self, board, cfg):
        self._board = board
        self._de = Pin(board.RS485_DE_PIN, Pin.OUT, value=0)
        self.buf = bytearray(_CHUNK)
        self._mv = memoryview(self.buf)
        self._views = None
        self._views_of = None
        self._uart = None
        self.t_char_us = 573
        self.config(cfg.mb_baud, cfg.mb_parity, cfg.mb_stop_bits)

    def config(self, baud, parity, stop_bits):
        b = self._board
        self._uart = UART(b.RS485_UART_ID, baudrate=baud, bits=8, parity=_PARITY[parity],
                          stop=stop_bits, tx=Pin(b.RS485_TX_PIN), rx=Pin(b.RS485_RX_PIN),
                          timeout=0, timeout_char=0, rxbuf=_RXBUF)
        # One character: start, 8 data, parity or second stop, stop = 11 bits.
        self.t_char_us = 11000000 // baud + 1

    def read(self):
        """Bytes waiting in the ring, into self.buf; returns how many (0 none)."""
        u = self._uart
        if not u.any():
            return 0
        n = u.readinto(self.buf)
        return n if n else 0

    def send(self, buf, n):
        if self._views_of is not buf:
            # Once per reply buffer: a view of each length (0..len), so that
            # sending never slices.
            mv = memoryview(buf)
            self._views = [mv[0:k] for k in range(len(buf) + 1)]
            self._views_of = buf
        de = self._de
        de.value(1)
        self._uart.write(self._views[n])
        self._uart.flush()
        sleep_us(self.t_char_us)      # rp2 < 1.24: flush returns a character early
        de.value(0)

    def safe(self):
        self._de.value(0)
