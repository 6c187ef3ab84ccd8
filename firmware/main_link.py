"""Entry point for link mode: the firmware ticks against a plant on a byte
stream (the simulator's MicroPython runtime, or a HIL bench over USB serial).

  micropython main_link.py [--heap-lock N]
reads 'I' frames on stdin and writes 'O' frames on stdout.  --heap-lock N
locks the heap after N ticks: any allocation in the tick then raises, is
reported as an 'E' frame, and the process exits non-zero.
"""

import sys
import hal
import link
from config import settings_crc
from hal_link import LinkHal
from controller import Controller, N_TELE


def ident():
    """This firmware's answer to a hello (link.IDENT_* order)."""
    return [link.LINK_VERSION, hal.N_IN, hal.N_OUT, N_TELE, settings_crc()]


def build(rx, tx):
    """The link HAL and the controller, built in the order that fits a small
    heap: the event log's ring (the largest block) first, from a freshly
    collected heap, before the rest fragments it."""
    import gc
    from eventlog import EventLog
    gc.collect()
    log = EventLog()
    h = LinkHal(rx, tx, N_TELE, ident())
    return h, Controller(h, log=log)


def main(rx, tx, lock_after=-1):
    h, c = build(rx, tx)
    h.on_set = c.set_setting
    h.on_begin = c.begin
    h.on_command = c.command
    h.on_uart = c.serve_uart
    h.on_share = c.share_rx     # the stack's share link ('F' frames)
    c.run(lock_after)
    return c


def _args():
    lock_after = -1
    a = sys.argv
    for i in range(len(a) - 1):
        if a[i] == "--heap-lock":
            lock_after = int(a[i + 1])
    return lock_after


def cli():
    """Run on stdin/stdout; report an unhandled error on stderr and exit 3
    (the outputs were already driven safe and an 'E' frame sent)."""
    try:
        main(sys.stdin.buffer, sys.stdout.buffer, _args())
    except Exception as e:
        sys.stderr.write("firmware fail-safe: %s %s\n" % (type(e).__name__, e))
        sys.exit(3)


if __name__ == "__main__":
    cli()
