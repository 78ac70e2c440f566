"""Where each card of a virtual grid lies, and which rows the viewport sees (no Qt, no GL).

Only rows that intersect the viewport are ever laid out: a 30k-item library costs the same per
frame as a 30-item one.
"""

from __future__ import annotations

from dataclasses import dataclass

TITLE_HEIGHT = 34  # logical px under each poster: one title line and the year
PADDING = 24


@dataclass(frozen=True)
class GridLayout:
    viewport_w: float
    viewport_h: float
    poster_w: float = 170
    poster_h: float = 255
    spacing: float = 18
    title_h: float = TITLE_HEIGHT
    padding: float = PADDING
    fixed_columns: int = 0  # 0 fits as many as the width allows

    @property
    def columns(self) -> int:
        if self.fixed_columns > 0:
            return self.fixed_columns
        usable = self.viewport_w - 2 * self.padding + self.spacing
        return max(1, int(usable // (self.poster_w + self.spacing)))

    @property
    def cell_w(self) -> float:
        return self.poster_w + self.spacing

    @property
    def row_h(self) -> float:
        return self.poster_h + self.title_h + self.spacing

    @property
    def left(self) -> float:
        """Left edge of the first column: the grid is centred in the viewport."""
        used = self.columns * self.cell_w - self.spacing
        return max(self.padding, (self.viewport_w - used) / 2)

    def rows(self, count: int) -> int:
        return (count + self.columns - 1) // self.columns

    def content_height(self, count: int) -> float:
        return self.rows(count) * self.row_h - self.spacing + 2 * self.padding

    def max_offset(self, count: int) -> float:
        return max(0.0, self.content_height(count) - self.viewport_h)

    def row_of(self, index: int) -> int:
        return index // self.columns

    def row_top(self, row: int) -> float:
        """Top of a row in content coordinates (offset 0 = top of the grid)."""
        return self.padding + row * self.row_h

    def card_origin(self, index: int, offset: float) -> tuple[float, float]:
        """Top-left of the poster of card ``index`` in viewport pixels at scroll ``offset``."""
        row, col = divmod(index, self.columns)
        return self.left + col * self.cell_w, self.row_top(row) - offset

    def visible_rows(self, offset: float, count: int) -> range:
        """Rows any part of which (poster or title) is inside the viewport."""
        rows = self.rows(count)
        if rows == 0:
            return range(0)
        first = int((offset - self.padding) // self.row_h)
        last = int((offset + self.viewport_h - self.padding) // self.row_h)
        return range(max(0, first), min(rows, last + 1))

    def visible_range(self, offset: float, count: int) -> range:
        """Card indices in the visible rows."""
        rows = self.visible_rows(offset, count)
        if not rows:
            return range(0)
        return range(rows.start * self.columns, min(count, rows.stop * self.columns))

    def centred_offset(self, index: int, count: int) -> float:
        """The scroll offset that puts the row of ``index`` in the middle of the viewport."""
        top = self.row_top(self.row_of(index))
        target = top + (self.poster_h + self.title_h) / 2 - self.viewport_h / 2
        return min(max(target, 0.0), self.max_offset(count))

    def hit(self, x: float, y: float, offset: float, count: int) -> int | None:
        """The card under a viewport point, or None (gaps between cards hit nothing)."""
        col = int((x - self.left) // self.cell_w)
        if col < 0 or col >= self.columns or x - self.left - col * self.cell_w > self.poster_w:
            return None
        y_content = y + offset - self.padding
        row = int(y_content // self.row_h)
        if row < 0 or y_content - row * self.row_h > self.poster_h + self.title_h:
            return None
        index = row * self.columns + col
        return index if index < count else None

    def page_rows(self) -> int:
        """Rows PageUp/PageDown move by: the rows fully inside the viewport, at least one."""
        return max(1, int(self.viewport_h // self.row_h))
