"""Event log: order and roll-off in RAM and across simulated power cuts,
the flush wear policy, damaged and foreign stores, and an allocation-free
log() under MicroPython's heap_lock."""

from array import array
import os
import sys

import eventlog as ev
from eventlog import EventLog, FileStore, store_size, EV_BOOT, EV_LOG_LOST
from helpers import is_micropython

_TMP = "/tmp/gx230_eventlog_test_%s.bin" % sys.implementation.name
_MIN = 300000        # default min_interval_ms
_HOUR = 3600000


class RamStore:
    """A store in RAM (1 KB pages: a 96 KB heap has no 10 KB hole).  Only what
    write() stored survives a power cut: the test "cuts power" by dropping the
    EventLog and building a new one on the same RamStore.  Counts calls so
    wear can be checked; `fail` makes every write and sync raise OSError."""

    def __init__(self, size=store_size(512)):
        self.n = size
        self.pages = [bytearray(1024) for _ in range((size + 1023) // 1024)]
        self.writes = 0
        self.syncs = 0
        self.bytes = 0
        self.fail = False

    def get(self, i):
        return self.pages[i >> 10][i & 1023]

    def put(self, i, v):
        self.pages[i >> 10][i & 1023] = v

    def size(self):
        return self.n

    def read(self, offset, buf):
        for i in range(len(buf)):
            buf[i] = self.get(offset + i)

    def write(self, offset, data):
        if self.fail:
            raise OSError(5)
        n = len(data)
        for i in range(n):
            self.put(offset + i, data[i])
        self.writes += 1
        self.bytes += n

    def sync(self):
        if self.fail:
            raise OSError(5)
        self.syncs += 1


def _entries(el):
    """All held entries as tuples, oldest first."""
    out = array("i", [0] * 5)
    rows = []
    for i in range(el.count()):
        assert el.read(i, out)
        rows.append(tuple(out))
    return rows


def _run(el, first, n, field, start):
    """Entries first..first+n-1 hold start, start+1, ... in `field` (checked
    one by one: a 96 KB heap has no room for lists of 512 tuples)."""
    out = array("i", [0] * 5)
    for k in range(n):
        assert el.read(first + k, out), first + k
        assert out[field] == start + k, (first + k, field, out[field], start + k)


def _same(a, ia, b, ib, n):
    """Entries ia.. of log a equal entries ib.. of log b, n of them."""
    x = array("i", [0] * 5)
    y = array("i", [0] * 5)
    for k in range(n):
        assert a.read(ia + k, x) and b.read(ib + k, y)
        assert x == y, (k, x, y)


def _rm(path):
    try:
        os.remove(path)
    except OSError:
        pass


def test_entries_read_back_oldest_first_with_every_field():
    el = EventLog()
    el.log(1000, 811, -1500)
    el.log(2000, 2003, 4)
    assert el.count() == 2
    assert _entries(el) == [(0, 0, 1000, 811, -1500), (1, 0, 2000, 2003, 4)]
    assert el.newest_seq() == 1
    out = array("i", [7] * 5)
    assert not el.read(2, out) and not el.read(-1, out)
    assert list(out) == [7] * 5


def test_empty_log_has_no_newest_seq():
    el = EventLog()
    assert el.count() == 0 and el.newest_seq() == -1


def test_oldest_entries_roll_off_after_capacity():
    el = EventLog()
    for i in range(700):
        el.log(i, 100, i)
    assert el.count() == 512
    _run(el, 0, 512, ev.F_SEQ, 188)
    _run(el, 0, 512, ev.F_VALUE, 188)
    assert el.newest_seq() == 699


def test_time_code_and_value_are_kept_in_range():
    el = EventLog()
    el.log(2 ** 30 + 5, 0x12345, 2 ** 30 - 1)
    el.log(-1, 1, -(2 ** 30))
    rows = _entries(el)
    assert rows[0][2:] == (5, 0x2345, 2 ** 30 - 1)
    assert rows[1][2:] == (2 ** 30 - 1, 1, -(2 ** 30))
    if not is_micropython():          # a bigint only exists here on CPython-sized ints
        el.log(0, 1, 5 * 2 ** 30)
        el.log(0, 1, -5 * 2 ** 30)
        assert [r[4] for r in _entries(el)[2:]] == [2 ** 30 - 1, -(2 ** 30)]


def test_order_is_kept_across_a_power_cut():
    st = RamStore()
    el = EventLog(st)
    assert el.load(0) == 0
    for i in range(100):
        el.log(1000 + i, 200 + i % 3, i * 7 - 300)
    assert el.flush(_MIN) == 101 * ev.REC_BYTES      # EV_BOOT + 100
    before = _entries(el)
    el = EventLog(st)                                  # power cut: RAM gone
    assert el.load(5) == 101
    after = _entries(el)
    assert after[:101] == before
    assert after[101][0] == 101 and after[101][3] == EV_BOOT and after[101][4] == 101
    el.log(6, 300, 1)
    assert el.newest_seq() == 102


def test_roll_off_holds_after_reload_too():
    st = RamStore()
    el = EventLog(st)
    el.load(0)
    t = 0
    for i in range(700):
        el.log(t, 100, i)
        t += 1000
        el.flush(t)                                    # normal flushes as they fall due
    el.flush(t, True)
    assert el.pending() == 0
    el = EventLog(st)
    assert el.load(t) == 512
    assert el.count() == 512
    _run(el, 0, 512, ev.F_SEQ, 190)                    # 511 recovered + EV_BOOT
    _run(el, 0, 511, ev.F_VALUE, 189)
    out = array("i", [0] * 5)
    el.read(511, out)
    assert out[ev.F_CODE] == EV_BOOT


def test_unflushed_entries_are_lost_in_a_power_cut_but_forced_ones_survive():
    st = RamStore()
    el = EventLog(st)
    el.load(0)
    el.log(1000, 500, 1)              # warning
    assert el.flush(2000) == 0        # not due: within min_interval of boot
    assert el.pending() == 2
    el.log(3000, 600, 2)              # shutdown: the controller forces a flush
    assert el.flush(3000, True) > 0
    assert el.pending() == 0
    el.log(4000, 500, 3)              # then one more warning, not flushed
    assert el.flush(5000) == 0
    el = EventLog(st)                 # power cut
    el.load(6000)
    rows = _entries(el)
    assert [(r[3], r[4]) for r in rows] == [(EV_BOOT, 0), (500, 1), (600, 2), (EV_BOOT, 3)]
    # the lost warning's seq (3) is handed out again, under the new boot
    assert rows[-1][0] == 3 and rows[-1][1] == 2


def test_flush_rate_stays_within_the_wear_bound_over_an_hour():
    st = RamStore()
    el = EventLog(st)
    el.load(0)
    base_writes = st.writes
    base_syncs = st.syncs
    base_bytes = st.bytes
    logged = 1                        # EV_BOOT
    normal = forced = 0
    last_s = 0                        # load() counts as the last write
    for s in range(1, 3601):          # one flush attempt per second for an hour
        t = s * 1000
        if s % 30 == 0:
            el.log(t, 100, s)
            logged += 1
        force = s % 47 == 0           # a "shutdown" every 47 s: far over the cap
        syncs = st.syncs
        if el.flush(t, force):
            assert st.syncs == syncs + 1
            if s - last_s >= _MIN // 1000:
                normal += 1           # was due anyway
            else:
                forced += 1
            last_s = s
    writes = st.writes - base_writes
    syncs = st.syncs - base_syncs
    assert syncs <= 12 + 12 and writes <= 12 + 12
    assert normal <= 12 and forced <= 12
    # only the changed slots are written: 20 bytes per entry, each written once
    assert st.bytes - base_bytes == (logged - el.pending()) * ev.REC_BYTES


def test_worst_case_bytes_per_hour_match_the_documented_bound():
    st = RamStore()
    el = EventLog(st)
    el.load(0)
    b0 = st.bytes
    s0 = st.syncs
    for s in range(1, 3601):          # an event storm: 100 events a second
        t = s * 1000
        for j in range(100):
            el.log(t, 100, j)
        el.flush(t, True)
    assert st.syncs - s0 <= 24
    assert st.bytes - b0 <= 24 * 512 * ev.REC_BYTES


def test_forced_flushes_are_capped_per_rolling_hour_even_across_time_wrap():
    st = RamStore()
    el = EventLog(st, min_interval_ms=2 * _HOUR)   # no normal flush gets in the way
    t0 = 2 ** 30 - 10000              # controller time wraps 10 s into the test
    el.load(t0)
    done = 0
    for i in range(100):
        t = (t0 + i * 1000) & (2 ** 30 - 1)
        el.log(t, 600, i)
        if el.flush(t, True):
            done += 1
    assert done == 12
    assert el.pending() > 0
    t = (t0 + _HOUR - 1) & (2 ** 30 - 1)
    assert el.flush(t, True) == 0     # the first forced flush is not an hour old yet
    t = (t0 + _HOUR) & (2 ** 30 - 1)
    assert el.flush(t, True) > 0


def test_boot_counter_increments_and_is_stamped_on_entries():
    st = RamStore()
    for boot in range(1, 5):
        el = EventLog(st)
        el.load(0)
        assert el.boot() == boot
        el.log(10, 100, boot)
        rows = _entries(el)
        assert rows[-1][1] == boot and rows[-2][1] == boot     # EV_BOOT, the event
        if boot % 2:
            el.flush(_MIN)            # even boots lose their entries, not their number
    assert [r[1] for r in rows] == [1, 1, 3, 3, 4, 4]


def test_damaged_record_is_skipped_and_reported():
    st = RamStore()
    el = EventLog(st)
    el.load(0)
    for i in range(10):
        el.log(i, 100, i)
    el.flush(_MIN)
    slot = 4                          # seq 4 = the event with value 3
    at = ev.HDR_BYTES + slot * ev.REC_BYTES + 13
    st.put(at, st.get(at) ^ 0x40)
    el = EventLog(st)
    assert el.load(1) == 10
    rows = _entries(el)
    assert [r[0] for r in rows[:10]] == [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert [(r[3], r[4]) for r in rows[10:]] == [(EV_BOOT, 10), (EV_LOG_LOST, 1)]
    assert el.newest_seq() == 12


def test_torn_header_keeps_the_records_and_the_boot_count():
    st = RamStore()
    el = EventLog(st)
    el.load(0)
    el.log(1, 100, 1)
    el.flush(_MIN)
    st.put(9, st.get(9) ^ 0xFF)       # boot field of the header, CRC now wrong
    el = EventLog(st)
    assert el.load(2) == 2
    assert el.boot() == 2             # from the records' boot stamps
    el = EventLog(st)
    el.load(3)
    assert el.boot() == 3             # header rewritten intact


def test_garbage_store_is_reinitialised_without_exception():
    st = RamStore()
    x = 12345
    for i in range(st.size()):        # deterministic pseudo-random bytes
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        st.put(i, (x >> 16) & 0xFF)
    el = EventLog(st)
    assert el.load(0) == 0
    assert el.boot() == 1
    assert [r[3] for r in _entries(el)] == [EV_BOOT]
    el.log(1, 100, 1)
    el.flush(_MIN)
    el = EventLog(st)
    assert el.load(0) == 2 and el.boot() == 2


def test_log_of_another_capacity_is_wiped_not_misread():
    st = RamStore(store_size(512))
    el = EventLog(st, capacity=256)
    el.load(0)
    for i in range(50):
        el.log(i, 100, i)
    el.flush(_MIN)
    el = EventLog(st, capacity=512)
    assert el.load(0) == 0
    el.flush(_MIN)
    el = EventLog(st, capacity=512)
    assert el.load(0) == 1            # only the EV_BOOT of the 512 boot
    assert el.boot() == 2


def test_store_errors_keep_entries_pending_then_report_what_rolled_off():
    st = RamStore()
    el = EventLog(st, capacity=16)
    el.load(0)
    st.fail = True
    for i in range(20):
        el.log(i, 100, i)
    assert el.flush(_MIN) == 0 and el.errors == 1
    assert el.pending() == 16
    st.fail = False
    assert el.flush(2 * _MIN) == 16 * ev.REC_BYTES
    rows = _entries(el)
    # 21 entries into a ring of 16 before anything was persisted, plus the
    # report itself: 6 never reached the store
    assert rows[-1][3:] == (EV_LOG_LOST, 6)
    assert el.flush(3 * _MIN) == 0    # nothing left to report or write
    el2 = EventLog(st, capacity=16)
    assert el2.load(0) == 16
    assert _entries(el2)[:-1] == rows[1:]


def test_store_too_small_is_refused_at_construction():
    try:
        EventLog(RamStore(store_size(512) - 1))
    except ValueError:
        return
    assert False, "expected ValueError"


def test_seq_wraps_and_order_survives_the_wrap_and_a_reload():
    st = RamStore(store_size(64))
    el = EventLog(st, capacity=64)
    m = el._seq_mod                   # test-only poke: reaching the wrap takes 2**30 events
    el._next = m - 30
    for i in range(50):
        el.log(i, 100, i)
    seqs = [r[0] for r in _entries(el)]
    assert seqs == list(range(m - 30, m)) + list(range(20))
    el.flush(0)
    el = EventLog(st, capacity=64)
    assert el.load(0) == 50
    rows = _entries(el)
    assert [r[0] for r in rows] == seqs + [20]
    assert [r[4] for r in rows[:-1]] == list(range(50))


def test_file_store_persists_and_reloads():
    _rm(_TMP)
    try:
        fs = FileStore(_TMP, store_size(512))
        el = EventLog(fs)
        el.load(0)
        for i in range(600):
            el.log(i * 10, 300 + i % 5, -i)
        assert el.flush(0, True) == 512 * ev.REC_BYTES
        fs.close()
        fs = FileStore(_TMP, store_size(512))
        el2 = EventLog(fs)                     # el kept only to compare with
        assert el2.load(0) == 512
        _same(el, 1, el2, 0, 511)
        assert el2.boot() == 2
        fs.close()
    finally:
        _rm(_TMP)


def test_file_of_wrong_size_or_garbage_is_reinitialised():
    _rm(_TMP)
    try:
        f = open(_TMP, "wb")
        f.write(b"not an event log" * 10)
        f.close()
        fs = FileStore(_TMP, store_size(512))
        assert os.stat(_TMP)[6] == store_size(512)
        el = EventLog(fs)
        assert el.load(0) == 0 and el.boot() == 1
        fs.close()
        f = open(_TMP, "wb")          # right size, foreign content
        junk = b"\xa5\x5a\x00\xff" * 4
        for _ in range(store_size(512) // 16):
            f.write(junk)
        f.close()
        fs = FileStore(_TMP, store_size(512))
        el = EventLog(fs)
        assert el.load(0) == 0 and el.boot() == 1
        el.log(5, 100, 5)
        el.flush(_MIN)
        fs.close()
        fs = FileStore(_TMP, store_size(512))
        el = EventLog(fs)
        assert el.load(0) == 2 and el.boot() == 2
        fs.close()
    finally:
        _rm(_TMP)


class _RamBlocks:
    """A RAM block device for MicroPython's littlefs (VfsLfs2); counts erases."""

    def __init__(self, block_size, blocks):
        self.bs = block_size
        self.n = blocks
        self.blocks = [bytearray(block_size) for _ in range(blocks)]
        self.erases = 0

    def readblocks(self, block, buf, off=0):
        buf[:] = memoryview(self.blocks[block])[off:off + len(buf)]

    def writeblocks(self, block, buf, off=None):
        if off is None:
            self.erases += 1
            off = 0
        self.blocks[block][off:off + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            self.erases += 1
            return 0
        return None


def test_file_store_on_littlefs_persists_and_a_flush_touches_few_blocks():
    if not is_micropython() or not hasattr(os, "VfsLfs2"):
        return    # littlefs is MicroPython's; CPython covers FileStore on its own files
    bd = _RamBlocks(512, 40)
    os.VfsLfs2.mkfs(bd)
    os.mount(os.VfsLfs2(bd), "/gxlfs")
    try:
        size = store_size(64)                       # 1296 bytes: 3 blocks of 512
        fs = FileStore("/gxlfs/events.bin", size)
        el = EventLog(fs, capacity=64)
        el.load(0)
        for i in range(40):
            el.log(i, 100, i)
        e0 = bd.erases
        assert el.flush(0, True) > 0
        assert bd.erases - e0 <= (size + 511) // 512 + 2   # file blocks + metadata
        fs.close()
        fs = FileStore("/gxlfs/events.bin", size)
        el = EventLog(fs, capacity=64)
        assert el.load(1) == 41
        assert [r[4] for r in _entries(el)[1:41]] == list(range(40))
        fs.close()
    finally:
        os.umount("/gxlfs")


def test_log_and_read_do_not_allocate():
    if not is_micropython():
        return   # heap_lock exists only on MicroPython; CPython run is a no-op
    import micropython
    import gc
    el = EventLog(RamStore())
    el.load(0)
    out = array("i", [0] * 5)
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(2000):          # wraps the 512-entry ring several times
            el.log(i * 10, 100 + (i & 7), i - 1000)
            el.read(i & 511, out)
            el.count()
            el.newest_seq()
            el.pending()
        el.log(2 ** 30 - 1, 0xFFFF, -(2 ** 30))
    finally:
        micropython.heap_unlock()
    assert el.count() == 512 and out[0] >= 0
