"""Walking library folders: listings, their fingerprints, and a budgeted breadth-first walk.

A walk is Python CPU work (per folder a listing and a fingerprint, per new file the naming
parser), so the appliance runs walks in worker processes (:mod:`appliance.scan.walkers`), where
each gets a core and a GIL of its own instead of contending with the trio loop and with the
other library's walk. This module is what those workers import: no trio, no database, nothing
but the file system, the naming parser and plain data in and out (:class:`WalkSpec` →
:class:`Walk`, both picklable).

``os.scandir`` gives names and types from one directory read; the one stat per video file is
what catches an in-place edit (new size or mtime, same name).
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from appliance.metadata.local import IMAGE_EXTS
from appliance.scan import naming
from appliance.scan.file_columns import ParsedColumns, parse_columns
from appliance.scan.links import LinkJudge
from store.paths import to_db

# Unchanged folders are nearly free (one listing, one hash, no database work), so the folder
# and file budgets are large: an unchanged rescan of a typical library is one job. What bounds a
# job's transaction is the number of changed files it indexes: a first scan of 30k files is a
# handful of jobs of a few thousand files, each committed on its own.
MAX_FOLDERS_PER_JOB = 50000
MAX_FILES_PER_JOB = 150000
MAX_CHANGED_FILES_PER_JOB = 4000

Parser = Callable[[str], ParsedColumns]
SIDECAR_EXTENSIONS = frozenset({".nfo", *IMAGE_EXTS})
"""What the local metadata providers read (appliance.metadata.local): NFOs and artwork."""


def fingerprint(
    files: list[tuple[str, int, int]], subdirs: list[str], art: list[str] | None = None
) -> str:
    # repr() of the sorted tuples is one C-level pass; building per-entry strings in Python
    # was half the cost of an unchanged rescan.
    blob = f"{sorted(files)!r}|{sorted(subdirs)!r}"
    if art:  # sidecar names: a poster.jpg dropped next to a film is a change to index (its
        # local art replaces a generated poster); folders without any keep their old value
        blob += f"|{sorted(art)!r}"
    return hashlib.blake2b(blob.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


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
    sidecars: bool = False
    """The folder holds an NFO or an image (local metadata or artwork for its items): only
    items next to such files need the local providers when no remote one is configured."""
    sidecar_names: list[str] = field(default_factory=list)
    """Their names (no stat): part of the fingerprint, so adding artwork is a change."""
    parsed: list[tuple[ParsedColumns, msgspec.Raw]] | None = None
    """Per file, in ``files`` order: the parsed columns and their JSON text (walk thread)."""
    _fingerprint: str | None = None

    @property
    def problem(self) -> str | None:
        return self.error or ("; ".join(self.warnings) if self.warnings else None)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.files, self.subdirs, self.sidecar_names)
        return self._fingerprint


@dataclass
class Walk:
    listings: list[Listing]
    """Changed folders, folders with a problem, and the first start folder; unchanged ones are
    only counted."""
    pending: list[str]
    folders: int = 0
    files: int = 0
    changed_files: int = 0


def list_folder(
    path: str,
    video: frozenset[str] = naming.VIDEO_EXTENSIONS,
    ignored: frozenset[str] = naming.IGNORED_DIR_NAMES,
    links: LinkJudge | None = None,
) -> Listing:
    # An unchanged rescan is this loop and little else: the per-entry work is kept to the
    # checks that decide (name, then d_type from the directory read, then one stat per video
    # file), with the module lookups bound once as defaults. Symbolic links are judged by
    # ``links`` (see appliance.scan.links); without it (no roots known) only loops are caught.
    links = links or LinkJudge(())
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
                        if entry.is_symlink() and links.skips(path, name, True, listing.warnings):
                            continue
                        subdirs.append(name)
                    else:
                        # the extension first: no is_file()/stat() for artwork, NFOs, subtitles
                        dot = name.rfind(".")
                        if dot > 0 and name[dot:].lower() in SIDECAR_EXTENSIONS:
                            listing.sidecars = True
                            listing.sidecar_names.append(name)
                            continue
                        if dot > 0 and name[dot:].lower() in video and entry.is_file():
                            if entry.is_symlink() and links.skips(
                                path, name, False, listing.warnings
                            ):
                                continue
                            stat = entry.stat()
                            files.append((name, stat.st_size, stat.st_mtime_ns))
                except OSError as exc:  # a dangling symlink, a file that vanished mid-listing
                    listing.warnings.append(f"{name}: {exc.strerror or exc}")
    except OSError as exc:
        listing.error = exc.strerror or str(exc)
        files.clear()
        subdirs.clear()
    return listing


def walk(
    start: list[str],
    max_folders: int = MAX_FOLDERS_PER_JOB,
    max_files: int = MAX_FILES_PER_JOB,
    *,
    start_is_root: bool = False,
    known: Mapping[str, str] | None = None,
    force: bool = False,
    parse: Parser | None = None,
    max_changed: int = MAX_CHANGED_FILES_PER_JOB,
    library_roots: Sequence[str] = (),
) -> Walk:
    """Breadth-first listing of up to a budget of folders/files/changed files; the rest is
    ``pending``. ``known`` maps folder (database form) → stored fingerprint.

    A library root is never skipped as "ignored" (a root may well be ``/srv/.media``).
    ``library_roots``: symbolic links are followed only while they stay inside them.
    """
    links = LinkJudge(library_roots)
    todo = deque(start)
    roots = set(start) if start_is_root else set()
    kept: list[Listing] = []
    result = Walk(kept, [])
    changed_files = 0
    known = known or {}
    while (
        todo
        and result.folders < max_folders
        and result.files < max_files
        and changed_files < max_changed
    ):
        path = todo.popleft()
        listing = list_folder(path, links=links)
        if listing.ignored and path not in roots:
            # like a folder that is not there: whatever was indexed below it goes away
            listing.files.clear()
            listing.subdirs.clear()
        result.folders += 1
        result.files += len(listing.files)
        prefix = path if path.endswith("/") else path + "/"  # os.path.join, for plain names
        todo.extend([prefix + d for d in listing.subdirs])
        listing.changed = listing.error is None and (
            force or known.get(to_db(path)) != listing.fingerprint
        )
        if listing.changed:
            changed_files += len(listing.files)
            if parse is not None:
                listing.parsed = [_parsed(parse, prefix + name) for name, _, _ in listing.files]
        if listing.changed or listing.problem is not None or result.folders == 1:
            kept.append(listing)
    result.pending = list(todo)
    result.changed_files = changed_files
    return result


def _parsed(parse: Parser, path: str) -> tuple[ParsedColumns, msgspec.Raw]:
    columns = parse(path)
    return columns, msgspec.Raw(msgspec.json.encode(columns[0]))


@dataclass(frozen=True)
class WalkSpec:
    """One walk, as plain data a worker process can take."""

    folders: list[str]
    known_json: bytes | str = b"{}"
    """The stored fingerprints, folder → fingerprint, as the JSON object Postgres sent: each
    worker decodes it itself (a millisecond for 13k folders), no dict crosses a pipe."""
    start_is_root: bool = False
    force: bool = False
    library_kind: str | None = None
    """Parse new and changed files as this kind of library (None: list only)."""
    roots: tuple[str, ...] = ()
    max_folders: int = MAX_FOLDERS_PER_JOB
    max_files: int = MAX_FILES_PER_JOB
    max_changed: int = MAX_CHANGED_FILES_PER_JOB


def ignore_stop_signals() -> None:
    """A worker's first act: stop signals are for the appliance, which closes its workers
    itself. A terminal's Ctrl-C or ``timeout``/``kill`` of the process group reaches them too,
    and a worker that died of it would turn an orderly stop into a broken pool (trio-parallel
    already ignores SIGINT; SIGTERM is this). A worker whose appliance died sees its pipe close
    and exits."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run(spec: WalkSpec) -> Walk:
    """A worker's entry point (also called in a thread when there are no worker processes)."""
    known = msgspec.json.decode(spec.known_json, type=dict[str, str])
    kind, roots = spec.library_kind, list(spec.roots)
    parse = None if kind is None else (lambda path: parse_columns(path, kind, roots))
    return walk(
        spec.folders,
        spec.max_folders,
        spec.max_files,
        start_is_root=spec.start_is_root,
        known=known,
        force=spec.force,
        parse=parse,
        max_changed=spec.max_changed,
        library_roots=spec.roots,
    )
