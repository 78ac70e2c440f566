"""``/api/v1/libraries`` and ``/api/v1/scans``: library CRUD and scan control.

Every route applies the caller's library limits (``PUT /users/{id}/libraries``): a library
they may not see, and its scans, answer 404 exactly like a missing one and are left out of
lists. Root folders are shown only to callers who may manage libraries (others get ``[]``).
"""

from __future__ import annotations

import uuid

import trio

from appliance import access
from appliance.api.routing import RequestContext, Router
from appliance.errors import Conflict, InvalidInput, NotFound
from appliance.scan.library_names import LibraryNameError, clean_name
from appliance.scan.roots import RootError, validate_roots
from store import libraries, queue, scans
from store.libraries import Library, NameTaken
from store.scans import Scan
from sync.errors import ErrorCode
from sync.library_types import (
    LibraryIn,
    LibraryList,
    LibraryOut,
    LibraryPatch,
    ScanList,
    ScanOut,
    ScanRequest,
)

router = Router("/api/v1")
TAGS = ("libraries",)
NOT_FOUND = {404: "no such library"}
NAME_TAKEN = {409: "another library has this name (ignoring case)"}
CONTROL_ERRORS = {**NOT_FOUND, 409: "this library has no running or paused scan"}


def library_out(library: Library, show_roots: bool = True) -> LibraryOut:
    return LibraryOut(
        id=library.id,
        name=library.name,
        kind=library.kind,  # type: ignore[arg-type]
        roots=list(library.roots) if show_roots else [],
        scan_interval_minutes=library.scan_interval_minutes,
        watch=library.watch,
        paused=library.paused,
        created_at=library.created_at,
    )


def _out(ctx: RequestContext, library: Library) -> LibraryOut:
    """Server paths are for those who manage libraries."""
    return library_out(library, ctx.require_principal().can("libraries:manage"))


async def scan_out(ctx: RequestContext, scan: Scan, joined: bool = False) -> ScanOut:
    jobs = await scans.job_counts(ctx.state.db, scan.id)
    return ScanOut(
        id=scan.id,
        library_id=scan.library_id,
        state=scan.state,
        trigger=scan.trigger,
        folders_walked=scan.folders_walked,
        files_found=scan.files_found,
        errors=scan.errors,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        jobs=jobs,
        joined=joined,
    )


def _user_id(ctx: RequestContext) -> uuid.UUID:
    return uuid.UUID(ctx.require_principal().user_id)


async def _library(ctx: RequestContext, library_id: uuid.UUID) -> Library:
    """The library, or 404 when it does not exist or the caller may not see it."""
    await access.require_library(ctx.state, _user_id(ctx), library_id)
    library = await libraries.get(ctx.state.db, library_id)
    if library is None:
        raise NotFound(ErrorCode.NOT_FOUND, f"no library {library_id}")
    return library


async def _visible_scans(ctx: RequestContext, found: list[Scan]) -> list[Scan]:
    visible = await access.visible(ctx.state, _user_id(ctx))
    return [s for s in found if access.allows(visible, s.library_id)]


async def _checked_roots(
    ctx: RequestContext, roots: list[str], exclude: uuid.UUID | None
) -> list[str]:
    others = [
        (lib.name, root)
        for lib in await libraries.list_all(ctx.state.db)
        if lib.id != exclude
        for root in lib.roots
    ]
    try:
        return await trio.to_thread.run_sync(validate_roots, roots, others, ctx.state.data_dir)
    except RootError as exc:
        raise InvalidInput(ErrorCode.INVALID_ROOT, str(exc)) from None


def _name(raw: str) -> str:
    try:
        return clean_name(raw)
    except LibraryNameError as exc:
        raise InvalidInput(ErrorCode.INVALID_NAME, str(exc)) from None


def _name_taken(name: str) -> Conflict:
    return Conflict(
        ErrorCode.LIBRARY_NAME_TAKEN,
        f"another library is already called {name!r} (names ignore case)",
        {"name": name},
    )


def _check_interval(interval: int | None) -> None:
    if interval is not None and not 0 <= interval <= 525_600:
        raise InvalidInput(ErrorCode.INVALID_BODY, "scan_interval_minutes: must be 0 to 525600")


@router.route(
    "/libraries",
    summary="List libraries",
    response=LibraryList,
    permission="libraries:read",
    tags=TAGS,
)
async def list_libraries(ctx: RequestContext) -> LibraryList:
    visible = await access.visible(ctx.state, _user_id(ctx))
    return LibraryList(
        libraries=[
            _out(ctx, lib)
            for lib in await libraries.list_all(ctx.state.db)
            if access.allows(visible, lib.id)
        ]
    )


@router.route(
    "/libraries",
    "POST",
    summary="Add a library and start its first scan",
    request=LibraryIn,
    response=LibraryOut,
    status=201,
    permission="libraries:manage",
    tags=TAGS,
    errors={**NAME_TAKEN, 422: "invalid name or root folder"},
)
async def create_library(ctx: RequestContext, body: LibraryIn) -> LibraryOut:
    name = _name(body.name)
    _check_interval(body.scan_interval_minutes)
    roots = await _checked_roots(ctx, body.roots, None)
    try:
        library = await libraries.create(
            ctx.state.db,
            name,
            body.kind,
            roots,
            scan_interval_minutes=body.scan_interval_minutes,
            watch=body.watch,
        )
    except NameTaken:
        raise _name_taken(name) from None
    await ctx.state.scan_service.start(library.id, trigger="initial")
    ctx.state.bus.publish("library.created", library_id=str(library.id))
    return _out(ctx, library)


@router.route(
    "/libraries/<uuid:library_id>",
    summary="One library",
    response=LibraryOut,
    permission="libraries:read",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def get_library(ctx: RequestContext, library_id: uuid.UUID) -> LibraryOut:
    return _out(ctx, await _library(ctx, library_id))


@router.route(
    "/libraries/<uuid:library_id>",
    "PATCH",
    summary="Edit a library",
    request=LibraryPatch,
    response=LibraryOut,
    permission="libraries:manage",
    tags=TAGS,
    errors={**NOT_FOUND, **NAME_TAKEN, 422: "invalid name or root folder"},
)
async def update_library(
    ctx: RequestContext, library_id: uuid.UUID, body: LibraryPatch
) -> LibraryOut:
    await _library(ctx, library_id)
    name = None if body.name is None else _name(body.name)
    _check_interval(body.scan_interval_minutes)
    roots = None if body.roots is None else await _checked_roots(ctx, body.roots, library_id)
    try:
        library = await libraries.update(
            ctx.state.db,
            library_id,
            name=name,
            roots=roots,
            scan_interval_minutes=body.scan_interval_minutes,
            watch=body.watch,
        )
    except NameTaken:
        raise _name_taken(name or "") from None
    if library is None:  # deleted meanwhile
        raise NotFound(ErrorCode.NOT_FOUND, f"no library {library_id}")
    if roots is not None:
        await ctx.state.scan_service.start(library_id, trigger="roots changed")
    ctx.state.bus.publish("library.updated", library_id=str(library_id))
    return _out(ctx, library)


@router.route(
    "/libraries/<uuid:library_id>",
    "DELETE",
    summary="Delete a library: its items go, its jobs are cancelled",
    permission="libraries:manage",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def delete_library(ctx: RequestContext, library_id: uuid.UUID) -> None:
    await _library(ctx, library_id)
    await queue.cancel_library(ctx.state.db, library_id)
    await libraries.delete(ctx.state.db, library_id)
    ctx.state.bus.publish("library.deleted", library_id=str(library_id))


@router.route(
    "/libraries/<uuid:library_id>/scan",
    "POST",
    summary="Start a scan, or join the running one (same id, joined: true)",
    request=ScanRequest,
    response=ScanOut,
    status=202,
    permission="libraries:scan",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def start_scan(ctx: RequestContext, library_id: uuid.UUID, body: ScanRequest) -> ScanOut:
    await _library(ctx, library_id)
    scan, created = await ctx.state.scan_service.start_or_join(
        library_id, trigger="manual", force=body.force
    )
    return await scan_out(ctx, scan, joined=not created)


async def _control(ctx: RequestContext, library_id: uuid.UUID, action: str) -> ScanOut:
    await _library(ctx, library_id)
    service = ctx.state.scan_service
    scan = await {"pause": service.pause, "resume": service.resume, "cancel": service.cancel}[
        action
    ](library_id)
    if scan is None:
        raise Conflict(ErrorCode.NO_ACTIVE_SCAN, "this library has no running or paused scan")
    return await scan_out(ctx, scan)


@router.route(
    "/libraries/<uuid:library_id>/scan/pause",
    "POST",
    summary="Pause the scan",
    response=ScanOut,
    permission="libraries:scan",
    tags=TAGS,
    errors=CONTROL_ERRORS,
)
async def pause_scan(ctx: RequestContext, library_id: uuid.UUID) -> ScanOut:
    return await _control(ctx, library_id, "pause")


@router.route(
    "/libraries/<uuid:library_id>/scan/resume",
    "POST",
    summary="Resume the scan",
    response=ScanOut,
    permission="libraries:scan",
    tags=TAGS,
    errors=CONTROL_ERRORS,
)
async def resume_scan(ctx: RequestContext, library_id: uuid.UUID) -> ScanOut:
    return await _control(ctx, library_id, "resume")


@router.route(
    "/libraries/<uuid:library_id>/scan/cancel",
    "POST",
    summary="Cancel the scan",
    response=ScanOut,
    permission="libraries:scan",
    tags=TAGS,
    errors=CONTROL_ERRORS,
)
async def cancel_scan(ctx: RequestContext, library_id: uuid.UUID) -> ScanOut:
    return await _control(ctx, library_id, "cancel")


@router.route(
    "/libraries/<uuid:library_id>/scans",
    summary="Scan history of a library",
    response=ScanList,
    permission="libraries:read",
    tags=TAGS,
    errors=NOT_FOUND,
)
async def scan_history(ctx: RequestContext, library_id: uuid.UUID) -> ScanList:
    await _library(ctx, library_id)
    return ScanList(
        scans=[await scan_out(ctx, s) for s in await scans.history(ctx.state.db, library_id)]
    )


@router.route(
    "/scans",
    summary="Scans running or paused now",
    response=ScanList,
    permission="libraries:read",
    tags=TAGS,
)
async def active_scans(ctx: RequestContext) -> ScanList:
    found = await _visible_scans(ctx, await scans.active(ctx.state.db))
    return ScanList(scans=[await scan_out(ctx, s) for s in found])


@router.route(
    "/scans/<uuid:scan_id>",
    summary="One scan",
    response=ScanOut,
    permission="libraries:read",
    tags=TAGS,
    errors={404: "no such scan"},
)
async def get_scan(ctx: RequestContext, scan_id: uuid.UUID) -> ScanOut:
    scan = await scans.get(ctx.state.db, scan_id)
    if scan is None or not await _visible_scans(ctx, [scan]):
        raise NotFound(ErrorCode.NOT_FOUND, f"no scan {scan_id}")
    return await scan_out(ctx, scan)
