"""Event log: alarms, state changes and commands, kept in RAM and persisted
to flash in a way that survives a power cut without wearing the flash out.

Why it is built this way: the control tick logs events and must not allocate
or touch flash, so `log()` only stores five ints into a preallocated RAM ring
(one array per field, `capacity` entries, 512 by default - commercial
controllers keep 150-1000).  Persistence happens in `flush()`, called outside
the tick at a quiet point, and is rate limited because every flash write
wears the part.

Entry fields (what `read()` copies out, in this order, F_* indices):
  seq     0..seq_mod-1, +1 per entry, continued across power cycles from the
          highest seq found in the store (seq_mod is the largest multiple of
          capacity <= 2**30-1; it wraps there, order is kept across the wrap)
  boot    boot counter: +1 each time `load()` rebuilds the log from the store
  t_ms    controller time in ms, 0..2**30-1, wraps
  code    event code 0..65535 (alarm codes live elsewhere; EV_* below)
  value   signed, clamped into the small-int range -2**30..2**30-1

Store format (little endian), store_size(capacity) bytes (10,256 for 512):
  header, 16 bytes: "GXEL", version, record size, capacity (u16),
                    boot (i32), 2 reserved, CRC-16 of bytes 0..13
  record slots, 20 bytes each, slot = seq % capacity:
                    seq, boot, t_ms, value (i32 each), code (u16),
                    CRC-16/MODBUS (crc16.crc16) of bytes 0..17
A flush writes only the slots of the entries logged since the last flush
(one write per contiguous run of up to 32 records), then syncs.  The header
is written once per boot, by `load()`.  Every record is checked on its own
(CRC, ranges, slot = seq % capacity), so a power cut mid-flush costs only the
record it tore: load skips it, reports it as EV_LOG_LOST and zeroes the slot
so it is reported once.  Load never raises on content: a file with no valid
header and no valid record (foreign, garbage), or a log of another format or
capacity, is wiped and started afresh; a torn header alone keeps the records
(the boot count then comes from their boot stamps).  The seqs of entries lost
in a power cut are handed out again after the reload; (boot, seq) identifies
an event uniquely.

Wear bound (defaults: min_interval_ms = 300000, max_forced_per_hour = 12,
capacity = 512):
  * normal flushes are at least min_interval_ms apart: <= 12 per hour;
  * forced flushes (the controller forces one after logging a shutdown-class
    alarm) are capped at max_forced_per_hour in any rolling hour: <= 12;
  * so <= 24 flushes (24 syncs) per hour; a flush with nothing pending
    writes nothing.  Plus one 16-byte header write and sync per boot.
  * bytes: a flush writes 20 bytes per entry logged since the previous one,
    at most capacity entries: worst case 24 x 512 x 20 = 245,760 bytes per
    hour (only when > 512 events arrive between flushes); otherwise 20 bytes
    per event logged.
  * on littlefs (copy-on-write: changing a block rewrites it and the rest of
    the file) a flush rewrites at most the 3 blocks of 4 KiB of the file plus
    metadata: measured <= 6 block erases per flush on MicroPython's littlefs
    v2 (tests/test_eventlog_files.py), so <= 24 x 6 = 144 erases per hour,
    spread by littlefs over the free blocks.  300 free blocks rated 100k
    cycles last >= 300 x 100000 / 144 = 208,000 hours (23 years) at that
    worst case; a boot costs one more such commit (the header).
Consequence: a power cut loses the entries logged since the last flush, at
most min_interval_ms (5 min) worth.  Shutdowns survive because the controller
forces a flush right after logging one, unless max_forced_per_hour forced
flushes were already spent in the last hour; then they wait for the next
normal flush (<= 5 min).  If more than capacity entries arrive between two
flushes (or the store keeps failing), the ones that roll off the RAM ring
unpersisted are counted and reported in one EV_LOG_LOST entry.
The rate limiter compares wrapped t_ms; it needs flush() called at least once
every 12 days (2**30 ms) to tell "long ago" from "just now".
"""

from array import array
import os

from fixpt import const, put_i32_le, get_i32_le
from crc16 import crc16

EV_BOOT = const(1)        # logged by load(); value = entries recovered from the store
EV_LOG_LOST = const(2)    # value = entries a failed/short store (or a torn record) lost
EV_CONFIG_LOAD = const(3)  # logged at boot on a board: value = configstore.R_* (0 = loaded)
EV_CONFIG_SAVED = const(4)  # a changed configuration was saved to flash: value = the store's life saves
EV_BOARD_ERROR = const(5)  # a board's unhandled error, before its reset: value = the line it was raised at
EV_PROT_LOAD = const(6)    # the protection rows loaded at boot on a board: value = configstore.R_*
EV_PROT_SAVED = const(7)   # changed protection rows saved to flash: value = that store's life saves

F_SEQ = const(0)          # read() order: seq, boot, t_ms, code, value
F_BOOT = const(1)
F_T_MS = const(2)
F_CODE = const(3)
F_VALUE = const(4)

VERSION = const(1)
HDR_BYTES = const(16)
REC_BYTES = const(20)
_CRC_AT = const(18)       # record bytes 0..17 are covered by the CRC at 18..19
_CHUNK = const(32)        # records per store write (640-byte staging buffer)
_T_MASK = const(0x3FFFFFFF)
_INT_MAX = const(1073741823)    # 2**30 - 1
_INT_MIN = const(-1073741823 - 1)  # -2**30 (as a sum: see registers.NA)
_HOUR_MS = const(3600000)
_MAGIC = b"GXEL"


def store_size(capacity=512):
    """Bytes a store needs for a log of `capacity` entries."""
    return HDR_BYTES + capacity * REC_BYTES




class FileStore:
    """A store on a file: littlefs on a board, the unix port, CPython.

    The file is created zero-filled at `size` bytes if missing or of another
    size; its content is not trusted (EventLog checks every record).  The
    constructor raises OSError if the file cannot be opened or created (the
    caller may then run the log RAM-only); later I/O errors surface as
    OSError, which EventLog counts and survives."""

    def __init__(self, path, size):
        self._size = size
        try:
            have = os.stat(path)[6]
        except OSError:
            have = -1
        if have != size:
            f = open(path, "wb")
            try:
                z = bytearray(256)
                left = size
                while left > 0:
                    k = 256 if left > 256 else left
                    f.write(z if k == 256 else memoryview(z)[:k])
                    left -= k
            finally:
                f.close()
        self._f = open(path, "r+b")

    def size(self):
        return self._size

    def read(self, offset, buf):
        """Fill buf (bytearray or memoryview) from offset."""
        f = self._f
        f.seek(offset)
        mv = memoryview(buf)
        got = 0
        want = len(buf)
        while got < want:
            n = f.readinto(mv[got:])
            if not n:
                raise OSError(5)   # EIO: file shorter than it should be
            got += n

    def write(self, offset, data):
        f = self._f
        f.seek(offset)
        n = f.write(data)
        if n is not None and n != len(data):
            raise OSError(28)      # ENOSPC: short write

    def sync(self):
        f = self._f
        f.flush()
        fsync = getattr(os, "fsync", None)   # CPython; MicroPython's flush syncs
        if fsync is not None:
            fsync(f.fileno())

    def close(self):
        self._f.close()


class EventLog:
    """At boot: `EventLog(FileStore(path, store_size()))`, then `load(now_ms)`.
    In the tick: `log()`.  At a quiet point: `flush(now_ms, force)`.  Without
    a store the log lives in RAM only and flush() does nothing."""

    def __init__(self, store=None, capacity=512, min_interval_ms=300000,
                 max_forced_per_hour=12):
        if not 1 <= capacity <= 0xFFFF:
            raise ValueError("capacity")
        if store is not None and store.size() < store_size(capacity):
            raise ValueError("store too small")
        self._store = store
        self._cap = capacity
        self._seq_mod = (_INT_MAX // capacity) * capacity
        self._half = self._seq_mod >> 1
        # One array per field (2 KB each at 512 entries) rather than one
        # 10 KB block: a fragmented 96 KB heap rarely has 10 KB contiguous.
        z = bytes(capacity * 4)
        self._seq = array("i", z)
        self._bt = array("i", z)
        self._t = array("i", z)
        self._val = array("i", z)
        self._code = array("H", bytes(capacity * 2))
        self._buf = bytearray(_CHUNK * REC_BYTES)
        self._mv = memoryview(self._buf)
        self._forced = array("i", [-1] * max_forced_per_hour)  # stamps, -1 = free
        self._min_ms = min_interval_ms
        self._last_ms = -1        # last flush time; -1: a normal flush is due
        self._head = 0            # ring position the next entry goes to
        self._n = 0               # entries held
        self._next = 0            # seq of the next entry
        self._boot = 0
        self._pend = 0            # newest entries not yet persisted (<= capacity)
        self._lost = 0            # unpersisted entries that rolled off the ring
        self.errors = 0           # store I/O errors seen (OSError)

    # -- tick side: no allocation ------------------------------------------

    def log(self, t_ms, code, value):
        """Append one entry; the oldest rolls off when full.  Allocation free."""
        if value > _INT_MAX:
            value = _INT_MAX
        elif value < _INT_MIN:
            value = _INT_MIN
        p = self._head
        seq = self._next
        self._seq[p] = seq
        self._bt[p] = self._boot
        self._t[p] = t_ms & _T_MASK
        self._code[p] = code & 0xFFFF
        self._val[p] = value
        seq += 1
        if seq >= self._seq_mod:
            seq = 0
        self._next = seq
        h = self._head + 1
        if h >= self._cap:
            h = 0
        self._head = h
        if self._n < self._cap:
            self._n += 1
        if self._pend < self._cap:
            self._pend += 1
        elif self._lost < _INT_MAX:
            self._lost += 1   # the entry overwritten was never persisted

    def _error(self):
        if self.errors < _INT_MAX:
            self.errors += 1

    def count(self):
        return self._n

    def read(self, i, out):
        """Copy entry i (0 = oldest held) into out[0:5] (seq, boot, t_ms,
        code, value); False if there is no entry i.  Allocation free."""
        if i < 0 or i >= self._n:
            return False
        p = self._head - self._n + i
        if p < 0:
            p += self._cap
        out[0] = self._seq[p]
        out[1] = self._bt[p]
        out[2] = self._t[p]
        out[3] = self._code[p]
        out[4] = self._val[p]
        return True

    def newest_seq(self):
        """seq of the newest entry held, -1 if the log is empty."""
        if self._n == 0:
            return -1
        p = self._head - 1
        if p < 0:
            p += self._cap
        return self._seq[p]

    def pending(self):
        """Entries logged since the last successful flush (not yet persisted)."""
        return self._pend

    def boot(self):
        return self._boot

    # -- quiet-point side ---------------------------------------------------

    def _expire(self, now):
        """Forget flush stamps that are old enough (wrapped-time safe as long
        as this runs at least every 2**30 ms)."""
        if self._last_ms >= 0 and ((now - self._last_ms) & _T_MASK) >= self._min_ms:
            self._last_ms = -1
        fs = self._forced
        for i in range(len(fs)):
            if fs[i] >= 0 and ((now - fs[i]) & _T_MASK) >= _HOUR_MS:
                fs[i] = -1

    def flush(self, now_ms, force=False):
        """Persist the entries logged since the last flush; returns the bytes
        written (0 when nothing was due, allowed or pending, or on a store
        error, which leaves them pending for the next try)."""
        now = now_ms & _T_MASK
        self._expire(now)
        st = self._store
        if st is None or (self._pend == 0 and self._lost == 0):
            return 0
        if self._last_ms >= 0:            # a normal flush is not due yet
            if not force:
                return 0
            fs = self._forced
            i = 0
            while i < len(fs) and fs[i] >= 0:
                i += 1
            if i == len(fs):
                return 0                  # forced budget for this hour spent
            fs[i] = now
        self._last_ms = now               # failures count too: wear first
        if self._lost:
            n = self._lost
            if self._pend == self._cap:
                n += 1                    # this report pushes one more off
            self.log(now, EV_LOG_LOST, n)
            self._lost = 0
        try:
            nbytes = self._write_pending(st)
            st.sync()
        except OSError:
            self._error()
            return 0
        self._pend = 0
        return nbytes

    def _write_pending(self, st):
        cap = self._cap
        sq = self._seq
        b = self._buf
        p = self._head - self._pend       # ring position of the oldest pending
        if p < 0:
            p += cap
        left = self._pend
        nbytes = 0
        k = 0                             # records staged in b
        first = 0                         # slot of the first staged record
        while left > 0:
            slot = sq[p] % cap
            if k and (k == _CHUNK or slot != first + k):
                st.write(HDR_BYTES + first * REC_BYTES, self._mv[:k * REC_BYTES])
                nbytes += k * REC_BYTES
                k = 0
            if k == 0:
                first = slot
            self._encode(b, k * REC_BYTES, p)
            k += 1
            left -= 1
            p += 1
            if p == cap:
                p = 0
        if k:
            st.write(HDR_BYTES + first * REC_BYTES, self._mv[:k * REC_BYTES])
            nbytes += k * REC_BYTES
        return nbytes

    def _encode(self, b, at, p):
        """Ring entry p as a record at b[at:], CRC included."""
        put_i32_le(b, at, self._seq[p])
        put_i32_le(b, at + 4, self._bt[p])
        put_i32_le(b, at + 8, self._t[p])
        put_i32_le(b, at + 12, self._val[p])
        c = self._code[p]
        b[at + 16] = c & 0xFF
        b[at + 17] = c >> 8
        c = crc16(b, at, at + _CRC_AT)
        b[at + _CRC_AT] = c & 0xFF
        b[at + _CRC_AT + 1] = c >> 8

    def _decode(self, b, at, slot):
        """Record at b[at:] into ring entry slot; False if it is not a valid
        record of this slot (CRC, ranges, slot = seq % capacity)."""
        c = crc16(b, at, at + _CRC_AT)
        if b[at + _CRC_AT] != (c & 0xFF) or b[at + _CRC_AT + 1] != (c >> 8):
            return False
        seq = get_i32_le(b, at)
        boot = get_i32_le(b, at + 4)
        t = get_i32_le(b, at + 8)
        v = get_i32_le(b, at + 12)
        if seq is None or boot is None or t is None or v is None:
            return False
        if not 0 <= seq < self._seq_mod or seq % self._cap != slot or boot < 0 or t < 0:
            return False
        self._seq[slot] = seq
        self._bt[slot] = boot
        self._t[slot] = t
        self._code[slot] = b[at + 16] | (b[at + 17] << 8)
        self._val[slot] = v
        return True

    def _read_header(self, st):
        """Boot count from a valid header of this format; -1 if the header is
        unreadable (garbage, torn); -2 if it is a valid header of another
        format or capacity (then its records mean nothing here)."""
        b = self._buf
        st.read(0, self._mv[:HDR_BYTES])
        c = crc16(b, 0, 14)
        if b[14] != (c & 0xFF) or b[15] != (c >> 8):
            return -1
        for i in range(4):
            if b[i] != _MAGIC[i]:
                return -1
        if b[4] != VERSION or b[5] != REC_BYTES or (b[6] | (b[7] << 8)) != self._cap:
            return -2
        boot = get_i32_le(b, 8)
        if boot is None or boot < 0:
            return -1
        return boot

    def _write_header(self, st):
        b = self._buf
        for i in range(4):
            b[i] = _MAGIC[i]
        b[4] = VERSION
        b[5] = REC_BYTES
        b[6] = self._cap & 0xFF
        b[7] = self._cap >> 8
        put_i32_le(b, 8, self._boot)
        b[12] = 0
        b[13] = 0
        c = crc16(b, 0, 14)
        b[14] = c & 0xFF
        b[15] = c >> 8
        st.write(0, self._mv[:HDR_BYTES])
        st.sync()

    def _wipe(self, st):
        """Zero every record slot (a log of another format or capacity: its
        records must not be mistaken for ours later).  Rare, boot only."""
        b = self._buf
        for i in range(len(b)):
            b[i] = 0
        s = 0
        while s < self._cap:
            k = self._cap - s if self._cap - s < _CHUNK else _CHUNK
            st.write(HDR_BYTES + s * REC_BYTES, self._mv[:k * REC_BYTES])
            s += k

    def _clear_damaged(self, st):
        """Zero the slots _scan marked damaged (seq -2), before compaction."""
        b = self._buf
        for i in range(REC_BYTES):
            b[i] = 0
        sq = self._seq
        for s in range(self._cap):
            if sq[s] == -2:
                st.write(HDR_BYTES + s * REC_BYTES, self._mv[:REC_BYTES])

    def _scan(self, st):
        """Decode every slot into ring position = slot (seq -1 where empty,
        -2 where damaged).  Returns (newest seq or -1, highest boot seen,
        damaged slots)."""
        cap = self._cap
        sq = self._seq
        b = self._buf
        m = self._seq_mod
        top = -1
        boot = 0
        bad = 0
        s = 0
        while s < cap:
            k = cap - s if cap - s < _CHUNK else _CHUNK
            st.read(HDR_BYTES + s * REC_BYTES, self._mv[:k * REC_BYTES])
            for j in range(k):
                at = j * REC_BYTES
                p = s + j
                if not self._decode(b, at, p):
                    sq[p] = -1
                    e = b[at]
                    if e == 0 or e == 0xFF:   # an empty slot is not damage
                        for q in range(at + 1, at + REC_BYTES):
                            if b[q] != e:
                                sq[p] = -2
                                break
                    else:
                        sq[p] = -2
                    if sq[p] == -2:
                        bad += 1
                    continue
                seq = sq[p]
                if top < 0 or 0 < (seq - top) % m < self._half:
                    top = seq
                if self._bt[p] > boot:
                    boot = self._bt[p]
            s += k
        return top, boot, bad

    def load(self, now_ms=0):
        """Rebuild the RAM log from the store at boot: the entries among the
        newest `capacity` seqs whose records are intact, oldest first; bump
        and persist the boot counter; continue seq after the highest found;
        log EV_BOOT (and EV_LOG_LOST for damaged records).  Call once, before
        logging.  Store errors are counted, never raised.  Returns the number
        of entries recovered."""
        cap = self._cap
        sq = self._seq
        m = self._seq_mod
        now = now_ms & _T_MASK
        self._n = 0
        self._head = 0
        self._next = 0
        self._pend = 0
        self._lost = 0
        hdr = -1
        boot = 0
        top = -1
        bad = 0
        st = self._store
        if st is not None:
            try:
                hdr = self._read_header(st)
                if hdr == -2:
                    self._wipe(st)
                else:
                    top, boot, bad = self._scan(st)
                    if bad and top < 0 and hdr == -1:
                        self._wipe(st)    # nothing of ours in it: a foreign file
                        bad = 0
                    elif bad:
                        self._clear_damaged(st)   # report each loss once
            except OSError:
                self._error()
                top = -1
        if hdr > boot:
            boot = hdr
        found = 0
        if top >= 0:
            # Compact in place, oldest first: slots from (top + 1) % cap on
            # hold seqs top - cap + 1 .. top in order (capacity divides seq_mod).
            s0 = (top + 1) % cap
            for k in range(cap):
                p = (s0 + k) % cap
                seq = sq[p]
                if seq < 0 or (top - seq) % m >= cap:
                    continue                   # damaged, empty or stale
                d = (s0 + found) % cap
                if d != p:
                    sq[d] = seq
                    self._bt[d] = self._bt[p]
                    self._t[d] = self._t[p]
                    self._code[d] = self._code[p]
                    self._val[d] = self._val[p]
                found += 1
            self._n = found
            self._head = (s0 + found) % cap
            self._next = (top + 1) % m
        self._boot = boot + 1 if boot < _INT_MAX else _INT_MAX
        if st is not None:
            try:
                self._write_header(st)
            except OSError:
                self._error()
        self._last_ms = now                    # first normal flush one interval after boot
        self.log(now, EV_BOOT, found)
        if bad:
            self.log(now, EV_LOG_LOST, bad)
        return found
