"""The realtime watcher on real folders with real inotify: what changes become which requests."""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from inotify_simple import Event, INotify, flags

from appliance.scan import watcher as watcher_mod
from appliance.scan.watcher import (
    RESCAN_OVERFLOW,
    RESCAN_RESTARTED,
    RESCAN_ROOT_RETURNED,
    RESCAN_ROOT_VANISHED,
    RESCAN_WATCH_LIMIT,
    FolderChanged,
    LibraryRescan,
    LibraryWatchers,
    WatchEvent,
    is_ignored_name,
    watch_library,
)

DEBOUNCE_MS = 100
QUIET_S = 0.4  # several debounce periods: anything still coming would have come by then

pytestmark = pytest.mark.skipif(not Path("/proc/sys/fs/inotify").exists(), reason="needs inotify")


@dataclass
class Watched:
    library_id: uuid.UUID
    root: Path
    recv: trio.MemoryReceiveChannel[WatchEvent]

    async def collect(self, quiet_s: float = QUIET_S, limit_s: float = 5.0) -> list[WatchEvent]:
        """Everything reported until the watcher has been quiet for ``quiet_s``."""
        events: list[WatchEvent] = []
        with trio.fail_after(limit_s):
            while True:
                with trio.move_on_after(quiet_s) as idle:
                    events.append(await self.recv.receive())
                if idle.cancelled_caught:
                    return events

    async def folders(self) -> set[Path]:
        events = await self.collect()
        assert all(isinstance(e, FolderChanged) for e in events), events
        assert all(e.library_id == self.library_id for e in events)
        return {e.folder for e in events if isinstance(e, FolderChanged)}

    async def next_rescan(self, limit_s: float = 5.0) -> LibraryRescan:
        with trio.fail_after(limit_s):
            while True:
                event = await self.recv.receive()
                if isinstance(event, LibraryRescan):
                    return event


@asynccontextmanager
async def watching(
    root: Path, *, root_poll_s: float = 10.0, max_delay_ms: int = 30_000
) -> AsyncIterator[Watched]:
    send, recv = trio.open_memory_channel[WatchEvent](1000)
    library_id = uuid.uuid4()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: watch_library(
                library_id,
                [root],
                send,
                debounce_ms=DEBOUNCE_MS,
                max_delay_ms=max_delay_ms,
                root_poll_s=root_poll_s,
                task_status=task_status,
            )
        )
        yield Watched(library_id, root, recv)
        nursery.cancel_scope.cancel()


def inotify_fds() -> int:
    """Open inotify descriptors of this process: a leaked watcher shows up here."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                count += 1
        except OSError:
            continue
    return count


@pytest.fixture
def root(tmp_path: Path) -> Path:
    lib = tmp_path / "library"
    (lib / "Movies").mkdir(parents=True)
    (lib / "Shows" / "Season 01").mkdir(parents=True)
    return lib


def test_ignored_names() -> None:
    assert is_ignored_name(".hidden.mkv")
    assert is_ignored_name("movie.mkv.part")
    assert is_ignored_name("movie.mkv.!qB")
    assert is_ignored_name("movie.mkv.crdownload")
    assert is_ignored_name("movie.TMP")
    assert not is_ignored_name("Movie (2010).mkv")


async def test_create_file_reports_its_folder(root: Path) -> None:
    async with watching(root) as w:
        (root / "Movies" / "Heat (1995).mkv").write_bytes(b"x")
        assert await w.folders() == {root / "Movies"}


async def test_burst_in_one_folder_is_one_event(root: Path) -> None:
    async with watching(root) as w:
        for i in range(50):
            (root / "Movies" / f"Film {i:02d} (2000).mkv").write_bytes(b"x" * 100)
        events = await w.collect()
        assert events == [FolderChanged(w.library_id, root / "Movies")]


async def test_continuous_writes_are_reported_within_max_delay(root: Path) -> None:
    # The folder never goes quiet for debounce_ms, yet it is reported after max_delay_ms.
    async with watching(root, max_delay_ms=500) as w:
        target = root / "Movies" / "Big (2020).mkv"
        with trio.fail_after(3):
            with target.open("wb") as fh:
                while True:
                    fh.write(b"x" * 4096)
                    fh.flush()
                    with trio.move_on_after(0.05):
                        event = await w.recv.receive()
                        break
        assert event == FolderChanged(w.library_id, root / "Movies")


async def test_rename_within_folder(root: Path) -> None:
    (root / "Movies" / "heat.mkv").write_bytes(b"x")
    async with watching(root) as w:
        (root / "Movies" / "heat.mkv").rename(root / "Movies" / "Heat (1995).mkv")
        assert await w.folders() == {root / "Movies"}


async def test_partial_download_renamed_when_done(root: Path) -> None:
    async with watching(root) as w:
        partial = root / "Movies" / "Heat (1995).mkv.!qB"
        partial.write_bytes(b"x")
        assert await w.folders() == set()
        partial.rename(root / "Movies" / "Heat (1995).mkv")
        assert await w.folders() == {root / "Movies"}


async def test_move_file_between_folders_reports_both(root: Path) -> None:
    (root / "Movies" / "S01E01.mkv").write_bytes(b"x")
    async with watching(root) as w:
        (root / "Movies" / "S01E01.mkv").rename(root / "Shows" / "Season 01" / "S01E01.mkv")
        assert await w.folders() == {root / "Movies", root / "Shows" / "Season 01"}


async def test_delete_file(root: Path) -> None:
    (root / "Movies" / "Heat (1995).mkv").write_bytes(b"x")
    async with watching(root) as w:
        (root / "Movies" / "Heat (1995).mkv").unlink()
        assert await w.folders() == {root / "Movies"}


async def test_new_subfolder_with_files_is_watched(root: Path) -> None:
    async with watching(root) as w:
        new = root / "Movies" / "Heat (1995)"
        new.mkdir()
        (new / "Heat (1995).mkv").write_bytes(b"x")
        (new / "Heat (1995).srt").write_bytes(b"x")
        assert await w.folders() == {root / "Movies", new}
        # the new folder got its own watch: a later change inside it is seen
        (new / "Heat (1995) - 1080p.mkv").write_bytes(b"x")
        assert await w.folders() == {new}


async def test_moved_folder_reports_old_and_new_parents(root: Path) -> None:
    old = root / "Movies" / "Heat (1995)"
    old.mkdir()
    (old / "Heat (1995).mkv").write_bytes(b"x")
    async with watching(root) as w:
        new = root / "Shows" / "Heat (1995)"
        old.rename(new)
        assert await w.folders() == {root / "Movies", old, root / "Shows", new}
        # watches follow the new place and report the new path
        (new / "extra.mkv").write_bytes(b"x")
        assert await w.folders() == {new}


async def test_deleted_folder(root: Path) -> None:
    gone = root / "Movies" / "Heat (1995)"
    gone.mkdir()
    (gone / "Heat (1995).mkv").write_bytes(b"x")
    async with watching(root) as w:
        shutil.rmtree(gone)
        assert await w.folders() == {root / "Movies", gone}


async def test_hidden_and_partial_files_are_ignored(root: Path) -> None:
    async with watching(root) as w:
        movies = root / "Movies"
        for name in (".DS_Store", "a.mkv.part", "b.mkv.!qB", "c.crdownload", "d.tmp"):
            (movies / name).write_bytes(b"x")
        hidden = root / ".trash"
        hidden.mkdir()
        (hidden / "old.mkv").write_bytes(b"x")
        assert await w.folders() == set()


async def test_folder_with_ignore_file_is_ignored(root: Path) -> None:
    skipped = root / "Movies" / "Home videos"
    (skipped / "2019").mkdir(parents=True)
    (skipped / ".ignore").touch()
    async with watching(root) as w:
        (skipped / "clip.mkv").write_bytes(b"x")
        (skipped / "2019" / "clip.mkv").write_bytes(b"x")
        assert await w.folders() == set()
        # removing the marker makes the folder count again (reported, then watched)
        (skipped / ".ignore").unlink()
        assert await w.folders() == {skipped}
        (skipped / "2019" / "more.mkv").write_bytes(b"x")
        assert await w.folders() == {skipped / "2019"}


async def test_root_vanishes_and_returns(root: Path) -> None:
    (root / "Movies" / "Heat (1995).mkv").write_bytes(b"x")
    async with watching(root, root_poll_s=0.1) as w:
        moved = root.with_name("unplugged")
        os.rename(root, moved)  # like an unmounted disk: the path is gone, the data is elsewhere
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_ROOT_VANISHED, root)
        os.rename(moved, root)
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_ROOT_RETURNED, root)
        await w.collect()
        # watching resumed on the returned root
        (root / "Movies" / "Ronin (1998).mkv").write_bytes(b"x")
        assert await w.folders() == {root / "Movies"}


async def test_missing_root_at_start_is_reported_and_polled(tmp_path: Path) -> None:
    root = tmp_path / "usb"
    async with watching(root, root_poll_s=0.1) as w:
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_ROOT_VANISHED, root)
        root.mkdir()
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_ROOT_RETURNED, root)


async def test_library_watchers_add_remove_and_no_leftovers(tmp_path: Path) -> None:
    roots = {uuid.uuid4(): tmp_path / "a", uuid.uuid4(): tmp_path / "b"}
    for path in roots.values():
        path.mkdir()
    lib_a, lib_b = roots
    fds_before = inotify_fds()
    send, recv = trio.open_memory_channel[WatchEvent](100)
    watchers = LibraryWatchers(send, debounce_ms=DEBOUNCE_MS)
    async with trio.open_nursery() as nursery:
        await nursery.start(watchers.run)
        await watchers.sync({lib: [path] for lib, path in roots.items()})
        assert set(watchers.watched) == {lib_a, lib_b}
        assert inotify_fds() == fds_before + 2

        (roots[lib_a] / "x.mkv").write_bytes(b"x")
        (roots[lib_b] / "y.mkv").write_bytes(b"x")
        got = await Watched(lib_a, roots[lib_a], recv).collect()
        assert set(got) == {
            FolderChanged(lib_a, roots[lib_a]),
            FolderChanged(lib_b, roots[lib_b]),
        }

        await watchers.sync({lib_a: [roots[lib_a]]})  # library b no longer watched
        assert set(watchers.watched) == {lib_a}
        assert inotify_fds() == fds_before + 1
        (roots[lib_b] / "z.mkv").write_bytes(b"x")
        assert await Watched(lib_a, roots[lib_a], recv).collect() == []

        # new roots for a library replace its watcher
        await watchers.add(lib_a, [roots[lib_b]])
        assert watchers.watched == {lib_a: (roots[lib_b],)}
        (roots[lib_b] / "w.mkv").write_bytes(b"x")
        assert await Watched(lib_a, roots[lib_a], recv).collect() == [
            FolderChanged(lib_a, roots[lib_b])
        ]
        nursery.cancel_scope.cancel()
    assert inotify_fds() == fds_before
    assert watchers.watched == {}


async def test_watcher_stops_quietly_when_receiver_closes(root: Path) -> None:
    send, recv = trio.open_memory_channel[WatchEvent](0)
    fds_before = inotify_fds()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(
                lambda task_status: watch_library(
                    uuid.uuid4(), [root], send, debounce_ms=50, task_status=task_status
                )
            )
            await recv.aclose()
            (root / "Movies" / "x.mkv").write_bytes(b"x")
        # the nursery ended on its own: the watcher returned instead of retrying forever
    assert inotify_fds() == fds_before


class _FaultyINotify(INotify):  # type: ignore[misc]
    """Real inotify, plus faults the kernel will not produce on demand in a test."""

    overflow_next_read = False
    watches_left: int | None = None
    fail_init = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        if _FaultyINotify.fail_init:
            _FaultyINotify.fail_init -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        super().__init__(*args, **kwargs)

    def read(self, *args: object, **kwargs: object) -> list[Any]:
        events = list(super().read(*args, **kwargs))
        if _FaultyINotify.overflow_next_read:
            _FaultyINotify.overflow_next_read = False
            events.append(Event(-1, flags.Q_OVERFLOW, 0, ""))
        return events

    def add_watch(self, path: object, mask: int) -> int:
        if _FaultyINotify.watches_left is not None:
            if _FaultyINotify.watches_left <= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            _FaultyINotify.watches_left -= 1
        return int(super().add_watch(path, mask))


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> type[_FaultyINotify]:
    monkeypatch.setattr(watcher_mod, "INotify", _FaultyINotify)
    monkeypatch.setattr(watcher_mod, "_BACKOFF_START_S", 0.05)
    _FaultyINotify.overflow_next_read = False
    _FaultyINotify.watches_left = None
    _FaultyINotify.fail_init = 0
    return _FaultyINotify


async def test_overflow_asks_for_library_rescan(root: Path, faulty: type[_FaultyINotify]) -> None:
    async with watching(root) as w:
        faulty.overflow_next_read = True
        (root / "Movies" / "x.mkv").write_bytes(b"x")
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_OVERFLOW)
        # still watching afterwards
        await w.collect()
        (root / "Shows" / "y.mkv").write_bytes(b"x")
        assert await w.folders() == {root / "Shows"}


async def test_watch_limit_warns_and_asks_for_rescan(
    root: Path, faulty: type[_FaultyINotify], caplog: pytest.LogCaptureFixture
) -> None:
    faulty.watches_left = 2  # root and one folder; the third hits the limit
    async with watching(root) as w:
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_WATCH_LIMIT)
    assert "fs.inotify.max_user_watches" in caplog.text


async def test_errors_back_off_and_restart(root: Path, faulty: type[_FaultyINotify]) -> None:
    faulty.fail_init = 2  # EMFILE twice: max_user_instances exhausted for a moment
    async with watching(root) as w:
        assert await w.next_rescan() == LibraryRescan(w.library_id, RESCAN_RESTARTED)
        (root / "Movies" / "x.mkv").write_bytes(b"x")
        assert await w.folders() == {root / "Movies"}
