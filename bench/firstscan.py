"""``firstscan``: what a new user waits for, from adding the libraries until every job is done.

The real ``ferrex-appliance serve`` runs as a child process on a fresh data dir (its own Postgres
and Redis), with analysis off and no TMDB key, as a first start gives it, started by the launcher
the package installs (:data:`LAUNCHER`) and with the memory profile a 2 GB board gets
(``--firstscan-profile``, default ``small``: the peak PSS is held against issue #17's budget
for such a board; ``auto`` on a big machine gives ``large``, 1 GB of shared buffers). The
bench claims it, logs in, and adds two libraries through the API (``POST /api/v1/libraries``:
each starts its first scan) over the ``scan`` bench's generated tree (half films, half
episodes), where 5 % of the film folders also hold a ``movie.nfo`` and a ``poster.jpg``. The
clock runs from the first POST until no job is ready, deferred or leased (index, local
NFO/art, images), polled every 20 ms over a direct connection to the appliance's database.

Beside it, in the same run: the **raw walk** (``os.scandir`` of the same tree) and the **index
baseline** (raw walk + COPY of the rows the scan wrote into the emptied index tables, with their
indexes and triggers, rolled back: the ``scan`` bench's figure), and per job kind the number of
jobs and when the stage ended. The peak PSS of the appliance's process tree (the appliance,
Postgres, Redis, walk workers) is sampled every 100 ms during the scan; the backend of the
bench's own polling connection is left out (it is no part of the appliance).

A second, smaller figure runs with analysis on over generated real media (the test fixtures'
five files, copied under film names): seconds until every job is done, and files per second.

``--firstscan-compare DIR`` also measures the appliance of another checkout (a git worktree of
an earlier commit), alternating with this one, on the same tree: a before/after in one run.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg

from bench import scan
from bench.coldstart import _free_port
from bench.common import BenchError, Figure, Result, make_temp_dir, median

START_TIMEOUT = 180.0
SCAN_TIMEOUT = 900.0
POLL_SECONDS = 0.02
PSS_SECONDS = 0.1
PASSWORD = "correct horse battery staple"
SIDECAR_SHARE = 0.05
LAUNCHER = """#!/usr/bin/env python3
import sys

from appliance.entry import main

if __name__ == "__main__":
    sys.exit(main())
"""
"""What ``packaging/build-deb.sh`` installs as ``bin/ferrex-appliance``. Not ``python -m
appliance.cli``: the walk workers (multiprocessing spawn) import the parent's main module
again, and ``appliance.cli`` brings trio and the config along (~6 MB more PSS per worker than
the light launcher)."""
ACTIVE = "SELECT count(*) FROM jobs WHERE state IN ('ready', 'deferred', 'leased')"
STAGES = """
    SELECT kind, count(*) AS jobs,
           count(*) FILTER (WHERE state = 'failed') AS failed,
           sum(attempts - 1) FILTER (WHERE attempts > 1) AS retries,
           extract(epoch FROM min(created_at) - $1::timestamptz) AS queued_s,
           extract(epoch FROM max(finished_at) - $1::timestamptz) AS ended_s
    FROM jobs GROUP BY kind ORDER BY ended_s
"""


@dataclass(frozen=True)
class Params:
    files: int = 30_000
    rounds: int = 1
    media_files: int = 40
    compare: str | None = None
    seed: int = 3
    profile: str = "small"


@dataclass
class Appliance:
    """One ``serve`` child on its own data dir; its log goes to a file."""

    source: Path
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
        env.update({"FERREX_LOG_LEVEL": "warning", "PYTHONPATH": str(self.source), **self.env})
        self.log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("wb")
        launcher = self.data_dir.parent / "ferrex-appliance"
        launcher.write_text(LAUNCHER)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(launcher),
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            cwd=self.source,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        started = time.monotonic()
        while self.request("GET", "/health")[0] != 200:
            if self.proc.poll() is not None:
                raise BenchError(f"appliance exited ({self.proc.returncode}): {self.tail()}")
            if time.monotonic() - started > START_TIMEOUT:
                raise BenchError(f"appliance not healthy after {START_TIMEOUT:.0f} s")
            time.sleep(0.05)

    def tail(self) -> str:
        text = (self.data_dir.parent / f"{self.data_dir.name}.log").read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-5:])

    def log_text(self) -> str:
        return (self.data_dir.parent / f"{self.data_dir.name}.log").read_text(errors="replace")

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
        except OSError:
            return 0, None
        finally:
            conn.close()

    def login(self) -> str:
        status, body = self.request(
            "POST", "/api/v1/setup/claim", {"username": "admin", "password": PASSWORD}
        )
        if status != 201:
            raise BenchError(f"claim: {status} {body}")
        status, body = self.request(
            "POST",
            "/api/v1/auth/login",
            {
                "username": "admin",
                "password": PASSWORD,
                "device": {"id": "bench", "name": "bench", "platform": "linux"},
            },
        )
        if status != 200:
            raise BenchError(f"login: {status} {body}")
        return str(body["access_token"])

    @property
    def dsn(self) -> str:
        return f"postgresql://ferrex@/ferrex?host={self.data_dir / 'run'}&port=5432"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()


# --------------------------------------------------------------------------------------------
# memory: PSS of the process tree


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_pss_kib(root: int, exclude: set[int] | frozenset[int] = frozenset()) -> int:
    """Sum of ``Pss`` (smaps_rollup) over ``root`` and all its descendants but ``exclude``."""
    children, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        if pid in exclude:
            continue
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


class PssSampler:
    def __init__(self, pid: int, exclude: set[int]) -> None:
        """``exclude``: PIDs not counted (the bench's own backend), filled in as it runs."""
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self.exclude = exclude
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, tree_pss_kib(self.pid, self.exclude))
            self._stop.wait(PSS_SECONDS)

    def __enter__(self) -> PssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------------------------
# the trees


POSTER_JPEG: bytes | None = None


def _poster() -> bytes:
    global POSTER_JPEG
    if POSTER_JPEG is None:
        import io

        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (200, 300), (120, 40, 30)).save(out, "JPEG", quality=80)
        POSTER_JPEG = out.getvalue()
    return POSTER_JPEG


def add_sidecars(movies_root: Path, share: float, seed: int) -> int:
    """``movie.nfo`` + ``poster.jpg`` in ``share`` of the film folders (one video each)."""
    rng = random.Random(seed)
    count = 0
    for folder in sorted(p for p in movies_root.iterdir() if p.is_dir()):
        videos = [p for p in folder.iterdir() if p.suffix in (".mkv", ".avi")]
        if len(videos) != 1 or rng.random() >= share:
            continue
        stem = videos[0].stem
        (folder / "movie.nfo").write_text(
            f"<movie><title>{stem} (NFO)</title><plot>Told by the NFO.</plot>"
            "<genre>Drama</genre></movie>\n"
        )
        (folder / "poster.jpg").write_bytes(_poster())
        count += 1
    return count


def media_tree(base: Path, files: int) -> Path:
    """``files`` real media files (the fixtures, copied) as films in their own folders."""
    from tests.media_fixtures import generate

    (base / "fixtures").mkdir(parents=True)
    fixtures = generate(base / "fixtures")
    sources = [
        fixtures.sdr_mp4,
        fixtures.hdr10_mkv,
        fixtures.hlg_mkv,
        fixtures.dv_mp4,
        fixtures.multi_mkv,
    ]
    root = base / "Real"
    for n in range(files):
        source = sources[n % len(sources)]
        folder = root / f"Real Film {n:04d} ({1950 + n % 70})"
        folder.mkdir(parents=True)
        shutil.copyfile(source, folder / f"{folder.name}{source.suffix}")
    return root


# --------------------------------------------------------------------------------------------
# one first scan


@dataclass
class Measured:
    seconds: float
    stages: list[dict[str, Any]]
    peak_pss_mib: float
    indexed: dict[str, int]
    index_copy: float | None
    deadlocks: int


async def _index_copy(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:

        class Shim:
            async def run_asyncio(self, op: Any) -> Any:
                return await op(conn)

        return sum(await scan.index_copy(Shim()))  # type: ignore[arg-type]
    finally:
        await conn.close()


async def _wait_done(dsn: str, started: float, exclude: set[int] | None = None) -> float:
    """Seconds from ``started`` until no job is active (after at least one job existed);
    the PID of this connection's backend goes into ``exclude`` (not the appliance's)."""
    conn = await asyncpg.connect(dsn)
    try:
        if exclude is not None:
            exclude.add(await conn.fetchval("SELECT pg_backend_pid()"))
        seen = False
        while True:
            active = await conn.fetchval(ACTIVE)
            now = time.perf_counter()
            if active:
                seen = True
            elif seen or await conn.fetchval("SELECT count(*) FROM jobs"):
                return now - started
            if now - started > SCAN_TIMEOUT:
                raise BenchError(f"scan not done after {SCAN_TIMEOUT:.0f} s")
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await conn.close()


async def _stages(dsn: str, started_at: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = [dict(r) for r in await conn.fetch(STAGES, started_at)]
        for r in rows:
            r["ended_s"] = float(r["ended_s"] or 0.0)
            r["queued_s"] = float(r["queued_s"] or 0.0)
            r["retries"] = int(r["retries"] or 0)
        counts = {
            r["kind"]: r["n"]
            for r in await conn.fetch(
                "SELECT kind, count(*) AS n FROM media_items WHERE present GROUP BY kind"
            )
        }
        counts["files"] = await conn.fetchval("SELECT count(*) FROM media_files WHERE present")
        counts["described"] = await conn.fetchval(
            "SELECT count(*) FROM media_items WHERE metadata_source IS NOT NULL"
        )
        counts["images"] = await conn.fetchval("SELECT count(*) FROM item_images")
        return rows, counts
    finally:
        await conn.close()


def first_scan(
    source: Path,
    work: Path,
    libraries: list[tuple[str, str, Path]],
    env: dict[str, str],
    index_baseline: bool,
) -> Measured:
    app = Appliance(source, work / "data", env)
    try:
        app.start()
        token = app.login()
        assert app.proc is not None
        started_at = asyncio.run(_now(app.dsn))
        exclude: set[int] = set()
        with PssSampler(app.proc.pid, exclude) as pss:
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
        stages, indexed = asyncio.run(_stages(app.dsn, started_at))
        copy_s = asyncio.run(_index_copy(app.dsn)) if index_baseline else None
        deadlocks = app.log_text().count("deadlock detected")
        return Measured(seconds, stages, pss.peak_kib / 1024, indexed, copy_s, deadlocks)
    finally:
        app.stop()
        shutil.rmtree(work / "data", ignore_errors=True)


async def _now(dsn: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT clock_timestamp()")
    finally:
        await conn.close()


def _raw(roots: list[Path], rounds: int = 3) -> float:
    return median([_timed(lambda: scan.raw_walk(roots)) for _ in range(rounds)])


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _stage_text(m: Measured) -> str:
    return ", ".join(
        f"{s['kind']} {s['jobs']} jobs {s['queued_s']:.1f}-{s['ended_s']:.1f} s"
        + (f" ({s['failed']} failed)" if s["failed"] else "")
        + (f" ({s['retries']} retries)" if s["retries"] else "")
        for s in m.stages
    )


def run(params: Params, progress: Any = print) -> Result:
    here = Path(__file__).resolve().parent.parent
    sources = {"this": here}
    if params.compare:
        sources = {"before": Path(params.compare).resolve(), "this": here}
    tmp = make_temp_dir()
    samples: dict[str, list[float]] = {}
    details: dict[str, Any] = {}
    figures: list[Figure] = []
    try:
        progress(f"  generating {params.files:,} files ...")
        (tmp / "tree").mkdir()
        tree = scan.generate(tmp / "tree", params.files, params.seed)
        sidecars = add_sidecars(tree.movies_root, SIDECAR_SHARE, params.seed)
        roots = [tree.movies_root, tree.series_root]
        libs = [("Movies", "movies", tree.movies_root), ("Shows", "series", tree.series_root)]
        profile = {"FERREX_MEMORY_PROFILE": params.profile}
        off = {"FERREX_SCAN_ANALYZE": "false", **profile}
        raw, index_base = [], []
        for round_no in range(params.rounds):
            order = list(sources.items())
            if round_no % 2:
                order.reverse()
            for label, source in order:
                raw.append(_raw(roots))
                progress(f"  {label}: first scan, analysis off ({source}) ...")
                m = first_scan(source, tmp, libs, off, index_baseline=label == "this")
                samples.setdefault(f"{label}: analysis off", []).append(m.seconds)
                samples.setdefault(f"{label}: peak PSS MiB", []).append(m.peak_pss_mib)
                details.setdefault(label, []).append(dataclass_dict(m))
                progress(
                    f"    {m.seconds:.2f} s, peak PSS {m.peak_pss_mib:.0f} MiB, "
                    f"{_stage_text(m)}; deadlocks in log: {m.deadlocks}"
                )
                if m.index_copy is not None:
                    index_base.append(m.index_copy)
        raw_s = median(raw)
        index_s = raw_s + median(index_base)
        figures += [
            Figure("raw walk (os.scandir)", raw_s, "s"),
            Figure("index baseline: walk + COPY into the index tables", index_s, "s"),
        ]
        for label in sources:
            full = median(samples[f"{label}: analysis off"])
            figures += [
                Figure(f"{label}: first scan, analysis off", full, "s"),
                Figure(f"{label}: first scan / index baseline (target 3)", full / index_s, "x"),
                Figure(f"{label}: first scan / raw walk", full / raw_s, "x"),
                Figure(
                    f"{label}: peak PSS of the process tree",
                    max(samples[f"{label}: peak PSS MiB"]),
                    "MiB",
                ),
            ]
        if params.media_files:
            real = media_tree(tmp / "media", params.media_files)
            for label, source in sources.items():
                progress(f"  {label}: first scan, analysis on, {params.media_files} real files")
                m = first_scan(
                    source,
                    tmp,
                    [("Real", "movies", real)],
                    {"FERREX_SCAN_ANALYZE": "true", **profile},
                    index_baseline=False,
                )
                samples.setdefault(f"{label}: analysis on", []).append(m.seconds)
                details.setdefault(f"{label} analysis on", []).append(dataclass_dict(m))
                progress(f"    {m.seconds:.2f} s, {_stage_text(m)}")
                figures += [
                    Figure(
                        f"{label}: first scan, analysis on ({params.media_files} files)",
                        m.seconds,
                        "s",
                    ),
                    Figure(
                        f"{label}: analysis on, files per second",
                        params.media_files / m.seconds,
                        "/s",
                    ),
                ]
        summary = (
            f"{tree.files:,} files ({sidecars} film folders with movie.nfo + poster.jpg), "
            f"two libraries added through the API of the real appliance, until no job is "
            f"active; {params.rounds} round(s); memory profile {params.profile}"
        )
        params_out = {
            "files": params.files,
            "rounds": params.rounds,
            "sidecars": sidecars,
            "media_files": params.media_files,
            "compare": params.compare,
            "profile": params.profile,
            "details": details,
        }
        return Result("firstscan", summary, figures, params_out, samples)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def dataclass_dict(m: Measured) -> dict[str, Any]:
    return {
        "seconds": m.seconds,
        "stages": m.stages,
        "peak_pss_mib": m.peak_pss_mib,
        "indexed": m.indexed,
        "index_copy": m.index_copy,
        "deadlocks": m.deadlocks,
    }
