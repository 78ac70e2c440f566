"""Trio in guest mode on Qt's event loop: network, sync and UI share one structured world.

Qt owns the thread's loop; trio runs as a guest (``trio.lowlevel.start_guest_run``) and hands its
callbacks to Qt as posted events, so no trio code ever blocks the UI and no second thread runs
user code. This is what qtrio does; written out here in ~40 lines because qtrio pulls in
trio-typing, whose stale stubs shadow trio's own type hints for mypy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import outcome
import trio
from PyQt6.QtCore import QCoreApplication, QEvent, QObject
from PyQt6.QtGui import QGuiApplication

_EVENT_TYPE = QEvent.Type(QEvent.registerEventType())


class _RunCallback(QEvent):
    def __init__(self, fn: Callable[[], object]) -> None:
        super().__init__(_EVENT_TYPE)
        self.fn = fn


class _Reactor(QObject):
    def event(self, event: QEvent | None) -> bool:
        if isinstance(event, _RunCallback):
            event.fn()
            return True
        return super().event(event)


def run(app: QCoreApplication, main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main`` as trio's guest inside ``app.exec()``; returns main's result (or raises).

    Qt's loop ends when main returns (or raises): the app quits then. Closing the last window
    should cancel main's nursery (the caller's job), never kill trio from underneath.
    """
    if isinstance(app, QGuiApplication):
        # Qt's own "quit when the last window closes" would end the loop under a running
        # trio; worse, fired while no loop runs it leaves the thread's quit flag set, and
        # every later nested loop (a modal dialog, QEventLoop.exec) returns at once.
        app.setQuitOnLastWindowClosed(False)
    reactor = _Reactor()
    result: list[outcome.Outcome[Any]] = []

    def run_sync_soon_threadsafe(fn: Callable[[], object]) -> None:
        QCoreApplication.postEvent(reactor, _RunCallback(fn))

    def done(out: outcome.Outcome[Any]) -> None:
        result.append(out)
        app.quit()

    trio.lowlevel.start_guest_run(
        main,
        run_sync_soon_threadsafe=run_sync_soon_threadsafe,
        done_callback=done,
        host_uses_signal_set_wakeup_fd=False,
    )
    app.exec()
    if not result:  # pragma: no cover - Qt quit on its own before trio finished
        raise RuntimeError("Qt's event loop ended before trio's guest run finished")
    return result[0].unwrap()
