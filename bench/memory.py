"""``memory``: PSS of the appliance's whole process tree, at the peak of a first scan and idle.

Issue #17's budget for a 2 GB board: the tree (appliance, Postgres and its backends, Redis, walk
workers, multiprocessing's resource tracker) at most 200 MB PSS 60 s after the first scan of a
30k-file library, and at most 400 MB at the scan's peak. The real ``ferrex-appliance serve``
runs as ``firstscan`` runs it (its :class:`~bench.firstscan.Appliance`: a fresh data dir, analysis
off, two libraries added through the API; done when no job is active). PSS is read from
``/proc/<pid>/smaps_rollup`` every 100 ms during the scan (the per-process figures kept are
those of the sample with the largest total) and once after ``idle`` seconds.

Two settings run on the same trees in the same run, alternating:

* **before**: what the appliance did until now: Postgres's stock settings with 50 connections,
  pooled connections kept 300 s (asyncpg's default), walk workers started with the appliance and
  kept, freed heap never trimmed (``memory.profile = "stock"``, ``database.pool_idle_seconds =
  300``, ``scan.worker_idle_seconds = 0``, ``memory.trim_seconds = 0``);
* **after**: the defaults with the small profile a 2 GB board gets from ``auto``.

``--memory-compare DIR`` adds a third, **earlier**: the appliance of another checkout (a git
worktree of an earlier commit) with the after settings, to tell what code changes saved.
The backend of the bench's own polling connection is not counted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import scan
from bench.common import BenchError, Figure, Result, make_temp_dir
from bench.firstscan import PSS_SECONDS, Appliance, _children, _wait_done

BEFORE = {
    "FERREX_MEMORY_PROFILE": "stock",
    "FERREX_DATABASE_POOL_IDLE_SECONDS": "300",
    "FERREX_SCAN_WORKER_IDLE_SECONDS": "0",
    "FERREX_MEMORY_TRIM_SECONDS": "0",
}
AFTER = {"FERREX_MEMORY_PROFILE": "small"}
VARIANTS = {"before": BEFORE, "after": AFTER}
ROLES = (
    "appliance",
    "postgres backends",
    "postgres server",
    "redis",
    "walk workers",
    "resource tracker",
    "other",
)


@dataclass(frozen=True)
class Params:
    files: tuple[int, ...] = (3_000, 30_000)
    idle: float = 60.0
    seed: int = 3
    compare: str | None = None


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _pss_kib(pid: int) -> int:
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def role(pid: int, root: int) -> str:
    """What a process of the tree is, from its name and command line."""
    if pid == root:
        return "appliance"
    comm = _read(f"/proc/{pid}/comm").strip()
    cmdline = _read(f"/proc/{pid}/cmdline").replace("\0", " ")
    if comm == "postgres" or cmdline.startswith("postgres"):
        # a backend's title is "postgres: USER DATABASE [local] STATE"; the postmaster's and
        # its auxiliaries' ("checkpointer", "walwriter", ...) are not
        return "postgres backends" if "[local]" in cmdline else "postgres server"
    if comm.startswith("redis"):
        return "redis"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if comm.startswith("python") or "trio_parallel" in cmdline:
        return "walk workers"
    return "other"


def tree_processes(
    root: int, exclude: set[int] | frozenset[int] = frozenset()
) -> list[tuple[int, str, int]]:
    """``(pid, role, PSS KiB)`` of ``root`` and every descendant but ``exclude``."""
    children, todo, out = _children(), [root], []
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        if pid in exclude:
            continue
        kib = _pss_kib(pid)
        if kib:
            out.append((pid, role(pid, root), kib))
    return out


@dataclass
class Snapshot:
    """The tree at one moment, by role: MiB and process count."""

    mib: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, processes: list[tuple[int, str, int]]) -> Snapshot:
        snap = cls()
        for _, name, kib in processes:
            snap.mib[name] = snap.mib.get(name, 0.0) + kib / 1024
            snap.count[name] = snap.count.get(name, 0) + 1
        return snap

    @property
    def total(self) -> float:
        return sum(self.mib.values())

    def text(self) -> str:
        return ", ".join(
            f"{name} {self.mib[name]:.0f}"
            + (f" ({self.count[name]})" if self.count[name] > 1 else "")
            for name in ROLES
            if name in self.mib
        )


class PeakSampler:
    """The sample with the largest total PSS while the block runs."""

    def __init__(self, pid: int, exclude: set[int]) -> None:
        self.pid, self.peak, self._stop = pid, Snapshot(), threading.Event()
        self.exclude = exclude
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            snap = Snapshot.of(tree_processes(self.pid, self.exclude))
            if snap.total > self.peak.total:
                self.peak = snap
            self._stop.wait(PSS_SECONDS)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measured:
    seconds: float
    started: Snapshot
    peak: Snapshot
    idle: Snapshot


def measure(
    source: Path,
    work: Path,
    libraries: list[tuple[str, str, Path]],
    env: dict[str, str],
    idle: float,
) -> Measured:
    app = Appliance(source, work / "data", {"FERREX_SCAN_ANALYZE": "false", **env})
    try:
        app.start()
        token = app.login()
        assert app.proc is not None
        time.sleep(2.0)  # the start's own work (migrations, warm-up) settled
        started_snap = Snapshot.of(tree_processes(app.proc.pid))
        exclude: set[int] = set()  # the bench's own backend
        with PeakSampler(app.proc.pid, exclude) as sampler:
            started = time.perf_counter()
            for name, kind, root in libraries:
                status, body = app.request(
                    "POST",
                    "/api/v1/libraries",
                    {"name": name, "kind": kind, "roots": [str(root)]},
                    token,
                )
                if status != 201:
                    raise BenchError(f"add library: {status} {body}")
            seconds = asyncio.run(_wait_done(app.dsn, started, exclude))
        time.sleep(idle)
        if app.proc.poll() is not None:
            raise BenchError(f"appliance exited ({app.proc.returncode}): {app.tail()}")
        return Measured(
            seconds,
            started_snap,
            sampler.peak,
            Snapshot.of(tree_processes(app.proc.pid, exclude)),
        )
    finally:
        app.stop()
        shutil.rmtree(work / "data", ignore_errors=True)


def run(params: Params, progress: Any = print) -> Result:
    here = Path(__file__).resolve().parent.parent
    if not os.path.exists("/proc/self/smaps_rollup"):
        raise BenchError("needs Linux >= 4.14 (/proc/<pid>/smaps_rollup)")
    tmp = make_temp_dir()
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    try:
        for n, files in enumerate(params.files):
            base = tmp / f"tree{files}"
            base.mkdir()
            progress(f"  generating {files:,} files ...")
            tree = scan.generate(base, files, params.seed)
            libs = [("Movies", "movies", tree.movies_root), ("Shows", "series", tree.series_root)]
            order = [(label, here, env) for label, env in VARIANTS.items()]
            if params.compare:
                order.insert(1, ("earlier", Path(params.compare).resolve(), AFTER))
            if n % 2:
                order.reverse()
            for label, source, env in order:
                progress(f"  {label}, {files:,} files: first scan, then {params.idle:.0f} s idle")
                m = measure(source, tmp, libs, env, params.idle)
                progress(
                    f"    scan {m.seconds:.1f} s; start {m.started.total:.0f} MiB; "
                    f"peak {m.peak.total:.0f} MiB ({m.peak.text()}); "
                    f"idle {m.idle.total:.0f} MiB ({m.idle.text()})"
                )
                key = f"{label} {files}"
                details[key] = {
                    "scan_s": m.seconds,
                    "started": vars(m.started),
                    "peak": vars(m.peak),
                    "idle": vars(m.idle),
                }
                figures += [
                    Figure(f"{key}: peak PSS of the tree (budget 400)", m.peak.total, "MiB"),
                    Figure(f"{key}: idle PSS of the tree (budget 200)", m.idle.total, "MiB"),
                ]
                figures += [
                    Figure(f"{key}: idle {name} ({m.idle.count[name]})", m.idle.mib[name], "MiB")
                    for name in ROLES
                    if name in m.idle.mib
                ]
                figures.append(Figure(f"{key}: first scan", m.seconds, "s"))
            shutil.rmtree(base, ignore_errors=True)
        summary = (
            f"PSS of the appliance's process tree at the peak of a first scan (analysis "
            f"off) and {params.idle:.0f} s after it, before/after settings alternating"
        )
        return Result(
            "memory",
            summary,
            figures,
            {
                "files": list(params.files),
                "idle": params.idle,
                "details": details,
                "before": BEFORE,
                "after": AFTER,
                "compare": params.compare,
            },
            {},
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
