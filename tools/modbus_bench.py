"""Modbus benchmarks and the Modbus fuzz campaign (called by tools.bench).

  round_trip(n)       a 50-register FC04 read over a pty with one pymodbus
                      ModbusSerialClient (19200, parity N, timeout 1): the
                      firmware slave under MicroPython (gxsim run --runtime
                      micropython --realtime --modbus-pty), pymodbus's own RTU
                      server on a socat pty pair, and a canned responder (the
                      client's and the pty's own floor), requests interleaved
                      in blocks so the three see the same machine load; the
                      same request also from a raw select() client on the
                      same descriptor (no polling grid).
  slave_cost(n)       tools/mp_modbus_bench.py "time" under the MicroPython
                      unix port and under CPython: us per serve_uart call per
                      request kind, heap bytes per request, heap_lock pass.
  fuzz(n_frames, ...) random and mutated frames into the real Controller
                      in-process (CPython), every event checked by an
                      independent frame scanner (Oracle); with mp_frames, a
                      second stream replayed inside MicroPython and compared
                      byte for byte with the CPython replay of the same events.

Also a process entry for the reference servers round_trip starts:
  python -m tools.modbus_bench serve-pymodbus PATH | serve-canned PATH
"""

import bisect
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from host_sim import ROOT, firmware_path
from host_sim import runtime as rt_mod

firmware_path()
import config as cf  # noqa: E402  (firmware)
import protection as pr  # noqa: E402
import sequencer as sq  # noqa: E402
import modbus  # noqa: E402
from crc16 import crc16  # noqa: E402

from tools import mp_modbus_bench as mpb  # noqa: E402

MP_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp_modbus_bench.py")
MP_HEAPSIZE = "320k"
RT_SCENARIO = "iso-steps-ng"     # starts loaded at 1800 rpm, so the measurements are live
RT_BLOCK = 10                    # requests per server per interleaved block
READ_QTY = 50
T35_US = 2005                    # t3.5 at 19200 baud


def _median(v):
    s = sorted(v)
    n = len(s)
    return (s[(n - 1) // 2] + s[n // 2]) / 2.0 if n else None


def _p95(v):
    s = sorted(v)
    return s[max(0, (95 * len(s) + 99) // 100 - 1)] if s else None


def _kill(p):
    if p is not None and p.poll() is None:
        p.kill()
        p.wait()


# -- 1. round trip over a pty ---------------------------------------------------

def _wait_file_line(path, text, timeout):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        try:
            with open(path) as f:
                if text in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


class _SocatPair:
    """socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B."""

    def __init__(self, d, name):
        self.a = os.path.join(d, name + "S")
        self.b = os.path.join(d, name + "M")
        self.log = os.path.join(d, name + "-socat.log")
        self.err = open(self.log, "w")
        self.proc = subprocess.Popen(["socat", "-d", "-d", "pty,raw,echo=0,link=%s" % self.a,
                                      "pty,raw,echo=0,link=%s" % self.b],
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        if not _wait_file_line(self.log, "starting data transfer loop", 10):
            self.close()
            raise RuntimeError("socat did not start (%s)" % self.log)

    def close(self):
        _kill(self.proc)
        self.err.close()


class _Firmware:
    """gxsim run SCENARIO --runtime micropython --realtime --modbus-pty PATH."""

    def __init__(self, d, duration_s, runtime="micropython"):
        self.path = os.path.join(d, "ttyGX")
        self.stderr = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host_sim.cli", "run", RT_SCENARIO, "--runtime", runtime,
             "--realtime", "--modbus-pty", self.path, "--duration", str(duration_s),
             "--no-plot", "--out", os.path.join(d, "out")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(60) or not any(x.startswith("modbus: serving") for x in self.stderr):
            self.close()
            raise RuntimeError("gxsim --modbus-pty did not come up: %s"
                               % "".join(self.stderr).strip()[-500:])

    def _read(self):
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.startswith("modbus: serving"):
                self.ready.set()
        self.ready.set()

    def close(self):
        """SIGINT, as Ctrl-C: the run ends cleanly and writes its report."""
        p = self.proc
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                _kill(p)
        return p.returncode


class _Server:
    """python -m tools.modbus_bench serve-KIND on one end of a socat pair."""

    def __init__(self, d, kind):
        self.pair = _SocatPair(d, kind)
        self.path = self.pair.b
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.modbus_bench",
                                      "serve-" + kind, self.pair.a], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def close(self):
        _kill(self.proc)
        self.pair.close()


def _client(path):
    from pymodbus.client import ModbusSerialClient
    c = ModbusSerialClient(path, baudrate=19200, parity="N", timeout=1, retries=0)
    if not c.connect():
        raise RuntimeError("pymodbus could not open %s" % path)
    return c


def _read_once(c):
    """One FC04 read of READ_QTY registers from 0: (seconds, ok)."""
    t0 = time.perf_counter()
    try:
        r = c.read_input_registers(0, count=READ_QTY, device_id=1)
        ok = not r.isError() and len(r.registers) == READ_QTY
    except Exception:      # ModbusIOException: no reply within the timeout
        ok = False
    return time.perf_counter() - t0, ok


_RAW_REQ = bytes([1, 4, 0, 0, 0, READ_QTY])
_RAW_REQ += bytes([crc16(_RAW_REQ, 0, 6) & 0xFF, crc16(_RAW_REQ, 0, 6) >> 8])


def _read_raw(c):
    """The same request written on the pymodbus client's own file
    descriptor, the reply read with select() as soon as bytes arrive:
    (seconds to the last reply byte, ok).  No polling grid."""
    import select
    fd = c.socket.fd
    want = 5 + 2 * READ_QTY
    got = b""
    t0 = time.perf_counter()
    os.write(fd, _RAW_REQ)
    t_end = t0 + 1.0
    while len(got) < want:
        left = t_end - time.perf_counter()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        got += os.read(fd, 512)
    dt = time.perf_counter() - t0
    ok = len(got) == want and got[:3] == bytes([1, 4, 2 * READ_QTY]) and \
        crc16(got, 0, want - 2) == got[want - 2] | (got[want - 1] << 8)
    return dt, ok


def _until_answers(c, timeout=20.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if _read_once(c)[1]:
            return True
        time.sleep(0.05)
    return False


def round_trip(n=200, warmup=10, canned=True):
    """Median / p95 round trip in ms of an FC04 50-register read, same client
    settings, for each server; requests interleaved in blocks of RT_BLOCK."""
    import logging
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)   # timeouts are counted, not logged
    d = tempfile.mkdtemp(prefix="gx230-mbrt-")
    servers = {}
    clients = {}
    res = {"requests": n, "qty": READ_QTY, "scenario": RT_SCENARIO}
    try:
        # The firmware session lasts long enough for every block at a 1 s
        # timeout per failed request in the worst case; it is ended by SIGINT.
        servers["firmware"] = _Firmware(d, duration_s=max(60, 4 * n))
        servers["pymodbus"] = _Server(d, "pymodbus")
        if canned:
            servers["canned"] = _Server(d, "canned")
        for k, s in servers.items():
            clients[k] = _client(s.path)
            if not _until_answers(clients[k]):
                raise RuntimeError("%s server on %s never answered" % (k, s.path))
            for _ in range(warmup):
                _read_once(clients[k])
        times = {(k, m): [] for k in servers for m in ("pymodbus", "raw")}
        fails = {key: 0 for key in times}
        done = 0
        while done < n:
            b = min(RT_BLOCK, n - done)
            for k in servers:
                for m, f in (("pymodbus", _read_once), ("raw", _read_raw)):
                    for _ in range(b):
                        dt, ok = f(clients[k])
                        if ok:
                            times[k, m].append(dt * 1000.0)
                        else:
                            fails[k, m] += 1
                            time.sleep(0.05)     # let a late reply drain
                        if m == "raw":
                            time.sleep(0.0005)   # the t3.5 gap before the next request
            done += b
        for k in servers:
            res[k] = {"ok": len(times[k, "pymodbus"]), "failed": fails[k, "pymodbus"],
                      "median_ms": _median(times[k, "pymodbus"]),
                      "p95_ms": _p95(times[k, "pymodbus"]),
                      "raw_ok": len(times[k, "raw"]), "raw_failed": fails[k, "raw"],
                      "raw_median_ms": _median(times[k, "raw"]),
                      "raw_p95_ms": _p95(times[k, "raw"])}
        fw, pm = res["firmware"], res["pymodbus"]
        for pre in ("", "raw_"):
            if fw[pre + "median_ms"] and pm[pre + "median_ms"]:
                res[pre + "ratio_median"] = fw[pre + "median_ms"] / pm[pre + "median_ms"]
                res[pre + "ratio_p95"] = fw[pre + "p95_ms"] / pm[pre + "p95_ms"]
    finally:
        for c in clients.values():
            c.close()
        rc = None
        if "firmware" in servers:
            rc = servers.pop("firmware").close()
        for s in servers.values():
            s.close()
        res["firmware_exit"] = rc
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    return res


def _serve_pymodbus(path):
    import asyncio
    from pymodbus.server import StartAsyncSerialServer
    from pymodbus.simulator import SimData, SimDevice, DataType as T

    def blk(t, v):
        return [SimData(0, count=200, values=v, datatype=t)]
    dev = SimDevice(id=1, simdata=(blk(T.BITS, False), blk(T.BITS, False),
                                   blk(T.REGISTERS, 1234), blk(T.REGISTERS, 4321)))
    asyncio.run(StartAsyncSerialServer(dev, port=path, baudrate=19200, parity="N"))


def _serve_canned(path):
    """Answers every 8 bytes with one fixed 50-register reply: no parsing,
    no CRC check - what a pty and the client cost by themselves."""
    import tty
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    body = bytes([1, 4, 2 * READ_QTY]) + bytes(2 * READ_QTY)
    c = crc16(body, 0, len(body))
    reply = body + bytes([c & 0xFF, c >> 8])
    got = 0
    while True:
        b = os.read(fd, 256)
        if not b:
            break
        got += len(b)
        while got >= 8:
            got -= 8
            os.write(fd, reply)


# -- 2. slave cost per request --------------------------------------------------

def run_mp_modbus(args, runtime="micropython", timeout=300):
    """tools/mp_modbus_bench.py under the unix port (compiled firmware) or
    CPython (firmware sources); returns (dict, stdout, exit code)."""
    if runtime == "micropython":
        cmd = [rt_mod.micropython_binary(), "-X", "heapsize=%s" % MP_HEAPSIZE, MP_SCRIPT] + \
            list(args) + [rt_mod.compiled_firmware()]
    else:
        cmd = [sys.executable, MP_SCRIPT] + list(args) + [firmware_path()]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    d = {}
    for line in p.stdout.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            d[k.strip()] = v.strip()
    return d, p.stdout + p.stderr, p.returncode


def slave_cost(n=500):
    """us per request (median, p95) in both interpreters, heap per request
    and the heap_lock pass under MicroPython."""
    names = [r[0] for r in mpb.requests()]
    out = {"requests_per_kind": n, "rows": []}
    mp, mp_text, rc = run_mp_modbus(["time", str(n)], "micropython")
    if rc != 0 or mp.get("done") != "yes":
        raise RuntimeError("mp_modbus_bench.py (micropython) failed (exit %d): %s"
                           % (rc, mp_text.strip()[-800:]))
    cp, cp_text, rc = run_mp_modbus(["time", str(n)], "cpython")
    if rc != 0 or cp.get("done") != "yes":
        raise RuntimeError("mp_modbus_bench.py (cpython) failed (exit %d): %s"
                           % (rc, cp_text.strip()[-800:]))

    def f(d, k):
        v = d.get(k)
        return float(v) if v is not None else None
    for name in names:
        row = {"request": name,
               "mp_us_median": f(mp, name + ".us_median"), "mp_us_p95": f(mp, name + ".us_p95"),
               "cpy_us_median": f(cp, name + ".us_median"), "cpy_us_p95": f(cp, name + ".us_p95"),
               "heap_bytes_per_req": f(mp, name + ".heap_bytes_per_req"),
               "heap_lock": mp.get(name + ".heap_lock"),
               "reply_ok": (mp.get(name + ".reply_ok") == "yes" and
                            cp.get(name + ".reply_ok") == "yes"),
               "reply_bytes": int(mp.get(name + ".reply_bytes", "0")),
               "same_reply": mp.get(name + ".reply") == cp.get(name + ".reply")}
        if row["mp_us_median"] and row["cpy_us_median"]:
            row["ratio_mp_cpy"] = row["mp_us_median"] / row["cpy_us_median"]
        out["rows"].append(row)
    return out


# -- 3. fuzz campaign ------------------------------------------------------------

def _seal(body):
    c = crc16(body, 0, len(body))
    return bytes(body) + bytes([c & 0xFF, c >> 8])


def _w16(v):
    v &= 0xFFFF
    return [v >> 8, v & 0xFF]


def _w32(v):
    v &= 0xFFFFFFFF
    return [(v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF]


# Settings the campaign never writes in a CRC-valid frame: the port settings
# and the access code (the checks assume address 1 and a known code) and amf
# (a standby set starts by itself on a dead bus: a start without a command).
FUZZ_EXCLUDED = ("mb_address", "mb_baud", "mb_parity", "mb_stop_bits", "mb_access_code", "amf")

N_SET = len(cf.SETTINGS)
SET_LO = 2000
SET_HI = 2000 + 2 * N_SET             # exclusive
PROT_LO = 3000
PROT_HI = 3000 + 10 * pr.N_PROT
SETPOINT_IDX = frozenset(i for i in range(N_SET) if cf.SETTINGS[i][0] in cf.SETPOINTS)
EXCLUDED_REGS = frozenset(r for i in range(N_SET) if cf.SETTINGS[i][0] in FUZZ_EXCLUDED
                          for r in (2000 + 2 * i, 2001 + 2 * i))
IEEE_REG = 2000 + 2 * [s[0] for s in cf.SETTINGS].index("ieee1547_category")
CMD_REG = 1000
CODE_REG = 1002
ACCESS_CODE = cf.Config().mb_access_code


def _req_len(b, o, avail):
    """Request length by function code (the contract's table); 0 not known
    yet, -1 a function without a fixed layout."""
    if avail < 2:
        return 0
    fc = b[o + 1]
    if 1 <= fc <= 6 or fc == 8:
        return 8
    if fc == 15 or fc == 16:
        return 9 + b[o + 6] if avail >= 7 else 0
    if fc == 43:
        return 7
    if fc == 22:
        return 10
    if fc in (17, 7, 11, 12):
        return 4
    if fc == 20 or fc == 21:
        return 5 + b[o + 2] if avail >= 3 else 0
    if fc == 23:
        return 13 + b[o + 10] if avail >= 11 else 0
    if fc == 24:
        return 6
    return -1


def written_regs(fr):
    """{register: value} a CRC-valid FC06/FC16 frame writes (its layout
    valid), else {}."""
    fc = fr[1]
    if fc == 6 and len(fr) == 8:
        return {(fr[2] << 8) | fr[3]: (fr[4] << 8) | fr[5]}
    if fc == 16 and len(fr) >= 9:
        start = (fr[2] << 8) | fr[3]
        qty = (fr[4] << 8) | fr[5]
        if fr[6] != 2 * qty or len(fr) != 9 + 2 * qty or not 1 <= qty <= 123:
            return {}
        return {start + k: (fr[7 + 2 * k] << 8) | fr[8 + 2 * k] for k in range(qty)}
    return {}


class FrameGen:
    """Requests from the real register map, then mutated and chunked."""

    def __init__(self, rng):
        self.rng = rng
        self.cfg_idx = [i for i in range(N_SET) if i not in SETPOINT_IDX and
                        cf.SETTINGS[i][0] not in FUZZ_EXCLUDED]
        self.sp_idx = sorted(SETPOINT_IDX)
        self.prot = pr.Protection(cf.Config())
        import registers as rg
        self.ir_addrs = [p[1] for p in rg.POINTS if p[0] == rg.TB_IR]
        self.kinds = (
            (14, self.read_ir), (8, self.read_hr), (4, self.read_bits),
            (2, self.bad_qty), (8, self.write_setpoint), (9, self.write_setting),
            (6, self.write_prot), (8, self.command), (7, self.unlock), (4, self.coil),
            (2, self.event_index), (6, self.diag), (2, self.fc17), (3, self.fc43),
            (3, self.unsupported),
        )
        self.kind_w = sum(w for w, _ in self.kinds)

    def address(self):
        x = self.rng.random()
        if x < 0.80:
            return 1
        if x < 0.88:
            return 0
        return self.rng.choice((2, 3, 17, 100, 246, 247, 248, 255))

    def body(self):
        r = self.rng.randrange(self.kind_w)
        for w, f in self.kinds:
            if r < w:
                return f()
            r -= w

    # request kinds: the PDU after the address byte
    def read_ir(self):
        r = self.rng
        start = r.choice(self.ir_addrs) if r.random() < 0.7 else r.randrange(0, 420)
        qty = r.choice((1, 2, 10, 50, 125)) if r.random() < 0.5 else r.randint(1, 125)
        return [r.choice((3, 4))] + _w16(start) + _w16(qty)

    def read_hr(self):
        r = self.rng
        x = r.random()
        if x < 0.2:
            start, qty = 1000 + r.randrange(4), r.randint(1, 4)
        elif x < 0.6:
            start, qty = SET_LO + r.randrange(2 * N_SET), r.randint(1, 125)
        elif x < 0.9:
            start, qty = PROT_LO + r.randrange(10 * pr.N_PROT), r.randint(1, 125)
        else:
            start, qty = r.randrange(0x10000), r.randint(1, 125)
        return [3] + _w16(start) + _w16(qty)

    def read_bits(self):
        r = self.rng
        if r.random() < 0.3:
            return [1] + _w16(r.randrange(12)) + _w16(r.randint(1, 12))
        return [2] + _w16(r.randrange(260)) + _w16(r.randint(1, 300))

    def bad_qty(self):
        r = self.rng
        fc = r.choice((1, 2, 3, 4))
        q = r.choice((0, 126, 2001, 0xFFFF)) if fc > 2 or r.random() < 0.5 else 0
        return [fc] + _w16(r.randrange(100)) + _w16(q)

    def _value(self, lo, hi):
        r = self.rng
        x = r.random()
        if x < 0.7:
            return r.randint(lo, hi)
        if x < 0.85:
            return r.choice((lo - 1, hi + 1, lo, hi))
        return r.randint(-0x40000000, 0x3FFFFFFF)

    def write_setpoint(self):
        r = self.rng
        i = r.choice(self.sp_idx)
        s = cf.SETTINGS[i]
        a = 2000 + 2 * i
        if r.random() < 0.1:
            return [6] + _w16(a) + _w16(r.randrange(0x10000))     # half a point: 02
        return [16] + _w16(a) + [0, 2, 4] + _w32(self._value(s[2], s[3]))

    def write_setting(self):
        r = self.rng
        i = r.choice(self.cfg_idx)
        k = 1
        if r.random() < 0.3:
            # Several contiguous settings as one write (all in cfg_idx).
            k = r.randint(2, 4)
            while any(j >= N_SET or j not in self.cfg_idx for j in range(i, i + k)):
                k -= 1
        vals = []
        for j in range(i, i + k):
            s = cf.SETTINGS[j]
            vals += _w32(self._value(s[2], s[3]) if r.random() < 0.8 else s[1])
        return [16] + _w16(2000 + 2 * i) + _w16(2 * k) + [4 * k] + vals

    def write_prot(self):
        r = self.rng
        i = r.randrange(pr.N_PROT)
        f = r.randrange(5 if pr.PROTECTIONS[i][pr.P_KIND] == pr.K_INVERSE else 4)
        p = self.prot
        lo, hi = {0: (0, 1), 1: (p.pk_lo[i], p.pk_hi[i]), 2: (p.dl_lo[i], p.dl_hi[i]),
                  3: (1, 6), 4: (0, 4)}[f]
        v = self._value(lo, hi) if r.random() < 0.8 else p.get_field(i, f)
        return [16] + _w16(3000 + 10 * i + 2 * f) + [0, 2, 4] + _w32(v)

    def command(self):
        r = self.rng
        if r.random() < 0.9:
            code = r.choice((1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9))
        else:
            code = r.randrange(0x10000)
        comp = code ^ 0xFFFF
        x = r.random()
        if x < 0.1:
            comp = r.randrange(0x10000)
        elif x < 0.15:
            return [6] + _w16(CMD_REG) + _w16(code)                 # no complement: 03
        elif x < 0.2:
            # The pair inside a longer write with the access code and event index.
            return [16] + _w16(CMD_REG) + [0, 4, 8] + _w16(code) + _w16(comp) + \
                _w16(ACCESS_CODE) + _w16(0)
        return [16] + _w16(CMD_REG) + [0, 2, 4] + _w16(code) + _w16(comp)

    def unlock(self):
        r = self.rng
        code = ACCESS_CODE if r.random() < 0.75 else \
            r.choice((0, 1953, 9999, 10000, r.randrange(0x10000)))
        if r.random() < 0.8:
            return [6] + _w16(CODE_REG) + _w16(code)
        return [16] + _w16(CODE_REG) + [0, 1, 2] + _w16(code)

    def coil(self):
        r = self.rng
        x = r.random()
        if x < 0.6:
            return [5] + _w16(r.randrange(4)) + [0xFF if r.random() < 0.8 else 0, 0]
        if x < 0.75:
            return [5] + _w16(r.randrange(8)) + _w16(r.choice((0x1234, 0x00FF, 0xFFFF)))
        q = r.randint(1, 10)
        nb = (q + 7) // 8
        return [15] + _w16(r.randrange(8)) + _w16(q) + [nb] + [r.randrange(256) for _ in range(nb)]

    def event_index(self):
        return [6] + _w16(1003) + _w16(self.rng.choice((0, 1, 5, 100, 0x7FFF, 0x8000)))

    def diag(self):
        r = self.rng
        sub = r.choice((0, 0, 1, 2, 4, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12,
                        0x14, 0x03, 0x15, 0xFF))
        if sub == 4 and r.random() < 0.7:
            sub = 0x0B            # listen-only silences the slave: keep it rare
        data = 0 if r.random() < 0.85 else r.choice((0xFF00, 0x1234, 0xA5A5))
        return [8] + _w16(sub) + _w16(data)

    def fc17(self):
        return [17]

    def fc43(self):
        r = self.rng
        mei = 14 if r.random() < 0.9 else r.choice((13, 15, 0))
        return [43, mei, r.choice((0, 1, 2, 3, 4, 5)), r.choice((0, 1, 2, 3, 5, 6, 7, 0x80, 0xFF))]

    def unsupported(self):
        r = self.rng
        x = r.random()
        if x < 0.5:
            fc = r.choice((7, 11, 12))
            return [fc]
        if x < 0.7:
            return [24] + _w16(r.randrange(0x10000))
        fc = r.choice((0x41, 0x64, 0x7F, 0x2A, 0x30))
        return [fc] + [r.randrange(256) for _ in range(r.randint(0, 6))]

    # a whole frame, maybe mutated
    def frame(self):
        """(bytes, tag): tag names the mutation ("valid" for none)."""
        r = self.rng
        good = _seal(bytearray([self.address()] + self.body()))
        x = r.random()
        if x < 0.45:
            return good, "valid"
        b = bytearray(good)
        if x < 0.57:
            for _ in range(r.randint(1, 3)):
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
            return bytes(b), "bitflip"
        if x < 0.65:
            return bytes(b[:r.randrange(1, len(b))]), "truncated"
        if x < 0.71:
            b.insert(r.randrange(len(b) + 1), r.randrange(256))
            return bytes(b), "inserted"
        if x < 0.75:
            del b[r.randrange(len(b))]
            return bytes(b), "deleted"
        if x < 0.85:
            # Body bytes changed and the CRC recomputed: a valid frame the
            # register map never offered (kept only if it writes nothing the
            # checks assume fixed).
            for _ in range(10):
                body = bytearray(good[:-2])
                for _ in range(r.randint(1, 3)):
                    body[r.randrange(1, len(body))] = r.randrange(256)
                fr = _seal(body)
                if not any(a in EXCLUDED_REGS for a in written_regs(fr)) and \
                        not (fr[0] in (0, 1) and fr[1] in (15, 16) and
                             self._covers_excluded(fr)):
                    return fr, "resealed"
            return good, "valid"
        if x < 0.92:
            return bytes(r.randrange(256) for _ in range(r.randint(1, 40))), "garbage"
        if x < 0.925:
            # A long burst without a gap: more than the slave's receive buffer.
            return bytes(r.randrange(256) for _ in range(r.randint(200, 900))), "burst"
        if x < 0.94:
            return self.reply_frame(), "reply"
        # Wrong address, valid CRC.
        b[0] = r.choice((2, 5, 99, 247, 248, 255))
        return _seal(b[:-2]), "foreign"

    def reply_frame(self):
        """A slave's reply on the line (another slave's, or our own echoed
        back by an adapter): the slave must skip it, not serve it."""
        r = self.rng
        addr = r.choice((1, 2, 17, 247))
        x = r.random()
        if x < 0.4:
            q = r.randint(1, 60)
            body = [addr, r.choice((3, 4)), 2 * q] + [r.randrange(256) for _ in range(2 * q)]
        elif x < 0.55:
            nb = r.randint(1, 30)
            body = [addr, r.choice((1, 2)), nb] + [r.randrange(256) for _ in range(nb)]
        elif x < 0.75:
            body = [addr, r.choice((0x81, 0x83, 0x84, 0x86, 0x90, 0xAB)), r.randint(1, 4)]
        elif x < 0.9:
            objs = [(0, b"GX230 open controller project"), (1, b"GX230"), (2, b"0.2.0")]
            body = [addr, 43, 14, 1, 0x83, 0, 0, len(objs)]
            for oid, v in objs:
                body += [oid, len(v)] + list(v)
        else:
            sid = b"GX230"
            body = [addr, 17, len(sid) + 1] + list(sid) + [0xFF]
        return _seal(bytearray(body))

    def _covers_excluded(self, fr):
        start = (fr[2] << 8) | fr[3] if len(fr) > 3 else 0
        qty = (fr[4] << 8) | fr[5] if len(fr) > 5 else 0
        return any(a in EXCLUDED_REGS for a in range(start, start + min(qty, 2000)))


def fuzz_events(n_frames, seed):
    """Yields (kind, t, data, frame_no, tag, must): the byte stream of
    n_frames frames as a master and a noisy line would deliver it, idle
    polls, and a control tick every 10 ms of the stream's clock (t in us for
    bytes and idle events, in ms for ticks).  must is True on the last chunk
    of an intact request to address 1 that followed a silent line and had no
    gap inside: the slave has to answer it in that event (unless it is in
    listen-only mode or the request is FC08/04)."""
    rng = random.Random(seed)
    g = FrameGen(rng)
    t = 0                  # us since the start
    next_tick = 10000
    for k in range(n_frames):
        fr, tag = g.frame()
        # Before the frame: the line silent for a while (t3.5 or more), or
        # back to back with the previous one.
        x = rng.random()
        intact = tag == "valid" and fr[0] == 1
        if x < 0.85:
            t += T35_US + rng.randint(0, 6000)
            while t >= next_tick:
                yield mpb.K_TICK, next_tick // 1000, b"", k, tag, False
                next_tick += 10000
            yield mpb.K_IDLE, t, b"", k, tag, False
        else:
            t += rng.randint(0, 400)
            intact = False
        # The frame in chunks.
        o = 0
        n = len(fr)
        whole = rng.random() < 0.6
        while o < n:
            m = n - o if whole else rng.randint(1, n - o)
            if o:
                gap = rng.randint(0, 800) if rng.random() < 0.97 else rng.randint(T35_US, 5000)
                t += gap
                while t >= next_tick:
                    yield mpb.K_TICK, next_tick // 1000, b"", k, tag, False
                    next_tick += 10000
                if gap >= T35_US:
                    yield mpb.K_IDLE, t, b"", k, tag, False
                    intact = False
            yield mpb.K_BYTES, t, fr[o:o + m], k, tag, intact and o + m == n
            o += m
            t += m * 573       # 11 bits at 19200 baud
    t += T35_US + 1000
    yield mpb.K_IDLE, t, b"", n_frames, "end", False


def write_events(events, path):
    """The event file tools/mp_modbus_bench.py fuzz reads."""
    n = 0
    with open(path, "wb") as f:
        for kind, t, data, _, _, _ in events:
            tt = t if kind == mpb.K_TICK else (mpb.T_START_US + t) & 0x3FFFFFFF
            f.write(struct.pack("<BIH", kind, tt, len(data)) + bytes(data))
            n += 1
    return n


class Violation(Exception):
    pass


class Oracle:
    """Checks one controller fed the fuzz stream, from the bytes alone: an
    independent scanner finds every CRC-valid request a slave could take
    from the stream (at every byte offset, lengths by function code,
    ignoring gaps - a superset of what the slave can act on), and each
    event's effects must be explained by frames it found."""

    WINDOW = 1100          # bytes a valid frame may wait in the slave (rx 512 x 2)

    def __init__(self, rp):
        self.rp = rp
        self.c = rp.c
        self.stream = bytearray()
        self.cand = []                 # offsets that may start a frame (addr 0 or 1)
        self.valid = []                # (end, frame) CRC-valid frames to address 0 or 1
        self.pending_rsp = []          # (end, fc) addr-1 frames not answered yet
        self.locks = []                # (stream end, unlocked?) valid unlocks, executed relocks
        self.last_clear = None         # ... of the last valid counter clear (08/01, 0A, 14)
        self.last_start = None         # ... of the last valid start pair to address 1
        self.licence = False           # a valid start was sent in MANUAL
        self.viol = []
        self.stats = {"replies": 0, "exceptions": 0, "valid_frames": 0, "licensed_starts": 0,
                      "config_changes": 0, "setpoint_changes": 0, "unlocks": 0,
                      "clears": 0, "max_reply": 0, "lockouts": 0, "intact_requests": 0}
        self.names = [s[0] for s in cf.SETTINGS]
        self.cfg_prev = self._cfg()
        self.cnt_prev = list(self.c.mb.counters)
        self.mode_prev = self.c.seq.mode
        self.state_prev = self.c.seq.state

    def _cfg(self):
        c = self.c
        p = c.prot
        return (tuple(getattr(c.cfg, n) for n in self.names),
                bytes(p.enable) + bytes(p.pickup) + bytes(p.delay_ms) + bytes(p.cls), p.curve)

    def bad(self, what, ev):
        self.viol.append((what, ev))

    # -- scanner --
    def feed(self, data):
        s = self.stream
        p0 = len(s)
        s += data
        p1 = len(s)
        for o in range(p0, p1):
            if s[o] <= 1:
                self.cand.append(o)
        keep = []
        found = []
        for o in self.cand:
            avail = p1 - o
            ln = _req_len(s, o, avail)
            if ln == 0 or (ln > 0 and ln > avail and ln <= 256):
                if avail < 300:
                    keep.append(o)
                continue
            if ln < 0:
                # A function without a fixed layout: noted for a 01 reply.
                if s[o] == 1:
                    self.pending_rsp.append((o + 8, s[o + 1] | 0x100))
                continue
            if ln < 4 or ln > 256:
                continue
            c = crc16(s, o, o + ln - 2)
            if s[o + ln - 2] == (c & 0xFF) and s[o + ln - 1] == (c >> 8):
                found.append((o + ln, bytes(s[o:o + ln])))
        self.cand = keep
        for end, fr in found:
            self._found(end, fr)
        lim = p1 - self.WINDOW
        if self.valid and self.valid[0][0] < lim:
            self.valid = [v for v in self.valid if v[0] >= lim]
        if len(self.pending_rsp) > 64:
            self.pending_rsp = [v for v in self.pending_rsp if v[0] >= lim]
        if p1 > 1 << 20:
            # Keep the stream short: offsets are relative to the kept tail.
            cut = p1 - 4096
            del s[:cut]
            self.cand = [o - cut for o in self.cand]
            self.valid = [(e - cut, f) for e, f in self.valid]
            self.pending_rsp = [(e - cut, f) for e, f in self.pending_rsp]
            i = bisect.bisect_left(self.locks, (cut, False))
            self.locks = [(0, u) for _, u in self.locks[max(0, i - 1):i]] + \
                [(e - cut, u) for e, u in self.locks[i:]]
            for k in ("last_clear", "last_start"):
                if getattr(self, k) is not None:
                    setattr(self, k, getattr(self, k) - cut)

    def _found(self, end, fr):
        self.stats["valid_frames"] += 1
        self.valid.append((end, fr))
        if fr[0] == 1:
            self.pending_rsp.append((end, fr[1]))
            w = written_regs(fr)
            if w.get(CODE_REG) == ACCESS_CODE:
                self.stats["unlocks"] += 1
                bisect.insort(self.locks, (end, True))
            if w.get(CMD_REG) == sq.CMD_START and w.get(CMD_REG + 1) == sq.CMD_START ^ 0xFFFF:
                self.last_start = end
            if fr[1] == 8 and ((fr[2] << 8) | fr[3]) in (1, 0x0A, 0x14):
                self.last_clear = end
                self.stats["clears"] += 1

    def _recent(self):
        return self.valid

    # -- per event --
    def after(self, ev, kind):
        c = self.c
        rp = self.rp
        h = rp.h
        # 1. replies: CRC, address 1, answered a request the scanner found.
        p = 0
        n_exc = 0
        for j in range(h.nrep):
            ln = h.rlen[j]
            r = bytes(h.rbuf[p:p + ln])
            p += ln
            self.stats["replies"] += 1
            if ln > self.stats["max_reply"]:
                self.stats["max_reply"] = ln
            if ln < 4 or ln > 256:
                self.bad("reply of %d bytes: %s" % (ln, r.hex(" ")), ev)
                continue
            cc = crc16(r, 0, ln - 2)
            if r[-2] != (cc & 0xFF) or r[-1] != (cc >> 8):
                self.bad("reply with a bad CRC: %s" % r.hex(" "), ev)
            if r[0] != 1:
                self.bad("reply from address %d: %s" % (r[0], r.hex(" ")), ev)
            fc = r[1]
            if fc & 0x80:
                n_exc += 1
                if ln != 5 or not 1 <= r[2] <= 4:
                    self.bad("malformed exception reply: %s" % r.hex(" "), ev)
            end = self._match(fc & 0x7F, fc & 0x80 and ln == 5 and r[2] == 1)
            if end is None:
                self.bad("reply with no CRC-valid request for it: %s" % r.hex(" "), ev)
            elif r[1:6] == b"\x05\x00\x02\xff\x00":
                # The config_lock coil written (and answered): locked again.
                # (Broadcast or FC15 relocks are not modelled: the check
                # then assumes still unlocked, the permissive side.)
                bisect.insort(self.locks, (end, False))
        self.stats["exceptions"] += n_exc
        # 2. counters
        cnt = list(c.mb.counters)
        prev = self.cnt_prev
        lim = len(self.stream) - self.WINDOW
        cleared = self.last_clear is not None and self.last_clear >= lim
        if cnt != prev:
            if min(cnt) < 0:
                self.bad("negative counter: %s" % cnt, ev)
            if cnt[modbus.C_SERVER] > cnt[modbus.C_BUS]:
                self.bad("server messages %d > bus messages %d" % (cnt[modbus.C_SERVER],
                                                                   cnt[modbus.C_BUS]), ev)
            if cnt[modbus.C_NORESP] > cnt[modbus.C_SERVER]:
                self.bad("no-response %d > server messages %d" % (cnt[modbus.C_NORESP],
                                                                  cnt[modbus.C_SERVER]), ev)
            if cnt[modbus.C_NAK] or cnt[modbus.C_BUSY]:
                self.bad("NAK/busy counters not 0: %s" % cnt, ev)
            if not cleared and any(a < b for a, b in zip(cnt, prev)):
                self.bad("a counter went down without a clear: %s -> %s" % (prev, cnt), ev)
        if not cleared:
            d_exc = cnt[modbus.C_EXC] - prev[modbus.C_EXC]
            if d_exc != n_exc:
                self.bad("exceptions counter +%d, exception replies %d" % (d_exc, n_exc), ev)
            if cnt[modbus.C_SERVER] - prev[modbus.C_SERVER] < h.nrep:
                self.bad("%d replies but server messages +%d" % (
                    h.nrep, cnt[modbus.C_SERVER] - prev[modbus.C_SERVER]), ev)
        self.cnt_prev = cnt
        # 3. configuration and set points
        now = self._cfg()
        if now != self.cfg_prev:
            self._explain_cfg(self.cfg_prev, now, ev)
            self.cfg_prev = now
        if c.mb.address != 1:
            self.bad("slave address changed to %d" % c.mb.address, ev)
        # 4. the engine
        seq = c.seq
        # Started: asked to run, or anywhere from pre-start to a stop in
        # progress.  LOCKOUT (a shutdown latched on a stopped set, e.g. by a
        # protection setting the stopped set's inputs trip) is not a start.
        started = seq.manual_run or sq.ST_PRESTART <= seq.state < sq.ST_LOCKOUT
        if seq.state == sq.ST_LOCKOUT and self.state_prev != sq.ST_LOCKOUT:
            self.stats["lockouts"] += 1
        self.state_prev = seq.state
        if started and not self.licence:
            start = self.last_start is not None and \
                self.last_start >= len(self.stream) - self.WINDOW
            manual = seq.mode == sq.MODE_MANUAL or self.mode_prev == sq.MODE_MANUAL
            if start and manual and kind != mpb.K_TICK:
                self.licence = True
                self.stats["licensed_starts"] += 1
            else:
                self.bad("engine started (state %s, manual_run %s, mode %s) without a valid "
                         "start pair in MANUAL" % (sq.STATE_NAMES[seq.state], seq.manual_run,
                                                   sq.MODE_NAMES[seq.mode]), ev)
                self.licence = True          # one report per start
        elif not started:
            self.licence = False
        self.mode_prev = seq.mode

    def _unlocked_at(self, pos):
        """Configuration writes open at stream position pos: the last valid
        unlock or answered relock before it was an unlock.  (The timeout and
        the wrong-code block are not modelled: permissive.)"""
        i = bisect.bisect_right(self.locks, (pos, True))
        return i > 0 and self.locks[i - 1][1]

    def _match(self, fc, ill_fn):
        q = self.pending_rsp
        for i in range(len(q)):
            if q[i][1] == fc:
                return q.pop(i)[0]
        if ill_fn:
            for i in range(len(q)):
                if q[i][1] == fc | 0x100:
                    return q.pop(i)[0]
        return None

    def _explain_cfg(self, old, new, ev):
        """Every changed setting / field must have been written, in this
        window, by a CRC-valid frame to address 1 or broadcast; a
        configuration change also needs a valid unlock before it."""
        writes = {}
        unlocked_end = {}        # register -> a valid write of it made while unlocked
        for end, fr in self._recent():
            u = self._unlocked_at(end)
            for a, v in written_regs(fr).items():
                writes.setdefault(a, set()).add(v)
                if u:
                    unlocked_end[a] = end
        s_old, s_new = old[0], new[0]
        for i in range(N_SET):
            if s_old[i] == s_new[i]:
                continue
            a = 2000 + 2 * i
            v = s_new[i] & 0xFFFFFFFF
            ok = v >> 16 in writes.get(a, ()) and v & 0xFFFF in writes.get(a + 1, ())
            if i in SETPOINT_IDX:
                self.stats["setpoint_changes"] += 1
                if not ok:
                    self.bad("set point %s changed %d -> %d with no valid frame writing it"
                             % (self.names[i], s_old[i], s_new[i]), ev)
                continue
            self.stats["config_changes"] += 1
            if not ok:
                self.bad("setting %s changed %d -> %d with no valid frame writing it"
                         % (self.names[i], s_old[i], s_new[i]), ev)
            elif a not in unlocked_end:
                self.bad("setting %s changed %d -> %d without a valid unlock before it"
                         % (self.names[i], s_old[i], s_new[i]), ev)
        if old[1] != new[1] or old[2] != new[2]:
            self.stats["config_changes"] += 1
            p = self.c.prot
            fields = (p.enable, p.pickup, p.delay_ms, p.cls)
            prof = IEEE_REG in writes
            n = pr.N_PROT
            o_arr = [struct.unpack("<%di" % n, old[1][4 * n * k:4 * n * (k + 1)]) for k in range(4)]
            for f in range(4):
                for i in range(n):
                    if o_arr[f][i] == fields[f][i]:
                        continue
                    a = 3000 + 10 * i + 2 * f
                    v = fields[f][i] & 0xFFFFFFFF
                    ok = prof or (v >> 16 in writes.get(a, ()) and
                                  v & 0xFFFF in writes.get(a + 1, ()))
                    if not ok:
                        self.bad("protection %s.%s changed %d -> %d with no valid frame writing it"
                                 % (pr.PROTECTIONS[i][pr.P_NAME], pr.FIELD_NAMES[f],
                                    o_arr[f][i], fields[f][i]), ev)
                    elif a not in unlocked_end and IEEE_REG not in unlocked_end:
                        self.bad("protection %s.%s changed without a valid unlock before it"
                                 % (pr.PROTECTIONS[i][pr.P_NAME], pr.FIELD_NAMES[f]), ev)
            if old[2] != new[2] and not (3000 + 10 * pr.index_of("overcurrent_time") + 8) in writes:
                self.bad("inverse-time curve changed with no valid frame writing it", ev)


def _out_record(rp, kind, buf):
    """The bytes mp_modbus_bench.py fuzz writes for one event."""
    h = rp.h
    if kind == mpb.K_TICK:
        buf += b"T" + struct.pack("<%di" % mpb.N_STATE, *rp.state_words())
    p = 0
    for j in range(h.nrep):
        ln = h.rlen[j]
        buf += b"R" + struct.pack("<H", ln) + bytes(h.rbuf[p:p + ln])
        p += ln


MAX_VIOL = 20


def fuzz_inprocess(events, record=False, max_viol=MAX_VIOL):
    """Feed events into a fresh controller (CPython) under the Oracle.
    Returns a result dict; record=True also returns the replay output bytes
    (the format of mp_modbus_bench.py fuzz)."""
    rp = mpb.Replayer()
    orc = Oracle(rp)
    out = bytearray() if record else None
    buf = bytearray(1024)
    n_ev = n_frames = 0
    last_frames = []
    fw_s = 0.0
    t_wall = time.perf_counter()
    exc = None
    clock = time.perf_counter
    for kind, t, data, fno, tag, must in events:
        if fno != n_frames and tag != "end":
            n_frames = fno
        if kind == mpb.K_BYTES:
            if not last_frames or last_frames[-1][0] != fno:
                last_frames.append([fno, tag, bytearray()])
                del last_frames[:-4]
            last_frames[-1][2] += data
        listen = rp.c.mb.listen_only
        try:
            t0 = clock()
            if kind == mpb.K_BYTES:
                n = len(data)
                buf[:n] = data
                rp.bytes_in(buf, n, (mpb.T_START_US + t) & 0x3FFFFFFF)
            elif kind == mpb.K_IDLE:
                rp.idle((mpb.T_START_US + t) & 0x3FFFFFFF)
            else:
                rp.tick(t)
            fw_s += clock() - t0
        except Exception as e:
            import traceback
            exc = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=6))
            orc.bad("firmware raised %s: %s" % (type(e).__name__, e), n_ev)
            break
        if kind == mpb.K_BYTES:
            orc.feed(data)
        nv = len(orc.viol)
        if must:
            fr = bytes(last_frames[-1][2])
            orc.stats["intact_requests"] += 1
            if rp.h.nrep == 0 and not listen and not (fr[1] == 8 and fr[2:4] == b"\x00\x04"):
                orc.bad("intact request to address 1 after a silent line not answered: %s"
                        % fr.hex(" "), n_ev)
        orc.after(n_ev, kind)
        if len(orc.viol) > nv:
            for k in range(nv, len(orc.viol)):
                what, e_ = orc.viol[k]
                orc.viol[k] = (what, {"event": n_ev, "frame": fno, "tag": tag,
                                      "recent": [(f, tg, bytes(b).hex(" ")) for f, tg, b in
                                                 last_frames]})
        if record:
            _out_record(rp, kind, out)
        n_ev += 1
        if len(orc.viol) >= max_viol:
            break
    wall = time.perf_counter() - t_wall
    if record and exc is None:
        out += b"F" + struct.pack("<I", rp.fingerprint())
    res = {"frames": n_frames + 1 if n_ev else 0, "events": n_ev, "wall_s": wall,
           "firmware_s": fw_s, "violations": orc.viol, "exception": exc,
           "counters": dict(zip(modbus.COUNTER_NAMES, rp.c.mb.counters)),
           "state": sq.STATE_NAMES[rp.c.seq.state], "mode": sq.MODE_NAMES[rp.c.seq.mode],
           "stats": orc.stats, "refused": rp.c.regs.refused, "writes": rp.c.regs.writes}
    if record:
        res["output"] = bytes(out)
    return res


def fuzz_micropython(n_frames, seed):
    """The same kind of stream, n_frames long, replayed inside MicroPython
    and in CPython (under the Oracle); the two outputs must be identical."""
    d = tempfile.mkdtemp(prefix="gx230-mbfuzz-")
    ev_path = os.path.join(d, "events.bin")
    out_path = os.path.join(d, "mp.out")
    try:
        events = list(fuzz_events(n_frames, seed))
        write_events(events, ev_path)
        ref = fuzz_inprocess(events, record=True)
        t0 = time.perf_counter()
        dct, text, rc = run_mp_modbus(["fuzz", ev_path, out_path], "micropython", timeout=1800)
        wall = time.perf_counter() - t0
        res = {"frames": n_frames, "events": len(events), "wall_s": wall, "exit": rc,
               "mp_wall_ms": int(dct.get("wall_ms", "0") or 0),
               "exception": dct.get("fuzz_exception"), "cpython": ref}
        if rc == 0 and os.path.exists(out_path):
            with open(out_path, "rb") as f:
                got = f.read()
            want = ref.get("output", b"")
            res["identical"] = got == want
            if got != want:
                i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]),
                         min(len(got), len(want)))
                res["first_difference"] = {"offset": i, "mp": got[i:i + 24].hex(" "),
                                           "cpython": want[i:i + 24].hex(" ")}
        else:
            res["identical"] = False
            res["error"] = text.strip()[-800:]
        ref.pop("output", None)
        return res
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)


def fuzz(n_frames=100000, seed=9, mp_frames=10000, mp_seed=10):
    """The campaign: n_frames in-process (CPython), mp_frames in MicroPython
    (0 skips it).  Returns the figures; res["ok"] False on any violation."""
    cpy = fuzz_inprocess(fuzz_events(n_frames, seed))
    res = {"seed": seed, "cpython": cpy}
    ok = not cpy["violations"] and cpy["exception"] is None
    if mp_frames:
        try:
            mp = fuzz_micropython(mp_frames, mp_seed)
        except rt_mod.RuntimeError_ as e:
            mp = {"frames": mp_frames, "error": str(e), "identical": False}
        res["micropython"] = mp
        ok = ok and mp.get("identical") and not mp["cpython"]["violations"] and \
            mp["cpython"]["exception"] is None and mp.get("exception") is None
    res["ok"] = bool(ok)
    return res


# -- output ------------------------------------------------------------------------

def _hr(title):
    print()
    print(title)
    print("-" * len(title))


def _f(v, fmt="%.2f"):
    return "?" if v is None else fmt % v


def print_round_trip(r):
    _hr("Modbus round trip over a pty: FC04 read of %d registers, pymodbus client 19200 8N1, "
        "timeout 1 s (%d requests each, interleaved)" % (r["qty"], r["requests"]))
    print("(a pty has no baud-rate timing: processing + scheduling latency, not line time)")
    print("%-44s %-28s  %s" % ("", "  pymodbus client", "  raw select() client"))
    print("%-44s %10s %10s %6s  %10s %10s %6s" % ("server", "median", "p95", "failed",
                                                  "median", "p95", "failed"))
    labels = {"firmware": "firmware slave, MicroPython (%s)" % r["scenario"],
              "pymodbus": "pymodbus RTU server (socat pty pair)",
              "canned": "canned reply, no parsing (floor)"}
    for k in ("firmware", "pymodbus", "canned"):
        if k in r:
            x = r[k]
            print("%-44s %7s ms %7s ms %6d  %7s ms %7s ms %6d" % (
                labels[k], _f(x["median_ms"]), _f(x["p95_ms"]), x["failed"],
                _f(x["raw_median_ms"]), _f(x["raw_p95_ms"]), x["raw_failed"]))
    for pre, what in (("", "pymodbus client"), ("raw_", "raw client")):
        if pre + "ratio_median" in r:
            m = r[pre + "ratio_median"]
            print("firmware / pymodbus server, %s, same run: median %.2f, p95 %.2f   "
                  "goal <= 1.0 -> %s" % (what, m, r[pre + "ratio_p95"],
                                         "met" if m <= 1.0 else "NOT met"))
    print("(the pymodbus client polls in_waiting every 4 characters, 2.08 ms at 19200, and "
          "returns after two equal polls: its figures sit on that grid, the floor row shows it)")


def print_slave_cost(s):
    _hr("Modbus slave per request under MicroPython (unix port, -X heapsize=%s; "
        "Controller.serve_uart, %d each, loaded set)" % (MP_HEAPSIZE, s["requests_per_kind"]))
    print("%-15s %5s %10s %8s %10s %7s %10s  %s" % ("request", "reply", "mpy med", "mpy p95",
                                                   "cpy med", "mpy/cpy", "heap B/req",
                                                   "heap_lock"))
    for r in s["rows"]:
        print("%-15s %4dB %7s us %5s us %7s us %7s %10s  %s%s" % (
            r["request"], r["reply_bytes"], _f(r["mp_us_median"], "%.1f"),
            _f(r["mp_us_p95"], "%.0f"), _f(r["cpy_us_median"], "%.1f"),
            _f(r.get("ratio_mp_cpy")), _f(r["heap_bytes_per_req"], "%.3f"), r["heap_lock"],
            "" if r["reply_ok"] and r["same_reply"] else "   REPLY WRONG"))
    print("heap goal 0 B per request; cpy = the same script under CPython, in-process")


def print_fuzz(res):
    c = res["cpython"]
    _hr("Modbus fuzz: %d frames into the firmware Controller in-process (CPython), seed %d"
        % (c["frames"], res["seed"]))
    st = c["stats"]
    print("events %d, wall %.1f s: %.0f frames/s (%.0f frames/s in the firmware alone)" % (
        c["events"], c["wall_s"], c["frames"] / c["wall_s"] if c["wall_s"] else 0,
        c["frames"] / c["firmware_s"] if c["firmware_s"] else 0))
    print("replies %d (%d exceptions, longest %d B); CRC-valid frames found by the scanner %d; "
          "intact requests after a gap %d (each must be answered at once)" % (
              st["replies"], st["exceptions"], st["max_reply"], st["valid_frames"],
              st["intact_requests"]))
    print("accepted writes %d, refused %d; configuration changes %d, set point changes %d; "
          "licensed starts %d; lockouts %d" % (c["writes"], c["refused"], st["config_changes"],
                                               st["setpoint_changes"], st["licensed_starts"],
                                               st["lockouts"]))
    print("slave counters: %s" % ", ".join("%s %d" % kv for kv in c["counters"].items()))
    _print_viol(c)
    mp = res.get("micropython")
    if mp is not None:
        if "cpython" in mp:
            mc = mp["cpython"]
            print("MicroPython: %d frames (%d events) replayed in %.1f s%s; output %s the CPython "
                  "replay's (under the same checks: %d violations)" % (
                      mp["frames"], mp["events"], mp["wall_s"],
                      " (%.0f frames/s inside)" % (1000.0 * mp["frames"] / mp["mp_wall_ms"])
                      if mp.get("mp_wall_ms") else "",
                      "identical to" if mp.get("identical") else "DIFFERENT from",
                      len(mc["violations"])))
            _print_viol(mc)
            if mp.get("first_difference"):
                print("  first difference: %s" % mp["first_difference"])
            if mp.get("exception") or mp.get("error"):
                print("  MicroPython: %s" % (mp.get("exception") or mp.get("error")))
        else:
            print("MicroPython: FAILED: %s" % mp.get("error"))
    print("verdict: %s" % ("PASS - no exception, every reply valid from address 1, no "
                           "unexplained configuration change or start, counters consistent"
                           if res["ok"] else "FAIL"))


def _print_viol(c):
    if c.get("exception"):
        print("EXCEPTION: %s" % c["exception"])
    if c["violations"]:
        kinds = {}
        for what, _ in c["violations"]:
            k = what.split(":")[0]
            kinds[k] = kinds.get(k, 0) + 1
        print("%d violations%s (the campaign stops at %d): %s" % (
            len(c["violations"]), ", first 10 shown" if len(c["violations"]) > 10 else "",
            MAX_VIOL, "; ".join("%d x %s" % (n, k) for k, n in kinds.items())))
    for what, where in c["violations"][:10]:
        print("VIOLATION: %s" % what)
        if isinstance(where, dict):
            print("  at event %d (frame %d, %s); last frames fed:" % (
                where["event"], where["frame"], where["tag"]))
            for f, tg, hx in where["recent"]:
                print("    #%d %-9s %s" % (f, tg, hx))


def _main(argv):
    if len(argv) == 2 and argv[0] == "serve-pymodbus":
        _serve_pymodbus(argv[1])
    elif len(argv) == 2 and argv[0] == "serve-canned":
        _serve_canned(argv[1])
    else:
        print("usage: python -m tools.modbus_bench serve-pymodbus PATH | serve-canned PATH",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
