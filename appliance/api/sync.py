"""``/api/v1/sync``: the player's replica feed (snapshot and changes) as msgpack frame batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import quart

from appliance import syncfeed
from appliance.api import params
from appliance.api.routing import Answer, Param, RequestContext, Router
from appliance.errors import InvalidInput
from sync.errors import ErrorCode
from sync.feed_types import FRAMES_CONTENT_TYPE

router = Router("/api/v1")
TAGS = ("sync",)
FRAMES = (Answer(200, "length-prefixed msgpack frame batches", (FRAMES_CONTENT_TYPE,)),)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = quart.request.args.get(name)
    value = params.integer(raw or None, name, low, high)
    return default if value is None else value


def _frames(body: bytes | AsyncIterator[bytes]) -> quart.Response:
    response = quart.Response(
        body, content_type=FRAMES_CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
    response.timeout = None
    return response


@router.route(
    "/sync/snapshot",
    summary="The whole browse set of the calling user as a stream "
    "of length-prefixed msgpack frame batches (header, libraries, items, watch state, "
    "end with the sequence it is consistent at)",
    permission="sync:read",
    tags=TAGS,
    answers=FRAMES,
    errors={503: "database unavailable"},
)
async def snapshot(ctx: RequestContext) -> quart.Response:
    user_id = uuid.UUID(ctx.require_principal().user_id)
    batches = syncfeed.snapshot(ctx.state.db, user_id, ctx.state.server_id or "")
    # The first batch is read before answering: if the database is down the player gets a 503
    # envelope, not a 200 whose body stops short.
    first = await anext(batches)

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for batch in batches:
            yield batch

    return _frames(body())


@router.route(
    "/sync/changes",
    summary="Changes after ?since=SEQ (current state of each changed "
    "entity, tombstones for deletions), ?limit= per page; 410 resnapshot_required when "
    "SEQ is older than the retained feed",
    permission="sync:read",
    tags=TAGS,
    answers=FRAMES,
    errors={410: "resnapshot_required: take a new snapshot"},
    params=(
        Param(
            "since",
            {"type": "integer", "minimum": 0, "maximum": 2**62},
            "the replica's cursor: the sequence of its snapshot or last page",
            required=True,
        ),
        Param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": syncfeed.PAGE_MAX},
            f"changes per page (default {syncfeed.PAGE_DEFAULT})",
        ),
    ),
)
async def changes(ctx: RequestContext) -> quart.Response:
    since = _int_arg("since", -1, 0, 2**62)
    if since < 0:
        raise InvalidInput(ErrorCode.INVALID_ARGUMENT, "since is required (the replica's cursor)")
    limit = _int_arg("limit", syncfeed.PAGE_DEFAULT, 1, syncfeed.PAGE_MAX)
    user_id = uuid.UUID(ctx.require_principal().user_id)
    # A cursor past retention raises syncfeed.ResnapshotRequired, a Gone: 410 from the table.
    return _frames(await syncfeed.changes(ctx.state.db, user_id, since, limit))
