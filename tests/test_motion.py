"""Motion is pure functions of time and state: checked here without Qt or GL."""

from __future__ import annotations

import math

import pytest

from ui.motion.controller import MotionController
from ui.motion.flip import (
    MAX_ANGULAR_VELOCITY,
    FlipPhase,
    FlipState,
    start_flip,
    step_flip,
)
from ui.motion.scroll import Carousel, Kinetic, KineticKnobs, Spring
from ui.motion.tween import FOCUS_S, FOCUS_SCALE


def run_flip(
    hz: float, until: float = 3.0, state: FlipState | None = None, to_back: bool = True
) -> tuple[FlipState, list[tuple[float, FlipState]]]:
    state = start_flip(state or FlipState(), to_back)
    t, trace = 0.0, []
    while t < until:
        state = step_flip(state, 1.0 / hz)
        t += 1.0 / hz
        trace.append((t, state))
    return state, trace


def test_flip_goes_through_the_phases_and_ends_at_exactly_pi() -> None:
    final, trace = run_flip(120)
    phases = []
    for _, s in trace:
        if not phases or phases[-1] is not s.phase:
            phases.append(s.phase)
    assert phases == [
        FlipPhase.RISE,
        FlipPhase.EMERGE,
        FlipPhase.FLIP,
        FlipPhase.SETTLE,
        FlipPhase.MENU,
    ]
    assert final.angle == math.pi  # exactly, not approximately
    assert final.velocity == 0.0 and final.done and final.showing_back
    settled_at = next(t for t, s in trace if s.phase is FlipPhase.MENU)
    assert settled_at < 2.0  # the menu is visible within two seconds of the right-click


def test_flip_never_exceeds_the_maximum_angular_velocity() -> None:
    for hz in (30, 60, 144, 1000):
        _, trace = run_flip(hz)
        assert max(abs(s.velocity) for _, s in trace) <= MAX_ANGULAR_VELOCITY
    # a flip started with a wild velocity (e.g. reversed mid-spin) is clamped too
    wild = FlipState(FlipPhase.FLIP, angle=0.0, velocity=500.0)
    assert abs(step_flip(wild, 0.001).velocity) <= MAX_ANGULAR_VELOCITY


def test_flip_settles_within_tolerance_and_overshoots_only_slightly() -> None:
    _, trace = run_flip(240)
    overshoot = max(s.angle for _, s in trace) - math.pi
    assert 0.0 < overshoot < 0.15  # the settle spring (B 6) lands with a small, visible bounce
    late = [s.angle for t, s in trace if t > 1.9]
    assert all(abs(a - math.pi) < 1e-3 for a in late)


@pytest.mark.parametrize("hz", [60, 120, 144])
def test_flip_curve_is_the_same_at_any_frame_rate(hz: int) -> None:
    _, reference = run_flip(1000, until=1.5)
    ref = {round(t, 3): s.angle for t, s in reference}
    _, trace = run_flip(hz, until=1.5)
    for t, s in trace:
        nearest = min(ref, key=lambda r: abs(r - t))
        # sub-step integration: the only difference is the < 1 ms remainder not yet integrated
        assert abs(s.angle - ref[nearest]) < 0.03, (hz, t)


def test_unflip_from_the_back_ends_at_exactly_zero_and_reversal_is_continuous() -> None:
    back, _ = run_flip(120)
    front, _ = run_flip(120, state=back, to_back=False)
    assert front.angle == 0.0 and front.done and not front.showing_back
    # reversing halfway starts from the current angle (no jump)
    _, trace = run_flip(120, until=0.35)
    mid = trace[-1][1]
    reversed_ = step_flip(start_flip(mid, to_back=False), 1 / 120)
    assert abs(reversed_.angle - mid.angle) < 0.2


def test_step_refuses_negative_time() -> None:
    with pytest.raises(ValueError):
        step_flip(FlipState(), -0.01)


def kinetic_run(hz: float, held_s: float, total_s: float, shift: bool = False) -> Kinetic:
    knobs = KineticKnobs(decay_tau_s=0.325, velocity_ramp=1.5, boost_multiplier=4.0)
    k = Kinetic().hold(1, 600.0, shift)
    t, dt = 0.0, 1.0 / hz
    while t < total_s - 1e-9:
        if k.held and t >= held_s - 1e-9:
            k = k.release()
        k = k.step(dt, knobs)
        t += dt
    return k


def test_held_key_velocity_ramps_then_caps_at_the_boost() -> None:
    knobs = KineticKnobs(0.325, 1.5, 4.0)
    k = Kinetic().hold(1, 600.0, False).step(1.0, knobs)
    assert k.velocity == pytest.approx(600 * 1.5)
    k = k.step(9.0, knobs)  # 1.5^10 > 4: capped
    assert k.velocity == pytest.approx(600 * 4.0)
    shifted = Kinetic().hold(1, 600.0, True).step(1.0, knobs)
    assert shifted.velocity == pytest.approx(600 * 1.5 * 4.0)


def test_release_decays_exponentially_with_tau() -> None:
    knobs = KineticKnobs(0.325, 1.5, 4.0)
    k = Kinetic(offset=0.0, velocity=1000.0)
    after = k.step(0.325, knobs)
    assert after.velocity == pytest.approx(1000 / math.e)
    # the whole glide covers v0 * tau
    assert k.step(10.0, knobs).offset == pytest.approx(1000 * 0.325, rel=1e-6)


@pytest.mark.parametrize("hz", [60, 120, 144])
def test_kinetic_scroll_is_frame_rate_independent(hz: int) -> None:
    reference = kinetic_run(1000, held_s=0.5, total_s=1.5)
    other = kinetic_run(hz, held_s=0.5, total_s=1.5)
    # hold and release land on different frames at different rates: within one 60 Hz frame of
    # travel at the release speed
    assert other.offset == pytest.approx(reference.offset, abs=600 * 1.5**0.5 / 60)


@pytest.mark.parametrize("hz", [60, 120, 144])
def test_smooth_scroll_spring_is_exact_for_any_step(hz: int) -> None:
    s = Spring(0.0, 0.0, 1000.0)
    steps = round(0.3 * hz)
    one = s.step(steps / hz)
    stepped = s
    for _ in range(steps):
        stepped = stepped.step(1.0 / hz)
    assert stepped.position == pytest.approx(one.position, abs=1e-6)
    assert s.step(2.0).at_rest()


def test_carousel_momentum_snaps_onto_an_item() -> None:
    c = Carousel(item_width=200.0, count=50, visible_items=6).fling(2300.0)
    now, dt = 0.0, 1 / 120
    while c.moving and now < 5:
        now += dt
        c = c.step(now, dt, tau=0.325, snap_s=0.22)
    assert not c.moving
    assert c.offset % 200.0 == pytest.approx(0.0, abs=1e-9)
    assert c.offset > 0


def test_carousel_snap_takes_the_configured_duration_and_pages() -> None:
    c = Carousel(item_width=200.0, count=50, visible_items=6).snap_to_item(
        3, now=0.0, duration=0.22
    )
    mid = c.step(0.11, 0.11, 0.325, 0.22)
    assert 0 < mid.offset < 600 and mid.moving
    end = mid.step(0.22, 0.11, 0.325, 0.22)
    assert end.offset == 600 and not end.moving
    page = end.snap_page(1, now=1.0, duration=0.22)
    assert page.snap is not None and page.snap.end == 600 + 6 * 200
    again = page.snap_page(1, now=1.0, duration=0.22)  # a second PageDown before the first ends
    assert again.snap is not None and again.snap.end == 600 + 12 * 200
    last = again.snap_to_item(1000, now=1.0, duration=0.22)
    assert last.snap is not None and last.snap.end == last.max_offset == 44 * 200


def test_controller_focus_scale_and_dt_from_frame_timestamps() -> None:
    m = MotionController()
    m.tick(10.0)
    m.set_focus(3)
    assert m.scale_of(3) == pytest.approx(1.0)
    m.tick(10.0 + FOCUS_S / 2)
    assert 1.0 < m.scale_of(3) < FOCUS_SCALE
    m.tick(10.0 + FOCUS_S)
    assert m.scale_of(3) == pytest.approx(FOCUS_SCALE)
    m.set_focus(4)
    assert m.tick(99.0) == 0.1  # a stall counts as at most 100 ms
    m.tick(99.1)
    assert m.scale_of(3) == pytest.approx(1.0) and m.scale_of(4) == pytest.approx(FOCUS_SCALE)


def test_controller_panel_slide_crossfade_and_animations_off() -> None:
    m = MotionController()
    m.tick(0.0)
    m.slide_panel(True)
    m.start_crossfade()
    m.tick(0.1)
    assert 0.0 < m.panel_position() < 1.0 and 0.0 < m.crossfade_alpha() < 1.0 and m.active
    m.tick(0.2)
    m.tick(0.3)
    assert m.panel_position() == 1.0 and m.crossfade_alpha() == 1.0
    m.slide_panel(False)
    m.tick(0.4)
    assert 0.0 < m.panel_position() < 1.0
    off = MotionController(animations=False)
    off.tick(0.0)
    off.slide_panel(True)
    off.flip(1)
    off.tick(0.016)
    flip = off.flip_of(1)
    assert off.panel_position() == 1.0 and flip is not None and flip.angle == math.pi
