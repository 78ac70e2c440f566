"""The scan pipeline on real files and the real queue: what a user sees in the library."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.scan import folder_scan
from appliance.scan.pipeline import PipelineSettings
from store import libraries, media_index, scans
from store.db import Database
from store.sql import sql
from tests.scankit import ScanHarness, running_pipeline, touch

SCAN_JOB_PRIORITIES = sql("SELECT priority FROM jobs WHERE scan_id = $1")
AGE_SCANS = sql("UPDATE scans SET finished_at = now() - interval '2 minutes' WHERE id = $1")


@pytest.fixture
async def harness(db: Database) -> AsyncIterator[ScanHarness]:
    async with running_pipeline(db) as pipeline:
        yield pipeline


async def test_movies_versions_parts_and_extras(harness: ScanHarness, tmp_path: Path) -> None:
    root = tmp_path / "films"
    touch(root, "The Matrix (1999)/The Matrix (1999) - 1080p.mkv")
    touch(root, "The Matrix (1999)/The Matrix (1999) - 2160p.mkv")
    touch(root, "The Matrix (1999)/Trailers/Official Trailer.mp4")
    touch(root, "Kill Bill (2003)/Kill Bill (2003) - cd1.avi")
    touch(root, "Kill Bill (2003)/Kill Bill (2003) - cd2.avi")
    touch(root, "Alien.1979.1080p.BluRay.x264-GRP.mkv")
    touch(root, "Alien.1979.1080p.BluRay.x264-GRP/sample.mkv")
    touch(root, ".hidden/Secret (2000).mkv")
    touch(root, "Skipped/.ignore", b"")
    touch(root, "Skipped/Nope (2001).mkv")
    touch(root, "notes.txt", b"not media")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    scan = await harness.scan(library.id)
    assert await harness.items(library.id) == [
        ("movie", "Alien", 1979, True),
        ("movie", "Kill Bill", 2003, True),
        ("movie", "The Matrix", 1999, True),
    ]
    files = {Path(r["path"]).name: r for r in await media_index.files(harness.db, library.id)}
    matrix = files["The Matrix (1999) - 1080p.mkv"]["item_id"]
    assert files["The Matrix (1999) - 2160p.mkv"]["item_id"] == matrix
    assert files["Official Trailer.mp4"]["item_id"] == matrix
    assert files["Official Trailer.mp4"]["extra_kind"] == "trailer"
    assert files["Kill Bill (2003) - cd2.avi"]["part"] == 2
    assert files["sample.mkv"]["item_id"] is None
    assert "Secret (2000).mkv" not in files and "Nope (2001).mkv" not in files
    assert scan.files_found == 7


async def test_series_hierarchy(harness: ScanHarness, tmp_path: Path) -> None:
    root = tmp_path / "shows"
    touch(root, "Breaking Bad (2008)/Season 01/Breaking Bad - S01E01 - Pilot.mkv")
    touch(root, "Breaking Bad (2008)/Season 01/Breaking Bad - S01E02-E03.mkv")
    touch(root, "Breaking Bad (2008)/Season 02/Breaking Bad - S02E01.mkv")
    touch(root, "Breaking Bad (2008)/Specials/Breaking Bad - S00E01.mkv")
    library = await libraries.create(harness.db, "Shows", "series", [str(root)])
    await harness.scan(library.id)
    assert await harness.items(library.id) == [
        ("episode", "Episode 1", (0, [1]), True),
        ("episode", "Episode 1", (1, [1]), True),
        ("episode", "Episode 2", (1, [2, 3]), True),
        ("episode", "Episode 1", (2, [1]), True),
        ("season", "Specials", (0, []), True),
        ("season", "Season 1", (1, []), True),
        ("season", "Season 2", (2, []), True),
        ("series", "Breaking Bad", 2008, True),
    ]


async def test_rescan_reflects_removed_moved_and_added_files(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Heat (1995)/Heat (1995).mkv")
    up = touch(root, "Up (2009)/Up (2009).mkv")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    await harness.scan(library.id)
    before = {r["title"]: r["id"] for r in await media_index.items(harness.db, library.id)}

    up.unlink()
    (root / "Heat (1995)").rename(root / "Heat (1995) moved")
    touch(root, "Brazil (1985).mkv")
    await harness.scan(library.id)
    rows = {r["title"]: r for r in await media_index.items(harness.db, library.id)}
    assert rows["Up"]["present"] is False, "deleted: gone from the library"
    assert rows["Up"]["id"] == before["Up"], "but kept, with its id, for when it returns"
    assert rows["Heat"]["present"] is True and rows["Heat"]["id"] == before["Heat"]
    assert rows["Brazil"]["present"] is True

    touch(root, "Up (2009)/Up (2009).mkv")
    await harness.scan(library.id)
    revived = {r["title"]: r for r in await media_index.items(harness.db, library.id)}
    assert revived["Up"]["present"] is True and revived["Up"]["id"] == before["Up"]


@pytest.mark.slow  # three scans of a generated tree: about 3 s
async def test_unchanged_rescan_skips_folders_and_empty_root_removes_nothing(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Heat (1995)/Heat (1995).mkv")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    await harness.scan(library.id)
    again = await harness.scan(library.id)
    assert again.files_found == 1
    counts = await scans.job_counts(harness.db, again.id)
    assert counts == {"completed": 1}, "nothing changed: only the walk ran"

    (root / "Heat (1995)" / "Heat (1995).mkv").unlink()
    (root / "Heat (1995)").rmdir()  # the root is now empty, as if the disk were unmounted
    unmounted = await harness.scan(library.id)
    assert unmounted.errors == 1
    assert [r["present"] for r in await media_index.items(harness.db, library.id)] == [True]


async def test_bad_inputs_are_recorded_and_the_scan_completes(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Empty (2001).mkv", b"")
    touch(root, "Text (2002).mkv", b"this is not a video\n")
    touch(root, "Good (2003)/Good (2003).mkv")
    (root / "Good (2003)" / "loop").symlink_to(root)
    locked = root / "Locked (2004)"
    touch(root, "Locked (2004)/Locked (2004).mkv")
    locked.chmod(0)
    weird = os.fsencode(str(root)) + b"/Caf\xe9 (2005).mkv"  # Latin-1 name on a UTF-8 system
    Path(os.fsdecode(weird)).write_bytes(b"\0")  # noqa: ASYNC240
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    try:
        scan = await harness.scan(library.id)
    finally:
        locked.chmod(0o755)
    titles = {r["title"] for r in await media_index.items(harness.db, library.id)}
    assert {"Empty", "Text", "Good", "Café"} <= titles  # legacy bytes read as cp1252
    if os.geteuid() != 0:
        assert scan.errors >= 2  # the loop and the unreadable folder
    else:
        assert scan.errors >= 1  # root reads any folder; the loop is still reported


@pytest.fixture
async def analysing(db: Database) -> AsyncIterator[ScanHarness]:
    async with running_pipeline(db, PipelineSettings(analyze=True)) as pipeline:
        yield pipeline


async def test_broken_media_gets_an_analysis_error_and_the_scan_completes(
    analysing: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Empty (2001).mkv", b"")
    touch(root, "Text (2002).mkv", b"this is not a video\n")
    library = await libraries.create(analysing.db, "Films", "movies", [str(root)])
    scan = await analysing.scan(library.id)
    assert scan.state == "completed"
    errors = {
        Path(r["path"]).name: r["analysis_error"]
        for r in await media_index.files(analysing.db, library.id)
    }
    assert errors["Empty (2001).mkv"].startswith("empty_file:")
    assert errors["Text (2002).mkv"].startswith("invalid_data:")
    counts = await scans.job_counts(analysing.db, scan.id)
    assert counts.get("failed", 0) == 0 and counts.get("dead_letter", 0) == 0


async def test_periodic_rescans_start_when_the_interval_has_passed(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Heat (1995).mkv")
    due = await libraries.create(harness.db, "Due", "movies", [str(root)], scan_interval_minutes=1)
    await libraries.create(harness.db, "Off", "movies", [str(tmp_path)], scan_interval_minutes=0)
    first = await harness.scan(due.id)
    await harness.service.periodic_once()
    assert [s.library_id for s in await scans.active(harness.db)] == [], "not yet due"
    await harness.db.execute(AGE_SCANS, first.id)
    await harness.service.periodic_once()
    active = await scans.active(harness.db)
    assert [(s.library_id, s.trigger) for s in active] == [(due.id, "periodic")]
    priorities = {r["priority"] for r in await harness.db.fetch(SCAN_JOB_PRIORITIES, active[0].id)}
    assert priorities == {2}, "maintenance sweeps run in band P2"


async def test_first_scan_in_batches_links_everything_once(
    harness: ScanHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first scan larger than one job's budget of changed files is split into several
    FolderScan jobs that each write their files parsed and linked; a show's extras indexed in
    another batch than its episodes still find their show, and nothing is indexed twice."""
    monkeypatch.setattr(folder_scan, "MAX_CHANGED_FILES_PER_JOB", 4)
    root = tmp_path / "shows"
    for show in ("Alpha (2001)", "Beta (2002)", "Gamma (2003)"):
        for season in (1, 2):
            for episode in (1, 2, 3):
                name = show.split(" ")[0]
                touch(root, f"{show}/Season {season:02d}/{name} - S{season:02d}E{episode:02d}.mkv")
    touch(root, "Gamma (2003)/Extras/Behind the Scenes.mkv")
    library = await libraries.create(harness.db, "Shows", "series", [str(root)])
    scan = await harness.scan(library.id)
    assert scan.files_found == 19
    counts = await scans.job_counts(harness.db, scan.id)
    assert counts["completed"] > 3 and set(counts) == {"completed"}, counts

    files = await media_index.files(harness.db, library.id)
    assert len(files) == 19 and all(f["present"] for f in files)
    assert all(f["item_id"] is not None for f in files), "every file linked"
    items = await harness.items(library.id)
    assert [i[1] for i in items if i[0] == "series"] == ["Alpha", "Beta", "Gamma"]
    assert sum(1 for i in items if i[0] == "season") == 6
    assert sum(1 for i in items if i[0] == "episode") == 18
    by_id = {r["id"]: r for r in await media_index.items(harness.db, library.id)}
    extra = next(f for f in files if f["extra_kind"] is not None)
    assert by_id[extra["item_id"]]["title"] == "Gamma"

    again = await harness.scan(library.id)
    assert await scans.job_counts(harness.db, again.id) == {"completed": 1}, (
        "unchanged: one walk of the whole library, however many batches the first scan took"
    )

    # extras that arrive before their show wait, unlinked, and are attached when it appears
    touch(root, "Delta (2004)/Extras/Interview.mkv")
    await harness.scan(library.id)
    waiting = [
        f
        for f in await media_index.files(harness.db, library.id)
        if f["path"].endswith("Interview.mkv")
    ]
    assert [f["item_id"] for f in waiting] == [None]
    touch(root, "Delta (2004)/Season 01/Delta - S01E01.mkv")
    await harness.scan(library.id)
    by_id = {r["id"]: r for r in await media_index.items(harness.db, library.id)}
    linked = [
        f
        for f in await media_index.files(harness.db, library.id)
        if f["path"].endswith("Interview.mkv")
    ]
    assert linked[0]["item_id"] is not None and by_id[linked[0]["item_id"]]["title"] == "Delta"
