"""The host's end of the firmware's Modbus UART: ports for sim.run(port=...).

  Realtime   paces a run to the wall clock (gxsim run --realtime); Ctrl-C ends it
             cleanly at the next tick
  PtyPort    Realtime, and the firmware's UART on a pseudo-terminal
             (gxsim run --realtime --modbus-pty PATH) for any Modbus master
  ScriptPort a scenario's scripted Modbus requests, in simulated time
             (deterministic: the traffic joins the run digest)

A port's before_tick(k, t_s, rt) runs before each tick and hands bytes to
rt.uart(data, t_us); finished() ends the run early; digest() joins the run
digest; report() becomes the run's Result.modbus.
"""

import errno
import os
import time


# --- Realtime sessions: wall-clock pacing, and the firmware's UART on a pty ---

class PtyError(Exception):
    """A pty for --modbus-pty could not be set up; the message says why (one line)."""


class Realtime:
    """A port that only paces the run to the wall clock (gxsim run
    --realtime): before_tick(k, t_s, rt) returns when the wall clock reaches
    the session's start + t_s.  Ctrl-C (SIGINT) ends the run cleanly at the
    next tick, so the usual report, trace and plot are written; a second
    Ctrl-C interrupts at once.  `inner`: a port to run inside the pacing (a
    scenario's ScriptPort), whose digest and report are passed on.
    `ready()` is called once the first tick has run (the firmware's
    measurements are live from then on)."""

    LAG_REBASE_S = 1.0        # further behind than this: stop trying to catch up

    def __init__(self, realtime=True, inner=None, ready=None):
        self.realtime = realtime
        self.inner = inner
        self._ready = ready
        self._start = None        # wall time of t_s = 0
        self._stop = False
        self._closed = False
        self._old_sigint = None
        self.max_lag_s = 0.0
        self.rebases = 0

    # -- the sim.run port interface --
    def before_tick(self, k, t_s, rt):
        if self._closed or self._stop:
            return
        try:
            if self._start is None:
                self._begin(t_s)
            elif self._ready is not None:
                # One tick has run: the firmware's measurements are live.
                ready, self._ready = self._ready, None
                ready()
            if self.inner is not None:
                self.inner.before_tick(k, t_s, rt)
            self._serve_until(t_s, rt)
        except KeyboardInterrupt:
            self._stop = True

    def finished(self):
        return self._stop or self._closed or (self.inner is not None and self.inner.finished())

    def digest(self):
        # Realtime traffic is not deterministic: it stays out of the run digest.
        return self.inner.digest() if self.inner is not None else b""

    def report(self):
        rows = list(self.inner.report()) if self.inner is not None else []
        rows.append(self._summary())
        return rows

    def close(self):
        self._closed = True
        self._restore_sigint()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- pacing --
    def _summary(self):
        return {"kind": "realtime", "max_lag_ms": round(self.max_lag_s * 1000.0, 1),
                "rebases": self.rebases, "interrupted": self._stop}

    def _begin(self, t_s):
        self._start = time.monotonic() - t_s
        self._catch_sigint()

    def _catch_sigint(self):
        import signal
        import threading
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self._old_sigint = signal.signal(signal.SIGINT, self._on_sigint)
        except (ValueError, OSError):
            self._old_sigint = None

    def _on_sigint(self, signum, frame):
        self._stop = True
        self._restore_sigint()        # a second Ctrl-C interrupts at once

    def _restore_sigint(self):
        if self._old_sigint is not None:
            import signal
            signal.signal(signal.SIGINT, self._old_sigint)
            self._old_sigint = None

    def _deadline(self, t_s):
        """Wall time tick t_s is due; lag bookkeeping (a run slower than
        real time catches up, but never bursts for more than a second)."""
        due = self._start + t_s
        lag = time.monotonic() - due
        if lag > self.max_lag_s:
            self.max_lag_s = lag
        if lag > self.LAG_REBASE_S:
            self._start += lag
            self.rebases += 1
            due += lag
        return due

    def _serve_until(self, t_s, rt):
        if not self.realtime:
            return
        due = self._deadline(t_s)
        while not self._stop:
            left = due - time.monotonic()
            if left <= 0:
                return
            time.sleep(left)


class PtyPort(Realtime):
    """The firmware's Modbus UART on a pseudo-terminal (gxsim run --realtime
    --modbus-pty PATH): PATH becomes a symlink to the pty's slave device, so
    any Modbus master (pymodbus, mbpoll, gxtool) opens PATH as if it were a
    USB-RS-485 adapter.  Between ticks the port waits for the wall clock
    (realtime) while polling the pty: every chunk read goes to
    rt.uart(chunk, t_us) at once, t_us the firmware's clock at its arrival,
    and the reply is written back at once.  A pty has no parity: open it
    8N1 (pyserial parity "N"; mbpoll -P even also works).

    The port keeps the slave side open itself, so masters may come and go
    without the master side seeing a hang-up; a reply nobody read is
    discarded when the next request starts, as on a line nobody listens to."""

    IDLE_EVERY_S = 0.001      # idle polls (the slave's t3.5 gap) at most this often
    IDLE_FOR_S = 0.02         # and only this long after the last byte of a request
    DRAIN_S = 0.005           # past the tick's time, keep reading a burst this long at most

    def __init__(self, path, realtime=True, inner=None, ready=None):
        Realtime.__init__(self, realtime, inner, ready)
        self.path = path
        self.master = self.slave = None
        self.slave_name = None
        self.chunks_in = self.bytes_in = self.replies = self.bytes_out = 0
        self.bytes_dropped = self.idle_polls = 0
        self._pending = False     # bytes fed since the last reply
        self._last_rx = 0.0       # wall time of the last chunk read
        self._last_idle = 0.0
        self._t_prev_us = -1      # the firmware clock at the previous tick, us
        self._w_prev = None       # wall time of the previous tick
        self._eio = False
        self._open()

    def _open(self):
        import tty
        path = self.path
        if not path:
            raise PtyError("--modbus-pty: needs a path, got an empty string")
        if os.path.lexists(path) and not os.path.islink(path):
            raise PtyError("--modbus-pty: %s exists and is not a symlink; "
                           "refusing to replace it" % path)
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise PtyError("--modbus-pty: %s: no such directory" % parent)
        try:
            self.master, self.slave = os.openpty()
            self.slave_name = os.ttyname(self.slave)
            tty.setraw(self.slave)            # no echo, no line discipline
            os.set_blocking(self.master, False)
            tmp = "%s.tmp%d" % (path, os.getpid())
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.slave_name, tmp)
            os.replace(tmp, path)             # a stale symlink is replaced atomically
        except OSError as e:
            self._close_fds()
            raise PtyError("--modbus-pty: cannot set up %s: %s" % (path, e.strerror or e))

    def _close_fds(self):
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = None

    def close(self):
        if self._closed:
            return
        Realtime.close(self)
        try:
            if os.path.islink(self.path) and os.readlink(self.path) == self.slave_name:
                os.unlink(self.path)
        except OSError:
            pass
        self._close_fds()

    def _summary(self):
        d = {"kind": "pty", "path": self.path, "device": self.slave_name,
             "chunks_in": self.chunks_in, "bytes_in": self.bytes_in,
             "replies": self.replies, "bytes_out": self.bytes_out,
             "bytes_dropped": self.bytes_dropped, "idle_polls": self.idle_polls}
        d.update(Realtime._summary(self))
        d["kind"] = "pty"
        return d

    def _now_us(self, now, t_us_max):
        """The firmware clock at wall time `now`: the previous tick's time
        plus the wall time since it ran, inside this tick's window
        (t_prev, t_us_max]."""
        t = self._t_prev_us + int((now - self._w_prev) * 1e6)
        if t <= self._t_prev_us:
            t = self._t_prev_us + 1
        if t > t_us_max:
            t = t_us_max
        return t if t > 0 else 0

    def _serve_until(self, t_s, rt):
        import select
        t_us_max = int(round(t_s * 1e6))
        if self._w_prev is None:
            self._w_prev = time.monotonic()
        due = self._deadline(t_s) if self.realtime else 0.0
        m = self.master
        while not self._stop:
            now = time.monotonic()
            left = due - now
            # Waiting for a frame's remaining bytes: wake up every ms of
            # silence so the slave's t3.5 gap logic sees the line idle.
            idle_due = self._pending and now - self._last_rx < self.IDLE_FOR_S
            wait = left
            if idle_due and wait > self.IDLE_EVERY_S:
                wait = self.IDLE_EVERY_S
            if wait < 0:
                wait = 0
            if self._eio:        # no slave side (cannot happen while we hold it): back off
                time.sleep(min(wait, 0.005))
                ready = False
            else:
                ready = bool(select.select([m], [], [], wait)[0])
            data = b""
            if ready:
                try:
                    data = os.read(m, 4096)
                except BlockingIOError:
                    data = b""
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    self._eio = True
            now = time.monotonic()
            if data:
                if not self._pending or now - self._last_rx >= self.IDLE_FOR_S:
                    self._discard_unread()
                self._pending = True
                self._last_rx = now
                self.chunks_in += 1
                self.bytes_in += len(data)
                self._send(rt.uart(data, self._now_us(now, t_us_max)))
            elif idle_due and now - self._last_idle >= self.IDLE_EVERY_S:
                self._last_idle = now
                self.idle_polls += 1
                self._send(rt.uart(b"", self._now_us(now, t_us_max)))
            if now >= due and (not data or now - due > self.DRAIN_S):
                break        # past due: go on reading only while bytes keep coming
        self._t_prev_us = t_us_max
        self._w_prev = time.monotonic()

    def _discard_unread(self):
        """A new request starts: a reply the master never read (it timed
        out, or went away) would reach the next one as garbage."""
        import termios
        try:
            termios.tcflush(self.slave, termios.TCIFLUSH)
        except termios.error:
            pass

    def _send(self, reply):
        if not reply:
            return
        self._pending = False
        self.replies += 1
        view = memoryview(reply)
        while view:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                # Nobody reads the pty and its buffer is full: the bytes are
                # lost, as on a line nobody listens to.
                self.bytes_dropped += len(view)
                return
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                self.bytes_dropped += len(view)
                return
            self.bytes_out += n
            view = view[n:]


# --- Scripted Modbus requests (scenario events of kind "modbus") ------------

def rtu_frame(body):
    """body (bytes: address, function, data) with its CRC-16 appended."""
    from . import firmware_path
    firmware_path()
    from crc16 import crc16
    b = bytearray(body)
    c = crc16(b, 0, len(b))
    return bytes(b + bytes((c & 0xFF, c >> 8)))


def _point(name):
    from . import firmware_path
    firmware_path()
    import registers
    for p in registers.points():
        if p["name"] == name:
            return p
    raise KeyError(name)


def _words(p, raw):
    if p["words"] == 2:
        raw &= 0xFFFFFFFF
        return [raw >> 16, raw & 0xFFFF]
    return [raw & 0xFFFF]


def _write_frame(addr, p, raw):
    ws = _words(p, raw)
    if len(ws) == 1:
        body = bytes((addr, 6)) + p["address"].to_bytes(2, "big") + ws[0].to_bytes(2, "big")
    else:
        body = bytes((addr, 16)) + p["address"].to_bytes(2, "big") + len(ws).to_bytes(2, "big") + \
            bytes((2 * len(ws),)) + b"".join(w.to_bytes(2, "big") for w in ws)
    return rtu_frame(body)


def _decode(p, reply):
    """Engineering value of a read reply for point p (None: exception or sentinel)."""
    if len(reply) < 5 or reply[1] & 0x80:
        return None
    ws = [int.from_bytes(reply[3 + 2 * i:5 + 2 * i], "big") for i in range(p["words"])]
    raw = ws[0] if p["words"] == 1 else (ws[0] << 16) | ws[1]
    bits = 16 * p["words"]
    signed = p["type"].startswith("s")
    na = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    if raw in (na, na - 1):
        return None
    if signed and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return raw / p["scale"] if p["scale"] != 1 else raw


def script_requests(ev, access_code):
    """The request frames of one scripted event: [(frame, point or None)]."""
    addr = ev.get("address", 1)
    if "frame" in ev:
        return [(rtu_frame(bytes.fromhex(ev["frame"])), None)]
    if "raw" in ev:
        return [(bytes.fromhex(ev["raw"]), None)]
    out = []
    if ev.get("unlock"):
        out.append((_write_frame(addr, _point("access_code"), access_code), None))
    if "command" in ev:
        from . import firmware_path
        firmware_path()
        import sequencer
        code = sequencer.COMMAND_NAMES.index(ev["command"])
        p = _point("command")
        out.append((rtu_frame(bytes((addr, 16)) + p["address"].to_bytes(2, "big") +
                              b"\x00\x02\x04" + code.to_bytes(2, "big") +
                              (code ^ 0xFFFF).to_bytes(2, "big")), None))
    elif "write" in ev:
        p = _point(ev["write"])
        out.append((_write_frame(addr, p, int(round(ev["value"] * p["scale"]))), None))
    elif "read" in ev:
        p = _point(ev["read"])
        fc = 4 if p["table"] == "input_register" else 3
        out.append((rtu_frame(bytes((addr, fc)) + p["address"].to_bytes(2, "big") +
                              p["words"].to_bytes(2, "big")), p))
    return out


class ScriptPort:
    """A scenario's scripted Modbus requests, served in simulated time: each
    request arrives 0.5 ms before the tick at or after its t_s and is
    answered between ticks, as on a board; a request still incomplete gets
    an idle poll (the line silent) before the next tick.  Deterministic, so
    the traffic joins the run digest and both runtimes must agree on it."""

    def __init__(self, sc, cfg):
        self.events = [e for e in sc["events"] if e["kind"] == "modbus"]
        self.code = sc["firmware"].get("mb_access_code", cfg.mb_access_code)
        self.i = 0
        self.log = []
        self._bytes = bytearray()
        self._idle = False

    def before_tick(self, k, t_s, rt):
        t_us = int(round(t_s * 1e6))
        if self._idle:
            # The line has been silent since the last request: a truncated
            # frame is dropped by the t3.5 gap.
            rt.uart(b"", t_us - 100)
            self._idle = False
        while self.i < len(self.events) and self.events[self.i]["t_s"] <= t_s + 1e-9:
            ev = self.events[self.i]
            self.i += 1
            for frame, p in script_requests(ev, self.code):
                reply = rt.uart(frame, t_us - 500)
                self._bytes += frame + b"|" + reply + b"\n"
                rec = {"t_s": round(t_s, 4), "request": frame.hex(" "), "reply": reply.hex(" ")}
                if reply and reply[1] & 0x80:
                    rec["exception"] = reply[2]
                if p is not None:
                    rec["read"] = p["name"]
                    rec["value"] = _decode(p, reply)
                for key in ("write", "command"):
                    if key in ev:
                        rec[key] = ev[key]
                self.log.append(rec)
                self._idle = True

    def finished(self):
        return False

    def digest(self):
        return bytes(self._bytes)

    def report(self):
        return self.log
