"""Item metadata (read, refresh, local edits with locks) and ``/api/v1/images/{id}``.

Every route applies the caller's library limits: an item (or an image shown only by items) in a
library they may not see answers 404 like a missing one (``appliance.access``)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import msgspec
import quart
import trio

from appliance import access, titles
from appliance.api import params
from appliance.api.routing import Answer, Param, RequestContext, Router
from appliance.errors import Conflict, InvalidInput, NotFound, UpstreamFailed
from appliance.metadata import art, enrich, images
from appliance.metadata.enrich import MetadataSettings, settings_from_config
from appliance.metadata.images import ImageError
from appliance.metadata.tmdb import TmdbClient, TmdbError, TmdbSettings
from store import metadata
from sync.errors import ErrorCode
from sync.metadata_types import (
    Candidate,
    CandidateList,
    IdentifyIn,
    ItemEdit,
    ItemMetadata,
    PersonOut,
)
from sync.wire import SEARCH_MAX

router = Router("/api/v1")
TAGS = ("metadata",)
IMMUTABLE = "public, max-age=31536000, immutable"


async def _visible(ctx: RequestContext, item_id: uuid.UUID) -> None:
    """404 for an item the caller may not see (or that does not exist)."""
    await access.require_item(ctx.state, uuid.UUID(ctx.require_principal().user_id), item_id)


def settings_for(ctx: RequestContext) -> MetadataSettings:
    return settings_from_config(ctx.state.config, ctx.state.data_dir)


async def item_out(ctx: RequestContext, item_id: uuid.UUID) -> ItemMetadata:
    row = await metadata.item(ctx.state.db, item_id)
    if row is None:
        raise NotFound(ErrorCode.NOT_FOUND, f"no item {item_id}")
    people = await metadata.item_people(ctx.state.db, item_id)
    data: dict[str, Any] = msgspec.structs.asdict(row)
    for key in ("ratings", "external_ids", "images", "placeholder"):
        data[key] = msgspec.json.decode(data[key]) if data[key] else None
    data["ratings"] = data["ratings"] or {}
    data["external_ids"] = data["external_ids"] or {}
    data["images"] = data["images"] or {}
    data["genres"] = list(data["genres"])
    data["studios"] = list(data["studios"])
    data["locked_fields"] = list(data["locked_fields"])
    data["episode_numbers"] = (
        list(data["episode_numbers"]) if data["episode_numbers"] is not None else None
    )
    data["people"] = [
        PersonOut(name=p.name, kind=p.kind, role=p.role, thumb_url=p.thumb_url) for p in people
    ]
    return msgspec.convert(data, ItemMetadata, from_attributes=False)


@router.route(
    "/metadata/items/<uuid:item_id>",
    summary="An item's metadata, people and images",
    response=ItemMetadata,
    tags=TAGS,
    permission="media:browse",
    errors={404: "no such item"},
)
async def get_item(ctx: RequestContext, item_id: uuid.UUID) -> ItemMetadata:
    await _visible(ctx, item_id)
    return await item_out(ctx, item_id)


@router.route(
    "/metadata/items/<uuid:item_id>",
    "PATCH",
    summary="Edit fields locally (locks them)",
    request=ItemEdit,
    response=ItemMetadata,
    tags=TAGS,
    permission="media:edit_metadata",
    errors={404: "no such item"},
)
async def edit_item(ctx: RequestContext, item_id: uuid.UUID, body: ItemEdit) -> ItemMetadata:
    await _visible(ctx, item_id)
    values = {
        k: v
        for k, v in msgspec.structs.asdict(body).items()
        if k not in ("lock", "unlock") and v is not None
    }
    if "title" in values and "sort_title" not in values:
        values["sort_title"] = titles.sort_title(values["title"])
    elif "sort_title" in values:
        values["sort_title"] = titles.sort_title(values["sort_title"])
    lock = sorted(set(body.lock) | set(values))
    async with ctx.state.db.transaction() as conn:
        if not await metadata.edit(conn, item_id, values, lock, list(body.unlock)):
            raise NotFound(ErrorCode.NOT_FOUND, f"no item {item_id}")
    return await item_out(ctx, item_id)


@router.route(
    "/metadata/items/<uuid:item_id>/refresh",
    "POST",
    summary="Run the metadata providers and local artwork for one item now",
    response=ItemMetadata,
    tags=TAGS,
    permission="media:edit_metadata",
    errors={404: "no such item"},
)
async def refresh_item(ctx: RequestContext, item_id: uuid.UUID) -> ItemMetadata:
    await _visible(ctx, item_id)
    return await refresh(ctx, item_id)


async def refresh(ctx: RequestContext, item_id: uuid.UUID) -> ItemMetadata:
    settings = settings_for(ctx)
    rows = await metadata.items_for_metadata(ctx.state.db, [item_id])
    if not rows:
        raise NotFound(ErrorCode.NOT_FOUND, f"no item {item_id}")
    described = await enrich.describe(rows, settings, ctx.state.db)
    store = images.store_for(ctx.state.db, settings.data_dir, settings.image_cache_bytes)
    remote = {r.item_id: r.images for r in described}
    found, errors = await art.collect(store, rows, settings, remote)
    rendered = await art.ahead(store, found)
    async with ctx.state.db.transaction() as conn:
        for r in described:
            await metadata.apply(conn, r.item_id, r.fields, r.source, r.error, r.locked)
        await art.save(conn, rows, found, errors, rendered)
    await store.enforce_limit()
    return await item_out(ctx, item_id)


def _tmdb(ctx: RequestContext) -> TmdbSettings:
    tmdb_settings = settings_for(ctx).tmdb
    if tmdb_settings is None:
        raise Conflict(ErrorCode.TMDB_NOT_CONFIGURED, "set metadata.tmdb_api_key to identify items")
    return tmdb_settings


async def _identifiable(ctx: RequestContext, item_id: uuid.UUID) -> metadata.MetadataItemRow:
    await _visible(ctx, item_id)
    row = await metadata.item(ctx.state.db, item_id)
    if row is None:
        raise NotFound(ErrorCode.NOT_FOUND, f"no item {item_id}")
    if row.kind not in ("movie", "series"):
        raise InvalidInput(
            ErrorCode.NOT_IDENTIFIABLE,
            "only movies and series are identified; seasons and episodes follow their series",
        )
    return row


@router.route(
    "/metadata/items/<uuid:item_id>/identify",
    summary="TMDB candidates for an item (?query= and ?year= override its title/year)",
    response=CandidateList,
    tags=TAGS,
    permission="media:edit_metadata",
    errors={
        404: "no such item",
        409: "TMDB is not configured",
        422: "not a movie or series",
        502: "TMDB unreachable",
    },
    params=(
        Param(
            "query",
            {"type": "string", "maxLength": SEARCH_MAX},
            "search this title instead of the item's",
        ),
        Param(
            "year",
            {"type": "integer", "minimum": 1, "maximum": 9999},
            "search this year instead of the item's",
        ),
    ),
)
async def identify_candidates(ctx: RequestContext, item_id: uuid.UUID) -> CandidateList:
    args = quart.request.args  # the request's own arguments first: a bad one is 422 anyway
    asked = params.text(args.get("query"), "query", SEARCH_MAX, code=ErrorCode.INVALID_QUERY)
    year = params.integer(args.get("year") or None, "year", 1, 9999, code=ErrorCode.INVALID_YEAR)
    tmdb_settings = _tmdb(ctx)
    row = await _identifiable(ctx, item_id)
    query = asked or row.title
    year = row.year if year is None else year
    kind = "movie" if row.kind == "movie" else "tv"
    try:
        async with TmdbClient.open_http(tmdb_settings) as http:
            client = TmdbClient(ctx.state.db, http, tmdb_settings)
            matches = await client.search(kind, query, year)
            base = await client.image_base() if matches else ""
    except (httpx.HTTPError, TmdbError) as exc:
        raise UpstreamFailed(ErrorCode.TMDB_UNAVAILABLE, f"TMDB: {exc}") from None
    return CandidateList(
        items=[
            Candidate(
                tmdb_id=m.tmdb_id,
                title=m.title,
                original_title=m.original_title,
                year=m.year,
                score=round(m.score, 1),
                overview=m.overview,
                poster_url=f"{base}w342{m.poster_path}" if m.poster_path else None,
            )
            for m in matches[:20]
        ]
    )


@router.route(
    "/metadata/items/<uuid:item_id>/identify",
    "POST",
    summary="Apply a TMDB match to an item (kept across rescans) and refresh it",
    request=IdentifyIn,
    response=ItemMetadata,
    tags=TAGS,
    permission="media:edit_metadata",
    errors={404: "no such item", 409: "TMDB is not configured", 422: "not a movie or series"},
)
async def identify_apply(ctx: RequestContext, item_id: uuid.UUID, body: IdentifyIn) -> ItemMetadata:
    _tmdb(ctx)
    await _identifiable(ctx, item_id)
    async with ctx.state.db.transaction() as conn:
        await metadata.set_identified(
            conn, item_id, {"provider": "tmdb", "id": body.tmdb_id}, {"tmdb": str(body.tmdb_id)}
        )
    return await refresh(ctx, item_id)


def _etag(image_id: str, width: int, fmt: str) -> str:
    return '"' + hashlib.sha256(f"{image_id}:{width}:{fmt}".encode()).hexdigest()[:24] + '"'


@router.route(
    "/images/<image_id>",
    summary="An image at the nearest standard width at or above ?w= "
    "(WebP, or JPEG when ?format=jpeg or the client does not accept WebP)",
    tags=TAGS,
    permission="media:browse",
    errors={404: "no such image"},
    answers=(
        Answer(200, "the image", ("image/webp", "image/jpeg"), headers=("ETag",)),
        Answer(304, "not modified (If-None-Match)", headers=("ETag",)),
    ),
    params=(
        Param(
            "w",
            {"type": "integer", "minimum": 1, "maximum": images.MAX_REQUESTED_WIDTH},
            "the width wanted (default: the largest standard width the original has)",
        ),
        Param(
            "format",
            {"enum": ["webp", "jpeg", "jpg"]},
            "default: WebP when the Accept header allows it, else JPEG",
        ),
        Param(
            "If-None-Match",
            {"type": "string"},
            "an ETag held: 304 when it is current",
            where="header",
            status=None,
        ),
    ),
)
async def get_image(ctx: RequestContext, image_id: str) -> quart.Response:
    if len(image_id) != 64 or any(c not in "0123456789abcdef" for c in image_id):
        raise NotFound(ErrorCode.NOT_FOUND, "no such image")
    await access.require_image(ctx.state, uuid.UUID(ctx.require_principal().user_id), image_id)
    row = await metadata.image(ctx.state.db, image_id)
    if row is None:
        raise NotFound(ErrorCode.NOT_FOUND, "no such image")
    args = quart.request.args
    requested = params.integer(
        args.get("w"), "w", 1, images.MAX_REQUESTED_WIDTH, code=ErrorCode.INVALID_WIDTH
    )
    fmt = args.get("format", "")
    if fmt not in ("", "webp", "jpeg", "jpg"):
        raise InvalidInput(ErrorCode.INVALID_FORMAT, "format is webp or jpeg")
    if not fmt:
        fmt = (
            "webp" if "image/webp" in quart.request.headers.get("Accept", "image/webp") else "jpeg"
        )
    fmt = "jpeg" if fmt == "jpg" else fmt
    width = images.pick_width(requested, row.width)
    etag = _etag(image_id, width, fmt)
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Vary": "Accept"}
    if etag in quart.request.headers.get("If-None-Match", ""):
        return quart.Response(b"", status=304, headers=headers)
    settings = settings_for(ctx)
    store = images.store_for(ctx.state.db, settings.data_dir, settings.image_cache_bytes)
    try:
        path = await store.variant(image_id, row.source_path, width, fmt)
        data = await trio.Path(path).read_bytes()
    except (ImageError, OSError) as exc:
        raise NotFound(ErrorCode.IMAGE_UNAVAILABLE, f"image cannot be read: {exc}") from None
    return quart.Response(data, status=200, content_type=f"image/{fmt}", headers=headers)
