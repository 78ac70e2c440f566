"""The replica's writer: frames in, one LMDB write transaction out.

A :class:`Writer` lives for exactly one write transaction. Frames update the keyed databases as
they come (items, cards, watch, libraries, images); the derived data (the packed columns, the
sorted row lists, genre and children indexes) is rebuilt once in :meth:`Writer.finish`, which also
moves the cursor. The caller commits the transaction after ``finish``: a crash (or an exception)
anywhere before that leaves the previous cursor and the previous data, untouched.

Rebuilding is incremental: rows of items that did not change are kept (numpy masks and
``np.insert``, no decoding), changed items are merged into the title order by binary search, and
the children lists are rewritten only for the parents that changed (all of them after a
snapshot).
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from sync.feed_types import (
    FEED_SCHEMA,
    Card,
    EndFrame,
    Frame,
    FrameError,
    HeaderFrame,
    ItemFrame,
    ItemRecord,
    LibraryFrame,
    Tombstone,
    WatchFrame,
)
from sync.media_types import WatchStateOut
from sync.offline_queue import MarkAction, ProgressAction, after_mark, after_progress
from sync.offline_queue import decode as decode_action
from sync.packed_strings import PackedStrings
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
    COL_TITLES,
    COL_TRIGRAMS,
    DATA_DBS,
    FACET_DTYPE,
    GENRE_PAIR_DTYPE,
    IS_ROOT,
    LIB_FIELD,
    META_COMPLETE,
    META_CURSOR,
    META_SERVER,
    META_USER,
    ImageEntry,
    fold,
    micros,
    sort_key,
    u64,
    watch_code,
)
from sync.replica_prepare import ImageRef, PreparedBatch, PreparedItem, image_refs, prepare

Bytes = bytes | memoryview
U8Array = npt.NDArray[np.uint8]
# Past this many changed parents one full regroup is cheaper than one scan per parent.
TARGETED_CHILDREN_MAX = 32

_item_dec = msgspec.msgpack.Decoder(ItemRecord)
_watch_dec = msgspec.msgpack.Decoder(WatchStateOut)
_image_dec = msgspec.msgpack.Decoder(ImageEntry)
_strs_dec = msgspec.msgpack.Decoder(list[str])
_enc = msgspec.msgpack.Encoder()


@dataclass
class Dbs:
    """Handles of the named databases (opened once per environment)."""

    handles: dict[str, Any]

    def __post_init__(self) -> None:
        for name, handle in self.handles.items():  # attributes: no lookup per access
            setattr(self, name, handle)

    def __getattr__(self, name: str) -> Any:  # only for names not set above
        raise AttributeError(name)


@dataclass
class Columns:
    """The packed per-row columns, decoded into numpy arrays and lists."""

    ids: U8Array  # (n, 16)
    parents: U8Array  # (n, 16)
    facets: npt.NDArray[Any]
    titles: PackedStrings
    search: PackedStrings
    trigrams: PackedStrings
    genre_pairs: npt.NDArray[Any]
    genre_names: list[str]
    libs: list[bytes]
    byid: U8Array | None = None  # (n, 16) ids sorted bytewise; None until computed
    byid_rows: npt.NDArray[np.uint32] | None = None

    def id_index(self) -> tuple[U8Array, npt.NDArray[np.uint32]]:
        if self.byid is None or self.byid_rows is None:
            self.byid, self.byid_rows = byid_index(self.ids)
        return self.byid, self.byid_rows

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    @staticmethod
    def empty() -> Columns:
        none = PackedStrings.pack([])
        return Columns(
            np.zeros((0, 16), np.uint8),
            np.zeros((0, 16), np.uint8),
            np.zeros(0, FACET_DTYPE),
            none,
            none,
            none,
            np.zeros(0, GENRE_PAIR_DTYPE),
            [],
            [],
        )

    @staticmethod
    def load(txn: Any, db: Any) -> Columns:
        def raw(key: bytes) -> bytes:
            value = txn.get(key, db=db)
            return b"" if value is None else bytes(value)

        def packed(key: bytes) -> PackedStrings:
            blob = txn.get(key, db=db)
            offsets = txn.get(key + b".off", db=db)
            return PackedStrings.load(
                None if blob is None else bytes(blob), None if offsets is None else bytes(offsets)
            )

        def strs(key: bytes) -> list[str]:
            value = txn.get(key, db=db)
            return [] if value is None else _strs_dec.decode(value)

        ids = np.frombuffer(raw(COL_IDS), np.uint8).reshape(-1, 16).copy()
        libs_raw = raw(COL_LIBS)
        return Columns(
            ids=ids,
            parents=np.frombuffer(raw(COL_PARENTS), np.uint8).reshape(-1, 16).copy(),
            facets=np.frombuffer(raw(COL_FACETS), FACET_DTYPE).copy(),
            titles=packed(COL_TITLES),
            search=packed(COL_SEARCH),
            trigrams=packed(COL_TRIGRAMS),
            genre_pairs=np.frombuffer(raw(COL_GENRES), GENRE_PAIR_DTYPE).copy(),
            genre_names=strs(COL_GENRE_NAMES),
            libs=[libs_raw[i : i + 16] for i in range(0, len(libs_raw), 16)],
            byid=np.frombuffer(raw(COL_BYID), np.uint8).reshape(-1, 16),
            byid_rows=np.frombuffer(raw(COL_BYID_ROWS), np.uint32),
        )


def rows_of(
    byid: U8Array, byid_rows: npt.NDArray[np.uint32], keys: U8Array
) -> npt.NDArray[np.int64]:
    """Rows of ``keys`` (k, 16) via the sorted id column; -1 where an id is not in the replica."""
    if byid.shape[0] == 0 or keys.shape[0] == 0:
        return np.full(keys.shape[0], -1, np.int64)
    hay = byid.reshape(-1).view("S16")
    needles = np.ascontiguousarray(keys).reshape(-1).view("S16")
    pos = np.searchsorted(hay, needles)
    pos = np.minimum(pos, byid.shape[0] - 1)
    found = (byid[pos] == keys).all(axis=1)
    out: npt.NDArray[np.int64] = byid_rows[pos].astype(np.int64)
    out[~found] = -1
    return out


def _merge_id_index(
    byid: U8Array,
    byid_rows: npt.NDArray[np.uint32],
    old_to_new: npt.NDArray[np.int64],
    new_ids: U8Array,
    new_rows: npt.NDArray[np.int64],
) -> tuple[U8Array, npt.NDArray[np.uint32]]:
    """The id index after a small change, without sorting 30k ids again: kept entries keep
    their order (renumbered), the new ids go where they sort."""
    mapped = old_to_new[byid_rows.astype(np.int64)]
    alive = mapped >= 0
    kept_ids = np.ascontiguousarray(byid[alive])
    kept_rows = mapped[alive]
    order = (
        np.argsort(new_ids.reshape(-1).view("S16"), kind="stable")
        if new_ids.size
        else np.zeros(0, np.int64)
    )
    fresh = np.ascontiguousarray(new_ids[order])
    at = (
        np.searchsorted(kept_ids.reshape(-1).view("S16"), fresh.reshape(-1).view("S16"))
        if fresh.size
        else np.zeros(0, np.int64)
    )
    merged_ids = np.insert(kept_ids, at, fresh, axis=0)
    merged_rows = np.insert(kept_rows, at, new_rows[order])
    return np.ascontiguousarray(merged_ids), merged_rows.astype(np.uint32)


def byid_index(ids: U8Array) -> tuple[U8Array, npt.NDArray[np.uint32]]:
    order = (
        np.argsort(ids.reshape(-1).view("S16"), kind="stable")
        if ids.shape[0]
        else np.zeros(0, np.int64)
    )
    return np.ascontiguousarray(ids[order]), order.astype(np.uint32)


@dataclass
class Writer:
    """Changes of one write transaction (see module doc)."""

    txn: Any
    dbs: Dbs
    snapshot: bool
    upserts: dict[bytes, PreparedItem] = field(default_factory=dict)
    removed: set[bytes] = field(default_factory=set)
    watch_changed: set[bytes] = field(default_factory=set)
    affected_parents: set[bytes] = field(default_factory=set)
    header: HeaderFrame | None = None
    end: EndFrame | None = None
    frames: int = 0
    _cols: Columns | None = None
    _new_rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _old_to_new: npt.NDArray[np.int64] | None = None
    _images: dict[bytes, ImageEntry | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.snapshot:
            for name in DATA_DBS:
                self.txn.drop(self.dbs.handles[name], delete=False)
            self._cols = Columns.empty()

    # --- frames ---------------------------------------------------------------------------

    def apply(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            if self.end is not None:
                raise FrameError("frames after the end frame")
            self.frames += 1
            if isinstance(frame, ItemFrame):
                self._upsert(frame.item)
            elif isinstance(frame, WatchFrame):
                self._put_watch(frame.item_id.bytes, frame.state)
            elif isinstance(frame, LibraryFrame):
                self.txn.put(
                    frame.library.id.bytes, _enc.encode(frame.library), db=self.dbs.libraries
                )
            elif isinstance(frame, Tombstone):
                self._tombstone(frame)
            elif isinstance(frame, HeaderFrame):
                self._header(frame)
            elif isinstance(frame, EndFrame):
                self.end = frame

    def _header(self, frame: HeaderFrame) -> None:
        if not self.snapshot or self.frames != 1:
            raise FrameError("a header frame may only open a snapshot")
        if frame.schema != FEED_SCHEMA:
            raise FrameError(f"snapshot schema {frame.schema}, this player reads {FEED_SCHEMA}")
        self.header = frame

    def _old_record(self, key: bytes) -> ItemRecord | None:
        raw = self.txn.get(key, db=self.dbs.items)
        return None if raw is None else _item_dec.decode(raw)

    def _upsert(self, record: ItemRecord) -> None:
        self._upsert_prepared(prepare(record))

    def apply_prepared(self, batch: PreparedBatch) -> None:
        """A prepared snapshot batch: its other frames, its items, then its end frame."""
        self.apply([f for f in batch.frames if not isinstance(f, EndFrame)])
        for item in batch.items:
            if self.end is not None:
                raise FrameError("frames after the end frame")
            self.frames += 1
            self._upsert_prepared(item)
        self.apply([f for f in batch.frames if isinstance(f, EndFrame)])

    def _upsert_prepared(self, item: PreparedItem) -> None:
        key = item.id
        if self.snapshot:  # the dbs were emptied: only this transaction's own upserts exist
            earlier = self.upserts.get(key)
            if earlier is not None:
                self._forget(earlier.images, earlier.parent)
        else:
            old = self._old_record(key)
            if old is not None:
                self._forget(image_refs(old), old.parent_id.bytes if old.parent_id else None)
        self._image_refs(item.images, +1)
        if item.parent is not None:
            self.affected_parents.add(item.parent)
        self.txn.put(key, item.record, db=self.dbs.items)
        self.txn.put(key, item.card, db=self.dbs.cards)
        self.removed.add(key)  # its old row (if any) goes; the new one comes from upserts
        self.upserts[key] = item

    def _forget(self, images: list[ImageRef], parent: bytes | None) -> None:
        self._image_refs(images, -1)
        if parent is not None:
            self.affected_parents.add(parent)

    def _delete_item(self, key: bytes) -> None:
        old = self._old_record(key)
        if old is not None:
            self._forget(image_refs(old), old.parent_id.bytes if old.parent_id else None)
            self.txn.delete(key, db=self.dbs.items)
            self.txn.delete(key, db=self.dbs.cards)
        if self.txn.delete(key, db=self.dbs.watch):
            self.watch_changed.add(key)
        self.upserts.pop(key, None)
        self.removed.add(key)

    def _tombstone(self, frame: Tombstone) -> None:
        key = frame.id.bytes
        if frame.entity == "item":
            self._delete_item(key)
        elif frame.entity == "watch":
            if self.txn.delete(key, db=self.dbs.watch):
                self.watch_changed.add(key)
        else:
            self.txn.delete(key, db=self.dbs.libraries)
            # Items of a library that is gone (or no longer visible) go with it, whether or not
            # the server also sent their tombstones.
            for item_key in self._items_of_library(frame.id):
                self._delete_item(item_key)

    def _items_of_library(self, library_id: uuid.UUID) -> list[bytes]:
        cols = self.columns()
        out = [k for k, p in self.upserts.items() if p.library == library_id.bytes]
        lib = library_id.bytes
        if lib in cols.libs:
            rows = np.nonzero(cols.facets["lib"] == cols.libs.index(lib))[0]
            out.extend(cols.ids[r].tobytes() for r in rows)
        return out

    def _put_watch(self, key: bytes, state: WatchStateOut) -> None:
        self.txn.put(key, _enc.encode(state), db=self.dbs.watch)
        self.watch_changed.add(key)

    def set_watch(self, key: bytes, state: WatchStateOut) -> None:
        """A local state (offline action): the facets' watch columns follow at ``finish``."""
        self._put_watch(key, state)

    def _image_refs(self, refs: list[ImageRef], delta: int) -> None:
        images = self._images
        for image_id, kind, color, blurhash in refs:
            key = image_id.encode()
            if key in images:
                entry = images[key]
            elif self.snapshot:
                entry = None  # the db was emptied: nothing to read
            else:
                raw = self.txn.get(key, db=self.dbs.images)
                entry = _image_dec.decode(raw) if raw is not None else None
            if delta > 0:
                if entry is None:
                    entry = ImageEntry(kind=kind, color=color, blurhash=blurhash, refs=1)
                else:
                    entry.refs += 1
                    if color or blurhash:
                        entry.color, entry.blurhash = color, blurhash
            elif entry is not None:
                entry.refs -= 1
                if entry.refs <= 0:
                    entry = None
            images[key] = entry

    def _write_images(self) -> None:
        db = self.dbs.images
        for key, entry in self._images.items():
            if entry is None:
                self.txn.delete(key, db=db)
            else:
                self.txn.put(key, _enc.encode(entry), db=db)

    # --- finish: derived data and the cursor ----------------------------------------------

    def columns(self) -> Columns:
        if self._cols is None:
            self._cols = Columns.load(self.txn, self.dbs.cols)
        return self._cols

    def finish(self, seq: int | None) -> None:
        """Rebuild what changed, overlay the pending offline actions, move the cursor."""
        if self.snapshot and self.header is None:
            raise FrameError("snapshot without a header frame")
        self._overlay_offline_actions()
        self._write_images()
        cols = self.columns()
        items_changed = bool(self.removed or self.upserts)
        if items_changed:
            cols = self._rebuild_rows(cols)
        if items_changed or self.watch_changed:
            self._watch_columns(cols, items_changed)
            self._write_columns(cols, items_changed)
        meta = self.dbs.meta
        if self.header is not None:
            self.txn.put(META_SERVER, self.header.server_id.encode(), db=meta)
            self.txn.put(META_USER, self.header.user_id.bytes, db=meta)
        if seq is not None:
            self.txn.put(META_CURSOR, u64(seq), db=meta)
        if self.snapshot:
            self.txn.put(META_COMPLETE, b"1", db=meta)

    def _overlay_offline_actions(self) -> None:
        """Actions the server has not acknowledged yet stay visible over what it sent."""
        for _, raw in self.txn.cursor(db=self.dbs.queue):
            action = decode_action(raw)
            apply_action(self, action)

    def _rebuild_rows(self, old: Columns) -> Columns:
        # 1. drop the old rows of removed/updated items
        removed = np.frombuffer(b"".join(sorted(self.removed)), np.uint8).reshape(-1, 16)
        byid, byid_rows = old.id_index()
        gone = rows_of(byid, byid_rows, removed)
        gone_rows = np.unique(gone[gone >= 0])
        keep = np.ones(old.n, bool)
        keep[gone_rows] = False
        kept_idx = np.nonzero(keep)[0]
        for parent_row in gone[gone >= 0]:
            parent = old.parents[parent_row]
            if parent.any():
                self.affected_parents.add(parent.tobytes())
        # 2. the new rows, in title order among themselves
        lib_index = {lib: i for i, lib in enumerate(old.libs)}
        libs = list(old.libs)
        keyed = sorted(((p.title_key, p.id), p) for p in self.upserts.values())
        new = [p for _, p in keyed]
        new_keys = [k for k, _ in keyed]
        fields = []
        for p in new:
            lib = p.library
            if lib not in lib_index:
                lib_index[lib] = len(libs)
                libs.append(lib)
            fields.append((*p.facet[:LIB_FIELD], lib_index[lib], *p.facet[LIB_FIELD + 1 :]))
        new_rows = np.array(fields, FACET_DTYPE) if fields else np.zeros(0, FACET_DTYPE)
        # 3. merge: each new row goes where its (title, id) falls among the kept rows
        titles = old.titles
        ids = old.ids

        def kept_key(j: int) -> tuple[str, bytes]:
            row = int(kept_idx[j])
            return titles.get(row), ids[row].tobytes()

        positions = (
            np.array(
                [bisect.bisect_left(range(len(kept_idx)), k, key=kept_key) for k in new_keys],
                np.int64,
            )
            if kept_idx.size
            else np.zeros(len(new), np.int64)
        )
        new_ids = np.frombuffer(b"".join(p.id for p in new), np.uint8).reshape(-1, 16)
        new_parents = np.frombuffer(b"".join(p.parent or bytes(16) for p in new), np.uint8).reshape(
            -1, 16
        )

        cols = Columns(
            ids=np.insert(old.ids[kept_idx], positions, new_ids, axis=0),
            parents=np.insert(old.parents[kept_idx], positions, new_parents, axis=0),
            facets=np.insert(old.facets[kept_idx], positions, new_rows),
            titles=old.titles.edit(gone_rows, kept_idx, positions, [k for k, _ in new_keys]),
            search=old.search.edit(gone_rows, kept_idx, positions, [p.search for p in new]),
            trigrams=old.trigrams.edit(gone_rows, kept_idx, positions, [p.trigrams for p in new]),
            genre_pairs=old.genre_pairs,
            genre_names=list(old.genre_names),
            libs=libs,
        )
        # 4. old row -> new row for what was kept; new rows land at positions + their rank
        kept_new_row = np.arange(kept_idx.size) + np.searchsorted(
            positions, np.arange(kept_idx.size), side="right"
        )
        old_to_new = np.full(old.n, -1, np.int64)
        old_to_new[kept_idx] = kept_new_row
        new_final = positions + np.arange(len(new))
        cols.genre_pairs = self._genres(old, cols, old_to_new, new, new_final)
        self._new_rows = new_final
        self._old_to_new = old_to_new
        if old.n and len(new) * 8 < old.n:
            cols.byid, cols.byid_rows = _merge_id_index(
                byid, byid_rows, old_to_new, new_ids, new_final
            )
        return cols

    def _genres(
        self,
        old: Columns,
        cols: Columns,
        old_to_new: npt.NDArray[np.int64],
        new: list[PreparedItem],
        new_final: npt.NDArray[np.int64],
    ) -> npt.NDArray[Any]:
        pairs = old.genre_pairs
        if pairs.size:
            mapped = old_to_new[(pairs & 0xFFFFFFFF).astype(np.int64)]
            alive = mapped >= 0
            pairs = (pairs[alive] & ~np.uint64(0xFFFFFFFF)) | mapped[alive].astype(np.uint64)
        codes = {fold(name): i for i, name in enumerate(cols.genre_names)}
        code_of: dict[str, int] = {}  # genre as written -> code (a few dozen names, 30k rows)
        extra: list[int] = []
        for record, row in zip(new, new_final.tolist(), strict=True):
            row_codes = set()
            for genre in record.genres:
                code = code_of.get(genre)
                if code is None:
                    folded = fold(genre.strip())
                    if not folded:
                        continue
                    code = codes.get(folded)
                    if code is None:
                        code = codes[folded] = len(cols.genre_names)
                        cols.genre_names.append(genre.strip())
                    code_of[genre] = code
                row_codes.add(code)
            extra.extend((c << 32) | row for c in row_codes)
        if extra:
            pairs = np.concatenate([pairs, np.array(extra, GENRE_PAIR_DTYPE)])
        return np.sort(pairs)

    def _watch_columns(self, cols: Columns, items_changed: bool) -> None:
        byid, byid_rows = cols.id_index()
        keys = set(self.watch_changed)
        rows_known: list[int] = []
        if self.snapshot:  # every row is new: the (few) watch states decide, not the rows
            keys |= {bytes(k) for k in self.txn.cursor(db=self.dbs.watch).iternext(values=False)}
        elif items_changed:
            rows_known = self._new_rows.tolist()
        if keys:
            arr = np.frombuffer(b"".join(sorted(keys)), np.uint8).reshape(-1, 16)
            rows_known.extend(r for r in rows_of(byid, byid_rows, arr).tolist() if r >= 0)
        facets = cols.facets
        for row in set(rows_known):
            raw = self.txn.get(cols.ids[row].tobytes(), db=self.dbs.watch)
            state = None if raw is None else _watch_dec.decode(raw)
            facets["wstatus"][row] = watch_code(state)
            facets["last_played"][row] = micros(state.last_played_at) if state else 0

    def _write_columns(self, cols: Columns, items_changed: bool) -> None:
        put = self.txn.put
        db = self.dbs.cols
        put(COL_FACETS, cols.facets.tobytes(), db=db)
        if not items_changed:
            return
        byid, byid_rows = cols.id_index()
        put(COL_IDS, cols.ids.tobytes(), db=db)
        put(COL_PARENTS, cols.parents.tobytes(), db=db)
        put(COL_BYID, byid.tobytes(), db=db)
        put(COL_BYID_ROWS, byid_rows.tobytes(), db=db)
        for key, strings in (
            (COL_TITLES, cols.titles),
            (COL_SEARCH, cols.search),
            (COL_TRIGRAMS, cols.trigrams),
        ):
            blob, offsets = strings.dump()
            put(key, blob, db=db)
            put(key + b".off", offsets, db=db)
        put(COL_GENRES, cols.genre_pairs.tobytes(), db=db)
        put(COL_GENRE_NAMES, _enc.encode(cols.genre_names), db=db)
        put(COL_LIBS, b"".join(cols.libs), db=db)
        self._orders(cols)
        self._children(cols)

    def _orders(self, cols: Columns) -> None:
        """The sorted root lists of every scope. Per key one list over all roots in (key, row)
        order; a library's list is that list filtered (rows are in title order, so ties stay
        in title order everywhere). After a small change the old list is kept, renumbered
        (kept rows keep their relative order) and the new rows are merged in by binary search;
        after a snapshot or a large change it is one stable argsort."""
        db = self.dbs.order
        f = cols.facets
        roots = (f["flags"] & IS_ROOT) != 0
        root_rows = np.nonzero(roots)[0]
        sorted_rows: dict[str, npt.NDArray[Any]] = {"title": root_rows}
        new_roots = self._new_rows[roots[self._new_rows]] if self._new_rows.size else self._new_rows
        incremental = (
            self._old_to_new is not None
            and not self.snapshot
            and new_roots.size * 8 < max(root_rows.size, 1)
        )
        for name in ("year", "date_added", "rating"):
            key = sort_key(f, name)
            old = self.txn.get(ALL_SCOPE + name.encode(), db=db) if incremental else None
            if old is None or self._old_to_new is None:
                sorted_rows[name] = root_rows[np.argsort(key[root_rows], kind="stable")]
                continue
            kept = self._old_to_new[np.frombuffer(old, np.uint32)]
            kept = kept[kept >= 0]
            fresh = new_roots[np.lexsort((new_roots, key[new_roots]))]
            kept_keys, fresh_keys = key[kept], key[fresh]
            # among equal keys the rows ascend: (key, row) is the order
            lows = np.searchsorted(kept_keys, fresh_keys, side="left").tolist()
            highs = np.searchsorted(kept_keys, fresh_keys, side="right").tolist()
            kept_list = kept.tolist()
            positions = [
                bisect.bisect_left(kept_list, row, lo, hi)
                for row, lo, hi in zip(fresh.tolist(), lows, highs, strict=True)
            ]
            sorted_rows[name] = np.insert(kept, positions, fresh)
        self.txn.drop(db, delete=False)
        lib_of = f["lib"]
        for name, rows in sorted_rows.items():
            rows = rows.astype(np.uint32)
            self.txn.put(ALL_SCOPE + name.encode(), rows.tobytes(), db=db)
            # one stable grouping by library keeps each library's rows in this order
            libs = lib_of[rows]
            grouped = rows[np.argsort(libs, kind="stable")]
            counts = np.bincount(libs, minlength=len(cols.libs))
            start = 0
            for index, count in enumerate(counts.tolist()):
                if count:
                    self.txn.put(
                        cols.libs[index] + name.encode(),
                        grouped[start : start + count].tobytes(),
                        db=db,
                    )
                start += count

    def _children(self, cols: Columns) -> None:
        db = self.dbs.children
        f = cols.facets
        has_parent = cols.parents.any(axis=1)
        if self.snapshot or len(self.affected_parents) > TARGETED_CHILDREN_MAX:
            self.txn.drop(db, delete=False)
            rows = np.nonzero(has_parent)[0]
            pv = cols.parents[rows].reshape(-1).view("S16")
            order = np.lexsort((rows, f["episode"][rows], f["season"][rows], pv))
            rows, pv = rows[order], pv[order]
            starts = np.concatenate([[0], np.nonzero(pv[1:] != pv[:-1])[0] + 1, [rows.size]])
            for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
                if b > a:
                    key = cols.parents[rows[a]].tobytes()
                    self.txn.put(key, cols.ids[rows[a:b]].tobytes(), db=db)
            return
        words = cols.parents.view("<u8")  # (n, 2)
        for parent in self.affected_parents:
            p = np.frombuffer(parent, "<u8")
            rows = np.nonzero((words[:, 0] == p[0]) & (words[:, 1] == p[1]))[0]
            if rows.size == 0:
                self.txn.delete(parent, db=db)
                continue
            order = np.lexsort((rows, f["episode"][rows], f["season"][rows]))
            self.txn.put(parent, cols.ids[rows[order]].tobytes(), db=db)


def playable_below(txn: Any, dbs: Dbs, key: bytes) -> list[bytes]:
    """Movies and episodes at or below an item (marking a series marks its episodes)."""
    raw = txn.get(key, db=dbs.cards)
    if raw is None:
        return []
    card = msgspec.msgpack.decode(raw, type=Card)
    if card.kind in ("movie", "episode"):
        return [key]
    out: list[bytes] = []
    children = txn.get(key, db=dbs.children)
    if children is not None:
        data = bytes(children)
        for i in range(0, len(data), 16):
            out.extend(playable_below(txn, dbs, data[i : i + 16]))
    return out


def apply_action(writer: Writer, action: ProgressAction | MarkAction) -> None:
    """Show an action in the local watch state (newest client_ts wins, like the server)."""
    txn, dbs = writer.txn, writer.dbs
    if isinstance(action, ProgressAction):
        targets = [action.item_id.bytes]
    else:
        targets = playable_below(txn, dbs, action.item_id.bytes)
    for key in targets:
        raw = txn.get(key, db=dbs.watch)
        prev = None if raw is None else _watch_dec.decode(raw)
        if isinstance(action, ProgressAction):
            state = after_progress(prev, action)
        else:
            state = after_mark(prev, action.watched, action.client_ts)
        if state is not None:
            writer.set_watch(key, state)
