"""The media query (browse): filters, sort keys, keyset pages and totals.

The media query is one statement per (sort key, direction): every filter is a parameter that is
NULL when unused (``$n IS NULL OR ...``), so each statement can be PREPAREd at test time like any
other, and cursor pagination is keyset pagination on ``(sort key, id)``. Sort keys never are NULL
(missing values sort as the lowest), so the keyset comparison is a plain row comparison.

Speed (issue 6, 30k items): the statements run with custom plans forced, so the planner sees the
parameter values and folds every unused filter away; what remains is specialised per filter set
by the planner, not by formatting SQL at request time. Each sort key has an index on
``(key, id)`` over present items (migration 0008), so a page walks an index and stops after the
limit; resolution/HDR filters read a summary kept on the item (0008); fuzzy search is
``<%`` / ``ILIKE`` only, both served by the trigram indexes. The total count is the one part that
can have to visit every match: totals by kind and library (also "unwatched" among them) read a
tally kept by triggers (migration 0010), watch-status totals start from the user's watch rows,
and :mod:`store.media_totals` remembers the others until a change that can alter them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec

from store.db import Database, Record
from store.library_access import GET as VISIBLE
from store.media_totals import Totals, totals_for
from store.sql import Sql, sql
from store.sync_feed import series_sql
from sync.query import MediaKind


class ItemRow(msgspec.Struct, kw_only=True, frozen=True):
    """An item as the browse columns (``_ITEM_COLUMNS``) give it, with the user's watch state
    (all None: the user never played or marked it)."""

    id: uuid.UUID
    library_id: uuid.UUID
    kind: MediaKind
    parent_id: uuid.UUID | None
    title: str
    original_title: str | None
    sort_title: str
    year: int | None
    release_date: date | None
    air_date: date | None
    season_number: int | None
    episode_numbers: list[int] | None
    rating: float | None
    runtime_minutes: int | None
    genres: list[str] | None
    added_at: datetime
    series_item_id: uuid.UUID | None
    series_title: str | None
    position_s: float | None
    duration_s: float | None
    completed: bool | None
    play_count: int | None
    last_played_at: datetime | None
    client_ts: datetime | None
    sort_key: str | None = None
    """A query page's sort key as text (what the cursor carries)."""
    high_water: int | None = None
    series_id: uuid.UUID | None = None
    """Next Up's rows: the series the episode is next in."""


# Sort key expression and its SQL type (the cursor carries the key as text, cast back here).
# Migration 0008 indexes each of these (but last_watched) exactly as written here: change both.
# A year make_date() cannot take (0, or beyond 9999) counts as no year rather than failing.
SORT_KEYS: dict[str, tuple[str, str]] = {
    "title": ("i.sort_title", "text"),
    "year": ("coalesce(i.year, 0)", "integer"),
    "release_date": (
        "coalesce(i.release_date, i.air_date, "
        "CASE WHEN i.year BETWEEN 1 AND 9999 THEN make_date(i.year, 1, 1) END, "
        "DATE '0001-01-01')",
        "date",
    ),
    "date_added": ("i.added_at", "timestamptz"),
    "rating": ("coalesce(i.rating, -1)", "real"),
    "runtime": ("coalesce(i.runtime_minutes, -1)", "integer"),
    "last_watched": (
        "coalesce(ws.last_played_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')",
        "timestamptz",
    ),
}

_ITEM_COLUMNS = f"""
    i.id, i.library_id, i.kind, i.parent_id, i.title, i.original_title, i.sort_title, i.year,
    i.release_date, i.air_date, i.season_number, i.episode_numbers, i.rating, i.runtime_minutes,
    i.genres, i.added_at,
    {series_sql("i")[0]} AS series_item_id, {series_sql("i")[1]} AS series_title,
    ws.position_s, ws.duration_s, ws.completed, ws.play_count, ws.last_played_at, ws.client_ts
"""

# $1 user, $2 kinds, $3 libraries, $4 genres, $5 all genres?, $6/$7 year, $8/$9 rating,
# $10/$11 runtime, $12 min height, $13 hdr formats, $14 search, $15 watch status.
# Resolution and HDR read the item's summary of its present files (0008), which answers exactly
# "some present file is at least this tall" / "some present file has one of these formats".
# Search: word similarity on either title, or the text as a substring of the title; ILIKE (with
# the text's wildcards escaped) rather than strpos() so the trigram index serves every branch.
# The watch-status tests are strict in ws (NULL when there is no row) so that for "watched" and
# "in progress" the planner turns the outer join into an inner one and starts from watch_state.
_ITEM_FILTERS = r"""
    i.present
    AND ($2::text[] IS NULL OR i.kind = ANY($2::text[]))
    AND ($3::uuid[] IS NULL OR i.library_id = ANY($3::uuid[]))
    AND ($4::text[] IS NULL OR CASE WHEN $5::boolean THEN i.genres @> $4::text[]
                                    ELSE i.genres && $4::text[] END)
    AND ($6::integer IS NULL OR i.year >= $6::integer)
    AND ($7::integer IS NULL OR i.year <= $7::integer)
    AND ($8::real IS NULL OR i.rating >= $8::real)
    AND ($9::real IS NULL OR i.rating <= $9::real)
    AND ($10::integer IS NULL OR i.runtime_minutes >= $10::integer)
    AND ($11::integer IS NULL OR i.runtime_minutes <= $11::integer)
    AND ($12::integer IS NULL OR i.max_height >= $12::integer)
    AND ($13::text[] IS NULL OR i.hdr_formats && $13::text[])
    AND ($14::text IS NULL OR $14::text <% i.title OR $14::text <% i.original_title
         OR i.title ILIKE ('%' || replace(replace(replace($14::text, '\', '\\'), '%', '\%'),
                                          '_', '\_') || '%'))
"""
_UNWATCHED = "(ws.item_id IS NULL OR (NOT ws.completed AND ws.position_s = 0))"
_FILTERS = (
    _ITEM_FILTERS
    + f"""
    AND ($15::text IS NULL
         OR ($15::text = 'watched' AND ws.completed)
         OR ($15::text = 'in_progress' AND NOT ws.completed AND ws.position_s > 0)
         OR ($15::text = 'unwatched' AND {_UNWATCHED}))
"""
)
_FROM = """
    FROM media_items i
    LEFT JOIN watch_state ws ON ws.item_id = i.id AND ws.user_id = $1::uuid
"""


# The change log's high-water mark (as store.sync_feed.HIGH_WATER): every change that can alter
# a total (items, files, watch state) raises it in the writer's own transaction.
_HIGH_WATER = """(SELECT greatest((SELECT max(seq) FROM sync_changes),
                         (SELECT pruned_through FROM sync_retention)))"""


def _query_statement(key: str, kind: str, desc: bool) -> Sql:
    op, order = ("<", "DESC") if desc else (">", "ASC")
    # $16 cursor key (text), $17 cursor id, $18 limit, $19 offset
    return sql(
        f"""
        SELECT {_ITEM_COLUMNS}, ({key})::text AS sort_key, {_HIGH_WATER} AS high_water
        {_FROM}
        WHERE {_FILTERS}
          AND ($16::text IS NULL OR ({key}, i.id) {op} ($16::text::{kind}, $17::uuid))
        ORDER BY {key} {order}, i.id {order}
        LIMIT $18::integer OFFSET $19::integer
        """
    )


QUERIES: dict[tuple[str, bool], Sql] = {
    (name, desc): _query_statement(key, kind, desc)
    for name, (key, kind) in SORT_KEYS.items()
    for desc in (False, True)
}
COUNT = sql(f"SELECT count(*) AS total, {_HIGH_WATER} AS high_water {_FROM} WHERE {_FILTERS}")

# Totals that need no walk over the matches (migration 0010's tally of present items per library
# and kind), for filters on kind and library alone. $1 kinds, $2 libraries.
_TALLY = """(SELECT coalesce(sum(c.present), 0) FROM media_item_counts c
             WHERE ($1::text[] IS NULL OR c.kind = ANY($1::text[]))
               AND ($2::uuid[] IS NULL OR c.library_id = ANY($2::uuid[])))"""
TALLY = sql(f"SELECT {_TALLY}::bigint AS total, {_HIGH_WATER} AS high_water")


# Matches among the user's watch rows: the rows first (a tenth of the library here), each
# looking its item up by key. Left to itself the planner hashes the watch rows and walks every
# present item (4.5 ms at 30k items); the lateral subquery with OFFSET 0 cannot be flattened,
# so it stays a lookup per watch row. The watch_state key (user, item) makes this a count of
# distinct items.
def _watched_matches(user: str, watch_test: str, item_filters: str) -> str:
    return f"""(SELECT count(*) FROM watch_state ws
                CROSS JOIN LATERAL (SELECT 1 FROM media_items i
                                    WHERE i.id = ws.item_id AND {item_filters} OFFSET 0) m
                WHERE ws.user_id = {user}::uuid AND {watch_test})"""


_SCOPE_FILTERS = """i.present AND ($1::text[] IS NULL OR i.kind = ANY($1::text[]))
                    AND ($2::uuid[] IS NULL OR i.library_id = ANY($2::uuid[]))"""
_SEEN = f"NOT {_UNWATCHED}"
# "Unwatched" = every match less the matches the user has a watch row for that is not
# "unwatched". $3 user.
UNWATCHED_TALLY = sql(
    f"SELECT ({_TALLY} - {_watched_matches('$3', _SEEN, _SCOPE_FILTERS)})::bigint AS total, "
    f"{_HIGH_WATER} AS high_water"
)
# The same for any other filters: the matches (no watch-status test, so the join to watch_state
# is removed) less the user's seen ones among them. $1..$14 as in _FILTERS.
UNWATCHED_COUNT = sql(
    f"""
    SELECT ((SELECT count(*) {_FROM} WHERE {_ITEM_FILTERS})
            - {_watched_matches("$1", _SEEN, _ITEM_FILTERS)})::bigint AS total,
           {_HIGH_WATER} AS high_water
    """
)
# "Watched" and "in progress" can only match items the user has a watch row for.
_STARTED = """CASE $15::text WHEN 'watched' THEN ws.completed
                             ELSE NOT ws.completed AND ws.position_s > 0 END"""
WATCHED_COUNT = sql(
    f"SELECT {_watched_matches('$1', _STARTED, _ITEM_FILTERS)}::bigint AS total, "
    f"{_HIGH_WATER} AS high_water"
)
# Whether a change logged after a total was counted (seq in ($1, $2]) can alter it: a change to
# an item (its files, presence, fields) or library within the total's libraries ($3, NULL for
# all), or, for a watch-status filter, a change to that user's watch state ($4, NULL without
# one). Items never move between libraries (the upsert's key is (library, identity)), so the
# library logged with an item's change is the only one it can touch. Access changes narrow
# library_ids, which is part of the cache key. If rows after $1 were pruned, nobody can tell.
CHANGED_SINCE = sql(
    """
    SELECT (SELECT pruned_through FROM sync_retention) > $1::bigint
        OR EXISTS (
            SELECT 1 FROM sync_changes c
            WHERE c.seq > $1::bigint AND c.seq <= $2::bigint
              AND CASE c.entity
                  WHEN 'watch' THEN $4::uuid IS NOT NULL
                                    AND (c.user_id IS NULL OR c.user_id = $4::uuid)
                  WHEN 'access' THEN false
                  ELSE $3::uuid[] IS NULL OR c.library_id IS NULL
                       OR c.library_id = ANY($3::uuid[])
                  END)
    """
)
# Past this many logged changes, recounting is cheaper than looking through them (a scan logs
# thousands; an irrelevant watch heartbeat or a change in another library logs one).
CHANGED_SINCE_MAX = 2000


@dataclass(frozen=True)
class Filters:
    user_id: uuid.UUID
    kinds: list[str] | None = None
    library_ids: list[uuid.UUID] | None = None
    genres: list[str] | None = None
    all_genres: bool = False
    year_min: int | None = None
    year_max: int | None = None
    rating_min: float | None = None
    rating_max: float | None = None
    runtime_min: int | None = None
    runtime_max: int | None = None
    min_height: int | None = None
    hdr: list[str] | None = None
    search: str | None = None
    watch_status: str | None = None

    def args(self) -> tuple[Any, ...]:
        return (
            self.user_id,
            self.kinds,
            self.library_ids,
            self.genres,
            self.all_genres,
            self.year_min,
            self.year_max,
            self.rating_min,
            self.rating_max,
            self.runtime_min,
            self.runtime_max,
            self.min_height,
            self.hdr,
            self.search,
            self.watch_status,
        )

    def total_key(self) -> tuple[Any, ...]:
        """What the total depends on: the filters, and the user only through watch status (so
        every user browsing a library shares one cached total)."""
        user = self.user_id if self.watch_status is not None else None
        return tuple(tuple(a) if isinstance(a, list) else a for a in (user, *self.args()[1:]))

    def scope_only(self) -> bool:
        """Only kind and library (and watch status) narrow the matches: the tally answers."""
        return (
            self.genres,
            self.year_min,
            self.year_max,
            self.rating_min,
            self.rating_max,
            self.runtime_min,
            self.runtime_max,
            self.min_height,
            self.hdr,
            self.search,
        ) == (None,) * 10

    def total_statement(self) -> tuple[Sql, tuple[Any, ...], bool]:
        """The statement that counts the matches, its arguments, and whether it is cheap (the
        tally alone: cheaper than asking whether a cached total still holds; "unwatched" also
        walks the user's watch rows, a few ms for thousands of them)."""
        if self.watch_status is None and self.scope_only():
            return TALLY, (self.kinds, self.library_ids), True
        if self.watch_status == "unwatched":
            if self.scope_only():
                return UNWATCHED_TALLY, (self.kinds, self.library_ids, self.user_id), False
            return UNWATCHED_COUNT, self.args()[:14], False
        if self.watch_status in ("watched", "in_progress"):
            return WATCHED_COUNT, self.args(), False
        return COUNT, self.args(), False


# The statements are prepared (asyncpg caches them); a generic plan for "$n IS NULL OR ..."
# filters cannot know which filters are off and is often much worse than a custom one. JIT off:
# a count over a big library crosses jit_above_cost, and compiling costs far more (hundreds of
# ms) than the few ms the count runs. Both settings last until the transaction ends.
PLANNER_SETTINGS = sql(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
    "set_config('jit', 'off', true)"
)


async def query(
    db: Database,
    filters: Filters,
    sort: str,
    desc: bool,
    limit: int,
    offset: int,
    after: tuple[str, uuid.UUID] | None,
    with_total: bool = False,
) -> tuple[list[ItemRow], int | None]:
    """One page (and the total count of matches, without the cursor, when asked).

    The whole exchange is one hop to the asyncio side and one transaction (custom plans are a
    transaction-local setting). The total costs nothing when the first page is empty; else it
    comes from the cache when the change log has not moved since it was counted (the page
    statement reads the high-water mark in its own snapshot), or has moved only by changes that
    cannot alter it (watch state of other users, other libraries); else it is read from the
    tally or counted, in the same transaction.
    """
    return await db.run_asyncio(
        lambda conn: _page(
            conn, totals_for(db), filters, sort, desc, limit, offset, after, with_total
        )
    )


async def query_visible(
    db: Database,
    viewer_id: uuid.UUID,
    make_filters: Callable[[list[uuid.UUID] | None], Filters],
    sort: str,
    desc: bool,
    limit: int,
    offset: int,
    after: tuple[str, uuid.UUID] | None,
    with_total: bool = False,
) -> tuple[list[ItemRow], int | None]:
    """As :func:`query`, with the filters made from the libraries ``viewer_id`` may see
    (``users.library_ids``, read in the same hop and transaction: a separate lookup cost a hop
    and a pool round trip of its own, about 2 ms of a 4 ms request)."""
    totals = totals_for(db)

    async def run(conn: Any) -> tuple[list[ItemRow], int | None]:
        ids = await conn.fetchval(VISIBLE.text, viewer_id)
        filters = make_filters(None if ids is None else list(ids))
        return await _page(conn, totals, filters, sort, desc, limit, offset, after, with_total)

    return await db.run_asyncio(run)


async def _page(
    conn: Any,
    totals: Totals,
    filters: Filters,
    sort: str,
    desc: bool,
    limit: int,
    offset: int,
    after: tuple[str, uuid.UUID] | None,
    with_total: bool,
) -> tuple[list[ItemRow], int | None]:
    key, after_id = after if after is not None else (None, None)
    statement = QUERIES[(sort, desc)]
    args = (*filters.args(), key, after_id, limit, offset)
    total_key = filters.total_key()
    total_sql, total_args, cheap = filters.total_statement()
    async with conn.transaction():
        await conn.fetchval(PLANNER_SETTINGS.text)
        records: list[Record] = await conn.fetch(statement.text, *args)
        rows = [ItemRow(**r) for r in records]
        if not with_total:
            return rows, None
        if not rows and offset == 0 and after is None:
            return rows, 0
        if rows:
            high_water = rows[0].high_water
            known = totals.get(total_key)
            if known is not None and high_water is not None:
                mark, total = known
                if mark == high_water:
                    return rows, total
                if (
                    not cheap
                    and mark < high_water <= mark + CHANGED_SINCE_MAX
                    and not await conn.fetchval(
                        CHANGED_SINCE.text,
                        mark,
                        high_water,
                        filters.library_ids,
                        filters.user_id if filters.watch_status else None,
                    )
                ):
                    totals.put(total_key, high_water, total)
                    return rows, total
        counted = await conn.fetchrow(total_sql.text, *total_args)
    totals.put(total_key, counted["high_water"], counted["total"])
    return rows, int(counted["total"])


async def count(db: Database, filters: Filters) -> int:
    """The total, always counted (the cache is :func:`query`'s business)."""
    total_sql, total_args, _ = filters.total_statement()
    async with db.transaction() as conn:
        await conn.fetchval(PLANNER_SETTINGS)
        row = await conn.fetchrow(total_sql, *total_args)
    assert row is not None
    return int(row["total"])
