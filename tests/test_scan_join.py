"""One scan per library: a start while one runs joins it (one set of counts), and the scan
record counts analysis errors (issue 19, item 4)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from appliance.redis_client import RedisClient
from appliance.scan.pipeline import PipelineSettings
from store import libraries, scans
from store.db import Database
from tests.authkit import Harness
from tests.scankit import ScanHarness, running_pipeline, scans_api, touch


def films(tmp_path: Path) -> Path:
    root = tmp_path / "films"
    for n in range(10):
        touch(root, f"Film {n} ({2000 + n})/Film {n} ({2000 + n}).mkv")
    touch(root, "Loose (1999).mkv")
    return root  # 11 files in 11 folders (the root and 10 film folders)


async def walked_not_finished(db: Database, scan_id: uuid.UUID) -> None:
    """Until the root's walk has completed; the scan stays running since nothing calls the
    tracker (which is what marks a scan completed)."""
    with trio.fail_after(30):
        while (await scans.job_counts(db, scan_id)) != {"completed": 1}:
            await trio.sleep(0.02)


async def finished(pipeline: ScanHarness, scan_id: uuid.UUID) -> scans.Scan:
    with trio.fail_after(60):
        while True:
            await pipeline.service.track_once()
            current = await scans.get(pipeline.db, scan_id)
            assert current is not None
            if current.state == "completed":
                return current
            await trio.sleep(0.05)


@pytest.fixture
async def pipeline(db: Database) -> AsyncIterator[ScanHarness]:
    async with running_pipeline(db) as harness:
        yield harness


async def test_a_scan_started_during_the_first_joins_it_and_counts_once(
    pipeline: ScanHarness, tmp_path: Path
) -> None:
    """The README's sequence: ``library add`` (its initial scan) then ``scan NAME --wait``."""
    library = await libraries.create(pipeline.db, "Films", "movies", [str(films(tmp_path))])
    first, created = await pipeline.service.start_or_join(library.id, trigger="initial")
    assert created
    await walked_not_finished(pipeline.db, first.id)

    again, created = await pipeline.service.start_or_join(library.id, trigger="cli")
    assert (again.id, created) == (first.id, False), "joined, not a second scan"
    done = await finished(pipeline, first.id)
    assert (done.files_found, done.folders_walked, done.errors) == (11, 11, 0), (
        "one walk of the tree, not two"
    )
    assert await scans.job_counts(pipeline.db, first.id) == {"completed": 1}


async def test_the_watcher_after_lost_events_walks_again(
    pipeline: ScanHarness, tmp_path: Path
) -> None:
    library = await libraries.create(pipeline.db, "Films", "movies", [str(films(tmp_path))])
    first = await pipeline.service.start(library.id, trigger="initial")
    await walked_not_finished(pipeline.db, first.id)
    again = await pipeline.service.start(library.id, trigger="watcher: overflow", walk_again=True)
    assert again.id == first.id
    done = await finished(pipeline, first.id)
    assert done.files_found == 22, "a rescan after lost events re-reads the roots"


async def test_the_cli_follows_the_running_scan(
    pipeline: ScanHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance import admin_cli

    library = await libraries.create(pipeline.db, "Films", "movies", [str(films(tmp_path))])
    first = await pipeline.service.start(library.id, trigger="initial")
    await walked_not_finished(pipeline.db, first.id)

    class Connected:
        async def __aenter__(self) -> Database:
            return pipeline.db

        async def __aexit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(admin_cli, "connect", lambda config, location: Connected())
    out = io.StringIO()

    async def tracker() -> None:
        """The appliance's progress tracker, once the CLI has started or joined its scan (had
        it run before, the first scan could have completed under the CLI)."""
        while " of Films " not in out.getvalue():
            await trio.sleep(0.01)
        while True:
            await pipeline.service.track_once()
            await trio.sleep(0.05)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tracker)
            status = await admin_cli.scan_command(
                None, None, "Films", force=False, wait=True, out=out
            )  # type: ignore[arg-type]
            nursery.cancel_scope.cancel()
    assert status == 0
    text = out.getvalue()
    assert f"scan {first.id} of Films already running: following it" in text
    assert "scan completed: 11 files in 11 folders, 0 errors" in text


async def test_analysis_errors_count_in_the_scan(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "films"
    touch(root, "Empty (2001).mkv", b"")
    touch(root, "Text (2002).mkv", b"this is not a video\n")
    library = await libraries.create(db, "Films", "movies", [str(root)])
    async with running_pipeline(db, PipelineSettings(analyze=True)) as analysing:
        scan = await analysing.scan(library.id)
    assert scan.errors == 2, "two files carry an analysis error"


@pytest.fixture
async def api(db: Database, redis: RedisClient, tmp_path: Path) -> Harness:
    return await scans_api(db, redis, tmp_path / "data")


async def test_the_api_answers_the_running_scan_with_joined(api: Harness, tmp_path: Path) -> None:
    token = await api.token()
    added = await api.call(
        "POST",
        "/api/v1/libraries",
        {"name": "Films", "kind": "movies", "roots": [str(films(tmp_path))]},
        token=token,
    )
    assert added.status == 201, added.body
    initial = (await api.call("GET", "/api/v1/scans", token=token)).body["scans"][0]
    reply = await api.call("POST", f"/api/v1/libraries/{added.body['id']}/scan", {}, token=token)
    assert reply.status == 202, reply.body
    assert (reply.body["id"], reply.body["joined"]) == (initial["id"], True)
    assert reply.body["jobs"] == {"ready": 1}, "the queued root walk, merged"
    assert initial["joined"] is False
