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

import hashlib
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec
import trio

from appliance.metadata.enrich import enrich_jobs
from appliance.orchestration.dispatcher import JobContext
from appliance.scan import index_upsert, naming
from appliance.scan.metadata_enrich import ParsedColumns, parse_columns
from store import libraries, media_index, queue, scans
from store import metadata as store_metadata
from store.db import Connection
from store.media_index import FileRow
from store.paths import from_db, to_db
from store.queue import NewJob, Priority

log = logging.getLogger(__name__)

# Unchanged folders are nearly free (one listing, one hash, no database work), so the folder
# and file budgets are large: an unchanged rescan of a typical library is one job. What bounds a
# job's transaction is the number of changed files it indexes: a first scan of 30k files is a
# handful of jobs of a few thousand files, each committed on its own (and the sync feed's
# ordering lock is held for one batch, not for the whole library). Continuation chunks are
# half a folder budget of the old design, so a chunk's own subfolders fit in its job.
MAX_FOLDERS_PER_JOB = 50000
MAX_FILES_PER_JOB = 150000
MAX_CHANGED_FILES_PER_JOB = 4000
PENDING_PER_CHILD = 8000

Parser = Callable[[str], ParsedColumns]


@dataclass(slots=True)
class Listing:
    # slots: a walk keeps thousands of these alive at once, and every __dict__ is one more
    # object for the cyclic garbage collector to traverse.
    path: str
    files: list[tuple[str, int, int]] = field(default_factory=list)  # name, size, mtime_ns
    subdirs: list[str] = field(default_factory=list)
    error: str | None = None
    """The folder could not be listed: nothing in it may be judged missing."""
    warnings: list[str] = field(default_factory=list)
    """Entries skipped (a symlink loop, an unreadable file); the rest of the listing holds."""
    ignored: bool = False
    """The folder holds a ``.ignore`` file: it and everything below it are not scanned."""
    changed: bool = True
    """The fingerprint differs from the stored one (or the scan is forced): index it."""
    parsed: list[tuple[ParsedColumns, msgspec.Raw]] | None = None
    """Per file, in ``files`` order: the parsed columns and their JSON text (walk thread)."""
    _fingerprint: str | None = None

    @property
    def problem(self) -> str | None:
        return self.error or ("; ".join(self.warnings) if self.warnings else None)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            # repr() of the sorted tuples is one C-level pass; building per-entry strings in
            # Python was half the cost of an unchanged rescan.
            blob = f"{sorted(self.files)!r}|{sorted(self.subdirs)!r}"
            self._fingerprint = hashlib.blake2b(blob.encode("utf-8", "surrogateescape"),
                                                digest_size=16).hexdigest()
        return self._fingerprint


@dataclass
class Walk:
    listings: list[Listing]
    """Changed folders, folders with a problem, and the first start folder; unchanged ones are
    only counted."""
    pending: list[str]
    folders: int = 0
    files: int = 0


def list_folder(path: str, video: frozenset[str] = naming.VIDEO_EXTENSIONS,
                ignored: frozenset[str] = naming.IGNORED_DIR_NAMES) -> Listing:
    # An unchanged rescan is this loop and little else: the per-entry work is kept to the
    # checks that decide (name, then d_type from the directory read, then one stat per video
    # file), with the module lookups bound once as defaults.
    files: list[tuple[str, int, int]] = []
    subdirs: list[str] = []
    listing = Listing(path, files, subdirs)
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":  # hidden (names are never empty)
                    if name == ".ignore":
                        listing.ignored = True
                    continue
                try:
                    if entry.is_dir():
                        if name.lower() in ignored:
                            continue
                        if entry.is_symlink():
                            target = os.path.realpath(entry.path)
                            here = os.path.realpath(path)
                            if here == target or here.startswith(target.rstrip("/") + "/"):
                                listing.warnings.append(f"symlink loop skipped: {name}")
                                continue
                        subdirs.append(name)
                    else:
                        # the extension first: no is_file()/stat() for artwork, NFOs, subtitles
                        dot = name.rfind(".")
                        if dot > 0 and name[dot:].lower() in video and entry.is_file():
                            stat = entry.stat()
                            files.append((name, stat.st_size, stat.st_mtime_ns))
                except OSError as exc:  # a dangling symlink, a file that vanished mid-listing
                    listing.warnings.append(f"{name}: {exc.strerror or exc}")
    except OSError as exc:
        listing.error = exc.strerror or str(exc)
        files.clear()
        subdirs.clear()
    return listing


def walk(start: list[str], max_folders: int = MAX_FOLDERS_PER_JOB,
         max_files: int = MAX_FILES_PER_JOB, *, start_is_root: bool = False,
         known: Mapping[str, str] | None = None, force: bool = False,
         parse: Parser | None = None,
         max_changed: int = MAX_CHANGED_FILES_PER_JOB) -> Walk:
    """Breadth-first listing of up to a budget of folders/files/changed files; the rest is
    ``pending``. ``known`` maps folder (database form) → stored fingerprint.

    A library root is never skipped as "ignored" (a root may well be ``/srv/.media``).
    """
    todo = deque(start)
    roots = set(start) if start_is_root else set()
    kept: list[Listing] = []
    result = Walk(kept, [])
    changed_files = 0
    known = known or {}
    while (todo and result.folders < max_folders and result.files < max_files
           and changed_files < max_changed):
        path = todo.popleft()
        listing = list_folder(path)
        if listing.ignored and path not in roots:
            # like a folder that is not there: whatever was indexed below it goes away
            listing.files.clear()
            listing.subdirs.clear()
        result.folders += 1
        result.files += len(listing.files)
        prefix = path if path.endswith("/") else path + "/"  # os.path.join, for plain names
        todo.extend([prefix + d for d in listing.subdirs])
        listing.changed = listing.error is None and (
            force or known.get(to_db(path)) != listing.fingerprint)
        if listing.changed:
            changed_files += len(listing.files)
            if parse is not None:
                listing.parsed = [_parsed(parse, prefix + name) for name, _, _ in listing.files]
        if listing.changed or listing.problem is not None or result.folders == 1:
            kept.append(listing)
    result.pending = list(todo)
    return result


def _parsed(parse: Parser, path: str) -> tuple[ParsedColumns, msgspec.Raw]:
    columns = parse(path)
    return columns, msgspec.Raw(msgspec.json.encode(columns[0]))


def folder_scan_job(library_id: uuid.UUID, scan_id: uuid.UUID | None, folder: str,
                    priority: Priority, force: bool = False, root: bool = False) -> NewJob:
    return NewJob("folder_scan", library_id, {"folders": [folder], "force": force, "root": root},
                  priority, f"folder_scan:{library_id}:{folder}", scan_id=scan_id)


def continuation_jobs(library_id: uuid.UUID, scan_id: uuid.UUID | None, pending: list[str],
                      priority: Priority, force: bool) -> list[NewJob]:
    """The rest of the tree in chunks: a root of 13,000 film folders becomes a dozen jobs,
    not 13,000 (each job costs a claim, a transaction and a completion)."""
    jobs = []
    for start in range(0, len(pending), PENDING_PER_CHILD):
        chunk = [to_db(p) for p in pending[start:start + PENDING_PER_CHILD]]
        jobs.append(NewJob("folder_scan", library_id,
                           {"folders": chunk, "force": force, "root": False}, priority,
                           f"folder_scan:{library_id}:{chunk[0]}+{len(chunk)}", scan_id=scan_id))
    return jobs

RETRY_UNDESCRIBED_SECONDS = 6 * 3600


async def handle(ctx: JobContext, *, analyze: bool = True, metadata: bool = False,
                 images: bool = False) -> None:
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
    known = await media_index.library_fingerprints(
        ctx.db, library_id,
        None if payload.get("root") or len(folders) > 1 else to_db(folder))
    roots, kind = list(library.roots), library.kind
    result = await trio.to_thread.run_sync(partial(
        walk, folders, start_is_root=bool(payload.get("root")), known=known, force=force,
        parse=lambda path: parse_columns(path, kind, roots),
        max_changed=MAX_CHANGED_FILES_PER_JOB))
    del known
    changed = [ls for ls in result.listings if ls.changed]
    existing: dict[str, Any] = {}
    if changed:
        for row in await media_index.files_in_folders(ctx.db, library_id,
                                                      [to_db(ls.path) for ls in changed]):
            existing[row["path"]] = row
    errors = [ls for ls in result.listings if ls.problem is not None]
    root = result.listings[0] if result.listings and payload.get("root") else None
    if root is not None and root.error is None and not root.files and not root.subdirs and (
            await media_index.has_files_under(ctx.db, library_id, to_db(folder))):
        # An empty root that used to hold media is an unmounted disk or share, not a purge.
        root.error = "library root is empty but indexed files exist: not mounted? nothing removed"
        changed = [ls for ls in changed if ls is not root]  # identity, not equality
        errors.append(root)
    for listing in errors:
        log.warning("folder not fully readable",
                    extra={"folder": listing.path, "error": listing.problem})

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
            if (row is None or not row["present"] or row["size_bytes"] != size
                    or row["mtime_ns"] != mtime):
                if listing.parsed is not None:
                    (data, version, part, extra), text = listing.parsed[index]
                else:
                    data, version, part, extra, text = None, None, None, None, None
                upserts.append(FileRow(path, db_folder, size, mtime, text, version, part, extra))
                parsed.append(data)
    gone_files = [p for p, row in existing.items() if row["present"] and p not in listed]
    known_children = await media_index.child_folders(
        ctx.db, library_id, [to_db(ls.path) for ls in changed]) if changed else []
    gone_dirs = [d for d in known_children if d not in current_dirs]

    batch = await trio.to_thread.run_sync(index_upsert.plan, kind, parsed)

    async def write(conn: Connection) -> None:
        missing_items = await media_index.mark_missing(conn, library_id, gone_files)
        missing_items += await media_index.mark_gone_dirs(conn, library_id, gone_dirs)
        items = await index_upsert.resolve(conn, library_id, kind, batch)
        rows = [FileRow(r.path, r.folder, r.size_bytes, r.mtime_ns, r.parsed, r.version, r.part,
                        r.extra_kind, item_id)
                for r, item_id in zip(upserts, items.item_of, strict=True)]
        file_ids = list((await media_index.upsert_files(conn, library_id, rows,
                                                        ids=analyze)).values())
        if items.created:
            await index_upsert.link_waiting_extras(conn, library_id, kind)
        await media_index.refresh_presence(conn, missing_items)
        # Unchanged folders keep their row: an unchanged rescan writes (almost) nothing.
        await media_index.save_folders(
            conn, library_id,
            [(to_db(ls.path), ls.fingerprint if ls.error is None else "", ls.problem)
             for ls in result.listings if ls.changed or ls.problem is not None],
        )
        children = continuation_jobs(library_id, job.scan_id, result.pending, priority, force)
        if metadata:
            # providers for new items and for those nothing described yet (retried each scan);
            # ImageFetch follows the metadata stage
            pending = await store_metadata.needing_metadata(conn, items.touched)
            if payload.get("root"):
                # items no provider described yet are tried again once per scan (at once when
                # forced, else when their last try is RETRY_UNDESCRIBED old)
                retry = await store_metadata.undescribed(
                    conn, library_id, 0 if force else RETRY_UNDESCRIBED_SECONDS)
                queued = set(pending)
                pending += [i for i in retry if i not in queued]
            children += enrich_jobs(library_id, pending, job.scan_id)
        elif items.created and images:
            children.append(NewJob(
                "image_fetch", library_id, {"item_ids": [str(i) for i in items.created]},
                Priority.P3, scan_id=job.scan_id))
        if analyze:
            children += [NewJob("media_analyze", library_id, {"file_id": str(i)},
                                Priority(min(3, priority + 1)), f"media_analyze:{i}",
                                scan_id=job.scan_id) for i in file_ids]
        await queue.enqueue(conn, children)
        if job.scan_id is not None:
            await scans.add_progress(conn, job.scan_id, result.folders, result.files,
                                     len(errors))

    await ctx.commit(write)
