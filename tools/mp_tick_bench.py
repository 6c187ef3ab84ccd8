"""Control-tick cost and heap use of the firmware, measured inside MicroPython.

Runs under the MicroPython unix port only (it needs time.ticks_us and
gc.mem_alloc), with no link I/O in the measurement:

  micropython -X heapsize=96k tools/mp_tick_bench.py RECORDING [FIRMWARE_DIR]

RECORDING is written by tools.bench (write_recording): the settings and the
begin() arguments the simulator sent, the firmware's input vector for every
tick of a CPython run, and the sha256 of that run's per-tick outputs.  This
script builds a Controller on a replay HAL (read() copies the next recorded
vector into the input array, write() does nothing), applies the same settings
and begin, then times every tick() with ticks_us into a preallocated array.

Heap: gc is disabled for the whole replay, so (mem_alloc after - before) / N
is what the replay allocated per tick; "heap_tick_alloc_ticks" counts the
ticks whose tick() call itself moved mem_alloc.

Output: one "key: value" line per figure (tools.bench parses them), ending
with "replay matches: yes|no" (outputs + telemetry hashed exactly as the
simulator hashes them, compared with the recorded run's sha256).
Exit status: 0 done (whatever the figures), 2 bad arguments or recording.
"""

import gc
import sys
import time
from array import array

MAGIC = 0x31425847          # b"GXB1" little-endian
VERSION = 1
# Header ints: magic, version, n_in, n_out, n_tele, n_ticks, n_settings,
# begin fuel_pct_x100, begin speed_rpm_x10.
N_HDR = 9
CHUNK_TICKS = 128           # input vectors held in RAM at a time


def _die(msg):
    sys.stderr.write("mp_tick_bench: %s\n" % msg)
    sys.exit(2)


def _default_fw_dir():
    p = sys.argv[0]
    i = p.rfind("/")
    d = p[:i] if i >= 0 else "."
    return d + "/../firmware"


def _read_ints(f, n):
    a = array("i", [0] * n)
    if n and f.readinto(a) != 4 * n:
        _die("recording truncated")
    return a


def _hex(b):
    h = "0123456789abcdef"
    s = []
    for x in b:
        s.append(h[x >> 4])
        s.append(h[x & 15])
    return "".join(s)


def _shellsort(a, n):
    gap = n // 2
    while gap > 0:
        for i in range(gap, n):
            v = a[i]
            j = i
            while j >= gap and a[j - gap] > v:
                a[j] = a[j - gap]
                j -= gap
            a[j] = v
        gap //= 2


LINK_FRAMES = 2000          # tick-link frame pairs timed
LINK_BATCH = 50             # 'I' frames held in the input stream at a time


def _link_cost(ctl):
    """The tick link's framing per tick, as a HIL board pays it: decode one
    'I' frame (LinkHal.wait_tick + read) and encode one 'O' frame (write),
    CRC-16 included, from and to in-memory streams (io.BytesIO, C-level like
    a UART).  Returns (frames, twice the median us, p99 us) or None."""
    try:
        import io
        import hal
        import link
        from hal_link import LinkHal
        from controller import N_TELE
    except ImportError:
        return None
    vals = array("i", [0] * hal.N_IN)
    for i in range(hal.N_IN):
        vals[i] = ctl.inp[i]
    one = bytearray(link.frame_size(hal.N_IN))
    link.encode(one, link.T_INPUTS, vals, hal.N_IN)
    rx = io.BytesIO(bytes(one) * LINK_BATCH)
    tx = io.BytesIO(bytearray(link.frame_size(link.MAX_VALUES) * 2))
    h = LinkHal(rx, tx, N_TELE)
    inp = array("i", [0] * hal.N_IN)
    out = ctl.out
    tele = ctl.tele
    dur = array("H", bytes(2 * LINK_FRAMES))
    ticks_us = time.ticks_us
    ticks_diff = time.ticks_diff
    k = 0
    while k < LINK_FRAMES:
        if k % LINK_BATCH == 0:
            rx.seek(0)
        tx.seek(0)
        t0 = ticks_us()
        h.wait_tick()
        h.read(inp)
        h.write(out, tele)
        t1 = ticks_us()
        d = ticks_diff(t1, t0)
        dur[k] = d if d < 65535 else 65535
        k += 1
    if h.errors or inp[0] != vals[0]:
        return None
    _shellsort(dur, LINK_FRAMES)
    n = LINK_FRAMES
    return (n, dur[(n - 1) // 2] + dur[n // 2], dur[max(0, (99 * n + 99) // 100 - 1)])


def main():
    if len(sys.argv) < 2:
        _die("usage: micropython -X heapsize=96k mp_tick_bench.py RECORDING [FIRMWARE_DIR]")
    rec_path = sys.argv[1]
    fw_dir = sys.argv[2] if len(sys.argv) > 2 else _default_fw_dir()
    sys.path.insert(0, fw_dir)
    try:
        f = open(rec_path, "rb")
    except OSError:
        _die("cannot open recording %s" % rec_path)
    hdr = _read_ints(f, N_HDR)
    if hdr[0] != MAGIC or hdr[1] != VERSION:
        _die("%s is not a version-%d tick recording" % (rec_path, VERSION))
    n_in, n_out, n_tele, n_ticks, n_set = hdr[2], hdr[3], hdr[4], hdr[5], hdr[6]
    settings = _read_ints(f, 2 * n_set)
    want_sha = bytearray(32)
    if f.readinto(want_sha) != 32:
        _die("recording truncated")

    import hashlib
    ticks_us = time.ticks_us
    ticks_diff = time.ticks_diff
    mem_alloc = gc.mem_alloc

    # Measure what the firmware itself keeps on the heap: everything from
    # here to after begin() (modules, Controller, settings) except the replay
    # HAL's input buffer, which is allocated first.
    inbuf = array("i", bytes(4 * CHUNK_TICKS * n_in))
    gc.collect()
    heap_base = mem_alloc()

    import hal
    from controller import Controller, N_TELE
    if n_in != hal.N_IN or n_out != hal.N_OUT or n_tele != N_TELE:
        _die("recording vector sizes (%d in, %d out, %d tele) do not match this firmware "
             "(%d, %d, %d)" % (n_in, n_out, n_tele, hal.N_IN, hal.N_OUT, N_TELE))

    class ReplayHal(hal.Hal):
        """Feeds recorded input vectors; refill() runs between ticks only."""

        def __init__(self, rf, buf):
            self._f = rf
            self._buf = buf
            self.pos = 0
            self.end = 0

        def refill(self):
            n = self._f.readinto(self._buf)
            self.pos = 0
            self.end = (n or 0) // 4

        def wait_tick(self):
            return True

        def read(self, inp):
            b = self._buf
            p = self.pos
            for i in range(hal.N_IN):
                inp[i] = b[p + i]
            self.pos = p + hal.N_IN

        def write(self, out, tele):
            pass

        def safe(self):
            pass

    h = ReplayHal(f, inbuf)
    ctl = Controller(h)
    peak = mem_alloc()
    heap_constructed = peak
    refused = 0
    for i in range(n_set):
        if not ctl.set_setting(settings[2 * i], settings[2 * i + 1]):
            refused += 1
        a = mem_alloc()
        if a > peak:
            peak = a
    if hdr[7] >= 0:
        ctl.begin(hdr[7], hdr[8])     # (-1: a stopped start, never begun)
    a = mem_alloc()
    if a > peak:
        peak = a
    heap_after_setup = a
    gc.collect()
    heap_fw = mem_alloc() - heap_base

    # The bench's own per-run state.  Tick durations in us, saturated at
    # 65535: a 16-bit array keeps a whole 60 s run in 12 kB of a board-sized
    # heap.
    dur = array("H", bytes(2 * n_ticks))
    # The sequence state each tick ran in (telemetry TELE_STATE), for the
    # per-state figures: a stopped set, a start and a loaded set cost
    # different amounts.
    import controller as _ctl_mod
    st = bytearray(n_ticks)
    i_state = _ctl_mod.TELE_STATE
    sha = hashlib.sha256()
    h.refill()
    gc.collect()
    heap_live = mem_alloc()

    out = ctl.out
    tele = ctl.tele
    tick = ctl.tick
    upd = sha.update
    d = 0
    n_alloc_ticks = 0
    short = 0
    gc_ran = 0
    gc.disable()
    before = mem_alloc()
    last = before
    k = 0
    while k < n_ticks:
        if h.pos + hal.N_IN > h.end:
            h.refill()
            if h.end < hal.N_IN:
                short = 1
                break
        a0 = mem_alloc()
        t0 = ticks_us()
        tick()
        t1 = ticks_us()
        a1 = mem_alloc()
        d = ticks_diff(t1, t0)
        dur[k] = d if d < 65535 else 65535
        st[k] = tele[i_state] & 255
        if a1 != a0:
            n_alloc_ticks += 1
        if a0 < last or a1 < a0:
            gc_ran = 1                 # a collection despite gc.disable(): heap ran out
        last = a1
        if a1 > peak:
            peak = a1
        # Hash exactly the bytes the simulator hashes: the output vector then
        # the telemetry vector, as little-endian int32.
        upd(out)
        upd(tele)
        k += 1
    after = mem_alloc()
    gc.enable()
    n = k
    if after > peak:
        peak = after
    got_sha = sha.digest()
    gc.collect()
    alloc_end = mem_alloc()
    free_end = gc.mem_free()

    # Per sequence state (before the overall sort scrambles the order).
    import sequencer
    per_state = []
    for code in range(len(sequencer.STATE_NAMES)):
        m = 0
        for j in range(n):
            if st[j] == code:
                m += 1
        if not m:
            continue
        sd = array("H", bytes(2 * m))
        m = 0
        for j in range(n):
            if st[j] == code:
                sd[m] = dur[j]
                m += 1
        _shellsort(sd, m)
        per_state.append((sequencer.STATE_NAMES[code], m, sd[(m - 1) // 2] + sd[m // 2],
                          sd[max(0, (99 * m + 99) // 100 - 1)], sd[m - 1]))
        sd = None
    st = None
    link_fig = _link_cost(ctl)
    _shellsort(dur, n)
    if n:
        med2 = dur[(n - 1) // 2] + dur[n // 2]          # twice the median
        p99 = dur[max(0, (99 * n + 99) // 100 - 1)]       # nearest rank
        mx = dur[n - 1]
    else:
        med2 = p99 = mx = 0

    print("ticks: %d" % n)
    print("settings_refused: %d" % refused)
    print("tick_us_median: %d.%d" % (med2 // 2, 5 * (med2 % 2)))
    print("tick_us_p99: %d" % p99)
    print("tick_us_max: %d%s" % (mx, " (saturated)" if mx == 65535 else ""))
    print("heap_span_bytes: %d" % (after - before))
    if n:
        print("heap_bytes_per_tick: %d.%03d" % ((after - before) // n,
                                              ((after - before) * 1000 // n) % 1000))
    print("heap_tick_alloc_ticks: %d" % n_alloc_ticks)
    print("heap_gc_ran: %d" % gc_ran)
    print("heap_firmware_live_bytes: %d" % heap_fw)
    print("heap_live_start: %d" % heap_live)
    print("heap_after_construction: %d" % heap_constructed)
    print("heap_after_setup: %d" % heap_after_setup)
    print("heap_peak: %d" % peak)
    print("heap_alloc_end: %d" % alloc_end)
    print("heap_free_end: %d" % free_end)
    print("heap_total: %d" % (alloc_end + free_end))
    for name, m, med2s, p99s, mxs in per_state:
        print("state_%s: ticks %d median %d.%d p99 %d max %d" % (
            name, m, med2s // 2, 5 * (med2s % 2), p99s, mxs))
    if link_fig is not None:
        print("link_frames: %d" % link_fig[0])
        print("link_us_median: %d.%d" % (link_fig[1] // 2, 5 * (link_fig[1] % 2)))
        print("link_us_p99: %d" % link_fig[2])
    print("replay_sha256: %s" % _hex(got_sha))
    print("expected_sha256: %s" % _hex(want_sha))
    ok = (not short) and n == n_ticks and refused == 0 and got_sha == bytes(want_sha)
    print("replay matches: %s" % ("yes" if ok else "no"))


if __name__ == "__main__":
    main()
