"""Where folder walks run: worker processes beside the trio process, or a thread.

A walk is Python CPU work; in a thread of the appliance process it shares one GIL with the
trio loop (API requests, the dispatcher) and with every other walk, and two walks in two
threads were measured 40 % slower than the same walks one after the other. In worker processes
(trio-parallel: a cached pool of spawned workers, cancellable, no stray processes once the
appliance's nursery closes) each walk gets a core of its own, and one library's walk is split
over them: a root's listing first, then what it holds in round-robin parts, one per process; a
continuation chunk of thousands of folders is split at once.

With ``processes == 0`` (one core, or the config says so) walks run in a trio worker thread,
unsplit, exactly as before.

Workers are started by the first walk and leave after ``idle_seconds`` without one
(``scan.worker_idle_seconds``): an idle appliance on a small board should not hold 30 MB per
worker for a scan that may come tomorrow. ``idle_seconds == 0`` keeps them for the life of the
block, started with it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial

import trio
import trio_parallel

from appliance.scan import walking
from appliance.scan.walking import Walk, WalkSpec
from appliance.scan.worker_pool import worker_pool

log = logging.getLogger(__name__)

MIN_FOLDERS_PER_PART = 32
"""Below this many pending folders per process a split costs more (a pipe round trip, the
fingerprints decoded again) than it saves."""


def default_processes(cpus: int | None = None) -> int:
    """Two where this process may run on two cores or more, none on a single core (a worker
    would only compete with the appliance for it). Not more by default: each costs 35-40 MB,
    and on a home server's one disk more walks at once mostly add seeks."""
    n = cpus or len(os.sched_getaffinity(0)) or 1
    return 0 if n < 2 else 2


class Walkers:
    def __init__(self, processes: int = 0, idle_seconds: float = 0.0) -> None:
        """``processes``: as ``scan.walk_processes`` (-1: :func:`default_processes`);
        ``idle_seconds``: as ``scan.worker_idle_seconds`` (0: never retired)."""
        self.processes = default_processes() if processes < 0 else processes
        self.idle_seconds = idle_seconds if idle_seconds > 0 else math.inf
        self._context: trio_parallel.WorkerContext | None = None
        self._limiter = trio.CapacityLimiter(max(1, self.processes))

    @property
    def in_processes(self) -> bool:
        return self._context is not None

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Walkers]:
        """Worker processes for the life of the block (started on first use, kept while it
        lasts); without processes, nothing to open."""
        if self.processes == 0:
            yield self
            return
        async with worker_pool(
            "walk", idle_timeout=self.idle_seconds, init=walking.ignore_stop_signals
        ) as context:
            self._context = context
            try:
                yield self
            finally:
                self._context = None

    async def warm_up(self) -> None:
        """Start every worker now (about 0.15 s each: an interpreter and the walk's imports),
        so the first scan after the appliance starts does not wait for them. Only when they
        are kept for ever: retired workers are started on demand, by the walk itself."""
        if self._context is None or self.idle_seconds != math.inf:
            return
        context = self._context
        async with trio.open_nursery() as nursery:
            for _ in range(self.processes):
                nursery.start_soon(partial(context.run_sync, os.getpid, limiter=self._limiter))

    async def _run(self, spec: WalkSpec) -> Walk:
        if self._context is None:
            return await trio.to_thread.run_sync(walking.run, spec)
        # kill_on_cancel: a walk only reads, so a cancelled job (lease lost, scan cancelled)
        # need not wait for it; the pool starts a fresh worker next time
        walked: Walk = await self._context.run_sync(
            walking.run, spec, limiter=self._limiter, kill_on_cancel=True
        )
        return walked

    async def walk(self, spec: WalkSpec) -> Walk:
        if self._context is None or self.processes < 2:
            return await self._run(spec)
        if not spec.start_is_root and len(spec.folders) >= 2 * MIN_FOLDERS_PER_PART:
            # a continuation chunk of thousands of folders: split those at once
            return await self._split(spec, spec.folders, Walk([], []))
        first = await self._run(replace(spec, max_folders=len(spec.folders)))
        return await self._split(spec, first.pending, first)

    async def _split(self, spec: WalkSpec, folders: list[str], done: Walk) -> Walk:
        """Walk ``folders`` in round-robin parts, one per process, each with its share of what
        ``done`` left of the budgets; merged after ``done``."""
        budget = (
            spec.max_folders - done.folders,
            spec.max_files - done.files,
            spec.max_changed - done.changed_files,
        )
        if not folders or min(budget) <= 0:
            return done
        parts = min(self.processes, len(folders) // MIN_FOLDERS_PER_PART) or 1
        max_folders, max_files, max_changed = (max(1, -(-b // parts)) for b in budget)
        specs = [
            replace(
                spec,
                folders=folders[i::parts],
                start_is_root=False,
                max_folders=max_folders,
                max_files=max_files,
                max_changed=max_changed,
            )
            for i in range(parts)
        ]
        results: list[Walk | None] = [None] * parts

        async def one(index: int) -> None:
            results[index] = await self._run(specs[index])

        async with trio.open_nursery() as nursery:
            for index in range(parts):
                nursery.start_soon(one, index)
        merged = Walk(done.listings, [], done.folders, done.files, done.changed_files)
        for result in results:
            assert result is not None
            merged.listings += result.listings
            merged.pending += result.pending
            merged.folders += result.folders
            merged.files += result.files
            merged.changed_files += result.changed_files
        return merged
