"""Wire contract of the local-first sync feed (snapshot and change frames), server and player alike.

The player keeps a replica of the browse set; everything it needs to browse offline travels as
these frames. Frames are msgspec tagged unions encoded as msgpack, sent in batches that each carry
a 4-byte big-endian length prefix, so a 30k-item snapshot streams in chunks instead of one body
that must be held in memory on either side.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Literal

import msgspec

from sync.episode_labels import item_label
from sync.media_types import ImageRef, PersonOut, WatchStateOut
from sync.query import MediaKind

# Bump when a frame changes shape incompatibly: a replica written under another one is rebuilt.
FEED_SCHEMA = 1
FRAMES_CONTENT_TYPE = "application/vnd.ferrex.frames+msgpack"
_LEN = struct.Struct(">I")
# A batch larger than this is refused by the reader: a corrupt or hostile length never makes the
# player allocate gigabytes.
MAX_BATCH_BYTES = 64 * 1024 * 1024


class FileSummary(msgspec.Struct, kw_only=True):
    """What the detail view shows of a media file, offline: enough for tech badges and "Play"."""

    id: uuid.UUID
    file_name: str
    size_bytes: int
    duration_s: float | None = None
    container: str | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    hdr: str | None = None  # "HDR10", "HLG", "DolbyVision", or None for SDR
    audio: list[str] = []  # "eng aac 2.0" per track
    subtitles: list[str] = []  # "eng srt (external)" per track
    version: str | None = None
    part: int | None = None


class ItemRecord(msgspec.Struct, kw_only=True):
    """The full browse record of one item; decoded only for the detail view."""

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
    """A season's or an episode's series (None for films and series)."""
    series_title: str | None = None
    """Its title, so every view can say "Show · S01E02 · Title" without reading the series."""
    rating: float | None = None
    runtime_minutes: int | None = None
    genres: list[str] = []
    added_at: datetime
    overview: str | None = None
    tagline: str | None = None
    studios: list[str] = []
    mpaa: str | None = None
    people: list[PersonOut] = []
    images: list[ImageRef] = []
    poster_image_id: str | None = None
    backdrop_image_id: str | None = None
    # placeholder shown until the poster is loaded: the poster's dominant colour ("#rrggbb")
    placeholder_color: str | None = None
    blurhash: str | None = None
    files: list[FileSummary] = []


class Card(msgspec.Struct, array_like=True, frozen=True):
    """The compact grid record the replica stores beside each ItemRecord.

    array_like keeps it a small msgpack array (no field names), so decoding a screenful of cards
    from the replica's memory map touches a few hundred bytes each.
    """

    id: uuid.UUID
    library_id: uuid.UUID
    kind: MediaKind
    title: str
    year: int | None
    placeholder_color: str | None
    poster_image_id: str | None
    parent_id: uuid.UUID | None = None
    # a season's or episode's context, for its label (sync.episode_labels); None otherwise
    series_title: str | None = None
    season_number: int | None = None
    episode_numbers: tuple[int, ...] | None = None
    still_image_id: str | None = None
    """An episode's still (a 16:9 frame or TMDB still): shown in a landscape card, uncropped."""

    @property
    def label(self) -> str:
        """The card's caption: "Show · S01E02 · Title" for an episode, else the title."""
        return item_label(
            self.kind, self.title, self.series_title, self.season_number, self.episode_numbers
        )


class LibraryInfo(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: Literal["movies", "series"]


class HeaderFrame(msgspec.Struct, tag="header", kw_only=True):
    """First frame of a snapshot: who and what it is for."""

    schema: int
    server_id: str
    user_id: uuid.UUID


class LibraryFrame(msgspec.Struct, tag="library", kw_only=True):
    library: LibraryInfo


class ItemFrame(msgspec.Struct, tag="item", kw_only=True):
    item: ItemRecord


class PackedItemFrame(msgspec.Struct, tag="item", kw_only=True):
    """An :class:`ItemFrame` whose record is already msgpack (the server's stored records):
    encoded, it is byte for byte the ItemFrame of that record, so readers never see a
    difference; it is only ever encoded, never decoded."""

    item: msgspec.Raw


class WatchFrame(msgspec.Struct, tag="watch", kw_only=True):
    """This user's watch state of one item (other users' states are never replicated)."""

    item_id: uuid.UUID
    state: WatchStateOut


class Tombstone(msgspec.Struct, tag="delete", kw_only=True):
    """Something the player had is gone (deleted, or no longer visible to this user)."""

    entity: Literal["library", "item", "watch"]
    id: uuid.UUID


class EndFrame(msgspec.Struct, tag="end", kw_only=True):
    """Last frame of a snapshot or a changes page: the replica is consistent at ``seq``."""

    seq: int
    more: bool = False  # changes only: another page follows; ask again with since=seq


Frame = HeaderFrame | LibraryFrame | ItemFrame | WatchFrame | Tombstone | EndFrame

_encoder = msgspec.msgpack.Encoder()
_batch_decoder = msgspec.msgpack.Decoder(list[Frame])


class FrameError(ValueError):
    """A frame stream that cannot be read: truncated, oversized or not frames at all."""


def encode_batch(frames: Sequence[Frame | PackedItemFrame]) -> bytes:
    body = _encoder.encode(frames)
    return _LEN.pack(len(body)) + body


def decode_batch(body: bytes | memoryview) -> list[Frame]:
    try:
        return _batch_decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise FrameError(f"undecodable frame batch: {exc}") from exc


class FrameReader:
    """Incremental reader: feed it the body's chunks as they arrive, take whole batches out."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> Iterator[list[Frame]]:
        self._buf += chunk
        while len(self._buf) >= _LEN.size:
            (length,) = _LEN.unpack_from(self._buf)
            if length > MAX_BATCH_BYTES:
                raise FrameError(f"frame batch of {length} bytes exceeds {MAX_BATCH_BYTES}")
            end = _LEN.size + length
            if len(self._buf) < end:
                return
            batch = decode_batch(bytes(self._buf[_LEN.size : end]))
            del self._buf[:end]
            yield batch

    def close(self) -> None:
        """Call at end of body: leftover bytes mean the stream was cut."""
        if self._buf:
            raise FrameError(f"frame stream ends inside a batch ({len(self._buf)} bytes left)")
