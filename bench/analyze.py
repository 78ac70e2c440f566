"""``analyze``: media analysis throughput (files/s), libav in worker processes against ffprobe.

The files are the test fixtures (``tests.media_fixtures.generate``: H.264/AAC MP4, HDR10,
HLG and Dolby Vision HEVC, a multi-track MKV with sidecars), made once in a temp dir. Each
round times, in alternating order (ABBA), on those same files:

- **ffprobe -version (baseline)**: spawning ffprobe and waiting for it, through the same
  ``trio.run_process``; the floor for any per-file subprocess design on this machine.
- **ffprobe, sequential**: ``appliance.scan.analyze.analyze`` over the mix, one at a time
  (PQ files cost a second ffprobe call for their first frame): the path MediaAnalyze took
  before issue 19.
- **libav, sequential**: ``Analyzers.analyze`` (PyAV in one worker process, started before the
  rounds as the appliance keeps it), one at a time: what MediaAnalyze does now.
- **ffprobe / libav, N tasks**: the same with as many concurrent analyses (and, for libav,
  worker processes) as CPUs, which is how the analysis workload budget runs them.

Ratios are per round, then the median: libav files/s over ffprobe files/s. libav rounds analyse
``LIBAV_FACTOR`` times as many files, so that each timing lasts long enough to measure.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import trio

from appliance.scan.analyze import analyze
from appliance.scan.analyzers import Analyzers
from bench.common import BenchError, Figure, Result, make_temp_dir, median
from tests.media_fixtures import generate

LIBAV_FACTOR = 10


@dataclass(frozen=True)
class Params:
    rounds: int
    files: int = 20  # ffprobe analyses (and baseline spawns) per mode per round


async def _spawn_version() -> None:
    await trio.run_process(["ffprobe", "-version"], capture_stdout=True)


async def _timed(count: int, concurrency: int, job: Callable[[int], Awaitable[None]]) -> float:
    """Items per second for ``count`` calls of ``job``, ``concurrency`` at a time."""
    limiter = trio.CapacityLimiter(concurrency)

    async def one(index: int) -> None:
        async with limiter:
            await job(index)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(count):
            nursery.start_soon(one, index)
    return count / (time.perf_counter() - started)


def _libav_job(pool: Analyzers, files: list[Path]) -> Callable[[int], Awaitable[None]]:
    async def one(index: int) -> None:
        await pool.analyze(files[index % len(files)])

    return one


async def _round(
    params: Params,
    files: list[Path],
    pools: dict[str, Analyzers],
    flip: bool,
    samples: dict[str, list[float]],
) -> None:
    tasks = os.cpu_count() or 1

    async def probe(index: int) -> None:
        await analyze(files[index % len(files)])

    async def spawn(index: int) -> None:
        await _spawn_version()

    many = params.files * LIBAV_FACTOR
    modes: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        ("baseline", lambda: _timed(params.files, 1, spawn)),
        ("sequential", lambda: _timed(params.files, 1, probe)),
        ("libav_sequential", lambda: _timed(many, 1, _libav_job(pools["one"], files))),
        ("concurrent", lambda: _timed(params.files, tasks, probe)),
        ("libav_concurrent", lambda: _timed(many, tasks, _libav_job(pools["all"], files))),
    ]
    for name, measure in reversed(modes) if flip else modes:
        samples[name].append(await measure())


def run(params: Params) -> Result:
    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        raise BenchError("ffmpeg not found (apt-get install ffmpeg)")
    tasks = os.cpu_count() or 1
    if not Analyzers().in_process:
        raise BenchError("PyAV not installed (pip install -e '.[appliance]')")
    tmp = make_temp_dir()
    try:
        media = generate(tmp)
        files = [media.sdr_mp4, media.hdr10_mkv, media.hlg_mkv, media.dv_mp4, media.multi_mkv]
        samples: dict[str, list[float]] = {
            name: []
            for name in (
                "baseline",
                "sequential",
                "libav_sequential",
                "concurrent",
                "libav_concurrent",
            )
        }

        async def main() -> None:
            pools = {"one": Analyzers(1), "all": Analyzers(tasks)}
            async with pools["one"].open(), pools["all"].open():
                # warm the page cache, the ffprobe binary and every worker process
                for path in files:
                    await analyze(path)
                    await pools["one"].analyze(path)
                await _timed(2 * tasks, tasks, _libav_job(pools["all"], files))
                for number in range(params.rounds):
                    await _round(params, files, pools, number % 2 == 1, samples)

        trio.run(main)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def ratio(over: str, under: str) -> float:
        return median([a / b for a, b in zip(samples[over], samples[under], strict=True)])

    figures = [
        Figure("ffprobe -version spawns (baseline)", median(samples["baseline"]), "files/s"),
        Figure("ffprobe, sequential", median(samples["sequential"]), "files/s"),
        Figure("libav, sequential", median(samples["libav_sequential"]), "files/s"),
        Figure("sequential: libav / ffprobe", ratio("libav_sequential", "sequential"), "x"),
        Figure(f"ffprobe, {tasks} tasks", median(samples["concurrent"]), "files/s"),
        Figure(f"libav, {tasks} tasks", median(samples["libav_concurrent"]), "files/s"),
        Figure(f"{tasks} tasks: libav / ffprobe", ratio("libav_concurrent", "concurrent"), "x"),
        Figure("sequential: ffprobe / spawn", ratio("sequential", "baseline"), "x"),
    ]
    summary = (
        f"{params.rounds} rounds x {params.files} files (libav {LIBAV_FACTOR}x as many) "
        f"over {len(files)} fixtures (SDR, HDR10, HLG, DV, multi-track)"
    )
    return Result(
        "analyze",
        summary,
        figures,
        {
            "rounds": params.rounds,
            "files": params.files,
            "libav_factor": LIBAV_FACTOR,
            "tasks": tasks,
        },
        samples,
    )
