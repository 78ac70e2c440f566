"""The one place where trio meets asyncpg.

asyncpg is asyncio-only; trio-asyncio runs an asyncio loop inside trio. Each public call here is
a single bridge hop (``aio_as_trio``) around an asyncio coroutine that acquires a pooled
connection, runs one statement and releases it, so the bridge cost is paid once per statement.
Callers only see trio functions and :class:`store.sql.Sql` statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, TypeVar

import asyncpg
import trio
import trio_asyncio

from store.gate import ServiceGate, Unavailable
from store.sql import Sql, sql

T = TypeVar("T")
Record: TypeAlias = asyncpg.Record

# Errors that mean "the server is not there", as opposed to a bad query.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    # a connection whose server died mid-statement can fail its reset on release with
    # "cannot switch to state 15; another operation is in progress" (asyncpg terminates it);
    # seen when Postgres was killed under the auth housekeeping's purge
    asyncpg.exceptions._base.InternalClientError,
)

ACQUIRE_TIMEOUT = 2.0
PING = sql("SELECT 1")


class Connection:
    """A connection inside :meth:`Database.transaction`; every call is one bridge hop."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, query: Sql, *args: Any) -> list[Record]:
        result: list[Record] = await trio_asyncio.aio_as_trio(self._conn.fetch)(query.text, *args)
        return result

    async def fetchrow(self, query: Sql, *args: Any) -> Record | None:
        row: Record | None = await trio_asyncio.aio_as_trio(self._conn.fetchrow)(query.text, *args)
        return row

    async def fetchval(self, query: Sql, *args: Any) -> Any:
        return await trio_asyncio.aio_as_trio(self._conn.fetchval)(query.text, *args)

    async def execute(self, query: Sql, *args: Any) -> str:
        status: str = await trio_asyncio.aio_as_trio(self._conn.execute)(query.text, *args)
        return status

    async def executemany(self, query: Sql, args: list[tuple[Any, ...]]) -> None:
        await trio_asyncio.aio_as_trio(self._conn.executemany)(query.text, args)


class Database:
    """An asyncpg pool usable from trio; fails fast (:class:`Unavailable`) if Postgres is down."""

    def __init__(self, pool: Any, gate: ServiceGate, command_timeout: float) -> None:
        self._pool = pool
        self.gate = gate
        self._timeout = command_timeout

    @classmethod
    async def connect(
        cls,
        dsn: str,
        gate: ServiceGate,
        *,
        min_size: int = 1,
        max_size: int = 10,
        command_timeout: float = 30.0,
        idle_seconds: float = 300.0,
    ) -> Database:
        """``idle_seconds``: a connection unused this long is closed (asyncpg reopens one on the
        next acquire); each idle backend holds megabytes of the server's memory. 0: never."""

        async def create() -> Any:
            return await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                max_inactive_connection_lifetime=idle_seconds,
                command_timeout=command_timeout,
                server_settings={"application_name": "ferrex-appliance"},
            )

        try:
            pool = await trio_asyncio.aio_as_trio(create)()
        except _CONNECTION_ERRORS as exc:
            raise Unavailable("postgres", f"cannot connect: {exc}") from exc
        return cls(pool, gate, command_timeout)

    async def _run(self, op: Callable[[Any], Awaitable[T]]) -> T:
        self.gate.check()

        async def in_asyncio() -> T:
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                return await op(conn)

        try:
            return await trio_asyncio.aio_as_trio(in_asyncio)()  # type: ignore[no-any-return]
        except _CONNECTION_ERRORS as exc:
            raise Unavailable("postgres", str(exc) or type(exc).__name__) from exc

    async def fetch(self, query: Sql, *args: Any) -> list[Record]:
        return await self._run(lambda conn: conn.fetch(query.text, *args))

    async def fetchrow(self, query: Sql, *args: Any) -> Record | None:
        return await self._run(lambda conn: conn.fetchrow(query.text, *args))

    async def fetchval(self, query: Sql, *args: Any) -> Any:
        return await self._run(lambda conn: conn.fetchval(query.text, *args))

    async def execute(self, query: Sql, *args: Any) -> str:
        return await self._run(lambda conn: conn.execute(query.text, *args))

    async def ping(self) -> None:
        await self.fetchval(PING)

    async def run_asyncio(self, op: Callable[[Any], Awaitable[T]]) -> T:
        """Run an asyncio function with one pooled connection (migrations, bulk work)."""
        return await self._run(op)

    @asynccontextmanager
    async def transaction(
        self, *, isolation: str | None = None, readonly: bool = False
    ) -> AsyncIterator[Connection]:
        """One connection, one transaction: commits on normal exit, rolls back on any error.

        ``isolation="repeatable_read", readonly=True`` reads one consistent snapshot across many
        statements (the sync feed's snapshot and pages).

        On an error or a cancellation the connection is terminated rather than rolled back:
        the server then rolls back by itself, and we never wait on (or release) a connection
        that may still be busy with a cancelled statement.
        """
        self.gate.check()
        try:
            conn = await trio_asyncio.aio_as_trio(self._pool.acquire)(timeout=ACQUIRE_TIMEOUT)
        except _CONNECTION_ERRORS as exc:
            raise Unavailable("postgres", str(exc) or type(exc).__name__) from exc
        committed = False
        try:
            tx = conn.transaction(isolation=isolation, readonly=readonly)
            await trio_asyncio.aio_as_trio(tx.start)()
            yield Connection(conn)
            await trio_asyncio.aio_as_trio(tx.commit)()
            committed = True
        except _CONNECTION_ERRORS as exc:
            raise Unavailable("postgres", str(exc) or type(exc).__name__) from exc
        finally:
            with trio.CancelScope(shield=True):
                if not committed:
                    conn.terminate()
                with trio.move_on_after(5) as release:
                    await trio_asyncio.aio_as_trio(self._pool.release)(conn)
                if release.cancelled_caught:
                    conn.terminate()

    async def expire_connections(self) -> None:
        """After Postgres restarted, drop pooled connections that point at the dead server."""
        await trio_asyncio.aio_as_trio(self._pool.expire_connections)()

    async def close(self) -> None:
        with trio.move_on_after(5) as scope:
            await trio_asyncio.aio_as_trio(self._pool.close)()
        if scope.cancelled_caught:
            self._pool.terminate()
