"""Title strips (title and year under each poster) rendered once per card into a text atlas.

A rasteriser draws one strip into a grey-scale (coverage) array; the Qt one draws with QPainter
for the app, the Pillow one works where there is no Qt (the headless GPU bench).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

MENU_ACTIONS = ("Play", "Details", "Mark watched")

Coverage = npt.NDArray[np.uint8]


class TitleRasterizer(Protocol):
    def title(self, title: str, year: int | None, width: int, height: int) -> Coverage: ...

    def menu(self, actions: Sequence[str], width: int, height: int) -> Coverage: ...


def menu_rows(actions: int) -> int:
    """The back face is cut into ``actions + 2`` equal rows: a margin row, one per action, one
    margin row. The shader highlights, and the hit test reads, the same rows."""
    return actions + 2


def menu_action_at(fraction_y: float, actions: int) -> int | None:
    row = int(fraction_y * menu_rows(actions)) - 1
    return row if 0 <= row < actions else None


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _elide(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
           width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


class PillowTitles:
    def title(self, title: str, year: int | None, width: int, height: int) -> Coverage:
        image = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(image)
        size = max(8, int(height * 0.36))
        font = _font(size)
        draw.text((2, 1), _elide(draw, title, font, width - 4), fill=255, font=font)
        if year is not None:
            draw.text((2, 2 + size), str(year), fill=150, font=_font(max(7, int(size * 0.85))))
        return np.asarray(image, dtype=np.uint8)

    def menu(self, actions: Sequence[str], width: int, height: int) -> Coverage:
        image = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(image)
        row_h = height / menu_rows(len(actions))
        font = _font(max(9, int(row_h * 0.3)))
        for i, label in enumerate(actions):
            text = _elide(draw, label, font, width - 16)
            tw = draw.textlength(text, font=font)
            y = (i + 1) * row_h + row_h * 0.35
            draw.text(((width - tw) / 2, y), text, fill=255, font=font)
        return np.asarray(image, dtype=np.uint8)
