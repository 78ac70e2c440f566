"""MotionController: every running animation of a screen, stepped once per displayed frame.

The widget calls :meth:`MotionController.tick` with the frame's timestamp (from the display's frame
clock, not a timer), so ``dt`` is the real time between two frames; a stall longer than
``MAX_DT`` is treated as ``MAX_DT`` so a hiccup never makes the view jump across the library.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ui.motion.flip import FlipPhase, FlipState, start_flip, step_flip
from ui.motion.scroll import Kinetic, KineticKnobs, Spring
from ui.motion.tween import (
    CROSSFADE_S,
    FOCUS_S,
    FOCUS_SCALE,
    PANEL_SLIDE_S,
    POSTER_FADE_S,
    Tween,
    retarget,
)

MAX_DT = 0.1


@dataclass
class GridScroll:
    """Vertical offset of a grid: the spring that centres the selection, or held-key momentum.

    While a key is held the kinetic state drives the offset and the selection follows the row at
    the centre; once released and slowed, it waits ``anchor_settle_s`` and the spring takes over,
    settling on the row the selection is on.
    """

    spring: Spring = field(default_factory=Spring)
    kinetic: Kinetic | None = None
    max_offset: float = 0.0
    anchor_settle_s: float = 0.12
    settle_wait: float = 0.0

    @property
    def offset(self) -> float:
        return self.spring.position if self.kinetic is None else self.kinetic.offset

    def clamp(self, value: float) -> float:
        return min(max(value, 0.0), self.max_offset)

    def scroll_to(self, target: float, animate: bool = True) -> None:
        target = self.clamp(target)
        if self.kinetic is not None and self.kinetic.held:
            return  # the held key owns the offset until released
        if self.kinetic is not None:
            self.spring = Spring(self.kinetic.offset, self.kinetic.velocity, target)
            self.kinetic = None
        if animate:
            self.spring = replace(self.spring, target=target)
        else:
            self.spring = Spring(target, 0.0, target)

    def hold(self, direction: int, base_speed: float, shift: bool) -> None:
        kinetic = self.kinetic or Kinetic(
            offset=self.spring.position, velocity=self.spring.velocity
        )
        self.kinetic = kinetic.hold(direction, base_speed, shift)

    def release(self) -> None:
        if self.kinetic is not None:
            self.kinetic = self.kinetic.release()
            self.settle_wait = 0.0

    def step(self, dt: float, knobs: KineticKnobs) -> None:
        if self.kinetic is not None:
            k = self.kinetic.step(dt, knobs)
            clamped = self.clamp(k.offset)
            if clamped != k.offset:  # hit the top or the end: momentum stops there
                k = replace(k, offset=clamped, velocity=0.0)
            self.kinetic = k
            if not k.moving:
                self.settle_wait += dt
            if not k.held and not k.moving and self.settle_wait >= self.anchor_settle_s:
                self.spring = Spring(k.offset, 0.0, k.offset)
                self.kinetic = None
            return
        self.spring = self.spring.step(dt)

    @property
    def moving(self) -> bool:
        if self.kinetic is not None:
            return True
        return not self.spring.at_rest()

    @property
    def holding(self) -> bool:
        return self.kinetic is not None and self.kinetic.held != 0


@dataclass
class MotionController:
    knobs: KineticKnobs = field(default_factory=KineticKnobs)
    animations: bool = True  # Display → animations off: everything jumps to its end state
    now: float = 0.0
    last_frame: float | None = None
    scroll: GridScroll = field(default_factory=GridScroll)
    focus: dict[int, Tween] = field(default_factory=dict)
    focused: int | None = None
    flips: dict[int, FlipState] = field(default_factory=dict)
    fades: dict[str, float] = field(default_factory=dict)  # image key → time it arrived
    last_arrival: float = -1.0
    panel: Tween | None = None
    crossfade: Tween | None = None

    def tick(self, timestamp: float) -> float:
        """Advance everything to the frame at ``timestamp`` (seconds); returns the dt used."""
        dt = 0.0 if self.last_frame is None else min(max(timestamp - self.last_frame, 0.0), MAX_DT)
        self.last_frame = timestamp
        self.now += dt
        self.scroll.step(dt, self.knobs)
        for key, state in list(self.flips.items()):
            state = step_flip(state, dt) if self.animations else _finish_flip(state)
            if state.done and state.target == 0.0:
                del self.flips[key]
            else:
                self.flips[key] = state
        for key, tween in list(self.focus.items()):
            if tween.done(self.now) and tween.end == 1.0:
                del self.focus[key]
        return dt

    # focus scale --------------------------------------------------------------------------------
    def set_focus(self, index: int | None) -> None:
        if index == self.focused:
            return
        duration = FOCUS_S if self.animations else 0.0
        if self.focused is not None:
            old = self.focus.get(self.focused)
            self.focus[self.focused] = retarget(old, 1.0, self.now, duration, rest=FOCUS_SCALE)
        if index is not None:
            self.focus[index] = retarget(
                self.focus.get(index), FOCUS_SCALE, self.now, duration, rest=1.0
            )
        self.focused = index

    def scale_of(self, index: int) -> float:
        tween = self.focus.get(index)
        return 1.0 if tween is None else tween.value(self.now)

    # poster flip --------------------------------------------------------------------------------
    def flip(self, index: int, to_back: bool = True) -> None:
        self.flips[index] = start_flip(self.flips.get(index, FlipState()), to_back)

    def flip_of(self, index: int) -> FlipState | None:
        return self.flips.get(index)

    # poster fade-in -----------------------------------------------------------------------------
    def poster_arrived(self, key: str) -> None:
        if key not in self.fades:
            self.fades[key] = self.now if self.animations else -POSTER_FADE_S
            self.last_arrival = self.fades[key]

    def poster_alpha(self, key: str) -> float:
        arrived = self.fades.get(key)
        if arrived is None:
            return 0.0
        return min(1.0, (self.now - arrived) / POSTER_FADE_S)

    def forget_poster(self, key: str) -> None:
        self.fades.pop(key, None)

    # detail panel and view crossfade ------------------------------------------------------------
    def slide_panel(self, show: bool) -> None:
        duration = PANEL_SLIDE_S if self.animations else 0.0
        self.panel = retarget(self.panel, 1.0 if show else 0.0, self.now, duration, in_out=True)

    def panel_position(self) -> float:
        """0 hidden … 1 fully in."""
        return 0.0 if self.panel is None else self.panel.value(self.now)

    def start_crossfade(self) -> None:
        duration = CROSSFADE_S if self.animations else 0.0
        self.crossfade = Tween(0.0, 1.0, self.now, duration, in_out=True)

    def crossfade_alpha(self) -> float:
        """Opacity of the incoming view (1 when no crossfade runs)."""
        return 1.0 if self.crossfade is None else self.crossfade.value(self.now)

    @property
    def active(self) -> bool:
        """Whether another frame is needed to finish what is running."""
        if self.scroll.moving or any(not f.done for f in self.flips.values()):
            return True
        if any(not t.done(self.now) for t in self.focus.values()):
            return True
        if self.now - self.last_arrival < POSTER_FADE_S:
            return True
        for tween in (self.panel, self.crossfade):
            if tween is not None and not tween.done(self.now):
                return True
        return False


def _finish_flip(state: FlipState) -> FlipState:
    if state.done:
        return state
    return FlipState(FlipPhase.MENU, state.target, 0.0, state.target)
