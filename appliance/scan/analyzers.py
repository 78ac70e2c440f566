"""Where media analysis runs: libav (PyAV) in worker processes beside the appliance.

Why not ffprobe per file: a process start costs ~80 ms on the dev machine, most of an
analysis (7.8 files/s in ``bench analyze``: an hour for a 30k library on two cores), while
reading a container's headers in-process costs a few ms. ``appliance.scan.libav_probe`` builds
ffprobe's own document from libav, so the answers are the same (``tests/
test_analyze_differential.py``).

Why processes, not threads of the appliance: libav is C; a demuxer or decoder that crashes on a
broken file (a segfault, an abort) would take the appliance down with it, and a hung one could
not be stopped. In a worker it takes the worker: trio-parallel raises ``BrokenWorkerError`` and
starts a fresh one next time, and the file is tried once more in a new worker (a worker killed
from outside, by the OOM killer or a stray ``kill``, must not cost a file its analysis). A
second death on the same file is that file's ``crashed`` analysis error, recorded on it like any
other, and the scan goes on. A worker still busy at the deadline is killed (``kill_on_cancel``)
and the file gets ``timeout``; the deadline includes starting a worker where none is idle
(0.3-2 s: an interpreter, PyAV's import).

Workers: as many as analyses run at once (the ``analysis`` workload budget), spawned on first use
and kept while the block lasts, each leaving after ``IDLE_SECONDS`` without work (about 35 MB
each with libav loaded) and after ``libav_probe.RETIRE_AFTER`` files (whatever libav leaks on
odd files cannot grow for ever). The appliance process itself never imports PyAV. Not opened
(tests, tools), the analyses run in trio-parallel's default worker pool.

Without PyAV (a checkout without the ``appliance`` extra's ``av``): ffprobe per file, as before.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import trio
import trio_parallel

from appliance.scan.analyze import AnalysisFailed, analyze
from appliance.scan.worker_pool import worker_pool
from sync.media_info import AnalysisError, MediaInfo

log = logging.getLogger(__name__)

Probe = Callable[[str], "MediaInfo | AnalysisError"]
"""A worker-side function: absolute path (``os.fsdecode``) → result or error, never raising."""

DEFAULT_TIMEOUT = 30.0
IDLE_SECONDS = 300.0
ATTEMPTS = 2
"""A file is tried in a second, fresh worker after its first worker died."""


def have_pyav() -> bool:
    return importlib.util.find_spec("av") is not None


def libav_analyze(path: str) -> MediaInfo | AnalysisError:
    """The default probe, run in a worker (imported there: the appliance process stays free
    of libav)."""
    from appliance.scan import libav_probe

    return libav_probe.analyze_file(path)


def init_worker() -> None:
    """A worker's first act: ignore SIGTERM as the walk workers do
    (``walking.ignore_stop_signals``: the appliance closes its workers itself), then set up
    libav's logging."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if have_pyav():
        from appliance.scan import libav_probe

        libav_probe.init_worker()


def retire_worker() -> bool:
    from appliance.scan import libav_probe

    return libav_probe.count_file()


def _death(error: trio_parallel.BrokenWorkerError) -> str:
    """How the worker died, from the process trio-parallel attaches to the error."""
    code = getattr(error.args[-1] if error.args else None, "exitcode", None)
    if isinstance(code, int) and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}" if isinstance(code, int) else str(error)


class Analyzers:
    def __init__(
        self, processes: int = 1, *, timeout: float = DEFAULT_TIMEOUT, probe: Probe | None = None
    ) -> None:
        """``processes``: analyses at once (the workload budget's ``analysis`` limit);
        ``probe``: what runs in the worker (tests pass one that crashes); None: libav when
        PyAV is installed, else ffprobe in this process."""
        self.processes = max(1, processes)
        self.timeout = timeout
        self.probe: Probe | None = probe or (libav_analyze if have_pyav() else None)
        self._context: trio_parallel.WorkerContext | None = None
        self._limiter = trio.CapacityLimiter(self.processes)

    @property
    def in_process(self) -> bool:
        """Whether files are read in-process by libav (else by an ffprobe per file)."""
        return self.probe is not None

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Analyzers]:
        """A pool of worker processes for the life of the block (spawned on first use)."""
        if self.probe is None:
            yield self
            return
        async with worker_pool(
            "analysis", idle_timeout=IDLE_SECONDS, init=init_worker, retire=retire_worker
        ) as context:
            self._context = context
            try:
                yield self
            finally:
                self._context = None

    async def _run(self, probe: Probe, path: str) -> MediaInfo | AnalysisError:
        # kill_on_cancel: a deadline or a cancelled job need not wait for a worker stuck in
        # libav; the pool starts a fresh one next time
        if self._context is not None:
            result: MediaInfo | AnalysisError = await self._context.run_sync(
                probe, path, limiter=self._limiter, kill_on_cancel=True
            )
        else:
            result = await trio_parallel.run_sync(
                probe, path, limiter=self._limiter, kill_on_cancel=True
            )
        return result

    async def analyze(self, path: Path) -> MediaInfo:
        """Analyse one file; ``AnalysisFailed`` for anything wrong with it, as
        ``analyze.analyze`` raises, plus ``crashed``."""
        if self.probe is None:
            return await analyze(path, timeout=self.timeout)
        death = ""
        for attempt in range(1, ATTEMPTS + 1):
            with trio.move_on_after(self.timeout) as deadline:
                try:
                    result = await self._run(self.probe, os.fsdecode(path))
                except trio_parallel.BrokenWorkerError as exc:
                    death = _death(exc)
                    log.warning(
                        "analysis worker died",
                        extra={"path": os.fsdecode(path), "attempt": attempt, "how": death},
                    )
                    continue
            if deadline.cancelled_caught:
                raise AnalysisFailed(
                    path, f"analysis took longer than {self.timeout:g} s", "timeout"
                )
            if isinstance(result, AnalysisError):
                raise AnalysisFailed(
                    path, result.reason or "analysis failed", result.code or "analysis_failed"
                )
            return result
        raise AnalysisFailed(
            path,
            f"the analysis process died reading this file ({death}), {ATTEMPTS} times: "
            "a damaged file, or one that crashes libav",
            "crashed",
        )
