"""A NOR flash in RAM with MicroPython's block-device protocol, that can lose
power after a given number of byte steps (tests only).

NOR as the firmware meets it on an RP2040 or ESP32:
  * erase (ioctl 6) sets a whole block to 0xFF;
  * programming (writeblocks with an offset) can only clear bits: the cell
    becomes old & new.  Programming a 1 over a 0 does nothing; that is
    counted in `set_bits`, since a store that needs it has forgotten an erase;
  * programs are whole `page`s on page boundaries (rp2's flash_range_program
    takes nothing else), inside one block; a call without an offset (the
    simple protocol's erase-and-write) is refused: the store must erase
    explicitly.

Power cut: `budget` counts byte steps (one per byte programmed, one per byte
erased).  When it runs out the operation stops at that byte - bytes before
it programmed or erased, the rest keep their old contents (an erase cut
short leaves the block partly erased; `erase_reverse` erases from the end
of the block instead of the start) - and PowerCut is raised; until
`power_on()` every call raises PowerCut.  `fail` makes every call raise
OSError instead (a device error, not a cut).
"""


_FF = b"\xff" * 4096


class PowerCut(Exception):
    pass


class RamNor:
    def __init__(self, block_size=256, blocks=4, page=64):
        assert block_size <= len(_FF)
        self.bs = block_size
        self.nb = blocks
        self.page = page
        self.mem = bytearray(b"\xff" * (block_size * blocks))
        self.budget = -1          # byte steps left before the cut; -1: no cut
        self.erase_reverse = False
        self.dead = False
        self.fail = False
        self.steps = 0            # byte steps done since power on
        self.erases = [0] * blocks
        self.programs = 0         # writeblocks calls
        self.set_bits = 0         # bytes where a program asked for a 0 -> 1

    # -- test controls ---------------------------------------------------------

    def snapshot(self):
        return bytes(self.mem)

    def restore(self, snap):
        self.mem[:] = snap
        self.power_on()

    def power_on(self):
        self.dead = False
        self.budget = -1
        self.steps = 0

    def cut_after(self, steps):
        self.budget = steps

    def _alive(self):
        if self.dead:
            raise PowerCut()
        if self.fail:
            raise OSError(5)

    def _steps(self, n):
        """Take up to n byte steps; returns how many the budget allows."""
        k = n if self.budget < 0 or self.budget >= n else self.budget
        if self.budget >= 0:
            self.budget -= k
        self.steps += k
        return k

    def _cut(self):
        self.dead = True
        raise PowerCut()

    # -- block-device protocol -------------------------------------------------

    def readblocks(self, block, buf, offset=0):
        self._alive()
        n = len(buf)
        assert 0 <= block < self.nb and 0 <= offset and offset + n <= self.bs
        a = block * self.bs + offset
        buf[:] = memoryview(self.mem)[a:a + n]

    def writeblocks(self, block, buf, offset=None):
        self._alive()
        assert offset is not None, "erase-and-write form used: erase explicitly"
        n = len(buf)
        p = self.page
        assert 0 <= block < self.nb and offset % p == 0 and n % p == 0 and \
            offset + n <= self.bs, (block, offset, n)
        self.programs += 1
        m = self.mem
        a = block * self.bs + offset
        k = self._steps(n)
        if m[a:a + k] == _FF[:k]:
            m[a:a + k] = memoryview(buf)[:k]      # onto erased cells: a plain copy
        else:
            for i in range(k):
                old = m[a + i]
                new = buf[i]
                if new & ~old & 0xFF:
                    self.set_bits += 1
                m[a + i] = old & new
        if k < n:
            self._cut()

    def ioctl(self, op, arg):
        if op == 4:
            return self.nb
        if op == 5:
            return self.bs
        if op == 6:
            self._alive()
            assert 0 <= arg < self.nb
            self.erases[arg] += 1
            bs = self.bs
            a = arg * bs
            k = self._steps(bs)
            if self.erase_reverse:
                self.mem[a + bs - k:a + bs] = _FF[:k]
            else:
                self.mem[a:a + k] = _FF[:k]
            if k < bs:
                self._cut()
            return 0
        return None
