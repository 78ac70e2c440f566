"""Wire types for item metadata, local edits and images."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import msgspec

LockableField = Literal[
    "title", "sort_title", "original_title", "year", "overview", "tagline", "genres", "studios",
    "rating", "mpaa", "runtime_minutes", "release_date", "collection", "people",
]


class PersonOut(msgspec.Struct, kw_only=True):
    name: str
    kind: str
    role: str | None = None
    thumb_url: str | None = None


class ItemMetadata(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    library_id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    title: str
    sort_title: str
    original_title: str | None
    year: int | None
    season_number: int | None
    episode_numbers: list[int] | None
    overview: str | None
    tagline: str | None
    genres: list[str]
    studios: list[str]
    rating: float | None
    ratings: dict[str, Any]
    mpaa: str | None
    runtime_minutes: int | None
    release_date: dt.date | None
    air_date: dt.date | None
    collection: str | None
    external_ids: dict[str, Any]
    locked_fields: list[str]
    metadata_source: str | None
    """Which providers described the item: nfo, tmdb, edited; None: nothing found yet."""
    metadata_error: str | None
    metadata_at: dt.datetime | None
    images: dict[str, str]
    """Kind (poster, backdrop, logo, thumb, banner) -> image id for ``/api/v1/images/{id}``."""
    placeholder: dict[str, Any] | None
    """Of the primary image, to draw before its bytes come: ``{"color": "#rrggbb",
    "blurhash": "L...", "aspect": width/height, "image_id": ...}``."""
    people: list[PersonOut]


class ItemEdit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Local edits. Every field given is set AND locked (providers never overwrite it);
    ``unlock`` hands fields back to the providers on the next refresh."""

    title: str | None = None
    sort_title: str | None = None
    original_title: str | None = None
    year: int | None = None
    overview: str | None = None
    tagline: str | None = None
    genres: list[str] | None = None
    studios: list[str] | None = None
    rating: float | None = None
    mpaa: str | None = None
    runtime_minutes: int | None = None
    release_date: dt.date | None = None
    collection: str | None = None
    lock: list[LockableField] = msgspec.field(default_factory=list)
    unlock: list[LockableField] = msgspec.field(default_factory=list)


class Candidate(msgspec.Struct, kw_only=True):
    tmdb_id: int
    title: str
    original_title: str | None
    year: int | None
    score: float
    """0-120: title similarity (100 = same normalised title) plus 20 for the year (10 at +-1)."""
    overview: str | None = None
    poster_url: str | None = None


class CandidateList(msgspec.Struct, kw_only=True):
    items: list[Candidate]


class IdentifyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tmdb_id: int
    """The chosen match; kept with the item (rescans keep it) and applied at once."""
