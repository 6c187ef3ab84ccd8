"""Small-int range checker for the firmware, run on the host under CPython.

MicroPython's unix port on x86-64 has 63-bit small ints, so it cannot catch a
value that would become a bigint on a 32-bit board (|x| > 2**30 - 1).  This
checker can: while installed it
  - replaces the firmware's multiply helpers (fixpt.mul_div / mul_shr, and
    every firmware module's imported copy) with versions that check both
    operands and the raw product, the intermediates most likely to overflow;
  - traces the firmware's functions (sys.settrace) and checks every integer
    local and every integer attribute of `self`: at every line executed
    (lines=True, thorough and slow), or as each function returns (the
    default: locals in this firmware are assigned once or accumulate, so
    their final values are the extremes, and it is ~10x faster).
The worst magnitude seen and where it was seen are kept; `violations` lists
each place that left the range.
"""

import os
import sys

from . import FIRMWARE_DIR, firmware_path

LIMIT = 2 ** 30 - 1


class RangeChecker:
    def __init__(self, limit=LIMIT, lines=False):
        self.limit = limit
        self.trace_lines = lines
        self.max_abs = 0
        self.max_where = None
        self.violations = {}
        self.lines = 0
        self._patched = []
        self._prefix = os.path.join(FIRMWARE_DIR, "")

    def _note(self, v, where):
        a = -v if v < 0 else v
        if a > self.max_abs:
            self.max_abs = a
            self.max_where = where
        # Small ints on a 32-bit port are [-2**30, 2**30 - 1].
        if v > self.limit or v < -self.limit - 1:
            self.violations.setdefault(where, v)

    # --- checked multiply helpers -------------------------------------
    def _mul_div(self, a, b, d):
        for x in (a, b, d, a * b):
            self._note(x, "mul_div(%r, %r, %r)" % (a, b, d) if abs(x) > self.limit + 1 else "mul_div")
        return (a * b) // d

    def _mul_shr(self, a, b, s):
        for x in (a, b, a * b):
            self._note(x, "mul_shr(%r, %r, %r)" % (a, b, s) if abs(x) > self.limit + 1 else "mul_shr")
        return (a * b) >> s

    # --- line tracing ------------------------------------------------------
    def _trace(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith(self._prefix):
            return None
        frame.f_trace_lines = self.trace_lines
        return self._local

    def _local(self, frame, event, arg):
        if event in ("line", "return"):
            self.lines += 1
            lim = self.limit
            for k, v in frame.f_locals.items():
                if type(v) is int:
                    if v > lim or v < -lim - 1:
                        self._note(v, "%s:%d %s" % (os.path.basename(frame.f_code.co_filename),
                                                    frame.f_lineno, k))
                    elif (v if v >= 0 else -v) > self.max_abs:
                        self._note(v, "%s:%d %s" % (os.path.basename(frame.f_code.co_filename),
                                                    frame.f_lineno, k))
                elif k == "self" and hasattr(v, "__dict__"):
                    for ak, av in v.__dict__.items():
                        if type(av) is int and (av > lim or av < -lim - 1 or abs(av) > self.max_abs):
                            self._note(av, "%s:%d self.%s" % (
                                os.path.basename(frame.f_code.co_filename), frame.f_lineno, ak))
            if event == "return" and type(arg) is int:
                self._note(arg, "%s:%d return" % (os.path.basename(frame.f_code.co_filename),
                                                  frame.f_lineno))
        return self._local

    def install(self):
        firmware_path()
        import fixpt  # noqa: F401  (firmware module)
        for name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None) or ""
            if not f.startswith(self._prefix):
                continue
            for attr, repl in (("mul_div", self._mul_div), ("mul_shr", self._mul_shr)):
                if hasattr(mod, attr):
                    self._patched.append((mod, attr, getattr(mod, attr)))
                    setattr(mod, attr, repl)
        sys.settrace(self._trace)
        return self

    def uninstall(self):
        sys.settrace(None)
        for mod, attr, orig in reversed(self._patched):
            setattr(mod, attr, orig)
        self._patched = []

    def __enter__(self):
        return self.install()

    def __exit__(self, *exc):
        self.uninstall()
        return False
