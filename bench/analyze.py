"""``analyze``: media analysis throughput (files/s) against a bare ffprobe spawn rate.

The files are the test fixtures (``tests.media_fixtures.generate``: H.264/AAC MP4, HDR10,
HLG and Dolby Vision HEVC, a multi-track MKV with sidecars), made once in a temp dir. Each
round times, in alternating order (ABBA):

- **ffprobe -version (baseline)**: spawning ffprobe and waiting for it, through the same
  ``trio.run_process``; the floor for any per-file subprocess design on this machine.
- **analyze, sequential**: ``appliance.scan.analyze.analyze`` over the mix, one at a time
  (PQ files cost a second ffprobe call for their first frame).
- **analyze, N tasks**: the same with as many concurrent analyses as CPUs, which is how the
  analysis workload budget runs it.

Ratios are files/s over spawns/s: 1.0 would mean analysis costs no more than starting ffprobe.
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
from bench.common import BenchError, Figure, Result, make_temp_dir, median
from tests.media_fixtures import generate


@dataclass(frozen=True)
class Params:
    rounds: int
    files: int = 20  # analyses (and baseline spawns) per mode per round


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


async def _round(params: Params, files: list[Path], flip: bool,
                 samples: dict[str, list[float]]) -> None:
    tasks = os.cpu_count() or 1

    async def probe(index: int) -> None:
        await analyze(files[index % len(files)])

    async def spawn(index: int) -> None:
        await _spawn_version()

    modes: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        ("baseline", lambda: _timed(params.files, 1, spawn)),
        ("sequential", lambda: _timed(params.files, 1, probe)),
        ("concurrent", lambda: _timed(params.files, tasks, probe)),
    ]
    for name, measure in reversed(modes) if flip else modes:
        samples[name].append(await measure())


def run(params: Params) -> Result:
    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        raise BenchError("ffmpeg not found (apt-get install ffmpeg)")
    tmp = make_temp_dir()
    try:
        media = generate(tmp)
        files = [media.sdr_mp4, media.hdr10_mkv, media.hlg_mkv, media.dv_mp4, media.multi_mkv]
        samples: dict[str, list[float]] = {"baseline": [], "sequential": [], "concurrent": []}

        async def main() -> None:
            for path in files:  # warm the page cache and the ffprobe binary
                await analyze(path)
            for number in range(params.rounds):
                await _round(params, files, number % 2 == 1, samples)

        trio.run(main)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tasks = os.cpu_count() or 1
    base = samples["baseline"]
    figures = [
        Figure("ffprobe -version spawns (baseline)", median(base), "files/s"),
        Figure("analyze, sequential", median(samples["sequential"]), "files/s"),
        Figure("analyze / spawn, sequential",
               median([a / b for a, b in zip(samples["sequential"], base, strict=True)]), "x"),
        Figure(f"analyze, {tasks} tasks", median(samples["concurrent"]), "files/s"),
        Figure(f"analyze / spawn, {tasks} tasks",
               median([a / b for a, b in zip(samples["concurrent"], base, strict=True)]), "x"),
    ]
    summary = (f"{params.rounds} rounds x {params.files} files over {len(files)} fixtures "
               f"(SDR, HDR10, HLG, DV, multi-track)")
    return Result("analyze", summary, figures, {"rounds": params.rounds, "files": params.files,
                                                "tasks": tasks}, samples)
