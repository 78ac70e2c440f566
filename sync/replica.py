"""The player's replica of the browse set: an LMDB environment in the player's data dir.

``Replica.open`` never fails because of what is on disk: an environment that LMDB cannot open
(not an LMDB file, truncated), one written under another feed schema or replica format, or one
whose packed columns do not add up, is moved aside (``replica.bad-<time>``), a fresh one is
started, and ``needs_snapshot`` says so. A replica that never finished a snapshot (first run, or
a snapshot that was interrupted) is merely empty and needs one too.

Writes: ``apply_snapshot`` and ``apply_changes`` apply frames and the new cursor in ONE write
transaction (see ``replica_apply``); ``record_progress`` and ``mark`` queue an offline action
and show it in the local watch state in one transaction. Reads go through a
:class:`~sync.replica_read.ReplicaView` (one read transaction, zero-copy); the convenience
methods here open a short-lived view per call, and ``view()`` gives one to hold across several
reads (e.g. one screen).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import lmdb
import msgspec
import numpy as np

from sync.feed_types import (
    Card,
    EndFrame,
    Frame,
    FrameError,
    ItemRecord,
    LibraryInfo,
)
from sync.media_types import WatchStateOut
from sync.offline_queue import Action, MarkAction, ProgressAction, QueuedAction
from sync.offline_queue import decode as decode_action
from sync.offline_queue import encode as encode_action
from sync.query import MediaQuery, SortBy, SortOrder, problems
from sync.replica_apply import Dbs, Writer, apply_action
from sync.replica_format import (
    COL_FACETS,
    COL_IDS,
    COL_PARENTS,
    DB_NAMES,
    FACET_DTYPE,
    MAP_SIZE,
    MAX_DBS,
    META_COMPLETE,
    META_CURSOR,
    META_QUEUE_SEQ,
    META_SERVER,
    META_USER,
    ImageEntry,
    from_u64,
    meta_expected,
    u64,
)
from sync.replica_gc import gc_paused
from sync.replica_prepare import PreparedBatch
from sync.replica_read import ReplicaDamaged, ReplicaView

log = logging.getLogger(__name__)
KEEP_BAD = 2  # moved-aside replicas kept for a post-mortem; older ones are removed


T = TypeVar("T")


class ReplicaBroken(Exception):
    """What is on disk is not a replica this player can use (the message says why)."""


class ReplicaOutdated(ReplicaBroken):
    """A sound replica written under another feed schema or replica format: it is rebuilt from
    a snapshot, and its queued offline actions (whose format did not change) are carried over."""


class Replica:
    def __init__(self, path: Path, env: Any, dbs: Dbs, needs_snapshot: bool) -> None:
        self.path = path
        self._env = env
        self._dbs = dbs
        self._forced_snapshot = needs_snapshot
        self._damaged = False
        self._session: Path | None = None
        self._session_end: weakref.finalize[Any, Any] | None = None

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str) -> Replica:
        path = Path(path)
        # The session marker goes down before the file is mapped: a process that faults on a
        # damaged page while opening still leaves the trace that makes the next one check.
        try:
            _check_after_crash(path)
            session = _begin_session(path)
            env, dbs = _open_checked(path)
            replica = cls(path, env, dbs, needs_snapshot=False)
        except ReplicaOutdated as exc:
            log.info("replica at %s is of another format (%s); rebuilt from a snapshot", path, exc)
            queued = _queued_raw(path)
            _move_aside(path)
            session = _begin_session(path)
            env, dbs = _open_checked(path)
            with env.begin(write=True) as txn:
                for key, value in queued:
                    txn.put(key, value, db=dbs.queue)
                if queued:
                    txn.put(META_QUEUE_SEQ, queued[-1][0], db=dbs.meta)
            replica = cls(path, env, dbs, needs_snapshot=True)
        except (lmdb.Error, ReplicaBroken, msgspec.DecodeError, ValueError, OSError) as exc:
            log.warning(
                "replica at %s is unusable (%s); moved aside, a new snapshot is needed", path, exc
            )
            _move_aside(path)
            session = _begin_session(path)
            env, dbs = _open_checked(path)
            replica = cls(path, env, dbs, needs_snapshot=True)
        replica._set_session(session)
        return replica

    def _set_session(self, session: Path | None) -> None:
        """A process that exits normally without ``close`` ended its session cleanly too."""
        self._session = session
        if session is not None:
            self._session_end = weakref.finalize(self, session.unlink, missing_ok=True)

    def close(self) -> None:
        self._env.close()
        if self._session_end is not None:
            self._session_end()
        self._session = self._session_end = None

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- state -------------------------------------------------------------------------------

    def _meta(self, key: bytes) -> bytes | None:
        if self._damaged:
            return None
        try:
            with self._env.begin() as txn:
                value = txn.get(key, db=self._dbs.meta)
        except lmdb.Error as exc:
            self.damaged(exc)
            return None
        return None if value is None else bytes(value)

    @property
    def cursor(self) -> int:
        raw = self._meta(META_CURSOR)
        return 0 if raw is None else from_u64(raw)

    @property
    def server_id(self) -> str | None:
        raw = self._meta(META_SERVER)
        return None if raw is None else raw.decode()

    @property
    def user_id(self) -> uuid.UUID | None:
        raw = self._meta(META_USER)
        return None if raw is None else uuid.UUID(bytes=raw)

    @property
    def needs_snapshot(self) -> bool:
        return self._forced_snapshot or self._damaged or self._meta(META_COMPLETE) != b"1"

    # --- writing -----------------------------------------------------------------------------

    def apply_snapshot(self, batches: Iterable[list[Frame] | PreparedBatch]) -> int:
        """Replace everything with a snapshot (header ... end) in one transaction; returns its
        sequence. Offline actions of the same server and user survive it (and stay visible)."""
        if self._damaged:
            self._rebuild()
        try:
            with gc_paused(), self._env.begin(write=True) as txn:
                writer = Writer(txn, self._dbs, snapshot=True)
                for batch in batches:
                    if isinstance(batch, PreparedBatch):
                        writer.apply_prepared(batch)
                    else:
                        writer.apply(batch)
                end = _require_end(writer)
                assert writer.header is not None  # Writer.apply refuses a snapshot without one
                if self._owner_changed(txn, writer.header.server_id, writer.header.user_id):
                    dropped = txn.stat(self._dbs.queue)["entries"]
                    if dropped:
                        log.warning(
                            "snapshot for another server or user: %d queued offline "
                            "action(s) of the previous one dropped",
                            dropped,
                        )
                    txn.drop(self._dbs.queue, delete=False)
                writer.finish(end.seq)
        except (lmdb.Error, msgspec.DecodeError, IndexError) as exc:
            self.damaged(exc)  # the next attempt goes into a new environment
            raise ReplicaDamaged(str(exc)) from exc
        self._forced_snapshot = False
        return end.seq

    def _rebuild(self) -> None:
        """A damaged environment is not written into (its free pages may be garbage): it is
        moved aside and the snapshot goes into a new one. Queued offline actions that can
        still be read are carried over."""
        try:
            salvaged = self.pending_actions()
        except (lmdb.Error, msgspec.DecodeError) as exc:
            log.warning("offline actions of the damaged replica are lost: %s", exc)
            salvaged = []
        self._env.close()
        _move_aside(self.path)
        self._env, self._dbs = _open_checked(self.path)
        self._damaged = False
        self._set_session(_begin_session(self.path))
        with self._env.begin(write=True) as txn:
            for queued in salvaged:
                txn.put(u64(queued.seq), encode_action(queued.action), db=self._dbs.queue)
            if salvaged:
                txn.put(META_QUEUE_SEQ, u64(salvaged[-1].seq), db=self._dbs.meta)

    def _owner_changed(self, txn: Any, server_id: str, user_id: uuid.UUID) -> bool:
        old_server = txn.get(META_SERVER, db=self._dbs.meta)
        old_user = txn.get(META_USER, db=self._dbs.meta)
        if old_server is None or old_user is None:
            return False
        return bytes(old_server).decode() != server_id or bytes(old_user) != user_id.bytes

    def apply_changes(self, frames: Iterable[Frame]) -> EndFrame:
        """One page of changes (ending with its end frame) and the new cursor, atomically.
        Raises :class:`ReplicaDamaged` when the file turns out damaged: take a snapshot."""
        if self._damaged:
            raise ReplicaDamaged("the replica is damaged; it needs a snapshot")
        try:
            with self._env.begin(write=True) as txn:
                writer = Writer(txn, self._dbs, snapshot=False)
                writer.apply(frames)
                end = _require_end(writer)
                writer.finish(end.seq)
        except (lmdb.Error, msgspec.DecodeError, IndexError) as exc:
            self.damaged(exc)
            raise ReplicaDamaged(str(exc)) from exc
        return end

    def _enqueue(self, action: Action) -> int:
        """The action must not be lost: on a damaged file the replica is rebuilt (keeping the
        readable queue; browsing waits for the next snapshot) and the action goes there."""
        for attempt in (1, 2):
            if self._damaged:
                self._rebuild()
            try:
                return self._enqueue_once(action)
            except (lmdb.Error, msgspec.DecodeError, IndexError) as exc:
                self.damaged(exc)
                if attempt == 2:
                    raise ReplicaDamaged(str(exc)) from exc
        raise AssertionError("unreachable")

    def _enqueue_once(self, action: Action) -> int:
        with self._env.begin(write=True) as txn:
            raw = txn.get(META_QUEUE_SEQ, db=self._dbs.meta)
            seq = (0 if raw is None else from_u64(raw)) + 1
            txn.put(META_QUEUE_SEQ, u64(seq), db=self._dbs.meta)
            txn.put(u64(seq), encode_action(action), db=self._dbs.queue)
            writer = Writer(txn, self._dbs, snapshot=False)
            apply_action(writer, action)
            writer.finish(None)
        return seq

    def record_progress(
        self,
        item_id: uuid.UUID,
        position_s: float,
        duration_s: float | None = None,
        completed: bool = False,
        client_ts: datetime | None = None,
        device_id: str | None = None,
    ) -> int:
        """Queue a playback position (shown locally at once); returns the queue sequence."""
        if position_s < 0 or (duration_s is not None and duration_s <= 0):
            raise ValueError("position_s >= 0 and duration_s > 0 required")
        return self._enqueue(
            ProgressAction(
                item_id=item_id,
                position_s=float(position_s),
                duration_s=None if duration_s is None else float(duration_s),
                completed=completed,
                client_ts=_aware(client_ts),
                device_id=device_id,
            )
        )

    def mark(
        self,
        item_id: uuid.UUID,
        watched: bool,
        client_ts: datetime | None = None,
        device_id: str | None = None,
    ) -> int:
        """Queue a watched/unwatched mark (a series or season: all its episodes)."""
        return self._enqueue(
            MarkAction(
                item_id=item_id, watched=watched, client_ts=_aware(client_ts), device_id=device_id
            )
        )

    def pending_actions(self) -> list[QueuedAction]:
        with self._env.begin(buffers=True) as txn:
            return [
                QueuedAction(seq=from_u64(k), action=decode_action(v))
                for k, v in txn.cursor(db=self._dbs.queue)
            ]

    def acknowledge(self, seq: int) -> None:
        """The server has this action: it leaves the queue (and the server's state, arriving
        through the feed, is what the replica shows from then on)."""
        with self._env.begin(write=True) as txn:
            txn.delete(u64(seq), db=self._dbs.queue)

    # --- reading -----------------------------------------------------------------------------

    def view(self) -> ReplicaView:
        """One consistent read transaction for several reads. Its methods raise
        :class:`ReplicaDamaged` on a damaged file (call :meth:`damaged` with it: the replica then
        answers empty and the next snapshot rebuilds it)."""
        return ReplicaView(self._env, self._dbs, self.user_id)

    def damaged(self, exc: BaseException) -> None:
        if not self._damaged:
            log.warning(
                "replica at %s is damaged (%s); it answers empty until the next "
                "snapshot rebuilds it",
                self.path,
                exc,
            )
        self._damaged = True

    def _read(self, fn: Callable[[ReplicaView], T], default: T) -> T:
        if self._damaged:
            return default
        try:
            with self.view() as v:
                return fn(v)
        except ReplicaDamaged as exc:
            self.damaged(exc)
            return default

    def libraries(self) -> list[LibraryInfo]:
        return self._read(lambda v: v.libraries(), [])

    def genres(self) -> list[str]:
        return self._read(lambda v: v.genres(), [])

    def count(self, library_id: uuid.UUID | None = None) -> int:
        """Grid items (movies and series: items without a parent) of a library, or of all."""
        return self._read(lambda v: v.count(library_id), 0)

    def cards(
        self,
        library_id: uuid.UUID | None = None,
        sort: SortBy = SortBy.TITLE,
        order: SortOrder = SortOrder.ASC,
        offset: int = 0,
        limit: int = 150,
    ) -> list[Card]:
        """A grid page (the items ``count`` counts). Title, year, date added and rating pages
        are slices of stored lists; other sorts sort the facets. Ties are in title order, and
        DESC is the exact reverse of ASC."""
        return self._read(lambda v: v.cards(library_id, sort, order, offset, limit), [])

    def query(self, q: MediaQuery) -> tuple[list[Card], int]:
        """Raises ValueError for a query the builder would refuse (or one the replica cannot
        answer: a server cursor, another user)."""
        nothing: tuple[list[Card], int] = ([], 0)
        return self._read(lambda v: v.query(q), nothing)

    def item(self, item_id: uuid.UUID) -> ItemRecord | None:
        return self._read(lambda v: v.item(item_id), None)

    def children(self, parent_id: uuid.UUID) -> list[Card]:
        return self._read(lambda v: v.children(parent_id), [])

    def watch(self, item_id: uuid.UUID) -> WatchStateOut | None:
        return self._read(lambda v: v.watch(item_id), None)

    def continue_watching(self, limit: int = 20) -> list[Card]:
        return self._read(lambda v: v.continue_watching(limit), [])

    def next_up(self, limit: int = 20) -> list[Card]:
        return self._read(lambda v: v.next_up(limit), [])

    def next_episode(self, item_id: uuid.UUID) -> Card | None:
        """What plays after an episode (:mod:`sync.episode_order`)."""
        return self._read(lambda v: v.next_episode(item_id), None)

    def recently_added(self, library_id: uuid.UUID | None = None, limit: int = 20) -> list[Card]:
        return self._read(lambda v: v.recently_added(library_id, limit), [])

    def image(self, image_id: str) -> ImageEntry | None:
        return self._read(lambda v: v.image(image_id), None)

    def is_complete_for(self, q: MediaQuery) -> bool:
        """Whether the replica alone answers ``q`` exactly as the server would (up to the order
        of ties): a snapshot has finished, and ``q`` asks nothing it cannot answer (another
        user's watch state, a server cursor)."""
        if self.needs_snapshot or q.cursor is not None or problems(q):
            return False
        return q.user_id is None or q.user_id == self.user_id


def _aware(ts: datetime | None) -> datetime:
    if ts is None:
        return datetime.now(UTC)
    if ts.tzinfo is None:
        raise ValueError("client_ts needs a timezone")
    return ts


def _require_end(writer: Writer) -> EndFrame:
    if writer.end is None:
        raise FrameError("the frames end without an end frame (stream cut?)")
    return writer.end


def _open_checked(path: Path) -> tuple[Any, Dbs]:
    path.mkdir(parents=True, exist_ok=True)
    # metasync=False: one fsync per commit instead of two. LMDB stays consistent after a system
    # crash (the last commit may be undone: the cursor goes back with the data, and the feed
    # resends it); a killed process loses nothing, the page cache has every commit.
    env = lmdb.open(str(path), map_size=MAP_SIZE, max_dbs=MAX_DBS, subdir=True, metasync=False)
    try:
        _check_file_size(path, env)
        with env.begin(write=True) as txn:
            handles = {name: env.open_db(name.encode(), txn=txn) for name in DB_NAMES}
            meta = handles["meta"]
            expected = meta_expected()
            stored = {key: txn.get(key, db=meta) for key in expected}
            if all(v is None for v in stored.values()):
                if txn.stat(handles["items"])["entries"]:
                    raise ReplicaBroken("items without a format version")
                for key, value in expected.items():
                    txn.put(key, value, db=meta)
            else:
                for key, value in expected.items():
                    have = stored[key]
                    if have is None or bytes(have) != value:
                        found = None if have is None else bytes(have).decode(errors="replace")
                        raise ReplicaOutdated(
                            f"{key.decode()} is {found}, this player needs {value.decode()}"
                        )
            _check_columns(txn, handles)
    except BaseException:
        env.close()
        raise
    return env, Dbs(handles)


def _queued_raw(path: Path) -> list[tuple[bytes, bytes]]:
    """The offline queue of an outdated replica, as stored (key order is queue order)."""
    try:
        env = lmdb.open(str(path), max_dbs=MAX_DBS, subdir=True, readonly=True, lock=False)
    except lmdb.Error:
        return []
    try:
        with env.begin() as txn:
            queue = env.open_db(b"queue", txn=txn, create=False)
            return [(bytes(k), bytes(v)) for k, v in txn.cursor(db=queue)]
    except lmdb.Error as exc:
        log.warning("offline actions of the outdated replica are lost: %s", exc)
        return []
    finally:
        env.close()


def _check_file_size(path: Path, env: Any) -> None:
    """A data file shorter than its meta page says (truncated by a full disk, a bad copy) would
    make the first read of a missing page a SIGBUS: LMDB maps the file and trusts it."""
    info, psize = env.info(), env.stat()["psize"]
    needed = (info["last_pgno"] + 1) * psize
    have = (path / "data.mdb").stat().st_size
    if have < needed:
        raise ReplicaBroken(f"data.mdb has {have} bytes, its meta page says {needed}")


def _check_columns(txn: Any, handles: dict[str, Any]) -> None:
    """The packed columns must describe the same rows as the items db."""
    cols = handles["cols"]

    def size(key: bytes) -> int:
        value = txn.get(key, db=cols)
        return 0 if value is None else len(value)

    n_ids, n_facets = size(COL_IDS), size(COL_FACETS)
    if n_ids % 16 or n_facets % FACET_DTYPE.itemsize or size(COL_PARENTS) != n_ids:
        raise ReplicaBroken("packed columns of odd sizes")
    rows = n_ids // 16
    if n_facets // FACET_DTYPE.itemsize != rows or txn.stat(handles["items"])["entries"] != rows:
        raise ReplicaBroken(f"{rows} rows for {txn.stat(handles['items'])['entries']} items")
    if rows:
        facets = np.frombuffer(txn.get(COL_FACETS, db=cols), FACET_DTYPE)
        if int(facets["kind"].max()) > 3:
            raise ReplicaBroken("unknown item kind in the facets")


SESSIONS = "sessions"
CHECK_TIMEOUT_S = 120


def _begin_session(path: Path) -> Path | None:
    """A file that exists while this process has the replica open; one left behind by a dead
    process means that session ended without ``close`` (crash, SIGKILL, power loss)."""
    folder = path / SESSIONS
    try:
        folder.mkdir(parents=True, exist_ok=True)
        session = folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        session.touch()
        return session
    except OSError as exc:  # a read-only data dir still browses
        log.warning("cannot record the replica session (%s)", exc)
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_after_crash(path: Path) -> None:
    """After an unclean end, check the whole replica in a child process before this one maps
    it (see ``sync.replica_check``): a badly damaged page can fault a process that reads it."""
    folder = path / SESSIONS
    if not folder.is_dir():
        return
    stale = [
        f
        for f in folder.iterdir()
        if not _alive(int(f.name.split("-")[0]) if f.name.split("-")[0].isdigit() else 0)
    ]
    if not stale:
        return
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sync.replica_check", str(path)],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ReplicaBroken(
            f"the check after an unclean exit took over {CHECK_TIMEOUT_S} s"
        ) from None
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or [f"check died ({done.returncode})"]
        raise ReplicaBroken(f"after an unclean exit: {why[0]}")
    log.info("replica at %s checked after an unclean exit: healthy", path)
    for f in stale:
        f.unlink(missing_ok=True)


def _move_aside(path: Path) -> None:
    if not path.exists():
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bad-{stamp}-{time.monotonic_ns() % 1000000}")
    try:
        path.rename(target)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
    old = sorted(path.parent.glob(f"{path.name}.bad-*"))
    for stale in old[:-KEEP_BAD]:
        shutil.rmtree(stale, ignore_errors=True)
