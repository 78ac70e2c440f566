"""GridView: one poster grid's state and its frame, free of Qt so the GPU bench can run it headless.

Per frame (:meth:`GridView.frame`, called with the display's frame timestamp): step the motion,
let a held key's scroll carry the selection, work out the visible rows and the demand plan, take
decoded posters from the provider and upload as many as the budget allows into the atlas, then
draw every card (poster + title) with one instanced draw call.
"""

from __future__ import annotations

import gc
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sync.feed_types import Card
from ui.grid.atlas import SlotAllocator, SlotGrid, fit_slots
from ui.grid.demand import DemandPlan, Priority, plan_demand
from ui.grid.layout import GridLayout
from ui.grid.renderer import GridRenderer, Instances
from ui.grid.selection import Move, move_selection
from ui.grid.source import CardSource, CardWindow
from ui.grid.titles import MENU_ACTIONS, TitleRasterizer, menu_action_at, menu_rows, placeholder_bar
from ui.images.budget import UploadBudget
from ui.images.types import PosterProvider, PosterRequest, ReadyPoster
from ui.motion.controller import MotionController
from ui.motion.flip import FlipPhase
from ui.motion.scroll import BASE_ROWS_PER_S, KineticKnobs
from ui.motion.tween import POSTER_FADE_S
from ui.settings.model import DisplaySettings, PerformanceSettings

KEY_MOVES = {
    "Left": Move.LEFT,
    "Right": Move.RIGHT,
    "Up": Move.UP,
    "Down": Move.DOWN,
    "PageUp": Move.PAGE_UP,
    "PageDown": Move.PAGE_DOWN,
    "Home": Move.HOME,
    "End": Move.END,
}
FLIP_KEYS = {"F", "Menu"}
BACKGROUND_ROWS = 4
# Share of the frame's upload time box title strips may take first (what they leave goes to the
# posters): posters are flushed to GL one by one, so the box holds their real cost, and during a
# fast scroll they alone would fill it and the titles would fall behind.
TITLE_SHARE = 0.5
SHADOW_REST, SHADOW_FOCUS = 0.35, 1.0


@dataclass(frozen=True)
class WatchInfo:
    watched: bool = False
    progress: float = 0.0  # 0…1 of the runtime; 0 hides the bar


Action = Callable[[str, Card], None]


@dataclass
class FrameStats:
    frames: int = 0
    uploads: int = 0
    title_uploads: int = 0
    instances: int = 0
    visible_cards: int = 0
    title_placeholders: int = 0  # the last frame's visible cards drawn with the placeholder bar
    # the last frame's CPU time: uploads (posters and titles), instance arrays, GL submission
    upload_s: float = 0.0
    build_s: float = 0.0
    submit_s: float = 0.0


@dataclass
class _Pending:
    ready: OrderedDict[str, ReadyPoster] = field(default_factory=OrderedDict)


def parse_colour(value: str | None) -> tuple[float, float, float]:
    """ "#rrggbb" → floats; anything else (missing, malformed) is a neutral grey."""
    if value and len(value) == 7 and value[0] == "#":
        try:
            n = int(value[1:], 16)
        except ValueError:
            return (0.25, 0.26, 0.29)
        return ((n >> 16 & 255) / 255.0, (n >> 8 & 255) / 255.0, (n & 255) / 255.0)
    return (0.25, 0.26, 0.29)


class GridView:
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
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.window = CardWindow(source)
        self.titles = titles
        self.posters = posters
        self.watch = watch
        self.on_action = on_action
        self.display = display or DisplaySettings()
        self.performance = performance or PerformanceSettings()
        self.motion = MotionController()
        self.budget = UploadBudget(
            self.performance.max_uploads_per_frame, self.performance.frame_budget_ms / 1000.0, clock
        )
        self.title_budget = UploadBudget(
            self.performance.max_uploads_per_frame * 2,
            self.performance.frame_budget_ms / 1000.0,
            clock,
        )
        self.apply_settings(self.display, self.performance)
        self.layout = GridLayout(800, 600)
        self.dpr = 1.0
        self.selected = 0
        self.flipped: int | None = None
        self.menu_choice = 0
        self.watched_overrides: dict[str, bool] = {}
        self.renderer: GridRenderer | None = None
        self.poster_slots: SlotAllocator[str] | None = None
        # title strips are keyed by card index (valid until the source changes); atlas slot 0 holds
        # the placeholder bar, so allocator slot s is atlas slot s + 1
        self.title_slots: SlotAllocator[int] | None = None
        self._title_todo: list[int] = []
        self._placeholders_left = False
        """The last frame's placeholder budget ran out with visible cards still to render."""
        self._pending = _Pending()
        self._colours: dict[str | None, tuple[float, float, float]] = {}
        self._plan_key: tuple[int, int, int, int] | None = None
        self.plan: DemandPlan | None = None
        self.stats = FrameStats()
        self._last_timestamp: float | None = None
        self._kinetic_was = False
        self._direction = 1
        self.motion.set_focus(0)

    # settings, size, GL ---------------------------------------------------------------------------
    def apply_settings(self, display: DisplaySettings, performance: PerformanceSettings) -> None:
        self.display, self.performance = display, performance
        self.motion.knobs = KineticKnobs(
            performance.scroll_decay_tau_ms / 1000.0,
            performance.scroll_velocity_ramp,
            performance.scroll_boost_multiplier,
        )
        self.motion.animations = display.animations
        self.motion.scroll.anchor_settle_s = performance.anchor_settle_ms / 1000.0
        for budget in (self.budget, self.title_budget):
            budget.frame_budget_s = performance.frame_budget_ms / 1000.0
        self.budget.max_per_frame = performance.max_uploads_per_frame
        self.title_budget.max_per_frame = performance.max_uploads_per_frame * 2

    def resize(self, width: float, height: float, dpr: float = 1.0) -> None:
        """Viewport in logical pixels; dpr scales what is drawn and the poster width requested."""
        d = self.display
        self.layout = GridLayout(
            width, height, d.poster_width, d.poster_height, d.spacing, fixed_columns=d.grid_columns
        )
        if dpr != self.dpr and self.renderer is not None:
            self.renderer = None  # slot sizes depend on dpr: rebuild on the next attach
        self.dpr = dpr
        self.motion.scroll.max_offset = self.layout.max_offset(self.window.count)
        self.motion.scroll.scroll_to(
            self.layout.centred_offset(self.selected, self.window.count), animate=False
        )
        self._plan_key = None

    def attach_gl(self, max_texture: int) -> None:
        """Create the GL objects; a gloo context must be current."""
        lay, dpr = self.layout, self.dpr
        visible = (lay.viewport_h // lay.row_h + 2) * lay.columns
        needed = int(
            visible
            + (self.performance.prefetch_rows_above + self.performance.prefetch_rows_below + 1)
            * lay.columns
        )
        limit = min(max_texture, 8192)
        posters = fit_slots(round(lay.poster_w * dpr), round(lay.poster_h * dpr), needed, limit)
        title_h = round((lay.title_h - 6) * dpr)
        # titles are made ahead for the whole plan (background rows too) and one slot holds the
        # placeholder bar
        title_needed = needed + BACKGROUND_ROWS * lay.columns + 1
        titles = fit_slots(round(lay.poster_w * dpr), title_h, title_needed, limit)
        # the title strips must keep their exact size (text is not resampled)
        titles = SlotGrid(titles.texture_w, titles.texture_h, round(lay.poster_w * dpr), title_h)
        menu = self.titles.menu(MENU_ACTIONS, posters.slot_w, posters.slot_h)
        self.renderer = GridRenderer(posters, titles, menu, dpr)
        self.renderer.set_menu_rows(menu_rows(len(MENU_ACTIONS)))
        self.renderer.upload_title(0, placeholder_bar(titles.slot_w, titles.slot_h))
        self.poster_slots = SlotAllocator(posters.capacity)
        self.title_slots = SlotAllocator(titles.capacity - 1)
        self._plan_key = None
        # Everything alive now (the app, the card data read so far, the GL objects) lives as long
        # as the grid: moved out of the collector's generations, a full collection during a scroll
        # walks only what the scroll itself allocates (a 57 ms gen-2 pause over 30k cards before).
        gc.collect()
        gc.freeze()

    def release_gl(self) -> bool:
        """Delete the atlases and forget their slots (a gloo context must be current): while the
        grid is off screen (playback), its 20-70 MB of textures, which a software GL driver keeps
        in the player's own memory, are not needed. The next :meth:`attach_gl` (the widget's next
        draw) makes them again and the posters come back from the image caches.

        The view's demand is withdrawn too (decoded posters waiting for an upload are dropped,
        and the image service stops decoding for a view nobody sees), the deletions are run now
        (gloo only queues them until the next draw, which would be on the way back), and the
        collector may look at everything again: ``attach_gl`` froze the GL objects, and frozen
        garbage in reference cycles is never collected. Returns False when nothing was held."""
        renderer = self.renderer
        if renderer is None:
            return False
        renderer.delete()
        self.renderer = None
        self.poster_slots = self.title_slots = None
        self._plan_key = None
        self._pending.ready.clear()
        self._title_todo = []
        if self.posters is not None:
            self.posters.set_demand([])
        gc.unfreeze()
        return True

    @property
    def poster_size(self) -> tuple[int, int]:
        """Physical pixels of one poster as it is sampled (the atlas slot)."""
        if self.renderer is None:
            return round(self.layout.poster_w * self.dpr), round(self.layout.poster_h * self.dpr)
        grid = self.renderer.poster_grid
        return grid.slot_w, grid.slot_h

    def source_changed(self) -> None:
        self.window.invalidate()
        if self.title_slots is not None:  # indices now name other cards
            self.title_slots = SlotAllocator(self.title_slots.capacity)
        self.motion.scroll.max_offset = self.layout.max_offset(self.window.count)
        self.selected = min(self.selected, max(0, self.window.count - 1))
        self._plan_key = None

    # input ------------------------------------------------------------------------------------
    def select(self, index: int, animate: bool = True) -> None:
        count = self.window.count
        if count == 0:
            return
        self.selected = min(max(index, 0), count - 1)
        self.motion.set_focus(self.selected)
        scroll = self.motion.scroll
        target = self.layout.centred_offset(self.selected, count)
        far = 2 * self.layout.viewport_h
        if animate and scroll.kinetic is None and abs(target - scroll.offset) > far:
            # a long jump (End, Home) cuts to one screen short of the target and animates the
            # rest: the motion reads the same, and no page in between is read or requested
            start = target - far / 2 if target > scroll.offset else target + far / 2
            scroll.scroll_to(start, animate=False)
        scroll.scroll_to(target, animate and self.display.animations)

    def key_press(self, key: str, shift: bool = False, autorepeat: bool = False) -> bool:
        if self.flipped is not None and self._menu_key(key):
            return True
        if key in FLIP_KEYS:
            self.toggle_flip(self.selected)
            return True
        if key == "Enter":
            card = self.window.get(self.selected)
            if card is not None and self.on_action is not None:
                self.on_action("details", card)
            return True
        move = KEY_MOVES.get(key)
        if move is None:
            return False
        if autorepeat and move in (Move.UP, Move.DOWN):
            direction = -1 if move is Move.UP else 1
            self._direction = direction
            self.motion.scroll.hold(direction, BASE_ROWS_PER_S * self.layout.row_h, shift)
            return True
        lay = self.layout
        before = self.selected
        index = move_selection(before, move, self.window.count, lay.columns, lay.page_rows())
        self._direction = 1 if index >= before else -1
        self.select(index)
        return True

    def key_release(self, key: str, autorepeat: bool = False) -> bool:
        if autorepeat or key not in ("Up", "Down"):
            return key in KEY_MOVES
        self.motion.scroll.release()
        return True

    def _menu_key(self, key: str) -> bool:
        assert self.flipped is not None
        if key == "Escape" or key in FLIP_KEYS:
            self.toggle_flip(self.flipped)
        elif key == "Up":
            self.menu_choice = (self.menu_choice - 1) % len(MENU_ACTIONS)
        elif key == "Down":
            self.menu_choice = (self.menu_choice + 1) % len(MENU_ACTIONS)
        elif key in ("Enter", "Space"):
            self.activate(self.flipped, self.menu_choice)
        else:
            return False
        return True

    def toggle_flip(self, index: int) -> None:
        if self.flipped is not None and self.flipped != index:
            self.motion.flip(self.flipped, to_back=False)
        if self.flipped == index:
            self.motion.flip(index, to_back=False)
            self.flipped = None
            return
        self.select(index)
        self.flipped = index
        self.menu_choice = 0
        self.motion.flip(index, to_back=True)

    def activate(self, index: int, action: int) -> None:
        card = self.window.get(index)
        if card is None:
            return
        name = ("play", "details", "mark_watched")[action]
        if name == "mark_watched":
            key = str(card.id)
            self.watched_overrides[key] = not self._watch(card).watched
        self.toggle_flip(index)
        if self.on_action is not None:
            self.on_action(name, card)

    def click(self, x: float, y: float, right: bool = False) -> None:
        """A mouse press at viewport (logical) coordinates."""
        lay = self.layout
        offset = self.motion.scroll.offset
        index = lay.hit(x, y, offset, self.window.count)
        if index is None:
            return
        if right:
            self.toggle_flip(index)
            return
        flip = self.motion.flip_of(index)
        if self.flipped == index and flip is not None and flip.phase is FlipPhase.MENU:
            _, top = lay.card_origin(index, offset)
            action = menu_action_at((y - top) / lay.poster_h, len(MENU_ACTIONS))
            if action is not None:
                self.activate(index, action)
            return
        self.select(index)

    def wheel(self, delta_rows: float) -> None:
        target = self.motion.scroll.spring.target + delta_rows * self.layout.row_h
        self.motion.scroll.scroll_to(target)

    # frame --------------------------------------------------------------------------------------
    def frame(
        self, timestamp: float, viewport_px: tuple[int, int], frame_time: float | None = None
    ) -> None:
        """Draw the frame at ``timestamp``. ``frame_time`` is how long the previous frame took,
        for the upload budget; by default the time since the previous frame (a bench that steps
        a fixed 120 Hz clock passes the real duration instead)."""
        if frame_time is None and self._last_timestamp is not None:
            frame_time = timestamp - self._last_timestamp
        if frame_time is not None:
            self.budget.frame_interval(frame_time)
            self.title_budget.frame_interval(frame_time)
        self._last_timestamp = timestamp
        self.motion.tick(timestamp)
        self._follow_scroll()
        offset = self.motion.scroll.offset
        lay, count = self.layout, self.window.count
        visible = lay.visible_range(offset, count)
        self._update_demand(offset, visible)
        if self.renderer is not None:
            clock = self.budget.clock
            t0 = clock()
            cards = self.window.slice(visible.start, visible.stop)
            self._upload(visible, cards)
            t1 = clock()
            instances = self._instances(visible, offset, cards)
            t2 = clock()
            self.renderer.draw(instances, viewport_px)
            t3 = clock()
            self.stats.upload_s, self.stats.build_s, self.stats.submit_s = t1 - t0, t2 - t1, t3 - t2
        self.stats.frames += 1
        self.stats.visible_cards = len(visible)

    def _follow_scroll(self) -> None:
        """While momentum drives the view, the selection is the card at the viewport's centre in
        the selected column; when it ends the view settles with that card's row centred."""
        scroll = self.motion.scroll
        kinetic = scroll.kinetic is not None
        if kinetic:
            lay = self.layout
            centre = scroll.offset + lay.viewport_h / 2 - lay.padding
            row = min(max(0, int(centre // lay.row_h)), max(0, lay.rows(self.window.count) - 1))
            col = self.selected % lay.columns
            index = min(row * lay.columns + col, self.window.count - 1)
            if index != self.selected and index >= 0:
                self.selected = index
                self.motion.set_focus(index)
        elif self._kinetic_was:
            self.select(self.selected)
        self._kinetic_was = kinetic

    def _update_demand(self, offset: float, visible: range) -> None:
        perf = self.performance
        key = (visible.start, visible.stop, self._direction, self.window.count)
        if key == self._plan_key:
            return
        self._plan_key = key
        self.plan = plan_demand(
            self.layout,
            offset,
            self.window.count,
            perf.prefetch_rows_above,
            perf.prefetch_rows_below,
            BACKGROUND_ROWS,
            self._direction,
        )
        # the plan's entries, in their order, as runs of consecutive cards: read a page slice at a
        # time rather than card by card (this runs on every row a fast scroll crosses)
        plan = self.plan
        below, above = plan.preload
        runs = (
            (plan.visible, False, Priority.VISIBLE),
            (below, False, Priority.PRELOAD),
            (above, True, Priority.PRELOAD),
            (plan.background, self._direction < 0, Priority.BACKGROUND),
        )
        # title strips are made in the plan's order too, ahead of need (see _upload_titles)
        todo: list[int] = []
        for run, backwards, _ in runs:
            todo.extend(reversed(run) if backwards else run)
        self._title_todo = todo
        if self.posters is None:
            return
        width, height = self.poster_size
        wanted: list[PosterRequest] = []
        seen: set[str] = set()
        slots = self.poster_slots
        for run, backwards, priority in runs:
            cards = self.window.slice(run.start, run.stop)
            for card in reversed(cards) if backwards else cards:
                if card is None:
                    continue
                image_id = poster_key(card)
                if image_id.startswith(PLACEHOLDER) or image_id in seen:
                    continue
                seen.add(image_id)
                if slots is not None and image_id in slots:
                    slots.lookup(image_id)  # on the GPU already: keep it warm
                    continue
                wanted.append(
                    PosterRequest(image_id, width, still_height(card, width, height), priority)
                )
        self.posters.set_demand(wanted)
        # decoded posters no longer wanted are dropped before they cost an upload
        for image_id in list(self._pending.ready):
            if image_id not in seen:
                del self._pending.ready[image_id]

    def _upload(self, visible: range, cards: list[Card | None]) -> None:
        renderer, slots, tslots = self.renderer, self.poster_slots, self.title_slots
        assert renderer is not None and slots is not None and tslots is not None
        budget = self.budget
        box_s = budget.box_s
        started = budget.clock()
        self._upload_titles(visible, max(0.0, box_s * TITLE_SHARE))
        self._upload_placeholders(cards)
        box_s -= budget.clock() - started
        pinned = {poster_key(c) for c in cards if c is not None}
        stills = {
            c.still_image_id: c
            for c in cards
            if c is not None and c.poster_image_id is None and c.still_image_id
        }
        if self.posters is not None:
            for ready in self.posters.take_ready(self.budget.max_per_frame * 2):
                self._pending.ready[ready.image_id] = ready
            order = sorted(
                self._pending.ready.values(), key=lambda r: 0 if r.image_id in pinned else 1
            )

            def upload_poster(ready: ReadyPoster) -> None:
                del self._pending.ready[ready.image_id]
                got = slots.allocate(ready.image_id, pinned)
                if got is None:
                    return
                slot, evicted = got
                if evicted is not None:
                    self.motion.forget_poster(evicted)
                card = stills.get(ready.image_id)
                rgba = (
                    self._still_card(card, ready.rgba)
                    if card is not None
                    else _fit(ready.rgba, renderer.poster_grid)
                )
                renderer.upload_poster(slot, rgba)
                renderer.flush()  # the copy into the texture is part of what the budget measures
                self.motion.poster_arrived(ready.image_id)

            if order:
                self.stats.uploads += budget.run(order, upload_poster, box_s=max(0.0, box_s))

    def _still_card(self, card: Card, still: np.ndarray) -> np.ndarray:
        """An episode's poster slot: its placeholder (series and numbers in type) with the 16:9
        still across the middle, whole: a landscape card inside the grid's portrait frame,
        never a still cropped into a poster."""
        grid = self.renderer.poster_grid if self.renderer is not None else None
        assert grid is not None
        make = getattr(self.titles, "placeholder", None)
        out = (
            np.ascontiguousarray(
                make(
                    card.label,
                    card.year,
                    card.placeholder_color,
                    grid.slot_w,
                    grid.slot_h,
                    card.series_title or card.title,
                )
            )
            if make is not None
            else np.zeros((grid.slot_h, grid.slot_w, 4), np.uint8)
        )
        out[..., 3] = 255
        h = min(grid.slot_h, round(grid.slot_w * 9 / 16))
        band = _fit(still, SlotGrid(grid.slot_w, h, grid.slot_w, h))
        top = (grid.slot_h - h) // 2
        out[top : top + h] = band
        return out

    def _upload_placeholders(self, cards: list[Card | None]) -> None:
        """The typographic placeholder (``ui.placeholder``) of each visible card without a poster,
        rendered once into a poster slot under the item's own key and kept there like a poster,
        so the grid, the carousels, search and details show the same card for it. A few a
        frame: the cards still waiting show their colour meanwhile."""
        make = getattr(self.titles, "placeholder", None)
        renderer, slots = self.renderer, self.poster_slots
        self._placeholders_left = False
        if make is None or renderer is None or slots is None:
            return
        keys = {poster_key(c) for c in cards if c is not None}
        grid, made = renderer.poster_grid, 0
        for card in cards:
            if card is None:
                continue
            key = poster_key(card)
            if not key.startswith(PLACEHOLDER) or key in slots:
                continue
            got = slots.allocate(key, keys)
            if got is None:
                return
            slot, evicted = got
            if evicted is not None:
                self.motion.forget_poster(evicted)
            renderer.upload_poster(
                slot,
                make(
                    card.label,
                    card.year,
                    card.placeholder_color,
                    grid.slot_w,
                    grid.slot_h,
                    card.series_title or card.title,
                ),
            )
            made += 1
            if made >= max(2, self.budget.max_per_frame):
                self._placeholders_left = True  # the rest in the next frames
                return

    def _upload_titles(self, visible: range, box_s: float) -> None:
        """Title strips for the demand plan in its order (visible rows, then the rows the scroll
        is heading into), a few a frame within their share of the time box. A strip that is not
        there yet draws as the placeholder bar, so a row that scrolls in never waits for text:
        with the prefetch rows made ahead it rarely needs to."""
        renderer, tslots = self.renderer, self.title_slots
        assert renderer is not None and tslots is not None
        todo = [i for i in self._title_todo if i not in tslots]
        self._title_todo = todo
        if not todo:
            return
        grid, window, rasterize = renderer.title_grid, self.window, self.titles.title
        done = 0

        def upload_title(index: int) -> None:
            nonlocal done
            done += 1
            card = window.get(index)
            if card is None:
                return
            got = tslots.allocate(index, visible)  # strips on screen are never taken
            if got is None:
                return
            # not flushed one by one like posters: a strip's copy is a few kB, the rasterising
            # is the cost, and it is measured here
            renderer.upload_title(
                got[0] + 1, rasterize(card.label, card.year, grid.slot_w, grid.slot_h)
            )

        self.stats.title_uploads += self.title_budget.run(todo, upload_title, box_s=box_s)
        del todo[:done]

    def _watch(self, card: Card) -> WatchInfo:
        info = (self.watch(card) if self.watch is not None else None) or WatchInfo()
        override = self.watched_overrides.get(str(card.id))
        if override is not None:
            info = WatchInfo(override, 0.0 if override else info.progress)
        return info

    def _instances(self, visible: range, offset: float, cards: list[Card | None]) -> Instances:
        """Instance rows for the visible cards: posters first, then titles. The per-card Python
        is a few dict look-ups; positions, atlas coordinates and fades are numpy over the row."""
        lay, dpr, motion = self.layout, self.dpr, self.motion
        slots, tslots, renderer = self.poster_slots, self.title_slots, self.renderer
        assert slots is not None and tslots is not None and renderer is not None
        n = len(visible)
        inst = Instances.empty(2 * n)
        cols = lay.columns
        idx = np.arange(visible.start, visible.stop)
        xs = lay.left + (idx % cols) * lay.cell_w
        ys = lay.padding + (idx // cols) * lay.row_h - offset
        title_gap = 6.0
        inst.rect[:n, 0] = inst.rect[n:, 0] = xs * dpr
        inst.rect[:n, 1] = ys * dpr
        inst.rect[n:, 1] = (ys + lay.poster_h + title_gap) * dpr
        inst.rect[:, 2] = lay.poster_w * dpr
        inst.rect[:n, 3] = lay.poster_h * dpr
        inst.rect[n:, 3] = (lay.title_h - title_gap) * dpr
        inst.state[:, 0] = 1.0
        inst.extra[n:, 0] = 1.0
        inst.extra[:n, 1] = -1.0
        inst.extra[:n, 2] = SHADOW_REST
        inst.extra[:n, 3] = 1.0

        # one pass of plain Python over the cards collecting lists, then one numpy assignment per
        # column (element-wise numpy writes cost more than the look-ups themselves)
        slot_get, fade_get, colours = slots.mapping().get, motion.fades.get, self._colours
        no_colour = (0.0, 0.0, 0.0)
        rgb: list[tuple[float, float, float]] = []
        poster_slots: list[int] = []
        arrived: list[float] = []
        for card in cards:
            slot = None
            if card is not None:
                colour = colours.get(card.placeholder_color)
                if colour is None:
                    colour = colours[card.placeholder_color] = parse_colour(card.placeholder_color)
                rgb.append(colour)
                image_id = poster_key(card)
                slot = slot_get(image_id)
            else:
                rgb.append(no_colour)
            if slot is None:
                poster_slots.append(-1)
                arrived.append(-np.inf)
            else:
                poster_slots.append(slot)
                arrived.append(fade_get(image_id, -np.inf))
        if n:
            inst.color[:n, :3] = rgb
        slot_ids = np.array(poster_slots, np.int64)
        arrivals = np.array(arrived)
        title_get = tslots.mapping().get
        title_ids = np.array([title_get(i, -1) for i in visible], np.int64)  # -1 + 1: placeholder
        has = slot_ids >= 0
        inst.uv[:n][has] = _uvs(renderer.poster_grid, slot_ids[has])
        inst.color[:n, 3] = np.where(has, np.clip((motion.now - arrivals) / POSTER_FADE_S, 0, 1), 0)
        inst.uv[n:] = _uvs(renderer.title_grid, title_ids + 1)
        self.stats.title_placeholders = int(np.count_nonzero(title_ids < 0))
        inst.extra[n:, 3] = 1.0

        lifted: list[int] = []
        for index in set(motion.focus) | set(motion.flips):
            if index not in visible:
                continue
            row = index - visible.start
            scale = motion.scale_of(index)
            flip = motion.flip_of(index)
            if flip is not None:
                scale *= flip.lift
                inst.state[row, 1] = flip.angle
                inst.extra[row, 1] = self.menu_choice if self.flipped == index else -1.0
                inst.extra[n + row, 3] = 0.0  # the turning card covers its title: hide it
            inst.state[row, 0] = scale
            if scale > 1.0001 or flip is not None:
                inst.extra[row, 2] = SHADOW_FOCUS
                lifted.append(row)
        if self.watch is not None or self.watched_overrides:
            for row, card in enumerate(cards):
                if card is None:
                    continue
                info = self._watch(card)
                inst.state[row, 2] = 1.0 if info.watched else 0.0
                inst.state[row, 3] = info.progress if not info.watched else 0.0
        if lifted:
            # lifted cards go last among the posters so they are drawn over their neighbours
            keep = np.ones(2 * n, bool)
            keep[lifted] = False
            order = np.arange(2 * n)
            perm = np.concatenate([order[:n][keep[:n]], np.array(lifted), order[n:]])
            inst = Instances(
                inst.rect[perm], inst.uv[perm], inst.color[perm], inst.state[perm], inst.extra[perm]
            )
        self.stats.instances = 2 * n
        return inst

    @property
    def animating(self) -> bool:
        """True while the view needs another frame: motion, or work the frames do a little
        of at a time (decoded posters to upload, title strips, placeholders). The widget asks
        for the next frame while this holds, then goes idle (no frames, no CPU). Title strips
        and placeholders were missing here: a fast scroll's strips stayed placeholder bars
        until the next input once the motion had settled."""
        return (
            self.motion.active
            or bool(self._pending.ready)
            or bool(self._title_todo)
            or self._placeholders_left
        )


PLACEHOLDER = "placeholder:"


def poster_key(card: Card) -> str:
    """What fills a card's poster slot: its poster, else an episode's still (composed into a
    landscape card, see ``GridView._still_card``), else its placeholder (keyed by item)."""
    return card.poster_image_id or card.still_image_id or f"{PLACEHOLDER}{card.id}"


def still_height(card: Card, width: int, height: int) -> int:
    """The height to decode a card's image at: a poster fills the slot, a still keeps 16:9."""
    if card.poster_image_id is None and card.still_image_id:
        return min(height, round(width * 9 / 16))
    return height


def _uvs(grid: SlotGrid, slots: np.ndarray) -> np.ndarray:
    """Atlas rectangles of many slots at once (same as ``SlotGrid.uv``, vectorised)."""
    x = (slots % grid.columns) * grid.slot_w
    y = (slots // grid.columns) * grid.slot_h
    out = np.empty((len(slots), 4), np.float32)
    out[:, 0] = (x + 0.5) / grid.texture_w
    out[:, 1] = (y + 0.5) / grid.texture_h
    out[:, 2] = (x + grid.slot_w - 0.5) / grid.texture_w
    out[:, 3] = (y + grid.slot_h - 0.5) / grid.texture_h
    return out


def _fit(rgba: np.ndarray, grid: SlotGrid) -> np.ndarray:
    """The poster at exactly the slot's size (the service decodes to the requested size; this only
    guards against a server that returned another aspect ratio)."""
    h, w = rgba.shape[:2]
    if (w, h) == (grid.slot_w, grid.slot_h):
        return np.ascontiguousarray(rgba)
    ys = np.minimum((np.arange(grid.slot_h) * h / grid.slot_h).astype(np.intp), h - 1)
    xs = np.minimum((np.arange(grid.slot_w) * w / grid.slot_w).astype(np.intp), w - 1)
    return np.ascontiguousarray(rgba[ys][:, xs])
