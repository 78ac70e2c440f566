"""``media``: the media API's two hot paths.

* **query**: ``POST /api/v1/media/query`` latency (p50/p99) for typical queries on a library of
  ``--items`` movies (default 30 000, with genres, ratings, runtimes, files and some watch state),
  through the quart-trio app in process (ASGI test client; authentication is a stub, the
  ``auth`` benchmark prices it). Totals are cached until the library changes
  (``store.media_totals``), so the same request is also timed with the cache emptied first
  (*total counted*), right after a real change to the library (*after a library change*: an item's
  tagline edited and committed before each request, a logged change in the queried library, as a
  scan or metadata refresh makes them) and right after another user's progress heartbeat (*after
  another user's heartbeat*: a logged change that cannot alter these totals). Baseline in the
  same run: the same SQL (page and count, cache emptied) through ``store.db.Database`` alone (no
  HTTP, no JSON): the ratio is what the API layer adds. *CPU per request*: CPU time of the
  benchmark process and of the Postgres cluster over the samples, divided by their number: on a
  machine shared with other work, wall-clock latency includes waiting for a core; this does not.
* **stream**: ``GET /api/v1/stream/{id}`` throughput of one client and of 8 concurrent clients
  over real HTTP (hypercorn on 127.0.0.1, http.client readers in threads) of a ``--stream-mb``
  file in the page cache. Baseline: reading the same file with ``open().read(1 MiB)`` in the same
  number of threads.
"""

from __future__ import annotations

import dataclasses
import http.client
import itertools
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import trio
import trio_asyncio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from appliance.api.app import create_app
from appliance.api.media import _filters
from appliance.auth import rbac
from appliance.auth.principal import Principal
from appliance.config import Config
from appliance.state import AppState
from bench.common import BenchError, Figure, Result, open_bench_db, throwaway_postgres
from store import media_query as mq
from store.db import Database
from store.media_totals import totals_for
from sync.query import IN_PROGRESS, UNWATCHED, MediaQuery, MediaQueryBuilder, SortBy, SortOrder

CHUNK = 1 << 20


@dataclass(frozen=True)
class Params:
    items: int = 30_000
    samples: int = 200
    stream_mb: int = 256


def _queries() -> dict[str, MediaQuery]:
    return {
        "browse by title": MediaQueryBuilder().movies_only().limit(50).build(),
        "genre+year, newest": MediaQueryBuilder()
        .movies_only()
        .genre("Action")
        .year_range(1990, 2020)
        .sort_by(SortBy.RELEASE_DATE, SortOrder.DESC)
        .limit(50)
        .build(),
        "fuzzy search": MediaQueryBuilder().search("matrx").limit(50).build(),
        "unwatched, recently added": MediaQueryBuilder()
        .watch_status(UNWATCHED)
        .sort_by(SortBy.DATE_ADDED, SortOrder.DESC)
        .limit(50)
        .build(),
        "in progress, last watched": MediaQueryBuilder()
        .watch_status(IN_PROGRESS)
        .sort_by(SortBy.LAST_WATCHED, SortOrder.DESC)
        .limit(50)
        .build(),
        "4K HDR by rating": MediaQueryBuilder()
        .min_height(2160)
        .hdr()
        .sort_by(SortBy.RATING, SortOrder.DESC)
        .limit(50)
        .build(),
    }


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def _parent(pid: int) -> int:
    fields = _proc_stat(pid)
    if fields is None:
        raise BenchError(f"cannot read /proc/{pid}/stat")
    return int(fields[1])


def _cpu(postmaster: int) -> float:
    """CPU seconds of this process plus the postmaster and its children (pooled backends): the
    work a request costs, whatever else the machine is doing meanwhile."""
    total = time.process_time()
    for name in os.listdir("/proc"):
        fields = _proc_stat(int(name)) if name.isdigit() else None
        if fields is not None and (int(name) == postmaster or int(fields[1]) == postmaster):
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def _seed(db: Database, items: int, root: Path, user_id: uuid.UUID) -> uuid.UUID:
    from tests.mediakit import movie_rows, seed  # the test suite's seeding, reused

    rows = movie_rows(items, seed=11)
    catalogue = await seed(db, rows, root=str(root))
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for n, row in enumerate(rows[: items // 10]):
        await mq.save_progress(
            db,
            user_id,
            row.id,
            0.0 if n % 2 else 600.0,
            6000.0,
            n % 3 == 0,
            base + timedelta(minutes=n),
            "bench",
        )
    return catalogue.library_id


async def _run(params: Params, dsn: str, tmp: Path) -> Result:
    db, gate, user_id = await open_bench_db(dsn)
    try:
        root = tmp / "media"
        root.mkdir()
        await _seed(db, params.items, root, user_id)
        # A library at rest has been vacuumed by autovacuum (which a bulk insert triggers): the
        # visibility map lets counts read indexes alone, as they would on a real appliance.
        await db.run_asyncio(lambda c: c.execute("VACUUM ANALYZE"))

        principal = Principal(
            str(user_id), "bench", role="admin", permissions=frozenset(rbac.PERMISSIONS)
        )

        async def stub(request: Any, state: Any) -> Principal:
            return principal

        config = Config()
        config.media.peak_hours = ""
        state = AppState(
            config=config,
            data_dir=tmp,
            db=db,
            redis=None,  # type: ignore[arg-type]
            pg_gate=gate,
            redis_gate=gate,
            authenticator=stub,
        )
        app = create_app(state)
        client = app.test_client()
        figures: list[Figure] = []
        samples: dict[str, list[float]] = {}
        totals = totals_for(db)
        item_ids = await db.run_asyncio(
            lambda c: c.fetch("SELECT id FROM media_items WHERE present ORDER BY id LIMIT 500")
        )
        item_ids = [r["id"] for r in item_ids]
        other_id = uuid.uuid4()
        await db.run_asyncio(
            lambda c: c.execute(
                "INSERT INTO users (id, username, role, password_hash, created_at, updated_at) "
                "VALUES ($1, 'other', 'user', 'x', now(), now())",
                other_id,
            )
        )
        touch = itertools.count()
        backend = await db.run_asyncio(lambda c: c.fetchval("SELECT pg_backend_pid()"))
        postmaster = _parent(backend)
        for name, q in _queries().items():
            body = msgspec.to_builtins(q)
            filters = _filters(q, user_id, None)

            async def api(*, counted: bool, body: dict[str, Any] = body) -> float:
                if counted:
                    totals.clear()  # as the first request after a change to the library
                t0 = time.perf_counter()
                response = await client.post("/api/v1/media/query", json=body)
                elapsed = (time.perf_counter() - t0) * 1000
                assert response.status_code == 200, await response.get_data()
                return elapsed

            async def changed(*, body: dict[str, Any] = body) -> float:
                # A change to the library as a scan or a metadata refresh makes it (a logged
                # item change in the queried library), committed just before the request.
                n = next(touch)
                await db.run_asyncio(
                    lambda c: c.execute(
                        "UPDATE media_items SET tagline = $2 WHERE id = $1",
                        item_ids[n % len(item_ids)],
                        f"bench {n}",
                    )
                )
                return await api(counted=False, body=body)

            async def heartbeat(*, body: dict[str, Any] = body) -> float:
                # Another user's player reporting progress (every 10 s while anything plays).
                n = next(touch)
                await mq.save_progress(
                    db,
                    other_id,
                    item_ids[n % len(item_ids)],
                    float(n),
                    6000.0,
                    False,
                    datetime.now(UTC),
                    "tv",
                )
                return await api(counted=False, body=body)

            async def sql(q: MediaQuery = q, filters: mq.Filters = filters) -> float:
                totals.clear()
                t0 = time.perf_counter()
                await mq.query(
                    db,
                    filters,
                    q.sort_by.value,
                    q.sort_order == SortOrder.DESC,
                    q.limit + 1,
                    0,
                    None,
                    with_total=True,
                )
                return (time.perf_counter() - t0) * 1000

            for _ in range(20):  # warm-up
                await api(counted=False)
            cpu0 = _cpu(postmaster)
            cached = [await api(counted=False) for _ in range(params.samples)]
            cpu1 = _cpu(postmaster)
            cold = [await api(counted=True) for _ in range(params.samples)]
            cpu2 = _cpu(postmaster)
            after_change = [await changed() for _ in range(params.samples)]
            after_beat = [await heartbeat() for _ in range(params.samples)]
            raw = [await sql() for _ in range(params.samples)]
            samples[f"query {name} api ms"] = cached
            samples[f"query {name} api total counted ms"] = cold
            samples[f"query {name} api after a change ms"] = after_change
            samples[f"query {name} api after a heartbeat ms"] = after_beat
            samples[f"query {name} sql ms"] = raw
            figures += [
                Figure(f"query {name}: p50", statistics.median(cached), "ms"),
                Figure(f"query {name}: p99", _pct(cached, 0.99), "ms"),
                Figure(
                    f"query {name}: CPU per request", (cpu1 - cpu0) / params.samples * 1000, "ms"
                ),
                Figure(f"query {name}: p50, total counted", statistics.median(cold), "ms"),
                Figure(
                    f"query {name}: CPU per request, total counted",
                    (cpu2 - cpu1) / params.samples * 1000,
                    "ms",
                ),
                Figure(
                    f"query {name}: p50, after a library change",
                    statistics.median(after_change),
                    "ms",
                ),
                Figure(
                    f"query {name}: p99, after a library change", _pct(after_change, 0.99), "ms"
                ),
                Figure(
                    f"query {name}: p50, after another user's heartbeat",
                    statistics.median(after_beat),
                    "ms",
                ),
                Figure(
                    f"query {name}: sql p50, total counted (baseline)", statistics.median(raw), "ms"
                ),
                Figure(
                    f"query {name}: api / sql p50, total counted",
                    statistics.median(cold) / statistics.median(raw),
                    "x",
                ),
            ]

        # Streaming over real HTTP.
        path = root / "big.mkv"
        with path.open("wb") as f:
            block = os.urandom(CHUNK)
            for _ in range(params.stream_mb):
                f.write(block)
        file_id = await db.run_asyncio(
            lambda c: c.fetchval(
                "INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns) "
                "SELECT id, $1, $2, $3, 1 FROM libraries LIMIT 1 RETURNING id",
                str(path),
                str(root),
                path.stat().st_size,
            )
        )
        hconfig = HypercornConfig()
        hconfig.bind = ["127.0.0.1:0"]
        hconfig.accesslog = None
        hconfig.errorlog = logging.getLogger("bench.hypercorn")
        logging.getLogger("appliance.api.app.access").setLevel(logging.WARNING)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, app, hconfig)
            url = binds[0]
            host, port = url.split("//")[1].split(":")
            for clients in (1, 8):
                http_rates, raw_rates = [], []
                for _ in range(3):
                    http_rates.append(
                        await trio.to_thread.run_sync(
                            _http_rate, host, int(port), f"/api/v1/stream/{file_id}", clients
                        )
                    )
                    raw_rates.append(await trio.to_thread.run_sync(_raw_rate, path, clients))
                samples[f"stream x{clients} MB/s"] = http_rates
                samples[f"raw read x{clients} MB/s"] = raw_rates
                figures += [
                    Figure(
                        f"stream {clients} client(s): total", statistics.median(http_rates), "MB/s"
                    ),
                    Figure(
                        f"raw read {clients} thread(s) (baseline)",
                        statistics.median(raw_rates),
                        "MB/s",
                    ),
                    Figure(
                        f"stream / raw, {clients} client(s)",
                        statistics.median(http_rates) / statistics.median(raw_rates),
                        "x",
                    ),
                ]
            nursery.cancel_scope.cancel()
        return Result(
            "media",
            f"{len(_queries())} queries x {params.samples} on "
            f"{params.items} items; streaming a {params.stream_mb} MiB file, 1 and 8 "
            "clients, 3 rounds",
            figures,
            params=dataclasses.asdict(params),
            samples=samples,
        )
    finally:
        await db.close()


def _http_rate(host: str, port: int, path: str, clients: int) -> float:
    total = [0] * clients

    def one(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200, response.status
        while chunk := response.read(CHUNK):
            total[i] += len(chunk)
        conn.close()

    return _threads(one, clients, total)


def _raw_rate(path: Path, clients: int) -> float:
    total = [0] * clients

    def one(i: int) -> None:
        with path.open("rb", buffering=0) as f:
            while chunk := f.read(CHUNK):
                total[i] += len(chunk)

    return _threads(one, clients, total)


def _threads(fn: Any, clients: int, total: list[int]) -> float:
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(total) / (time.perf_counter() - t0) / 1e6


def run(params: Params) -> Result:
    with throwaway_postgres() as postgres:
        dsn = postgres.maintenance_dsn
        tmp = Path(tempfile.mkdtemp(prefix="fxbm"))

        async def main() -> Result:
            async with trio_asyncio.open_loop():
                return await _run(params, dsn, tmp)

        try:
            return trio.run(main)
        except OSError as exc:
            raise BenchError(str(exc)) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
