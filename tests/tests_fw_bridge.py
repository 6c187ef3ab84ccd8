"""Lets host-side pytest tests reuse the firmware unit-test helpers."""

import os
import sys

_FW_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fw")
if _FW_TESTS not in sys.path:
    sys.path.insert(0, _FW_TESTS)

from helpers import ScriptHal, running_inputs  # noqa: E402,F401
