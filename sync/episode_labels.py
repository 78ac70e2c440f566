"""How an episode is named on screen, once for every view: "Show · S01E02 · Title".

Next Up, Continue Watching, search, details, the grid and the offline CLI all show episodes
through :func:`episode_label`, so an episode is never a bare "Episode 2" out of context. The
scanner names an episode it knows nothing about "Episode N" (or its air date); such a title says
nothing the numbers do not, so it is left out rather than shown twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SEPARATOR = " · "
_GENERIC = re.compile(r"(?i)^\s*(episode|ep\.?|e)\s*\d+\s*$")
_AIR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def episode_code(season: int | None, episodes: Sequence[int] | None) -> str:
    """``S01E02``; several episodes in one file ``S01E02-E03`` (a run) or ``S01E02E05`` (not);
    season 0 is the specials: ``SP03``. Without episode numbers: the season alone (``S01``) or
    nothing."""
    numbers = sorted(set(episodes or ()))
    if season is None and not numbers:
        return ""
    if season == 0:
        head = "SP"
        if not numbers:
            return "Specials"
        return head + _numbers(numbers, "SP")
    prefix = f"S{season:02d}" if season is not None else ""
    if not numbers:
        return prefix
    return prefix + "E" + _numbers(numbers, "E")


def _numbers(numbers: list[int], mark: str) -> str:
    first, last = numbers[0], numbers[-1]
    if len(numbers) > 1 and numbers == list(range(first, last + 1)):
        return f"{first:02d}-{mark}{last:02d}"
    return mark.join(f"{n:02d}" for n in numbers)


def is_generic_title(title: str | None, episodes: Sequence[int] | None = None) -> bool:
    """True for the scanner's stand-in titles ("Episode 2", an air date, empty)."""
    if not title or not title.strip():
        return True
    return bool(_GENERIC.match(title) or _AIR_DATE.match(title.strip()))


def episode_label(
    series: str | None, season: int | None, episodes: Sequence[int] | None, title: str | None
) -> str:
    """``Show · S01E02 · Title``, leaving out what is unknown or says nothing: ``Show · S01E02``
    for an untitled episode, ``Show · 2024-03-01`` for one known by its air date only."""
    code = episode_code(season, episodes)
    named = title.strip() if title and not is_generic_title(title, episodes) else ""
    if not code and title and _AIR_DATE.match(title.strip()):
        code = title.strip()  # a daily show: the air date is what tells episodes apart
    parts = [p for p in ((series or "").strip(), code, named) if p]
    if not parts:
        return (title or "").strip() or "Episode"
    return SEPARATOR.join(parts)


def season_label(series: str | None, season: int | None, title: str | None) -> str:
    """``Show · Season 2`` (``Show · Specials``): a season card out of its series' page."""
    name = (title or "").strip() or (
        "Specials" if season == 0 else f"Season {season}" if season is not None else "Season"
    )
    return SEPARATOR.join(p for p in ((series or "").strip(), name) if p)


def item_label(
    kind: str,
    title: str,
    series: str | None = None,
    season: int | None = None,
    episodes: Sequence[int] | None = None,
) -> str:
    """What a card or a heading calls an item of any kind: episodes and seasons with their
    series, films and series by their title."""
    if kind == "episode":
        return episode_label(series, season, episodes, title)
    if kind == "season":
        return season_label(series, season, title)
    return title
