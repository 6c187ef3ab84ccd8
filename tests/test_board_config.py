"""A board keeps its settings across a power cut: boards/common/app.py loads
the configuration from flash at boot (configstore: two slots, CRC, commit
mark) and saves a changed one at the controller's quiet point, in the real
MicroPython unix port and in the 32-bit webassembly port (the board code
needs `micropython`, which CPython lacks).  A cut mid-save is
tests/fw/test_configstore.py's."""

import os
import subprocess

import pytest

from conftest import ROOT
from host_sim import runtime as rt

SCRIPT = r'''
import sys
sys.path[:0] = [%(fw)r, %(bc)r]
import os
os.chdir(%(tmp)r)
import app
import configstore
import eventlog
from config import SETTINGS
from controller import Controller, PROT_BASE
import hal
import protection as pr


class BenchHal(hal.Hal):
    def read(self, inp):
        pass

    def write(self, out, tele):
        pass

    def safe(self):
        pass


def idx(name):
    for i in range(len(SETTINGS)):
        if SETTINGS[i][0] == name:
            return i


def boot():
    log = eventlog.EventLog()
    cfg, cs = app.load_config(log)
    c = Controller(BenchHal(), cfg, log=log)
    app.attach_config(c, cfg, cs)
    return c, cfg, cs, log


def codes(log):
    out = []
    e = [0] * 5
    for k in range(log.count()):
        log.read(k, e)
        out.append((e[eventlog.F_CODE], e[eventlog.F_VALUE]))
    return out


c, cfg, cs, log = boot()
print("boot1", cs.reason, cfg.droop_pct_x100, cfg.ieee1547_category)
assert c.set_setting(idx("droop_pct_x100"), 400)
assert c.set_setting(idx("ieee1547_category"), 2)
# and a hand-set protection row over the profile
ou = pr.index_of("current_unbalance")
assert c.set_setting(PROT_BASE + 8 * ou + pr.F_DELAY_MS, 7500)
assert c.set_setting(PROT_BASE + 8 * ou + pr.F_PICKUP, 1500)
pick = c.prot.pickup[:]
dl = c.prot.delay_ms[:]
t = 0
while t <= 20000:
    c.meas.t_ms = t
    c.quiet_point()
    t += 500
print("saved", cs.saves, (eventlog.EV_CONFIG_SAVED, 1) in codes(log),
      (eventlog.EV_PROT_SAVED, 1) in codes(log), (eventlog.EV_PROT_LOAD, 2) in codes(log))
c, cfg, cs, log = boot()
print("boot2", cs.reason, cfg.droop_pct_x100, cfg.ieee1547_category,
      c.prot.pickup[:] == pick, (eventlog.EV_CONFIG_LOAD, 0) in codes(log),
      c.prot.delay_ms[:] == dl, (eventlog.EV_PROT_LOAD, 0) in codes(log))
'''


@pytest.mark.parametrize("interp", ["micropython", "micropython32"])
def test_a_changed_setting_and_its_trip_profile_survive_a_reboot(interp, tmp_path):
    src = SCRIPT % {"fw": os.path.join(ROOT, "firmware"),
                    "bc": os.path.join(ROOT, "boards", "common"), "tmp": str(tmp_path)}
    script = tmp_path / "boot.py"
    script.write_text(src)
    if interp == "micropython":
        cmd = [rt.micropython_binary(), "-X", "heapsize=1m", str(script)]
    else:
        cmd = rt.mp32_command("1m", (os.path.join(ROOT, "firmware"),
                                     os.path.join(ROOT, "boards", "common"))) + [str(script)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.split("\n")
    # First boot: nothing stored, factory defaults (droop 0, Category I).
    assert lines[0] == "boot1 %d 0 1" % 2          # configstore.R_NO_CONFIG
    # The change held for the settle time and was saved once, and logged.
    assert lines[1] == "saved 1 True True True"
    # After the "power cut": the saved settings, the Category II trip
    # profile with them, the hand-set protection row over it, and both
    # loads logged as R_OK.
    assert lines[2] == "boot2 0 400 2 True True True True"
