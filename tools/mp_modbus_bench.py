"""Modbus slave cost per request, and the fuzz replay, inside the firmware's
own interpreter.

Runs under the MicroPython unix port (time.ticks_us, gc.mem_alloc,
micropython.heap_lock) and, for the ratio tools.bench prints beside it,
under CPython (time.perf_counter_ns; no heap figures):

  micropython -X heapsize=320k tools/mp_modbus_bench.py time N [FIRMWARE_DIR]
  micropython -X heapsize=320k tools/mp_modbus_bench.py fuzz EVENTS OUT [FIRMWARE_DIR]

time: builds the real Controller on a loaded, paralleled set (the inputs
  tests/fw/helpers.loaded_controller uses) and serves each request of
  REQUESTS N times through Controller.serve_uart(frame, n, t_us) - the call
  a board's UART loop makes - with gc disabled, timing every call with
  ticks_us into a preallocated array.  Heap: mem_alloc before and after the
  N calls (bytes per request; goal 0), then a second pass of N calls under
  micropython.heap_lock(), which raises MemoryError on any allocation.
  Output: one "key: value" line per figure (tools.bench parses them).

fuzz: replays an event file written by tools.bench (modbus_fuzz): records
  kind u8, t u32, n u16, data[n] (little-endian); kind 0 bytes arrived at
  t_us, 1 the line was silent up to t_us, 2 a control tick at t_ms, on a
  stopped set (inputs of tests/fw/test_modbus_map._stopped).  Writes to OUT,
  per event, each reply as b"R" + u16 length + bytes; per tick b"T" + the
  state words (state_words); at the end b"F" + the configuration
  fingerprint.  tools.bench replays the same file in CPython through the
  same Replayer and compares the two outputs byte for byte.
  Exit status: 0 done, 2 bad arguments, 3 the firmware raised (message on
  stderr, "fuzz_exception: ..." on stdout).

Also imported by tools.bench (CPython): Replayer, REQUESTS, frame(),
stopped/loaded controller construction - one definition for both sides.
"""

import gc
import sys
import time
from array import array

try:
    ticks_us = time.ticks_us
    ticks_diff = time.ticks_diff
    MICROPYTHON = True
except AttributeError:            # CPython
    MICROPYTHON = False

    def ticks_us():
        return time.perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b

K_BYTES = 0
K_IDLE = 1
K_TICK = 2
N_STATE = 14                      # state, mode, manual_run, counters (11)
T_START_US = 0x3FFFFFFF - 20000000   # the fuzz clock wraps (30 bits) 20 s in


def _die(msg):
    sys.stderr.write("mp_modbus_bench: %s\n" % msg)
    sys.exit(2)


def _here():
    """This script's directory (tools/), under either interpreter."""
    try:
        p = __file__
    except NameError:
        p = sys.argv[0]
    i = p.rfind("/")
    return p[:i] if i >= 0 else "."


def _default_fw_dir():
    return _here() + "/../firmware"


def frame(body):
    """A request frame: body bytes + CRC (low byte first)."""
    from crc16 import crc16
    n = len(body)
    b = bytearray(n + 2)
    for i in range(n):
        b[i] = body[i]
    c = crc16(b, 0, n)
    b[n] = c & 0xFF
    b[n + 1] = c >> 8
    return b


def setting_addr(name):
    import config as cf
    for i in range(len(cf.SETTINGS)):
        if cf.SETTINGS[i][0] == name:
            return 2000 + 2 * i
    raise KeyError(name)


def requests():
    """(name, frame, what the reply must start with) for the timing table."""
    import config as cf
    sp = setting_addr("base_kw_x10")
    cfg_reg = setting_addr("droop_pct_x100")
    code = cf.Config().mb_access_code
    return (
        ("fc04_read_50", frame((1, 4, 0, 0, 0, 50)), (1, 4, 100)),
        ("fc04_read_125", frame((1, 4, 0, 0, 0, 125)), (1, 4, 250)),
        ("fc16_setpoint", frame((1, 16, sp >> 8, sp & 0xFF, 0, 2, 4, 0, 0, 0x03, 0xE8)),
         (1, 16, sp >> 8, sp & 0xFF, 0, 2)),
        ("fc16_refused", frame((1, 16, cfg_reg >> 8, cfg_reg & 0xFF, 0, 2, 4, 0, 0, 0, 50)),
         (1, 0x90, 4)),
        ("fc08_counter", frame((1, 8, 0, 0x0B, 0, 0)), (1, 8, 0, 0x0B)),
        ("fc43_ident", frame((1, 43, 14, 1, 0)), (1, 43, 14, 1)),
        ("fc06_unlock", frame((1, 6, 0x03, 0xEA, code >> 8, code & 0xFF)),
         (1, 6, 0x03, 0xEA)),
    )


def _helpers():
    """tests/fw/helpers (the firmware tests' HAL and inputs)."""
    try:
        import helpers
    except ImportError:        # imported in-process by tools.modbus_bench
        sys.path.append(_here() + "/../tests/fw")
        import helpers
    return helpers


def _make_hal_class():
    helpers = _helpers()

    class PortHal(helpers.ScriptHal):
        """The firmware tests' HAL (inputs set by the bench), and replies
        collected without allocating."""

        def __init__(self):
            helpers.ScriptHal.__init__(self)
            self.rbuf = bytearray(4096)
            self.rlen = array("H", [0] * 64)
            self.nrep = 0
            self.nbytes = 0

        def reset(self):
            self.nrep = 0
            self.nbytes = 0

        def uart_send(self, buf, n):
            o = self.nbytes
            if self.nrep >= 64 or o + n > 4096:
                raise OverflowError("bench reply buffer full")
            rb = self.rbuf
            for i in range(n):
                rb[o + i] = buf[i]
            self.rlen[self.nrep] = n
            self.nrep += 1
            self.nbytes = o + n

    return PortHal


def _running_inputs(v, cfg, speed_rpm_x10, p_kw_x10):
    """tests/fw/helpers.running_inputs, on the input vector v."""
    helpers = _helpers()

    class _H:
        next_in = v
    helpers.running_inputs(_H, cfg, speed_rpm_x10, p_kw_x10)


def build(loaded):
    """(hal, controller): loaded = a set on load paralleled with the grid
    (helpers.loaded_controller), else stopped (test_modbus_map._stopped).
    Built in main_link.build's order (the event log's ring first)."""
    import hal
    from eventlog import EventLog
    from controller import Controller
    gc.collect()
    log = EventLog()
    h = _make_hal_class()()
    c = Controller(h, log=log)
    if loaded:
        _running_inputs(h.next_in, c.cfg, c.cfg.rated_rpm_x10, 1000)
        h.next_in[hal.IN_DI] |= hal.DI_MB_CLOSED
        h.next_in[hal.IN_GRID_P_KW_X10] = 500
        c.begin(5000, c.cfg.rated_rpm_x10)
    else:
        _running_inputs(h.next_in, c.cfg, 0, 0)
        h.next_in[hal.IN_DI] = hal.DI_METER_OK | hal.DI_GAS_PROVEN
    c.tick()
    return h, c


class Replayer:
    """Fuzz events into a stopped controller; both interpreters."""

    def __init__(self):
        import hal
        self.h, self.c = build(False)
        self._t_ms_i = hal.IN_T_MS
        self.st = array("i", [0] * N_STATE)

    def bytes_in(self, buf, n, t_us):
        self.h.reset()
        self.c.serve_uart(buf, n, t_us)

    def idle(self, t_us):
        self.h.reset()
        self.c.serve_uart(self.h.rbuf, 0, t_us)

    def tick(self, t_ms):
        self.h.reset()
        self.h.next_in[self._t_ms_i] = t_ms
        self.c.tick()

    def state_words(self):
        c = self.c
        s = self.st
        s[0] = c.seq.state
        s[1] = c.seq.mode
        s[2] = 1 if c.seq.manual_run else 0
        cnt = c.mb.counters
        for k in range(len(cnt)):
            s[3 + k] = cnt[k]
        return s

    def fingerprint(self):
        """CRC-16 pair over every setting value and protection field (the
        configuration a write could change), as 32-bit little-endian."""
        import config as cf
        import protection as pr
        from crc16 import _TABLE
        c = self.c
        t = _TABLE
        a = 0xFFFF
        n = 0
        vals = [getattr(c.cfg, s[0]) for s in cf.SETTINGS]
        for i in range(pr.N_PROT):
            for f in range(4):
                vals.append(c.prot.get_field(i, f))
        vals.append(c.prot.curve)
        for v in vals:
            for k in range(4):
                a = (a >> 8) ^ t[(a ^ (v >> (8 * k))) & 0xFF]
            n += 1
        return (a << 16) | (n & 0xFFFF)

    def replies(self):
        """[(offset, length)] of the replies the last event produced."""
        h = self.h
        out = []
        o = 0
        for k in range(h.nrep):
            out.append((o, h.rlen[k]))
            o += h.rlen[k]
        return out


def _sort(a, n):
    """The tick bench's sort (tools/mp_tick_bench.py)."""
    try:
        from mp_tick_bench import _shellsort
    except ImportError:        # imported in-process by tools.modbus_bench
        from tools.mp_tick_bench import _shellsort
    _shellsort(a, n)


def _hex(b, n):
    h = "0123456789abcdef"
    s = []
    for i in range(n):
        x = b[i]
        s.append(h[x >> 4] + h[x & 15])
    return " ".join(s)


def main_time(n):
    mem_alloc = getattr(gc, "mem_alloc", None)
    try:
        import micropython
        heap_lock = micropython.heap_lock
        heap_unlock = micropython.heap_unlock
    except (ImportError, AttributeError):
        heap_lock = heap_unlock = None
    h, c = build(True)
    reqs = requests()
    # Unlocked once (the unlock's own figure is the write of a correct code).
    dur = array("i", [0] * n)
    serve = c.serve_uart
    print("runtime: %s" % ("micropython" if MICROPYTHON else "cpython"))
    print("requests_per_kind: %d" % n)
    t = 1000
    for name, fr, want in reqs:
        ln = len(fr)
        # Warm-up and check the reply.
        h.reset()
        serve(fr, ln, t)
        t += 10000
        ok = h.nrep == 1
        for i in range(len(want)):
            if not ok or h.rbuf[i] != want[i]:
                ok = False
        print("%s.reply: %s%s" % (name, _hex(h.rbuf, h.nbytes if h.nbytes < 12 else 12),
                                  " ..." if h.nbytes > 12 else ""))
        print("%s.reply_ok: %s" % (name, "yes" if ok else "no"))
        print("%s.reply_bytes: %d" % (name, h.nbytes))
        gc.collect()
        gc.disable()
        a0 = mem_alloc() if mem_alloc else 0
        for k in range(n):
            h.nrep = 0
            h.nbytes = 0
            t0 = ticks_us()
            serve(fr, ln, t)
            t1 = ticks_us()
            dur[k] = ticks_diff(t1, t0)
            t += 10000
        a1 = mem_alloc() if mem_alloc else 0
        gc.enable()
        _sort(dur, n)
        med2 = dur[(n - 1) // 2] + dur[n // 2]
        print("%s.us_median: %d.%d" % (name, med2 // 2, 5 * (med2 % 2)))
        print("%s.us_p95: %d" % (name, dur[max(0, (95 * n + 99) // 100 - 1)]))
        if mem_alloc:
            span = a1 - a0
            print("%s.heap_span_bytes: %d" % (name, span))
            print("%s.heap_bytes_per_req: %d.%03d" % (name, span // n, (span * 1000 // n) % 1000))
        # Second pass: N more under heap_lock (CPython: the same calls
        # unlocked, so the two interpreters' counters and replies agree).
        gc.collect()
        done = 0
        err = ""
        if heap_lock:
            heap_lock()
        try:
            for k in range(n):
                h.nrep = 0
                h.nbytes = 0
                serve(fr, ln, t)
                t += 10000
                done += 1
        except MemoryError:
            err = "MemoryError"
        finally:
            if heap_unlock:
                heap_unlock()
        if heap_lock:
            print("%s.heap_lock: %s" % (name, "ok (%d requests)" % done if not err else
                                         "%s after %d requests" % (err, done)))
    print("done: yes")


def main_fuzz(ev_path, out_path):
    import struct
    try:
        f = open(ev_path, "rb")
    except OSError:
        _die("cannot open %s" % ev_path)
    o = open(out_path, "wb")
    r = Replayer()
    hdr = bytearray(7)
    buf = bytearray(1024)
    n_ev = 0
    n_frames_bytes = 0
    t_start = ticks_us()
    try:
        while True:
            k = f.readinto(hdr)
            if not k:
                break
            if k != 7:
                _die("event file truncated")
            kind = hdr[0]
            t = hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | (hdr[4] << 24)
            n = hdr[5] | (hdr[6] << 8)
            if n:
                if n > 1024 or f.readinto(memoryview(buf)[:n]) != n:
                    _die("event file truncated")
            if kind == K_BYTES:
                r.bytes_in(buf, n, t)
                n_frames_bytes += n
            elif kind == K_IDLE:
                r.idle(t)
            elif kind == K_TICK:
                r.tick(t)
                o.write(b"T")
                o.write(struct.pack("<%di" % N_STATE, *r.state_words()))
            else:
                _die("bad event kind %d" % kind)
            h = r.h
            p = 0
            for j in range(h.nrep):
                ln = h.rlen[j]
                o.write(b"R")
                o.write(struct.pack("<H", ln))
                o.write(bytes(h.rbuf[p:p + ln]))
                p += ln
            n_ev += 1
    except Exception as e:
        print("fuzz_exception: %s: %s (event %d)" % (type(e).__name__, e, n_ev))
        sys.stderr.write("mp_modbus_bench: firmware raised %s: %s\n" % (type(e).__name__, e))
        o.close()
        sys.exit(3)
    o.write(b"F")
    o.write(struct.pack("<I", r.fingerprint()))
    o.close()
    print("wall_ms: %d" % (ticks_diff(ticks_us(), t_start) // 1000))
    print("events: %d" % n_ev)
    print("bytes_fed: %d" % n_frames_bytes)
    print("done: yes")


def main():
    a = sys.argv
    if len(a) < 3 or a[1] not in ("time", "fuzz"):
        _die("usage: mp_modbus_bench.py time N [FIRMWARE_DIR] | fuzz EVENTS OUT [FIRMWARE_DIR]")
    nfix = 3 if a[1] == "time" else 4
    if a[1] == "fuzz" and len(a) < 4:
        _die("fuzz needs EVENTS and OUT")
    fw = a[nfix] if len(a) > nfix else _default_fw_dir()
    sys.path.insert(0, fw)
    # The firmware tests' input helper, and the tick bench's sort.
    sys.path.insert(1, _here() + "/../tests/fw")
    sys.path.insert(1, _here())
    if a[1] == "time":
        try:
            n = int(a[2])
        except ValueError:
            n = 0
        if n < 1:
            _die("N must be a positive integer")
        main_time(n)
    else:
        main_fuzz(a[2], a[3])


if __name__ == "__main__":
    main()
