"""FolderScan: walk a folder subtree, record which media files exist, queue what changed.

One job walks breadth-first up to a budget of folders and files, then hands the rest of the
tree to child FolderScan jobs, so a huge library is many resumable jobs of bounded size and a
crash loses at most one batch of work. ``os.scandir`` gives names, types and (for files) sizes
and mtimes from one directory read: no per-file stat storms. A folder whose listing fingerprint
is unchanged since the last scan is not diffed again (only walked for subfolders).

Safety: a folder that cannot be listed never marks its files missing, and neither does a root
that is suddenly empty while the index has files for it (an unmounted disk or share).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio

from appliance.metadata.enrich import enrich_jobs
from appliance.orchestration.dispatcher import JobContext
from appliance.scan import naming
from store import media_index, queue, scans
from store import metadata as store_metadata
from store.db import Connection
from store.media_index import FileRow
from store.paths import from_db, to_db
from store.queue import NewJob, Priority

log = logging.getLogger(__name__)

# A job's walk is cheap next to its fixed cost (a claim, a fingerprint lookup, a commit, and on
# two cores the GIL handed between the walk thread and trio's at every round trip), so a typical
# library (30k files in 13.6k folders: one job per root) is walked in one go. Continuation chunks
# are half the folder budget, so a chunk's own subfolders (Season NN, Extras) fit in its job
# instead of spilling into yet another level of jobs.
MAX_FOLDERS_PER_JOB = 16000
MAX_FILES_PER_JOB = 40000
PENDING_PER_CHILD = 8000
ENRICH_BATCH = 500


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
    pending: list[str]


def list_folder(path: str) -> Listing:
    listing = Listing(path)
    files, subdirs = listing.files, listing.subdirs
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
                        if naming.is_ignored_dir_name(name):
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
                        if (dot > 0 and name[dot:].lower() in naming.VIDEO_EXTENSIONS
                                and entry.is_file()):
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
         max_files: int = MAX_FILES_PER_JOB, *, start_is_root: bool = False) -> Walk:
    """Breadth-first listing of up to a budget of folders/files; the rest is ``pending``.

    A library root is never skipped as "ignored" (a root may well be ``/srv/.media``).
    """
    todo = deque(start)
    roots = set(start) if start_is_root else set()
    listings: list[Listing] = []
    files = 0
    while todo and len(listings) < max_folders and files < max_files:
        path = todo.popleft()
        listing = list_folder(path)
        if listing.ignored and path not in roots:
            # like a folder that is not there: whatever was indexed below it goes away
            listing.files.clear()
            listing.subdirs.clear()
        listing.fingerprint  # noqa: B018 -- hashed here, in the worker thread, not on trio's
        listings.append(listing)
        files += len(listing.files)
        prefix = path if path.endswith("/") else path + "/"  # os.path.join, for plain names
        todo.extend([prefix + d for d in listing.subdirs])
    return Walk(listings, list(todo))


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


async def handle(ctx: JobContext, *, analyze: bool = True, metadata: bool = False) -> None:
    job = ctx.job
    assert job.library_id is not None
    library_id = job.library_id
    payload: dict[str, Any] = job.payload
    folders = [from_db(f) for f in payload.get("folders") or [payload["folder"]]]
    folder = folders[0]
    force = bool(payload.get("force"))
    priority = Priority(job.priority)
    result = await trio.to_thread.run_sync(
        partial(walk, folders, start_is_root=bool(payload.get("root"))))
    paths = [to_db(listing.path) for listing in result.listings]
    known = await media_index.folder_fingerprints(ctx.db, library_id, paths)
    changed = [ls for ls in result.listings
               if ls.error is None and (force or known.get(to_db(ls.path)) != ls.fingerprint)]
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
    for listing in changed:
        listed.update(to_db(os.path.join(listing.path, n)) for n, _, _ in listing.files)
        current_dirs.update(to_db(os.path.join(listing.path, d)) for d in listing.subdirs)
    gone_files = [p for p, row in existing.items() if row["present"] and p not in listed]
    known_children = await media_index.child_folders(
        ctx.db, library_id, [to_db(ls.path) for ls in changed]) if changed else []
    gone_dirs = [d for d in known_children if d not in current_dirs]

    async def write(conn: Connection) -> None:
        upserts: list[FileRow] = []
        for listing in changed:
            for name, size, mtime in listing.files:
                path = to_db(os.path.join(listing.path, name))
                row = existing.get(path)
                if (row is None or not row["present"] or row["size_bytes"] != size
                        or row["mtime_ns"] != mtime):
                    upserts.append(FileRow(path, to_db(listing.path), size, mtime))
        missing_items = await media_index.mark_missing(conn, library_id, gone_files)
        missing_items += await media_index.mark_gone_dirs(conn, library_id, gone_dirs)
        file_ids = await media_index.upsert_files(conn, library_id, upserts)
        await media_index.refresh_presence(conn, missing_items)
        changed_ids = {id(ls) for ls in changed}
        # Unchanged folders keep their row: an unchanged rescan writes (almost) nothing.
        await media_index.save_folders(
            conn, library_id,
            [(to_db(ls.path), ls.fingerprint if ls.error is None else "", ls.problem)
             for ls in result.listings if id(ls) in changed_ids or ls.problem is not None],
        )
        children = continuation_jobs(library_id, job.scan_id, result.pending, priority, force)
        for start in range(0, len(file_ids), ENRICH_BATCH):
            batch = [str(i) for i in file_ids[start:start + ENRICH_BATCH]]
            children.append(NewJob("metadata_enrich", library_id, {"file_ids": batch},
                                   priority, scan_id=job.scan_id))
        if metadata and payload.get("root"):
            # items no provider described yet are tried again once per scan (at once when
            # forced, else when their last try is RETRY_UNDESCRIBED old)
            retry = await store_metadata.undescribed(
                conn, library_id, 0 if force else RETRY_UNDESCRIBED_SECONDS)
            children += enrich_jobs(library_id, retry, job.scan_id)
        if analyze:
            children += [NewJob("media_analyze", library_id, {"file_id": str(i)},
                                Priority(min(3, priority + 1)), f"media_analyze:{i}",
                                scan_id=job.scan_id) for i in file_ids]
        await queue.enqueue(conn, children)
        if job.scan_id is not None:
            await scans.add_progress(conn, job.scan_id, len(result.listings),
                                     sum(len(ls.files) for ls in result.listings), len(errors))

    await ctx.commit(write)
