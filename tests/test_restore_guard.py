"""``restore`` replaces a database only when it knows there is nothing to lose (else --force)."""

from __future__ import annotations

import pytest

from appliance.backup import refuse_if_in_use
from appliance.config import ConfigError
from store import libraries
from store.db import Database
from store.sql import sql

DROP_USERS = sql("DROP TABLE users CASCADE")
DROP_LIBRARIES = sql("DROP TABLE libraries CASCADE")
# Stands for a users table that cannot be read (a damaged page, a permission problem): counting
# it fails with an error that is not "the table does not exist".
UNREADABLE_USERS = sql(
    "CREATE VIEW users AS SELECT g FROM generate_series(1, 2) g WHERE 1 / (g - 1) = 0"
)


async def test_an_empty_database_may_be_replaced(db: Database) -> None:
    await refuse_if_in_use(db)


async def test_a_database_with_libraries_needs_force(db: Database) -> None:
    await libraries.create(db, "films", "movies", ["/srv/films"])
    with pytest.raises(ConfigError, match=r"0 user\(s\) and 1 library; pass --force"):
        await refuse_if_in_use(db)


async def test_a_database_the_migrations_never_reached_may_be_replaced(db: Database) -> None:
    await db.execute(DROP_USERS)
    await db.execute(DROP_LIBRARIES)
    await refuse_if_in_use(db)


async def test_a_failure_to_count_users_is_not_zero_users(db: Database) -> None:
    """It used to be read as "an empty database": restore then replaced it without --force."""
    await db.execute(DROP_USERS)
    await db.execute(UNREADABLE_USERS)
    with pytest.raises(ConfigError, match=r"cannot tell whether .* pass --force"):
        await refuse_if_in_use(db)
