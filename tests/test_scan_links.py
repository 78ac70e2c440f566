"""Symbolic links in a library: followed only while they stay inside its root, loops caught, a
link out of the library reported as a scan error, and everything indexed streams (issue 19,
item 5)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.api.stream import locate
from appliance.errors import NotFound, Unavailable
from store import libraries, media_index
from store.db import Database
from store.media_stream import StreamFileRow
from store.sql import sql
from tests.scankit import ScanHarness, running_pipeline, touch

FOLDER_PROBLEMS = sql("SELECT path, error FROM folders WHERE library_id = $1 AND error IS NOT NULL")


@pytest.fixture
async def harness(db: Database) -> AsyncIterator[ScanHarness]:
    async with running_pipeline(db) as pipeline:
        yield pipeline


def rel(path: str, root: str | Path) -> str:
    return os.path.relpath(path, root)


async def indexed(harness: ScanHarness, library: libraries.Library) -> dict[str, bool]:
    """Indexed path relative to the root → whether it streams (the stream route's check)."""
    root = library.roots[0]
    out = {}
    for row in await media_index.files(harness.db, library.id):
        try:
            locate(
                StreamFileRow(
                    id=row["id"],
                    library_id=library.id,
                    path=row["path"],
                    size_bytes=0,
                    mtime_ns=0,
                    present=True,
                    item_id=row["item_id"],
                    subtitles=None,
                    container=None,
                    roots=list(library.roots),
                ),
                row["path"],
            )
            streams = True
        except (NotFound, Unavailable):
            streams = False
        out[rel(row["path"], root)] = streams
    return out


async def test_links_inside_the_root_index_each_film_once_and_stream(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Heat (1995)/Heat (1995).mkv")
    (root / "Favourites").mkdir()
    (root / "Favourites" / "Heat").symlink_to(root / "Heat (1995)")  # walked anyway
    (root / "Heat again (1995).mkv").symlink_to(root / "Heat (1995)" / "Heat (1995).mkv")
    touch(root, ".store/Odd (2011)/Odd (2011).mkv")  # hidden: reached only through the link
    (root / "Odd (2011)").symlink_to(root / ".store" / "Odd (2011)")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    scan = await harness.scan(library.id)
    assert await indexed(harness, library) == {
        "Heat (1995)/Heat (1995).mkv": True,
        "Odd (2011)/Odd (2011).mkv": True,
    }
    assert scan.errors == 0
    assert [i[1] for i in await harness.items(library.id)] == ["Heat", "Odd"]


async def test_a_symlink_loop_is_walked_once_and_reported(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    touch(root, "Up (2009)/Up (2009).mkv")
    (root / "Up (2009)" / "again").symlink_to(root)
    # a loop through two links into hidden folders, which are followed
    touch(root, ".a/Alpha (2001)/Alpha (2001).mkv")
    (root / ".b").mkdir()
    (root / ".a" / "Alpha (2001)" / "to b").symlink_to(root / ".b")
    (root / ".b" / "to a").symlink_to(root / ".a")
    (root / "Shelf").symlink_to(root / ".a")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    scan = await harness.scan(library.id)
    files = await indexed(harness, library)
    assert files == {
        "Up (2009)/Up (2009).mkv": True,
        "Shelf/Alpha (2001)/Alpha (2001).mkv": True,
    }
    problems = dict(
        (rel(p, root), text) for p, text in await harness.db.fetch(FOLDER_PROBLEMS, library.id)
    )
    assert problems["Up (2009)"] == "symlink loop skipped: again"
    assert problems["Shelf/Alpha (2001)/to b"] == "symlink loop skipped: to a"
    assert scan.errors == 2


async def test_links_out_of_the_root_are_scan_errors_not_items(
    harness: ScanHarness, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    outside = tmp_path / "elsewhere"
    touch(outside, "Secret (2000)/Secret (2000).mkv")
    touch(outside, "Loose (2002).mkv")
    touch(root, "Heat (1995)/Heat (1995).mkv")
    (root / "Secret (2000)").symlink_to(outside / "Secret (2000)")
    (root / "Heat (1995)" / "Loose (2002).mkv").symlink_to(outside / "Loose (2002).mkv")
    library = await libraries.create(harness.db, "Films", "movies", [str(root)])
    scan = await harness.scan(library.id)
    assert await indexed(harness, library) == {"Heat (1995)/Heat (1995).mkv": True}
    assert [i[1] for i in await harness.items(library.id)] == ["Heat"]
    problems = dict(
        (rel(p, root), text) for p, text in await harness.db.fetch(FOLDER_PROBLEMS, library.id)
    )
    assert problems == {
        ".": "symlink leads outside the library root, not indexed: "
        f"{root}/Secret (2000) -> {outside}/Secret (2000)",
        "Heat (1995)": "symlink leads outside the library root, not indexed: "
        f"{root}/Heat (1995)/Loose (2002).mkv -> {outside}/Loose (2002).mkv",
    }
    assert scan.errors == 2
