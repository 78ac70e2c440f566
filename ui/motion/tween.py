"""Time-based transitions with a fixed duration: focus scale, detail panel slide, crossfade.

A tween is a pure function of elapsed time, so its value at time t is the same whatever frames
were drawn on the way there.
"""

from __future__ import annotations

from dataclasses import dataclass


def ease_out_cubic(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return 1.0 - (1.0 - x) ** 3


def ease_in_out_cubic(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return 4 * x * x * x if x < 0.5 else 1.0 - (-2.0 * x + 2.0) ** 3 / 2.0


@dataclass(frozen=True)
class Tween:
    """From ``start`` to ``end`` over ``duration`` seconds, starting at ``t0``."""

    start: float
    end: float
    t0: float
    duration: float
    in_out: bool = False

    def value(self, now: float) -> float:
        if self.duration <= 0:
            return self.end
        x = (now - self.t0) / self.duration
        eased = ease_in_out_cubic(x) if self.in_out else ease_out_cubic(x)
        return self.start + (self.end - self.start) * eased

    def done(self, now: float) -> bool:
        return now - self.t0 >= self.duration


def retarget(
    tween: Tween | None,
    end: float,
    now: float,
    duration: float,
    rest: float = 0.0,
    in_out: bool = False,
) -> Tween:
    """A tween to ``end`` that starts from wherever ``tween`` is now (no jump on a reversal)."""
    start = tween.value(now) if tween is not None else rest
    return Tween(start, end, now, duration, in_out)


FOCUS_SCALE = 1.08
FOCUS_S = 0.15
PANEL_SLIDE_S = 0.26
CROSSFADE_S = 0.2
POSTER_FADE_S = 0.18
