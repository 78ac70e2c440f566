"""The replica survives what happens to files on a user's disk: a player killed (SIGKILL) in the
middle of applying a snapshot or a delta, or while queueing offline actions; a damaged or foreign
data.mdb; a replica written by another version. It never crashes and never loses a committed
state."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import lmdb
import pytest

from sync.feed_types import EndFrame
from sync.replica import Replica
from sync.replica_format import META_FORMAT, META_SCHEMA
from sync.replica_read import ReplicaDamaged
from tests.feedkit import World, batches, world
from tests.helpers import REPO

CHILD_PRELUDE = """
import sys, time
from pathlib import Path
from sync.replica import Replica
from tests.feedkit import world, batches
"""


def child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def wait_line(proc: subprocess.Popen[str], wanted: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == wanted:
            return
    errors = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"child ended before {wanted!r}: {errors}")


def kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[tuple[World, Path, list[object]]]:
    w = world(11, movies=200, shows=4)
    path = tmp_path / "replica"
    with Replica.open(path) as replica:
        replica.apply_snapshot(batches(w.snapshot_frames(), 100))
        before = [replica.cursor, replica.count(), replica.cards(limit=1000)]
    yield w, path, before


def state_of(path: Path) -> list[object]:
    with Replica.open(path) as replica:
        assert not replica.needs_snapshot
        return [replica.cursor, replica.count(), replica.cards(limit=1000)]


def test_kill9_mid_snapshot_keeps_the_old_replica(filled: tuple[World, Path, list[object]]) -> None:
    _, path, before = filled
    proc = child(f"""
        w = world(99, movies=3000, shows=10)
        frames = batches(w.snapshot_frames(), 200)
        def slow():
            for i, batch in enumerate(frames):
                if i == len(frames) // 2:
                    print("midway", flush=True)
                    time.sleep(60)
                yield batch
        Replica.open(Path({str(path)!r})).apply_snapshot(slow())
        print("finished", flush=True)
    """)
    wait_line(proc, "midway")  # half of 3000 items written inside the open transaction
    kill9(proc)
    assert state_of(path) == before


def test_kill9_mid_delta_keeps_the_old_cursor(filled: tuple[World, Path, list[object]]) -> None:
    _, path, before = filled
    proc = child(f"""
        w = world(11, movies=200, shows=4)
        w.snapshot_frames()
        page = w.random_changes(150)
        def slow():
            for i, frame in enumerate(page):
                if i == 100:
                    print("midway", flush=True)
                    time.sleep(60)
                yield frame
        Replica.open(Path({str(path)!r})).apply_changes(slow())
    """)
    wait_line(proc, "midway")
    kill9(proc)
    assert state_of(path) == before
    with Replica.open(path) as replica:  # and it still takes the next page
        replica.apply_changes([EndFrame(seq=int(before[0]) + 5)])  # type: ignore[call-overload]
        assert replica.cursor == int(before[0]) + 5  # type: ignore[call-overload]


def test_offline_actions_survive_kill9(filled: tuple[World, Path, list[object]]) -> None:
    w, path, _ = filled
    movie = next(r for r in w.items.values() if r.kind == "movie")
    proc = child(f"""
        import uuid
        replica = Replica.open(Path({str(path)!r}))
        item = uuid.UUID({str(movie.id)!r})
        n = 0
        while True:
            n += 1
            seq = replica.record_progress(item, float(n), 6000.0)
            print(seq, flush=True)
    """)
    assert proc.stdout is not None
    acknowledged = [int(proc.stdout.readline()) for _ in range(40)]
    kill9(proc)
    with Replica.open(path) as replica:
        pending = replica.pending_actions()
        seqs = [p.seq for p in pending]
        assert seqs[:40] == acknowledged == list(range(1, 41))  # every committed one, in order
        assert seqs == list(range(1, len(seqs) + 1))
        last = pending[-1].action
        watch = replica.watch(movie.id)
        assert watch is not None and watch.position_s == last.position_s  # type: ignore[union-attr]
        in_progress = replica.continue_watching(5)
        assert [c.id for c in in_progress] == [movie.id]
        replica.acknowledge(seqs[0])
        assert [p.seq for p in replica.pending_actions()] == seqs[1:]


def _reopened_empty(path: Path, kept_aside: bool = True) -> None:
    with Replica.open(path) as replica:
        assert replica.needs_snapshot and replica.cursor == 0 and replica.count() == 0
        w = world(5, movies=10, shows=1)
        replica.apply_snapshot(batches(w.snapshot_frames()))  # and it works again
        assert not replica.needs_snapshot and replica.count() == 11
    if kept_aside:
        assert list(path.parent.glob("replica.bad-*")), "the broken replica is kept aside"
    with Replica.open(path) as replica:
        assert not replica.needs_snapshot and replica.count() == 11


@pytest.mark.parametrize(
    "damage", ["garbage header", "truncated", "zero length", "not a directory"]
)
def test_damaged_files_are_moved_aside_and_rebuilt(
    filled: tuple[World, Path, list[object]], damage: str
) -> None:
    _, path, _ = filled
    data = path / "data.mdb"
    if damage == "garbage header":
        with open(data, "r+b") as fh:
            fh.write(os.urandom(16384))
    elif damage == "truncated":
        os.truncate(data, data.stat().st_size // 3)
    elif damage == "zero length":
        os.truncate(data, 0)
        (path / "lock.mdb").write_bytes(b"\x00" * 100)
    else:
        shutil.rmtree(path)
        path.write_text("not a replica")
    # an empty data.mdb is simply a new LMDB environment: nothing to keep
    _reopened_empty(path, kept_aside=damage != "zero length")


def test_other_schema_or_format_is_rebuilt(filled: tuple[World, Path, list[object]]) -> None:
    _, path, _ = filled
    env = lmdb.open(str(path), max_dbs=16)
    meta = env.open_db(b"meta")
    with env.begin(write=True) as txn:
        txn.put(META_SCHEMA, b"0", db=meta)
    env.close()
    _reopened_empty(path)


def test_an_older_format_is_rebuilt_keeping_queued_offline_actions(
    filled: tuple[World, Path, list[object]],
) -> None:
    """A player updated to a new replica format (3: records carry series context) rebuilds its
    replica from the next snapshot; progress recorded offline before the update still reaches
    the server."""
    w, path, _ = filled
    movie = next(iter(w.items))
    with Replica.open(path) as replica:
        replica.record_progress(movie, 42.0)
    env = lmdb.open(str(path), max_dbs=16)
    meta = env.open_db(b"meta")
    with env.begin(write=True) as txn:
        txn.put(META_FORMAT, b"2", db=meta)
    env.close()
    with Replica.open(path) as replica:
        assert replica.needs_snapshot and replica.count() == 0
        queued = replica.pending_actions()
        assert [q.action.item_id for q in queued] == [movie]
        replica.apply_snapshot(batches(w.snapshot_frames(), 100))
        state = replica.watch(movie)
        assert state is not None and state.position_s == 42.0
        assert replica.record_progress(movie, 50.0) > queued[-1].seq  # the sequence goes on
    assert list(path.parent.glob("replica.bad-*")), "the old replica is kept aside"


def test_inconsistent_columns_are_rebuilt(filled: tuple[World, Path, list[object]]) -> None:
    _, path, _ = filled
    env = lmdb.open(str(path), max_dbs=16)
    cols = env.open_db(b"cols")
    with env.begin(write=True) as txn:
        txn.put(b"facets", b"\x01" * 7, db=cols)
    env.close()
    _reopened_empty(path)


def test_snapshot_of_another_user_drops_their_queue(tmp_path: Path) -> None:
    w = world(3, movies=5, shows=0)
    with Replica.open(tmp_path / "replica") as replica:
        replica.apply_snapshot(batches(w.snapshot_frames()))
        movie = next(iter(w.items))
        replica.record_progress(movie, 10.0)
        replica.apply_snapshot(batches(w.snapshot_frames()))  # same user: kept, still shown
        assert len(replica.pending_actions()) == 1
        assert replica.watch(movie) is not None
        w.user_id = uuid.uuid4()
        replica.apply_snapshot(batches(w.snapshot_frames()))
        assert replica.pending_actions() == [] and replica.watch(movie) is None
        assert replica.user_id == w.user_id


def test_damaged_pages_after_a_crash_are_checked_in_a_child(tmp_path: Path) -> None:
    """Garbled page pointers can fault the process that follows them (LMDB trusts its file):
    after a session that did not end cleanly, the check runs in a child process, not here."""
    w = world(21, movies=300, shows=2)
    path = tmp_path / "replica"
    with Replica.open(path) as replica:
        replica.apply_snapshot(batches(w.snapshot_frames()))
    data = path / "data.mdb"
    size = data.stat().st_size
    with open(data, "r+b") as fh:  # every page but the two meta pages
        fh.seek(2 * 4096)
        fh.write(bytes(range(256)) * ((size - 2 * 4096) // 256))
    proc = child(f"""
        r = Replica.open(Path({str(path)!r}))
        r.cards(); r.count()
        print("survived", flush=True)
        time.sleep(60)
    """)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() == "survived":
        kill9(proc)  # the reads raised instead of faulting: end it uncleanly all the same
    else:
        assert proc.wait(timeout=10) < 0  # faulted on the damaged pages, as a player would
    _reopened_empty(path)


def test_values_that_do_not_decode_answer_empty_then_rebuild(tmp_path: Path) -> None:
    w = world(21, movies=30, shows=1)
    path = tmp_path / "replica"
    with Replica.open(path) as replica:
        replica.apply_snapshot(batches(w.snapshot_frames()))
        movie = next(r for r in w.items.values() if r.kind == "movie")
        replica.record_progress(movie.id, 12.0)
        env = replica._env
        with env.begin(write=True) as txn:  # bytes that are not what the replica wrote
            txn.put(movie.id.bytes, b"\xc1\xc1garbage", db=replica._dbs.cards)
            txn.put(movie.id.bytes, b"\x00", db=replica._dbs.items)
        assert replica.item(movie.id) is None
        assert replica.cards(limit=1000) == [] and replica.needs_snapshot
        with pytest.raises(ReplicaDamaged):
            replica.apply_changes([EndFrame(seq=99)])
        replica.apply_snapshot(batches(w.snapshot_frames()))
        assert not replica.needs_snapshot and replica.count() == 31
        assert replica.item(movie.id) == movie
        # the queued action was carried over to the new environment
        assert [p.action.item_id for p in replica.pending_actions()] == [movie.id]
        watch = replica.watch(movie.id)
        assert watch is not None and watch.position_s == 12.0
    assert list(tmp_path.glob("replica.bad-*"))
