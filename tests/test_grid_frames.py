"""The GL grid asks for its own frames while work is pending, then goes idle (issue 18, item 4).

Under the session's Xvfb with the real frame loop (no test-driven ``render``): the widget's
draws are what the display asks for, and the view requests the next one while it has title
strips, placeholders or decoded posters left to upload or motion to run. Seen in the app: a
title placeholder stayed for 14 s, until the next key press, once the motion had settled."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PyQt6.QtGui import QImage
from pytestqt.qtbot import QtBot

from tests.grid_kit import make_cards
from ui.grid.source import ListSource
from ui.grid.widget import PosterGrid
from ui.settings.model import DisplaySettings, PerformanceSettings

W, H = 780, 560  # inside the session's 800x600 Xvfb screen


def test_frames_continue_until_every_title_strip_is_made_then_stop(
    qtbot: QtBot, tmp_path: Path
) -> None:
    # one upload a frame: the strips for the screen and the rows made ahead take many frames
    canvas = PosterGrid(
        ListSource(make_cards(5_000)),
        None,
        display=DisplaySettings(),
        performance=PerformanceSettings(max_uploads_per_frame=1),
        size=(W, H),
    )
    qtbot.addWidget(canvas.native)
    canvas.show()
    qtbot.waitExposed(canvas.native)
    view = canvas.view
    qtbot.waitUntil(lambda: view.stats.frames > 0, timeout=10_000)
    # nothing but the display's own frame requests from here on: no input, no render()
    qtbot.waitUntil(
        lambda: not view.animating and view.stats.title_placeholders == 0, timeout=20_000
    )
    assert view.plan is not None
    made = view.title_slots
    assert made is not None
    assert all(i in made for i in view.plan.visible), "every strip on screen is made"
    below, _ = view.plan.preload
    assert all(i in made for i in below), "and the rows a scroll reaches next"
    frames = view.stats.frames
    qtbot.wait(600)
    assert view.stats.frames == frames, "idle: no frames while nothing is pending"

    # the picture: the last card of the first row has its title text, not the placeholder bar
    image = canvas.render(alpha=False)
    folder = Path(os.environ.get("FERREX_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.ascontiguousarray(image[..., :3])
    QImage(
        rgb.tobytes(), rgb.shape[1], rgb.shape[0], int(rgb.strides[0]), QImage.Format.Format_RGB888
    ).save(str(folder / "grid-idle.png"))
    lay = view.layout
    scale = image.shape[1] / W
    x, y = lay.card_origin(lay.columns - 1, 0.0)
    top = y + lay.poster_h + 6
    strip = image[
        int(top * scale) : int((top + lay.title_h - 6) * scale),
        int(x * scale) : int((x + lay.poster_w) * scale),
        :3,
    ]
    assert strip.max() > 180, "the title's text is drawn"
    canvas.close()
