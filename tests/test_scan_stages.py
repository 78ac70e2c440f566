"""The stages after FolderScan on a first scan (issue 19, item 2): without a remote metadata
provider (no TMDB key), only items next to an NFO or artwork go to MetadataEnrich, only items
with artwork to ImageFetch, and the rest are marked tried in the batch's own transaction. That
is what turned 612 enrich and 612 image jobs for a 30k-file first scan into a handful."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import msgspec
import pytest
from PIL import Image

from appliance.metadata.enrich import MetadataSettings
from appliance.scan import folder_scan
from appliance.scan.pipeline import PipelineSettings
from store import libraries
from store.db import Database
from store.sql import sql
from tests.scankit import running_pipeline, touch

JOBS = sql("SELECT kind, payload::text AS payload FROM jobs ORDER BY id")
ITEMS = sql("SELECT id, kind, title, metadata_source, metadata_at FROM media_items")


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 90), (20, 120, 20)).save(out, "JPEG")
    return out.getvalue()


async def test_without_tmdb_only_items_next_to_sidecars_are_enriched(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small batches: the show folder (with its NFO and poster) is listed by one FolderScan job
    # and its season's episodes are indexed by a later one
    monkeypatch.setattr(folder_scan, "MAX_CHANGED_FILES_PER_JOB", 3)
    films = tmp_path / "films"
    touch(films, "Described (2001)/Described (2001).mkv")
    touch(
        films,
        "Described (2001)/movie.nfo",
        b"<movie><title>Described</title><plot>From the NFO.</plot></movie>",
    )
    touch(films, "Described (2001)/poster.jpg", jpeg())
    for n in range(6):
        touch(films, f"Bare {n} (2002)/Bare {n} (2002).mkv")
    shows = tmp_path / "shows"
    touch(
        shows,
        "Told (2010)/tvshow.nfo",
        b"<tvshow><title>Told</title><plot>A show with an NFO.</plot></tvshow>",
    )
    touch(shows, "Told (2010)/poster.jpg", jpeg())
    for e in range(1, 5):
        touch(shows, f"Told (2010)/Season 01/Told - S01E0{e}.mkv")
        touch(shows, f"Plain (2011)/Season 01/Plain - S01E0{e}.mkv")

    settings = PipelineSettings(
        analyze=False, metadata=MetadataSettings(data_dir=tmp_path / "data")
    )
    async with running_pipeline(db, settings) as harness:
        for name, kind, root in (("Films", "movies", films), ("Shows", "series", shows)):
            library = await libraries.create(db, name, kind, [str(root)])
            await harness.scan(library.id)

    items = {r["id"]: r for r in await db.fetch(ITEMS)}
    jobs = [(r["kind"], msgspec.json.decode(r["payload"])) for r in await db.fetch(JOBS)]

    def named(kind: str) -> set[tuple[str, str]]:
        return {
            (items[uuid.UUID(i)]["kind"], items[uuid.UUID(i)]["title"])
            for k, payload in jobs
            if k == kind
            for i in payload["item_ids"]
        }

    assert named("metadata_enrich") == {
        ("movie", "Described"),
        ("series", "Told"),
        ("season", "Season 1"),
    }
    assert named("image_fetch") == {("movie", "Described"), ("series", "Told")}
    scans = sum(1 for k, _ in jobs if k == "folder_scan")
    assert scans > 2, "the test needs several batches"
    assert sum(1 for k, _ in jobs if k == "metadata_enrich") <= 2  # one per batch with any
    described = {(r["kind"], r["title"]) for r in items.values() if r["metadata_source"]}
    assert described == {("movie", "Described"), ("series", "Told")}
    # everything else was tried (a later scan retries it, as before) without a job
    assert all(r["metadata_at"] is not None for r in items.values()), [
        (r["kind"], r["title"]) for r in items.values() if r["metadata_at"] is None
    ]
    assert sum(1 for r in items.values() if r["kind"] == "episode") == 8
