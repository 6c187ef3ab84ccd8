"""Errors the simulator reports to its users (never as a traceback)."""


class RuntimeError_(Exception):
    """The firmware or its link failed; the message says how."""


class NoOperatingPoint(Exception):
    """A scenario's plant and load have no steady state to start from (a
    paralleled running start whose network has no load-flow solution): a
    bad scenario, found before the first tick."""
