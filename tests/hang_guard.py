"""A hard deadline behind pytest-timeout: a test that hangs ends the run with every thread's
stack instead of stalling it in silence.

pytest-timeout's ``signal`` method (the suite's) raises ``Failed`` from a SIGALRM handler, and
that only works where the handler's exception reaches the test:

* in a test that runs Qt's loop with trio as its guest (``ui.qt_trio.run``: every window
  test), the handler runs inside a Qt event callback; pytest-qt catches the exception there,
  reports it at teardown, and the loop goes on, so a stuck scenario stays stuck for ever;
* a thread stuck in C (a GStreamer state change, a blocking read) never returns to Python, so
  the handler never runs at all.

So when pytest-timeout arms its timer for a test, this arms ``faulthandler`` too, ``GRACE_S``
later, with ``exit=True``: faulthandler's watchdog is a C thread that needs neither the GIL
nor the main thread, dumps the Python stack of every thread to the real stderr and exits the
process with status 1. pytest-timeout keeps the first word (a test over its limit that can be
failed still fails alone and the session goes on); this only ends a session that could not
be. Cancelled with pytest-timeout's timer. ``faulthandler_timeout`` (pytest's dump-only
watchdog), when set, is left to do its own job: there is one faulthandler timer per process.
"""

from __future__ import annotations

import faulthandler

import pytest
from _pytest.faulthandler import fault_handler_stderr_fd_key

GRACE_S = 60.0
"""After pytest-timeout's limit: room for it to fail the test and for fixtures to tear down
(stopping an appliance waits up to 20 s)."""


def pytest_timeout_set_timer(item: pytest.Item, settings: object) -> None:
    timeout = getattr(settings, "timeout", None)
    if not timeout or timeout <= 0 or float(item.config.getini("faulthandler_timeout") or 0):
        return None
    # pytest's own duplicate of the real stderr: fd 2 is captured during a test, and what
    # a process writes there just before it exits would be lost with the capture
    stderr = item.config.stash.get(fault_handler_stderr_fd_key, None)
    if stderr is None:
        return None
    faulthandler.dump_traceback_later(timeout + GRACE_S, exit=True, file=stderr)
    return None  # pytest-timeout's own timer is set after this


def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    if not float(item.config.getini("faulthandler_timeout") or 0):
        faulthandler.cancel_dump_traceback_later()
    return None
