"""Every SQL statement in store/ must PREPARE against the migrated schema.

This is the suite's stand-in for SQLx's compile-time checks: a typo, a dropped column or a
renamed table fails here instead of in a user's request.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import asyncpg
import pytest

import store
from store.db import Database
from store.sql import REGISTRY, sql


def import_all_store_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(store.__path__, "store.")]
    for name in names:
        importlib.import_module(name)
    return names


async def test_every_registered_statement_prepares(db: Database) -> None:
    import_all_store_modules()
    statements = [s for s in REGISTRY if not s.module.startswith("tests.")]
    assert len(statements) >= 8, "store/ registers its statements through store.sql.sql()"
    failures: list[str] = []

    async def prepare_all(conn: Any) -> None:
        for statement in statements:
            try:
                await conn.prepare(statement.text)
            except asyncpg.PostgresError as exc:
                failures.append(f"{statement.module}: {exc}\n    {statement.text}")

    await db.run_asyncio(prepare_all)
    assert not failures, "statements that do not prepare:\n" + "\n".join(failures)


async def test_a_broken_statement_is_caught(db: Database) -> None:
    """The check above can fail: a wrong column name does not prepare."""
    broken = sql("SELECT no_such_column FROM server_state")
    REGISTRY.remove(broken)

    async def prepare(conn: Any) -> None:
        await conn.prepare(broken.text)

    with pytest.raises(asyncpg.exceptions.UndefinedColumnError):
        await db.run_asyncio(prepare)


def test_no_sql_outside_store() -> None:
    """Explicit SQL lives in store/ only; other packages call store functions."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
    offenders = [
        str(path.relative_to(root))
        for package in ("appliance", "sync", "ui")
        for path in (root / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
