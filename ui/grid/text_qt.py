"""Title strips and the back-face menu drawn with QPainter (system fonts, elision, fallbacks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter

from ui.grid.titles import Coverage, menu_rows
from ui.placeholder import placeholder_rgba


def _coverage(image: QImage) -> Coverage:
    w, h = image.width(), image.height()
    ptr = image.constBits()
    assert ptr is not None
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(memoryview(ptr), np.uint8).reshape(h, image.bytesPerLine())  # type: ignore[arg-type]
    out: Coverage = rows[:, :w].copy()
    return out


class QtTitles:
    """Fonts and their metrics are made once per size: building a QFont and resolving it through
    fontconfig cost more than drawing the strip (the grid asks for a strip per card that scrolls
    in, a few a frame)."""

    def __init__(self, family: str = "") -> None:
        self.family = family
        self._fonts: dict[tuple[int, bool], tuple[QFont, QFontMetrics]] = {}

    def _font(self, pixels: int, bold: bool = False) -> QFont:
        return self._font_metrics(pixels, bold)[0]

    def _font_metrics(self, pixels: int, bold: bool = False) -> tuple[QFont, QFontMetrics]:
        key = (max(7, pixels), bold)
        got = self._fonts.get(key)
        if got is None:
            font = QFont(self.family) if self.family else QFont()
            font.setPixelSize(key[0])
            font.setBold(bold)
            got = self._fonts[key] = (font, QFontMetrics(font))
        return got

    def title(self, title: str, year: int | None, width: int, height: int) -> Coverage:
        image = QImage(width, height, QImage.Format.Format_Grayscale8)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        size = int(height * 0.4)
        font, metrics = self._font_metrics(size, bold=True)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        text = metrics.elidedText(title, Qt.TextElideMode.ElideRight, width - 4)
        painter.drawText(QRectF(2, 0, width - 4, size * 1.3), Qt.AlignmentFlag.AlignLeft, text)
        if year is not None:
            painter.setFont(self._font(int(size * 0.85)))
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(
                QRectF(2, size * 1.3, width - 4, height - size * 1.3),
                Qt.AlignmentFlag.AlignLeft,
                str(year),
            )
        painter.end()
        return _coverage(image)

    def placeholder(
        self,
        title: str,
        year: int | None,
        colour: str | None,
        width: int,
        height: int,
        seed: str | None = None,
    ) -> npt.NDArray[np.uint8]:
        """The poster slot of an item without a poster: the shared placeholder design."""
        return placeholder_rgba(title, year, colour, width, height, seed)

    def menu(self, actions: Sequence[str], width: int, height: int) -> Coverage:
        image = QImage(width, height, QImage.Format.Format_Grayscale8)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        row_h = height / menu_rows(len(actions))
        font = self._font(int(row_h * 0.32), bold=True)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        metrics = QFontMetrics(font)
        for i, label in enumerate(actions):
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, width - 16)
            painter.drawText(
                QRectF(0, (i + 1) * row_h, width, row_h), Qt.AlignmentFlag.AlignCenter, text
            )
        painter.end()
        return _coverage(image)
