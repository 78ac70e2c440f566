"""The demand plan: which posters are wanted now, in priority order Visible > Preload > Background.

The visible rows come first, then ``prefetch_rows_below``/``above`` rows (below first: reading
goes down), then a background band of further rows in the direction of travel, so a held key finds
posters already decoded when it gets there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ui.grid.layout import GridLayout


class Priority(IntEnum):
    VISIBLE = 0
    PRELOAD = 1
    BACKGROUND = 2


@dataclass(frozen=True)
class Demand:
    index: int
    priority: Priority


@dataclass(frozen=True)
class DemandPlan:
    visible: range
    preload: tuple[range, ...]
    background: range
    entries: tuple[Demand, ...]

    def indices(self, priority: Priority | None = None) -> list[int]:
        return [d.index for d in self.entries if priority is None or d.priority == priority]


def plan_demand(
    layout: GridLayout,
    offset: float,
    count: int,
    rows_above: int,
    rows_below: int,
    background_rows: int = 0,
    direction: int = 1,
) -> DemandPlan:
    rows = layout.visible_rows(offset, count)
    total_rows = layout.rows(count)
    cols = layout.columns

    def cards(first_row: int, last_row: int) -> range:
        first_row, last_row = max(0, first_row), min(total_rows, last_row)
        if first_row >= last_row:
            return range(0)
        return range(first_row * cols, min(count, last_row * cols))

    visible = cards(rows.start, rows.stop)
    below = cards(rows.stop, rows.stop + rows_below)
    above = cards(rows.start - rows_above, rows.start)
    if direction >= 0:
        background = cards(rows.stop + rows_below, rows.stop + rows_below + background_rows)
    else:
        background = cards(rows.start - rows_above - background_rows, rows.start - rows_above)
    entries: list[Demand] = [Demand(i, Priority.VISIBLE) for i in visible]
    entries += [Demand(i, Priority.PRELOAD) for i in below]
    entries += [Demand(i, Priority.PRELOAD) for i in reversed(above)]  # nearest row first
    entries += [
        Demand(i, Priority.BACKGROUND)
        for i in (background if direction >= 0 else reversed(background))
    ]
    return DemandPlan(visible, (below, above), background, tuple(entries))
