"""Trio as Qt's guest: what the player's main loop relies on."""

from __future__ import annotations

import time

import trio
from PyQt6.QtCore import QEventLoop, QTimer
from PyQt6.QtWidgets import QApplication, QWidget

from ui.qt_trio import run


def nested_wait_s(ms: int) -> float:
    """How long a nested event loop (a modal dialog, ``qtbot.wait``) really ran."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    started = time.monotonic()
    loop.exec()
    return time.monotonic() - started


def test_main_result_comes_back_and_errors_are_raised(qapp: QApplication) -> None:
    async def answer() -> int:
        await trio.sleep(0.01)
        return 42

    assert run(qapp, answer) == 42

    async def broken() -> None:
        await trio.lowlevel.checkpoint()
        raise ValueError("boom")

    try:
        run(qapp, broken)
    except ValueError as error:
        assert str(error) == "boom"
    else:
        raise AssertionError("the guest's error was swallowed")


def test_closing_the_last_window_does_not_end_qt_under_trio(qapp: QApplication) -> None:
    """Closing the window is the app's cue to cancel its nursery; Qt must not quit on its
    own, or it would stop the loop under a running trio and leave the thread's quit flag
    set, so every later nested loop returned at once (what broke the video test)."""
    window = QWidget()
    window.show()
    seen: list[str] = []

    async def main() -> None:
        await trio.sleep(0.05)
        window.close()  # the last window
        await trio.sleep(0.2)  # trio keeps running: Qt did not quit under it
        seen.append("after close")

    run(qapp, main)
    assert seen == ["after close"]
    assert nested_wait_s(150) >= 0.14
