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


def _elide(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def placeholder_bar(width: int, height: int) -> Coverage:
    """What a title strip shows until its text is rasterised: two faint bars where the title and
    the year will be (the shader tints coverage like text, so this needs no shader of its own)."""
    out: Coverage = np.zeros((height, width), np.uint8)
    size = max(8, int(height * 0.36))
    out[2 + size // 5 : 1 + size, 2 : max(3, int(width * 0.7))] = 46
    year = max(7, int(size * 0.85))
    out[3 + size + year // 5 : min(height, 2 + size + year), 2 : max(3, int(width * 0.25))] = 34
    return out


class _Glyph:
    """One character at one size and shade: its bitmap (origin at the pen, top at the ascender),
    how far it reaches left of the pen, and the pen advance."""

    __slots__ = ("advance", "bitmap", "left")

    def __init__(self, bitmap: Coverage, left: int, advance: float) -> None:
        self.bitmap, self.left, self.advance = bitmap, left, advance


class PillowTitles:
    """Strips composed from cached glyph bitmaps.

    ``ImageDraw.text`` lays out and rasterises the whole string on every call (0.2-0.6 ms a strip,
    and a fast scroll brings in a row of 20 strips at once). Each glyph is rasterised once per size
    and shade here, so a strip costs a few numpy slice operations (tens of µs). Pen positions are
    rounded to whole pixels and pairs are not kerned: at strip sizes that is not visible.
    """

    def __init__(self) -> None:
        self._glyphs: dict[tuple[str, int, int], _Glyph] = {}

    def _glyph(self, char: str, size: int, shade: int) -> _Glyph:
        key = (char, size, shade)
        glyph = self._glyphs.get(key)
        if glyph is None:
            font = _font(size)
            x0, _, x1, _ = font.getbbox(char)
            ascent, descent = font.getmetrics()  # type: ignore[union-attr]
            left = min(0, int(x0))
            advance = float(font.getlength(char))
            reach = max(int(x1), int(advance) + 1)
            image = Image.new("L", (max(1, reach - left), ascent + descent), 0)
            ImageDraw.Draw(image).text((-left, 0), char, fill=shade, font=font)
            glyph = self._glyphs[key] = _Glyph(np.asarray(image, dtype=np.uint8), left, advance)
        return glyph

    def _line(
        self, out: Coverage, text: str, x: float, y: int, size: int, shade: int, width: int
    ) -> None:
        """Draw ``text`` at pen (x, y), elided with "…" to end before ``width``."""
        glyphs = [self._glyph(c, size, shade) for c in text]
        if x + sum(g.advance for g in glyphs) > width:
            dots = self._glyph("…", size, shade)
            room, end = width - x - dots.advance, 0
            for g in glyphs:
                room -= g.advance
                if room < 0:
                    break
                end += 1
            while end and text[end - 1] == " ":
                end -= 1
            glyphs = [*glyphs[:end], dots]
        h, w = out.shape
        for g in glyphs:
            gx = round(x) + g.left
            x += g.advance
            gh, gw = g.bitmap.shape
            x0, x1, y1 = max(0, gx), min(w, gx + gw), min(h, y + gh)
            if x1 <= x0 or y1 <= y:
                continue
            region = out[y:y1, x0:x1]
            np.maximum(region, g.bitmap[: y1 - y, x0 - gx : x1 - gx], out=region)

    def title(self, title: str, year: int | None, width: int, height: int) -> Coverage:
        out: Coverage = np.zeros((height, width), np.uint8)
        size = max(8, int(height * 0.36))
        self._line(out, title, 2.0, 1, size, 255, width - 2)
        if year is not None:
            self._line(out, str(year), 2.0, 2 + size, max(7, int(size * 0.85)), 150, width - 2)
        return out

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
