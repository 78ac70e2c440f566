"""``bridge``: SELECT 1 through the trio-asyncio bridge (store.db) versus plain asyncio asyncpg.

Both sides get a pool of ``concurrency`` connections to the same throwaway cluster, opened before
the clock starts. Per round each side runs a warm-up, then ``queries`` statements one at a time
(sequential), then the same number spread over ``concurrency`` tasks (concurrent). Rounds
alternate which side goes first (ABBA), and ratios are taken per round, then the median.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import asyncpg
import trio
import trio_asyncio

from bench.common import Figure, Result, median, throwaway_postgres
from store.db import Database
from store.gate import ServiceGate
from store.sql import sql

PING = sql("SELECT 1")
WARMUP = 200
COMMAND_TIMEOUT = 30.0  # Database's default; the baseline pool gets the same


@dataclass(frozen=True)
class Params:
    rounds: int
    queries: int
    concurrency: int

    @property
    def per_task(self) -> int:
        return max(1, self.queries // self.concurrency)


Ping = Callable[[], Awaitable[object]]


async def _loop(ping: Ping, count: int) -> None:
    for _ in range(count):
        await ping()


async def _sequential_qps(ping: Ping, params: Params) -> float:
    await _loop(ping, WARMUP)
    started = time.perf_counter()
    await _loop(ping, params.queries)
    return params.queries / (time.perf_counter() - started)


async def _bridge_round(dsn: str, params: Params) -> tuple[float, float]:
    gate = ServiceGate("postgres")
    gate.open()
    async with trio_asyncio.open_loop():
        db = await Database.connect(
            dsn,
            gate,
            min_size=params.concurrency,
            max_size=params.concurrency,
            command_timeout=COMMAND_TIMEOUT,
        )
        try:
            ping = partial(db.fetchval, PING)
            sequential = await _sequential_qps(ping, params)
            started = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for _ in range(params.concurrency):
                    nursery.start_soon(_loop, ping, params.per_task)
            elapsed = time.perf_counter() - started
        finally:
            await db.close()
    return sequential, params.per_task * params.concurrency / elapsed


async def _asyncio_round(dsn: str, params: Params) -> tuple[float, float]:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=params.concurrency,
        max_size=params.concurrency,
        command_timeout=COMMAND_TIMEOUT,
    )
    try:
        ping = partial(pool.fetchval, PING.text)
        sequential = await _sequential_qps(ping, params)
        started = time.perf_counter()
        await asyncio.gather(*(_loop(ping, params.per_task) for _ in range(params.concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    return sequential, params.per_task * params.concurrency / elapsed


def run(params: Params) -> Result:
    samples: dict[str, list[float]] = {
        key: [] for key in ("bridge_seq", "asyncio_seq", "bridge_conc", "asyncio_conc")
    }
    with throwaway_postgres() as postgres:
        dsn = postgres.maintenance_dsn
        for round_no in range(params.rounds):
            sides = ["bridge", "asyncio"] if round_no % 2 == 0 else ["asyncio", "bridge"]
            for side in sides:
                if side == "bridge":
                    seq, conc = trio.run(_bridge_round, dsn, params)
                else:
                    seq, conc = asyncio.run(_asyncio_round(dsn, params))
                samples[f"{side}_seq"].append(seq)
                samples[f"{side}_conc"].append(conc)

    def ratio(mode: str) -> float:
        pairs = zip(samples[f"bridge_{mode}"], samples[f"asyncio_{mode}"], strict=True)
        return median([b / a for b, a in pairs])

    bridge_seq, asyncio_seq = median(samples["bridge_seq"]), median(samples["asyncio_seq"])
    n = params.concurrency
    figures = [
        Figure("sequential: bridge (store.db)", bridge_seq, "qps"),
        Figure("sequential: asyncio asyncpg (baseline)", asyncio_seq, "qps"),
        Figure("sequential: bridge / asyncio", ratio("seq"), "x"),
        Figure("sequential: bridge cost per query", 1e6 / bridge_seq - 1e6 / asyncio_seq, "us"),
        Figure(f"{n} tasks: bridge (store.db)", median(samples["bridge_conc"]), "qps"),
        Figure(f"{n} tasks: asyncio asyncpg (baseline)", median(samples["asyncio_conc"]), "qps"),
        Figure(f"{n} tasks: bridge / asyncio", ratio("conc"), "x"),
    ]
    summary = (
        f"SELECT 1, median of {params.rounds} rounds x {params.queries} queries, "
        f"sequential and {n} concurrent tasks"
    )
    return Result("bridge", summary, figures, vars(params).copy(), samples)
