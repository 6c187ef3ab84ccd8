"""The share link on CAN: the MCP2515 driver (boards/common/mcp2515.py)
against its register model and a modelled CAN bus
(tests/boards_models/mcp2515_model.py), with the firmware's sharelink table
on the receiving side.  Every behaviour case in
tests/boards_models/mcp2515_cases.py passes in-process under CPython, under
the MicroPython unix port and under the 32-bit webassembly port (both in a
256 KB heap; the no-allocation case runs under heap_lock on both).  One
pytest test per case, named for it."""

import os
import sys

from conftest import ROOT
from case_runner import case_tests

_DIR = os.path.join(ROOT, "tests", "boards_models")
if _DIR not in sys.path:
    sys.path.append(_DIR)

import mcp2515_cases as cases  # noqa: E402

globals().update(case_tests(cases, os.path.join(_DIR, "mcp2515_cases.py"), "256k"))
