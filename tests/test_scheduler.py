"""Fair scheduling: bands by weight, libraries in turn, caps respected."""

from __future__ import annotations

import uuid
from collections import Counter

from appliance.orchestration.scheduler import SmoothWeightedRoundRobin, WeightedFairScheduler

BIG, SMALL, THIRD = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_smooth_wrr_is_proportional_and_interleaved() -> None:
    rr = SmoothWeightedRoundRobin()
    picks = [rr.pick([("a", 5), ("b", 1), ("c", 1)]) for _ in range(7)]
    assert Counter(picks) == {"a": 5, "b": 1, "c": 1}
    assert picks[0] == "a" and picks[1] != picks[2], "smooth: no long runs of the heavy one"


def test_bands_share_by_weight_8_4_2_1() -> None:
    scheduler = WeightedFairScheduler(per_library_cap=100)
    eligible = {(band, BIG): 1000 for band in range(4)}
    picks = Counter(scheduler.next(eligible, {}) for _ in range(150))
    assert picks == {(0, BIG): 80, (1, BIG): 40, (2, BIG): 20, (3, BIG): 10}


def test_a_huge_library_does_not_starve_a_small_one() -> None:
    scheduler = WeightedFairScheduler(per_library_cap=100)
    eligible = {(1, BIG): 20_000, (1, SMALL): 50}
    first_100 = [scheduler.next(eligible, {}) for _ in range(100)]
    assert Counter(lib for _, lib in first_100 if lib is not None) == {BIG: 50, SMALL: 50}


def test_libraries_at_their_cap_sit_out() -> None:
    scheduler = WeightedFairScheduler(per_library_cap=2)
    eligible = {(1, BIG): 10, (1, SMALL): 10, (2, THIRD): 10}
    picks = {scheduler.next(eligible, {BIG: 2, SMALL: 2}) for _ in range(5)}
    assert picks == {(2, THIRD)}
    assert scheduler.next(eligible, {BIG: 2, SMALL: 2, THIRD: 2}) is None


def test_nothing_eligible() -> None:
    assert WeightedFairScheduler().next({}, {}) is None
    assert WeightedFairScheduler().next({(0, BIG): 0}, {}) is None
