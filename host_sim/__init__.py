"""GX230 host simulator: float plant models around the unchanged firmware."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE_DIR = os.path.join(ROOT, "firmware")
SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


def firmware_path():
    """Put firmware/ on sys.path the way a board sees it (flat module names),
    so the host imports the real firmware instead of re-implementing it."""
    if FIRMWARE_DIR not in sys.path:
        sys.path.insert(0, FIRMWARE_DIR)
    return FIRMWARE_DIR
