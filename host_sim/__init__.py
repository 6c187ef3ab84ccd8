"""GX230 host simulator: float plant models around the unchanged firmware."""

import os
import shutil
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


def venv_tool(name):
    """Path of a command-line tool installed with the pinned dependencies:
    next to this Python first (the venv's bin/), then PATH; None if absent."""
    cand = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(cand) and os.access(cand, os.X_OK):
        return cand
    return shutil.which(name)
