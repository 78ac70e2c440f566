"""Media queries, shared by the appliance and the player.

:class:`MediaQueryBuilder` is a fluent, immutable builder: every step returns a new builder, so a
partially built query can be kept and branched from. ``build()`` gives a :class:`MediaQuery`, a
msgspec struct that is exactly what ``POST /api/v1/media/query`` takes on the wire.

:class:`ComplexityGuard` prices a query with the seed design's cost table and refuses one over
the budget (15 points, 10 during peak hours). The server answers such a query with 422 and the
breakdown; the player's decision engine calls the same function to decide whether to ask the
server at all.

=====================  ========  =================================================
factor                 cost      mitigation
=====================  ========  =================================================
fuzzy search           +10       at least 3 characters (shorter is refused)
watch-status filter    +5        needs the per-user watch-state join
genres                 +2 each   (any/all alike)
offset                 +1/1000   use cursor pagination instead
=====================  ========  =================================================
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from sync.wire import INT4_MAX, Label, Minutes, Opaque, Pixels, Rating, SearchText, Year

MediaKind = Literal["movie", "series", "season", "episode"]
HdrFormat = Literal["SDR", "HDR10", "HDR10+", "HLG", "DolbyVision"]
MIN_SEARCH_CHARS = 3
MAX_LIMIT = 500
MAX_GENRES = 50
MAX_LIST = 1000
DEFAULT_LIMIT = 50


class WatchStatus(enum.StrEnum):
    UNWATCHED = "unwatched"
    """No progress and not completed."""
    IN_PROGRESS = "in_progress"
    """Some progress, not completed."""
    WATCHED = "watched"
    """Completed (played to 95 % or into the credits, or marked watched)."""


UNWATCHED = WatchStatus.UNWATCHED
IN_PROGRESS = WatchStatus.IN_PROGRESS
WATCHED = WatchStatus.WATCHED


class SortBy(enum.StrEnum):
    TITLE = "title"
    """The sort title ("Matrix, The")."""
    YEAR = "year"
    RELEASE_DATE = "release_date"
    DATE_ADDED = "date_added"
    RATING = "rating"
    RUNTIME = "runtime"
    LAST_WATCHED = "last_watched"


class SortOrder(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


class MediaQuery(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to find. Empty lists and None mean "no filter". Items not present on disk are never
    returned."""

    user_id: uuid.UUID | None = None
    """Whose watch state to filter and sort by; the server uses the caller when None, and only
    an admin may name another user."""
    kinds: Annotated[list[MediaKind], msgspec.Meta(max_length=8)] = []
    library_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=MAX_LIST)] = []
    genres: Annotated[list[Label], msgspec.Meta(max_length=MAX_GENRES)] = []
    genre_match: Literal["any", "all"] = "any"
    year_min: Year | None = None
    year_max: Year | None = None
    rating_min: Rating | None = None
    rating_max: Rating | None = None
    runtime_min: Minutes | None = None
    """Minutes."""
    runtime_max: Minutes | None = None
    min_height: Pixels | None = None
    """At least one present file whose video is at least this tall (720, 1080, 2160)."""
    hdr: Annotated[list[HdrFormat], msgspec.Meta(max_length=8)] = []
    """At least one present file whose video is one of these formats."""
    search: SearchText | None = None
    """Fuzzy title search (pg_trgm word similarity on the title and the original title);
    at most 200 characters."""
    watch_status: WatchStatus | None = None
    sort_by: SortBy = SortBy.TITLE
    sort_order: SortOrder = SortOrder.ASC
    limit: Annotated[int, msgspec.Meta(ge=-INT4_MAX, le=INT4_MAX)] = DEFAULT_LIMIT
    """1 to 500 (:func:`problems` says so; the wire type only keeps it inside int4)."""
    offset: Annotated[int, msgspec.Meta(ge=-INT4_MAX, le=INT4_MAX)] = 0
    cursor: Opaque | None = None
    """Opaque, from a previous page's ``next_cursor`` (same filters and sort); excludes offset."""
    include_total: bool = True


def problems(q: MediaQuery) -> list[str]:
    """What makes a query invalid (not merely expensive): empty when it is fine."""
    out = []
    if q.search is not None and len(q.search.strip()) < MIN_SEARCH_CHARS:
        out.append(f"search: at least {MIN_SEARCH_CHARS} characters")
    if not 1 <= q.limit <= MAX_LIMIT:
        out.append(f"limit: 1 to {MAX_LIMIT}")
    if q.offset < 0:
        out.append("offset: must not be negative")
    if q.cursor is not None and q.offset:
        out.append("cursor and offset exclude each other")
    for name, low, high in (
        ("year", q.year_min, q.year_max),
        ("rating", q.rating_min, q.rating_max),
        ("runtime", q.runtime_min, q.runtime_max),
    ):
        if low is not None and high is not None and low > high:
            out.append(f"{name}: minimum above maximum")
    if any(not g.strip() for g in q.genres):
        out.append("genres: empty genre")
    return out


# --- the complexity guard -------------------------------------------------------------------

FUZZY_SEARCH_COST = 10
WATCH_STATUS_COST = 5
GENRE_COST = 2
OFFSET_STEP = 1000
DEFAULT_BUDGET = 15
PEAK_BUDGET = 10


class CostItem(msgspec.Struct, frozen=True, kw_only=True):
    factor: Literal["fuzzy_search", "watch_status", "genres", "offset"]
    points: int
    detail: str


class QueryCost(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    budget: int
    peak: bool
    accepted: bool
    items: list[CostItem]
    hint: str | None = None


def _quote(text: str, limit: int = 40) -> str:
    """The client's text as a short quotation: answers never echo input at length."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def query_cost(q: MediaQuery) -> list[CostItem]:
    """The seed's cost table, item by item (only the factors that apply)."""
    items = []
    if q.search:
        items.append(
            CostItem(
                factor="fuzzy_search",
                points=FUZZY_SEARCH_COST,
                detail=f"fuzzy title search for {_quote(q.search.strip())}",
            )
        )
    if q.watch_status is not None:
        items.append(
            CostItem(
                factor="watch_status",
                points=WATCH_STATUS_COST,
                detail=f"watch status {q.watch_status.value} (watch-state join)",
            )
        )
    if q.genres:
        items.append(
            CostItem(
                factor="genres",
                points=GENRE_COST * len(q.genres),
                detail=f"{len(q.genres)} genre(s) x {GENRE_COST}",
            )
        )
    if q.offset >= OFFSET_STEP:
        items.append(
            CostItem(
                factor="offset",
                points=q.offset // OFFSET_STEP,
                detail=f"offset {q.offset}: 1 per {OFFSET_STEP}",
            )
        )
    return items


def _hint(items: list[CostItem], over: int) -> str:
    by_factor = {i.factor: i.points for i in items}
    tips = []
    if by_factor.get("offset", 0):
        tips.append("use cursor pagination (next_cursor) instead of a large offset")
    if by_factor.get("genres", 0) > GENRE_COST:
        tips.append("filter on fewer genres")
    if "watch_status" in by_factor and "fuzzy_search" in by_factor:
        tips.append("search first, then filter the results by watch status locally")
    elif "fuzzy_search" in by_factor:
        tips.append("narrow the search with cheaper filters or search locally")
    return f"{over} point(s) over budget: " + ("; ".join(tips) or "simplify the query")


def _in_window(hour: int, window: tuple[int, int]) -> bool:
    start, end = window
    return start <= hour < end if start <= end else hour >= start or hour < end


@dataclass(frozen=True)
class ComplexityGuard:
    """Prices queries; ``evaluate`` says whether one fits the budget at a given time."""

    budget: int = DEFAULT_BUDGET
    peak_budget: int = PEAK_BUDGET
    peak_hours: tuple[tuple[int, int], ...] = ((18, 23),)
    """Local-time hour windows [start, end), e.g. ((18, 23),); a window may wrap midnight."""

    def is_peak(self, now: datetime) -> bool:
        return any(_in_window(now.hour, w) for w in self.peak_hours)

    def evaluate(self, q: MediaQuery, now: datetime | None = None) -> QueryCost:
        peak = self.is_peak(now or datetime.now())
        budget = self.peak_budget if peak else self.budget
        items = query_cost(q)
        total = sum(i.points for i in items)
        accepted = total <= budget
        return QueryCost(
            total=total,
            budget=budget,
            peak=peak,
            accepted=accepted,
            items=items,
            hint=None if accepted else _hint(items, total - budget),
        )


def parse_peak_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"18-23"`` or ``"7-9,18-23"`` or ``""`` (never peak) -> hour windows."""
    windows = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        start, sep, end = part.partition("-")
        if not sep or not start.isdigit() or not end.isdigit():
            raise ValueError(f"peak hours: {part!r} is not START-END (hours 0-24)")
        a, b = int(start), int(end)
        if not (0 <= a <= 23 and 0 <= b <= 24) or a == b:
            raise ValueError(f"peak hours: {part!r} is not START-END (hours 0-24)")
        windows.append((a, b))
    return tuple(windows)


# --- the builder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaQueryBuilder:
    """Fluent and immutable: each step returns a new builder. Steps check their own arguments
    (ValueError) so a mistake shows where it is made, not at the server."""

    _q: MediaQuery = field(default_factory=MediaQuery)

    def _with(self, **changes: object) -> MediaQueryBuilder:
        return MediaQueryBuilder(msgspec.structs.replace(self._q, **changes))

    def for_user(self, user_id: uuid.UUID | str) -> MediaQueryBuilder:
        return self._with(user_id=uuid.UUID(str(user_id)))

    def kinds(self, *kinds: MediaKind) -> MediaQueryBuilder:
        return self._with(kinds=list(kinds))

    def movies_only(self) -> MediaQueryBuilder:
        return self.kinds("movie")

    def series_only(self) -> MediaQueryBuilder:
        return self.kinds("series")

    def episodes_only(self) -> MediaQueryBuilder:
        return self.kinds("episode")

    def library(self, *library_ids: uuid.UUID | str) -> MediaQueryBuilder:
        return self._with(library_ids=[uuid.UUID(str(i)) for i in library_ids])

    def genre(self, name: str) -> MediaQueryBuilder:
        if not name.strip():
            raise ValueError("genre: empty name")
        return self._with(genres=[*self._q.genres, name.strip()])

    def genres(self, *names: str, match: Literal["any", "all"] = "any") -> MediaQueryBuilder:
        builder = self
        for name in names:
            builder = builder.genre(name)
        return builder._with(genre_match=match)

    def year_range(self, start: int | None, end: int | None) -> MediaQueryBuilder:
        if start is not None and end is not None and start > end:
            raise ValueError("year_range: start after end")
        return self._with(year_min=start, year_max=end)

    def rating_range(self, low: float | None, high: float | None) -> MediaQueryBuilder:
        if low is not None and high is not None and low > high:
            raise ValueError("rating_range: low above high")
        return self._with(
            rating_min=None if low is None else float(low),
            rating_max=None if high is None else float(high),
        )

    def runtime_range(self, low: int | None, high: int | None) -> MediaQueryBuilder:
        if low is not None and high is not None and low > high:
            raise ValueError("runtime_range: low above high")
        return self._with(runtime_min=low, runtime_max=high)

    def min_height(self, pixels: int) -> MediaQueryBuilder:
        return self._with(min_height=pixels)

    def hdr(self, *formats: HdrFormat) -> MediaQueryBuilder:
        chosen: list[HdrFormat] = list(formats) or ["HDR10", "HDR10+", "HLG", "DolbyVision"]
        return self._with(hdr=chosen)

    def search(self, text: str) -> MediaQueryBuilder:
        if len(text.strip()) < MIN_SEARCH_CHARS:
            raise ValueError(f"search: at least {MIN_SEARCH_CHARS} characters")
        return self._with(search=text.strip())

    def watch_status(self, status: WatchStatus) -> MediaQueryBuilder:
        return self._with(watch_status=WatchStatus(status))

    def sort_by(self, by: SortBy, order: SortOrder = SortOrder.ASC) -> MediaQueryBuilder:
        return self._with(sort_by=SortBy(by), sort_order=SortOrder(order))

    def limit(self, n: int) -> MediaQueryBuilder:
        if not 1 <= n <= MAX_LIMIT:
            raise ValueError(f"limit: 1 to {MAX_LIMIT}")
        return self._with(limit=n)

    def offset(self, n: int) -> MediaQueryBuilder:
        if n < 0:
            raise ValueError("offset: must not be negative")
        return self._with(offset=n, cursor=None)

    def after(self, cursor: str) -> MediaQueryBuilder:
        return self._with(cursor=cursor, offset=0)

    def without_total(self) -> MediaQueryBuilder:
        return self._with(include_total=False)

    def build(self) -> MediaQuery:
        """The query, or ValueError: what :func:`problems` finds, or a value outside the wire
        type's bounds (msgspec's ValidationError, which the server would answer with 422)."""
        found = problems(self._q)
        if found:
            raise ValueError("; ".join(found))
        msgspec.convert(msgspec.to_builtins(self._q), MediaQuery)
        return self._q


def to_json(q: MediaQuery) -> bytes:
    return msgspec.json.encode(q)


def from_json(raw: bytes) -> MediaQuery:
    return msgspec.json.decode(raw, type=MediaQuery)
