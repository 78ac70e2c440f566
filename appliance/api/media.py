"""Media API: the query endpoint (with the complexity guard), details, home rows and watch state.

Watch state changes are published on the event bus as ``watch.changed`` with the user's id;
the WebSocket (``appliance.api.ws``) forwards them to that user's other devices only.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import msgspec
import quart

from appliance import access
from appliance.api import cursors
from appliance.api.routing import Param, RequestContext, Router
from appliance.errors import Forbidden, InvalidInput, NotFound
from appliance.state import AppState
from store import media_query as mq
from store.media_browse import ItemRow
from store.media_details import FileRow
from store.paths import from_db
from store.watch_state import WatchStateRow
from sync.contract import reaches_completion
from sync.errors import ErrorCode
from sync.media_info import MediaInfo
from sync.media_types import (
    ImageRef,
    ItemDetails,
    ItemList,
    MarkIn,
    MediaFileOut,
    MediaItemOut,
    PersonOut,
    ProgressIn,
    QueryResult,
    WatchStateOut,
    WatchUpdate,
    WatchUpdates,
)
from sync.query import ComplexityGuard, MediaQuery, SortOrder, parse_peak_hours, problems

router = Router("/api/v1")
TAGS = ("media",)
HOME_LIMIT = 24


# --- helpers ----------------------------------------------------------------------------------


def guard_for(state: AppState) -> ComplexityGuard:
    media = state.config.media
    return ComplexityGuard(
        budget=media.query_budget,
        peak_budget=media.peak_query_budget,
        peak_hours=parse_peak_hours(media.peak_hours),
    )


def watch_out(row: ItemRow) -> WatchStateOut | None:
    if (
        row.client_ts is None
        or row.position_s is None
        or row.completed is None
        or row.play_count is None
    ):
        return None  # no watch row: the outer join's columns are all NULL
    return WatchStateOut(
        position_s=row.position_s,
        duration_s=row.duration_s,
        completed=row.completed,
        play_count=row.play_count,
        last_played_at=row.last_played_at,
        client_ts=row.client_ts,
    )


def item_out(row: ItemRow) -> MediaItemOut:
    return MediaItemOut(
        id=row.id,
        library_id=row.library_id,
        kind=row.kind,
        parent_id=row.parent_id,
        title=row.title,
        original_title=row.original_title,
        sort_title=row.sort_title,
        year=row.year,
        release_date=row.release_date,
        air_date=row.air_date,
        season_number=row.season_number,
        episode_numbers=row.episode_numbers,
        series_id=row.series_item_id,
        series_title=row.series_title,
        rating=row.rating,
        runtime_minutes=row.runtime_minutes,
        genres=list(row.genres or []),
        added_at=row.added_at,
        watch=watch_out(row),
    )


def encode_cursor(state: AppState, q: MediaQuery, key: str, item_id: uuid.UUID) -> str:
    return cursors.encode(
        cursors.cursor_key(state), q.sort_by.value, q.sort_order.value, key, item_id
    )


def decode_cursor(state: AppState, q: MediaQuery, cursor: str) -> tuple[str, uuid.UUID]:
    """Signed by this server and fitting the sort (``appliance.api.cursors``), else 422."""
    return cursors.decode(cursors.cursor_key(state), cursor, q.sort_by.value, q.sort_order.value)


OTHERS_WATCH_STATE = "users:read"
"""Reading another user's watch state: decided by the session's effective permissions (a PIN
session never has it, whatever the role), never by the role alone."""


def _user(ctx: RequestContext, requested: uuid.UUID | None) -> uuid.UUID:
    principal = ctx.require_principal()
    own = uuid.UUID(principal.user_id)
    if requested is not None and requested != own and not principal.can(OTHERS_WATCH_STATE):
        raise Forbidden(
            ErrorCode.FORBIDDEN,
            "only a full (password) session with permission "
            f"{OTHERS_WATCH_STATE} may query another user's watch state",
            {"permission": OTHERS_WATCH_STATE},
        )
    return requested or own


def _filters(q: MediaQuery, user_id: uuid.UUID, visible: list[uuid.UUID] | None) -> mq.Filters:
    return mq.Filters(
        user_id=user_id,
        kinds=list(q.kinds) or None,
        library_ids=access.scope(list(q.library_ids), visible),
        genres=q.genres or None,
        all_genres=q.genre_match == "all",
        year_min=q.year_min,
        year_max=q.year_max,
        rating_min=q.rating_min,
        rating_max=q.rating_max,
        runtime_min=q.runtime_min,
        runtime_max=q.runtime_max,
        min_height=q.min_height,
        hdr=list(q.hdr) or None,
        search=q.search.strip() if q.search else None,
        watch_status=q.watch_status.value if q.watch_status else None,
    )


async def _visible_rows(ctx: RequestContext, rows: list[ItemRow]) -> list[ItemRow]:
    visible = await access.visible(ctx.state, _user(ctx, None))
    return rows if visible is None else [r for r in rows if r.library_id in visible]


# --- query ------------------------------------------------------------------------------------


@router.route(
    "/media/query",
    "POST",
    summary="Find media items (filters, fuzzy search, sort, "
    "offset or cursor pages); 422 with a cost breakdown when over the complexity "
    "budget",
    request=MediaQuery,
    response=QueryResult,
    permission="media:browse",
    tags=TAGS,
    errors={
        422: "invalid query, or over the complexity budget (code query_too_complex, details.cost)"
    },
)
async def query_media(ctx: RequestContext, body: MediaQuery) -> QueryResult:
    found = problems(body)
    if found:
        raise InvalidInput(ErrorCode.INVALID_QUERY, "; ".join(found), {"problems": found})
    cost = guard_for(ctx.state).evaluate(body)
    if not cost.accepted:
        raise InvalidInput(
            ErrorCode.QUERY_TOO_COMPLEX,
            f"query costs {cost.total} points, budget {cost.budget}"
            f"{' (peak hours)' if cost.peak else ''}: {cost.hint}",
            {"cost": msgspec.to_builtins(cost)},
        )
    user_id = _user(ctx, body.user_id)
    after = decode_cursor(ctx.state, body, body.cursor) if body.cursor else None
    rows, total = await mq.query_visible(
        ctx.state.db,
        _user(ctx, None),
        lambda visible: _filters(body, user_id, visible),
        body.sort_by.value,
        body.sort_order == SortOrder.DESC,
        body.limit + 1,
        body.offset,
        after,
        with_total=body.include_total,
    )
    more = len(rows) > body.limit
    rows = rows[: body.limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        assert last.sort_key is not None, "a query page's rows carry their sort key"
        next_cursor = encode_cursor(ctx.state, body, last.sort_key, last.id)
    return QueryResult(
        items=[item_out(r) for r in rows], total=total, next_cursor=next_cursor, cost=cost
    )


# --- details ----------------------------------------------------------------------------------


def _without_paths(info: MediaInfo, file_id: uuid.UUID, path: str, name: str) -> MediaInfo:
    """Server paths stay on the server: a sidecar subtitle gets its URL instead of its path
    (numbered like ``/stream/{id}/subtitles/{n}`` numbers them), and ffprobe's warnings name
    the file, not where it lies."""
    tracks = []
    number = 0
    for track in info.subtitles:
        if track.external:
            url = None
            if track.path:
                url = f"/api/v1/stream/{file_id}/subtitles/{number}"
                number += 1
            track = msgspec.structs.replace(track, path=None, url=url)
        tracks.append(track)
    return msgspec.structs.replace(
        info, subtitles=tracks, warnings=[w.replace(path, name) for w in info.warnings]
    )


def file_out(row: FileRow) -> MediaFileOut:
    path = from_db(row.path)
    name = os.path.basename(path)
    info = None
    if row.media_info:
        try:
            info = _without_paths(
                msgspec.json.decode(row.media_info, type=MediaInfo), row.id, path, name
            )
        except msgspec.ValidationError:
            info = None
    error = row.analysis_error
    return MediaFileOut(
        id=row.id,
        file_name=name,
        size_bytes=row.size_bytes,
        version=row.version,
        part=row.part,
        edition=row.edition,
        extra_kind=row.extra_kind,
        present=row.present,
        media_info=info,
        analysis_error=error.replace(path, name) if error else error,
        stream_url=f"/api/v1/stream/{row.id}",
    )


@router.route(
    "/media/items/<uuid:item_id>",
    summary="One item with its files (tech info), "
    "extras, cast, images and children (seasons of a series, episodes of a season)",
    response=ItemDetails,
    permission="media:browse",
    tags=TAGS,
    errors={404: "no such item"},
)
async def item_details(ctx: RequestContext, item_id: uuid.UUID) -> ItemDetails:
    user_id = _user(ctx, None)
    db = ctx.state.db
    row = await mq.item(db, user_id, item_id)
    if row is None or not access.allows(await access.visible(ctx.state, user_id), row.library_id):
        raise NotFound(ErrorCode.NOT_FOUND, f"no item {item_id}")
    files = [file_out(f) for f in await mq.item_files(db, item_id)]
    children = (
        [item_out(c) for c in await mq.children(db, user_id, item_id)]
        if row.kind in ("series", "season")
        else []
    )
    try:
        external = msgspec.json.decode(row.external_ids or "{}", type=dict[str, object])
    except msgspec.DecodeError:
        external = {}
    return ItemDetails(
        item=item_out(row),
        overview=row.overview,
        tagline=row.tagline,
        studios=list(row.studios or []),
        mpaa=row.mpaa,
        edition=row.edition,
        external_ids=external,
        files=[f for f in files if f.extra_kind is None],
        extras=[f for f in files if f.extra_kind is not None],
        people=[
            PersonOut(id=p.id, name=p.name, kind=p.kind, role=p.role, image_id=p.image_id)
            for p in await mq.item_people(db, item_id)
        ],
        images=[
            ImageRef(kind=i.kind, image_id=i.image_id) for i in await mq.item_images(db, item_id)
        ],
        children=children,
    )


LIBRARY_ARG = (Param("library_id", {"type": "string", "format": "uuid"}, "only this library"),)


def _library_arg() -> uuid.UUID | None:
    raw = quart.request.args.get("library_id")
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput(ErrorCode.INVALID_QUERY, "library_id: not a UUID") from None


@router.route(
    "/media/continue-watching",
    summary="Movies and episodes in progress, most recently played first (?library_id=)",
    response=ItemList,
    permission="media:browse",
    tags=TAGS,
    params=LIBRARY_ARG,
)
async def continue_watching(ctx: RequestContext) -> ItemList:
    rows = await mq.continue_watching(ctx.state.db, _user(ctx, None), _library_arg(), HOME_LIMIT)
    rows = await _visible_rows(ctx, rows)
    return ItemList(items=[item_out(r) for r in rows])


@router.route(
    "/media/next-up",
    summary="The next unwatched episode of each series in progress (?library_id=)",
    response=ItemList,
    permission="media:browse",
    tags=TAGS,
    params=LIBRARY_ARG,
)
async def next_up(ctx: RequestContext) -> ItemList:
    rows = await mq.next_up(ctx.state.db, _user(ctx, None), _library_arg(), HOME_LIMIT)
    rows = await _visible_rows(ctx, rows)
    return ItemList(items=[item_out(r) for r in rows])


@router.route(
    "/media/items/<uuid:item_id>/next",
    summary="What plays after this episode: the "
    "next present episode of its series in running order, watched or not (one item, "
    "or none after the last episode or for anything but an episode)",
    response=ItemList,
    permission="media:browse",
    tags=TAGS,
    errors={404: "no such item"},
)
async def next_episode(ctx: RequestContext, item_id: uuid.UUID) -> ItemList:
    """The rule is sync/episode_order.py's; the player asks this once instead of walking the
    season and the series itself."""
    user_id = _user(ctx, None)
    await access.require_item(ctx.state, user_id, item_id)
    row = await mq.next_episode(ctx.state.db, user_id, item_id)
    return ItemList(items=[item_out(row)] if row is not None else [])


@router.route(
    "/media/recently-added",
    summary="Newest movies, series and episodes (?library_id=)",
    response=ItemList,
    permission="media:browse",
    tags=TAGS,
    params=LIBRARY_ARG,
)
async def recently_added(ctx: RequestContext) -> ItemList:
    rows = await mq.recently_added(ctx.state.db, _user(ctx, None), _library_arg(), HOME_LIMIT)
    rows = await _visible_rows(ctx, rows)
    return ItemList(items=[item_out(r) for r in rows])


# --- watch state ------------------------------------------------------------------------------


def state_out(row: WatchStateRow | None) -> WatchStateOut | None:
    return None if row is None else row.wire()


def _aware(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise InvalidInput(ErrorCode.INVALID_BODY, "client_ts: needs a timezone (e.g. ...Z)")
    return ts


async def record_progress(
    state: AppState, user_id: uuid.UUID, item_id: uuid.UUID, body: ProgressIn, device: str | None
) -> WatchUpdate:
    """Newest client timestamp wins; publishes ``watch.changed`` when the update is stored."""
    if body.position_s < 0 or (body.duration_s is not None and body.duration_s <= 0):
        raise InvalidInput(ErrorCode.INVALID_BODY, "position_s >= 0 and duration_s > 0 required")
    kind = await access.require_item(state, user_id, item_id)
    if kind not in ("movie", "episode"):
        raise InvalidInput(ErrorCode.NOT_PLAYABLE, f"a {kind} has no progress; mark it instead")
    completed = body.completed or reaches_completion(body.position_s, body.duration_s)
    row = await mq.save_progress(
        state.db,
        user_id,
        item_id,
        body.position_s,
        body.duration_s,
        completed,
        _aware(body.client_ts),
        body.device_id or device,
    )
    applied = row is not None
    if row is None:
        row = await mq.get_state(state.db, user_id, item_id)
    update = WatchUpdate(item_id=item_id, applied=applied, state=state_out(row))
    if applied:
        publish(state, user_id, [update], body.device_id or device)
    return update


def publish(
    state: AppState, user_id: uuid.UUID, updates: list[WatchUpdate], device: str | None
) -> None:
    for update in updates:
        state.bus.publish(
            "watch.changed",
            user_id=str(user_id),
            device_id=device,
            item_id=str(update.item_id),
            state=msgspec.to_builtins(update.state),
        )


@router.route(
    "/media/items/<uuid:item_id>/progress",
    "PUT",
    summary="Record playback "
    "progress (newest client_ts wins; completed at >= 95 % or when the player says "
    "so)",
    request=ProgressIn,
    response=WatchUpdate,
    permission="sync:write",
    tags=TAGS,
    errors={404: "no such item"},
)
async def put_progress(ctx: RequestContext, item_id: uuid.UUID, body: ProgressIn) -> WatchUpdate:
    principal = ctx.require_principal()
    device = str(principal.device_id) if principal.device_id else None
    return await record_progress(ctx.state, uuid.UUID(principal.user_id), item_id, body, device)


async def _mark(
    ctx: RequestContext, item_id: uuid.UUID, body: MarkIn, completed: bool, clear_only: bool
) -> WatchUpdates:
    principal = ctx.require_principal()
    user_id = uuid.UUID(principal.user_id)
    await access.require_item(ctx.state, user_id, item_id)
    client_ts = _aware(body.client_ts) if body.client_ts else datetime.now(UTC)
    device = body.device_id or (str(principal.device_id) if principal.device_id else None)
    updates = []
    async with ctx.state.db.transaction() as conn:
        for target in await mq.playable_below(conn, item_id):
            row = await mq.set_state(
                conn, user_id, target, completed, client_ts, device, clear_only
            )
            updates.append(
                WatchUpdate(item_id=target, applied=row is not None, state=state_out(row))
            )
    publish(ctx.state, user_id, [u for u in updates if u.applied], device)
    return WatchUpdates(updates=updates)


@router.route(
    "/media/items/<uuid:item_id>/watched",
    "POST",
    summary="Mark watched (a series or season: all its episodes)",
    request=MarkIn,
    response=WatchUpdates,
    permission="sync:write",
    tags=TAGS,
    errors={404: "no such item"},
)
async def mark_watched(ctx: RequestContext, item_id: uuid.UUID, body: MarkIn) -> WatchUpdates:
    return await _mark(ctx, item_id, body, completed=True, clear_only=False)


@router.route(
    "/media/items/<uuid:item_id>/unwatched",
    "POST",
    summary="Mark unwatched (a series or season: all its episodes)",
    request=MarkIn,
    response=WatchUpdates,
    permission="sync:write",
    tags=TAGS,
    errors={404: "no such item"},
)
async def mark_unwatched(ctx: RequestContext, item_id: uuid.UUID, body: MarkIn) -> WatchUpdates:
    return await _mark(ctx, item_id, body, completed=False, clear_only=False)


@router.route(
    "/media/items/<uuid:item_id>/progress/clear",
    "POST",
    summary="Clear progress (keeps watched/unwatched)",
    request=MarkIn,
    response=WatchUpdates,
    permission="sync:write",
    tags=TAGS,
    errors={404: "no such item"},
)
async def clear_progress(ctx: RequestContext, item_id: uuid.UUID, body: MarkIn) -> WatchUpdates:
    return await _mark(ctx, item_id, body, completed=False, clear_only=True)
