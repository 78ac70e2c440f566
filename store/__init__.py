"""Postgres access for the appliance: migrations, the asyncpg pool bridged into trio, and SQL.

Every SQL statement of the project lives in this package as a registered :class:`store.sql.Sql`
so that a test can PREPARE all of them against the migrated schema.
"""
