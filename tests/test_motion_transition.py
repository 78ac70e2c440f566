"""View transitions on a real Qt window under Xvfb: the detail panel slides in and out on the
window's frame clock, other changes crossfade, and animations off makes them instant.

The transition's clock is a counter the test sets; frames still come from Qt (UpdateRequest).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PyQt6.QtGui import QColor, QImage, QPalette
from PyQt6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from ui.motion.tween import CROSSFADE_S, PANEL_SLIDE_S
from ui.screens.transition import Kind, ScreenTransition

W, H = 400, 240
RED, BLUE = QColor(200, 30, 30), QColor(30, 30, 200)


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def page(colour: QColor) -> QWidget:
    widget = QWidget()
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, colour)
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)
    return widget


Setup = tuple[QWidget, QStackedWidget, ScreenTransition, Clock, QWidget, QWidget]


@pytest.fixture
def setup(qtbot: QtBot) -> Iterator[Setup]:
    top = QWidget()
    stack = QStackedWidget()
    QVBoxLayout(top).setContentsMargins(0, 0, 0, 0)
    layout = top.layout()
    assert layout is not None
    layout.addWidget(stack)
    home, detail = page(RED), page(BLUE)
    stack.addWidget(home)
    stack.addWidget(detail)
    clock = Clock()
    transition = ScreenTransition(stack, clock)
    top.resize(W, H)
    qtbot.addWidget(top)
    top.show()
    qtbot.waitExposed(top)
    yield top, stack, transition, clock, home, detail
    top.close()


def colour_at(top: QWidget, x: int, y: int = H // 2) -> tuple[int, int, int]:
    image: QImage = top.grab().toImage()
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def near(a: tuple[int, int, int], b: QColor, tol: int = 12) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, (b.red(), b.green(), b.blue()), strict=True))


def advance(qtbot: QtBot, transition: ScreenTransition, clock: Clock, seconds: float) -> None:
    """Let ``seconds`` pass at 60 frames a second, each step taken by a real frame of the window
    (a stall longer than 0.1 s would be clamped by the motion controller, as on a real display)."""
    steps = round(seconds * 60)
    for _ in range(steps):
        if not transition.active:
            clock.t += seconds / steps
            continue
        start = transition.frames
        clock.t += seconds / steps
        qtbot.waitUntil(
            lambda s=start: transition.frames > s or not transition.active, timeout=3000
        )


def test_detail_panel_slides_in_then_out(qtbot: QtBot, setup: Setup) -> None:
    top, stack, transition, clock, home, detail = setup
    transition.change(detail, Kind.SLIDE_IN)
    assert stack.currentWidget() is detail and transition.active
    advance(qtbot, transition, clock, PANEL_SLIDE_S / 2)  # half-way: the edge is at the middle
    assert transition.panel_x() == W // 2
    assert near(colour_at(top, W // 4), RED) and near(colour_at(top, 3 * W // 4), BLUE)
    advance(qtbot, transition, clock, PANEL_SLIDE_S / 2 + 0.02)  # the slide's duration is over
    assert not transition.active
    assert detail.x() == 0 and not transition.isVisible()
    assert near(colour_at(top, 5), BLUE) and near(colour_at(top, W - 5), BLUE)
    # back: the panel leaves to the right over the live screen below
    transition.change(home, Kind.SLIDE_OUT)
    advance(qtbot, transition, clock, PANEL_SLIDE_S / 2)
    assert transition.panel_x() == W // 2
    assert near(colour_at(top, W // 4), RED) and near(colour_at(top, 3 * W // 4), BLUE)
    advance(qtbot, transition, clock, PANEL_SLIDE_S / 2 + 0.02)
    assert not transition.active
    assert near(colour_at(top, W - 5), RED)


def test_view_change_crossfades(qtbot: QtBot, setup: Setup) -> None:
    top, _, transition, clock, _, detail = setup
    transition.change(detail, Kind.CROSSFADE)
    advance(qtbot, transition, clock, CROSSFADE_S / 2)
    r, _, b = colour_at(top, W // 2)
    assert 60 < r < 170 and 60 < b < 170  # both views, half each
    advance(qtbot, transition, clock, CROSSFADE_S / 2 + 0.02)
    assert not transition.active
    assert near(colour_at(top, W // 2), BLUE)


def test_animations_off_changes_at_once(setup: Setup) -> None:
    top, stack, transition, _, _, detail = setup
    transition.animations = False
    transition.change(detail, Kind.SLIDE_IN)
    assert not transition.active and stack.currentWidget() is detail and detail.x() == 0
    assert near(colour_at(top, 5), BLUE) and near(colour_at(top, W - 5), BLUE)
