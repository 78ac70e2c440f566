"""The downloads manager (issue 22, items 1-4): the one object the CLI and the desktop player
use to queue, run, list, check and remove downloads. UI-agnostic: the window subscribes to
changes, the CLI draws a bar from the same progress.

What it keeps, all under ``<data dir>/downloads/`` (see :mod:`sync.downloads` for the files):

* ``downloads.json``, the manifest: complete, verified downloads (with ``watched`` and
  ``stale`` as the last :meth:`DownloadManager.refresh` found them);
* ``queue.json``: what is waiting (and what failed, with the reason), so a queue survives a
  restart; a transfer interrupted mid-way resumes from its ``.part``;
* ``follows.json``: the series followed with smart downloads (:mod:`sync.download_policy`).

One manager per data dir at a time (the window or a CLI command): the files are read and
rewritten whole, so two writers would lose each other's changes.

**Stale copies stay playable.** :meth:`DownloadManager.local_file` and
:meth:`~DownloadManager.local_item` return a stale download's files: they are whole, verified
files of the previous version, better than nothing on a train; the replacement is written as
``.part`` beside them and renamed over them only once verified, so a player never sees a half
file, and the item's state says ``stale`` so a UI can prefer streaming while online.

**Space.** Before a transfer starts, if the item would not fit under the limit (or on the
disk), the oldest *watched* downloads are deleted until it does; unwatched ones are never
evicted: the transfer fails with the reason instead.

**Watch state** comes from the server on each refresh (it has every device's plays, and the
player's offline ones once a sync delivered them): offline, nothing is removed or topped up.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec
import trio

from sync.client_errors import (
    FerrexClientError,
    Forbidden,
    NotFound,
    ServerError,
    ServerUnreachable,
)
from sync.connection import ServerConnection
from sync.download_plan import next_unwatched
from sync.download_policy import (
    DownloadPolicy,
    SpaceInfo,
    disk_free,
    held_bytes,
    save_follows,
    space,
)
from sync.download_types import ChecksumOut
from sync.downloads import (
    CHECKSUM_TIMEOUT_S,
    Download,
    DownloadError,
    Manifest,
    Progress,
    _atomic_write,
    _label,
    chosen_files,
    download_item,
    downloads_dir,
)
from sync.episode_labels import item_label
from sync.media_types import ItemDetails, MediaItemOut

QUEUE = "queue.json"
NOTIFY_EVERY_S = 0.25
"""Progress reaches subscribers at most 4 times a second (state changes at once)."""

Status = Literal["queued", "downloading", "complete", "stale", "failed"]


class NoRoom(DownloadError):
    """The item does not fit, even after the watched downloads were removed."""


class DownloadState(msgspec.Struct, kw_only=True, frozen=True):
    """One row of a Downloads screen."""

    item_id: uuid.UUID
    title: str
    """Empty until the server named it (an item queued by id, before its transfer starts)."""
    kind: str
    state: Status
    bytes_held: int = 0
    """What is on disk: the whole size when complete, the ``.part`` while downloading."""
    bytes_total: int = 0
    """What the transfer needs in all (0 until known)."""
    size_bytes: int = 0
    """Of the local copy (0 when there is none yet)."""
    reason: str = ""
    """Why it failed (``failed``); why it is being replaced (``stale``)."""
    watched: bool = False
    series_id: uuid.UUID | None = None
    downloaded_at: datetime | None = None


class QueueEntry(msgspec.Struct, kw_only=True):
    item_id: uuid.UUID
    title: str = ""
    kind: str = ""
    failed: str = ""
    """The reason of the last failure; empty while it waits its turn."""


@dataclass(frozen=True)
class LocalPlayable:
    file_id: uuid.UUID
    path: Path
    size_bytes: int
    subtitles: tuple[Path, ...] = ()


@dataclass(frozen=True)
class LocalItem:
    """What to play instead of streaming: the item's files (parts in order) and subtitles."""

    item_id: uuid.UUID
    title: str
    kind: str
    stale: bool
    files: tuple[LocalPlayable, ...]


@dataclass
class RefreshReport:
    offline: bool = False
    """The server could not be reached: nothing was checked (the rest is what was done first)."""
    revoked: list[str] = field(default_factory=list)
    """Removed: the user may no longer see them (or they left the server)."""
    watched_removed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    """Newly found changed on the server (queued for replacement)."""
    queued: list[str] = field(default_factory=list)
    """Newly queued: smart downloads' top-ups and stale replacements."""
    retried: list[str] = field(default_factory=list)
    """Failed ones queued again."""


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, ServerUnreachable):
        return f"server unreachable: {exc}"
    if isinstance(exc, Forbidden):
        return f"not allowed to download: {exc}"
    if isinstance(exc, NotFound):
        return f"no longer on the server for you: {exc}"
    return str(exc)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class DownloadManager:
    def __init__(
        self,
        root: Path,
        connection: ServerConnection | None,
        policy: DownloadPolicy,
        *,
        rate_limit: int | None = None,
    ) -> None:
        """``connection`` None: list, remove and find local copies only (offline, no login)."""
        self.root = root
        self.folder = downloads_dir(root)
        self.manifest = Manifest(root)
        self.connection = connection
        self.policy = policy
        self.rate_limit = rate_limit
        self.evicted: list[str] = []
        """Titles removed to make room, by this manager (the CLI reports them)."""
        self.errors: dict[uuid.UUID, BaseException] = {}
        """The last failure of each item (the CLI maps them to exit statuses)."""
        self._queue: dict[uuid.UUID, QueueEntry] = self._load_queue()
        self._transient: set[uuid.UUID] = set()
        self._current: uuid.UUID | None = None
        self._scope: trio.CancelScope | None = None
        self._stopped: trio.Event | None = None
        self._held = 0
        self._total = 0
        self._file_held: dict[str, int] = {}
        self._wake = trio.Event()
        self._subscribers: list[Callable[[], None]] = []
        self._notified = -math.inf

    # --- the queue on disk ------------------------------------------------------------------

    def _load_queue(self) -> dict[uuid.UUID, QueueEntry]:
        try:
            raw = (self.folder / QUEUE).read_bytes()
            entries = msgspec.json.decode(raw, type=list[QueueEntry])
        except FileNotFoundError:
            return {}
        except (msgspec.DecodeError, msgspec.ValidationError):
            return {}  # a damaged queue is only lost intentions, never lost files
        return {e.item_id: e for e in entries}

    def _save_queue(self) -> None:
        kept = [e for e in self._queue.values() if e.item_id not in self._transient]
        path = self.folder / QUEUE
        if not kept and not path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, msgspec.json.format(msgspec.json.encode(kept)))

    # --- changes -----------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[], None]) -> None:
        """``callback()`` on every change: a state, a removal, progress (at most 4 a second)."""
        self._subscribers.append(callback)

    def _notify(self, progress: bool = False) -> None:
        now = trio.current_time() if _in_trio() else 0.0
        if progress and now - self._notified < NOTIFY_EVERY_S:
            return
        self._notified = now
        for callback in list(self._subscribers):
            callback()

    def enqueue(self, item_id: uuid.UUID, title: str = "", kind: str = "") -> None:
        """Queue a film or an episode (a failed one again); nothing when it is local already
        and current. The running :meth:`run` picks it up."""
        held = self.manifest.load().get(item_id)
        entry = self._queue.get(item_id)
        if entry is not None:
            if not entry.failed:
                return
            entry.failed = ""
        elif held is not None and not held.stale:
            return
        else:
            self._queue[item_id] = QueueEntry(
                item_id=item_id,
                title=title or (held.title if held else ""),
                kind=kind or (held.kind if held else ""),
            )
        self._save_queue()
        self._wake.set()
        self._notify()

    async def enqueue_next_unwatched(self, parent_id: uuid.UUID, count: int) -> list[uuid.UUID]:
        """Queue the next ``count`` unwatched episodes of a season or a series (the server's
        watch state; see :mod:`sync.download_plan`); their ids, local ones included."""
        episodes = await next_unwatched(self._connection(), parent_id, count)
        for e in episodes:
            self.enqueue(e.id, _episode_title(e), e.kind)
        return [e.id for e in episodes]

    def follow(self, series_id: uuid.UUID, keep: int) -> None:
        """Smart downloads: keep the next ``keep`` unwatched episodes local (from the next
        :meth:`refresh` on)."""
        if keep < 1:
            raise ValueError("keep at least one episode (or unfollow the series)")
        self.policy.smart[series_id] = keep
        save_follows(self.folder, self.policy.smart)
        self._notify()

    def unfollow(self, series_id: uuid.UUID) -> bool:
        """Stop smart downloads of the series (what is local stays); whether it was followed."""
        found = self.policy.smart.pop(series_id, None) is not None
        save_follows(self.folder, self.policy.smart)
        self._notify()
        return found

    async def remove(self, item_id: uuid.UUID) -> Download | None:
        """Forget the item: stop its transfer, drop it from the queue, delete its files."""
        queued = self._queue.pop(item_id, None)  # first: run() must not pick it up again
        if queued is not None:
            self._save_queue()
        if self._current == item_id and self._scope is not None:
            stopped = self._stopped
            self._scope.cancel()
            if stopped is not None:
                await stopped.wait()
        gone = self.manifest.remove(item_id)
        self.errors.pop(item_id, None)
        self._notify()
        return gone

    # --- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run queued transfers one at a time, for ever (cancel the caller's scope to stop;
        a transfer stopped that way resumes from its ``.part`` next time). A failure is kept
        as ``failed`` with its reason and queued again by the next :meth:`refresh`."""
        while True:
            item_id = self._next()
            if item_id is None:
                await self._wake.wait()
                self._wake = trio.Event()
                continue
            try:
                await self._process(item_id)
            except (FerrexClientError, DownloadError, OSError):
                pass  # recorded as failed by _process

    async def drain(self, progress: Progress | None = None) -> list[DownloadState]:
        """Run what is queued now, each once, and return (the CLI's way; the window runs
        :meth:`run`). Failures are kept as ``failed``, their exceptions in :attr:`errors`."""
        tried: set[uuid.UUID] = set()
        while (item_id := self._next(skip=tried)) is not None:
            tried.add(item_id)
            try:
                await self._process(item_id, progress)
            except (FerrexClientError, DownloadError, OSError):
                pass
        return self.states()

    async def download(
        self, item_id: uuid.UUID, progress: Progress | None = None
    ) -> tuple[Download, bool]:
        """Download one item now (the CLI's ``download ITEM_ID``); raises on failure and keeps
        no queue entry for it. The download, and whether a transfer ran (False: local and
        current already)."""
        held = self.manifest.load().get(item_id)
        if held is not None and not held.stale and item_id not in self._queue:
            return held, False
        if item_id not in self._queue:
            self._transient.add(item_id)
            self._queue[item_id] = QueueEntry(item_id=item_id)
        try:
            done = await self._process(item_id, progress)
        except BaseException:
            if item_id in self._transient:
                self._queue.pop(item_id, None)
                self._transient.discard(item_id)
            raise
        finally:
            self._notify()
        if done is None:
            raise DownloadError("removed while it downloaded")
        return done, True

    def _next(self, skip: set[uuid.UUID] | None = None) -> uuid.UUID | None:
        for entry in self._queue.values():
            if not entry.failed and (skip is None or entry.item_id not in skip):
                return entry.item_id
        return None

    def _connection(self) -> ServerConnection:
        if self.connection is None:
            raise ServerUnreachable("offline", "no server connection")
        return self.connection

    async def _process(
        self, item_id: uuid.UUID, progress: Progress | None = None
    ) -> Download | None:
        entry = self._queue[item_id]
        self._current, self._held, self._total, self._file_held = item_id, 0, 0, {}
        self._stopped = trio.Event()
        done: Download | None = None
        self._notify()
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                connection = self._connection()
                details = await connection.call("GET", f"/media/items/{item_id}", ItemDetails)
                entry.title, entry.kind = _label(details), details.item.kind
                files = chosen_files(details)
                self._total = sum(f.size_bytes for f in files)
                await self._make_room(item_id, self._total)

                def advanced(name: str, held: int, total: int) -> None:
                    self._file_held[name] = held
                    self._held = sum(self._file_held.values())
                    if progress is not None:
                        progress(name, held, total)
                    self._notify(progress=True)

                done = await download_item(
                    connection,
                    self.root,
                    item_id,
                    progress=advanced,
                    rate_limit=self.rate_limit,
                    details=details,
                )
            if done is not None:
                self._queue.pop(item_id, None)
                self._transient.discard(item_id)
                self.errors.pop(item_id, None)
                self._save_queue()
        except (FerrexClientError, DownloadError, OSError) as exc:
            if item_id in self._queue:
                entry.failed = reason_of(exc) or type(exc).__name__
                self.errors[item_id] = exc
                self._save_queue()
            raise
        finally:
            self._current, self._scope = None, None
            self._stopped.set()
            self._notify()
        return done

    async def _make_room(self, item_id: uuid.UUID, need: int) -> None:
        """Delete the oldest watched downloads until ``need`` bytes fit (the item's own
        ``.part`` counts as already there); :class:`NoRoom`, deleting nothing, when even
        without every watched one it would not fit."""
        need -= self._part_bytes(item_id)
        info = self.space()
        if need <= info.room_bytes:
            return
        watched = sorted(
            (d for d in self.manifest.load().values() if d.watched and d.item_id != item_id),
            key=lambda d: d.downloaded_at,
        )
        freeable = sum(d.size_bytes for d in watched)
        after = min(info.limit_bytes - info.used_bytes, info.free_bytes) + freeable
        if need <= after:  # deleting them all would do: delete the oldest until it fits
            for old in watched:
                self.manifest.remove(old.item_id)
                self.evicted.append(old.title)
                info = self.space()
                if need <= info.room_bytes:
                    break
            self._notify()
            if need <= info.room_bytes:
                return
        where = (
            f"the disk has {_mb(info.free_bytes)} free"
            if info.free_bytes < info.limit_bytes - info.used_bytes
            else f"{_mb(max(0, info.limit_bytes - info.used_bytes))} left of the "
            f"{'default ' if info.default_limit else ''}limit of {_mb(info.limit_bytes)}"
        )
        watched_note = f" (watched ones: {_mb(freeable)})" if freeable else ""
        raise NoRoom(
            f"no room: it needs {_mb(need)}, {where}; the other downloads are unwatched"
            f"{watched_note} and unwatched ones are never removed to make room: remove some "
            "or raise the limit"
        )

    def _part_bytes(self, item_id: uuid.UUID) -> int:
        folder = self.folder / str(item_id)
        if not folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in folder.iterdir() if p.name.endswith(".part"))

    # --- refresh ------------------------------------------------------------------------------

    async def refresh(self) -> RefreshReport:
        """After a sync: remove what the user may no longer see and (by the policy) what they
        watched, mark downloads whose file changed on the server stale and queue their
        replacement, queue failed ones again and top up smart downloads."""
        report = RefreshReport()
        try:
            connection = self._connection()
            for download in list(self.manifest.load().values()):
                await self._check(connection, download, report)
            for entry in self._queue.values():
                if entry.failed:
                    entry.failed = ""
                    report.retried.append(entry.title or str(entry.item_id))
            if report.retried:
                self._save_queue()
                self._wake.set()
            await self._top_up(connection, report)
        except ServerUnreachable:
            report.offline = True
        self._notify()
        return report

    async def _check(
        self, connection: ServerConnection, download: Download, report: RefreshReport
    ) -> None:
        item_id = download.item_id
        try:
            details = await connection.call("GET", f"/media/items/{item_id}", ItemDetails)
        except NotFound:
            await self.remove(item_id)
            report.revoked.append(download.title)
            return
        except (Forbidden, ServerError):
            return  # no browsing now, or the server is unwell: judge it next time
        watch = details.item.watch
        watched = watch is not None and watch.completed
        if watched and self.policy.remove_after_watching:
            await self.remove(item_id)
            report.watched_removed.append(download.title)
            return
        stale = await self._is_stale(connection, download, details)
        found = self.manifest.load()
        current = found.get(item_id)
        if current is None:
            return
        if (current.watched, current.stale) != (watched, stale):
            current.watched, current.stale = watched, stale
            self.manifest.save(found)
        if stale and not download.stale:
            report.stale.append(download.title)
        if stale and item_id not in self._queue:
            self.enqueue(item_id, download.title, download.kind)
            report.queued.append(download.title)

    async def _is_stale(
        self, connection: ServerConnection, download: Download, details: ItemDetails
    ) -> bool:
        files = chosen_files(details)
        if not files:
            return download.stale  # nothing on the server's disks to replace it with
        if [f.id for f in files] != [f.file_id for f in download.files]:
            return True  # another file now (a rescan gave it a new id, another version)
        for local in download.files:
            try:
                response = await connection.request(
                    "GET", f"/media/files/{local.file_id}/checksum", timeout_s=CHECKSUM_TIMEOUT_S
                )
            except NotFound:
                return True
            except (Forbidden, ServerError):
                return download.stale
            now = msgspec.json.decode(response.content, type=ChecksumOut)
            if (now.sha256, now.size_bytes) != (local.sha256, local.size_bytes):
                return True
        return False

    async def _top_up(self, connection: ServerConnection, report: RefreshReport) -> None:
        held = self.manifest.load()
        for series_id, keep in list(self.policy.smart.items()):
            try:
                episodes = await next_unwatched(connection, series_id, keep)
            except (NotFound, Forbidden, ValueError):
                continue  # gone, or not a series: the follow stays until unfollowed
            for e in episodes:
                local = held.get(e.id)
                if (local is None or local.stale) and e.id not in self._queue:
                    title = _episode_title(e)
                    self.enqueue(e.id, title, e.kind)
                    report.queued.append(title)

    # --- reading -------------------------------------------------------------------------------

    def states(self) -> list[DownloadState]:
        """Every download and queue entry: local ones first (oldest first), then the queue."""
        out: list[DownloadState] = []
        held = self.manifest.load()
        for d in held.values():
            if d.item_id in self._queue:
                continue
            size = d.size_bytes
            out.append(
                DownloadState(
                    item_id=d.item_id,
                    title=d.title,
                    kind=d.kind,
                    state="stale" if d.stale else "complete",
                    bytes_held=size,
                    bytes_total=size,
                    size_bytes=size,
                    reason="changed on the server" if d.stale else "",
                    watched=d.watched,
                    series_id=d.series_id,
                    downloaded_at=d.downloaded_at,
                )
            )
        for e in self._queue.values():
            local = held.get(e.item_id)
            state: Status
            if self._current == e.item_id:
                state, got, total = "downloading", self._held, self._total
            else:
                state = "failed" if e.failed else "stale" if local is not None else "queued"
                got, total = self._part_bytes(e.item_id), 0
            out.append(
                DownloadState(
                    item_id=e.item_id,
                    title=e.title or (local.title if local else ""),
                    kind=e.kind or (local.kind if local else ""),
                    state=state,
                    bytes_held=got,
                    bytes_total=total,
                    size_bytes=local.size_bytes if local else 0,
                    reason=e.failed or ("changed on the server" if local else ""),
                    watched=local.watched if local else False,
                    series_id=local.series_id if local else None,
                    downloaded_at=local.downloaded_at if local else None,
                )
            )
        return out

    def downloads(self) -> list[Download]:
        """The manifest: complete downloads, oldest first."""
        return sorted(self.manifest.load().values(), key=lambda d: d.downloaded_at)

    def local_item(self, item_id: uuid.UUID) -> LocalItem | None:
        """The item's local copy when it is complete and every file is on disk (a stale one
        too: see the module's note); None otherwise."""
        d = self.manifest.load().get(item_id)
        if d is None:
            return None
        files = tuple(
            LocalPlayable(
                file_id=f.file_id,
                path=self.folder / f.path,
                size_bytes=f.size_bytes,
                subtitles=tuple(self.folder / s for s in f.subtitles),
            )
            for f in d.files
        )
        if not files or not all(f.path.is_file() for f in files):
            return None
        return LocalItem(item_id=d.item_id, title=d.title, kind=d.kind, stale=d.stale, files=files)

    def local_file(self, file_id: uuid.UUID) -> Path | None:
        """The local copy of one server file (a stale one too), or None."""
        for d in self.manifest.load().values():
            for f in d.files:
                if f.file_id == file_id:
                    path = self.folder / f.path
                    return path if path.is_file() else None
        return None

    def space(self) -> SpaceInfo:
        used = sum(d.size_bytes for d in self.manifest.load().values()) + held_bytes(self.folder)
        return space(self.policy, used, disk_free(self.folder))


def _episode_title(e: MediaItemOut) -> str:
    return item_label(e.kind, e.title, e.series_title, e.season_number, e.episode_numbers)


def _in_trio() -> bool:
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


__all__ = [
    "DownloadManager",
    "DownloadPolicy",
    "DownloadState",
    "LocalItem",
    "LocalPlayable",
    "NoRoom",
    "QueueEntry",
    "RefreshReport",
    "SpaceInfo",
    "Status",
]
