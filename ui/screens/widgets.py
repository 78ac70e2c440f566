"""Shared widgets: the poster cache, the card list (a row or a wrapping grid), small helpers.

:class:`CardList` is a QListWidget, so arrows, Home/End, PageUp/PageDown and Enter work the Qt
way and the current card always has a visible focus ring (drawn by :class:`CardDelegate`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from PyQt6.QtCore import (
    QModelIndex,
    QObject,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    pyqtSignal,
    pyqtSlot,
)
from PyQt6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPainterPath, QPen, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from ui.domains.views import CardView
from ui.placeholder import paint_placeholder
from ui.screens.theme import palette
from ui.settings.model import DisplaySettings

CARD_ROLE = Qt.ItemDataRole.UserRole + 1
TITLE_LINES_PX = 44


class PosterCache(QObject):
    """Decoded posters by image id, filled from the Metadata domain's ImageReady events."""

    updated = pyqtSignal(str)

    def __init__(
        self, request: Callable[[str, int], None], resolve: Callable[[uuid.UUID], None]
    ) -> None:
        super().__init__()
        self._pixmaps: dict[str, QPixmap] = {}
        self._requested: set[str] = set()
        self._by_item: dict[uuid.UUID, str | None] = {}
        self._resolving: set[uuid.UUID] = set()
        self._request = request
        self._resolve = resolve

    def put(self, image_id: str, data: bytes) -> None:
        pixmap = QPixmap()
        if pixmap.loadFromData(data):
            self._pixmaps[image_id] = pixmap
            self.updated.emit(image_id)

    def resolved(self, item_id: uuid.UUID, image_id: str | None) -> None:
        self._by_item[item_id] = image_id
        if image_id:
            self.get(image_id)
        self.updated.emit(image_id or "")

    def get(self, image_id: str | None, width: int = 342) -> QPixmap | None:
        if not image_id:
            return None
        pixmap = self._pixmaps.get(image_id)
        if pixmap is None and image_id not in self._requested:
            self._requested.add(image_id)
            self._request(image_id, width)
        return pixmap

    def for_card(self, card: CardView) -> QPixmap | None:
        image_id = card.poster_image_id or self._by_item.get(card.id)
        if image_id:
            return self.get(image_id)
        if card.id not in self._by_item and card.id not in self._resolving:
            self._resolving.add(card.id)
            self._resolve(card.id)
        return None


def card_size(display: DisplaySettings, landscape: bool) -> tuple[int, int]:
    """The image area of a card: a poster, or for episodes a 16:9 landscape card as tall as
    one and a half posters wide, so a row of either reads at the same scale."""
    if landscape:
        width = round(display.poster_width * 1.5)
        return width, round(width * 9 / 16)
    return display.poster_width, display.poster_height


def fit_rect(pixmap: QPixmap, frame: QRectF) -> QRectF:
    """``pixmap``'s rectangle scaled to fit inside ``frame``, centred: nothing cut off."""
    w, h = pixmap.width(), pixmap.height()
    if w <= 0 or h <= 0:
        return frame
    scale = min(frame.width() / w, frame.height() / h)
    return QRectF(
        frame.center().x() - w * scale / 2, frame.center().y() - h * scale / 2, w * scale, h * scale
    )


class CardDelegate(QStyledItemDelegate):
    def __init__(self, owner: CardList) -> None:
        super().__init__(owner)
        self.owner = owner

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        d = self.owner.display
        w, h = card_size(d, self.owner.landscape)
        return QSize(w + d.spacing, h + TITLE_LINES_PX + d.spacing)

    def paint(
        self, painter: QPainter | None, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        if painter is None:
            return
        card: CardView | None = index.data(CARD_ROLE)
        if card is None:
            return
        d = self.owner.display
        pal = palette(d.theme)
        rect: QRect = option.rect
        state = option.state
        focused = (bool(state & QStyle.StateFlag.State_Selected) and self.owner.hasFocus()) or bool(
            state & QStyle.StateFlag.State_HasFocus
        )
        selected = bool(state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        grow = 4 if focused and d.animations else 0
        card_w, card_h = card_size(d, self.owner.landscape)
        poster = QRectF(
            rect.x() + d.spacing / 2 - grow,
            rect.y() + d.spacing / 2 - grow,
            card_w + 2 * grow,
            card_h + 2 * grow,
        )
        path = QPainterPath()
        path.addRoundedRect(poster, 8, 8)
        posters = self.owner.posters
        if card.landscape:
            # an episode's still is 16:9: shown whole in its landscape card (or letterboxed in
            # a poster-sized cell of a mixed list), never cropped into a poster
            still = None
            if posters is not None:
                still = (
                    posters.get(card.still_image_id, 300)
                    if card.still_image_id
                    else posters.for_card(card)
                )
            paint_placeholder(
                painter,
                poster,
                card.label,
                card.year,
                card.placeholder_color,
                seed=card.series_title or card.title,
            )
            if still is not None:
                painter.setClipPath(path)
                painter.fillPath(path, QColor(0, 0, 0))
                painter.drawPixmap(fit_rect(still, poster), still, QRectF(still.rect()))
                painter.setClipping(False)
            pixmap = None
        else:
            pixmap = posters.for_card(card) if posters else None
            if pixmap is None:
                paint_placeholder(
                    painter,
                    poster,
                    card.label,
                    card.year,
                    card.placeholder_color,
                    seed=card.series_title or card.title,
                )
        if pixmap is not None:
            painter.setClipPath(path)
            scaled = pixmap.scaled(
                poster.size().toSize(),
                Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                Qt.TransformationMode.SmoothTransformation,
            )
            sx = (scaled.width() - poster.width()) / 2
            sy = (scaled.height() - poster.height()) / 2
            painter.drawPixmap(
                poster.toRect(),
                scaled,
                QRect(int(sx), int(sy), int(poster.width()), int(poster.height())),
            )
            painter.setClipping(False)
        if card.progress is not None:
            bar = QRectF(poster.x() + 8, poster.bottom() - 12, poster.width() - 16, 5)
            painter.fillRect(bar, QColor(0, 0, 0, 160))
            painter.fillRect(
                QRectF(bar.x(), bar.y(), bar.width() * min(1.0, card.progress), bar.height()),
                QColor(pal.accent),
            )
        if card.watched:
            dot = QRectF(poster.right() - 30, poster.y() + 8, 22, 22)
            painter.setBrush(QColor(pal.accent))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(dot)
            painter.setPen(QPen(QColor(pal.accent_text), 2.5))
            painter.drawPolyline(
                dot.topLeft() + _pt(6, 11), dot.topLeft() + _pt(10, 15), dot.topLeft() + _pt(16, 7)
            )
        if focused or selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(pal.accent if focused else pal.muted), 3))
            painter.drawRoundedRect(poster.adjusted(-2, -2, 2, 2), 10, 10)
        text_rect = QRectF(rect.x() + d.spacing / 2, poster.bottom() + 6 + grow, card_w, 20)
        font = QFont(painter.font())
        font.setPixelSize(13)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(pal.text))
        metrics = painter.fontMetrics()
        painter.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(card.label, Qt.TextElideMode.ElideRight, card_w),
        )
        font.setBold(False)
        font.setPixelSize(12)
        painter.setFont(font)
        painter.setPen(QColor(pal.muted))
        sub = " · ".join(x for x in (card.subtitle, str(card.year) if card.year else "") if x)
        painter.drawText(text_rect.translated(0, 18), Qt.AlignmentFlag.AlignLeft, sub)
        painter.restore()


def _pt(x: float, y: float) -> QPointF:
    return QPointF(x, y)


class CardList(QListWidget):
    """Cards as a single scrolling row (``row=True``) or a wrapping grid."""

    activated_card = pyqtSignal(object)
    leave_up = pyqtSignal()
    leave_down = pyqtSignal()

    def __init__(
        self,
        display: DisplaySettings,
        posters: PosterCache | None,
        *,
        row: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.display = display
        self.posters = posters
        self.is_row = row
        self.landscape = False
        """Episodes only: the cards are landscape (set by set_cards)."""
        self.setItemDelegate(CardDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        if row:
            self.setFlow(QListView.Flow.LeftToRight)
            self.setWrapping(False)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        else:
            self.setFlow(QListView.Flow.LeftToRight)
            self.setWrapping(True)
        self.itemActivated.connect(self._activated)
        if posters is not None:
            posters.updated.connect(self._poster_updated)
        self._fit()

    @pyqtSlot(str)
    def _poster_updated(self, _image_id: str) -> None:
        viewport = self.viewport()
        if viewport is not None:
            viewport.update()

    def _fit(self) -> None:
        d = self.display
        w, h = card_size(d, self.landscape)
        self.setGridSize(QSize(w + d.spacing, h + TITLE_LINES_PX + d.spacing))
        if self.is_row:
            self.setFixedHeight(h + TITLE_LINES_PX + d.spacing + 16)

    def apply_display(self, display: DisplaySettings) -> None:
        self.display = display
        self._fit()
        self.scheduleDelayedItemsLayout()
        self.viewport().update()  # type: ignore[union-attr]

    def set_cards(self, cards: Iterable[CardView]) -> None:
        current = self.current_card()
        self.clear()
        cards = list(cards)
        landscape = bool(cards) and all(card.landscape for card in cards)
        if landscape != self.landscape:
            self.landscape = landscape
            self._fit()
        for index, card in enumerate(cards):
            item = QListWidgetItem()
            item.setData(CARD_ROLE, card)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, card.label)
            item.setToolTip(card.label)
            self.addItem(item)
            if current is not None and card.id == current.id:
                self.setCurrentRow(index)
        if self.currentRow() < 0 and self.count():
            self.setCurrentRow(0)

    def cards(self) -> list[CardView]:
        out = []
        for i in range(self.count()):
            item = self.item(i)
            if item is not None:
                out.append(item.data(CARD_ROLE))
        return out

    def current_card(self) -> CardView | None:
        item = self.currentItem()
        return item.data(CARD_ROLE) if item is not None else None

    def _activated(self, item: QListWidgetItem) -> None:
        self.activated_card.emit(item.data(CARD_ROLE))

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is None:
            return
        key = event.key()
        if self.is_row and key == Qt.Key.Key_Up:
            self.leave_up.emit()
            return
        if self.is_row and key == Qt.Key.Key_Down:
            self.leave_down.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            card = self.current_card()
            if card is not None:
                self.activated_card.emit(card)
            return
        if not self.is_row and key == Qt.Key.Key_Up and self.currentRow() >= 0:
            before = self.currentRow()
            super().keyPressEvent(event)
            if self.currentRow() == before:
                self.leave_up.emit()
            return
        text = event.text()
        if (
            text
            and text.isprintable()
            and not text.isspace()
            and not (event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        ):
            event.ignore()  # letters go up to the window: they open the search overlay
            return
        super().keyPressEvent(event)


def heading(text: str, name: str = "title") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    return label


def button(text: str, name: str = "", on_click: Callable[[], None] | None = None) -> QPushButton:
    b = QPushButton(text)
    if name:
        b.setObjectName(name)
    b.setAutoDefault(True)
    b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    if on_click is not None:
        b.clicked.connect(lambda _checked=False: on_click())
    return b
