"""The analysis worker pool: a crash, a hang or a kill in a worker fails (or retries) that file
only, the rest are analysed, the pool keeps working, and a scan records the crash on the file.

The misbehaving probes (tests/analyze_faults.py) stand in for libav crashing on a damaged file:
a real segfault (``ctypes.string_at(0)``) in the real worker process, then the real libav
analysis for every other file."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from appliance.scan.analyze import AnalysisFailed
from appliance.scan.analyzers import Analyzers
from appliance.scan.pipeline import PipelineSettings
from store import libraries, media_index, scans
from store.db import Database
from sync.media_info import MediaInfo
from tests.analyze_faults import crash_on_marked, hang_on_marked, wait_to_be_killed_once
from tests.scankit import running_pipeline

if TYPE_CHECKING:  # imported by pytest as a plugin; importing it first defeats assert rewriting
    from tests.media_fixtures import MediaFiles

pytest_plugins = ["tests.media_fixtures"]


async def _analyze_all(pool: Analyzers, paths: list[Path]) -> dict[str, MediaInfo | str]:
    """Every path at once; each maps to its MediaInfo or its error code."""
    results: dict[str, MediaInfo | str] = {}

    async def one(path: Path) -> None:
        try:
            results[path.name] = await pool.analyze(path)
        except AnalysisFailed as exc:
            results[path.name] = f"{exc.code}: {exc.reason}"

    async with trio.open_nursery() as nursery:
        for path in paths:
            nursery.start_soon(one, path)
    return results


async def test_a_segfault_fails_only_that_file(media_files: MediaFiles, tmp_path: Path) -> None:
    crash = tmp_path / "crash-me.mkv"
    shutil.copy(media_files.multi_mkv, crash)
    pool = Analyzers(2, probe=crash_on_marked)
    async with pool.open():
        results = await _analyze_all(
            pool, [media_files.sdr_mp4, crash, media_files.hdr10_mkv, media_files.hlg_mkv]
        )
        error = results.pop("crash-me.mkv")
        assert isinstance(error, str) and error.startswith("crashed:")
        assert "SIGSEGV" in error
        assert {
            name: info.video.hdr
            for name, info in results.items()  # type: ignore[union-attr]
        } == {"sdr.mp4": "SDR", "hdr10.mkv": "HDR10", "hlg.mkv": "HLG"}
        # the pool replaced its dead workers
        again = await pool.analyze(media_files.multi_mkv)
        assert again.video is not None and again.video.codec == "h264"


async def test_a_worker_killed_mid_analysis_is_retried_in_a_fresh_one(
    media_files: MediaFiles, tmp_path: Path
) -> None:
    path = tmp_path / "Film (2001).mkv"
    shutil.copy(media_files.multi_mkv, path)
    marker = trio.Path(f"{path}.pid")
    pool = Analyzers(1, probe=wait_to_be_killed_once)
    async with pool.open(), trio.open_nursery() as nursery:

        async def kill_when_busy() -> None:
            while not await marker.exists() or not await marker.read_text():
                await trio.sleep(0.02)
            os.kill(int(await marker.read_text()), signal.SIGKILL)  # the OOM killer, say

        nursery.start_soon(kill_when_busy)
        with trio.fail_after(30):
            info = await pool.analyze(path)
    assert info.video is not None and info.audio[1].language == "ger", "nothing lost"


async def test_a_hung_worker_is_killed_at_the_deadline(
    media_files: MediaFiles, tmp_path: Path
) -> None:
    hang = tmp_path / "hang-me.mp4"
    shutil.copy(media_files.sdr_mp4, hang)
    pool = Analyzers(1, probe=hang_on_marked)
    async with pool.open():
        await pool.analyze(media_files.sdr_mp4)  # a started worker: the deadline is the hang's
        pool.timeout = 1.5
        started = time.monotonic()
        with pytest.raises(AnalysisFailed) as caught:
            await pool.analyze(hang)
        assert caught.value.code == "timeout"
        assert time.monotonic() - started < 5
        # the next file gets a fresh worker (spawn + imports take seconds on a loaded machine)
        pool.timeout = 60
        assert (await pool.analyze(media_files.sdr_mp4)).video is not None


async def test_a_scan_records_the_crash_on_the_file_and_analyses_the_rest(
    db: Database, media_files: MediaFiles, tmp_path: Path
) -> None:
    root = tmp_path / "films"
    root.mkdir()
    for name, source in [
        ("Heat (1995).mp4", media_files.sdr_mp4),
        ("crash-me (2001).mkv", media_files.multi_mkv),
        ("Arrival (2016).mkv", media_files.hdr10_mkv),
    ]:
        shutil.copy(source, root / name)
    library = await libraries.create(db, "Films", "movies", [str(root)])
    pool = Analyzers(2, probe=crash_on_marked)
    async with running_pipeline(db, PipelineSettings(analyze=True), analyzers=pool) as harness:
        scan = await harness.scan(library.id)
    files = {
        Path(r["path"]).name: (r["analyzed"], r["analysis_error"])
        for r in await media_index.files(db, library.id)
    }
    crashed = files.pop("crash-me (2001).mkv")
    assert crashed[0] is False and (crashed[1] or "").startswith("crashed:")
    assert files == {"Heat (1995).mp4": (True, None), "Arrival (2016).mkv": (True, None)}
    assert scan.state == "completed"
    counts = await scans.job_counts(db, scan.id)
    assert counts.get("failed", 0) == 0 and counts.get("dead_letter", 0) == 0


def test_the_appliance_process_does_not_load_libav() -> None:
    """Only the workers import PyAV: a crash in libav can then never be the appliance's."""
    import subprocess
    import sys

    code = (
        "import sys; import appliance.scan.runtime, appliance.scan.media_analyze; "
        "print('av' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
