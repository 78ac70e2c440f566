"""The one episode formatter every view uses (issue 21, item 3)."""

from __future__ import annotations

import pytest

from sync.episode_labels import episode_code, episode_label, item_label


@pytest.mark.parametrize(
    ("season", "episodes", "code"),
    [
        (1, [2], "S01E02"),
        (1, [2, 3], "S01E02-E03"),
        (1, [3, 2, 4], "S01E02-E04"),
        (3, [1, 2, 9], "S03E01E02E09"),
        (0, [3], "SP03"),
        (0, [], "Specials"),
        (2, [], "S02"),
        (None, [5], "E05"),
        (None, None, ""),
        (12, [105], "S12E105"),
    ],
)
def test_episode_code(season: int | None, episodes: list[int] | None, code: str) -> None:
    assert episode_code(season, episodes) == code


def test_episode_label_says_series_numbers_and_a_real_title_only() -> None:
    assert episode_label("Show", 1, [2], "The Pilot") == "Show · S01E02 · The Pilot"
    # the scanner's stand-in title says nothing the numbers do not
    assert episode_label("Show", 1, [2], "Episode 2") == "Show · S01E02"
    assert episode_label("Show", 1, [2, 3], "") == "Show · S01E02-E03"
    assert episode_label("Show", 0, [1], "Behind the Scenes") == "Show · SP01 · Behind the Scenes"
    # a daily show known by its air date only
    assert episode_label("News", None, None, "2024-03-01") == "News · 2024-03-01"
    assert episode_label(None, 1, [2], "Title") == "S01E02 · Title"
    assert episode_label(None, None, None, None) == "Episode"


def test_item_label_by_kind() -> None:
    assert item_label("movie", "Alien") == "Alien"
    assert item_label("series", "Show") == "Show"
    assert item_label("season", "Season 2", "Show", 2) == "Show · Season 2"
    assert item_label("episode", "Episode 4", "Show", 2, [4]) == "Show · S02E04"
