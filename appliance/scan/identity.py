"""Stable identities for items, so a rescan, a moved file or a returning disk finds the same item
(and its watch state) instead of creating a new one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from appliance.titles import normalise, sort_title

__all__ = ["episode_key", "movie_key", "normalise", "season_key", "series_key", "sort_title"]


def _id_part(ids: Mapping[str, object] | None) -> str | None:
    if ids:
        for provider in ("tmdb", "imdb", "tvdb"):
            if provider in ids:
                return f"{provider}={ids[provider]}"
    return None


def movie_key(title: str, year: int | None, ids: Mapping[str, object] | None = None) -> str:
    by_id = _id_part(ids)
    return f"movie:{by_id}" if by_id else f"movie:{normalise(title)}:{year or ''}"


def series_key(title: str, year: int | None, ids: Mapping[str, object] | None = None) -> str:
    by_id = _id_part(ids)
    return f"series:{by_id}" if by_id else f"series:{normalise(title)}:{year or ''}"


def season_key(series_id: uuid.UUID, season: int) -> str:
    return f"season:{series_id}:{season}"


def episode_key(season_id: uuid.UUID, episodes: list[int], air_date: str | None) -> str:
    if episodes:
        return f"episode:{season_id}:{','.join(map(str, episodes))}"
    return f"episode:{season_id}:d{air_date}"
