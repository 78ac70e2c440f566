"""Shared fixtures: ONE real Postgres cluster and ONE real Redis for the whole session.

Each test that needs a database gets a fresh one cloned from a migrated template
(``CREATE DATABASE ... TEMPLATE``), which is fast and keeps tests independent.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import trio
import trio_asyncio

from appliance.embedded_postgres import EmbeddedPostgres, find_bin_dir
from appliance.embedded_redis import EmbeddedRedis, find_redis_server
from appliance.redis_client import RedisClient
from store.db import Database
from store.gate import ServiceGate
from store.migrate import migrate
from tests.hang_guard import pytest_timeout_cancel_timer, pytest_timeout_set_timer
from tests.helpers import live_processes_mentioning, service_account, short_tempdir

TEMPLATE_DB = "ferrex_template"

__all__ = ["pytest_timeout_cancel_timer", "pytest_timeout_set_timer"]  # hooks (hang_guard)


def _drain(popen: subprocess.Popen[bytes]) -> None:
    """Read a child's output until it exits, keeping nothing."""
    if popen.stdout is not None:
        for _line in popen.stdout:
            pass


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


@dataclass
class Backends:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis

    def dsn(self, database: str) -> str:
        return f"postgresql://ferrex@/{database}?host={self.postgres.socket_dir}&port=5432"


def _run_trio(fn: object, *args: object) -> object:
    async def main() -> object:
        async with trio_asyncio.open_loop():
            return await fn(*args)  # type: ignore[operator]

    return trio.run(main)


@pytest.fixture(scope="session")
def backends() -> Iterator[Backends]:
    root = short_tempdir("fxt")
    account = service_account()
    bin_dir = find_bin_dir("")
    redis_bin = find_redis_server("")
    assert bin_dir is not None, "postgresql is not installed (scripts/deps.sh installs it)"
    assert redis_bin is not None, "redis-server is not installed (scripts/deps.sh installs it)"
    postgres = EmbeddedPostgres(root, bin_dir, account)
    redis = EmbeddedRedis(root, redis_bin, account)
    postgres.prepare_socket_dir()
    postgres.initdb()
    pg_child = postgres.spawn()
    redis_child = redis.spawn()
    # Nothing else reads these children's output in a test session: a full pipe (64 KiB of log
    # lines) would block Postgres in the middle of a checkpoint and hang every later test.
    for child in (pg_child, redis_child):
        threading.Thread(target=_drain, args=(child.popen,), daemon=True).start()
    try:
        _wait(lambda: postgres.status() == "ready", 60, "postgres")
        _wait(redis.socket.exists, 30, "redis")
        backends = Backends(postgres, redis)

        async def create_template_db() -> None:
            conn = await asyncpg.connect(postgres.maintenance_dsn)
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
            await conn.close()

        async def make_template() -> None:
            await trio_asyncio.aio_as_trio(create_template_db)()
            gate = ServiceGate("postgres")
            gate.open()
            db = await Database.connect(backends.dsn(TEMPLATE_DB), gate)
            await migrate(db)
            await db.close()

        _run_trio(make_template)
        yield backends
    finally:
        for child, sig in ((redis_child, signal.SIGTERM), (pg_child, signal.SIGINT)):
            child.send_signal(sig)
            try:
                child.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.popen.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def aio_loop() -> AsyncIterator[object]:
    """trio-asyncio's loop, which the asyncpg and redis-py bridges run on."""
    async with trio_asyncio.open_loop() as loop:
        yield loop


@pytest.fixture
async def fresh_dsn(backends: Backends, aio_loop: object) -> AsyncIterator[str]:
    """A new database cloned from the migrated template, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(backends.postgres.maintenance_dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    await trio_asyncio.aio_as_trio(sql)(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    try:
        yield backends.dsn(name)
    finally:
        with trio.CancelScope(shield=True):
            await trio_asyncio.aio_as_trio(sql)(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def db(fresh_dsn: str) -> AsyncIterator[Database]:
    gate = ServiceGate("postgres")
    gate.open()
    database = await Database.connect(fresh_dsn, gate, max_size=4)
    try:
        yield database
    finally:
        with trio.CancelScope(shield=True):
            await database.close()


@pytest.fixture
async def redis(backends: Backends, aio_loop: object) -> AsyncIterator[RedisClient]:
    gate = ServiceGate("redis")
    gate.open()
    client = RedisClient(backends.redis.url, gate)
    await client.execute("FLUSHALL")
    try:
        yield client
    finally:
        with trio.CancelScope(shield=True):
            await client.close()


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A short scratch dir for real appliance processes; whatever still runs in it is killed."""
    path = short_tempdir("fxw")
    yield path
    for pid in live_processes_mentioning(str(path)):
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)
