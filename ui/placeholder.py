"""The one card an item without a poster shows, in every view: its title set in type, its year,
on a colour of its own.

A library scanned without TMDB has many items without art; a grey box (or two initials) per item
makes them indistinguishable. This design is drawn by one function, :func:`paint_placeholder`,
used by the QPainter views (search, details, the fallback card grid) and, as a texture made once
per item (:func:`placeholder_rgba`), by the GL grid and carousels, so an item looks the same
wherever it appears. The colour is the poster's dominant colour when the server sent one, else
derived from the title (the same title always gets the same colour), darkened where needed so the
white type always reads.
"""

from __future__ import annotations

import colorsys
import zlib

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
)

MAX_LINES = 4


def placeholder_colour(title: str, colour: str | None = None) -> QColor:
    """The card's colour: ``colour`` ("#rrggbb") if valid, else a hue from the title; its
    lightness is kept between 18 and 34 % so white type on it stays legible."""
    base = QColor(colour) if colour else QColor()
    if base.isValid():
        hue, light, sat = colorsys.rgb_to_hls(base.redF(), base.greenF(), base.blueF())
        sat = min(sat, 0.6)
    else:
        hue = (zlib.crc32(title.casefold().encode()) % 360) / 360.0
        light, sat = 0.27, 0.38
    light = min(max(light, 0.18), 0.34)
    r, g, b = colorsys.hls_to_rgb(hue, light, sat)
    return QColor.fromRgbF(r, g, b)


def _lines(text: str, metrics: QFontMetricsF, width: float) -> list[str]:
    """Words wrapped to ``width``; a word too long for a line is broken; more than MAX_LINES
    end with an ellipsis."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if metrics.horizontalAdvance(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while metrics.horizontalAdvance(word) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and metrics.horizontalAdvance(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = metrics.elidedText(lines[-1] + " …", Qt.TextElideMode.ElideRight, width)
    return lines


def paint_placeholder(
    painter: QPainter,
    rect: QRectF,
    title: str,
    year: int | None,
    colour: str | None = None,
    radius: float = 8.0,
    seed: str | None = None,
) -> None:
    """Draw the placeholder card into ``rect`` (any aspect: posters and landscape cards).
    ``seed`` picks the colour when there is none (default the title; a series' title for its
    seasons and episodes, so they share their series' colour)."""
    base = placeholder_colour(seed or title, colour)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    fill = QLinearGradient(rect.topLeft(), rect.bottomRight())
    fill.setColorAt(0.0, base.lighter(135))
    fill.setColorAt(1.0, base.darker(150))
    painter.fillPath(path, fill)
    side = min(rect.width(), rect.height() * 1.5)
    margin = max(6.0, side * 0.09)
    # a short rule above the title: the card reads as designed, not as missing
    painter.fillRect(
        QRectF(rect.x() + margin, rect.y() + margin, side * 0.16, max(2.0, side * 0.018)),
        QColor(255, 255, 255, 170),
    )
    font = QFont(painter.font())
    font.setBold(True)
    size = max(9.0, side * 0.115)
    width = rect.width() - 2 * margin
    lines: list[str] = []
    while True:
        font.setPixelSize(round(size))
        metrics = QFontMetricsF(font)
        lines = _lines(title or "?", metrics, width)
        height = len(lines) * metrics.lineSpacing()
        if (height <= rect.height() - 3.5 * margin and len(lines) < MAX_LINES) or size <= 9:
            break
        size *= 0.88
    painter.setFont(font)
    painter.setPen(QColor(255, 255, 255, 235))
    y = rect.y() + margin * 2.0
    for line in lines:
        painter.drawText(
            QRectF(rect.x() + margin, y, width, metrics.lineSpacing()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            line,
        )
        y += metrics.lineSpacing()
    if year is not None:
        small = QFont(font)
        small.setBold(False)
        small.setPixelSize(max(8, round(size * 0.72)))
        painter.setFont(small)
        painter.setPen(QColor(255, 255, 255, 165))
        line_h = QFontMetricsF(small).lineSpacing()
        painter.drawText(
            QRectF(rect.x() + margin, rect.bottom() - margin - line_h, width, line_h),
            Qt.AlignmentFlag.AlignLeft,
            str(year),
        )
    painter.restore()


def placeholder_image(
    title: str,
    year: int | None,
    colour: str | None,
    width: int,
    height: int,
    radius: float = 0.0,
    seed: str | None = None,
) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGBA8888)
    image.fill(0)
    painter = QPainter(image)
    paint_placeholder(painter, QRectF(0, 0, width, height), title, year, colour, radius, seed)
    painter.end()
    return image


def placeholder_rgba(
    title: str,
    year: int | None,
    colour: str | None,
    width: int,
    height: int,
    seed: str | None = None,
) -> npt.NDArray[np.uint8]:
    """The placeholder as a (height, width, 4) RGBA array: a GL texture's pixels."""
    image = placeholder_image(title, year, colour, width, height, seed=seed)
    ptr = image.constBits()
    assert ptr is not None
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(memoryview(ptr), np.uint8).reshape(  # type: ignore[arg-type]
        height, image.bytesPerLine()
    )
    out: npt.NDArray[np.uint8] = rows[:, : width * 4].reshape(height, width, 4).copy()
    return out
