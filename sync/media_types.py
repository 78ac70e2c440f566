"""Wire types of the media API (browse, details, watch state, playback), shared with the player."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from sync.media_info import MediaInfo
from sync.query import MediaKind, QueryCost
from sync.wire import (
    NO_NUL,
    ClientId,
    ClientTime,
    PositiveSeconds,
    Seconds,
    check_client_time,
)


class WatchStateOut(msgspec.Struct, kw_only=True):
    position_s: float = 0.0
    duration_s: float | None = None
    completed: bool = False
    play_count: int = 0
    last_played_at: datetime | None = None
    client_ts: datetime | None = None
    """The player clock of the update that is stored (newest wins)."""


class MediaItemOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    library_id: uuid.UUID
    kind: MediaKind
    parent_id: uuid.UUID | None = None
    title: str
    original_title: str | None = None
    sort_title: str
    year: int | None = None
    release_date: date | None = None
    air_date: date | None = None
    season_number: int | None = None
    episode_numbers: list[int] | None = None
    series_id: uuid.UUID | None = None
    """A season's or an episode's series; None for films and series."""
    series_title: str | None = None
    """Its title: show an episode as ``sync.episode_labels.episode_label`` does."""
    rating: float | None = None
    runtime_minutes: int | None = None
    genres: list[str] = []
    added_at: datetime
    watch: WatchStateOut | None = None
    """The caller's watch state; None when never played or marked."""


class QueryResult(msgspec.Struct, kw_only=True):
    items: list[MediaItemOut]
    total: int | None = None
    """Matching items in all pages (None when not asked for)."""
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next page; None on the last page."""
    cost: QueryCost


class QueryRejected(msgspec.Struct, kw_only=True):
    """``error.details`` of a 422 ``query_too_complex``."""

    cost: QueryCost


class MediaFileOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    file_name: str
    size_bytes: int
    version: str | None = None
    part: int | None = None
    edition: str | None = None
    """What the file's name says (``Director's Cut``): the versions of a film may differ."""
    extra_kind: str | None = None
    present: bool
    media_info: MediaInfo | None = None
    analysis_error: str | None = None
    stream_url: str
    """Relative URL; add a bearer token, or get a ticket for a URL a media player can open."""


class PersonOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: str
    role: str | None = None
    image_id: str | None = None


class ImageRef(msgspec.Struct, kw_only=True):
    kind: str
    image_id: str


class ItemDetails(msgspec.Struct, kw_only=True):
    item: MediaItemOut
    overview: str | None = None
    tagline: str | None = None
    studios: list[str] = []
    mpaa: str | None = None
    edition: str | None = None
    external_ids: dict[str, Any] = {}
    files: list[MediaFileOut] = []
    """Main files (versions, parts) of a movie or episode."""
    extras: list[MediaFileOut] = []
    """Trailers, featurettes, ... (files with an extra kind)."""
    people: list[PersonOut] = []
    images: list[ImageRef] = []
    children: list[MediaItemOut] = []
    """Seasons of a series, episodes of a season."""


class ItemList(msgspec.Struct, kw_only=True):
    items: list[MediaItemOut]


class ProgressIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    position_s: Seconds
    duration_s: PositiveSeconds | None = None
    client_ts: ClientTime
    """When the player recorded this position (its clock, with a timezone)."""
    completed: bool = False
    """The player saw the credits; otherwise completed at >= 95 % of the duration."""
    device_id: ClientId | None = None

    def __post_init__(self) -> None:
        check_client_time("client_ts", self.client_ts)


class MarkIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every field is optional: an empty body (or none) marks with the server's clock."""

    client_ts: ClientTime | None = None
    """Default: the server's clock."""
    device_id: ClientId | None = None

    def __post_init__(self) -> None:
        check_client_time("client_ts", self.client_ts)


class WatchUpdate(msgspec.Struct, kw_only=True):
    item_id: uuid.UUID
    applied: bool
    """False when a newer state was already stored (this update lost); ``state`` is the stored
    one either way."""
    state: WatchStateOut | None = None


class WatchUpdates(msgspec.Struct, kw_only=True):
    updates: list[WatchUpdate]


class TicketIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    file_id: uuid.UUID


class TicketOut(msgspec.Struct, kw_only=True):
    ticket: str
    expires_at: datetime
    url: str
    """Relative stream URL with the ticket; a media player can open it without headers."""


# --- WebSocket /api/v1/ws ---------------------------------------------------------------------

MessageId = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
"""A client's id for a message, echoed in the answer: short, so echoing costs nothing."""


class WsHeartbeat(msgspec.Struct, tag="progress", kw_only=True, forbid_unknown_fields=True):
    """Player -> server: every 10 s while playing and on pause/seek/stop."""

    item_id: uuid.UUID
    position_s: Seconds
    client_ts: ClientTime
    duration_s: PositiveSeconds | None = None
    completed: bool = False
    event: Literal["tick", "pause", "seek", "stop", "start"] = "tick"
    id: MessageId | None = None
    """Echoed in the ``ack``."""

    def __post_init__(self) -> None:
        check_client_time("client_ts", self.client_ts)


class WsPing(msgspec.Struct, tag="ping", kw_only=True, forbid_unknown_fields=True):
    id: MessageId | None = None


WsClientMessage = WsHeartbeat | WsPing


class WsAck(msgspec.Struct, tag="ack", kw_only=True):
    id: str | None = None
    item_id: uuid.UUID | None = None
    applied: bool = True
    state: WatchStateOut | None = None


class WsError(msgspec.Struct, tag="error", kw_only=True):
    code: str
    message: str


class WsEvent(msgspec.Struct, tag="event", kw_only=True):
    """A server event: ``scan.progress``, ``library.updated``, ``watch.changed`` ..."""

    seq: int
    event: str
    data: dict[str, Any]
