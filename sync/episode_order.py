"""The next-episode rule, once: what plays after an episode, and what "Next Up" offers.

The server answers it in SQL (``store/media_home.py``: ``NEXT_EPISODE`` and ``NEXT_UP`` build
their ordering and "follows" tests from the description below), the player's replica in Python
(``sync/replica_read.py`` calls :func:`next_after` and :func:`last_completed`), and the player's
"play next" asks the server's ``GET /api/v1/media/items/{id}/next`` (one request) or the replica.
``tests/test_query_engines.py`` runs both engines on one generated library and compares.

**Running order** of a series' episodes (the episodes below its seasons), ascending by
:func:`order_key`:

1. season number (the episode's own; none sorts first, as -1);
2. first episode number, then last (a multi-episode file ``S01E01-E02`` is 1, 2); an episode
   without numbers (a date-based show: the season is the year) sorts after the numbered ones;
3. air date (none first), then sort title (by code point, as Postgres' "C" collation), then id
   (by bytes, as Postgres orders uuid), so the order is total.

**Follows**: ``b`` follows ``a`` when ``order_key(b) > order_key(a)`` and

* both are specials (season 0) or neither is: specials have their own order and are never
  offered after a regular episode, nor a regular one after a special;
* ``b`` does not repeat numbers ``a`` covered: in the same season, with both numbered, ``b``'s
  first number is above ``a``'s last (after ``E01-E02``, a separate ``E02`` is skipped).

**Next episode** of ``a`` (autoplay): the first present episode of the same series, in running
order, that follows ``a``, watched or not. None for anything but an episode.

**Next Up** (home row), per series: the *last completed* episode is the completed one played
most recently (ties: the later in running order); its next up is the first present episode that
follows it and is not completed. Series are listed by that last play, most recent first (ties:
series id by bytes). Never-played or undated plays count as the oldest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol, TypeVar

SPECIALS = 0
NO_NUMBER = 2**31 - 1
"""Stands for "no episode number" in the order key (Postgres: the largest int4)."""
NO_SEASON = -1
NO_DATE = date(1, 1, 1)

OrderKey = tuple[int, int, int, date, str, bytes]


class EpisodeLike(Protocol):
    """What the rule reads of an episode (``MediaItemOut`` and ``ItemRecord`` both fit)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def season_number(self) -> int | None: ...
    @property
    def episode_numbers(self) -> list[int] | None: ...
    @property
    def air_date(self) -> date | None: ...
    @property
    def sort_title(self) -> str: ...


E = TypeVar("E", bound=EpisodeLike)


def order_key(e: EpisodeLike) -> OrderKey:
    numbers = e.episode_numbers or []
    return (
        NO_SEASON if e.season_number is None else e.season_number,
        numbers[0] if numbers else NO_NUMBER,
        numbers[-1] if numbers else NO_NUMBER,
        e.air_date or NO_DATE,
        e.sort_title,
        e.id.bytes,
    )


def _is_special(e: EpisodeLike) -> bool:
    return e.season_number == SPECIALS


def follows(b: EpisodeLike, a: EpisodeLike) -> bool:
    """Whether ``b`` may come after ``a`` (see the module doc)."""
    if order_key(b) <= order_key(a) or _is_special(b) != _is_special(a):
        return False
    same_season = (b.season_number if b.season_number is not None else NO_SEASON) == (
        a.season_number if a.season_number is not None else NO_SEASON
    )
    if same_season and b.episode_numbers and a.episode_numbers:
        return b.episode_numbers[0] > a.episode_numbers[-1]
    return True


def next_after(current: EpisodeLike, episodes: Iterable[E]) -> E | None:
    """The first of ``episodes`` (the present episodes of ``current``'s series, any order, the
    caller's filter applied) that follows ``current`` in running order (as :func:`follows`,
    with ``current``'s key computed once)."""
    here = order_key(current)
    special = _is_special(current)
    numbers = current.episode_numbers or []
    best: E | None = None
    best_key: OrderKey | None = None
    for e in episodes:
        key = order_key(e)
        if key <= here or _is_special(e) != special:
            continue
        if key[0] == here[0] and numbers and e.episode_numbers and key[1] <= numbers[-1]:
            continue  # repeats a number ``current`` covered
        if best_key is None or key < best_key:
            best, best_key = e, key
    return best


def last_completed(played: Sequence[tuple[E, int]]) -> E | None:
    """Among (completed episode, last played as a sortable number, 0 when never) of one
    series: the one Next Up continues from."""
    if not played:
        return None
    return max(played, key=lambda pair: (pair[1], order_key(pair[0])))[0]
