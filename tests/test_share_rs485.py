"""The share link on a second RS-485 port: the time-slot transport
(boards/common/sharebus485.py) on a modelled multi-drop line
(tests/boards_models/rs485_line_model.py) with the firmware's sharelink
table receiving: sixteen units with their own clocks (+-100 ppm), random
boots and a jittery 0.5 ms service timer, each sending the firmware's
traffic (a share frame every period, a plant frame once a second at its
own phase), never have two drivers on at once (and a negative control
without the slots does); a slot carries a share and a plant frame pending
together, with the framing silence between them and the driver enabled
only for each write; every table takes every other unit's frames of both
kinds (and a negative control with one pending frame loses plant frames);
a baud rate too slow for two frames a slot is refused; bad frames are
counted and dropped; the per-call paths allocate nothing.  Every case in
tests/boards_models/sharebus485_cases.py under CPython, the unix port and
the 32-bit webassembly port (1 MB heaps: the line model keeps lists)."""

import os
import sys

from conftest import ROOT
from case_runner import case_tests

_DIR = os.path.join(ROOT, "tests", "boards_models")
if _DIR not in sys.path:
    sys.path.append(_DIR)

import sharebus485_cases as cases  # noqa: E402

globals().update(case_tests(cases, os.path.join(_DIR, "sharebus485_cases.py"), "1m"))
