"""An item made ready for the replica's write transaction: everything computed from the record.

Encoding the record and its card, the facet row, the folded title and search texts, the image
refs: none of it needs LMDB. ``SyncClient`` prepares a snapshot's items in a worker thread while
the body is still streaming and spools prepared batches; the write transaction then only puts
bytes and rebuilds the derived columns. Deltas use the same path, prepared on the spot.
"""

from __future__ import annotations

import msgspec

from sync.feed_types import (
    Card,
    EndFrame,
    Frame,
    FrameError,
    HeaderFrame,
    ItemFrame,
    ItemRecord,
)
from sync.replica_format import facet_fields, search_texts, title_key

ImageRef = tuple[str, str, str | None, str | None]  # image id, kind, colour, blurhash
_enc = msgspec.msgpack.Encoder()


class PreparedItem(msgspec.Struct, array_like=True):
    id: bytes
    library: bytes
    parent: bytes | None
    record: bytes
    card: bytes
    title_key: str
    search: str
    trigrams: str
    facet: tuple[int | float, ...]
    """``facet_fields`` with library index 0; the writer sets the real one."""
    genres: list[str]
    images: list[ImageRef]


class PreparedBatch(msgspec.Struct, array_like=True):
    """A snapshot batch: items prepared, every other frame as it came (header first, the end
    frame last, libraries and watch states in between: their order among items is free)."""

    items: list[PreparedItem]
    frames: list[Frame]


def image_refs(record: ItemRecord) -> list[ImageRef]:
    seen: dict[str, ImageRef] = {}
    for ref in record.images:
        seen.setdefault(ref.image_id, (ref.image_id, ref.kind, None, None))
    if record.poster_image_id:
        seen[record.poster_image_id] = (
            record.poster_image_id,
            "poster",
            record.placeholder_color,
            record.blurhash,
        )
    if record.backdrop_image_id:
        seen.setdefault(
            record.backdrop_image_id, (record.backdrop_image_id, "backdrop", None, None)
        )
    for person in record.people:
        if person.image_id:
            seen.setdefault(person.image_id, (person.image_id, "person", None, None))
    return list(seen.values())


def prepare(record: ItemRecord) -> PreparedItem:
    card = Card(
        id=record.id,
        library_id=record.library_id,
        kind=record.kind,
        title=record.title,
        year=record.year,
        placeholder_color=record.placeholder_color,
        poster_image_id=record.poster_image_id,
        parent_id=record.parent_id,
        series_title=record.series_title,
        season_number=record.season_number,
        episode_numbers=tuple(record.episode_numbers) if record.episode_numbers else None,
        still_image_id=next((i.image_id for i in record.images if i.kind == "thumb"), None)
        if record.kind == "episode"
        else None,
    )
    search, trigrams = search_texts(record)
    return PreparedItem(
        id=record.id.bytes,
        library=record.library_id.bytes,
        parent=record.parent_id.bytes if record.parent_id else None,
        record=_enc.encode(record),
        card=_enc.encode(card),
        title_key=title_key(record),
        search=search,
        trigrams=trigrams,
        facet=facet_fields(record, 0),
        genres=list(record.genres),
        images=image_refs(record),
    )


def prepare_batch(frames: list[Frame]) -> PreparedBatch:
    items = [prepare(f.item) for f in frames if isinstance(f, ItemFrame)]
    rest: list[Frame] = [f for f in frames if not isinstance(f, ItemFrame)]
    if any(isinstance(f, HeaderFrame) for f in rest[1:]) or any(
        isinstance(f, EndFrame) for f in rest[:-1]
    ):
        raise FrameError("header and end frames must open and close the stream")
    return PreparedBatch(items=items, frames=rest)
