"""Scrolling motion: smooth scroll to a target, kinetic scroll of a held key, carousel snapping.

Units are pixels and seconds. The integrators are exact for any ``dt`` (closed forms of the
critically damped spring, of exponential decay and of the geometric ramp), so the curve does not
depend on the display's frame rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ui.motion.tween import Tween

# Critically damped spring for "keep the selection centred": settles in about 4/omega seconds.
SMOOTH_OMEGA = 18.0
# A held key starts at this many rows a second before ramping.
BASE_ROWS_PER_S = 6.0
# Below this speed (px/s) momentum is over and the view settles onto an item.
REST_SPEED = 20.0


@dataclass(frozen=True)
class Spring:
    """Critically damped spring towards ``target`` (exact solution, any step)."""

    position: float = 0.0
    velocity: float = 0.0
    target: float = 0.0
    omega: float = SMOOTH_OMEGA

    def step(self, dt: float) -> Spring:
        x0 = self.position - self.target
        w = self.omega
        c = self.velocity + w * x0
        decay = math.exp(-w * dt)
        x = (x0 + c * dt) * decay
        v = (self.velocity - w * c * dt) * decay
        return replace(self, position=self.target + x, velocity=v)

    def at_rest(self, tolerance: float = 0.25) -> bool:
        return abs(self.position - self.target) < tolerance and abs(self.velocity) < tolerance * 4


@dataclass(frozen=True)
class KineticKnobs:
    """The Performance section's scroll physics."""

    decay_tau_s: float = 0.325
    velocity_ramp: float = 1.5  # factor per second the held-key speed grows by
    boost_multiplier: float = 4.0  # ceiling of the ramp; also what Shift multiplies by


@dataclass(frozen=True)
class Kinetic:
    """Held-key momentum: speed ramps geometrically while held, decays exponentially once released.

    Held: v(t) = v0 · min(ramp^t, boost) · (boost if Shift else 1), signed by the key's direction.
    Released: v(t) = v_release · exp(-t / tau); the distance covered is integrated exactly.
    """

    offset: float = 0.0
    velocity: float = 0.0
    held: int = 0  # -1 up, +1 down, 0 released
    held_for: float = 0.0
    shift: bool = False
    base_speed: float = 0.0  # px/s at the start of a hold (rows/s times row height)

    def hold(self, direction: int, base_speed: float, shift: bool) -> Kinetic:
        if direction == self.held:
            return replace(self, shift=shift)
        return replace(self, held=direction, held_for=0.0, shift=shift, base_speed=base_speed)

    def release(self) -> Kinetic:
        return replace(self, held=0, held_for=0.0)

    def step(self, dt: float, knobs: KineticKnobs) -> Kinetic:
        if self.held:
            boost = knobs.boost_multiplier
            ramp = knobs.velocity_ramp
            shift = boost if self.shift else 1.0
            t0, t1 = self.held_for, self.held_for + dt
            # distance = ∫ v0·min(ramp^t, boost) dt, split at the time the ramp reaches the ceiling
            t_cap = math.log(boost) / math.log(ramp) if ramp > 1.0 else math.inf
            dist = 0.0
            if t0 < t_cap:
                a, b = t0, min(t1, t_cap)
                lr = math.log(ramp)
                dist += (ramp**b - ramp**a) / lr if ramp > 1.0 else (b - a)
            if t1 > t_cap:
                dist += boost * (t1 - max(t0, t_cap))
            speed = self.base_speed * shift
            velocity = self.held * speed * min(ramp**t1, boost)
            return replace(
                self, offset=self.offset + self.held * speed * dist, velocity=velocity, held_for=t1
            )
        tau = knobs.decay_tau_s
        decay = math.exp(-dt / tau)
        moved = self.velocity * tau * (1.0 - decay)
        return replace(self, offset=self.offset + moved, velocity=self.velocity * decay)

    @property
    def moving(self) -> bool:
        return self.held != 0 or abs(self.velocity) > REST_SPEED


@dataclass(frozen=True)
class Carousel:
    """A horizontal row: momentum from a fling or wheel, then a snap to the nearest item or page.

    ``snap`` is a fixed-duration tween (the Performance section's snap duration); a page snap takes
    ``PAGE_SNAP_FACTOR`` times as long because it travels further.
    """

    offset: float = 0.0
    velocity: float = 0.0
    snap: Tween | None = None
    item_width: float = 1.0
    count: int = 0
    visible_items: int = 1

    @property
    def max_offset(self) -> float:
        return max(0.0, (self.count - self.visible_items) * self.item_width)

    def clamp(self, x: float) -> float:
        return min(max(x, 0.0), self.max_offset)

    def fling(self, velocity: float) -> Carousel:
        return replace(self, velocity=self.velocity + velocity, snap=None)

    def snap_to_item(self, index: int, now: float, duration: float) -> Carousel:
        target = self.clamp(index * self.item_width)
        return replace(self, velocity=0.0, snap=Tween(self.offset, target, now, duration))

    def snap_page(self, direction: int, now: float, duration: float) -> Carousel:
        current = self.snap.end if self.snap is not None else self.offset
        first = round(current / self.item_width) + direction * self.visible_items
        return self.snap_to_item(first, now, duration * PAGE_SNAP_FACTOR)

    def step(self, now: float, dt: float, tau: float, snap_s: float) -> Carousel:
        if self.snap is not None:
            offset = self.snap.value(now)
            return replace(self, offset=offset, snap=None if self.snap.done(now) else self.snap)
        if self.velocity == 0.0:
            return self
        decay = math.exp(-dt / tau)
        offset = self.offset + self.velocity * tau * (1.0 - decay)
        velocity = self.velocity * decay
        if offset <= 0.0 or offset >= self.max_offset or abs(velocity) < REST_SPEED:
            # momentum is spent (or hit an end): settle onto the item it is nearest
            moved = replace(self, offset=self.clamp(offset), velocity=0.0)
            return moved.snap_to_item(round(moved.offset / self.item_width), now, snap_s)
        return replace(self, offset=offset, velocity=velocity)

    @property
    def moving(self) -> bool:
        return self.snap is not None or self.velocity != 0.0


PAGE_SNAP_FACTOR = 1.6
