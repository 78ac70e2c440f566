"""VirtualCarousel: one horizontal row of posters (a home row), drawn by the grid's machinery.

It is a :class:`~ui.grid.view.GridView` whose layout is a single row scrolled sideways by a
:class:`~ui.motion.scroll.Carousel` (momentum, then a snap to an item or a page over the
Performance section's snap duration), so the instanced renderer, the atlases, the budgeted
uploads, the title strips, the focus scale and the poster flip are the grid's own. Only the cards
that intersect the viewport are laid out and drawn; the demand plan asks for them first, then the
pages ahead of and behind the scroll (Visible > Preload > Background).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from sync.feed_types import Card
from ui.grid.demand import Demand, DemandPlan, Priority
from ui.grid.layout import GridLayout
from ui.grid.source import CardSource
from ui.grid.titles import TitleRasterizer
from ui.grid.view import (
    BACKGROUND_ROWS,
    PLACEHOLDER,
    Action,
    GridView,
    WatchInfo,
    poster_key,
    still_height,
)
from ui.images.types import PosterProvider, PosterRequest
from ui.motion.scroll import Carousel
from ui.settings.model import DisplaySettings, PerformanceSettings

# a wheel notch flings the row by this many items a second (about two items of travel)
WHEEL_ITEMS_PER_S = 6.0


@dataclass(frozen=True)
class RowLayout(GridLayout):
    """All cards in one row, shifted left by ``scroll_x``; the vertical offset is always 0."""

    count: int = 0
    scroll_x: float = 0.0

    @property
    def columns(self) -> int:
        return max(1, self.count)

    @property
    def left(self) -> float:
        return self.padding - self.scroll_x

    @property
    def page_items(self) -> int:
        """Cards fully inside the viewport: what a page snap moves by."""
        usable = self.viewport_w - 2 * self.padding + self.spacing
        return max(1, int(usable // self.cell_w))

    def visible_range(self, offset: float, count: int) -> range:
        first = math.floor((self.scroll_x - self.padding - self.poster_w) / self.cell_w) + 1
        last = math.floor((self.scroll_x - self.padding + self.viewport_w) / self.cell_w)
        return range(max(0, first), max(0, min(count, last + 1)))


def row_height(display: DisplaySettings, padding: float = RowLayout.padding) -> int:
    """Height of a carousel widget: the poster, its title and room for the focus scale."""
    return round(display.poster_height + RowLayout.title_h + 2 * padding)


class CarouselView(GridView):
    def __init__(
        self,
        source: CardSource,
        titles: TitleRasterizer,
        posters: PosterProvider | None = None,
        *,
        display: DisplaySettings | None = None,
        performance: PerformanceSettings | None = None,
        watch: Callable[[Card], WatchInfo | None] | None = None,
        on_action: Action | None = None,
        on_leave: Callable[[int], None] | None = None,
    ) -> None:
        self.carousel = Carousel()
        self._carousel_now = 0.0
        super().__init__(
            source,
            titles,
            posters,
            display=display,
            performance=performance,
            watch=watch,
            on_action=on_action,
        )
        self.on_leave = on_leave  # Up/Down: -1 / +1, to the row above or below
        self.active = True  # the focused row shows its focus scale; the others rest
        self.layout = RowLayout(800, row_height(self.display))

    @property
    def row(self) -> RowLayout:
        assert isinstance(self.layout, RowLayout)
        return self.layout

    @property
    def snap_s(self) -> float:
        return self.performance.carousel_snap_ms / 1000.0 if self.display.animations else 0.0

    # size and GL ------------------------------------------------------------------------------
    def resize(self, width: float, height: float, dpr: float = 1.0) -> None:
        d = self.display
        if dpr != self.dpr and self.renderer is not None:
            self.renderer = None
        self.dpr = dpr
        self.layout = RowLayout(
            width,
            height,
            d.poster_width,
            d.poster_height,
            d.spacing,
            count=self.window.count,
            scroll_x=self.carousel.offset,
        )
        row = self.row
        self.carousel = replace(
            self.carousel,
            item_width=row.cell_w,
            count=self.window.count,
            visible_items=row.page_items,
            snap=None,
        )
        self.carousel = replace(self.carousel, offset=self.carousel.clamp(self.carousel.offset))
        self.layout = replace(row, scroll_x=self.carousel.offset)
        self.motion.scroll.max_offset = 0.0
        self._plan_key = None

    def attach_gl(self, max_texture: int) -> None:
        """Atlases sized for a screenful of the row plus its preload pages, not the whole row."""
        row = self.row
        self.layout = GridLayout(
            row.viewport_w,
            row.viewport_h,
            row.poster_w,
            row.poster_h,
            row.spacing,
            row.title_h,
            row.padding,
            fixed_columns=row.page_items + 2,
        )
        try:
            super().attach_gl(max_texture)
        finally:
            self.layout = row

    def source_changed(self) -> None:
        super().source_changed()
        self.carousel = replace(self.carousel, count=self.window.count)
        self.layout = replace(self.row, count=self.window.count)

    # motion -------------------------------------------------------------------------------------
    def _follow_scroll(self) -> None:
        """Steps the row's momentum/snap on the frame clock, just after the motion controller."""
        super()._follow_scroll()
        now = self.motion.now
        dt = now - self._carousel_now
        self._carousel_now = now
        if self.carousel.moving:
            tau = self.performance.scroll_decay_tau_ms / 1000.0
            self.carousel = self.carousel.step(now, dt, tau, self.snap_s)
        if self.carousel.offset != self.row.scroll_x:
            self.layout = replace(self.row, scroll_x=self.carousel.offset)

    def _settled_first(self) -> int:
        c = self.carousel
        x = c.snap.end if c.snap is not None else c.offset
        return round(x / max(c.item_width, 1e-6))

    def reveal(self, index: int) -> None:
        """Scroll so ``index`` is fully in view: one step past an edge turns a page, a longer
        jump snaps to the item."""
        first, page = self._settled_first(), self.row.page_items
        now, c = self.motion.now, self.carousel
        if first <= index < first + page:
            return
        if index == first + page:
            self.carousel = c.snap_page(1, now, self.snap_s)
        elif index == first - 1:
            self.carousel = c.snap_page(-1, now, self.snap_s)
        else:
            self.carousel = c.snap_to_item(
                index if index < first else index - page + 1, now, self.snap_s
            )
        if self.snap_s == 0.0:  # animations off: the row is there at once, not next frame
            self._jump_to_snap()

    def _jump_to_snap(self) -> None:
        if self.carousel.snap is not None:
            self.carousel = replace(self.carousel, offset=self.carousel.snap.end, snap=None)
            self.layout = replace(self.row, scroll_x=self.carousel.offset)

    def select(self, index: int, animate: bool = True) -> None:
        if self.window.count == 0:
            return
        super().select(index, animate)
        if not self.active:
            self.motion.set_focus(None)
        self.reveal(self.selected)

    def set_active(self, active: bool) -> None:
        self.active = active
        self.motion.set_focus(self.selected if active and self.window.count else None)

    def key_press(self, key: str, shift: bool = False, autorepeat: bool = False) -> bool:
        if self.flipped is None and key in ("Up", "Down"):
            if self.on_leave is not None:
                self.on_leave(-1 if key == "Up" else 1)
            return True
        if self.flipped is None and key in ("PageUp", "PageDown"):
            step = self.row.page_items * (-1 if key == "PageUp" else 1)
            self._direction = 1 if step > 0 else -1
            self.select(self.selected + step)
            return True
        if key in ("Left", "Right"):
            self._direction = 1 if key == "Right" else -1
        return super().key_press(key, shift, autorepeat)

    def key_release(self, key: str, autorepeat: bool = False) -> bool:
        return key in ("Left", "Right", "Up", "Down", "PageUp", "PageDown", "Home", "End")

    def wheel(self, delta_rows: float) -> None:
        """A wheel notch is a fling: momentum decays with the configured tau, then the row snaps
        to the nearest item."""
        c = self.carousel
        velocity = delta_rows * WHEEL_ITEMS_PER_S * c.item_width
        self._direction = 1 if velocity > 0 else -1
        if not self.display.animations:
            tau = self.performance.scroll_decay_tau_ms / 1000.0
            target = round(c.clamp(c.offset + velocity * tau) / c.item_width)
            self.carousel = c.snap_to_item(target, self.motion.now, 0.0)
            self._jump_to_snap()
            return
        if c.snap is not None:  # a fling during a snap starts from where the snap is now
            c = replace(c, offset=c.snap.value(self.motion.now), snap=None)
        self.carousel = c.fling(velocity)

    # demand -------------------------------------------------------------------------------------
    def _update_demand(self, offset: float, visible: range) -> None:
        """Visible cards, then the pages the row is heading into and the one behind it, then the
        rest of a background band; titles are made in the same order."""
        perf, count, page = self.performance, self.window.count, self.row.page_items
        key = (visible.start, visible.stop, self._direction, count)
        if key == self._plan_key:
            return
        self._plan_key = key
        ahead_n = page * max(1, perf.prefetch_rows_below)
        behind_n = page * max(0, perf.prefetch_rows_above)
        back_n = page * BACKGROUND_ROWS
        if self._direction >= 0:
            ahead = range(visible.stop, min(count, visible.stop + ahead_n))
            behind = range(max(0, visible.start - behind_n), visible.start)
            background = range(ahead.stop, min(count, ahead.stop + back_n))
            order = [*visible, *ahead, *reversed(behind), *background]
        else:
            ahead = range(max(0, visible.start - ahead_n), visible.start)
            behind = range(visible.stop, min(count, visible.stop + behind_n))
            background = range(max(0, ahead.start - back_n), ahead.start)
            order = [*visible, *reversed(ahead), *behind, *reversed(background)]
        priority = {i: Priority.VISIBLE for i in visible}
        entries = tuple(
            Demand(i, priority.get(i, Priority.BACKGROUND if i in background else Priority.PRELOAD))
            for i in order
        )
        self.plan = DemandPlan(visible, (ahead, behind), background, entries)
        self._title_todo = list(order)
        if self.posters is None:
            return
        width, height = self.poster_size
        wanted: list[PosterRequest] = []
        seen: set[str] = set()
        for demand in entries:
            card = self.window.get(demand.index)
            image_id = poster_key(card) if card is not None else None
            if (
                card is None
                or image_id is None
                or image_id.startswith(PLACEHOLDER)
                or image_id in seen
            ):
                continue
            seen.add(image_id)
            if self.poster_slots is not None and image_id in self.poster_slots:
                self.poster_slots.lookup(image_id)
                continue
            wanted.append(
                PosterRequest(image_id, width, still_height(card, width, height), demand.priority)
            )
        self.posters.set_demand(wanted)
        for image_id in list(self._pending.ready):
            if image_id not in seen:
                del self._pending.ready[image_id]

    def forget_demand(self) -> None:
        """The row left the screen: nothing is wanted until it is drawn again."""
        self._plan_key = None
        if self.posters is not None:
            self.posters.set_demand([])

    @property
    def animating(self) -> bool:
        return super().animating or self.carousel.moving
