"""The appliance fits a 2 GB board (issue #17): idle pooled connections are closed after
``database.pool_idle_seconds``, walk workers start on demand and leave after
``scan.worker_idle_seconds``, and the embedded Postgres is sized by ``memory.profile`` / the RAM.
``python -m bench.run memory`` measures what each saves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import trio
import trio_asyncio

from appliance.pgmemory import MIB, malloc_tunables, postgres_settings, resolve_profile
from appliance.scan.walkers import Walkers
from appliance.scan.walking import WalkSpec
from store.db import Database
from store.gate import ServiceGate
from tests.helpers import RunningAppliance, cmdline, live_children, short_tempdir, wait_for
from tests.scankit import touch

GIB = 1024 * MIB


def test_profiles_follow_the_ram() -> None:
    assert [resolve_profile("auto", ram) for ram in (1 * GIB, 2 * GIB, 4 * GIB, 16 * GIB)] == [
        "small",
        "small",
        "large",
        "large",
    ]
    assert resolve_profile("small", 16 * GIB) == "small"  # the admin's choice wins
    pi = postgres_settings("auto", 2 * GIB, pool_max=10)
    assert pi["shared_buffers"] == "32MB" and pi["work_mem"] == "2MB"
    assert pi["jit"] == "off" and pi["max_parallel_workers_per_gather"] == "0"
    assert pi["huge_pages"] == "off" and pi["autovacuum_max_workers"] == "1"
    assert pi["effective_cache_size"] == "512MB"
    nas = postgres_settings("auto", 16 * GIB, pool_max=10)
    assert nas["shared_buffers"] == "1024MB" and nas["effective_cache_size"] == "8192MB"
    assert postgres_settings("large", 4 * GIB, 10)["shared_buffers"] == "256MB"
    # what the appliance passed before profiles: Postgres's defaults, 50 connections
    assert postgres_settings("stock", 2 * GIB, 10) == {"max_connections": "50"}
    assert malloc_tunables("stock", 2 * GIB) is None  # and glibc's own malloc behaviour
    assert malloc_tunables("auto", 2 * GIB) == "glibc.malloc.mmap_threshold=131072"


def test_connections_leave_room_beside_the_pool() -> None:
    for profile in ("small", "large", "stock"):
        for pool_max in (1, 10, 60):
            settings = postgres_settings(profile, 2 * GIB, pool_max)
            assert int(settings["max_connections"]) >= pool_max + 10


async def _pool_backends(dsn: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            n: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'ferrex-appliance'"
            )
            return n
        finally:
            await conn.close()

    result: int = await trio_asyncio.aio_as_trio(count)()
    return result


async def _open_four(db: Database) -> None:
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(db.run_asyncio, lambda c: c.execute("SELECT pg_sleep(0.2)"))


@pytest.mark.parametrize(("idle", "left"), [(0.5, 1), (0.0, 4)])
async def test_idle_pool_connections_are_closed_after_the_configured_seconds(
    fresh_dsn: str, idle: float, left: int
) -> None:
    gate = ServiceGate("postgres")
    gate.open()
    db = await Database.connect(fresh_dsn, gate, min_size=1, max_size=10, idle_seconds=idle)
    try:
        await _open_four(db)
        assert await _pool_backends(fresh_dsn) == 4  # a burst opens what it needs
        await trio.sleep(2.0)
        # idle backends gone but the pool_min floor (each holds megabytes); 0 keeps them all
        assert await _pool_backends(fresh_dsn) == left
        assert await db.run_asyncio(lambda c: c.fetchval("SELECT 1")) == 1  # reopened on use
    finally:
        await db.close()


def _walk_workers() -> list[int]:
    import os

    return [
        pid
        for pid in live_children(os.getpid())
        if "multiprocessing" in cmdline(pid) and "resource_tracker" not in cmdline(pid)
    ]


async def test_walk_workers_start_on_demand_and_leave_when_idle(tmp_path: Path) -> None:
    root = tmp_path / "films"
    for n in range(100):
        touch(root, f"Film {n:03d} ({1950 + n})/Film {n:03d} ({1950 + n}).mkv")
    spec = WalkSpec([str(root)], start_is_root=True, library_kind="movies", roots=(str(root),))
    walkers = Walkers(2, idle_seconds=1.0)
    async with walkers.open():
        await walkers.warm_up()
        assert _walk_workers() == []  # nothing started before a walk needs it
        assert (await walkers.walk(spec)).files == 100
        assert _walk_workers()
        with trio.fail_after(10):
            while _walk_workers():  # retired after a second without a walk
                await trio.sleep(0.1)
        assert (await walkers.walk(spec)).files == 100  # and started again on demand


WALK_AND_LIST_CHILDREN = """
import os, sys, trio
from appliance.scan.walkers import Walkers
from appliance.scan.walking import WalkSpec
from tests.helpers import cmdline, live_children

async def main() -> None:
    root = sys.argv[1]
    walkers = Walkers(2, idle_seconds=0)
    async with walkers.open():
        spec = WalkSpec([root], start_is_root=True, library_kind="movies", roots=(root,))
        print((await walkers.walk(spec)).files)
        for pid in live_children(os.getpid()):
            print(cmdline(pid))

if __name__ == "__main__":
    trio.run(main)
"""


def test_walk_workers_come_without_a_resource_tracker_process(tmp_path: Path) -> None:
    root = tmp_path / "films"
    for n in range(100):
        touch(root, f"Film {n:03d} ({1950 + n})/Film {n:03d} ({1950 + n}).mkv")
    script = tmp_path / "walk.py"  # a fresh process: no tracker from another test in it
    script.write_text(WALK_AND_LIST_CHILDREN)
    out = subprocess.run(
        [sys.executable, str(script), str(root)],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    files, children = out[0], out[1:]
    assert files == "100"  # the walk ran in the workers
    assert len([c for c in children if "spawn_main" in c]) == 2, children
    # multiprocessing's spawn would have started one more interpreter (~7 MB) that outlives them
    assert not [c for c in children if "resource_tracker" in c], children


def test_what_a_walk_worker_imports_stays_light() -> None:
    """A walk worker imports ``appliance.scan.walking`` and what it needs, no more: not trio
    (the appliance's loop), not ``importlib.metadata`` (only the main process asks for
    ``appliance.__version__``; ~3.5 MB PSS per worker when every import of the package
    looked it up)."""
    code = (
        "import sys, appliance.scan.walking, appliance\n"
        "print(sorted(m for m in ('trio', 'importlib.metadata', 'asyncpg') if m in sys.modules))\n"
        "print(appliance.__version__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1]  # and the version is still there when asked for


@pytest.fixture(scope="module")
def small_appliance() -> Iterator[RunningAppliance]:
    app = RunningAppliance(
        short_tempdir("fxm") / "var",
        env={"FERREX_MEMORY_PROFILE": "small", "FERREX_SCAN_WALK_PROCESSES": "2"},
    )
    try:
        app.wait_ready()
        yield app
    finally:
        assert app.stop(signal.SIGTERM) == 0


def test_the_embedded_cluster_runs_with_the_small_profile(
    small_appliance: RunningAppliance,
) -> None:
    dsn = f"postgresql://ferrex@/ferrex?host={small_appliance.data_dir / 'run'}&port=5432"

    async def show() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            return [
                await conn.fetchval(f"SHOW {name}")
                for name in ("shared_buffers", "work_mem", "jit", "max_connections")
            ]
        finally:
            await conn.close()

    import asyncio

    assert asyncio.run(show()) == ["32MB", "2MB", "off", "20"]


def test_a_backend_hands_back_what_a_big_statement_took(
    small_appliance: RunningAppliance,
) -> None:
    """A scan binds thousands of rows per statement; afterwards the backend idles in the pool.
    With glibc's default (a mmap threshold that rises after the first large free) it kept the
    freed blocks; the small profile fixes the threshold (``GLIBC_TUNABLES``), so they go back."""
    import asyncio
    import re

    dsn = f"postgresql://ferrex@/ferrex?host={small_appliance.data_dir / 'run'}&port=5432"

    def anon_mib(pid: int) -> float:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        found = re.search(r"^Pss_Anon:\s+(\d+)", text, re.M)
        assert found is not None
        return int(found.group(1)) / 1024

    async def run() -> tuple[float, float]:
        conn = await asyncpg.connect(dsn)
        try:
            pid: int = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("CREATE TABLE memtest_rows (path text, name text, n int)")
            before = anon_mib(pid)
            for k in range(6):  # batches of file paths, as an index upsert binds them
                rows = [
                    f"/srv/media/Show {i} ({k})/Season 01/Show - S01E{i:02d} - A Title.mkv"
                    for i in range(20_000 + 3_000 * k)
                ]
                await conn.execute(
                    "INSERT INTO memtest_rows SELECT p, p || 'x', length(p) "
                    "FROM unnest($1::text[]) p",
                    rows,
                )
                await conn.fetchval(
                    "SELECT count(*) FROM (SELECT DISTINCT name FROM memtest_rows) x"
                )
            return before, anon_mib(pid)
        finally:
            await conn.execute("DROP TABLE IF EXISTS memtest_rows")
            await conn.close()

    before, after = asyncio.run(run())
    # measured: +0.5 MiB with the fixed threshold, +4.5 MiB with glibc's default
    assert after - before < 2.0, (before, after)


def test_an_idle_appliance_starts_no_walk_workers(small_appliance: RunningAppliance) -> None:
    def others() -> list[str]:
        names = (cmdline(pid) for pid in live_children(small_appliance.proc.pid))
        return sorted(n.split()[0].rsplit("/", 1)[-1] for n in names)

    # only its servers: walk workers (and multiprocessing's resource tracker) come with a scan
    assert wait_for(lambda: others() == ["postgres", "redis-server"], 5), others()


async def test_freed_heap_is_handed_back_and_zero_turns_it_off() -> None:
    from appliance import memtrim

    trim = memtrim._malloc_trim()
    assert trim is not None, "glibc's malloc_trim, as on Debian and Raspberry Pi OS"
    blocks = [bytearray(64 * 1024) for _ in range(2000)]  # ~128 MB, then freed
    del blocks
    assert trim(0) in (0, 1)
    with trio.fail_after(1):
        await memtrim.run(0)  # 0: returns at once, no task left trimming
