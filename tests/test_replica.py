"""The player's LMDB replica: applying snapshot and change frames, reading it back (grid pages,
queries, details, home rows), against a real LMDB environment on disk."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from sync.feed_types import EndFrame, FrameError, ItemFrame, LibraryFrame, Tombstone, WatchFrame
from sync.query import MediaQueryBuilder, SortBy, SortOrder, WatchStatus
from sync.replica import Replica
from tests.feedkit import T0, World, batches, world


@pytest.fixture
def setup(tmp_path: Path) -> tuple[World, Replica]:
    w = world(7, movies=60, shows=3)
    replica = Replica.open(tmp_path / "replica")
    replica.apply_snapshot(batches(w.snapshot_frames(), 25))
    yield w, replica
    replica.close()


def films(w: World) -> uuid.UUID:
    return next(lib.id for lib in w.libraries.values() if lib.name == "Films")


def roots(w: World, library_id: uuid.UUID | None = None) -> list:
    return [
        i
        for i in w.items.values()
        if i.parent_id is None and (library_id is None or i.library_id == library_id)
    ]


def test_empty_replica_needs_a_snapshot(tmp_path: Path) -> None:
    with Replica.open(tmp_path / "r") as replica:
        assert replica.needs_snapshot
        assert replica.cursor == 0
        assert replica.count() == 0 and replica.cards() == [] and replica.libraries() == []


def test_snapshot_fills_grid_in_title_order(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    assert not replica.needs_snapshot
    assert replica.cursor == w.seq
    assert replica.server_id == w.server_id and replica.user_id == w.user_id
    assert sorted(lib.name for lib in replica.libraries()) == ["Films", "Shows"]
    expected = sorted(roots(w), key=lambda r: (r.sort_title.casefold(), r.id.bytes))
    page = replica.cards(None, SortBy.TITLE, SortOrder.ASC, 0, 500)
    assert [c.id for c in page] == [r.id for r in expected]
    assert replica.count() == len(expected)
    assert replica.count(films(w)) == len(roots(w, films(w)))
    # offset/limit page, and descending is the exact reverse
    assert [c.id for c in replica.cards(None, SortBy.TITLE, SortOrder.ASC, 10, 5)] == [
        r.id for r in expected[10:15]
    ]
    desc = replica.cards(None, SortBy.TITLE, SortOrder.DESC, 0, 500)
    assert [c.id for c in desc] == [r.id for r in reversed(expected)]


@pytest.mark.parametrize("sort", [SortBy.YEAR, SortBy.RATING, SortBy.DATE_ADDED, SortBy.RUNTIME])
def test_sorted_pages_follow_the_sort_key(setup: tuple[World, Replica], sort: SortBy) -> None:
    w, replica = setup
    lib = films(w)
    key = {
        SortBy.YEAR: lambda r: r.year or 0,
        SortBy.RATING: lambda r: r.rating or -1,
        SortBy.DATE_ADDED: lambda r: r.added_at,
        SortBy.RUNTIME: lambda r: r.runtime_minutes or -1,
    }[sort]
    page = replica.cards(lib, sort, SortOrder.DESC, 0, 500)
    records = [w.items[c.id] for c in page]
    assert len(records) == len(roots(w, lib))
    values = [key(r) for r in records]
    assert values == sorted(values, reverse=True)


def test_card_and_detail_records(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    movie = next(i for i in w.items.values() if i.kind == "movie")
    assert replica.item(movie.id) == movie
    card = next(c for c in replica.cards(limit=500) if c.id == movie.id)
    assert (card.title, card.year, card.placeholder_color, card.poster_image_id) == (
        movie.title,
        movie.year,
        movie.placeholder_color,
        movie.poster_image_id,
    )
    entry = replica.image(movie.poster_image_id or "")
    assert entry is not None and entry.color == movie.placeholder_color
    assert entry.blurhash == movie.blurhash and entry.kind == "poster"
    assert replica.item(uuid.uuid4()) is None


def test_children_in_season_and_episode_order(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    show = next(i for i in w.items.values() if i.kind == "series")
    seasons = replica.children(show.id)
    assert [c.title for c in seasons] == ["Season 1", "Season 2"]
    episodes = replica.children(seasons[1].id)
    assert [w.items[c.id].episode_numbers for c in episodes] == [[1], [2], [3]]
    assert all(c.parent_id == seasons[1].id for c in episodes)


def test_query_filters_like_the_server(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    q = (
        MediaQueryBuilder()
        .movies_only()
        .genres("Drama", "Comedy")
        .year_range(1970, 2010)
        .rating_range(5, None)
        .sort_by(SortBy.YEAR)
        .limit(500)
        .build()
    )
    cards, total = replica.query(q)
    expected = [
        r
        for r in w.items.values()
        if r.kind == "movie"
        and {"Drama", "Comedy"} & set(r.genres)
        and r.year is not None
        and 1970 <= r.year <= 2010
        and r.rating is not None
        and r.rating >= 5
    ]
    assert total == len(expected)
    assert {c.id for c in cards} == {r.id for r in expected}
    assert [w.items[c.id].year for c in cards] == sorted(r.year for r in expected)
    # all genres, and paging with a total
    q2 = MediaQueryBuilder().genres("Drama", "Comedy", match="all").limit(2).build()
    page, total2 = replica.query(q2)
    both = [r for r in w.items.values() if {"Drama", "Comedy"} <= set(r.genres)]
    assert total2 == len(both) and len(page) == min(2, len(both))


def test_search_finds_substrings_and_typos(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    target = next(r for r in w.items.values() if r.kind == "movie" and len(r.title) > 8)
    word = max(target.title.split(), key=len)
    cards, _ = replica.query(MediaQueryBuilder().search(word.lower()).limit(500).build())
    assert target.id in {c.id for c in cards}
    typo = word[:-2] + word[-1]  # one letter dropped
    if len(typo.strip()) >= 3:
        cards, _ = replica.query(MediaQueryBuilder().search(typo).limit(500).build())
        assert target.id in {c.id for c in cards}
    cards, total = replica.query(MediaQueryBuilder().search("zzqqxx").build())
    assert (cards, total) == ([], 0)


def test_deltas_upsert_delete_and_watch(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    lib = films(w)
    new = w.movie(lib, "Aaaa First Film")
    gone = next(r for r in roots(w, lib) if r.id != new.id)
    del w.items[gone.id]
    seen = next(r for r in roots(w, lib) if r.id != new.id)
    state = w.set_watch(seen.id, 100.0, False, T0 + timedelta(days=3))
    end = replica.apply_changes(
        [
            ItemFrame(item=new),
            Tombstone(entity="item", id=gone.id),
            WatchFrame(item_id=seen.id, state=state),
            EndFrame(seq=w.seq + 1),
        ]
    )
    assert end.seq == replica.cursor == w.seq + 1
    assert replica.cards(lib, limit=1)[0].id == new.id
    assert replica.item(gone.id) is None
    assert gone.id not in {c.id for c in replica.cards(lib, limit=500)}
    assert replica.watch(seen.id) == state
    in_progress, _ = replica.query(
        MediaQueryBuilder().watch_status(WatchStatus.IN_PROGRESS).limit(500).build()
    )
    assert [c.id for c in in_progress] == [seen.id]
    assert [c.id for c in replica.continue_watching(5)] == [seen.id]


def test_library_tombstone_removes_its_items(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    lib = films(w)
    replica.apply_changes([Tombstone(entity="library", id=lib), EndFrame(seq=w.seq + 1)])
    assert replica.count(lib) == 0
    assert [x.name for x in replica.libraries()] == ["Shows"]
    assert replica.count() == len([r for r in roots(w) if r.library_id != lib])


def test_recently_added_and_next_up(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    newest = sorted(
        (r for r in w.items.values() if r.kind in ("movie", "series", "episode")),
        key=lambda r: r.added_at,
        reverse=True,
    )
    got = replica.recently_added(None, 5)
    assert [w.items[c.id].added_at for c in got] == [r.added_at for r in newest[:5]]
    show = next(i for i in w.items.values() if i.kind == "series")
    season1 = replica.children(show.id)[0]
    first, second, _ = replica.children(season1.id)
    state = w.set_watch(first.id, 5400.0, True, T0 + timedelta(days=1))
    replica.apply_changes([WatchFrame(item_id=first.id, state=state), EndFrame(seq=w.seq + 1)])
    assert [c.id for c in replica.next_up(5)] == [second.id]


def test_a_batch_without_end_frame_changes_nothing(setup: tuple[World, Replica]) -> None:
    w, replica = setup
    before = replica.cards(limit=500)
    lib = films(w)
    with pytest.raises(FrameError):
        replica.apply_changes(
            [ItemFrame(item=w.movie(lib, "Aaaa Never")), LibraryFrame(library=w.libraries[lib])]
        )
    assert replica.cards(limit=500) == before and replica.cursor == w.seq


def test_bad_queries_are_refused(setup: tuple[World, Replica]) -> None:
    _, replica = setup
    q = MediaQueryBuilder().build()
    assert replica.is_complete_for(q)
    with pytest.raises(ValueError, match="cursor"):
        replica.query(MediaQueryBuilder().after("abc").build())
    assert not replica.is_complete_for(MediaQueryBuilder().after("abc").build())
    other = MediaQueryBuilder().for_user(uuid.uuid4()).build()
    assert not replica.is_complete_for(other)
    with pytest.raises(ValueError, match="user_id"):
        replica.query(other)
