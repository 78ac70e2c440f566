"""Stable identities for items, so a rescan, a moved file or a returning disk finds the same item
(and its watch state) instead of creating a new one."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping

_ARTICLES = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w]+")


def normalise(title: str) -> str:
    """Case, accents and punctuation do not make a different film: "Amélie!" == "amelie"."""
    text = title
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def sort_title(title: str) -> str:
    return _ARTICLES.sub("", normalise(title))


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
