"""The poster flip: rise → emerge → flip → spring settle → menu visible (the seed's constants).

The flip is a spring-damper on the rotation angle about the card's vertical axis. It runs in fixed
1 ms sub-steps (semi-implicit Euler) so the curve does not depend on the display's frame rate; the
angular velocity is clamped to ``MAX_ANGULAR_VELOCITY`` after every sub-step. Near the target the
remaining error is pulled in exponentially at ``SNAP_STRENGTH`` per second and finally set to the
target exactly, so a flipped card ends at exactly π (an un-flip at exactly 0), never 3.14159 ± ε.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

SPRING_K = 80.0
DAMPING_FLIP = 20.0
DAMPING_SETTLE = 6.0
SNAP_STRENGTH = 30.0
MAX_ANGULAR_VELOCITY = math.pi * 10.0

RISE_S = 0.08  # the card lifts off the grid (scale, shadow) before it turns
EMERGE_S = 0.08  # it comes forward (further scale) so the turn does not clip its neighbours
RISE_SCALE = 1.06
EMERGE_SCALE = 1.12
# The flip hands over to the softer settle once within this angle of the target: the last few
# degrees overshoot a little, which reads as the card "landing".
SETTLE_ENTRY_RAD = 0.35
# Inside this window and below SNAP_SPEED the snap takes over; below DONE_RAD it is exact.
SNAP_WINDOW_RAD = 0.03
SNAP_SPEED = 0.6
DONE_RAD = 1e-4
STEP_S = 0.001


class FlipPhase(Enum):
    REST = "rest"
    RISE = "rise"
    EMERGE = "emerge"
    FLIP = "flip"
    SETTLE = "settle"
    MENU = "menu"  # finished: the back face (actions) is shown, or the front again after un-flip


@dataclass(frozen=True)
class FlipState:
    phase: FlipPhase = FlipPhase.REST
    angle: float = 0.0  # radians; π shows the back face
    velocity: float = 0.0  # rad/s
    target: float = math.pi
    phase_time: float = 0.0  # seconds spent in the current phase
    carry: float = 0.0  # time not yet integrated (less than one sub-step)

    @property
    def done(self) -> bool:
        return self.phase in (FlipPhase.REST, FlipPhase.MENU)

    @property
    def showing_back(self) -> bool:
        return math.cos(self.angle) < 0.0

    @property
    def lift(self) -> float:
        """Scale of the card while it is off the grid (1.0 at rest)."""
        if self.phase is FlipPhase.REST:
            return 1.0
        if self.phase is FlipPhase.RISE:
            return 1.0 + (RISE_SCALE - 1.0) * _ease_out(self.phase_time / RISE_S)
        if self.phase is FlipPhase.EMERGE:
            return RISE_SCALE + (EMERGE_SCALE - RISE_SCALE) * _ease_out(self.phase_time / EMERGE_S)
        if self.phase is FlipPhase.MENU and self.target == 0.0:
            return 1.0
        return EMERGE_SCALE


def _ease_out(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return 1.0 - (1.0 - x) ** 3


def start_flip(state: FlipState, to_back: bool = True) -> FlipState:
    """Begin turning to the back (``to_back``) or to the front again, from wherever it is now."""
    target = math.pi if to_back else 0.0
    if state.phase is FlipPhase.REST or (state.done and state.target != target):
        # the rise and emerge only play when the card starts flat on the grid
        first = FlipPhase.RISE if to_back else FlipPhase.FLIP
        return replace(state, phase=first, target=target, phase_time=0.0, carry=0.0)
    return replace(state, phase=FlipPhase.FLIP, target=target, phase_time=0.0)


def step_flip(state: FlipState, dt: float) -> FlipState:
    """Advance by ``dt`` seconds (any value ≥ 0; large ones are integrated in sub-steps)."""
    if dt < 0:
        raise ValueError(f"dt must be >= 0, got {dt}")
    phase, angle, vel, t = state.phase, state.angle, state.velocity, state.phase_time
    budget = state.carry + dt
    while budget >= STEP_S and phase not in (FlipPhase.REST, FlipPhase.MENU):
        budget -= STEP_S
        t += STEP_S
        if phase is FlipPhase.RISE:
            if t >= RISE_S:
                phase, t = FlipPhase.EMERGE, 0.0
            continue
        if phase is FlipPhase.EMERGE:
            if t >= EMERGE_S:
                phase, t = FlipPhase.FLIP, 0.0
            continue
        error = state.target - angle
        if phase is FlipPhase.FLIP and abs(error) < SETTLE_ENTRY_RAD:
            phase, t = FlipPhase.SETTLE, 0.0
        if phase is FlipPhase.SETTLE and abs(error) < SNAP_WINDOW_RAD and abs(vel) < SNAP_SPEED:
            # snap: the remainder decays exponentially, then lands exactly
            angle += error * (1.0 - math.exp(-SNAP_STRENGTH * STEP_S))
            vel = 0.0
            if abs(state.target - angle) < DONE_RAD:
                angle, phase, t = state.target, FlipPhase.MENU, 0.0
            continue
        damping = DAMPING_FLIP if phase is FlipPhase.FLIP else DAMPING_SETTLE
        accel = SPRING_K * error - damping * vel
        vel += accel * STEP_S
        vel = max(-MAX_ANGULAR_VELOCITY, min(MAX_ANGULAR_VELOCITY, vel))
        angle += vel * STEP_S
    if phase in (FlipPhase.REST, FlipPhase.MENU):
        budget = 0.0
    return FlipState(phase, angle, vel, state.target, t, budget)
