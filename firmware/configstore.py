"""Configuration in flash: two slots, so a power cut at any moment leaves the
last completed save (or the one before it) readable, never a mix.

The store sits on anything with MicroPython's block-device protocol
(readblocks(block, buf, offset) / writeblocks(block, buf, offset) /
ioctl(op, arg): 4 block count, 5 block size, 6 erase block): a raw flash
region (rp2.Flash, esp32.Partition) or, the fallback, FileBlockDev below on
the board's littlefs.  The device (or `blocks` of it from `first_block`) is
cut in two equal slots of whole erase blocks.  Writes always use the offset
form (program only, never erase-and-write) in whole `page`s on page
boundaries: rp2's flash_range_program takes nothing else.

Slot layout (offsets in the slot; little endian; P = page, S = slot bytes):
  0   magic "GXCF" (the table's: "GXPR" for prottable's protection rows)
  4   format version (VERSION), u8
  5   0 (reserved), u8
  6   seq, u16: +1 per save, wraps; newer = 0 < (a - b) mod 2**16 < 2**15
  8   n, u16: settings stored (config.SETTINGS[0:n], in table order)
  10  table id, u16: CRC-16 of the first n setting names joined by ","
      (= config.settings_crc() when n is the whole table)
  12  saves, i32: saves this store has had in its life (wear record)
  16  n values, i32 each
  16 + 4n  CRC-16/MODBUS of bytes 0 .. 16 + 4n - 1
  then 0xFF up to S - P
  S - P   commit mark a5 c3 5a 3c, then 0xFF to the end of the slot
Anything in a slot other than exactly this (a byte outside the record that
is not 0xFF included) makes the slot unusable.

Save (to the slot NOT holding the configuration in use), each step a
separate device call that completes before the next starts:
  1. clear the target's commit mark to 00 00 00 00 (NOR: clearing bits
     needs no erase), so whatever the erase leaves can never pass as a slot;
  2. erase the target's blocks;
  3. program header + values + CRC;
  4. program the commit mark, last.
The other slot is not touched.  A cut before step 4 completes leaves the
target without a complete commit mark, so load ignores it and applies the
other slot; a cut after it, the new configuration.  The commit mark (and
not the CRC alone) is what makes that certain: a torn record could match its
CRC by chance (1 in 65536), it cannot grow a mark that was never written.
The CRC is there for what happens to flash later (bit rot, disturb): CRC-16
detects every error burst of up to 16 bits - any one damaged byte - in a
record this size, and the values still pass Config.set_many's range and
relation checks before use.  CRC-32 would lower the chance of missing a
multi-byte scramble from 2**-16 to 2**-32 but needs a second 1 KB table or a
slow bitwise loop; the commit mark already covers the failure a power cut
causes, so CRC-16 (crc16.py, shared with Modbus and the link) is the choice.

Load: both slots are checked; of the intact ones the newest (seq) is tried
first.  Its values go to Config.set_many as one change: if refused (out of
range, inconsistent), nothing of it is applied and the other slot is tried;
if neither applies, factory defaults, with `reason` (R_*) and `detail`.

Migration: the setting table only grows by appending (config.py).  A slot
of n < len(SETTINGS) settings whose table id matches the CRC of this
firmware's first n names loads with the newer settings at their defaults
(`migrated` = how many).  A table id that does not match (a setting renamed
or moved), more settings than this firmware knows (written by a newer one)
or another format version is R_FOREIGN: not applied.

Wear: a save erases the target slot's blocks once; the slots alternate.
`poll()` is the rate-limited saver for the controller's quiet point.
Integer only; the same bytes on CPython and MicroPython.
"""

from array import array
import os

from fixpt import const, put_i32_le, get_i32_le
from crc16 import crc16
from config import SETTINGS

VERSION = const(1)
HDR_BYTES = const(16)
N_SETTINGS = len(SETTINGS)
_COMMIT = b"\xa5\xc3\x5a\x3c"
_SEQ_MASK = const(0xFFFF)
_SEQ_HALF = const(0x8000)
_T_MASK = const(0x3FFFFFFF)
_INT_MAX = const(1073741823)

# load() reasons
R_OK = const(0)          # the newest intact slot applied; the other slot intact or empty
R_OK_OTHER_BAD = const(1)  # a slot applied; the other is torn, damaged, refused or foreign (detail)
R_NO_CONFIG = const(2)   # nothing stored (erased, or discarded by factory_reset): defaults
R_CORRUPT = const(3)     # what is stored is torn or damaged: defaults
R_REFUSED = const(4)     # an intact slot's values were refused (detail names the setting): defaults
R_FOREIGN = const(5)     # another format or a setting table this firmware cannot map: defaults
R_IO_ERROR = const(6)    # the device raised OSError: defaults
REASONS = ("ok", "ok, other slot bad", "no config", "corrupt", "refused", "foreign",
           "I/O error")

# slot states (slot_state())
S_UNKNOWN = const(0)     # not read yet, or being rewritten, or unreadable
S_EMPTY = const(1)       # erased, or its commit mark cleared (discarded)
S_CORRUPT = const(2)     # torn by a cut or damaged
S_FOREIGN = const(3)
S_INTACT = const(4)      # intact, not (yet) applied
S_REFUSED = const(5)     # intact, values refused by Config.set_many
S_APPLIED = const(6)     # holds the configuration in use




def _get16(b, o):
    return b[o] | (b[o + 1] << 8)


def table_id(n, table=None):
    """CRC-16 of the first n names of the table joined by ",": what a slot of
    n values must carry (for config.SETTINGS, the default,
    table_id(N_SETTINGS) == config.settings_crc())."""
    t = table or _SETTINGS_TABLE
    b = ",".join([t.name(i) for i in range(n)]).encode()
    return crc16(b, 0, len(b))


class SettingsTable:
    """What the store keeps, as it sees it: config.SETTINGS in a Config.
    Another table (prottable.ProtectionTable) gives the same members: magic
    (4 bytes: a slot of another table is never taken for this one), n,
    defaults, name(i), get(obj, i) (allocation free), apply(obj, values)
    (all or nothing: None, or one line naming the value refused), fallback(obj)
    (nothing usable stored) and reset(obj) (factory defaults)."""
    magic = b"GXCF"

    def __init__(self):
        self.n = N_SETTINGS
        self.defaults = array("i", [s[1] for s in SETTINGS])

    def name(self, i):
        return SETTINGS[i][0]

    def get(self, cfg, i):
        return getattr(cfg, SETTINGS[i][0])

    def apply(self, cfg, values):
        # Only the values that differ from cfg's go to set_many (cfg's own
        # passed it already); the relations are checked on the whole set.
        pairs = []
        for i in range(N_SETTINGS):
            if values[i] != getattr(cfg, SETTINGS[i][0]):
                pairs.append((SETTINGS[i][0], values[i]))
        return cfg.set_many(pairs)

    def reset(self, cfg):
        self.apply(cfg, self.defaults)

    fallback = reset


_SETTINGS_TABLE = SettingsTable()


def newer(a, b):
    """seq a is newer than seq b (serial-number arithmetic, 16 bits)."""
    d = (a - b) & _SEQ_MASK
    return 0 < d < _SEQ_HALF


def _roundup(n, p):
    return (n + p - 1) // p * p


class ConfigStore:
    """At boot: `st = ConfigStore(dev)`, `st.load(cfg)` into a fresh Config.
    At a quiet point: `st.poll(cfg, now_ms)` saves a changed configuration,
    rate limited.  `save(cfg)` and `factory_reset(cfg)` do it at once.
    Device errors surface as OSError from save / factory_reset (poll counts
    them in `errors`); load never raises on content or device errors."""

    def __init__(self, dev, page=256, first_block=0, blocks=0,
                 settle_ms=10000, min_interval_ms=600000, check_ms=1000, table=None):
        t = table or _SETTINGS_TABLE
        self._t = t
        self._nt = t.n
        self._tid = table_id(t.n, t)
        bs = dev.ioctl(5, 0)
        nb = dev.ioctl(4, 0)
        if not blocks:
            blocks = nb - first_block
        if page < 8 or bs % page or blocks < 2 or first_block < 0 or \
                first_block + blocks > nb:
            raise ValueError("geometry")
        self._dev = dev
        self._bs = bs
        self._p = page
        self._sb = blocks // 2                       # blocks per slot
        self._b0 = first_block
        self._ss = self._sb * bs                     # slot bytes
        self._dlen = _roundup(HDR_BYTES + 4 * t.n + 2, page)
        if self._dlen + page > self._ss:
            raise ValueError("slot too small")
        self._buf = bytearray(self._dlen)            # record staging (save, check)
        self._mv = memoryview(self._buf)
        self._pg = bytearray(page)                   # one page (marks, 0xFF checks)
        self._pmv = memoryview(self._pg)
        self._ff = b"\xff" * page
        self._img = array("i", t.defaults)           # values of the config in use
        self._st = bytearray(2)                      # S_* per slot
        self._sq = array("i", [-1, -1])              # seq read from a CRC-checked header
        self._n = array("i", [0, 0])
        self._saves = array("i", [0, 0])
        self._why = [None, None]
        self._scanned = False
        self._held = -1                              # slot whose record _buf holds
        self.slot = -1          # slot holding the configuration in use, -1: defaults
        self.reason = R_NO_CONFIG
        self.detail = None      # one line: why a slot was not used
        self.migrated = 0       # settings the applied slot did not hold (defaults used)
        self.saves = 0          # life saves of the store (from the newest intact slot)
        self.errors = 0         # poll(): saves that failed with OSError
        self._settle = settle_ms
        self._min = min_interval_ms
        self._chk_ms = check_ms
        self._t_chk = -1
        self._t_dirty = -1
        self._t_save = -1

    # -- device access -------------------------------------------------------

    def _xfer(self, slot, off, mv, write):
        """Read or program mv at byte `off` of `slot`, one call per erase block."""
        bs = self._bs
        pos = (self._b0 + slot * self._sb) * bs + off
        n = len(mv)
        done = 0
        while done < n:
            blk = pos // bs
            o = pos - blk * bs
            k = bs - o
            if k > n - done:
                k = n - done
            part = mv if k == n else mv[done:done + k]
            if write:
                self._dev.writeblocks(blk, part, o)
            else:
                self._dev.readblocks(blk, part, o)
            done += k
            pos += k

    def _mark(self, slot, mark):
        """Program the commit page: `mark` (4 bytes) then 0xFF."""
        pg = self._pg
        for i in range(self._p):
            pg[i] = 0xFF
        for i in range(4):
            pg[i] = mark[i]
        self._xfer(slot, self._ss - self._p, self._pmv, True)

    def _erase(self, slot):
        b = self._b0 + slot * self._sb
        for j in range(self._sb):
            self._dev.ioctl(6, b + j)

    def _ff_from(self, slot, at, end):
        """Bytes at..end-1 of the slot are all 0xFF (read a page at a time)."""
        p = self._p
        pg = self._pg
        while at < end:
            k = p - at % p                 # up to the next page boundary
            if k > end - at:
                k = end - at
            if k == p:
                self._xfer(slot, at, self._pmv, False)
                if pg != self._ff:
                    return False
            else:
                self._xfer(slot, at, self._pmv[:k], False)
                for i in range(k):
                    if pg[i] != 0xFF:
                        return False
            at += k
        return True

    # -- checking a slot -------------------------------------------------------

    def _check(self, k):
        """Classify slot k (S_*); an intact slot's record is left in _buf and
        its seq, n and saves noted."""
        self._held = -1
        self._sq[k] = -1
        self._saves[k] = 0
        self._why[k] = None
        st = self._classify(k)
        self._st[k] = st
        if st == S_INTACT:
            self._held = k              # _buf holds slot k's record
        return st

    def _bad(self, k, why):
        self._why[k] = why
        return S_CORRUPT

    def _classify(self, k):
        p = self._p
        ss = self._ss
        pg = self._pg
        b = self._buf
        self._xfer(k, ss - p, self._pmv, False)
        erased = True
        cleared = False
        for i in range(4):
            if pg[i] != 0xFF:
                erased = False
            if pg[i] == 0:
                cleared = True
        if cleared:
            # No byte of the mark is 00, and damage to a byte of it never
            # clears all its bits: a discard (save or factory_reset) began.
            return S_EMPTY
        if erased:
            for i in range(4, p):
                if pg[i] != 0xFF:
                    return self._bad(k, "torn or damaged commit page")
            if self._ff_from(k, 0, ss - p):
                return S_EMPTY
            return self._bad(k, "torn: never committed")
        for i in range(4):
            if pg[i] != _COMMIT[i]:
                return self._bad(k, "damaged commit mark")
        for i in range(4, p):
            if pg[i] != 0xFF:
                return self._bad(k, "damaged commit page")
        self._xfer(k, 0, self._mv[:HDR_BYTES], False)
        mg = self._t.magic
        for i in range(4):
            if b[i] != mg[i]:
                return self._bad(k, "damaged header")
        n = _get16(b, 8)
        if n == 0 or HDR_BYTES + 4 * n + 2 > ss - p:
            return self._bad(k, "damaged header")
        if n > self._nt:
            # More than _buf holds, so no CRC check: never applied anyway.
            if b[4] != VERSION:
                self._why[k] = "format version %d (this firmware reads %d)" % (b[4], VERSION)
            else:
                self._why[k] = "%d settings stored, this firmware knows %d (newer table)" % (
                    n, self._nt)
            return S_FOREIGN
        end = HDR_BYTES + 4 * n
        self._xfer(k, HDR_BYTES, self._mv[HDR_BYTES:end + 2], False)
        c = crc16(b, 0, end)
        if b[end] != (c & 0xFF) or b[end + 1] != (c >> 8):
            return self._bad(k, "CRC mismatch")
        if not self._ff_from(k, end + 2, ss - p):
            return self._bad(k, "stray bytes after the record")
        if b[4] != VERSION or b[5] != 0:
            self._why[k] = "format version %d.%d (this firmware reads %d.0)" % (
                b[4], b[5], VERSION)
            return S_FOREIGN
        sv = get_i32_le(b, 12)
        if sv is None or sv < 0:
            return self._bad(k, "damaged header")
        self._sq[k] = _get16(b, 6)
        self._n[k] = n
        self._saves[k] = sv
        tid = _get16(b, 10)
        if tid != (self._tid if n == self._nt else table_id(n, self._t)):
            self._why[k] = ("setting table %04x is not this firmware's first %d settings"
                            % (tid, n))
            return S_FOREIGN
        return S_INTACT

    def _scan(self):
        for k in range(2):
            try:
                self._check(k)
            except OSError as e:
                self._st[k] = S_UNKNOWN
                self._why[k] = "read error %s" % (e,)
        self._scanned = True

    def slot_state(self, k):
        return self._st[k]

    def slot_why(self, k):
        """One line on why slot k is not usable (None if it is)."""
        return self._why[k]

    def slot_seq(self, k):
        """seq of slot k, -1 if its header was not CRC-checked."""
        return self._sq[k]

    # -- load ------------------------------------------------------------------

    def _apply(self, cfg, k):
        """Apply the record in _buf (slot k) to cfg as one change (the
        table's apply: all or nothing); None if applied, else the reason
        (naming the value).  Values the slot does not hold take their
        defaults."""
        b = self._buf
        n = self._n[k]
        t = self._t
        vals = []
        for i in range(self._nt):
            if i < n:
                v = get_i32_le(b, HDR_BYTES + 4 * i)
                if v is None:
                    return "%s: stored value outside the integer range" % (t.name(i),)
            else:
                v = t.defaults[i]
            vals.append(v)
        return t.apply(cfg, vals)

    def _take(self, cfg):
        im = self._img
        t = self._t
        for i in range(self._nt):
            im[i] = t.get(cfg, i)

    def load(self, cfg):
        """Apply the stored configuration to cfg (a Config), or factory
        defaults.  Returns and keeps `reason` (R_*); `detail` says why a slot
        was not used, `slot` which one is in use (-1: defaults)."""
        self.slot = -1
        self.detail = None
        self.migrated = 0
        self._scan()
        st = self._st
        order = (0, 1)
        if st[0] == S_INTACT and st[1] == S_INTACT and newer(self._sq[1], self._sq[0]):
            order = (1, 0)
        if st[0] != S_INTACT and st[1] == S_INTACT:
            order = (1, 0)
        for k in order:
            if st[k] != S_INTACT:
                continue
            try:
                if k != self._held and self._check(k) != S_INTACT:   # refill _buf
                    continue
            except OSError as e:
                st[k] = S_UNKNOWN
                self._why[k] = "read error %s" % (e,)
                continue
            why = self._apply(cfg, k)
            if why is not None:
                st[k] = S_REFUSED
                self._why[k] = why
                continue
            st[k] = S_APPLIED
            self.slot = k
            self.saves = self._saves[k]
            self.migrated = self._nt - self._n[k]
            break
        if self.slot >= 0:
            o = 1 - self.slot
            self.reason = R_OK if st[o] in (S_EMPTY, S_INTACT) else R_OK_OTHER_BAD
            if self._why[o] is not None:
                self.detail = "slot %d: %s" % (o, self._why[o])
        else:
            self._t.fallback(cfg)
            self.saves = max(self._saves[0], self._saves[1])
            r = R_NO_CONFIG
            for want, code in ((S_REFUSED, R_REFUSED), (S_FOREIGN, R_FOREIGN),
                               (S_UNKNOWN, R_IO_ERROR), (S_CORRUPT, R_CORRUPT)):
                if st[0] == want or st[1] == want:
                    r = code
                    k = 0 if st[0] == want else 1
                    self.detail = "slot %d: %s" % (k, self._why[k])
                    break
            self.reason = r
        self._take(cfg)
        return self.reason

    # -- save ------------------------------------------------------------------

    def _target(self):
        if self.slot >= 0:
            return 1 - self.slot
        st = self._st
        for k in range(2):      # a slot holding nothing usable
            if st[k] in (S_UNKNOWN, S_EMPTY, S_CORRUPT):
                return k
        # both intact but unusable (refused, foreign): keep the newer
        if self._sq[0] >= 0 and self._sq[1] >= 0 and newer(self._sq[0], self._sq[1]):
            return 1
        return 0

    def save(self, cfg):
        """Write cfg to the slot not in use (see the module doc for the order).
        Returns the slot written.  OSError from the device propagates; the
        slot in use is untouched either way."""
        if not self._scanned:
            self._scan()
        t = self._target()
        o = 1 - t
        base = self._sq[o] if self._sq[o] >= 0 else self._sq[t]
        seq = (base + 1) & _SEQ_MASK if base >= 0 else 1
        sv = self.saves + 1 if self.saves < _INT_MAX else _INT_MAX
        b = self._buf
        self._held = -1
        tb = self._t
        mg = tb.magic
        nt = self._nt
        tid = self._tid
        for i in range(4):
            b[i] = mg[i]
        b[4] = VERSION
        b[5] = 0
        b[6] = seq & 0xFF
        b[7] = seq >> 8
        b[8] = nt & 0xFF
        b[9] = nt >> 8
        b[10] = tid & 0xFF
        b[11] = tid >> 8
        put_i32_le(b, 12, sv)
        at = HDR_BYTES
        for i in range(nt):
            put_i32_le(b, at, tb.get(cfg, i))
            at += 4
        c = crc16(b, 0, at)
        b[at] = c & 0xFF
        b[at + 1] = c >> 8
        for i in range(at + 2, self._dlen):
            b[i] = 0xFF
        self._st[t] = S_UNKNOWN
        self._sq[t] = -1
        self._why[t] = None
        self._mark(t, b"\x00\x00\x00\x00")          # 1. discard
        self._erase(t)                              # 2. erase
        self._xfer(t, 0, self._mv, True)            # 3. record
        self._mark(t, _COMMIT)                      # 4. commit
        self._st[t] = S_APPLIED
        self._sq[t] = seq
        self._n[t] = nt
        self._saves[t] = sv
        if self._st[o] == S_APPLIED:
            self._st[o] = S_INTACT
        self.slot = t
        self.saves = sv
        self.migrated = 0
        self._take(cfg)
        return t

    def factory_reset(self, cfg=None):
        """Discard both slots (the one not in use first), then erase them;
        cfg (if given) goes back to factory defaults.  A cut leaves either
        the configuration in use or nothing (R_NO_CONFIG)."""
        first = 1 if self.slot == 0 else 0
        for k in (first, 1 - first):
            self._st[k] = S_UNKNOWN
            self._mark(k, b"\x00\x00\x00\x00")
        for k in (first, 1 - first):
            self._erase(k)
        for k in range(2):
            self._st[k] = S_EMPTY
            self._sq[k] = -1
            self._why[k] = None
        self._scanned = True
        self.slot = -1
        self.reason = R_NO_CONFIG
        self.detail = None
        im = self._img
        d = self._t.defaults
        for i in range(self._nt):
            im[i] = d[i]
        if cfg is not None:
            self._t.reset(cfg)

    # -- the quiet-point saver -------------------------------------------------

    def differs(self, cfg):
        """cfg differs from the configuration last loaded or saved.
        Allocation free."""
        im = self._img
        t = self._t
        for i in range(self._nt):
            if t.get(cfg, i) != im[i]:
                return True
        return False

    def poll(self, cfg, now_ms, allow=True):
        """Call at the controller's quiet point.  Compares cfg with what is
        stored at most every check_ms; a change is saved once settle_ms have
        passed since it was first seen (a burst of writes becomes one save),
        and saves are at least min_interval_ms apart (the first after boot
        excepted).  allow=False defers a due save.  Returns True if it saved.
        Allocation free when nothing is saved; needs calling at least every
        12 days (wrapped-time stamps)."""
        now = now_ms & _T_MASK
        if self._t_chk >= 0 and ((now - self._t_chk) & _T_MASK) < self._chk_ms:
            return False
        self._t_chk = now
        if self._t_save >= 0 and ((now - self._t_save) & _T_MASK) >= self._min:
            self._t_save = -1
        if not self.differs(cfg):
            self._t_dirty = -1
            return False
        if self._t_dirty < 0:
            self._t_dirty = now
        if ((now - self._t_dirty) & _T_MASK) < self._settle or self._t_save >= 0 \
                or not allow:
            return False
        self._t_save = now                 # a failure counts too: wear first
        try:
            self.save(cfg)
        except OSError:
            if self.errors < _INT_MAX:
                self.errors += 1
            return False
        self._t_dirty = -1
        return True


class FileBlockDev:
    """The block-device protocol on a file: the store's fallback on a
    board's littlefs (or a host file).  Created erased (0xFF) when missing
    or of another size.  Erase writes 0xFF; every write is flushed (on
    littlefs, an atomic commit) before it returns, so the store's write
    order holds on the file too.  Keep the geometry fixed for a given file:
    the slots' places follow from it."""

    def __init__(self, path, block_size=1024, blocks=2):
        self._bs = block_size
        self._nb = blocks
        size = block_size * blocks
        try:
            have = os.stat(path)[6]
        except OSError:
            have = -1
        if have != size:
            f = open(path, "wb")
            try:
                ff = b"\xff" * 256
                left = size
                while left > 0:
                    k = 256 if left > 256 else left
                    f.write(ff if k == 256 else ff[:k])
                    left -= k
            finally:
                f.close()
        self._f = open(path, "r+b")
        self._ffb = b"\xff" * block_size

    def readblocks(self, block, buf, offset=0):
        f = self._f
        f.seek(block * self._bs + offset)
        mv = memoryview(buf)
        got = 0
        want = len(buf)
        while got < want:
            n = f.readinto(mv[got:])
            if not n:
                raise OSError(5)
            got += n

    def writeblocks(self, block, buf, offset=0):
        f = self._f
        f.seek(block * self._bs + offset)
        n = f.write(buf)
        if n is not None and n != len(buf):
            raise OSError(28)
        self._sync()

    def _sync(self):
        f = self._f
        f.flush()
        fsync = getattr(os, "fsync", None)   # CPython; MicroPython's flush syncs
        if fsync is not None:
            fsync(f.fileno())

    def ioctl(self, op, arg):
        if op == 4:
            return self._nb
        if op == 5:
            return self._bs
        if op == 6:
            self.writeblocks(arg, self._ffb, 0)
            return 0
        return 0

    def close(self):
        self._f.close()
