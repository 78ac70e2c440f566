"""Bootstrap of the embedded cluster: the application database inside a fresh cluster."""

from __future__ import annotations

import asyncpg
import trio_asyncio

from store.sql import sql

DATABASE_EXISTS = sql("SELECT 1 FROM pg_database WHERE datname = $1")
CREATE_DATABASE = sql("CREATE DATABASE \"ferrex\" ENCODING 'UTF8' TEMPLATE template0")


async def ensure_database(maintenance_dsn: str) -> bool:
    """Create the ``ferrex`` database if missing; True if it was created."""

    async def run() -> bool:
        conn = await asyncpg.connect(maintenance_dsn, timeout=10)
        try:
            if await conn.fetchval(DATABASE_EXISTS.text, "ferrex"):
                return False
            await conn.execute(CREATE_DATABASE.text)
            return True
        finally:
            await conn.close()

    created: bool = await trio_asyncio.aio_as_trio(run)()
    return created
