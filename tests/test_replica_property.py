"""A replica kept up to date by deltas must be indistinguishable from a fresh snapshot of the
final state: every read the player makes gives the same answer."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.feed_types import EndFrame
from sync.query import MediaQueryBuilder, SortBy, SortOrder, WatchStatus
from sync.replica import Replica
from sync.replica_prepare import PreparedBatch, prepare_batch
from tests.feedkit import batches, world

SPOOL = msgspec.msgpack.Decoder(PreparedBatch)
QUERIES = [
    MediaQueryBuilder().limit(500).build(),
    MediaQueryBuilder().movies_only().genres("Drama", "Comedy").limit(500).build(),
    MediaQueryBuilder().genres("Action", "Thriller", match="all").limit(500).build(),
    MediaQueryBuilder()
    .year_range(1980, 2000)
    .sort_by(SortBy.RATING, SortOrder.DESC)
    .limit(500)
    .build(),
    MediaQueryBuilder().search("night").limit(500).build(),
    MediaQueryBuilder().search("matrx").sort_by(SortBy.YEAR).limit(500).build(),
    MediaQueryBuilder().watch_status(WatchStatus.WATCHED).limit(500).build(),
    MediaQueryBuilder()
    .watch_status(WatchStatus.IN_PROGRESS)
    .sort_by(SortBy.LAST_WATCHED, SortOrder.DESC)
    .limit(500)
    .build(),
    MediaQueryBuilder().watch_status(WatchStatus.UNWATCHED).episodes_only().limit(500).build(),
    MediaQueryBuilder().min_height(2160).hdr().limit(500).build(),
    MediaQueryBuilder().rating_range(7, None).runtime_range(None, 120).limit(500).build(),
]


def everything(replica: Replica, item_ids: list[Any]) -> dict[str, Any]:
    """Every answer the public read API gives about this state."""
    out: dict[str, Any] = {
        "cursor": replica.cursor,
        "libraries": replica.libraries(),
        "genres": replica.genres(),
    }
    with replica.view() as v:
        for scope in [None, *(lib.id for lib in v.libraries())]:
            out[f"count {scope}"] = v.count(scope)
            for sort in (
                SortBy.TITLE,
                SortBy.YEAR,
                SortBy.DATE_ADDED,
                SortBy.RATING,
                SortBy.RUNTIME,
            ):
                for order in SortOrder:
                    out[f"cards {scope} {sort} {order}"] = v.cards(scope, sort, order, 0, 10_000)
            out[f"recent {scope}"] = v.recently_added(scope, 25)
        for i, q in enumerate(QUERIES):
            out[f"query {i}"] = v.query(q)
        out["continue"] = v.continue_watching(50)
        out["next up"] = v.next_up(50)
        for item_id in item_ids:
            record = v.item(item_id)
            out[f"item {item_id}"] = record
            out[f"watch {item_id}"] = v.watch(item_id)
            out[f"children {item_id}"] = v.children(item_id)
            if record is not None and record.poster_image_id:
                out[f"image {record.poster_image_id}"] = v.image(record.poster_image_id)
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), pages=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_snapshot_then_deltas_equals_fresh_snapshot(seed: int, pages: list[int]) -> None:
    w = world(seed, movies=120, shows=2)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        incremental = Replica.open(Path(tmp) / "a")
        incremental.apply_snapshot(batches(w.snapshot_frames(), rng.randint(1, 50)))
        all_ids = set(w.items)
        for count in pages:
            incremental.apply_changes(w.random_changes(count))
            all_ids |= set(w.items)
        fresh = Replica.open(Path(tmp) / "b")
        # the fresh one goes the way SyncClient spools a snapshot: prepared, encoded, decoded
        spooled = [
            SPOOL.decode(msgspec.msgpack.encode(prepare_batch(b)))
            for b in batches(w.snapshot_frames(), 17)
        ]
        fresh.apply_snapshot(spooled)
        incremental.apply_changes([EndFrame(seq=w.seq)])  # an empty page: the same cursor
        ids = sorted(all_ids)
        try:
            assert everything(incremental, ids) == everything(fresh, ids)
            assert incremental.count() == len([r for r in w.items.values() if r.parent_id is None])
        finally:
            incremental.close()
            fresh.close()
