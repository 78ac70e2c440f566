"""On-disk layout of the player's replica: LMDB database names, keys, and the packed columns.

Everything a screenful of the grid needs is stored so that a read is a memoryview into LMDB's
memory map plus a msgspec decode of a few hundred bytes, or a numpy ``frombuffer`` over one
packed value. Nothing here touches LMDB: this module only says what the bytes mean, so the writer
(``replica_apply``) and the reader (``replica_read``) cannot disagree.

Named databases (all keys are raw bytes; ``id16`` is a UUID's 16 bytes):

=============  ==============================  ==========================================
db             key                             value
=============  ==============================  ==========================================
``meta``       ``schema`` ``format`` ...        small scalars (see ``META_*``)
``items``      id16                            :class:`ItemRecord` msgpack
``cards``      id16                            :class:`Card` msgpack (array_like)
``watch``      id16                            :class:`WatchStateOut` msgpack (this user)
``libraries``  id16                            :class:`LibraryInfo` msgpack
``images``     image id (utf-8)                :class:`ImageEntry` msgpack
``children``   parent id16                     child id16s concatenated, in play order
``order``      scope16 + sort name             root id16s concatenated, ascending
``cols``       column name                     packed columns, one row per item (below)
``queue``      8-byte big-endian sequence      an offline action (``sync.offline_queue``)
=============  ==============================  ==========================================

``scope16`` is a library id, or 16 zero bytes for "all libraries". Roots are items without a
parent (movies and series): what a library grid shows.

The ``cols`` rows are in title order (casefolded sort title, then id), so a title sort is the row
order itself and the other sorts are one stable numpy argsort (ties stay in title order).
"""

from __future__ import annotations

import re
import struct
import unicodedata
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from sync.feed_types import FEED_SCHEMA, ItemRecord
from sync.media_types import WatchStateOut

# Bump when anything in this file changes meaning: an older replica is moved aside and rebuilt.
# 3: item records and cards carry the series context of seasons and episodes.
REPLICA_FORMAT = 3
MAP_SIZE = 2 << 30  # address space only; the file grows with the data (sparse)
MAX_DBS = 16

DB_NAMES = (
    "meta",
    "items",
    "cards",
    "watch",
    "libraries",
    "images",
    "children",
    "order",
    "cols",
    "queue",
)
DATA_DBS = ("items", "cards", "watch", "libraries", "images", "children", "order", "cols")

META_SCHEMA = b"schema"
META_FORMAT = b"format"
META_SERVER = b"server_id"
META_USER = b"user_id"
META_CURSOR = b"cursor"
META_COMPLETE = b"complete"  # b"1" once a snapshot has been applied in full
META_QUEUE_SEQ = b"queue_seq"

COL_IDS = b"ids"  # N x 16 bytes, row order
COL_PARENTS = b"parents"  # N x 16 bytes, zero when no parent
COL_FACETS = b"facets"  # N x FACET_DTYPE
COL_BYID = b"byid"  # N x 16 bytes, ids sorted bytewise (for id -> row)
COL_BYID_ROWS = b"byid_rows"  # N x uint32: the row of each id in COL_BYID
COL_GENRES = b"genre_pairs"  # M x uint64 (code << 32 | row), sorted: genre -> rows
COL_GENRE_NAMES = b"genre_names"  # msgpack list[str]: code -> display name
COL_LIBS = b"libs"  # L x 16 bytes: library index -> library id (append-only)
# packed strings (sync.packed_strings): the blob under the name, the offsets under name + ".off"
COL_TITLES = b"titles"  # casefolded sort title per row
COL_SEARCH = b"search"  # per row "title\noriginal", casefolded
COL_TRIGRAMS = b"trigram_text"  # per row, the words padded like pg_trgm pads them

ALL_SCOPE = bytes(16)
ORDER_SORTS = ("title", "year", "date_added", "rating")
KIND_CODES: dict[str, int] = {"movie": 0, "series": 1, "season": 2, "episode": 3}
KIND_NAMES = {v: k for k, v in KIND_CODES.items()}
HDR_BITS: dict[str, int] = {"HDR10": 1, "HDR10+": 2, "HLG": 4, "DolbyVision": 8}
WATCH_CODES: dict[str, int] = {"unwatched": 0, "in_progress": 1, "watched": 2}

HAS_YEAR = 1
HAS_RATING = 2
HAS_RUNTIME = 4
IS_ROOT = 8

FACET_DTYPE = np.dtype(
    [
        ("year", "<i2"),  # 0 when unknown (the server sorts a missing year as 0)
        ("season", "<i2"),  # -1 when not a season/episode
        ("episode", "<i2"),  # first episode number, -1 when none
        ("height", "<i2"),  # tallest file's video height, 0 when unknown
        ("rating", "<f4"),  # -1 when unknown
        ("runtime", "<i4"),  # minutes, -1 when unknown
        ("release", "<i4"),  # date ordinal of release/air date, else Jan 1 of the year, else 1
        ("added", "<i8"),  # microseconds since the epoch
        ("last_played", "<i8"),  # microseconds since the epoch, 0 when never
        ("lib", "<u2"),  # index into COL_LIBS
        ("kind", "u1"),
        ("flags", "u1"),  # HAS_* and IS_ROOT bits
        ("hdr", "u1"),  # HDR_BITS of the files
        ("wstatus", "u1"),  # WATCH_CODES
    ]
)
GENRE_PAIR_DTYPE = np.dtype("<u8")

_U64 = struct.Struct(">Q")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class ImageEntry(msgspec.Struct, array_like=True):
    """What the grid needs to draw an image's placeholder before the bytes arrive."""

    kind: str
    color: str | None = None
    blurhash: str | None = None
    refs: int = 1
    """Items referring to it; the entry goes when the last one does."""


def u64(n: int) -> bytes:
    return _U64.pack(n)


def from_u64(raw: bytes | memoryview) -> int:
    return int(_U64.unpack(bytes(raw))[0])


def id16(value: uuid.UUID) -> bytes:
    return value.bytes


def micros(ts: datetime | None) -> int:
    if ts is None:
        return 0
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - _EPOCH) // _MICRO


def fold(text: str) -> str:
    """The replica's case- and accent-insensitive form (search and title order)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def title_key(record: ItemRecord) -> str:
    return fold(record.sort_title or record.title)


def trigram_text(*titles: str | None) -> str:
    """Words padded the way pg_trgm pads them ("  word "), concatenated: a query trigram is in
    the title's trigram set exactly when it is a substring of this text."""
    return padded_words(*(fold(t) for t in titles if t))


def padded_words(*folded: str) -> str:
    return "".join(f"  {w} " for text in folded for w in _words(text))


def search_texts(record: ItemRecord) -> tuple[str, str]:
    """(substring text, trigram text) of a record, folding each title once."""
    title = fold(record.title)
    original = fold(record.original_title) if record.original_title else ""
    return f"{title}\n{original}", padded_words(title, original)


def query_trigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for word in _words(fold(text)):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


_WORD = re.compile(r"[^\W_]+")  # pg_trgm: runs of letters and digits


def release_ordinal(record: ItemRecord) -> int:
    day: date | None = record.release_date or record.air_date
    if day is None and record.year is not None and 1 <= record.year <= 9999:
        day = date(record.year, 1, 1)
    return day.toordinal() if day is not None else 1


def facet_fields(record: ItemRecord, lib_index: int) -> tuple[int | float, ...]:
    """One facet row (without the watch columns, which come from the watch db)."""
    flags = 0
    if record.year is not None:
        flags |= HAS_YEAR
    if record.rating is not None:
        flags |= HAS_RATING
    if record.runtime_minutes is not None:
        flags |= HAS_RUNTIME
    if record.parent_id is None:
        flags |= IS_ROOT
    height = max((f.height or 0 for f in record.files), default=0)
    hdr = 0
    for f in record.files:
        hdr |= HDR_BITS.get(f.hdr or "", 0)
    episode = record.episode_numbers[0] if record.episode_numbers else -1
    season = record.season_number if record.season_number is not None else -1
    return (
        _clamp16(record.year or 0),
        _clamp16(season),
        _clamp16(episode),
        _clamp16(height),
        float(record.rating) if record.rating is not None else -1.0,
        record.runtime_minutes if record.runtime_minutes is not None else -1,
        release_ordinal(record),
        micros(record.added_at),
        0,
        lib_index,
        KIND_CODES[record.kind],
        flags,
        hdr,
        0,
    )


LIB_FIELD = 9  # where facet_fields puts the library index


def _clamp16(n: int) -> int:
    return n if -32768 <= n <= 32767 else (32767 if n > 0 else -32768)


def watch_code(state: WatchStateOut | None) -> int:
    """The server's watch status: completed, else some position, else unwatched."""
    if state is None:
        return WATCH_CODES["unwatched"]
    if state.completed:
        return WATCH_CODES["watched"]
    return WATCH_CODES["in_progress" if state.position_s > 0 else "unwatched"]


def sort_key(f: npt.NDArray[Any], name: str) -> npt.NDArray[Any]:
    """The facet column a sort orders by (missing values sort lowest, like the server's)."""
    column = {
        "year": "year",
        "release_date": "release",
        "date_added": "added",
        "rating": "rating",
        "runtime": "runtime",
        "last_watched": "last_played",
    }[name]
    return f[column]


def meta_expected() -> dict[bytes, bytes]:
    return {META_SCHEMA: str(FEED_SCHEMA).encode(), META_FORMAT: str(REPLICA_FORMAT).encode()}
