"""Folder walks in worker processes (the appliance's default on more than one core): split
over the processes they give the same answer as one walk in a thread, budgets still hand the
rest on without losing a folder, a cancelled walk leaves a working pool, and a whole scan
through them indexes every file once."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest
import trio

from appliance.scan import folder_scan
from appliance.scan.walkers import MIN_FOLDERS_PER_PART, Walkers, default_processes
from appliance.scan.walking import Walk, WalkSpec
from store import libraries, media_index
from store.db import Database
from store.paths import to_db
from tests.scankit import running_pipeline, touch

FILMS = 3 * MIN_FOLDERS_PER_PART  # enough pending folders to split over two processes


def film_tree(root: Path) -> int:
    """FILMS film folders (some with an extra or a second version), a few flat scene files
    in the root; returns the number of video files."""
    files = 0
    for n in range(FILMS):
        folder = f"Film {n:03d} ({1950 + n % 70})"
        touch(root, f"{folder}/{folder}.mkv")
        files += 1
        if n % 7 == 0:
            touch(root, f"{folder}/Trailers/Trailer.mkv")
            files += 1
        if n % 11 == 0:
            touch(root, f"{folder}/{folder} - 4K.mkv")
            files += 1
    for n in range(5):
        touch(root, f"Scene.Film.{n}.{2001 + n}.1080p.BluRay.x264-GRP.mkv")
        files += 1
    return files


def test_two_walk_processes_by_default_and_none_on_one_core() -> None:
    assert [default_processes(n) for n in (1, 2, 3, 4, 16)] == [0, 2, 2, 2, 2]
    assert default_processes() == default_processes(len(os.sched_getaffinity(0)))


def by_folder(walk: Walk) -> dict[str, object]:
    return {
        ls.path: (
            sorted(ls.files),
            sorted(
                (name, msgspec.json.encode(columns[0]), *columns[1:])
                for (name, _, _), (columns, _) in zip(ls.files, ls.parsed or [], strict=True)
            ),
        )
        for ls in walk.listings
        if ls.changed
    }


def spec_for(root: Path) -> WalkSpec:
    return WalkSpec([str(root)], start_is_root=True, library_kind="movies", roots=(str(root),))


async def test_split_walk_in_processes_matches_one_walk_in_a_thread(tmp_path: Path) -> None:
    root = tmp_path / "films"
    files = film_tree(root)
    spec = spec_for(root)
    alone = await Walkers(0).walk(spec)
    walkers = Walkers(2)
    async with walkers.open():
        assert walkers.in_processes
        split = await walkers.walk(spec)
        assert (split.folders, split.files, split.pending) == (alone.folders, files, [])
        assert by_folder(split) == by_folder(alone), "same folders, files and parsed names"
        assert split.listings[0].path == str(root), "the root's listing comes first"

        # with the fingerprints stored, nothing is changed and nothing is parsed again
        known = msgspec.json.encode({to_db(ls.path): ls.fingerprint for ls in split.listings})
        again = await walkers.walk(replace(spec, known_json=known))
        assert again.folders == alone.folders and again.files == files
        assert [ls for ls in again.listings if ls.changed] == []


async def test_budgets_split_over_processes_hand_on_every_folder(tmp_path: Path) -> None:
    """Walking on from what each walk leaves pending (as continuation jobs do) finds every
    file exactly once, however the changed-file budget cuts the tree."""
    root = tmp_path / "films"
    files = film_tree(root)
    walkers = Walkers(2)
    seen: list[str] = []
    async with walkers.open():
        todo, first, rounds = [str(root)], True, 0
        while todo:
            rounds += 1
            walk = await walkers.walk(
                WalkSpec(
                    todo,
                    start_is_root=first,
                    library_kind="movies",
                    roots=(str(root),),
                    max_changed=40,
                )
            )
            assert walk.changed_files <= 40 + 4, "each part stops at its share of the budget"
            seen += [
                os.path.join(ls.path, name)
                for ls in walk.listings
                if ls.changed
                for name, _, _ in ls.files
            ]
            todo, first = walk.pending, False
    assert rounds > 3
    assert len(seen) == len(set(seen)) == files


async def test_a_cancelled_walk_leaves_a_working_pool(tmp_path: Path) -> None:
    root = tmp_path / "films"
    files = film_tree(root)
    walkers = Walkers(2)
    async with walkers.open():
        with trio.move_on_after(0.002) as scope:
            await walkers.walk(spec_for(root))
        assert scope.cancelled_caught, "the walk was cut short (a lost lease, a cancel)"
        walk = await walkers.walk(spec_for(root))
        assert walk.files == files and walk.pending == []


@pytest.mark.slow  # spawns the walk workers and runs a whole scan: 5-7 s
@pytest.mark.parametrize("batch", [5])
async def test_a_scan_through_worker_processes_indexes_every_file_once(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(folder_scan, "MAX_CHANGED_FILES_PER_JOB", batch)
    root = tmp_path / "films"
    files = film_tree(root)
    async with running_pipeline(db, walkers=Walkers(2)) as harness:
        library = await libraries.create(db, "Films", "movies", [str(root)])
        scan = await harness.scan(library.id)
        assert scan.files_found == files
        rows = await media_index.files(db, library.id)
        assert len(rows) == len({r["path"] for r in rows}) == files
        assert all(r["present"] and r["item_id"] is not None for r in rows)
        movies = [i for i in await harness.items(library.id) if i[0] == "movie"]
        assert len(movies) == FILMS + 5, "versions grouped, extras attached, not items"
