"""Versioned SQL migrations: ``store/migrations/NNNN_name.sql``, applied in order.

Each file runs in its own transaction together with its row in ``schema_migrations``, so an
interrupted migration leaves the database at the previous version. A session advisory lock makes
two appliances (or ``migrate`` beside ``serve``) on one database take turns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.db import Database
from store.sql import sql

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; this one spells "ferrex" in ASCII.
ADVISORY_LOCK_KEY = 0x666572726578

LOCK = sql("SELECT pg_advisory_lock($1)")
UNLOCK = sql("SELECT pg_advisory_unlock($1)")
CREATE_TABLE = sql(
    """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
    """
)
APPLIED = sql("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
RECORD = sql("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(db: Database, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is missing; returns what was applied. Refuses a database newer than the code."""
    wanted = discover() if migrations is None else migrations
    known = {m.version: m for m in wanted}

    async def run(conn: Any) -> list[Migration]:
        await conn.execute(LOCK.text, ADVISORY_LOCK_KEY)
        try:
            await conn.execute(CREATE_TABLE.text)
            applied = {r["version"]: r for r in await conn.fetch(APPLIED.text)}
            newer = sorted(v for v in applied if v not in known)
            if newer and newer[-1] > max(known, default=0):
                raise MigrationError(
                    f"database schema is at version {newer[-1]}, newer than this Ferrex "
                    f"(knows up to {max(known, default=0)}); upgrade Ferrex or restore a backup"
                )
            for version, row in applied.items():
                if version in known and row["checksum"] != known[version].checksum:
                    raise MigrationError(
                        f"migration {version:04d}_{row['name']} was changed after it was applied"
                    )
            done: list[Migration] = []
            for migration in wanted:
                if migration.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        RECORD.text, migration.version, migration.name, migration.checksum
                    )
                done.append(migration)
            return done
        finally:
            await conn.execute(UNLOCK.text, ADVISORY_LOCK_KEY)

    return await db.run_asyncio(run)
