"""What every benchmark shares: its result type and a throwaway Postgres cluster."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trio

from appliance.children import Account, Child, lookup_account
from appliance.embedded_postgres import EmbeddedPostgres, find_bin_dir
from appliance.preflight import create_account
from appliance.supervisor import StartError
from bench.result import BenchError as BenchError
from bench.result import Figure as Figure
from bench.result import Result as Result
from store.db import Database
from store.gate import ServiceGate
from store.migrate import migrate

SERVICE_ACCOUNT = "ferrex"


async def open_bench_db(dsn: str) -> tuple[Database, ServiceGate, uuid.UUID]:
    """The appliance's own database layer on a throwaway cluster, migrated, with one admin
    user to run queries as (its gate is open, for an ``AppState``); the caller closes it."""
    gate = ServiceGate("postgres")
    gate.open()
    db = await Database.connect(dsn, gate, max_size=10)
    try:
        await migrate(db)
        user_id = uuid.uuid4()
        await db.run_asyncio(
            lambda c: c.execute(
                "INSERT INTO users (id, username, role, password_hash, created_at, updated_at) "
                "VALUES ($1, 'bench', 'admin', 'x', now(), now())",
                user_id,
            )
        )
    except BaseException:
        await db.close()
        raise
    return db, gate, user_id


def median(values: list[float]) -> float:
    return statistics.median(values)


def make_temp_dir() -> Path:
    """Short (unix socket paths are limited) and enterable by the service account."""
    path = Path(tempfile.mkdtemp(prefix="fxb"))
    os.chmod(path, 0o755)
    return path


def service_account() -> Account | None:
    """Postgres refuses to run as root: as root, run it as the unprivileged ``ferrex``."""
    if os.geteuid() != 0:
        return None
    return lookup_account(SERVICE_ACCOUNT) or create_account(SERVICE_ACCOUNT)


def _drain(child: Child) -> None:
    """Read the child's output so it can never block on a full pipe; keep the tail."""
    assert child.popen.stdout is not None
    for raw in child.popen.stdout:
        child.tail.append(raw.decode("utf-8", "replace").rstrip())


async def _wait_ready(postgres: EmbeddedPostgres, child: Child) -> None:
    with trio.fail_after(30):
        await postgres.wait_ready(child)


def _stop(child: Child) -> None:
    child.popen.send_signal(signal.SIGINT)  # fast shutdown
    try:
        child.popen.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.popen.kill()
        child.popen.wait()


@contextmanager
def throwaway_postgres() -> Iterator[EmbeddedPostgres]:
    """A fresh cluster in a temp dir, built and started with the appliance's own code."""
    bin_dir = find_bin_dir("")
    if bin_dir is None:
        raise BenchError("initdb not found (apt-get install postgresql)")
    tmp = make_temp_dir()
    child: Child | None = None
    try:
        postgres = EmbeddedPostgres(tmp, bin_dir, service_account())
        try:
            postgres.initdb()
            child = postgres.spawn()  # prepares the socket dir
            threading.Thread(target=_drain, args=(child,), daemon=True).start()
            trio.run(_wait_ready, postgres, child)
        except (StartError, trio.TooSlowError) as exc:
            tail = " | ".join(child.tail) if child else ""
            raise BenchError(f"postgres did not start: {exc} {tail}".strip()) from None
        yield postgres
    finally:
        if child is not None:
            _stop(child)
        shutil.rmtree(tmp, ignore_errors=True)
