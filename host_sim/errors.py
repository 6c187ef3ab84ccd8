"""Errors the simulator reports to its users (never as a traceback)."""


class RuntimeError_(Exception):
    """The firmware or its link failed; the message says how."""
