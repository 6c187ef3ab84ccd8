"""Firmware unit-test runner that works under CPython and MicroPython.

  python tests/fw/run.py [module ...]
  micropython -X heapsize=96k tests/fw/run.py [module ...]
  micropython tests/fw/run.py --fw DIR [module ...]
Imports each tests/fw/test_*.py module, calls every function named test_*,
prints one line per test and a closing "N passed, M failed" line; exits 1 on
any failure.  pytest runs it under both interpreters (tests/test_firmware_units.py).
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
# --fw DIR: the firmware from DIR instead (tests/test_native.py: the sources
# as a board's build transforms them, @viper functions in machine code).
_ARGS = sys.argv[1:]
_FW = _HERE + "/../../firmware"
if _ARGS[:1] == ["--fw"] and len(_ARGS) > 1:
    _FW = _ARGS[1]
    _ARGS = _ARGS[2:]
sys.path.insert(0, _FW)
sys.path.insert(0, _HERE)

MODULES = ("test_fixpt", "test_measure", "test_governor", "test_config",
           "test_link", "test_ignition", "test_avr", "test_controller",
           "test_overcurrent", "test_eventlog", "test_protection", "test_protection_quiet",
           "test_sequencer", "test_sequencer_quiet",
           "test_alarms", "test_sync", "test_safety", "test_antiisland", "test_modbus_map",
           "test_modbus_fastread", "test_modbus", "test_fuel_map", "test_configstore",
           "test_prottable", "test_sharelink", "test_deadbus", "test_powermgmt",
           "test_loadshare", "test_fleet", "test_powerctl_stack", "test_fleet_offer",
           "test_share_ff", "test_plant_ref")


def main(names):
    passed = failed = 0
    for mname in names or MODULES:
        mod = __import__(mname)
        for name in sorted(dir(mod)):
            if not name.startswith("test_"):
                continue
            fn = getattr(mod, name)
            try:
                fn()
                passed += 1
                print("PASS %s.%s" % (mname, name))
            except Exception as e:  # report and go on: one line per failure
                failed += 1
                print("FAIL %s.%s: %s %s" % (mname, name, type(e).__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    sys.exit(1 if main(_ARGS) else 0)
