"""The media query end to end: builder → JSON → POST /api/v1/media/query → results, each checked
against an expectation computed here in plain Python from the seeded rows; the complexity
guard's accept/reject table; cursor and offset pagination."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from appliance.redis_client import RedisClient
from store import media_index, sync_feed
from store import media_query as mq
from store.db import Database
from store.sql import sql
from sync.query import (
    IN_PROGRESS,
    UNWATCHED,
    WATCHED,
    ComplexityGuard,
    MediaQuery,
    MediaQueryBuilder,
    SortBy,
    SortOrder,
    from_json,
    parse_peak_hours,
    to_json,
)
from tests.authkit import Harness
from tests.mediakit import Catalogue, Row, insert_rows, movie_rows, pg_title_matches, seed

NOON = datetime(2026, 1, 5, 12, 0)
EVENING = datetime(2026, 1, 5, 20, 0)


# --- builder and guard (no server) ------------------------------------------------------------


def test_builder_is_fluent_immutable_and_round_trips() -> None:
    user = uuid.uuid4()
    base = MediaQueryBuilder().for_user(user).movies_only()
    action = base.genre("Action").year_range(2020, 2024).rating_range(7, 10)
    q = (
        action.search("matrix")
        .watch_status(UNWATCHED)
        .sort_by(SortBy.RELEASE_DATE, SortOrder.DESC)
        .limit(50)
        .build()
    )
    assert base.build().genres == [] and action.build().search is None, "steps do not mutate"
    assert q.kinds == ["movie"] and q.genres == ["Action"] and q.user_id == user
    assert (q.year_min, q.year_max, q.rating_min, q.rating_max) == (2020, 2024, 7.0, 10.0)
    wire = msgspec.json.decode(to_json(q))
    assert wire["sort_by"] == "release_date" and wire["watch_status"] == "unwatched"
    assert from_json(to_json(q)) == q
    with pytest.raises(ValueError, match="3 characters"):
        MediaQueryBuilder().search("ab")
    with pytest.raises(ValueError, match="limit"):
        MediaQueryBuilder().limit(0)
    with pytest.raises(ValueError):
        MediaQueryBuilder().year_range(2024, 2020)
    with pytest.raises(msgspec.ValidationError):
        from_json(b'{"sort_by": "popularity"}')


@pytest.mark.parametrize(
    ("builder", "noon", "evening"),
    [
        # (query, cost at noon accepted?, at 20:00 (peak) accepted?) -- the seed's table
        (MediaQueryBuilder(), (0, True), (0, True)),
        (MediaQueryBuilder().search("matrix"), (10, True), (10, True)),
        (MediaQueryBuilder().watch_status(WATCHED), (5, True), (5, True)),
        (MediaQueryBuilder().search("matrix").watch_status(WATCHED), (15, True), (15, False)),
        (MediaQueryBuilder().search("matrix").genre("Action"), (12, True), (12, False)),
        (
            MediaQueryBuilder().search("matrix").genres("Action", "Drama", "Comedy"),
            (16, False),
            (16, False),
        ),
        (
            MediaQueryBuilder().genres("Action", "Drama", "Comedy", "Horror", "Romance"),
            (10, True),
            (10, True),
        ),
        (MediaQueryBuilder().offset(999), (0, True), (0, True)),
        (MediaQueryBuilder().offset(12_000), (12, True), (12, False)),
        (MediaQueryBuilder().offset(16_500), (16, False), (16, False)),
        (MediaQueryBuilder().watch_status(IN_PROGRESS).offset(10_000), (15, True), (15, False)),
    ],
)
def test_guard_table(
    builder: MediaQueryBuilder, noon: tuple[int, bool], evening: tuple[int, bool]
) -> None:
    guard = ComplexityGuard()
    for now, (points, accepted) in ((NOON, noon), (EVENING, evening)):
        cost = guard.evaluate(builder.build(), now)
        assert (cost.total, cost.accepted) == (points, accepted), now
        assert cost.total == sum(i.points for i in cost.items)
        assert cost.budget == (10 if now is EVENING else 15)
        assert (cost.hint is None) == accepted


def test_guard_hints_and_peak_windows() -> None:
    cost = ComplexityGuard().evaluate(MediaQueryBuilder().offset(20_000).build(), NOON)
    assert "cursor" in (cost.hint or "")
    assert parse_peak_hours("22-6") == ((22, 6),)
    wrap = ComplexityGuard(peak_hours=parse_peak_hours("22-6"))
    assert wrap.is_peak(datetime(2026, 1, 1, 23)) and wrap.is_peak(datetime(2026, 1, 1, 3))
    assert not wrap.is_peak(datetime(2026, 1, 1, 12))
    assert not ComplexityGuard(peak_hours=()).is_peak(EVENING)
    for bad in ("25-3", "x", "5-5"):
        with pytest.raises(ValueError):
            parse_peak_hours(bad)


# --- against the server -----------------------------------------------------------------------


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(db, redis, tmp_path / "data")
    harness.state.config.media.peak_hours = ""  # no peak hours: the table test covers them
    await harness.claim()
    yield harness


@pytest.fixture
async def cat(h: Harness, db: Database) -> Catalogue:
    return await seed(db, movie_rows(80))


async def _user_id(h: Harness, token: str) -> uuid.UUID:
    return uuid.UUID((await h.call("GET", "/api/v1/auth/me", token=token)).body["user"]["id"])


def _key(row: Row, by: SortBy, watched: dict[uuid.UUID, dict[str, Any]]) -> Any:
    if by == SortBy.TITLE:
        return row.sort_title
    if by == SortBy.YEAR:
        return row.year or 0
    if by == SortBy.RELEASE_DATE:
        return row.release_date or (date(row.year, 1, 1) if row.year else date(1, 1, 1))
    if by == SortBy.DATE_ADDED:
        return row.added_at
    if by == SortBy.RATING:
        return -1.0 if row.rating is None else row.rating
    if by == SortBy.RUNTIME:
        return -1 if row.runtime_minutes is None else row.runtime_minutes
    last = watched.get(row.id, {}).get("last")
    return last or datetime(1970, 1, 1, tzinfo=UTC)


def expect(
    cat: Catalogue,
    q: MediaQuery,
    watched: dict[uuid.UUID, dict[str, Any]] | None = None,
    found: set[uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    """The same query, computed from the seeded rows without the query's SQL; a search's hits
    ``found`` are Postgres' own verdict on the titles (:func:`tests.mediakit.pg_title_matches`)."""
    watched = watched or {}
    assert q.search is None or found is not None, "a search needs Postgres' verdict"

    def status(row: Row) -> str:
        w = watched.get(row.id)
        if w is None:
            return "unwatched"
        if w["completed"]:
            return "watched"
        return "in_progress" if w["position"] > 0 else "unwatched"

    def keep(r: Row) -> bool:
        if not r.present or (q.kinds and r.kind not in q.kinds):
            return False
        if q.genres and not (
            set(q.genres) <= set(r.genres)
            if q.genre_match == "all"
            else set(q.genres) & set(r.genres)
        ):
            return False
        for value, low, high in (
            (r.year, q.year_min, q.year_max),
            (r.rating, q.rating_min, q.rating_max),
            (r.runtime_minutes, q.runtime_min, q.runtime_max),
        ):
            if (low is not None or high is not None) and value is None:
                return False
            if low is not None and value is not None and value < low - 1e-6:
                return False
            if high is not None and value is not None and value > high + 1e-6:
                return False
        if q.min_height is not None and (r.height or 0) < q.min_height:
            return False
        if q.hdr and r.hdr not in q.hdr:
            return False
        if found is not None and r.id not in found:
            return False  # pg_trgm's own <% on the same titles
        return not (q.watch_status is not None and status(r) != q.watch_status.value)

    rows = [r for r in cat.rows if keep(r)]
    desc = q.sort_order == SortOrder.DESC
    rows.sort(key=lambda r: (_key(r, q.sort_by, watched), r.id.int), reverse=desc)
    return [r.id for r in rows]


async def run_query(h: Harness, token: str, q: MediaQuery) -> dict[str, Any]:
    reply = await h.call(
        "POST", "/api/v1/media/query", msgspec.json.decode(to_json(q)), token=token
    )
    assert reply.status == 200, reply.body
    return dict(reply.body)


async def all_pages(h: Harness, token: str, q: MediaQuery) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    page = await run_query(h, token, q)
    while True:
        seen += [uuid.UUID(i["id"]) for i in page["items"]]
        if page["next_cursor"] is None:
            return seen
        q = msgspec.structs.replace(q, cursor=page["next_cursor"], offset=0)
        page = await run_query(h, token, q)


QUERIES = [
    MediaQueryBuilder(),
    MediaQueryBuilder().movies_only().genre("Action"),
    MediaQueryBuilder()
    .genres("Action", "Drama", match="all")
    .sort_by(SortBy.RATING, SortOrder.DESC),
    MediaQueryBuilder().year_range(1980, 2000).sort_by(SortBy.YEAR),
    MediaQueryBuilder().year_range(None, 1990).sort_by(SortBy.RELEASE_DATE, SortOrder.DESC),
    MediaQueryBuilder().rating_range(7, 10).sort_by(SortBy.RATING, SortOrder.DESC),
    MediaQueryBuilder().runtime_range(90, 120).sort_by(SortBy.RUNTIME),
    MediaQueryBuilder().min_height(1080).sort_by(SortBy.DATE_ADDED, SortOrder.DESC),
    MediaQueryBuilder().hdr().sort_by(SortBy.TITLE, SortOrder.DESC),
    MediaQueryBuilder().hdr("DolbyVision"),
    MediaQueryBuilder().search("matrix"),
    MediaQueryBuilder().search("matrx"),
    MediaQueryBuilder().search("fabuleux"),
    MediaQueryBuilder().search("gravty"),  # 5 of 7 trigrams shared, yet under pg_trgm's 0.6
    MediaQueryBuilder().search("interstelar"),
    MediaQueryBuilder().sort_by(SortBy.LAST_WATCHED, SortOrder.DESC),
    MediaQueryBuilder().watch_status(WATCHED),
    MediaQueryBuilder().watch_status(IN_PROGRESS).sort_by(SortBy.LAST_WATCHED, SortOrder.DESC),
    MediaQueryBuilder().watch_status(UNWATCHED).genre("Drama"),
]


async def test_queries_match_the_independent_expectation(
    h: Harness, db: Database, cat: Catalogue
) -> None:
    token = await h.token()
    user = await _user_id(h, token)
    watched: dict[uuid.UUID, dict[str, Any]] = {}
    for n, row in enumerate(r for r in cat.rows if r.present and r.kind == "movie"):
        if n % 3 == 2:
            continue
        at = datetime(2025, 6, 1, tzinfo=UTC).replace(minute=n % 60, hour=n % 24)
        completed = n % 3 == 0
        position = 0.0 if n % 9 == 1 else 600.0
        await mq.save_progress(db, user, row.id, position, 6000.0, completed, at, "tv")
        watched[row.id] = {"completed": completed, "position": position, "last": at}

    for builder in QUERIES:
        q = builder.limit(7).build()
        found = (
            None
            if q.search is None
            else await pg_title_matches(
                db, q.search, {r.id: (r.title, r.original_title) for r in cat.rows}
            )
        )
        expected = expect(cat, q, watched, found)
        assert expected or q.search or q.genre_match == "all", f"empty expectation: {q}"
        first = await run_query(h, token, q)
        assert first["total"] == len(expected), q
        assert [uuid.UUID(i["id"]) for i in first["items"]] == expected[:7], q
        assert await all_pages(h, token, q) == expected, f"cursor pages: {q}"
        offset_page = await run_query(h, token, builder.limit(5).offset(3).build())
        assert [uuid.UUID(i["id"]) for i in offset_page["items"]] == expected[3:8], q

    matrix = await run_query(h, token, MediaQueryBuilder().search("matrix").build())
    assert {i["title"] for i in matrix["items"]} == {"The Matrix", "The Matrix Reloaded"}
    assert matrix["cost"]["total"] == 10


async def test_over_budget_is_422_with_breakdown_and_bad_queries_are_refused(
    h: Harness, cat: Catalogue
) -> None:
    token = await h.token()
    q = MediaQueryBuilder().search("matrix").genres("Action", "Drama", "Comedy").build()
    reply = await h.call("POST", "/api/v1/media/query", msgspec.to_builtins(q), token=token)
    assert (reply.status, reply.code) == (422, "query_too_complex")
    cost = reply.body["error"]["details"]["cost"]
    assert cost["total"] == 16 and cost["budget"] == 15 and not cost["accepted"]
    assert {i["factor"]: i["points"] for i in cost["items"]} == {"fuzzy_search": 10, "genres": 6}
    assert cost["hint"]

    deep = await h.call("POST", "/api/v1/media/query", {"offset": 40_000}, token=token)
    assert deep.status == 422 and "cursor" in deep.body["error"]["message"]

    h.state.config.media.peak_hours = "0-24"  # always peak: budget 10
    peak = await h.call(
        "POST", "/api/v1/media/query", {"search": "matrix", "watch_status": "watched"}, token=token
    )
    assert peak.status == 422 and peak.body["error"]["details"]["cost"]["peak"] is True
    h.state.config.media.peak_hours = ""

    for body, code in (
        ({"search": "ab"}, "invalid_query"),
        ({"limit": 0}, "invalid_query"),
        ({"cursor": "nonsense!", "limit": 3}, "invalid_cursor"),
        ({"sort_by": "popularity"}, "invalid_body"),
        ({"unknown": 1}, "invalid_body"),
    ):
        reply = await h.call("POST", "/api/v1/media/query", body, token=token)
        assert (reply.status, reply.code) == (422, code), body

    page = await run_query(h, token, MediaQueryBuilder().limit(2).build())
    other = {"cursor": page["next_cursor"], "sort_by": "year", "limit": 2}
    reply = await h.call("POST", "/api/v1/media/query", other, token=token)
    assert (reply.status, reply.code) == (422, "invalid_cursor")


async def test_watch_state_is_per_user_and_only_admins_query_others(
    h: Harness, db: Database, cat: Catalogue
) -> None:
    admin = await h.token()
    user = await h.create_user(admin, "viewer")
    viewer = await h.token("viewer", "user password 1", device="v")
    heat = cat.by_title("Jaws")
    await mq.save_progress(
        db,
        uuid.UUID(user["id"]),
        heat.id,
        100.0,
        6000.0,
        True,
        datetime(2025, 1, 1, tzinfo=UTC),
        "x",
    )
    watched = MediaQueryBuilder().watch_status(WATCHED).build()
    assert (await run_query(h, viewer, watched))["total"] == 1
    assert (await run_query(h, admin, watched))["total"] == 0
    as_viewer = msgspec.structs.replace(watched, user_id=uuid.UUID(user["id"]))
    assert (await run_query(h, admin, as_viewer))["total"] == 1
    me = await _user_id(h, admin)
    reply = await h.call(
        "POST",
        "/api/v1/media/query",
        msgspec.to_builtins(msgspec.structs.replace(watched, user_id=me)),
        token=viewer,
    )
    assert reply.status == 403


SET_GENRES = sql("UPDATE media_items SET genres = $2::text[] WHERE id = $1")
DELETE_FILE = sql("DELETE FROM media_files WHERE id = $1")


def _info(height: int, hdr: str) -> str:
    return msgspec.json.encode(
        {
            "container": "matroska,webm",
            "duration_s": 60.0,
            "video": {"codec": "hevc", "height": height, "hdr": hdr},
        }
    ).decode()


async def test_totals_and_file_filters_follow_every_kind_of_change(
    h: Harness, db: Database, cat: Catalogue
) -> None:
    """Totals are cached until the library changes, and resolution/HDR filters read a summary
    kept on the item: after each writer's change (analysis, a file gone, a file moved to another
    item, a file deleted, new genres, watch state) the same queries give the new truth."""
    token = await h.token()
    user = await _user_id(h, token)
    watched: dict[uuid.UUID, dict[str, Any]] = {}
    queries = [
        MediaQueryBuilder().hdr("DolbyVision"),
        MediaQueryBuilder().min_height(2160).sort_by(SortBy.RATING, SortOrder.DESC),
        MediaQueryBuilder().genre("Horror"),
        MediaQueryBuilder().watch_status(WATCHED),
    ]

    async def check(step: str) -> None:
        for builder in queries:
            q = builder.limit(4).build()
            expected = expect(cat, q, watched)
            for _ in range(2):  # counted, then (unchanged library) from the cache
                page = await run_query(h, token, q)
                assert page["total"] == len(expected), (step, q)
                assert [uuid.UUID(i["id"]) for i in page["items"]] == expected[:4], (step, q)

    def pick(height: int, hdr: str, *, but: Row | None = None) -> Row:
        return next(
            r for r in cat.rows if r.present and (r.height, r.hdr) == (height, hdr) and r is not but
        )

    def path(row: Row) -> str:
        return f"/srv/media/films/{row.title}/{row.title}.mkv"

    await check("seeded")
    reanalysed = pick(480, "SDR")
    assert reanalysed.file_id is not None
    async with db.transaction() as conn:
        await media_index.save_analysis(conn, reanalysed.file_id, _info(2160, "DolbyVision"), None)
    reanalysed.height, reanalysed.hdr = 2160, "DolbyVision"
    await check("analysed again")

    gone = pick(2160, "DolbyVision", but=reanalysed)
    async with db.transaction() as conn:
        await media_index.mark_missing(conn, cat.library_id, [path(gone)])
    gone.height, gone.hdr = None, None  # the item is still present, without a present file
    await check("file gone")

    source, target = pick(2160, "DolbyVision", but=reanalysed), pick(720, "SDR")
    assert source.file_id is not None
    async with db.transaction() as conn:
        await media_index.link_files(conn, [(source.file_id, target.id)])
    target.height, target.hdr = 2160, "DolbyVision"  # now two files: 720 SDR and 2160 DV
    source.height, source.hdr = None, None
    await check("file moved to another item")

    deleted = pick(1080, "DolbyVision")
    await db.execute(DELETE_FILE, deleted.file_id)
    deleted.height, deleted.hdr = None, None
    await check("file deleted")

    regenred = next(r for r in cat.rows if r.present and "Horror" not in r.genres)
    await db.execute(SET_GENRES, regenred.id, [*regenred.genres, "Horror"])
    regenred.genres = [*regenred.genres, "Horror"]
    await check("genres edited")

    seen = next(r for r in cat.rows if r.present)
    at = datetime(2025, 6, 1, tzinfo=UTC)
    await mq.save_progress(db, user, seen.id, 5900.0, 6000.0, True, at, "tv")
    watched[seen.id] = {"completed": True, "position": 5900.0, "last": at}
    await check("watched")


SET_PRESENT = sql("UPDATE media_items SET present = $2 WHERE id = $1")
SET_KIND = sql("UPDATE media_items SET kind = $2 WHERE id = $1")
DELETE_ITEM = sql("DELETE FROM media_items WHERE id = $1")


async def test_totals_stay_exact_through_tallies_and_partial_invalidation(
    h: Harness, db: Database, cat: Catalogue
) -> None:
    """Totals come from the per-library tally, from "all matches less the user's seen ones", or
    from a cache that survives changes that cannot alter it (other users' watch state, other
    libraries): through every kind of change, in either library, by either user, and across a
    pruning of the change log, every total is still the count of what the query matches."""
    token = await h.token()
    me = await _user_id(h, token)
    other = uuid.UUID((await h.create_user(token, "other"))["id"])
    docs = await seed(db, movie_rows(12, seed=5), root="/srv/media/docs", name="Docs")
    both = Catalogue(cat.library_id, [*cat.rows, *docs.rows])
    watched: dict[uuid.UUID, dict[str, Any]] = {}
    films_only = [cat.library_id]
    queries: list[tuple[MediaQueryBuilder, Catalogue]] = [
        (MediaQueryBuilder().movies_only(), both),
        (MediaQueryBuilder(), both),
        (MediaQueryBuilder().library(*films_only).movies_only(), cat),
        (MediaQueryBuilder().watch_status(UNWATCHED), both),
        (MediaQueryBuilder().library(*films_only).watch_status(UNWATCHED), cat),
        (MediaQueryBuilder().watch_status(UNWATCHED).genre("Drama"), both),
        (MediaQueryBuilder().watch_status(IN_PROGRESS).genre("Drama"), both),
        (MediaQueryBuilder().watch_status(WATCHED), both),
        (MediaQueryBuilder().genre("Horror"), both),
        (MediaQueryBuilder().library(*films_only).genre("Horror").min_height(1080), cat),
    ]

    async def check(step: str) -> None:
        for builder, catalogue in queries:
            q = builder.limit(3).build()
            expected = expect(catalogue, q, watched)
            for _ in range(2):  # counted (or read from the tally), then as cached
                page = await run_query(h, token, q)
                assert page["total"] == len(expected), (step, q)
                assert [uuid.UUID(i["id"]) for i in page["items"]] == expected[:3], (step, q)

    async def progress(
        user: uuid.UUID, row: Row, position: float, completed: bool, minute: int
    ) -> None:
        at = datetime(2025, 6, 1, 12, minute, tzinfo=UTC)
        assert await mq.save_progress(db, user, row.id, position, 6000.0, completed, at, "tv")
        if user == me:
            watched[row.id] = {"completed": completed, "position": position, "last": at}

    films = [r for r in cat.rows if r.present]
    await check("seeded")
    for n, row in enumerate(films[:9]):
        await progress(me, row, 0.0 if n % 3 == 0 else 600.0, n % 3 == 1, n)
    await check("my watch state")
    for n, row in enumerate(films[5:25]):
        await progress(other, row, 300.0, n % 2 == 0, n)
    await check("another user's heartbeats")
    await progress(me, films[0], 5900.0, True, 30)  # unwatched (position 0) -> watched
    await progress(me, films[2], 100.0, False, 31)  # in progress -> still, other position
    await check("my progress again")

    gone = next(r for r in docs.rows if r.present)
    await db.execute(SET_PRESENT, gone.id, False)
    gone.present = False
    await check("an item of the other library went missing")
    back = next(r for r in cat.rows if not r.present)
    await db.execute(SET_PRESENT, back.id, True)
    back.present = True
    await check("an item came back")
    moved = films[3]
    await db.execute(SET_KIND, moved.id, "series")
    moved.kind = "series"
    await check("an item changed kind")
    deleted = films[4]
    await db.execute(DELETE_ITEM, deleted.id)
    cat.rows.remove(deleted)
    both.rows.remove(deleted)
    watched.pop(deleted.id, None)
    await check("a watched item deleted")
    added = movie_rows(6, seed=9)
    await insert_rows(db, docs.library_id, added, "/srv/media/docs/new")
    docs.rows += added
    both.rows += added
    await check("items added to the other library")

    regenred = next(r for r in docs.rows if r.present and "Horror" not in r.genres)
    await db.execute(SET_GENRES, regenred.id, [*regenred.genres, "Horror"])
    regenred.genres = [*regenred.genres, "Horror"]
    await sync_feed.prune(db, timedelta(0))  # the change that moved the total is pruned away
    await check("genres edited, then the change log pruned")
