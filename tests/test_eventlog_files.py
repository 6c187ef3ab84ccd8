"""Event log persistence through a real file across separate processes: one
MicroPython process logs and exits, the next loads what it left; the same
alternating CPython and MicroPython on one file, and both interpreters
writing byte-identical files, so the store format is the same on both.
Last, the wear bound documented in firmware/eventlog.py measured on
MicroPython's own littlefs with 4 KiB blocks."""

import os
import subprocess
import sys

from conftest import ROOT

FW = os.path.join(ROOT, "firmware")
EV_BOOT = 1
CAP = 512

# One boot of the controller's log: load, log n events with time advancing 1 s
# each and a flush attempt after each (normal flushes fall due every 5 min),
# a forced flush at the end, then exit.  Prints what load() recovered, the
# held entries right after load ("A") and at exit ("Z").
SCRIPT = r'''
import sys
sys.path.insert(0, sys.argv[1])
from array import array
from eventlog import EventLog, FileStore, store_size
path = sys.argv[2]
n = int(sys.argv[3])
t0 = int(sys.argv[4])
fs = FileStore(path, store_size(512))
el = EventLog(fs)
found = el.load(t0)
print("LOADED %d %d" % (found, el.boot()))
out = array("i", [0] * 5)

def dump(tag):
    for i in range(el.count()):
        el.read(i, out)
        print("%s %d %d %d %d %d" % (tag, out[0], out[1], out[2], out[3], out[4]))

dump("A")
t = t0
for i in range(n):
    t = t0 + (i + 1) * 1000
    el.log(t, 1000 + i % 50, i * 3 - 500)
    el.flush(t)
el.flush(t, True)
print("PENDING %d ERRORS %d" % (el.pending(), el.errors))
dump("Z")
fs.close()
'''


def _boot(interp, script, path, n, t0):
    """Run one boot; returns (recovered, boot, entries after load, at exit)."""
    p = subprocess.run(interp + [str(script), FW, str(path), str(n), str(t0)],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    a, z = [], []
    found = boot = None
    for ln in p.stdout.splitlines():
        f = ln.split()
        if f[0] == "LOADED":
            found, boot = int(f[1]), int(f[2])
        elif f[0] == "PENDING":
            assert f[1:] == ["0", "ERRORS", "0"], ln
        elif f[0] in ("A", "Z"):
            (a if f[0] == "A" else z).append(tuple(int(x) for x in f[1:]))
    return found, boot, a, z


def _interps(mp_bin):
    return {"cpython": [sys.executable], "micropython": [mp_bin, "-X", "heapsize=96k"]}


def _script(tmp_path):
    s = tmp_path / "evboot.py"
    s.write_text(SCRIPT)
    return s


def _check_events(rows, first_seq, boot, t0, first_i):
    """rows are consecutive events of one boot, the first being event first_i."""
    for k, r in enumerate(rows):
        i = first_i + k
        assert r == (first_seq + k, boot, t0 + (i + 1) * 1000, 1000 + i % 50, i * 3 - 500), (k, r)


def test_events_survive_between_two_micropython_processes(mp_bin, tmp_path):
    mp = _interps(mp_bin)["micropython"]
    script = _script(tmp_path)
    path = tmp_path / "events.bin"
    found, boot, a, z = _boot(mp, script, path, 700, 0)
    assert (found, boot) == (0, 1)
    assert a == [(0, 1, 0, EV_BOOT, 0)]
    assert len(z) == CAP
    _check_events(z, 189, 1, 0, 188)                 # newest 512 of EV_BOOT + 700
    assert os.path.getsize(path) == 16 + 20 * CAP

    found, boot, a, z2 = _boot(mp, script, path, 0, 5000)
    assert (found, boot) == (CAP, 2)
    assert len(a) == CAP
    assert a[:-1] == z[1:]                           # the 512 newest, in order...
    assert a[-1] == (701, 2, 5000, EV_BOOT, CAP)     # ...the oldest pushed off by EV_BOOT
    assert z2 == a


def test_cpython_and_micropython_share_one_file_alternately(mp_bin, tmp_path):
    it = _interps(mp_bin)
    script = _script(tmp_path)
    path = tmp_path / "events.bin"
    prev = None
    seq = 0
    for boot, name in enumerate(["cpython", "micropython", "cpython", "micropython"], 1):
        t0 = boot * 10000000
        found, got_boot, a, z = _boot(it[name], script, path, 300, t0)
        assert got_boot == boot, name
        if prev is None:
            assert found == 0
        else:
            assert found == min(len(prev), CAP), name
            held = prev[len(prev) + 1 - CAP:] if len(prev) >= CAP else prev
            assert a[:-1] == held, name
        assert a[-1] == (seq, boot, t0, EV_BOOT, found), name
        _check_events(z[-300:], seq + 1, boot, t0, 0)
        seq += 301
        prev = z


def test_both_interpreters_write_byte_identical_files(mp_bin, tmp_path):
    it = _interps(mp_bin)
    script = _script(tmp_path)
    files = {}
    for name in ("cpython", "micropython"):
        path = tmp_path / ("events_%s.bin" % name)
        for boot, (n, t0) in enumerate([(700, 0), (40, 9000000), (0, 2 ** 30 - 1)]):
            _boot(it[name], script, path, n, t0)
        files[name] = path.read_bytes()
    assert len(files["cpython"]) == 16 + 20 * CAP
    assert files["cpython"] == files["micropython"]


# An hour of worst case on littlefs (RAM block device, 4 KiB blocks like the
# RP2040 port): `rate` events a second and a forced flush attempted every
# second.  Prints flushes, block erases in the hour, the most one flush cost,
# then remounts and reloads to check what was kept.
LFS_SCRIPT = r"""
import sys, os
sys.path.insert(0, sys.argv[1])
from array import array
from eventlog import EventLog, FileStore, store_size
rate = int(sys.argv[2])

# The RAM block device the firmware unit tests use (tests/fw/test_eventlog.py)
sys.path.insert(0, sys.argv[1] + "/../tests/fw")
from test_eventlog import _RamBlocks as RamBlocks

bd = RamBlocks(4096, 64)
os.VfsLfs2.mkfs(bd)
os.mount(os.VfsLfs2(bd), "/flash")
fs = FileStore("/flash/events.bin", store_size(512))
el = EventLog(fs)
el.load(0)
e0 = bd.erases
flushes = worst = 0
t = 0
for s in range(1, 3601):
    t = s * 1000
    for j in range(rate):
        el.log(t, 100, s)
    e = bd.erases
    if el.flush(t, True):
        flushes += 1
        if bd.erases - e > worst:
            worst = bd.erases - e
print("WEAR %d %d %d" % (flushes, bd.erases - e0, worst))
t += 300000
el.flush(t)                           # the next normal flush, then power off
newest = el.newest_seq()
fs.close()
os.umount("/flash")
os.mount(os.VfsLfs2(bd), "/flash")
fs = FileStore("/flash/events.bin", store_size(512))
el = EventLog(fs)
found = el.load(t)
out = array("i", [0] * 5)
el.read(el.count() - 2, out)
print("RELOAD %d %d %d %d" % (found, el.boot(), out[0], newest))
"""


def test_littlefs_wear_stays_within_the_documented_bound(mp_bin, tmp_path):
    script = tmp_path / "evwear.py"
    script.write_text(LFS_SCRIPT)
    for rate in (1, 100):             # steady logging, and an event storm
        p = subprocess.run([mp_bin, "-X", "heapsize=2M", str(script), FW, str(rate)],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr
        w = dict((ln.split()[0], [int(x) for x in ln.split()[1:]]) for ln in p.stdout.splitlines())
        flushes, erases, worst = w["WEAR"]
        assert flushes <= 24, w
        assert worst <= 6, w                      # per flush, as documented
        assert erases <= 24 * 6, w                # per hour, as documented
        found, boot, last_seq, newest = w["RELOAD"]
        assert found == 512 and boot == 2 and last_seq == newest, w


def test_every_event_code_is_defined_once_across_firmware_and_boards():
    """An event code names one kind of entry: the EV_* constants of every
    firmware and board module (system events, alarms' resets and commands,
    the Modbus slave's writes, a board's error) never share a value, so a
    log reader cannot mistake one for another."""
    import ast
    seen = {}
    dup = []
    for d in ("firmware", os.path.join("boards", "common")):
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if not f.endswith(".py"):
                continue
            tree = ast.parse(open(os.path.join(ROOT, d, f)).read())
            for node in tree.body:
                if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)
                        and node.targets[0].id.startswith("EV_")):
                    continue
                v = node.value
                if isinstance(v, ast.Call) and v.args:
                    v = v.args[0]
                if not isinstance(v, ast.Constant):
                    continue      # an import or an alias of another module's code
                where = "%s:%s" % (f, node.targets[0].id)
                if v.value in seen:
                    dup.append((v.value, seen[v.value], where))
                seen.setdefault(v.value, where)
    assert len(seen) >= 10 and not dup, dup
    # Alarms are logged under their protection's code: those must not be
    # event codes either.
    import protection
    codes = [p[protection.P_CODE] for p in protection.PROTECTIONS]
    assert len(set(codes)) == len(codes)
    assert not set(codes) & set(seen), sorted(set(codes) & set(seen))
