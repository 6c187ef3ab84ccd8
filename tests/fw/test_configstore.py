"""Configuration store: round trip, slot choice, a power cut at every byte
of a save and of a factory reset, damage in every byte, both slots bad,
migration from an older setting table, refusal of stored values as a whole,
seq wrap-around, the rate-limited saver, and the littlefs file fallback."""

import os
import sys

import configstore as cs
from configstore import ConfigStore, FileBlockDev
from config import Config, SETTINGS, settings_crc
from crc16 import crc16
from helpers import is_micropython
from ramblock import RamNor, PowerCut

_TMP = "/tmp/gx230_configstore_test_%s.bin" % sys.implementation.name
N = len(SETTINGS)
DEFAULTS = [s[1] for s in SETTINGS]

# Three consistent configurations, each differing from the others and from
# the defaults in several settings (a mix of two would show).
Z = (("ki_pu_x100", 900), ("droop_pct_x100", 400), ("crank_attempts", 5))
A = (("kp_pu_x100", 700), ("crank_ms", 12000), ("base_kw_x10", 1500), ("mb_address", 7),
     ("map_lead_pct", 250))
B = (("kp_pu_x100", 800), ("crank_ms", 14000), ("f_nom_hz", 50), ("sync_df_min_mhz", -100),
     ("pf_x1000", -900), ("map_fl_kpa_x10", 1500))


def _cfg(pairs):
    c = Config()
    assert c.set_many(pairs) is None
    return c


def _vals(c):
    return [getattr(c, s[0]) for s in SETTINGS]


def _dev():
    """Small geometry for the exhaustive loops: 64-byte pages, 256-byte
    blocks, two blocks a slot (a 384-byte record + the commit page)."""
    return RamNor(256, 4, 64)


def _reboot(dev, **kw):
    """Power back on: a new store and a fresh Config, as at boot."""
    dev.power_on()
    st = ConfigStore(dev, page=dev.page, **kw)
    c = Config()
    st.load(c)
    return st, c


def _stored(dev, pairs_list):
    """A device holding these configurations, saved in order."""
    st = ConfigStore(dev, page=dev.page)
    st.load(Config())
    for pairs in pairs_list:
        st.save(_cfg(pairs))
    return st


# An encoder written from the module docstring alone: the layout checked
# independently of configstore's own writer.
def _image(dev, values, seq, n=None, tid=None, saves=1, version=1):
    if n is None:
        n = len(values)
    if tid is None:
        tid = settings_crc() if n == N else cs.table_id(n)
    ss = dev.bs * (dev.nb // 2)
    b = bytearray(b"\xff" * ss)
    b[0:4] = b"GXCF"
    b[4] = version
    b[5] = 0
    b[6:8] = bytes([seq & 0xFF, seq >> 8])
    b[8:10] = bytes([n & 0xFF, n >> 8])
    b[10:12] = bytes([tid & 0xFF, tid >> 8])
    for j in range(4):
        b[12 + j] = (saves >> (8 * j)) & 0xFF
    at = 16
    for i in range(n):
        v = values[i]
        for j in range(4):
            b[at + j] = (v >> (8 * j)) & 0xFF
        at += 4
    c = crc16(b, 0, at)
    b[at] = c & 0xFF
    b[at + 1] = c >> 8
    b[ss - dev.page:ss - dev.page + 4] = b"\xa5\xc3\x5a\x3c"
    return b


def _put(dev, slot, img):
    ss = len(img)
    dev.mem[slot * ss:(slot + 1) * ss] = img


def _slot_bytes(dev, slot):
    ss = dev.bs * (dev.nb // 2)
    return bytes(dev.mem[slot * ss:(slot + 1) * ss])


def _rm(path):
    try:
        os.remove(path)
    except OSError:
        pass


# -- round trip and slot choice ----------------------------------------------

def test_a_changed_config_survives_a_power_cycle_on_4k_flash_pages():
    dev = RamNor(4096, 2, 256)          # RP2040 / ESP32 geometry: one block a slot
    st = ConfigStore(dev)
    c = Config()
    assert st.load(c) == cs.R_NO_CONFIG and st.slot == -1
    assert _vals(c) == DEFAULTS
    b = _cfg(B)
    assert st.save(b) == 0
    st2, c2 = _reboot(dev)
    assert st2.reason == cs.R_OK and st2.slot == 0 and st2.detail is None
    assert _vals(c2) == _vals(b) and c2.rated_rpm_x10 == 15000    # derived too
    assert dev.set_bits == 0            # never programmed over unerased bits
    assert dev.erases == [1, 0]


def test_table_id_of_the_whole_table_is_settings_crc():
    assert cs.table_id(N) == settings_crc()
    assert cs.table_id(N - 3) != settings_crc()


def test_the_store_writes_the_documented_layout_byte_for_byte():
    dev = _dev()
    st = _stored(dev, [A])
    assert _slot_bytes(dev, 0) == bytes(_image(dev, _vals(_cfg(A)), 1))
    st.save(_cfg(B))
    assert _slot_bytes(dev, 1) == bytes(_image(dev, _vals(_cfg(B)), 2, saves=2))


def test_the_newest_valid_slot_wins_whichever_slot_it_is_in():
    dev = _dev()
    _stored(dev, [A, B])                     # slot 0: A seq 1, slot 1: B seq 2
    st, c = _reboot(dev)
    assert st.slot == 1 and _vals(c) == _vals(_cfg(B)) and st.reason == cs.R_OK
    st.save(_cfg(Z))                         # goes to slot 0 as seq 3
    st, c = _reboot(dev)
    assert st.slot == 0 and st.slot_seq(0) == 3 and _vals(c) == _vals(_cfg(Z))
    # the same two records with their places swapped: seq decides, not place
    s0 = _slot_bytes(dev, 0)
    s1 = _slot_bytes(dev, 1)
    _put(dev, 0, s1)
    _put(dev, 1, s0)
    st, c = _reboot(dev)
    assert st.slot == 1 and _vals(c) == _vals(_cfg(Z))


def test_a_save_goes_to_the_slot_not_in_use_and_leaves_that_one_untouched():
    dev = _dev()
    st = _stored(dev, [A])
    for k in range(6):
        in_use = st.slot
        before = _slot_bytes(dev, in_use)
        assert st.save(_cfg(B if k & 1 else Z)) == 1 - in_use
        assert _slot_bytes(dev, in_use) == before
    assert dev.erases == [4, 4, 3, 3]        # the slots alternate: wear is shared


def test_a_loaded_config_counts_as_saved_until_a_setting_changes():
    dev = _dev()
    _stored(dev, [A])
    st, c = _reboot(dev)
    assert not st.differs(c)
    c.set("kp_pu_x100", 650)
    assert st.differs(c)


# -- power cuts -----------------------------------------------------------------

def _cut_every_step(erase_reverse, only_erase):
    """Slots: 0 = Z (older), 1 = A (in use); save B (to slot 0) with the power
    cut after every possible number of byte steps.  Each reboot must load A
    until the commit mark is complete and B from then on, and a save after
    the reboot must work."""
    dev = _dev()
    dev.erase_reverse = erase_reverse
    _stored(dev, [Z, A])
    base = dev.snapshot()
    va = _vals(_cfg(A))
    vb = _vals(_cfg(B))
    st, c = _reboot(dev)
    assert st.slot == 1
    st.save(_cfg(B))
    total = dev.steps
    page = dev.page
    slot_bytes = 2 * dev.bs
    k_commit = total - (page - 4)            # the last commit-mark byte done
    first = page if only_erase else 0        # after the discard page
    last = page + slot_bytes if only_erase else total
    cb = _cfg((("mb_baud", 9600),))
    vcb = _vals(cb)
    warm = Config()
    cfg_b = _cfg(B)
    for k in range(first, last + 1):
        dev.restore(base)
        st = ConfigStore(dev, page=page)     # the boot before the save
        st.load(warm)
        dev.cut_after(k)
        try:
            st.save(cfg_b)
            assert k >= total, k
        except PowerCut:
            assert k < total, k
        st, c = _reboot(dev)
        got = _vals(c)
        if k < k_commit:
            assert got == va, (k, st.reason, st.detail)
            assert st.slot == 1
        else:
            assert got == vb, (k, st.reason, st.detail)
            assert st.slot == 0
        assert st.reason in (cs.R_OK, cs.R_OK_OTHER_BAD), (k, st.reason)
        if k % 4 == 0 or k >= k_commit - 8:  # and the store goes on working
            st.save(cb)                       # (every 4th cut: the loop stays quick)
            st, c = _reboot(dev)
            assert _vals(c) == vcb, k
        assert dev.set_bits == 0
    return last - first + 1


def test_a_cut_at_every_byte_of_a_save_leaves_the_old_or_the_new_config():
    assert _cut_every_step(False, False) > 1000


def test_a_cut_at_every_byte_of_an_erase_run_backwards_leaves_the_old_config():
    assert _cut_every_step(True, True) == 2 * 256 + 1


def test_a_cut_at_every_byte_of_a_factory_reset_leaves_the_config_or_nothing():
    dev = _dev()
    for rev in (False, True):
        dev.erase_reverse = rev
        dev.restore(b"\xff" * len(dev.mem))
        _stored(dev, [Z, A])
        base = dev.snapshot()
        st, c = _reboot(dev)
        st.factory_reset()
        total = dev.steps
        va = _vals(_cfg(A))
        seen_none = False
        warm = Config()
        # reversed erase: only the cuts inside the erases differ
        for k in range(2 * dev.page if rev else 0, total + 1):
            dev.restore(base)
            st = ConfigStore(dev, page=dev.page)
            st.load(warm)
            dev.cut_after(k)
            try:
                st.factory_reset()
            except PowerCut:
                pass
            st, c = _reboot(dev)
            got = _vals(c)
            if got == DEFAULTS:
                # nothing left, or a slot whose erase the cut tore
                assert st.reason in (cs.R_NO_CONFIG, cs.R_CORRUPT), (k, st.reason)
                seen_none = True
            else:
                assert not seen_none and got == va, k     # never Z, never back
                assert st.slot == 1
        assert seen_none


# -- damage -------------------------------------------------------------------

def test_a_damaged_byte_anywhere_in_a_slot_is_detected_and_the_other_slot_used():
    dev = _dev()
    _stored(dev, [A, B])                     # slot 1 (B) newest
    base = dev.snapshot()
    ss = 2 * dev.bs
    va = _vals(_cfg(A))
    vb = _vals(_cfg(B))
    # every byte inverted in each slot, and one bit of every byte of the
    # newest slot (the slot load would otherwise take)
    for slot, other, masks in ((1, va, (0xFF, 0x01)), (0, vb, (0xFF,))):
        for mask in masks:
            for i in range(ss):
                dev.restore(base)
                dev.mem[slot * ss + i] ^= mask
                st, c = _reboot(dev)
                assert _vals(c) == other, (slot, i, mask)
                assert st.slot == 1 - slot
                assert st.slot_state(slot) in (cs.S_CORRUPT, cs.S_FOREIGN), (slot, i)
                assert st.reason == cs.R_OK_OTHER_BAD and st.detail is not None


def test_both_slots_corrupt_give_factory_defaults_with_reason_corrupt():
    dev = _dev()
    _stored(dev, [A, B])
    ss = 2 * dev.bs
    dev.mem[20] ^= 0x04                      # a value of slot 0
    dev.mem[ss + 7] ^= 0x10                  # the seq of slot 1
    st, c = _reboot(dev)
    assert st.reason == cs.R_CORRUPT and st.slot == -1
    assert st.slot_state(0) == cs.S_CORRUPT and st.slot_state(1) == cs.S_CORRUPT
    assert "CRC" in st.detail
    assert _vals(c) == DEFAULTS
    st.save(_cfg(A))                         # a save repairs it
    st, c = _reboot(dev)
    assert st.slot >= 0 and _vals(c) == _vals(_cfg(A))


def test_a_torn_save_with_nothing_else_stored_gives_defaults_with_reason_corrupt():
    dev = _dev()
    st = ConfigStore(dev, page=dev.page)
    st.load(Config())
    dev.cut_after(64 + 512 + 200)            # discard, erase, then part of the record
    try:
        st.save(_cfg(A))
        assert False
    except PowerCut:
        pass
    st, c = _reboot(dev)
    assert st.reason == cs.R_CORRUPT and "never committed" in st.detail
    assert _vals(c) == DEFAULTS


def test_a_device_that_fails_to_read_gives_defaults_with_reason_io_error():
    dev = _dev()
    _stored(dev, [A])
    dev.fail = True
    st = ConfigStore(dev, page=dev.page)
    c = _cfg(B)                              # not fresh: load still ends on defaults
    assert st.load(c) == cs.R_IO_ERROR
    assert _vals(c) == DEFAULTS
    dev.fail = False
    st, c = _reboot(dev)
    assert _vals(c) == _vals(_cfg(A))


# -- migration and refusal ------------------------------------------------------

def test_an_older_table_migrates_with_defaults_for_the_appended_settings():
    dev = _dev()
    old = _vals(_cfg(Z + (("kp_pu_x100", 450), ("mb_unlock_s", 600))))[:N - 3]
    _put(dev, 0, _image(dev, old, 41, n=N - 3))
    st, c = _reboot(dev)
    assert st.reason == cs.R_OK and st.migrated == 3 and st.slot == 0
    assert _vals(c) == old + DEFAULTS[N - 3:]
    assert not st.differs(c)                 # nothing to save until a change
    c.set("map_lead_pct", 200)
    st.save(c)                               # written with the whole table now
    st, c2 = _reboot(dev)
    assert st.migrated == 0 and st.slot == 1 and st.slot_seq(1) == 42
    assert _vals(c2) == _vals(c)


def test_a_slot_from_a_changed_or_newer_table_is_foreign_and_not_applied():
    dev = _dev()
    va = _vals(_cfg(A))
    # n = N - 3 but the identity of the whole table: the first N - 3 names
    # are not what it was written with (a setting moved or renamed)
    _put(dev, 0, _image(dev, va[:N - 3], 5, n=N - 3, tid=settings_crc()))
    st, c = _reboot(dev)
    assert st.reason == cs.R_FOREIGN and _vals(c) == DEFAULTS
    assert "setting table" in st.detail
    # a newer firmware's table (two settings more) next to an older slot of ours
    _put(dev, 0, _image(dev, va + [1, 2], 9, n=N + 2, tid=0x1234))
    _put(dev, 1, _image(dev, _vals(_cfg(B)), 8))
    st, c = _reboot(dev)
    assert st.reason == cs.R_OK_OTHER_BAD and st.slot == 1
    assert _vals(c) == _vals(_cfg(B)) and "newer table" in st.detail
    # another format version
    _put(dev, 0, b"\xff" * (2 * dev.bs))
    _put(dev, 1, _image(dev, va, 10, version=2))
    st, c = _reboot(dev)
    assert st.reason == cs.R_FOREIGN and "format version" in st.detail


def test_an_out_of_range_stored_value_is_refused_as_a_whole_naming_the_setting():
    dev = _dev()
    bad = _vals(_cfg(B))
    bad[[s[0] for s in SETTINGS].index("ki_pu_x100")] = 5001        # max 5000
    _put(dev, 0, _image(dev, _vals(_cfg(A)), 3))
    _put(dev, 1, _image(dev, bad, 4))
    st, c = _reboot(dev)
    assert st.slot == 0 and _vals(c) == _vals(_cfg(A))              # the older slot
    assert st.reason == cs.R_OK_OTHER_BAD and st.slot_state(1) == cs.S_REFUSED
    assert "ki_pu_x100" in st.detail and "5000" in st.detail
    # alone, it gives factory defaults: none of B's other values slipped in
    _put(dev, 0, b"\xff" * (2 * dev.bs))
    st, c = _reboot(dev)
    assert st.reason == cs.R_REFUSED and _vals(c) == DEFAULTS
    assert "ki_pu_x100" in st.detail


def test_an_inconsistent_stored_config_is_refused_as_a_whole_naming_the_setting():
    dev = _dev()
    bad = _vals(_cfg(B))
    bad[[s[0] for s in SETTINGS].index("poles")] = 5                 # in range, odd
    _put(dev, 0, _image(dev, bad, 7))
    st, c = _reboot(dev)
    assert st.reason == cs.R_REFUSED and "poles: must be even" in st.detail
    assert _vals(c) == DEFAULTS
    # a value beyond the 31-bit small-int range (never built as a bigint)
    bad = list(DEFAULTS)
    bad[[s[0] for s in SETTINGS].index("crank_ms")] = 0x7FFFFFFF
    _put(dev, 0, _image(dev, bad, 8))
    st, c = _reboot(dev)
    assert st.reason == cs.R_REFUSED and "crank_ms" in st.detail
    assert _vals(c) == DEFAULTS
    st.save(_cfg(A))                      # keeps the refused slot, writes the other
    assert st.slot == 1 and st.slot_seq(1) == 9
    st, c = _reboot(dev)
    assert st.reason == cs.R_OK and _vals(c) == _vals(_cfg(A))


# -- sequence numbers -----------------------------------------------------------

def test_sequence_numbers_wrap_and_the_newer_slot_still_wins():
    assert cs.newer(0, 0xFFFF) and not cs.newer(0xFFFF, 0)
    assert cs.newer(5, 3) and not cs.newer(3, 5) and not cs.newer(7, 7)
    dev = _dev()
    va = _vals(_cfg(A))
    vb = _vals(_cfg(B))
    for s0, s1, want in ((0xFFFF, 0, 1), (0, 0xFFFF, 0), (0xFFFE, 0xFFFF, 1),
                         (0x7FFF, 0x8000, 1), (0x8000, 0x7FFF, 0)):
        _put(dev, 0, _image(dev, va, s0))
        _put(dev, 1, _image(dev, vb, s1))
        st, c = _reboot(dev)
        assert st.slot == want, (s0, s1)
        assert _vals(c) == (vb if want else va)
    # saves carried across the wrap by the store itself
    _put(dev, 0, _image(dev, va, 0xFFFE))
    _put(dev, 1, b"\xff" * (2 * dev.bs))
    st, c = _reboot(dev)
    seqs = []
    for k in range(4):
        pairs = (("mb_address", 10 + k),)
        st.save(_cfg(pairs))
        seqs.append(st.slot_seq(st.slot))
        st, c = _reboot(dev)
        assert c.mb_address == 10 + k, (k, seqs)
    assert seqs == [0xFFFF, 0, 1, 2]


# -- factory reset ----------------------------------------------------------------

def test_factory_reset_erases_both_slots_and_restores_the_defaults():
    dev = _dev()
    st = _stored(dev, [A, B])
    c = _cfg(B)
    st.factory_reset(c)
    assert _vals(c) == DEFAULTS
    assert dev.mem == bytearray(b"\xff" * len(dev.mem))
    st, c = _reboot(dev)
    assert st.reason == cs.R_NO_CONFIG and st.slot == -1 and _vals(c) == DEFAULTS
    st.save(_cfg(A))
    st, c = _reboot(dev)
    assert _vals(c) == _vals(_cfg(A))


# -- the quiet-point saver ------------------------------------------------------------

def test_poll_saves_a_change_once_settled_and_no_more_often_than_the_interval():
    dev = _dev()
    st = ConfigStore(dev, page=dev.page, settle_ms=10000, min_interval_ms=600000,
                     check_ms=1000)
    c = Config()
    st.load(c)
    t = 0
    assert not st.poll(c, t)                 # nothing changed: nothing written
    assert dev.programs == 0
    c.set("kp_pu_x100", 700)
    t += 1000
    assert not st.poll(c, t)                 # seen; settling
    c.set("ki_pu_x100", 900)                 # a burst of writes ...
    saves = []
    while t < 30000:
        t += 100
        if st.poll(c, t):
            saves.append(t)
    assert saves == [11000]                  # ... becomes one save, 10 s after the first
    s2, c2 = _reboot(dev)
    assert c2.kp_pu_x100 == 700 and c2.ki_pu_x100 == 900
    c.set("kp_pu_x100", 710)                 # a change soon after waits for the interval
    while t < 11000 + 600000 + 5000:
        t += 1000
        if st.poll(c, t):
            saves.append(t)
    assert saves == [11000, 611000]
    c.set("kp_pu_x100", 720)
    t = 611000 + 600000 + 20000
    assert not st.poll(c, t)                 # seen
    t += 10000                               # due (settled, interval passed) ...
    for k in range(5):
        assert not st.poll(c, t + 1000 * k, False)   # ... but deferred (allow=False)
    assert st.poll(c, t + 5000)
    # time wraps at 2**30 ms: the interval still holds across it
    c.set("kp_pu_x100", 730)
    t = 0x3FFFFFFF - 5000
    st2 = ConfigStore(dev, page=dev.page)
    st2.load(Config())
    assert not st2.poll(c, t)
    assert st2.poll(c, (t + 11000) & 0x3FFFFFFF)
    c.set("kp_pu_x100", 740)
    assert not st2.poll(c, (t + 40000) & 0x3FFFFFFF)
    assert not st2.poll(c, (t + 500000) & 0x3FFFFFFF)
    assert st2.poll(c, (t + 612000) & 0x3FFFFFFF)


def test_a_failing_device_keeps_the_config_in_use_and_is_counted():
    dev = _dev()
    st = _stored(dev, [A])
    c = _cfg(B)
    dev.fail = True
    for t in (0, 11000, 20000):
        assert not st.poll(c, t)
    assert st.errors == 1                    # then it waits the interval, not hammering
    dev.fail = False
    assert st.poll(c, 611000)
    s2, c2 = _reboot(dev)
    assert _vals(c2) == _vals(c)


def test_poll_without_a_change_does_not_allocate():
    if not is_micropython():
        return   # heap_lock exists only on MicroPython; CPython run is a no-op
    import micropython
    import gc
    dev = _dev()
    st = _stored(dev, [A])
    c = _cfg(A)
    t = 0
    gc.collect()
    micropython.heap_lock()
    try:
        for i in range(50):
            t += 1000
            st.poll(c, t)
            st.differs(c)
    finally:
        micropython.heap_unlock()
    assert dev.programs == 4    # the one save before: discard, record (2 blocks), commit


# -- the file fallback -----------------------------------------------------------------

def test_file_block_device_keeps_the_config_across_reopening():
    _rm(_TMP)
    try:
        dev = FileBlockDev(_TMP)
        assert os.stat(_TMP)[6] == 2048
        st = ConfigStore(dev)
        assert st.load(Config()) == cs.R_NO_CONFIG
        st.save(_cfg(A))
        st.save(_cfg(B))
        dev.close()
        dev = FileBlockDev(_TMP)
        st = ConfigStore(dev)
        c = Config()
        assert st.load(c) == cs.R_OK and st.slot == 1
        assert _vals(c) == _vals(_cfg(B))
        st.factory_reset(c)
        dev.close()
        dev = FileBlockDev(_TMP)
        st = ConfigStore(dev)
        assert st.load(Config()) == cs.R_NO_CONFIG
        dev.close()
        f = open(_TMP, "wb")                 # a file of another size: recreated erased
        f.write(b"junk")
        f.close()
        dev = FileBlockDev(_TMP)
        st = ConfigStore(dev)
        assert st.load(Config()) == cs.R_NO_CONFIG
        dev.close()
    finally:
        _rm(_TMP)


class _LfsBlocks:
    """A RAM block device for MicroPython's littlefs (VfsLfs2)."""

    def __init__(self, block_size, blocks):
        self.bs = block_size
        self.n = blocks
        self.blocks = [bytearray(block_size) for _ in range(blocks)]

    def readblocks(self, block, buf, off=0):
        buf[:] = memoryview(self.blocks[block])[off:off + len(buf)]

    def writeblocks(self, block, buf, off=None):
        off = 0 if off is None else off
        self.blocks[block][off:off + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            return 0
        return None


def test_file_block_device_on_littlefs_keeps_the_config_across_a_remount():
    if not is_micropython() or not hasattr(os, "VfsLfs2"):
        return    # littlefs is MicroPython's; CPython covers the file on its own
    bd = _LfsBlocks(512, 40)
    os.VfsLfs2.mkfs(bd)
    os.mount(os.VfsLfs2(bd), "/gxcfg")
    try:
        dev = FileBlockDev("/gxcfg/config.bin")
        st = ConfigStore(dev)
        st.load(Config())
        st.save(_cfg(B))
        dev.close()
    finally:
        os.umount("/gxcfg")
    os.mount(os.VfsLfs2(bd), "/gxcfg")
    try:
        dev = FileBlockDev("/gxcfg/config.bin")
        st = ConfigStore(dev)
        c = Config()
        assert st.load(c) == cs.R_OK and _vals(c) == _vals(_cfg(B))
        dev.close()
    finally:
        os.umount("/gxcfg")
