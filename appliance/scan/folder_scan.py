"""FolderScan: walk a folder subtree, record which media files exist, index what changed.

One job walks breadth-first up to a budget, then hands the rest of the tree to child FolderScan
jobs, so a huge library is many resumable jobs of bounded size and a crash loses at most one
batch of work. ``os.scandir`` gives names, types and (for files) sizes and mtimes from one
directory read: no per-file stat storms.

Unchanged folders cost no database work: the library's folder fingerprints are loaded in one
query before the walk, and the walk thread drops every folder whose listing fingerprint is
unchanged (only its subfolders are walked). The budget counts *changed* files, so an unchanged
rescan of a whole library is one job while a first scan is split into batches.

New and changed files are parsed (the naming parser) in the walk thread and written with their
items in the job's one transaction: series → seasons → episodes / movies first, then the file
rows already parsed and linked. That is the bulk seed path of a first scan: one row version per
file and a handful of set-based statements per batch, instead of three jobs (FolderScan,
MetadataEnrich, IndexUpsert) each rewriting every file row.

Safety: a folder that cannot be listed never marks its files missing, and neither does a root
that is suddenly empty while the index has files for it (an unmounted disk or share).
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import trio

from appliance.metadata import local
from appliance.metadata.enrich import enrich_jobs
from appliance.orchestration.dispatcher import JobContext
from appliance.scan import index_upsert
from appliance.scan.walkers import Walkers
from appliance.scan.walking import (
    MAX_CHANGED_FILES_PER_JOB,
    SIDECAR_EXTENSIONS,
    Listing,
    WalkSpec,
)
from store import libraries, media_index, queue, scans
from store import metadata as store_metadata
from store.db import Connection
from store.media_index import FileRow
from store.paths import from_db, to_db
from store.queue import NewJob, Priority

log = logging.getLogger(__name__)

__all__ = ["MAX_CHANGED_FILES_PER_JOB", "continuation_jobs", "folder_scan_job", "handle"]

PENDING_PER_CHILD = 8000
"""Continuation chunks: the rest of a tree too big for one job, in folders per child job."""


def folder_scan_job(
    library_id: uuid.UUID,
    scan_id: uuid.UUID | None,
    folder: str,
    priority: Priority,
    force: bool = False,
    root: bool = False,
) -> NewJob:
    return NewJob(
        "folder_scan",
        library_id,
        {"folders": [folder], "force": force, "root": root},
        priority,
        f"folder_scan:{library_id}:{folder}",
        scan_id=scan_id,
    )


def continuation_jobs(
    library_id: uuid.UUID,
    scan_id: uuid.UUID | None,
    pending: list[str],
    priority: Priority,
    force: bool,
) -> list[NewJob]:
    """The rest of the tree in chunks: a root of 13,000 film folders becomes a dozen jobs,
    not 13,000 (each job costs a claim, a transaction and a completion)."""
    jobs = []
    for start in range(0, len(pending), PENDING_PER_CHILD):
        chunk = [to_db(p) for p in pending[start : start + PENDING_PER_CHILD]]
        jobs.append(
            NewJob(
                "folder_scan",
                library_id,
                {"folders": chunk, "force": force, "root": False},
                priority,
                f"folder_scan:{library_id}:{chunk[0]}+{len(chunk)}",
                scan_id=scan_id,
            )
        )
    return jobs


RETRY_UNDESCRIBED_SECONDS = 6 * 3600


IN_THREAD = Walkers(0)


def sidecar_folders(
    listings: list[Listing], folders: set[str], roots: list[str], series_library: bool
) -> tuple[set[str], dict[str, str]]:
    """Blocking: which of ``folders`` (and of their series folders, for season folders of a
    series library) hold an NFO or an image, and each folder's series folder where it differs.
    The walk saw the sidecars of the folders it listed; a series folder listed by an earlier
    batch (or unchanged) is read here, once per batch."""
    seen = {to_db(ls.path): ls.sidecars for ls in listings if ls.error is None}
    parent_of: dict[str, str] = {}
    for folder in folders if series_library else ():
        series = to_db(str(local.series_folder(Path(from_db(folder)) / "_", roots)))
        if series != folder:
            parent_of[folder] = series
    found = set()
    for folder in folders | set(parent_of.values()):
        has = seen.get(folder)
        if has is None:
            try:
                with os.scandir(from_db(folder)) as entries:
                    has = any(
                        os.path.splitext(e.name)[1].lower() in SIDECAR_EXTENSIONS for e in entries
                    )
            except OSError:
                has = False
        if has:
            found.add(folder)
    return found, parent_of


def next_to_sidecars(
    rows: list[FileRow], items: index_upsert.Resolved, found: set[str], parent_of: dict[str, str]
) -> set[uuid.UUID]:
    """Items of a batch that local NFOs or art may describe: a film or episode whose folder
    holds sidecars; a season or series whose episode folder or series folder does."""
    near: set[uuid.UUID] = set()
    for index, row in enumerate(rows):
        item = items.item_of[index]
        if item is None or row.extra_kind is not None:
            continue  # an extra's folder says nothing about the film or show it belongs to
        here = row.folder in found
        if here:
            near.add(item)
        if index in items.parents and (here or parent_of.get(row.folder) in found):
            near.update(items.parents[index])
    return near


def settled_editions(
    rows: list[FileRow], parsed: list[dict[str, Any] | None], items: index_upsert.Resolved
) -> set[uuid.UUID]:
    """Items this batch created whose main files here name no edition: created with none, and
    these are all their files, so the edition refresh has nothing to change on them."""
    settled = set(items.created)
    for index, row in enumerate(rows):
        data = parsed[index]
        if row.extra_kind is None and data is not None and data.get("edition") is not None:
            settled.discard(items.item_of[index])
    return settled


async def handle(
    ctx: JobContext,
    *,
    analyze: bool = True,
    metadata: bool = False,
    remote: bool = False,
    images: bool = False,
    walkers: Walkers = IN_THREAD,
) -> None:
    """``remote``: a remote metadata provider (TMDB) is configured, so every new item goes to
    MetadataEnrich; without one only items next to sidecars do, and the rest are marked
    described by nothing here, in the batch's own transaction (no job, no image fetch)."""
    job = ctx.job
    assert job.library_id is not None
    library_id = job.library_id
    payload: dict[str, Any] = job.payload
    folders = [from_db(f) for f in payload.get("folders") or [payload["folder"]]]
    folder = folders[0]
    force = bool(payload.get("force"))
    priority = Priority(job.priority)
    library = await libraries.get(ctx.db, library_id)
    if library is None:  # deleted meanwhile (its jobs are being cancelled)
        await ctx.commit()
        return
    # one query for the whole tree this job may walk: a root or a chunk of a scan loads the
    # library's fingerprints, a watcher's folder job only its subtree
    known = await media_index.library_fingerprints_json(
        ctx.db, library_id, None if payload.get("root") or len(folders) > 1 else to_db(folder)
    )
    kind = library.kind
    result = await walkers.walk(
        WalkSpec(
            folders,
            known,
            start_is_root=bool(payload.get("root")),
            force=force,
            library_kind=kind,
            roots=tuple(library.roots),
            max_changed=MAX_CHANGED_FILES_PER_JOB,
        )
    )  # read per call: tests make batches small
    del known
    changed = [ls for ls in result.listings if ls.changed]
    existing: dict[str, Any] = {}
    if changed:
        for row in await media_index.files_in_folders(
            ctx.db, library_id, [to_db(ls.path) for ls in changed]
        ):
            existing[row["path"]] = row
    errors = [ls for ls in result.listings if ls.problem is not None]
    root = result.listings[0] if result.listings and payload.get("root") else None
    if (
        root is not None
        and root.error is None
        and not root.files
        and not root.subdirs
        and (await media_index.has_files_under(ctx.db, library_id, to_db(folder)))
    ):
        # An empty root that used to hold media is an unmounted disk or share, not a purge.
        root.error = "library root is empty but indexed files exist: not mounted? nothing removed"
        changed = [ls for ls in changed if ls is not root]  # identity, not equality
        errors.append(root)
    for listing in errors:
        log.warning(
            "folder not fully readable", extra={"folder": listing.path, "error": listing.problem}
        )

    # What disappeared, decided from this batch's listings (set-based, not per folder):
    # files no longer in their folder, and known subfolders that are gone with everything
    # under them.
    listed: set[str] = set()
    current_dirs: set[str] = set()
    upserts: list[FileRow] = []
    parsed: list[dict[str, Any] | None] = []
    for listing in changed:
        db_folder = to_db(listing.path)
        prefix = db_folder if db_folder.endswith("/") else db_folder + "/"
        current_dirs.update(prefix + to_db(d) for d in listing.subdirs)
        for index, (name, size, mtime) in enumerate(listing.files):
            path = prefix + to_db(name)
            listed.add(path)
            row = existing.get(path)
            if (
                row is None
                or not row["present"]
                or row["size_bytes"] != size
                or row["mtime_ns"] != mtime
            ):
                if listing.parsed is not None:
                    (data, version, part, extra), text = listing.parsed[index]
                else:
                    data, version, part, extra, text = None, None, None, None, None
                upserts.append(FileRow(path, db_folder, size, mtime, text, version, part, extra))
                parsed.append(data)
    gone_files = [p for p, row in existing.items() if row["present"] and p not in listed]
    known_children = (
        await media_index.child_folders(ctx.db, library_id, [to_db(ls.path) for ls in changed])
        if changed
        else []
    )
    gone_dirs = [d for d in known_children if d not in current_dirs]

    batch = await trio.to_thread.run_sync(index_upsert.plan, kind, parsed)
    sidecars: tuple[set[str], dict[str, str]] = (set(), {})
    if metadata and not remote and upserts:
        sidecars = await trio.to_thread.run_sync(
            sidecar_folders,
            result.listings,
            {r.folder for r in upserts},
            list(library.roots),
            kind == "series",
        )

    async def write(conn: Connection) -> None:
        missing_items = await media_index.mark_missing(conn, library_id, gone_files)
        missing_items += await media_index.mark_gone_dirs(conn, library_id, gone_dirs)
        items = await index_upsert.resolve(
            conn, library_id, kind, batch, tried=metadata and not remote
        )
        rows = [
            FileRow(
                r.path,
                r.folder,
                r.size_bytes,
                r.mtime_ns,
                r.parsed,
                r.version,
                r.part,
                r.extra_kind,
                item_id,
            )
            for r, item_id in zip(upserts, items.item_of, strict=True)
        ]
        file_ids = list(
            (
                await media_index.upsert_files(
                    conn,
                    library_id,
                    rows,
                    ids=analyze,
                    settled=settled_editions(upserts, parsed, items),
                )
            ).values()
        )
        if items.created:
            await index_upsert.link_waiting_extras(conn, library_id, kind)
        await media_index.refresh_presence(conn, missing_items)
        # Unchanged folders keep their row: an unchanged rescan writes (almost) nothing.
        await media_index.save_folders(
            conn,
            library_id,
            [
                (to_db(ls.path), ls.fingerprint if ls.error is None else "", ls.problem)
                for ls in result.listings
                if ls.changed or ls.problem is not None
            ],
        )
        children = continuation_jobs(library_id, job.scan_id, result.pending, priority, force)
        if metadata:
            # providers for new items and for those nothing described yet (retried each scan);
            # ImageFetch follows the metadata stage
            pending = await store_metadata.needing_metadata(conn, items.touched)
            if not remote:
                near = next_to_sidecars(upserts, items, *sidecars)
                await store_metadata.described_by_nothing(
                    conn, [i for i in pending if i not in near]
                )
                pending = [i for i in pending if i in near]
            # a changed folder with sidecars: its known items are described again (a poster
            # dropped next to a film replaces the poster made from a frame at this scan)
            art_folders = {to_db(ls.path) for ls in changed if ls.sidecars}
            queued = set(pending)
            pending += list(
                {
                    row["item_id"]
                    for row in existing.values()
                    if row["present"]
                    and row["item_id"] is not None
                    and row["folder"] in art_folders
                    and row["item_id"] not in queued
                }
            )
            if payload.get("root"):
                # items no provider described yet are tried again once per scan (at once when
                # forced, else when their last try is RETRY_UNDESCRIBED old)
                retry = await store_metadata.undescribed(
                    conn, library_id, 0 if force else RETRY_UNDESCRIBED_SECONDS
                )
                queued = set(pending)
                pending += [i for i in retry if i not in queued]
            children += enrich_jobs(library_id, pending, job.scan_id)
        elif items.created and images:
            children.append(
                NewJob(
                    "image_fetch",
                    library_id,
                    {"item_ids": [str(i) for i in items.created]},
                    Priority.P3,
                    scan_id=job.scan_id,
                )
            )
        if analyze:
            children += [
                NewJob(
                    "media_analyze",
                    library_id,
                    {"file_id": str(i)},
                    Priority(min(3, priority + 1)),
                    f"media_analyze:{i}",
                    scan_id=job.scan_id,
                )
                for i in file_ids
            ]
        await queue.enqueue(conn, children)
        if job.scan_id is not None:
            await scans.add_progress(conn, job.scan_id, result.folders, result.files, len(errors))

    await ctx.commit(write)
