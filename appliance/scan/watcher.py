"""Realtime library watching: inotify changes become "rescan this folder" requests.

The watcher never touches the database. It reports through a trio memory channel:

* :class:`FolderChanged` — something in ``folder`` changed (files added, removed, renamed, written
  to), or ``folder`` itself appeared or disappeared. The consumer queues a P0 FolderScan for it.
* :class:`LibraryRescan` — the watcher can no longer vouch for what it saw (the kernel's event
  queue overflowed, the watch limit was hit, a root vanished, returned or was replaced, or the
  watcher itself restarted after an error). The consumer queues a P0 full-library rescan.

Why inotify directly (through ``inotify_simple``) and not ``watchfiles``: watchfiles' Rust core
drops events that carry no path, and that is exactly how the ``notify`` crate reports
``IN_Q_OVERFLOW``, so an overflow would be lost silently — and an overflow is the one event that
must never be lost, because it means other events were. Its async API also runs a worker thread
that wakes every ``step`` ms per watcher (steady CPU wakeups on a Raspberry Pi) and whose
cancellation waits for the Rust timeout. Here the inotify descriptor is non-blocking and awaited
with ``trio.lowlevel.wait_readable``: no thread while idle, instant cancellation, and we see every
kernel flag (overflow, unmount, the watched root deleted or moved).

Debounce: each folder keeps (first change, last change). It is reported once it has been quiet for
``debounce_ms``, or ``max_delay_ms`` after its first unreported change even if it never goes quiet
(a multi-minute copy of a large file then yields one event every ``max_delay_ms`` and a final one
when the copy ends). Reading the channel is decoupled from reading inotify: a slow consumer makes
events coalesce in the pending map instead of stalling the inotify reader (which would overflow).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NamedTuple

import trio
from inotify_simple import INotify, flags

log = logging.getLogger(__name__)

__all__ = [
    "RESCAN_OVERFLOW",
    "RESCAN_RESTARTED",
    "RESCAN_ROOT_REPLACED",
    "RESCAN_ROOT_RETURNED",
    "RESCAN_ROOT_VANISHED",
    "RESCAN_WATCH_LIMIT",
    "FolderChanged",
    "LibraryRescan",
    "LibraryWatchers",
    "WatchEvent",
    "is_ignored_name",
    "watch_library",
]


@dataclass(frozen=True)
class FolderChanged:
    """Rescan ``folder``: its listing or a file in it changed, or it appeared/disappeared."""

    library_id: uuid.UUID
    folder: Path


@dataclass(frozen=True)
class LibraryRescan:
    """Rescan the whole library: realtime events alone can no longer be trusted."""

    library_id: uuid.UUID
    reason: str
    root: Path | None = None  # the root concerned, when the reason is about one root


WatchEvent = FolderChanged | LibraryRescan

RESCAN_OVERFLOW: Final = "overflow"
RESCAN_WATCH_LIMIT: Final = "watch limit"
RESCAN_ROOT_VANISHED: Final = "root vanished"
RESCAN_ROOT_RETURNED: Final = "root returned"
RESCAN_ROOT_REPLACED: Final = "root replaced"
RESCAN_RESTARTED: Final = "watcher restarted"

IGNORE_MARKER: Final = ".ignore"
# Download clients write under these names and rename when done; the rename is what we report.
PARTIAL_SUFFIXES: Final = (".part", ".!qb", ".crdownload", ".tmp")

_DIR_MASK: Final = int(
    flags.CREATE
    | flags.DELETE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.MODIFY  # keeps a folder "busy" while a long copy is still writing
    | flags.CLOSE_WRITE
    | flags.ATTRIB
    | flags.DELETE_SELF
    | flags.MOVE_SELF
    | flags.ONLYDIR
    | flags.EXCL_UNLINK
)
_NO_FOLLOW: Final = int(flags.DONT_FOLLOW)
_ROOT_GONE: Final = int(flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT)
_DIR_APPEARED: Final = int(flags.CREATE | flags.MOVED_TO)
_DIR_GONE: Final = int(flags.DELETE | flags.MOVED_FROM)
_FILE_CHANGED: Final = int(
    flags.CREATE
    | flags.DELETE
    | flags.MOVED_FROM
    | flags.MOVED_TO
    | flags.MODIFY
    | flags.CLOSE_WRITE
    | flags.ATTRIB
)
# After each read, pause briefly: the kernel merges identical consecutive events (a writer's
# stream of IN_MODIFY) while they sit in its queue, so a big copy costs a few wakeups, not one per
# write() call.
_READ_BATCH_S: Final = 0.05
_PROBE_TIMEOUT_S: Final = 5.0  # a hung NAS mount must not wedge the monitor
_BACKOFF_START_S = 1.0
_BACKOFF_MAX_S = 60.0


def is_ignored_name(name: str) -> bool:
    """Whether a file or folder name is never worth a scan: hidden, or a download in progress."""
    if name.startswith("."):
        return True
    return name.lower().endswith(PARTIAL_SUFFIXES)


def _sysctl(name: str) -> str:
    """Current value of an inotify sysctl, for log messages that tell the admin what to raise."""
    try:
        return Path("/proc/sys/fs/inotify", name).read_text().strip()
    except OSError:
        return "?"


class _RootId(NamedTuple):
    dev: int
    ino: int
    is_mount: bool


def _probe_root(root: Path) -> _RootId | None:
    """Identity of a root folder, or None when it is not there (runs in a worker thread)."""
    try:
        st = os.stat(root)
    except OSError:
        return None
    if not os.path.isdir(root):
        return None
    return _RootId(st.st_dev, st.st_ino, os.path.ismount(root))


@dataclass
class _RootState:
    ident: _RootId | None  # None: vanished
    expect_mount: bool = False  # it was a mount point: an empty mount point left behind is "gone"


@dataclass
class _WalkResult:
    added: list[tuple[int, Path]] = field(default_factory=list)
    limit_hit: bool = False


def _walk_and_watch(
    ino: INotify, top: Path, *, follow_top: bool, stop: threading.Event
) -> _WalkResult:
    """Add a watch on ``top`` and every visible, non-ignored folder below it (worker thread).

    The watch goes on before the listing, so a subfolder created meanwhile either shows up in the
    listing or raises IN_CREATE on a watch we already hold: none falls between the two. Symlinked
    folders are not followed (loops; and the scanner does not follow them either).
    """
    result = _WalkResult()
    stack: list[tuple[Path, bool]] = [(top, follow_top)]
    while stack and not stop.is_set():
        folder, follow = stack.pop()
        try:
            wd = ino.add_watch(folder, _DIR_MASK | (0 if follow else _NO_FOLLOW))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                result.limit_hit = True
                return result
            # ENOENT: gone meanwhile; EACCES: unreadable; ENOTDIR: replaced by a file.
            log.debug("cannot watch folder", extra={"path": str(folder), "error": str(exc)})
            continue
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            log.debug("cannot list folder", extra={"path": str(folder), "error": str(exc)})
            result.added.append((int(wd), folder))
            continue
        result.added.append((int(wd), folder))
        if any(e.name == IGNORE_MARKER for e in entries):
            # Keep this folder's own watch, to see the marker go away; nothing below it.
            continue
        # a first scan's walk runs beside this one: per entry only the d_type check, the name
        # test for folders alone, and a child path joined from its name (not parsed again)
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            if not is_ignored_name(entry.name):
                stack.append((folder / entry.name, False))
    return result


def _rm_watch(ino: INotify, wd: int) -> None:
    try:
        ino.rm_watch(wd)
    except OSError:
        pass  # already gone: the kernel drops watches of deleted folders by itself


async def _cancel_sets(stop: threading.Event) -> None:
    """Set ``stop`` when cancelled: lets a worker thread notice that its caller gave up."""
    try:
        await trio.sleep_forever()
    finally:
        stop.set()


class _LibraryWatch:
    """One inotify instance for all roots of one library; lives for one :meth:`run`."""

    def __init__(
        self,
        library_id: uuid.UUID,
        roots: Sequence[Path],
        send: trio.MemorySendChannel[WatchEvent],
        *,
        debounce_s: float,
        max_delay_s: float,
        root_poll_s: float,
    ) -> None:
        self.library_id = library_id
        self.roots = list(dict.fromkeys(Path(os.path.abspath(r)) for r in roots))
        self.send = send
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s
        self.root_poll_s = root_poll_s
        self.ino: INotify | None = None
        self.wd_to_path: dict[int, Path] = {}
        self.path_to_wd: dict[Path, int] = {}
        self.roots_state: dict[Path, _RootState] = {}
        # folder -> (first unreported change, last change), in trio.current_time()
        self.pending: dict[Path, tuple[float, float]] = {}
        self.forced: set[Path] = set()  # report even if under a .ignore (the marker itself moved)
        self.pending_changed = trio.Event()
        self.check_roots = trio.Event()
        self.resync_reason: str | None = None
        self.walks_in_flight = 0
        self.orphans: list[tuple[int, int, int, str]] = []
        self.limit_reported = False
        self.nursery: trio.Nursery | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self, started: Callable[[], None], *, restarted: bool) -> None:
        """Watch until cancelled (or until the channel's receiver goes away)."""
        try:
            self.ino = INotify(nonblocking=True)
        except OSError as exc:
            if exc.errno == errno.EMFILE:
                log.warning(
                    "too many inotify instances; raise the sysctl fs.inotify.max_user_instances",
                    extra={"current": _sysctl("max_user_instances")},
                )
            raise
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._reader)
                initial: list[LibraryRescan] = []
                for root in self.roots:
                    ident = await self._probe(root)
                    self.roots_state[root] = _RootState(ident, bool(ident and ident.is_mount))
                    if ident is None:
                        log.warning(
                            "library root is missing; polling until it returns",
                            extra={"library_id": str(self.library_id), "root": str(root)},
                        )
                        initial.append(self._rescan(RESCAN_ROOT_VANISHED, root))
                    else:
                        await self._watch_tree(root, follow_top=True)
                if restarted:
                    initial.insert(0, self._rescan(RESCAN_RESTARTED))
                nursery.start_soon(self._flusher)
                started()
                for event in initial:
                    await self.send.send(event)
                await self._monitor()
        finally:
            trio.lowlevel.notify_closing(self.ino)
            self.ino.close()

    def _rescan(self, reason: str, root: Path | None = None) -> LibraryRescan:
        return LibraryRescan(self.library_id, reason, root)

    # -- inotify events ------------------------------------------------------------------------

    async def _reader(self) -> None:
        assert self.ino is not None
        while True:
            await trio.lowlevel.wait_readable(self.ino)
            for ev in self.ino.read(timeout=0):
                self._handle(int(ev.wd), int(ev.mask), int(ev.cookie), str(ev.name))
            await trio.sleep(_READ_BATCH_S)

    def _handle(self, wd: int, mask: int, cookie: int, name: str) -> None:
        if mask & flags.Q_OVERFLOW:
            log.warning(
                "inotify event queue overflowed; rescanning the library "
                "(raising the sysctl fs.inotify.max_queued_events makes this rarer)",
                extra={"library_id": str(self.library_id), "current": _sysctl("max_queued_events")},
            )
            self._request_resync(RESCAN_OVERFLOW)
            return
        folder = self.wd_to_path.get(wd)
        if folder is None:
            if self.walks_in_flight and not mask & flags.IGNORED:
                self.orphans.append((wd, mask, cookie, name))  # its watch is being registered
            return
        if mask & flags.IGNORED:
            self._forget_wd(wd)
            if folder in self.roots_state:
                self.check_roots.set()
            return
        if mask & _ROOT_GONE:
            if folder in self.roots_state:
                self.check_roots.set()
            return  # a subfolder's own removal is reported by its parent
        if not name:
            return
        path = folder / name
        if name == IGNORE_MARKER:
            self._ignore_marker_changed(folder, appeared=bool(mask & _DIR_APPEARED))
            return
        if is_ignored_name(name):
            return
        if mask & flags.ISDIR:
            if mask & _DIR_APPEARED:
                self._mark(folder)
                self._mark(path)
                self._spawn_watch_tree(path)
            elif mask & _DIR_GONE:
                self._unwatch_tree(path)
                self._mark(folder)
                self._mark(path)
            return
        if mask & _FILE_CHANGED:
            self._mark(folder)

    def _ignore_marker_changed(self, folder: Path, *, appeared: bool) -> None:
        """A ``.ignore`` appeared or went away in ``folder``: stop or start watching below it.

        The folder itself stays watched so the marker's removal is seen. It is reported even
        though ignored, so the scanner drops (or picks up again) what is under it.
        """
        if appeared:
            self._unwatch_tree(folder, keep_top=True)
        else:
            self._spawn_watch_tree(folder)
        self.forced.add(folder)
        self._mark(folder)

    def _request_resync(self, reason: str) -> None:
        if self.resync_reason is None:
            self.resync_reason = reason
        self.check_roots.set()

    def _mark(self, folder: Path) -> None:
        now = trio.current_time()
        first, _ = self.pending.get(folder, (now, now))
        self.pending[folder] = (first, now)
        self.pending_changed.set()

    # -- watch bookkeeping -----------------------------------------------------------------------

    def _forget_wd(self, wd: int) -> None:
        path = self.wd_to_path.pop(wd, None)
        if path is not None and self.path_to_wd.get(path) == wd:
            del self.path_to_wd[path]

    def _unwatch_tree(self, top: Path, *, keep_top: bool = False) -> None:
        """Drop the watches on ``top`` and below: it moved away, was deleted, or is now ignored.

        Watches follow inodes, so a folder moved elsewhere would keep reporting under its old
        name; removing them (and re-adding at the new place) keeps paths truthful.
        """
        assert self.ino is not None
        doomed = [
            p for p in self.path_to_wd if p.is_relative_to(top) and not (keep_top and p == top)
        ]
        for path in doomed:
            wd = self.path_to_wd.pop(path)
            self.wd_to_path.pop(wd, None)
            _rm_watch(self.ino, wd)

    def _spawn_watch_tree(self, top: Path) -> None:
        assert self.nursery is not None
        self.walks_in_flight += 1  # counted now: events for its new watches must be kept
        self.nursery.start_soon(self._watch_new_tree, top)

    async def _watch_new_tree(self, top: Path) -> None:
        try:
            await self._watch_tree(top, follow_top=False, counted=True)
        finally:
            self.walks_in_flight -= 1
        # Report the folder again now that its watches exist: the scan that follows sees
        # whatever was written before they did, and inotify covers everything after.
        self._mark(top)

    async def _watch_tree(self, top: Path, *, follow_top: bool, counted: bool = False) -> None:
        """Watch ``top`` recursively, walking in a worker thread (big trees, slow disks)."""
        assert self.ino is not None
        ino = self.ino
        if not counted:
            self.walks_in_flight += 1
        try:
            stop = threading.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_sets, stop)
                result = await trio.to_thread.run_sync(
                    lambda: _walk_and_watch(ino, top, follow_top=follow_top, stop=stop)
                )
                nursery.cancel_scope.cancel()
            for wd, path in result.added:
                old = self.path_to_wd.get(path)
                if old is not None and old != wd:
                    self.wd_to_path.pop(old, None)
                self.wd_to_path[wd] = path
                self.path_to_wd[path] = wd
        finally:
            if not counted:
                self.walks_in_flight -= 1
        self._replay_orphans()
        if result.limit_hit:
            self._watch_limit_hit()

    def _replay_orphans(self) -> None:
        orphans, self.orphans = self.orphans, []
        for wd, mask, cookie, name in orphans:
            if wd in self.wd_to_path:
                self._handle(wd, mask, cookie, name)
            elif self.walks_in_flight:
                self.orphans.append((wd, mask, cookie, name))

    def _watch_limit_hit(self) -> None:
        if self.limit_reported:
            return  # once per watcher life: every new folder would hit it again
        self.limit_reported = True
        log.warning(
            "inotify watch limit reached: changes in some folders will only be seen by periodic "
            "scans; raise the sysctl fs.inotify.max_user_watches "
            "(e.g. echo fs.inotify.max_user_watches=524288 > /etc/sysctl.d/60-ferrex.conf)",
            extra={"library_id": str(self.library_id), "current": _sysctl("max_user_watches")},
        )
        self._request_resync(RESCAN_WATCH_LIMIT)

    # -- debounce ------------------------------------------------------------------------------

    def _due_at(self, first: float, last: float) -> float:
        return min(last + self.debounce_s, first + self.max_delay_s)

    async def _flusher(self) -> None:
        """Report folders whose changes settled (or waited ``max_delay`` already)."""
        while True:
            if not self.pending:
                self.pending_changed = trio.Event()
                await self.pending_changed.wait()
                continue
            now = trio.current_time()
            due = [f for f, (a, b) in self.pending.items() if self._due_at(a, b) <= now]
            if not due:
                # New folders are never due before the earliest existing one: no wakeup needed.
                await trio.sleep_until(min(self._due_at(a, b) for a, b in self.pending.values()))
                continue
            for folder in sorted(due):
                del self.pending[folder]
                forced = folder in self.forced
                self.forced.discard(folder)
                if forced or not self._under_ignore(folder):
                    await self.send.send(FolderChanged(self.library_id, folder))

    def _under_ignore(self, folder: Path) -> bool:
        """Whether a ``.ignore`` in ``folder`` or an ancestor (up to its root) excludes it."""
        root = next((r for r in self.roots if folder.is_relative_to(r)), None)
        if root is None:
            return False
        for candidate in (folder, *folder.parents):
            if (candidate / IGNORE_MARKER).exists():
                return True
            if candidate == root:
                break
        return False

    # -- roots ---------------------------------------------------------------------------------

    async def _probe(self, root: Path) -> _RootId | None:
        with trio.move_on_after(_PROBE_TIMEOUT_S):
            return await trio.to_thread.run_sync(_probe_root, root, abandon_on_cancel=True)
        log.warning("library root does not answer", extra={"root": str(root)})
        return None

    async def _monitor(self) -> None:
        """Poll roots (and wake early on inotify's word) to notice them vanish and return."""
        while True:
            with trio.move_on_after(self.root_poll_s):
                await self.check_roots.wait()
            self.check_roots = trio.Event()
            for root, state in self.roots_state.items():
                await self._check_root(root, state)
            reason, self.resync_reason = self.resync_reason, None
            if reason is not None:
                if reason == RESCAN_OVERFLOW:
                    # Folders created during the lost events have no watch yet: walk again
                    # (re-adding an existing watch is a cheap no-op) before asking for the scan.
                    for root, state in self.roots_state.items():
                        if state.ident is not None:
                            await self._watch_tree(root, follow_top=True)
                await self.send.send(self._rescan(reason))

    async def _check_root(self, root: Path, state: _RootState) -> None:
        ident = await self._probe(root)
        if ident is not None and state.expect_mount and not ident.is_mount:
            ident = None  # the disk was unmounted; what is left is the empty mount point
        was = state.ident
        if ident == was:
            return
        extra = {"library_id": str(self.library_id), "root": str(root)}
        if ident is None:
            log.warning("library root vanished; polling until it returns", extra=extra)
            assert was is not None
            state.ident = None
            self._unwatch_tree(root)
            await self.send.send(self._rescan(RESCAN_ROOT_VANISHED, root))
            return
        self._unwatch_tree(root)
        state.ident = ident
        state.expect_mount = state.expect_mount or ident.is_mount
        await self._watch_tree(root, follow_top=True)
        if was is None:
            log.info("library root returned", extra=extra)
            await self.send.send(self._rescan(RESCAN_ROOT_RETURNED, root))
        else:
            log.info("library root was replaced by another folder", extra=extra)
            await self.send.send(self._rescan(RESCAN_ROOT_REPLACED, root))


def _is_channel_closed(exc: BaseException) -> bool:
    """Whether ``exc`` (or every leaf of an exception group) says the receiver went away."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_channel_closed(e) for e in exc.exceptions)
    return isinstance(exc, trio.BrokenResourceError | trio.ClosedResourceError)


async def watch_library(
    library_id: uuid.UUID,
    roots: Sequence[Path],
    send: trio.MemorySendChannel[WatchEvent],
    *,
    debounce_ms: int = 1500,
    max_delay_ms: int = 30_000,
    root_poll_s: float = 10.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Watch a library's roots until cancelled, reporting on ``send``.

    With ``nursery.start`` it returns once the watches are in place (a change made after that is
    reported). Errors never escape: they are logged, the watcher backs off (1 s doubling to 60 s)
    and starts over, then asks for a library rescan since events may have been missed meanwhile.
    It ends quietly when the receiving side of ``send`` is closed.
    """
    backoff = _BACKOFF_START_S
    restarted = False
    started = False

    def mark_started() -> None:
        nonlocal started
        if not started:
            started = True
            task_status.started()

    while True:
        watch = _LibraryWatch(
            library_id,
            roots,
            send,
            debounce_s=debounce_ms / 1000,
            max_delay_s=max(max_delay_ms, debounce_ms) / 1000,
            root_poll_s=root_poll_s,
        )
        began = trio.current_time()
        try:
            await watch.run(mark_started, restarted=restarted)
            return
        except Exception as exc:
            if _is_channel_closed(exc):
                log.info("watch channel closed", extra={"library_id": str(library_id)})
                mark_started()
                return
            log.exception(
                "library watcher failed; restarting", extra={"library_id": str(library_id)}
            )
        mark_started()
        if trio.current_time() - began > 10 * _BACKOFF_MAX_S:
            backoff = _BACKOFF_START_S  # it ran fine for a long while: this is a new problem
        await trio.sleep(backoff)
        backoff = min(backoff * 2, _BACKOFF_MAX_S)
        restarted = True


@dataclass
class _Running:
    roots: tuple[Path, ...]
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)


class LibraryWatchers:
    """One :func:`watch_library` per watched library, inside a nursery this object owns.

    Start it with ``await nursery.start(watchers.run)``; then :meth:`sync` (or :meth:`add` /
    :meth:`remove`) whenever the set of libraries with ``watch=True`` or their roots change.
    Cancelling :meth:`run` stops every watcher and closes every inotify descriptor.
    """

    def __init__(
        self,
        send: trio.MemorySendChannel[WatchEvent],
        *,
        debounce_ms: int = 1500,
        max_delay_ms: int = 30_000,
        root_poll_s: float = 10.0,
    ) -> None:
        self._send = send
        self._debounce_ms = debounce_ms
        self._max_delay_ms = max_delay_ms
        self._root_poll_s = root_poll_s
        self._nursery: trio.Nursery | None = None
        self._running: dict[uuid.UUID, _Running] = {}

    @property
    def watched(self) -> Mapping[uuid.UUID, tuple[Path, ...]]:
        """Libraries being watched now, with their roots."""
        return {lib: r.roots for lib, r in self._running.items()}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the watchers' nursery until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self._running.clear()

    async def add(self, library_id: uuid.UUID, roots: Iterable[Path]) -> None:
        """Watch a library (restarting its watcher if its roots changed); returns once watching."""
        if self._nursery is None:
            raise RuntimeError("LibraryWatchers.run is not running")
        wanted = tuple(Path(r) for r in roots)
        current = self._running.get(library_id)
        if current is not None:
            if current.roots == wanted:
                return
            await self.remove(library_id)
        running = _Running(wanted)
        self._running[library_id] = running
        await self._nursery.start(self._run_one, library_id, running)

    async def remove(self, library_id: uuid.UUID) -> None:
        """Stop watching a library; returns once its watcher has fully exited."""
        running = self._running.pop(library_id, None)
        if running is not None:
            running.scope.cancel()
            await running.done.wait()

    async def sync(self, libraries: Mapping[uuid.UUID, Iterable[Path]]) -> None:
        """Make the watched set exactly ``libraries`` (library id -> roots)."""
        for library_id in [lib for lib in self._running if lib not in libraries]:
            await self.remove(library_id)
        for library_id, roots in libraries.items():
            await self.add(library_id, roots)

    async def _run_one(
        self,
        library_id: uuid.UUID,
        running: _Running,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        started = False
        try:
            with running.scope:
                async with trio.open_nursery() as inner:
                    await inner.start(
                        functools.partial(
                            watch_library,
                            library_id,
                            running.roots,
                            self._send,
                            debounce_ms=self._debounce_ms,
                            max_delay_ms=self._max_delay_ms,
                            root_poll_s=self._root_poll_s,
                        )
                    )
                    started = True
                    task_status.started()
            if not started:
                task_status.started()  # removed before it was up: don't leave add() hanging
        finally:
            if self._running.get(library_id) is running:
                del self._running[library_id]
            running.done.set()
