"""WorkloadBudget: how many jobs of each kind of work may run at once.

Walking folders is I/O bound, analysis (ffprobe) is CPU bound, metadata and images wait on the
network: one global concurrency limit would let a flood of one kind block the others, so each
workload gets its own tokens, sized from the CPU count (a Pi 4 has 4 cores) and configurable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum

import trio

from appliance.config import ScanSection as ScanSettings


class Workload(StrEnum):
    SCAN = "scan"
    ANALYSIS = "analysis"
    METADATA = "metadata"
    IMAGES = "images"


def default_limits(cpus: int | None = None) -> dict[Workload, int]:
    n = max(1, cpus or os.cpu_count() or 1)
    return {
        Workload.SCAN: max(2, n),
        Workload.ANALYSIS: max(1, n // 2),
        Workload.METADATA: 4,
        Workload.IMAGES: 4,
    }


def workload_limits(settings: ScanSettings) -> dict[Workload, int]:
    """Defaults from the CPU count, with the walk/analysis sizes the config overrides."""
    limits = default_limits()
    if settings.scan_workers:
        limits[Workload.SCAN] = settings.scan_workers
    if settings.analysis_workers:
        limits[Workload.ANALYSIS] = settings.analysis_workers
    return limits


class WorkloadBudget:
    def __init__(self, limits: Mapping[Workload, int] | None = None) -> None:
        self.limits = dict(limits or default_limits())
        self.in_use = dict.fromkeys(self.limits, 0)
        self._freed = trio.Event()

    def available(self, workload: Workload) -> bool:
        return self.in_use[workload] < self.limits[workload]

    def try_acquire(self, workload: Workload) -> bool:
        if not self.available(workload):
            return False
        self.in_use[workload] += 1
        return True

    def release(self, workload: Workload) -> None:
        assert self.in_use[workload] > 0
        self.in_use[workload] -= 1
        self._freed.set()
        self._freed = trio.Event()

    async def wait_for_release(self) -> None:
        await self._freed.wait()
