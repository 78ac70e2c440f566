"""The replica bench's end-to-end part: a real feed over HTTP into a replica in another process.

The appliance's app (quart-trio, the real sync routes and SQL, authentication stubbed as in the
``media`` bench) serves a throwaway Postgres seeded with the test suite's movie rows over
hypercorn on 127.0.0.1. The client is a separate process, as a player is: it times
``SyncClient.snapshot`` (stream, spool, apply, commit) and, after 100 watch-state changes
written on the server (the way the media API writes them), ``SyncClient.pull_changes``.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trio
import trio_asyncio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from appliance import syncfeed
from appliance.api.app import create_app
from appliance.auth import rbac
from appliance.auth.principal import Principal
from appliance.config import Config
from appliance.state import AppState
from bench.common import BenchError, Figure, open_bench_db, throwaway_postgres
from store import media_query as mq

REPO = Path(__file__).resolve().parent.parent
CLIENT = """
import json, sys, time, trio
from sync.client import SyncClient
from sync.connection import ServerConnection
from sync.replica import Replica

async def main(mode, url, path):
    if mode == "download":  # the baseline: the same body, read and dropped
        import httpx
        async with httpx.AsyncClient(timeout=None) as http:
            t0 = time.perf_counter()
            size = 0
            async with http.stream("GET", url + "/api/v1/sync/snapshot",
                                   headers={"Authorization": "Bearer bench"}) as response:
                async for chunk in response.aiter_bytes(1 << 20):
                    size += len(chunk)
            print(json.dumps({"s": time.perf_counter() - t0, "bytes": size}))
        return
    replica = Replica.open(path)
    marks = {}
    def progress(message):
        if "applying" in message:
            marks["received"] = time.perf_counter()
    async with ServerConnection(url, access_token="bench") as connection:
        client = SyncClient(replica, connection, progress=progress)
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = await (client.snapshot() if mode == "snapshot" else client.pull_changes())
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    received = marks.get("received", t0) - t0
    print(json.dumps({"s": elapsed, "download_s": received, "cpu_s": cpu,
                      "changed": result.changed, "count": replica.count()}))
    replica.close()

trio.run(main, *sys.argv[1:])
"""


def _client(mode: str, url: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, mode, url, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"sync client failed: {done.stderr.strip()[-800:]}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def end_to_end(
    items: int, rounds: int, tmp: Path, cold_rounds: int = 1
) -> tuple[list[Figure], dict[str, list[float]]]:
    with throwaway_postgres() as postgres:
        dsn = postgres.maintenance_dsn

        async def main() -> tuple[list[Figure], dict[str, list[float]]]:
            async with trio_asyncio.open_loop():
                return await _serve_and_measure(dsn, items, rounds, cold_rounds, tmp)

        return trio.run(main)


async def _serve_and_measure(
    dsn: str, items: int, rounds: int, cold_rounds: int, tmp: Path
) -> tuple[list[Figure], dict[str, list[float]]]:
    from tests.mediakit import movie_rows, seed  # the test suite's seeding, reused

    db, gate, user_id = await open_bench_db(dsn)
    try:
        rows = movie_rows(items, seed=11)
        await seed(db, rows, root=str(tmp / "media"))
        await db.run_asyncio(lambda c: c.execute("VACUUM ANALYZE"))
        principal = Principal(
            str(user_id), "bench", role="admin", permissions=frozenset(rbac.PERMISSIONS)
        )

        async def stub(request: Any, state: Any) -> Principal:
            return principal

        state = AppState(
            config=Config(),
            data_dir=tmp,
            db=db,
            redis=None,  # type: ignore[arg-type]
            pg_gate=gate,
            redis_gate=gate,
            authenticator=stub,
        )
        state.server_id = "bench"
        app = create_app(state)
        hconfig = HypercornConfig()
        hconfig.bind = ["127.0.0.1:0"]
        hconfig.accesslog = None
        hconfig.errorlog = logging.getLogger("bench.hypercorn")
        logging.getLogger("appliance.api.app.access").setLevel(logging.WARNING)
        cold: list[float] = []
        cold_bare: list[float] = []
        snaps: list[float] = []
        downloads: list[float] = []
        client_cpu: list[float] = []
        bare: list[float] = []
        body_mb = 0.0
        pulls: list[float] = []
        base = datetime(2026, 1, 1, tzinfo=UTC)
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, app, hconfig)
            url = binds[0]

            async def snapshot_round(
                path: Path, times: list[float], bare_times: list[float]
            ) -> dict[str, Any]:
                got = await trio.to_thread.run_sync(_client, "snapshot", url, path)
                if got["count"] < items * 0.9:  # a few seeded rows are not present on disk
                    raise BenchError(f"snapshot brought {got['count']} of {items} items")
                times.append(got["s"])
                raw = await trio.to_thread.run_sync(_client, "download", url, path)
                bare_times.append(raw["s"])
                got["bytes"] = raw["bytes"]
                return got

            # No stored records yet (a server right after a scan): every record is built.
            for n in range(cold_rounds):
                await snapshot_round(tmp / f"cold{n}" / "replica", cold, cold_bare)
            started = time.perf_counter()
            stored = await syncfeed.refresh_records(db)
            fill_s = time.perf_counter() - started
            if stored < items * 0.9:
                raise BenchError(f"only {stored} records stored")
            await db.run_asyncio(lambda c: c.execute("VACUUM ANALYZE"))
            for n in range(rounds):
                path = tmp / f"e2e{n}" / "replica"
                got = await snapshot_round(path, snaps, bare)
                downloads.append(got["download_s"])
                client_cpu.append(got["cpu_s"])
                body_mb = got["bytes"] / 1e6
                for k in range(3):
                    for i, row in enumerate(rows[:100]):
                        await mq.save_progress(
                            db,
                            user_id,
                            row.id,
                            60.0 * (k + 1),
                            6000.0,
                            False,
                            base + timedelta(hours=n, minutes=k, seconds=i),
                            "bench",
                        )
                    got = await trio.to_thread.run_sync(_client, "changes", url, path)
                    if got["changed"] != 100:
                        raise BenchError(f"the changes page had {got['changed']} of 100")
                    pulls.append(got["s"] * 1000)
            nursery.cancel_scope.cancel()
        figures = []
        if cold:
            figures += [
                Figure(
                    "no stored records: initial sync (every record built)",
                    statistics.median(cold),
                    "s",
                ),
                Figure(
                    "no stored records: the snapshot body read and dropped",
                    statistics.median(cold_bare),
                    "s",
                ),
            ]
        figures += [
            Figure(f"records of {stored} items encoded and stored (refresh_records)", fill_s, "s"),
            Figure(
                f"end to end: initial sync of {items} items (HTTP + apply)",
                statistics.median(snaps),
                "s",
            ),
            Figure(
                "  of which the server's snapshot stream, received and spooled",
                statistics.median(downloads),
                "s",
            ),
            Figure(
                "  CPU time of the player process (receive, prepare, apply)",
                statistics.median(client_cpu),
                "s",
            ),
            Figure(
                f"the same snapshot body ({body_mb:.0f} MB) read and dropped (baseline)",
                statistics.median(bare),
                "s",
            ),
            Figure(
                "initial sync / bare download",
                statistics.median(snaps) / statistics.median(bare),
                "x",
            ),
            Figure(
                "end to end: 100 changes pulled and applied: p50", statistics.median(pulls), "ms"
            ),
            Figure("end to end: 100 changes pulled and applied: max", max(pulls), "ms"),
        ]
        return figures, {
            "e2e cold snapshot s": cold,
            "e2e cold bare download s": cold_bare,
            "e2e records stored s": [fill_s],
            "e2e snapshot s": snaps,
            "e2e snapshot download s": downloads,
            "e2e client cpu s": client_cpu,
            "e2e bare download s": bare,
            "e2e 100 changes ms": pulls,
        }
    finally:
        await db.close()
