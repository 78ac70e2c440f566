"""Reading the replica without copying it: a view owns one LMDB read transaction.

This is the seed's rkyv + yoke idea in Python. LMDB hands out ``memoryview``s straight into its
memory map (``buffers=True``); msgspec decodes a :class:`Card` from such a view without an
intermediate ``bytes``, and numpy's ``frombuffer`` turns a packed column (the facets of 30k items,
a sorted row list) into an array over the same mapped pages. A :class:`ReplicaView` is the yoke:
it holds the read transaction, so the pages stay a consistent snapshot while it lives, and it
hands out only decoded structs and plain Python values; no memoryview or array over the map ever
leaves it, so nothing can read pages after LMDB may have reused them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

import lmdb
import msgspec
import numpy as np
import numpy.typing as npt

from sync import episode_order
from sync.feed_types import Card, ItemRecord, LibraryInfo
from sync.media_types import WatchStateOut
from sync.packed_strings import PackedStrings
from sync.query import MediaQuery, SortBy, SortOrder, WatchStatus, problems
from sync.replica_apply import Dbs, rows_of
from sync.replica_format import (
    ALL_SCOPE,
    COL_BYID,
    COL_BYID_ROWS,
    COL_FACETS,
    COL_GENRE_NAMES,
    COL_GENRES,
    COL_IDS,
    COL_LIBS,
    COL_PARENTS,
    COL_SEARCH,
    COL_TRIGRAMS,
    FACET_DTYPE,
    GENRE_PAIR_DTYPE,
    HAS_RATING,
    HAS_RUNTIME,
    HAS_YEAR,
    HDR_BITS,
    IS_ROOT,
    KIND_CODES,
    ORDER_SORTS,
    WATCH_CODES,
    ImageEntry,
    fold,
    query_trigrams,
    sort_key,
)
from sync.word_similarity import THRESHOLD, title_matches

_card_dec = msgspec.msgpack.Decoder(Card)
_item_dec = msgspec.msgpack.Decoder(ItemRecord)


class _EpisodeFields(msgspec.Struct, kw_only=True):
    """What the next-episode rule reads of an item record: decoding only these (msgspec skips
    the rest of the record) keeps Next Up cheap over series of hundreds of episodes."""

    id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None = None
    season_number: int | None = None
    episode_numbers: list[int] | None = None
    air_date: date | None = None
    sort_title: str


_episode_dec = msgspec.msgpack.Decoder(_EpisodeFields)
_watch_dec = msgspec.msgpack.Decoder(WatchStateOut)
_lib_dec = msgspec.msgpack.Decoder(LibraryInfo)
_image_dec = msgspec.msgpack.Decoder(ImageEntry)
_strs_dec = msgspec.msgpack.Decoder(list[str])
Rows = npt.NDArray[np.int64]
P = ParamSpec("P")
R = TypeVar("R")


class ReplicaDamaged(Exception):
    """A read found bytes that are not what the replica wrote (a damaged file). LMDB does not
    checksum pages, so this is found when a page is used, not when the file is opened."""


def _guarded(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (lmdb.Error, msgspec.DecodeError, IndexError) as exc:
            raise ReplicaDamaged(f"{type(exc).__name__}: {exc}") from exc

    return wrapper


class ReplicaView:
    """One consistent, zero-copy look at the replica (see module doc). Use as a context manager,
    or call :meth:`close`; a view is cheap (one read transaction)."""

    def __init__(self, env: Any, dbs: Dbs, user_id: uuid.UUID | None) -> None:
        self._txn = env.begin(buffers=True)
        self._dbs = dbs
        self._user_id = user_id
        self._facets: npt.NDArray[Any] | None = None
        self._ids: npt.NDArray[np.uint8] | None = None

    def __enter__(self) -> ReplicaView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._txn is not None:
            self._txn.abort()
            self._txn = None
            self._facets = self._ids = None

    # --- raw access ------------------------------------------------------------------------

    def _get(self, key: bytes, db: Any) -> memoryview | None:
        if self._txn is None:
            raise RuntimeError("replica view used after close")
        value: memoryview | None = self._txn.get(key, db=db)
        return value

    def _col(self, key: bytes, dtype: Any) -> npt.NDArray[Any]:
        raw = self._get(key, self._dbs.cols)
        try:
            return np.frombuffer(raw if raw is not None else b"", dtype)
        except ValueError as exc:  # a size that is not a whole number of rows
            raise ReplicaDamaged(f"column {key.decode()}: {exc}") from exc

    @property
    def facets(self) -> npt.NDArray[Any]:
        if self._facets is None:
            self._facets = self._col(COL_FACETS, FACET_DTYPE)
        return self._facets

    @property
    def ids(self) -> npt.NDArray[np.uint8]:
        if self._ids is None:
            self._ids = self._col(COL_IDS, np.uint8).reshape(-1, 16)
        return self._ids

    def _libs(self) -> list[bytes]:
        raw = self._get(COL_LIBS, self._dbs.cols)
        data = bytes(raw) if raw is not None else b""
        return [data[i : i + 16] for i in range(0, len(data), 16)]

    def _strs(self, key: bytes) -> list[str]:
        raw = self._get(key, self._dbs.cols)
        return [] if raw is None else _strs_dec.decode(raw)

    def _rows(self, keys: list[bytes]) -> Rows:
        arr = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, 16)
        return rows_of(
            self._col(COL_BYID, np.uint8).reshape(-1, 16), self._col(COL_BYID_ROWS, np.uint32), arr
        )

    def card(self, key: bytes) -> Card | None:
        raw = self._get(key, self._dbs.cards)
        return None if raw is None else _card_dec.decode(raw)

    def cards_of_rows(self, rows: npt.NDArray[Any]) -> list[Card]:
        ids = self.ids
        out = []
        for row in rows.tolist():
            card = self.card(ids[row].tobytes())
            if card is not None:
                out.append(card)
        return out

    def _cards_of_ids(self, packed: bytes | memoryview) -> list[Card]:
        data = bytes(packed)
        found = (self.card(data[i : i + 16]) for i in range(0, len(data), 16))
        return [c for c in found if c is not None]

    # --- the public read API (mirrored by Replica) ------------------------------------------

    @_guarded
    def libraries(self) -> list[LibraryInfo]:
        if self._txn is None:
            raise RuntimeError("replica view used after close")
        libs = [_lib_dec.decode(v) for _, v in self._txn.cursor(db=self._dbs.libraries)]
        return sorted(libs, key=lambda lib: (fold(lib.name), lib.id.bytes))

    @_guarded
    def genres(self) -> list[str]:
        """Genre names that at least one item has."""
        names = self._strs(COL_GENRE_NAMES)
        codes = np.unique(self._col(COL_GENRES, GENRE_PAIR_DTYPE) >> np.uint64(32))
        return sorted((names[c] for c in codes.tolist() if c < len(names)), key=fold)

    def _scope(self, library_id: uuid.UUID | None) -> bytes:
        return ALL_SCOPE if library_id is None else library_id.bytes

    def _order_rows(self, library_id: uuid.UUID | None, sort: str) -> npt.NDArray[np.uint32]:
        raw = self._get(self._scope(library_id) + sort.encode(), self._dbs.order)
        return np.frombuffer(raw if raw is not None else b"", np.uint32)

    @_guarded
    def count(self, library_id: uuid.UUID | None = None) -> int:
        return int(self._order_rows(library_id, "title").size)

    @_guarded
    def cards(
        self,
        library_id: uuid.UUID | None = None,
        sort: SortBy = SortBy.TITLE,
        order: SortOrder = SortOrder.ASC,
        offset: int = 0,
        limit: int = 150,
    ) -> list[Card]:
        """A page of the library grid (movies and series; no seasons or episodes)."""
        sort, order = SortBy(sort), SortOrder(order)
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        rows: npt.NDArray[Any]
        if sort.value in ORDER_SORTS:
            rows = self._order_rows(library_id, sort.value)
        else:
            rows = self._root_rows(library_id)
            rows = rows[np.argsort(sort_key(self.facets, sort.value)[rows], kind="stable")]
        if order is SortOrder.DESC:
            rows = rows[::-1]
        return self.cards_of_rows(rows[offset : offset + limit])

    def _root_rows(self, library_id: uuid.UUID | None) -> Rows:
        f = self.facets
        mask = (f["flags"] & IS_ROOT) != 0
        if library_id is not None:
            mask &= self._lib_mask([library_id])
        return np.nonzero(mask)[0]

    def _lib_mask(self, library_ids: list[uuid.UUID]) -> npt.NDArray[np.bool_]:
        libs = self._libs()
        codes = [libs.index(i.bytes) for i in library_ids if i.bytes in libs]
        return np.isin(self.facets["lib"], np.array(codes, np.uint16))

    @_guarded
    def item(self, item_id: uuid.UUID) -> ItemRecord | None:
        raw = self._get(item_id.bytes, self._dbs.items)
        return None if raw is None else _item_dec.decode(raw)

    @_guarded
    def watch(self, item_id: uuid.UUID) -> WatchStateOut | None:
        raw = self._get(item_id.bytes, self._dbs.watch)
        return None if raw is None else _watch_dec.decode(raw)

    @_guarded
    def image(self, image_id: str) -> ImageEntry | None:
        raw = self._get(image_id.encode(), self._dbs.images)
        return None if raw is None else _image_dec.decode(raw)

    @_guarded
    def children(self, parent_id: uuid.UUID) -> list[Card]:
        raw = self._get(parent_id.bytes, self._dbs.children)
        return [] if raw is None else self._cards_of_ids(raw)

    @_guarded
    def continue_watching(self, limit: int = 20) -> list[Card]:
        f = self.facets
        mask = (f["wstatus"] == WATCH_CODES["in_progress"]) & np.isin(
            f["kind"], [KIND_CODES["movie"], KIND_CODES["episode"]]
        )
        rows = np.nonzero(mask)[0]
        rows = rows[np.argsort(-f["last_played"][rows], kind="stable")]
        return self.cards_of_rows(rows[:limit])

    @_guarded
    def recently_added(self, library_id: uuid.UUID | None = None, limit: int = 20) -> list[Card]:
        f = self.facets
        mask = np.isin(f["kind"], [KIND_CODES[k] for k in ("movie", "series", "episode")])
        if library_id is not None:
            mask &= self._lib_mask([library_id])
        rows = np.nonzero(mask)[0]
        rows = rows[np.argsort(-f["added"][rows], kind="stable")]
        return self.cards_of_rows(rows[:limit])

    @_guarded
    def next_up(self, limit: int = 20) -> list[Card]:
        """Per series with a completed episode: the first episode following the last one
        completed that is not completed itself; most recent series first (the rule:
        :mod:`sync.episode_order`)."""
        f = self.facets
        done = np.nonzero(
            (f["kind"] == KIND_CODES["episode"]) & (f["wstatus"] == WATCH_CODES["watched"])
        )[0]
        if done.size == 0:
            return []
        parents = self._col(COL_PARENTS, np.uint8).reshape(-1, 16)
        season_rows = self._rows([parents[r].tobytes() for r in done.tolist()])
        # series -> (latest play, the completed episodes played then): only those are decoded
        latest: dict[bytes, tuple[int, list[int]]] = {}
        for ep, season in zip(done.tolist(), season_rows.tolist(), strict=True):
            if season < 0:
                continue
            series, when = parents[season].tobytes(), int(f["last_played"][ep])
            known = latest.get(series)
            if known is None or when > known[0]:
                latest[series] = (when, [ep])
            elif when == known[0]:
                known[1].append(ep)
        ids = self.ids
        out: list[tuple[int, bytes, Card]] = []
        for series, (when, rows) in latest.items():
            tied = [
                (e, when)
                for e in map(self._episode, (ids[r].tobytes() for r in rows))
                if e is not None
            ]
            last = episode_order.last_completed(tied)
            if last is None:
                continue
            nxt = self._next_in(series, last, unwatched_only=True)
            card = self.card(nxt.id.bytes) if nxt is not None else None
            if card is not None:
                out.append((when, series, card))
        out.sort(key=lambda t: (-t[0], t[1]))
        return [card for _, _, card in out[:limit]]

    @_guarded
    def next_episode(self, item_id: uuid.UUID) -> Card | None:
        """What plays after episode ``item_id``, watched or not (:mod:`sync.episode_order`);
        None after the last one, or for anything but an episode."""
        current = self._episode(item_id.bytes)
        if current is None or current.kind != "episode" or current.parent_id is None:
            return None
        season = self._episode(current.parent_id.bytes)
        if season is None or season.parent_id is None:
            return None
        nxt = self._next_in(season.parent_id.bytes, current)
        return self.card(nxt.id.bytes) if nxt is not None else None

    def _episode(self, key: bytes) -> _EpisodeFields | None:
        raw = self._get(key, self._dbs.items)
        return None if raw is None else _episode_dec.decode(raw)

    def _next_in(
        self, series: bytes, after: _EpisodeFields, unwatched_only: bool = False
    ) -> _EpisodeFields | None:
        """:func:`episode_order.next_after` over the series' episodes (the replica holds present
        items only), decoding few records: the facets' season and first episode number are a
        prefix of the running-order key, so episodes they put before ``after`` are dropped
        unread, and the rest are read in that order, one (season, first number) group at a
        time, until a group holds the answer. Facet values at their int16 limits are not
        trusted: those episodes are read and take part in every group."""
        f = self.facets
        here = episode_order.order_key(after)
        special = after.season_number == episode_order.SPECIALS
        exact: list[tuple[int, int, bytes]] = []
        loose: list[bytes] = []
        for season in _split(self._get(series, self._dbs.children)):
            episodes = _split(self._get(season, self._dbs.children))
            if not episodes:
                continue
            rows = self._rows(episodes)
            ok = rows >= 0
            at = np.where(ok, rows, 0)
            s = f["season"][at].astype(np.int64)
            e = f["episode"][at].astype(np.int64)
            first = np.where(e < 0, episode_order.NO_NUMBER, e)
            trusted = (np.abs(s) < 32767) & (e < 32767)
            ok &= f["kind"][at] == KIND_CODES["episode"]
            ok &= ~(trusted & ((s < here[0]) | ((s == here[0]) & (first < here[1]))))
            ok &= (s == episode_order.SPECIALS) == special
            if unwatched_only:
                ok &= f["wstatus"][at] != WATCH_CODES["watched"]
            for i in np.nonzero(ok)[0].tolist():
                if trusted[i]:
                    exact.append((int(s[i]), int(first[i]), episodes[i]))
                else:
                    loose.append(episodes[i])
        unsure = [r for r in map(self._episode, loose) if r is not None]
        exact.sort(key=lambda t: (t[0], t[1]))
        start = 0
        while start < len(exact):
            end = start
            while end < len(exact) and exact[end][:2] == exact[start][:2]:
                end += 1
            group = [r for r in (self._episode(t[2]) for t in exact[start:end]) if r is not None]
            found = episode_order.next_after(after, [*group, *unsure])
            if found is not None:
                return found
            start = end
        return episode_order.next_after(after, unsure)

    # --- queries -----------------------------------------------------------------------------

    @_guarded
    def query(self, q: MediaQuery) -> tuple[list[Card], int]:
        """The media query, answered from the replica: (page, total matches)."""
        found = problems(q)
        if q.cursor is not None:
            found.append("cursor: a server cursor means nothing to the replica; use offset")
        if q.user_id is not None and self._user_id is not None and q.user_id != self._user_id:
            found.append("user_id: the replica holds only its own user's watch state")
        if found:
            raise ValueError("; ".join(found))
        rows = self.match(q)
        if q.sort_by is not SortBy.TITLE:
            rows = rows[np.argsort(sort_key(self.facets, q.sort_by.value)[rows], kind="stable")]
        if q.sort_order is SortOrder.DESC:
            rows = rows[::-1]
        return self.cards_of_rows(rows[q.offset : q.offset + q.limit]), int(rows.size)

    def match(self, q: MediaQuery) -> Rows:
        """Rows (title order) matching every filter of ``q``."""
        f = self.facets
        mask = np.ones(f.shape[0], np.bool_)
        if q.kinds:
            mask &= np.isin(f["kind"], [KIND_CODES[k] for k in q.kinds])
        if q.library_ids:
            mask &= self._lib_mask(q.library_ids)
        if q.genres:
            mask &= self._genre_mask(q.genres, q.genre_match == "all")
        for column, flag, low, high in (
            ("year", HAS_YEAR, q.year_min, q.year_max),
            ("rating", HAS_RATING, q.rating_min, q.rating_max),
            ("runtime", HAS_RUNTIME, q.runtime_min, q.runtime_max),
        ):
            if low is None and high is None:
                continue
            mask &= (f["flags"] & flag) != 0
            values = f[column]
            if low is not None:
                mask &= values >= values.dtype.type(low)
            if high is not None:
                mask &= values <= values.dtype.type(high)
        if q.min_height is not None:
            mask &= f["height"] >= q.min_height
        if q.hdr:
            bits = 0
            for name in q.hdr:
                bits |= HDR_BITS[name]
            mask &= (f["hdr"] & bits) != 0
        if q.watch_status is not None:
            mask &= f["wstatus"] == WATCH_CODES[WatchStatus(q.watch_status).value]
        rows = np.nonzero(mask)[0]
        if q.search:
            rows = self._search(rows, q.search)
        return rows

    def _genre_mask(self, genres: list[str], match_all: bool) -> npt.NDArray[np.bool_]:
        n = self.facets.shape[0]
        names = {fold(name): code for code, name in enumerate(self._strs(COL_GENRE_NAMES))}
        pairs = self._col(COL_GENRES, GENRE_PAIR_DTYPE)
        hits = np.zeros(n, np.int32)
        wanted = {fold(g) for g in genres}
        for genre in wanted:
            code = names.get(genre)
            if code is None:
                continue
            lo, hi = np.searchsorted(pairs, np.array([code << 32, (code + 1) << 32], np.uint64))
            hits[(pairs[lo:hi] & np.uint64(0xFFFFFFFF)).astype(np.int64)] += 1
        return hits >= len(wanted) if match_all else hits > 0

    def _search(self, rows: Rows, text: str) -> Rows:
        """The server's test (:func:`sync.word_similarity.title_matches`): pg_trgm word
        similarity >= 0.6 with the title or the original title, or a substring of the title.
        Two cheap passes over the packed columns find the candidates (a substring of either
        title; a share of the query's trigrams found in the titles of at least 0.6, which any
        match has), then the exact test decides each candidate from its folded titles."""
        n = self.facets.shape[0]
        search = self._packed(COL_SEARCH)
        needle = fold(text.strip())
        candidate = np.zeros(n, np.bool_)
        candidate[search.rows_with(needle.encode())] = True
        grams = query_trigrams(text)
        if grams:
            trigrams = self._packed(COL_TRIGRAMS)
            counts = np.zeros(n, np.int32)
            for gram in grams:
                counts[trigrams.rows_with(gram.encode())] += 1
            candidate |= counts >= THRESHOLD * len(grams)
        found = rows[candidate[rows]]
        keep = [title_matches(needle, *_titles(search.get(row))) for row in found.tolist()]
        return found[np.array(keep, np.bool_)] if keep else found

    def _packed(self, key: bytes) -> PackedStrings:
        blob = self._get(key, self._dbs.cols)
        offsets = self._get(key + b".off", self._dbs.cols)
        if blob is not None and offsets is not None and len(offsets) % 4:
            raise ReplicaDamaged(f"column {key.decode()}: odd offsets")
        return PackedStrings.load(blob, offsets)


def _titles(search_text: str) -> tuple[str, str]:
    """(title, original title) of a row's folded search text ("title\\noriginal")."""
    title, _, original = search_text.partition("\n")
    return title, original


def _split(packed: memoryview | bytes | None) -> list[bytes]:
    data = bytes(packed) if packed is not None else b""
    return [data[i : i + 16] for i in range(0, len(data), 16)]
