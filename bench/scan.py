"""``scan``: the library scan pipeline on a generated tree, against a raw walk + COPY baseline.

Per size N (default 30,000, then 3,000 for scaling) a tree of N empty, sparse video files with
realistic names is generated in a temp dir: half a series library
(``Show (Year)/Season NN/Show - SxxEyy - Title.mkv``, some scene-named, multi-episode, specials,
extras) and half a movie library (``Title (Year)/Title (Year) - 1080p.mkv``, scene folders and
flat scene files, second versions, cd parts, trailers/extras folders). Then, in one process and
against one throwaway cluster:

* **raw walk**: a recursive ``os.scandir`` walk collecting (path, folder, size, mtime_ns) of every
  file; **raw COPY**: ``copy_records_to_table`` of those rows into a plain table (no index). The
  baseline is walk + COPY; it is measured ``raw_rounds`` times before and again after the scans.
* **full scan**: the real pipeline (dispatcher; FolderScan jobs that walk, parse names and write
  files with their items, a batch of a few thousand changed files per job; analysis off) on an
  empty index: from ``ScanService.start`` of both libraries until both scans are ``completed``.
* **unchanged rescan**: the same again with nothing changed on disk (``rescans`` times).

Each handler is timed (per job kind: jobs, handler seconds, busy wall seconds), and the CPU time
of this process and of the Postgres backends is sampled around every scan, to say where the time
goes. The index is checked against what was generated (movies, series, seasons, episodes,
extras, files).
"""

from __future__ import annotations

import os
import random
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio_asyncio

from appliance.events import InProcEventBus
from appliance.orchestration.dispatcher import Dispatcher, Handler, JobContext
from appliance.orchestration.scheduler import WeightedFairScheduler
from appliance.scan.pipeline import PipelineSettings, handlers
from appliance.scan.service import ScanService
from appliance.scan.walkers import Walkers
from bench.common import BenchError, Figure, Result, make_temp_dir, median, throwaway_postgres
from store import libraries, scans
from store.db import Database
from store.gate import ServiceGate
from store.migrate import migrate

RAW_TABLE = "bench_raw_files"
RAW_COLUMNS = ["path", "folder", "size_bytes", "mtime_ns"]
POOL_SIZE = 10  # the appliance's default database.pool_max
PER_LIBRARY_CAP = 4  # as ScanRuntime builds its dispatcher
POLL_SECONDS = 0.005  # the completion probe: its interval bounds how late a scan is seen done
SCAN_TIMEOUT = 1800.0
ACTIVE_PROBE = """
    SELECT EXISTS (SELECT 1 FROM jobs WHERE scan_id = ANY($1::uuid[])
                   AND state IN ('ready', 'deferred', 'leased'))
"""
KINDS = ["folder_scan", "metadata_enrich", "image_fetch"]


@dataclass(frozen=True)
class Params:
    sizes: tuple[int, ...] = (30_000, 3_000)
    raw_rounds: int = 3
    rescans: int = 3
    seed: int = 3
    walk_processes: int = -1
    """Worker processes for the walks, as the appliance's ``scan.walk_processes`` (-1: from the
    CPU count, 0: a thread of the appliance process)."""
    sync_triggers: tuple[str, ...] = ("on",)
    """Full scan + rescans once per entry, each on an emptied index: "on" as shipped, "off" with
    the sync feed's triggers disabled (what they cost the scan, A/B in one run)."""


# --------------------------------------------------------------------------------------------
# the generated tree

WORDS = (
    "Amber Anchor Arrow Ash Autumn Bay Bell Birch Blade Bloom Bone Bridge Brook Canyon Cedar "
    "Chalk Cinder Cliff Cloud Coast Copper Coral Crane Crimson Crow Crystal Dawn Deep Desert "
    "Drift Dune Dust Eagle Echo Ember Falcon Feather Fern Field Fire Flint Fog Forest Fox Frost "
    "Garden Ghost Glass Glen Gold Granite Gray Harbor Hawk Heart Hollow Honey Horizon Ice Iron "
    "Island Ivory Jade Lake Lantern Leaf Light Lily Lion Marble Meadow Mirror Moon Moss Mountain "
    "Night North Oak Ocean Orchid Owl Paper Pearl Pine Quiet Rain Raven Reef Ridge River Robin "
    "Rose Ruby Rust Sable Salt Sand Scarlet Shadow Shore Silent Silver Sky Slate Smoke Snow "
    "Sparrow Spring Star Stone Storm Summer Sun Swan Thorn Thunder Tide Timber Valley Velvet "
    "Violet Wave Willow Wind Winter Wolf Wren"
).split()
QUALITIES = ("1080p", "2160p", "720p")
SCENE_TAILS = (
    "BluRay.x264",
    "WEB-DL.DDP5.1.H.264",
    "BluRay.x265.10bit",
    "WEBRip.x264",
    "HDTV.x264",
    "BDRip.AAC",
)
GROUPS = ("GRP", "FLUX", "NTb", "SPARKS", "AMIABLE", "KOGi", "CtrlHD")
MOVIE_EXTRAS = (
    "Trailers/Official Trailer.mp4",
    "Trailers/Teaser.mp4",
    "Extras/Behind the Scenes.mkv",
    "Featurettes/Making Of.mkv",
)
SERIES_EXTRAS = (
    "Extras/Behind the Scenes.mkv",
    "Featurettes/Cast Interview.mkv",
    "Extras/Bloopers.mkv",
)
GB = 1 << 30


@dataclass
class Tree:
    base: Path
    movies_root: Path
    series_root: Path
    files: int = 0
    folders: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    _dirs: set[Path] = field(default_factory=set)

    def add(self, root: Path, relative: str, size: int) -> None:
        path = root / relative
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            for parent in (path.parent, *path.parent.parents):
                if parent in self._dirs or parent == self.base:
                    break
                self._dirs.add(parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.ftruncate(fd, size)  # sparse: a realistic size, no blocks
        finally:
            os.close(fd)
        self.files += 1

    def finish(self) -> None:
        self.folders = len(self._dirs)


def _title(rng: random.Random, used: set[str], year: int) -> str:
    while True:
        words = rng.sample(WORDS, rng.choice((1, 2, 2, 2, 3, 3)))
        if rng.random() < 0.2:
            words.insert(0, "The")
        title = " ".join(words)
        key = f"{title.lower()}:{year}"
        if key not in used:
            used.add(key)
            return title


def _movies(tree: Tree, count: int, rng: random.Random) -> None:
    root, used, left = tree.movies_root, set[str](), count
    while left > 0:
        year = rng.randint(1950, 2024)
        title = _title(rng, used, year)
        dotted = title.replace(" ", ".")
        quality = rng.choice(QUALITIES)
        style = rng.random()
        size = rng.randint(1, 20) * GB
        tree.expected["movies"] += 1
        if style < 0.6:  # Jellyfin layout, in its own folder
            folder = f"{title} ({year})"
            parts = 2 if rng.random() < 0.01 and left >= 2 else 1
            if parts == 2:
                for cd in (1, 2):
                    tree.add(root, f"{folder}/{title} ({year}) - cd{cd}.avi", size // 2)
            else:
                suffix = f" - {quality}" if rng.random() < 0.7 else ""
                tree.add(root, f"{folder}/{title} ({year}){suffix}.mkv", size)
            left -= parts
            if left > 0 and rng.random() < 0.06:  # a second version
                other = rng.choice([q for q in QUALITIES if q != quality])
                tree.add(root, f"{folder}/{title} ({year}) - {other}.mkv", size * 2)
                left -= 1
            if left > 0 and rng.random() < 0.05:
                tree.add(root, f"{folder}/{rng.choice(MOVIE_EXTRAS)}", GB // 10)
                tree.expected["movie extras"] += 1
                left -= 1
        elif style < 0.85:  # a scene release folder
            name = f"{dotted}.{year}.{quality}.{rng.choice(SCENE_TAILS)}-{rng.choice(GROUPS)}"
            tree.add(root, f"{name}/{name}.mkv", size)
            left -= 1
        else:  # a flat scene file in the root
            tail = f"{rng.choice(SCENE_TAILS)}-{rng.choice(GROUPS)}"
            tree.add(root, f"{dotted}.{year}.{quality}.{tail}.mkv", size)
            left -= 1


def _series(tree: Tree, count: int, rng: random.Random) -> None:
    root, used, left = tree.series_root, set[str](), count
    while left > 0:
        year = rng.randint(1970, 2024)
        show = _title(rng, used, year)
        folder = f"{show} ({year})"
        scene = rng.random() < 0.15
        dotted = show.replace(" ", ".")
        tree.expected["series"] += 1
        seasons = list(range(1, rng.choice((1, 1, 2, 3, 4, 5, 6, 8, 10)) + 1))
        if rng.random() < 0.1:
            seasons.insert(0, 0)
        for season in seasons:
            if left <= 0:
                break
            tree.expected["seasons"] += 1
            specials = season == 0 and rng.random() < 0.5
            season_dir = "Specials" if specials else f"Season {season:02d}"
            episodes = rng.randint(1, 3) if season == 0 else rng.randint(6, 24)
            number = 1
            while number <= episodes and left > 0:
                double = number < episodes and rng.random() < 0.02
                code = f"S{season:02d}E{number:02d}" + (f"-E{number + 1:02d}" if double else "")
                if scene:
                    name = (
                        f"{dotted}.{code}.{rng.choice(QUALITIES)}."
                        f"{rng.choice(SCENE_TAILS)}-{rng.choice(GROUPS)}.mkv"
                    )
                else:
                    words = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
                    name = f"{show} - {code} - {words}.mkv"
                tree.add(root, f"{folder}/{season_dir}/{name}", rng.randint(3, 30) * GB // 10)
                tree.expected["episodes"] += 1
                left -= 1
                number += 2 if double else 1
        if left > 0 and rng.random() < 0.05:
            tree.add(root, f"{folder}/{rng.choice(SERIES_EXTRAS)}", GB // 5)
            tree.expected["series extras"] += 1
            left -= 1


def generate(base: Path, files: int, seed: int) -> Tree:
    """``files`` video files: half movies, half series; returns what the index must show."""
    rng = random.Random(seed)
    tree = Tree(base, base / "Movies", base / "TV Shows")
    tree.movies_root.mkdir()
    tree.series_root.mkdir()
    _movies(tree, files // 2, rng)
    _series(tree, files - files // 2, rng)
    tree.finish()
    tree.expected["files"] = tree.files
    return tree


# --------------------------------------------------------------------------------------------
# the raw baseline


def raw_walk(roots: list[Path]) -> list[tuple[str, str, int, int]]:
    rows: list[tuple[str, str, int, int]] = []
    stack = [str(r) for r in roots]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    rows.append((entry.path, folder, st.st_size, st.st_mtime_ns))
    return rows


async def raw_round(db: Database, roots: list[Path]) -> tuple[float, float, int]:
    """(walk seconds, COPY seconds, rows)."""
    await db.run_asyncio(lambda conn: conn.execute(f"TRUNCATE {RAW_TABLE}"))
    started = time.perf_counter()
    rows = raw_walk(roots)
    walked = time.perf_counter()
    await db.run_asyncio(
        lambda conn: conn.copy_records_to_table(RAW_TABLE, records=rows, columns=RAW_COLUMNS)
    )
    copied = time.perf_counter()
    return walked - started, copied - walked, len(rows)


# --------------------------------------------------------------------------------------------
# the pipeline, timed


@dataclass
class Phase:
    """One timed scan of both libraries."""

    wall: float = 0.0
    started: float = 0.0
    """perf_counter() when the scans were started (spans are on the same clock)."""
    python_cpu: float = 0.0
    postgres_cpu: float = 0.0
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    jobs: Counter[str] = field(default_factory=Counter)  # "kind" and "kind:state"
    files_found: int = 0
    sync_changes: int = 0
    """Rows in the sync feed's change log after the scan."""
    workers_cpu: float = 0.0
    """CPU seconds of the walk worker processes (children of this process, not Postgres)."""

    def handler_seconds(self, kind: str) -> float:
        return sum(end - start for k, start, end in self.spans if k == kind)

    def busy_seconds(self, kind: str | None = None) -> float:
        """Wall time during which at least one handler (of ``kind``) was running."""
        spans = sorted((s, e) for k, s, e in self.spans if kind is None or k == kind)
        total, current_start, current_end = 0.0, None, None
        for start, end in spans:
            if current_end is None or start > current_end:
                if current_end is not None and current_start is not None:
                    total += current_end - current_start
                current_start, current_end = start, end
            else:
                current_end = max(current_end, end)
        if current_end is not None and current_start is not None:
            total += current_end - current_start
        return total


class Timing:
    """Wraps each handler to record (kind, start, end) into the current phase."""

    def __init__(self) -> None:
        self.phase = Phase()

    def wrap(self, kind: str, handler: Handler) -> Handler:
        async def timed(ctx: JobContext) -> None:
            phase = self.phase
            started = time.perf_counter()
            try:
                await handler(ctx)
            finally:
                phase.spans.append((kind, started, time.perf_counter()))

        return timed


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_times() -> dict[int, tuple[int, float]]:
    """pid → (ppid, CPU seconds) for every process we can read."""
    found: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        found[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return found


def workers_cpu(postmaster: int) -> float:
    """CPU seconds of this process's other children: the walk workers (pooled, long-lived)."""
    me = os.getpid()
    return sum(
        cpu for pid, (ppid, cpu) in _proc_times().items() if ppid == me and pid != postmaster
    )


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of the postmaster and its children (backends exit rarely: pooled)."""
    return sum(
        cpu for pid, (ppid, cpu) in _proc_times().items() if pid == postmaster or ppid == postmaster
    )


async def scan_libraries(
    db: Database,
    service: ScanService,
    timing: Timing,
    library_ids: list[uuid.UUID],
    postmaster: int,
) -> Phase:
    phase = timing.phase = Phase()
    cpu0, pg0, w0 = time.process_time(), postgres_cpu(postmaster), workers_cpu(postmaster)
    started = phase.started = time.perf_counter()
    pending = {(await service.start(library_id)).id for library_id in library_ids}
    scan_ids = list(pending)
    with trio.move_on_after(SCAN_TIMEOUT) as timeout:
        while pending:
            # A cheap probe (index-only, stops at the first active job); only when the scans'
            # jobs are all done does the tracker run (it counts every job of a scan, which
            # polled every 20 ms would load Postgres more than the appliance's 1 s tracker).
            if await db.run_asyncio(lambda conn: conn.fetchval(ACTIVE_PROBE, list(pending))):
                await trio.sleep(POLL_SECONDS)
                continue
            await service.track_once()
            for scan_id in list(pending):
                scan = await scans.get(db, scan_id)
                assert scan is not None
                if scan.state == "completed":
                    pending.discard(scan_id)
                    phase.files_found += scan.files_found
                elif scan.state != "running":
                    raise BenchError(f"scan {scan_id} ended {scan.state}")
            if pending:
                await trio.sleep(POLL_SECONDS)
    if timeout.cancelled_caught:
        raise BenchError(f"scans did not complete within {SCAN_TIMEOUT:.0f} s")
    phase.wall = time.perf_counter() - started
    phase.python_cpu = time.process_time() - cpu0
    phase.postgres_cpu = postgres_cpu(postmaster) - pg0
    phase.workers_cpu = workers_cpu(postmaster) - w0
    rows = await db.run_asyncio(
        lambda conn: conn.fetch(
            "SELECT kind, state::text AS state, count(*) AS n FROM jobs"
            " WHERE scan_id = ANY($1::uuid[]) GROUP BY kind, state",
            scan_ids,
        )
    )
    for row in rows:
        phase.jobs[row["kind"]] += row["n"]
        phase.jobs[f"{row['kind']}:{row['state']}"] += row["n"]
    return phase


INDEX_COUNTS = """
    SELECT 'files' AS what, count(*) AS n FROM media_files WHERE present
    UNION ALL SELECT 'linked files', count(*) FROM media_files WHERE present AND item_id IS NOT NULL
    UNION ALL SELECT 'movie extras', count(*) FROM media_files f JOIN libraries l
        ON l.id = f.library_id WHERE l.kind = 'movies' AND f.extra_kind IS NOT NULL
    UNION ALL SELECT 'series extras', count(*) FROM media_files f JOIN libraries l
        ON l.id = f.library_id WHERE l.kind = 'series' AND f.extra_kind IS NOT NULL
    UNION ALL SELECT CASE kind WHEN 'movie' THEN 'movies' WHEN 'season' THEN 'seasons'
        WHEN 'episode' THEN 'episodes' ELSE kind END, count(*) FROM media_items
        WHERE present GROUP BY kind
"""


INDEX_TABLES = ("media_items", "media_files", "folders")
INDEX_EMPTY = "TRUNCATE media_items, media_files, folders, sync_changes CASCADE"


async def index_copy(db: Database) -> tuple[float, ...]:
    """Seconds per table of :data:`INDEX_TABLES`: the rows the full scan wrote, read back and
    COPYed (``copy_records_to_table``, as the raw baseline) into the emptied index tables
    themselves, with their indexes, triggers and foreign keys, in a transaction that is rolled
    back. The raw walk plus this is the baseline read as "COPY of the same rows into Postgres"
    where the scan puts them, rather than into a scratch table with no index."""

    async def op(conn: Any) -> tuple[float, ...]:
        rows = {}
        for table in INDEX_TABLES:
            # parents before children (media_items.parent_id); one statement checks its
            # foreign keys at its end anyway
            order = " ORDER BY parent_id NULLS FIRST" if table == "media_items" else ""
            rows[table] = [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table}{order}")]
        columns = {
            table: [
                a["attname"]
                for a in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0"
                    " AND NOT attisdropped ORDER BY attnum",
                    table,
                )
            ]
            for table in INDEX_TABLES
        }
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(INDEX_EMPTY)
            seconds = []
            for table in INDEX_TABLES:
                started = time.perf_counter()
                await conn.copy_records_to_table(table, records=rows[table], columns=columns[table])
                seconds.append(time.perf_counter() - started)
            return tuple(seconds)
        finally:
            await transaction.rollback()

    return await db.run_asyncio(op)


@dataclass
class SizeRun:
    tree: Tree
    raw_walk: list[float] = field(default_factory=list)
    raw_copy: list[float] = field(default_factory=list)
    raw_rows: int = 0
    full: Phase = field(default_factory=Phase)
    rescans: list[Phase] = field(default_factory=list)
    indexed: dict[str, int] = field(default_factory=dict)
    index_copy: tuple[float, ...] | None = None
    """:func:`index_copy` after the first full scan."""
    fulls: dict[str, list[Phase]] = field(default_factory=dict)
    """Every full scan per trigger variant ("on"/"off"); ``full`` is the first "on" one."""
    all_rescans: dict[str, list[Phase]] = field(default_factory=dict)


SYNC_TRIGGERS = """
    SELECT format('ALTER TABLE %s %s TRIGGER %I', tgrelid::regclass, $1::text, tgname)
    FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'sync\\_%'
"""


async def set_sync_triggers(db: Database, enabled: bool) -> None:
    """Enable or disable the sync feed's change-log triggers (bench database only)."""
    statements = await db.run_asyncio(
        lambda conn: conn.fetch(SYNC_TRIGGERS, "ENABLE" if enabled else "DISABLE")
    )
    if not statements:
        raise BenchError("no sync_* triggers found: is migration 0007 applied?")
    script = ";\n".join(r[0] for r in statements)
    await db.run_asyncio(lambda conn: conn.execute(script))


async def _measure(dsn: str, tree: Tree, params: Params) -> SizeRun:
    run = SizeRun(tree)
    gate = ServiceGate("postgres")
    gate.open()
    async with trio_asyncio.open_loop():
        db = await Database.connect(dsn, gate, min_size=POOL_SIZE, max_size=POOL_SIZE)
        try:
            await migrate(db)
            await db.run_asyncio(
                lambda conn: conn.execute(
                    f"DROP TABLE IF EXISTS {RAW_TABLE}; TRUNCATE libraries CASCADE;"
                    f" CREATE TABLE {RAW_TABLE} (path text, folder text, size_bytes bigint,"
                    " mtime_ns bigint)"
                )
            )
            backend = await db.run_asyncio(lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
            postmaster = _proc_times()[backend][0]
            roots = [tree.movies_root, tree.series_root]

            async def raw_rounds() -> None:
                for _ in range(params.raw_rounds):
                    walk, copy, run.raw_rows = await raw_round(db, roots)
                    run.raw_walk.append(walk)
                    run.raw_copy.append(copy)

            await raw_rounds()
            timing = Timing()
            walkers = Walkers(params.walk_processes)
            table = {
                kind: timing.wrap(kind, handler)
                for kind, handler in handlers(PipelineSettings(analyze=False), walkers).items()
            }
            async with walkers.open():
                await walkers.warm_up()  # as ScanRuntime does when the appliance starts
                await _scan_variants(db, tree, params, run, timing, table, postmaster)
            await set_sync_triggers(db, True)
            await raw_rounds()
        finally:
            await db.close()
    return run


async def _scan_variants(
    db: Database,
    tree: Tree,
    params: Params,
    run: SizeRun,
    timing: Timing,
    table: dict[str, Handler],
    postmaster: int,
) -> None:
    """The full scan and its rescans once per sync-trigger variant, each on an emptied index."""
    bus = InProcEventBus()
    for variant in params.sync_triggers:
        # between dispatchers: TRUNCATE must not meet the dispatcher's queue reads
        await db.run_asyncio(lambda conn: conn.execute("TRUNCATE libraries, sync_changes CASCADE"))
        await set_sync_triggers(db, variant == "on")
        dispatcher = Dispatcher(
            db,
            table,
            bus=bus,
            idle_poll_seconds=0.05,
            scheduler=WeightedFairScheduler(per_library_cap=PER_LIBRARY_CAP),
        )
        service = ScanService(db, bus, wake_dispatcher=dispatcher.wake)
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            movies = await libraries.create(db, "Bench Movies", "movies", [str(tree.movies_root)])
            series = await libraries.create(db, "Bench Series", "series", [str(tree.series_root)])
            ids = [movies.id, series.id]
            full = await scan_libraries(db, service, timing, ids, postmaster)
            full.sync_changes = await db.run_asyncio(
                lambda conn: conn.fetchval("SELECT count(*) FROM sync_changes")
            )
            run.fulls.setdefault(variant, []).append(full)
            rows = await db.run_asyncio(lambda conn: conn.fetch(INDEX_COUNTS))
            indexed = {r["what"]: r["n"] for r in rows}
            if not run.indexed or (variant == "on" and "on" not in run.all_rescans):
                run.full, run.indexed = full, indexed
                run.index_copy = await index_copy(db)
            elif indexed != run.indexed:
                raise BenchError(f"triggers {variant}: index differs: {indexed}")
            rescans = run.all_rescans.setdefault(variant, [])
            for _ in range(params.rescans):
                rescans.append(await scan_libraries(db, service, timing, ids, postmaster))
            if run.full is full:
                run.rescans = rescans
            nursery.cancel_scope.cancel()


# --------------------------------------------------------------------------------------------
# figures


def _figures(run: SizeRun, prefix: str) -> tuple[list[Figure], dict[str, list[float]]]:
    walk, copy = median(run.raw_walk), median(run.raw_copy)
    baseline = median([w + c for w, c in zip(run.raw_walk, run.raw_copy, strict=True)])
    full = run.full.wall
    rescan = median([p.wall for p in run.rescans]) if run.rescans else float("nan")
    f = [
        Figure(f"{prefix}raw walk (os.scandir)", walk, "s"),
        Figure(f"{prefix}raw COPY (copy_records_to_table)", copy, "s"),
        Figure(f"{prefix}raw baseline: walk + COPY", baseline, "s"),
        Figure(f"{prefix}full scan (pipeline, analysis off)", full, "s"),
        Figure(f"{prefix}full scan / baseline (target <= 3)", full / baseline, "x"),
        Figure(f"{prefix}full scan rate", run.full.files_found / full, "files/s"),
        Figure(f"{prefix}unchanged rescan", rescan, "s"),
        Figure(f"{prefix}rescan / raw walk (target <= 1.5)", rescan / walk, "x"),
    ]
    if run.index_copy is not None:
        copied = sum(run.index_copy)
        for table, seconds in zip(INDEX_TABLES, run.index_copy, strict=True):
            f.append(Figure(f"{prefix}index COPY: the scan's rows into {table}", seconds, "s"))
        f += [
            Figure(f"{prefix}index baseline: raw walk + index COPY", walk + copied, "s"),
            Figure(f"{prefix}index baseline / baseline", (walk + copied) / baseline, "x"),
            Figure(f"{prefix}full scan / index baseline", full / (walk + copied), "x"),
        ]
    for label, phase in (("full", run.full), ("rescan", run.rescans[-1] if run.rescans else None)):
        if phase is None:
            continue
        f.append(Figure(f"{prefix}{label}: python CPU (this process)", phase.python_cpu, "s"))
        f.append(Figure(f"{prefix}{label}: walk workers CPU (processes)", phase.workers_cpu, "s"))
        f.append(Figure(f"{prefix}{label}: postgres CPU (backends)", phase.postgres_cpu, "s"))
        f.append(Figure(f"{prefix}{label}: any handler running", phase.busy_seconds(), "s"))
        if phase.spans:
            first = min(start for _, start, _ in phase.spans) - phase.started
            last = phase.started + phase.wall - max(end for _, _, end in phase.spans)
            f.append(Figure(f"{prefix}{label}: start until a handler runs", first, "s"))
            f.append(Figure(f"{prefix}{label}: last handler until seen completed", last, "s"))
        for kind in KINDS:
            if phase.jobs.get(kind):
                f.append(Figure(f"{prefix}{label}: {kind} jobs", phase.jobs[kind], "n"))
                f.append(
                    Figure(f"{prefix}{label}: {kind} busy (wall)", phase.busy_seconds(kind), "s")
                )
                f.append(
                    Figure(
                        f"{prefix}{label}: {kind} handler time (sum)",
                        phase.handler_seconds(kind),
                        "s",
                    )
                )
        bad = sum(n for k, n in phase.jobs.items() if k.endswith((":failed", ":dead_letter")))
        f.append(Figure(f"{prefix}{label}: failed/dead-letter jobs", bad, "n"))
    for variant in ("on", "off"):
        if len(run.fulls) < 2 or variant not in run.fulls:
            continue
        v_full = median([p.wall for p in run.fulls[variant]])
        v_rescan = median([p.wall for p in run.all_rescans[variant]])
        f += [
            Figure(
                f"{prefix}sync triggers {variant}: full scan (median of {len(run.fulls[variant])})",
                v_full,
                "s",
            ),
            Figure(
                f"{prefix}sync triggers {variant}: full scan / baseline", v_full / baseline, "x"
            ),
            Figure(
                f"{prefix}sync triggers {variant}: full scan postgres CPU",
                median([p.postgres_cpu for p in run.fulls[variant]]),
                "s",
            ),
            Figure(
                f"{prefix}sync triggers {variant}: change-log rows after the full scan",
                run.fulls[variant][0].sync_changes,
                "n",
            ),
            Figure(
                f"{prefix}sync triggers {variant}: rescan (median of "
                f"{len(run.all_rescans[variant])})",
                v_rescan,
                "s",
            ),
            Figure(f"{prefix}sync triggers {variant}: rescan / raw walk", v_rescan / walk, "x"),
        ]
    expected = run.tree.expected
    for what in (
        "files",
        "movies",
        "movie extras",
        "series",
        "seasons",
        "episodes",
        "series extras",
    ):
        f.append(
            Figure(
                f"{prefix}indexed {what} (generated {expected[what]:,})",
                run.indexed.get(what, 0),
                "n",
            )
        )
    f.append(
        Figure(f"{prefix}indexed files linked to an item", run.indexed.get("linked files", 0), "n")
    )
    samples = {
        f"{prefix}raw_walk_s": run.raw_walk,
        f"{prefix}raw_copy_s": run.raw_copy,
        f"{prefix}full_scan_s": [full],
        f"{prefix}rescan_s": [p.wall for p in run.rescans],
    }
    for variant, phases in run.fulls.items():
        samples[f"{prefix}triggers_{variant}_full_scan_s"] = [p.wall for p in phases]
        samples[f"{prefix}triggers_{variant}_rescan_s"] = [p.wall for p in run.all_rescans[variant]]
    return f, samples


def _check(run: SizeRun) -> list[str]:
    problems = []
    if run.raw_rows != run.tree.files:
        problems.append(f"raw walk found {run.raw_rows} files, generated {run.tree.files}")
    if run.full.files_found != run.tree.files:
        problems.append(f"full scan found {run.full.files_found}, generated {run.tree.files}")
    for what, n in run.tree.expected.items():
        if run.indexed.get(what, 0) != n:
            problems.append(f"indexed {what}: {run.indexed.get(what, 0)}, generated {n}")
    return problems


def run(params: Params, progress: Callable[[str], Any] = print) -> Result:
    figures: list[Figure] = []
    samples: dict[str, list[float]] = {}
    notes: dict[str, Any] = {}
    with throwaway_postgres() as postgres:
        for size in params.sizes:
            base = make_temp_dir()
            try:
                started = time.perf_counter()
                tree = generate(base, size, params.seed)
                progress(
                    f"  N={size:,}: generated {tree.files:,} files in {tree.folders:,} "
                    f"folders in {time.perf_counter() - started:.1f} s; scanning ..."
                )
                measured = trio.run(_measure, postgres.maintenance_dsn, tree, params)
            finally:
                shutil.rmtree(base, ignore_errors=True)
            prefix = "" if size == params.sizes[0] else f"N={size:,}: "
            more, raw = _figures(measured, prefix)
            figures += more
            samples.update(raw)
            notes[str(size)] = {
                "folders": tree.folders,
                "expected": dict(tree.expected),
                "indexed": measured.indexed,
                "problems": _check(measured),
            }
            for problem in notes[str(size)]["problems"]:
                progress(f"  N={size:,}: CHECK FAILED: {problem}")
    sizes = ", ".join(f"{s:,}" for s in params.sizes)
    summary = (
        f"{sizes} generated files (half movies, half series); baseline median of "
        f"{2 * params.raw_rounds} raw rounds, 1 full scan, median of {params.rescans} "
        "unchanged rescans"
    )
    return Result(
        "scan",
        summary,
        figures,
        {**vars(params), "sizes": list(params.sizes), "trees": notes},
        samples,
    )
