"""``/api/v1/libraries`` and ``/api/v1/scans``: library CRUD and scan control."""

from __future__ import annotations

import uuid

import trio

from appliance.api.errors import ApiError
from appliance.api.routing import RequestContext, Router
from appliance.scan.roots import RootError, validate_roots
from store import libraries, queue, scans
from store.libraries import Library
from store.scans import Scan
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


def library_out(library: Library) -> LibraryOut:
    return LibraryOut(
        id=library.id, name=library.name, kind=library.kind,  # type: ignore[arg-type]
        roots=list(library.roots), scan_interval_minutes=library.scan_interval_minutes,
        watch=library.watch, paused=library.paused, created_at=library.created_at,
    )


async def scan_out(ctx: RequestContext, scan: Scan) -> ScanOut:
    jobs = await scans.job_counts(ctx.state.db, scan.id)
    return ScanOut(id=scan.id, library_id=scan.library_id, state=scan.state, trigger=scan.trigger,
                   folders_walked=scan.folders_walked, files_found=scan.files_found,
                   errors=scan.errors, started_at=scan.started_at, finished_at=scan.finished_at,
                   jobs=jobs)


async def _library(ctx: RequestContext, library_id: uuid.UUID) -> Library:
    library = await libraries.get(ctx.state.db, library_id)
    if library is None:
        raise ApiError(404, "not_found", f"no library {library_id}")
    return library


async def _checked_roots(
    ctx: RequestContext, roots: list[str], exclude: uuid.UUID | None
) -> list[str]:
    others = [(lib.name, root) for lib in await libraries.list_all(ctx.state.db)
              if lib.id != exclude for root in lib.roots]
    try:
        return await trio.to_thread.run_sync(validate_roots, roots, others)
    except RootError as exc:
        raise ApiError(422, "invalid_root", str(exc)) from None


def _check_fields(name: str | None, interval: int | None) -> None:
    if name is not None and not name.strip():
        raise ApiError(422, "invalid_body", "name: must not be empty")
    if interval is not None and not 0 <= interval <= 525_600:
        raise ApiError(422, "invalid_body", "scan_interval_minutes: must be 0 to 525600")


@router.route("/libraries", summary="List libraries", response=LibraryList,
              permission="libraries:read", tags=TAGS)
async def list_libraries(ctx: RequestContext) -> LibraryList:
    return LibraryList(libraries=[library_out(lib)
                                  for lib in await libraries.list_all(ctx.state.db)])


@router.route("/libraries", "POST", summary="Add a library and start its first scan",
              request=LibraryIn, response=LibraryOut, status=201,
              permission="libraries:manage", tags=TAGS)
async def create_library(ctx: RequestContext, body: LibraryIn) -> LibraryOut:
    _check_fields(body.name, body.scan_interval_minutes)
    roots = await _checked_roots(ctx, body.roots, None)
    library = await libraries.create(ctx.state.db, body.name.strip(), body.kind, roots,
                                     scan_interval_minutes=body.scan_interval_minutes,
                                     watch=body.watch)
    await ctx.state.scan_service.start(library.id, trigger="initial")
    ctx.state.bus.publish("library.created", library_id=str(library.id))
    return library_out(library)


@router.route("/libraries/<uuid:library_id>", summary="One library", response=LibraryOut,
              permission="libraries:read", tags=TAGS)
async def get_library(ctx: RequestContext, library_id: uuid.UUID) -> LibraryOut:
    return library_out(await _library(ctx, library_id))


@router.route("/libraries/<uuid:library_id>", "PATCH", summary="Edit a library",
              request=LibraryPatch, response=LibraryOut, permission="libraries:manage",
              tags=TAGS)
async def update_library(ctx: RequestContext, library_id: uuid.UUID,
                         body: LibraryPatch) -> LibraryOut:
    await _library(ctx, library_id)
    _check_fields(body.name, body.scan_interval_minutes)
    roots = None if body.roots is None else await _checked_roots(ctx, body.roots, library_id)
    library = await libraries.update(
        ctx.state.db, library_id, name=body.name.strip() if body.name else None, roots=roots,
        scan_interval_minutes=body.scan_interval_minutes, watch=body.watch,
    )
    assert library is not None
    if roots is not None:
        await ctx.state.scan_service.start(library_id, trigger="roots changed")
    ctx.state.bus.publish("library.updated", library_id=str(library_id))
    return library_out(library)


@router.route("/libraries/<uuid:library_id>", "DELETE",
              summary="Delete a library: its items go, its jobs are cancelled",
              permission="libraries:manage", tags=TAGS)
async def delete_library(ctx: RequestContext, library_id: uuid.UUID) -> None:
    await _library(ctx, library_id)
    await queue.cancel_library(ctx.state.db, library_id)
    await libraries.delete(ctx.state.db, library_id)
    ctx.state.bus.publish("library.deleted", library_id=str(library_id))


@router.route("/libraries/<uuid:library_id>/scan", "POST",
              summary="Start a scan (or join the running one)", request=ScanRequest,
              response=ScanOut, status=202, permission="libraries:scan", tags=TAGS)
async def start_scan(ctx: RequestContext, library_id: uuid.UUID, body: ScanRequest) -> ScanOut:
    await _library(ctx, library_id)
    scan = await ctx.state.scan_service.start(library_id, trigger="manual", force=body.force)
    return await scan_out(ctx, scan)


async def _control(ctx: RequestContext, library_id: uuid.UUID, action: str) -> ScanOut:
    await _library(ctx, library_id)
    service = ctx.state.scan_service
    scan = await {"pause": service.pause, "resume": service.resume,
                  "cancel": service.cancel}[action](library_id)
    if scan is None:
        raise ApiError(409, "no_active_scan", "this library has no running or paused scan")
    return await scan_out(ctx, scan)


@router.route("/libraries/<uuid:library_id>/scan/pause", "POST", summary="Pause the scan",
              response=ScanOut, permission="libraries:scan", tags=TAGS)
async def pause_scan(ctx: RequestContext, library_id: uuid.UUID) -> ScanOut:
    return await _control(ctx, library_id, "pause")


@router.route("/libraries/<uuid:library_id>/scan/resume", "POST", summary="Resume the scan",
              response=ScanOut, permission="libraries:scan", tags=TAGS)
async def resume_scan(ctx: RequestContext, library_id: uuid.UUID) -> ScanOut:
    return await _control(ctx, library_id, "resume")


@router.route("/libraries/<uuid:library_id>/scan/cancel", "POST", summary="Cancel the scan",
              response=ScanOut, permission="libraries:scan", tags=TAGS)
async def cancel_scan(ctx: RequestContext, library_id: uuid.UUID) -> ScanOut:
    return await _control(ctx, library_id, "cancel")


@router.route("/libraries/<uuid:library_id>/scans", summary="Scan history of a library",
              response=ScanList, permission="libraries:read", tags=TAGS)
async def scan_history(ctx: RequestContext, library_id: uuid.UUID) -> ScanList:
    await _library(ctx, library_id)
    return ScanList(scans=[await scan_out(ctx, s)
                           for s in await scans.history(ctx.state.db, library_id)])


@router.route("/scans", summary="Scans running or paused now", response=ScanList,
              permission="libraries:read", tags=TAGS)
async def active_scans(ctx: RequestContext) -> ScanList:
    return ScanList(scans=[await scan_out(ctx, s) for s in await scans.active(ctx.state.db)])


@router.route("/scans/<uuid:scan_id>", summary="One scan", response=ScanOut,
              permission="libraries:read", tags=TAGS)
async def get_scan(ctx: RequestContext, scan_id: uuid.UUID) -> ScanOut:
    scan = await scans.get(ctx.state.db, scan_id)
    if scan is None:
        raise ApiError(404, "not_found", f"no scan {scan_id}")
    return await scan_out(ctx, scan)
