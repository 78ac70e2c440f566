"""Wire types for item metadata, local edits and images."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from sync.wire import ExternalId, Label, Line, Minutes, Rating, Text, Year

LockableField = Literal[
    "title",
    "sort_title",
    "original_title",
    "year",
    "overview",
    "tagline",
    "genres",
    "studios",
    "rating",
    "mpaa",
    "runtime_minutes",
    "release_date",
    "collection",
    "people",
]

Labels = Annotated[list[Label], msgspec.Meta(max_length=50)]
Fields = Annotated[list[LockableField], msgspec.Meta(max_length=32)]


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

    title: Line | None = None
    sort_title: Line | None = None
    original_title: Line | None = None
    year: Year | None = None
    overview: Text | None = None
    tagline: Line | None = None
    genres: Labels | None = None
    studios: Labels | None = None
    rating: Rating | None = None
    mpaa: Label | None = None
    runtime_minutes: Minutes | None = None
    release_date: dt.date | None = None
    collection: Line | None = None
    lock: Fields = msgspec.field(default_factory=list)
    unlock: Fields = msgspec.field(default_factory=list)


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
    tmdb_id: ExternalId
    """The chosen match; kept with the item (rescans keep it) and applied at once."""
