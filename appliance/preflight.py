"""Checks that run before anything is created, so a bad setting costs one clear line and
leaves no half-made data directory behind."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance import datadir_lock, pg_upgrade
from appliance.children import Account, lookup_account
from appliance.config import Config, ConfigError, Location, parse_listen
from appliance.embedded_postgres import EmbeddedPostgres, find_bin_dir
from appliance.embedded_redis import EmbeddedRedis, find_redis_server
from appliance.pgmemory import malloc_tunables, postgres_settings, total_ram_bytes

# sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


@dataclass
class Plan:
    """What start-up will do, decided entirely before touching the disk."""

    location: Location
    postgres: EmbeddedPostgres | None
    redis: EmbeddedRedis | None
    account: Account | None
    create_account: str | None
    data_dir_exists: bool
    lock_fd: int | None = None


def _probe_writable(directory: Path) -> str | None:
    """Try it rather than trust access(2): root passes access() on read-only mounts and /proc."""
    try:
        with tempfile.TemporaryDirectory(dir=directory, prefix=".ferrex-probe-"):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_data_dir(data_dir: Path) -> bool:
    """True if it exists already. Raises unless it is (or can be made) a writable directory."""
    if data_dir.exists():
        if not data_dir.is_dir():
            raise ConfigError(f"data_dir: {data_dir} exists and is not a directory")
        if (why := _probe_writable(data_dir)) is not None:
            raise ConfigError(f"data_dir: {data_dir} is not writable ({why})")
        return True
    parent = data_dir.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"data_dir: cannot create {data_dir}: {parent} is not a directory")
    if (why := _probe_writable(parent)) is not None:
        raise ConfigError(f"data_dir: cannot create {data_dir}: {parent} is not writable ({why})")
    return False


def check_listen(listen: str) -> None:
    host, port = parse_listen(listen)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"server.listen: cannot resolve host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except PermissionError:
            raise ConfigError(
                f"server.listen: no permission to listen on port {port} (ports < 1024 need root)"
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"server.listen: cannot listen on {listen}: {exc.strerror or exc}"
                + (" (port already in use)" if exc.errno == 98 else "")
            ) from None


def _traversable_by(path: Path, account: Account) -> Path | None:
    """The first directory on the way to ``path`` that ``account`` cannot enter, if any.

    ``path`` itself is not checked: prepare_disk gives it to the account's group (0710)."""
    for directory in reversed(path.parents):
        if not directory.exists():
            break  # created later by prepare_disk
        info = directory.stat()
        if info.st_uid == account.uid:
            continue
        if info.st_gid == account.gid and info.st_mode & stat.S_IXGRP:
            continue
        if not info.st_mode & stat.S_IXOTH:
            return directory
    return None


def plan(config: Config, location: Location) -> Plan:
    data_dir = location.data_dir
    exists = check_data_dir(data_dir)
    if exists:
        datadir_lock.check_free(data_dir)
    check_listen(config.server.listen)

    account: Account | None = None
    create_account: str | None = None
    embedded = not config.database.dsn or not config.redis.url
    if embedded and os.geteuid() == 0:
        name = config.service.user
        if name == "root":
            raise ConfigError("service.user: Postgres refuses to run as root; name another account")
        account = lookup_account(name)
        if account is None:
            if shutil.which("useradd") is None:
                raise ConfigError(f"service.user: account {name!r} does not exist")
            create_account = name
            account = Account(name, -1, -1)  # real ids are known once prepare() creates it
        if (blocked := _traversable_by(data_dir, account)) is not None:
            raise ConfigError(
                f"data_dir: {blocked} is not searchable by {name!r}, which runs Postgres; "
                f"chmod o+x it or pick another data_dir"
            )

    postgres = None
    if not config.database.dsn:
        bin_dir = find_bin_dir(config.database.postgres_bin_dir)
        if bin_dir is None:
            where = config.database.postgres_bin_dir or "PATH and /usr/lib/postgresql/*/bin"
            raise ConfigError(
                f"database.postgres_bin_dir: initdb not found in {where} "
                "(apt-get install postgresql, or set database.dsn to use an external server)"
            )
        ram = total_ram_bytes()
        postgres = EmbeddedPostgres(
            data_dir,
            bin_dir,
            account,
            postgres_settings(config.memory.profile, ram, config.database.pool_max),
            malloc_tunables(config.memory.profile, ram),
        )
        pg_upgrade.needed(postgres)  # refuses here, before anything, if it cannot upgrade
        socket_path = postgres.socket_dir / ".s.PGSQL.5432"
        if len(str(socket_path)) > MAX_SOCKET_PATH:
            raise ConfigError(
                f"data_dir: {data_dir} is too long for a unix socket path "
                f"({len(str(socket_path))} > {MAX_SOCKET_PATH} bytes); use a shorter path"
            )
    redis = None
    if not config.redis.url:
        binary = find_redis_server(config.redis.server_bin)
        if binary is None:
            raise ConfigError(
                f"redis.server_bin: redis-server not found ({config.redis.server_bin or 'PATH'}; "
                "apt-get install redis-server, or set redis.url to use an external server)"
            )
        redis = EmbeddedRedis(data_dir, binary, account)
    return Plan(location, postgres, redis, account, create_account, exists)


def create_account(name: str) -> Account:
    """A system account for the embedded servers when root starts the appliance by hand."""
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--user-group",
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    account = lookup_account(name)
    if account is None:
        raise ConfigError(f"service.user: could not create account {name!r}: {result.stderr}")
    return account
