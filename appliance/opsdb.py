"""Database access for the operator commands (backup, restore, status).

They run beside (or instead of) the appliance on its host. When the appliance runs, its embedded
Postgres is reached on the socket in ``<data>/run``; when it does not, these commands take the
data dir's lock (so the appliance cannot start half-way through) and run the embedded cluster
briefly with ``pg_ctl``, as the same service account the appliance would use.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from appliance import datadir_lock, filemodes
from appliance.asyncio_bridge import asyncio_loop
from appliance.children import Account, lookup_account, run_blocking
from appliance.config import Config, ConfigError, Location
from appliance.embedded_postgres import PORT, EmbeddedPostgres, find_bin_dir
from store.db import Database
from store.gate import ServiceGate, Unavailable


@dataclass
class Access:
    dsn: str
    maintenance_dsn: str
    bin_dir: Path | None
    """Where pg_dump/pg_restore of the server's major version are (None: look on PATH)."""
    running: bool
    """The appliance runs on this data dir (holds its lock)."""

    def tool(self, name: str) -> str:
        if self.bin_dir is not None and (self.bin_dir / name).is_file():
            return str(self.bin_dir / name)
        return name


def appliance_running(data_dir: Path) -> int | None:
    """The pid of the appliance holding the data dir's lock, or None (0 if it wrote none)."""
    if not (data_dir / datadir_lock.LOCK_NAME).exists():
        return None
    try:
        datadir_lock.check_free(data_dir)
    except ConfigError:
        try:
            text = (data_dir / datadir_lock.LOCK_NAME).read_text().strip()
        except OSError:
            text = ""
        return int(text) if text.isdigit() else 0
    return None


def service_account(config: Config) -> Account | None:
    if os.geteuid() != 0:
        return None
    account = lookup_account(config.service.user)
    if account is None:
        raise ConfigError(f"service.user: account {config.service.user!r} does not exist")
    return account


def give_to_owner(path: Path, data_dir: Path) -> None:
    """Files root writes into the data dir belong to whoever owns it (the service account)."""
    if os.geteuid() == 0:
        info = data_dir.stat()
        os.chown(path, info.st_uid, info.st_gid)


def _pg_ctl(postgres: EmbeddedPostgres, *args: str) -> None:
    result = run_blocking(
        [str(postgres.bin_dir / "pg_ctl"), "-D", str(postgres.pgdata), *args],
        account=postgres.account,
    )
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise ConfigError(f"database: pg_ctl {args[0]} failed: {tail}")


@contextmanager
def database(
    config: Config, location: Location, *, want_stopped: bool = False, create: bool = False
) -> Iterator[Access]:
    """The appliance's database, reachable for the body of the ``with``.

    ``want_stopped``: refuse if the appliance runs (restore). ``create``: make the data dir and
    an empty cluster if there is none (restore onto a fresh install).
    """
    data_dir = location.data_dir
    if config.database.dsn:
        bin_dir = find_bin_dir(config.database.postgres_bin_dir)
        if want_stopped and data_dir.exists():
            datadir_lock.check_free(data_dir)
        yield Access(config.database.dsn, config.database.dsn, bin_dir, False)
        return
    bin_dir = find_bin_dir(config.database.postgres_bin_dir)
    if bin_dir is None:
        raise ConfigError(
            "database.postgres_bin_dir: Postgres is not installed (apt-get install postgresql)"
        )
    if not data_dir.exists():
        if not create:
            raise ConfigError(f"data_dir: {data_dir} does not exist")
        filemodes.secure_data_dir(data_dir, service_account(config))
    pid = appliance_running(data_dir)
    postgres = EmbeddedPostgres(data_dir, bin_dir, service_account(config))
    if pid is not None:
        if want_stopped:
            raise ConfigError(
                f"data_dir: {data_dir} is in use by a running ferrex-appliance"
                f"{f' (pid {pid})' if pid else ''}; stop it first "
                "(systemctl stop ferrex)"
            )
        yield Access(postgres.dsn, postgres.maintenance_dsn, bin_dir, True)
        return
    lock_fd = datadir_lock.acquire(data_dir)
    try:
        give_to_owner(data_dir / datadir_lock.LOCK_NAME, data_dir)
        if not postgres.initialized:
            if not create:
                raise ConfigError(f"data_dir: {data_dir} holds no database yet")
            postgres.prepare_socket_dir()
            postgres.initdb()
        postgres.prepare_socket_dir()
        postgres.clear_stale_pid()
        log_file = postgres.socket_dir / "postgres-ops.log"
        options = (
            f"-k {postgres.socket_dir} -p {PORT} -c listen_addresses= "
            "-c unix_socket_permissions=0700"
        )
        _pg_ctl(postgres, "start", "-w", "-t", "120", "-l", str(log_file), "-o", options)
        try:
            yield Access(postgres.dsn, postgres.maintenance_dsn, bin_dir, False)
        finally:
            _pg_ctl(postgres, "stop", "-w", "-m", "fast")
    finally:
        os.close(lock_fd)


@asynccontextmanager
async def connect(dsn: str) -> AsyncIterator[Database]:
    """A small pool on ``dsn``; runs inside trio (it opens the asyncio bridge itself)."""
    gate = ServiceGate("postgres")
    gate.open()
    async with asyncio_loop():
        try:
            db = await Database.connect(dsn, gate, min_size=1, max_size=2)
        except Unavailable as exc:
            raise ConfigError(
                f"database: cannot reach the appliance's database ({exc.reason})"
            ) from None
        try:
            yield db
        finally:
            await db.close()
